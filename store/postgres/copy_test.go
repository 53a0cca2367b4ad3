package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/cippbot/cippbot/bot"
	"github.com/cippbot/cippbot/store"
	"github.com/cippbot/cippbot/store/postgres"
	"github.com/google/go-cmp/cmp"
)

// TestCopy moves a bbolt store whose trail is keyed part way into
// PostgreSQL: everything arrives, the chain verifies on both with the same
// head, and the copy goes on appending to it.
func TestCopy(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	cfg := freshSchema(t)
	key := []byte("copy test key, 32 bytes or more!")
	path := filepath.Join(t.TempDir(), "cippbot.db")
	src := store.NewDB(path)
	if err := src.Open(); err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)
	for i := range 3 {
		if _, err := src.Append(ctx, bot.AuditRecord{Kind: bot.KindRequest, Actor: bot.Actor{ID: "slack:U1"}, Reason: fmt.Sprint("unkeyed ", i)}); err != nil {
			t.Fatal(err)
		}
	}
	src.Close()
	src.AuditKey = key
	if err := src.Open(); err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	if err := src.PutTenant(ctx, bot.Tenant{ID: "t1", DefaultDomain: "contoso.com", Domains: []string{"contoso.com"}}); err != nil {
		t.Fatal(err)
	}
	if err := src.PutBinding(ctx, bot.Binding{Platform: "slack", Channel: "C1", TenantID: "t1", BoundAt: t0}); err != nil {
		t.Fatal(err)
	}
	if err := src.PutGrant(ctx, bot.Grant{Actor: "slack:U1", Role: bot.RoleApprover, GrantedAt: t0}); err != nil {
		t.Fatal(err)
	}
	if err := src.PutJob(ctx, bot.Job{ID: "j1", TenantID: "t1", NextAt: t0}); err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		a := bot.Approval{ID: fmt.Sprint("ap", i), State: bot.StateDone, TenantID: "t1", CreatedAt: t0.Add(time.Duration(i) * time.Second)}
		if i == 4 {
			a.State = bot.StatePending
		}
		if err := src.CreateApproval(ctx, a); err != nil {
			t.Fatal(err)
		}
		if _, err := src.Append(ctx, bot.AuditRecord{Kind: bot.KindDecision, ApprovalID: a.ID, Targets: []bot.Target{{UPN: "alice@contoso.com"}}}); err != nil {
			t.Fatal(err)
		}
	}

	// An approval pruned before the copy: its ID stays retired after it.
	if err := src.CreateApproval(ctx, bot.Approval{ID: "old", State: bot.StateDone, TenantID: "t1", CreatedAt: t0.Add(-time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if n, err := src.PruneApprovals(ctx, t0, 10); n != 1 || err != nil {
		t.Fatalf("PruneApprovals = %d, %v", n, err)
	}

	dst := open(t, cfg, key)
	n, err := postgres.Copy(ctx, src, dst)
	if err != nil {
		t.Fatal(err)
	}
	if want := (postgres.Copied{Approvals: 5, Grants: 1, Tenants: 1, Bindings: 1, Jobs: 1, Audit: 8, RetiredIDs: 1}); n != want {
		t.Errorf("Copy = %+v, want %+v", n, want)
	}
	if err := dst.CreateApproval(ctx, bot.Approval{ID: "old", State: bot.StatePending, TenantID: "t1", CreatedAt: t0}); !errors.Is(err, bot.ErrExists) {
		t.Errorf("the copy gave a pruned approval's ID again: %v", err)
	}
	srcRep, err := src.VerifyAudit(ctx)
	if err != nil {
		t.Fatal(err)
	}
	dstRep, err := dst.VerifyAudit(ctx)
	if err != nil {
		t.Fatalf("the copied trail does not verify: %v", err)
	}
	if diff := cmp.Diff(srcRep, dstRep); diff != "" {
		t.Errorf("verify reports differ (-bbolt +postgres):\n%s", diff)
	}
	srcHead, _ := src.AuditHead(ctx)
	dstHead, _ := dst.AuditHead(ctx)
	if srcHead != dstHead || !dstHead.Keyed {
		t.Errorf("heads: bbolt %+v, postgres %+v; want the same, keyed", srcHead, dstHead)
	}
	same := func(name string, a, b any, err1, err2 error) {
		t.Helper()
		if err1 != nil || err2 != nil {
			t.Fatalf("%s: %v, %v", name, err1, err2)
		}
		if diff := cmp.Diff(a, b); diff != "" {
			t.Errorf("%s differ (-bbolt +postgres):\n%s", name, diff)
		}
	}
	a1, e1 := src.Approvals(ctx)
	a2, e2 := dst.Approvals(ctx)
	same("approvals", a1, a2, e1, e2)
	p1, e1 := src.Approvals(ctx, bot.StatePending)
	p2, e2 := dst.Approvals(ctx, bot.StatePending)
	same("pending approvals", p1, p2, e1, e2)
	r1, e1 := src.Audit(ctx, bot.AuditFilter{})
	r2, e2 := dst.Audit(ctx, bot.AuditFilter{})
	same("audit records", r1, r2, e1, e2)
	t1, e1 := src.Audit(ctx, bot.AuditFilter{Target: "ALICE@contoso.com", Limit: 2})
	t2, e2 := dst.Audit(ctx, bot.AuditFilter{Target: "ALICE@contoso.com", Limit: 2})
	same("audit by target", t1, t2, e1, e2)
	g1, e1 := src.Grants(ctx)
	g2, e2 := dst.Grants(ctx)
	same("grants", g1, g2, e1, e2)
	b1, e1 := src.Bindings(ctx)
	b2, e2 := dst.Bindings(ctx)
	same("bindings", b1, b2, e1, e2)
	j1, e1 := src.Jobs(ctx)
	j2, e2 := dst.Jobs(ctx)
	same("jobs", j1, j2, e1, e2)

	// The copy goes on from where the trail was.
	r, err := dst.Append(ctx, bot.AuditRecord{Kind: bot.KindAccess, Actor: bot.Actor{ID: "slack:U1"}})
	if err != nil {
		t.Fatal(err)
	}
	if r.Seq != 9 || r.PrevHash != srcHead.Hash {
		t.Errorf("first record after the copy: seq %d, prev %s; want 9 after %s", r.Seq, r.PrevHash, srcHead.Hash)
	}
	if _, err := dst.VerifyAudit(ctx); err != nil {
		t.Errorf("after appending to the copy: %v", err)
	}
	// Copying into a store that is not empty is refused.
	if _, err := postgres.Copy(ctx, src, dst); err == nil {
		t.Error("a second copy into the same database succeeded")
	}
}
