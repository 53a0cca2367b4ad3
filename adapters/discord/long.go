package discord

import (
	"crypto/rand"
	"encoding/hex"
	"time"

	"github.com/cippbot/cippbot/bot"
)

// A button's custom_id is its command text, unless that is longer than
// Discord's 100 characters: then the command waits in memory under a
// nonce, and the button carries longPrefix + nonce.
const (
	longPrefix = "cmd:"
	longLife   = 24 * time.Hour
)

// pendingCommand is a long button command, in memory.
type pendingCommand struct {
	text    string
	expires time.Time
}

// shortButtons gives every button of m a custom_id Discord accepts.
func (a *Adapter) shortButtons(m bot.Message) bot.Message {
	long := false
	for _, b := range m.Buttons {
		long = long || len(b.Value) > maxCustomID
	}
	if !long {
		return m
	}
	now := a.now()
	buttons := make([]bot.Button, len(m.Buttons))
	a.mu.Lock()
	defer a.mu.Unlock()
	for k, p := range a.long {
		if now.After(p.expires) {
			delete(a.long, k)
		}
	}
	for i, b := range m.Buttons {
		if len(b.Value) > maxCustomID {
			var n [9]byte
			rand.Read(n[:])
			nonce := hex.EncodeToString(n[:])
			a.long[nonce] = pendingCommand{text: b.Value, expires: now.Add(longLife)}
			b.Value = longPrefix + nonce
		}
		buttons[i] = b
	}
	m.Buttons = buttons
	return m
}

// longCommand returns the command a long button stands for.
func (a *Adapter) longCommand(nonce string) (string, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	p, ok := a.long[nonce]
	if !ok || a.now().After(p.expires) {
		return "", false
	}
	return p.text, true
}
