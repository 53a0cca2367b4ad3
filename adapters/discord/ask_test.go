package discord_test

import (
	"context"
	"encoding/json"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/cippbot/cippbot/bot"
	"github.com/cippbot/cippbot/internal/fakediscord"
)

// newUserForm is a form of seven inputs, required ones first, some
// prefilled, one long, one with a label past Discord's 45 characters.
func newUserForm() *bot.Ask {
	return &bot.Ask{Title: "New user", Command: `add-user licenses="ENTERPRISEPACK"`, Fields: []bot.AskField{
		{Key: "displayname", Label: "Display name", Value: "Jane Doe", Required: true},
		{Key: "mailnickname", Label: "Mail nickname", Required: true},
		{Key: "primdomain", Label: "Domain", Value: "contoso.com", Required: true},
		{Key: "givenname", Label: "Given name, as the person writes it on official papers"},
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
	if strings.HasPrefix(ev.Text, "ask") {
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

var askButton = regexp.MustCompile(`"custom_id":"(ask:[0-9a-f]+)"`)

// modalRun is a question asked of riley on fake Discord.
type modalRun struct {
	t    *testing.T
	fd   *fakediscord.Server
	send func(fakediscord.Interaction)
	msg  fakediscord.Message // the private message with the question's button
	id   string              // the button's custom_id
}

// askRiley has the handler ask its question of riley.
func askRiley(t *testing.T, h *asker) *modalRun {
	t.Helper()
	a, fd, _ := newAdapter(t, h)
	r := &modalRun{t: t, fd: fd, send: func(in fakediscord.Interaction) { deliver(t, a, in) }}
	r.send(fd.Command(ch, riley, json.RawMessage(`{"name":"cipp","options":[{"name":"run","type":1,"options":[{"name":"command","type":3,"value":"ask"}]}]}`)))
	for _, m := range fd.Messages() {
		if askButton.Match(m.Components) {
			r.msg = m
		}
	}
	id := askButton.FindSubmatch(r.msg.Components)
	if id == nil || !r.msg.Ephemeral || r.msg.For != riley {
		t.Fatalf("no question button for riley: %+v", fd.Messages())
	}
	r.id = string(id[1])
	if !strings.Contains(string(r.msg.Components), `"label":"`+h.ask.Button()+`"`) {
		t.Errorf("button %s, want label %q", r.msg.Components, h.ask.Button())
	}
	return r
}

// open clicks the question's button and returns the modal it opens.
func (r *modalRun) open() fakediscord.Modal {
	r.t.Helper()
	n := len(r.fd.Modals())
	click, err := r.fd.Click(ch, riley, r.msg, r.id)
	must(r.t, err)
	r.send(click)
	modals := r.fd.Modals()
	if len(modals) == n {
		r.t.Fatalf("no modal; callbacks %+v", r.fd.Callbacks())
	}
	return modals[len(modals)-1]
}

// submit submits the modal with values.
func (r *modalRun) submit(m fakediscord.Modal, values map[string]string) {
	r.t.Helper()
	in, err := r.fd.SubmitModal(ch, riley, m.CustomID, values)
	must(r.t, err)
	r.send(in)
}

// textInputs decodes a modal's text inputs, in order.
func textInputs(t *testing.T, m fakediscord.Modal) []map[string]any {
	t.Helper()
	var data struct {
		Components []struct {
			Type       int              `json:"type"`
			Components []map[string]any `json:"components"`
		} `json:"components"`
	}
	must(t, json.Unmarshal(m.JSON, &data))
	var out []map[string]any
	for _, row := range data.Components {
		if row.Type != 1 || len(row.Components) != 1 {
			t.Fatalf("row %+v", row)
		}
		out = append(out, row.Components[0])
	}
	return out
}

// TestFormModal: a form of seven inputs opens a modal of its first five,
// prefilled; the submission, with the two inputs the modal could not show
// as they were prefilled, comes back as the completed command.
func TestFormModal(t *testing.T) {
	h := &asker{ask: newUserForm()}
	r := askRiley(t, h)
	modal := r.open()
	if modal.Title != "New user" || modal.For != riley {
		t.Errorf("modal %+v", modal)
	}
	inputs := textInputs(t, modal)
	if len(inputs) != 5 {
		t.Fatalf("%d inputs, want 5: %s", len(inputs), modal.JSON)
	}
	for i, f := range h.ask.Fields[:5] {
		in := inputs[i]
		label, _ := in["label"].(string)
		value, _ := in["value"].(string)
		if in["custom_id"] != f.Key || in["required"] != f.Required || value != f.Value || len([]rune(label)) > 45 || in["style"] != 1.0 {
			t.Errorf("input %d = %v, want %+v", i, in, f)
		}
	}
	if label := inputs[3]["label"].(string); !strings.HasPrefix(label, "Given name, as the person") || !strings.HasSuffix(label, "…") {
		t.Errorf("long label = %q", label)
	}

	// A required input of blanks is refused, and the button still works.
	r.submit(modal, map[string]string{"mailnickname": "   "})
	if got := h.texts(); len(got) != 0 {
		t.Fatalf("blank answer dispatched %q", got)
	}
	refused := false
	for _, m := range r.fd.Messages() {
		refused = refused || (m.Ephemeral && m.For == riley && strings.Contains(m.Content, "An empty mail nickname does not count"))
	}
	if !refused {
		t.Errorf("no refusal: %+v", r.fd.Messages())
	}

	r.submit(r.open(), map[string]string{"mailnickname": "jane", "givenname": `Jane "JJ"`, "primdomain": "fabrikam.com"})
	want := `add-user licenses="ENTERPRISEPACK" displayname="Jane Doe" mailnickname="jane" primdomain="fabrikam.com" givenname="Jane \"JJ\"" usagelocation="GB" addedaliasses="jd@contoso.com"`
	if got := h.texts(); len(got) != 1 || got[0] != want {
		t.Errorf("events %q, want %s", got, want)
	}
	cmd, err := bot.ParseCommand(want)
	if err != nil || cmd.Named["givenname"] != `Jane "JJ"` || len(cmd.Named) != 7 {
		t.Errorf("the grammar reads it as %+v, %v", cmd, err)
	}
}

// TestReasonModal: the one-question Ask of a reason still opens one long,
// required input, and its answer completes the command.
func TestReasonModal(t *testing.T) {
	h := &asker{ask: &bot.Ask{Title: "Why block-signin?", Label: "Reason", Field: "reason", Command: `block-signin "AdeleV@contoso.com"`}}
	r := askRiley(t, h)
	modal := r.open()
	inputs := textInputs(t, modal)
	if modal.Title != "Why block-signin?" || len(inputs) != 1 || inputs[0]["custom_id"] != "reason" || inputs[0]["label"] != "Reason" ||
		inputs[0]["style"] != 2.0 || inputs[0]["required"] != true || inputs[0]["max_length"] != 500.0 {
		t.Fatalf("modal %s", modal.JSON)
	}
	if h.ask.Button() != "Give a reason" {
		t.Errorf("button %q", h.ask.Button())
	}
	r.submit(modal, map[string]string{"reason": "contract ended"})
	if got := h.texts(); len(got) != 1 || got[0] != `block-signin "AdeleV@contoso.com" reason="contract ended"` {
		t.Errorf("events %q", got)
	}
}
