package store

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/cippbot/cippbot/bot"
	"go.etcd.io/bbolt"
)

// TestMissingBuckets checks that reads treat a missing bucket as empty.
func TestMissingBuckets(t *testing.T) {
	b, err := bbolt.Open(filepath.Join(t.TempDir(), "bare.db"), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	db := &DB{Path: b.Path()}
	db.bolt.Store(b)
	t.Cleanup(func() { db.Close() })
	ctx := context.Background()

	if _, err := db.Approval(ctx, "x"); !errors.Is(err, bot.ErrNotFound) {
		t.Errorf("Approval: %v", err)
	}
	if l, err := db.Approvals(ctx); err != nil || len(l) != 0 {
		t.Errorf("Approvals = %v, %v", l, err)
	}
	if _, err := db.UpdateApproval(ctx, "x", func(*bot.Approval) error { return nil }); !errors.Is(err, bot.ErrNotFound) {
		t.Errorf("UpdateApproval: %v", err)
	}
	if l, err := db.Audit(ctx, bot.AuditFilter{Limit: 3}); err != nil || len(l) != 0 {
		t.Errorf("Audit = %v, %v", l, err)
	}
	if rep, err := db.VerifyAudit(ctx); err != nil || rep != (VerifyReport{}) {
		t.Errorf("VerifyAudit = %+v, %v", rep, err)
	}
	if err := db.ExportAudit(ctx, new(errWriter), "jsonl", time.Time{}); err != nil {
		t.Errorf("ExportAudit: %v", err)
	}
	if l, err := db.Grants(ctx); err != nil || len(l) != 0 {
		t.Errorf("Grants = %v, %v", l, err)
	}
	if err := db.DeleteGrant(ctx, "a", ""); !errors.Is(err, bot.ErrNotFound) {
		t.Errorf("DeleteGrant: %v", err)
	}
	if l, err := db.Tenants(ctx); err != nil || len(l) != 0 {
		t.Errorf("Tenants = %v, %v", l, err)
	}
	if _, err := db.TenantByDomain(ctx, "x.com"); !errors.Is(err, bot.ErrNotFound) {
		t.Errorf("TenantByDomain: %v", err)
	}
	// Writes create the bucket they need.
	if r, err := db.Append(ctx, bot.AuditRecord{Kind: bot.KindRequest}); err != nil || r.Seq != 1 {
		t.Errorf("Append = %+v, %v", r, err)
	}
	if err := db.PutTenant(ctx, bot.Tenant{ID: "t", DefaultDomain: "x.com"}); err != nil {
		t.Errorf("PutTenant: %v", err)
	}
}

// errWriter fails every write.
type errWriter struct{}

func (*errWriter) Write([]byte) (int, error) { return 0, errors.New("write failed") }
