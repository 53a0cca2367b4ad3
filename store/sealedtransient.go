package store

import (
	"context"
	"crypto/cipher"
	"fmt"
	"time"

	"github.com/cippbot/cippbot/bot"
)

// SealedTransient is a bot.Transient that seals every value (AES-256-GCM,
// its key bound as additional data) before it reaches the Transient it
// wraps, and opens it on the way back: what chat adapters hold for a
// click that may land on another replica (interaction tokens, the secret
// behind a Reveal button) is in the database only as ciphertext, and
// opens only on a replica that holds the store key. It is safe for
// concurrent use.
type SealedTransient struct {
	inner bot.Transient
	aead  cipher.AEAD
}

var _ bot.Transient = (*SealedTransient)(nil)

// NewSealedTransient returns inner sealed under key (the store key, at
// least MinSealKey bytes). Its AES key is derived for this use alone, so
// a value sealed here never opens as a sealed blob, nor the reverse.
func NewSealedTransient(inner bot.Transient, key []byte) (*SealedTransient, error) {
	aead, err := newAEAD(key, "cippbot transient v1")
	if err != nil {
		return nil, err
	}
	return &SealedTransient{inner: inner, aead: aead}, nil
}

// PutTransient implements bot.Transient.
func (s *SealedTransient) PutTransient(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	if key == "" || ttl <= 0 {
		return bot.ErrTransientKey
	}
	out, err := seal(s.aead, value, []byte(key))
	if err != nil {
		return fmt.Errorf("store: seal %s: %w", key, err)
	}
	return s.inner.PutTransient(ctx, key, out, ttl)
}

// Transient implements bot.Transient; a value that does not open
// (ErrWrongKey) is an error.
func (s *SealedTransient) Transient(ctx context.Context, key string) ([]byte, error) {
	v, err := s.inner.Transient(ctx, key)
	return s.open(key, v, err)
}

// TakeTransient implements bot.Transient.
func (s *SealedTransient) TakeTransient(ctx context.Context, key string) ([]byte, error) {
	v, err := s.inner.TakeTransient(ctx, key)
	return s.open(key, v, err)
}

func (s *SealedTransient) open(key string, v []byte, err error) ([]byte, error) {
	if err != nil || v == nil {
		return nil, err
	}
	plain, err := unseal(s.aead, v, []byte(key))
	if err != nil {
		return nil, fmt.Errorf("store: transient %s: %w", key, err)
	}
	if plain == nil {
		plain = []byte{}
	}
	return plain, nil
}
