// Package discord connects cippbot to Discord with discordgo: the /cipp
// and /cipp-<area> application commands and button clicks arrive over the
// gateway or over a signed HTTP interactions endpoint; every interaction
// is acknowledged with a deferred response first; approval cards are
// channel messages updated in place; private answers are ephemeral, a
// question opens a modal form, and a secret whose requester's interaction
// has expired waits behind a Reveal button only they may use.
//
// Typed options go back into text. An area command's options (user,
// reason, each parameter) are written as the command a technician would
// type in Slack, each value quoted with bot.Quote, and the engine reads
// that text with the one grammar it reads from every platform, button and
// form alike (see bot.Command). Handing the engine a structured command
// instead would give it a second way in that must agree with the first
// on every word. Quoted, an option's value is only ever a value: a user
// option cannot smuggle in a flag or a name=value, whatever is typed
// into it. FuzzInteraction checks that every command Discord could send
// reads back as exactly the command sent.
package discord

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/cippbot/cippbot/bot"
)

// Platform is the platform name of Discord events and actor IDs.
const Platform = "discord"

// DefaultAPIURL is Discord's REST root, which discordgo has built in.
const DefaultAPIURL = "https://discord.com/api/v9/"

// Discord lets an app use an interaction token for 15 minutes.
const tokenLife = 15 * time.Minute

// revealPrefix starts the custom_id of a Reveal button.
const revealPrefix = "reveal:"

// Handler handles one event; *bot.Bot satisfies it.
type Handler interface {
	Handle(ctx context.Context, ev bot.Event, r bot.Responder)
}

// Config configures the adapter.
type Config struct {
	BotToken  string
	AppID     string
	PublicKey string // hex; enables the HTTP interactions endpoint
	GuildID   string // register to one guild (instant) instead of globally
	// APIURL is the REST root; "" means DefaultAPIURL.
	APIURL string
	// HTTPClient, if non-nil, supplies the transport for REST calls.
	HTTPClient *http.Client
	Logger     *slog.Logger
	// Now, if non-nil, replaces time.Now (tests drive token expiry).
	Now func() time.Time
	// RevealTTL is how long a Reveal button works; 0 means 15 minutes.
	RevealTTL time.Duration
	// Dedup, if non-nil, remembers the IDs of interactions already
	// handled, so that an interaction delivered again is dropped even
	// after a restart. nil means they are remembered in memory only.
	Dedup bot.Deduper
	// State, if non-nil, keeps what a click must find again on whichever
	// replica it lands: questions waiting for their forms and long
	// buttons' commands. nil means memory, for one process.
	State bot.Transient
	// Sealed, if non-nil, keeps what is secret among it: users' latest
	// interaction tokens and the private messages behind Reveal buttons.
	// Give it a Transient that seals (store.SealedTransient), never a
	// plain store. nil means memory: a Reveal click, or a follow-up on a
	// user's interaction, then works only on the replica that made it.
	Sealed bot.Transient
}

// Adapter is the Discord chat platform. It implements bot.Chat.
type Adapter struct {
	cfg     Config
	s       *discordgo.Session
	pub     ed25519.PublicKey
	handler Handler
	log     *slog.Logger

	ctx    context.Context // lifecycle: work after an ack runs under it
	cancel context.CancelFunc
	wg     sync.WaitGroup

	dedup bot.Deduper // interaction IDs handled

	// state keeps, under keyAsk, keyLong: questions waiting for their
	// answers and buttons' commands too long for their IDs. sealed keeps,
	// under keyRecent, keyReveal: users' latest interactions and the
	// secrets waiting for their owners' Reveal clicks.
	state, sealed bot.Transient

	mu    sync.Mutex
	names map[string]bool // the registered commands; nil before Register
}

// Key prefixes of what the adapter keeps in its Transients.
const (
	keyAsk    = Platform + ":ask:"    // + nonce → pendingAsk (JSON)
	keyLong   = Platform + ":long:"   // + nonce → a button's command
	keyRecent = Platform + ":recent:" // + user ID, NUL, channel → recentToken (JSON)
	keyReveal = Platform + ":reveal:" // + nonce → pendingReveal (JSON)
)

// recentToken is a user's latest interaction, whose token can still carry
// an ephemeral follow-up to them: what FollowupMessageCreate reads of it.
type recentToken struct {
	ID    string    `json:"id"`
	AppID string    `json:"app_id"`
	Token string    `json:"token"`
	At    time.Time `json:"at"`
}

// pendingReveal is a private message waiting until its one reader clicks
// Reveal, or it expires; kept only where Config.Sealed seals it.
type pendingReveal struct {
	User    string          `json:"user"`
	Channel string          `json:"channel"`
	Held    json.RawMessage `json:"held"` // bot.HoldPrivate's encoding
	Expires time.Time       `json:"expires"`
}

var _ bot.Chat = (*Adapter)(nil)

// New returns an adapter that passes events to h.
func New(cfg Config, h Handler) (*Adapter, error) {
	if cfg.BotToken == "" || cfg.AppID == "" {
		return nil, errors.New("discord: DISCORD_BOT_TOKEN and DISCORD_APP_ID are required")
	}
	var pub ed25519.PublicKey
	if cfg.PublicKey != "" {
		b, err := hex.DecodeString(cfg.PublicKey)
		if err != nil || len(b) != ed25519.PublicKeySize {
			return nil, errors.New("discord: DISCORD_PUBLIC_KEY is not a hex Ed25519 public key (64 hex digits)")
		}
		pub = b
	}
	s, err := discordgo.New("Bot " + cfg.BotToken)
	if err != nil {
		return nil, fmt.Errorf("discord: %w", err)
	}
	var parent http.RoundTripper = http.DefaultTransport
	if cfg.HTTPClient != nil && cfg.HTTPClient.Transport != nil {
		parent = cfg.HTTPClient.Transport
	}
	base := cfg.APIURL
	if base == "" {
		base = DefaultAPIURL
	}
	if !strings.HasSuffix(base, "/") {
		base += "/"
	}
	// discordgo's endpoints are package globals; rather than edit them,
	// the session's client sends their requests to base.
	s.Client = &http.Client{Timeout: 20 * time.Second, Transport: rewrite{from: discordgo.EndpointAPI, to: base, next: parent}}
	s.MaxRestRetries = 3
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	a := &Adapter{cfg: cfg, s: s, pub: pub, handler: h, log: log.With("component", Platform), ctx: ctx, cancel: cancel,
		dedup: cfg.Dedup, state: cfg.State, sealed: cfg.Sealed}
	if a.dedup == nil {
		a.dedup = bot.NewMemDeduper(a.now)
	}
	if a.state == nil {
		a.state = bot.NewMemTransient(a.now)
	}
	if a.sealed == nil {
		a.sealed = bot.NewMemTransient(a.now)
	}
	s.AddHandler(func(_ *discordgo.Session, ic *discordgo.InteractionCreate) { a.HandleInteraction(ic.Interaction) })
	return a, nil
}

// rewrite sends requests for one URL prefix to another.
type rewrite struct {
	from, to string
	next     http.RoundTripper
}

func (rw rewrite) RoundTrip(req *http.Request) (*http.Response, error) {
	if u := req.URL.String(); rw.from != rw.to && strings.HasPrefix(u, rw.from) {
		r2 := req.Clone(req.Context())
		nu, err := req.URL.Parse(rw.to + strings.TrimPrefix(u, rw.from))
		if err != nil {
			return nil, err
		}
		r2.URL, r2.Host = nu, nu.Host
		return rw.next.RoundTrip(r2)
	}
	return rw.next.RoundTrip(req)
}

func (a *Adapter) now() time.Time {
	if a.cfg.Now != nil {
		return a.cfg.Now()
	}
	return time.Now()
}

// Register bulk-overwrites cippbot's commands (see Commands), to the
// guild if one is configured, else globally: commands no longer built,
// such as a former area's, disappear. Doing it at every start is
// idempotent. From then on only these commands' interactions are taken.
func (a *Adapter) Register(ctx context.Context, actions []*bot.Action, builtins []bot.Builtin) error {
	cmds, err := Commands(actions, builtins)
	if err != nil {
		return err
	}
	_, err = a.s.ApplicationCommandBulkOverwrite(a.cfg.AppID, a.cfg.GuildID, cmds, discordgo.WithContext(ctx))
	if err != nil {
		return fmt.Errorf("discord: register %d commands: %w", len(cmds), explain(err))
	}
	names := make(map[string]bool, len(cmds))
	for _, c := range cmds {
		names[c.Name] = true
	}
	a.mu.Lock()
	a.names = names
	a.mu.Unlock()
	return nil
}

// known reports whether name is one of cippbot's commands: one Register
// registered or, before Register has run, /cipp or any /cipp-….
func (a *Adapter) known(name string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.names != nil {
		return a.names[name]
	}
	return name == CommandName || strings.HasPrefix(name, areaPrefix)
}

// RunGateway connects to the gateway and handles interactions until ctx
// ends. Not used when the HTTP interactions endpoint is configured: Discord
// then delivers interactions only there.
func (a *Adapter) RunGateway(ctx context.Context) error {
	a.s.Identify.Intents = discordgo.IntentsGuilds
	if err := a.s.Open(); err != nil {
		return fmt.Errorf("discord: gateway: %w (check DISCORD_BOT_TOKEN)", err)
	}
	<-ctx.Done()
	return a.s.Close()
}

// Close stops taking work and waits for work already acknowledged, up to
// ctx's deadline.
func (a *Adapter) Close(ctx context.Context) error {
	done := make(chan struct{})
	go func() { a.wg.Wait(); close(done) }()
	defer a.cancel()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Wait blocks until acknowledged work is done (for tests).
func (a *Adapter) Wait() { a.wg.Wait() }

// actor returns who made the interaction: member.user in a guild, user in
// a DM.
func actor(in *discordgo.Interaction) (bot.Actor, bool) {
	u := in.User
	if in.Member != nil && in.Member.User != nil {
		u = in.Member.User
	}
	if u == nil || u.ID == "" {
		return bot.Actor{}, false
	}
	name := u.GlobalName
	if name == "" {
		name = u.Username
	}
	return bot.Actor{ID: Platform + ":" + u.ID, Name: name}, true
}

// firstDelivery reports whether the interaction ID is new, remembering it
// for as long as an interaction token lives. An interaction without an ID
// cannot be recognised and is new. If the IDs cannot be read, the
// interaction is new too: a repeated card is better than a dropped
// command, and an approval runs once regardless, its state being changed
// by compare-and-swap.
func (a *Adapter) firstDelivery(id string) bool {
	if id == "" {
		return true
	}
	first, err := a.dedup.FirstDelivery(a.ctx, Platform+":"+id, tokenLife)
	if err != nil {
		a.log.Warn("could not check for a repeated interaction; handling it", "interaction", id, "err", err)
		return true
	}
	return first
}

// HandleInteraction acknowledges an interaction and starts its work. The
// gateway calls it; the HTTP endpoint calls it after checking the
// signature. It returns once Discord has the acknowledgement.
func (a *Adapter) HandleInteraction(in *discordgo.Interaction) {
	if in == nil || !a.firstDelivery(in.ID) {
		return
	}
	who, ok := actor(in)
	if !ok {
		return
	}
	switch in.Type {
	case discordgo.InteractionApplicationCommand:
		data := in.ApplicationCommandData()
		if !a.known(data.Name) {
			name := []rune(data.Name)
			if len(name) > maxName {
				name = append(name[:maxName], '…')
			}
			content, _ := render(bot.Message{Title: "Unknown command /" + string(name) + ": try /cipp help", Tone: bot.ToneError}, false)
			a.ack(in, &discordgo.InteractionResponse{Type: discordgo.InteractionResponseChannelMessageWithSource,
				Data: &discordgo.InteractionResponseData{Content: content, Flags: discordgo.MessageFlagsEphemeral,
					AllowedMentions: &discordgo.MessageAllowedMentions{}}})
			return
		}
		if !a.ack(in, &discordgo.InteractionResponse{Type: discordgo.InteractionResponseDeferredChannelMessageWithSource,
			Data: &discordgo.InteractionResponseData{Flags: discordgo.MessageFlagsEphemeral}}) {
			return
		}
		a.remember(who, in)
		a.dispatch(in, who, commandText(data), true, attachments(data))
	case discordgo.InteractionMessageComponent:
		id := in.MessageComponentData().CustomID
		if nonce, ok := strings.CutPrefix(id, revealPrefix); ok {
			a.reveal(in, who, nonce)
			return
		}
		if nonce, ok := strings.CutPrefix(id, askPrefix); ok {
			a.openAsk(in, who, nonce)
			return
		}
		if !a.ack(in, &discordgo.InteractionResponse{Type: discordgo.InteractionResponseDeferredMessageUpdate}) {
			return
		}
		text := id
		if nonce, ok := strings.CutPrefix(id, longPrefix); ok {
			if text, ok = a.longCommand(a.ctx, nonce); !ok {
				content, _ := render(bot.Message{Title: "This button has expired: type the command instead.", Tone: bot.ToneError}, false)
				a.ack(in, &discordgo.InteractionResponse{Type: discordgo.InteractionResponseChannelMessageWithSource,
					Data: &discordgo.InteractionResponseData{Content: content, Flags: discordgo.MessageFlagsEphemeral}})
				return
			}
		}
		a.remember(who, in)
		a.dispatch(in, who, text, false, nil)
	case discordgo.InteractionModalSubmit:
		a.answer(in, who)
	}
}

// ack sends the initial response; without it Discord shows the
// interaction as failed after 3 seconds.
func (a *Adapter) ack(in *discordgo.Interaction, r *discordgo.InteractionResponse) bool {
	if err := a.s.InteractionRespond(in, r); err != nil {
		a.log.Warn("interaction ack failed", "interaction", in.ID, "err", explain(err))
		return false
	}
	return true
}

// remember keeps the user's interaction in the channel, so that a later
// private answer to them there can be an ephemeral follow-up on its token,
// from any replica.
func (a *Adapter) remember(who bot.Actor, in *discordgo.Interaction) {
	b, err := json.Marshal(recentToken{ID: in.ID, AppID: in.AppID, Token: in.Token, At: a.now()})
	if err == nil {
		err = a.sealed.PutTransient(a.ctx, keyRecent+who.ID+"\x00"+in.ChannelID, b, tokenLife)
	}
	if err != nil {
		a.log.Warn("could not keep the interaction for follow-ups; private answers will go by DM", "err", err)
	}
}

// recentInteraction returns the user's latest interaction in channel
// whose token still works, with a minute in hand.
func (a *Adapter) recentInteraction(ctx context.Context, user, channel string) (*discordgo.Interaction, bool) {
	b, err := a.sealed.Transient(ctx, keyRecent+user+"\x00"+channel)
	if err != nil {
		a.log.Warn("could not read the user's latest interaction", "err", err)
		return nil, false
	}
	var rt recentToken
	if b == nil || json.Unmarshal(b, &rt) != nil || a.now().Sub(rt.At) >= tokenLife-time.Minute {
		return nil, false
	}
	return &discordgo.Interaction{ID: rt.ID, AppID: rt.AppID, Token: rt.Token, Type: discordgo.InteractionApplicationCommand}, true
}

func (a *Adapter) dispatch(in *discordgo.Interaction, who bot.Actor, text string, command bool, files []*discordgo.MessageAttachment) {
	ev := bot.Event{Platform: Platform, Workspace: in.GuildID, Channel: in.ChannelID, Actor: who, Text: text}
	r := &responder{a: a, in: in, channel: in.ChannelID, command: command}
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		defer r.finish()
		for _, att := range files {
			f, err := a.download(a.ctx, att)
			if err != nil {
				r.Private(a.ctx, bot.Message{Title: "Could not read " + att.Filename + ": " + err.Error(), Tone: bot.ToneError})
				return
			}
			ev.Files = append(ev.Files, f)
		}
		a.handler.Handle(a.ctx, ev, r)
	}()
}

// download fetches an attachment from Discord's CDN, within MaxFileSize.
func (a *Adapter) download(ctx context.Context, att *discordgo.MessageAttachment) (bot.File, error) {
	if att.Size > bot.MaxFileSize {
		return bot.File{}, fmt.Errorf("it is larger than %d KiB", bot.MaxFileSize/1024)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, att.URL, nil)
	if err != nil {
		return bot.File{}, err
	}
	resp, err := a.s.Client.Do(req)
	if err != nil {
		return bot.File{}, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return bot.File{}, fmt.Errorf("Discord answered %s", resp.Status)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, bot.MaxFileSize+1))
	if err != nil {
		return bot.File{}, err
	}
	if len(data) > bot.MaxFileSize {
		return bot.File{}, fmt.Errorf("it is larger than %d KiB", bot.MaxFileSize/1024)
	}
	return bot.File{Name: att.Filename, Data: data}, nil
}

// explain turns a Discord REST error into words, keeping the error.
func explain(err error) error {
	var re *discordgo.RESTError
	if !errors.As(err, &re) || re.Message == nil {
		return err
	}
	switch re.Message.Code {
	case 10062:
		return fmt.Errorf("the interaction expired before cippbot answered (10062): %w", err)
	case 50001, 50013:
		return fmt.Errorf("cippbot lacks access to this channel (%d): give it View Channel and Send Messages: %w", re.Message.Code, err)
	case 10003:
		return fmt.Errorf("unknown channel (10003): %w", err)
	case 50027:
		return fmt.Errorf("the interaction token expired (50027): %w", err)
	}
	return err
}

func restCode(err error) int {
	var re *discordgo.RESTError
	if errors.As(err, &re) && re.Message != nil {
		return re.Message.Code
	}
	return 0
}

// Update implements bot.Chat by editing the card message.
func (a *Adapter) Update(ctx context.Context, channel, ref string, m bot.Message) error {
	if len(m.Secrets) > 0 {
		return errors.New("discord: refusing to put a secret on a card")
	}
	m, err := a.shortButtons(ctx, m)
	if err != nil {
		return err
	}
	content, comps := render(m, false)
	_, err = a.s.ChannelMessageEditComplex(&discordgo.MessageEdit{ID: ref, Channel: channel, Content: &content, Components: &comps,
		AllowedMentions: &discordgo.MessageAllowedMentions{}}, discordgo.WithContext(ctx))
	return explain(err)
}

// Notify implements bot.Chat: an ephemeral follow-up on the user's own
// recent interaction in that channel; failing that, a secret waits behind
// a Reveal button only they can use, and anything else goes by DM.
func (a *Adapter) Notify(ctx context.Context, channel string, user bot.Actor, m bot.Message) error {
	uid, ok := strings.CutPrefix(user.ID, Platform+":")
	if !ok {
		return fmt.Errorf("discord: %s is not a Discord user", user.ID)
	}
	m, err := a.withAsk(ctx, m, uid)
	if err != nil {
		return err
	}
	// A long message goes as several, in order, as Private sends them;
	// one with secrets is never split (split keeps it whole).
	for _, p := range split(m) {
		if err := a.notify(ctx, channel, user, uid, p); err != nil {
			return err
		}
	}
	return nil
}

// notify sends one part of a Notify: ephemeral to the user's recent
// interaction in channel, else (or if that fails) by Reveal for a secret
// or by DM.
func (a *Adapter) notify(ctx context.Context, channel string, user bot.Actor, uid string, m bot.Message) error {
	if in, ok := a.recentInteraction(ctx, user.ID, channel); ok {
		content, comps := render(m, true)
		_, err := a.s.FollowupMessageCreate(in, true, &discordgo.WebhookParams{Content: content, Components: comps,
			Flags: discordgo.MessageFlagsEphemeral, AllowedMentions: &discordgo.MessageAllowedMentions{}}, discordgo.WithContext(ctx))
		if err == nil {
			return nil
		}
		a.log.Info("ephemeral follow-up failed; falling back", "err", explain(err))
	}
	if len(m.Secrets) > 0 {
		return a.offerReveal(ctx, channel, uid, m)
	}
	dm, err := a.s.UserChannelCreate(uid, discordgo.WithContext(ctx))
	if err != nil {
		return fmt.Errorf("discord: DM to %s: %w", uid, explain(err))
	}
	content, comps := render(m, false)
	_, err = a.s.ChannelMessageSendComplex(dm.ID, &discordgo.MessageSend{Content: content, Components: comps}, discordgo.WithContext(ctx))
	return explain(err)
}

func (a *Adapter) revealTTL() time.Duration {
	if a.cfg.RevealTTL > 0 {
		return a.cfg.RevealTTL
	}
	return 15 * time.Minute
}

// offerReveal posts, in the channel, a notice with a Reveal button for uid.
// The message waits in the sealed Transient until uid clicks, or it
// expires: in the database only as ciphertext, which any replica holding
// the store key can open, so the click may land on any of them.
func (a *Adapter) offerReveal(ctx context.Context, channel, uid string, m bot.Message) error {
	var b [12]byte
	if _, err := rand.Read(b[:]); err != nil {
		return err
	}
	nonce := hex.EncodeToString(b[:])
	held, err := bot.HoldPrivate(m)
	if err != nil {
		return fmt.Errorf("discord: hold the secret: %w", err)
	}
	expires := a.now().Add(a.revealTTL())
	// Held before the button exists, so that no click finds it missing.
	p, err := json.Marshal(pendingReveal{User: uid, Channel: channel, Held: held, Expires: expires})
	if err == nil {
		err = a.sealed.PutTransient(ctx, keyReveal+nonce, p, a.revealTTL())
	}
	if err != nil {
		return fmt.Errorf("discord: hold the secret: %w", err)
	}
	content := fmt.Sprintf("<@%s> %s: only you can reveal it, until %s.", uid, m.Title, expires.UTC().Format("15:04Z"))
	_, err = a.s.ChannelMessageSendComplex(channel, &discordgo.MessageSend{
		Content: content,
		Components: []discordgo.MessageComponent{discordgo.ActionsRow{Components: []discordgo.MessageComponent{
			discordgo.Button{Label: "Reveal", Style: discordgo.PrimaryButton, CustomID: revealPrefix + nonce},
		}}},
		AllowedMentions: &discordgo.MessageAllowedMentions{Users: []string{uid}},
	}, discordgo.WithContext(ctx))
	if err != nil {
		_, _ = a.sealed.TakeTransient(ctx, keyReveal+nonce)
		return fmt.Errorf("discord: reveal notice: %w", explain(err))
	}
	return nil
}

// retireReveal replaces a Reveal notice by text, without its button.
func (a *Adapter) retireReveal(channel, message, text string) {
	empty := []discordgo.MessageComponent{}
	if _, err := a.s.ChannelMessageEditComplex(&discordgo.MessageEdit{ID: message, Channel: channel, Content: &text,
		Components: &empty, AllowedMentions: &discordgo.MessageAllowedMentions{}}); err != nil {
		a.log.Warn("could not retire the reveal button", "err", explain(err))
	}
}

// reveal answers a Reveal click: the secret, ephemerally, to its owner
// alone, once, on whichever replica the click lands; anyone else is
// refused.
func (a *Adapter) reveal(in *discordgo.Interaction, who bot.Actor, nonce string) {
	uid := strings.TrimPrefix(who.ID, Platform+":")
	reply := func(m bot.Message, private bool) {
		content, _ := render(m, private)
		a.ack(in, &discordgo.InteractionResponse{Type: discordgo.InteractionResponseChannelMessageWithSource,
			Data: &discordgo.InteractionResponseData{Content: content, Flags: discordgo.MessageFlagsEphemeral,
				AllowedMentions: &discordgo.MessageAllowedMentions{}}})
	}
	refuse := func(text string) { reply(bot.Message{Title: text, Tone: bot.ToneError}, false) }
	const gone = "This secret has expired or was already revealed; ask for a new one."
	key := keyReveal + nonce
	var p pendingReveal
	b, err := a.sealed.Transient(a.ctx, key)
	if err != nil {
		a.log.Warn("could not read a held secret (is CIPPBOT_STORE_KEY the same on every replica?)", "err", err)
	}
	if b == nil || json.Unmarshal(b, &p) != nil || !a.now().Before(p.Expires) {
		refuse(gone)
		return
	}
	if p.User != uid {
		refuse("Only the person who asked can reveal this.")
		return
	}
	// One reveal: of clicks racing on any replicas, one takes it.
	if b, err = a.sealed.TakeTransient(a.ctx, key); err != nil || b == nil {
		refuse(gone)
		return
	}
	var taken pendingReveal
	if json.Unmarshal(b, &taken) != nil {
		refuse(gone)
		return
	}
	m, err := bot.OpenPrivate(taken.Held)
	if err != nil {
		refuse(gone)
		return
	}
	reply(m, true)
	// The click carries the notice it was made on.
	if in.Message != nil {
		a.retireReveal(in.ChannelID, in.Message.ID, "Revealed to <@"+uid+">.")
	}
}

// responder answers one interaction.
type responder struct {
	a       *Adapter
	in      *discordgo.Interaction
	channel string
	command bool // the deferred response is an ephemeral "thinking" message

	mu           sync.Mutex
	originalUsed bool
}

// Private implements bot.Responder: the deferred ephemeral response is
// edited first, then ephemeral follow-ups; both reach only the actor.
func (r *responder) Private(ctx context.Context, m bot.Message) error {
	if who, ok := actor(r.in); ok {
		var err error
		if m, err = r.a.withAsk(ctx, m, strings.TrimPrefix(who.ID, Platform+":")); err != nil {
			return err
		}
	}
	// A long answer (/cipp help) goes as several messages, in order.
	parts := split(m)
	for _, p := range parts[:len(parts)-1] {
		if err := r.private(ctx, p); err != nil {
			return err
		}
	}
	return r.private(ctx, parts[len(parts)-1])
}

// private sends one message that fits Discord's limits.
func (r *responder) private(ctx context.Context, m bot.Message) error {
	content, comps := render(m, true)
	r.mu.Lock()
	useOriginal := r.command && !r.originalUsed
	r.originalUsed = r.originalUsed || useOriginal
	r.mu.Unlock()
	if useOriginal {
		_, err := r.a.s.InteractionResponseEdit(r.in, &discordgo.WebhookEdit{Content: &content, Components: &comps,
			AllowedMentions: &discordgo.MessageAllowedMentions{}}, discordgo.WithContext(ctx))
		return explain(err)
	}
	_, err := r.a.s.FollowupMessageCreate(r.in, true, &discordgo.WebhookParams{Content: content, Components: comps,
		Flags: discordgo.MessageFlagsEphemeral, AllowedMentions: &discordgo.MessageAllowedMentions{}}, discordgo.WithContext(ctx))
	return explain(err)
}

// Public implements bot.Responder with a channel message; its ID is the
// card reference, editable long after the interaction token expires.
func (r *responder) Public(ctx context.Context, m bot.Message) (string, error) {
	if len(m.Secrets) > 0 {
		return "", errors.New("discord: refusing to post a secret to a channel")
	}
	m, err := r.a.shortButtons(ctx, m)
	if err != nil {
		return "", err
	}
	content, comps := render(m, false)
	msg, err := r.a.s.ChannelMessageSendComplex(r.channel, &discordgo.MessageSend{Content: content, Components: comps,
		AllowedMentions: &discordgo.MessageAllowedMentions{}}, discordgo.WithContext(ctx))
	if err != nil {
		if c := restCode(err); c == 50001 || c == 50013 || c == 10003 {
			r.Private(ctx, bot.Message{Title: "I cannot post in this channel: give cippbot View Channel and Send Messages here.",
				Tone: bot.ToneError, Lines: []string{"Nothing was asked or done in the channel."}})
		}
		return "", fmt.Errorf("discord: post to %s: %w", r.channel, explain(err))
	}
	return msg.ID, nil
}

// finish removes the "thinking…" placeholder of a command whose answers
// all went to the channel.
func (r *responder) finish() {
	r.mu.Lock()
	used := r.originalUsed
	r.mu.Unlock()
	if r.command && !used {
		if err := r.a.s.InteractionResponseDelete(r.in); err != nil {
			r.a.log.Debug("could not delete the deferred response", "err", explain(err))
		}
	}
}

// Ready reports whether the adapter can take interactions: over the
// gateway, whether the session is connected; with the HTTP endpoint,
// always (the commands were registered at start).
func (a *Adapter) Ready() error {
	if a.pub != nil {
		return nil
	}
	a.s.RLock()
	up := a.s.DataReady
	a.s.RUnlock()
	if !up {
		return errors.New("discord: the gateway is not connected")
	}
	return nil
}
