package bot

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
)

// A secret that cannot be delivered at once (the chat platform is down, the
// requester cannot be reached privately) is held in memory only, never
// written anywhere: delivery is retried with backoff for SecretHold, and
// meanwhile the result card carries a Reveal button that answers the
// requester alone, once. The button's value is a random handle, never the
// secret. If the secret is still undelivered when the time is up, it is
// dropped, the card says it was set but not delivered and should be run
// again, and the approver is told.

// Defaults of Bot.SecretHold and Bot.SecretRetry.
const (
	defaultSecretHold  = 15 * time.Minute
	defaultSecretRetry = 10 * time.Second
	maxSecretRetry     = time.Minute
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

// heldSecrets are the secrets waiting for delivery, by handle.
type heldSecrets struct {
	mu sync.Mutex
	m  map[string]*heldSecret
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

// heldSecret is one private message with secrets waiting for its reader.
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

	mu     sync.Mutex // held while sending, so that it goes once
	msg    Message    // the private message; zero once dropped
	closed bool       // delivered, revealed or dropped
	done   chan struct{}
}

// finishLocked marks h delivered or dropped and forgets the secret.
func (b *Bot) finishLocked(h *heldSecret) {
	h.closed = true
	h.msg = Message{}
	b.held.remove(h.handle)
	close(h.done)
}

// deliverSecret sends s, the run's private message with secrets, by send.
// If that fails, s is held (in memory only) and retried, and the returned
// card is result with a Reveal button for the requester; otherwise result
// is returned as it is. card is the reference of the result card, if it
// already exists (runs at once); shown reports whether it already shows
// the returned card.
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
		result: result, until: b.now().Add(b.secretHold()), msg: s, done: make(chan struct{})}
	b.held.put(h)
	b.log().WarnContext(ctx, "secret not delivered; held in memory and retried", LogApproval, ap.ID, LogActor, ap.Requester.ID,
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
			if !shown {
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

// sendHeld sends h's message by send, once; it reports whether this call
// delivered it.
func (b *Bot) sendHeld(ctx context.Context, h *heldSecret, send func(context.Context, Message) error) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return false
	}
	if err := send(ctx, h.msg); err != nil {
		b.log().InfoContext(ctx, "held secret still not delivered", LogApproval, h.approval, "err", err)
		return false
	}
	b.log().InfoContext(ctx, "held secret delivered", LogApproval, h.approval, LogActor, h.requester.ID)
	b.finishLocked(h)
	return true
}

// dropSecret gives up on h: the secret is forgotten, the card says so, and
// the approver (and the requester, if they can be reached) are told.
func (b *Bot) dropSecret(ctx context.Context, h *heldSecret) {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return
	}
	b.finishLocked(h)
	h.mu.Unlock()
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

// reveal answers a Reveal click: the held secret, privately, to the
// requester alone and once; anyone else is refused and it stays held.
func (b *Bot) reveal(ctx context.Context, ev Event, r Responder, cmd Command) {
	if len(cmd.Positional) != 1 || len(cmd.Targets) > 0 {
		b.private(ctx, r, errorMessage("Reveal works from its button on the card."))
		return
	}
	h := b.held.get(cmd.Positional[0])
	gone := errorMessage("This secret was already delivered, or it was never delivered in time and was dropped.",
		"Run the action again if a new one is still needed.")
	if h == nil || h.platform != ev.Platform {
		b.private(ctx, r, gone)
		return
	}
	if ev.Actor.ID != h.requester.ID {
		b.log().InfoContext(ctx, "reveal refused", LogActor, ev.Actor.ID, LogApproval, h.approval)
		b.private(ctx, r, errorMessage(fmt.Sprintf("Only %s, who asked for it, can reveal this.", h.requester)))
		return
	}
	if !b.sendHeld(ctx, h, r.Private) {
		h.mu.Lock()
		closed := h.closed
		h.mu.Unlock()
		if closed {
			b.private(ctx, r, gone)
		}
		return
	}
	b.showCard(ctx, h, h.result)
}

// DropSecrets gives up, at once, on every secret still waiting for
// delivery, as its hold would at its end: call it when stopping, so that
// no card goes on offering a Reveal that died with the process.
func (b *Bot) DropSecrets(ctx context.Context) {
	b.held.mu.Lock()
	var all []*heldSecret
	for _, h := range b.held.m {
		all = append(all, h)
	}
	b.held.mu.Unlock()
	for _, h := range all {
		b.dropSecret(ctx, h)
	}
}
