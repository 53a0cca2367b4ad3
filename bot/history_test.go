package bot_test

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cippbot/cippbot/bot"
)

// countingStore counts the reads of approvals that grow with the history.
type countingStore struct {
	bot.Store
	all    atomic.Int32 // Approvals with no state, or with a decided one
	active atomic.Int32 // Approvals of pending or running ones only
	since  atomic.Int32 // ApprovalStampsSince
	prunes atomic.Int32 // PruneApprovals
}

func (s *countingStore) Approvals(ctx context.Context, states ...bot.ApprovalState) ([]bot.Approval, error) {
	c := &s.active
	if len(states) == 0 {
		c = &s.all
	}
	for _, st := range states {
		if st != bot.StatePending && st != bot.StateRunning {
			c = &s.all
		}
	}
	c.Add(1)
	return s.Store.Approvals(ctx, states...)
}

func (s *countingStore) ApprovalStampsSince(ctx context.Context, t time.Time) ([]bot.ApprovalStamp, error) {
	s.since.Add(1)
	return s.Store.ApprovalStampsSince(ctx, t)
}

func (s *countingStore) PruneApprovals(ctx context.Context, before time.Time, max int) (int, error) {
	s.prunes.Add(1)
	return s.Store.PruneApprovals(ctx, before, max)
}

// TestNoReadOfTheWholeHistory checks that requests, the sweep and recovery
// read only recent, pending or running approvals, and that no quota means
// no read at all.
func TestNoReadOfTheWholeHistory(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	cs := &countingStore{Store: h.db}
	h.bot.Store = cs
	cardID(t, h.do(riley, "block-signin AdeleV@contoso.com"))
	if cs.since.Load() != 1 {
		t.Errorf("the quota check read the recent approvals %d times, want 1", cs.since.Load())
	}
	must(t, h.bot.Sweep(context.Background()))
	must(t, h.bot.Recover(context.Background()))
	if cs.all.Load() != 0 {
		t.Errorf("every approval was read %d times", cs.all.Load())
	}

	h.bot.Quota = bot.Quota{PerTechnician: -1, PerTenant: -1}
	cardID(t, h.do(riley, "block-signin AlexW@contoso.com"))
	if cs.since.Load() != 1 {
		t.Error("with both quotas off, the quota check read approvals")
	}
	// One bound on is enough to count.
	h.bot.Quota = bot.Quota{PerTechnician: -1, PerTenant: 5}
	cardID(t, h.do(riley, "delete-user AlexW@contoso.com"))
	if cs.since.Load() != 2 {
		t.Error("with the tenant quota on, the quota check did not count")
	}
}

// TestQuotaCountsOnlyTheLastHour: approvals from before the hour do not
// count, those from within it do, on the clock the bot keeps.
func TestQuotaCountsOnlyTheLastHour(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.bot.Quota = bot.Quota{PerTechnician: 2}
	cardID(t, h.do(riley, "block-signin AdeleV@contoso.com"))
	cardID(t, h.do(riley, "block-signin AlexW@contoso.com"))
	h.clock.Add(time.Hour + time.Second)
	sent := h.do(riley, "delete-user AlexW@contoso.com")
	cardID(t, sent)
	if c := text(sent[0].Message); strings.Contains(c, "an admin must approve") {
		t.Fatalf("requests from over an hour ago counted:\n%s", c)
	}
	cardID(t, h.do(riley, "block-signin AdeleV@contoso.com"))
	sent = h.do(riley, "block-signin AlexW@contoso.com")
	if c := text(sent[0].Message); !strings.Contains(c, "riley asked for 2 destructive actions in the last hour (limit 2)") {
		t.Fatalf("the last hour's two did not count:\n%s", c)
	}
}

// TestSweepRemovesOldDecidedApprovals: past the retention, decided
// approvals go, pending and running ones and the audit trail stay.
func TestSweepRemovesOldDecidedApprovals(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	ctx := context.Background()
	h.bot.ApprovalRetention = 30 * 24 * time.Hour
	denied := cardID(t, h.do(riley, "block-signin AdeleV@contoso.com"))
	h.do(sam, "deny "+denied)
	approved := cardID(t, h.do(riley, "block-signin AlexW@contoso.com"))
	h.do(sam, "approve "+approved)
	running := cardID(t, h.do(riley, "delete-user AlexW@contoso.com"))
	_, err := h.db.UpdateApproval(ctx, running, func(a *bot.Approval) error { a.State = bot.StateRunning; return nil })
	must(t, err)
	// Many old decided ones, more than one batch of the sweep.
	var old []bot.Approval
	for i := range 2500 {
		old = append(old, bot.Approval{ID: fmt.Sprintf("old%04d", i), State: bot.StateDone, Action: "block-signin",
			CreatedAt: h.clock.Now().Add(-time.Duration(i) * time.Minute)})
	}
	must(t, h.db.CreateApprovals(ctx, old))
	auditBefore, err := h.db.Audit(ctx, bot.AuditFilter{})
	must(t, err)

	h.clock.Add(29 * 24 * time.Hour)
	must(t, h.bot.Sweep(ctx))
	if _, err := h.db.Approval(ctx, denied); err != nil {
		t.Fatalf("removed before the retention: %v", err)
	}
	h.clock.Add(2 * 24 * time.Hour)
	must(t, h.bot.Sweep(ctx))
	for _, id := range []string{denied, approved, "old0000", "old2499"} {
		if _, err := h.db.Approval(ctx, id); err == nil {
			t.Errorf("%s is kept past the retention", id)
		}
	}
	if ap, err := h.db.Approval(ctx, running); err != nil || ap.State != bot.StateRunning {
		t.Errorf("the running approval: %+v, %v", ap, err)
	}
	auditAfter, err := h.db.Audit(ctx, bot.AuditFilter{})
	must(t, err)
	if len(auditAfter) != len(auditBefore) {
		t.Errorf("audit records: %d before the sweep, %d after", len(auditBefore), len(auditAfter))
	}

	// Negative keeps them for ever.
	h.bot.ApprovalRetention = -1
	must(t, h.db.CreateApproval(ctx, bot.Approval{ID: "older", State: bot.StateDenied, CreatedAt: h.clock.Now().AddDate(-5, 0, 0)}))
	must(t, h.bot.Sweep(ctx))
	if _, err := h.db.Approval(ctx, "older"); err != nil {
		t.Errorf("kept for ever, yet removed: %v", err)
	}
}
