package discord_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/cippbot/cippbot/actions"
	"github.com/cippbot/cippbot/adapters/discord"
	"github.com/cippbot/cippbot/bot"
	"github.com/cippbot/cippbot/internal/fakediscord"
)

const (
	ch    = "2000000000000000001"
	riley = "3000000000000000001"
	sam   = "3000000000000000002"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// handlerFunc adapts a function to discord.Handler.
type handlerFunc func(context.Context, bot.Event, bot.Responder)

func (f handlerFunc) Handle(ctx context.Context, ev bot.Event, r bot.Responder) { f(ctx, ev, r) }

func newAdapter(t *testing.T, h discord.Handler) (*discord.Adapter, *fakediscord.Server, *clock) {
	t.Helper()
	c := &clock{t: time.Now()}
	fd := fakediscord.NewTest(t, fakediscord.Options{Now: c.Now})
	t.Cleanup(fd.Close)
	fd.AddChannel(ch, "", riley, sam)
	a, err := discord.New(discord.Config{BotToken: fakediscord.DefaultBotToken, AppID: fakediscord.DefaultAppID,
		APIURL: fd.BaseURL(), Now: c.Now}, h)
	if err != nil {
		t.Fatal(err)
	}
	return a, fd, c
}

// deliver hands an interaction to the adapter as the gateway would.
func deliver(t *testing.T, a *discord.Adapter, in fakediscord.Interaction) {
	t.Helper()
	var i discordgo.Interaction
	if err := json.Unmarshal(in.Body, &i); err != nil {
		t.Fatal(err)
	}
	a.HandleInteraction(&i)
	a.Wait()
}

func cmdData(sub string) json.RawMessage {
	return json.RawMessage(`{"id":"1","name":"cipp-sign-in","type":1,"options":[{"name":"` + sub + `","type":1,"options":[{"name":"user","type":3,"value":"AdeleV@contoso.com"},{"name":"must-change","type":5,"value":true},{"name":"reason","type":3,"value":"say \"hi\""}]}]}`)
}

func TestGatewayCommandText(t *testing.T) {
	var got []bot.Event
	a, fd, _ := newAdapter(t, handlerFunc(func(ctx context.Context, ev bot.Event, r bot.Responder) {
		got = append(got, ev)
		r.Private(ctx, bot.Message{Title: "hello " + ev.Actor.ID})
	}))
	deliver(t, a, fd.Command(ch, riley, cmdData("reset-password")))
	if len(got) != 1 {
		t.Fatalf("events: %+v", got)
	}
	want := `reset-password "AdeleV@contoso.com" --must-change reason="say \"hi\""`
	if got[0].Text != want || got[0].Actor.ID != "discord:"+riley || got[0].Channel != ch {
		t.Errorf("event = %+v, want text %s", got[0], want)
	}
	cmd, err := bot.ParseCommand(got[0].Text)
	if err != nil || cmd.Reason != `say "hi"` || len(cmd.Flags) != 1 {
		t.Errorf("the grammar reads it back as %+v, %v", cmd, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	m, err := fd.WaitForMessage(ctx, func(m fakediscord.Message) bool { return strings.Contains(m.Content, "hello") })
	if err != nil || !m.Ephemeral || m.For != riley {
		t.Fatalf("private reply: %+v, %v", m, err)
	}
}

// TestRevealAfterTokenExpiry: when the requester's interaction token has
// lapsed, the secret waits behind a Reveal button; only the requester may
// reveal it, once, and the channel never sees it.
func TestRevealAfterTokenExpiry(t *testing.T) {
	a, fd, c := newAdapter(t, handlerFunc(func(context.Context, bot.Event, bot.Responder) {}))
	deliver(t, a, fd.Command(ch, riley, cmdData("reset-password")))
	c.Add(16 * time.Minute)
	secret := actions.NewSecret("AdeleV@contoso.com password", "Zk7$pw-for-riley")
	must(t, a.Notify(context.Background(), ch, bot.Actor{ID: "discord:" + riley}, bot.Message{Title: "Only you can see this: reset-password", Secrets: []bot.Secret{secret}}))
	var notice fakediscord.Message
	for _, m := range fd.Messages() {
		if strings.Contains(string(m.Components), "reveal:") {
			notice = m
		}
		if strings.Contains(m.Content, "Zk7$") {
			t.Fatalf("secret posted: %+v", m)
		}
	}
	if notice.ID == "" || notice.Ephemeral || !strings.Contains(notice.Content, "<@"+riley+">") {
		t.Fatalf("no Reveal notice: %+v", fd.Messages())
	}
	custom := notice.Components[strings.Index(string(notice.Components), "reveal:"):]
	customID := string(custom[:strings.IndexByte(string(custom), '"')])

	in, err := fd.Click(ch, sam, notice, customID)
	must(t, err)
	deliver(t, a, in)
	in, err = fd.Click(ch, riley, notice, customID)
	must(t, err)
	deliver(t, a, in)

	var refused, revealed bool
	for _, m := range fd.Messages() {
		switch {
		case strings.Contains(m.Content, "Zk7$pw-for-riley"):
			if !m.Ephemeral || m.For != riley {
				t.Errorf("secret shown to %q (ephemeral %v)", m.For, m.Ephemeral)
			}
			revealed = true
		case m.For == sam && strings.Contains(m.Content, "Only the person who asked"):
			refused = true
		}
	}
	if !refused || !revealed {
		t.Fatalf("refused=%v revealed=%v: %+v", refused, revealed, fd.Messages())
	}
	// Once revealed, it is gone.
	after := fd.Messages()
	for _, m := range after {
		if m.ID == notice.ID && strings.Contains(string(m.Components), "reveal:") {
			t.Error("Reveal button still on the notice")
		}
	}
}

func TestRevealExpires(t *testing.T) {
	a, fd, c := newAdapter(t, handlerFunc(func(context.Context, bot.Event, bot.Responder) {}))
	secret := actions.NewSecret("tap", "Tap-secret-42")
	must(t, a.Notify(context.Background(), ch, bot.Actor{ID: "discord:" + riley}, bot.Message{Title: "x", Secrets: []bot.Secret{secret}}))
	var notice fakediscord.Message
	for _, m := range fd.Messages() {
		if strings.Contains(string(m.Components), "reveal:") {
			notice = m
		}
	}
	custom := notice.Components[strings.Index(string(notice.Components), "reveal:"):]
	customID := string(custom[:strings.IndexByte(string(custom), '"')])
	c.Add(16 * time.Minute)
	in, err := fd.Click(ch, riley, notice, customID)
	must(t, err)
	deliver(t, a, in)
	for _, m := range fd.Messages() {
		if strings.Contains(m.Content, "Tap-secret-42") {
			t.Fatal("expired reveal still showed the secret")
		}
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestCommandWithAttachment(t *testing.T) {
	cdn := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("upn\nAdeleV@contoso.com\nAlexW@contoso.com\n"))
	}))
	defer cdn.Close()
	var got []bot.Event
	a, fd, _ := newAdapter(t, handlerFunc(func(ctx context.Context, ev bot.Event, r bot.Responder) { got = append(got, ev) }))
	data := json.RawMessage(`{"id":"1","name":"cipp-sign-in","type":1,"options":[{"name":"block-signin","type":1,"options":[{"name":"file","type":11,"value":"900"},{"name":"reason","type":3,"value":"leavers"}]}],` +
		`"resolved":{"attachments":{"900":{"id":"900","filename":"leavers.csv","size":40,"url":"` + cdn.URL + `/leavers.csv","content_type":"text/csv"}}}}`)
	deliver(t, a, fd.Command(ch, riley, data))
	if len(got) != 1 || got[0].Text != `block-signin reason="leavers"` || len(got[0].Files) != 1 ||
		!strings.Contains(string(got[0].Files[0].Data), "AlexW@contoso.com") || got[0].Files[0].Name != "leavers.csv" {
		t.Fatalf("event = %+v", got)
	}
}

// TestNotifyLong: a private message longer than one Discord message (a
// bulk run's outcome) reaches the user as several DMs, in order, with
// every line, none cut.
func TestNotifyLong(t *testing.T) {
	t.Parallel()
	a, fd, _ := newAdapter(t, handlerFunc(func(context.Context, bot.Event, bot.Responder) {}))
	var lines []string
	for i := range 300 {
		lines = append(lines, fmt.Sprintf("user%03d@contoso.com: sign-in blocked", i))
	}
	must(t, a.Notify(context.Background(), ch, bot.Actor{ID: "discord:" + riley}, bot.Message{Title: "block-signin: 300 done", Lines: lines}))
	var all strings.Builder
	n := 0
	for _, m := range fd.Messages() {
		if len(m.Content) > 2000 {
			t.Errorf("a message of %d characters", len(m.Content))
		}
		all.WriteString(m.Content + "\n")
		n++
	}
	if n < 2 {
		t.Fatalf("%d messages, want the outcome split over several", n)
	}
	text, last := all.String(), -1
	for _, l := range lines {
		i := strings.Index(text, strings.ReplaceAll(l, "_", `\_`))
		if i < 0 || i < last {
			t.Fatalf("line %q missing or out of order", l)
		}
		last = i
	}
}
