package bot

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/cippbot/cippbot/actions"
)

// tenants lists the onboarded tenants, optionally those matching a search.
func (b *Bot) tenants(ctx context.Context, ev Event, r Responder, cmd Command) {
	rs, err := b.roles(ctx, ev.Actor.ID)
	if err != nil || rs.Highest() < RoleViewer {
		b.private(ctx, r, errorMessage("Listing tenants needs a role; ask an admin."))
		return
	}
	ts, err := b.Store.Tenants(ctx)
	if err != nil {
		b.private(ctx, r, errorMessage(b.userError(ctx, err)))
		return
	}
	search := strings.ToLower(strings.Join(append(cmd.Positional, cmd.Targets...), " "))
	var lines []string
	for _, t := range ts {
		if rs.In(t.ID) < RoleViewer {
			continue // only the tenants the asker has a role in
		}
		line := t.DefaultDomain + ": " + t.Name
		if search == "" || strings.Contains(strings.ToLower(line+" "+strings.Join(t.Domains, " ")), search) {
			lines = append(lines, line)
		}
	}
	title := strconv.Itoa(len(lines)) + " tenant(s)"
	if search != "" {
		title += " matching " + search
	}
	if bd, err := b.Store.Binding(ctx, ev.Platform, ev.Channel); err == nil && rs.In(bd.TenantID) >= RoleViewer {
		lines = append(lines, "This channel is bound to "+b.tenantName(ctx, bd.TenantID)+".")
	}
	const most = 25
	if len(lines) > most {
		lines = append(lines[:most], fmt.Sprintf("… and %d more: narrow the search", len(lines)-most))
	}
	b.private(ctx, r, Message{Title: title, Lines: lines})
}

// lookupTenant finds a tenant by domain, alias or ID, with an answer that
// says how to fix a miss.
func (b *Bot) lookupTenant(ctx context.Context, name string) (Tenant, error) {
	t, err := b.Store.TenantByName(ctx, name)
	if errors.Is(err, ErrNotFound) {
		return Tenant{}, actions.Errorf(actions.ENOTFOUND, "no onboarded tenant is called %s: /cipp tenants lists them", name)
	} else if err != nil {
		if strings.Contains(err.Error(), "matches") {
			return Tenant{}, actions.Errorf(actions.EINVALID, "%v", err)
		}
		return Tenant{}, err
	}
	return t, nil
}

// bind shows, sets or removes the channel's tenant binding. Setting one
// needs the approver role in that tenant; each change is audited.
func (b *Bot) bind(ctx context.Context, ev Event, r Responder, cmd Command) {
	arg := strings.Join(append(cmd.Positional, cmd.Targets...), " ")
	if cmd.Verb == "unbind" {
		arg = "-"
	}
	current, err := b.Store.Binding(ctx, ev.Platform, ev.Channel)
	if err != nil && !errors.Is(err, ErrNotFound) {
		b.private(ctx, r, errorMessage(b.userError(ctx, err)))
		return
	}
	bound := err == nil
	switch arg {
	case "":
		if !bound {
			b.private(ctx, r, Message{Title: "This channel is not bound to a tenant.", Lines: []string{"/cipp bind <domain> binds it, so bare names like alice work."}})
			return
		}
		b.private(ctx, r, Message{Title: "This channel is bound to " + b.tenantName(ctx, current.TenantID) + ".",
			Lines: []string{"Bound by " + current.BoundBy + " on " + timeOr(current.BoundAt)}})
		return
	case "-":
		if !bound {
			b.private(ctx, r, errorMessage("This channel is not bound to a tenant."))
			return
		}
		if role, _ := b.role(ctx, ev.Actor.ID, current.TenantID); role < RoleApprover {
			b.private(ctx, r, errorMessage("Only an approver for that tenant may unbind this channel."))
			return
		}
		if err := b.Store.DeleteBinding(ctx, ev.Platform, ev.Channel); err != nil {
			b.private(ctx, r, errorMessage(b.userError(ctx, err)))
			return
		}
		name := b.tenantName(ctx, current.TenantID)
		b.record(ctx, ev, AuditRecord{Kind: KindBinding, TenantID: current.TenantID, Tenant: name, Outcome: "unbound"})
		b.public(ctx, r, Message{Title: fmt.Sprintf("This channel is no longer bound to %s (by %s).", name, ev.Actor), Tone: ToneInfo})
		return
	}
	t, err := b.lookupTenant(ctx, arg)
	if err != nil {
		b.private(ctx, r, errorMessage(b.userError(ctx, err)))
		return
	}
	if role, _ := b.role(ctx, ev.Actor.ID, t.ID); role < RoleApprover {
		b.private(ctx, r, errorMessage("Binding a channel to "+t.DefaultDomain+" needs the approver role there."))
		b.refused(ctx, ev, AuditRecord{TenantID: t.ID, Tenant: t.DefaultDomain, Error: "bind: not an approver of " + t.DefaultDomain})
		return
	}
	if err := b.Store.PutBinding(ctx, Binding{Platform: ev.Platform, Channel: ev.Channel, TenantID: t.ID, BoundBy: ev.Actor.ID, BoundAt: b.now()}); err != nil {
		b.private(ctx, r, errorMessage(b.userError(ctx, err)))
		return
	}
	b.record(ctx, ev, AuditRecord{Kind: KindBinding, TenantID: t.ID, Tenant: t.DefaultDomain, Outcome: "bound"})
	b.public(ctx, r, Message{Title: fmt.Sprintf("This channel is now bound to %s (%s), by %s.", t.DefaultDomain, t.Name, ev.Actor),
		Lines: []string{"Bare names here mean users of " + t.DefaultDomain + ": /cipp block-signin alice"}, Tone: ToneOK})
}

// check tells an admin whether cippbot can reach a tenant and which
// actions its permissions allow, or, with "rehearse <user>", rehearses
// every action on that user (rehearse.go).
func (b *Bot) check(ctx context.Context, ev Event, r Responder, cmd Command) {
	cmd, upn, rerr := splitRehearse(cmd)
	arg := strings.Join(append(cmd.Positional, cmd.Targets...), " ")
	rs, err := b.roles(ctx, ev.Actor.ID)
	if err != nil || rs.Highest() < RoleAdmin {
		b.private(ctx, r, errorMessage("Only an admin may check a tenant."))
		return
	}
	if rerr != nil {
		b.private(ctx, r, errorMessage(rerr.Error()))
		return
	}
	var t Tenant
	if arg == "" {
		bd, berr := b.Store.Binding(ctx, ev.Platform, ev.Channel)
		if berr != nil {
			b.private(ctx, r, errorMessage("Which tenant? /cipp check contoso.com"))
			return
		}
		arg = bd.TenantID
	}
	if t, err = b.lookupTenant(ctx, arg); err != nil {
		b.private(ctx, r, errorMessage(b.userError(ctx, err)))
		return
	}
	if rs.In(t.ID) < RoleAdmin {
		b.private(ctx, r, errorMessage("Only an admin of "+t.DefaultDomain+" may check it."))
		return
	}
	if upn != "" {
		b.private(ctx, r, b.rehearse(ctx, ev, t, upn))
		return
	}
	b.private(ctx, r, CheckMessage(t, b.checkTenant(ctx, t)))
}

// CheckResult is the outcome of checking one tenant.
type CheckResult struct {
	Report actions.CheckReport
	Err    error
}

func (b *Bot) checkTenant(ctx context.Context, t Tenant) CheckResult {
	rep, err := b.Runner.Check(ctx, t.ID, b.Catalogue)
	return CheckResult{Report: rep, Err: err}
}

// CheckTenants checks every onboarded tenant, for "cippbot check".
func (b *Bot) CheckTenants(ctx context.Context) ([]Tenant, []CheckResult, error) {
	ts, err := b.Store.Tenants(ctx)
	if err != nil {
		return nil, nil, err
	}
	res := make([]CheckResult, len(ts))
	for i, t := range ts {
		res[i] = b.checkTenant(ctx, t)
	}
	return ts, res, nil
}

// CheckMessage renders a check: the verdict first, then what is missing
// by name.
func CheckMessage(t Tenant, c CheckResult) Message {
	if c.Err != nil {
		return Message{Title: t.DefaultDomain + ": cippbot cannot sign in", Tone: ToneError,
			Lines: []string{actions.ErrorMessage(c.Err)}}
	}
	rep := c.Report
	var names []string // actions that will not work, for any reason
	for n := range rep.Missing {
		names = append(names, n)
	}
	for n := range rep.MissingRoles {
		names = append(names, n)
	}
	names = append(names, rep.Delegated...)
	slices.Sort(names)
	names = slices.Compact(names)
	total := len(rep.Working) + len(names)
	m := Message{Title: fmt.Sprintf("%s: signed in; %d of %d actions will work", t.DefaultDomain, len(rep.Working), total), Tone: ToneOK}
	if len(names) > 0 {
		m.Tone = ToneWarn
	}
	for _, n := range names {
		var needs []string
		if perms := rep.Missing[n]; len(perms) > 0 {
			needs = append(needs, strings.Join(perms, " or "))
		}
		if roles := rep.MissingRoles[n]; len(roles) > 0 && rep.GDAP {
			needs = append(needs, actions.RoleList(roles)+" through GDAP")
		} else if len(roles) > 0 {
			needs = append(needs, actions.RoleList(roles))
		}
		if slices.Contains(rep.Delegated, n) {
			needs = append(needs, "a signed-in admin (delegated access), which app-only mode cannot do")
		}
		m.Lines = append(m.Lines, fmt.Sprintf("✗ %s needs %s", n, strings.Join(needs, ", and ")))
	}
	for _, rule := range rep.Rules {
		m.Tone = ToneWarn
		m.Lines = append(m.Lines, "⚠ "+rule)
	}
	if len(rep.Permissions) > 0 {
		m.Lines = append(m.Lines, "Granted: "+strings.Join(rep.Permissions, ", "))
	} else {
		m.Lines = append(m.Lines, "Granted: no application permissions")
	}
	switch {
	case rep.GDAP && len(rep.AppRoles) > 0:
		m.Lines = append(m.Lines, "GDAP roles of the service account: "+strings.Join(rep.AppRoles, ", "))
	case rep.GDAP:
		m.Lines = append(m.Lines, "GDAP roles of the service account: none")
	case rep.RolesRead && len(rep.AppRoles) > 0:
		m.Lines = append(m.Lines, "Entra roles: "+strings.Join(rep.AppRoles, ", "))
	case rep.RolesRead:
		m.Lines = append(m.Lines, "Entra roles: none")
	}
	return m
}
