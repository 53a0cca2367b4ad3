package discord

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/cippbot/cippbot/bot"
)

// A button's custom_id is its command text, unless that is longer than
// Discord's 100 characters: then the command waits in the adapter's
// Transient (the store, with more than one replica) under a nonce, and the
// button carries longPrefix + nonce.
const (
	longPrefix = "cmd:"
	longLife   = 24 * time.Hour
)

// shortButtons gives every button of m a custom_id Discord accepts.
func (a *Adapter) shortButtons(ctx context.Context, m bot.Message) (bot.Message, error) {
	long := false
	for _, b := range m.Buttons {
		long = long || len(b.Value) > maxCustomID
	}
	if !long {
		return m, nil
	}
	buttons := make([]bot.Button, len(m.Buttons))
	for i, b := range m.Buttons {
		if len(b.Value) > maxCustomID {
			var n [9]byte
			rand.Read(n[:])
			nonce := hex.EncodeToString(n[:])
			if err := a.state.PutTransient(ctx, keyLong+nonce, []byte(b.Value), longLife); err != nil {
				return m, fmt.Errorf("discord: keep a long button's command: %w", err)
			}
			b.Value = longPrefix + nonce
		}
		buttons[i] = b
	}
	m.Buttons = buttons
	return m, nil
}

// longCommand returns the command a long button stands for.
func (a *Adapter) longCommand(ctx context.Context, nonce string) (string, bool) {
	b, err := a.state.Transient(ctx, keyLong+nonce)
	if err != nil {
		a.log.Warn("could not read a long button's command", "err", err)
	}
	if b == nil {
		return "", false
	}
	return string(b), true
}
