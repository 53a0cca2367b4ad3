package store_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/cippbot/cippbot/store"
)

const (
	testStoreKey  = "correct horse battery staple, twice over"
	otherStoreKey = "another key that is long enough to be taken"
)

func mustSealed(t *testing.T, db *store.DB, key string) *store.Sealed {
	t.Helper()
	s, err := store.NewSealed(db, []byte(key))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSealed(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	// A refresh token shaped like Microsoft's; it must never be in the file.
	secret := []byte(`{"RefreshToken":{"k":{"secret":"0.AQgAeKcI8TRHVUSU78gxLJBxCcVPlJnJBodAqrCztoXn9-sealed-test"}}}`)

	t.Run("OK", func(t *testing.T) {
		db := MustOpenDB(t)
		s := mustSealed(t, db, testStoreKey)
		if got, err := s.Get(ctx, "msal"); err != nil || got != nil {
			t.Fatalf("Get before Put = %q, %v; want nil, nil", got, err)
		}
		if err := s.Put(ctx, "msal", secret); err != nil {
			t.Fatal(err)
		}
		MustReopen(t, db)
		got, err := mustSealed(t, db, testStoreKey).Get(ctx, "msal")
		if err != nil || !bytes.Equal(got, secret) {
			t.Fatalf("Get = %q, %v; want the blob", got, err)
		}
		if err := s.Delete(ctx, "msal"); err != nil {
			t.Fatal(err)
		}
		if got, err := s.Get(ctx, "msal"); err != nil || got != nil {
			t.Fatalf("Get after Delete = %q, %v", got, err)
		}
	})

	t.Run("NoPlaintextInFile", func(t *testing.T) {
		db := MustOpenDB(t)
		s := mustSealed(t, db, testStoreKey)
		for range 3 { // rotate: every version lands in the file's pages
			if err := s.Put(ctx, "msal", secret); err != nil {
				t.Fatal(err)
			}
		}
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
		raw, err := os.ReadFile(db.Path)
		if err != nil {
			t.Fatal(err)
		}
		for _, needle := range []string{"0.AQgAeKcI8TRHVUSU78gxLJBxCcVPlJnJBodAqrCztoXn9-sealed-test", "RefreshToken", testStoreKey} {
			if bytes.Contains(raw, []byte(needle)) {
				t.Errorf("the database file holds %q in plaintext", needle)
			}
		}
		if err := db.Open(); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("ErrWrongKey", func(t *testing.T) {
		db := MustOpenDB(t)
		if err := mustSealed(t, db, testStoreKey).Put(ctx, "msal", secret); err != nil {
			t.Fatal(err)
		}
		_, err := mustSealed(t, db, otherStoreKey).Get(ctx, "msal")
		if !errors.Is(err, store.ErrWrongKey) {
			t.Fatalf("Get with another key: err = %v, want ErrWrongKey", err)
		}
		if !strings.Contains(err.Error(), "CIPPBOT_STORE_KEY") || strings.Contains(err.Error(), "0.AQ") {
			t.Errorf("error %q should name the key setting and nothing secret", err)
		}
	})

	t.Run("ErrShortKey", func(t *testing.T) {
		if _, err := store.NewSealed(MustOpenDB(t), []byte("short")); err == nil {
			t.Fatal("NewSealed accepted a 5-byte key")
		}
	})
}
