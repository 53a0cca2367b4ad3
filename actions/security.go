package actions

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
)

// researchWindow is how far back compromise research looks; the sign-ins
// before it, back to researchBaseline, are what is normal for the user.
const (
	researchWindow   = 7 * 24 * time.Hour
	researchBaseline = 30 * 24 * time.Hour
)

// obscureFolders are folders a rule that hides mail moves it to, our
// strongest sign of a mailbox in an attacker's hands. CIPP's Push-BECRun
// lists every rule (Get-InboxRule -IncludeHidden) and leaves the judging
// to the technician; cippbot scores them so the phone shows the worst first.
var obscureFolders = []string{"rss feeds", "rss subscriptions", "conversation history", "archive", "junk email",
	"deleted items", "notes", "sync issues"}

// Verdicts of compromise research, from most to least worrying.
const (
	VerdictCompromised = "Likely compromised"
	VerdictSuspicious  = "Suspicious"
	VerdictClean       = "Nothing suspicious"
)

// evidence is one finding: strong findings are signs of an attacker on
// their own, weak ones only together with others.
type evidence struct {
	line   string
	strong bool
}

// Research is what research-compromise found about one user.
type Research struct {
	Verdict  string
	Evidence []string // most worrying first
	Info     []string // context that is not evidence
	// RuleIDs are the inbox rules still on that forward outside, delete
	// or hide mail.
	RuleIDs    []string
	Forwarding string // mailbox forwarding outside the tenant, "" if none
}

var researchCompromise = &Action{
	Name:        "research-compromise",
	Aliases:     []string{"bec", "compromise"},
	Area:        "Security",
	Summary:     "Look for signs of a compromised account in the last 7 days",
	Permissions: []string{"AuditLog.Read.All"},
	// Directory audit events need both: "AuditLog.Read.All and
	// Directory.Read.All"
	// (https://learn.microsoft.com/en-us/graph/api/directoryaudit-list).
	AlsoPermissions: []string{"Directory.Read.All"},
	Risk:            RiskRead,
	Run: func(ctx context.Context, t Tenant, u User, _ Params, _ Env) (Outcome, error) {
		r, err := ResearchUser(ctx, t, u, time.Now())
		if err != nil {
			return Outcome{}, err
		}
		o := Outcome{Summary: fmt.Sprintf("%s: %s", r.Verdict, u.UPN)}
		o.Lines = append(o.Lines, r.Evidence...)
		o.Lines = append(o.Lines, r.Info...)
		if r.Verdict == VerdictClean {
			return o, nil
		}
		o.Next = append(o.Next,
			Next{Label: "Reset password", Command: "reset-password " + u.UPN + " --must-change", Danger: true},
			Next{Label: "Block sign-in", Command: "block-signin " + u.UPN, Danger: true},
			Next{Label: "Revoke sessions", Command: "revoke-sessions " + u.UPN})
		if len(r.RuleIDs) > 0 {
			o.Next = append(o.Next, Next{Label: "Remove rules", Command: "remove-inbox-rules " + u.UPN, Danger: true})
		}
		if r.Forwarding != "" {
			o.Next = append(o.Next, Next{Label: "Stop forwarding", Command: "disable-forwarding " + u.UPN})
		}
		return o, nil
	},
}

// ResearchUser gathers the evidence of a compromise of u as of now: its
// sign-ins, inbox rules, mailbox forwarding, MFA methods, password change
// and the applications added to the tenant, and weighs it into a verdict.
// What cannot be read (no mailbox, no permission) is said, not hidden.
func ResearchUser(ctx context.Context, t Tenant, u User, now time.Time) (Research, error) {
	sec, err := need(t.Security, "sign-in logs")
	if err != nil {
		return Research{}, err
	}
	org, err := tenantInfo(ctx, t)
	if err != nil {
		return Research{}, err
	}
	var ev []evidence
	var r Research
	since := now.Add(-researchWindow)
	unread := func(what string, err error) {
		r.Info = append(r.Info, fmt.Sprintf("Could not read %s: %s", what, ErrorMessage(err)))
	}

	// Sign-ins: new countries against the weeks before, failures, risk.
	signIns, err := sec.SignIns(ctx, u.ID, now.Add(-researchBaseline), 1000)
	if err != nil {
		if ErrorCode(err) != ENOTFOUND {
			return Research{}, err
		}
		unread("sign-ins", err)
	}
	ev = append(ev, signInEvidence(signIns, since)...)

	// Inbox rules, hidden ones included; a rule turned off is still
	// evidence.
	if rules, err := sec.InboxRules(ctx, mailboxOf(u)); err != nil {
		unread("inbox rules", err)
	} else {
		for _, rule := range rules {
			if e, bad := ruleEvidence(rule, org.Domains); bad {
				ev = append(ev, e)
				if rule.Enabled {
					r.RuleIDs = append(r.RuleIDs, rule.ID)
				}
			}
		}
	}

	// Mailbox forwarding.
	if x := t.Exchange; x != nil {
		if mb, err := x.Mailbox(ctx, mailboxOf(u)); err == nil && mb.Forwarding != "" {
			if outside(mb.Forwarding, org.Domains) {
				r.Forwarding = mb.Forwarding
				ev = append(ev, evidence{"Mailbox forwards to " + mb.Forwarding + " (outside)", true})
			} else {
				r.Info = append(r.Info, "Mailbox forwards to "+mb.Forwarding)
			}
		} else if err != nil && ErrorCode(err) != ENOTFOUND {
			unread("mailbox forwarding", err)
		}
	}

	// MFA methods registered in the window.
	if t.Auth == nil {
		unread("MFA methods", cannotReach("authentication methods"))
	} else if methods, err := t.Auth.AuthMethods(ctx, u.ID); err != nil {
		unread("MFA methods", err)
	} else {
		for _, m := range methods {
			if !m.Created.IsZero() && m.Created.After(since) && m.Kind != "password" {
				ev = append(ev, evidence{fmt.Sprintf("MFA method added %s: %s", ago(now, m.Created), m.Name), false})
			}
		}
	}

	// Password change: context, not evidence (a reset is also the cure).
	if t.Users != nil {
		if det, err := t.Users.UserDetails(ctx, u.ID); err == nil && !det.LastPasswordChange.IsZero() {
			r.Info = append(r.Info, "Password last changed "+ago(now, det.LastPasswordChange))
		}
	}

	// Applications added to the tenant by other organizations.
	if apps, err := sec.NewApps(ctx, since); err != nil {
		unread("new applications", err)
	} else {
		for _, a := range apps {
			if a.Foreign {
				pub := a.Publisher
				if pub == "" {
					pub = "unverified publisher"
				}
				// Tenant-wide: context for every user, not evidence against one.
				r.Info = append(r.Info, fmt.Sprintf("New app in the tenant %s: %s (%s)", ago(now, a.Created), a.Name, pub))
			}
		}
	}

	r.Verdict, r.Evidence = weigh(ev)
	return r, nil
}

// weigh turns findings into a verdict and their lines, strong ones
// first: two strong findings, or one with a weak one, are a compromise;
// anything less is suspicious; nothing is clean.
func weigh(ev []evidence) (verdict string, lines []string) {
	strong, weak := 0, 0
	ev = slices.Clone(ev)
	slices.SortStableFunc(ev, func(a, b evidence) int { return boolInt(b.strong) - boolInt(a.strong) })
	for _, e := range ev {
		if e.strong {
			strong++
		} else {
			weak++
		}
		lines = append(lines, e.line)
	}
	switch {
	case strong >= 2 || strong == 1 && weak >= 1:
		return VerdictCompromised, lines
	case strong+weak > 0:
		return VerdictSuspicious, lines
	}
	return VerdictClean, lines
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// signInEvidence weighs sign-ins: a successful sign-in since from a
// country not seen before it is strong, as is a high risk; a run of
// failures is weak.
func signInEvidence(all []SignIn, since time.Time) []evidence {
	seen := map[string]bool{}
	for _, s := range all {
		if s.Time.Before(since) && s.OK && s.Country != "" {
			seen[s.Country] = true
		}
	}
	var out []evidence
	newCountry := map[string]bool{}
	failures, risky := 0, 0
	var failIPs []string
	for _, s := range all {
		if s.Time.Before(since) {
			continue
		}
		if !s.OK {
			failures++
			if !slices.Contains(failIPs, s.IP) {
				failIPs = append(failIPs, s.IP)
			}
		}
		if s.OK && s.Country != "" && len(seen) > 0 && !seen[s.Country] && !newCountry[s.Country] {
			newCountry[s.Country] = true
			out = append(out, evidence{fmt.Sprintf("Sign-in from a new country: %s, %s, %s (%s)",
				s.Location, s.IP, s.App, s.Time.UTC().Format("Jan 2 15:04Z")), true})
		}
		if strings.EqualFold(s.Risk, "high") && s.OK {
			risky++
		}
	}
	if risky > 0 {
		out = append(out, evidence{fmt.Sprintf("%d high-risk sign-in%s", risky, plural(risky)), true})
	}
	if failures >= 5 {
		out = append(out, evidence{fmt.Sprintf("%d failed sign-ins from %d addresses", failures, len(failIPs)), false})
	}
	return out
}

// ruleEvidence judges one inbox rule: forwarding outside, deleting, or
// moving mail where no one looks are strong signs.
func ruleEvidence(r InboxRule, domains []string) (evidence, bool) {
	name := r.Name
	if strings.Trim(name, ".,;:-_ ") == "" {
		name = fmt.Sprintf("%q (a name meant to go unnoticed)", r.Name)
	} else {
		name = fmt.Sprintf("%q", r.Name)
	}
	var what []string
	for _, a := range r.ForwardTo {
		if outside(a, domains) {
			what = append(what, "forwards to "+a)
		}
	}
	if r.Delete {
		what = append(what, "deletes mail")
	}
	if r.MoveTo != "" && slices.Contains(obscureFolders, strings.ToLower(r.MoveTo)) {
		what = append(what, "moves mail to "+r.MoveTo)
	}
	if len(what) == 0 {
		return evidence{}, false
	}
	if r.MarkRead {
		what = append(what, "marks it read")
	}
	state := ""
	if !r.Enabled {
		state = " (disabled)"
	}
	return evidence{fmt.Sprintf("Inbox rule %s%s %s", name, state, strings.Join(what, ", ")), true}, true
}

// outside reports whether address is not in one of the tenant's domains.
func outside(address string, domains []string) bool {
	_, dom, ok := strings.Cut(strings.ToLower(strings.TrimSpace(address)), "@")
	if !ok {
		return false // a recipient name, inside the tenant
	}
	for _, d := range domains {
		if strings.EqualFold(d, dom) {
			return false
		}
	}
	return true
}

// ago says how long before now t was, roughly, for a phone.
func ago(now, t time.Time) string {
	d := now.Sub(t)
	switch {
	case d < time.Hour:
		return "within the hour"
	case d < 24*time.Hour:
		return fmt.Sprintf("%dh ago", int(d.Hours()))
	case d < 48*time.Hour:
		return "yesterday"
	}
	return fmt.Sprintf("%d days ago", int(d.Hours()/24))
}

var removeInboxRules = &Action{
	Name:    "remove-inbox-rules",
	Aliases: []string{"remove-rules"},
	Area:    "Security",
	Summary: "Turn off inbox rules (hidden ones too) that forward outside, delete or hide mail",
	Params: []Param{
		{Name: "all", Kind: ParamBool, Summary: "every inbox rule, not only suspicious ones"},
		{Name: "delete", Kind: ParamBool, Summary: "delete the rules instead of turning them off (the evidence goes)"},
	},
	Permissions: []string{"Exchange.ManageAsApp"},
	Roles:       rolesExchange,
	Risk:        RiskDestructive,
	Bulk:        true,
	Run: func(ctx context.Context, t Tenant, u User, p Params, _ Env) (Outcome, error) {
		del := p.Bool("delete")
		res, err := removeRules(ctx, t, u, p.Bool("all"), del)
		if err != nil {
			return Outcome{}, err
		}
		verb := "turned off"
		if del {
			verb = "deleted"
		}
		o := Outcome{Summary: fmt.Sprintf("%s: %d inbox rules %s", u.UPN, len(res.done), verb)}
		for _, r := range res.done {
			o.Lines = append(o.Lines, "✓ "+r)
		}
		if res.off > 0 {
			o.Lines = append(o.Lines, fmt.Sprintf("%d already off", res.off))
		}
		if !del && len(res.done)+res.off > 0 {
			o.Lines = append(o.Lines, "Kept as evidence; --delete deletes them")
		}
		if res.kept > 0 {
			o.Lines = append(o.Lines, fmt.Sprintf("%d harmless rules kept (--all: every rule)", res.kept))
		}
		return o, nil
	},
}

// ruleCleanup is what removeRules did.
type ruleCleanup struct {
	done []string // the rules turned off or deleted, quoted
	off  int      // suspicious rules already off, left so
	kept int      // rules left alone
}

// systemRule reports whether a rule is one Exchange keeps itself: the
// junk email rule, "a hidden Inbox rule named Junk E-mail Rule"
// (https://learn.microsoft.com/powershell/module/exchangepowershell/set-mailboxjunkemailconfiguration),
// and the automatic replies' rules. --all leaves them unless they look
// like an attacker's.
func systemRule(name string) bool {
	return strings.EqualFold(name, "Junk E-mail Rule") || strings.HasPrefix(strings.ToLower(name), "microsoft.exchange.oof.")
}

// removeRules turns off (or, with del, deletes) u's suspicious inbox
// rules, hidden ones included, or all of them. A failure on one rule is
// an error naming the rules already done.
func removeRules(ctx context.Context, t Tenant, u User, all, del bool) (ruleCleanup, error) {
	var res ruleCleanup
	sec, err := need(t.Security, "inbox rules")
	if err != nil {
		return res, err
	}
	org, err := tenantInfo(ctx, t)
	if err != nil {
		return res, err
	}
	mailbox := mailboxOf(u)
	rules, err := sec.InboxRules(ctx, mailbox)
	if err != nil {
		return res, err
	}
	for _, r := range rules {
		_, bad := ruleEvidence(r, org.Domains)
		switch {
		case !bad && (!all || systemRule(r.Name)):
			res.kept++
			continue
		case !del && !r.Enabled:
			res.off++
			continue
		}
		if del {
			err = sec.DeleteInboxRule(ctx, mailbox, r.ID)
		} else {
			err = sec.DisableInboxRule(ctx, mailbox, r.ID)
		}
		if err != nil && ErrorCode(err) != ENOTFOUND {
			done := ""
			if len(res.done) > 0 {
				done = " (done before it: " + strings.Join(res.done, ", ") + ")"
			}
			return res, &Error{Code: ErrorCode(err), Message: fmt.Sprintf("rule %q: %s%s", r.Name, ErrorMessage(err), done)}
		}
		res.done = append(res.done, fmt.Sprintf("%q", r.Name))
	}
	return res, nil
}

var sendMFAPush = &Action{
	Name:        "send-mfa-push",
	Aliases:     []string{"mfa-push", "push"},
	Area:        "MFA",
	Summary:     "Send an MFA push to the user's phone and report the answer",
	Permissions: []string{"Application.ReadWrite.All"},
	Risk:        RiskChange,
	Slow:        true,
	Run: func(ctx context.Context, t Tenant, u User, _ Params, _ Env) (Outcome, error) {
		push, err := need(t.Push, "the MFA service")
		if err != nil {
			return Outcome{}, err
		}
		res, err := push.SendMFAPush(ctx, u.UPN)
		if err != nil {
			return Outcome{}, err
		}
		o := Outcome{Summary: fmt.Sprintf("%s: push %s", u.UPN, res)}
		switch res {
		case PushApproved:
			o.Lines = []string{"The user has a working authenticator and answered."}
		case PushDenied:
			o.Lines = []string{"The user pressed Deny: check it was really them you asked."}
		case PushFraud:
			o.Lines = []string{"The user reported it as fraud: they may be getting prompts they did not ask for."}
			o.Next = []Next{{Label: "Research", Command: "research-compromise " + u.UPN}}
		case PushTimeout:
			o.Lines = []string{"No answer: the phone may be off, or notifications blocked."}
		}
		return o, nil
	},
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// tenantInfo describes the tenant, whose domains tell inside addresses
// from outside ones.
func tenantInfo(ctx context.Context, t Tenant) (TenantInfo, error) {
	org, err := need(t.Org, "the tenant's details")
	if err != nil {
		return TenantInfo{}, err
	}
	return org.Organization(ctx)
}
