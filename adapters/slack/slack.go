// Package slack connects cippbot to Slack with slack-go: the /cipp slash
// command and button clicks arrive over HTTP (every request's signature
// checked first) or over Socket Mode; replies are Block Kit messages, cards
// are updated in place, and private answers and secrets go by ephemeral
// message or, failing that, a direct message, never to the channel.
package slack

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	slackapi "github.com/slack-go/slack"

	"github.com/cippbot/cippbot/bot"
)

// Platform is the platform name of Slack events and actor IDs.
const Platform = "slack"

// DefaultAPIURL is Slack's Web API root; slack-go needs the trailing slash.
const DefaultAPIURL = "https://slack.com/api/"

// Handler handles one event; *bot.Bot satisfies it.
type Handler interface {
	Handle(ctx context.Context, ev bot.Event, r bot.Responder)
}

// Config configures the adapter.
type Config struct {
	BotToken      string // xoxb-…
	SigningSecret string // HTTP mode
	AppToken      string // xapp-…, Socket Mode
	// APIURL is the Web API root; "" means DefaultAPIURL. A missing
	// trailing slash is added.
	APIURL string
	// HTTPClient, if non-nil, carries Web API and response_url calls.
	HTTPClient *http.Client
	// Logger, if non-nil, receives logs.
	Logger *slog.Logger
	// MaxRetries bounds retries of a rate-limited Web API call; 0 means 3.
	MaxRetries int
	// Dedup, if non-nil, remembers the trigger IDs of deliveries already
	// handled, so that a delivery Slack repeats is dropped even after a
	// restart. nil means they are remembered in memory only.
	Dedup bot.Deduper
	// State, if non-nil, keeps the questions waiting for their forms, so
	// that the click that opens a form and its submission may land on any
	// replica. nil means memory, for one process.
	State bot.Transient
}

// deliveryTTL is how long a delivery key is remembered: Slack retries a
// delivery within minutes, and a response_url works for 30.
const deliveryTTL = 30 * time.Minute

// slackAPI lists the slack-go calls the adapter makes.
type slackAPI interface {
	AuthTestContext(ctx context.Context) (*slackapi.AuthTestResponse, error)
	PostMessageContext(ctx context.Context, channelID string, options ...slackapi.MsgOption) (string, string, error)
	UpdateMessageContext(ctx context.Context, channelID, timestamp string, options ...slackapi.MsgOption) (string, string, string, error)
	PostEphemeralContext(ctx context.Context, channelID, userID string, options ...slackapi.MsgOption) (string, error)
	OpenConversationContext(ctx context.Context, params *slackapi.OpenConversationParameters) (*slackapi.Channel, bool, bool, error)
	OpenViewContext(ctx context.Context, triggerID string, view slackapi.ModalViewRequest) (*slackapi.ViewResponse, error)
}

// Adapter is the Slack chat platform. It implements bot.Chat.
type Adapter struct {
	cfg     Config
	api     slackAPI
	client  *slackapi.Client
	http    *http.Client
	handler Handler
	log     *slog.Logger

	// ctx is the adapter's lifecycle context: work started after an ack
	// runs under it, not under the finished HTTP request's context.
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	dedup bot.Deduper // delivery keys already handled

	// socketUp reports whether Socket Mode is connected.
	socketUp atomic.Bool

	// state keeps the questions awaiting an answer, under keyAsk + nonce.
	state bot.Transient
}

var _ bot.Chat = (*Adapter)(nil)

// New returns an adapter that passes events to h.
func New(cfg Config, h Handler) (*Adapter, error) {
	if cfg.BotToken == "" {
		return nil, errors.New("slack: SLACK_BOT_TOKEN is required")
	}
	if cfg.SigningSecret == "" && cfg.AppToken == "" {
		return nil, errors.New("slack: set SLACK_SIGNING_SECRET (HTTP) or SLACK_APP_TOKEN (Socket Mode)")
	}
	if cfg.APIURL == "" {
		cfg.APIURL = DefaultAPIURL
	}
	if !strings.HasSuffix(cfg.APIURL, "/") {
		cfg.APIURL += "/"
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	opts := []slackapi.Option{slackapi.OptionAPIURL(cfg.APIURL), slackapi.OptionHTTPClient(hc)}
	if cfg.AppToken != "" {
		opts = append(opts, slackapi.OptionAppLevelToken(cfg.AppToken))
	}
	client := slackapi.New(cfg.BotToken, opts...)
	return newAdapter(cfg, client, client, hc, h), nil
}

func newAdapter(cfg Config, api slackAPI, client *slackapi.Client, hc *http.Client, h Handler) *Adapter {
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	dedup := cfg.Dedup
	if dedup == nil {
		dedup = bot.NewMemDeduper(time.Now)
	}
	state := cfg.State
	if state == nil {
		state = bot.NewMemTransient(time.Now)
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Adapter{cfg: cfg, api: api, client: client, http: hc, handler: h,
		log: log.With("component", Platform), ctx: ctx, cancel: cancel, dedup: dedup, state: state}
}

// SetHandler sets the handler; for wiring when the bot needs the adapter
// first.
func (a *Adapter) SetHandler(h Handler) { a.handler = h }

// Check verifies the bot token with auth.test.
func (a *Adapter) Check(ctx context.Context) error {
	if _, err := a.api.AuthTestContext(ctx); err != nil {
		return fmt.Errorf("slack: the bot token was refused (%w); check SLACK_BOT_TOKEN", err)
	}
	return nil
}

// Close stops taking work and waits for work already acknowledged, up to
// ctx's deadline.
func (a *Adapter) Close(ctx context.Context) error {
	done := make(chan struct{})
	go func() { a.wg.Wait(); close(done) }()
	select {
	case <-done:
		a.cancel()
		return nil
	case <-ctx.Done():
		a.cancel()
		return ctx.Err()
	}
}

// Wait blocks until acknowledged work is done (for tests).
func (a *Adapter) Wait() { a.wg.Wait() }

// firstDelivery reports whether key is new, remembering it for
// deliveryTTL: Slack retries a delivery it thinks was lost, and a repeated
// payload must not run twice. An empty key (a delivery without a trigger
// ID) cannot be recognised and is new. If the keys cannot be read, the
// delivery is new too: a repeated card is better than a dropped command,
// and an approval runs once regardless, its state being changed by
// compare-and-swap.
func (a *Adapter) firstDelivery(ctx context.Context, key string) bool {
	if key == "" {
		return true
	}
	first, err := a.dedup.FirstDelivery(ctx, key, deliveryTTL)
	if err != nil {
		a.log.Warn("could not check for a repeated delivery; handling it", "key", key, "err", err)
		return true
	}
	return first
}

// dispatch runs the handler in the background, after the ack, unless key
// was handled already. The check runs in the background too, so that it
// never delays the ack.
func (a *Adapter) dispatch(key, what string, ev bot.Event, r bot.Responder) {
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		if !a.firstDelivery(a.ctx, key) {
			a.log.Info("dropped repeated "+what, bot.LogActor, ev.Actor.ID)
			return
		}
		a.handler.Handle(a.ctx, ev, r)
	}()
}

// slash turns a slash command into an event.
func (a *Adapter) slash(cmd slackapi.SlashCommand) {
	ev := bot.Event{Platform: Platform, Workspace: cmd.TeamID, Channel: cmd.ChannelID,
		Actor: bot.Actor{ID: Platform + ":" + cmd.UserID, Name: cmd.UserName}, Text: cmd.Text}
	key := ""
	if cmd.TriggerID != "" {
		key = Platform + ":cmd:" + cmd.TriggerID
	}
	a.dispatch(key, "slash command", ev, &responder{a: a, channel: cmd.ChannelID, user: cmd.UserID, responseURL: cmd.ResponseURL})
}

// interaction turns a button click into an event: the button's value is
// the command it stands for. A form's submission is answer's.
func (a *Adapter) interaction(ic slackapi.InteractionCallback) {
	if ic.Type != slackapi.InteractionTypeBlockActions {
		return
	}
	for _, act := range ic.ActionCallback.BlockActions {
		if !strings.HasPrefix(act.ActionID, actionIDPrefix) {
			continue
		}
		if nonce, ok := strings.CutPrefix(act.Value, askVerb+" "); ok && act.ActionID == actionIDPrefix+askVerb {
			a.wg.Add(1)
			go func() {
				defer a.wg.Done()
				a.openAsk(a.ctx, ic, nonce)
			}()
			continue
		}
		channel := ic.Channel.ID
		if channel == "" {
			channel = ic.Container.ChannelID
		}
		name := ic.User.Name
		if name == "" {
			name = ic.User.Username
		}
		ev := bot.Event{Platform: Platform, Workspace: ic.Team.ID, Channel: channel,
			Actor: bot.Actor{ID: Platform + ":" + ic.User.ID, Name: name}, Text: act.Value}
		key := ""
		if ic.TriggerID != "" {
			key = Platform + ":act:" + ic.TriggerID + ":" + act.ActionTs
		}
		a.dispatch(key, "button click", ev, &responder{a: a, channel: channel, user: ic.User.ID, responseURL: ic.ResponseURL})
	}
}

// userID strips the platform from an actor ID.
func userID(actorID string) (string, bool) {
	return strings.CutPrefix(actorID, Platform+":")
}

// retry calls fn again while Slack answers ratelimited, waiting as asked.
func (a *Adapter) retry(ctx context.Context, fn func() error) error {
	max := a.cfg.MaxRetries
	if max <= 0 {
		max = 3
	}
	for attempt := 0; ; attempt++ {
		err := fn()
		var rl *slackapi.RateLimitedError
		if !errors.As(err, &rl) || attempt >= max {
			return err
		}
		wait := min(max0(rl.RetryAfter), 30*time.Second)
		a.log.Warn("slack rate limited; waiting", "retry_after", wait)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}

func max0(d time.Duration) time.Duration {
	if d < 0 {
		return 0
	}
	return d
}

// slackError returns Slack's error string ("not_in_channel"), or "".
func slackError(err error) string {
	var se slackapi.SlackErrorResponse
	if errors.As(err, &se) {
		return se.Err
	}
	if err != nil {
		// slack-go returns some Web API errors as plain errors.New(code).
		s := err.Error()
		if !strings.ContainsAny(s, " :") {
			return s
		}
	}
	return ""
}

// post posts a public message and returns its ts.
func (a *Adapter) post(ctx context.Context, channel string, m bot.Message) (string, error) {
	if len(m.Secrets) > 0 {
		return "", errors.New("slack: refusing to post a secret to a channel")
	}
	var ts string
	err := a.retry(ctx, func() error {
		var err error
		_, ts, err = a.api.PostMessageContext(ctx, channel,
			slackapi.MsgOptionText(fallback(m), false), slackapi.MsgOptionBlocks(blocks(m, false)...))
		return err
	})
	return ts, err
}

// Update implements bot.Chat with chat.update; the card's buttons go when
// m has none.
func (a *Adapter) Update(ctx context.Context, channel, ref string, m bot.Message) error {
	if len(m.Secrets) > 0 {
		return errors.New("slack: refusing to put a secret on a card")
	}
	return a.retry(ctx, func() error {
		_, _, _, err := a.api.UpdateMessageContext(ctx, channel, ref,
			slackapi.MsgOptionText(fallback(m), false), slackapi.MsgOptionBlocks(blocks(m, false)...))
		return err
	})
}

// Notify implements bot.Chat: an ephemeral message to user in channel, or
// a direct message when that is impossible (the user left the channel, the
// bot is not in it). Never a channel message.
func (a *Adapter) Notify(ctx context.Context, channel string, user bot.Actor, m bot.Message) error {
	uid, ok := userID(user.ID)
	if !ok {
		return fmt.Errorf("slack: %s is not a Slack user", user.ID)
	}
	m, err := a.withAsk(ctx, m, uid, channel)
	if err != nil {
		return err
	}
	opts := []slackapi.MsgOption{slackapi.MsgOptionText(fallback(m), false), slackapi.MsgOptionBlocks(blocks(m, true)...)}
	err = a.retry(ctx, func() error {
		_, err := a.api.PostEphemeralContext(ctx, channel, uid, opts...)
		return err
	})
	if err == nil {
		return nil
	}
	switch slackError(err) {
	case "user_not_in_channel", "channel_not_found", "not_in_channel", "is_archived", "restricted_action":
	default:
		return fmt.Errorf("slack: ephemeral to %s: %w", uid, err)
	}
	a.log.Info("ephemeral impossible; sending a direct message", "reason", slackError(err), bot.LogActor, user.ID)
	var dm *slackapi.Channel
	err = a.retry(ctx, func() error {
		var err error
		dm, _, _, err = a.api.OpenConversationContext(ctx, &slackapi.OpenConversationParameters{Users: []string{uid}})
		return err
	})
	if err != nil {
		return fmt.Errorf("slack: open DM with %s: %w", uid, err)
	}
	return a.retry(ctx, func() error {
		_, _, err := a.api.PostMessageContext(ctx, dm.ID, opts...)
		return err
	})
}

// responder answers one slash command or click.
type responder struct {
	a           *Adapter
	channel     string
	user        string
	responseURL string

	mu   sync.Mutex
	uses int // response_url accepts 5 posts
}

// Private implements bot.Responder. Plain answers go through response_url,
// which works even where the bot is not a member; secrets go through
// Notify (chat.postEphemeral, then a DM), and only if both fail through
// response_url as an ephemeral reply, which reaches the actor alone too
// (a Reveal click while Slack refuses ephemerals and DMs).
func (r *responder) Private(ctx context.Context, m bot.Message) error {
	if m.Ask != nil {
		var err error
		if m, err = r.a.withAsk(ctx, m, r.user, r.channel); err != nil {
			return err
		}
		m.Ask = nil // Notify must not store it twice
	}
	if len(m.Secrets) == 0 && r.takeResponseURL() {
		err := r.hook(ctx, m)
		if err == nil {
			return nil
		}
		r.a.log.Warn("response_url failed; trying chat.postEphemeral", "err", err)
	}
	err := r.a.Notify(ctx, r.channel, bot.Actor{ID: Platform + ":" + r.user}, m)
	if err != nil && len(m.Secrets) > 0 && r.takeResponseURL() {
		if herr := r.hook(ctx, m); herr == nil {
			r.a.log.Info("secret sent by response_url: ephemeral and DM failed", bot.LogActor, Platform+":"+r.user, "err", err)
			return nil
		}
	}
	return err
}

// hook posts m through the response_url as an ephemeral reply.
func (r *responder) hook(ctx context.Context, m bot.Message) error {
	return slackapi.PostWebhookCustomHTTPContext(ctx, r.responseURL, r.a.http, &slackapi.WebhookMessage{
		Text: fallback(m), Blocks: &slackapi.Blocks{BlockSet: blocks(m, len(m.Secrets) > 0)}, ResponseType: slackapi.ResponseTypeEphemeral,
	})
}

func (r *responder) takeResponseURL() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.responseURL == "" || r.uses >= 5 {
		return false
	}
	r.uses++
	return true
}

// Public implements bot.Responder with chat.postMessage; the ts is the
// card reference.
func (r *responder) Public(ctx context.Context, m bot.Message) (string, error) {
	ts, err := r.a.post(ctx, r.channel, m)
	switch slackError(err) {
	case "":
		return ts, err
	case "not_in_channel", "channel_not_found":
		r.Private(ctx, bot.Message{Title: "Invite me to this channel first: /invite @cippbot", Tone: bot.ToneError,
			Lines: []string{"I could not post here, so nothing was asked or done in the channel."}})
	}
	return "", fmt.Errorf("slack: post to %s: %w", r.channel, err)
}

// Ready reports whether the adapter can take requests: in Socket Mode,
// whether it is connected; over HTTP, always (the token was checked at
// start).
func (a *Adapter) Ready() error {
	if a.cfg.AppToken != "" && !a.socketUp.Load() {
		return errors.New("slack: socket mode is not connected")
	}
	return nil
}
