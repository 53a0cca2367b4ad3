package discord

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/bwmarrin/discordgo"

	"github.com/cippbot/cippbot/bot"
)

// A question (bot.Ask) is shown as a button; the button opens a modal of
// the question's inputs; the modal's submission completes the command and
// comes back as a request.
const (
	askPrefix    = "ask:"    // button custom_id
	answerPrefix = "answer:" // modal custom_id; each text input's is its key
)

// Discord's limits on a modal.
const (
	maxModalInputs = 5
	maxModalTitle  = 45
	maxInputLabel  = 45
	maxInputValue  = 4000
	maxAnswer      = 500 // a one-question answer (a reason)
)

// pendingAsk is a question waiting for its one reader's answer, kept in
// the adapter's Transient.
type pendingAsk struct {
	Ask  bot.Ask `json:"ask"`
	User string  `json:"user"` // Discord user ID
}

// withAsk stores m's question for user and adds the button that opens its
// form.
func (a *Adapter) withAsk(ctx context.Context, m bot.Message, user string) (bot.Message, error) {
	m, err := a.shortButtons(ctx, m)
	if err != nil || m.Ask == nil {
		return m, err
	}
	var b [9]byte
	rand.Read(b[:])
	nonce := hex.EncodeToString(b[:])
	p, err := json.Marshal(pendingAsk{Ask: *m.Ask, User: user})
	if err == nil {
		err = a.state.PutTransient(ctx, keyAsk+nonce, p, tokenLife)
	}
	if err != nil {
		return m, fmt.Errorf("discord: keep the question: %w", err)
	}
	m.Buttons = append(append([]bot.Button(nil), m.Buttons...), bot.Button{Label: m.Ask.Button(), Value: askPrefix + nonce})
	m.Ask = nil
	return m, nil
}

func (a *Adapter) lookupAsk(nonce string) (pendingAsk, bool) {
	b, err := a.state.Transient(a.ctx, keyAsk+nonce)
	if err != nil {
		a.log.Warn("could not read a question", "err", err)
	}
	var p pendingAsk
	if b == nil || json.Unmarshal(b, &p) != nil {
		return pendingAsk{}, false
	}
	return p, true
}

// modalInput is a text input of a question's modal: its custom_id and
// the input it shows.
type modalInput struct {
	id    string
	field bot.AskField
}

// modalInputs returns what a question's modal shows: the first five of
// its inputs (Discord's limit; they come required first), each under its
// key as custom_id.
func modalInputs(ask bot.Ask) []modalInput {
	var out []modalInput
	seen := map[string]bool{}
	for _, f := range ask.Inputs() {
		if len(out) == maxModalInputs {
			break
		}
		if f.Key == "" || len(f.Key) > maxCustomID || seen[f.Key] {
			continue
		}
		seen[f.Key] = true
		out = append(out, modalInput{id: f.Key, field: f})
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

// openAsk answers the button with the question's modal, for its reader
// only: one text input per input, prefilled, several lines for long ones.
func (a *Adapter) openAsk(in *discordgo.Interaction, who bot.Actor, nonce string) {
	p, ok := a.lookupAsk(nonce)
	if !ok || Platform+":"+p.User != who.ID {
		content, _ := render(bot.Message{Title: "This question has expired or is someone else's.", Tone: bot.ToneError}, false)
		a.ack(in, &discordgo.InteractionResponse{Type: discordgo.InteractionResponseChannelMessageWithSource,
			Data: &discordgo.InteractionResponseData{Content: content, Flags: discordgo.MessageFlagsEphemeral}})
		return
	}
	title := p.Ask.Title
	if len([]rune(title)) > maxModalTitle && p.Ask.Label != "" {
		title = p.Ask.Label
	}
	if title = clip(strings.TrimSpace(title), maxModalTitle); title == "" {
		title = "cippbot"
	}
	limit := maxInputValue
	if len(p.Ask.Fields) == 0 {
		limit = maxAnswer
	}
	var rows []discordgo.MessageComponent
	for _, mi := range modalInputs(p.Ask) {
		label := strings.TrimSpace(mi.field.Label)
		if label == "" {
			label = mi.field.Key
		}
		value := mi.field.Value
		if r := []rune(value); len(r) > limit {
			value = string(r[:limit])
		}
		style := discordgo.TextInputShort
		if mi.field.Long {
			style = discordgo.TextInputParagraph
		}
		rows = append(rows, discordgo.ActionsRow{Components: []discordgo.MessageComponent{
			discordgo.TextInput{CustomID: mi.id, Label: clip(label, maxInputLabel), Style: style,
				Value: value, Required: mi.field.Required, MaxLength: limit},
		}})
	}
	if len(rows) == 0 {
		content, _ := render(bot.Message{Title: "This question has nothing to fill in; ask again.", Tone: bot.ToneError}, false)
		a.ack(in, &discordgo.InteractionResponse{Type: discordgo.InteractionResponseChannelMessageWithSource,
			Data: &discordgo.InteractionResponseData{Content: content, Flags: discordgo.MessageFlagsEphemeral}})
		return
	}
	a.ack(in, &discordgo.InteractionResponse{Type: discordgo.InteractionResponseModal, Data: &discordgo.InteractionResponseData{
		CustomID:   answerPrefix + nonce,
		Title:      title,
		Components: rows,
	}})
}

// answer turns a submitted modal into the completed command. An input the
// modal could not show (past the fifth) keeps its prefilled value.
func (a *Adapter) answer(in *discordgo.Interaction, who bot.Actor) {
	data := in.ModalSubmitData()
	nonce, ok := strings.CutPrefix(data.CustomID, answerPrefix)
	if !ok {
		return
	}
	refuse := func(text string) {
		content, _ := render(bot.Message{Title: text, Tone: bot.ToneError}, false)
		a.ack(in, &discordgo.InteractionResponse{Type: discordgo.InteractionResponseChannelMessageWithSource,
			Data: &discordgo.InteractionResponseData{Content: content, Flags: discordgo.MessageFlagsEphemeral}})
	}
	p, ok := a.lookupAsk(nonce)
	if !ok || Platform+":"+p.User != who.ID {
		refuse("This question has expired or is someone else's; ask again.")
		return
	}
	submitted := map[string]string{}
	for _, row := range data.Components {
		r, ok := row.(*discordgo.ActionsRow)
		if !ok || r == nil {
			continue
		}
		for _, c := range r.Components {
			if ti, ok := c.(*discordgo.TextInput); ok && ti != nil {
				submitted[ti.CustomID] = ti.Value
			}
		}
	}
	answers := map[string]string{}
	for _, f := range p.Ask.Inputs() {
		answers[f.Key] = f.Value
	}
	for _, mi := range modalInputs(p.Ask) {
		v := submitted[mi.id]
		if mi.field.Required && strings.TrimSpace(v) == "" {
			label := mi.field.Label
			if label == "" {
				label = mi.field.Key
			}
			refuse("An empty " + strings.ToLower(label) + " does not count; press the button again.")
			return
		}
		answers[mi.field.Key] = v
	}
	// One answer: a second submission of the same form finds nothing.
	if b, err := a.state.TakeTransient(a.ctx, keyAsk+nonce); err != nil || b == nil {
		refuse("This question has expired or was already answered; ask again.")
		return
	}
	if !a.ack(in, &discordgo.InteractionResponse{Type: discordgo.InteractionResponseDeferredChannelMessageWithSource,
		Data: &discordgo.InteractionResponseData{Flags: discordgo.MessageFlagsEphemeral}}) {
		return
	}
	a.remember(who, in)
	a.dispatch(in, who, p.Ask.CompleteForm(answers), true, nil)
}
