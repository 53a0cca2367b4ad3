package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cippbot/cippbot/actions"
	"github.com/cippbot/cippbot/bot"
	"github.com/cippbot/cippbot/internal/fakegraph"
	"github.com/cippbot/cippbot/internal/faketeams"
	"github.com/cippbot/cippbot/store"
)

// teamsRun is `cippbot serve` with Teams, against a simulated Teams and a
// simulated tenant.
type teamsRun struct {
	sim        *fakegraph.Server
	ft         *faketeams.Server
	endpoint   string
	path       string
	logs       *syncBuffer
	stopServe  func()
	riley, sam faketeams.User
	cfg        Config
	client     *http.Client
	// configure, if a tweak sets it, changes the configuration read from
	// the environment, for what only tests set.
	configure func(*Config)
}

const tChan = "19:4a1f2c@thread.tacv2"

// startTeamsServe starts serve with Teams; tweaks, if any, change its
// environment first.
func startTeamsServe(t *testing.T, rileyInstalled bool, tweaks ...func(r *teamsRun, env map[string]string)) *teamsRun {
	t.Helper()
	r := &teamsRun{sim: fakegraph.NewTest(t, fakegraph.Options{}), ft: faketeams.NewTest(t),
		path: filepath.Join(t.TempDir(), "cippbot.db"), logs: &syncBuffer{},
		riley: faketeams.User{MRI: "29:1riley", AAD: "0b6c2a4e-1111-4f6e-9a55-3c1a2b3c4d5e", Name: "Riley"},
		sam:   faketeams.User{MRI: "29:1sam", AAD: "7d2e9f10-2222-4a8b-8c33-9e8d7c6b5a4f", Name: "Sam"}}
	r.sim.Start()
	t.Cleanup(r.sim.Close)
	t.Cleanup(r.ft.Close)
	r.ft.AddUser(r.riley, rileyInstalled)
	r.ft.AddUser(r.sam, true)
	r.ft.AddChannel(tChan, r.riley.MRI, r.sam.MRI)

	db := store.NewDB(r.path)
	must(t, db.Open())
	ctx := context.Background()
	must(t, db.PutTenant(ctx, bot.Tenant{ID: fakegraph.ContosoTenantID, Name: "Contoso", DefaultDomain: "contoso.com", Domains: []string{"contoso.com"}}))
	must(t, db.PutGrant(ctx, bot.Grant{Actor: "teams:" + r.riley.AAD, Role: bot.RoleHelpdesk, GrantedBy: "test"}))
	must(t, db.PutGrant(ctx, bot.Grant{Actor: "teams:" + r.sam.AAD, Role: bot.RoleApprover, GrantedBy: "test"}))
	must(t, db.Close())

	// One client trusts both simulations.
	tr := r.sim.Client().Transport.(*http.Transport).Clone()
	tr.TLSClientConfig.RootCAs.AddCert(r.ft.Certificate())
	client := &http.Client{Transport: tr, Timeout: 20 * time.Second}
	host, _ := url.Parse(r.ft.URL())

	env := map[string]string{
		"CIPPBOT_DATA": r.path, "CIPPBOT_REASON_OPTIONAL": "all",
		"AZURE_CLIENT_ID": fakegraph.DefaultClientID, "AZURE_CLIENT_SECRET": fakegraph.DefaultClientSecret,
		"CIPPBOT_GRAPH_URL": r.sim.URL(), "AZURE_AUTHORITY_HOST": r.sim.URL() + "/",
		"TEAMS_APP_ID": r.ft.AppID, "TEAMS_APP_PASSWORD": r.ft.AppPassword, "TEAMS_TENANT_ID": r.ft.TenantID,
		"TEAMS_OPENID_URL": r.ft.OpenIDURL(), "TEAMS_AUTHORITY_HOST": r.ft.AuthorityHost(), "TEAMS_SERVICE_HOSTS": host.Host,
	}
	for _, tw := range tweaks {
		tw(r, env)
	}
	cfg, err := LoadConfig(func(k string) string { return env[k] })
	must(t, err)
	if r.configure != nil {
		r.configure(&cfg)
	}
	r.cfg, r.client = cfg, client
	r.start(t)
	return r
}

// start runs serve on a new port until stopServe.
func (r *teamsRun) start(t *testing.T) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	r.endpoint = "http://" + ln.Addr().String() + "/teams/messages"
	log := slog.New(slog.NewJSONHandler(r.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	sctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- runServe(sctx, r.cfg, r.client, ln, log) }()
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
}

func (r *teamsRun) deliver(t *testing.T, a faketeams.Activity) string {
	t.Helper()
	status, body, err := r.ft.Deliver(r.endpoint, a)
	must(t, err)
	if status != 200 {
		t.Fatalf("deliver %s: HTTP %d %s", a["type"], status, body)
	}
	return body
}

// wait polls the posted messages until one matches.
func (r *teamsRun) wait(t *testing.T, what string, match func(faketeams.Message) bool) faketeams.Message {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		for _, m := range r.ft.Messages() {
			if match(m) {
				return m
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s; messages:\n%v", what, r.ft.Messages())
	return faketeams.Message{}
}

// teamsCard is the part of a posted Adaptive Card the tests read.
type teamsCard struct {
	Version string `json:"version"`
	Refresh *struct {
		UserIDs []string `json:"userIds"`
	} `json:"refresh"`
	Body []struct {
		Text string `json:"text"`
	} `json:"body"`
	Actions []struct {
		Title, Verb string
		Data        map[string]any
	} `json:"actions"`
}

func decodeCard(t *testing.T, v any) teamsCard {
	t.Helper()
	b, _ := json.Marshal(v)
	var c teamsCard
	must(t, json.Unmarshal(b, &c))
	return c
}

func postedCard(t *testing.T, m faketeams.Message) teamsCard {
	t.Helper()
	atts, _ := m.Activity["attachments"].([]any)
	if len(atts) != 1 {
		return teamsCard{}
	}
	return decodeCard(t, atts[0].(map[string]any)["content"])
}

func (c teamsCard) text() string {
	var b strings.Builder
	for _, e := range c.Body {
		b.WriteString(e.Text + "\n")
	}
	for _, a := range c.Actions {
		b.WriteString("[" + a.Title + "]")
	}
	return b.String()
}

func invokeValue(t *testing.T, body string) (string, any) {
	t.Helper()
	var resp struct {
		StatusCode int    `json:"statusCode"`
		Type       string `json:"type"`
		Value      any    `json:"value"`
	}
	if err := json.Unmarshal([]byte(body), &resp); err != nil || resp.StatusCode != 200 {
		t.Fatalf("invoke response %q: %v", body, err)
	}
	return resp.Type, resp.Value
}

func TestTeamsResetPassword(t *testing.T) {
	t.Parallel()
	r := startTeamsServe(t, true)
	r.deliver(t, r.ft.MessageActivity(r.riley, tChan, `reset-password AdeleV@contoso.com reason="locked out"`, true))
	cardMsg := r.wait(t, "approval card", func(m faketeams.Message) bool {
		return m.Conversation == tChan && strings.Contains(postedCard(t, m).text(), "Approval needed")
	})
	card := postedCard(t, cardMsg)
	if card.Version != "1.5" || card.Refresh == nil || len(card.Refresh.UserIDs) != 1 || card.Refresh.UserIDs[0] != r.riley.MRI {
		t.Fatalf("card: %s", cardMsg)
	}
	var approve map[string]any
	verb := ""
	for _, a := range card.Actions {
		if a.Title == "Approve" {
			approve, verb = a.Data, a.Verb
		}
	}
	if approve == nil {
		t.Fatalf("no Approve on %s", cardMsg)
	}
	// Riley's own view has no Approve; a click anyway is refused.
	typ, v := invokeValue(t, r.deliver(t, r.ft.InvokeActivity(r.riley, tChan, cardMsg.ID, "cipp.view", nil, "automatic")))
	if view := decodeCard(t, v); typ != "application/vnd.microsoft.card.adaptive" || strings.Contains(view.text(), "[Approve]") {
		t.Errorf("riley's view: %s %v", typ, v)
	}
	_, v = invokeValue(t, r.deliver(t, r.ft.InvokeActivity(r.riley, tChan, cardMsg.ID, verb, approve, "manual")))
	if s, _ := v.(string); !strings.Contains(s, "own request") {
		t.Errorf("riley's click answered %v", v)
	}

	// Sam approves: the click's answer is the decided card.
	typ, v = invokeValue(t, r.deliver(t, r.ft.InvokeActivity(r.sam, tChan, cardMsg.ID, verb, approve, "manual")))
	if c := decodeCard(t, v); typ != "application/vnd.microsoft.card.adaptive" || !strings.Contains(c.text(), "Approved by Sam") {
		t.Fatalf("sam's click answered %s %v", typ, v)
	}
	// A second click runs nothing.
	_, v = invokeValue(t, r.deliver(t, r.ft.InvokeActivity(r.sam, tChan, cardMsg.ID, verb, approve, "manual")))
	if s, _ := v.(string); !strings.Contains(s, "already approved") {
		t.Errorf("second click answered %v", v)
	}
	done := r.wait(t, "card updated with the result", func(m faketeams.Message) bool {
		return m.ID == cardMsg.ID && m.Updates > 0 && strings.Contains(strings.ToLower(postedCard(t, m).text()), "password reset")
	})
	if c := postedCard(t, done); strings.Contains(c.text(), "[Approve]") || c.Refresh != nil {
		t.Errorf("decided card still offers Approve: %s", done)
	}
	reveal := r.wait(t, "Reveal in riley's chat", func(m faketeams.Message) bool {
		return len(m.Visible) == 1 && m.Visible[0] == r.riley.MRI && strings.Contains(postedCard(t, m).text(), "[Reveal]")
	})
	var data map[string]any
	for _, a := range postedCard(t, reveal).Actions {
		data = a.Data
	}
	// Sam cannot reveal it; Riley can, once.
	_, v = invokeValue(t, r.deliver(t, r.ft.InvokeActivity(r.sam, reveal.Conversation, reveal.ID, "cipp.reveal", data, "manual")))
	if s, _ := v.(string); !strings.Contains(s, "Only the person") {
		t.Errorf("sam's reveal answered %v", v)
	}
	typ, v = invokeValue(t, r.deliver(t, r.ft.InvokeActivity(r.riley, reveal.Conversation, reveal.ID, "cipp.reveal", data, "manual")))
	u, _ := r.sim.User(fakegraph.ContosoTenantID, "AdeleV@contoso.com")
	secret := u.Password
	if secret == "" || !strings.Contains(decodeCard(t, v).text(), secret) {
		t.Fatalf("riley's reveal (%s) does not hold the tenant's new password", typ)
	}
	_, v = invokeValue(t, r.deliver(t, r.ft.InvokeActivity(r.riley, reveal.Conversation, reveal.ID, "cipp.reveal", data, "manual")))
	if b, _ := json.Marshal(v); strings.Contains(string(b), secret) {
		t.Error("second reveal showed the secret again")
	}
	r.stopServe()
	assertSecretOnlyInReveal(t, r, secret)
}

// assertSecretOnlyInReveal searches everything for the secret: the
// simulated Teams' whole request log (one exchange may hold it: Riley's
// reveal), the posted messages, the logs and the store.
func assertSecretOnlyInReveal(t *testing.T, r *teamsRun, secret string) {
	t.Helper()
	n := 0
	for _, q := range r.ft.Requests() {
		if hasSecret(q.Body+q.Response+q.Path, secret) {
			n++
			if q.Method != "DELIVER" || !strings.Contains(q.Body, r.riley.AAD) || !strings.Contains(q.Body, "cipp.reveal") {
				t.Errorf("secret in %s %s", q.Method, q.Path)
			}
		}
	}
	if n != 1 {
		t.Errorf("secret in %d exchanges, want 1", n)
	}
	for _, m := range r.ft.Messages() {
		if hasSecret(m.String(), secret) {
			t.Errorf("secret in a posted message: %s", m)
		}
	}
	if hasSecret(r.logs.String(), secret) {
		t.Error("secret in the logs")
	}
	raw, err := os.ReadFile(r.path)
	must(t, err)
	if hasSecret(string(raw), secret) {
		t.Error("secret in the store")
	}
}

// hasSecret reports whether s holds secret as it is or JSON-encoded
// (which escapes <, > and &).
func hasSecret(s, secret string) bool {
	enc, _ := json.Marshal(secret)
	return strings.Contains(s, secret) || strings.Contains(s, strings.Trim(string(enc), `"`))
}

func TestTeamsForgedTokens(t *testing.T) {
	t.Parallel()
	r := startTeamsServe(t, true)
	sv := r.ft.ServiceURL()
	stray := r.ft.NewKey("msteams")
	skype := r.ft.NewKey("skype")
	r.ft.Publish(skype)
	bare := r.ft.NewKey() // published with no endorsements at all
	r.ft.Publish(bare)
	main := r.ft.MainKey()
	foreign := func(a faketeams.Activity) {
		a["channelData"] = map[string]any{"tenant": map[string]any{"id": "0000aaaa-0000-0000-0000-000000000000"}}
		a["conversation"].(map[string]any)["tenantId"] = "0000aaaa-0000-0000-0000-000000000000"
	}
	tests := []struct {
		name string
		key  faketeams.Key
		set  map[string]any
		mod  func(faketeams.Activity)
	}{
		{"WrongIssuer", main, map[string]any{"iss": "https://evil.example"}, nil},
		{"WrongAudience", main, map[string]any{"aud": "someone-else"}, nil},
		{"Expired", main, map[string]any{"exp": time.Now().Add(-10 * time.Minute).Unix()}, nil},
		{"UnknownKey", stray, nil, nil},
		{"NotEndorsed", skype, nil, nil},
		{"NoEndorsements", bare, nil, nil},
		{"NotYetValid", main, map[string]any{"nbf": time.Now().Add(10 * time.Minute).Unix()}, nil},
		{"NoServiceURLClaim", main, map[string]any{"serviceurl": nil}, nil},
		{"ServiceURLMismatch", main, map[string]any{"serviceurl": "https://smba.trafficmanager.net/emea/"}, nil},
		{"ForeignTenant", main, nil, foreign},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := r.ft.MessageActivity(r.riley, tChan, "help", true)
			if tt.mod != nil {
				tt.mod(a)
			}
			status, _, err := r.ft.DeliverWith(r.endpoint, a, "Bearer "+faketeams.Sign(tt.key, r.ft.ClaimsWith(sv, tt.set)))
			must(t, err)
			if status != http.StatusUnauthorized && status != http.StatusForbidden {
				t.Errorf("HTTP %d, want 401/403", status)
			}
		})
	}
	time.Sleep(200 * time.Millisecond)
	if ms := r.ft.Messages(); len(ms) != 0 {
		t.Errorf("forged activities did work: %v", ms)
	}
}

// approveReset asks for a reset as Riley and has Sam approve it; it
// returns the card.
func (r *teamsRun) approveReset(t *testing.T) faketeams.Message {
	t.Helper()
	r.deliver(t, r.ft.MessageActivity(r.riley, tChan, `reset-password AdeleV@contoso.com reason="locked out"`, true))
	cardMsg := r.wait(t, "approval card", func(m faketeams.Message) bool {
		return m.Conversation == tChan && strings.Contains(postedCard(t, m).text(), "Approval needed")
	})
	for _, a := range postedCard(t, cardMsg).Actions {
		if a.Title == "Approve" {
			r.deliver(t, r.ft.InvokeActivity(r.sam, tChan, cardMsg.ID, a.Verb, a.Data, "manual"))
			return cardMsg
		}
	}
	t.Fatalf("no Approve on %s", cardMsg)
	return cardMsg
}

// revealFor clicks the Reveal in the user's chat and returns the answer.
func (r *teamsRun) revealFor(t *testing.T, u faketeams.User) string {
	t.Helper()
	reveal := r.wait(t, "Reveal in the chat", func(m faketeams.Message) bool {
		return len(m.Visible) == 1 && m.Visible[0] == u.MRI && strings.Contains(postedCard(t, m).text(), "[Reveal]")
	})
	acts := postedCard(t, reveal).Actions
	return r.deliver(t, r.ft.InvokeActivity(u, reveal.Conversation, reveal.ID, acts[0].Verb, acts[0].Data, "manual"))
}

func TestTeamsNotInstalledForRequester(t *testing.T) {
	t.Parallel()
	r := startTeamsServe(t, false, func(r *teamsRun, _ map[string]string) { r.configure = shortHold(time.Minute) })
	r.approveReset(t)
	r.wait(t, "riley asked to open the chat", func(m faketeams.Message) bool {
		s, _ := m.Activity["text"].(string)
		return m.Conversation == tChan && strings.Contains(s, "Open a chat with cippbot")
	})
	u, _ := r.sim.User(fakegraph.ContosoTenantID, "AdeleV@contoso.com")
	secret := u.Password
	if secret == "" {
		t.Fatal("password not reset")
	}
	// Riley opens the bot's chat; the secret is offered there.
	dm := r.ft.Install(r.riley.MRI)
	r.deliver(t, r.ft.InstallActivity(r.riley, dm))
	_, v := invokeValue(t, r.revealFor(t, r.riley))
	if b, _ := json.Marshal(v); !hasSecret(string(b), secret) {
		t.Fatalf("reveal answered %s", b)
	}
	r.stopServe()
	assertSecretOnlyInReveal(t, r, secret)
}

func TestTeamsRedeliveredMessageRunsOnce(t *testing.T) {
	t.Parallel()
	r := startTeamsServe(t, true)
	a := r.ft.MessageActivity(r.riley, tChan, `reset-password AdeleV@contoso.com reason="locked out"`, true)
	r.deliver(t, a)
	r.deliver(t, a)
	r.wait(t, "approval card", func(m faketeams.Message) bool {
		return m.Conversation == tChan && strings.Contains(postedCard(t, m).text(), "Approval needed")
	})
	time.Sleep(300 * time.Millisecond)
	n := 0
	for _, m := range r.ft.Messages() {
		if strings.Contains(postedCard(t, m).text(), "Approval needed") {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d approval cards, want 1", n)
	}
}

func TestTeamsHelpInPersonalChat(t *testing.T) {
	t.Parallel()
	r := startTeamsServe(t, true)
	dm := r.ft.Install(r.riley.MRI)
	r.deliver(t, r.ft.MessageActivity(r.riley, dm, "help", false))
	m := r.wait(t, "help in riley's chat", func(m faketeams.Message) bool { return m.Conversation == dm })
	if !strings.Contains(postedCard(t, m).text(), "reset-password") {
		t.Errorf("help: %s", m)
	}
}

func TestTeamsConfig(t *testing.T) {
	t.Parallel()
	pwFile := filepath.Join(t.TempDir(), "pw")
	must(t, os.WriteFile(pwFile, []byte("s3cret-teams-pw\n"), 0o600))
	tests := []struct {
		name string
		env  map[string]string
		want string // part of the error; "" for none
	}{
		{"Off", map[string]string{}, ""},
		{"OK", map[string]string{"TEAMS_APP_ID": "app", "TEAMS_APP_PASSWORD": "s3cret-teams-pw", "TEAMS_TENANT_ID": "t"}, ""},
		{"PasswordFile", map[string]string{"TEAMS_APP_ID": "app", "TEAMS_APP_PASSWORD_FILE": pwFile, "TEAMS_TENANT_ID": "t"}, ""},
		{"NoPassword", map[string]string{"TEAMS_APP_ID": "app", "TEAMS_TENANT_ID": "t"}, "TEAMS_APP_PASSWORD"},
		{"NoTenant", map[string]string{"TEAMS_APP_ID": "app", "TEAMS_APP_PASSWORD": "x"}, "TEAMS_TENANT_ID"},
		{"PasswordWithoutApp", map[string]string{"TEAMS_APP_PASSWORD": "x"}, "TEAMS_APP_ID"},
		{"PlainOpenID", map[string]string{"TEAMS_APP_ID": "app", "TEAMS_APP_PASSWORD": "x", "TEAMS_TENANT_ID": "t",
			"TEAMS_OPENID_URL": "http://login.botframework.com/v1/.well-known/openidconfiguration"}, "https"},
		{"TeamsAdmin", map[string]string{"CIPPBOT_ADMINS": "teams:0b6c2a4e-1111-4f6e-9a55-3c1a2b3c4d5e"}, ""},
		{"TokenURLReplaced", map[string]string{"TEAMS_APP_ID": "app", "TEAMS_APP_PASSWORD": "x", "TEAMS_TENANT_ID": "t",
			"TEAMS_TOKEN_URL": "https://login.microsoftonline.com/t/oauth2/v2.0/token"}, "TEAMS_AUTHORITY_HOST"},
		{"PlainAuthority", map[string]string{"TEAMS_APP_ID": "app", "TEAMS_APP_PASSWORD": "x", "TEAMS_TENANT_ID": "t",
			"TEAMS_AUTHORITY_HOST": "http://login.microsoftonline.com/"}, "https"},
		{"PasswordAndCertificate", map[string]string{"TEAMS_APP_ID": "app", "TEAMS_APP_PASSWORD": "x", "TEAMS_TENANT_ID": "t",
			"TEAMS_APP_CERTIFICATE_PATH": "/nonexistent.pem"}, "both set"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := LoadConfig(func(k string) string { return tt.env[k] })
			if tt.want == "" && err != nil || tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)) {
				t.Fatalf("LoadConfig = %v, want %q", err, tt.want)
			}
			if err == nil && tt.env["TEAMS_APP_ID"] != "" && c.Teams.AppPassword != "s3cret-teams-pw" {
				t.Errorf("password = %q", c.Teams.AppPassword)
			}
			var buf strings.Builder
			slog.New(slog.NewJSONHandler(&buf, nil)).Info("config", "config", c)
			if strings.Contains(buf.String(), "s3cret-teams-pw") {
				t.Errorf("password logged: %s", buf.String())
			}
		})
	}
}

func TestTeamsApprovalAfterRestart(t *testing.T) {
	t.Parallel()
	r := startTeamsServe(t, true)
	r.deliver(t, r.ft.MessageActivity(r.riley, tChan, `reset-password AdeleV@contoso.com reason="locked out"`, true))
	cardMsg := r.wait(t, "approval card", func(m faketeams.Message) bool {
		return m.Conversation == tChan && strings.Contains(postedCard(t, m).text(), "Approval needed")
	})
	r.stopServe()
	r.start(t)
	// Sam approves on the new process; Riley has not spoken to it.
	for _, a := range postedCard(t, cardMsg).Actions {
		if a.Title == "Approve" {
			r.deliver(t, r.ft.InvokeActivity(r.sam, tChan, cardMsg.ID, a.Verb, a.Data, "manual"))
		}
	}
	r.wait(t, "card updated with the result", func(m faketeams.Message) bool {
		return m.ID == cardMsg.ID && strings.Contains(strings.ToLower(postedCard(t, m).text()), "password reset")
	})
	_, v := invokeValue(t, r.revealFor(t, r.riley))
	u, _ := r.sim.User(fakegraph.ContosoTenantID, "AdeleV@contoso.com")
	if b, _ := json.Marshal(v); u.Password == "" || !hasSecret(string(b), u.Password) {
		t.Fatalf("reveal after a restart answered %s", b)
	}
	r.stopServe()
	assertSecretOnlyInReveal(t, r, u.Password)
}

func TestTeamsCertificateCredential(t *testing.T) {
	t.Parallel()
	r := startTeamsServe(t, true, func(r *teamsRun, env map[string]string) {
		cert, _, pemData := faketeams.NewCertificate()
		r.ft.RegisterCertificate(cert)
		path := filepath.Join(t.TempDir(), "bot.pem")
		must(t, os.WriteFile(path, pemData, 0o600))
		delete(env, "TEAMS_APP_PASSWORD")
		env["TEAMS_APP_CERTIFICATE_PATH"] = path
	})
	dm := r.ft.Install(r.riley.MRI)
	r.deliver(t, r.ft.MessageActivity(r.riley, dm, "whoami", false))
	r.wait(t, "whoami answered in riley's chat", func(m faketeams.Message) bool { return m.Conversation == dm })
	for _, q := range r.ft.Requests() {
		if strings.Contains(q.Body, "client_secret") {
			t.Errorf("a client secret was sent to %s", q.Path)
		}
	}
}

// TestTeamsAskFormThroughActionExecute: a reset without a reason (reasons
// required) is asked for one with a form in the requester's chat; the
// form's Action.Execute submit brings the reason back, and the request
// goes on in the channel it was made in.
func TestTeamsAskFormThroughActionExecute(t *testing.T) {
	t.Parallel()
	r := startTeamsServe(t, true, func(r *teamsRun, env map[string]string) { delete(env, "CIPPBOT_REASON_OPTIONAL") })
	r.deliver(t, r.ft.MessageActivity(r.riley, tChan, "reset-password AdeleV@contoso.com", true))
	form := r.wait(t, "a form in riley's chat", func(m faketeams.Message) bool {
		return len(m.Visible) == 1 && m.Visible[0] == r.riley.MRI && strings.Contains(m.String(), "Input.Text")
	})
	var raw struct {
		Version string `json:"version"`
		Body    []struct{ Type, ID string }
		Actions []struct {
			Type, Verb string
			Data       map[string]any
		}
	}
	b, _ := json.Marshal(form.Activity["attachments"].([]any)[0].(map[string]any)["content"])
	must(t, json.Unmarshal(b, &raw))
	if len(raw.Actions) != 1 || raw.Actions[0].Type != "Action.Execute" || raw.Version != "1.5" {
		t.Fatalf("form: %s", form)
	}
	data := raw.Actions[0].Data
	for _, e := range raw.Body {
		if e.Type == "Input.Text" {
			data[e.ID] = "locked out" // Teams merges the inputs into the action's data
		}
	}
	for _, m := range r.ft.Messages() {
		if m.Conversation == tChan && strings.Contains(postedCard(t, m).text(), "Approval needed") {
			t.Fatal("an approval card before the reason")
		}
	}
	r.deliver(t, r.ft.InvokeActivity(r.riley, form.Conversation, form.ID, raw.Actions[0].Verb, data, "manual"))
	card := r.wait(t, "approval card in the channel", func(m faketeams.Message) bool {
		return m.Conversation == tChan && strings.Contains(postedCard(t, m).text(), "Approval needed")
	})
	if !strings.Contains(postedCard(t, card).text(), "locked out") {
		t.Errorf("the card lacks the reason: %s", card)
	}
	// The form answers once, and only Riley.
	_, v := invokeValue(t, r.deliver(t, r.ft.InvokeActivity(r.riley, form.Conversation, form.ID, raw.Actions[0].Verb, data, "manual")))
	if s, _ := v.(string); !strings.Contains(s, "expired") {
		t.Errorf("a second submit answered %v", v)
	}
}

// TestTeamsConcurrentDoubleClick: Sam's two clicks arrive at once (two
// activities); the password is reset once, one click gets the decided
// card and the other is told it was already decided.
func TestTeamsConcurrentDoubleClick(t *testing.T) {
	t.Parallel()
	r := startTeamsServe(t, true)
	r.deliver(t, r.ft.MessageActivity(r.riley, tChan, `reset-password AdeleV@contoso.com reason="locked out"`, true))
	cardMsg := r.wait(t, "approval card", func(m faketeams.Message) bool {
		return m.Conversation == tChan && strings.Contains(postedCard(t, m).text(), "Approval needed")
	})
	var clicks []faketeams.Activity
	for _, a := range postedCard(t, cardMsg).Actions {
		if a.Title == "Approve" {
			clicks = append(clicks, r.ft.InvokeActivity(r.sam, tChan, cardMsg.ID, a.Verb, a.Data, "manual"),
				r.ft.InvokeActivity(r.sam, tChan, cardMsg.ID, a.Verb, a.Data, "manual"))
		}
	}
	if len(clicks) != 2 {
		t.Fatalf("no Approve on %s", cardMsg)
	}
	bodies := make([]string, 2)
	var wg sync.WaitGroup
	for i, c := range clicks {
		wg.Go(func() { bodies[i] = r.deliver(t, c) })
	}
	wg.Wait()
	cards := 0
	for _, b := range bodies {
		if typ, _ := invokeValue(t, b); typ == "application/vnd.microsoft.card.adaptive" {
			cards++
		} else if !strings.Contains(b, "already") {
			t.Errorf("the other click answered %s", b)
		}
	}
	if cards != 1 {
		t.Errorf("%d clicks got the decided card, want 1: %q", cards, bodies)
	}
	r.wait(t, "card updated with the result", func(m faketeams.Message) bool {
		return m.ID == cardMsg.ID && strings.Contains(strings.ToLower(postedCard(t, m).text()), "password reset")
	})
	r.stopServe()
	resets := 0
	for _, q := range r.sim.Requests() {
		if q.Method == http.MethodPatch && strings.Contains(string(q.Body), "passwordProfile") {
			resets++
		}
	}
	if resets != 1 {
		t.Errorf("%d password resets sent, want 1", resets)
	}
}

// TestTeamsManifest checks the app package's manifest: the bot ID
// placeholders, personal and team scopes, and a command menu of at most
// ten commands (msteams-docs create-a-bot-commands-menu.md), each one
// cippbot knows.
func TestTeamsManifest(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile(filepath.Join("..", "..", "deploy", "teams", "manifest.json"))
	must(t, err)
	var m struct {
		ID   string `json:"id"`
		Bots []struct {
			BotID        string   `json:"botId"`
			Scopes       []string `json:"scopes"`
			CommandLists []struct {
				Scopes   []string `json:"scopes"`
				Commands []struct{ Title, Description string }
			} `json:"commandLists"`
		} `json:"bots"`
	}
	must(t, json.Unmarshal(raw, &m))
	if len(m.Bots) != 1 || m.Bots[0].BotID != "{{TEAMS_APP_ID}}" || m.ID != "{{TEAMS_APP_ID}}" {
		t.Fatalf("manifest bots/id: %+v", m)
	}
	known := map[string]bool{}
	for _, a := range actions.Default().All() {
		known[a.Name] = true
	}
	for _, b := range bot.Builtins() {
		known[b.Name] = true
	}
	bt := m.Bots[0]
	if !slices.Contains(bt.Scopes, "personal") || !slices.Contains(bt.Scopes, "team") || len(bt.CommandLists) == 0 {
		t.Errorf("scopes %v, %d command lists", bt.Scopes, len(bt.CommandLists))
	}
	for _, cl := range bt.CommandLists {
		if len(cl.Commands) > 10 {
			t.Errorf("%d commands in a list, at most 10", len(cl.Commands))
		}
		for _, c := range cl.Commands {
			if !known[c.Title] {
				t.Errorf("the menu offers %q, which cippbot does not know", c.Title)
			}
		}
	}
}
