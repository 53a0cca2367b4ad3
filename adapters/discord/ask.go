package discord

import (
	"crypto/rand"
	"encoding/hex"
	"strings"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/cippbot/cippbot/bot"
)

// A question (bot.Ask) is shown as a button; the button opens a modal; the
// modal's submission completes the command and comes back as a request.
const (
	askPrefix    = "ask:"    // button custom_id
	answerPrefix = "answer:" // modal custom_id
	answerInput  = "answer"  // the text input's custom_id
)

// pendingAsk is a question waiting for its one reader's answer, in memory.
type pendingAsk struct {
	ask     bot.Ask
	user    string // Discord user ID
	expires time.Time
}

// withAsk stores m's question for user and adds the button that opens its
// form.
func (a *Adapter) withAsk(m bot.Message, user string) bot.Message {
	if m.Ask == nil {
		return m
	}
	var b [9]byte
	rand.Read(b[:])
	nonce := hex.EncodeToString(b[:])
	now := a.now()
	a.mu.Lock()
	for k, p := range a.asks {
		if now.After(p.expires) {
			delete(a.asks, k)
		}
	}
	a.asks[nonce] = pendingAsk{ask: *m.Ask, user: user, expires: now.Add(tokenLife)}
	a.mu.Unlock()
	m.Buttons = append(append([]bot.Button(nil), m.Buttons...), bot.Button{Label: "Give a " + strings.ToLower(m.Ask.Label), Value: askPrefix + nonce})
	m.Ask = nil
	return m
}

func (a *Adapter) lookupAsk(nonce string) (pendingAsk, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	p, ok := a.asks[nonce]
	if !ok || a.now().After(p.expires) {
		return pendingAsk{}, false
	}
	return p, true
}

// openAsk answers the button with the question's modal, for its reader
// only.
func (a *Adapter) openAsk(in *discordgo.Interaction, who bot.Actor, nonce string) {
	p, ok := a.lookupAsk(nonce)
	if !ok || Platform+":"+p.user != who.ID {
		content, _ := render(bot.Message{Title: "This question has expired or is someone else's.", Tone: bot.ToneError}, false)
		a.ack(in, &discordgo.InteractionResponse{Type: discordgo.InteractionResponseChannelMessageWithSource,
			Data: &discordgo.InteractionResponseData{Content: content, Flags: discordgo.MessageFlagsEphemeral}})
		return
	}
	title := p.ask.Title
	if len([]rune(title)) > 45 {
		title = p.ask.Label
	}
	a.ack(in, &discordgo.InteractionResponse{Type: discordgo.InteractionResponseModal, Data: &discordgo.InteractionResponseData{
		CustomID: answerPrefix + nonce,
		Title:    title,
		Components: []discordgo.MessageComponent{discordgo.ActionsRow{Components: []discordgo.MessageComponent{
			discordgo.TextInput{CustomID: answerInput, Label: p.ask.Label, Style: discordgo.TextInputParagraph,
				Required: true, MinLength: 1, MaxLength: 500},
		}}},
	}})
}

// answer turns a submitted modal into the completed command.
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
	if !ok || Platform+":"+p.user != who.ID {
		refuse("This question has expired or is someone else's; ask again.")
		return
	}
	var value string
	for _, row := range data.Components {
		r, ok := row.(*discordgo.ActionsRow)
		if !ok {
			continue
		}
		for _, c := range r.Components {
			if ti, ok := c.(*discordgo.TextInput); ok && ti.CustomID == answerInput {
				value = ti.Value
			}
		}
	}
	if strings.TrimSpace(value) == "" {
		refuse("An empty " + strings.ToLower(p.ask.Label) + " does not count; press the button again.")
		return
	}
	a.mu.Lock()
	delete(a.asks, nonce)
	a.mu.Unlock()
	if !a.ack(in, &discordgo.InteractionResponse{Type: discordgo.InteractionResponseDeferredChannelMessageWithSource,
		Data: &discordgo.InteractionResponseData{Flags: discordgo.MessageFlagsEphemeral}}) {
		return
	}
	a.remember(who, in)
	a.dispatch(in, who, p.ask.Complete(value), true, nil)
}
