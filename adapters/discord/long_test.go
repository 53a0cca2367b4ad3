package discord_test

import (
	"context"
	"strings"
	"testing"

	"github.com/cippbot/cippbot/bot"
	"github.com/cippbot/cippbot/internal/fakediscord"
)

// TestLongButtonCommand: a button whose command is longer than Discord's
// 100-character custom_id still works: it carries a nonce, and a click
// delivers the whole command.
func TestLongButtonCommand(t *testing.T) {
	long := `add-to-group "someone.with.a.long.name@a-customer-with-a-long-domain.example" group="0f3c9a52-1b7e-4c1d-9e7a-2f6b8d4c1a90"`
	var got []string
	a, fd, _ := newAdapter(t, handlerFunc(func(ctx context.Context, ev bot.Event, r bot.Responder) {
		got = append(got, ev.Text)
		if len(got) == 1 {
			r.Public(ctx, bot.Message{Title: "pick one", Buttons: []bot.Button{{Label: "Sales (security)", Value: long}, {Label: "Short", Value: "help"}}})
		}
	}))
	deliver(t, a, fd.Command(ch, riley, cmdData("reset-password")))
	var card fakediscord.Message
	for _, m := range fd.Messages() {
		if strings.Contains(m.Content, "pick one") {
			card = m
		}
	}
	comps := string(card.Components)
	if card.ID == "" || strings.Contains(comps, "someone.with") || !strings.Contains(comps, `"custom_id":"cmd:`) || !strings.Contains(comps, `"custom_id":"help"`) {
		t.Fatalf("buttons: %s", comps)
	}
	i := strings.Index(comps, "cmd:")
	in, err := fd.Click(ch, sam, card, comps[i:i+strings.IndexByte(comps[i:], '"')])
	must(t, err)
	deliver(t, a, in)
	if len(got) != 2 || got[1] != long {
		t.Fatalf("click delivered %q", got)
	}
}
