package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cippbot/cippbot/actions"
	"github.com/cippbot/cippbot/adapters/discord"
	"github.com/cippbot/cippbot/bot"
	"github.com/cippbot/cippbot/internal/fakediscord"
	"github.com/cippbot/cippbot/internal/fakegraph"
	"github.com/cippbot/cippbot/store"
)

const (
	dChan  = "2000000000000000001"
	riley  = "3000000000000000001"
	samID  = "3000000000000000002"
	guild  = "1000000000000000100"
	dRoute = "/discord/interactions"
)

// discordRun is `cippbot serve` with a Discord interactions endpoint,
// against a fake Discord and a simulated tenant.
type discordRun struct {
	sim  *fakegraph.Server
	fd   *fakediscord.Server
	url  string
	path string
	logs *syncBuffer
	// reasonOptional is CIPPBOT_REASON_OPTIONAL for this serve.
	reasonOptional []string
	// stopServe stops serve and waits for it; it runs once.
	stopServe func()
}

// stop stops serve before the test ends, so that its store can be read.
func (r *discordRun) stop(t *testing.T) {
	t.Helper()
	r.stopServe()
}

func startDiscord(t *testing.T, reasonRequired ...bool) *discordRun {
	t.Helper()
	return startDiscordOpts(t, discordOpts{reasonRequired: len(reasonRequired) > 0 && reasonRequired[0]})
}

// discordOpts varies startDiscordOpts.
type discordOpts struct {
	reasonRequired bool
	// setup, if non-nil, runs on the store and the simulated tenant
	// before serve starts, after the default tenant and grants.
	setup func(ctx context.Context, db *store.DB, sim *fakegraph.Server)
}

func startDiscordOpts(t *testing.T, o discordOpts) *discordRun {
	t.Helper()
	r := &discordRun{sim: fakegraph.NewTest(t, fakegraph.Options{}), fd: fakediscord.NewTest(t, fakediscord.Options{}),
		path: filepath.Join(t.TempDir(), "cippbot.db"), logs: &syncBuffer{}, reasonOptional: []string{"all"}}
	if o.reasonRequired {
		r.reasonOptional = nil
	}
	r.sim.Start()
	t.Cleanup(r.sim.Close)
	t.Cleanup(r.fd.Close)
	r.fd.AddChannel(dChan, guild, riley, samID)

	db := store.NewDB(r.path)
	must(t, db.Open())
	ctx := context.Background()
	must(t, db.PutTenant(ctx, bot.Tenant{ID: fakegraph.ContosoTenantID, Name: "Contoso", DefaultDomain: "contoso.com", Domains: []string{"contoso.com"}}))
	must(t, db.PutGrant(ctx, bot.Grant{Actor: "discord:" + riley, Role: bot.RoleHelpdesk, GrantedBy: "test"}))
	must(t, db.PutGrant(ctx, bot.Grant{Actor: "discord:" + samID, Role: bot.RoleApprover, GrantedBy: "test"}))
	if o.setup != nil {
		o.setup(ctx, db, r.sim)
	}
	must(t, db.Close())

	cfg := DefaultConfig()
	cfg.noSync = true // the store dies with the test
	cfg.DataPath = r.path
	cfg.ReasonOptional = r.reasonOptional
	cfg.ClientID, cfg.ClientSecret = fakegraph.DefaultClientID, fakegraph.DefaultClientSecret
	cfg.GraphURL, cfg.AuthorityHost = r.sim.URL(), r.sim.URL()+"/"
	cfg.DiscordBotToken, cfg.DiscordAppID = fakediscord.DefaultBotToken, fakediscord.DefaultAppID
	cfg.DiscordPublicKey, cfg.DiscordGuildID, cfg.DiscordAPIURL = r.fd.PublicKeyHex(), guild, r.fd.BaseURL()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	r.url = "http://" + ln.Addr().String() + dRoute
	log := slog.New(slog.NewJSONHandler(r.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- runServe(ctx, cfg, r.sim.Client(), ln, log) }()
	r.stopServe = sync.OnceFunc(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("serve: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Error("serve did not stop")
		}
	})
	t.Cleanup(r.stopServe)
	waitReady(t, "http://"+ln.Addr().String())
	return r
}

// command builds the command holding sub (/cipp-users for add-user,
// /cipp for run) with options, as Discord sends it.
func command(sub string, opts ...map[string]any) json.RawMessage {
	name := discord.CommandName
	cmds, _ := discord.Commands(actions.Default().All(), bot.Builtins())
	for _, c := range cmds {
		for _, o := range c.Options {
			if o.Name == sub {
				name = c.Name
			}
		}
	}
	b, _ := json.Marshal(map[string]any{"id": "4000000000000000001", "name": name, "type": 1,
		"options": []any{map[string]any{"name": sub, "type": 1, "options": opts}}})
	return b
}

func opt(name string, typ int, v any) map[string]any {
	return map[string]any{"name": name, "type": typ, "value": v}
}

func (r *discordRun) deliver(t *testing.T, in fakediscord.Interaction) int {
	t.Helper()
	resp, err := r.fd.Deliver(r.url, in)
	must(t, err)
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

func (r *discordRun) wait(t *testing.T, what string, match func(fakediscord.Message) bool) fakediscord.Message {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	m, err := r.fd.WaitForMessage(ctx, match)
	if err != nil {
		t.Fatalf("no %s: %v\nmessages: %+v", what, err, r.fd.Messages())
	}
	return m
}

var customApprove = regexp.MustCompile(`"custom_id":"(approve [0-9a-f]+)"`)

func TestDiscordResetPassword(t *testing.T) {
	t.Parallel()
	r := startDiscord(t)
	cmd := r.fd.Command(dChan, riley, command("reset-password",
		opt("user", 3, "AdeleV@contoso.com"), opt("must-change", 5, true), opt("reason", 3, "locked out")))
	if code := r.deliver(t, cmd); code != http.StatusAccepted {
		t.Fatalf("command: HTTP %d", code)
	}
	card := r.wait(t, "approval card", func(m fakediscord.Message) bool {
		return m.Via == fakediscord.ViaChannel && strings.Contains(m.Content, "Approval needed")
	})
	if card.Ephemeral || !strings.Contains(card.Content, "locked out") {
		t.Fatalf("card: %+v", card)
	}
	val := customApprove.FindStringSubmatch(string(card.Components))
	if val == nil {
		t.Fatalf("card has no approve button: %s", card.Components)
	}

	click, err := r.fd.Click(dChan, riley, card, val[1])
	must(t, err)
	r.deliver(t, click)
	r.wait(t, "refusal to riley", func(m fakediscord.Message) bool {
		return m.Ephemeral && m.For == riley && strings.Contains(m.Content, "own request")
	})

	click, err = r.fd.Click(dChan, samID, card, val[1])
	must(t, err)
	r.deliver(t, click)
	secretMsg := r.wait(t, "secret to riley", func(m fakediscord.Message) bool {
		return m.Ephemeral && m.For == riley && strings.Contains(m.Content, "Only you can see this")
	})
	updated := r.wait(t, "card updated", func(m fakediscord.Message) bool {
		return m.ID == card.ID && m.Edits > 0 && strings.Contains(m.Content, "password reset")
	})
	if strings.Contains(string(updated.Components), "custom_id") {
		t.Error("decided card still has buttons")
	}
	got := regexp.MustCompile("`([^`]+)`").FindStringSubmatch(secretMsg.Content)
	if got == nil {
		t.Fatalf("no secret in %q", secretMsg.Content)
	}
	secret := got[1]
	u, _ := r.sim.User(fakegraph.ContosoTenantID, "AdeleV@contoso.com")
	if u.Password != secret || !u.ForceChangePasswordNextSignIn {
		t.Fatalf("tenant password matches=%v force=%v", u.Password == secret, u.ForceChangePasswordNextSignIn)
	}
	for _, m := range r.fd.Messages() {
		if m.ID != secretMsg.ID && strings.Contains(m.Content, secret) {
			t.Errorf("secret in another message: %+v", m)
		}
		if strings.Contains(m.Content, secret) && (!m.Ephemeral || m.For != riley) {
			t.Errorf("secret visible beyond riley: %+v", m)
		}
	}
	if strings.Contains(r.logs.String(), secret) {
		t.Error("secret in the logs")
	}
	raw, err := os.ReadFile(r.path)
	must(t, err)
	if strings.Contains(string(raw), secret) {
		t.Error("secret in the bbolt file")
	}
}

func TestDiscordSignatures(t *testing.T) {
	t.Parallel()
	r := startDiscord(t)
	ping := r.fd.Ping()
	resp, err := r.fd.Deliver(r.url, ping)
	must(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || strings.TrimSpace(string(body)) != `{"type":1}` || resp.Header.Get("Content-Type") != "application/json" {
		t.Errorf("PING: %d %q %q", resp.StatusCode, body, resp.Header.Get("Content-Type"))
	}
	in := r.fd.Command(dChan, riley, command("delete-user", opt("user", 3, "AdeleV@contoso.com")))
	tests := []struct {
		name   string
		header http.Header
		body   []byte
	}{
		{"Unsigned", http.Header{}, in.Body},
		{"Stale", r.fd.Sign(in.Body, time.Now().Add(-10*time.Minute)), in.Body},
		{"Future", r.fd.Sign(in.Body, time.Now().Add(10*time.Minute)), in.Body},
		{"Tampered", r.fd.Sign(in.Body, time.Now()), []byte(strings.Replace(string(in.Body), "delete-user", "block-signin", 1))},
		{"OtherKey", func() http.Header {
			other := fakediscord.NewTest(t, fakediscord.Options{})
			defer other.Close()
			return other.Sign(in.Body, time.Now())
		}(), in.Body},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest("POST", r.url, strings.NewReader(string(tt.body)))
			req.Header = tt.header.Clone()
			req.Header.Set("Content-Type", "application/json")
			resp, err := http.DefaultClient.Do(req)
			must(t, err)
			resp.Body.Close()
			if resp.StatusCode != http.StatusUnauthorized {
				t.Errorf("HTTP %d, want 401", resp.StatusCode)
			}
		})
	}
	r.stop(t) // serve has finished whatever the requests started
	for _, c := range r.fd.Calls() {
		if strings.Contains(c.Path, "/interactions/") || strings.Contains(c.Path, "/messages") {
			t.Errorf("a forged request led to %s %s", c.Method, c.Path)
		}
	}
}

func TestDiscordRepeatedInteractionRunsOnce(t *testing.T) {
	t.Parallel()
	r := startDiscord(t)
	in := r.fd.Command(dChan, riley, command("revoke-sessions", opt("user", 3, "AdeleV@contoso.com")))
	for range 3 {
		r.deliver(t, in)
	}
	r.wait(t, "result", func(m fakediscord.Message) bool { return strings.Contains(m.Content, "sessions revoked") })
	r.stop(t) // serve has finished whatever the deliveries started
	var revokes int
	for _, q := range r.sim.Requests() {
		if strings.HasSuffix(q.Path, "revokeSignInSessions") {
			revokes++
		}
	}
	if revokes != 1 {
		t.Errorf("revoked %d times for one interaction delivered 3 times", revokes)
	}
}

func TestDiscordRefusalIsEphemeral(t *testing.T) {
	t.Parallel()
	r := startDiscord(t)
	r.deliver(t, r.fd.Command(dChan, riley, command("block-signin", opt("user", 3, "GradyA@contoso.com"))))
	m := r.wait(t, "refusal", func(m fakediscord.Message) bool { return strings.Contains(m.Content, "synced from on-premises") })
	if !m.Ephemeral || m.For != riley {
		t.Errorf("refusal not private to riley: %+v", m)
	}
}

// TestDiscordRegistration: serve registers /cipp with the built-ins and
// run, and one command per area holding that area's actions, each action
// once.
func TestDiscordRegistration(t *testing.T) {
	t.Parallel()
	r := startDiscord(t)
	type option struct {
		Name     string   `json:"name"`
		Type     int      `json:"type"`
		Required bool     `json:"required"`
		Options  []option `json:"options"`
	}
	var cmds []struct {
		Name    string   `json:"name"`
		Options []option `json:"options"`
	}
	must(t, json.Unmarshal(r.fd.Commands(guild), &cmds))
	where := map[string][]string{}
	var names []string
	for _, c := range cmds {
		names = append(names, c.Name)
		for _, s := range c.Options {
			where[s.Name] = append(where[s.Name], c.Name)
			for _, g := range s.Options {
				if g.Type == 1 { // a subcommand inside a group
					where[g.Name] = append(where[g.Name], c.Name+" "+s.Name)
				}
			}
		}
	}
	for _, want := range []string{"cipp", "cipp-users", "cipp-sign-in", "cipp-mfa", "cipp-groups", "cipp-mailbox", "cipp-security", "cipp-onedrive"} {
		if !slices.Contains(names, want) {
			t.Errorf("no /%s in %v", want, names)
		}
	}
	for sub, want := range map[string]string{"help": "cipp", "whoami": "cipp", "run": "cipp", "audit": "cipp admin",
		"reset-password": "cipp-sign-in", "create-tap": "cipp-mfa", "add-to-group": "cipp-groups", "add-user": "cipp-users",
		"set-ooo": "cipp-mailbox", "research-compromise": "cipp-security", "provision-onedrive": "cipp-onedrive"} {
		if got := where[sub]; len(got) != 1 || got[0] != want {
			t.Errorf("%s is under %v, want /%s", sub, got, want)
		}
	}
	for _, a := range actions.Default().All() {
		if len(where[a.Name]) != 1 {
			t.Errorf("%s is under %v", a.Name, where[a.Name])
		}
	}
}

// TestDiscordRun: /cipp run takes a command as typed in Slack.
func TestDiscordRun(t *testing.T) {
	t.Parallel()
	r := startDiscord(t)
	r.deliver(t, r.fd.Command(dChan, riley, command("run", opt("command", 3, `revoke-sessions AdeleV@contoso.com reason="lost phone"`))))
	r.wait(t, "result", func(m fakediscord.Message) bool { return strings.Contains(m.Content, "sessions revoked") })
}

func TestDiscordRateLimitedThenPosted(t *testing.T) {
	t.Parallel()
	r := startDiscord(t)
	r.fd.RateLimit("POST", "/channels/", 1, 0.01)
	r.deliver(t, r.fd.Command(dChan, riley, command("revoke-sessions", opt("user", 3, "AdeleV@contoso.com"))))
	r.wait(t, "result after a 429", func(m fakediscord.Message) bool {
		return m.Via == fakediscord.ViaChannel && strings.Contains(m.Content, "sessions revoked")
	})
	var limited int
	for _, c := range r.fd.Calls() {
		if c.Status == http.StatusTooManyRequests {
			limited++
		}
	}
	if limited != 1 {
		t.Errorf("%d rate-limited calls, want 1", limited)
	}
}

func TestDiscordMissingAccessExplained(t *testing.T) {
	t.Parallel()
	r := startDiscord(t)
	r.deliver(t, r.fd.Command("2000000000000000999", riley, command("delete-user", opt("user", 3, "AdeleV@contoso.com"))))
	m := r.wait(t, "explanation", func(m fakediscord.Message) bool { return strings.Contains(m.Content, "cannot post in this channel") })
	if !m.Ephemeral || m.For != riley {
		t.Errorf("explanation not private: %+v", m)
	}
}

// TestDiscordReasonModal: the question's button opens a modal, and its
// answer becomes the card's reason.
func TestDiscordReasonModal(t *testing.T) {
	t.Parallel()
	r := startDiscord(t, true)
	r.deliver(t, r.fd.Command(dChan, riley, command("block-signin", opt("user", 3, "AdeleV@contoso.com"))))
	ask := r.wait(t, "question", func(m fakediscord.Message) bool {
		return m.Ephemeral && m.For == riley && strings.Contains(m.Content, "A reason is needed")
	})
	id := regexp.MustCompile(`"custom_id":"(ask:[0-9a-f]+)"`).FindStringSubmatch(string(ask.Components))
	if id == nil {
		t.Fatalf("no question button: %s", ask.Components)
	}
	// Someone else's click is refused.
	click, err := r.fd.Click(dChan, samID, ask, id[1])
	if err == nil {
		r.deliver(t, click)
	}
	click, err = r.fd.Click(dChan, riley, ask, id[1])
	must(t, err)
	r.deliver(t, click)
	var modal fakediscord.Modal
	for _, m := range r.fd.Modals() {
		if m.For == riley {
			modal = m
		}
	}
	if modal.CustomID == "" {
		t.Fatalf("no modal opened: %+v", r.fd.Modals())
	}
	submit, err := r.fd.SubmitModal(dChan, riley, modal.CustomID, map[string]string{"reason": "contract ended"})
	must(t, err)
	r.deliver(t, submit)
	card := r.wait(t, "card with the reason", func(m fakediscord.Message) bool {
		return m.Via == fakediscord.ViaChannel && strings.Contains(m.Content, "Approval needed")
	})
	if !strings.Contains(card.Content, "Reason: contract ended") {
		t.Errorf("card: %s", card.Content)
	}
}

// TestDiscordAddUserForm: add-user without its fields asks a form; the
// modal shows its first five inputs, required first, and the submission
// becomes the request.
func TestDiscordAddUserForm(t *testing.T) {
	t.Parallel()
	r := startDiscord(t)
	r.deliver(t, r.fd.Command(dChan, riley, command("add-user")))
	ask := r.wait(t, "form", func(m fakediscord.Message) bool {
		return m.Ephemeral && m.For == riley && strings.Contains(string(m.Components), `"custom_id":"ask:`)
	})
	id := regexp.MustCompile(`"custom_id":"(ask:[0-9a-f]+)"`).FindStringSubmatch(string(ask.Components))
	click, err := r.fd.Click(dChan, riley, ask, id[1])
	must(t, err)
	r.deliver(t, click)
	modals := r.fd.Modals()
	if len(modals) != 1 {
		t.Fatalf("modals: %+v", modals)
	}
	var inputs []string
	for _, m := range regexp.MustCompile(`"custom_id":"([a-z]+)"`).FindAllStringSubmatch(string(modals[0].JSON), -1) {
		inputs = append(inputs, m[1])
	}
	if want := []string{"displayname", "mailnickname", "primdomain", "givenname", "surname"}; !slices.Equal(inputs, want) {
		t.Errorf("modal inputs %v, want %v: %s", inputs, want, modals[0].JSON)
	}
	submit, err := r.fd.SubmitModal(dChan, riley, modals[0].CustomID, map[string]string{
		"displayname": "Jane Doe", "mailnickname": "jane.doe", "primdomain": "contoso.com", "givenname": "Jane"})
	must(t, err)
	r.deliver(t, submit)
	card := r.wait(t, "card for the new user", func(m fakediscord.Message) bool {
		return m.Via == fakediscord.ViaChannel && strings.Contains(m.Content, "Approval needed")
	})
	if !strings.Contains(card.Content, "jane.doe@contoso.com") {
		t.Errorf("card: %s", card.Content)
	}
}
