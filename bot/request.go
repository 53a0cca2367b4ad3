package bot

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/cippbot/cippbot/actions"
)

// maxTargets bounds one request; the card shows the count and the first
// few.
const maxTargets = 1000

// intake is one request as it is read, step by step: what was typed and
// attached, then what it resolves to. Each step of request fills in more
// of it or refuses the request.
type intake struct {
	a   *actions.Action
	ev  Event
	cmd Command // as typed, with the users of attached files added

	// binding is the tenant the channel stands for (its binding, or
	// customerId=); bound reports whether there is one.
	binding Binding
	bound   bool
	// bare are the bare names typed in a bound channel: users of its
	// tenant, found by name.
	bare []string
	// fromFile reports whether the action read the attached files itself.
	fromFile bool
	params   actions.Params

	tenant Tenant // the targets' tenant, once resolved
	role   Role   // the requester's role there
	users  []actions.User
	// targets are the users a refusal record names: as typed once they
	// are counted, as found once they are.
	targets []Target
	ap      Approval // the request as it will run or be approved
}

// intakeStep is one step of reading a request: it fills in more of the
// intake, or returns why the request is refused.
type intakeStep func(context.Context, *intake) error

// request handles "/cipp <action> …". It reads the request in steps, each
// of which may refuse it: the files and the channel, the parameters, the
// users to create (or a form to fill in), the tenant and the requester's
// role in it, the target users, the action's own checks and the approval
// policy. Then it runs the request at once or asks for approval.
func (b *Bot) request(ctx context.Context, ev Event, r Responder, a *actions.Action, cmd Command) {
	in := &intake{a: a, ev: ev, cmd: cmd}
	if !b.read(ctx, r, in, b.readFiles, b.readChannel, splitBare, bindParams, b.nameNewUsers) {
		return
	}
	if in.formNeeded() {
		b.private(ctx, r, b.form(ctx, in))
		return
	}
	if !b.read(ctx, r, in, countTargets, b.findTenant, b.authorize, b.refuseGDAP, b.findUsers, b.refuseGDAPTargets, b.prepare, b.policy) {
		return
	}
	ap := in.ap
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
		b.private(ctx, r, askReason(in, ap))
		return
	}
	b.askApproval(ctx, ev, r, a, ap)
}

// read runs the steps in order and refuses the request at the first that
// fails; it reports whether all of them passed.
func (b *Bot) read(ctx context.Context, r Responder, in *intake, steps ...intakeStep) bool {
	for _, step := range steps {
		if err := step(ctx, in); err != nil {
			b.refuse(ctx, r, in, err)
			return false
		}
	}
	return true
}

// refuse tells the requester why the request is refused and records the
// refusal. A refusal that offers choices (a group name several groups
// share) shows them as buttons that ask again with the choice made.
func (b *Bot) refuse(ctx context.Context, r Responder, in *intake, err error) {
	m := errorMessage(b.userError(ctx, err))
	for _, c := range actions.ChoicesOf(err) {
		// The line stands in where a button cannot (too long a command
		// for Discord's 100-character button IDs).
		m.Lines = append(m.Lines, c.Label+": "+c.Param+"="+c.Value)
		m.Buttons = append(m.Buttons, Button{Label: c.Label,
			Value: rebuild(in.a, append(slices.Clone(in.cmd.Targets), in.bare...), in.params, in.cmd.Reason, c.Param, c.Value)})
	}
	b.private(ctx, r, m)
	b.refused(ctx, in.ev, AuditRecord{Action: in.a.Name, TenantID: in.tenant.ID, Tenant: in.tenant.DefaultDomain,
		Targets: in.targets, Reason: in.cmd.Reason, Error: errorDetail(err)})
}

// readFiles adds what the attached files give. An action that reads its
// own files (bulk-add's CSV of users to create) adds targets and
// parameters; for any other, the files list users: addresses become
// targets, bare names positional words.
func (b *Bot) readFiles(_ context.Context, in *intake) error {
	files := in.ev.Files
	if in.a.FromFile != nil && len(files) > 0 {
		targets, p, err := actionFiles(in.a, files)
		if err != nil {
			return err
		}
		in.cmd.Targets = append(in.cmd.Targets, targets...)
		in.params, in.fromFile = p, true
	} else {
		cmd, err := withFileTargets(in.cmd, files)
		if err != nil {
			return err
		}
		in.cmd = cmd
	}
	if len(files) > 0 && !in.a.Bulk {
		return actions.Errorf(actions.EINVALID, "%s takes one user; a file of users works with bulk actions", in.a.Name)
	}
	return nil
}

// readChannel finds the tenant the channel stands for: its binding, or,
// for this request alone, the tenant customerId= names (CIPP's name for
// the tenant: its ID or a domain).
func (b *Bot) readChannel(ctx context.Context, in *intake) error {
	binding, err := b.Store.Binding(ctx, in.ev.Platform, in.ev.Channel)
	in.binding, in.bound = binding, err == nil
	if v, ok := in.cmd.Named["customerid"]; ok {
		delete(in.cmd.Named, "customerid")
		t, err := b.lookupTenant(ctx, v)
		if err != nil {
			return err
		}
		in.binding, in.bound = Binding{Platform: in.ev.Platform, Channel: in.ev.Channel, TenantID: t.ID}, true
	}
	return nil
}

// splitBare takes, in a channel bound to a tenant, the bare words before
// the action's own positional parameters as names of the tenant's users.
func splitBare(_ context.Context, in *intake) error {
	extra := len(in.cmd.Positional) - positionalParams(in.a)
	if extra <= 0 {
		return nil
	}
	if !in.bound {
		return actions.Errorf(actions.EINVALID,
			"%q is not user@domain: type the full address, or bind this channel to a tenant (/cipp bind contoso.com) to use bare names",
			in.cmd.Positional[0])
	}
	in.bare, in.cmd.Positional = in.cmd.Positional[:extra], in.cmd.Positional[extra:]
	return nil
}

// bindParams checks the typed parameters against the action's
// declaration and adds those the files gave.
func bindParams(_ context.Context, in *intake) error {
	params, err := in.a.Bind(in.cmd.Positional, in.cmd.Named, in.cmd.Flags)
	if err != nil {
		in.targets = targetsOf(in.cmd.Targets) // the refusal names the addresses typed
		return err
	}
	maps.Copy(params, in.params)
	in.params = params
	return nil
}

// nameNewUsers names the users an action creates: bare names are new
// addresses in the bound tenant; without any address, the action's form
// fields may make one, the bound tenant giving the domain if they do not.
func (b *Bot) nameNewUsers(ctx context.Context, in *intake) error {
	if in.a.Target != actions.TargetNew {
		return nil
	}
	if len(in.bare) > 0 {
		t, err := b.lookupTenant(ctx, in.binding.TenantID)
		if err != nil {
			return err
		}
		for _, n := range in.bare {
			in.cmd.Targets = append(in.cmd.Targets, strings.ToLower(n+"@"+t.DefaultDomain))
		}
		in.bare = nil
	}
	f := in.a.Form
	if len(in.cmd.Targets) > 0 || f == nil {
		return nil
	}
	if in.params[f.Domain] == "" && in.params[f.User] != "" && in.bound {
		if t, err := b.lookupTenant(ctx, in.binding.TenantID); err == nil {
			in.params[f.Domain] = t.DefaultDomain
		}
	}
	if upn := f.Address(in.params); upn != "" {
		in.cmd.Targets = append(in.cmd.Targets, upn)
	}
	return nil
}

// countTargets refuses a request of no users or of too many; from here on
// a refusal names the users as typed.
func countTargets(_ context.Context, in *intake) error {
	n := len(in.cmd.Targets) + len(in.bare)
	if n == 0 {
		return actions.Errorf(actions.EINVALID, "%s needs a user as user@domain: /cipp %s", in.a.Name, in.a.Usage())
	}
	if n > maxTargets {
		return actions.Errorf(actions.EINVALID, "at most %d users per request", maxTargets)
	}
	in.targets = targetsOf(append(slices.Clone(in.cmd.Targets), in.bare...))
	return nil
}

// findTenant resolves the tenant of the request: that of the addresses
// typed, or else the bound one. Bare names mean users of the bound
// tenant, so addresses must be in it too: one tenant per request.
func (b *Bot) findTenant(ctx context.Context, in *intake) error {
	var tenant Tenant
	var err error
	if len(in.cmd.Targets) > 0 {
		tenant, err = b.resolveTenant(ctx, in.cmd.Targets)
	} else {
		tenant, err = b.lookupTenant(ctx, in.binding.TenantID)
	}
	if err != nil {
		return err
	}
	if len(in.bare) > 0 && tenant.ID != in.binding.TenantID {
		return actions.Errorf(actions.EINVALID, "bare names here mean users of %s, but %s is in %s: one tenant per request",
			b.tenantName(ctx, in.binding.TenantID), in.cmd.Targets[0], tenant.DefaultDomain)
	}
	in.tenant = tenant
	return nil
}

// authorize checks that the requester's role in the tenant lets them run
// (or, for destructive actions, request) the action.
func (b *Bot) authorize(ctx context.Context, in *intake) error {
	role, err := b.role(ctx, in.ev.Actor.ID, in.tenant.ID)
	if err != nil {
		return err
	}
	if need := requiredRole(in.a.Risk); role < need {
		return actions.Errorf(actions.EFORBIDDEN,
			"%s needs the %s role in %s; you have %s. An admin can grant it: /cipp access grant %s %s",
			in.a.Name, need, in.tenant.DefaultDomain, roleOrNone(role), in.ev.Actor.ID, need)
	}
	in.role = role
	return nil
}

// findUsers finds the target users in the tenant, each once: the
// addresses typed, then the bare names. Users that do not exist are named
// together.
func (b *Bot) findUsers(ctx context.Context, in *intake) error {
	add := func(u actions.User) {
		if !slices.ContainsFunc(in.users, func(x actions.User) bool { return x.ID == u.ID }) {
			in.users = append(in.users, u)
		}
	}
	found, errs := b.Runner.LookupTargets(ctx, in.tenant.ID, in.a, in.cmd.Targets)
	var missing []string
	for i, t := range in.cmd.Targets {
		switch err := errs[i]; {
		case actions.ErrorCode(err) == actions.ENOTFOUND && in.a.Target == actions.TargetUser:
			missing = append(missing, t)
		case err != nil:
			return err
		default:
			add(found[i])
		}
	}
	if len(missing) > 0 {
		what := missing[0] + " does not exist"
		if len(missing) > 1 {
			what = fmt.Sprintf("%d users do not exist (%s)", len(missing), targetList(targetsOf(missing)))
		}
		return actions.Errorf(actions.ENOTFOUND, "%s in %s: check the spelling", what, in.tenant.DefaultDomain)
	}
	for _, name := range in.bare {
		u, err := b.findBare(ctx, in.tenant, name)
		if err != nil {
			return err
		}
		add(u)
	}
	in.targets = make([]Target, len(in.users))
	for i, u := range in.users {
		in.targets[i] = Target{ID: u.ID, UPN: u.UPN}
	}
	return nil
}

// prepare lets the action check the request against the tenant and pin
// what it resolved (a group name to its ID) to the parameters.
func (b *Bot) prepare(ctx context.Context, in *intake) error {
	var err error
	in.params, err = b.Runner.Prepare(ctx, in.tenant.ID, in.a, in.users, in.params)
	return err
}

// policy writes down the request as it will run or be approved, with
// what the approval policy asks of it (more approvers, an admin), or
// refuses it.
func (b *Bot) policy(ctx context.Context, in *intake) error {
	in.ap = Approval{
		Action: in.a.Name, TenantID: in.tenant.ID, TenantDomain: in.tenant.DefaultDomain,
		Targets: in.targets, Params: in.params, Reason: in.cmd.Reason, Requester: in.ev.Actor,
		Platform: in.ev.Platform, Workspace: in.ev.Workspace, Channel: in.ev.Channel,
		CreatedAt: b.now(),
	}
	err := b.applyPolicy(ctx, in.a, in.tenant, in.role, in.users, &in.ap)
	in.targets = in.ap.Targets
	return err
}

// askReason asks the requester privately why, for a request that needs
// one before anyone is asked to approve it.
func askReason(in *intake, ap Approval) Message {
	a := in.a
	title := fmt.Sprintf("Why %s %s? A reason is needed.", a.Name, targetList(ap.Targets))
	if strings.TrimSpace(in.cmd.Reason) != "" {
		title = fmt.Sprintf("Why %s %s? A reason needs letters or digits.", a.Name, targetList(ap.Targets))
	}
	return Message{
		Title: title,
		Lines: []string{"It goes on the approval card and into the audit."},
		Tone:  ToneWarn,
		Ask:   &Ask{Title: "Why " + a.Name + "?", Label: "Reason", Field: "reason", Command: in.ev.Text},
	}
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

func targetsOf(upns []string) []Target {
	ts := make([]Target, len(upns))
	for i, u := range upns {
		ts[i] = Target{UPN: u}
	}
	return ts
}
