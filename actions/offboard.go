package actions

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// offboardStep is one step of offboarding, in the order of CIPP's Invoke-CIPPOffboardingJob.
type offboardStep struct {
	name    string // as typed in steps=
	label   string
	mailbox bool // needs an Exchange mailbox
	// after lists steps whose failure skips this one; "*" means every
	// earlier step.
	after []string
	run   func(ctx context.Context, o *offboarding) (string, error)
}

// offboarding is the state one offboard run shares between its steps.
type offboarding struct {
	t      Tenant
	x      Exchange // t.Exchange: nil without Exchange Online
	u      User
	p      Params
	env    Env
	secret Secret
}

// offboardSteps returns every step in the order CIPP's Invoke-CIPPOffboardingJob runs them.
func offboardSteps() []offboardStep {
	return []offboardStep{
		{name: "revoke", label: "Revoke sessions", run: func(ctx context.Context, o *offboarding) (string, error) {
			return "", o.t.Users.RevokeSessions(ctx, o.u.ID)
		}},
		{name: "password", label: "Reset password", run: func(ctx context.Context, o *offboarding) (string, error) {
			if o.u.Synced {
				return "", Errorf(ECONFLICT, "synced from on-premises: reset it in AD")
			}
			pw, err := o.env.Passwords.Password()
			if err != nil {
				return "", err
			}
			pw = NewSecret(o.u.UPN+" password", pw.Reveal())
			if err := o.t.Users.UpdateUser(ctx, o.u.ID, UserUpdate{Password: &pw}); err != nil {
				return "", err
			}
			o.secret = pw
			return "new one sent privately to the requester", nil
		}},
		{name: "block", label: "Block sign-in", run: func(ctx context.Context, o *offboarding) (string, error) {
			if o.u.Synced {
				return "", Errorf(ECONFLICT, "synced from on-premises: disable the account in AD")
			}
			f := false
			return "", o.t.Users.UpdateUser(ctx, o.u.ID, UserUpdate{AccountEnabled: &f})
		}},
		{name: "hide", label: "Hide from address list", mailbox: true, run: func(ctx context.Context, o *offboarding) (string, error) {
			return "", o.x.HideFromAddressList(ctx, o.u.ID, true)
		}},
		{name: "groups", label: "Remove from groups", run: func(ctx context.Context, o *offboarding) (string, error) {
			return removeAllGroups(ctx, o)
		}},
		{name: "rules", label: "Delete inbox rules", mailbox: true, run: func(ctx context.Context, o *offboarding) (string, error) {
			res, err := removeRules(ctx, o.t, o.u, true, true)
			return fmt.Sprintf("%d deleted", len(res.done)), err
		}},
		{name: "forward", label: "Forwarding", mailbox: true, run: func(ctx context.Context, o *offboarding) (string, error) {
			if to := o.p["forward"]; to != "" {
				return "to " + to, o.x.SetForwarding(ctx, o.u.ID, to, o.p.Bool("keep-copy"))
			}
			return "turned off", o.x.ClearForwarding(ctx, o.u.ID)
		}},
		{name: "ooo", label: "Out of office", mailbox: true, run: func(ctx context.Context, o *offboarding) (string, error) {
			if o.p["ooo"] == "" {
				return "", Errorf(EINVALID, "needs ooo=\"message\"")
			}
			return "on", o.x.SetAutoReply(ctx, o.u.ID, AutoReply{Enabled: true, Message: o.p["ooo"]})
		}},
		{name: "shared", label: "Convert to shared mailbox", mailbox: true, run: func(ctx context.Context, o *offboarding) (string, error) {
			return "", o.x.SetMailboxShared(ctx, o.u.ID, true)
		}},
		{name: "mfa", label: "Remove MFA methods", run: func(ctx context.Context, o *offboarding) (string, error) {
			auth, err := need(o.t.Auth, "authentication methods")
			if err != nil {
				return "", err
			}
			methods, err := auth.AuthMethods(ctx, o.u.ID)
			if err != nil {
				return "", err
			}
			n := 0
			for _, m := range methods {
				if m.Kind == "password" {
					continue
				}
				if err := auth.DeleteAuthMethod(ctx, o.u.ID, m); err != nil && ErrorCode(err) != ENOTFOUND {
					return fmt.Sprintf("%d removed", n), fmt.Errorf("%s: %w", m.Name, err)
				}
				n++
			}
			return fmt.Sprintf("%d removed", n), nil
		}},
		// Removing licences from a mailbox that did not become shared
		// would lose it after 30 days.
		// Licences assigned by a group go with the membership, which the
		// groups step leaves for this one: only once the mailbox is shared.
		{name: "licenses", label: "Remove licences", after: []string{"shared"}, run: func(ctx context.Context, o *offboarding) (string, error) {
			return removeAllLicenses(ctx, o)
		}},
		{name: "immutable", label: "Clear immutable ID", run: func(ctx context.Context, o *offboarding) (string, error) {
			if o.u.Synced || o.u.ImmutableID == "" {
				return "none to clear", nil
			}
			return "", o.t.Users.UpdateUser(ctx, o.u.ID, UserUpdate{ClearImmutableID: true})
		}},
		// Deleting is final for everything above: only when all went well.
		{name: "delete", label: "Delete user", after: []string{"*"}, run: func(ctx context.Context, o *offboarding) (string, error) {
			if o.u.Synced {
				return "", Errorf(ECONFLICT, "synced from on-premises: delete it in AD")
			}
			return "restorable for 30 days", o.t.Users.DeleteUser(ctx, o.u.ID)
		}},
	}
}

// defaultOffboard are the steps run when steps= is not given: all but
// out of office (which needs a message) and delete (which is final).
var defaultOffboard = []string{"revoke", "password", "block", "hide", "groups", "rules", "forward", "shared", "mfa", "licenses", "immutable"}

func offboardStepNames() []string {
	var out []string
	for _, s := range offboardSteps() {
		out = append(out, s.name)
	}
	return out
}

var offboard = &Action{
	Example: "offboard AdeleV@contoso.com forward=MiriamG@contoso.com ooo=\"Adele has left; write to Miriam\" reason=\"leaver, ticket 4711\"",
	Name:    "offboard",
	Area:    "Users",
	Summary: "Offboard a leaver: sessions, password, sign-in, mailbox, groups, MFA, licences",
	Params: []Param{
		{Name: "steps", Kind: ParamString, Summary: "comma list of: " + strings.Join(offboardStepNames(), ",")},
		{Name: "forward", Kind: ParamString, Summary: "forward mail to this address"},
		{Name: "keep-copy", Kind: ParamBool, Summary: "keep a copy of forwarded mail"},
		{Name: "ooo", Kind: ParamString, Summary: "out-of-office message"},
	},
	Permissions: permUserWrite,
	Roles:       []string{RoleUserAdmin, RoleExchangeAdmin}, // the password and mailbox steps
	AdminRoles:  rolesToChangeAdmins,
	Risk:        RiskDestructive,
	Secret:      true,
	Prepare: func(_ context.Context, _ Tenant, p Params) (Params, error) {
		steps := defaultOffboard
		if p["ooo"] != "" {
			steps = append(slices.Clone(steps), "ooo")
		}
		if raw := strings.TrimSpace(p["steps"]); raw != "" {
			steps = nil
			for _, s := range splitList(strings.ToLower(raw)) {
				if s == "all" {
					steps = append(steps, offboardStepNames()...)
					continue
				}
				if !slices.Contains(offboardStepNames(), s) {
					return nil, Errorf(EINVALID, "offboard has no step %q: steps are %s", s, strings.Join(offboardStepNames(), ", "))
				}
				steps = append(steps, s)
			}
		}
		if slices.Contains(steps, "ooo") && p["ooo"] == "" {
			return nil, Errorf(EINVALID, "the ooo step needs ooo=\"message\"")
		}
		if slices.Contains(steps, "delete") && slices.Contains(steps, "shared") {
			return nil, Errorf(EINVALID, "delete removes the mailbox with the user, so converting it to shared first keeps nothing: leave out delete or shared")
		}
		if p["forward"] != "" && !strings.Contains(p["forward"], "@") {
			return nil, Errorf(EINVALID, "forward= is an e-mail address, not %q", p["forward"])
		}
		// Pin the plan, in the order of CIPP's Invoke-CIPPOffboardingJob, to the approval.
		var ordered []string
		for _, s := range offboardStepNames() {
			if slices.Contains(steps, s) {
				ordered = append(ordered, s)
			}
		}
		q := p.Clone()
		q["steps"] = strings.Join(ordered, ",")
		return q, nil
	},
	Groups: offboardGroups,
	Run:    runOffboard,
}

// runOffboard runs the approved steps in order, reporting each as it
// goes. A failed step is reported and skips only the steps that depend on
// it; the rest still run.
func runOffboard(ctx context.Context, t Tenant, u User, p Params, env Env) (Outcome, error) {
	// Most steps change the user itself: without Users there is no
	// offboarding to speak of.
	if _, err := need(t.Users, "users"); err != nil {
		return Outcome{}, err
	}
	o := &offboarding{t: t, x: t.Exchange, u: u, p: p, env: env}
	var plan []offboardStep
	for _, s := range offboardSteps() {
		if slices.Contains(splitList(p["steps"]), s.name) {
			plan = append(plan, s)
		}
	}
	noMailbox := ""
	if slices.ContainsFunc(plan, func(s offboardStep) bool { return s.mailbox }) {
		switch {
		case o.x == nil:
			noMailbox = "no Exchange Online connection"
		default:
			if _, err := o.x.Mailbox(ctx, u.ID); ErrorCode(err) == ENOTFOUND {
				noMailbox = "no mailbox"
			} else if err != nil {
				noMailbox = "mailbox unreadable: " + ErrorMessage(err)
			}
		}
	}
	lines := make([]string, len(plan))
	for i, s := range plan {
		lines[i] = "… " + s.label
	}
	reportSteps(ctx, slices.Clone(lines))
	failed := map[string]bool{}
	var nFailed int
	for i, s := range plan {
		skip := ""
		for _, dep := range s.after {
			if dep == "*" && nFailed > 0 || failed[dep] {
				skip = "skipped: an earlier step failed"
			}
		}
		if s.mailbox && noMailbox != "" {
			skip = "skipped: " + noMailbox
		}
		switch {
		case skip != "":
			lines[i] = "– " + s.label + ": " + skip
		case ctx.Err() != nil:
			failed[s.name] = true
			nFailed++
			lines[i] = "✗ " + s.label + ": stopped"
		default:
			detail, err := s.run(ctx, o)
			if err != nil {
				failed[s.name] = true
				nFailed++
				lines[i] = "✗ " + s.label + ": " + ErrorMessage(err)
			} else {
				lines[i] = "✓ " + s.label
				if detail != "" {
					lines[i] += ": " + detail
				}
			}
		}
		reportSteps(ctx, slices.Clone(lines))
	}
	out := Outcome{Summary: u.UPN + ": offboarded", Lines: lines, Secret: o.secret}
	if nFailed > 0 {
		out.Summary = fmt.Sprintf("%s: offboarded, but %d of %d steps failed", u.UPN, nFailed, len(plan))
		out.Partial = true
	}
	return out, nil
}

// removeAllGroups removes the user from every group it is a direct member
// of, through Exchange for mail-enabled ones. Dynamic and synced groups
// refuse; they are named.
func removeAllGroups(ctx context.Context, o *offboarding) (string, error) {
	lc, err := need(o.t.Lifecycle, "groups")
	if err != nil {
		return "", err
	}
	groups, err := lc.UserGroups(ctx, o.u.ID)
	if err != nil {
		return "", err
	}
	// Groups that assign licences are left to the licences step, after
	// the mailbox is converted: leaving them first would unlicense the
	// mailbox before it is shared.
	licensing, err := licenceGroups(ctx, lc, o.u.ID)
	if err != nil {
		return "", err
	}
	groups = slices.DeleteFunc(groups, func(g Group) bool { return licensing[g.ID] })
	kept := ""
	if len(licensing) > 0 {
		kept = fmt.Sprintf("; %d licence group(s) left for the licences step", len(licensing))
	}
	n := 0
	var failed []string
	for _, g := range groups {
		var err error
		switch {
		case !g.Unified && g.MailEnabled && o.x != nil:
			err = o.x.RemoveDistributionMember(ctx, g.ID, o.u.ID)
		case !g.Unified && g.MailEnabled:
			err = cannotReach("Exchange Online")
		case o.t.Groups == nil:
			err = cannotReach("groups")
		default:
			err = o.t.Groups.RemoveGroupMember(ctx, g.ID, o.u.ID)
		}
		if err != nil && ErrorCode(err) != ENOTFOUND {
			failed = append(failed, g.DisplayName+" ("+ErrorMessage(err)+")")
			continue
		}
		n++
	}
	if len(failed) > 0 {
		return "", Errorf(ECONFLICT, "%d of %d removed; not from %s", n, len(groups), strings.Join(failed, ", "))
	}
	return fmt.Sprintf("%d removed%s", n, kept), nil
}

// licenceGroups returns the IDs of the groups that assign the user a
// licence.
func licenceGroups(ctx context.Context, lc Lifecycle, userID string) (map[string]bool, error) {
	has, err := lc.UserSKUs(ctx, userID)
	if err != nil {
		return nil, err
	}
	out := map[string]bool{}
	for _, s := range has {
		for _, g := range s.ByGroups {
			out[g.ID] = true
		}
	}
	return out, nil
}

// removeAllLicenses removes the user's direct licences with assignLicense
// and the memberships of the groups that assign the others: a licence
// held through a group cannot be removed from the user directly.
func removeAllLicenses(ctx context.Context, o *offboarding) (string, error) {
	lc, err := need(o.t.Lifecycle, "licences")
	if err != nil {
		return "", err
	}
	has, err := lc.UserSKUs(ctx, o.u.ID)
	if err != nil || len(has) == 0 {
		return "none", err
	}
	var direct, names []string
	groups := map[string]Group{}
	for _, s := range has {
		names = append(names, s.PartNumber)
		if s.Direct {
			direct = append(direct, s.ID)
		}
		for _, g := range s.ByGroups {
			groups[g.ID] = g
		}
	}
	if len(direct) > 0 {
		if err := lc.AssignLicenses(ctx, o.u.ID, nil, direct); err != nil {
			return "", err
		}
	}
	done := strings.Join(names, ", ")
	if len(groups) == 0 {
		return done, nil
	}
	var left, failed []string
	byName := slices.SortedFunc(maps.Values(groups), func(a, b Group) int { return strings.Compare(a.DisplayName, b.DisplayName) })
	members, err := need(o.t.Groups, "groups")
	if err != nil {
		return "", err
	}
	for _, g := range byName {
		if err := members.RemoveGroupMember(ctx, g.ID, o.u.ID); err != nil && ErrorCode(err) != ENOTFOUND {
			failed = append(failed, g.DisplayName+" ("+ErrorMessage(err)+")")
			continue
		}
		left = append(left, g.DisplayName)
	}
	if len(failed) > 0 {
		return "", Errorf(ECONFLICT, "direct licences removed; still licensed through %s", strings.Join(failed, ", "))
	}
	return done + "; left licence group(s) " + strings.Join(left, ", "), nil
}
