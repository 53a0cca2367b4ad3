package teams

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/cippbot/cippbot/bot"
)

// askCard is m's question as a form: an Input.Text per field and an
// Action.Execute submit, whose click brings the inputs back in the
// action's data (msteams-docs Universal-actions…/Work-with-universal-actions-for-adaptive-cards.md).
func (a *Adapter) askCard(ctx context.Context, aad, origin string, m bot.Message) (card, error) {
	nonce := newNonce()
	a.mu.Lock()
	personal := false
	if u := a.users[aad]; u != nil && u.personal == origin {
		personal = true
	}
	a.mu.Unlock()
	service := a.serviceFor(ctx, origin)
	kind := "channel"
	if personal {
		kind = "personal"
	}
	p, err := json.Marshal(pendingAsk{AAD: aad, Ask: *m.Ask, Expires: a.now().Add(a.revealTTL()),
		Origin: conversation{ID: origin, ConversationType: kind}, Service: service})
	if err == nil {
		err = a.state.PutTransient(ctx, keyAsk+nonce, p, a.revealTTL())
	}
	if err != nil {
		return card{}, fmt.Errorf("teams: keep the question: %w", err)
	}
	m.Buttons = nil
	c := render(m, false)
	if m.Ask.Title != "" {
		c.Body = append(c.Body, element{Type: "TextBlock", Text: m.Ask.Title, Wrap: true, Weight: "Bolder"})
	}
	for i, f := range m.Ask.Inputs() {
		c.Body = append(c.Body, element{Type: "Input.Text", ID: fmt.Sprintf("f%d", i), Label: f.Label, Value: f.Value,
			IsRequired: f.Required, IsMultiline: f.Long})
	}
	c.Actions = []action{{Type: "Action.Execute", Title: "Send", Verb: verbAsk, Data: map[string]any{"ask": nonce}}}
	return c, nil
}

// answerAsk turns a submitted form into its command and the conversation
// it was asked from, on whichever replica the form was drawn; only the
// person asked may answer, once.
func (a *Adapter) answerAsk(aad, nonce string, data map[string]any) (string, conversation, string, bool) {
	if nonce == "" {
		return "", conversation{}, "", false
	}
	ctx, cancel := context.WithTimeout(a.ctx, 10*time.Second)
	defer cancel()
	var p pendingAsk
	b, err := a.state.Transient(ctx, keyAsk+nonce)
	if err != nil {
		a.log.Warn("could not read a question", "err", err)
	}
	if b == nil || json.Unmarshal(b, &p) != nil || p.AAD != aad || !a.now().Before(p.Expires) || p.Service == "" {
		return "", conversation{}, "", false
	}
	// One answer: of submissions racing on any replicas, one takes it.
	if b, err = a.state.TakeTransient(ctx, keyAsk+nonce); err != nil || b == nil {
		return "", conversation{}, "", false
	}
	answers := map[string]string{}
	for i, f := range p.Ask.Inputs() {
		v, _ := data[fmt.Sprintf("f%d", i)].(string)
		answers[f.Key] = strings.TrimSpace(v)
	}
	return p.Ask.CompleteForm(answers), p.Origin, p.Service, true
}
