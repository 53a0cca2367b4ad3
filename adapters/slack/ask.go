package slack

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"strings"
	"time"

	slackapi "github.com/slack-go/slack"

	"github.com/cippbot/cippbot/bot"
)

// A question (bot.Ask) is shown as a button; the button opens a modal; the
// modal's submission completes the command and comes back as a request.
const (
	askVerb        = "ask"         // button value "ask <nonce>", action ID cipp_ask
	reasonCallback = "cipp_answer" // the modal's callback ID
	answerBlock    = "answer"      // the input's block and action ID
	askLife        = 15 * time.Minute
)

// pendingAsk is a question waiting for its one reader's answer, in memory.
type pendingAsk struct {
	ask     bot.Ask
	user    string // Slack user ID
	channel string
	expires time.Time
}

// withAsk stores m's question for user and adds the button that opens
// its form.
func (a *Adapter) withAsk(m bot.Message, user, channel string) bot.Message {
	if m.Ask == nil {
		return m
	}
	var b [9]byte
	rand.Read(b[:])
	nonce := hex.EncodeToString(b[:])
	now := time.Now()
	a.askMu.Lock()
	for k, p := range a.asks {
		if now.After(p.expires) {
			delete(a.asks, k)
		}
	}
	a.asks[nonce] = pendingAsk{ask: *m.Ask, user: user, channel: channel, expires: now.Add(askLife)}
	a.askMu.Unlock()
	m.Buttons = append(append([]bot.Button(nil), m.Buttons...), bot.Button{Label: "Give a " + strings.ToLower(m.Ask.Label), Value: askVerb + " " + nonce})
	return m
}

func (a *Adapter) lookupAsk(nonce string) (pendingAsk, bool) {
	a.askMu.Lock()
	defer a.askMu.Unlock()
	p, ok := a.asks[nonce]
	if !ok || time.Now().After(p.expires) {
		return pendingAsk{}, false
	}
	return p, true
}

// openAsk opens the modal for a question, on the click's trigger ID
// (valid for 3 seconds, which is why it runs right after the ack).
func (a *Adapter) openAsk(ctx context.Context, ic slackapi.InteractionCallback, nonce string) {
	p, ok := a.lookupAsk(nonce)
	if !ok || p.user != ic.User.ID {
		return
	}
	input := slackapi.NewPlainTextInputBlockElement(nil, answerBlock)
	input.Multiline = true
	input.MaxLength = 500
	view := slackapi.ModalViewRequest{
		Type:            slackapi.VTModal,
		Title:           slackapi.NewTextBlockObject(slackapi.PlainTextType, p.ask.Label, false, false),
		Submit:          slackapi.NewTextBlockObject(slackapi.PlainTextType, "Send", false, false),
		Close:           slackapi.NewTextBlockObject(slackapi.PlainTextType, "Cancel", false, false),
		CallbackID:      reasonCallback,
		PrivateMetadata: nonce,
		Blocks: slackapi.Blocks{BlockSet: []slackapi.Block{
			slackapi.NewInputBlock(answerBlock, slackapi.NewTextBlockObject(slackapi.PlainTextType, p.ask.Title, false, false), nil, input),
		}},
	}
	if _, err := a.api.OpenViewContext(ctx, ic.TriggerID, view); err != nil {
		a.log.Warn("could not open the question's form", "err", err)
	}
}

// answer turns a submitted question form into the completed command.
func (a *Adapter) answer(ic slackapi.InteractionCallback) {
	if ic.View.CallbackID != reasonCallback {
		return
	}
	p, ok := a.lookupAsk(ic.View.PrivateMetadata)
	if !ok || p.user != ic.User.ID {
		return
	}
	a.askMu.Lock()
	delete(a.asks, ic.View.PrivateMetadata)
	a.askMu.Unlock()
	value := strings.TrimSpace(ic.View.State.Values[answerBlock][answerBlock].Value)
	if value == "" {
		return
	}
	name := ic.User.Name
	if name == "" {
		name = ic.User.Username
	}
	ev := bot.Event{Platform: Platform, Workspace: ic.Team.ID, Channel: p.channel,
		Actor: bot.Actor{ID: Platform + ":" + ic.User.ID, Name: name}, Text: p.ask.Complete(value)}
	a.dispatch(Platform+":view:"+ic.View.ID+":"+ic.View.Hash, "answer", ev, &responder{a: a, channel: p.channel, user: ic.User.ID})
}
