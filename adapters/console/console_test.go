package console_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/cippbot/cippbot/actions"
	"github.com/cippbot/cippbot/adapters/console"
	"github.com/cippbot/cippbot/bot"
)

// echo answers every event with one public card and one private secret.
type echo struct{ events []bot.Event }

func (e *echo) Handle(ctx context.Context, ev bot.Event, r bot.Responder) {
	e.events = append(e.events, ev)
	r.Public(ctx, bot.Message{Title: "card for " + ev.Text, Buttons: []bot.Button{{Label: "Approve", Value: "approve 7f3a"}}})
	r.Private(ctx, bot.Message{Title: "psst", Secrets: []bot.Secret{actions.NewSecret("AdeleV@contoso.com password", "S3cret-Value")}})
}

func TestAdapter(t *testing.T) {
	var out bytes.Buffer
	h := &echo{}
	a := &console.Adapter{Handler: h, Out: &out, Personas: []console.Persona{{Name: "riley"}, {Name: "sam", Note: "approver"}}}
	in := "/cipp user a@x.com\n# a comment\n/as sam\napprove 7f3a\n/as nobody\n/quit\nnever read\n"
	if err := a.Run(context.Background(), strings.NewReader(in)); err != nil {
		t.Fatal(err)
	}
	if len(h.events) != 2 || h.events[0].Actor.ID != "console:riley" || h.events[1].Actor.ID != "console:sam" || h.events[1].Text != "approve 7f3a" {
		t.Fatalf("events = %+v", h.events)
	}
	got := out.String()
	for _, want := range []string{
		"riley> /cipp user a@x.com",
		"[#demo] card for /cipp user a@x.com",
		"[Approve: type approve 7f3a]",
		"(only riley sees this) psst\n    AdeleV@contoso.com password: S3cret-Value",
		"You are now sam (approver).",
		`No technician "nobody" here; try one of: riley, sam`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "never read") {
		t.Error("read past /quit")
	}
}

func TestPublicRefusesSecret(t *testing.T) {
	var out bytes.Buffer
	a := &console.Adapter{Out: &out}
	a.Handler = handlerFunc(func(ctx context.Context, ev bot.Event, r bot.Responder) {
		_, err := r.Public(ctx, bot.Message{Title: "x", Secrets: []bot.Secret{actions.NewSecret("l", "S3cret-Value")}})
		if err == nil {
			t.Error("Public accepted a secret")
		}
	})
	a.Do(context.Background(), "x")
	if strings.Contains(out.String(), "S3cret") {
		t.Error("secret printed publicly")
	}
}

type handlerFunc func(context.Context, bot.Event, bot.Responder)

func (f handlerFunc) Handle(ctx context.Context, ev bot.Event, r bot.Responder) { f(ctx, ev, r) }
