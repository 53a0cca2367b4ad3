package actions

import (
	"context"
	"fmt"
	"time"

	"github.com/cippbot/cippbot/internal/wintz"
)

// Mailbox is an Exchange Online mailbox as the actions see it.
type Mailbox struct {
	Shared     bool
	SizeGB     float64 // 0 if unknown
	Archive    bool
	Forwarding string // forwarding address, "" for none
}

// AutoReply is an out-of-office setting. Zero Start and End mean always;
// otherwise they are instants (the client sends them in UTC).
type AutoReply struct {
	Enabled    bool
	Message    string // the same for internal and external senders
	Start, End time.Time
}

// Exchange is the mailbox side of a tenant, over Exchange Online's REST
// cmdlets. Methods return ENOTFOUND for a user without a mailbox. A user
// is best given by user principal name (mailboxOf), which Exchange
// routes a mailbox's cmdlets by.
type Exchange interface {
	Mailbox(ctx context.Context, userID string) (Mailbox, error)
	// MailboxTimeZone returns the Windows name of the mailbox's time
	// zone ("W. Europe Standard Time"), "" when its owner never chose one.
	MailboxTimeZone(ctx context.Context, userID string) (string, error)
	SetMailboxShared(ctx context.Context, userID string, shared bool) error
	EnableArchive(ctx context.Context, userID string, autoExpanding bool) error
	SetAutoReply(ctx context.Context, userID string, r AutoReply) error
	ClearForwarding(ctx context.Context, userID string) error
	// SetForwarding forwards the mailbox to address (a user of the tenant
	// or an outside address), keeping a copy when keepCopy is set.
	SetForwarding(ctx context.Context, userID, address string, keepCopy bool) error
	// HideFromAddressList hides the mailbox from the global address list.
	HideFromAddressList(ctx context.Context, userID string, hide bool) error
	// AddDistributionMember adds the user to a distribution list or
	// mail-enabled security group (by object ID); ECONFLICT if already a
	// member. RemoveDistributionMember is the reverse; ENOTFOUND if not
	// a member.
	AddDistributionMember(ctx context.Context, groupID, userID string) error
	RemoveDistributionMember(ctx context.Context, groupID, userID string) error
}

// mailboxOf names u's mailbox for Exchange: by user principal name,
// which its cmdlets are routed by, else by object ID.
func mailboxOf(u User) string {
	if u.UPN != "" {
		return u.UPN
	}
	return u.ID
}

// sharedCapGB is where an unlicensed shared mailbox stops growing.
const sharedCapGB = 50

// onMailbox adapts a function of a tenant's Exchange side to Action.Run.
func onMailbox(run func(ctx context.Context, x Exchange, u User, p Params) (Outcome, error)) func(context.Context, Tenant, User, Params, Env) (Outcome, error) {
	return func(ctx context.Context, t Tenant, u User, p Params, _ Env) (Outcome, error) {
		x, err := need(t.Exchange, "Exchange Online")
		if err != nil {
			return Outcome{}, err
		}
		return run(ctx, x, u, p)
	}
}

var convertMailbox = &Action{
	Name:    "convert-mailbox",
	Area:    "Mailbox",
	Summary: "Convert a mailbox to shared, or back to a user mailbox",
	Params: []Param{
		{Name: "to", Kind: ParamEnum, Choices: []string{"shared", "user"}, Positional: true, Required: true, Summary: "shared or user"},
	},
	Permissions: []string{"Exchange.ManageAsApp"},
	Roles:       rolesExchange,
	Risk:        RiskDestructive,
	Bulk:        true,
	Run: onMailbox(func(ctx context.Context, x Exchange, u User, p Params) (Outcome, error) {
		mb, err := x.Mailbox(ctx, mailboxOf(u))
		if err != nil {
			return Outcome{}, err
		}
		shared := p["to"] == "shared"
		if mb.Shared == shared {
			return Outcome{Summary: fmt.Sprintf("%s: already a %s mailbox", u.UPN, p["to"])}, nil
		}
		if err := x.SetMailboxShared(ctx, mailboxOf(u), shared); err != nil {
			return Outcome{}, err
		}
		o := Outcome{Summary: fmt.Sprintf("%s: converted to a %s mailbox", u.UPN, p["to"])}
		if shared && mb.SizeGB >= sharedCapGB*0.9 {
			o.Lines = append(o.Lines, fmt.Sprintf("⚠ It holds %.1f GB: a shared mailbox without a licence stops at %d GB.", mb.SizeGB, sharedCapGB))
		}
		if shared {
			o.Lines = append(o.Lines, "Its licence can now be removed (unless it is over 50 GB or has an archive).")
		}
		return o, nil
	}),
}

var enableArchive = &Action{
	Name:    "enable-archive",
	Area:    "Mailbox",
	Summary: "Turn on the online archive",
	Params: []Param{
		{Name: "auto-expanding", Kind: ParamBool, Summary: "let the archive grow past 100 GB"},
	},
	Permissions: []string{"Exchange.ManageAsApp"},
	Roles:       rolesExchange,
	Risk:        RiskChange,
	Bulk:        true,
	Run: onMailbox(func(ctx context.Context, x Exchange, u User, p Params) (Outcome, error) {
		if err := x.EnableArchive(ctx, mailboxOf(u), p.Bool("auto-expanding")); err != nil {
			return Outcome{}, err
		}
		o := Outcome{Summary: u.UPN + ": archive on"}
		if p.Bool("auto-expanding") {
			o.Summary += ", auto-expanding"
		}
		return o, nil
	}),
}

var setOOO = &Action{
	Name:    "set-ooo",
	Aliases: []string{"ooo"},
	Area:    "Mailbox",
	Summary: "Turn on an out-of-office reply, now or between two times",
	Params: []Param{
		{Name: "message", Kind: ParamString, Required: true, Summary: "the reply, for everyone"},
		{Name: "start", Kind: ParamString, Summary: "from, like 2026-12-24 or 2026-12-24T09:00 (the mailbox's time zone) or 2026-12-24T09:00Z"},
		{Name: "end", Kind: ParamString, Summary: "until, likewise"},
	},
	Permissions: []string{"Exchange.ManageAsApp"},
	Roles:       rolesExchange,
	Risk:        RiskChange,
	Bulk:        true,
	Prepare: func(_ context.Context, _ Tenant, p Params) (Params, error) {
		_, _, err := oooWindow(p)
		return p, err
	},
	Run: onMailbox(func(ctx context.Context, x Exchange, u User, p Params) (Outcome, error) {
		start, end, err := oooWindow(p)
		if err != nil {
			return Outcome{}, err
		}
		mailbox := mailboxOf(u)
		o := Outcome{}
		// Times without an offset are the mailbox owner's wall clock; the
		// reply shows the window in it. Times with one need no zone.
		zone, loc := "", time.UTC
		if !start.t.IsZero() {
			local := start.local || end.local
			zone, err = x.MailboxTimeZone(ctx, mailbox)
			switch {
			case err != nil && local:
				return Outcome{}, err
			case err != nil:
				zone = ""
			case zone == "" && local:
				o.Lines = append(o.Lines, "Times read as UTC: the mailbox has no time zone set.")
			case zone != "":
				if loc, err = wintz.Location(zone); err != nil && local {
					return Outcome{}, Errorf(EINVALID, "the mailbox's time zone %q is unknown to cippbot: give times with an offset, like 2026-12-24T09:00+01:00", zone)
				} else if err != nil {
					zone, loc = "", time.UTC
				}
			}
		}
		from, until := start.in(loc), end.in(loc)
		if !from.IsZero() && !until.After(from) {
			return Outcome{}, Errorf(EINVALID, "end must be after start")
		}
		if err := x.SetAutoReply(ctx, mailbox, AutoReply{Enabled: true, Message: p["message"], Start: from, End: until}); err != nil {
			return Outcome{}, err
		}
		when := "from now on"
		switch {
		case from.IsZero():
		case zone != "":
			when = from.In(loc).Format("Jan 2 15:04") + " to " + until.In(loc).Format("Jan 2 15:04") + " (" + zone + ")"
		default:
			when = from.UTC().Format("Jan 2 15:04Z") + " to " + until.UTC().Format("Jan 2 15:04Z")
		}
		o.Summary = u.UPN + ": out of office on, " + when
		return o, nil
	}),
}

// oooTime is a start or end of set-ooo: an instant when written with an
// offset or Z, else a wall-clock time of the mailbox's time zone.
type oooTime struct {
	t     time.Time
	local bool
}

// in returns the instant, reading a wall-clock time in loc.
func (o oooTime) in(loc *time.Location) time.Time {
	if !o.local || o.t.IsZero() {
		return o.t
	}
	return time.Date(o.t.Year(), o.t.Month(), o.t.Day(), o.t.Hour(), o.t.Minute(), o.t.Second(), 0, loc)
}

// oooWindow reads start and end: both or neither; end after start when
// both are instants or both wall-clock times (a mix is checked once the
// mailbox's time zone is known).
func oooWindow(p Params) (start, end oooTime, err error) {
	parse := func(name string) (oooTime, error) {
		v, ok := p[name]
		if !ok {
			return oooTime{}, nil
		}
		for _, layout := range []string{time.RFC3339, "2006-01-02T15:04Z07:00"} {
			if t, err := time.Parse(layout, v); err == nil {
				return oooTime{t: t}, nil
			}
		}
		for _, layout := range []string{"2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02"} {
			if t, err := time.Parse(layout, v); err == nil {
				return oooTime{t: t, local: true}, nil
			}
		}
		return oooTime{}, Errorf(EINVALID, "%s %q is not a date like 2026-12-24 or 2026-12-24T09:00", name, v)
	}
	if start, err = parse("start"); err != nil {
		return
	}
	if end, err = parse("end"); err != nil {
		return
	}
	switch {
	case start.t.IsZero() != end.t.IsZero():
		err = Errorf(EINVALID, "give both start= and end=, or neither")
	case !start.t.IsZero() && start.local == end.local && !end.t.After(start.t):
		err = Errorf(EINVALID, "end must be after start")
	}
	return
}

var disableOOO = &Action{
	Name:        "disable-ooo",
	Area:        "Mailbox",
	Summary:     "Turn the out-of-office reply off",
	Permissions: []string{"Exchange.ManageAsApp"},
	Roles:       rolesExchange,
	Risk:        RiskChange,
	Bulk:        true,
	Run: onMailbox(func(ctx context.Context, x Exchange, u User, _ Params) (Outcome, error) {
		if err := x.SetAutoReply(ctx, mailboxOf(u), AutoReply{}); err != nil {
			return Outcome{}, err
		}
		return Outcome{Summary: u.UPN + ": out of office off"}, nil
	}),
}

var disableForwarding = &Action{
	Name:        "disable-forwarding",
	Area:        "Mailbox",
	Summary:     "Stop mailbox forwarding (inbox rules are separate)",
	Permissions: []string{"Exchange.ManageAsApp"},
	Roles:       rolesExchange,
	Risk:        RiskChange,
	Bulk:        true,
	Run: onMailbox(func(ctx context.Context, x Exchange, u User, _ Params) (Outcome, error) {
		mb, err := x.Mailbox(ctx, mailboxOf(u))
		if err != nil {
			return Outcome{}, err
		}
		if mb.Forwarding == "" {
			return Outcome{Summary: u.UPN + ": no mailbox forwarding was set"}, nil
		}
		if err := x.ClearForwarding(ctx, mailboxOf(u)); err != nil {
			return Outcome{}, err
		}
		return Outcome{Summary: u.UPN + ": forwarding to " + mb.Forwarding + " stopped",
			Lines: []string{"Inbox rules can forward too: check them in the Exchange admin center."}}, nil
	}),
}
