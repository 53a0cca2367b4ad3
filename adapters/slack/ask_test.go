package slack_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cippbot/cippbot/adapters/slack"
	"github.com/cippbot/cippbot/bot"
	"github.com/cippbot/cippbot/internal/fakeslack"
)

// newUserForm is a form of seven inputs, required ones first, some
// prefilled, one long.
func newUserForm() *bot.Ask {
	return &bot.Ask{Title: "New user", Command: `add-user licenses="ENTERPRISEPACK"`, Fields: []bot.AskField{
		{Key: "displayname", Label: "Display name", Value: "Jane Doe", Required: true},
		{Key: "mailnickname", Label: "Mail nickname", Required: true},
		{Key: "primdomain", Label: "Domain", Value: "contoso.com", Required: true},
		{Key: "givenname", Label: "Given name"},
		{Key: "surname", Label: "Surname"},
		{Key: "usagelocation", Label: "Usage location", Value: "GB"},
		{Key: "addedaliasses", Label: "Aliases, one per line", Value: "jd@contoso.com", Long: true},
	}}
}

// asker is a handler that answers the command "ask" with its question and
// records every other event.
type asker struct {
	ask    *bot.Ask
	mu     sync.Mutex
	events []bot.Event
}

func (h *asker) Handle(ctx context.Context, ev bot.Event, r bot.Responder) {
	if ev.Text == "ask" {
		r.Private(ctx, bot.Message{Title: "Fill this in", Ask: h.ask})
		return
	}
	h.mu.Lock()
	h.events = append(h.events, ev)
	h.mu.Unlock()
}

func (h *asker) texts() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []string
	for _, ev := range h.events {
		out = append(out, ev.Text)
	}
	return out
}

// askedView has h ask its question of URILEY through a slash command,
// clicks the question's button and returns the modal it opens, with the
// adapter's URL and the adapter.
func askedView(t *testing.T, fs *fakeslack.Server, h *asker) (fakeslack.View, string, *slack.Adapter) {
	t.Helper()
	return askedViewOn(t, fs, h, nil)
}

// serveAdapter starts an adapter with state (nil: its own, in memory) and
// returns it with its URL.
func serveAdapter(t *testing.T, fs *fakeslack.Server, h slack.Handler, state bot.Transient) (*slack.Adapter, string) {
	t.Helper()
	a, err := slack.New(slack.Config{BotToken: fakeslack.DefaultBotToken, SigningSecret: fakeslack.DefaultSigningSecret,
		APIURL: fs.APIURL(), State: state}, h)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	a.Routes(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(func() {
		srv.Close()
		a.Close(context.Background())
	})
	return a, srv.URL
}

// askedViewOn is askedView on an adapter keeping its questions in state.
func askedViewOn(t *testing.T, fs *fakeslack.Server, h *asker, state bot.Transient) (fakeslack.View, string, *slack.Adapter) {
	t.Helper()
	a, url := serveAdapter(t, fs, h, state)
	srv := struct{ URL string }{url}
	resp, err := fs.SlashCommand(srv.URL+"/slack/commands", "/cipp", "ask", "COPS", "URILEY")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	a.Wait()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	msg, err := fs.WaitForMessage(ctx, func(m fakeslack.Message) bool { return strings.Contains(string(m.Blocks), `"ask `) })
	if err != nil || !msg.Ephemeral || msg.User != "URILEY" {
		t.Fatalf("no question for URILEY: %+v, %v", fs.Messages(), err)
	}
	if !strings.Contains(string(msg.Blocks), `"text":"`+h.ask.Button()+`"`) {
		t.Errorf("button %s, want %q", msg.Blocks, h.ask.Button())
	}
	value := regexp.MustCompile(`"value":"(ask [0-9a-f]+)"`).FindStringSubmatch(string(msg.Blocks))[1]
	resp, err = fs.ClickButton(srv.URL+"/slack/interactions", msg, "cipp_ask", value, "URILEY")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	a.Wait()
	view, err := fs.WaitForView(ctx, func(v fakeslack.View) bool { return v.User == "URILEY" })
	if err != nil {
		t.Fatal(err)
	}
	return view, srv.URL, a
}

// input is an input block of a modal, as views.open got it.
type input struct {
	BlockID  string `json:"block_id"`
	Optional bool   `json:"optional"`
	Label    struct {
		Text string `json:"text"`
	} `json:"label"`
	Element struct {
		Type         string `json:"type"`
		ActionID     string `json:"action_id"`
		InitialValue string `json:"initial_value"`
		Multiline    bool   `json:"multiline"`
		MaxLength    int    `json:"max_length"`
	} `json:"element"`
}

func viewOf(t *testing.T, v fakeslack.View) (title string, inputs []input) {
	t.Helper()
	var obj struct {
		Title struct {
			Text string `json:"text"`
		} `json:"title"`
		Blocks []input `json:"blocks"`
	}
	if err := json.Unmarshal(v.JSON, &obj); err != nil {
		t.Fatal(err)
	}
	return obj.Title.Text, obj.Blocks
}

// TestFormModal: a form of seven inputs opens a modal of seven
// plain_text_inputs, prefilled; a required input of blanks is answered
// with an error on its block and the modal stays open; the completed
// submission comes back to the bot as the completed command.
func TestFormModal(t *testing.T) {
	fs := newFakeSlack(t)
	h := &asker{ask: newUserForm()}
	view, url, a := askedView(t, fs, h)
	title, inputs := viewOf(t, view)
	if title != "New user" || len(inputs) != 7 {
		t.Fatalf("modal %q of %d inputs: %s", title, len(inputs), view.JSON)
	}
	for i, f := range h.ask.Fields {
		in := inputs[i]
		if in.BlockID != f.Key || in.Element.ActionID != f.Key || in.Element.Type != "plain_text_input" || in.Label.Text != f.Label ||
			in.Element.InitialValue != f.Value || in.Element.Multiline != f.Long || in.Optional == f.Required {
			t.Errorf("input %d = %+v, want %+v", i, in, f)
		}
	}

	resp, err := fs.SubmitView(url+"/slack/interactions", view.ID, map[string]map[string]string{"mailnickname": {"mailnickname": "  "}}, "URILEY")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	a.Wait()
	var answer struct {
		ResponseAction string            `json:"response_action"`
		Errors         map[string]string `json:"errors"`
	}
	if err := json.Unmarshal(body, &answer); err != nil || answer.ResponseAction != "errors" || len(answer.Errors) != 1 || answer.Errors["mailnickname"] == "" {
		t.Fatalf("answer to a blank required input: %d %s", resp.StatusCode, body)
	}
	if got := h.texts(); len(got) != 0 {
		t.Fatalf("blank answer dispatched %q", got)
	}

	resp, err = fs.SubmitView(url+"/slack/interactions", view.ID, map[string]map[string]string{
		"mailnickname":  {"mailnickname": "jane"},
		"givenname":     {"givenname": `Jane "JJ"`},
		"usagelocation": {"usagelocation": ""},
		"addedaliasses": {"addedaliasses": "jd@contoso.com\nj.doe@contoso.com"},
	}, "URILEY")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	a.Wait()
	want := `add-user licenses="ENTERPRISEPACK" displayname="Jane Doe" mailnickname="jane" primdomain="contoso.com" givenname="Jane \"JJ\"" addedaliasses="jd@contoso.com` + "\n" + `j.doe@contoso.com"`
	if got := h.texts(); len(got) != 1 || got[0] != want {
		t.Errorf("events %q, want %q", got, want)
	}
	for _, v := range fs.Views() {
		if v.ID == view.ID && !v.Closed {
			t.Error("the modal stayed open")
		}
	}
}

// TestReasonModal: the one-question Ask of a reason opens one long,
// required input titled with the question; its answer completes the
// command.
func TestReasonModal(t *testing.T) {
	fs := newFakeSlack(t)
	h := &asker{ask: &bot.Ask{Title: "Why block-signin?", Label: "Reason", Field: "reason", Command: "block-signin AdeleV@contoso.com"}}
	view, url, a := askedView(t, fs, h)
	title, inputs := viewOf(t, view)
	if title != "Reason" || len(inputs) != 1 || inputs[0].BlockID != "reason" || inputs[0].Label.Text != "Why block-signin?" ||
		!inputs[0].Element.Multiline || inputs[0].Optional || inputs[0].Element.MaxLength != 500 {
		t.Fatalf("modal %s", view.JSON)
	}
	resp, err := fs.SubmitView(url+"/slack/interactions", view.ID, map[string]map[string]string{"reason": {"reason": "contract ended"}}, "URILEY")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	a.Wait()
	if got := h.texts(); len(got) != 1 || got[0] != `block-signin AdeleV@contoso.com reason="contract ended"` {
		t.Errorf("events %q", got)
	}
}

// TestFormOnAnotherReplica: the form one replica asked for is submitted
// to another sharing its state, and the answer comes back once.
func TestFormOnAnotherReplica(t *testing.T) {
	fs := newFakeSlack(t)
	h := &asker{ask: &bot.Ask{Title: "Why block-signin?", Label: "Reason", Field: "reason", Command: "block-signin AdeleV@contoso.com"}}
	state := bot.NewMemTransient(nil)
	view, _, _ := askedViewOn(t, fs, h, state)
	b, url := serveAdapter(t, fs, h, state)
	resp, err := fs.SubmitView(url+"/slack/interactions", view.ID, map[string]map[string]string{"reason": {"reason": "contract ended"}}, "URILEY")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	b.Wait()
	if got := h.texts(); len(got) != 1 || got[0] != `block-signin AdeleV@contoso.com reason="contract ended"` {
		t.Errorf("events %q, want the answer", got)
	}
}
