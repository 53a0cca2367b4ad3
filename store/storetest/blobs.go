package storetest

import (
	"bytes"
	"errors"
	"maps"
	"testing"

	"github.com/cippbot/cippbot/store"
)

func testSealed(t *testing.T, h Harness) {
	key := bytes.Repeat([]byte("k"), store.MinSealKey)
	t.Run("RoundTripAcrossHandles", func(t *testing.T) {
		d := fresh(t, h)
		a := d.handle(nil)
		sa, err := store.NewSealed(a, key)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := sa.Get(ctx(), "cache"); got != nil || err != nil {
			t.Fatalf("Get before Put = %q, %v; want nothing", got, err)
		}
		secret := []byte("refresh-token-0123456789")
		if err := sa.Put(ctx(), "cache", secret); err != nil {
			t.Fatal(err)
		}
		raw, err := a.Blob(ctx(), "cache")
		if err != nil || raw == nil || bytes.Contains(raw, secret) {
			t.Fatalf("stored blob = %q, %v; want it sealed", raw, err)
		}
		b := d.second(a, nil)
		sb, _ := store.NewSealed(b, key)
		if got, err := sb.Get(ctx(), "cache"); !bytes.Equal(got, secret) || err != nil {
			t.Fatalf("Get on another handle = %q, %v", got, err)
		}
		// A blob moved to another name does not open: the name is bound.
		if err := b.PutBlob(ctx(), "other", raw); err != nil {
			t.Fatal(err)
		}
		if _, err := sb.Get(ctx(), "other"); !errors.Is(err, store.ErrWrongKey) {
			t.Errorf("blob under another name: %v, want ErrWrongKey", err)
		}
		wrong, _ := store.NewSealed(b, bytes.Repeat([]byte("x"), store.MinSealKey))
		if _, err := wrong.Get(ctx(), "cache"); !errors.Is(err, store.ErrWrongKey) {
			t.Errorf("wrong key: %v, want ErrWrongKey", err)
		}
		if err := sb.Delete(ctx(), "cache"); err != nil {
			t.Fatal(err)
		}
		if got, err := sa.Get(ctx(), "cache"); got != nil || err != nil {
			t.Errorf("Get after Delete = %q, %v; want nothing", got, err)
		}
		if err := sb.Delete(ctx(), "cache"); err != nil {
			t.Errorf("deleting a missing blob: %v", err)
		}
	})
}

func testChatRefs(t *testing.T, h Harness) {
	d := fresh(t, h)
	s := d.handle(nil)
	for k, v := range map[string]string{"teams:user:1": "a", "teams:user:2": "b", "teams:conv:1": "c", "teamsx:user:3": "d"} {
		if err := s.PutChatRef(ctx(), k, []byte(v)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.PutChatRef(ctx(), "teams:user:2", []byte("b2")); err != nil {
		t.Fatal(err)
	}
	if err := s.PutChatRef(ctx(), "", []byte("x")); err == nil {
		t.Error("an empty key was stored")
	}
	got, err := s.ChatRefs(ctx(), "teams:user:")
	want := map[string][]byte{"teams:user:1": []byte("a"), "teams:user:2": []byte("b2")}
	if err != nil || !maps.EqualFunc(got, want, bytes.Equal) {
		t.Errorf("ChatRefs(teams:user:) = %q, %v; want %q", got, err, want)
	}
	if err := s.DeleteChatRef(ctx(), "teams:user:1"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteChatRef(ctx(), "teams:user:1"); err != nil {
		t.Errorf("deleting a missing ref: %v", err)
	}
	s2 := d.second(s, nil)
	got, err = s2.ChatRefs(ctx(), "teams:")
	want = map[string][]byte{"teams:user:2": []byte("b2"), "teams:conv:1": []byte("c")}
	if err != nil || !maps.EqualFunc(got, want, bytes.Equal) {
		t.Errorf("ChatRefs(teams:) on another handle = %q, %v; want %q", got, err, want)
	}
}
