package bot

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/cippbot/cippbot/actions"
)

// maxTargets bounds one request; the card shows the count and the first
// few.
const maxTargets = 1000

// request handles "/cipp <action> …": check, resolve, authorize, then run
// at once or ask for approval.
func (b *Bot) request(ctx context.Context, ev Event, r Responder, a *actions.Action, cmd Command) {
	refuse := func(tenant Tenant, targets []Target, err error) {
		b.private(ctx, r, errorMessage(b.userError(ctx, err)))
		b.refused(ctx, ev, AuditRecord{Action: a.Name, TenantID: tenant.ID, Tenant: tenant.DefaultDomain,
			Targets: targets, Reason: cmd.Reason, Error: errorDetail(err)})
	}
	// bulk-add reads whole rows from its file; other bulk actions a list
	// of users.
	var rows string
	var err error
	if a.Target == actions.TargetNew && a.Bulk && len(ev.Files) > 0 {
		var upns []string
		upns, rows, err = newUserRowsFromFiles(ev.Files)
		cmd.Targets = append(cmd.Targets, upns...)
	} else {
		cmd, err = withFileTargets(cmd, ev.Files)
	}
	if err != nil {
		refuse(Tenant{}, nil, err)
		return
	}
	if len(ev.Files) > 0 && !a.Bulk {
		refuse(Tenant{}, nil, actions.Errorf(actions.EINVALID, "%s takes one user; a file of users works with bulk actions", a.Name))
		return
	}
	// In a channel bound to a tenant, bare names are users of it: the
	// bare words before the action's own positional parameters.
	positional, bare := cmd.Positional, []string(nil)
	binding, berr := b.Store.Binding(ctx, ev.Platform, ev.Channel)
	bound := berr == nil
	// customerId= (CIPP's name for the tenant, its ID or a domain) names
	// the tenant for this request, as a channel binding would.
	if v, ok := cmd.Named["customerid"]; ok {
		delete(cmd.Named, "customerid")
		t, err := b.lookupTenant(ctx, v)
		if err != nil {
			refuse(Tenant{}, nil, err)
			return
		}
		binding, bound = Binding{Platform: ev.Platform, Channel: ev.Channel, TenantID: t.ID}, true
	}
	if extra := len(positional) - positionalParams(a); extra > 0 {
		if !bound {
			refuse(Tenant{}, nil, actions.Errorf(actions.EINVALID,
				"%q is not user@domain: type the full address, or bind this channel to a tenant (/cipp bind contoso.com) to use bare names",
				positional[0]))
			return
		}
		bare, positional = positional[:extra], positional[extra:]
	}
	params, err := a.Bind(positional, cmd.Named, cmd.Flags)
	if err != nil {
		raw := make([]Target, 0, len(cmd.Targets))
		for _, t := range cmd.Targets {
			raw = append(raw, Target{UPN: t})
		}
		refuse(Tenant{}, raw, err)
		return
	}
	if a.Target == actions.TargetNew {
		// Users to create: bare names are new addresses in the bound
		// tenant; without an address, the fields may name one.
		if len(bare) > 0 {
			t, err := b.lookupTenant(ctx, binding.TenantID)
			if err != nil {
				refuse(Tenant{}, nil, err)
				return
			}
			for _, n := range bare {
				cmd.Targets = append(cmd.Targets, strings.ToLower(n+"@"+t.DefaultDomain))
			}
			bare = nil
		}
		if len(cmd.Targets) == 0 && a.TargetFrom != nil {
			if params["primdomain"] == "" && params["mailnickname"] != "" && bound {
				if t, err := b.lookupTenant(ctx, binding.TenantID); err == nil {
					params["primdomain"] = t.DefaultDomain
				}
			}
			if upn := a.TargetFrom(params); upn != "" {
				cmd.Targets = append(cmd.Targets, upn)
			}
		}
		if len(a.Form) > 0 && rows == "" && formNeeded(a, params, len(cmd.Targets) > 0) {
			b.private(ctx, r, b.newUserForm(ctx, a, params, cmd, binding.TenantID))
			return
		}
		if rows != "" {
			params[actions.RowsParam] = rows
		}
	}
	if len(cmd.Targets)+len(bare) == 0 {
		refuse(Tenant{}, nil, actions.Errorf(actions.EINVALID, "%s needs a user as user@domain: /cipp %s", a.Name, a.Usage()))
		return
	}
	if len(cmd.Targets)+len(bare) > maxTargets {
		refuse(Tenant{}, nil, actions.Errorf(actions.EINVALID, "at most %d users per request", maxTargets))
		return
	}
	raw := make([]Target, 0, len(cmd.Targets)+len(bare))
	for _, t := range append(slices.Clone(cmd.Targets), bare...) {
		raw = append(raw, Target{UPN: t})
	}
	// A refusal that offers choices (a group name several groups share)
	// shows them as buttons that ask again with the choice made.
	refuse = func(tenant Tenant, targets []Target, err error) {
		m := errorMessage(b.userError(ctx, err))
		for _, c := range actions.ChoicesOf(err) {
			// The line stands in where a button cannot (too long a
			// command for Discord's 100-character button IDs).
			m.Lines = append(m.Lines, c.Label+": "+c.Param+"="+c.Value)
			m.Buttons = append(m.Buttons, Button{Label: c.Label,
				Value: rebuild(a, append(slices.Clone(cmd.Targets), bare...), params, cmd.Reason, c.Param, c.Value)})
		}
		b.private(ctx, r, m)
		b.refused(ctx, ev, AuditRecord{Action: a.Name, TenantID: tenant.ID, Tenant: tenant.DefaultDomain,
			Targets: targets, Reason: cmd.Reason, Error: errorDetail(err)})
	}
	var tenant Tenant
	if len(cmd.Targets) > 0 {
		tenant, err = b.resolveTenant(ctx, cmd.Targets)
	} else {
		tenant, err = b.lookupTenant(ctx, binding.TenantID)
	}
	if err == nil && len(bare) > 0 && tenant.ID != binding.TenantID {
		err = actions.Errorf(actions.EINVALID, "bare names here mean users of %s, but %s is in %s: one tenant per request",
			b.tenantName(ctx, binding.TenantID), cmd.Targets[0], tenant.DefaultDomain)
	}
	if err != nil {
		refuse(Tenant{}, raw, err)
		return
	}
	role, err := b.role(ctx, ev.Actor.ID, tenant.ID)
	if err != nil {
		refuse(tenant, raw, err)
		return
	}
	if need := requiredRole(a.Risk); role < need {
		refuse(tenant, raw, actions.Errorf(actions.EFORBIDDEN,
			"%s needs the %s role in %s; you have %s. An admin can grant it: /cipp access grant %s %s",
			a.Name, need, tenant.DefaultDomain, roleOrNone(role), ev.Actor.ID, need))
		return
	}
	var users []actions.User
	add := func(u actions.User) {
		if !slices.ContainsFunc(users, func(x actions.User) bool { return x.ID == u.ID }) {
			users = append(users, u)
		}
	}
	found, errs := b.Runner.LookupTargets(ctx, tenant.ID, a, cmd.Targets)
	var missing []string
	for i, t := range cmd.Targets {
		switch err := errs[i]; {
		case actions.ErrorCode(err) == actions.ENOTFOUND && a.Target == actions.TargetUser:
			missing = append(missing, t)
		case err != nil:
			refuse(tenant, raw, err)
			return
		default:
			add(found[i])
		}
	}
	if len(missing) > 0 {
		what := missing[0] + " does not exist"
		if len(missing) > 1 {
			what = fmt.Sprintf("%d users do not exist (%s)", len(missing), targetList(targetsOf(missing)))
		}
		refuse(tenant, raw, actions.Errorf(actions.ENOTFOUND, "%s in %s: check the spelling", what, tenant.DefaultDomain))
		return
	}
	for _, name := range bare {
		u, err := b.findBare(ctx, tenant, name)
		if err != nil {
			refuse(tenant, raw, err)
			return
		}
		add(u)
	}
	targets := make([]Target, len(users))
	for i, u := range users {
		targets[i] = Target{ID: u.ID, UPN: u.UPN}
	}
	params, err = b.Runner.Prepare(ctx, tenant.ID, a, users, params)
	if err != nil {
		refuse(tenant, targets, err)
		return
	}
	ap := Approval{
		Action: a.Name, TenantID: tenant.ID, TenantDomain: tenant.DefaultDomain,
		Targets: targets, Params: params, Reason: cmd.Reason, Requester: ev.Actor,
		Platform: ev.Platform, Workspace: ev.Workspace, Channel: ev.Channel,
		CreatedAt: b.now(),
	}
	if err := b.applyPolicy(ctx, a, tenant, role, users, &ap); err != nil {
		refuse(tenant, ap.Targets, err)
		return
	}
	if !needsApproval(a) && ap.needed() == 1 && !ap.AdminNeeded {
		b.runNow(ctx, ev, r, a, ap)
		return
	}
	// The request is sound; before anyone is asked, it needs a reason that
	// says something: a zero-width space or a dot is no reason.
	if !visibleReason(ap.Reason) {
		ap.Reason = ""
	}
	if (needsApproval(a) || ap.needed() > 1) && ap.Reason == "" && b.reasonRequired(a) {
		title := fmt.Sprintf("Why %s %s? A reason is needed.", a.Name, targetList(ap.Targets))
		if strings.TrimSpace(cmd.Reason) != "" {
			title = fmt.Sprintf("Why %s %s? A reason needs letters or digits.", a.Name, targetList(ap.Targets))
		}
		b.private(ctx, r, Message{
			Title: title,
			Lines: []string{"It goes on the approval card and into the audit."},
			Tone:  ToneWarn,
			Ask:   &Ask{Title: "Why " + a.Name + "?", Label: "Reason", Field: "reason", Command: ev.Text},
		})
		return
	}
	b.askApproval(ctx, ev, r, a, ap)
}

// reasonRequired reports whether a destructive request must give a reason.
func (b *Bot) reasonRequired(a *actions.Action) bool {
	return !slices.Contains(b.ReasonOptional, "all") && !slices.Contains(b.ReasonOptional, a.Name)
}

// positionalParams counts the action's positional parameters.
func positionalParams(a *actions.Action) int {
	n := 0
	for _, p := range a.Params {
		if p.Positional {
			n++
		}
	}
	return n
}

// findBare resolves a bare name in a bound channel's tenant: an exact mail
// nickname wins, a single prefix match will do, anything else is named.
func (b *Bot) findBare(ctx context.Context, t Tenant, name string) (actions.User, error) {
	found, err := b.Runner.FindUsers(ctx, t.ID, name, 6)
	if err != nil {
		return actions.User{}, err
	}
	for _, u := range found {
		if nick, _, _ := strings.Cut(u.UPN, "@"); strings.EqualFold(nick, name) {
			return u, nil
		}
	}
	switch len(found) {
	case 0:
		return actions.User{}, actions.Errorf(actions.ENOTFOUND, "no user in %s is called %s: check the spelling", t.DefaultDomain, name)
	case 1:
		return found[0], nil
	}
	upns := make([]string, 0, 5)
	for _, u := range found[:min(5, len(found))] {
		upns = append(upns, u.UPN)
	}
	more := ""
	if len(found) > 5 {
		more = ", …"
	}
	return actions.User{}, actions.Errorf(actions.EINVALID, "%s matches several users in %s: %s%s; use the full address",
		name, t.DefaultDomain, strings.Join(upns, ", "), more)
}

func roleOrNone(r Role) string {
	if r == RoleNone {
		return "no role"
	}
	return r.String()
}

// runNow runs an action that needs no approval.
func (b *Bot) runNow(ctx context.Context, ev Event, r Responder, a *actions.Action, ap Approval) {
	// The request record doubles as the intent: it is written before the
	// tenant is called, and if it cannot be written nothing is called.
	if err := b.record(ctx, ev, AuditRecord{Kind: KindRequest, Action: a.Name, TenantID: ap.TenantID,
		Tenant: ap.TenantDomain, Targets: ap.Targets, Params: ap.Params, Reason: ap.Reason, Outcome: "running"}); err != nil {
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
				b.Store.UpdateApproval(context.WithoutCancel(ctx), id, func(x *Approval) error {
					if x.State == StateRunning {
						x.State, x.Outcome = StateDone, "ran at once"
						if interrupted {
							x.State, x.Outcome = StateUnknown, "outcome unknown: cippbot stopped while it ran"
						}
					}
					return nil
				})
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
// is being paced.
func (b *Bot) progress(a *actions.Action, show func(Message) bool) func(*actions.Trace) actions.Progress {
	return func(trace *actions.Trace) actions.Progress { return b.progressFor(a, show, trace) }
}

func (b *Bot) progressFor(a *actions.Action, show func(Message) bool, trace *actions.Trace) actions.Progress {
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

// execute runs the action and writes the outcome: for one target one
// record, for several one record per target and a summary. Secrets stay in
// the returned results and go nowhere else.
func (b *Bot) execute(ctx context.Context, ev Event, a *actions.Action, ap Approval, progress func(*actions.Trace) actions.Progress) runResult {
	ids := make([]string, len(ap.Targets))
	for i, t := range ap.Targets {
		ids[i] = t.ID
	}
	start := b.now()
	tctx, trace := actions.WithTrace(ctx)
	results := b.Runner.Run(tctx, ap.TenantID, a, ids, actions.Params(ap.Params), progress(trace))
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
	rec := AuditRecord{Kind: KindOutcome, Action: a.Name, TenantID: ap.TenantID, Tenant: ap.TenantDomain,
		Targets: ap.Targets, Params: ap.Params, Reason: ap.Reason, ApprovalID: ap.ID, Approver: ap.DecidedBy,
		Actor: ap.Requester, Outcome: res.outcome, Error: strings.Join(errs, "; "), RequestIDs: trace.IDs(),
		DurationMS: b.now().Sub(start).Milliseconds()}
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
	if err := b.record(ctx, ev, AuditRecord{Kind: KindRequest, Action: a.Name, TenantID: ap.TenantID, Tenant: ap.TenantDomain,
		Targets: ap.Targets, Params: ap.Params, Reason: ap.Reason, Policy: strings.Join(ap.Why, "; "), ApprovalID: ap.ID,
		Outcome: "pending"}); err != nil {
		b.Store.UpdateApproval(ctx, ap.ID, func(x *Approval) error { x.State, x.Outcome = StateFailed, "audit unavailable"; return nil })
		b.private(ctx, r, errorMessage("Nothing was done: the audit trail is unavailable."))
		return
	}
	b.metrics().Request(ev.Platform, a.Name, "pending")
	ref, err := b.public(ctx, r, pendingCard(a, ap))
	if err != nil {
		// Nobody can approve a card nobody sees: close the request.
		b.Store.UpdateApproval(ctx, ap.ID, func(x *Approval) error { x.State, x.Outcome = StateFailed, "card not posted"; return nil })
		b.record(ctx, ev, AuditRecord{Kind: KindOutcome, Action: a.Name, TenantID: ap.TenantID, Tenant: ap.TenantDomain,
			Targets: ap.Targets, ApprovalID: ap.ID, Outcome: "failed", Error: "approval card could not be posted: " + err.Error()})
		return
	}
	if ref != "" {
		b.Store.UpdateApproval(ctx, ap.ID, func(x *Approval) error { x.Card = ref; return nil })
	}
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

// pendingCard is the approval card: what, where, who, why, until when.
func pendingCard(a *actions.Action, ap Approval) Message {
	m := Message{
		Title: fmt.Sprintf("Approval needed: %s %s", a.Name, targetList(ap.Targets)),
		Tone:  ToneWarn,
		Buttons: []Button{
			{Label: "Approve", Value: "approve " + ap.ID},
			{Label: "Deny", Value: "deny " + ap.ID, Danger: true},
		},
	}
	m.Lines = append(m.Lines, "Tenant: "+ap.TenantDomain)
	if p := paramText(a, ap.Params); p != "" {
		m.Lines = append(m.Lines, "Options: "+p)
	}
	reason := ap.Reason
	if reason == "" {
		reason = "(none given)"
	}
	m.Lines = append(m.Lines, "Reason: "+reason)
	if a.Secret {
		m.Lines = append(m.Lines, "The secret goes privately to "+ap.Requester.String()+".")
	}
	for _, w := range ap.Why {
		m.Lines = append(m.Lines, "⚠ "+w)
	}
	if n := ap.needed(); n > 1 {
		got := make([]string, len(ap.Approvers))
		for i, p := range ap.Approvers {
			got[i] = p.String()
		}
		line := fmt.Sprintf("Approvals: %d of %d", len(got), n)
		if len(got) > 0 {
			line += " (" + strings.Join(got, ", ") + ")"
		}
		m.Lines = append(m.Lines, line)
	}
	m.Lines = append(m.Lines, fmt.Sprintf("Asked by %s · expires %s · id %s", ap.Requester, ap.ExpiresAt.UTC().Format("15:04Z"), ap.ID))
	return m
}

// targetList names up to three targets, then counts the rest.
func targetList(ts []Target) string {
	const shown = 3
	s := make([]string, 0, shown)
	for _, t := range ts[:min(shown, len(ts))] {
		s = append(s, t.UPN)
	}
	if len(ts) <= shown {
		return strings.Join(s, ", ")
	}
	return fmt.Sprintf("%s and %d more (%d users)", strings.Join(s, ", "), len(ts)-shown, len(ts))
}

func targetsOf(upns []string) []Target {
	ts := make([]Target, len(upns))
	for i, u := range upns {
		ts[i] = Target{UPN: u}
	}
	return ts
}

// paramText shows the declared parameters that were given, in declaration
// order; a false flag is left out.
func paramText(a *actions.Action, p map[string]string) string {
	var parts []string
	for _, prm := range a.Params {
		v, ok := p[prm.Name]
		if !ok {
			continue
		}
		if prm.Kind == actions.ParamBool {
			if v == "true" {
				parts = append(parts, prm.Name)
			}
			continue
		}
		parts = append(parts, prm.Name+"="+v)
	}
	return strings.Join(parts, ", ")
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
		b.refused(ctx, ev, AuditRecord{Action: ap.Action, TenantID: ap.TenantID, Tenant: ap.TenantDomain,
			Targets: ap.Targets, ApprovalID: ap.ID, Error: verb + ": " + msg})
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
		partial = false
		if x.State != StatePending {
			return errDecided{*x}
		}
		if now.After(x.ExpiresAt) {
			x.State, x.DecidedAt = StateExpired, now
			return nil
		}
		if verb == "deny" {
			x.State, x.DecidedBy, x.DecidedAt = StateDenied, &decider, now
			return nil
		}
		if slices.ContainsFunc(x.Approvers, func(p Actor) bool { return p.ID == decider.ID }) {
			return errAlreadyApproved
		}
		// An admin is needed among the approvers: the last one must be,
		// unless one already was.
		if x.AdminNeeded && role < RoleAdmin && len(x.Approvers)+1 == x.needed() && !x.AdminApproved {
			return errAdminNeeded
		}
		x.Approvers = append(x.Approvers, decider)
		if role >= RoleAdmin {
			x.AdminApproved = true
		}
		if len(x.Approvers) < x.needed() {
			partial = true
			return nil
		}
		x.State, x.DecidedBy, x.DecidedAt, x.Replica = StateRunning, &decider, now, b.ReplicaID
		return nil
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
		b.record(ctx, ev, AuditRecord{Kind: KindDecision, Action: ap.Action, TenantID: ap.TenantID, Tenant: ap.TenantDomain,
			Targets: ap.Targets, Params: ap.Params, Reason: ap.Reason, Policy: strings.Join(ap.Why, "; "), ApprovalID: ap.ID,
			Approver: &decider, Outcome: fmt.Sprintf("approved %d of %d", len(ap.Approvers), ap.needed())})
		b.updateCard(ctx, ap, pendingCard(a, ap))
		b.private(ctx, r, Message{Title: fmt.Sprintf("You approved %s; %d more approver(s) needed.", ap.ID, ap.needed()-len(ap.Approvers)), Tone: ToneOK})
		return
	}
	switch ap.State {
	case StateExpired:
		b.expired(ctx, ev, a, ap)
		b.private(ctx, r, errorMessage(fmt.Sprintf("Request %s expired at %s; nothing was done.", ap.ID, ap.ExpiresAt.Format("15:04Z")),
			"Ask again if it is still needed."))
	case StateDenied:
		b.record(ctx, ev, AuditRecord{Kind: KindDecision, Action: ap.Action, TenantID: ap.TenantID, Tenant: ap.TenantDomain,
			Targets: ap.Targets, Params: ap.Params, Reason: ap.Reason, ApprovalID: ap.ID, Approver: &decider, Outcome: "denied"})
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
	case StateRunning:
		b.runApproved(ctx, ev, r, a, ap)
	}
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

// expired records an expiry and updates the card.
func (b *Bot) expired(ctx context.Context, ev Event, a *actions.Action, ap Approval) {
	b.record(ctx, ev, AuditRecord{Kind: KindDecision, Actor: Actor{ID: "cippbot"}, Action: ap.Action, TenantID: ap.TenantID,
		Tenant: ap.TenantDomain, Targets: ap.Targets, Params: ap.Params, Reason: ap.Reason, ApprovalID: ap.ID, Outcome: "expired"})
	b.updateCard(ctx, ap, decidedCard(a, ap, fmt.Sprintf("Expired: %s %s (nobody approved in time)", ap.Action, targetList(ap.Targets)), ToneInfo))
	b.notify(ctx, ap, Message{Title: fmt.Sprintf("Your %s request (%s) expired unapproved; nothing was done.", ap.Action, ap.ID), Tone: ToneInfo})
}

// runApproved runs a request that has just moved to running, exactly once.
func (b *Bot) runApproved(ctx context.Context, ev Event, r Responder, a *actions.Action, ap Approval) {
	decider := *ap.DecidedBy
	fail := func(msg string) {
		b.Store.UpdateApproval(ctx, ap.ID, func(x *Approval) error { x.State, x.Outcome = StateFailed, msg; return nil })
		b.updateCard(ctx, ap, decidedCard(a, ap, "Not run: "+msg, ToneError))
		b.private(ctx, r, errorMessage("Not run: "+msg))
	}
	if err := b.record(ctx, ev, AuditRecord{Kind: KindDecision, Action: ap.Action, TenantID: ap.TenantID, Tenant: ap.TenantDomain,
		Targets: ap.Targets, Params: ap.Params, Reason: ap.Reason, Policy: strings.Join(ap.Why, "; "), ApprovalID: ap.ID,
		Approver: &decider, Outcome: "approved"}); err != nil {
		fail("the audit trail is unavailable")
		return
	}
	// The approval covers the targets as they were shown; if what made the
	// risk decision has changed since, it no longer does.
	if changed := b.stillPinned(ctx, a, ap); changed != "" {
		msg := "approval void: " + changed + " since it was asked; ask again"
		b.Store.UpdateApproval(ctx, ap.ID, func(x *Approval) error { x.State, x.Outcome = StateFailed, msg; return nil })
		b.record(ctx, ev, AuditRecord{Kind: KindOutcome, Actor: ap.Requester, Action: ap.Action, TenantID: ap.TenantID,
			Tenant: ap.TenantDomain, Targets: ap.Targets, Params: ap.Params, ApprovalID: ap.ID, Approver: &decider,
			Outcome: "void", Error: changed})
		b.metrics().Request(ev.Platform, ap.Action, "void")
		b.updateCard(ctx, ap, decidedCard(a, ap, "Not run, "+msg, ToneError))
		b.notify(ctx, ap, Message{Title: fmt.Sprintf("Your %s request (%s) was not run: %s.", ap.Action, ap.ID, msg), Tone: ToneError})
		b.private(ctx, r, errorMessage("Not run, "+msg+"."))
		return
	}
	if err := b.record(ctx, ev, AuditRecord{Kind: KindIntent, Actor: ap.Requester, Action: ap.Action, TenantID: ap.TenantID,
		Tenant: ap.TenantDomain, Targets: ap.Targets, Params: ap.Params, Reason: ap.Reason, ApprovalID: ap.ID,
		Approver: &decider, Outcome: "running"}); err != nil {
		fail("the audit trail is unavailable")
		return
	}
	b.updateCard(ctx, ap, decidedCard(a, ap, fmt.Sprintf("Approved by %s: running %s…", decider, ap.Action), ToneInfo))
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
	final, _ := b.Store.UpdateApproval(ctx, ap.ID, func(x *Approval) error { x.State, x.Outcome = state, m.Title; return nil })
	if final.ID == "" {
		final = ap
	}
	// The secret goes first, so that the card says whether it arrived; if
	// it did not, it is held in memory and retried (see deliverSecret).
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

// decidedCard is a card after the decision: no buttons, who and what.
func decidedCard(a *actions.Action, ap Approval, title string, tone Tone) Message {
	m := Message{Title: title, Tone: tone}
	m.Lines = append(m.Lines, "Tenant: "+ap.TenantDomain)
	if p := paramText(a, ap.Params); p != "" {
		m.Lines = append(m.Lines, "Options: "+p)
	}
	if ap.Reason != "" {
		m.Lines = append(m.Lines, "Reason: "+ap.Reason)
	}
	m.Lines = append(m.Lines, fmt.Sprintf("Asked by %s · id %s", ap.Requester, ap.ID))
	return m
}

// updateCard updates the approval's card in place; it reports whether it did.
func (b *Bot) updateCard(ctx context.Context, ap Approval, m Message) bool {
	chat := b.Chats[ap.Platform]
	if chat == nil || ap.Card == "" {
		return false
	}
	if len(m.Secrets) > 0 {
		b.log().ErrorContext(ctx, "refused to put a secret on a card")
		return false
	}
	if err := chat.Update(ctx, ap.Channel, ap.Card, m); err != nil {
		b.log().WarnContext(ctx, "card update failed", LogApproval, ap.ID, "err", err)
		return false
	}
	return true
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

// Sweep expires pending approvals whose time is up and updates their
// cards, then removes decided approvals older than the retention, a batch
// at a time. Call it now and then; clicks on an expired card expire it too.
// It reads the pending approvals and the ones it removes, not the rest.
func (b *Bot) Sweep(ctx context.Context) error {
	b.flushRefusals(ctx)
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
		ap, err := b.Store.UpdateApproval(ctx, p.ID, func(x *Approval) error {
			if x.State != StatePending {
				return errDecided{*x}
			}
			x.State = StateExpired
			return nil
		})
		if err != nil {
			continue // decided meanwhile
		}
		a := b.Catalogue.Lookup(ap.Action)
		if a == nil {
			continue
		}
		b.expired(ctx, Event{Platform: ap.Platform, Workspace: ap.Workspace, Channel: ap.Channel}, a, ap)
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
		ap, err := b.Store.UpdateApproval(ctx, p.ID, func(x *Approval) error {
			if x.State != StateRunning {
				return errDecided{*x}
			}
			x.State, x.Outcome = StateUnknown, "outcome unknown: cippbot stopped while it ran"
			return nil
		})
		if err != nil {
			continue
		}
		ev := Event{Platform: ap.Platform, Workspace: ap.Workspace, Channel: ap.Channel}
		b.record(ctx, ev, AuditRecord{Kind: KindOutcome, Actor: ap.Requester, Action: ap.Action, TenantID: ap.TenantID,
			Tenant: ap.TenantDomain, Targets: ap.Targets, Params: ap.Params, ApprovalID: ap.ID, Approver: ap.DecidedBy,
			Outcome: "unknown", Error: "process stopped while the action ran"})
		if a := b.Catalogue.Lookup(ap.Action); a != nil {
			b.updateCard(ctx, ap, decidedCard(a, ap, "Outcome unknown: cippbot stopped while "+ap.Action+" ran. Check the user.", ToneWarn))
		}
		b.notify(ctx, ap, Message{Title: fmt.Sprintf("Your %s of %s was interrupted when cippbot stopped: its outcome is unknown. Check before asking again; it will not be re-run.",
			ap.Action, targetList(ap.Targets)), Tone: ToneWarn})
	}
	return nil
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// timeOr formats t, or returns "-" for the zero time.
func timeOr(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format("01-02 15:04Z")
}
