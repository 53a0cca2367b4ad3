package m365_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/cippbot/cippbot/actions"
	"github.com/cippbot/cippbot/internal/fakegraph"
)

// exchangeSide connects to contoso and returns its Exchange side.
func exchangeSide(t *testing.T, sim *fakegraph.Server) actions.Exchange {
	t.Helper()
	d, _ := connectSides(t, sim)
	return d
}

// Cmdlets about one mailbox are routed by it, "UPN:<user>", also when
// the user is given by object ID; cmdlets about the organization (a
// distribution group's members) by the system mailbox.
func TestExchange_Anchors(t *testing.T) {
	t.Parallel()
	sim := newSim(t)
	x := exchangeSide(t, sim)
	adele := "AdeleV@contoso.com"
	steps := []func() error{
		func() error { _, err := x.Mailbox(ctx(), adele); return err },
		func() error { _, err := x.Mailbox(ctx(), fakegraph.ContosoAdeleID); return err },
		func() error { _, err := x.MailboxTimeZone(ctx(), adele); return err },
		func() error { return x.SetAutoReply(ctx(), adele, actions.AutoReply{Enabled: true, Message: "away"}) },
		func() error { return x.HideFromAddressList(ctx(), adele, true) },
		func() error { return x.EnableArchive(ctx(), adele, false) },
		func() error { return x.SetForwarding(ctx(), adele, "MeganB@contoso.com", true) },
		func() error { return x.ClearForwarding(ctx(), adele) },
		func() error { return x.SetMailboxShared(ctx(), adele, true) },
	}
	for i, step := range steps {
		if err := step(); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
	}
	g, ok := sim.Group(tenant, "Contoso Newsletter")
	if !ok {
		t.Fatal("no Contoso Newsletter")
	}
	if err := x.AddDistributionMember(ctx(), g.ID, fakegraph.ContosoAdeleID); err != nil {
		t.Fatal(err)
	}
	mailbox, org := 0, 0
	for _, c := range sim.ExchangeCalls() {
		switch {
		case c.Cmdlet == "Add-DistributionGroupMember":
			org++
			if c.Anchor != "APP:SystemMailbox{bb558c35-97f1-4cb9-8ff7-d53741dc928c}@"+tenant {
				t.Errorf("organization cmdlet anchored at %q", c.Anchor)
			}
		case c.Mailbox == adele:
			mailbox++
			if c.Misrouted || c.Anchor != "UPN:"+adele {
				t.Errorf("mailbox cmdlet %s anchored at %q", c.Cmdlet, c.Anchor)
			}
		default:
			t.Errorf("unexpected call %+v", c)
		}
	}
	if mailbox < len(steps) || org != 1 {
		t.Errorf("%d mailbox and %d organization calls", mailbox, org)
	}
}

func TestExchange_MailboxTimeZone(t *testing.T) {
	t.Parallel()
	sim := newSim(t)
	x := exchangeSide(t, sim)
	if tz, err := x.MailboxTimeZone(ctx(), "EnricoC@contoso.com"); err != nil || tz != "W. Europe Standard Time" {
		t.Errorf("Enrico: %q, %v", tz, err)
	}
	if tz, err := x.MailboxTimeZone(ctx(), fakegraph.ContosoAdminID); err != nil || tz != "" {
		t.Errorf("admin (never chose one): %q, %v", tz, err)
	}
	if _, err := x.MailboxTimeZone(ctx(), "JoniS@contoso.com"); actions.ErrorCode(err) != actions.ENOTFOUND {
		t.Errorf("Joni (no mailbox): %v", err)
	}
}

// SetAutoReply sends the window as UTC instants, which Exchange keeps.
func TestExchange_SetAutoReplyWindow(t *testing.T) {
	t.Parallel()
	sim := newSim(t)
	x := exchangeSide(t, sim)
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	start, end := time.Date(2026, 12, 24, 9, 0, 0, 0, berlin), time.Date(2026, 12, 28, 17, 0, 0, 0, berlin)
	if err := x.SetAutoReply(ctx(), "EnricoC@contoso.com", actions.AutoReply{Enabled: true, Message: "away", Start: start, End: end}); err != nil {
		t.Fatal(err)
	}
	u, _ := sim.User(tenant, "EnricoC@contoso.com")
	if u.AutoReplyState != fakegraph.AutoReplyScheduled || !u.AutoReplyStart.Equal(start) || !u.AutoReplyEnd.Equal(end) {
		t.Errorf("stored %s %v to %v", u.AutoReplyState, u.AutoReplyStart, u.AutoReplyEnd)
	}
	r := requestsTo(sim, "POST", "/InvokeCommand")
	var body struct {
		CmdletInput struct{ Parameters map[string]any }
	}
	if err := json.Unmarshal(r[len(r)-1].Body, &body); err != nil {
		t.Fatal(err)
	}
	if s, _ := body.CmdletInput.Parameters["StartTime"].(string); !strings.HasSuffix(s, "Z") || s != "2026-12-24T08:00:00Z" {
		t.Errorf("StartTime sent as %q", s)
	}
}
