// Package fakeslack is an in-memory fake of Slack for tests.
//
// Tests make a Server with NewTest, which fails the test on any request
// the fake has no route for; New answers such a request as Slack does and
// nothing more.
//
// A Server plays three parts of Slack at once, over real HTTP on the
// loopback interface, so that the real slack-go client can talk to it
// unchanged:
//
//   - the Web API (point the client at APIURL with slack.OptionAPIURL):
//     auth.test, chat.postMessage, chat.postEphemeral, chat.update,
//     chat.delete, conversations.open, apps.connections.open and
//     views.open, with Slack's token checks, channel membership rules,
//     modal checks and error codes;
//   - response_url endpoints (ResponseURL), which accept at most five
//     POSTs within thirty minutes, as Slack's do;
//   - Socket Mode: apps.connections.open hands out a ws:// URL on which the
//     server says hello, pings the client, delivers envelopes
//     (SocketModeSend) and records the client's acknowledgements.
//
// It also plays the user: SlashCommand and ClickButton build the exact
// form bodies Slack would send to an app's request URL, sign them with the
// signing secret (Sign) and POST them; SlashCommandPayload and
// BlockActionsPayload build the same payloads for Socket Mode. ClickButton
// refuses to click a button that the message, as the server last saw it,
// does not show, so a test cannot press a button the app never offered.
//
// The trigger_id in those payloads opens a modal with views.open once,
// within 3 seconds (by Options.Now), for the user of the payload. SubmitView
// (over HTTP) and SocketModeSubmitView play that user submitting the modal:
// they build the view_submission payload, refuse inputs the modal does not
// have, and record the app's answer (close, field errors, update, push) in
// the View.
//
// Everything the app does is observable: Calls lists every Web API call
// (failed ones too), Messages lists every message as it currently looks
// (who can see it and how it got there), Views lists the modals opened and
// what became of them, and SocketAcks lists the acknowledgements received.
// RateLimit and FailNext make the next calls of a method fail, so retry and
// error paths can be exercised; Fail makes every call of a method fail (for
// one user, or all) and Unreachable drops every Web API and response_url
// connection unanswered, as an outage does, until Reachable or Heal.
//
// All state lives in the Server value behind one mutex; servers are
// independent of each other and safe for concurrent use.
package fakeslack

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/cippbot/cippbot/internal/unhandled"
	"github.com/gorilla/websocket"
)

// Identifiers the fake uses for things Options does not configure.
const (
	// AppID is the app's ID (api_app_id in payloads, app_id in hello).
	AppID = "A0001"
	// BotID is the bot's bot ID (bot_id in auth.test and messages).
	BotID = "B0001"
	// TeamDomain is the workspace's domain (team_domain in payloads).
	TeamDomain = "fake"
	// TeamName is the workspace's display name (team in auth.test).
	TeamName = "Fake Workspace"
	// VerificationToken is the legacy verification token put in the token
	// field of slash command and interaction payloads.
	VerificationToken = "fake-verification-token"
	// DMChannelName is the channel_name Slack sends for direct messages.
	DMChannelName = "directmessage"
)

// Values of Message.Via: how a message's current content was written.
const (
	// ViaPostMessage marks a message posted to a channel with
	// chat.postMessage.
	ViaPostMessage = "chat.postMessage"
	// ViaPostEphemeral marks an ephemeral posted with chat.postEphemeral.
	ViaPostEphemeral = "chat.postEphemeral"
	// ViaUpdate marks a message last rewritten with chat.update.
	ViaUpdate = "chat.update"
	// ViaResponseURL marks a message created or last replaced by a POST to
	// a response_url.
	ViaResponseURL = "response_url"
	// ViaDM marks a message posted to a direct message channel with
	// chat.postMessage.
	ViaDM = "dm"
	// ViaAck marks the app's immediate answer to a slash command: the body
	// of its HTTP response, or the payload of its Socket Mode ack.
	ViaAck = "ack"
)

// Default values for empty Options fields.
const (
	// DefaultBotToken is the bot token used when Options.BotToken is empty.
	DefaultBotToken = "xoxb-test"
	// DefaultAppToken is the app token used when Options.AppToken is empty.
	DefaultAppToken = "xapp-test"
	// DefaultSigningSecret is used when Options.SigningSecret is empty.
	DefaultSigningSecret = "test-signing-secret"
	// DefaultTeamID is used when Options.TeamID is empty.
	DefaultTeamID = "T0001"
	// DefaultBotUserID is used when Options.BotUserID is empty.
	DefaultBotUserID = "UBOT"
	// DefaultPingInterval is used when Options.PingInterval is not positive.
	DefaultPingInterval = 200 * time.Millisecond
)

// Options configures a Server. Empty fields take the Default* values.
type Options struct {
	// BotToken is the only token the Web API accepts (besides AppToken
	// for apps.connections.open). Default "xoxb-test".
	BotToken string
	// AppToken is the app-level token apps.connections.open accepts
	// (Socket Mode). Default "xapp-test".
	AppToken string
	// SigningSecret signs the requests SlashCommand and ClickButton send.
	// Default "test-signing-secret".
	SigningSecret string
	// TeamID is the workspace's ID. Default "T0001".
	TeamID string
	// BotUserID is the bot's user ID. The bot is a member of a channel only
	// if AddChannel lists this ID. Default "UBOT".
	BotUserID string
	// Now is the clock used for message timestamps, request signatures,
	// response_url expiry and trigger_id expiry. Default time.Now. Note that slack-go's signature
	// verifier compares against the real clock.
	Now func() time.Time
	// PingInterval is how often the server pings each Socket Mode
	// connection (slack-go drops connections it has not been pinged on for
	// 30 seconds). Default 200ms.
	PingInterval time.Duration
	// Unhandled, if non-nil, is called with the HTTP method and path of
	// every request the server has no route for: a Web API method it does
	// not implement (answered unknown_method, see Call.Unhandled) or a path
	// outside the Web API, response URLs and Socket Mode (404). nil leaves
	// the answer to speak for itself, as the demo wants. NewTest sets it
	// to fail the test.
	Unhandled func(method, path string)
}

// Call is one Web API request as the server saw it.
type Call struct {
	// Method is the Web API method, e.g. "chat.postEphemeral".
	Method string
	// Params holds the form fields (and query parameters); for a JSON body
	// each top-level field is flattened into it, strings as themselves and
	// anything else as its JSON text.
	Params url.Values
	// Body is the raw request body.
	Body []byte
	// Token is the token presented (form field token, or Authorization:
	// Bearer), "" if none.
	Token string
	// Status is the HTTP status answered (200, or 429 when rate limited; 0
	// when the call was dropped unanswered, see Unreachable).
	Status int
	// Response is the JSON body answered.
	Response json.RawMessage
	// At is when the call was received, by Options.Now.
	At time.Time
	// Unhandled reports a Web API method the server does not implement,
	// answered unknown_method as Slack does; a server made by NewTest fails
	// the test.
	Unhandled bool
}

// Message is a message as it currently looks in the workspace.
type Message struct {
	// Channel is the channel (or DM) ID.
	Channel string
	// TS is the message timestamp; for ephemerals the message_ts.
	TS string
	// ThreadTS is the parent's timestamp for a threaded reply.
	ThreadTS string
	// User is who can see the message when it is private: the one reader
	// of an ephemeral, or the human member of a DM. "" for public messages.
	User string
	// Ephemeral reports an ephemeral message (only User sees it).
	Ephemeral bool
	// DM reports a message in a direct message channel.
	DM bool
	// Text is the message text (the notification fallback when there
	// are blocks).
	Text string
	// Blocks is the message's Block Kit JSON array, nil if none.
	Blocks json.RawMessage
	// Updated counts how many times the message was rewritten (chat.update
	// or a response_url replace_original).
	Updated int
	// Via tells how the current content was written (a Via* constant).
	Via string
}

// Ack is a Socket Mode acknowledgement received from the client.
type Ack struct {
	// EnvelopeID is the envelope acknowledged.
	EnvelopeID string
	// Type is the acknowledged envelope's type ("" if the server never
	// sent that envelope).
	Type string
	// Payload is the ack's payload, nil if it carried none.
	Payload json.RawMessage
	// At is when the ack arrived, by Options.Now.
	At time.Time
}

// Server is a running fake Slack. Create it with New and stop it with
// Close.
type Server struct {
	opts     Options
	strict   *unhandled.Checker // set by NewTest
	hs       *httptest.Server
	client   *http.Client
	upgrader websocket.Upgrader
	wg       sync.WaitGroup // socket goroutines
	once     sync.Once

	mu         sync.Mutex
	closed     bool
	changed    chan struct{} // closed and replaced on every state change
	seq        int
	lastMicros int64
	channels   map[string]*channel
	dmByUser   map[string]string
	msgs       []*message
	msgIndex   map[string]*message
	calls      []Call
	limits     map[string]rateLimit
	failures   map[string][]string
	faults     map[string]map[string]string // method → user ("" for all) → error, until Heal
	down       bool                         // Unreachable: connections are dropped
	hooks      map[string]*hook
	tickets    map[string]bool
	socks      []*sockConn
	acks       []Ack
	envelopes  map[string]envelope
	triggers   map[string]*trigger
	views      []*view
	viewIndex  map[string]*view
}

type channel struct {
	id, name string
	members  map[string]bool
	dm       bool
	dmUser   string
}

type message struct {
	Message
	deleted bool
}

type rateLimit struct {
	remaining  int
	retryAfter int
}

// New starts a server on the loopback interface. Call Close when done.
func New(opts Options) *Server {
	if opts.BotToken == "" {
		opts.BotToken = DefaultBotToken
	}
	if opts.AppToken == "" {
		opts.AppToken = DefaultAppToken
	}
	if opts.SigningSecret == "" {
		opts.SigningSecret = DefaultSigningSecret
	}
	if opts.TeamID == "" {
		opts.TeamID = DefaultTeamID
	}
	if opts.BotUserID == "" {
		opts.BotUserID = DefaultBotUserID
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.PingInterval <= 0 {
		opts.PingInterval = DefaultPingInterval
	}
	s := &Server{
		opts:      opts,
		client:    &http.Client{Timeout: 30 * time.Second},
		changed:   make(chan struct{}),
		channels:  map[string]*channel{},
		dmByUser:  map[string]string{},
		msgIndex:  map[string]*message{},
		limits:    map[string]rateLimit{},
		failures:  map[string][]string{},
		faults:    map[string]map[string]string{},
		hooks:     map[string]*hook{},
		tickets:   map[string]bool{},
		envelopes: map[string]envelope{},
		triggers:  map[string]*trigger{},
		viewIndex: map[string]*view{},
	}
	// slack-go dials with Origin https://api.slack.com; accept any origin.
	s.upgrader = websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }}
	mux := http.NewServeMux()
	mux.HandleFunc("/api/", s.serveAPI)
	mux.HandleFunc("/response/", s.serveResponseURL)
	mux.HandleFunc("/ws", s.serveSocket)
	mux.HandleFunc("/", s.serveUnknown)
	s.hs = httptest.NewServer(mux)
	return s
}

// Close stops the server, closing any Socket Mode connections. It is safe
// to call more than once.
func (s *Server) Close() {
	s.once.Do(func() {
		s.mu.Lock()
		s.closed = true
		socks := slices.Clone(s.socks)
		s.mu.Unlock()
		for _, sc := range socks {
			sc.close()
		}
		s.hs.Close()
		s.wg.Wait()
		s.client.CloseIdleConnections()
	})
}

// APIURL returns the Web API base URL, with its trailing slash, for
// slack.OptionAPIURL: "http://127.0.0.1:PORT/api/".
func (s *Server) APIURL() string { return s.hs.URL + "/api/" }

// URL returns the server's root URL, "http://127.0.0.1:PORT".
func (s *Server) URL() string { return s.hs.URL }

// AddChannel creates a channel, or updates its name and adds members if it
// exists. Members are user IDs; the bot is a member only if
// Options.BotUserID is listed. An ID starting with "D" with exactly one
// member besides the bot is a direct message channel with that user.
func (s *Server) AddChannel(id, name string, members ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch := s.channels[id]
	if ch == nil {
		ch = &channel{id: id, members: map[string]bool{}}
		s.channels[id] = ch
	}
	ch.name = name
	for _, m := range members {
		ch.members[m] = true
	}
	if strings.HasPrefix(id, "D") {
		var humans []string
		for m := range ch.members {
			if m != s.opts.BotUserID {
				humans = append(humans, m)
			}
		}
		if len(humans) == 1 {
			ch.dm, ch.dmUser = true, humans[0]
			if _, ok := s.dmByUser[humans[0]]; !ok {
				s.dmByUser[humans[0]] = id
			}
		}
	}
	s.notifyLocked()
}

// RateLimit makes the next times calls of method answer HTTP 429 with a
// Retry-After header of retryAfter seconds and {"ok":false,"error":
// "ratelimited"}.
func (s *Server) RateLimit(method string, times int, retryAfter int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.limits[method] = rateLimit{remaining: times, retryAfter: retryAfter}
}

// FailNext makes the next call of method answer {"ok":false,"error":
// slackError}. Calls queue: failing twice fails the next two calls.
func (s *Server) FailNext(method, slackError string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failures[method] = append(s.failures[method], slackError)
}

// Fail makes every call of method answer {"ok":false,"error":slackError}
// until Heal. With user set, only calls for that user fail: those whose
// user field (chat.postEphemeral) or users list (conversations.open) names
// them; other calls go through.
func (s *Server) Fail(method, user, slackError string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.faults[method] == nil {
		s.faults[method] = map[string]string{}
	}
	s.faults[method][user] = slackError
}

// Unreachable makes the server drop every Web API and response_url request
// without an answer, as when Slack cannot be reached, until Reachable or
// Heal. Dropped
// Web API calls are still listed by Calls, with Status 0.
func (s *Server) Unreachable() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.down = true
}

// Reachable ends Unreachable; Fail faults stay.
func (s *Server) Reachable() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.down = false
}

// Heal ends Fail and Unreachable.
func (s *Server) Heal() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.down = false
	s.faults = map[string]map[string]string{}
}

// faultLocked returns the Fail error for a call, or "".
func (s *Server) faultLocked(method string, p url.Values) string {
	f := s.faults[method]
	if code, ok := f[""]; ok {
		return code
	}
	for _, u := range append([]string{p.Get("user")}, strings.Split(p.Get("users"), ",")...) {
		if code, ok := f[u]; ok && u != "" {
			return code
		}
	}
	return ""
}

// drop closes the connection of a request without answering.
func drop(w http.ResponseWriter) {
	if hj, ok := w.(http.Hijacker); ok {
		if c, _, err := hj.Hijack(); err == nil {
			c.Close()
			return
		}
	}
	panic(http.ErrAbortHandler)
}

// Calls returns every Web API call received so far, in order.
func (s *Server) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Call, len(s.calls))
	for i, c := range s.calls {
		c.Params = cloneValues(c.Params)
		c.Body = slices.Clone(c.Body)
		c.Response = slices.Clone(c.Response)
		out[i] = c
	}
	return out
}

// CallsTo returns the calls of one Web API method, in order.
func (s *Server) CallsTo(method string) []Call {
	var out []Call
	for _, c := range s.Calls() {
		if c.Method == method {
			out = append(out, c)
		}
	}
	return out
}

// Messages returns every message that currently exists (deleted ones are
// gone), in the order they were first posted.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Message
	for _, m := range s.msgs {
		if !m.deleted {
			out = append(out, m.snapshot())
		}
	}
	return out
}

// WaitForMessage waits until a current message satisfies match and returns
// it, or returns ctx's error.
func (s *Server) WaitForMessage(ctx context.Context, match func(Message) bool) (Message, error) {
	for {
		ch := s.changes()
		for _, m := range s.Messages() {
			if match(m) {
				return m, nil
			}
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return Message{}, ctx.Err()
		}
	}
}

// changes returns a channel closed at the next state change.
func (s *Server) changes() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.changed
}

func (s *Server) notifyLocked() {
	close(s.changed)
	s.changed = make(chan struct{})
}

func (m *message) snapshot() Message {
	c := m.Message
	c.Blocks = slices.Clone(m.Blocks)
	return c
}

func cloneValues(v url.Values) url.Values {
	out := make(url.Values, len(v))
	for k, vs := range v {
		out[k] = slices.Clone(vs)
	}
	return out
}

func msgKey(channel, ts string) string { return channel + "\x00" + ts }

// addMessageLocked stores a new message.
func (s *Server) addMessageLocked(m Message) *message {
	mm := &message{Message: m}
	s.msgs = append(s.msgs, mm)
	s.msgIndex[msgKey(m.Channel, m.TS)] = mm
	s.notifyLocked()
	return mm
}

// findMessageLocked returns the live message at channel+ts, or nil.
func (s *Server) findMessageLocked(channel, ts string) *message {
	m := s.msgIndex[msgKey(channel, ts)]
	if m == nil || m.deleted {
		return nil
	}
	return m
}

// nextTSLocked returns a message timestamp, "<unix>.<6 digits>", strictly
// greater than every one before it.
func (s *Server) nextTSLocked() string {
	micros := s.opts.Now().UnixMicro()
	if micros <= s.lastMicros {
		micros = s.lastMicros + 1
	}
	s.lastMicros = micros
	return formatMicros(micros)
}

func formatMicros(micros int64) string {
	return fmt.Sprintf("%d.%06d", micros/1_000_000, micros%1_000_000)
}

func (s *Server) nextSeqLocked() int {
	s.seq++
	return s.seq
}

// userName is the handle the fake gives a user ID.
func userName(id string) string { return strings.ToLower(id) }

// channelName returns the name Slack would send for a channel ID.
func (s *Server) channelNameLocked(id string) string {
	ch := s.channels[id]
	switch {
	case ch == nil:
		return ""
	case ch.dm:
		return DMChannelName
	default:
		return ch.name
	}
}

// serveUnknown answers a path outside the Web API, response URLs and
// Socket Mode with a 404, as slack.com does.
func (s *Server) serveUnknown(w http.ResponseWriter, r *http.Request) {
	http.NotFound(w, r)
	if s.opts.Unhandled != nil {
		s.opts.Unhandled(r.Method, r.URL.Path)
	}
}
