package teams

import (
	"fmt"
	"strings"

	"github.com/cippbot/cippbot/bot"
)

// askCard is m's question as a form: an Input.Text per field and an
// Action.Execute submit, whose click brings the inputs back in the
// action's data (msteams-docs Universal-actions…/Work-with-universal-actions-for-adaptive-cards.md).
func (a *Adapter) askCard(aad, origin string, m bot.Message) card {
	nonce := newNonce()
	a.mu.Lock()
	personal := false
	if u := a.users[aad]; u != nil && u.personal == origin {
		personal = true
	}
	kind := "channel"
	if personal {
		kind = "personal"
	}
	now := a.now()
	for k, p := range a.asks {
		if now.After(p.expires) {
			delete(a.asks, k)
		}
	}
	a.asks[nonce] = pendingAsk{aad: aad, ask: *m.Ask, expires: now.Add(a.revealTTL()),
		origin: conversation{ID: origin, ConversationType: kind}, service: a.convs[baseConv(origin)]}
	a.mu.Unlock()
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
	return c
}

// answerAsk turns a submitted form into its command and the conversation
// it was asked from; only the person asked may answer, once.
func (a *Adapter) answerAsk(aad, nonce string, data map[string]any) (string, conversation, string, bool) {
	a.mu.Lock()
	p, ok := a.asks[nonce]
	if ok && p.aad == aad && a.now().Before(p.expires) {
		delete(a.asks, nonce)
	} else {
		ok = false
	}
	a.mu.Unlock()
	if !ok || p.service == "" {
		return "", conversation{}, "", false
	}
	answers := map[string]string{}
	for i, f := range p.ask.Inputs() {
		v, _ := data[fmt.Sprintf("f%d", i)].(string)
		answers[f.Key] = strings.TrimSpace(v)
	}
	return p.ask.CompleteForm(answers), p.origin, p.service, true
}
