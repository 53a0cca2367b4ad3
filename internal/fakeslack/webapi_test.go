package fakeslack_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/cippbot/cippbot/internal/fakeslack"
)

// newServer starts a fake with channel C1 "ops" holding the bot, UALICE
// and UBOB, and channel C2 "quiet" holding UALICE but not the bot.
func newServer(t *testing.T, opts fakeslack.Options) *fakeslack.Server {
	t.Helper()
	s := fakeslack.NewTest(t, opts)
	t.Cleanup(s.Close)
	s.AddChannel("C1", "ops", "UBOT", "UALICE", "UBOB")
	s.AddChannel("C2", "quiet", "UALICE")
	return s
}

func botClient(s *fakeslack.Server) *slack.Client {
	return slack.New(fakeslack.DefaultBotToken, slack.OptionAPIURL(s.APIURL()))
}

func slackErr(t *testing.T, err error) string {
	t.Helper()
	var se slack.SlackErrorResponse
	if !errors.As(err, &se) {
		t.Fatalf("error %v (%T) is not a Slack error response", err, err)
	}
	return se.Err
}

func onlyMessage(t *testing.T, s *fakeslack.Server) fakeslack.Message {
	t.Helper()
	msgs := s.Messages()
	if len(msgs) != 1 {
		t.Fatalf("got %d messages, want 1: %+v", len(msgs), msgs)
	}
	return msgs[0]
}

func approveBlocks() []slack.Block {
	return []slack.Block{
		slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, "*Reset password?*", false, false), nil, nil),
		slack.NewActionBlock("cipp_buttons",
			slack.NewButtonBlockElement("cipp:approve", "approve 42",
				slack.NewTextBlockObject(slack.PlainTextType, "Approve", false, false)).WithStyle(slack.StylePrimary),
			slack.NewButtonBlockElement("cipp:deny", "deny 42",
				slack.NewTextBlockObject(slack.PlainTextType, "Deny", false, false)).WithStyle(slack.StyleDanger),
		),
	}
}

func TestAPIURLHasTrailingSlash(t *testing.T) {
	t.Parallel()
	s := newServer(t, fakeslack.Options{})
	if !regexp.MustCompile(`^http://127\.0\.0\.1:\d+/api/$`).MatchString(s.APIURL()) {
		t.Fatalf("APIURL() = %q", s.APIURL())
	}
}

func TestAuthTest(t *testing.T) {
	t.Parallel()
	s := newServer(t, fakeslack.Options{TeamID: "T42", BotUserID: "UCIPP"})
	resp, err := botClient(s).AuthTest()
	if err != nil {
		t.Fatal(err)
	}
	if resp.UserID != "UCIPP" || resp.TeamID != "T42" || resp.BotID != fakeslack.BotID {
		t.Fatalf("auth.test = %+v", resp)
	}
}

func TestPostMessage(t *testing.T) {
	t.Parallel()
	s := newServer(t, fakeslack.Options{})
	ch, ts, err := botClient(s).PostMessage("C1",
		slack.MsgOptionText("Reset password?", false), slack.MsgOptionBlocks(approveBlocks()...))
	if err != nil {
		t.Fatal(err)
	}
	if ch != "C1" || !regexp.MustCompile(`^\d+\.\d{6}$`).MatchString(ts) {
		t.Fatalf("PostMessage = %q, %q", ch, ts)
	}
	m := onlyMessage(t, s)
	if m.Channel != "C1" || m.TS != ts || m.User != "" || m.Ephemeral || m.DM ||
		m.Text != "Reset password?" || m.Via != fakeslack.ViaPostMessage || m.Updated != 0 {
		t.Fatalf("message = %+v", m)
	}
	var blocks slack.Blocks
	if err := json.Unmarshal(m.Blocks, &blocks); err != nil || len(blocks.BlockSet) != 2 {
		t.Fatalf("blocks %s: %v", m.Blocks, err)
	}
	calls := s.CallsTo("chat.postMessage")
	if len(calls) != 1 {
		t.Fatalf("calls = %+v", s.Calls())
	}
	c := calls[0]
	if c.Token != fakeslack.DefaultBotToken || c.Params.Get("channel") != "C1" || c.Params.Get("text") != "Reset password?" || c.Status != 200 {
		t.Fatalf("call = %+v", c)
	}
	if !strings.Contains(string(c.Response), `"ok":true`) {
		t.Fatalf("response = %s", c.Response)
	}
}

func TestPostMessageResolvesChannelName(t *testing.T) {
	t.Parallel()
	s := newServer(t, fakeslack.Options{})
	ch, _, err := botClient(s).PostMessage("#ops", slack.MsgOptionText("hi", false))
	if err != nil || ch != "C1" {
		t.Fatalf("PostMessage(#ops) = %q, %v", ch, err)
	}
}

func TestTimestampsUniqueAndIncreasing(t *testing.T) {
	t.Parallel()
	frozen := time.Unix(1700000000, 0)
	s := newServer(t, fakeslack.Options{Now: func() time.Time { return frozen }})
	api := botClient(s)
	var prev string
	for i := range 5 {
		_, ts, err := api.PostMessage("C1", slack.MsgOptionText("n", false))
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 && ts != "1700000000.000000" {
			t.Fatalf("first ts = %q", ts)
		}
		if ts <= prev {
			t.Fatalf("ts %q not after %q", ts, prev)
		}
		prev = ts
	}
}

func TestPostMessageErrors(t *testing.T) {
	t.Parallel()
	s := newServer(t, fakeslack.Options{})
	api := botClient(s)
	tooLong := strings.Repeat("x", 76)
	for _, tc := range []struct {
		name    string
		channel string
		opts    []slack.MsgOption
		want    string
	}{
		{"unknown channel", "C404", []slack.MsgOption{slack.MsgOptionText("hi", false)}, "channel_not_found"},
		{"bot not member", "C2", []slack.MsgOption{slack.MsgOptionText("hi", false)}, "not_in_channel"},
		{"no content", "C1", nil, "no_text"},
		{"empty blocks", "C1", []slack.MsgOption{slack.MsgOptionBlocks()}, "no_text"},
		{"button text too long", "C1", []slack.MsgOption{slack.MsgOptionBlocks(slack.NewActionBlock("b",
			slack.NewButtonBlockElement("a", "v", slack.NewTextBlockObject(slack.PlainTextType, tooLong, false, false))))}, "invalid_blocks"},
		{"duplicate action_id", "C1", []slack.MsgOption{slack.MsgOptionBlocks(slack.NewActionBlock("b",
			slack.NewButtonBlockElement("a", "1", slack.NewTextBlockObject(slack.PlainTextType, "One", false, false)),
			slack.NewButtonBlockElement("a", "2", slack.NewTextBlockObject(slack.PlainTextType, "Two", false, false))))}, "invalid_blocks"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := api.PostMessage(tc.channel, tc.opts...)
			if got := slackErr(t, err); got != tc.want {
				t.Fatalf("error = %q, want %q", got, tc.want)
			}
		})
	}
	if n := len(s.Messages()); n != 0 {
		t.Fatalf("%d messages stored by failed calls", n)
	}
	if n := len(s.CallsTo("chat.postMessage")); n != 6 {
		t.Fatalf("recorded %d failed calls, want 6", n)
	}
}

func TestPostEphemeral(t *testing.T) {
	t.Parallel()
	s := newServer(t, fakeslack.Options{})
	api := botClient(s)
	ts, err := api.PostEphemeral("C1", "UALICE", slack.MsgOptionText("only you", false))
	if err != nil {
		t.Fatal(err)
	}
	m := onlyMessage(t, s)
	if m.TS != ts || !m.Ephemeral || m.User != "UALICE" || m.Via != fakeslack.ViaPostEphemeral || m.Text != "only you" {
		t.Fatalf("message = %+v", m)
	}

	s.AddChannel("C3", "other", "UBOT", "UBOB")
	for _, tc := range []struct{ channel, user, want string }{
		{"C3", "UALICE", "user_not_in_channel"},
		{"C2", "UALICE", "not_in_channel"},
		{"C404", "UALICE", "channel_not_found"},
	} {
		_, err := api.PostEphemeral(tc.channel, tc.user, slack.MsgOptionText("x", false))
		if got := slackErr(t, err); got != tc.want {
			t.Errorf("PostEphemeral(%s, %s) error = %q, want %q", tc.channel, tc.user, got, tc.want)
		}
	}
}

func TestUpdateMessage(t *testing.T) {
	t.Parallel()
	s := newServer(t, fakeslack.Options{})
	api := botClient(s)
	_, ts, err := api.PostMessage("C1", slack.MsgOptionText("pending", false), slack.MsgOptionBlocks(approveBlocks()...))
	if err != nil {
		t.Fatal(err)
	}
	ch, uts, text, err := api.UpdateMessage("C1", ts, slack.MsgOptionText("approved", false), slack.MsgOptionBlocks())
	if err != nil {
		t.Fatal(err)
	}
	if ch != "C1" || uts != ts || text != "approved" {
		t.Fatalf("UpdateMessage = %q %q %q", ch, uts, text)
	}
	m := onlyMessage(t, s)
	if m.Text != "approved" || m.Blocks != nil || m.Updated != 1 || m.Via != fakeslack.ViaUpdate {
		t.Fatalf("message = %+v", m)
	}

	// Text alone keeps the blocks, as on Slack.
	_, ts2, _ := api.PostMessage("C1", slack.MsgOptionText("a", false), slack.MsgOptionBlocks(approveBlocks()...))
	if _, _, _, err := api.UpdateMessage("C1", ts2, slack.MsgOptionText("b", false)); err != nil {
		t.Fatal(err)
	}
	if m := s.Messages()[1]; m.Text != "b" || m.Blocks == nil {
		t.Fatalf("message = %+v", m)
	}

	if _, _, _, err := api.UpdateMessage("C1", "1.000001", slack.MsgOptionText("x", false)); slackErr(t, err) != "message_not_found" {
		t.Fatalf("unknown ts: %v", err)
	}
	ets, err := api.PostEphemeral("C1", "UALICE", slack.MsgOptionText("eph", false))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := api.UpdateMessage("C1", ets, slack.MsgOptionText("x", false)); slackErr(t, err) != "message_not_found" {
		t.Fatalf("ephemeral update: %v", err)
	}
}

func TestDeleteMessage(t *testing.T) {
	t.Parallel()
	s := newServer(t, fakeslack.Options{})
	api := botClient(s)
	_, ts, _ := api.PostMessage("C1", slack.MsgOptionText("bye", false))
	if _, _, err := api.DeleteMessage("C1", ts); err != nil {
		t.Fatal(err)
	}
	if n := len(s.Messages()); n != 0 {
		t.Fatalf("%d messages after delete", n)
	}
}

func TestOpenConversationDM(t *testing.T) {
	t.Parallel()
	s := newServer(t, fakeslack.Options{})
	api := botClient(s)
	dm, _, already, err := api.OpenConversation(&slack.OpenConversationParameters{Users: []string{"UALICE"}})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(dm.ID, "D") || already {
		t.Fatalf("OpenConversation = %+v, already=%v", dm, already)
	}
	if _, _, err := api.PostMessage(dm.ID, slack.MsgOptionText("your password", false)); err != nil {
		t.Fatal(err)
	}
	m := onlyMessage(t, s)
	if m.Channel != dm.ID || m.Via != fakeslack.ViaDM || m.User != "UALICE" || !m.DM || m.Ephemeral {
		t.Fatalf("message = %+v", m)
	}

	again, _, already, err := api.OpenConversation(&slack.OpenConversationParameters{Users: []string{"UALICE"}})
	if err != nil || again.ID != dm.ID || !already {
		t.Fatalf("second open = %+v, %v, %v", again, already, err)
	}
	// Posting to a user ID lands in the same DM, as on Slack.
	if ch, _, err := api.PostMessage("UALICE", slack.MsgOptionText("hi", false)); err != nil || ch != dm.ID {
		t.Fatalf("PostMessage(UALICE) = %q, %v", ch, err)
	}
	if _, _, _, err := api.OpenConversation(&slack.OpenConversationParameters{Users: []string{"not-a-user"}}); slackErr(t, err) != "user_not_found" {
		t.Fatalf("bad user: %v", err)
	}
}

func TestTokens(t *testing.T) {
	t.Parallel()
	s := newServer(t, fakeslack.Options{})
	for _, tc := range []struct{ token, want string }{
		{"xoxb-wrong", "invalid_auth"},
		{"", "not_authed"},
		{fakeslack.DefaultAppToken, "not_allowed_token_type"},
	} {
		api := slack.New(tc.token, slack.OptionAPIURL(s.APIURL()))
		_, _, err := api.PostMessage("C1", slack.MsgOptionText("hi", false))
		if got := slackErr(t, err); got != tc.want {
			t.Errorf("token %q: error %q, want %q", tc.token, got, tc.want)
		}
		if _, err := api.AuthTest(); err == nil || err.Error() != tc.want {
			t.Errorf("token %q: auth.test error %v, want %q", tc.token, err, tc.want)
		}
	}
	if n := len(s.Messages()); n != 0 {
		t.Fatalf("%d messages stored without auth", n)
	}
	calls := s.Calls()
	if len(calls) != 6 || calls[0].Token != "xoxb-wrong" {
		t.Fatalf("calls = %+v", calls)
	}
}

func TestRateLimit(t *testing.T) {
	t.Parallel()
	s := newServer(t, fakeslack.Options{})
	api := botClient(s)
	s.RateLimit("chat.postMessage", 2, 7)
	for range 2 {
		_, _, err := api.PostMessage("C1", slack.MsgOptionText("hi", false))
		var rl *slack.RateLimitedError
		if !errors.As(err, &rl) || rl.RetryAfter != 7*time.Second {
			t.Fatalf("error = %v (%T), want RateLimitedError 7s", err, err)
		}
	}
	// Other methods are not limited, and the limit runs out.
	if _, err := api.PostEphemeral("C1", "UALICE", slack.MsgOptionText("x", false)); err != nil {
		t.Fatal(err)
	}
	if _, _, err := api.PostMessage("C1", slack.MsgOptionText("hi", false)); err != nil {
		t.Fatal(err)
	}
	calls := s.CallsTo("chat.postMessage")
	if len(calls) != 3 || calls[0].Status != 429 || calls[2].Status != 200 {
		t.Fatalf("calls = %+v", calls)
	}
	if !strings.Contains(string(calls[0].Response), `"ratelimited"`) {
		t.Fatalf("response = %s", calls[0].Response)
	}
}

func TestFailNext(t *testing.T) {
	t.Parallel()
	s := newServer(t, fakeslack.Options{})
	api := botClient(s)
	s.FailNext("chat.update", "cant_update_message")
	s.FailNext("chat.update", "edit_window_closed")
	_, ts, _ := api.PostMessage("C1", slack.MsgOptionText("a", false))
	for _, want := range []string{"cant_update_message", "edit_window_closed"} {
		_, _, _, err := api.UpdateMessage("C1", ts, slack.MsgOptionText("b", false))
		if got := slackErr(t, err); got != want {
			t.Fatalf("error %q, want %q", got, want)
		}
	}
	if _, _, _, err := api.UpdateMessage("C1", ts, slack.MsgOptionText("b", false)); err != nil {
		t.Fatal(err)
	}
}

func TestUnknownMethodAndJSONBody(t *testing.T) {
	t.Parallel()
	s := newServer(t, fakeslack.Options{})
	post := func(method, ctype, body string, bearer bool) map[string]any {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, s.APIURL()+method, strings.NewReader(body))
		req.Header.Set("Content-Type", ctype)
		if bearer {
			req.Header.Set("Authorization", "Bearer "+fakeslack.DefaultBotToken)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		var out map[string]any
		if err := json.Unmarshal(b, &out); err != nil {
			t.Fatalf("%s: %v", b, err)
		}
		return out
	}
	s.ExpectUnhandled(http.MethodPost, "/api/users.flip")
	got := post("users.flip", "application/x-www-form-urlencoded", "token=xoxb-test", false)
	if got["ok"] != false || got["error"] != "unknown_method" || got["req_method"] != "users.flip" {
		t.Fatalf("unknown method = %v", got)
	}

	body := `{"channel":"C1","text":"json","blocks":[{"type":"divider"}]}`
	got = post("chat.postMessage", "application/json; charset=utf-8", body, true)
	if got["ok"] != true {
		t.Fatalf("JSON post = %v", got)
	}
	c := s.CallsTo("chat.postMessage")[0]
	if string(c.Body) != body || c.Params.Get("text") != "json" || c.Params.Get("blocks") != `[{"type":"divider"}]` {
		t.Fatalf("call = %+v", c)
	}
	// Slack does not read the token from a JSON body.
	got = post("chat.postMessage", "application/json", `{"token":"xoxb-test","channel":"C1","text":"x"}`, false)
	if got["error"] != "not_authed" {
		t.Fatalf("JSON token = %v", got)
	}
}

func TestWaitForMessage(t *testing.T) {
	t.Parallel()
	s := newServer(t, fakeslack.Options{})
	go func() {
		time.Sleep(20 * time.Millisecond)
		_, _, _ = botClient(s).PostMessage("C1", slack.MsgOptionText("later", false))
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	m, err := s.WaitForMessage(ctx, func(m fakeslack.Message) bool { return m.Text == "later" })
	if err != nil || m.Channel != "C1" {
		t.Fatalf("WaitForMessage = %+v, %v", m, err)
	}
}
