package bot

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/cippbot/cippbot/actions"
)

// runNow runs an action that needs no approval.
func (b *Bot) runNow(ctx context.Context, ev Event, r Responder, a *actions.Action, ap Approval) {
	// The request record doubles as the intent: it is written before the
	// tenant is called, and if it cannot be written nothing is called.
	if err := b.record(ctx, ev, ap.auditRecord(KindRequest, "running")); err != nil {
		b.private(ctx, r, errorMessage("Nothing was done: the audit trail is unavailable."))
		return
	}
	// A change is kept as a running request while it runs, so that if the
	// process dies meanwhile, the next start marks it "outcome unknown"
	// instead of forgetting it. The ID stays off the audit: no one approved.
	interrupted := false
	if a.Risk != actions.RiskRead {
		run := ap
		run.State, run.Replica = StateRunning, b.ReplicaID
		if id, err := b.createApproval(ctx, run); err != nil {
			b.log().WarnContext(ctx, "could not keep the run for crash recovery", "err", err)
		} else {
			defer func() {
				// If this is not stored, the run stays "running" and the
				// next start marks it "outcome unknown" and says so to the
				// requester: wrong on the safe side.
				state, outcome := StateDone, "ran at once"
				if interrupted {
					state, outcome = StateUnknown, "outcome unknown: cippbot stopped while it ran"
				}
				b.moveApproval(context.WithoutCancel(ctx), id, StateRunning, state, outcome)
			}()
		}
	}
	// A long run gets a public message that shows progress and then the
	// result; a short one just the result.
	var ref string
	chat := b.Chats[ev.Platform]
	show := func(m Message) bool {
		return chat != nil && ref != "" && chat.Update(ctx, ev.Channel, ref, m) == nil
	}
	switch {
	case a.Slow && a.Risk != actions.RiskRead:
		ref, _ = b.public(ctx, r, Message{Title: fmt.Sprintf("Running %s for %s: waiting for the answer…", a.Name, targetList(ap.Targets)),
			Lines: []string{fmt.Sprintf("%s · by %s", ap.TenantDomain, ap.Requester)}, Tone: ToneInfo})
	case len(ap.Targets) >= progressMin && a.Risk != actions.RiskRead:
		ref, _ = b.public(ctx, r, progressMessage(a, 0, len(ap.Targets), false))
	}
	sctx := actions.WithSteps(ctx, func(lines []string) { show(stepsMessage(a, ap, lines)) })
	res := b.execute(sctx, ev, a, ap, b.progress(a, show))
	interrupted = res.outcome == "unknown"
	ctx, cancel := afterStop(ctx)
	defer cancel()
	m := resultMessage(a, ap, res, nil)
	switch {
	case a.Risk == actions.RiskRead:
		b.private(ctx, r, m) // looking needs no audience
	case show(m):
	default:
		ref, _ = b.public(ctx, r, m) // a failure is logged; the secret still goes privately
	}
	if s := res.secretMessage(a, ap); s != nil {
		card, held := b.deliverSecret(ctx, r.Private, ev.Platform, ev.Channel, ref, ap, m, *s)
		if held != nil {
			shown := b.showCard(ctx, held, card)
			if !shown {
				b.private(ctx, r, held.pendingNotice())
			}
			b.retrySecret(ctx, held, shown)
		}
	}
}

// afterStop returns ctx, or, if ctx is done (cippbot is stopping, or the
// command's time is up), a fresh context of a few seconds, so that the card,
// the approval and the requester still learn how the run ended.
func afterStop(ctx context.Context) (context.Context, context.CancelFunc) {
	if ctx.Err() == nil {
		return ctx, func() {}
	}
	return context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
}

// stepsMessage shows an action of several steps being worked through.
func stepsMessage(a *actions.Action, ap Approval, lines []string) Message {
	done := 0
	for _, l := range lines {
		if !strings.HasPrefix(l, "… ") {
			done++
		}
	}
	return Message{Title: fmt.Sprintf("Running %s for %s: %d of %d steps…", a.Name, targetList(ap.Targets), done, len(lines)),
		Lines: lines, Tone: ToneInfo}
}

// runResult is the result of running an approved or immediate request.
type runResult struct {
	results   []actions.Result
	outcome   string // ok, failed, partial
	throttled int    // times the tenant throttled the run
}

// progressMin is the number of targets from which a run shows progress.
const progressMin = 5

// progressEvery is how often a progress message may be edited.
const progressEvery = 2 * time.Second

// progressMessage shows how far a run is; paced says its writes are
// waiting for the tenant's write quota, which is why it takes its time.
func progressMessage(a *actions.Action, done, total int, paced bool) Message {
	m := Message{Title: fmt.Sprintf("Running %s: %s of %s done…", a.Name, thousands(done), thousands(total)), Tone: ToneInfo}
	if paced {
		m.Title += " pacing to Microsoft's write limit"
	}
	return m
}

// thousands writes n with comma separators: 5,000.
func thousands(n int) string {
	s := strconv.Itoa(n)
	for i := len(s) - 3; i > 0 && s[i-1] != '-'; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// progress returns a progress callback that shows progress through show
// at most every progressEvery (and at the end), for runs of progressMin
// targets or more.
// The callback is made for the run's trace, which says whether the run
// is being paced; the function returned beside it stops the showing
// (see showLater) and must be called when the run is over, before
// anything else is shown in the same place.
func (b *Bot) progress(a *actions.Action, show func(Message) bool) func(*actions.Trace) (actions.Progress, func()) {
	return func(trace *actions.Trace) (actions.Progress, func()) {
		later, stop := showLater(show)
		return b.progressFor(a, later, trace), stop
	}
}

func (b *Bot) progressFor(a *actions.Action, show func(Message), trace *actions.Trace) actions.Progress {
	var mu sync.Mutex
	var last time.Time
	return func(done, total int) {
		if total < progressMin {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		now := b.now()
		if done < total && now.Sub(last) < progressEvery {
			return
		}
		last = now
		show(progressMessage(a, done, total, done < total && trace.Paced()))
	}
}

// showLater returns show made asynchronous for progress: a message is
// shown by a goroutine of its own, one at a time, and one that arrives
// while another is being shown waits, replacing any older one waiting.
// The run that reports progress (from inside its Graph calls) never
// waits for the chat, which may take a few hundred milliseconds an edit.
// stop drops a message not yet begun and waits for the one being shown,
// so that what is shown after it (the result) is not overwritten.
func showLater(show func(Message) bool) (later func(Message), stop func()) {
	var mu sync.Mutex
	var next *Message
	busy, stopped := false, false
	var wg sync.WaitGroup
	later = func(m Message) {
		mu.Lock()
		defer mu.Unlock()
		if stopped {
			return
		}
		next = &m
		if busy {
			return
		}
		busy = true
		wg.Go(func() {
			for {
				mu.Lock()
				m := next
				next = nil
				if m == nil || stopped {
					busy = false
					mu.Unlock()
					return
				}
				mu.Unlock()
				show(*m)
			}
		})
	}
	stop = func() {
		mu.Lock()
		stopped, next = true, nil
		mu.Unlock()
		wg.Wait()
	}
	return later, stop
}

// execute runs the action and writes the outcome: for one target one
// record, for several one record per target and a summary. Secrets stay in
// the returned results and go nowhere else.
func (b *Bot) execute(ctx context.Context, ev Event, a *actions.Action, ap Approval, progress func(*actions.Trace) (actions.Progress, func())) runResult {
	ids := make([]string, len(ap.Targets))
	for i, t := range ap.Targets {
		ids[i] = t.ID
	}
	start := b.now()
	tctx, trace := actions.WithTrace(ctx)
	report, stopReport := progress(trace)
	results := b.Runner.Run(tctx, ap.TenantID, a, ids, actions.Params(ap.Params), report)
	stopReport()
	b.keepLater(ctx, a, ap, results)
	res := runResult{results: results, outcome: "ok", throttled: trace.Throttled()}
	var failed, partial int
	var errs []string
	for _, x := range results {
		if x.Err != nil {
			failed++
			errs = append(errs, x.Target.UPN+": "+errorDetail(x.Err))
		}
		if x.Err == nil && x.Outcome.Partial {
			partial++
			errs = append(errs, x.Target.UPN+": "+x.Outcome.Summary)
		}
	}
	switch {
	case failed == len(results):
		res.outcome = "failed"
	case failed > 0 || partial > 0:
		res.outcome = "partial"
	}
	// Stopped while it ran (SIGTERM past the grace, or the command's time
	// up): what did not come back may still have reached the tenant, so
	// the outcome is unknown, and it is written although ctx is done.
	interrupted := ctx.Err() != nil && failed > 0
	if interrupted {
		res.outcome = "unknown"
	}
	rctx := context.WithoutCancel(ctx)
	rec := ap.auditRecord(KindOutcome, res.outcome)
	rec.Actor, rec.Approver = ap.Requester, ap.DecidedBy
	rec.Error, rec.RequestIDs, rec.DurationMS = strings.Join(errs, "; "), trace.IDs(), b.now().Sub(start).Milliseconds()
	if len(results) > 1 {
		for i, x := range results {
			one := rec
			one.Targets, one.RequestIDs, one.DurationMS = ap.Targets[i:i+1], nil, 0
			one.Outcome, one.Error = "ok", ""
			switch {
			case x.Err != nil && interrupted:
				one.Outcome, one.Error = "unknown", errorDetail(x.Err)
			case x.Err != nil:
				one.Outcome, one.Error = "failed", errorDetail(x.Err)
			case x.Outcome.Partial:
				one.Outcome, one.Error = "partial", x.Outcome.Summary
			}
			b.record(rctx, ev, one)
		}
		// The summary names the counts; the per-target records carry the rest.
		rec.Targets, rec.Error = nil, ""
		rec.Params = maps.Clone(ap.Params)
		if rec.Params == nil {
			rec.Params = map[string]string{}
		}
		rec.Params["targets"] = strconv.Itoa(len(results))
		rec.Params["failed"] = strconv.Itoa(failed)
	}
	b.record(rctx, ev, rec)
	b.metrics().Request(ev.Platform, a.Name, res.outcome)
	b.log().InfoContext(rctx, "action run", LogAction, a.Name, LogTenant, ap.TenantDomain, LogActor, ap.Requester.ID,
		LogApproval, ap.ID, "outcome", res.outcome, "duration_ms", b.now().Sub(start).Milliseconds())
	return res
}

// secretMessage returns the private message carrying the run's secrets, or
// nil if there are none.
func (res runResult) secretMessage(a *actions.Action, ap Approval) *Message {
	var secrets []Secret
	for _, x := range res.results {
		if x.Err == nil && !x.Outcome.Secret.IsZero() {
			secrets = append(secrets, x.Outcome.Secret)
		}
	}
	if len(secrets) == 0 {
		return nil
	}
	title := "Only you can see this: " + a.Name
	if ap.ID != "" {
		title += " (" + ap.ID + ")"
	}
	return &Message{Title: title, Secrets: secrets, Tone: ToneOK,
		Lines: []string{"Hand it over by phone or in person; do not paste it into a channel."}}
}

// resultMessage is the public summary of a run: the most important fact
// first, one line per target.
func resultMessage(a *actions.Action, ap Approval, res runResult, decided *Actor) Message {
	m := Message{Tone: ToneOK}
	switch res.outcome {
	case "unknown":
		m.Tone = ToneWarn
		m.Title = "Outcome unknown: cippbot stopped while " + a.Name + " ran. Check the user; it will not be re-run."
	case "failed":
		m.Tone = ToneError
		m.Title = "Failed: " + a.Name
	case "partial":
		m.Tone = ToneWarn
		m.Title = "Partly done: " + a.Name
	default:
		m.Title = "Done: " + a.Name
	}
	if len(res.results) == 1 && res.results[0].Err == nil {
		m.Title = res.results[0].Outcome.Summary
		for _, n := range res.results[0].Outcome.Next {
			m.Buttons = append(m.Buttons, Button{Label: n.Label, Value: n.Command, Danger: n.Danger})
		}
	}
	single := len(res.results) == 1
	ordered := slices.Clone(res.results)
	slices.SortStableFunc(ordered, func(x, y actions.Result) int { return boolInt(y.Err != nil) - boolInt(x.Err != nil) })
	for _, x := range ordered {
		switch {
		case x.Err != nil:
			m.Lines = append(m.Lines, "✗ "+x.Target.UPN+": "+actions.ErrorMessage(x.Err))
		case single:
			m.Lines = append(m.Lines, x.Outcome.Lines...)
		default:
			m.Lines = append(m.Lines, "✓ "+x.Outcome.Summary)
		}
	}
	if len(res.results) > 1 {
		m.Lines = append([]string{fmt.Sprintf("%d done, %d failed", len(res.results)-res.failed(), res.failed())}, m.Lines...)
		if len(m.Lines) > maxResultLines {
			m.Lines = append(m.Lines[:maxResultLines], fmt.Sprintf("… and %d more; /cipp audit has each one", len(m.Lines)-maxResultLines))
		}
	}
	if res.throttled > 0 {
		m.Lines = append(m.Lines, "Microsoft 365 throttled this tenant; cippbot waited and retried.")
	}
	if res.secretCount() > 0 {
		m.Lines = append(m.Lines, fmt.Sprintf("The new secret went privately to %s.", ap.Requester))
	}
	by := "by " + ap.Requester.String()
	if len(ap.Approvers) > 1 {
		names := make([]string, len(ap.Approvers))
		for i, p := range ap.Approvers {
			names[i] = p.String()
		}
		by += ", approved by " + strings.Join(names, " and ")
	} else if decided != nil {
		by += ", approved by " + decided.String()
	}
	m.Lines = append(m.Lines, fmt.Sprintf("%s · %s", ap.TenantDomain, by))
	return m
}

// maxResultLines keeps a bulk result readable on a phone: failures are
// listed first, then successes, up to this many lines.
const maxResultLines = 15

func (res runResult) failed() int {
	n := 0
	for _, x := range res.results {
		if x.Err != nil {
			n++
		}
	}
	return n
}

func (res runResult) secretCount() int {
	n := 0
	for _, x := range res.results {
		if x.Err == nil && !x.Outcome.Secret.IsZero() {
			n++
		}
	}
	return n
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
