package fakeslack_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/cippbot/cippbot/internal/fakeslack"
)

func TestSignSlackDocsVector(t *testing.T) {
	t.Parallel()
	s := fakeslack.NewTest(t, fakeslack.Options{SigningSecret: "8f742231b10e8888abcd99yyyzzz85a5"})
	defer s.Close()
	body := "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
	h := s.Sign([]byte(body), time.Unix(1531420618, 0))
	if got := h.Get("X-Slack-Request-Timestamp"); got != "1531420618" {
		t.Errorf("timestamp = %q", got)
	}
	if got, want := h.Get("X-Slack-Signature"), "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"; got != want {
		t.Errorf("signature = %q, want %q", got, want)
	}
}

func TestSignVerifiesWithSlackGo(t *testing.T) {
	t.Parallel()
	s := fakeslack.NewTest(t, fakeslack.Options{})
	defer s.Close()
	body := []byte("payload=%7B%7D")
	h := s.Sign(body, time.Now())
	sv, err := slack.NewSecretsVerifier(h, fakeslack.DefaultSigningSecret)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = sv.Write(body)
	if err := sv.Ensure(); err != nil {
		t.Fatalf("Ensure: %v", err)
	}
	// A tampered body or another secret fails.
	sv, _ = slack.NewSecretsVerifier(h, fakeslack.DefaultSigningSecret)
	_, _ = sv.Write([]byte("payload=%7B%22x%22%7D"))
	if err := sv.Ensure(); err == nil {
		t.Fatal("tampered body verified")
	}
	sv, _ = slack.NewSecretsVerifier(h, "other-secret")
	_, _ = sv.Write(body)
	if err := sv.Ensure(); err == nil {
		t.Fatal("wrong secret verified")
	}
}

// app is a minimal Slack app under test: it verifies signatures with
// slack-go and hands each parsed request to a callback.
type app struct {
	t        *testing.T
	secret   string
	mu       sync.Mutex
	commands []slack.SlashCommand
	clicks   []slack.InteractionCallback
	// answer is the body returned to slash commands.
	answer      string
	answerCType string
	onClick     func(slack.InteractionCallback)
}

func (a *app) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	sv, err := slack.NewSecretsVerifier(r.Header, a.secret)
	if err != nil {
		http.Error(w, err.Error(), http.StatusUnauthorized)
		return
	}
	_, _ = sv.Write(body)
	if err := sv.Ensure(); err != nil {
		http.Error(w, err.Error(), http.StatusUnauthorized)
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	switch r.URL.Path {
	case "/slack/commands":
		cmd, err := slack.SlashCommandParse(r)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		a.mu.Lock()
		a.commands = append(a.commands, cmd)
		a.mu.Unlock()
		if a.answer != "" {
			w.Header().Set("Content-Type", a.answerCType)
			_, _ = io.WriteString(w, a.answer)
		}
	case "/slack/interactive":
		ic, err := slack.InteractionCallbackParse(r)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		a.mu.Lock()
		a.clicks = append(a.clicks, ic)
		a.mu.Unlock()
		if a.onClick != nil {
			a.onClick(ic)
		}
	default:
		http.NotFound(w, r)
	}
}

func newApp(t *testing.T) (*app, string) {
	a := &app{t: t, secret: fakeslack.DefaultSigningSecret}
	hs := httptest.NewServer(a)
	t.Cleanup(hs.Close)
	return a, hs.URL
}

func TestSlashCommand(t *testing.T) {
	t.Parallel()
	s := newServer(t, fakeslack.Options{})
	a, base := newApp(t)
	a.answer, a.answerCType = `{"text":"Working on it…"}`, "application/json"

	resp, err := s.SlashCommand(base+"/slack/commands", "/cipp", "reset alice@contoso.com", "C1", "UALICE")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), "Working") {
		t.Fatalf("response %d %s", resp.StatusCode, body)
	}
	if len(a.commands) != 1 {
		t.Fatalf("app got %d commands", len(a.commands))
	}
	cmd := a.commands[0]
	if cmd.Command != "/cipp" || cmd.Text != "reset alice@contoso.com" || cmd.ChannelID != "C1" || cmd.ChannelName != "ops" ||
		cmd.UserID != "UALICE" || cmd.UserName == "" || cmd.TeamID != fakeslack.DefaultTeamID || cmd.TeamDomain != fakeslack.TeamDomain ||
		cmd.APIAppID != fakeslack.AppID || cmd.TriggerID == "" || !strings.HasPrefix(cmd.ResponseURL, s.URL()+"/response/") {
		t.Fatalf("command = %+v", cmd)
	}

	// The immediate answer became an ephemeral message for the invoker.
	m := onlyMessage(t, s)
	if m.Via != fakeslack.ViaAck || !m.Ephemeral || m.User != "UALICE" || m.Text != "Working on it…" || m.Channel != "C1" {
		t.Fatalf("ack message = %+v", m)
	}

	// The response_url works with slack-go's webhook client.
	err = slack.PostWebhookContext(context.Background(), cmd.ResponseURL, &slack.WebhookMessage{
		Text: "Done", ResponseType: slack.ResponseTypeInChannel})
	if err != nil {
		t.Fatal(err)
	}
	msgs := s.Messages()
	if len(msgs) != 2 || msgs[1].Via != fakeslack.ViaResponseURL || msgs[1].Ephemeral || msgs[1].User != "" || msgs[1].Text != "Done" {
		t.Fatalf("messages = %+v", msgs)
	}

	// Trigger IDs are unique.
	resp, err = s.SlashCommand(base+"/slack/commands", "/cipp", "help", "C1", "UBOB")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if a.commands[1].TriggerID == cmd.TriggerID || a.commands[1].ResponseURL == cmd.ResponseURL {
		t.Fatal("trigger_id or response_url reused")
	}
}

func TestSlashCommandPlainTextAnswer(t *testing.T) {
	t.Parallel()
	s := newServer(t, fakeslack.Options{})
	a, base := newApp(t)
	a.answer, a.answerCType = "Unknown command", "text/plain; charset=utf-8"
	resp, err := s.SlashCommand(base+"/slack/commands", "/cipp", "frobnicate", "C1", "UBOB")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if m := onlyMessage(t, s); m.Text != "Unknown command" || m.User != "UBOB" || !m.Ephemeral {
		t.Fatalf("message = %+v", m)
	}
}

func TestSlashCommandRefusesOutsiders(t *testing.T) {
	t.Parallel()
	s := newServer(t, fakeslack.Options{})
	_, base := newApp(t)
	if _, err := s.SlashCommand(base+"/slack/commands", "/cipp", "", "C2", "UBOB"); err == nil {
		t.Fatal("non-member ran a slash command")
	}
	if _, err := s.SlashCommand(base+"/slack/commands", "/cipp", "", "C404", "UBOB"); err == nil {
		t.Fatal("slash command in unknown channel")
	}
}

func TestSlashCommandWrongSecretRejected(t *testing.T) {
	t.Parallel()
	s := newServer(t, fakeslack.Options{SigningSecret: "not-the-apps-secret"})
	_, base := newApp(t)
	resp, err := s.SlashCommand(base+"/slack/commands", "/cipp", "", "C1", "UBOB")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("status %d, want 401", resp.StatusCode)
	}
	if n := len(s.Messages()); n != 0 {
		t.Fatalf("%d messages from an error answer", n)
	}
}

func postApproval(t *testing.T, s *fakeslack.Server) fakeslack.Message {
	t.Helper()
	_, ts, err := botClient(s).PostMessage("C1", slack.MsgOptionText("Reset password?", false),
		slack.MsgOptionBlocks(approveBlocks()...))
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range s.Messages() {
		if m.TS == ts {
			return m
		}
	}
	t.Fatal("posted message not found")
	return fakeslack.Message{}
}

func TestClickButtonReplaceOriginal(t *testing.T) {
	t.Parallel()
	s := newServer(t, fakeslack.Options{})
	a, base := newApp(t)
	a.onClick = func(ic slack.InteractionCallback) {
		err := slack.PostWebhook(ic.ResponseURL, &slack.WebhookMessage{Text: "Approved by " + ic.User.Name, ReplaceOriginal: true})
		if err != nil {
			t.Errorf("replace_original: %v", err)
		}
	}
	msg := postApproval(t, s)
	resp, err := s.ClickButton(base+"/slack/interactive", msg, "cipp:approve", "approve 42", "UBOB")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || len(a.clicks) != 1 {
		t.Fatalf("status %d, %d clicks", resp.StatusCode, len(a.clicks))
	}
	ic := a.clicks[0]
	if ic.Type != slack.InteractionTypeBlockActions || ic.User.ID != "UBOB" || ic.Team.ID != fakeslack.DefaultTeamID ||
		ic.Channel.ID != "C1" || ic.Channel.Name != "ops" || ic.Container.MessageTs != msg.TS || ic.Container.ChannelID != "C1" ||
		ic.Container.IsEphemeral || ic.Message.Timestamp != msg.TS || ic.TriggerID == "" || ic.APIAppID != fakeslack.AppID {
		t.Fatalf("callback = %+v", ic)
	}
	if len(ic.Message.Blocks.BlockSet) != 2 {
		t.Fatalf("message blocks = %+v", ic.Message.Blocks)
	}
	acts := ic.ActionCallback.BlockActions
	if len(acts) != 1 || acts[0].ActionID != "cipp:approve" || acts[0].Value != "approve 42" || acts[0].BlockID != "cipp_buttons" ||
		acts[0].Text.Text != "Approve" || acts[0].ActionTs == "" {
		t.Fatalf("actions = %+v", acts)
	}
	m := onlyMessage(t, s)
	if m.Text != "Approved by ubob" || m.Blocks != nil || m.Updated != 1 || m.Via != fakeslack.ViaResponseURL {
		t.Fatalf("message = %+v", m)
	}
	// The buttons are gone now, so they cannot be clicked again.
	if _, err := s.ClickButton(base+"/slack/interactive", msg, "cipp:approve", "approve 42", "UBOB"); err == nil {
		t.Fatal("clicked a button that is no longer shown")
	}
}

func TestClickButtonRefusesUnshownButtons(t *testing.T) {
	t.Parallel()
	s := newServer(t, fakeslack.Options{})
	a, base := newApp(t)
	msg := postApproval(t, s)
	for _, tc := range []struct{ name, action, value string }{
		{"unknown action", "cipp:delete", "approve 42"},
		{"other value", "cipp:approve", "approve 43"},
	} {
		if _, err := s.ClickButton(base+"/slack/interactive", msg, tc.action, tc.value, "UBOB"); err == nil {
			t.Errorf("%s: click accepted", tc.name)
		}
	}
	if _, err := s.ClickButton(base+"/slack/interactive", fakeslack.Message{Channel: "C1", TS: "1.000000"}, "cipp:approve", "approve 42", "UBOB"); err == nil {
		t.Error("clicked a message never posted")
	}
	if len(a.clicks) != 0 {
		t.Fatalf("app received %d clicks", len(a.clicks))
	}
}

func TestClickEphemeralButton(t *testing.T) {
	t.Parallel()
	s := newServer(t, fakeslack.Options{})
	a, base := newApp(t)
	a.onClick = func(ic slack.InteractionCallback) {
		if err := slack.PostWebhook(ic.ResponseURL, &slack.WebhookMessage{DeleteOriginal: true}); err != nil {
			t.Errorf("delete_original: %v", err)
		}
	}
	ts, err := botClient(s).PostEphemeral("C1", "UALICE", slack.MsgOptionText("Confirm?", false),
		slack.MsgOptionBlocks(approveBlocks()...))
	if err != nil {
		t.Fatal(err)
	}
	msg := onlyMessage(t, s)
	if _, err := s.ClickButton(base+"/slack/interactive", msg, "cipp:deny", "deny 42", "UBOB"); err == nil {
		t.Fatal("UBOB clicked UALICE's ephemeral message")
	}
	resp, err := s.ClickButton(base+"/slack/interactive", msg, "cipp:deny", "deny 42", "UALICE")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	ic := a.clicks[0]
	if !ic.Container.IsEphemeral || ic.Container.MessageTs != ts || ic.Message.Timestamp != "" {
		t.Fatalf("ephemeral callback container %+v message ts %q", ic.Container, ic.Message.Timestamp)
	}
	if n := len(s.Messages()); n != 0 {
		t.Fatalf("%d messages after delete_original", n)
	}
}

func TestBlockActionsPayloadParses(t *testing.T) {
	t.Parallel()
	s := newServer(t, fakeslack.Options{})
	msg := postApproval(t, s)
	var ic slack.InteractionCallback
	if err := json.Unmarshal(s.BlockActionsPayload(msg, "cipp:deny", "deny 42", "UALICE"), &ic); err != nil {
		t.Fatal(err)
	}
	if ic.User.ID != "UALICE" || len(ic.ActionCallback.BlockActions) != 1 || ic.ActionCallback.BlockActions[0].Value != "deny 42" {
		t.Fatalf("callback = %+v", ic)
	}
}

func TestResponseURLLimits(t *testing.T) {
	t.Parallel()
	now := time.Unix(1700000000, 0)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	s := newServer(t, fakeslack.Options{Now: clock})
	u := s.ResponseURL("C1", "UALICE")
	ctx := context.Background()
	for i := range 5 {
		if err := slack.PostWebhookContext(ctx, u, &slack.WebhookMessage{Text: "step"}); err != nil {
			t.Fatalf("post %d: %v", i+1, err)
		}
	}
	err := slack.PostWebhookContext(ctx, u, &slack.WebhookMessage{Text: "sixth"})
	var sce slack.StatusCodeError
	if !errors.As(err, &sce) || sce.Code != http.StatusNotFound {
		t.Fatalf("sixth post: %v", err)
	}
	msgs := s.Messages()
	if len(msgs) != 5 || !msgs[0].Ephemeral || msgs[0].User != "UALICE" || msgs[0].Via != fakeslack.ViaResponseURL {
		t.Fatalf("messages = %+v", msgs)
	}

	u2 := s.ResponseURL("C1", "UALICE")
	mu.Lock()
	now = now.Add(31 * time.Minute)
	mu.Unlock()
	if err := slack.PostWebhookContext(ctx, u2, &slack.WebhookMessage{Text: "late"}); !errors.As(err, &sce) || sce.Code != http.StatusNotFound {
		t.Fatalf("expired post: %v", err)
	}
	// The response body says why.
	resp, err := http.Post(u2, "application/json", strings.NewReader(`{"text":"x"}`))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 404 || !strings.Contains(string(b), "expired_url") {
		t.Fatalf("expired answer %d %s", resp.StatusCode, b)
	}
}

func TestResponseURLViaChatOptions(t *testing.T) {
	t.Parallel()
	// slack-go's MsgOptionResponseURL path parses the answer by content type.
	s := newServer(t, fakeslack.Options{})
	u := s.ResponseURL("C1", "UBOB")
	_, _, err := botClient(s).PostMessage("C1", slack.MsgOptionText("via chat", false),
		slack.MsgOptionResponseURL(u, slack.ResponseTypeEphemeral))
	if err != nil {
		t.Fatal(err)
	}
	if m := onlyMessage(t, s); m.User != "UBOB" || !m.Ephemeral || m.Text != "via chat" {
		t.Fatalf("message = %+v", m)
	}
	if n := len(s.Calls()); n != 0 {
		t.Fatalf("response_url post recorded as %d Web API calls", n)
	}
}

func TestResponseURLInDM(t *testing.T) {
	t.Parallel()
	s := newServer(t, fakeslack.Options{})
	dm, _, _, err := botClient(s).OpenConversation(&slack.OpenConversationParameters{Users: []string{"UALICE"}})
	if err != nil {
		t.Fatal(err)
	}
	u := s.ResponseURL(dm.ID, "UALICE")
	if err := slack.PostWebhook(u, &slack.WebhookMessage{Text: "secret", ResponseType: slack.ResponseTypeInChannel}); err != nil {
		t.Fatal(err)
	}
	if m := onlyMessage(t, s); !m.DM || m.User != "UALICE" || m.Ephemeral {
		t.Fatalf("message = %+v", m)
	}
}
