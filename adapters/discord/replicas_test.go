package discord_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/cippbot/cippbot/actions"
	"github.com/cippbot/cippbot/adapters/discord"
	"github.com/cippbot/cippbot/bot"
	"github.com/cippbot/cippbot/internal/fakediscord"
)

// replicas are two adapters on one fake Discord sharing their Transients,
// as two replicas share a store: a click one made may land on the other.
func replicas(t *testing.T, h discord.Handler) (a, b *discord.Adapter, fd *fakediscord.Server, c *clock) {
	t.Helper()
	c = &clock{t: time.Now()}
	fd = fakediscord.NewTest(t, fakediscord.Options{Now: c.Now})
	t.Cleanup(fd.Close)
	fd.AddChannel(ch, "", riley, sam)
	state, sealed := bot.NewMemTransient(c.Now), bot.NewMemTransient(c.Now)
	open := func() *discord.Adapter {
		a, err := discord.New(discord.Config{BotToken: fakediscord.DefaultBotToken, AppID: fakediscord.DefaultAppID,
			APIURL: fd.BaseURL(), Now: c.Now, State: state, Sealed: sealed}, h)
		must(t, err)
		return a
	}
	return open(), open(), fd, c
}

// customID returns the custom_id starting with prefix in m's components.
func customID(t *testing.T, m fakediscord.Message, prefix string) string {
	t.Helper()
	s := string(m.Components)
	i := strings.Index(s, `"custom_id":"`+prefix)
	if i < 0 {
		t.Fatalf("no %s button in %s", prefix, s)
	}
	s = s[i+len(`"custom_id":"`):]
	return s[:strings.IndexByte(s, '"')]
}

// TestReplicasReveal: the Reveal button one replica posted works when its
// click reaches the other, once, for its owner only.
func TestReplicasReveal(t *testing.T) {
	a, b, fd, _ := replicas(t, handlerFunc(func(context.Context, bot.Event, bot.Responder) {}))
	secret := actions.NewSecret("AdeleV@contoso.com password", "Zk7$pw-across-replicas")
	must(t, a.Notify(context.Background(), ch, bot.Actor{ID: "discord:" + riley}, bot.Message{Title: "Only you can see this", Secrets: []bot.Secret{secret}}))
	var notice fakediscord.Message
	for _, m := range fd.Messages() {
		if strings.Contains(string(m.Components), "reveal:") {
			notice = m
		}
	}
	id := customID(t, notice, "reveal:")
	for _, user := range []string{sam, riley} {
		in, err := fd.Click(ch, user, notice, id)
		must(t, err)
		deliver(t, b, in)
	}
	shown := 0
	for _, m := range fd.Messages() {
		if strings.Contains(m.Content, "Zk7$pw-across-replicas") {
			shown++
			if !m.Ephemeral || m.For != riley {
				t.Errorf("secret shown to %q (ephemeral %v)", m.For, m.Ephemeral)
			}
		}
	}
	if shown != 1 {
		t.Fatalf("secret shown %d times, want once: %+v", shown, fd.Messages())
	}
}

// TestReplicasFollowUp: a private answer sent by the replica that did not
// take the user's command still goes ephemerally on that command's token,
// not by DM.
func TestReplicasFollowUp(t *testing.T) {
	a, b, fd, _ := replicas(t, handlerFunc(func(context.Context, bot.Event, bot.Responder) {}))
	deliver(t, a, fd.Command(ch, riley, cmdData("reset-password")))
	must(t, b.Notify(context.Background(), ch, bot.Actor{ID: "discord:" + riley}, bot.Message{Title: "done on the other replica"}))
	for _, m := range fd.Messages() {
		if strings.Contains(m.Content, "done on the other replica") {
			if !m.Ephemeral || m.For != riley {
				t.Fatalf("answer went as %+v, want an ephemeral follow-up to riley", m)
			}
			return
		}
	}
	t.Fatalf("no answer: %+v", fd.Messages())
}

// carder answers "card" with a card whose button's command is long, and
// otherwise does what asker does.
type carder struct {
	asker
	long string
}

func (h *carder) Handle(ctx context.Context, ev bot.Event, r bot.Responder) {
	if ev.Text == "card" {
		r.Public(ctx, bot.Message{Title: "pick one", Buttons: []bot.Button{{Label: "Sales", Value: h.long}}})
		return
	}
	h.asker.Handle(ctx, ev, r)
}

func runCommand(text string) json.RawMessage {
	return json.RawMessage(`{"name":"cipp","options":[{"name":"run","type":1,"options":[{"name":"command","type":3,"value":"` + text + `"}]}]}`)
}

// TestReplicasLongButtonAndForm: a long button and a question's form
// drawn by one replica work when their clicks reach the other.
func TestReplicasLongButtonAndForm(t *testing.T) {
	h := &carder{long: `add-to-group "someone.with.a.long.name@a-customer-with-a-long-domain.example" group="0f3c9a52-1b7e-4c1d-9e7a-2f6b8d4c1a90"`}
	h.ask = &bot.Ask{Title: "Why?", Label: "Reason", Field: "reason", Command: "block-signin AdeleV@contoso.com"}
	a, b, fd, _ := replicas(t, h)
	deliver(t, a, fd.Command(ch, riley, runCommand("ask")))
	var question fakediscord.Message
	for _, m := range fd.Messages() {
		if askButton.Match(m.Components) {
			question = m
		}
	}
	click, err := fd.Click(ch, riley, question, customID(t, question, "ask:"))
	must(t, err)
	deliver(t, b, click)
	modals := fd.Modals()
	if len(modals) != 1 {
		t.Fatalf("the other replica opened %d modals, want 1", len(modals))
	}
	in, err := fd.SubmitModal(ch, riley, modals[0].CustomID, map[string]string{"reason": "left the company"})
	must(t, err)
	deliver(t, a, in)
	if got := h.texts(); len(got) != 1 || !strings.Contains(got[0], "left the company") {
		t.Fatalf("answer delivered %q", got)
	}

	deliver(t, a, fd.Command(ch, riley, runCommand("card")))
	var card fakediscord.Message
	for _, m := range fd.Messages() {
		if strings.Contains(m.Content, "pick one") {
			card = m
		}
	}
	click, err = fd.Click(ch, sam, card, customID(t, card, "cmd:"))
	must(t, err)
	deliver(t, b, click)
	if got := h.texts(); len(got) != 2 || got[1] != h.long {
		t.Fatalf("long button on the other replica delivered %q", got)
	}
}
