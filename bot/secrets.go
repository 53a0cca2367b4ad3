package bot

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
)

// A secret that cannot be delivered at once (the chat platform is down, the
// requester cannot be reached privately) is held: sealed in the store when
// Bot.Held is set (never in plaintext), in this process's memory
// otherwise. Delivery is retried with backoff for SecretHold by the
// process that ran the action, and meanwhile the result card carries a
// Reveal button that answers the requester alone, once, on any replica
// that shares Bot.Held. The button's value is a random handle, never the
// secret. Whoever sends it, retry or click, takes it out of the store
// first, so it goes once. If the secret is still undelivered when the
// time is up, it is dropped, the card says it was set but not delivered
// and should be run again, and the approver is told.

// Defaults of Bot.SecretHold and Bot.SecretRetry.
const (
	defaultSecretHold  = 15 * time.Minute
	defaultSecretRetry = 10 * time.Second
	maxSecretRetry     = time.Minute
	// revealWait is how long a Reveal waits for another replica's delivery
	// attempt in flight, which puts the secret back if it fails, before
	// telling the requester it is on its way.
	revealWait = 5 * time.Second
)

// revealVerb is the command a Reveal button stands for: "reveal <handle>".
const revealVerb = "reveal"

func (b *Bot) secretHold() time.Duration {
	if b.SecretHold > 0 {
		return b.SecretHold
	}
	return defaultSecretHold
}

func (b *Bot) secretRetry() time.Duration {
	if b.SecretRetry > 0 {
		return b.SecretRetry
	}
	return defaultSecretRetry
}

// heldSecrets are the secrets this process is retrying, by handle.
type heldSecrets struct {
	mu sync.Mutex
	m  map[string]*heldSecret

	memOnce sync.Once
	mem     *MemTransient // where secrets wait when Bot.Held is nil
}

func (hs *heldSecrets) put(h *heldSecret) {
	hs.mu.Lock()
	defer hs.mu.Unlock()
	if hs.m == nil {
		hs.m = map[string]*heldSecret{}
	}
	hs.m[h.handle] = h
}

func (hs *heldSecrets) get(handle string) *heldSecret {
	hs.mu.Lock()
	defer hs.mu.Unlock()
	return hs.m[handle]
}

func (hs *heldSecrets) remove(handle string) {
	hs.mu.Lock()
	defer hs.mu.Unlock()
	delete(hs.m, handle)
}

// heldMemory returns this process's own Transient for held secrets.
func (b *Bot) heldMemory() *MemTransient {
	b.held.memOnce.Do(func() { b.held.mem = NewMemTransient(b.now) })
	return b.held.mem
}

// Keys of a held secret in its Transient: what is known about it (no
// secret, but kept beside it, sealed alike), and the private message
// itself, which goes to whoever takes it first: the retry loop of the
// replica that ran the action, or a Reveal click on any replica.
const keyHeld = "bot:held:"

func heldMetaKey(handle string) string   { return keyHeld + handle }
func heldSecretKey(handle string) string { return keyHeld + handle + ":secret" }

// heldGrace keeps a held secret in its Transient a little past its hold,
// so that the replica that holds it finds it to drop it (and say so on
// the card) rather than finding it gone; Reveal refuses it from the end of
// the hold on, whatever the Transient still has.
const heldGrace = time.Minute

// heldRecord is what a replica needs to answer a Reveal click for a
// secret another replica holds: whose it is, until when, and the card to
// update once it is shown. It holds no secret.
type heldRecord struct {
	Platform  string          `json:"platform"`
	Channel   string          `json:"channel"`
	Card      string          `json:"card,omitempty"`
	Requester Actor           `json:"requester"`
	Approver  *Actor          `json:"approver,omitempty"`
	Approval  string          `json:"approval,omitempty"`
	Action    string          `json:"action"`
	Targets   []Target        `json:"targets,omitempty"`
	Result    json.RawMessage `json:"result"` // HoldPrivate of the result card, which has no secrets
	Until     time.Time       `json:"until"`
}

func (h *heldSecret) record() (heldRecord, error) {
	res, err := HoldPrivate(h.result)
	return heldRecord{Platform: h.platform, Channel: h.channel, Card: h.card, Requester: h.requester, Approver: h.approver,
		Approval: h.approval, Action: h.action, Targets: h.targets, Result: res, Until: h.until}, err
}

// heldSecret rebuilds, from a record, the secret another replica holds,
// for the card.
func (r heldRecord) heldSecret(handle string) (*heldSecret, error) {
	res, err := OpenPrivate(r.Result)
	if err != nil {
		return nil, err
	}
	return &heldSecret{handle: handle, platform: r.Platform, channel: r.Channel, card: r.Card, requester: r.Requester,
		approver: r.Approver, approval: r.Approval, action: r.Action, targets: r.Targets, result: res, until: r.Until}, nil
}

// heldSecret is one private message with secrets waiting for its reader.
// The message itself waits in store, under heldSecretKey; this process
// keeps what it needs to retry it.
type heldSecret struct {
	handle    string
	platform  string
	channel   string
	card      string // the result card's reference, "" if none
	requester Actor
	approver  *Actor
	approval  string
	action    string
	targets   []Target
	result    Message // the result card as it would be once delivered
	until     time.Time

	store  Transient // where the message waits
	shared bool      // store is Bot.Held: the message outlives this process

	mu     sync.Mutex // held while sending, so that it goes once
	closed bool       // delivered, revealed, dropped or handed over
	done   chan struct{}
}

// finishLocked marks h done here: this process no longer retries it.
func (b *Bot) finishLocked(h *heldSecret) {
	h.closed = true
	b.held.remove(h.handle)
	close(h.done)
}

// takeHeld takes the held message out of its Transient: of the retry loop
// and clicks on any replica, one gets it. ok is false when it is gone
// (delivered, revealed or dropped) or cannot be read.
func (b *Bot) takeHeld(ctx context.Context, t Transient, handle, approval string) (Message, bool) {
	raw, err := t.TakeTransient(ctx, heldSecretKey(handle))
	if err != nil {
		b.log().WarnContext(ctx, "could not read a held secret (is CIPPBOT_STORE_KEY the same on every replica?)", LogApproval, approval, "err", err)
		return Message{}, false
	}
	if raw == nil {
		return Message{}, false
	}
	m, err := OpenPrivate(raw)
	if err != nil {
		b.log().WarnContext(ctx, "held secret unreadable", LogApproval, approval, "err", err)
		return Message{}, false
	}
	return m, true
}

// putBackHeld returns a message that was taken but not delivered, for the
// rest of its hold.
func (b *Bot) putBackHeld(ctx context.Context, t Transient, handle, approval string, until time.Time, m Message) {
	raw, err := HoldPrivate(m)
	if err == nil {
		err = t.PutTransient(ctx, heldSecretKey(handle), raw, max(until.Sub(b.now()), 0)+heldGrace)
	}
	if err != nil {
		b.log().ErrorContext(ctx, "held secret lost: could not put it back", LogApproval, approval, "err", err)
	}
}

// hold keeps h's message s in a Transient: Bot.Held if there is one,
// sealed, so that a Reveal click on any replica finds it; this process's
// memory otherwise, or if Bot.Held fails.
func (b *Bot) hold(ctx context.Context, h *heldSecret, s Message) error {
	rec, err := h.record()
	if err != nil {
		return err
	}
	meta, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	secret, err := HoldPrivate(s)
	if err != nil {
		return err
	}
	ttl := b.secretHold() + heldGrace
	put := func(t Transient) error {
		// The record first: a click that finds the message finds whose it is.
		if err := t.PutTransient(ctx, heldMetaKey(h.handle), meta, ttl); err != nil {
			return err
		}
		return t.PutTransient(ctx, heldSecretKey(h.handle), secret, ttl)
	}
	if b.Held != nil {
		err := put(b.Held)
		if err == nil {
			h.store, h.shared = b.Held, true
			return nil
		}
		b.log().WarnContext(ctx, "could not hold the secret in the store; holding it in memory", LogApproval, h.approval, "err", err)
	}
	h.store = b.heldMemory()
	return put(h.store)
}

// deliverSecret sends s, the run's private message with secrets, by send.
// If that fails, s is held (sealed in the store when Bot.Held is set, in
// memory otherwise) and retried, and the returned card is result with a
// Reveal button for the requester; otherwise result is returned as it is.
// card is the reference of the result card, if it already exists (runs
// at once).
func (b *Bot) deliverSecret(ctx context.Context, send func(context.Context, Message) error, platform, channel, card string,
	ap Approval, result, s Message) (Message, *heldSecret) {
	err := send(ctx, s)
	if err == nil {
		return result, nil
	}
	chat := b.Chats[platform]
	if chat == nil {
		b.log().WarnContext(ctx, "secret not delivered and no chat to retry on", LogApproval, ap.ID, "err", err)
		return result, nil
	}
	var buf [12]byte
	if _, rerr := rand.Read(buf[:]); rerr != nil {
		b.log().ErrorContext(ctx, "secret not delivered: no random handle", LogApproval, ap.ID, "err", rerr)
		return result, nil
	}
	h := &heldSecret{handle: hex.EncodeToString(buf[:]), platform: platform, channel: channel, card: card,
		requester: ap.Requester, approver: ap.DecidedBy, approval: ap.ID, action: ap.Action, targets: ap.Targets,
		result: result, until: b.now().Add(b.secretHold()), done: make(chan struct{})}
	if herr := b.hold(ctx, h, s); herr != nil {
		b.log().ErrorContext(ctx, "secret not delivered and could not be held", LogApproval, ap.ID, "err", herr)
		return result, nil
	}
	b.held.put(h)
	where := "in memory"
	if h.shared {
		where = "sealed in the store"
	}
	b.log().WarnContext(ctx, "secret not delivered; held "+where+" and retried", LogApproval, ap.ID, LogActor, ap.Requester.ID,
		"until", h.until.Format(time.RFC3339), "err", err)
	return h.pendingCard(), h
}

// secretLine is resultMessage's line about the secret's delivery.
func secretLine(requester Actor) string {
	return fmt.Sprintf("The new secret went privately to %s.", requester)
}

// pendingLine says the secret is waiting, and for how long.
func (h *heldSecret) pendingLine() string {
	return fmt.Sprintf("The new secret has not reached %s yet: cippbot keeps trying until %s, and %s can click Reveal (only they can).",
		h.requester, h.until.UTC().Format("15:04Z"), h.requester)
}

func (h *heldSecret) revealButton() Button {
	return Button{Label: "Reveal", Value: revealVerb + " " + h.handle}
}

// pendingNotice tells the requester privately, where there is no card.
func (h *heldSecret) pendingNotice() Message {
	return Message{Title: h.pendingLine(), Tone: ToneWarn, Buttons: []Button{h.revealButton()}}
}

// pendingCard is the result card while the secret waits: a Reveal button
// that only the requester may use.
func (h *heldSecret) pendingCard() Message {
	m := h.result
	m.Lines = slices.Clone(m.Lines)
	line := h.pendingLine()
	if i := slices.Index(m.Lines, secretLine(h.requester)); i >= 0 {
		m.Lines[i] = line
	} else {
		m.Lines = append(m.Lines, line)
	}
	m.Buttons = append(slices.Clone(m.Buttons), h.revealButton())
	return m
}

// lostCard is the result card when the secret was dropped undelivered.
func (h *heldSecret) lostCard() Message {
	what := "The new secret"
	m := Message{Tone: ToneWarn, Title: fmt.Sprintf("%s was set but not delivered: run %s again", what, h.action)}
	if strings.Contains(h.action, "password") {
		m.Title = fmt.Sprintf("The password was set but not delivered: run %s again", h.action)
	}
	m.Lines = append(m.Lines, fmt.Sprintf("It never reached %s and was not kept anywhere. Run /cipp %s %s again for a new one.",
		h.requester, h.action, targetList(h.targets)))
	for _, l := range h.result.Lines {
		if l != secretLine(h.requester) {
			m.Lines = append(m.Lines, l)
		}
	}
	return m
}

// showCard puts m on the result card; it reports whether it did.
func (b *Bot) showCard(ctx context.Context, h *heldSecret, m Message) bool {
	chat := b.Chats[h.platform]
	if chat == nil || h.card == "" || len(m.Secrets) > 0 {
		return false
	}
	if err := chat.Update(ctx, h.channel, h.card, m); err != nil {
		b.log().WarnContext(ctx, "card update failed", LogApproval, h.approval, "err", err)
		return false
	}
	return true
}

// handoverCard is the result card when this process stops while the
// secret waits sealed in the store: no one retries it any more, but its
// Reveal button works on any replica until the hold ends.
func (h *heldSecret) handoverCard() Message {
	m := h.pendingCard()
	line := fmt.Sprintf("The new secret has not reached %s: %s can click Reveal until %s (only they can).",
		h.requester, h.requester, h.until.UTC().Format("15:04Z"))
	if i := slices.Index(m.Lines, h.pendingLine()); i >= 0 {
		m.Lines[i] = line
	}
	return m
}

// retrySecret keeps trying to deliver h until it is delivered, revealed or
// its time is up; meanwhile it puts the pending card up if shown is false.
// It runs in the background and returns at once.
func (b *Bot) retrySecret(ctx context.Context, h *heldSecret, shown bool) {
	ctx = context.WithoutCancel(ctx)
	deadline := time.Now().Add(b.secretHold())
	go func() {
		wait := b.secretRetry()
		for {
			t := time.NewTimer(min(wait, max(0, time.Until(deadline))))
			select {
			case <-h.done:
				t.Stop()
				return
			case <-t.C:
			}
			if !time.Now().Before(deadline) {
				b.dropSecret(ctx, h)
				return
			}
			actx, cancel := context.WithTimeout(ctx, 30*time.Second)
			if !shown && b.stillHeld(actx, h) {
				shown = b.showCard(actx, h, h.pendingCard())
			}
			delivered := b.sendHeld(actx, h, func(ctx context.Context, m Message) error {
				return b.Chats[h.platform].Notify(ctx, h.channel, h.requester, m)
			})
			if delivered {
				b.showCard(actx, h, h.result)
			}
			cancel()
			if delivered {
				return
			}
			wait = min(2*wait, maxSecretRetry)
		}
	}()
}

// stillHeld reports whether h's record is still in its Transient, that
// is, whether no replica has revealed it.
func (b *Bot) stillHeld(ctx context.Context, h *heldSecret) bool {
	v, err := h.store.Transient(ctx, heldMetaKey(h.handle))
	return err != nil || v != nil // unsure: as if held
}

// sendHeld sends h's message by send, once, on whichever replica: it
// takes the message from its Transient first, and puts it back if send
// fails. It reports whether this call delivered it. A message no longer
// there was revealed on another replica: h is then done here.
func (b *Bot) sendHeld(ctx context.Context, h *heldSecret, send func(context.Context, Message) error) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return false
	}
	m, ok := b.takeHeld(ctx, h.store, h.handle, h.approval)
	if !ok {
		if !b.stillHeld(ctx, h) {
			b.log().InfoContext(ctx, "held secret revealed elsewhere", LogApproval, h.approval, LogActor, h.requester.ID)
			b.finishLocked(h)
		}
		return false
	}
	if err := send(ctx, m); err != nil {
		b.putBackHeld(ctx, h.store, h.handle, h.approval, h.until, m)
		b.log().InfoContext(ctx, "held secret still not delivered", LogApproval, h.approval, "err", err)
		return false
	}
	b.forgetHeld(ctx, h.store, h.handle, h.approval)
	b.log().InfoContext(ctx, "held secret delivered", LogApproval, h.approval, LogActor, h.requester.ID)
	b.finishLocked(h)
	return true
}

// forgetHeld removes a held secret's record once its message is gone.
func (b *Bot) forgetHeld(ctx context.Context, t Transient, handle, approval string) {
	if _, err := t.TakeTransient(ctx, heldMetaKey(handle)); err != nil {
		b.log().WarnContext(ctx, "could not remove a held secret's record", LogApproval, approval, "err", err)
	}
}

// dropSecret gives up on h: the secret is forgotten, the card says so, and
// the approver (and the requester, if they can be reached) are told. If
// another replica revealed it meanwhile, there is nothing to say.
func (b *Bot) dropSecret(ctx context.Context, h *heldSecret) {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return
	}
	_, had := b.takeHeld(ctx, h.store, h.handle, h.approval)
	revealed := !had && !b.stillHeld(ctx, h)
	b.forgetHeld(ctx, h.store, h.handle, h.approval)
	b.finishLocked(h)
	h.mu.Unlock()
	if revealed {
		return
	}
	b.log().WarnContext(ctx, "secret never delivered; dropped", LogApproval, h.approval, LogActor, h.requester.ID, LogAction, h.action)
	card := h.lostCard()
	actx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	b.showCard(actx, h, card)
	chat := b.Chats[h.platform]
	tell := fmt.Sprintf("%s for %s ran, but the new secret never reached %s and was dropped: run /cipp %s %s again.",
		h.action, targetList(h.targets), h.requester, h.action, targetList(h.targets))
	if h.approval != "" {
		tell = fmt.Sprintf("%s (%s) for %s ran, but the new secret never reached %s and was dropped: it must be run again.",
			h.action, h.approval, targetList(h.targets), h.requester)
	}
	if h.approver != nil {
		if err := chat.Notify(actx, h.channel, *h.approver, Message{Title: tell, Tone: ToneWarn}); err != nil {
			b.log().WarnContext(actx, "could not tell the approver", LogApproval, h.approval, "err", err)
		}
	}
	if err := chat.Notify(actx, h.channel, h.requester, Message{Title: tell, Tone: ToneWarn}); err != nil {
		b.log().WarnContext(actx, "could not tell the requester", LogApproval, h.approval, "err", err)
	}
}

// reveal answers a Reveal click, on whichever replica it lands: the held
// secret, privately, to the requester alone and once; anyone else is
// refused and it stays held.
func (b *Bot) reveal(ctx context.Context, ev Event, r Responder, cmd Command) {
	if len(cmd.Positional) != 1 || len(cmd.Targets) > 0 {
		b.private(ctx, r, errorMessage("Reveal works from its button on the card."))
		return
	}
	handle := cmd.Positional[0]
	gone := errorMessage("This secret was already delivered, or it was never delivered in time and was dropped.",
		"Run the action again if a new one is still needed.")
	local := b.held.get(handle)
	var t Transient = b.heldMemory()
	switch {
	case local != nil:
		t = local.store
	case b.Held != nil:
		t = b.Held
	}
	var rec heldRecord
	raw, err := t.Transient(ctx, heldMetaKey(handle))
	if err != nil {
		b.log().WarnContext(ctx, "could not read a held secret (is CIPPBOT_STORE_KEY the same on every replica?)", "err", err)
	}
	if raw == nil || json.Unmarshal(raw, &rec) != nil || rec.Platform != ev.Platform || !b.now().Before(rec.Until) {
		b.private(ctx, r, gone)
		return
	}
	if ev.Actor.ID != rec.Requester.ID {
		b.log().InfoContext(ctx, "reveal refused", LogActor, ev.Actor.ID, LogApproval, rec.Approval)
		b.private(ctx, r, errorMessage(fmt.Sprintf("Only %s, who asked for it, can reveal this.", rec.Requester)))
		return
	}
	if local != nil {
		// This process retries it: go through its lock, so that the two
		// do not race.
		if b.sendHeld(ctx, local, r.Private) {
			b.showCard(ctx, local, local.result)
			return
		}
		local.mu.Lock()
		closed := local.closed
		local.mu.Unlock()
		if closed {
			b.private(ctx, r, gone)
			return
		}
		// Not closed, yet the message was not there: another replica has
		// it this moment, revealing or retrying. Wait for that below, as a
		// replica without the secret would.
	}
	h, err := rec.heldSecret(handle)
	if err != nil {
		b.private(ctx, r, gone)
		return
	}
	m, ok := b.takeHeld(ctx, t, handle, rec.Approval)
	// Without the message but with its record, another replica is trying
	// to deliver it right now, and puts it back if it fails (the requester
	// is often unreachable, or there would be no Reveal): wait for that
	// rather than send the requester away to click again.
	for deadline := time.Now().Add(revealWait); !ok && time.Now().Before(deadline); {
		if v, _ := t.Transient(ctx, heldMetaKey(handle)); v == nil {
			break // delivered or dropped meanwhile
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(100 * time.Millisecond):
		}
		m, ok = b.takeHeld(ctx, t, handle, rec.Approval)
	}
	if !ok {
		if v, _ := t.Transient(ctx, heldMetaKey(handle)); v != nil {
			// Another replica is still delivering it.
			b.private(ctx, r, Message{Tone: ToneWarn, Title: "This secret is being delivered to you right now.",
				Lines: []string{"If it has not arrived in a minute, click Reveal again."}})
			return
		}
		b.private(ctx, r, gone)
		return
	}
	if err := r.Private(ctx, m); err != nil {
		b.putBackHeld(ctx, t, handle, rec.Approval, rec.Until, m)
		b.log().WarnContext(ctx, "held secret not revealed", LogApproval, rec.Approval, "err", err)
		return
	}
	b.forgetHeld(ctx, t, handle, rec.Approval)
	b.log().InfoContext(ctx, "held secret revealed", LogApproval, rec.Approval, LogActor, rec.Requester.ID)
	b.showCard(ctx, h, h.result)
}

// DropSecrets stops, at once, retrying every secret still waiting for
// delivery: call it when stopping. A secret held in memory dies with the
// process, so it is dropped as its hold would at its end, and its card
// says so instead of offering a Reveal that no longer works. A secret
// sealed in the store (Bot.Held) stays there for the rest of its hold:
// its card says that only Reveal, on any replica, still works.
func (b *Bot) DropSecrets(ctx context.Context) {
	b.held.mu.Lock()
	var all []*heldSecret
	for _, h := range b.held.m {
		all = append(all, h)
	}
	b.held.mu.Unlock()
	for _, h := range all {
		if !h.shared {
			b.dropSecret(ctx, h)
			continue
		}
		h.mu.Lock()
		if h.closed {
			h.mu.Unlock()
			continue
		}
		held := b.stillHeld(ctx, h)
		b.finishLocked(h)
		h.mu.Unlock()
		if held {
			b.log().InfoContext(ctx, "held secret left sealed in the store for Reveal", LogApproval, h.approval,
				"until", h.until.Format(time.RFC3339))
			b.showCard(ctx, h, h.handoverCard())
		}
	}
}
