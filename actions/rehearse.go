package actions

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
)

// A rehearsal runs, for every action of the catalogue, the read-only part
// of what the action would do against one user, and changes nothing: it
// resolves the user, makes the reads the action makes before approval
// and obtains the tokens it would need, without using any to write. It
// proves that a setup works before anyone needs it.

// Rehearser is implemented by tenant connections that can make the reads
// a rehearsal needs beyond the tenant's other capabilities. Each method only
// reads; none creates anything.
type Rehearser interface {
	// MFAServicePrincipal reports whether the tenant holds the service
	// principal of the legacy MFA service's client app, which
	// send-mfa-push would otherwise have to add, and whether it is
	// enabled (a disabled one gets no token).
	MFAServicePrincipal(ctx context.Context) (exists, enabled bool, err error)
	// PasswordCredentialsAllowed reports whether the tenant's app
	// management policy lets a password credential (secret) be added to
	// a service principal; why says which restriction forbids it.
	PasswordCredentialsAllowed(ctx context.Context) (ok bool, why string, err error)
	// AutoReply reads the user's automatic-reply configuration.
	AutoReply(ctx context.Context, userID string) (AutoReply, error)
	// SharePointAdmin obtains a token for the tenant's SharePoint admin
	// site, without using it, and returns the site's address.
	SharePointAdmin(ctx context.Context) (string, error)
	// ExchangeOrganization makes one read of Exchange Online routed as
	// its organization-level cmdlets are (those of distribution lists).
	ExchangeOrganization(ctx context.Context) error
}

// Rehearsal is the readiness of one action.
type Rehearsal struct {
	Action string
	Ready  bool
	// Reason says why it is not ready and how to fix it, "" when ready.
	Reason string
	// Note, for a ready action, says what it would meet on this user or
	// tenant that is no fault of the setup: a refusal for what the user
	// is (a cloud user has no immutable ID to clear), or something the
	// action will do first (add the MFA service app).
	Note string
}

// RehearsalReport is the result of a rehearsal against one user.
type RehearsalReport struct {
	User    User
	Actions []Rehearsal // in catalogue order
}

// Ready returns how many actions are ready.
func (r RehearsalReport) Ready() int {
	n := 0
	for _, a := range r.Actions {
		if a.Ready {
			n++
		}
	}
	return n
}

// NotReady returns the actions that are not ready, in catalogue order.
func (r RehearsalReport) NotReady() []Rehearsal {
	var out []Rehearsal
	for _, a := range r.Actions {
		if !a.Ready {
			out = append(out, a)
		}
	}
	return out
}

// Lines renders the report for a phone: the failures first, each with
// its reason, then the count of ready actions, then what ready actions
// would refuse on this user.
func (r RehearsalReport) Lines() []string {
	var lines []string
	for _, a := range r.NotReady() {
		lines = append(lines, "✗ "+a.Action+": "+a.Reason)
	}
	lines = append(lines, fmt.Sprintf("✓ %d of %d actions ready", r.Ready(), len(r.Actions)))
	for _, a := range r.Actions {
		if a.Ready && a.Note != "" {
			lines = append(lines, "· "+a.Action+": "+a.Note)
		}
	}
	return lines
}

// Summary is one line for the audit record: the count of ready actions
// and the names of the others.
func (r RehearsalReport) Summary() string {
	s := fmt.Sprintf("%d of %d ready", r.Ready(), len(r.Actions))
	var names []string
	for _, a := range r.NotReady() {
		names = append(names, a.Action)
	}
	if len(names) > 0 {
		s += "; not ready: " + strings.Join(names, ", ")
	}
	return s
}

// probe is one read a rehearsal makes. A probe's error is the reason the
// actions that need it are not ready, unless it is a note.
type probe func(ctx context.Context, r *rehearsal) error

// note is what a probe returns when the read worked and found something
// about the user or tenant worth saying that does not stop the action.
type note string

func (n note) Error() string { return string(n) }

// rehearsal holds what one rehearsal has read, so that a read several
// actions share is made once.
type rehearsal struct {
	t    Tenant
	u    User
	now  time.Time
	mu   sync.Mutex
	done map[string]error
	// the user's authentication methods, once read (authMethods)
	methodsOnce sync.Once
	methods     []AuthMethod
	methodsErr  error
}

// authMethods reads the user's authentication methods once.
func (r *rehearsal) authMethods(ctx context.Context) ([]AuthMethod, error) {
	r.methodsOnce.Do(func() {
		auth, err := need(r.t.Auth, "authentication methods")
		if err != nil {
			r.methodsErr = err
			return
		}
		r.methods, r.methodsErr = auth.AuthMethods(ctx, r.u.ID)
	})
	return r.methods, r.methodsErr
}

// run runs the named probe once and returns its error.
func (r *rehearsal) run(ctx context.Context, name string) error {
	r.mu.Lock()
	err, ok := r.done[name]
	r.mu.Unlock()
	if ok {
		return err
	}
	p, known := probes[name]
	if !known {
		err = Errorf(EINTERNAL, "rehearsal has no read %q", name)
	} else {
		err = p(ctx, r)
	}
	r.mu.Lock()
	r.done[name] = err
	r.mu.Unlock()
	return err
}

// probeWhat names what each probe reads, for the reason of a failure.
var probeWhat = map[string]string{
	"details":       "user details",
	"roles":         "the user's admin roles",
	"methods":       "authentication methods",
	"authenticator": "authentication methods",
	"mailbox":       "mailbox",
	"timezone":      "mailbox time zone",
	"autoreply":     "auto-reply",
	"inboxrules":    "inbox rules",
	"signins":       "sign-in logs",
	"newapps":       "new apps (directory audit)",
	"org":           "tenant and domains",
	"skus":          "licences",
	"userskus":      "the user's licences",
	"usergroups":    "the user's groups",
	"groupprivs":    "what the user's groups grant",
	"distlists":     "Exchange Online",
	"recyclebin":    "deleted users",
	"mfasp":         "MFA service app",
	"mfapolicy":     "app management policy",
	"spadmin":       "SharePoint admin site",
	"onedrive":      "OneDrive",
	"onedrivers":    "OneDrive",
}

// probes are the reads, by name. Reads that answer "not found" for a
// state the user may rightly be in (no deleted user by that name) count
// as working; those whose absence stops the action do not.
var probes = map[string]probe{
	"details": func(ctx context.Context, r *rehearsal) error {
		users, err := need(r.t.Users, "users")
		if err != nil {
			return err
		}
		_, err = users.UserDetails(ctx, r.u.ID)
		return err
	},
	"roles": func(ctx context.Context, r *rehearsal) error {
		roles, err := need(r.t.Roles, "admin roles")
		if err != nil {
			return err
		}
		_, errs := roles.DirectoryRoles(ctx, []string{r.u.ID})
		if len(errs) > 0 {
			return errs[0]
		}
		return nil
	},
	"methods": func(ctx context.Context, r *rehearsal) error {
		_, err := r.authMethods(ctx)
		return err
	},
	// authenticator: a push goes to the Microsoft Authenticator app.
	"authenticator": func(ctx context.Context, r *rehearsal) error {
		ms, err := r.authMethods(ctx)
		if err != nil {
			return err
		}
		if !slices.ContainsFunc(ms, func(m AuthMethod) bool { return m.Kind == "microsoftAuthenticator" }) {
			return note(r.u.UPN + " has no Microsoft Authenticator registered to push to")
		}
		return nil
	},
	"mailbox": func(ctx context.Context, r *rehearsal) error {
		x, err := need(r.t.Exchange, "Exchange Online")
		if err != nil {
			return err
		}
		_, err = x.Mailbox(ctx, mailboxOf(r.u))
		return err
	},
	"timezone": func(ctx context.Context, r *rehearsal) error {
		x, err := need(r.t.Exchange, "Exchange Online")
		if err != nil {
			return err
		}
		_, err = x.MailboxTimeZone(ctx, mailboxOf(r.u))
		return err
	},
	"autoreply": func(ctx context.Context, r *rehearsal) error {
		x, err := need(r.t.Rehearsal, "a rehearsal's reads")
		if err != nil {
			return err
		}
		_, err = x.AutoReply(ctx, mailboxOf(r.u))
		return err
	},
	"inboxrules": func(ctx context.Context, r *rehearsal) error {
		x, err := need(r.t.Security, "sign-ins and inbox rules")
		if err != nil {
			return err
		}
		_, err = x.InboxRules(ctx, mailboxOf(r.u))
		return err
	},
	"signins": func(ctx context.Context, r *rehearsal) error {
		x, err := need(r.t.Security, "sign-ins and inbox rules")
		if err != nil {
			return err
		}
		_, err = x.SignIns(ctx, r.u.ID, r.now.Add(-7*24*time.Hour), 1)
		return err
	},
	"newapps": func(ctx context.Context, r *rehearsal) error {
		x, err := need(r.t.Security, "sign-ins and inbox rules")
		if err != nil {
			return err
		}
		_, err = x.NewApps(ctx, r.now.Add(-7*24*time.Hour))
		return err
	},
	"org": func(ctx context.Context, r *rehearsal) error {
		org, err := need(r.t.Org, "the tenant's organization")
		if err != nil {
			return err
		}
		_, err = org.Organization(ctx)
		return err
	},
	"skus": func(ctx context.Context, r *rehearsal) error {
		lc, err := need(r.t.Lifecycle, "licences")
		if err != nil {
			return err
		}
		skus, err := lc.SKUs(ctx)
		if err == nil && !slices.ContainsFunc(skus, func(k SKU) bool { return k.Free() > 0 }) {
			return note("no subscription has a free licence")
		}
		return err
	},
	"userskus": func(ctx context.Context, r *rehearsal) error {
		lc, err := need(r.t.Lifecycle, "licences")
		if err != nil {
			return err
		}
		_, err = lc.UserSKUs(ctx, r.u.ID)
		return err
	},
	"usergroups": func(ctx context.Context, r *rehearsal) error {
		lc, err := need(r.t.Lifecycle, "groups")
		if err != nil {
			return err
		}
		_, err = lc.UserGroups(ctx, r.u.ID)
		return err
	},
	// groupprivs reads what a change of the user's first group would
	// grant: role-assignability, roles held, Conditional Access
	// exclusions.
	"groupprivs": func(ctx context.Context, r *rehearsal) error {
		lc, err := need(r.t.Lifecycle, "groups")
		if err != nil {
			return err
		}
		gs, err := lc.UserGroups(ctx, r.u.ID)
		if err != nil || len(gs) == 0 {
			return err
		}
		roles, err := need(r.t.Roles, "admin roles")
		if err != nil {
			return err
		}
		_, err = roles.GroupPrivileges(ctx, []string{gs[0].ID})
		return err
	},
	"recyclebin": func(ctx context.Context, r *rehearsal) error {
		lc, err := need(r.t.Lifecycle, "deleted users")
		if err != nil {
			return err
		}
		_, _, err = lc.DeletedUser(ctx, r.u.UPN)
		if ErrorCode(err) == ENOTFOUND {
			return nil // read, and the user is not deleted: as expected
		}
		return err
	},
	"mfasp": func(ctx context.Context, r *rehearsal) error {
		x, err := need(r.t.Rehearsal, "a rehearsal's reads")
		if err != nil {
			return err
		}
		exists, enabled, err := x.MFAServicePrincipal(ctx)
		switch {
		case err != nil:
			return err
		case !exists:
			// SendMFAPush adds it, with the permission Check confirmed.
			return note("the MFA service app (Azure Multi-Factor Auth Client) is not in the tenant yet; the first push adds it")
		case !enabled:
			return Errorf(ECONFLICT, "the Azure Multi-Factor Auth Client app is disabled in this tenant: enable it in Entra ID, Enterprise applications")
		}
		return nil
	},
	"mfapolicy": func(ctx context.Context, r *rehearsal) error {
		x, err := need(r.t.Rehearsal, "a rehearsal's reads")
		if err != nil {
			return err
		}
		ok, why, err := x.PasswordCredentialsAllowed(ctx)
		if err == nil && !ok {
			return Errorf(ECONFLICT, "the app management policy forbids app secrets (%s): "+
				"exempt the Azure Multi-Factor Auth Client or lift the restriction in Entra ID", why)
		}
		return err
	},
	// distlists: distribution lists change through Exchange; other
	// groups do not, so a failure is a note, not a stop.
	"distlists": func(ctx context.Context, r *rehearsal) error {
		x, err := need(r.t.Rehearsal, "a rehearsal's reads")
		if err != nil {
			return err
		}
		if err := x.ExchangeOrganization(ctx); err != nil {
			return note("distribution lists will fail: " + ErrorMessage(err))
		}
		return nil
	},
	"spadmin": func(ctx context.Context, r *rehearsal) error {
		x, err := need(r.t.Rehearsal, "a rehearsal's reads")
		if err != nil {
			return err
		}
		_, err = x.SharePointAdmin(ctx)
		return err
	},
	// onedrive needs the user's OneDrive to exist (a shortcut goes in it).
	"onedrive": func(ctx context.Context, r *rehearsal) error {
		od, err := need(r.t.OneDrive, "SharePoint")
		if err != nil {
			return err
		}
		_, err = od.OneDriveURL(ctx, r.u.ID)
		if ErrorCode(err) == ENOTFOUND {
			return Errorf(ENOTFOUND, "%s has no OneDrive yet: provision-onedrive, or the user signs in once", r.u.UPN)
		}
		return err
	},
	// onedrivers reads whether the OneDrive exists; none is fine, since
	// provisioning is what makes it.
	"onedrivers": func(ctx context.Context, r *rehearsal) error {
		od, err := need(r.t.OneDrive, "SharePoint")
		if err != nil {
			return err
		}
		_, err = od.OneDriveURL(ctx, r.u.ID)
		if ErrorCode(err) == ENOTFOUND {
			return nil
		}
		return err
	},
}

// rehearsals lists, for every action of the catalogue by name, the reads
// it makes before it writes, in the order it makes them. A change first
// reads the target's admin roles (the privilege rule); Exchange actions
// read the mailbox (which also obtains the Exchange token).
var rehearsals = map[string][]string{
	"user":                   {"details"}, // shows less without sign-in logs, but works
	"block-signin":           {"roles"},
	"unblock-signin":         {"roles"},
	"revoke-sessions":        {"roles"},
	"reset-password":         {"roles"},
	"password-never-expires": {"roles"},
	"create-tap":             {"roles", "methods"},
	"delete-user":            {"roles"},
	"add-to-group":           {"roles", "usergroups", "groupprivs", "distlists"},
	"remove-from-group":      {"roles", "usergroups", "groupprivs", "distlists"},
	"clear-immutable-id":     {"roles"},
	"edit-user":              {"roles", "details"},
	"reset-mfa":              {"roles", "methods"},
	"set-mfa":                {"roles", "details"},
	"convert-mailbox":        {"roles", "mailbox"},
	"enable-archive":         {"roles", "mailbox"},
	"set-ooo":                {"roles", "mailbox", "timezone", "autoreply"},
	"disable-ooo":            {"roles", "mailbox", "autoreply"},
	"disable-forwarding":     {"roles", "mailbox"},
	"send-mfa-push":          {"authenticator", "mfasp", "mfapolicy"},
	"add-user":               {"org", "skus"},
	"bulk-add":               {"org", "skus"},
	"restore-user":           {"recyclebin"},
	"add-license":            {"roles", "skus", "userskus"},
	"remove-license":         {"roles", "userskus"},
	"offboard":               {"roles", "usergroups", "userskus", "methods", "mailbox", "inboxrules"},
	"research-compromise":    {"signins", "inboxrules", "methods", "mailbox", "newapps"},
	"remove-inbox-rules":     {"roles", "inboxrules"},
	"provision-onedrive":     {"spadmin", "onedrivers"},
	"onedrive-shortcut":      {"roles", "onedrive"},
}

// Rehearse runs a rehearsal of every action of c against the user named
// upn in the tenant: it checks the app's permissions and Entra roles as
// Check does, then makes each action's reads, and changes nothing. Every
// action gets a line: ready, or the exact reason it is not. The error is
// for a tenant that cannot be reached or a user that cannot be read.
func (s *Service) Rehearse(ctx context.Context, tenantID string, c *Catalogue, upn string) (RehearsalReport, error) {
	t, err := s.Connector.Tenant(ctx, tenantID)
	if err != nil {
		return RehearsalReport{}, err
	}
	users, err := need(t.Users, "users")
	if err != nil {
		return RehearsalReport{}, err
	}
	u, err := users.User(ctx, upn)
	if err != nil {
		return RehearsalReport{}, err
	}
	// The reads are independent of each other and of Check: make them
	// all at once, a few in flight, while Check reads the app's
	// permissions and roles. The loop below then finds each one done.
	r := &rehearsal{t: t, u: u, now: time.Now(), done: map[string]error{}}
	var reads sync.WaitGroup
	inFlight := make(chan struct{}, rehearsalInFlight)
	for _, name := range rehearsalReads(c) {
		reads.Go(func() {
			inFlight <- struct{}{}
			defer func() { <-inFlight }()
			r.run(ctx, name)
		})
	}
	check, err := s.Check(ctx, tenantID, c)
	reads.Wait()
	if err != nil {
		return RehearsalReport{}, err
	}
	rep := RehearsalReport{User: u}
	for _, a := range c.All() {
		reason := setupReason(a, check)
		if m := MissingGDAPTargetRoles(check.AppRoles, a, u); reason == "" && check.GDAP && len(m) > 0 {
			reason = "missing GDAP role for this user: give the service account's group " + RoleList(m) + " in an access assignment of the tenant's relationship"
		}
		var notes []string
		for _, name := range rehearsalOf(a) {
			err := r.run(ctx, name)
			var n note
			switch {
			case errors.As(err, &n):
				notes = append(notes, string(n))
			case err != nil && reason == "":
				reason = probeWhat[name] + ": " + ErrorMessage(err)
			}
		}
		// Only the user matters here: a refusal of the (absent)
		// parameters is not one of the user.
		if err := checkTarget(a, t, u, Params{}); ErrorCode(err) == ECONFLICT {
			notes = append(notes, firstSentence(ErrorMessage(err)))
		}
		line := Rehearsal{Action: a.Name, Ready: reason == "", Reason: reason}
		if line.Ready {
			line.Note = strings.Join(notes, "; ")
		}
		rep.Actions = append(rep.Actions, line)
	}
	return rep, nil
}

// rehearsalInFlight bounds the reads a rehearsal has in flight at once:
// enough that a phone does not wait for some forty round trips one after
// another, few enough to stay far from a tenant's throttling.
const rehearsalInFlight = 6

// rehearsalReads returns every read the actions of c make, each once, in
// the catalogue's order.
func rehearsalReads(c *Catalogue) []string {
	var names []string
	for _, a := range c.All() {
		for _, name := range rehearsalOf(a) {
			if !slices.Contains(names, name) {
				names = append(names, name)
			}
		}
	}
	return names
}

// rehearsalOf returns the reads of a; an action the table lacks reads
// the user's details, so that it is at least rehearsed as the user action.
func rehearsalOf(a *Action) []string {
	if names, ok := rehearsals[a.Name]; ok {
		return names
	}
	return []string{"details"}
}

// setupReason says why a cannot work whatever its reads answer: a
// missing permission or Entra role, or delegated-only.
func setupReason(a *Action, check CheckReport) string {
	if perms := check.Missing[a.Name]; len(perms) > 0 {
		return "missing permission: grant " + strings.Join(perms, " or ")
	}
	for _, p := range a.AlsoPermissions { // as Check judges them
		if !slices.Contains(check.Permissions, p) && !slices.Contains(check.Permissions, strings.Replace(p, ".Read.", ".ReadWrite.", 1)) {
			return "missing permission: grant " + p
		}
	}
	if roles := check.MissingRoles[a.Name]; len(roles) > 0 && check.GDAP {
		return "missing GDAP role: give the service account's group " + RoleList(roles) + " in an access assignment of the tenant's relationship"
	} else if len(roles) > 0 {
		return "missing Entra role: assign " + RoleList(roles) + " to cippbot's app"
	}
	if slices.Contains(check.Delegated, a.Name) {
		return "needs a signed-in admin (delegated), not app-only: " + a.DelegatedOnly
	}
	return ""
}

// firstSentence returns s up to its first full stop, for a phone: the
// action itself says the rest when it is asked.
func firstSentence(s string) string {
	if i := strings.Index(s, ". "); i >= 0 {
		return s[:i+1]
	}
	return s
}
