package fakediscord_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/cippbot/cippbot/internal/fakediscord"
)

// rewrite sends requests for Discord's API to the fake instead.
type rewrite struct{ base string }

func (r rewrite) RoundTrip(req *http.Request) (*http.Response, error) {
	const prefix = "https://discord.com/api/v9/"
	if u := req.URL.String(); strings.HasPrefix(u, prefix) {
		nu, err := url.Parse(r.base + strings.TrimPrefix(u, prefix))
		if err != nil {
			return nil, err
		}
		req = req.Clone(req.Context())
		req.URL = nu
		req.Host = nu.Host
	}
	return http.DefaultTransport.RoundTrip(req)
}

// clock is a settable clock for Options.Now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// setup starts a fake and a discordgo session pointed at it.
func setup(t *testing.T, opts fakediscord.Options) (*fakediscord.Server, *discordgo.Session) {
	t.Helper()
	srv := fakediscord.NewTest(t, opts)
	t.Cleanup(srv.Close)
	token := opts.BotToken
	if token == "" {
		token = fakediscord.DefaultBotToken
	}
	return srv, session(t, srv, token)
}

func session(t *testing.T, srv *fakediscord.Server, token string) *discordgo.Session {
	t.Helper()
	dg, err := discordgo.New("Bot " + token)
	if err != nil {
		t.Fatal(err)
	}
	dg.Client = &http.Client{Transport: rewrite{base: srv.BaseURL()}, Timeout: 10 * time.Second}
	dg.MaxRestRetries = 0
	return dg
}

// restError returns the HTTP status and Discord error code of err.
func restError(t *testing.T, err error) (int, int) {
	t.Helper()
	var re *discordgo.RESTError
	if !errors.As(err, &re) {
		t.Fatalf("error %v (%T) is not a REST error", err, err)
	}
	code := -1
	if re.Message != nil {
		code = re.Message.Code
	}
	return re.Response.StatusCode, code
}

func wantRESTError(t *testing.T, err error, status, code int) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want HTTP %d code %d", status, code)
	}
	gotStatus, gotCode := restError(t, err)
	if gotStatus != status || gotCode != code {
		t.Fatalf("got HTTP %d code %d (%v), want HTTP %d code %d", gotStatus, gotCode, err, status, code)
	}
}

// parse decodes an interaction payload as discordgo does.
func parse(t *testing.T, in fakediscord.Interaction) *discordgo.Interaction {
	t.Helper()
	var ix discordgo.Interaction
	if err := json.Unmarshal(in.Body, &ix); err != nil {
		t.Fatalf("discordgo cannot parse interaction %s: %v", in.Body, err)
	}
	return &ix
}

// message returns the server's current view of message id.
func message(t *testing.T, srv *fakediscord.Server, id string) fakediscord.Message {
	t.Helper()
	for _, m := range srv.Messages() {
		if m.ID == id {
			return m
		}
	}
	t.Fatalf("no message %s", id)
	return fakediscord.Message{}
}

func buttons(ids ...string) []discordgo.MessageComponent {
	var bs []discordgo.MessageComponent
	for _, id := range ids {
		bs = append(bs, discordgo.Button{Label: "Button " + id, CustomID: id, Style: discordgo.PrimaryButton})
	}
	return []discordgo.MessageComponent{discordgo.ActionsRow{Components: bs}}
}

func command(name string) json.RawMessage {
	return json.RawMessage(`{"name":"` + name + `","type":1,"options":[{"name":"user","type":3,"value":"alice"}]}`)
}
