package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cippbot/cippbot/bot"
	"github.com/cippbot/cippbot/internal/fakegraph"
	"github.com/cippbot/cippbot/internal/fakeslack"
	"github.com/cippbot/cippbot/store"
)

// syncBuffer is a bytes.Buffer safe for a logger and a test at once.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// slackRun is `cippbot serve` with Slack, against a fake Slack and a
// simulated tenant.
type slackRun struct {
	sim  *fakegraph.Server
	fs   *fakeslack.Server
	base string // http://127.0.0.1:port
	path string
	logs *syncBuffer
	done chan error
	// stopServe stops serve and waits for it; it runs once.
	stopServe func()
	// reasonOptional is CIPPBOT_REASON_OPTIONAL for this serve.
	reasonOptional []string
}

// slackOpts varies startSlack.
type slackOpts struct {
	noTenant       bool
	reasonRequired bool
	// setup, if non-nil, runs on the store and the simulated tenant
	// before serve starts, after the default tenant and grants.
	setup func(ctx context.Context, db *store.DB, sim *fakegraph.Server)
	// config, if non-nil, adjusts serve's configuration.
	config func(*Config)
}

func startSlack(t *testing.T, socketMode bool, opts ...slackOpts) *slackRun {
	t.Helper()
	r := &slackRun{sim: fakegraph.NewTest(t, fakegraph.Options{}), fs: fakeslack.NewTest(t, fakeslack.Options{}),
		path: filepath.Join(t.TempDir(), "cippbot.db"), logs: &syncBuffer{}, done: make(chan error, 1),
		reasonOptional: []string{"all"}}
	r.sim.Start()
	t.Cleanup(r.sim.Close)
	t.Cleanup(r.fs.Close)
	r.fs.AddChannel("COPS", "ops", "URILEY", "USAM", "UHD", fakeslack.DefaultBotUserID)
	r.fs.AddChannel("CQUIET", "quiet", "URILEY") // the bot is not a member

	db := store.NewDB(r.path)
	must(t, db.Open())
	ctx := context.Background()
	var o slackOpts
	if len(opts) > 0 {
		o = opts[0]
	}
	if o.reasonRequired {
		r.reasonOptional = nil
	}
	if !o.noTenant {
		must(t, db.PutTenant(ctx, bot.Tenant{ID: fakegraph.ContosoTenantID, Name: "Contoso", DefaultDomain: "contoso.com", Domains: []string{"contoso.com"}}))
	}
	must(t, db.PutGrant(ctx, bot.Grant{Actor: "slack:URILEY", Role: bot.RoleHelpdesk, GrantedBy: "test"}))
	must(t, db.PutGrant(ctx, bot.Grant{Actor: "slack:USAM", Role: bot.RoleApprover, GrantedBy: "test"}))
	must(t, db.PutGrant(ctx, bot.Grant{Actor: "slack:UHD", Role: bot.RoleHelpdesk, GrantedBy: "test"}))
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
	cfg.SlackBotToken, cfg.SlackAPIURL = fakeslack.DefaultBotToken, r.fs.APIURL()
	if socketMode {
		cfg.SlackAppToken = fakeslack.DefaultAppToken
	} else {
		cfg.SlackSigningSecret = fakeslack.DefaultSigningSecret
	}
	if o.config != nil {
		o.config(&cfg)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	r.base = "http://" + ln.Addr().String()
	log := slog.New(slog.NewJSONHandler(r.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ctx, cancel := context.WithCancel(context.Background())
	go func() { r.done <- runServe(ctx, cfg, r.sim.Client(), ln, log) }()
	r.stopServe = sync.OnceFunc(func() {
		cancel()
		select {
		case err := <-r.done:
			if err != nil {
				t.Errorf("serve: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Error("serve did not stop")
		}
	})
	t.Cleanup(r.stopServe)
	waitReady(t, r.base)
	return r
}

// stop stops serve before the test ends, so that its store can be read.
func (r *slackRun) stop(t *testing.T) {
	t.Helper()
	r.stopServe()
}

// waitReady waits until serve answers /healthz: start-up (token checks,
// command registration, recovery) is done.
func waitReady(t *testing.T, base string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	c := &http.Client{Timeout: 2 * time.Second}
	for {
		resp, err := c.Get(base + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve never became ready: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func (r *slackRun) wait(t *testing.T, what string, match func(fakeslack.Message) bool) fakeslack.Message {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	m, err := r.fs.WaitForMessage(ctx, match)
	if err != nil {
		t.Fatalf("no %s: %v\nmessages: %+v", what, err, r.fs.Messages())
	}
	return m
}

func (r *slackRun) slash(t *testing.T, channel, user, text string) {
	t.Helper()
	resp, err := r.fs.SlashCommand(r.base+"/slack/commands", "/cipp", text, channel, user)
	must(t, err)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("slash command: HTTP %d", resp.StatusCode)
	}
}

func (r *slackRun) click(t *testing.T, msg fakeslack.Message, value, user string) {
	t.Helper()
	verb, _, _ := strings.Cut(value, " ")
	resp, err := r.fs.ClickButton(r.base+"/slack/interactions", msg, "cipp_"+verb, value, user)
	must(t, err)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("click: HTTP %d", resp.StatusCode)
	}
}

// texts returns every "text" string in Block Kit JSON, with Slack's
// mrkdwn escapes undone.
func texts(t *testing.T, blocks []byte) []string {
	t.Helper()
	var v any
	if err := json.Unmarshal(blocks, &v); err != nil {
		t.Fatalf("blocks are not JSON: %v", err)
	}
	var out []string
	var walk func(any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, e := range x {
				if s, ok := e.(string); ok && k == "text" {
					out = append(out, strings.NewReplacer("&amp;", "&", "&lt;", "<", "&gt;", ">").Replace(s))
				}
				walk(e)
			}
		case []any:
			for _, e := range x {
				walk(e)
			}
		}
	}
	walk(v)
	return out
}

// secretIn returns the one value shown in backticks in the blocks.
func secretIn(t *testing.T, blocks []byte) string {
	t.Helper()
	for _, s := range texts(t, blocks) {
		if m := regexp.MustCompile("`([^`]+)`").FindStringSubmatch(s); m != nil {
			return m[1]
		}
	}
	t.Fatalf("no secret in %s", blocks)
	return ""
}

// containsSecret reports whether JSON blocks (or any bytes) hold secret,
// raw or escaped.
func containsSecret(b []byte, secret string) bool {
	if len(b) == 0 {
		return false
	}
	if bytes.Contains(b, []byte(secret)) {
		return true
	}
	var v any
	if json.Unmarshal(b, &v) != nil {
		return false
	}
	flat, _ := json.Marshal(v)
	var all strings.Builder
	var walk func(any)
	walk = func(v any) {
		switch x := v.(type) {
		case string:
			all.WriteString(strings.NewReplacer("&amp;", "&", "&lt;", "<", "&gt;", ">").Replace(x))
		case map[string]any:
			for _, e := range x {
				walk(e)
			}
		case []any:
			for _, e := range x {
				walk(e)
			}
		}
	}
	walk(v)
	return strings.Contains(all.String(), secret) || bytes.Contains(flat, []byte(secret))
}

var approveValue = regexp.MustCompile(`"value":"(approve [0-9a-f]+)"`)

func isCard(m fakeslack.Message) bool {
	return !m.Ephemeral && m.Channel == "COPS" && strings.Contains(m.Text, "Approval needed")
}

// TestSlackResetPassword is the whole Slack path: signed slash command,
// card, refused self-approval, approval by sam, the tenant changed, the
// card updated, the secret by chat.postEphemeral to riley alone.
func TestSlackResetPassword(t *testing.T) {
	t.Parallel()
	r := startSlack(t, false)
	// The first Graph call is held until the ack is back (or 10 s).
	hold := r.sim.Hold("", "/v1.0/")
	time.AfterFunc(10*time.Second, hold.Release)
	r.slash(t, "COPS", "URILEY", `reset-password AdeleV@contoso.com --must-change reason="locked out"`)
	// The ack came back before any Graph call finished.
	for _, m := range r.fs.Messages() {
		if isCard(m) {
			t.Fatal("card posted before the ack returned: the ack waited for Graph")
		}
	}
	hold.Release()
	card := r.wait(t, "approval card", isCard)
	select {
	case <-hold.Arrived():
	default:
		t.Error("the card was posted without a Graph call to hold")
	}
	val := approveValue.FindStringSubmatch(string(card.Blocks))
	if val == nil {
		t.Fatalf("card has no approve button: %s", card.Blocks)
	}
	for _, want := range []string{"AdeleV@contoso.com", "locked out", "contoso.com"} {
		if !strings.Contains(string(card.Blocks), want) {
			t.Errorf("card lacks %q", want)
		}
	}

	r.click(t, card, val[1], "URILEY")
	r.wait(t, "refusal to riley", func(m fakeslack.Message) bool {
		return m.Ephemeral && m.User == "URILEY" && strings.Contains(m.Text, "own request")
	})

	r.click(t, card, val[1], "USAM")
	secretMsg := r.wait(t, "secret to riley", func(m fakeslack.Message) bool {
		return m.Ephemeral && m.User == "URILEY" && m.Via == fakeslack.ViaPostEphemeral && strings.Contains(m.Text, "Only you can see this")
	})
	updated := r.wait(t, "card updated", func(m fakeslack.Message) bool {
		return m.TS == card.TS && m.Updated > 0 && strings.Contains(m.Text, "password reset")
	})
	if strings.Contains(string(updated.Blocks), `"actions"`) {
		t.Error("decided card still has buttons")
	}
	if !strings.Contains(string(updated.Blocks), "approved by usam") {
		t.Errorf("card does not say who approved: %s", updated.Blocks)
	}
	secret := secretIn(t, secretMsg.Blocks)
	u, _ := r.sim.User(fakegraph.ContosoTenantID, "AdeleV@contoso.com")
	if u.Password != secret || !u.ForceChangePasswordNextSignIn {
		t.Fatalf("tenant password matches=%v force=%v", u.Password == secret, u.ForceChangePasswordNextSignIn)
	}
	// The secret is in that one ephemeral message and its one call only.
	for _, m := range r.fs.Messages() {
		if m.TS != secretMsg.TS && (containsSecret(m.Blocks, secret) || strings.Contains(m.Text, secret)) {
			t.Errorf("secret in another message: %+v", m)
		}
	}
	var calls int
	for _, c := range r.fs.Calls() {
		if containsSecret(c.Body, secret) || containsSecret([]byte(c.Params.Get("blocks")), secret) || strings.Contains(c.Params.Get("text"), secret) {
			calls++
			if c.Method != "chat.postEphemeral" || c.Params.Get("user") != "URILEY" {
				t.Errorf("secret sent by %s to %q", c.Method, c.Params.Get("user"))
			}
		}
	}
	if calls != 1 {
		t.Errorf("secret in %d Web API calls, want 1", calls)
	}
	if strings.Contains(r.logs.String(), secret) {
		t.Error("secret in the logs")
	}
	raw, err := os.ReadFile(r.path)
	must(t, err)
	if bytes.Contains(raw, []byte(secret)) {
		t.Error("secret in the bbolt file")
	}
}

func TestSlackForgedAndStale(t *testing.T) {
	t.Parallel()
	r := startSlack(t, false)
	body := []byte("team_id=T0001&channel_id=COPS&user_id=URILEY&command=%2Fcipp&text=delete-user+AdeleV%40contoso.com&trigger_id=1.2.3")
	tests := []struct {
		name   string
		header http.Header
	}{
		{"Unsigned", http.Header{}},
		{"Forged", func() http.Header {
			h := r.fs.Sign(body, time.Now())
			h.Set("X-Slack-Signature", "v0="+strings.Repeat("ab", 32))
			return h
		}()},
		{"Stale", r.fs.Sign(body, time.Now().Add(-10*time.Minute))},
		{"OtherSecret", func() http.Header {
			other := fakeslack.NewTest(t, fakeslack.Options{SigningSecret: "someone-elses-secret"})
			defer other.Close()
			return other.Sign(body, time.Now())
		}()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest("POST", r.base+"/slack/commands", bytes.NewReader(body))
			req.Header = tt.header.Clone()
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			resp, err := http.DefaultClient.Do(req)
			must(t, err)
			resp.Body.Close()
			if resp.StatusCode != http.StatusUnauthorized {
				t.Errorf("HTTP %d, want 401", resp.StatusCode)
			}
		})
	}
	// Once serve has stopped, whatever the requests started is done.
	r.stop(t)
	if n := len(r.fs.Calls()); n != 1 { // auth.test at start-up only
		t.Errorf("%d Web API calls after forged requests, want only auth.test", n)
	}
	if !strings.Contains(r.logs.String(), "bad signature") {
		t.Error("no warning logged for forged requests")
	}
}

func TestSlackRetryRunsOnce(t *testing.T) {
	t.Parallel()
	r := startSlack(t, false)
	var fields map[string]string
	must(t, json.Unmarshal(r.fs.SlashCommandPayload("/cipp", "revoke-sessions AdeleV@contoso.com", "COPS", "URILEY"), &fields))
	form := url.Values{}
	for k, v := range fields {
		form.Set(k, v)
	}
	body := []byte(form.Encode())
	for i := range 3 {
		req, _ := http.NewRequest("POST", r.base+"/slack/commands", bytes.NewReader(body))
		req.Header = r.fs.Sign(body, time.Now())
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if i > 0 {
			req.Header.Set("X-Slack-Retry-Num", "1")
			req.Header.Set("X-Slack-Retry-Reason", "http_timeout")
		}
		resp, err := http.DefaultClient.Do(req)
		must(t, err)
		resp.Body.Close()
	}
	r.wait(t, "result", func(m fakeslack.Message) bool { return strings.Contains(m.Text, "sessions revoked") })
	r.stop(t) // serve has finished whatever the retries started
	var revokes int
	for _, q := range r.sim.Requests() {
		if strings.HasSuffix(q.Path, "revokeSignInSessions") {
			revokes++
		}
	}
	if revokes != 1 {
		t.Errorf("revoked %d times for one command delivered 3 times", revokes)
	}
}

func TestSlackSecretFallsBackToDM(t *testing.T) {
	t.Parallel()
	r := startSlack(t, false)
	r.slash(t, "COPS", "URILEY", "create-tap AlexW@contoso.com")
	card := r.wait(t, "card", isCard)
	val := approveValue.FindStringSubmatch(string(card.Blocks))
	// riley left the channel after asking: Slack refuses the ephemeral.
	r.fs.FailNext("chat.postEphemeral", "user_not_in_channel")
	r.click(t, card, val[1], "USAM")
	dm := r.wait(t, "DM to riley", func(m fakeslack.Message) bool { return m.DM && m.User == "URILEY" })
	if !strings.Contains(string(dm.Blocks), "temporary access pass") {
		t.Errorf("DM: %s", dm.Blocks)
	}
	u, _ := r.sim.User(fakegraph.ContosoTenantID, "AlexW@contoso.com")
	if got := secretIn(t, dm.Blocks); got != u.TAP {
		t.Errorf("DM holds a different pass than the tenant")
	}
	for _, m := range r.fs.Messages() {
		if !m.DM && containsSecret(m.Blocks, u.TAP) {
			t.Errorf("TAP outside the DM: %+v", m)
		}
	}
}

func TestSlackNotInChannel(t *testing.T) {
	t.Parallel()
	r := startSlack(t, false)
	r.slash(t, "CQUIET", "URILEY", "delete-user AdeleV@contoso.com")
	r.wait(t, "invite hint", func(m fakeslack.Message) bool {
		return m.Ephemeral && m.User == "URILEY" && strings.Contains(m.Text, "Invite me")
	})
}

func TestSlackRateLimited(t *testing.T) {
	t.Parallel()
	r := startSlack(t, false)
	r.fs.RateLimit("chat.postMessage", 1, 0)
	r.slash(t, "COPS", "URILEY", "revoke-sessions AdeleV@contoso.com")
	r.wait(t, "result after ratelimited", func(m fakeslack.Message) bool { return strings.Contains(m.Text, "sessions revoked") })
}

func TestSlackSocketMode(t *testing.T) {
	t.Parallel()
	r := startSlack(t, true)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	must(t, r.fs.WaitForSocketConnections(ctx, 1))
	id, err := r.fs.SocketModeSlashCommand("/cipp", "block-signin AdeleV@contoso.com", "COPS", "URILEY")
	must(t, err)
	if _, err := r.fs.WaitForAck(ctx, id); err != nil {
		t.Fatalf("slash command envelope not acknowledged: %v", err)
	}
	card := r.wait(t, "card", isCard)
	val := approveValue.FindStringSubmatch(string(card.Blocks))
	id, err = r.fs.SocketModeClickButton(card, "cipp_approve", val[1], "USAM")
	must(t, err)
	if _, err := r.fs.WaitForAck(ctx, id); err != nil {
		t.Fatalf("click envelope not acknowledged: %v", err)
	}
	r.wait(t, "card updated", func(m fakeslack.Message) bool { return m.TS == card.TS && strings.Contains(m.Text, "sign-in blocked") })
	if u, _ := r.sim.User(fakegraph.ContosoTenantID, "AdeleV@contoso.com"); u.AccountEnabled {
		t.Fatal("user not blocked")
	}
}

func TestSlackBadAppTokenStops(t *testing.T) {
	t.Parallel()
	fs := fakeslack.NewTest(t, fakeslack.Options{})
	defer fs.Close()
	sim := fakegraph.NewTest(t, fakegraph.Options{})
	sim.Start()
	defer sim.Close()
	cfg := DefaultConfig()
	cfg.noSync = true // the store dies with the test
	cfg.DataPath = filepath.Join(t.TempDir(), "c.db")
	cfg.ClientID, cfg.ClientSecret = fakegraph.DefaultClientID, fakegraph.DefaultClientSecret
	cfg.GraphURL, cfg.AuthorityHost = sim.URL(), sim.URL()+"/"
	cfg.SlackBotToken, cfg.SlackAPIURL, cfg.SlackAppToken = fakeslack.DefaultBotToken, fs.APIURL(), "xapp-wrong"
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	err = runServe(ctx, cfg, sim.Client(), ln, slog.New(slog.DiscardHandler))
	if err == nil || ctx.Err() != nil || !strings.Contains(err.Error(), "SLACK_APP_TOKEN") {
		t.Fatalf("serve with a bad app token = %v, want a prompt error naming SLACK_APP_TOKEN", err)
	}
}

func TestMetricsAfterRequest(t *testing.T) {
	t.Parallel()
	r := startSlack(t, false)
	r.sim.Inject(fakegraph.Fault{Method: "POST", PathContains: "revokeSignInSessions", Status: 429, RetryAfter: "0"})
	r.slash(t, "COPS", "URILEY", "revoke-sessions AdeleV@contoso.com")
	r.wait(t, "result", func(m fakeslack.Message) bool { return strings.Contains(m.Text, "sessions revoked") })
	cardID(t, r, "block-signin AlexW@contoso.com")
	resp, err := http.Get(r.base + "/metrics")
	must(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{
		`cippbot_requests_total{action="revoke-sessions",outcome="ok",platform="slack"} 1`,
		`cippbot_requests_total{action="block-signin",outcome="pending",platform="slack"} 1`,
		`cippbot_audit_records_total{kind="outcome"}`,
		`cippbot_graph_throttled_total{tenant="` + fakegraph.ContosoTenantID + `"} 1`,
		`cippbot_graph_request_duration_seconds_count{status="200",tenant="` + fakegraph.ContosoTenantID + `"}`,
		`cippbot_approval_wait_seconds_count 0`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

// cardID asks for a destructive action and returns its approval ID.
func cardID(t *testing.T, r *slackRun, text string) string {
	t.Helper()
	r.slash(t, "COPS", "URILEY", text)
	card := r.wait(t, "card", func(m fakeslack.Message) bool { return isCard(m) && strings.Contains(m.Text, strings.Fields(text)[0]) })
	return approveValue.FindStringSubmatch(string(card.Blocks))[1]
}

func TestHealthAndReadiness(t *testing.T) {
	t.Parallel()
	r := startSlack(t, true) // Socket Mode: ready only once connected
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	must(t, r.fs.WaitForSocketConnections(ctx, 1))
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get(r.base + "/readyz")
		must(t, err)
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == 200 && strings.TrimSpace(string(body)) == "ready" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz: %d %s", resp.StatusCode, body)
		}
		time.Sleep(20 * time.Millisecond)
	}
	var stderr bytes.Buffer
	addr := strings.TrimPrefix(r.base, "http://")
	code := Main(context.Background(), []string{"healthcheck"}, nil, io.Discard, &stderr, func(k string) string {
		if k == "CIPPBOT_LISTEN" {
			return addr
		}
		return ""
	})
	if code != 0 {
		t.Errorf("healthcheck = %d: %s", code, stderr.String())
	}
	code = Main(context.Background(), []string{"healthcheck"}, nil, io.Discard, &stderr, func(k string) string {
		if k == "CIPPBOT_LISTEN" {
			return "127.0.0.1:1"
		}
		return ""
	})
	if code != 1 {
		t.Errorf("healthcheck of nothing = %d, want 1", code)
	}
}

func TestNotReadyWithoutTenants(t *testing.T) {
	t.Parallel()
	r := startSlack(t, false, slackOpts{noTenant: true})
	resp, err := http.Get(r.base + "/readyz")
	must(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(body), "no tenants") {
		t.Fatalf("/readyz without tenants = %d %q", resp.StatusCode, body)
	}
}

// TestSlackReasonModal: a destructive request without a reason gets a
// button; the button opens a modal; its answer becomes the card's reason.
func TestSlackReasonModal(t *testing.T) {
	t.Parallel()
	r := startSlack(t, false, slackOpts{reasonRequired: true})
	r.slash(t, "COPS", "URILEY", "block-signin AdeleV@contoso.com")
	ask := r.wait(t, "question", func(m fakeslack.Message) bool {
		return m.Ephemeral && m.User == "URILEY" && strings.Contains(m.Text, "A reason is needed")
	})
	val := regexp.MustCompile(`"value":"(ask [0-9a-f]+)"`).FindStringSubmatch(string(ask.Blocks))
	if val == nil {
		t.Fatalf("no question button: %s", ask.Blocks)
	}
	r.click(t, ask, val[1], "URILEY")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	view, err := r.fs.WaitForView(ctx, func(v fakeslack.View) bool { return v.User == "URILEY" })
	must(t, err)
	resp, err := r.fs.SubmitView(r.base+"/slack/interactions", view.ID,
		map[string]map[string]string{"reason": {"reason": `left on "bad terms"`}}, "URILEY")
	must(t, err)
	resp.Body.Close()
	card := r.wait(t, "card with the reason", isCard)
	if !strings.Contains(string(card.Blocks), `Reason: left on \"bad terms\"`) {
		t.Errorf("card: %s", card.Blocks)
	}
	if v, _ := r.fs.WaitForView(ctx, func(v fakeslack.View) bool { return v.ID == view.ID && v.Closed }); !v.Closed {
		t.Error("the modal stayed open")
	}
}

// TestSlackReasonModalSocketMode: over Socket Mode a blank reason is
// answered, in the ack, with an error on its input, and the modal stays
// open; a real one becomes the card's reason.
func TestSlackReasonModalSocketMode(t *testing.T) {
	t.Parallel()
	r := startSlack(t, true, slackOpts{reasonRequired: true})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	must(t, r.fs.WaitForSocketConnections(ctx, 1))
	_, err := r.fs.SocketModeSlashCommand("/cipp", "block-signin AdeleV@contoso.com", "COPS", "URILEY")
	must(t, err)
	ask := r.wait(t, "question", func(m fakeslack.Message) bool {
		return m.Ephemeral && m.User == "URILEY" && strings.Contains(m.Text, "A reason is needed")
	})
	val := regexp.MustCompile(`"value":"(ask [0-9a-f]+)"`).FindStringSubmatch(string(ask.Blocks))
	if val == nil {
		t.Fatalf("no question button: %s", ask.Blocks)
	}
	_, err = r.fs.SocketModeClickButton(ask, "cipp_ask", val[1], "URILEY")
	must(t, err)
	view, err := r.fs.WaitForView(ctx, func(v fakeslack.View) bool { return v.User == "URILEY" })
	must(t, err)
	_, err = r.fs.SocketModeSubmitView(view.ID, map[string]map[string]string{"reason": {"reason": " \n "}}, "URILEY")
	must(t, err)
	v, err := r.fs.WaitForView(ctx, func(v fakeslack.View) bool { return v.ID == view.ID && v.Errors != nil })
	must(t, err)
	if v.Closed || v.Errors["reason"] == "" {
		t.Fatalf("blank reason answered with %+v", v)
	}
	_, err = r.fs.SocketModeSubmitView(view.ID, map[string]map[string]string{"reason": {"reason": "contract ended"}}, "URILEY")
	must(t, err)
	card := r.wait(t, "card with the reason", isCard)
	if !strings.Contains(string(card.Blocks), "Reason: contract ended") {
		t.Errorf("card: %s", card.Blocks)
	}
	if v, _ := r.fs.WaitForView(ctx, func(v fakeslack.View) bool { return v.ID == view.ID && v.Closed }); !v.Closed {
		t.Error("the modal stayed open")
	}
}

// TestSlackAddUserForm: add-user without its fields asks a form of every
// field, prefilled with what was typed; the submission becomes the
// request.
func TestSlackAddUserForm(t *testing.T) {
	t.Parallel()
	r := startSlack(t, false)
	r.slash(t, "COPS", "URILEY", "add-user jobTitle=Buyer")
	ask := r.wait(t, "form", func(m fakeslack.Message) bool {
		return m.Ephemeral && m.User == "URILEY" && strings.Contains(string(m.Blocks), `"ask `)
	})
	val := regexp.MustCompile(`"value":"(ask [0-9a-f]+)"`).FindStringSubmatch(string(ask.Blocks))
	r.click(t, ask, val[1], "URILEY")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	view, err := r.fs.WaitForView(ctx, func(v fakeslack.View) bool { return v.User == "URILEY" })
	must(t, err)
	var obj struct {
		Blocks []struct {
			BlockID  string `json:"block_id"`
			Optional bool   `json:"optional"`
			Element  struct {
				InitialValue string `json:"initial_value"`
			} `json:"element"`
		} `json:"blocks"`
	}
	must(t, json.Unmarshal(view.JSON, &obj))
	inputs := map[string]string{}
	for _, b := range obj.Blocks {
		inputs[b.BlockID] = b.Element.InitialValue
	}
	if len(obj.Blocks) < 7 || obj.Blocks[0].BlockID != "displayname" || obj.Blocks[0].Optional || inputs["jobtitle"] != "Buyer" {
		t.Fatalf("form: %s", view.JSON)
	}
	resp, err := r.fs.SubmitView(r.base+"/slack/interactions", view.ID, map[string]map[string]string{
		"displayname": {"displayname": "Jane Doe"}, "mailnickname": {"mailnickname": "jane.doe"},
		"primdomain": {"primdomain": "contoso.com"}, "givenname": {"givenname": "Jane"}}, "URILEY")
	must(t, err)
	resp.Body.Close()
	card := r.wait(t, "card for the new user", isCard)
	for _, want := range []string{"jane.doe@contoso.com", "Buyer"} {
		if !strings.Contains(string(card.Blocks), want) {
			t.Errorf("card lacks %q: %s", want, card.Blocks)
		}
	}
}
