package slack_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cippbot/cippbot/adapters/slack"
	"github.com/cippbot/cippbot/bot"
	"github.com/cippbot/cippbot/internal/fakeslack"
	"github.com/cippbot/cippbot/store"
)

// recorder is a Handler that records the events it is given.
type recorder struct {
	mu     sync.Mutex
	events []bot.Event
}

func (r *recorder) Handle(_ context.Context, ev bot.Event, _ bot.Responder) {
	r.mu.Lock()
	r.events = append(r.events, ev)
	r.mu.Unlock()
}

func (r *recorder) texts() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, ev := range r.events {
		out = append(out, ev.Text)
	}
	return out
}

// keyLog is a bot.Deduper that records the calls it passes on.
type keyLog struct {
	next bot.Deduper
	mu   sync.Mutex
	keys []string
	ttls []time.Duration
}

func (k *keyLog) FirstDelivery(ctx context.Context, key string, ttl time.Duration) (bool, error) {
	k.mu.Lock()
	k.keys = append(k.keys, key)
	k.ttls = append(k.ttls, ttl)
	k.mu.Unlock()
	return k.next.FirstDelivery(ctx, key, ttl)
}

// httpAdapter is an adapter serving Slack's HTTP endpoints.
type httpAdapter struct {
	a   *slack.Adapter
	h   *recorder
	url string
}

func startHTTPAdapter(t *testing.T, fs *fakeslack.Server, dedup bot.Deduper, log *slog.Logger) *httpAdapter {
	t.Helper()
	h := &recorder{}
	a, err := slack.New(slack.Config{BotToken: fakeslack.DefaultBotToken, SigningSecret: fakeslack.DefaultSigningSecret,
		APIURL: fs.APIURL(), Dedup: dedup, Logger: log}, h)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	a.Routes(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(func() {
		srv.Close()
		a.Close(context.Background())
	})
	return &httpAdapter{a: a, h: h, url: srv.URL}
}

// post sends a signed form body to path, as Slack does, and waits for the
// work it started.
func (ha *httpAdapter) post(t *testing.T, fs *fakeslack.Server, path string, body []byte) {
	t.Helper()
	req, err := http.NewRequest("POST", ha.url+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header = fs.Sign(body, time.Now())
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST %s: HTTP %d", path, resp.StatusCode)
	}
	ha.a.Wait()
}

// slashForm returns the form body of a slash command, with a fresh
// trigger ID.
func slashForm(t *testing.T, fs *fakeslack.Server, text string) []byte {
	t.Helper()
	var fields map[string]string
	if err := json.Unmarshal(fs.SlashCommandPayload("/cipp", text, "COPS", "URILEY"), &fields); err != nil {
		t.Fatal(err)
	}
	form := url.Values{}
	for k, v := range fields {
		form.Set(k, v)
	}
	return []byte(form.Encode())
}

// clickForm returns the form body of a click on a cippbot button, with a
// fresh trigger ID.
func clickForm(fs *fakeslack.Server, value string) []byte {
	payload := fs.BlockActionsPayload(fakeslack.Message{Channel: "COPS", TS: "1700000000.000100"}, "cipp_approve", value, "USAM")
	return []byte("payload=" + url.QueryEscape(string(payload)))
}

func newFakeSlack(t *testing.T) *fakeslack.Server {
	t.Helper()
	fs := fakeslack.NewTest(t, fakeslack.Options{})
	t.Cleanup(fs.Close)
	fs.AddChannel("COPS", "ops", "URILEY", "USAM", fakeslack.DefaultBotUserID)
	return fs
}

func openStore(t *testing.T) *store.DB {
	t.Helper()
	db := store.NewDB(filepath.Join(t.TempDir(), "cippbot.db"))
	if err := db.Open(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// TestRepeatAfterRestart: a slash command or click handled before a
// restart is dropped when Slack delivers it again to the restarted
// adapter, which shares the store; a new one still goes through.
func TestRepeatAfterRestart(t *testing.T) {
	fs := newFakeSlack(t)
	db := openStore(t)
	keys := &keyLog{next: db}
	cmd := slashForm(t, fs, "revoke-sessions AdeleV@contoso.com")
	click := clickForm(fs, "approve 7f3a1c")

	before := startHTTPAdapter(t, fs, keys, nil)
	before.post(t, fs, "/slack/commands", cmd)
	before.post(t, fs, "/slack/interactions", click)
	before.post(t, fs, "/slack/commands", cmd) // a retry before the restart
	if got := before.h.texts(); len(got) != 2 {
		t.Fatalf("before the restart the adapter handled %q, want the command and the click once each", got)
	}
	if err := before.a.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	// The process stops and starts again.
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if err := db.Open(); err != nil {
		t.Fatal(err)
	}

	after := startHTTPAdapter(t, fs, keys, nil)
	after.post(t, fs, "/slack/commands", cmd)
	after.post(t, fs, "/slack/interactions", click)
	if got := after.h.texts(); len(got) != 0 {
		t.Fatalf("after the restart the adapter handled the repeated %q", got)
	}
	after.post(t, fs, "/slack/commands", slashForm(t, fs, "help"))
	after.post(t, fs, "/slack/interactions", clickForm(fs, "deny 7f3a1c"))
	if got := after.h.texts(); len(got) != 2 || got[0] != "help" || got[1] != "deny 7f3a1c" {
		t.Errorf("after the restart the adapter handled %q, want the new command and click", got)
	}

	keys.mu.Lock()
	defer keys.mu.Unlock()
	for i, k := range keys.keys {
		if !strings.HasPrefix(k, "slack:cmd:") && !strings.HasPrefix(k, "slack:act:") {
			t.Errorf("delivery key %q lacks the platform prefix", k)
		}
		if keys.ttls[i] != 30*time.Minute {
			t.Errorf("delivery key %q kept for %v, want 30m", k, keys.ttls[i])
		}
	}
}

// TestRepeatInMemory: without a store, repeats are dropped by the adapter
// that saw the first delivery, but a restarted adapter has forgotten them.
func TestRepeatInMemory(t *testing.T) {
	fs := newFakeSlack(t)
	cmd := slashForm(t, fs, "revoke-sessions AdeleV@contoso.com")
	first := startHTTPAdapter(t, fs, nil, nil)
	for range 3 {
		first.post(t, fs, "/slack/commands", cmd)
	}
	if got := first.h.texts(); len(got) != 1 {
		t.Errorf("handled %q for one command delivered 3 times", got)
	}
	restarted := startHTTPAdapter(t, fs, nil, nil)
	restarted.post(t, fs, "/slack/commands", cmd)
	if got := restarted.h.texts(); len(got) != 1 {
		t.Errorf("an adapter without a store handled %q, want the command it never saw", got)
	}
}

// TestRepeatStoreError: when the store cannot be read the delivery is
// handled, with a warning, rather than dropped.
func TestRepeatStoreError(t *testing.T) {
	fs := newFakeSlack(t)
	db := openStore(t)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	var logs syncBuffer
	ha := startHTTPAdapter(t, fs, db, slog.New(slog.NewTextHandler(&logs, nil)))
	ha.post(t, fs, "/slack/commands", slashForm(t, fs, "help"))
	if got := ha.h.texts(); len(got) != 1 {
		t.Errorf("handled %q, want the command despite the store error", got)
	}
	if !strings.Contains(logs.String(), "level=WARN") || !strings.Contains(logs.String(), "repeated delivery") {
		t.Errorf("no warning logged:\n%s", logs.String())
	}
}

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
