package bot

import (
	"context"
	"fmt"
	"slices"
	"strings"

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

func targetsOf(upns []string) []Target {
	ts := make([]Target, len(upns))
	for i, u := range upns {
		ts[i] = Target{UPN: u}
	}
	return ts
}
