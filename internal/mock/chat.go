package mock

import (
	"context"
	"strconv"
	"sync"

	"github.com/cippbot/cippbot/bot"
)

// Sent is one message a Chat recorded. To is "" for a public message,
// otherwise the actor ID of its one reader. Ref is the card reference for
// public messages and updates.
type Sent struct {
	To      string
	Ref     string
	Update  bool
	Message bot.Message
}

// Chat records every message as bot.Chat and, through For, as the
// bot.Responder of an event. The zero value is ready to use.
type Chat struct {
	mu   sync.Mutex
	sent []Sent
	refs int
}

var _ bot.Chat = (*Chat)(nil)

// Sent returns every recorded message in order.
func (c *Chat) Sent() []Sent {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Sent(nil), c.sent...)
}

// Reset forgets the recorded messages.
func (c *Chat) Reset() {
	c.mu.Lock()
	c.sent = nil
	c.mu.Unlock()
}

func (c *Chat) add(s Sent) {
	c.mu.Lock()
	c.sent = append(c.sent, s)
	c.mu.Unlock()
}

// Update implements bot.Chat.
func (c *Chat) Update(_ context.Context, _, ref string, m bot.Message) error {
	c.add(Sent{Ref: ref, Update: true, Message: m})
	return nil
}

// Notify implements bot.Chat.
func (c *Chat) Notify(_ context.Context, _ string, user bot.Actor, m bot.Message) error {
	c.add(Sent{To: user.ID, Message: m})
	return nil
}

// For returns a Responder for an event by actor.
func (c *Chat) For(actor bot.Actor) bot.Responder { return responder{c, actor} }

type responder struct {
	c     *Chat
	actor bot.Actor
}

func (r responder) Private(_ context.Context, m bot.Message) error {
	r.c.add(Sent{To: r.actor.ID, Message: m})
	return nil
}

func (r responder) Public(_ context.Context, m bot.Message) (string, error) {
	r.c.mu.Lock()
	r.c.refs++
	ref := strconv.Itoa(r.c.refs)
	r.c.mu.Unlock()
	r.c.add(Sent{Ref: ref, Message: m})
	return ref, nil
}
