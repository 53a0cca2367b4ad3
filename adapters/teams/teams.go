// Package teams connects cippbot to Microsoft Teams over the Bot Framework
// Connector protocol: activities arrive at POST /teams/messages with a
// bearer JWT that is checked in full before anything else; commands are
// personal-chat text or channel @mentions; approval cards are Adaptive
// Cards with Action.Execute, answered in the invoke response for the
// clicker and updated in place (PUT) for everyone; secrets go only to the
// requester's one-to-one chat, behind a Reveal button whose invoke
// response alone carries them.
package teams

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/cippbot/cippbot/bot"
)

// Platform is the platform name of Teams events and actor IDs.
const Platform = "teams"

// channelTeams is the channelId of activities from Teams.
const channelTeams = "msteams"

// Route is the messaging endpoint's path.
const Route = "/teams/messages"

// Handler handles one event; *bot.Bot satisfies it.
type Handler interface {
	Handle(ctx context.Context, ev bot.Event, r bot.Responder)
}

// Config configures the adapter.
type Config struct {
	AppID string // the Azure Bot's app (client) ID
	// Credential gets the app's tokens for the Bot Connector (Scope)
	// from its own tenant; the adapter never sees the app's password or
	// key.
	Credential Credential
	TenantID   string // the bot's own (single) tenant
	// Tenants are the tenants whose activities are taken; empty means
	// TenantID alone.
	Tenants []string
	// OpenIDURL is the Bot Framework metadata; "" means DefaultOpenIDURL.
	OpenIDURL string
	// ServiceHosts are the Connector hosts the bot's token may go to;
	// nil means DefaultServiceHosts.
	ServiceHosts []string
	// HTTPClient, if non-nil, carries every outgoing request.
	HTTPClient *http.Client
	Logger     *slog.Logger
	// Now, if non-nil, replaces time.Now.
	Now func() time.Time
	// RevealTTL is how long a Reveal button works; 0 means 15 minutes.
	RevealTTL time.Duration
	// InvokeWait bounds how long a card click waits for the engine's
	// answer before it is answered "working on it"; 0 means 4 s.
	InvokeWait time.Duration
	// Dedup, if non-nil, remembers activity IDs already handled; nil
	// means in memory.
	Dedup bot.Deduper
	// Refs, if non-nil, keeps conversation references across restarts;
	// nil means in memory.
	Refs RefStore
	// State, if non-nil, keeps what a click must find again on whichever
	// replica it lands: questions waiting for their forms. nil means
	// memory, for one process.
	State bot.Transient
	// Sealed, if non-nil, keeps the private messages behind Reveal
	// buttons until their owners click. Give it a Transient that seals
	// (store.SealedTransient), never a plain store. nil means memory: a
	// Reveal click then works only on the replica that posted it.
	Sealed bot.Transient
}

// Adapter is the Teams chat platform. It implements bot.Chat.
type Adapter struct {
	cfg     Config
	handler Handler
	log     *slog.Logger
	verify  *verifier
	conn    *connector
	botID   string
	tenants []string
	dedup   bot.Deduper

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	// state keeps, under keyAsk, the questions waiting for their
	// answers; sealed keeps, under keyReveal, the secrets waiting for
	// their owners' Reveal clicks.
	state, sealed bot.Transient

	mu    sync.Mutex
	convs map[string]string     // conversation ID → service URL
	users map[string]*userRef   // Entra object ID → how to reach them
	cards map[string]*cardState // activity ID → the card on it
	told  map[string]time.Time  // user+channel → when told to open the chat
}

// Key prefixes of what the adapter keeps in its Transients.
const (
	keyAsk    = Platform + ":ask:"    // + nonce → pendingAsk (JSON)
	keyReveal = Platform + ":reveal:" // + nonce → pendingSeen (JSON); + ":secret" → bot.HoldPrivate's encoding
)

// revealGrace keeps a Reveal's secret a little past its expiry, so that
// the replica that posted it can tell, when it retires the card, whether
// it was revealed; a click is refused from the expiry on.
const revealGrace = time.Minute

type userRef struct {
	mri, name, serviceURL, tenant string
	personal                      string // their one-to-one conversation, "" if unknown
}

type cardState struct {
	conv       string
	card       card
	requesters []string // MRIs who get the requester's view
}

// pendingSeen is whose a secret behind a Reveal button is and where it
// may be revealed; the private message itself waits beside it, under
// its own key, in the sealed Transient, until its one reader clicks
// Reveal, or it expires.
type pendingSeen struct {
	AAD        string    `json:"aad"`
	Conv       string    `json:"conv"`
	ActivityID string    `json:"activity_id"`
	Expires    time.Time `json:"expires"`
}

// pendingAsk is a question waiting for its form's answer.
type pendingAsk struct {
	AAD     string       `json:"aad"`
	Ask     bot.Ask      `json:"ask"`
	Expires time.Time    `json:"expires"`
	Origin  conversation `json:"origin"`  // where the question was asked
	Service string       `json:"service"` // its service URL
}

var _ bot.Chat = (*Adapter)(nil)

// New returns an adapter that passes events to h.
func New(cfg Config, h Handler) (*Adapter, error) {
	if cfg.AppID == "" || cfg.Credential == nil || cfg.TenantID == "" {
		return nil, errors.New("teams: an app ID, its credential and its tenant are required")
	}
	client := cfg.HTTPClient
	if client == nil {
		client = &http.Client{Timeout: 20 * time.Second}
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	cfg.Now = now
	meta := cfg.OpenIDURL
	if meta == "" {
		meta = DefaultOpenIDURL
	}
	hosts := cfg.ServiceHosts
	if hosts == nil {
		hosts = DefaultServiceHosts
	}
	var lower []string
	for _, h := range hosts {
		lower = append(lower, strings.ToLower(h))
	}
	tenants := []string{strings.ToLower(cfg.TenantID)}
	if len(cfg.Tenants) > 0 {
		tenants = nil
		for _, t := range cfg.Tenants {
			tenants = append(tenants, strings.ToLower(strings.TrimSpace(t)))
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	a := &Adapter{cfg: cfg, handler: h, log: log.With("component", Platform), botID: "28:" + cfg.AppID, tenants: tenants,
		verify: &verifier{appID: cfg.AppID, now: now, keys: &keySet{metaURL: meta, client: client, now: now}},
		conn:   &connector{client: client, hosts: lower, cred: cfg.Credential},
		dedup:  cfg.Dedup, ctx: ctx, cancel: cancel,
		convs: map[string]string{}, users: map[string]*userRef{}, cards: map[string]*cardState{}, told: map[string]time.Time{},
		state: cfg.State, sealed: cfg.Sealed}
	if a.dedup == nil {
		a.dedup = bot.NewMemDeduper(now)
	}
	if a.state == nil {
		a.state = bot.NewMemTransient(now)
	}
	if a.sealed == nil {
		a.sealed = bot.NewMemTransient(now)
	}
	if err := a.load(); err != nil {
		cancel()
		return nil, err
	}
	return a, nil
}

// Routes registers the messaging endpoint on mux.
func (a *Adapter) Routes(mux *http.ServeMux) { mux.Handle("POST "+Route, a) }

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

func (a *Adapter) now() time.Time { return a.cfg.Now() }

func (a *Adapter) revealTTL() time.Duration {
	if a.cfg.RevealTTL > 0 {
		return a.cfg.RevealTTL
	}
	return 15 * time.Minute
}

// maxBody bounds an incoming activity.
const maxBody = 256 << 10

// ServeHTTP takes one activity. The token is checked before the body is
// read, and against the activity before anything is done with it; a
// failure is 401 (403 for a channel other than Teams, or a tenant or
// service URL that is not allowed; 413 for a body over 256 KiB) and
// nothing else happens.
func (a *Adapter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// The token first: without a valid one, not a byte of the body is
	// read.
	tok, err := a.verify.verify(r.Context(), r.Header.Get("Authorization"))
	if err != nil {
		a.log.Warn("activity refused", "why", err.Error(), "remote", r.RemoteAddr)
		http.Error(w, "unauthorized", http.StatusUnauthorized)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil || len(body) > maxBody {
		http.Error(w, "body too large", http.StatusRequestEntityTooLarge)
		return
	}
	var act activity
	// A body that is no activity cannot match the token's serviceurl
	// claim.
	if err := json.Unmarshal(body, &act); err != nil {
		http.Error(w, "unauthorized", http.StatusUnauthorized)
		return
	}
	if err := tok.matches(act.ServiceURL, act.ChannelID); err != nil {
		a.log.Warn("activity refused", "why", err.Error(), "remote", r.RemoteAddr)
		http.Error(w, "unauthorized", http.StatusUnauthorized)
		return
	}
	if act.ChannelID != channelTeams {
		// Web Chat and Direct Line are signed by the same service, with
		// keys endorsed for them, but carry the "from" and "channelData"
		// their client wrote: only Teams vouches for the user.
		a.log.Warn("activity from a channel other than Teams", "channel", act.ChannelID)
		http.Error(w, "channel not allowed", http.StatusForbidden)
		return
	}
	tenant, ok := act.tenant()
	if !ok || !slices.Contains(a.tenants, tenant) {
		a.log.Warn("activity from a tenant not allowed", "tenant", tenant)
		http.Error(w, "tenant not allowed", http.StatusForbidden)
		return
	}
	if !a.conn.trusted(act.ServiceURL) {
		a.log.Warn("activity with a service URL not allowed", "service_url", act.ServiceURL)
		http.Error(w, "service URL not allowed", http.StatusForbidden)
		return
	}
	if act.From == nil || act.From.AADObjectID == "" || act.Conversation == nil || act.Conversation.ID == "" {
		w.WriteHeader(http.StatusOK)
		return
	}
	if !a.firstDelivery(baseConv(act.Conversation.ID), act.ID) {
		if act.Type == "invoke" {
			writeInvoke(w, messageResponse("Already handled."))
			return
		}
		w.WriteHeader(http.StatusOK)
		return
	}
	u := a.remember(&act, tenant)
	who := bot.Actor{ID: Platform + ":" + strings.ToLower(act.From.AADObjectID), Name: act.From.Name}
	switch act.Type {
	case "message":
		text := commandText(&act)
		w.WriteHeader(http.StatusOK) // acknowledge at once, work after
		a.dispatch(&act, tenant, who, u, text, nil)
	case "invoke":
		a.invoke(w, &act, tenant, who, u)
	default:
		w.WriteHeader(http.StatusOK)
	}
}

// firstDelivery reports whether the activity ID is new in its
// conversation. Teams delivers an activity again when the bot takes longer
// than 15 s (msteams-docs bots/bot-basics.md).
func (a *Adapter) firstDelivery(conv, id string) bool {
	if id == "" {
		return true
	}
	first, err := a.dedup.FirstDelivery(a.ctx, Platform+":"+conv+":"+id, time.Hour)
	if err != nil {
		a.log.Warn("could not check for a repeated activity; handling it", "activity", id, "err", err)
		return true
	}
	return first
}

// remember keeps how to reach the conversation and the sender, in the
// RefStore too when that changed.
func (a *Adapter) remember(act *activity, tenant string) *userRef {
	aad := strings.ToLower(act.From.AADObjectID)
	conv := baseConv(act.Conversation.ID)
	a.mu.Lock()
	convChanged := a.convs[conv] != act.ServiceURL
	a.convs[conv] = act.ServiceURL
	u := a.users[aad]
	if u == nil {
		u = &userRef{}
		a.users[aad] = u
	}
	before := *u
	u.mri, u.name, u.serviceURL, u.tenant = act.From.ID, act.From.Name, act.ServiceURL, tenant
	if act.Conversation.ConversationType == "personal" {
		u.personal = act.Conversation.ID
		// Removing the bot from the personal scope closes the chat to it.
		if act.Type == "conversationUpdate" && slices.ContainsFunc(act.MembersRemoved, func(m account) bool { return m.ID == a.botID }) {
			u.personal = ""
		}
	}
	cp := *u
	a.mu.Unlock()
	if convChanged {
		a.saveConv(conv, act.ServiceURL)
	}
	if cp != before {
		a.saveUser(aad)
	}
	return &cp
}

// baseConv strips a channel thread's ";messageid=…".
func baseConv(id string) string {
	b, _, _ := strings.Cut(id, ";messageid=")
	return b
}

// commandText is the command in a message: the bot's @mention removed
// (with the mention entities, msteams-docs create-a-bot-commands-menu.md),
// HTML entities decoded, and an optional leading "/cipp" or "cipp" dropped.
func commandText(act *activity) string {
	t := act.Text
	for _, e := range act.Entities {
		if e.Type == "mention" && e.Mentioned != nil && act.Recipient != nil && e.Mentioned.ID == act.Recipient.ID && e.Text != "" {
			t = strings.ReplaceAll(t, e.Text, " ")
		}
	}
	t = strings.ReplaceAll(html.UnescapeString(t), "\u00a0", " ")
	t = strings.TrimSpace(t)
	low := strings.ToLower(t)
	for _, p := range []string{"/cipp ", "cipp "} {
		if strings.HasPrefix(low, p) {
			t = strings.TrimSpace(t[len(p):])
			break
		}
	}
	if t == "" || strings.EqualFold(t, "/cipp") || strings.EqualFold(t, "cipp") {
		t = "help"
	}
	return t
}

// clickKey keys the click being handled in the context of its work, so
// that an update of the clicked card made by that work answers the click.
type clickKey struct{}

func (a *Adapter) dispatch(act *activity, tenant string, who bot.Actor, u *userRef, text string, inv *invoke) {
	ev := bot.Event{Platform: Platform, Workspace: tenant, Channel: act.Conversation.ID, Actor: who, Text: text}
	r := &responder{a: a, conv: act.Conversation.ID, serviceURL: act.ServiceURL, who: who, user: u,
		personal: act.Conversation.ConversationType == "personal", inv: inv}
	ctx := a.ctx
	if inv != nil {
		ctx = context.WithValue(ctx, clickKey{}, inv)
	}
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		a.handler.Handle(ctx, ev, r)
		if inv != nil {
			inv.answer(messageResponse("Done."))
		}
	}()
}

// invokeResponse is the body of the answer to an invoke (msteams-docs
// Universal-actions…/Work-with-universal-actions-for-adaptive-cards.md).
type invokeResponse struct {
	StatusCode int    `json:"statusCode"`
	Type       string `json:"type"`
	Value      any    `json:"value"`
}

func messageResponse(text string) invokeResponse {
	return invokeResponse{StatusCode: 200, Type: "application/vnd.microsoft.activity.message", Value: text}
}

func cardResponse(c card) invokeResponse {
	return invokeResponse{StatusCode: 200, Type: cardType, Value: c}
}

func writeInvoke(w http.ResponseWriter, r invokeResponse) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	json.NewEncoder(w).Encode(r)
}

// invoke is one card click waiting for its answer: the first of the
// clicked card's update (the decided card) or a private reply.
type invoke struct {
	card    string        // the clicked card's activity ID
	conv    string        // the conversation it was clicked in
	written chan struct{} // closed once the answer is written
	mu      sync.Mutex
	done    chan invokeResponse
	sent    bool
}

// answer gives the click its response; it reports whether this call did.
func (in *invoke) answer(r invokeResponse) bool {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.sent {
		return false
	}
	in.sent = true
	in.done <- r
	return true
}

func (in *invoke) close() {
	in.mu.Lock()
	in.sent = true
	in.mu.Unlock()
}

func (a *Adapter) invokeWait() time.Duration {
	if a.cfg.InvokeWait > 0 {
		return a.cfg.InvokeWait
	}
	return 4 * time.Second
}

func (a *Adapter) invoke(w http.ResponseWriter, act *activity, tenant string, who bot.Actor, u *userRef) {
	if act.Name != "adaptiveCard/action" || act.Value == nil {
		writeInvoke(w, invokeResponse{StatusCode: 200, Type: "application/vnd.microsoft.activity.message", Value: ""})
		return
	}
	data := act.Value.Action.Data
	str := func(k string) string { s, _ := data[k].(string); return s }
	var text string
	switch act.Value.Action.Verb {
	case verbView:
		writeInvoke(w, a.view(act))
		return
	case verbReveal:
		writeInvoke(w, a.reveal(strings.ToLower(act.From.AADObjectID), act.Conversation.ID, str("reveal")))
		return
	case verbAsk:
		var origin conversation
		var service string
		var ok bool
		if text, origin, service, ok = a.answerAsk(strings.ToLower(act.From.AADObjectID), str("ask"), data); !ok {
			writeInvoke(w, messageResponse("This form has expired: type the command again."))
			return
		}
		// The answer goes on where the question was asked (the channel
		// whose approval card it leads to).
		cp := *act
		cp.Conversation, cp.ServiceURL, cp.ReplyToID = &origin, service, ""
		act = &cp
	case verbApprove, verbDeny, verbCommand:
		text = str("cmd")
	}
	if text == "" {
		writeInvoke(w, messageResponse("Unknown action."))
		return
	}
	inv := &invoke{card: act.ReplyToID, conv: act.Conversation.ID, done: make(chan invokeResponse, 1), written: make(chan struct{})}
	defer close(inv.written)
	defer inv.close()
	a.dispatch(act, tenant, who, u, text, inv)
	t := time.NewTimer(a.invokeWait())
	defer t.Stop()
	select {
	case r := <-inv.done:
		writeInvoke(w, r)
	case <-t.C:
		inv.answer(messageResponse("Working on it…")) // or the answer that just came
		writeInvoke(w, <-inv.done)
	}
	if f, ok := w.(http.Flusher); ok {
		f.Flush()
	}
}

// view answers a card's refresh: the requester's view for those in
// refresh.userIds, the card as it is for everyone else in its
// conversation; nothing for a refresh from anywhere else (a card's ID
// does not say which conversation it is in, and an activity ID is unique
// only within its conversation).
func (a *Adapter) view(act *activity) invokeResponse {
	ctx, cancel := context.WithTimeout(a.ctx, 10*time.Second)
	defer cancel()
	cs := a.cardFor(ctx, act.ReplyToID)
	if cs == nil || baseConv(cs.conv) != baseConv(act.Conversation.ID) {
		return messageResponse("")
	}
	if slices.Contains(cs.requesters, act.From.ID) && cs.card.Refresh != nil {
		return cardResponse(requesterView(cs.card))
	}
	return cardResponse(cs.card)
}

// reveal answers a Reveal click, on whichever replica it lands: the
// secret, in this invoke response alone, to its owner, once, in the
// one-to-one chat it was offered in; anyone else, or a click from any
// other conversation (a forwarded or copied card), is refused, and the
// secret stays for its owner.
func (a *Adapter) reveal(aad, conv, nonce string) invokeResponse {
	const gone = "This secret has expired or was already revealed; ask for a new one."
	ctx, cancel := context.WithTimeout(a.ctx, 10*time.Second)
	defer cancel()
	var p pendingSeen
	b, err := a.sealed.Transient(ctx, keyReveal+nonce)
	if err != nil {
		a.log.Warn("could not read a held secret (is CIPPBOT_STORE_KEY the same on every replica?)", "err", err)
	}
	switch {
	case nonce == "" || b == nil || json.Unmarshal(b, &p) != nil || !a.now().Before(p.Expires):
		return messageResponse(gone)
	case p.AAD != aad:
		return messageResponse("Only the person who asked can reveal this.")
	case p.Conv != conv:
		return messageResponse("Reveal it in your chat with cippbot, where it was offered.")
	}
	// One reveal: of clicks racing on any replicas, one takes it.
	held, err := a.sealed.TakeTransient(ctx, keyReveal+nonce+":secret")
	if err != nil {
		a.log.Warn("could not take a held secret", "err", err)
	}
	if held == nil {
		return messageResponse(gone)
	}
	m, err := bot.OpenPrivate(held)
	if err != nil {
		return messageResponse(gone)
	}
	c := render(m, true)
	c.Body = append(c.Body, element{Type: "TextBlock", Text: "Shown once: copy it now.", IsSubtle: true, Wrap: true})
	return cardResponse(c)
}

func newNonce() string {
	var b [12]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("teams: crypto/rand failed: " + err.Error())
	}
	return hex.EncodeToString(b[:])
}

// Update implements bot.Chat: when the work of a click updates the clicked
// card, the card is the click's answer (the clicker sees it at once); then
// the activity is replaced (PUT) for everyone.
func (a *Adapter) Update(ctx context.Context, channel, ref string, m bot.Message) error {
	if len(m.Secrets) > 0 {
		return errors.New("teams: refusing to put a secret on a card")
	}
	c := render(m, false)
	cs := a.cardFor(ctx, ref) // posted here, or by another replica
	service := a.serviceFor(ctx, channel)
	a.mu.Lock()
	if cs != nil && baseConv(cs.conv) != baseConv(channel) {
		cs = nil // another conversation's activity of the same ID
	}
	if cs != nil && hasApprove(c) && len(cs.requesters) > 0 {
		c.Refresh = &refresh{Action: action{Type: "Action.Execute", Verb: verbView}, UserIDs: cs.requesters}
	}
	var keep storedCard
	switch {
	case cs != nil && c.Refresh != nil:
		cs.card = c
		keep = storedCard{Conv: cs.conv, Card: c, Requesters: cs.requesters}
	case cs != nil:
		delete(a.cards, ref) // decided: no refresh asks for it again
	}
	a.mu.Unlock()
	switch {
	case cs != nil && c.Refresh != nil:
		a.putRef(refCard+ref, keep)
	case cs != nil:
		a.dropRef(refCard + ref)
	}
	if inv, ok := ctx.Value(clickKey{}).(*invoke); ok && inv.card == ref && baseConv(inv.conv) == baseConv(channel) && inv.answer(cardResponse(c)) {
		// The clicker gets the card first, then everyone (the PUT).
		select {
		case <-inv.written:
		case <-time.After(2 * time.Second):
		}
	}
	if service == "" {
		return fmt.Errorf("teams: no service URL known for conversation %s", channel)
	}
	if err := a.conn.update(ctx, service, channel, ref, cardActivity(c)); err != nil {
		return fmt.Errorf("teams: update card: %w", err)
	}
	return nil
}

func hasApprove(c card) bool {
	return slices.ContainsFunc(c.Actions, func(x action) bool { return x.Verb == verbApprove })
}

// Notify implements bot.Chat: m goes to user's one-to-one chat with the
// bot; a secret waits there behind a Reveal button. If there is no such
// chat and it cannot be opened, the user is told in channel (once) to open
// it, and an error says it was not delivered, so that the engine offers
// it again.
func (a *Adapter) Notify(ctx context.Context, channel string, user bot.Actor, m bot.Message) error {
	aad, ok := strings.CutPrefix(user.ID, Platform+":")
	if !ok {
		return fmt.Errorf("teams: %s is not a Teams user", user.ID)
	}
	u := a.userFor(ctx, aad)
	if u.mri == "" {
		return fmt.Errorf("teams: no conversation with %s yet", user.ID)
	}
	conv, err := a.personal(ctx, aad, u)
	if err != nil {
		if len(m.Secrets) > 0 || m.Ask != nil {
			a.tellOpenChat(ctx, channel, aad, u, true)
		}
		return fmt.Errorf("teams: one-to-one chat with %s: %w", user.ID, err)
	}
	err = a.sendPrivate(ctx, u.serviceURL, conv, aad, channel, m)
	if st := statusOf(err); st == http.StatusForbidden || st == http.StatusNotFound {
		// The user removed or blocked the bot (403 MessageWritesBlocked,
		// msteams-docs send-proactive-messages.md): forget the chat.
		a.mu.Lock()
		if p := a.users[aad]; p != nil && p.personal == conv {
			p.personal = ""
		}
		a.mu.Unlock()
		a.saveUser(aad)
		if len(m.Secrets) > 0 || m.Ask != nil {
			a.tellOpenChat(ctx, channel, aad, u, true)
		}
	}
	return err
}

// personal returns the user's one-to-one chat, opening it if need be.
func (a *Adapter) personal(ctx context.Context, aad string, u userRef) (string, error) {
	if u.personal != "" {
		return u.personal, nil
	}
	conv, err := a.conn.createPersonal(ctx, u.serviceURL, a.botID, u.mri, u.tenant)
	if err != nil {
		return "", err
	}
	a.mu.Lock()
	if p := a.users[aad]; p != nil {
		p.personal = conv
	}
	a.convs[conv] = u.serviceURL
	a.mu.Unlock()
	a.saveConv(conv, u.serviceURL)
	a.saveUser(aad)
	return conv, nil
}

// tellOpenChat asks the user, in the channel, to open the bot's chat once;
// at most once per hold.
func (a *Adapter) tellOpenChat(ctx context.Context, channel, aad string, u userRef, resend bool) {
	key := aad + "\x00" + channel
	service := a.serviceFor(ctx, channel)
	a.mu.Lock()
	at, told := a.told[key]
	if told && a.now().Sub(at) < a.revealTTL() || service == "" || channel == u.personal {
		a.mu.Unlock()
		return
	}
	for k, at := range a.told {
		if a.now().Sub(at) >= a.revealTTL() {
			delete(a.told, k) // kept no longer than it matters
		}
	}
	a.told[key] = a.now()
	a.mu.Unlock()
	then := "then ask again."
	if resend {
		then = "I'll send it there."
	}
	act := activity{Type: "message", Text: fmt.Sprintf("<at>%s</at> I can't message you privately. Open a chat with cippbot once; %s", html.EscapeString(u.name), then),
		Entities: []entity{{Type: "mention", Text: "<at>" + html.EscapeString(u.name) + "</at>", Mentioned: &account{ID: u.mri, Name: u.name}}}}
	if _, err := a.conn.post(ctx, service, channel, act); err != nil {
		a.log.Warn("could not ask the user to open the chat", "err", err)
	}
}

// sendPrivate posts m in a one-to-one chat: secrets behind Reveal, a
// question as a form (whose answer goes on in origin, the conversation
// it was asked from), anything else as a card.
func (a *Adapter) sendPrivate(ctx context.Context, service, conv, aad, origin string, m bot.Message) error {
	if len(m.Secrets) > 0 {
		return a.offerReveal(ctx, service, conv, aad, m)
	}
	c := render(m, false)
	if m.Ask != nil {
		var err error
		if c, err = a.askCard(ctx, aad, origin, m); err != nil {
			return err
		}
	}
	_, err := a.conn.post(ctx, service, conv, cardActivity(c))
	return err
}

// offerReveal posts a Reveal button in the one-to-one chat. The secret
// waits in the sealed Transient until its owner clicks, or it expires: in
// the database only as ciphertext, which any replica holding the store
// key can open, so the click may land on any of them.
func (a *Adapter) offerReveal(ctx context.Context, service, conv, aad string, m bot.Message) error {
	nonce := newNonce()
	expires := a.now().Add(a.revealTTL())
	held, err := bot.HoldPrivate(m)
	if err != nil {
		return fmt.Errorf("teams: hold the secret: %w", err)
	}
	// Held before the button exists, so that no click finds it missing;
	// the card's activity ID is added once it is posted.
	ttl := a.revealTTL() + revealGrace
	p := pendingSeen{AAD: aad, Conv: conv, Expires: expires}
	if err := a.putSeen(ctx, nonce, p, ttl); err != nil {
		return fmt.Errorf("teams: hold the secret: %w", err)
	}
	if err := a.sealed.PutTransient(ctx, keyReveal+nonce+":secret", held, ttl); err != nil {
		a.takeHeld(ctx, nonce)
		return fmt.Errorf("teams: hold the secret: %w", err)
	}
	title := m.Title
	if title == "" {
		title = "Your secret is ready"
	}
	c := card{Type: "AdaptiveCard", Version: "1.5", Body: []element{
		{Type: "TextBlock", Text: title, Weight: "Bolder", Wrap: true},
		{Type: "TextBlock", Text: "Only you can reveal it, once, until " + expires.UTC().Format("15:04Z") + ".", Wrap: true},
	}, Actions: []action{{Type: "Action.Execute", Title: "Reveal", Verb: verbReveal, Data: map[string]any{"reveal": nonce}}}}
	id, err := a.conn.post(ctx, service, conv, cardActivity(c))
	if err == nil {
		p.ActivityID = id
		err = a.putSeen(ctx, nonce, p, ttl)
	}
	if err != nil {
		a.takeHeld(ctx, nonce)
		return fmt.Errorf("teams: reveal card: %w", err)
	}
	// On expiry the card is retired; not at the reveal itself, because an
	// update would also replace the revealed view at once (TEAMS.md A4).
	time.AfterFunc(time.Until(expires), func() { a.retireReveal(service, nonce) })
	return nil
}

func (a *Adapter) putSeen(ctx context.Context, nonce string, p pendingSeen, ttl time.Duration) error {
	b, err := json.Marshal(p)
	if err != nil {
		return err
	}
	return a.sealed.PutTransient(ctx, keyReveal+nonce, b, ttl)
}

// takeHeld removes a Reveal's secret and record; it reports whether the
// secret was still there (not revealed).
func (a *Adapter) takeHeld(ctx context.Context, nonce string) bool {
	held, err := a.sealed.TakeTransient(ctx, keyReveal+nonce+":secret")
	if _, merr := a.sealed.TakeTransient(ctx, keyReveal+nonce); err == nil {
		err = merr
	}
	if err != nil {
		a.log.Info("could not remove a held secret", "err", err)
	}
	return held != nil
}

// retireReveal replaces an expired Reveal card, on the replica that
// posted it, by what became of it.
func (a *Adapter) retireReveal(service, nonce string) {
	if a.ctx.Err() != nil {
		return
	}
	ctx, cancel := context.WithTimeout(a.ctx, 20*time.Second)
	defer cancel()
	var p pendingSeen
	b, err := a.sealed.Transient(ctx, keyReveal+nonce)
	if err != nil || b == nil || json.Unmarshal(b, &p) != nil {
		return
	}
	text := "Revealed; not shown again."
	if a.takeHeld(ctx, nonce) {
		text = "Expired unrevealed: ask for a new one."
	}
	if err := a.conn.update(ctx, service, p.Conv, p.ActivityID, cardActivity(render(bot.Message{Title: text}, false))); err != nil {
		a.log.Info("could not retire a reveal card", "err", err)
	}
}

// responder answers one activity.
type responder struct {
	a          *Adapter
	conv       string
	serviceURL string
	who        bot.Actor
	user       *userRef
	personal   bool
	inv        *invoke // the click being answered, nil for a message
}

// Private implements bot.Responder. A click's first plain reply is its
// invoke response, which only the clicker sees; anything else goes to the
// one-to-one chat (the conversation itself when it is one).
func (r *responder) Private(ctx context.Context, m bot.Message) error {
	if r.inv != nil && len(m.Secrets) == 0 && m.Ask == nil && len(m.Buttons) == 0 {
		if r.inv.answer(messageResponse(plain(m))) {
			return nil
		}
	}
	aad := strings.TrimPrefix(r.who.ID, Platform+":")
	if r.personal {
		return r.a.sendPrivate(ctx, r.serviceURL, r.conv, aad, r.conv, m)
	}
	err := r.a.Notify(ctx, r.conv, r.who, m)
	if err != nil && r.inv != nil && r.inv.answer(messageResponse("I can't message you privately. Open a chat with cippbot once, then try again.")) {
		return err // the clicker alone was told
	}
	if err != nil && r.user != nil {
		// The answer cannot reach them: say where it would have gone.
		r.a.tellOpenChat(ctx, r.conv, aad, *r.user, len(m.Secrets) > 0 || m.Ask != nil)
	}
	return err
}

// Public implements bot.Responder: a card in the conversation; its
// activity ID is the reference Update takes. An approval card gets a
// refresh for the requester, who then sees no Approve button.
func (r *responder) Public(ctx context.Context, m bot.Message) (string, error) {
	if len(m.Secrets) > 0 {
		return "", errors.New("teams: refusing to post a secret to a channel")
	}
	c := render(m, false)
	var requesters []string
	if hasApprove(c) && r.user != nil && r.user.mri != "" {
		requesters = []string{r.user.mri}
		c.Refresh = &refresh{Action: action{Type: "Action.Execute", Verb: verbView}, UserIDs: requesters}
	}
	id, err := r.a.conn.post(ctx, r.serviceURL, r.conv, cardActivity(c))
	if err != nil {
		return "", fmt.Errorf("teams: post to %s: %w", r.conv, err)
	}
	if c.Refresh != nil {
		r.a.mu.Lock()
		r.a.cards[id] = &cardState{conv: r.conv, card: c, requesters: requesters}
		r.a.mu.Unlock()
		r.a.saveCard(id)
	}
	return id, nil
}
