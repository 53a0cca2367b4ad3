package slack

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	slackapi "github.com/slack-go/slack"

	"github.com/cippbot/cippbot/bot"
	"github.com/cippbot/cippbot/internal/fakeslack"
)

const fuzzSecret = "fuzz-signing-secret"

// signSlack returns the headers Slack puts on a request: the timestamp and
// v0=hex(HMAC-SHA256(secret, "v0:"+ts+":"+body)).
func signSlack(secret string, body []byte, now time.Time) http.Header {
	ts := strconv.FormatInt(now.Unix(), 10)
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte("v0:" + ts + ":"))
	mac.Write(body)
	h := http.Header{}
	h.Set("Content-Type", "application/x-www-form-urlencoded")
	h.Set("X-Slack-Request-Timestamp", ts)
	h.Set("X-Slack-Signature", "v0="+hex.EncodeToString(mac.Sum(nil)))
	return h
}

// okSlack answers every Web API call, and every response_url post, with
// {"ok":true}.
func okSlack(tb testing.TB) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"ok":true}`))
	}))
	tb.Cleanup(srv.Close)
	return srv
}

// toServer sends every request, whatever its URL, to one local server: a
// response_url taken from a fuzzed payload must not leave the machine.
type toServer struct {
	host string
	next http.RoundTripper
}

func (ts toServer) RoundTrip(r *http.Request) (*http.Response, error) {
	r2 := r.Clone(r.Context())
	r2.URL.Scheme, r2.URL.Host, r2.Host = "http", ts.host, ts.host
	return ts.next.RoundTrip(r2)
}

// recorder records the events it is given and answers each privately, so
// the responder runs on the fuzzed channel, user and response_url too.
type recorder struct {
	mu     sync.Mutex
	events []bot.Event
}

func (h *recorder) Handle(ctx context.Context, ev bot.Event, r bot.Responder) {
	h.mu.Lock()
	h.events = append(h.events, ev)
	h.mu.Unlock()
	r.Private(ctx, bot.Message{Title: "ok"})
}

// capture returns a server that keeps the body of the one request it gets.
func capture(tb testing.TB) (*httptest.Server, func() []byte) {
	var mu sync.Mutex
	var got []byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = b
		mu.Unlock()
	}))
	tb.Cleanup(srv.Close)
	return srv, func() []byte { mu.Lock(); defer mu.Unlock(); return got }
}

// realRequests has fake Slack send a /cipp slash command and a click on an
// approval card's button, and returns the slash command's form body and the
// click's block_actions JSON payload, exactly as they were sent.
func realRequests(tb testing.TB) (slashForm, blockActions []byte) {
	fs := fakeslack.NewTest(tb, fakeslack.Options{})
	defer fs.Close()
	fs.AddChannel("COPS", "ops", fakeslack.DefaultBotUserID, "URILEY", "USAM")
	target, body := capture(tb)

	resp, err := fs.SlashCommand(target.URL, "/cipp", `reset-password AdeleV@contoso.com --must-change reason="locked out"`, "COPS", "URILEY")
	if err != nil {
		tb.Fatal(err)
	}
	resp.Body.Close()
	slashForm = body()

	client := slackapi.New(fakeslack.DefaultBotToken, slackapi.OptionAPIURL(fs.APIURL()))
	card := bot.Message{
		Title:   "Approval needed: reset-password AdeleV@contoso.com",
		Lines:   []string{"Asked by riley", "Reason: locked out"},
		Buttons: []bot.Button{{Label: "Approve", Value: "approve 7f3a1c"}, {Label: "Deny", Value: "deny 7f3a1c", Danger: true}},
	}
	_, ts, err := client.PostMessage("COPS", slackapi.MsgOptionText(fallback(card), false), slackapi.MsgOptionBlocks(blocks(card, false)...))
	if err != nil {
		tb.Fatal(err)
	}
	resp, err = fs.ClickButton(target.URL, fakeslack.Message{Channel: "COPS", TS: ts}, "cipp_approve", "approve 7f3a1c", "USAM")
	if err != nil {
		tb.Fatal(err)
	}
	resp.Body.Close()
	form, err := url.ParseQuery(string(body()))
	if err != nil {
		tb.Fatal(err)
	}
	return slashForm, []byte(form.Get("payload"))
}

// FuzzInteractionPayload sends arbitrary bytes, correctly signed, to the
// HTTP endpoints: as the payload field of an interaction, as the whole
// interaction form body and as a slash command's form body. Whatever the
// bytes, the adapter answers 200, 400 or 413 (never 5xx, never a panic),
// dispatches only what it acknowledged with 200, and every event it hands
// the bot has a "slack:" actor.
func FuzzInteractionPayload(f *testing.F) {
	slashForm, blockActions := realRequests(f)
	f.Add(blockActions)
	f.Add(slashForm)
	f.Add([]byte(`{"type":"block_actions","user":{"id":"U1"},"actions":[{"action_id":"cipp_approve","block_id":"b","value":"approve 1"}]}`))
	f.Add([]byte(`{"type":"block_actions","user":{"id":"U1"},"actions":[null,{"block_id":"b"},{"action_id":"x"}]}`))
	f.Add([]byte(`{"type":"view_submission","user":{"id":"U1"},"view":{"blocks":[{"type":"input"}]}}`))
	f.Add([]byte(`{"type":"block_actions","user":{"id":""},"state":{"values":{"b":{"a":{"type":"static_select"}}}}}`))
	f.Add([]byte("user_id=U1&channel_id=C1&text=%22&trigger_id=%"))
	f.Add([]byte("user_id=U1&channel_id=C1&text=reset-password+a%40x.com&user_id=U2&response_url=http%3A%2F%2F%5B%3A%3A1"))
	f.Add([]byte(""))
	f.Add([]byte("\xff\xfe;;&&=="))

	api := okSlack(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		requests := []struct{ path, body string }{
			{"/slack/interactions", "payload=" + url.QueryEscape(string(data))},
			{"/slack/interactions", string(data)},
			{"/slack/commands", string(data)},
		}
		for _, rq := range requests {
			code, events := serveSigned(t, api, rq.path, []byte(rq.body))
			switch code {
			case http.StatusOK, http.StatusBadRequest, http.StatusRequestEntityTooLarge:
			default:
				t.Fatalf("POST %s %q: status %d", rq.path, rq.body, code)
			}
			if code != http.StatusOK && len(events) > 0 {
				t.Fatalf("POST %s %q: answered %d yet dispatched %+v", rq.path, rq.body, code, events)
			}
			for _, ev := range events {
				if !strings.HasPrefix(ev.Actor.ID, Platform+":") {
					t.Fatalf("POST %s %q: event with actor %q", rq.path, rq.body, ev.Actor.ID)
				}
			}
		}
	})
}

// serveSigned POSTs body, signed, to path on a fresh adapter whose Web API
// and response_url calls all go to api, waits for the work the request
// started, and returns the status and the events the handler got. A panic
// while serving fails the test with its stack, so that the other inputs
// still run.
func serveSigned(t *testing.T, api *httptest.Server, path string, body []byte) (int, []bot.Event) {
	t.Helper()
	defer func() {
		if p := recover(); p != nil {
			t.Fatalf("panic serving POST %s %q: %v\n%s", path, body, p, debug.Stack())
		}
	}()
	u, _ := url.Parse(api.URL)
	hc := &http.Client{Timeout: 10 * time.Second, Transport: toServer{host: u.Host, next: http.DefaultTransport}}
	h := &recorder{}
	a, err := New(Config{BotToken: "xoxb-fuzz", SigningSecret: fuzzSecret, APIURL: api.URL + "/api/", HTTPClient: hc, MaxRetries: 1}, h)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close(context.Background())
	mux := http.NewServeMux()
	a.Routes(mux)
	req := httptest.NewRequest(http.MethodPost, path, bytes.NewReader(body))
	req.Header = signSlack(fuzzSecret, body, time.Now())
	w := httptest.NewRecorder()
	mux.ServeHTTP(w, req)
	a.Wait()
	h.mu.Lock()
	defer h.mu.Unlock()
	return w.Code, h.events
}

// TestFuzzSeedsReachHandler keeps FuzzInteractionPayload honest: the real
// slash command and click it starts from are accepted and dispatched, so
// the fuzzer explores past the signature check and the parsers.
func TestFuzzSeedsReachHandler(t *testing.T) {
	api := okSlack(t)
	slashForm, blockActions := realRequests(t)
	code, events := serveSigned(t, api, "/slack/commands", slashForm)
	if code != http.StatusOK || len(events) != 1 || events[0].Actor.ID != "slack:URILEY" ||
		events[0].Text != `reset-password AdeleV@contoso.com --must-change reason="locked out"` {
		t.Fatalf("slash command: %d %+v", code, events)
	}
	code, events = serveSigned(t, api, "/slack/interactions", []byte("payload="+url.QueryEscape(string(blockActions))))
	if code != http.StatusOK || len(events) != 1 || events[0].Actor.ID != "slack:USAM" || events[0].Text != "approve 7f3a1c" {
		t.Fatalf("button click: %d %+v", code, events)
	}
	// A bad signature is refused before anything is parsed.
	req := httptest.NewRequest(http.MethodPost, "/slack/commands", bytes.NewReader(slashForm))
	req.Header = signSlack("another-secret", slashForm, time.Now())
	a, err := New(Config{BotToken: "xoxb-fuzz", SigningSecret: fuzzSecret, APIURL: api.URL + "/api/"}, &recorder{})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close(context.Background())
	mux := http.NewServeMux()
	a.Routes(mux)
	w := httptest.NewRecorder()
	mux.ServeHTTP(w, req)
	if w.Code != http.StatusUnauthorized {
		t.Fatalf("badly signed request: %d", w.Code)
	}
}
