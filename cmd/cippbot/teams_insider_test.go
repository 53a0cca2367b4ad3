package main

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/cippbot/cippbot/bot"
	"github.com/cippbot/cippbot/internal/fakegraph"
	"github.com/cippbot/cippbot/internal/faketeams"
	"github.com/cippbot/cippbot/store"
)

// TestTeamsInsiders is what people who can reach the bot, but should not
// get their way, can make it do: a user of an allowed tenant without a
// cippbot role, a helpdesk user, a user of another tenant, and anyone
// replaying, forwarding or forging clicks. Each subtest is one finding of
// the adapter's review; the request stays pending until Sam, an approver,
// approves it in its channel.
func TestTeamsInsiders(t *testing.T) {
	t.Parallel()
	nora := faketeams.User{MRI: "29:1nora", AAD: "5c0e1f2a-3333-4b4c-8d5e-6f7a8b9c0d1e", Name: "Nora"} // no role
	hal := faketeams.User{MRI: "29:1hal", AAD: "9a8b7c6d-4444-4e5f-a061-728394a5b6c7", Name: "Hal"}    // helpdesk
	eve := faketeams.User{MRI: "29:1eve", AAD: "1f2e3d4c-5555-4a6b-9c8d-7e6f5a4b3c2d", Name: "Eve"}    // another tenant
	r := startTeamsServe(t, true, func(r *teamsRun, env map[string]string) {
		db := store.NewDB(r.path)
		must(t, db.Open())
		must(t, db.PutGrant(context.Background(), bot.Grant{Actor: "teams:" + hal.AAD, Role: bot.RoleHelpdesk, GrantedBy: "test"}))
		must(t, db.Close())
	})
	for _, u := range []faketeams.User{nora, hal, eve} {
		r.ft.AddUser(u, true)
	}
	r.ft.AddChannel(tChan, r.riley.MRI, r.sam.MRI, nora.MRI, hal.MRI)
	noraDM := r.ft.Install(nora.MRI)
	// The Bot Framework's keys for other channels, published from the
	// start like the real ones.
	webchat := r.ft.NewKey("webchat", "directline")
	r.ft.Publish(webchat)

	r.deliver(t, r.ft.MessageActivity(r.riley, tChan, `reset-password AdeleV@contoso.com reason="locked out"`, true))
	cardMsg := r.wait(t, "approval card", func(m faketeams.Message) bool {
		return m.Conversation == tChan && strings.Contains(postedCard(t, m).text(), "Approval needed")
	})
	var approve map[string]any
	var verb string
	for _, a := range postedCard(t, cardMsg).Actions {
		if a.Title == "Approve" {
			approve, verb = a.Data, a.Verb
		}
	}
	click := func(u faketeams.User, conv string) faketeams.Activity {
		return r.ft.InvokeActivity(u, conv, cardMsg.ID, verb, approve, "manual")
	}
	before, _ := r.sim.User(fakegraph.ContosoTenantID, "AdeleV@contoso.com")
	pending := func(t *testing.T) {
		t.Helper()
		time.Sleep(100 * time.Millisecond)
		if m, _ := r.ft.Message(tChan, cardMsg.ID); m.Updates != 0 {
			t.Fatalf("the card changed: %s", m)
		}
		if u, _ := r.sim.User(fakegraph.ContosoTenantID, "AdeleV@contoso.com"); u.Password != before.Password {
			t.Fatal("the password was reset")
		}
	}
	answer := func(t *testing.T, body string) string {
		t.Helper()
		_, v := invokeValue(t, body)
		b, _ := json.Marshal(v)
		return string(b)
	}

	t.Run("NoRoleClick", func(t *testing.T) {
		if s := answer(t, r.deliver(t, click(nora, tChan))); !strings.Contains(s, "Only an approver") {
			t.Errorf("Nora's click answered %s", s)
		}
		pending(t)
	})
	t.Run("HelpdeskClick", func(t *testing.T) {
		if s := answer(t, r.deliver(t, click(hal, tChan))); !strings.Contains(s, "Only an approver") || !strings.Contains(s, "helpdesk") {
			t.Errorf("Hal's click answered %s", s)
		}
		pending(t)
	})
	t.Run("OtherTenantClick", func(t *testing.T) {
		a := click(eve, tChan)
		a["channelData"] = map[string]any{"tenant": map[string]any{"id": "0000aaaa-0000-0000-0000-000000000000"}}
		a["conversation"].(map[string]any)["tenantId"] = "0000aaaa-0000-0000-0000-000000000000"
		if status, body, _ := r.ft.Deliver(r.endpoint, a); status != http.StatusForbidden || strings.Contains(body, "statusCode") {
			t.Errorf("Eve's click: HTTP %d %s, want 403 and no invoke response", status, body)
		}
		pending(t)
	})
	// Teams signs no part of the body: "from" is Teams' word only because
	// the token is. A click claiming to be Sam without a token the Bot
	// Framework signed does nothing.
	t.Run("SpoofedFrom", func(t *testing.T) {
		stray := r.ft.NewKey("msteams") // never published
		for _, auth := range []string{"", "Bearer " + faketeams.Sign(stray, r.ft.Claims(r.ft.ServiceURL()))} {
			if status, _, _ := r.ft.DeliverWith(r.endpoint, click(r.sam, tChan), auth); status != http.StatusUnauthorized {
				t.Errorf("HTTP %d, want 401", status)
			}
		}
		pending(t)
	})
	// Web Chat and Direct Line pass on the "from" and "channelData" their
	// client wrote, signed by keys endorsed for those channels: only
	// Teams vouches for the user. An activity of another channel is
	// refused even from an allowed service host.
	t.Run("OtherChannelSpoofsFrom", func(t *testing.T) {
		a := click(r.sam, tChan)
		a["channelId"] = "webchat"
		status, body, _ := r.ft.DeliverWith(r.endpoint, a, "Bearer "+faketeams.Sign(webchat, r.ft.Claims(r.ft.ServiceURL())))
		if status != http.StatusForbidden && status != http.StatusUnauthorized {
			t.Errorf("a Web Chat click as Sam: HTTP %d %s, want 401/403", status, body)
		}
		pending(t)
	})
	// A card's refresh from another conversation (a forwarded card) shows
	// nothing of the request.
	t.Run("RefreshFromAnotherConversation", func(t *testing.T) {
		s := answer(t, r.deliver(t, r.ft.InvokeActivity(nora, noraDM, cardMsg.ID, "cipp.view", nil, "automatic")))
		if strings.Contains(s, "AdeleV") || strings.Contains(s, "locked out") {
			t.Errorf("a refresh from Nora's chat showed the card: %s", s)
		}
	})
	// A token, even a valid one, takes the bot nowhere but the allowed
	// Connector hosts, and its conversations keep their service URL.
	t.Run("ServiceURLNotAllowed", func(t *testing.T) {
		a := click(r.sam, tChan)
		a["serviceUrl"] = "https://smba.attacker.invalid/amer/"
		if status, _, _ := r.ft.Deliver(r.endpoint, a); status != http.StatusForbidden {
			t.Errorf("HTTP %d, want 403", status)
		}
		pending(t)
	})
	t.Run("HugeBody", func(t *testing.T) {
		a := r.ft.MessageActivity(r.sam, tChan, "help", true)
		a["text"] = "help " + strings.Repeat("x", 300<<10)
		if status, _, _ := r.ft.Deliver(r.endpoint, a); status != http.StatusRequestEntityTooLarge {
			t.Errorf("signed 300 KiB activity: HTTP %d, want 413", status)
		}
		// Without a token, the body is not even read: 401, not 413.
		if status, _, _ := r.ft.DeliverWith(r.endpoint, a, ""); status != http.StatusUnauthorized {
			t.Errorf("unsigned 300 KiB activity: HTTP %d, want 401", status)
		}
	})

	// Sam approves from his own chat with the bot, on a forwarded copy of
	// the card: the engine's check is the role (as for "approve <id>"
	// typed there). His click is not answered with the channel's card;
	// the card in the channel is replaced in place.
	samDM := r.ft.Install(r.sam.MRI)
	typ, _ := invokeValue(t, r.deliver(t, click(r.sam, samDM)))
	if typ == "application/vnd.microsoft.card.adaptive" {
		t.Errorf("a click in Sam's chat was answered with the channel's card")
	}
	r.wait(t, "card updated in the channel", func(m faketeams.Message) bool {
		return m.Conversation == tChan && m.ID == cardMsg.ID && strings.Contains(strings.ToLower(postedCard(t, m).text()), "password reset")
	})
	reveal := r.wait(t, "Reveal in riley's chat", func(m faketeams.Message) bool {
		return len(m.Visible) == 1 && m.Visible[0] == r.riley.MRI && strings.Contains(postedCard(t, m).text(), "[Reveal]")
	})
	data := postedCard(t, reveal).Actions[0].Data
	u, _ := r.sim.User(fakegraph.ContosoTenantID, "AdeleV@contoso.com")
	secret := u.Password

	// Riley's Reveal replayed by others, or clicked by Riley anywhere but
	// the chat it was offered in, shows nothing; the secret stays for her.
	t.Run("RevealReplayed", func(t *testing.T) {
		for _, c := range []struct {
			who  faketeams.User
			conv string
		}{{nora, noraDM}, {r.sam, reveal.Conversation}, {hal, tChan}, {r.riley, tChan}, {r.riley, noraDM}} {
			s := answer(t, r.deliver(t, r.ft.InvokeActivity(c.who, c.conv, reveal.ID, "cipp.reveal", data, "manual")))
			if hasSecret(s, secret) {
				t.Errorf("%s's reveal in %s showed the secret", c.who.Name, c.conv)
			}
		}
	})
	_, v := invokeValue(t, r.deliver(t, r.ft.InvokeActivity(r.riley, reveal.Conversation, reveal.ID, "cipp.reveal", data, "manual")))
	if b, _ := json.Marshal(v); !hasSecret(string(b), secret) {
		t.Fatalf("Riley's reveal in her chat answered %s", b)
	}
	r.stopServe()
	assertSecretOnlyInReveal(t, r, secret)
}

// TestTeamsWrongAppPassword: a bot whose password Entra refuses says so
// in the log, with the AADSTS code, and the password is nowhere.
func TestTeamsWrongAppPassword(t *testing.T) {
	t.Parallel()
	const wrong = "wrong-teams-app-pw-4f2a"
	r := startTeamsServe(t, true, func(r *teamsRun, env map[string]string) { env["TEAMS_APP_PASSWORD"] = wrong })
	dm := r.ft.Install(r.riley.MRI)
	r.deliver(t, r.ft.MessageActivity(r.riley, dm, "help", false))
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(r.logs.String(), "AADSTS7000215") {
		if time.Now().After(deadline) {
			t.Fatalf("no AADSTS7000215 in the log:\n%s", r.logs)
		}
		time.Sleep(20 * time.Millisecond)
	}
	r.stopServe()
	if len(r.ft.Messages()) != 0 {
		t.Errorf("posted without a token: %v", r.ft.Messages())
	}
	for _, q := range r.ft.Requests() {
		if strings.Contains(q.Response, wrong) {
			t.Errorf("the token endpoint repeated the password")
		}
	}
	if strings.Contains(r.logs.String(), wrong) {
		t.Error("the password is in the log")
	}
}
