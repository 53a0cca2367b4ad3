package slack

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	slackapi "github.com/slack-go/slack"

	"github.com/cippbot/cippbot/bot"
)

// A question (bot.Ask) is shown as a button; the button opens a modal of
// the question's inputs; the modal's submission completes the command and
// comes back as a request.
const (
	askVerb        = "ask"         // button value "ask <nonce>", action ID cipp_ask
	reasonCallback = "cipp_answer" // the modal's callback ID
	askLife        = 15 * time.Minute
)

// Slack's limits on a modal.
const (
	maxModalTitle  = 24
	maxModalInputs = 99 // of 100 blocks
	maxInputLabel  = 2000
	maxInputValue  = 3000
	maxAnswer      = 500 // a one-question answer (a reason)
	maxBlockID     = 255
)

// keyAsk prefixes the nonce of a question kept in the adapter's state.
const keyAsk = Platform + ":ask:"

// pendingAsk is a question waiting for its one reader's answer, kept in
// the adapter's Transient.
type pendingAsk struct {
	Ask     bot.Ask `json:"ask"`
	User    string  `json:"user"` // Slack user ID
	Channel string  `json:"channel"`
}

// withAsk stores m's question for user and adds the button that opens
// its form.
func (a *Adapter) withAsk(ctx context.Context, m bot.Message, user, channel string) (bot.Message, error) {
	if m.Ask == nil {
		return m, nil
	}
	var b [9]byte
	rand.Read(b[:])
	nonce := hex.EncodeToString(b[:])
	p, err := json.Marshal(pendingAsk{Ask: *m.Ask, User: user, Channel: channel})
	if err == nil {
		err = a.state.PutTransient(ctx, keyAsk+nonce, p, askLife)
	}
	if err != nil {
		return m, fmt.Errorf("slack: keep the question: %w", err)
	}
	m.Buttons = append(append([]bot.Button(nil), m.Buttons...), bot.Button{Label: m.Ask.Button(), Value: askVerb + " " + nonce})
	return m, nil
}

func (a *Adapter) lookupAsk(ctx context.Context, nonce string) (pendingAsk, bool) {
	b, err := a.state.Transient(ctx, keyAsk+nonce)
	if err != nil {
		a.log.Warn("could not read a question", "err", err)
	}
	var p pendingAsk
	if b == nil || json.Unmarshal(b, &p) != nil {
		return pendingAsk{}, false
	}
	return p, true
}

// viewInputs returns the inputs a question's modal shows, each under its
// key as block and action ID.
func viewInputs(ask bot.Ask) []bot.AskField {
	var out []bot.AskField
	seen := map[string]bool{}
	for _, f := range ask.Inputs() {
		if len(out) == maxModalInputs {
			break
		}
		if f.Key == "" || len(f.Key) > maxBlockID || seen[f.Key] {
			continue
		}
		seen[f.Key] = true
		out = append(out, f)
	}
	return out
}

// clip shortens s to n characters, ending it with … if it was longer.
func clip(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

// askView is the modal of a question: one plain_text_input per input,
// prefilled, multiline for long ones, optional unless required. A
// one-question Ask is titled with its label and asks its title.
func askView(ask bot.Ask, nonce string) slackapi.ModalViewRequest {
	title, limit := ask.Title, maxInputValue
	if len(ask.Fields) == 0 {
		title, limit = ask.Label, maxAnswer
	}
	if title = clip(strings.TrimSpace(title), maxModalTitle); title == "" {
		title = "cippbot"
	}
	var blocks []slackapi.Block
	for _, f := range viewInputs(ask) {
		label := f.Label
		if len(ask.Fields) == 0 {
			label = ask.Title
		}
		if label = clip(strings.TrimSpace(label), maxInputLabel); label == "" {
			label = f.Key
		}
		input := slackapi.NewPlainTextInputBlockElement(nil, f.Key)
		input.Multiline = f.Long
		input.MaxLength = limit
		if r := []rune(f.Value); len(r) > limit {
			input.InitialValue = string(r[:limit])
		} else {
			input.InitialValue = f.Value
		}
		block := slackapi.NewInputBlock(f.Key, slackapi.NewTextBlockObject(slackapi.PlainTextType, label, false, false), nil, input)
		block.Optional = !f.Required
		blocks = append(blocks, block)
	}
	return slackapi.ModalViewRequest{
		Type:            slackapi.VTModal,
		Title:           slackapi.NewTextBlockObject(slackapi.PlainTextType, title, false, false),
		Submit:          slackapi.NewTextBlockObject(slackapi.PlainTextType, "Send", false, false),
		Close:           slackapi.NewTextBlockObject(slackapi.PlainTextType, "Cancel", false, false),
		CallbackID:      reasonCallback,
		PrivateMetadata: nonce,
		Blocks:          slackapi.Blocks{BlockSet: blocks},
	}
}

// openAsk opens the modal for a question, on the click's trigger ID
// (valid for 3 seconds, which is why it runs right after the ack).
func (a *Adapter) openAsk(ctx context.Context, ic slackapi.InteractionCallback, nonce string) {
	p, ok := a.lookupAsk(ctx, nonce)
	if !ok || p.User != ic.User.ID {
		return
	}
	view := askView(p.Ask, nonce)
	if len(view.Blocks.BlockSet) == 0 {
		a.log.Warn("a question with nothing to fill in", "title", p.Ask.Title)
		return
	}
	if _, err := a.api.OpenViewContext(ctx, ic.TriggerID, view); err != nil {
		a.log.Warn("could not open the question's form", "err", err)
	}
}

// answer turns a submitted question form into the completed command,
// dispatched in the background, and returns nil: the modal closes. A
// required input left blank (Slack's client lets blanks through) is
// answered instead with response_action "errors", keeping the modal open,
// and so is a form that expired or is someone else's.
func (a *Adapter) answer(ic slackapi.InteractionCallback) *slackapi.ViewSubmissionResponse {
	if ic.View.CallbackID != reasonCallback {
		return nil
	}
	var state map[string]map[string]slackapi.BlockAction
	if ic.View.State != nil {
		state = ic.View.State.Values
	}
	p, ok := a.lookupAsk(a.ctx, ic.View.PrivateMetadata)
	if !ok || p.User != ic.User.ID {
		blocks := slices.Sorted(maps.Keys(state))
		if len(blocks) == 0 {
			return nil
		}
		return slackapi.NewErrorsViewSubmissionResponse(map[string]string{blocks[0]: "This form has expired or is someone else's: close it and ask again."})
	}
	answers := map[string]string{}
	for _, f := range p.Ask.Inputs() {
		answers[f.Key] = f.Value // what the modal could not show keeps its prefill
	}
	errs := map[string]string{}
	for _, f := range viewInputs(p.Ask) {
		v := state[f.Key][f.Key].Value
		if f.Required && strings.TrimSpace(v) == "" {
			errs[f.Key] = "This is required."
		}
		answers[f.Key] = v
	}
	if len(errs) > 0 {
		return slackapi.NewErrorsViewSubmissionResponse(errs)
	}
	// One answer: of two submissions of the form, on any replicas, one
	// takes the question.
	if b, err := a.state.TakeTransient(a.ctx, keyAsk+ic.View.PrivateMetadata); err != nil || b == nil {
		return nil
	}
	name := ic.User.Name
	if name == "" {
		name = ic.User.Username
	}
	ev := bot.Event{Platform: Platform, Workspace: ic.Team.ID, Channel: p.Channel,
		Actor: bot.Actor{ID: Platform + ":" + ic.User.ID, Name: name}, Text: p.Ask.CompleteForm(answers)}
	a.dispatch(Platform+":view:"+ic.View.ID+":"+ic.View.Hash, "answer", ev, &responder{a: a, channel: p.Channel, user: ic.User.ID})
	return nil
}
