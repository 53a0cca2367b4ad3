package bot_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cippbot/cippbot/actions"
	"github.com/cippbot/cippbot/bot"
	"github.com/cippbot/cippbot/internal/mock"
)

func TestPrivilegedTargetStrict(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.dir.Put(actions.User{ID: "u-admin", UPN: "admin@contoso.com", DisplayName: "MOD Administrator", Enabled: true})
	h.dir.SetRoles("u-admin", "Global Administrator")

	got := only(t, h.do(riley, "block-signin admin@contoso.com"))
	if !strings.Contains(got.Message.Title, "admin@contoso.com is Global Administrator") || !strings.Contains(got.Message.Title, "Only an admin of contoso.com may ask") {
		t.Fatalf("helpdesk on a Global Admin: %q", got.Message.Title)
	}
	// Even a change action that normally runs at once is held.
	got = only(t, h.do(riley, "revoke-sessions admin@contoso.com"))
	if !strings.Contains(got.Message.Title, "privileged account") || h.dir.Calls.Load() != 0 {
		t.Fatalf("helpdesk revoke on a Global Admin: %q", got.Message.Title)
	}

	sent := h.do(admin, "revoke-sessions admin@contoso.com")
	id := cardID(t, sent)
	card := text(sent[0].Message)
	if !strings.Contains(card, "two approvers must agree") || !strings.Contains(card, "Approvals: 0 of 2") {
		t.Fatalf("card does not say why it needs more:\n%s", card)
	}
	sent = h.do(sam, "approve "+id)
	if len(sent) != 2 || !sent[0].Update || !strings.Contains(text(sent[0].Message), "Approvals: 1 of 2 (sam)") ||
		sent[1].To != sam.ID || !strings.Contains(sent[1].Message.Title, "1 more approver") {
		t.Fatalf("first approval: %+v", sent)
	}
	got = only(t, h.do(sam, "approve "+id))
	if !strings.Contains(got.Message.Title, "already approved this") {
		t.Fatalf("same approver twice: %q", got.Message.Title)
	}
	if h.dir.Calls.Load() != 0 {
		t.Fatal("ran with one approval of two")
	}
	h.do(alex, "approve "+id)
	if u, _ := h.dir.Get("u-admin"); u.Revoked != 1 {
		t.Fatal("did not run after two approvals")
	}
	ap, _ := h.db.Approval(context.Background(), id)
	if len(ap.Approvers) != 2 || ap.State != bot.StateDone {
		t.Errorf("approval = %+v", ap)
	}
}

func TestPrivilegedTargetTwoApproversPolicy(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	must(t, h.db.PutTenant(context.Background(), bot.Tenant{ID: tenantID, Name: "Contoso", DefaultDomain: "contoso.com",
		Domains: []string{"contoso.com"}, PrivilegedPolicy: bot.PolicyTwoApprovers}))
	h.dir.SetRoles("u-adele", "User Administrator")
	id := cardID(t, h.do(riley, "block-signin AdeleV@contoso.com"))
	h.do(sam, "approve "+id)
	if u, _ := h.dir.Get("u-adele"); !u.Enabled {
		t.Fatal("ran after one of two approvals")
	}
	h.do(alex, "approve "+id)
	if u, _ := h.dir.Get("u-adele"); u.Enabled {
		t.Fatal("did not run after two approvals")
	}
}

// TestApprovalVoidedByRoleChange: the target became an admin between the
// request and its approval; the approval no longer covers it.
func TestApprovalVoidedByRoleChange(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	id := cardID(t, h.do(riley, "reset-password AdeleV@contoso.com"))
	h.dir.SetRoles("u-adele", "Global Administrator")
	sent := h.do(sam, "approve "+id)
	if h.dir.Calls.Load() != 0 {
		t.Fatal("ran although the target became a Global Administrator")
	}
	var card, told bool
	for _, s := range sent {
		if s.Update && strings.Contains(s.Message.Title, "approval void: AdeleV@contoso.com now has Global Administrator") {
			card = true
		}
		if s.To == riley.ID && strings.Contains(s.Message.Title, "was not run") {
			told = true
		}
	}
	if !card || !told {
		t.Fatalf("void not shown on the card (%v) or told to the requester (%v): %+v", card, told, sent)
	}
	recs, _ := h.db.Audit(context.Background(), bot.AuditFilter{})
	if last := recs[len(recs)-1]; last.Outcome != "void" {
		t.Errorf("last audit record = %+v", last)
	}
}

func TestQuotaNeedsAdmin(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.bot.Quota = bot.Quota{PerTechnician: 2}
	cardID(t, h.do(riley, "block-signin AdeleV@contoso.com"))
	cardID(t, h.do(riley, "block-signin AlexW@contoso.com"))
	sent := h.do(riley, "delete-user AlexW@contoso.com")
	id := cardID(t, sent)
	if !strings.Contains(text(sent[0].Message), "riley asked for 2 destructive actions in the last hour (limit 2): an admin must approve") {
		t.Fatalf("card:\n%s", text(sent[0].Message))
	}
	got := only(t, h.do(sam, "approve "+id))
	if !strings.Contains(got.Message.Title, "needs an admin's approval") {
		t.Fatalf("approver on an over-quota request: %q", got.Message.Title)
	}
	h.do(admin, "approve "+id)
	if _, ok := h.dir.Get("u-alex"); ok {
		t.Fatal("admin approval did not run the delete")
	}
	recs, _ := h.db.Audit(context.Background(), bot.AuditFilter{})
	var policy bool
	for _, r := range recs {
		if r.Kind == bot.KindRequest && strings.Contains(r.Policy, "limit 2") {
			policy = true
		}
	}
	if !policy {
		t.Error("the quota is not in the audit record")
	}
}

func TestReasonAsked(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.bot.ReasonOptional = []string{"revoke-sessions"}
	got := only(t, h.do(riley, "block-signin AdeleV@contoso.com"))
	if got.To != riley.ID || got.Message.Ask == nil || got.Message.Ask.Field != "reason" ||
		!strings.Contains(got.Message.Title, "Why block-signin AdeleV@contoso.com?") {
		t.Fatalf("no reason asked: %+v", got)
	}
	// The answer completes the command, quotes and all.
	answer := got.Message.Ask.Complete(`left on "bad terms"`)
	sent := h.do(riley, answer)
	id := cardID(t, sent)
	ap, _ := h.db.Approval(context.Background(), id)
	if ap.Reason != `left on "bad terms"` {
		t.Errorf("reason = %q", ap.Reason)
	}
	// A change action is not asked; nor is a destructive one exempted.
	if sent := h.do(riley, "revoke-sessions AdeleV@contoso.com"); sent[0].Message.Ask != nil {
		t.Error("a change action was asked for a reason")
	}
	// A refused request is refused before anyone is asked for a reason.
	got = only(t, h.do(riley, "block-signin GradyA@contoso.com"))
	if got.Message.Ask != nil || !strings.Contains(got.Message.Title, "synced") {
		t.Errorf("synced user: %+v", got.Message)
	}
}

// TestApprovalBeforeCardKept: a first approval clicked on another
// replica between the card's post and the bot keeping the card's
// reference (the card is visible before its post returns) still shows on
// the card.
func TestApprovalBeforeCardKept(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.dir.Put(actions.User{ID: "u-admin", UPN: "admin@contoso.com", DisplayName: "MOD Administrator", Enabled: true})
	h.dir.SetRoles("u-admin", "Global Administrator")
	other := h.newBot() // a replica that is not posting the card
	early := &clickOnPost{Responder: h.chat.For(admin), t: t, click: func(id string) {
		other.Handle(context.Background(), bot.Event{Platform: "console", Channel: "ops", Actor: sam, Text: "approve " + id}, h.chat.For(sam))
	}}
	h.bot.Handle(context.Background(), bot.Event{Platform: "console", Channel: "ops", Actor: admin, Text: "revoke-sessions admin@contoso.com"}, early)
	early.wait()
	var counted bool
	for _, s := range h.chat.Sent() {
		counted = counted || s.Update && strings.Contains(text(s.Message), "Approvals: 1 of 2 (sam)")
	}
	if !counted {
		t.Fatalf("the early approval is not on the card: %+v", h.chat.Sent())
	}
	if ap, _ := h.db.Approval(context.Background(), early.id); ap.Card == "" || len(ap.Approvers) != 1 || ap.State != bot.StatePending {
		t.Errorf("approval = %+v", ap)
	}
}

// TestDecisionWaitsForCard: an approval clicked on the replica that is
// still posting the card waits for the card's reference, so the outcome
// goes on the card (which then offers no buttons), not in a new message.
func TestDecisionWaitsForCard(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	early := &clickOnPost{Responder: h.chat.For(riley), t: t, async: true, click: func(id string) {
		h.bot.Handle(context.Background(), bot.Event{Platform: "console", Channel: "ops", Actor: sam, Text: "approve " + id}, h.chat.For(sam))
	}}
	h.bot.Handle(context.Background(), bot.Event{Platform: "console", Channel: "ops", Actor: riley, Text: `block-signin AlexW@contoso.com reason="leaver"`}, early)
	early.wait()
	var onCard, anew bool
	for _, s := range h.chat.Sent() {
		done := strings.Contains(text(s.Message), "sign-in blocked")
		onCard = onCard || done && s.Update && s.Ref == early.ref
		anew = anew || done && !s.Update && s.To == ""
	}
	if !onCard || anew {
		t.Fatalf("outcome on the card %v, posted anew %v: %+v", onCard, anew, h.chat.Sent())
	}
}

// clickOnPost is a Responder that clicks Approve on the approval card as
// soon as it is posted, before the bot has the card's reference: at once,
// or (async) from another goroutine while the post is still returning.
type clickOnPost struct {
	bot.Responder
	t       *testing.T
	click   func(id string)
	async   bool
	id, ref string
	done    sync.WaitGroup
}

func (r *clickOnPost) Public(ctx context.Context, m bot.Message) (string, error) {
	ref, err := r.Responder.Public(ctx, m)
	if r.id == "" {
		r.id, r.ref = cardID(r.t, []mock.Sent{{Message: m}}), ref
		if r.async {
			r.done.Go(func() { r.click(r.id) })
			time.Sleep(100 * time.Millisecond) // the post is slow to return
		} else {
			r.click(r.id)
		}
	}
	return ref, err
}

// wait waits for an async click to be handled, and fails if no card came.
func (r *clickOnPost) wait() {
	r.done.Wait()
	if r.id == "" {
		r.t.Fatal("no card posted")
	}
}

// TestOldCardAfterPruning: an approval is decided and, past the
// retention, pruned; its card stays in the channel. The next approval
// would draw the same ID, but a pruned ID is never given again, so a
// click on the old card's Approve cannot decide the new request.
func TestOldCardAfterPruning(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	ids := []string{"b00001", "b00001", "b00002"} // the second draw repeats the first
	var next atomic.Int32
	h.bot.NewID = func() string { return ids[min(int(next.Add(1))-1, len(ids)-1)] }
	h.bot.ApprovalRetention = time.Hour

	old := cardID(t, h.do(riley, `block-signin AdeleV@contoso.com reason="leaver"`))
	h.do(sam, "approve "+old)
	h.clock.Add(2 * time.Hour)
	must(t, h.bot.Sweep(context.Background()))
	if _, err := h.db.Approval(context.Background(), old); !errors.Is(err, bot.ErrNotFound) {
		t.Fatalf("approval %s not pruned: %v", old, err)
	}

	fresh := cardID(t, h.do(riley, `block-signin AlexW@contoso.com reason="leaver"`))
	if fresh == old {
		t.Fatalf("the new approval got the pruned ID %s", old)
	}
	h.do(sam, "approve "+old) // a click on the old card
	if ap, _ := h.db.Approval(context.Background(), fresh); ap.State != bot.StatePending {
		t.Errorf("the new approval is %s after a click on the old card", ap.State)
	}
}
