package teams

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cippbot/cippbot/actions"
	"github.com/cippbot/cippbot/bot"
	"github.com/cippbot/cippbot/internal/faketeams"
)

func TestMessage_mentionRemovedAndRedeliveryDropped(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, nil)
	act := e.ft.MessageActivity(e.riley, channel, "reset-password AdeleV@contoso.com", true)
	for range 2 {
		if status, body, err := e.ft.Deliver(e.endpoint, act); err != nil || status != 200 {
			t.Fatalf("deliver: %d %s %v", status, body, err)
		}
	}
	e.a.Wait()
	got := e.h.got()
	if len(got) != 1 {
		t.Fatalf("handled %d times, want once", len(got))
	}
	want := bot.Event{Platform: Platform, Workspace: e.ft.TenantID, Channel: channel,
		Actor: bot.Actor{ID: "teams:aad-riley", Name: "Riley"}, Text: "reset-password AdeleV@contoso.com"}
	if g := got[0]; g.Platform != want.Platform || g.Workspace != want.Workspace || g.Channel != want.Channel || g.Actor != want.Actor || g.Text != want.Text {
		t.Errorf("event = %+v, want %+v", g, want)
	}
}

func TestCommandText(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"help", "help"},
		{"/cipp reset-password a@b.com", "reset-password a@b.com"},
		{"CIPP whoami", "whoami"},
		{"<at>cippbot</at> user a&amp;b@x.com", "user a&b@x.com"},
		{"<at>cippbot</at>", "help"},
		{"/cipp", "help"},
	}
	for _, tt := range tests {
		act := &activity{Text: tt.in, Recipient: &account{ID: "28:bot"},
			Entities: []entity{{Type: "mention", Text: "<at>cippbot</at>", Mentioned: &account{ID: "28:bot"}}}}
		if got := commandText(act); got != tt.want {
			t.Errorf("commandText(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// card returns the Adaptive Card of a posted activity.
func cardOf(t *testing.T, a map[string]any) card {
	t.Helper()
	atts, _ := a["attachments"].([]any)
	if len(atts) != 1 {
		t.Fatalf("activity has %d attachments, want 1: %v", len(atts), a)
	}
	b, _ := json.Marshal(atts[0].(map[string]any)["content"])
	var c card
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	return c
}

func decodeInvoke(t *testing.T, body string) (typ string, c card, text string) {
	t.Helper()
	var r struct {
		StatusCode int             `json:"statusCode"`
		Type       string          `json:"type"`
		Value      json.RawMessage `json:"value"`
	}
	if err := json.Unmarshal([]byte(body), &r); err != nil || r.StatusCode != 200 {
		t.Fatalf("invoke response %q: %v", body, err)
	}
	if r.Type == cardType {
		json.Unmarshal(r.Value, &c)
	} else {
		json.Unmarshal(r.Value, &text)
	}
	return r.Type, c, text
}

func cardText(c card) string {
	var b strings.Builder
	for _, e := range c.Body {
		b.WriteString(e.Text + "\n")
	}
	for _, a := range c.Actions {
		b.WriteString("[" + a.Title + "]\n")
	}
	return b.String()
}

// approvalHandler plays the engine: a command posts an approval card; an
// approve by someone else decides it with a compare-and-swap, updates the
// card and answers privately.
type approvalHandler struct {
	a       *Adapter
	mu      sync.Mutex
	card    string
	decided int
	runs    int
}

func (h *approvalHandler) Handle(ctx context.Context, ev bot.Event, r bot.Responder) {
	switch {
	case strings.HasPrefix(ev.Text, "reset-password"):
		ref, err := r.Public(ctx, bot.Message{Title: "Approval needed: reset-password AdeleV@contoso.com",
			Buttons: []bot.Button{{Label: "Approve", Value: "approve 7f3a1c"}, {Label: "Deny", Value: "deny 7f3a1c", Danger: true}}})
		if err != nil {
			panic(err)
		}
		h.mu.Lock()
		h.card = ref
		h.mu.Unlock()
	case ev.Text == "approve 7f3a1c":
		if ev.Actor.ID == "teams:aad-riley" {
			r.Private(ctx, bot.Message{Title: "You cannot approve your own request."})
			return
		}
		h.mu.Lock()
		first := h.decided == 0
		h.decided++
		ref := h.card
		h.mu.Unlock()
		if !first {
			r.Private(ctx, bot.Message{Title: "Request 7f3a1c was already approved."})
			return
		}
		h.a.Update(ctx, ev.Channel, ref, bot.Message{Title: "Approved by Sam: running reset-password…"})
		h.mu.Lock()
		h.runs++
		h.mu.Unlock()
	}
}

func TestApproval_invokeAnsweredWithDecidedCardThenUpdated(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, nil)
	h := &approvalHandler{a: e.a}
	e.a.handler = h
	e.ft.Deliver(e.endpoint, e.ft.MessageActivity(e.riley, channel, "reset-password AdeleV@contoso.com", true))
	e.a.Wait()
	m, ok := e.ft.Message(channel, h.card)
	if !ok {
		t.Fatalf("no card posted; messages %v", e.ft.Messages())
	}
	c := cardOf(t, m.Activity)
	if c.Version != "1.5" || c.Refresh == nil || len(c.Refresh.UserIDs) != 1 || c.Refresh.UserIDs[0] != e.riley.MRI {
		t.Fatalf("card = %+v; want 1.5 with a refresh for the requester", c)
	}
	var approve action
	for _, a := range c.Actions {
		if a.Verb == verbApprove {
			approve = a
		}
	}
	if approve.Type != "Action.Execute" {
		t.Fatalf("no Action.Execute Approve on %+v", c.Actions)
	}

	// The requester's refresh shows no Approve.
	_, body, _ := e.ft.Deliver(e.endpoint, e.ft.InvokeActivity(e.riley, channel, h.card, verbView, nil, "automatic"))
	typ, view, _ := decodeInvoke(t, body)
	if typ != cardType || strings.Contains(cardText(view), "[Approve]") || !strings.Contains(cardText(view), "can't approve your own") {
		t.Errorf("requester's view = %q", cardText(view))
	}
	// Anyone else's refresh is the card as it is.
	_, body, _ = e.ft.Deliver(e.endpoint, e.ft.InvokeActivity(e.sam, channel, h.card, verbView, nil, "automatic"))
	if _, v, _ := decodeInvoke(t, body); !strings.Contains(cardText(v), "[Approve]") {
		t.Errorf("approver's view = %q", cardText(v))
	}
	// The requester's own click is refused by the engine, privately.
	_, body, _ = e.ft.Deliver(e.endpoint, e.ft.InvokeActivity(e.riley, channel, h.card, approve.Verb, approve.Data, "manual"))
	if _, _, text := decodeInvoke(t, body); !strings.Contains(text, "cannot approve your own") {
		t.Errorf("own click answered %q", body)
	}

	// Sam's click: the invoke response is the decided card; then the
	// activity is replaced for everyone.
	click := e.ft.InvokeActivity(e.sam, channel, h.card, approve.Verb, approve.Data, "manual")
	_, body, _ = e.ft.Deliver(e.endpoint, click)
	typ, decided, _ := decodeInvoke(t, body)
	if typ != cardType || !strings.Contains(cardText(decided), "Approved by Sam") {
		t.Fatalf("clicker got %q", body)
	}
	e.a.Wait()
	m, _ = e.ft.Message(channel, h.card)
	if m.Updates != 1 || !strings.Contains(cardText(cardOf(t, m.Activity)), "Approved by Sam") || cardOf(t, m.Activity).Refresh != nil {
		t.Errorf("card after the decision: %v", m)
	}
	// The same click delivered again is answered without work; a second
	// click is the engine's to refuse.
	_, body, _ = e.ft.Deliver(e.endpoint, click)
	if _, _, text := decodeInvoke(t, body); text != "Already handled." {
		t.Errorf("redelivered click answered %q", body)
	}
	_, body, _ = e.ft.Deliver(e.endpoint, e.ft.InvokeActivity(e.sam, channel, h.card, approve.Verb, approve.Data, "manual"))
	if _, _, text := decodeInvoke(t, body); !strings.Contains(text, "already approved") {
		t.Errorf("second click answered %q", body)
	}
	e.a.Wait()
	if h.runs != 1 {
		t.Errorf("ran %d times, want once", h.runs)
	}
}

const secretValue = "Xq7!pV-not-for-logs-93"

func secretMessage() bot.Message {
	return bot.Message{Title: "New password for AdeleV@contoso.com", Secrets: []bot.Secret{actions.NewSecret("AdeleV@contoso.com password", secretValue)}}
}

func TestNotify_secretOnlyInRevealResponse(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, nil)
	e.ft.Deliver(e.endpoint, e.ft.MessageActivity(e.riley, channel, "whoami", true))
	e.ft.Deliver(e.endpoint, e.ft.MessageActivity(e.sam, channel, "whoami", true))
	e.a.Wait()
	if err := e.a.Notify(context.Background(), channel, bot.Actor{ID: "teams:aad-riley"}, secretMessage()); err != nil {
		t.Fatal(err)
	}
	var reveal card
	var dm string
	for _, m := range e.ft.Messages() {
		if len(m.Visible) == 1 && m.Visible[0] == e.riley.MRI {
			reveal, dm = cardOf(t, m.Activity), m.Conversation
		}
	}
	if dm == "" || len(reveal.Actions) != 1 || reveal.Actions[0].Verb != verbReveal {
		t.Fatalf("no Reveal card in Riley's chat: %v", e.ft.Messages())
	}
	data := reveal.Actions[0].Data
	for _, r := range e.ft.Requests() {
		if strings.Contains(r.Body+r.Response, secretValue) {
			t.Fatalf("secret went over the wire before the reveal: %s %s", r.Method, r.Path)
		}
	}
	// Someone else's click is refused.
	_, body, _ := e.ft.Deliver(e.endpoint, e.ft.InvokeActivity(e.sam, dm, "", verbReveal, data, "manual"))
	if strings.Contains(body, secretValue) || !strings.Contains(body, "Only the person") {
		t.Errorf("Sam's reveal answered %q", body)
	}
	_, body, _ = e.ft.Deliver(e.endpoint, e.ft.InvokeActivity(e.riley, dm, "", verbReveal, data, "manual"))
	if !strings.Contains(body, secretValue) {
		t.Errorf("Riley's reveal answered %q", body)
	}
	_, body, _ = e.ft.Deliver(e.endpoint, e.ft.InvokeActivity(e.riley, dm, "", verbReveal, data, "manual"))
	if strings.Contains(body, secretValue) {
		t.Errorf("second reveal showed the secret again")
	}
	n := 0
	for _, r := range e.ft.Requests() {
		if strings.Contains(r.Body+r.Response, secretValue) {
			n++
			if r.Method != "DELIVER" || !strings.Contains(r.Body, e.riley.AAD) {
				t.Errorf("secret in %s %s", r.Method, r.Path)
			}
		}
	}
	if n != 1 {
		t.Errorf("secret in %d exchanges, want 1 (Riley's reveal)", n)
	}
}

func TestNotify_notInstalledAsksInChannelThenDelivers(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, nil)
	e.ft.AddUser(e.riley, false)
	e.ft.Deliver(e.endpoint, e.ft.MessageActivity(e.riley, channel, "whoami", true))
	e.a.Wait()
	ctx := context.Background()
	riley := bot.Actor{ID: "teams:aad-riley", Name: "Riley"}
	for range 2 {
		if err := e.a.Notify(ctx, channel, riley, secretMessage()); err == nil {
			t.Fatal("Notify succeeded without a one-to-one chat")
		}
	}
	var told int
	for _, m := range e.ft.Messages() {
		if m.Conversation == channel && strings.Contains(m.Activity["text"].(string), "Open a chat with cippbot") {
			told++
		}
		if strings.Contains(m.String(), secretValue) {
			t.Fatalf("secret posted: %v", m)
		}
	}
	if told != 1 {
		t.Fatalf("told in the channel %d times, want once", told)
	}
	// Riley opens the bot's chat: the next offer goes there.
	dm := e.ft.Install(e.riley.MRI)
	e.ft.Deliver(e.endpoint, e.ft.InstallActivity(e.riley, dm))
	if err := e.a.Notify(ctx, channel, riley, secretMessage()); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, m := range e.ft.Messages() {
		if m.Conversation == dm && strings.Contains(cardText(cardOf(t, m.Activity)), "[Reveal]") {
			found = true
		}
	}
	if !found {
		t.Errorf("no Reveal in Riley's chat: %v", e.ft.Messages())
	}
}

func TestConnector_retries429(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, nil)
	e.ft.Deliver(e.endpoint, e.ft.MessageActivity(e.riley, channel, "whoami", true))
	e.a.Wait()
	e.ft.Throttle(1)
	start := time.Now()
	r := &responder{a: e.a, conv: channel, serviceURL: e.ft.ServiceURL()}
	if _, err := r.Public(context.Background(), bot.Message{Title: "hello"}); err != nil {
		t.Fatal(err)
	}
	if time.Since(start) < time.Second {
		t.Errorf("retried before Retry-After")
	}
}

func TestNotify_botRemovedByUser(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, nil)
	dm := e.ft.Install(e.riley.MRI)
	e.ft.Deliver(e.endpoint, e.ft.InstallActivity(e.riley, dm))
	e.ft.Deliver(e.endpoint, e.ft.MessageActivity(e.riley, channel, "whoami", true))
	e.a.Wait()
	e.ft.Uninstall(e.riley.MRI)
	riley := bot.Actor{ID: "teams:aad-riley", Name: "Riley"}
	if err := e.a.Notify(context.Background(), channel, riley, secretMessage()); err == nil {
		t.Fatal("Notify succeeded into a chat the user closed")
	}
	told := false
	for _, m := range e.ft.Messages() {
		if s, _ := m.Activity["text"].(string); m.Conversation == channel && strings.Contains(s, "Open a chat with cippbot") {
			told = true
		}
	}
	if !told {
		t.Errorf("Riley was not asked to open the chat: %v", e.ft.Messages())
	}
	// Reinstalled, the chat is found again.
	e.ft.Install(e.riley.MRI)
	if err := e.a.Notify(context.Background(), channel, riley, secretMessage()); err != nil {
		t.Errorf("after reinstall: %v", err)
	}
}

func TestPrivate_channelCommandWithoutChatAsksToOpenIt(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, nil)
	e.ft.AddUser(e.riley, false)
	e.h.fn = func(ctx context.Context, ev bot.Event, r bot.Responder) {
		r.Private(ctx, bot.Message{Title: "cippbot help: …"})
	}
	for range 2 {
		e.ft.Deliver(e.endpoint, e.ft.MessageActivity(e.riley, channel, "help", true))
		e.a.Wait()
	}
	n := 0
	for _, m := range e.ft.Messages() {
		if s, _ := m.Activity["text"].(string); strings.Contains(s, "Open a chat with cippbot") {
			n++
		}
		if strings.Contains(m.String(), "cippbot help") {
			t.Errorf("private answer posted: %v", m)
		}
	}
	if n != 1 {
		t.Errorf("asked %d times to open the chat, want once", n)
	}
}

func TestReveal_concurrentClicksShowItOnce(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, nil)
	ctx := context.Background()
	p, _ := json.Marshal(pendingSeen{AAD: "aad-riley", Expires: time.Now().Add(time.Minute)})
	held, err := bot.HoldPrivate(secretMessage())
	if err != nil {
		t.Fatal(err)
	}
	if err := e.a.sealed.PutTransient(ctx, keyReveal+"n1", p, time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := e.a.sealed.PutTransient(ctx, keyReveal+"n1:secret", held, time.Minute); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	shown := 0
	for range 20 {
		wg.Go(func() {
			r := e.a.reveal("aad-riley", "", "n1")
			if b, _ := json.Marshal(r); strings.Contains(string(b), secretValue) {
				mu.Lock()
				shown++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if shown != 1 {
		t.Errorf("secret shown %d times, want once", shown)
	}
}

func TestConnector_certificateCredential(t *testing.T) {
	t.Parallel()
	for _, registered := range []bool{true, false} {
		cert, key, _ := faketeams.NewCertificate()
		e := newTestEnv(t, nil)
		e.a.conn.cred = certCredential(t, e.ft, cert, key)
		if registered {
			e.ft.RegisterCertificate(cert)
		}
		e.ft.Deliver(e.endpoint, e.ft.MessageActivity(e.riley, channel, "whoami", true))
		e.a.Wait()
		r := &responder{a: e.a, conv: channel, serviceURL: e.ft.ServiceURL()}
		_, err := r.Public(context.Background(), bot.Message{Title: "hello"})
		if registered && err != nil {
			t.Errorf("with a registered certificate: %v", err)
		}
		if !registered && (err == nil || !strings.Contains(err.Error(), "AADSTS700027")) {
			t.Errorf("with an unknown certificate: %v, want AADSTS700027", err)
		}
		for _, q := range e.ft.Requests() {
			if strings.Contains(q.Body, "client_secret") {
				t.Errorf("a secret was sent: %s", q.Path)
			}
		}
	}
}

func TestPrivate_clickWithoutChatToldInItsAnswer(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, nil)
	e.ft.AddUser(e.riley, false)
	e.h.fn = func(ctx context.Context, ev bot.Event, r bot.Responder) {
		if strings.HasPrefix(ev.Text, "reveal ") {
			r.Private(ctx, secretMessage())
		}
	}
	e.ft.Deliver(e.endpoint, e.ft.MessageActivity(e.riley, channel, "whoami", true))
	e.a.Wait()
	_, body, _ := e.ft.Deliver(e.endpoint, e.ft.InvokeActivity(e.riley, channel, "1000", verbCommand, map[string]any{"cmd": "reveal abc"}, "manual"))
	if _, _, text := decodeInvoke(t, body); !strings.Contains(text, "Open a chat with cippbot") {
		t.Errorf("click answered %q", body)
	}
	if strings.Contains(body, secretValue) {
		t.Fatal("secret in a channel click's answer")
	}
	for _, m := range e.ft.Messages() {
		if strings.Contains(m.String(), secretValue) {
			t.Fatalf("secret posted: %v", m)
		}
	}
}

// TestReveal_onlyInItsChat: Riley's own click from anywhere but the chat
// the Reveal was offered in is refused, and does not use the secret up.
func TestReveal_onlyInItsChat(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, nil)
	e.ft.Deliver(e.endpoint, e.ft.MessageActivity(e.riley, channel, "whoami", true))
	e.a.Wait()
	if err := e.a.Notify(context.Background(), channel, bot.Actor{ID: "teams:aad-riley"}, secretMessage()); err != nil {
		t.Fatal(err)
	}
	var data map[string]any
	var dm, id string
	for _, m := range e.ft.Messages() {
		if len(m.Visible) == 1 && m.Visible[0] == e.riley.MRI {
			data, dm, id = cardOf(t, m.Activity).Actions[0].Data, m.Conversation, m.ID
		}
	}
	_, body, _ := e.ft.Deliver(e.endpoint, e.ft.InvokeActivity(e.riley, channel, id, verbReveal, data, "manual"))
	if strings.Contains(body, secretValue) || !strings.Contains(body, "your chat with cippbot") {
		t.Errorf("a reveal in the channel answered %q", body)
	}
	_, body, _ = e.ft.Deliver(e.endpoint, e.ft.InvokeActivity(e.riley, dm, id, verbReveal, data, "manual"))
	if !strings.Contains(body, secretValue) {
		t.Errorf("the reveal in Riley's chat answered %q", body)
	}
}

// TestView_onlyInItsConversation: a card's refresh names an activity ID,
// unique only within a conversation; from another conversation it shows
// nothing.
func TestView_onlyInItsConversation(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, nil)
	h := &approvalHandler{a: e.a}
	e.a.handler = h
	e.ft.Deliver(e.endpoint, e.ft.MessageActivity(e.riley, channel, "reset-password AdeleV@contoso.com", true))
	e.a.Wait()
	dm := e.ft.Install(e.sam.MRI)
	_, body, _ := e.ft.Deliver(e.endpoint, e.ft.InvokeActivity(e.sam, dm, h.card, verbView, nil, "automatic"))
	if strings.Contains(body, "AdeleV") {
		t.Errorf("a refresh from Sam's chat showed the card: %s", body)
	}
	_, body, _ = e.ft.Deliver(e.endpoint, e.ft.InvokeActivity(e.sam, channel+";messageid="+h.card, h.card, verbView, nil, "automatic"))
	if !strings.Contains(body, "AdeleV") {
		t.Errorf("a refresh in the channel's thread answered %s", body)
	}
}
