package actions

import (
	"context"
	"fmt"
	"time"
)

// Mailbox is an Exchange Online mailbox as the actions see it.
type Mailbox struct {
	Shared     bool
	SizeGB     float64 // 0 if unknown
	Archive    bool
	Forwarding string // forwarding address, "" for none
}

// AutoReply is an out-of-office setting. Zero Start and End mean always.
type AutoReply struct {
	Enabled    bool
	Message    string // the same for internal and external senders
	Start, End time.Time
}

// Exchange is the mailbox side of a tenant, over Exchange Online's REST
// cmdlets. Methods return ENOTFOUND for a user without a mailbox.
type Exchange interface {
	Mailbox(ctx context.Context, userID string) (Mailbox, error)
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

// sharedCapGB is where an unlicensed shared mailbox stops growing.
const sharedCapGB = 50

// onMailbox adapts a function of a tenant's Exchange side to Action.Run.
func onMailbox(run func(ctx context.Context, x Exchange, u User, p Params) (Outcome, error)) func(context.Context, Directory, User, Params, Env) (Outcome, error) {
	return func(ctx context.Context, d Directory, u User, p Params, _ Env) (Outcome, error) {
		x, ok := d.(Exchange)
		if !ok {
			return Outcome{}, Errorf(EINTERNAL, "this tenant connection has no Exchange Online")
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
	Risk:        RiskDestructive,
	Bulk:        true,
	Run: onMailbox(func(ctx context.Context, x Exchange, u User, p Params) (Outcome, error) {
		mb, err := x.Mailbox(ctx, u.ID)
		if err != nil {
			return Outcome{}, err
		}
		shared := p["to"] == "shared"
		if mb.Shared == shared {
			return Outcome{Summary: fmt.Sprintf("%s: already a %s mailbox", u.UPN, p["to"])}, nil
		}
		if err := x.SetMailboxShared(ctx, u.ID, shared); err != nil {
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
	Risk:        RiskChange,
	Bulk:        true,
	Run: onMailbox(func(ctx context.Context, x Exchange, u User, p Params) (Outcome, error) {
		if err := x.EnableArchive(ctx, u.ID, p.Bool("auto-expanding")); err != nil {
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
		{Name: "start", Kind: ParamString, Summary: "from, like 2026-12-24 or 2026-12-24T09:00Z"},
		{Name: "end", Kind: ParamString, Summary: "until, likewise"},
	},
	Permissions: []string{"Exchange.ManageAsApp"},
	Risk:        RiskChange,
	Bulk:        true,
	Prepare: func(_ context.Context, _ Directory, p Params) (Params, error) {
		_, _, err := oooWindow(p)
		return p, err
	},
	Run: onMailbox(func(ctx context.Context, x Exchange, u User, p Params) (Outcome, error) {
		start, end, err := oooWindow(p)
		if err != nil {
			return Outcome{}, err
		}
		if err := x.SetAutoReply(ctx, u.ID, AutoReply{Enabled: true, Message: p["message"], Start: start, End: end}); err != nil {
			return Outcome{}, err
		}
		when := "from now on"
		if !start.IsZero() {
			when = start.UTC().Format("Jan 2 15:04Z") + " to " + end.UTC().Format("Jan 2 15:04Z")
		}
		return Outcome{Summary: u.UPN + ": out of office on, " + when}, nil
	}),
}

// oooWindow reads start and end: both or neither, end after start.
func oooWindow(p Params) (start, end time.Time, err error) {
	parse := func(name string) (time.Time, error) {
		v, ok := p[name]
		if !ok {
			return time.Time{}, nil
		}
		for _, layout := range []string{time.RFC3339, "2006-01-02T15:04Z07:00", "2006-01-02T15:04", "2006-01-02"} {
			if t, err := time.Parse(layout, v); err == nil {
				return t, nil
			}
		}
		return time.Time{}, Errorf(EINVALID, "%s %q is not a date like 2026-12-24 or 2026-12-24T09:00Z", name, v)
	}
	if start, err = parse("start"); err != nil {
		return
	}
	if end, err = parse("end"); err != nil {
		return
	}
	switch {
	case start.IsZero() != end.IsZero():
		err = Errorf(EINVALID, "give both start= and end=, or neither")
	case !start.IsZero() && !end.After(start):
		err = Errorf(EINVALID, "end must be after start")
	}
	return
}

var disableOOO = &Action{
	Name:        "disable-ooo",
	Area:        "Mailbox",
	Summary:     "Turn the out-of-office reply off",
	Permissions: []string{"Exchange.ManageAsApp"},
	Risk:        RiskChange,
	Bulk:        true,
	Run: onMailbox(func(ctx context.Context, x Exchange, u User, _ Params) (Outcome, error) {
		if err := x.SetAutoReply(ctx, u.ID, AutoReply{}); err != nil {
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
	Risk:        RiskChange,
	Bulk:        true,
	Run: onMailbox(func(ctx context.Context, x Exchange, u User, _ Params) (Outcome, error) {
		mb, err := x.Mailbox(ctx, u.ID)
		if err != nil {
			return Outcome{}, err
		}
		if mb.Forwarding == "" {
			return Outcome{Summary: u.UPN + ": no mailbox forwarding was set"}, nil
		}
		if err := x.ClearForwarding(ctx, u.ID); err != nil {
			return Outcome{}, err
		}
		return Outcome{Summary: u.UPN + ": forwarding to " + mb.Forwarding + " stopped",
			Lines: []string{"Inbox rules can forward too: check them in the Exchange admin center."}}, nil
	}),
}
