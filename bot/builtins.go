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

// help answers "help" and "help <action>", derived from the declarations.
func (b *Bot) help(ctx context.Context, ev Event, r Responder, cmd Command) {
	if len(cmd.Positional) > 0 {
		name := cmd.Positional[0]
		a := b.Catalogue.Lookup(name)
		if a == nil {
			b.unknownVerb(ctx, r, name)
			return
		}
		b.private(ctx, r, actionHelp(a))
		return
	}
	m := Message{Title: "cippbot: Microsoft 365 user admin from chat", Lines: []string{"/cipp <action> user@domain … [reason=\"…\"]"}}
	// Grouped by area, in the order areas first appear; one line each.
	var areas []string
	byArea := map[string][]*actions.Action{}
	for _, a := range b.Catalogue.All() {
		if _, ok := byArea[a.Area]; !ok {
			areas = append(areas, a.Area)
		}
		byArea[a.Area] = append(byArea[a.Area], a)
	}
	for _, area := range areas {
		if area != "" {
			m.Lines = append(m.Lines, area+":")
		}
		for _, a := range byArea[area] {
			mark := ""
			if needsApproval(a) {
				mark = " (needs approval)"
			}
			m.Lines = append(m.Lines, "• "+a.Name+": "+a.Summary+mark)
		}
	}
	m.Lines = append(m.Lines, "Approvals and admin:")
	m.Lines = append(m.Lines,
		"• approve / deny <id>: decide on a request",
		"• audit [user@domain]: recent audit entries",
		"• access list | grant <platform:user> <role> [tenant] | revoke <platform:user> [tenant]",
		"• tenants, whoami",
		"• check <tenant> [rehearse user@domain]: what will work (admins)",
		"/cipp help <action> for details.")
	b.private(ctx, r, m)
}

func actionHelp(a *actions.Action) Message {
	m := Message{Title: a.Name + ": " + a.Summary, Lines: []string{"/cipp " + a.Usage(), "Example: " + example(a)}}
	for _, p := range a.Params {
		m.Lines = append(m.Lines, fmt.Sprintf("  %s: %s", p.Name, p.Summary))
	}
	if len(a.Aliases) > 0 {
		m.Lines = append(m.Lines, "Also: "+strings.Join(a.Aliases, ", "))
	}
	risk := "Risk: " + a.Risk.String()
	switch {
	case needsApproval(a):
		risk += "; another approver must approve"
	case a.Risk == actions.RiskChange:
		risk += "; runs at once for helpdesk"
	}
	m.Lines = append(m.Lines, risk)
	if a.Bulk {
		m.Lines = append(m.Lines, "Takes several users at once.")
	}
	if a.Secret {
		m.Lines = append(m.Lines, "The secret goes to you privately, never to the channel.")
	}
	return m
}

// auditLines is how many audit entries fit a phone screen.
const auditLines = 10

// audit shows the newest audit entries, optionally for one user, limited to
// the tenants the actor holds a role in. Records that belong to no tenant
// (global grants, refusals before a tenant was known) are shown to global
// role holders, and to the actor they are about.
func (b *Bot) audit(ctx context.Context, ev Event, r Responder, cmd Command) {
	rs, err := b.roles(ctx, ev.Actor.ID)
	if err != nil {
		b.private(ctx, r, errorMessage(b.userError(ctx, err)))
		return
	}
	if rs.Highest() < RoleViewer {
		b.private(ctx, r, errorMessage("Reading the audit trail needs a role; ask an admin."))
		return
	}
	f := AuditFilter{}
	if len(cmd.Targets) > 0 {
		f.Target = cmd.Targets[0]
	}
	recs, err := b.Store.Audit(ctx, f)
	if err != nil {
		b.private(ctx, r, errorMessage(b.userError(ctx, err)))
		return
	}
	page := 1
	if v, ok := cmd.Named["page"]; ok {
		if n, err := strconv.Atoi(v); err == nil && n > 0 {
			page = n
		}
	}
	// Newest first, pages of auditLines, only what the actor may read.
	var shown []string
	skip, more := (page-1)*auditLines, false
	for i := len(recs) - 1; i >= 0; i-- {
		rec := recs[i]
		if !mayReadRecord(rs, ev.Actor.ID, rec) {
			continue
		}
		if skip > 0 {
			skip--
			continue
		}
		if len(shown) == auditLines {
			more = true
			break
		}
		shown = append(shown, auditLine(rec))
	}
	title := "Audit: newest first"
	if f.Target != "" {
		title = "Audit for " + f.Target + ": newest first"
	}
	if page > 1 {
		title += fmt.Sprintf(" (page %d)", page)
	}
	if len(shown) == 0 {
		shown = []string{"No entries."}
	}
	m := Message{Title: title, Lines: shown}
	if more {
		next := "audit " + f.Target + " page=" + strconv.Itoa(page+1)
		m.Buttons = []Button{{Label: "Older", Value: strings.Join(strings.Fields(next), " ")}}
	}
	b.private(ctx, r, m)
}

// mayReadRecord reports whether an actor with roles rs may read rec.
func mayReadRecord(rs Roles, actor string, rec AuditRecord) bool {
	if rec.TenantID != "" {
		return rs.In(rec.TenantID) >= RoleViewer
	}
	return rs.Global >= RoleViewer || rec.Actor.ID == actor
}

func auditLine(rec AuditRecord) string {
	var b strings.Builder
	fmt.Fprintf(&b, "#%d %s %s", rec.Seq, timeOr(rec.Time), rec.Actor)
	if rec.Kind == KindAccess {
		fmt.Fprintf(&b, " %s", rec.Outcome)
		for k, v := range rec.Params {
			fmt.Fprintf(&b, " %s=%s", k, v)
		}
		return b.String()
	}
	fmt.Fprintf(&b, " %s %s", rec.Kind, rec.Action)
	if len(rec.Targets) > 0 {
		b.WriteString(" " + targetList(rec.Targets))
	}
	if rec.Outcome != "" {
		b.WriteString(": " + rec.Outcome)
	}
	if rec.Approver != nil && rec.Kind == KindDecision {
		b.WriteString(" by " + rec.Approver.String())
	}
	if rec.ApprovalID != "" {
		b.WriteString(" (" + rec.ApprovalID + ")")
	}
	return b.String()
}

// access handles "access list|grant|revoke". An admin acts only where
// they are admin: a tenant admin lists, grants and revokes in their
// tenants; only a global admin touches grants for all tenants.
func (b *Bot) access(ctx context.Context, ev Event, r Responder, cmd Command) {
	rs, err := b.roles(ctx, ev.Actor.ID)
	if err != nil {
		b.private(ctx, r, errorMessage(b.userError(ctx, err)))
		return
	}
	sub := "list"
	args := cmd.Positional
	if len(args) > 0 {
		sub, args = strings.ToLower(args[0]), args[1:]
	}
	switch sub {
	case "list":
		if rs.Highest() < RoleAdmin {
			b.private(ctx, r, Message{Title: "Your roles", Lines: roleLines(ctx, b, rs), Tone: ToneInfo})
			return
		}
		b.listAccess(ctx, r, rs)
	case "grant", "revoke":
		if rs.Highest() < RoleAdmin {
			msg := "Only an admin may " + sub + " roles."
			b.private(ctx, r, errorMessage(msg))
			b.refused(ctx, ev, AuditRecord{Error: "access " + sub + ": " + msg})
			return
		}
		b.changeAccess(ctx, ev, r, rs, sub, args)
	default:
		b.private(ctx, r, errorMessage("Usage: access list | grant <platform:user> <role> [tenant] | revoke <platform:user> [tenant]"))
	}
}

// listAccess shows the grants the asker administers: every grant to a
// global admin, those of their tenants to a tenant admin.
func (b *Bot) listAccess(ctx context.Context, r Responder, rs Roles) {
	grants, err := b.Store.Grants(ctx)
	if err != nil {
		b.private(ctx, r, errorMessage(b.userError(ctx, err)))
		return
	}
	global := rs.Global >= RoleAdmin
	mine := rs.TenantsAtLeast(RoleAdmin)
	m := Message{Title: "Access"}
	if global {
		for _, a := range b.Admins {
			m.Lines = append(m.Lines, a+": admin in all tenants (config)")
		}
	} else {
		names := make([]string, len(mine))
		for i, id := range mine {
			names[i] = b.tenantName(ctx, id)
		}
		m.Title = "Access in " + strings.Join(names, ", ")
	}
	for _, g := range grants {
		if !global && (g.Tenant == "" || !slices.Contains(mine, g.Tenant)) {
			continue
		}
		scope := "all tenants"
		if g.Tenant != "" {
			scope = b.tenantName(ctx, g.Tenant)
		}
		m.Lines = append(m.Lines, fmt.Sprintf("%s: %s in %s", g.Actor, g.Role, scope))
	}
	if len(m.Lines) == 0 {
		m.Lines = []string{"Nobody has a role."}
	}
	b.private(ctx, r, m)
}

func (b *Bot) tenantName(ctx context.Context, id string) string {
	ts, err := b.Store.Tenants(ctx)
	if err == nil {
		for _, t := range ts {
			if t.ID == id {
				return t.DefaultDomain
			}
		}
	}
	return id
}

// changeAccess grants or revokes a role; args are <platform:user> [role]
// [tenant]. The asker must be admin in the scope they change: the tenant
// named, or, with no tenant, every tenant (a global admin).
func (b *Bot) changeAccess(ctx context.Context, ev Event, r Responder, rs Roles, sub string, args []string) {
	usage := "Usage: access grant <platform:user> <viewer|helpdesk|approver|admin> [tenant domain]"
	if sub == "revoke" {
		usage = "Usage: access revoke <platform:user> [tenant domain]"
	}
	if len(args) == 0 || !strings.Contains(args[0], ":") {
		b.private(ctx, r, errorMessage("Name the person as platform:userID, e.g. slack:U0123ABCD.", usage))
		return
	}
	who := args[0]
	args = args[1:]
	var role Role
	if sub == "grant" {
		if len(args) == 0 {
			b.private(ctx, r, errorMessage("Which role?", usage))
			return
		}
		var ok bool
		if role, ok = ParseRole(strings.ToLower(args[0])); !ok {
			b.private(ctx, r, errorMessage(fmt.Sprintf("There is no role %q.", args[0]), usage))
			return
		}
		args = args[1:]
	}
	tenantID, scope := "", "all tenants"
	if len(args) > 0 {
		t, err := b.Store.TenantByDomain(ctx, args[0])
		if errors.Is(err, ErrNotFound) {
			b.private(ctx, r, errorMessage(fmt.Sprintf("No onboarded tenant has the domain %s.", args[0])))
			return
		} else if err != nil {
			b.private(ctx, r, errorMessage(b.userError(ctx, err)))
			return
		}
		tenantID, scope = t.ID, t.DefaultDomain
	}
	params := map[string]string{"actor": who, "scope": scope}
	if rs.In(tenantID) < RoleAdmin {
		verb := sub + " roles"
		if sub == "grant" {
			params["role"] = role.String()
		}
		msg := "Only a global admin may " + verb + " in all tenants; name a tenant you administer: /cipp access " + sub + " " + who + " … contoso.com"
		if tenantID != "" {
			msg = "Only an admin of " + scope + " may " + verb + " there."
		}
		b.private(ctx, r, errorMessage(msg))
		b.refused(ctx, ev, AuditRecord{TenantID: tenantID, Params: params, Error: "access " + sub + ": " + msg})
		return
	}
	if sub == "grant" {
		params["role"] = role.String()
		err := b.Store.PutGrant(ctx, Grant{Actor: who, Role: role, Tenant: tenantID, GrantedBy: ev.Actor.ID, GrantedAt: b.now()})
		if err != nil {
			b.private(ctx, r, errorMessage(b.userError(ctx, err)))
			return
		}
		b.record(ctx, ev, AuditRecord{Kind: KindAccess, TenantID: tenantID, Params: params, Outcome: "granted"})
		b.private(ctx, r, Message{Title: fmt.Sprintf("%s is now %s in %s.", who, role, scope), Tone: ToneOK})
		return
	}
	err := b.Store.DeleteGrant(ctx, who, tenantID)
	if errors.Is(err, ErrNotFound) {
		b.private(ctx, r, errorMessage(fmt.Sprintf("%s has no role of its own in %s.", who, scope)))
		return
	} else if err != nil {
		b.private(ctx, r, errorMessage(b.userError(ctx, err)))
		return
	}
	b.record(ctx, ev, AuditRecord{Kind: KindAccess, TenantID: tenantID, Params: params, Outcome: "revoked"})
	b.private(ctx, r, Message{Title: fmt.Sprintf("%s no longer has a role in %s.", who, scope), Tone: ToneOK})
}

// whoami tells the actor their ID and roles, tenant by tenant, which
// admins need to grant one.
func (b *Bot) whoami(ctx context.Context, ev Event, r Responder) {
	rs, err := b.roles(ctx, ev.Actor.ID)
	if err != nil {
		b.private(ctx, r, errorMessage(b.userError(ctx, err)))
		return
	}
	b.private(ctx, r, Message{Title: "You are " + ev.Actor.ID, Lines: roleLines(ctx, b, rs)})
}

// roleLines shows roles tenant by tenant: "All tenants: approver",
// "fabrikam.com: admin".
func roleLines(ctx context.Context, b *Bot, rs Roles) []string {
	var lines []string
	if rs.Global > RoleNone {
		lines = append(lines, "All tenants: "+rs.Global.String())
	}
	var per []string
	for id, role := range rs.Tenants {
		if role > rs.Global {
			per = append(per, b.tenantName(ctx, id)+": "+role.String())
		}
	}
	slices.Sort(per)
	lines = append(lines, per...)
	if len(lines) == 0 {
		lines = []string{"Role: no role"}
	}
	return lines
}

// Actions returns the action declarations, for command registration.
func (b *Bot) Actions() []*Action { return b.Catalogue.All() }

// Builtin is a command that is not an action.
type Builtin struct {
	Name    string
	Summary string
	// Arg, if non-empty, names the one optional free-text argument.
	Arg, ArgSummary string
}

// Builtins lists the commands that are not actions, for registration.
// Approve and deny are buttons, so they are left out.
func Builtins() []Builtin {
	return []Builtin{
		{Name: "help", Summary: "What cippbot can do; help <action> for one action", Arg: "action", ArgSummary: "an action name"},
		{Name: "audit", Summary: "Recent audit entries, newest first", Arg: "user", ArgSummary: "only entries about this user@domain"},
		{Name: "access", Summary: "Roles: list, grant <platform:user> <role> [tenant], revoke", Arg: "args", ArgSummary: "list | grant discord:ID helpdesk [tenant] | revoke discord:ID [tenant]"},
		{Name: "tenants", Summary: "The customer tenants cippbot knows", Arg: "search", ArgSummary: "part of a name or domain"},
		{Name: "bind", Summary: "Bind this channel to a tenant, so bare user names work here", Arg: "tenant", ArgSummary: "domain or alias; none shows the binding, - removes it"},
		{Name: "check", Summary: "Admins: can cippbot reach a tenant, and which actions will work", Arg: "tenant",
			ArgSummary: "domain or alias; add rehearse user@domain to try every action's reads on that user"},
		{Name: "whoami", Summary: "Your chat ID and role"},
	}
}

// example builds a typical command for an action from its declaration.
func example(a *actions.Action) string {
	if a.Example != "" {
		return "/cipp " + a.Example
	}
	parts := []string{"/cipp", a.Name, "AdeleV@contoso.com"}
	for _, p := range a.Params {
		switch {
		case p.Kind == actions.ParamEnum && p.Required:
			parts = append(parts, p.Choices[0])
		case p.Name == "group":
			parts = append(parts, `"Sales and Marketing"`)
		case p.Kind == actions.ParamInt && p.Min > 0:
			parts = append(parts, fmt.Sprintf("%s=%d", p.Name, max(p.Min, 60)))
		case p.Name == "jobtitle":
			parts = append(parts, `jobTitle="Store Manager"`)
		}
	}
	if needsApproval(a) {
		parts = append(parts, `reason="ticket 4711"`)
	}
	return strings.Join(parts, " ")
}
