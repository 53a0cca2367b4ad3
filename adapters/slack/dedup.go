package slack

import (
	"context"
	"sync"
	"time"
)

// memDedup is the bot.Deduper of an adapter configured without one: it
// remembers delivery keys in memory, so a restart forgets them.
type memDedup struct {
	now func() time.Time

	mu   sync.Mutex
	seen map[string]time.Time // key → when it was first seen
}

func newMemDedup(now func() time.Time) *memDedup {
	return &memDedup{now: now, seen: map[string]time.Time{}}
}

// FirstDelivery implements bot.Deduper: key is new unless it was seen
// less than ttl ago. Recording a new key forgets those seen ttl ago or
// earlier.
func (m *memDedup) FirstDelivery(_ context.Context, key string, ttl time.Duration) (bool, error) {
	now := m.now()
	m.mu.Lock()
	defer m.mu.Unlock()
	if t, ok := m.seen[key]; ok && now.Sub(t) < ttl {
		return false, nil
	}
	for k, t := range m.seen {
		if now.Sub(t) >= ttl {
			delete(m.seen, k)
		}
	}
	m.seen[key] = now
	return true, nil
}
