package bot

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/cippbot/cippbot/actions"
)

// askApproval stores a pending approval and posts its card.
func (b *Bot) askApproval(ctx context.Context, ev Event, r Responder, a *actions.Action, ap Approval) {
	ap.State = StatePending
	ap.ExpiresAt = ap.CreatedAt.Add(b.ttl())
	var err error
	ap.ID, err = b.createApproval(ctx, ap)
	if err != nil {
		b.private(ctx, r, errorMessage("Could not store the request: "+b.userError(ctx, err)))
		return
	}
	rec := ap.auditRecord(KindRequest, "pending")
	rec.Policy = strings.Join(ap.Why, "; ")
	if err := b.record(ctx, ev, rec); err != nil {
		// If even this is not stored, the request stays pending without a
		// card, and Sweep expires it.
		b.moveApproval(ctx, ap.ID, StatePending, StateFailed, "audit unavailable")
		b.private(ctx, r, errorMessage("Nothing was done: the audit trail is unavailable."))
		return
	}
	b.metrics().Request(ev.Platform, a.Name, "pending")
	posted := make(chan struct{})
	b.posting.Store(ap.ID, posted)
	defer func() { b.posting.Delete(ap.ID); close(posted) }()
	ref, err := b.public(ctx, r, pendingCard(a, ap))
	if err != nil {
		// Nobody can approve a card nobody sees: close the request.
		b.moveApproval(ctx, ap.ID, StatePending, StateFailed, "card not posted")
		rec := ap.auditRecord(KindOutcome, "failed")
		rec.Params, rec.Reason = nil, "" // the request record just written has them
		rec.Error = "approval card could not be posted: " + err.Error()
		b.record(ctx, ev, rec)
		return
	}
	if ref != "" {
		stored, err := b.Store.UpdateApproval(ctx, ap.ID, func(x *Approval) error { x.Card = ref; return nil })
		switch {
		case err != nil:
			// The card's buttons still work (they carry the ID), but the
			// card cannot be found to update: results are posted anew.
			b.log().ErrorContext(ctx, "approval card not kept with its request", LogApproval, ap.ID, "err", err)
		case stored.State == StatePending && len(stored.Approvers) > 0:
			// A first approval came between the post and now, and found no
			// card to count itself on: count it now. (A decision that ended
			// the request posts its outcome anew if it found no card.)
			b.updateCard(ctx, stored, pendingCard(a, stored))
		}
	}
}

// auditRecord is a record of kind about ap, with the outcome given: the
// action, tenant, targets, parameters, reason and ID the approval pins.
// Callers add who acted and why it ended as it did.
func (ap Approval) auditRecord(kind, outcome string) AuditRecord {
	return AuditRecord{Kind: kind, Action: ap.Action, TenantID: ap.TenantID, Tenant: ap.TenantDomain,
		Targets: ap.Targets, Params: ap.Params, Reason: ap.Reason, ApprovalID: ap.ID, Outcome: outcome}
}

// moveApproval moves approval id from state from to state to, as a
// compare-and-swap, and returns it as stored; outcome, if non-empty,
// replaces its one-line result. It reports false if the approval did not
// move: it had left from already (a second click, Sweep, another
// process), which is no fault, or the store failed, which is logged here
// with the move that was meant. Either way the approval keeps the state
// it has, and its end is never written twice: a pending one expires in
// Sweep, a running one is marked "outcome unknown" by the next Recover.
func (b *Bot) moveApproval(ctx context.Context, id string, from, to ApprovalState, outcome string) (Approval, bool) {
	ap, err := b.Store.UpdateApproval(ctx, id, func(x *Approval) error {
		if x.State != from {
			return errDecided{*x}
		}
		x.State = to
		if outcome != "" {
			x.Outcome = outcome
		}
		return nil
	})
	var dec errDecided
	switch {
	case errors.As(err, &dec):
		return dec.ap, false
	case err != nil:
		b.log().ErrorContext(ctx, "approval state not stored", LogApproval, id, "from", from, "to", to, "err", err)
		return Approval{}, false
	}
	return ap, true
}

// createApproval stores ap under a new ID and returns the ID.
func (b *Bot) createApproval(ctx context.Context, ap Approval) (string, error) {
	var err error
	for range 5 {
		ap.ID = b.newID()
		if err = b.Store.CreateApproval(ctx, ap); !errors.Is(err, ErrExists) {
			break
		}
	}
	return ap.ID, err
}

// cardWait bounds how long a decision waits for its card's reference.
const cardWait = 2 * time.Second

// awaitCard waits, briefly, while this process is still posting approval
// id's card: a click can come between the post and the reference being
// kept (the card is visible before the post returns), and a decision
// made then would find no card to update, leaving it showing its
// buttons over a request already decided.
func (b *Bot) awaitCard(ctx context.Context, id string) {
	v, ok := b.posting.Load(id)
	if !ok {
		return
	}
	select {
	case <-v.(chan struct{}):
	case <-time.After(cardWait):
	case <-ctx.Done():
	}
}

// Refusals of a second approval.
var (
	errAlreadyApproved = errors.New("already approved by this approver")
	errAdminNeeded     = errors.New("an admin must approve")
)

// errDecided carries the approval's state when a click comes too late.
type errDecided struct{ ap Approval }

func (e errDecided) Error() string { return "approval is " + string(e.ap.State) }

// decide handles "approve <id>" and "deny <id>".
func (b *Bot) decide(ctx context.Context, ev Event, r Responder, cmd Command) {
	verb := cmd.Verb
	if len(cmd.Positional) != 1 || len(cmd.Targets) > 0 {
		b.private(ctx, r, errorMessage("Usage: "+verb+" <approval id>, as shown on the card."))
		return
	}
	id := strings.ToLower(cmd.Positional[0])
	b.awaitCard(ctx, id)
	ap, err := b.Store.Approval(ctx, id)
	if errors.Is(err, ErrNotFound) {
		b.private(ctx, r, errorMessage(fmt.Sprintf("There is no request %s.", id), "Check the id on the card."))
		return
	} else if err != nil {
		b.private(ctx, r, errorMessage(b.userError(ctx, err)))
		return
	}
	a := b.Catalogue.Lookup(ap.Action)
	refuse := func(msg string) {
		b.private(ctx, r, errorMessage(msg))
		rec := ap.auditRecord(KindRefused, "")
		// The refusal is of the click, not of the request: it keeps the
		// command typed, not the request's parameters and reason.
		rec.Params, rec.Reason = nil, ""
		rec.Error = verb + ": " + msg
		b.refused(ctx, ev, rec)
	}
	if a == nil {
		refuse("This request's action no longer exists.")
		return
	}
	// The requester may withdraw (deny) their own request, never approve it.
	own := ev.Actor.ID == ap.Requester.ID
	if own && verb == "approve" {
		refuse("You cannot approve your own request: another approver must.")
		return
	}
	var role Role
	if !own {
		role, err = b.role(ctx, ev.Actor.ID, ap.TenantID)
		if err != nil {
			b.private(ctx, r, errorMessage(b.userError(ctx, err)))
			return
		}
		if role < RoleApprover {
			refuse(fmt.Sprintf("Only an approver for %s may %s; you have %s.", ap.TenantDomain, verb, roleOrNone(role)))
			return
		}
	}
	now := b.now()
	decider := ev.Actor
	partial := false // an approval recorded, more needed
	ap, err = b.Store.UpdateApproval(ctx, id, func(x *Approval) error {
		var err error
		partial, err = applyDecision(x, verb, decider, role, now)
		if x.State == StateRunning {
			x.Replica = b.ReplicaID // the run is this replica's (replicas.go)
		}
		return err
	})
	var dec errDecided
	switch {
	case errors.As(err, &dec):
		b.private(ctx, r, alreadyDecided(dec.ap))
		return
	case errors.Is(err, errAlreadyApproved):
		refuse("You already approved this; another approver must too.")
		return
	case errors.Is(err, errAdminNeeded):
		refuse("This request needs an admin's approval: " + strings.Join(ap.Why, "; ") + ".")
		return
	case err != nil:
		b.private(ctx, r, errorMessage(b.userError(ctx, err)))
		return
	}
	if ap.State != StatePending || partial {
		b.metrics().ApprovalWait(now.Sub(ap.CreatedAt))
	}
	if partial {
		rec := ap.auditRecord(KindDecision, fmt.Sprintf("approved %d of %d", len(ap.Approvers), ap.needed()))
		rec.Policy, rec.Approver = strings.Join(ap.Why, "; "), &decider
		b.record(ctx, ev, rec)
		b.updateCard(ctx, ap, pendingCard(a, ap))
		b.private(ctx, r, Message{Title: fmt.Sprintf("You approved %s; %d more approver(s) needed.", ap.ID, ap.needed()-len(ap.Approvers)), Tone: ToneOK})
		return
	}
	switch ap.State {
	case StateExpired:
		b.expired(ctx, &ev, a, ap)
		b.private(ctx, r, errorMessage(fmt.Sprintf("Request %s expired at %s; nothing was done.", ap.ID, ap.ExpiresAt.Format("15:04Z")),
			"Ask again if it is still needed."))
	case StateDenied:
		b.denied(ctx, ev, r, a, ap, own)
	case StateRunning:
		b.runApproved(ctx, ev, r, a, ap)
	}
}

// applyDecision applies verb ("approve" or "deny") by decider, of role,
// to x at now: the compare-and-swap at the heart of decide, run inside
// the store's transaction. It reports whether an approval was recorded
// and more are needed. A pending approval past its time expires instead;
// one no longer pending returns errDecided.
func applyDecision(x *Approval, verb string, decider Actor, role Role, now time.Time) (partial bool, err error) {
	if x.State != StatePending {
		return false, errDecided{*x}
	}
	if now.After(x.ExpiresAt) {
		x.State, x.DecidedAt = StateExpired, now
		return false, nil
	}
	if verb == "deny" {
		x.State, x.DecidedBy, x.DecidedAt = StateDenied, &decider, now
		return false, nil
	}
	if slices.ContainsFunc(x.Approvers, func(p Actor) bool { return p.ID == decider.ID }) {
		return false, errAlreadyApproved
	}
	// An admin is needed among the approvers: the last one must be,
	// unless one already was.
	if x.AdminNeeded && role < RoleAdmin && len(x.Approvers)+1 == x.needed() && !x.AdminApproved {
		return false, errAdminNeeded
	}
	x.Approvers = append(x.Approvers, decider)
	if role >= RoleAdmin {
		x.AdminApproved = true
	}
	if len(x.Approvers) < x.needed() {
		return true, nil
	}
	x.State, x.DecidedBy, x.DecidedAt = StateRunning, &decider, now
	return false, nil
}

// denied records a denial, or the requester's withdrawal (own), and tells
// the card, the requester and the one who denied.
func (b *Bot) denied(ctx context.Context, ev Event, r Responder, a *actions.Action, ap Approval, own bool) {
	decider := *ap.DecidedBy
	rec := ap.auditRecord(KindDecision, "denied")
	rec.Approver = &decider
	b.record(ctx, ev, rec)
	word := "Denied"
	if own {
		word = "Withdrawn"
	}
	card := decidedCard(a, ap, fmt.Sprintf("%s by %s: %s %s", word, decider, ap.Action, targetList(ap.Targets)), ToneError)
	b.updateCard(ctx, ap, card)
	if !own {
		b.notify(ctx, ap, Message{Title: fmt.Sprintf("%s denied your %s request (%s).", decider, ap.Action, ap.ID), Tone: ToneError})
	}
	b.private(ctx, r, Message{Title: "You denied " + ap.ID + ".", Tone: ToneOK})
}

func alreadyDecided(ap Approval) Message {
	who := ""
	if ap.DecidedBy != nil {
		who = " by " + ap.DecidedBy.String()
	}
	switch ap.State {
	case StateExpired:
		return errorMessage(fmt.Sprintf("Request %s expired at %s; nothing was done.", ap.ID, ap.ExpiresAt.Format("15:04Z")))
	case StateDenied:
		return errorMessage(fmt.Sprintf("Request %s was already denied%s.", ap.ID, who))
	case StateRunning:
		return errorMessage(fmt.Sprintf("Request %s was already approved%s and is running.", ap.ID, who))
	case StateUnknown:
		return errorMessage(fmt.Sprintf("Request %s was interrupted; its outcome is unknown. Check the user before asking again.", ap.ID))
	}
	return errorMessage(fmt.Sprintf("Request %s was already approved%s: %s", ap.ID, who, ap.State))
}

// expired records an expiry and updates the card. ev, if non-nil, is the
// click that found the approval expired, and the record is written where
// it was made; nil means Sweep found it, and the record is written in the
// approval's channel.
func (b *Bot) expired(ctx context.Context, ev *Event, a *actions.Action, ap Approval) {
	rec := ap.auditRecord(KindDecision, "expired")
	rec.Actor = Actor{ID: "cippbot"}
	if ev != nil {
		b.record(ctx, *ev, rec)
	} else {
		b.recordAt(ctx, ap, rec)
	}
	b.updateCard(ctx, ap, decidedCard(a, ap, fmt.Sprintf("Expired: %s %s (nobody approved in time)", ap.Action, targetList(ap.Targets)), ToneInfo))
	b.notify(ctx, ap, Message{Title: fmt.Sprintf("Your %s request (%s) expired unapproved; nothing was done.", ap.Action, ap.ID), Tone: ToneInfo})
}

// runApproved runs a request that has just moved to running, exactly once.
func (b *Bot) runApproved(ctx context.Context, ev Event, r Responder, a *actions.Action, ap Approval) {
	decider := *ap.DecidedBy
	// Not run: if that cannot be stored, the request stays "running" and
	// the next start reports its outcome unknown, wrong on the safe side.
	fail := func(msg string) {
		b.moveApproval(ctx, ap.ID, StateRunning, StateFailed, msg)
		b.updateCard(ctx, ap, decidedCard(a, ap, "Not run: "+msg, ToneError))
		b.private(ctx, r, errorMessage("Not run: "+msg))
	}
	approved := ap.auditRecord(KindDecision, "approved")
	approved.Policy, approved.Approver = strings.Join(ap.Why, "; "), &decider
	// The decision record, the card saying the run has begun and the
	// re-check of what the approval pinned do not wait for one another:
	// the re-check only reads the tenant, and nothing is written to it
	// until the decision and the intent are stored. So a bulk run's first
	// write waits for the slowest of the three, not for their sum.
	var recorded error
	var wg sync.WaitGroup
	wg.Go(func() { recorded = b.record(ctx, ev, approved) })
	wg.Go(func() {
		b.updateCard(ctx, ap, decidedCard(a, ap, fmt.Sprintf("Approved by %s: running %s…", decider, ap.Action), ToneInfo))
	})
	// The approval covers the targets as they were shown; if what made the
	// risk decision has changed since, it no longer does.
	changed := b.stillPinned(ctx, a, ap)
	wg.Wait()
	if recorded != nil {
		fail("the audit trail is unavailable")
		return
	}
	if changed != "" {
		msg := "approval void: " + changed + " since it was asked; ask again"
		b.moveApproval(ctx, ap.ID, StateRunning, StateFailed, msg)
		void := ap.auditRecord(KindOutcome, "void")
		void.Reason = "" // the decision record just written has it
		void.Actor, void.Approver, void.Error = ap.Requester, &decider, changed
		b.record(ctx, ev, void)
		b.metrics().Request(ev.Platform, ap.Action, "void")
		b.updateCard(ctx, ap, decidedCard(a, ap, "Not run, "+msg, ToneError))
		b.notify(ctx, ap, Message{Title: fmt.Sprintf("Your %s request (%s) was not run: %s.", ap.Action, ap.ID, msg), Tone: ToneError})
		b.private(ctx, r, errorMessage("Not run, "+msg+"."))
		return
	}
	intent := ap.auditRecord(KindIntent, "running")
	intent.Actor, intent.Approver = ap.Requester, &decider
	if err := b.record(ctx, ev, intent); err != nil {
		fail("the audit trail is unavailable")
		return
	}
	sctx := actions.WithSteps(ctx, func(lines []string) { b.updateCard(ctx, ap, stepsMessage(a, ap, lines)) })
	res := b.execute(sctx, ev, a, ap, b.progress(a, func(m Message) bool { return b.updateCard(ctx, ap, m) }))
	ctx, cancel := afterStop(ctx)
	defer cancel()
	m := resultMessage(a, ap, res, &decider)
	state := StateDone
	switch res.outcome {
	case "failed":
		state = StateFailed
	case "unknown":
		state = StateUnknown
	}
	// If the end cannot be stored (logged), the next start reports the
	// outcome unknown; the card is still updated from what is known.
	final, ok := b.moveApproval(ctx, ap.ID, StateRunning, state, m.Title)
	if !ok {
		final = ap
	}
	// The secret goes first, so that the card says whether it arrived; if
	// it did not, it is held and retried (see deliverSecret).
	s := res.secretMessage(a, ap)
	var held *heldSecret
	if s != nil {
		m, held = b.deliverSecret(ctx, func(ctx context.Context, m Message) error {
			chat := b.Chats[ap.Platform]
			if chat == nil {
				return errors.New("no chat for " + ap.Platform)
			}
			return chat.Notify(ctx, ap.Channel, ap.Requester, m)
		}, ap.Platform, ap.Channel, final.Card, ap, m, *s)
	}
	shown := b.updateCard(ctx, final, m)
	if !shown {
		b.public(ctx, r, m) // a failure is logged; the requester is told below
	}
	if held != nil {
		b.retrySecret(ctx, held, shown)
	}
	if s == nil {
		b.notify(ctx, ap, Message{Title: fmt.Sprintf("%s approved your %s request (%s): %s", decider, ap.Action, ap.ID, res.outcome), Tone: m.Tone})
	}
	b.private(ctx, r, Message{Title: "You approved " + ap.ID + ": " + res.outcome + ".", Tone: m.Tone})
}

// notify writes privately to the requester of ap.
func (b *Bot) notify(ctx context.Context, ap Approval, m Message) {
	chat := b.Chats[ap.Platform]
	if chat == nil {
		b.log().WarnContext(ctx, "no chat to notify the requester", LogApproval, ap.ID, LogPlatform, ap.Platform)
		return
	}
	if err := chat.Notify(ctx, ap.Channel, ap.Requester, m); err != nil {
		b.log().WarnContext(ctx, "private message to requester failed", LogApproval, ap.ID, "err", err)
	}
}

// Sweep is what one process alone does now and then: FlushRefusals, then
// SweepShared.
func (b *Bot) Sweep(ctx context.Context) error {
	b.FlushRefusals(ctx)
	return b.SweepShared(ctx)
}

// FlushRefusals writes the summaries of this process's finished refusal
// windows, which it alone holds: every replica calls it.
func (b *Bot) FlushRefusals(ctx context.Context) { b.flushRefusals(ctx) }

// SweepShared runs the jobs that are due, expires pending approvals whose
// time is up and updates their cards, then removes decided approvals
// older than the retention, a batch at a time. Clicks on an expired card
// expire it too. It reads the pending approvals and the ones it removes,
// not the rest. A job is not claimed before it runs, so on a shared store
// one replica at a time calls it (the leader).
func (b *Bot) SweepShared(ctx context.Context) error {
	if err := b.RunJobs(ctx); err != nil {
		b.log().WarnContext(ctx, "jobs left for later could not be read", "err", err)
	}
	pending, err := b.Store.Approvals(ctx, StatePending)
	if err != nil {
		return err
	}
	now := b.now()
	for _, p := range pending {
		if !now.After(p.ExpiresAt) {
			continue
		}
		ap, ok := b.moveApproval(ctx, p.ID, StatePending, StateExpired, "")
		if !ok {
			continue // decided meanwhile, or not stored and tried at the next sweep
		}
		a := b.Catalogue.Lookup(ap.Action)
		if a == nil {
			continue
		}
		b.expired(ctx, nil, a, ap)
	}
	b.prune(ctx, now)
	return nil
}

// Pruning removes at most pruneBatch approvals per transaction, so that
// other writes wait little, and at most pruneBatches batches per sweep; a
// long backlog (the first sweep after an upgrade) is worked off over a few
// sweeps.
const (
	pruneBatch   = 1000
	pruneBatches = 20
)

// prune removes decided approvals asked for before now less the retention.
func (b *Bot) prune(ctx context.Context, now time.Time) {
	r := b.retention()
	if r < 0 {
		return
	}
	before := now.Add(-r)
	total := 0
	for range pruneBatches {
		n, err := b.Store.PruneApprovals(ctx, before, pruneBatch)
		total += n
		if err != nil {
			b.log().WarnContext(ctx, "removing old approvals failed", "err", err, "removed", total)
			return
		}
		if n < pruneBatch {
			break
		}
	}
	if total > 0 {
		b.log().InfoContext(ctx, "removed decided approvals past the retention", "removed", total, "before", before)
	}
}

// Recover marks requests that were running when the process stopped as
// "outcome unknown": they are never re-run automatically. Call it once at
// start-up, before handling events. With replicas sharing the store, only
// the runs of this replica and of replicas that are gone are marked
// (orphanedRuns).
func (b *Bot) Recover(ctx context.Context) error { return b.recoverRuns(ctx, true) }

// recoverRuns marks the orphaned runs (orphanedRuns) "outcome unknown".
func (b *Bot) recoverRuns(ctx context.Context, atStart bool) error {
	running, err := b.Store.Approvals(ctx, StateRunning)
	if err != nil {
		return err
	}
	if running, err = b.orphanedRuns(ctx, running, atStart); err != nil {
		return err
	}
	for _, p := range running {
		ap, ok := b.moveApproval(ctx, p.ID, StateRunning, StateUnknown, "outcome unknown: cippbot stopped while it ran")
		if !ok {
			continue // settled meanwhile, or not stored and tried at the next start
		}
		rec := ap.auditRecord(KindOutcome, "unknown")
		rec.Reason = "" // the intent record before it has it
		rec.Actor, rec.Approver, rec.Error = ap.Requester, ap.DecidedBy, "process stopped while the action ran"
		b.recordAt(ctx, ap, rec)
		if a := b.Catalogue.Lookup(ap.Action); a != nil {
			b.updateCard(ctx, ap, decidedCard(a, ap, "Outcome unknown: cippbot stopped while "+ap.Action+" ran. Check the user.", ToneWarn))
		}
		b.notify(ctx, ap, Message{Title: fmt.Sprintf("Your %s of %s was interrupted when cippbot stopped: its outcome is unknown. Check before asking again; it will not be re-run.",
			ap.Action, targetList(ap.Targets)), Tone: ToneWarn})
	}
	return nil
}
