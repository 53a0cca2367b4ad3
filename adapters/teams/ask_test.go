package teams

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/cippbot/cippbot/bot"
)

func TestAsk_formInChatAnswerGoesOnInChannel(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, nil)
	dm, data := askedReason(t, e)
	// Sam cannot answer Riley's question.
	_, body, _ := e.ft.Deliver(e.endpoint, e.ft.InvokeActivity(e.sam, dm, "", verbAsk, data, "manual"))
	if !strings.Contains(body, "expired") {
		t.Errorf("Sam's answer: %s", body)
	}
	e.ft.Deliver(e.endpoint, e.ft.InvokeActivity(e.riley, dm, "", verbAsk, data, "manual"))
	e.a.Wait()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		got := e.h.got()
		last := got[len(got)-1]
		if last.Text == `block-signin AdeleV@contoso.com reason="locked out"` {
			if last.Channel != channel || last.Actor.ID != "teams:aad-riley" {
				t.Errorf("answer arrived as %+v; want in the channel, from Riley", last)
			}
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("answer never arrived: %+v", e.h.got())
}

// askedReason has the handler ask Riley, privately, for a reason for
// block-signin, sends the command in the channel, and returns Riley's
// one-to-one chat, where the form is, and the form's answer "locked out".
func askedReason(t *testing.T, e *testEnv) (dm string, data map[string]any) {
	t.Helper()
	e.h.fn = func(ctx context.Context, ev bot.Event, r bot.Responder) {
		if ev.Text == "block-signin AdeleV@contoso.com" {
			r.Private(ctx, bot.Message{Title: "A reason is needed", Ask: &bot.Ask{Title: "Why block AdeleV@contoso.com?",
				Label: "Reason", Field: "reason", Command: "block-signin AdeleV@contoso.com"}})
		}
	}
	e.ft.Deliver(e.endpoint, e.ft.MessageActivity(e.riley, channel, "block-signin AdeleV@contoso.com", true))
	e.a.Wait()
	var form card
	for _, m := range e.ft.Messages() {
		if len(m.Visible) == 1 && m.Visible[0] == e.riley.MRI {
			form, dm = cardOf(t, m.Activity), m.Conversation
		}
	}
	if dm == "" || len(form.Actions) != 1 || form.Actions[0].Verb != verbAsk {
		t.Fatalf("no form in Riley's chat: %v", e.ft.Messages())
	}
	var input string
	for _, el := range form.Body {
		if el.Type == "Input.Text" {
			input = el.ID
		}
	}
	return dm, map[string]any{"ask": form.Actions[0].Data["ask"], input: "locked out"}
}
