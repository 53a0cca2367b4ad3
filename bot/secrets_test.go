package bot_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cippbot/cippbot/bot"
	"github.com/cippbot/cippbot/internal/mock"
)

// unreachable is a Chat that cannot write privately to one actor while
// down is set; cards still update.
type unreachable struct {
	*mock.Chat
	who  string
	down atomic.Bool
}

func (u *unreachable) Notify(ctx context.Context, channel string, user bot.Actor, m bot.Message) error {
	if user.ID == u.who && u.down.Load() {
		return errors.New("unreachable")
	}
	return u.Chat.Notify(ctx, channel, user, m)
}

func secretsIn(sent []mock.Sent) (n int) {
	for _, s := range sent {
		n += len(s.Message.Secrets)
	}
	return n
}

// waitSent waits for a recorded message that matches.
func waitSent(t *testing.T, c *mock.Chat, what string, match func(mock.Sent) bool) mock.Sent {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		for _, s := range c.Sent() {
			if match(s) {
				return s
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("no %s: %+v", what, c.Sent())
	return mock.Sent{}
}

func revealOn(m bot.Message) string {
	for _, b := range m.Buttons {
		if strings.HasPrefix(b.Value, "reveal ") {
			return b.Value
		}
	}
	return ""
}

// TestSecretHeldAndRevealed: the requester cannot be reached when an
// approved reset runs; the card offers Reveal, which refuses anyone else,
// answers the requester once, and is then gone; delivery by retry then
// finds nothing left to send.
func TestSecretHeldAndRevealed(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	ch := &unreachable{Chat: h.chat, who: riley.ID}
	ch.down.Store(true)
	h.bot.Chats["console"] = ch
	h.bot.SecretHold, h.bot.SecretRetry = time.Minute, 10*time.Millisecond
	h.do(riley, `reset-password AdeleV@contoso.com reason="locked out"`)
	h.do(sam, "approve a00001")
	card := waitSent(t, h.chat, "card with Reveal", func(s mock.Sent) bool { return s.Update && revealOn(s.Message) != "" })
	reveal := revealOn(card.Message)
	if strings.Contains(reveal, "Zq7") || secretsIn(h.chat.Sent()) != 0 {
		t.Fatal("the secret left before anyone revealed it")
	}
	if got := text(only(t, h.do(alex, reveal)).Message); !strings.Contains(got, "Only console:riley") && !strings.Contains(got, "Only riley") {
		t.Errorf("alex was not refused: %s", got)
	}
	sent := h.do(riley, reveal)
	if secretsIn(sent) != 1 || sent[0].To != riley.ID || sent[0].Message.Secrets[0].Reveal() != "Zq7$Secret-001" {
		t.Fatalf("riley did not get the password: %+v", sent)
	}
	if got := text(only(t, h.do(riley, reveal)).Message); !strings.Contains(got, "already delivered") {
		t.Errorf("a second reveal was not refused: %s", got)
	}
	ch.down.Store(false)
	time.Sleep(100 * time.Millisecond)
	if n := secretsIn(h.chat.Sent()); n != 1 {
		t.Errorf("the secret was sent %d times, want once", n)
	}
	last := h.chat.Sent()
	var lastCard bot.Message
	for _, s := range last {
		if s.Update {
			lastCard = s.Message
		}
	}
	if revealOn(lastCard) != "" || !strings.Contains(text(lastCard), "went privately") {
		t.Errorf("card after the reveal: %s", text(lastCard))
	}
}

// TestSecretRetried: delivery succeeds by itself once the requester can
// be reached again, and the Reveal button goes.
func TestSecretRetried(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	ch := &unreachable{Chat: h.chat, who: riley.ID}
	ch.down.Store(true)
	h.bot.Chats["console"] = ch
	h.bot.SecretHold, h.bot.SecretRetry = time.Minute, 10*time.Millisecond
	h.do(riley, `reset-password AdeleV@contoso.com reason="locked out"`)
	h.do(sam, "approve a00001")
	card := waitSent(t, h.chat, "card with Reveal", func(s mock.Sent) bool { return s.Update && revealOn(s.Message) != "" })
	ch.down.Store(false)
	waitSent(t, h.chat, "secret to riley", func(s mock.Sent) bool { return s.To == riley.ID && len(s.Message.Secrets) == 1 })
	waitSent(t, h.chat, "card without Reveal", func(s mock.Sent) bool {
		return s.Update && revealOn(s.Message) == "" && strings.Contains(text(s.Message), "went privately")
	})
	if got := text(only(t, h.do(riley, revealOn(card.Message))).Message); !strings.Contains(got, "already delivered") {
		t.Errorf("Reveal still works after delivery: %s", got)
	}
}

// TestSecretDropped: never deliverable within the hold; the card says the
// password was set but not delivered and to run it again, sam is told, and
// the secret went nowhere.
func TestSecretDropped(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	ch := &unreachable{Chat: h.chat, who: riley.ID}
	ch.down.Store(true)
	h.bot.Chats["console"] = ch
	h.bot.SecretHold, h.bot.SecretRetry = 300*time.Millisecond, 10*time.Millisecond
	h.do(riley, `reset-password AdeleV@contoso.com reason="locked out"`)
	h.do(sam, "approve a00001")
	card := waitSent(t, h.chat, "card saying not delivered", func(s mock.Sent) bool {
		return s.Update && strings.Contains(s.Message.Title, "not delivered")
	})
	if !strings.Contains(text(card.Message), "reset-password AdeleV@contoso.com again") || revealOn(card.Message) != "" {
		t.Errorf("card: %s %+v", text(card.Message), card.Message.Buttons)
	}
	waitSent(t, h.chat, "sam told", func(s mock.Sent) bool { return s.To == sam.ID && strings.Contains(s.Message.Title, "never reached") })
	if secretsIn(h.chat.Sent()) != 0 {
		t.Error("the secret was sent")
	}
	reveal := ""
	for _, s := range h.chat.Sent() {
		if r := revealOn(s.Message); r != "" {
			reveal = r
		}
	}
	if got := text(only(t, h.do(riley, reveal)).Message); !strings.Contains(got, "dropped") {
		t.Errorf("Reveal after the drop: %s", got)
	}
}

// TestSecretDroppedAtStop: stopping drops a held secret at once, and the
// card says so instead of offering a Reveal that died with the process.
func TestSecretDroppedAtStop(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	ch := &unreachable{Chat: h.chat, who: riley.ID}
	ch.down.Store(true)
	h.bot.Chats["console"] = ch
	h.bot.SecretHold, h.bot.SecretRetry = time.Hour, time.Hour
	h.do(riley, `reset-password AdeleV@contoso.com reason="locked out"`)
	h.do(sam, "approve a00001")
	waitSent(t, h.chat, "card with Reveal", func(s mock.Sent) bool { return s.Update && revealOn(s.Message) != "" })
	h.bot.DropSecrets(context.Background())
	waitSent(t, h.chat, "card saying not delivered", func(s mock.Sent) bool {
		return s.Update && strings.Contains(s.Message.Title, "not delivered")
	})
	waitSent(t, h.chat, "sam told", func(s mock.Sent) bool { return s.To == sam.ID && strings.Contains(s.Message.Title, "never reached") })
}
