package main

import (
	"strings"
	"testing"

	"github.com/cippbot/cippbot/internal/fakegraph"
)

// mailboxUser returns a user of the simulated tenant with a mailbox, no
// admin role and no forwarding, and one without a mailbox.
func mailboxUsers(t *testing.T, r *run) (with, without string) {
	t.Helper()
	for _, u := range r.sim.Users(fakegraph.ContosoTenantID) {
		switch {
		case len(u.Roles) > 0 || u.OnPremisesSyncEnabled:
		case u.MailboxType == "UserMailbox" && with == "" && u.ForwardingSMTPAddress == "" && u.MailboxSizeGB < 40:
			with = u.UserPrincipalName
		case u.MailboxType == "" && without == "":
			without = u.UserPrincipalName
		}
	}
	if with == "" || without == "" {
		t.Fatalf("the seed lacks a user with (%q) or without (%q) a mailbox", with, without)
	}
	return with, without
}

func TestConvertMailbox(t *testing.T) {
	t.Parallel()
	r := newRun(t)
	with, without := mailboxUsers(t, r)
	out := r.session(t, "/cipp convert-mailbox "+with+" shared", "/as sam", "approve 1")
	if !strings.Contains(out, "Approval needed: convert-mailbox") || !strings.Contains(out, with+": converted to a shared mailbox") {
		t.Fatalf("result:\n%s", out)
	}
	if u, _ := r.sim.User(fakegraph.ContosoTenantID, with); u.MailboxType != "SharedMailbox" {
		t.Errorf("mailbox type = %q", u.MailboxType)
	}
	if a := r.lastAudit(t); !strings.Contains(a, `"action":"convert-mailbox"`) || !strings.Contains(a, `"outcome":"ok"`) {
		t.Errorf("audit: %s", a)
	}
	out = r.session(t, "/cipp convert-mailbox "+without+" shared", "/as sam", "approve 2")
	if !strings.Contains(out, "has no Exchange mailbox") {
		t.Errorf("no mailbox:\n%s", out)
	}
}

func TestConvertMailboxNearCap(t *testing.T) {
	t.Parallel()
	r := newRun(t)
	var big string
	for _, u := range r.sim.Users(fakegraph.ContosoTenantID) {
		if u.MailboxSizeGB >= 45 && len(u.Roles) == 0 && !u.OnPremisesSyncEnabled {
			big = u.UserPrincipalName
		}
	}
	if big == "" {
		t.Skip("the seed has no mailbox near 50 GB")
	}
	out := r.session(t, "/cipp convert-mailbox "+big+" shared", "/as sam", "approve 1")
	if !strings.Contains(out, "stops at 50 GB") {
		t.Errorf("no warning near the cap:\n%s", out)
	}
}

func TestOutOfOfficeAndArchiveAndForwarding(t *testing.T) {
	t.Parallel()
	r := newRun(t)
	with, _ := mailboxUsers(t, r)
	out := r.session(t, `/cipp set-ooo `+with+` message="Away until Monday" start=2026-12-24 end=2026-12-28`)
	if !strings.Contains(out, with+": out of office on, Dec 24") {
		t.Fatalf("set-ooo:\n%s", out)
	}
	u, _ := r.sim.User(fakegraph.ContosoTenantID, with)
	if u.AutoReplyState != "Scheduled" || u.ExternalMessage != "Away until Monday" {
		t.Errorf("auto reply = %q %q", u.AutoReplyState, u.ExternalMessage)
	}
	out = r.session(t, `/cipp set-ooo `+with+` message=x start=2026-12-24`)
	if !strings.Contains(out, "give both start= and end=") {
		t.Errorf("half a window:\n%s", out)
	}
	r.session(t, "/cipp disable-ooo "+with)
	if u, _ := r.sim.User(fakegraph.ContosoTenantID, with); u.AutoReplyState != "Disabled" {
		t.Errorf("after disable-ooo: %q", u.AutoReplyState)
	}
	out = r.session(t, "/cipp enable-archive "+with+" --auto-expanding")
	if !strings.Contains(out, with+": archive on, auto-expanding") {
		t.Fatalf("enable-archive:\n%s", out)
	}
	if u, _ := r.sim.User(fakegraph.ContosoTenantID, with); !u.ArchiveEnabled || !u.AutoExpandingArchive {
		t.Errorf("archive = %v auto = %v", u.ArchiveEnabled, u.AutoExpandingArchive)
	}
	var fwd string
	for _, u := range r.sim.Users(fakegraph.ContosoTenantID) {
		if u.ForwardingSMTPAddress != "" && len(u.Roles) == 0 {
			fwd = u.UserPrincipalName
		}
	}
	if fwd == "" {
		t.Fatal("the seed has no forwarding mailbox")
	}
	out = r.session(t, "/cipp disable-forwarding "+fwd)
	if !strings.Contains(out, fwd+": forwarding to") {
		t.Fatalf("disable-forwarding:\n%s", out)
	}
	if u, _ := r.sim.User(fakegraph.ContosoTenantID, fwd); u.ForwardingSMTPAddress != "" {
		t.Errorf("still forwarding to %q", u.ForwardingSMTPAddress)
	}
}
