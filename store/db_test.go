package store_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cippbot/cippbot/bot"
	"github.com/cippbot/cippbot/store"
	"go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
)

// MustOpenDB returns an open DB in a fresh temporary directory, closed when
// the test ends.
func MustOpenDB(tb testing.TB) *store.DB {
	tb.Helper()
	db := store.NewDB(filepath.Join(tb.TempDir(), "cippbot.db"))
	db.NoSync = true // the file dies with the test
	if err := db.Open(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := db.Close(); err != nil {
			tb.Error(err)
		}
	})
	return db
}

// MustReopen closes db and opens its file again.
func MustReopen(tb testing.TB, db *store.DB) {
	tb.Helper()
	if err := db.Close(); err != nil {
		tb.Fatal(err)
	}
	if err := db.Open(); err != nil {
		tb.Fatal(err)
	}
}

func TestOpen(t *testing.T) {
	t.Parallel()
	t.Run("OK", func(t *testing.T) {
		db := MustOpenDB(t)
		fi, err := os.Stat(db.Path)
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode().Perm(); got != 0o600 {
			t.Errorf("file mode = %v, want 0600", got)
		}
		// Every bucket exists.
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
		b, err := bbolt.Open(db.Path, 0o600, &bbolt.Options{Timeout: time.Second, ReadOnly: true})
		if err != nil {
			t.Fatal(err)
		}
		defer b.Close()
		err = b.View(func(tx *bbolt.Tx) error {
			for _, name := range []string{"approvals", "audit", "audit_by_target", "meta", "grants", "tenants", "bindings", "deliveries", "deliveries_by_time"} {
				if tx.Bucket([]byte(name)) == nil {
					t.Errorf("bucket %s missing", name)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	})

	t.Run("ErrInUse", func(t *testing.T) {
		db := MustOpenDB(t)
		other := store.NewDB(db.Path)
		other.OpenTimeout = 200 * time.Millisecond
		start := time.Now()
		err := other.Open()
		elapsed := time.Since(start)
		if err == nil {
			other.Close()
			t.Fatal("second Open succeeded")
		}
		want := "open " + db.Path + ": database is in use by another cippbot process (locked); stop it or use another CIPPBOT_DATA"
		if err.Error() != want {
			t.Errorf("error = %q, want %q", err, want)
		}
		if !errors.Is(err, bolterrors.ErrTimeout) {
			t.Errorf("error = %v, want it to wrap bbolt's ErrTimeout", err)
		}
		if elapsed > time.Second {
			t.Errorf("second Open took %v, want it to give up within about 200ms", elapsed)
		}
		// The first DB still works.
		if _, err := db.Tenants(context.Background()); err != nil {
			t.Error(err)
		}
	})

	t.Run("ErrUnwritablePath", func(t *testing.T) {
		dir := t.TempDir()
		file := filepath.Join(dir, "file")
		if err := os.WriteFile(file, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(file, "cippbot.db") // a "directory" that is a file
		err := store.NewDB(path).Open()
		if err == nil {
			t.Fatal("Open succeeded")
		}
		if got, want := err.Error(), "open "+path+": not a directory"; got != want {
			t.Errorf("error = %q, want %q", got, want)
		}
	})

	t.Run("ErrReadOnlyDir", func(t *testing.T) {
		if os.Geteuid() == 0 {
			t.Skip("root can write anywhere")
		}
		dir := filepath.Join(t.TempDir(), "ro")
		if err := os.Mkdir(dir, 0o500); err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dir, "cippbot.db")
		err := store.NewDB(path).Open()
		if err == nil || !errors.Is(err, os.ErrPermission) || !strings.Contains(err.Error(), path) {
			t.Errorf("error = %v, want a permission error naming %s", err, path)
		}
	})

	t.Run("ErrNotADatabase", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "cippbot.db")
		if err := os.WriteFile(path, []byte(strings.Repeat("not a database\n", 1000)), 0o600); err != nil {
			t.Fatal(err)
		}
		err := store.NewDB(path).Open()
		if err == nil || !strings.Contains(err.Error(), "not a usable cippbot database") {
			t.Errorf("error = %v, want it to say the file is not a database", err)
		}
	})

	t.Run("ErrAlreadyOpen", func(t *testing.T) {
		db := MustOpenDB(t)
		if err := db.Open(); err == nil {
			t.Error("Open of an open DB succeeded")
		}
	})
}

func TestClose(t *testing.T) {
	t.Parallel()
	t.Run("Idempotent", func(t *testing.T) {
		db := MustOpenDB(t)
		for range 3 {
			if err := db.Close(); err != nil {
				t.Fatal(err)
			}
		}
	})

	t.Run("ErrClosed", func(t *testing.T) {
		db := MustOpenDB(t)
		db.Close()
		ctx := context.Background()
		if _, err := db.Approval(ctx, "x"); !errors.Is(err, store.ErrClosed) {
			t.Errorf("Approval: error = %v, want ErrClosed", err)
		}
		if _, err := db.Append(ctx, bot.AuditRecord{Kind: bot.KindRequest}); !errors.Is(err, store.ErrClosed) {
			t.Errorf("Append: error = %v, want ErrClosed", err)
		}
		if _, err := db.VerifyAudit(ctx); !errors.Is(err, store.ErrClosed) {
			t.Errorf("VerifyAudit: error = %v, want ErrClosed", err)
		}
		if _, err := db.FirstDelivery(ctx, "slack:cmd:1", time.Minute); !errors.Is(err, store.ErrClosed) {
			t.Errorf("FirstDelivery: error = %v, want ErrClosed", err)
		}
	})
}

func TestContext(t *testing.T) {
	t.Parallel()
	db := MustOpenDB(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	checks := map[string]error{
		"CreateApproval": db.CreateApproval(ctx, bot.Approval{ID: "a"}),
		"PutGrant":       db.PutGrant(ctx, bot.Grant{Actor: "slack:U1", Role: bot.RoleViewer}),
		"PutTenant":      db.PutTenant(ctx, bot.Tenant{ID: "t"}),
		"DeleteGrant":    db.DeleteGrant(ctx, "slack:U1", ""),
		"ExportAudit":    db.ExportAudit(ctx, new(strings.Builder), "jsonl", time.Time{}),
		"DeleteTenant":   db.DeleteTenant(ctx, "t"),
		"PutBinding":     db.PutBinding(ctx, bot.Binding{Platform: "slack", Channel: "C1", TenantID: "t"}),
		"DeleteBinding":  db.DeleteBinding(ctx, "slack", "C1"),
		"AppendBatch":    store.AppendBatch(db, ctx, []bot.AuditRecord{{Kind: bot.KindRequest}}),
	}
	_, checks["Append"] = db.Append(ctx, bot.AuditRecord{Kind: bot.KindRequest})
	_, checks["Audit"] = db.Audit(ctx, bot.AuditFilter{})
	_, checks["VerifyAudit"] = db.VerifyAudit(ctx)
	_, checks["Approvals"] = db.Approvals(ctx)
	_, checks["UpdateApproval"] = db.UpdateApproval(ctx, "a", func(*bot.Approval) error { return nil })
	_, checks["Grants"] = db.Grants(ctx)
	_, checks["Tenants"] = db.Tenants(ctx)
	_, checks["TenantByDomain"] = db.TenantByDomain(ctx, "x.com")
	_, checks["TenantByName"] = db.TenantByName(ctx, "x")
	_, checks["Binding"] = db.Binding(ctx, "slack", "C1")
	_, checks["Bindings"] = db.Bindings(ctx)
	_, checks["AuditByTarget"] = db.Audit(ctx, bot.AuditFilter{Target: "a@b.com"})
	_, checks["FirstDelivery"] = db.FirstDelivery(ctx, "slack:cmd:1", time.Minute)
	for name, err := range checks {
		if !errors.Is(err, context.Canceled) {
			t.Errorf("%s: error = %v, want context.Canceled", name, err)
		}
	}
	// Nothing was written.
	recs, err := db.Audit(context.Background(), bot.AuditFilter{})
	if err != nil || len(recs) != 0 {
		t.Errorf("Audit = %v, %v; want no records", recs, err)
	}
}
