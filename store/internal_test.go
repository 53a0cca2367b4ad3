package store

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cippbot/cippbot/bot"
	"go.etcd.io/bbolt"
)

// Hooks for the external tests.
var (
	// AppendBatch appends many records in one transaction.
	AppendBatch = (*DB).appendBatch
	// AuditScan is Audit without the index: it reads the trail.
	AuditScan = func(db *DB, ctx context.Context, f bot.AuditFilter) ([]bot.AuditRecord, error) {
		var out []bot.AuditRecord
		err := db.view(ctx, func(tx *bbolt.Tx) error {
			var err error
			out, err = auditScan(ctx, tx, f)
			return err
		})
		return out, err
	}
)

// TestMissingBuckets checks that reads treat a missing bucket as empty.
func TestMissingBuckets(t *testing.T) {
	t.Parallel()
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
	if l, err := db.Audit(ctx, bot.AuditFilter{Target: "a@b.com"}); err != nil || len(l) != 0 {
		t.Errorf("Audit by target = %v, %v", l, err)
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
	if _, err := db.TenantByName(ctx, "x"); !errors.Is(err, bot.ErrNotFound) {
		t.Errorf("TenantByName: %v", err)
	}
	if err := db.DeleteTenant(ctx, "t"); !errors.Is(err, bot.ErrNotFound) {
		t.Errorf("DeleteTenant: %v", err)
	}
	if _, err := db.Binding(ctx, "slack", "C1"); !errors.Is(err, bot.ErrNotFound) {
		t.Errorf("Binding: %v", err)
	}
	if err := db.DeleteBinding(ctx, "slack", "C1"); !errors.Is(err, bot.ErrNotFound) {
		t.Errorf("DeleteBinding: %v", err)
	}
	if l, err := db.Bindings(ctx); err != nil || len(l) != 0 {
		t.Errorf("Bindings = %v, %v", l, err)
	}
	// Writes create the bucket they need.
	if r, err := db.Append(ctx, bot.AuditRecord{Kind: bot.KindRequest}); err != nil || r.Seq != 1 {
		t.Errorf("Append = %+v, %v", r, err)
	}
	if err := db.PutTenant(ctx, bot.Tenant{ID: "t", DefaultDomain: "x.com"}); err != nil {
		t.Errorf("PutTenant: %v", err)
	}
	if err := db.PutBinding(ctx, bot.Binding{Platform: "slack", Channel: "C1", TenantID: "t"}); err != nil {
		t.Errorf("PutBinding: %v", err)
	}
	if err := db.DeleteTenant(ctx, "t"); err != nil {
		t.Errorf("DeleteTenant: %v", err)
	}
	if first, err := db.FirstDelivery(ctx, "slack:cmd:1", time.Minute); err != nil || !first {
		t.Errorf("FirstDelivery = %v, %v; want true", first, err)
	}
	if first, err := db.FirstDelivery(ctx, "slack:cmd:1", time.Minute); err != nil || first {
		t.Errorf("repeated FirstDelivery = %v, %v; want false", first, err)
	}
	// Without an index, a Target filter reads the trail.
	if l, err := db.Audit(ctx, bot.AuditFilter{Target: "x"}); err != nil || len(l) != 0 {
		t.Errorf("Audit by target = %v, %v", l, err)
	}
	r, err := db.Append(ctx, bot.AuditRecord{Kind: bot.KindRequest, Targets: []bot.Target{{UPN: "a@x.com"}}})
	if err != nil {
		t.Fatal(err)
	}
	if l, err := db.Audit(ctx, bot.AuditFilter{Target: "A@X.com"}); err != nil || len(l) != 1 || l[0].Seq != r.Seq {
		t.Errorf("Audit by target = %v, %v; want record %d", l, err, r.Seq)
	}
}

// errWriter fails every write.
type errWriter struct{}

func (*errWriter) Write([]byte) (int, error) { return 0, errors.New("write failed") }

func TestIndexKeys(t *testing.T) {
	t.Parallel()
	seq := "\x00\x00\x00\x00\x00\x00\x01\x02"
	long := strings.Repeat("é", maxIndexName) // twice as many bytes as a key holds
	r := bot.AuditRecord{Seq: 0x102, Targets: []bot.Target{
		{ID: "ID-1", UPN: "Alice@Contoso.com"},
		{ID: "obj", UPN: "OBJ"}, // the same name twice
		{UPN: "alice@contoso.com"},
		{ID: "bob-id"}, // no UPN
		{},
		{UPN: long + "a"}, // two names that share the cut prefix
		{UPN: long + "b"},
	}}
	var got []string
	for _, k := range indexKeys(r) {
		got = append(got, string(k))
	}
	want := []string{
		"alice@contoso.com\x00" + seq,
		"id-1\x00" + seq,
		"obj\x00" + seq,
		"bob-id\x00" + seq,
		long[:maxIndexName] + "\x00" + seq,
	}
	if !slices.Equal(got, want) {
		t.Errorf("indexKeys = %q, want %q", got, want)
	}
	if keys := indexKeys(bot.AuditRecord{Seq: 1}); len(keys) != 0 {
		t.Errorf("indexKeys of a record without targets = %q", keys)
	}
}
