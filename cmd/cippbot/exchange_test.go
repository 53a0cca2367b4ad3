package main

import (
	"strings"
	"testing"
	"time"

	"github.com/cippbot/cippbot/internal/fakegraph"
)

// A hidden inbox rule, which Graph's messageRules do not list, is
// evidence of the compromise, and remove-inbox-rules reaches it: it
// turns the rules off, keeping them, and deletes them only with
// --delete.
func TestHiddenInboxRule(t *testing.T) {
	t.Parallel()
	r := newRun(t)
	isaiah := "IsaiahL@contoso.com"
	out := r.session(t, "/cipp research-compromise "+isaiah)
	if !strings.Contains(out, "forwards to "+fakegraph.ContosoIsaiahHiddenForward) || !strings.Contains(out, `"..."`) {
		t.Fatalf("the hidden rule is not in the evidence:\n%s", out)
	}
	out = r.session(t, "/cipp remove-inbox-rules "+isaiah, "/as sam", "approve 1")
	if !strings.Contains(out, isaiah+": 3 inbox rules turned off") || !strings.Contains(out, "Kept as evidence") {
		t.Fatalf("remove-inbox-rules:\n%s", out)
	}
	rules := r.sim.InboxRules(fakegraph.ContosoTenantID, isaiah)
	if len(rules) != 3 {
		t.Fatalf("rules left: %+v", rules)
	}
	for _, rule := range rules {
		if !rule.Disabled {
			t.Errorf("rule %q still on", rule.DisplayName)
		}
	}
	out = r.session(t, "/cipp remove-inbox-rules "+isaiah+" --delete", "/as sam", "approve 2")
	if !strings.Contains(out, isaiah+": 3 inbox rules deleted") {
		t.Fatalf("--delete:\n%s", out)
	}
	if rules := r.sim.InboxRules(fakegraph.ContosoTenantID, isaiah); len(rules) != 0 {
		t.Errorf("rules left after --delete: %+v", rules)
	}
}

// Cmdlets about one mailbox are routed by that mailbox, those about the
// organization by the system mailbox.
func TestMailboxCmdletsAnchored(t *testing.T) {
	t.Parallel()
	r := newRun(t)
	adele := "AdeleV@contoso.com"
	r.session(t, `/cipp set-ooo `+adele+` message="Back Monday"`)
	r.session(t, "/cipp research-compromise IsaiahL@contoso.com")
	r.session(t, `/cipp add-to-group `+adele+` "Contoso Newsletter"`)
	var mailbox, org int
	for _, c := range r.sim.ExchangeCalls() {
		if c.Misrouted {
			t.Errorf("%s about %s anchored at %q", c.Cmdlet, c.Mailbox, c.Anchor)
		}
		switch {
		case c.Mailbox != "" && c.Anchor == "UPN:"+c.Mailbox:
			mailbox++
		case c.Mailbox == "" && strings.HasPrefix(c.Anchor, "APP:SystemMailbox{"):
			org++
		default:
			t.Errorf("call %+v", c)
		}
	}
	if mailbox < 3 || org < 1 {
		t.Errorf("%d mailbox and %d organization cmdlets", mailbox, org)
	}
}

// Out-of-office times without an offset are the mailbox's own time
// zone, and the reply says so; times with one stay as given.
func TestOutOfOfficeInMailboxTimeZone(t *testing.T) {
	t.Parallel()
	r := newRun(t)
	enrico := "EnricoC@contoso.com" // W. Europe Standard Time
	out := r.session(t, `/cipp set-ooo `+enrico+` message="In ferie" start=2026-12-24T09:00 end=2026-12-28T17:00`)
	if !strings.Contains(out, enrico+": out of office on, Dec 24 09:00 to Dec 28 17:00 (W. Europe Standard Time)") {
		t.Fatalf("set-ooo:\n%s", out)
	}
	u, _ := r.sim.User(fakegraph.ContosoTenantID, enrico)
	if !u.AutoReplyStart.Equal(time.Date(2026, 12, 24, 8, 0, 0, 0, time.UTC)) || !u.AutoReplyEnd.Equal(time.Date(2026, 12, 28, 16, 0, 0, 0, time.UTC)) {
		t.Errorf("window = %v to %v, want 09:00 and 17:00 in Milan", u.AutoReplyStart, u.AutoReplyEnd)
	}
	out = r.session(t, `/cipp set-ooo `+enrico+` message="In ferie" start=2026-12-24T09:00Z end=2026-12-28T17:00+01:00`)
	if !strings.Contains(out, "Dec 24 10:00 to Dec 28 17:00 (W. Europe Standard Time)") {
		t.Errorf("explicit offsets:\n%s", out)
	}
	u, _ = r.sim.User(fakegraph.ContosoTenantID, enrico)
	if !u.AutoReplyStart.Equal(time.Date(2026, 12, 24, 9, 0, 0, 0, time.UTC)) || !u.AutoReplyEnd.Equal(time.Date(2026, 12, 28, 16, 0, 0, 0, time.UTC)) {
		t.Errorf("window = %v to %v, want the times as given", u.AutoReplyStart, u.AutoReplyEnd)
	}
	// A mailbox without a time zone reads them as UTC, and says so.
	r.sim.SetMailbox(fakegraph.ContosoTenantID, "DiegoS@contoso.com", func(u *fakegraph.User) { u.TimeZone = "" })
	out = r.session(t, `/cipp set-ooo DiegoS@contoso.com message=away start=2026-12-24T09:00 end=2026-12-28T17:00`)
	if !strings.Contains(out, "Dec 24 09:00Z to Dec 28 17:00Z") || !strings.Contains(out, "no time zone set") {
		t.Errorf("no time zone:\n%s", out)
	}
}
