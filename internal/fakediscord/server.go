// Package fakediscord is an in-memory fake of the Discord REST API for
// tests, together with the Discord side of HTTP interactions.
//
// Tests make a Server with NewTest, which fails the test on any request
// the fake has no route for; New answers such a request as Discord does
// (404 or 405) and nothing more.
//
// A Server listens on the loopback interface and answers the routes a bot
// built on the real discordgo client uses, under /api/v9/ (point the
// client at BaseURL, for example with an http.RoundTripper that rewrites
// "https://discord.com/api/v9/"):
//
//   - interaction callbacks (POST /interactions/{id}/{token}/callback),
//     with Discord's 3-second deadline and single-acknowledgement rule;
//   - interaction webhooks: follow-ups (POST /webhooks/{app}/{token}) and
//     GET, PATCH and DELETE of /webhooks/{app}/{token}/messages/@original
//     or /messages/{id}, valid for 15 minutes;
//   - channel messages (POST, GET, PATCH, DELETE under
//     /channels/{id}/messages), DM channels (POST /users/@me/channels) and
//     the bot's own user (GET /users/@me);
//   - application commands (GET and PUT of /applications/{app}/commands and
//     /applications/{app}/guilds/{guild}/commands): a PUT replaces every
//     command of its scope at once, each checked against Discord's limits
//     (names, descriptions, 25 options a level, required options first,
//     4,000 characters a command, 100 commands), and any problem fails the
//     whole PUT with 400 Invalid Form Body (code 50035), changing nothing.
//
// Bodies are checked as Discord checks them (content length, action rows,
// buttons, custom IDs, empty messages) and errors have Discord's JSON shape
// and codes, so that error paths can be exercised against the real client.
//
// Some Discord behaviours the fake reproduces because bots trip over them:
//
//   - on edits, a field present replaces (content null clears it, embeds
//     null or [] clear them, components [] clears them), a missing field is
//     unchanged, and components null is ignored by webhook edits and
//     update callbacks (type 7) but clears on the channel message route;
//   - an ephemeral stays ephemeral whatever flags an edit sends;
//   - a follow-up before the interaction was answered is 404 Unknown
//     Webhook; @original before it is 404 Unknown Message;
//   - a deferred response (type 5) is an empty message with the LOADING
//     flag (FlagLoading) until edited, and the first follow-up sent while
//     it is still loading fills it in (keeping its visibility) instead of
//     creating a new message;
//   - after a deferred update (6) or an update (7), @original is the
//     message the clicked component is on;
//   - ephemeral messages cannot be reached through the channel routes.
//
// The Server also plays Discord towards an HTTP interactions endpoint:
// Command, Click, SubmitModal and Ping build interaction payloads exactly
// as Discord sends them, Sign signs a body with the instance's Ed25519 key (see
// PublicKey), and Deliver signs and POSTs an interaction to the app,
// applying an inline 200 response as if the app had called the callback
// route.
//
// Modals work as on Discord: a modal callback (type 9) is checked (custom
// ID, title, one to five action rows of one text input each) and shows the
// modal to the interaction's user; SubmitModal plays that user submitting
// it, refusing a modal that was never shown or inputs it does not have.
//
// Everything is observable: Calls lists every REST call, Messages lists
// every message as it currently looks (who can see it and how it got
// there), Callbacks lists the initial responses to interactions, Modals
// lists the modals shown, and Deliveries lists what Deliver sent and got
// back. RateLimit makes calls
// answer 429 so retry paths can be exercised.
//
// All state lives in the Server value behind one mutex; servers are
// independent of each other and safe for concurrent use.
package fakediscord

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/cippbot/cippbot/internal/unhandled"
)

// Default values for empty Options fields, and fixed identities.
const (
	// DefaultBotToken is the bot token used when Options.BotToken is empty.
	DefaultBotToken = "test-bot-token"
	// DefaultAppID is the application ID used when Options.AppID is empty.
	DefaultAppID = "1000000000000000001"
	// DefaultGuildID is the guild of channels added with an empty guild ID,
	// and of interactions built for channels the server does not know.
	DefaultGuildID = "1000000000000000100"
	// BotUsername is the bot user's username. The bot user's ID is the
	// application ID, as it is for every modern Discord application.
	BotUsername = "cippbot"
	// APIPrefix is the path every route lives under.
	APIPrefix = "/api/v9/"
)

// Values of Message.Via: the route that last wrote a message's content.
const (
	// ViaChannel marks a message posted or edited with the channel message
	// routes in a guild channel.
	ViaChannel = "channel"
	// ViaDM marks a message posted or edited with the channel message
	// routes in a DM channel.
	ViaDM = "dm"
	// ViaCallback marks a message created or updated by an interaction's
	// initial response (callback types 4, 5 and 7, through the callback
	// route or inline in the HTTP response to Deliver).
	ViaCallback = "callback"
	// ViaOriginal marks a message last edited through
	// /webhooks/{app}/{token}/messages/@original.
	ViaOriginal = "original"
	// ViaFollowup marks a message created by a follow-up, or last edited
	// through /webhooks/{app}/{token}/messages/{id}.
	ViaFollowup = "followup"
)

// Message flags the fake understands.
const (
	// FlagEphemeral marks a message only one user can see.
	FlagEphemeral = 1 << 6
	// FlagLoading marks a deferred response still "thinking".
	FlagLoading = 1 << 7
	// FlagSuppressEmbeds hides a message's link previews.
	FlagSuppressEmbeds = 1 << 2
	// FlagSuppressNotifications sends a message silently.
	FlagSuppressNotifications = 1 << 12
)

// Discord's deadlines for interactions.
const (
	// CallbackDeadline is how long after an interaction is created its
	// initial response is accepted.
	CallbackDeadline = 3 * time.Second
	// TokenLifetime is how long an interaction token works for webhooks.
	TokenLifetime = 15 * time.Minute
)

// Options configures a Server. Empty fields take the Default* values.
type Options struct {
	// BotToken is the token bot routes accept, as "Authorization: Bot
	// <token>". Default "test-bot-token".
	BotToken string
	// AppID is the application's ID, which is also the bot user's ID.
	// Default "1000000000000000001".
	AppID string
	// Now is the clock for snowflakes, message timestamps, interaction
	// deadlines and token expiry. Default time.Now.
	Now func() time.Time
	// Unhandled, if non-nil, is called with the method and path of every
	// request the server has no route for (see Call.Unhandled), after it
	// has been answered; nil leaves the answer to speak for itself, as the
	// demo wants. NewTest sets it to fail the test.
	Unhandled func(method, path string)
}

// Call is one REST request as the server saw it.
type Call struct {
	// Method is the HTTP method.
	Method string
	// Path is the URL path, e.g. "/api/v9/channels/C1/messages".
	Path string
	// Query is the raw query string without "?", e.g. "wait=true".
	Query string
	// Body is the request body (for a multipart body, its payload_json).
	Body []byte
	// Auth is the Authorization header, "" if none.
	Auth string
	// Status is the HTTP status answered.
	Status int
	// Response is the body answered, nil if none.
	Response []byte
	// At is when the call was received, by Options.Now.
	At time.Time
	// Unhandled reports a request the server has no route for (an unknown
	// path, or a method the path does not take), answered as Discord
	// answers one; a server made by NewTest fails the test.
	Unhandled bool
}

// Message is a message as it currently looks.
type Message struct {
	// ID is the message's snowflake.
	ID string
	// ChannelID is the channel the message is in.
	ChannelID string
	// GuildID is the channel's guild, "" in DMs.
	GuildID string
	// Content is the message text.
	Content string
	// Components is the message's components JSON array, nil if none.
	Components json.RawMessage
	// Embeds is the message's embeds JSON array, nil if none.
	Embeds json.RawMessage
	// Flags is the message's flags (FlagEphemeral, FlagLoading, ...).
	Flags int
	// Ephemeral reports a message only For can see.
	Ephemeral bool
	// For is the one user who can see the message: the reader of an
	// ephemeral, or the recipient of a DM. "" for public messages.
	For string
	// InteractionID is the interaction whose response or follow-up created
	// the message, "" for channel messages.
	InteractionID string
	// Via tells which route last wrote the content (a Via* constant).
	Via string
	// Edits counts how many times the message was changed after it was
	// created (a deferred response getting its content counts).
	Edits int
	// Deleted reports that the message was deleted.
	Deleted bool
	// Type is Discord's message type: 0 for channel messages, 20 for
	// interaction responses and follow-ups.
	Type int
	// Timestamp is when the message was created, by Options.Now.
	Timestamp time.Time
}

// Interaction is an interaction built by Command, Click, SubmitModal or
// Ping.
type Interaction struct {
	// ID is the interaction's snowflake.
	ID string
	// Token is the interaction token, for callbacks and webhooks.
	Token string
	// Body is the JSON payload Discord would POST to the app.
	Body []byte
	// CreatedAt is when the interaction was created, by Options.Now; the
	// 3-second and 15-minute limits count from it.
	CreatedAt time.Time
}

// Callback is an accepted initial response to an interaction.
type Callback struct {
	// InteractionID is the interaction answered.
	InteractionID string
	// Type is the callback type (1 pong, 4 message, 5 deferred message,
	// 6 deferred update, 7 update, 8 autocomplete result, 9 modal).
	Type int
	// Data is the callback's data object, nil if none.
	Data json.RawMessage
	// Inline reports a response given as the body of the HTTP response to
	// Deliver rather than through the callback route.
	Inline bool
	// At is when the response was accepted, by Options.Now.
	At time.Time
}

// Delivery is one interaction POSTed to the app by Deliver.
type Delivery struct {
	// InteractionID is the interaction delivered.
	InteractionID string
	// Target is the URL it was POSTed to.
	Target string
	// Status is the app's HTTP status, 0 if the request failed.
	Status int
	// Response is the app's response body.
	Response []byte
	// Error describes why the request failed or why an inline response
	// was rejected, "" if neither.
	Error string
	// At is when the interaction was delivered, by Options.Now.
	At time.Time
}

// Server is a running fake Discord. Create it with New and stop it with
// Close.
type Server struct {
	opts   Options
	strict *unhandled.Checker // set by NewTest
	hs     *httptest.Server
	client *http.Client
	priv   ed25519.PrivateKey
	pub    ed25519.PublicKey

	mu           sync.Mutex
	changed      chan struct{} // closed and replaced on every state change
	lastFlake    uint64
	channels     map[string]*channel
	interactions map[string]*interactionState
	byToken      map[string]*interactionState
	msgs         []*message
	msgIndex     map[string]*message
	calls        []Call
	callbacks    []Callback
	deliveries   []Delivery
	commands     map[string]json.RawMessage // by guild, "" = global
	commandIDs   map[string]string          // guild + "\x00" + type + "\x00" + name -> id
	limits       []*rateLimit
	modals       []*modalState
}

type channel struct {
	id, guildID string
	dm          bool
	recipient   string
	members     map[string]bool
}

type message struct {
	Message
	author   string // always the bot
	edited   time.Time
	ixn      *interactionState
	commandN string // name of the command that produced it, if any
}

type rateLimit struct {
	method, pathContains string
	remaining            int
	retryAfter           float64
}

// New starts a server on the loopback interface. Call Close when done.
func New(opts Options) *Server {
	if opts.BotToken == "" {
		opts.BotToken = DefaultBotToken
	}
	if opts.AppID == "" {
		opts.AppID = DefaultAppID
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	pub, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		panic("fakediscord: generating key pair: " + err.Error())
	}
	s := &Server{
		opts:         opts,
		client:       &http.Client{Timeout: 30 * time.Second},
		priv:         priv,
		pub:          pub,
		changed:      make(chan struct{}),
		channels:     map[string]*channel{},
		interactions: map[string]*interactionState{},
		byToken:      map[string]*interactionState{},
		msgIndex:     map[string]*message{},
		commands:     map[string]json.RawMessage{},
		commandIDs:   map[string]string{},
	}
	s.hs = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

// Close stops the server.
func (s *Server) Close() {
	s.hs.Close()
	s.client.CloseIdleConnections()
}

// BaseURL returns the API base URL with its trailing slash,
// "http://127.0.0.1:PORT/api/v9/": what "https://discord.com/api/v9/"
// should be rewritten to.
func (s *Server) BaseURL() string { return s.hs.URL + APIPrefix }

// AddChannel creates a channel in guildID (DefaultGuildID if empty), or
// adds members to it if it exists. Members are the user IDs who can see
// the channel; a channel with no members is visible to everyone. The bot
// can post in every channel the server knows. An ID starting with "dm" is
// a DM channel whose recipient is the first member.
func (s *Server) AddChannel(id, guildID string, members ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch := s.channels[id]
	if ch == nil {
		ch = &channel{id: id, members: map[string]bool{}}
		s.channels[id] = ch
		if strings.HasPrefix(id, "dm") {
			ch.dm = true
			ch.recipient = strings.TrimPrefix(id, "dm")
			if len(members) > 0 {
				ch.recipient = members[0]
			}
		} else {
			if guildID == "" {
				guildID = DefaultGuildID
			}
			ch.guildID = guildID
		}
	}
	for _, m := range members {
		ch.members[m] = true
	}
	if ch.dm && ch.recipient != "" {
		ch.members[ch.recipient] = true
	}
	s.notifyLocked()
}

// RateLimit makes the next times calls whose method is method (any method
// if "") and whose path (with "?query" if any) contains pathContains answer
// HTTP 429 with {"message":"You are being rate limited.","retry_after":
// retryAfter,"global":false} and the headers Retry-After (whole seconds,
// rounded up), X-RateLimit-Global: false and X-RateLimit-Scope: user.
// Rules are checked in the order they were added.
func (s *Server) RateLimit(method, pathContains string, times int, retryAfter float64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.limits = append(s.limits, &rateLimit{
		method:       strings.ToUpper(method),
		pathContains: pathContains,
		remaining:    times,
		retryAfter:   retryAfter,
	})
}

// Calls returns every REST call received so far, in order, including those
// answered with an error.
func (s *Server) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Call, len(s.calls))
	for i, c := range s.calls {
		c.Body = slices.Clone(c.Body)
		c.Response = slices.Clone(c.Response)
		out[i] = c
	}
	return out
}

// Messages returns every message ever created, as it currently looks, in
// the order they were created. Deleted messages are included with Deleted
// set.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.snapshotLocked()
}

func (s *Server) snapshotLocked() []Message {
	out := make([]Message, len(s.msgs))
	for i, m := range s.msgs {
		out[i] = m.snapshot()
	}
	return out
}

func (m *message) snapshot() Message {
	c := m.Message
	c.Components = slices.Clone(c.Components)
	c.Embeds = slices.Clone(c.Embeds)
	return c
}

// WaitForMessage waits until a message (as Messages returns it, deleted
// ones included) satisfies match and returns the first such message in
// creation order, or returns ctx's error. match is called without the
// server's lock held.
func (s *Server) WaitForMessage(ctx context.Context, match func(Message) bool) (Message, error) {
	for {
		s.mu.Lock()
		ch := s.changed
		msgs := s.snapshotLocked()
		s.mu.Unlock()
		for _, m := range msgs {
			if match(m) {
				return m, nil
			}
		}
		select {
		case <-ctx.Done():
			return Message{}, ctx.Err()
		case <-ch:
		}
	}
}

// Commands returns the commands last set by a bulk overwrite for guildID
// ("" for global commands), as the server answered them (with IDs), or nil
// if none were ever set.
func (s *Server) Commands(guildID string) json.RawMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.commands[guildID])
}

// Callbacks returns every accepted initial response to an interaction, in
// order.
func (s *Server) Callbacks() []Callback {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Callback, len(s.callbacks))
	for i, c := range s.callbacks {
		c.Data = slices.Clone(c.Data)
		out[i] = c
	}
	return out
}

// Deliveries returns every interaction Deliver sent, with the app's
// answer, in order.
func (s *Server) Deliveries() []Delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Delivery, len(s.deliveries))
	for i, d := range s.deliveries {
		d.Response = slices.Clone(d.Response)
		out[i] = d
	}
	return out
}

func (s *Server) notifyLocked() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// reply is an HTTP answer.
type reply struct {
	status int
	body   []byte
	header http.Header
	// unhandled marks the answer to a request the server has no route
	// for (Call.Unhandled).
	unhandled bool
}

func jsonReply(status int, v any) reply {
	b, err := json.Marshal(v)
	if err != nil {
		panic("fakediscord: encoding reply: " + err.Error())
	}
	return reply{status: status, body: b}
}

func rawReply(status int, b []byte) reply {
	return reply{status: status, body: b}
}

func noContent() reply { return reply{status: http.StatusNoContent} }

// apiError is Discord's error body.
type apiError struct {
	Message string         `json:"message"`
	Code    int            `json:"code"`
	Errors  map[string]any `json:"errors,omitempty"`
}

func errReply(status int, msg string, code int) reply {
	return jsonReply(status, apiError{Message: msg, Code: code})
}

// Discord's errors, by name.
func errUnauthorized() reply { return errReply(401, "401: Unauthorized", 0) }

// errNotFound and errMethod answer a path or method the server has no
// route for, as Discord does.
func errNotFound() reply { return noRoute(errReply(404, "404: Not Found", 0)) }
func errMethod() reply   { return noRoute(errReply(405, "405: Method Not Allowed", 0)) }

// noRoute marks rp as the answer to a request without a route.
func noRoute(rp reply) reply {
	rp.unhandled = true
	return rp
}
func errUnknownInteraction() reply {
	return errReply(404, "Unknown interaction", 10062)
}
func errAcknowledged() reply {
	return errReply(400, "Interaction has already been acknowledged.", 40060)
}
func errUnknownWebhook() reply { return errReply(404, "Unknown Webhook", 10015) }
func errInvalidToken() reply   { return errReply(401, "Invalid Webhook Token", 50027) }
func errUnknownMessage() reply { return errReply(404, "Unknown Message", 10008) }
func errUnknownChannel() reply { return errReply(404, "Unknown Channel", 10003) }
func errEmptyMessage() reply   { return errReply(400, "Cannot send an empty message", 50006) }
func errBadJSON() reply {
	return errReply(400, "The request body contains invalid JSON.", 50109)
}
func errMissingAccess() reply { return errReply(403, "Missing Access", 50001) }

// serve handles every request: it reads the body, checks rate limits,
// routes, and records the call.
func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 32<<20))
	body = payloadJSON(r.Header.Get("Content-Type"), body)

	s.mu.Lock()
	rp, limited := s.rateLimitedLocked(r)
	if !limited {
		rp = s.routeLocked(r, body)
	}
	s.calls = append(s.calls, Call{
		Method:    r.Method,
		Path:      r.URL.Path,
		Query:     r.URL.RawQuery,
		Body:      body,
		Auth:      r.Header.Get("Authorization"),
		Status:    rp.status,
		Response:  rp.body,
		At:        s.opts.Now(),
		Unhandled: rp.unhandled,
	})
	s.notifyLocked()
	s.mu.Unlock()
	if rp.unhandled && s.opts.Unhandled != nil {
		s.opts.Unhandled(r.Method, r.URL.Path)
	}

	for k, v := range rp.header {
		w.Header()[k] = v
	}
	if rp.body != nil {
		w.Header().Set("Content-Type", "application/json")
	}
	w.WriteHeader(rp.status)
	if rp.body != nil {
		_, _ = w.Write(rp.body)
	}
}

// payloadJSON returns the payload_json field of a multipart body, or body
// itself for any other content type.
func payloadJSON(contentType string, body []byte) []byte {
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil || mt != "multipart/form-data" {
		return body
	}
	mr := multipart.NewReader(bytes.NewReader(body), params["boundary"])
	for {
		p, err := mr.NextPart()
		if err != nil {
			return nil
		}
		if p.FormName() == "payload_json" {
			b, _ := io.ReadAll(p)
			return b
		}
	}
}

func (s *Server) rateLimitedLocked(r *http.Request) (reply, bool) {
	target := r.URL.Path
	if r.URL.RawQuery != "" {
		target += "?" + r.URL.RawQuery
	}
	for _, l := range s.limits {
		if l.remaining <= 0 || (l.method != "" && l.method != r.Method) || !strings.Contains(target, l.pathContains) {
			continue
		}
		l.remaining--
		rp := jsonReply(http.StatusTooManyRequests, map[string]any{
			"message":     "You are being rate limited.",
			"retry_after": l.retryAfter,
			"global":      false,
		})
		secs := int(l.retryAfter)
		if float64(secs) < l.retryAfter {
			secs++
		}
		rp.header = http.Header{}
		rp.header.Set("Retry-After", itoa(secs))
		rp.header.Set("X-RateLimit-Global", "false")
		rp.header.Set("X-RateLimit-Scope", "user")
		return rp, true
	}
	return reply{}, false
}

// routeLocked dispatches a request to its handler.
func (s *Server) routeLocked(r *http.Request, body []byte) reply {
	if !strings.HasPrefix(r.URL.Path, APIPrefix) {
		return errNotFound()
	}
	seg := strings.Split(strings.TrimPrefix(r.URL.Path, APIPrefix), "/")
	n := len(seg)
	switch {
	case n == 4 && seg[0] == "interactions" && seg[3] == "callback":
		if r.Method != http.MethodPost {
			return errMethod()
		}
		return s.callbackRouteLocked(seg[1], seg[2], body)

	case n == 3 && seg[0] == "webhooks":
		if r.Method != http.MethodPost {
			return errMethod()
		}
		return s.followupLocked(seg[1], seg[2], r.URL.Query().Get("wait") == "true", body)

	case n == 5 && seg[0] == "webhooks" && seg[3] == "messages":
		switch r.Method {
		case http.MethodGet, http.MethodPatch, http.MethodDelete:
			return s.webhookMessageLocked(r.Method, seg[1], seg[2], seg[4], body)
		}
		return errMethod()

	case n == 3 && seg[0] == "channels" && seg[2] == "messages":
		if !s.authorized(r) {
			return errUnauthorized()
		}
		if r.Method != http.MethodPost {
			return errMethod()
		}
		return s.channelPostLocked(seg[1], body)

	case n == 4 && seg[0] == "channels" && seg[2] == "messages":
		if !s.authorized(r) {
			return errUnauthorized()
		}
		switch r.Method {
		case http.MethodGet, http.MethodPatch, http.MethodDelete:
			return s.channelMessageLocked(r.Method, seg[1], seg[3], body)
		}
		return errMethod()

	case n == 2 && seg[0] == "users" && seg[1] == "@me":
		if !s.authorized(r) {
			return errUnauthorized()
		}
		if r.Method != http.MethodGet {
			return errMethod()
		}
		return jsonReply(http.StatusOK, s.botUser(true))

	case n == 3 && seg[0] == "users" && seg[1] == "@me" && seg[2] == "channels":
		if !s.authorized(r) {
			return errUnauthorized()
		}
		if r.Method != http.MethodPost {
			return errMethod()
		}
		return s.dmCreateLocked(body)

	case n == 3 && seg[0] == "applications" && seg[2] == "commands",
		n == 5 && seg[0] == "applications" && seg[2] == "guilds" && seg[4] == "commands":
		if !s.authorized(r) {
			return errUnauthorized()
		}
		if seg[1] != s.opts.AppID {
			return errMissingAccess()
		}
		guild := ""
		if n == 5 {
			guild = seg[3]
		}
		switch r.Method {
		case http.MethodGet:
			cmds := s.commands[guild]
			if cmds == nil {
				cmds = json.RawMessage("[]")
			}
			return rawReply(http.StatusOK, slices.Clone(cmds))
		case http.MethodPut:
			return s.bulkOverwriteLocked(guild, body)
		}
		return errMethod()
	}
	return errNotFound()
}

func (s *Server) authorized(r *http.Request) bool {
	return r.Header.Get("Authorization") == "Bot "+s.opts.BotToken
}

// botUser is the bot's user object; full adds the fields of GET /users/@me.
func (s *Server) botUser(full bool) map[string]any {
	u := map[string]any{
		"id":            s.opts.AppID,
		"username":      BotUsername,
		"discriminator": "0000",
		"global_name":   nil,
		"avatar":        nil,
		"bot":           true,
		"public_flags":  0,
	}
	if full {
		u["flags"] = 0
		u["verified"] = true
		u["mfa_enabled"] = false
		u["locale"] = "en-US"
	}
	return u
}

// userObject is the user object Discord sends for user id.
func userObject(id string) map[string]any {
	return map[string]any{
		"id":            id,
		"username":      "user" + strings.ToLower(id),
		"global_name":   "User " + id,
		"discriminator": "0",
		"avatar":        nil,
		"public_flags":  0,
	}
}
