package bot

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/cippbot/cippbot/actions"
)

// Transient keeps what a chat adapter must find again when a click lands,
// possibly on another replica than the one that drew the button: a
// question waiting for its form, a button's command too long for its ID,
// a user's latest interaction token, a secret behind Reveal. Each value
// lives until its time to live runs out or it is taken. Keys are chosen
// by the adapters (platform first); values are opaque bytes. Both stores
// implement it; a value that must not be at rest in plaintext is sealed
// before it gets there (store.SealedTransient).
//
// Implementations are safe for concurrent use, from any number of
// processes sharing the store.
type Transient interface {
	// PutTransient stores value under key for ttl, replacing what was
	// there. ttl must be positive.
	PutTransient(ctx context.Context, key string, value []byte, ttl time.Duration) error
	// Transient returns the value under key, or nil if there is none or
	// it has expired.
	Transient(ctx context.Context, key string) ([]byte, error)
	// TakeTransient returns the value under key and removes it, in one
	// step: of concurrent takers, from any replica, one gets the value and
	// the others nil. An expired value is nil.
	TakeTransient(ctx context.Context, key string) ([]byte, error)
}

// ErrTransientKey is returned for an empty key or a ttl that is not
// positive.
var ErrTransientKey = errors.New("transient: empty key or non-positive ttl")

// MemTransient is a Transient in memory, for one process: adapters use it
// when they are given no store.
type MemTransient struct {
	now func() time.Time

	mu   sync.Mutex
	vals map[string]memTransient
}

type memTransient struct {
	value   []byte
	expires time.Time
}

// NewMemTransient returns an empty MemTransient reading the time from now
// (nil means time.Now).
func NewMemTransient(now func() time.Time) *MemTransient {
	if now == nil {
		now = time.Now
	}
	return &MemTransient{now: now, vals: map[string]memTransient{}}
}

var _ Transient = (*MemTransient)(nil)

// PutTransient implements Transient; it forgets expired values.
func (m *MemTransient) PutTransient(_ context.Context, key string, value []byte, ttl time.Duration) error {
	if key == "" || ttl <= 0 {
		return ErrTransientKey
	}
	now := m.now()
	m.mu.Lock()
	defer m.mu.Unlock()
	for k, v := range m.vals {
		if !now.Before(v.expires) {
			delete(m.vals, k)
		}
	}
	m.vals[key] = memTransient{value: bytes.Clone(value), expires: now.Add(ttl)}
	return nil
}

// Transient implements Transient.
func (m *MemTransient) Transient(_ context.Context, key string) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	v, ok := m.vals[key]
	if !ok || !m.now().Before(v.expires) {
		return nil, nil
	}
	return bytes.Clone(v.value), nil
}

// TakeTransient implements Transient.
func (m *MemTransient) TakeTransient(_ context.Context, key string) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	v, ok := m.vals[key]
	delete(m.vals, key)
	if !ok || !m.now().Before(v.expires) {
		return nil, nil
	}
	return v.value, nil
}

// heldMessage is a Message as HoldPrivate encodes it, secrets in the
// clear: for a sealed Transient only.
type heldMessage struct {
	Title   string         `json:"title,omitempty"`
	Lines   []string       `json:"lines,omitempty"`
	Buttons []Button       `json:"buttons,omitempty"`
	Tone    Tone           `json:"tone,omitempty"`
	Secrets []sealedSecret `json:"secrets,omitempty"`
	Ask     *Ask           `json:"ask,omitempty"`
}

type sealedSecret struct {
	Label string `json:"label"`
	Value string `json:"value"`
}

// HoldPrivate encodes a private message, its secrets' values included, so
// that an adapter can keep it for a Reveal click that may reach another
// replica. The bytes hold secrets in the clear: put them only in a
// Transient that seals (store.SealedTransient), never in a plain store or
// a log. OpenPrivate decodes them.
func HoldPrivate(m Message) ([]byte, error) {
	h := heldMessage{Title: m.Title, Lines: m.Lines, Buttons: m.Buttons, Tone: m.Tone, Ask: m.Ask}
	for _, s := range m.Secrets {
		h.Secrets = append(h.Secrets, sealedSecret{Label: s.Label(), Value: s.Reveal()})
	}
	return json.Marshal(h)
}

// OpenPrivate decodes what HoldPrivate encoded.
func OpenPrivate(b []byte) (Message, error) {
	var h heldMessage
	if err := json.Unmarshal(b, &h); err != nil {
		return Message{}, fmt.Errorf("held message: %w", err)
	}
	m := Message{Title: h.Title, Lines: h.Lines, Buttons: h.Buttons, Tone: h.Tone, Ask: h.Ask}
	for _, s := range h.Secrets {
		m.Secrets = append(m.Secrets, actions.NewSecret(s.Label, s.Value))
	}
	return m, nil
}
