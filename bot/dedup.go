package bot

import (
	"context"
	"sync"
	"time"
)

// MemDeduper is a Deduper that remembers delivery keys in memory, so a
// restart forgets them; adapters use it when they are given no store.
type MemDeduper struct {
	now func() time.Time

	mu   sync.Mutex
	seen map[string]time.Time // key → when it was first seen
}

// NewMemDeduper returns an empty MemDeduper reading the time from now.
func NewMemDeduper(now func() time.Time) *MemDeduper {
	return &MemDeduper{now: now, seen: map[string]time.Time{}}
}

var _ Deduper = (*MemDeduper)(nil)

// FirstDelivery implements Deduper: key is new unless it was seen
// less than ttl ago. Recording a new key forgets those seen ttl ago or
// earlier.
func (m *MemDeduper) FirstDelivery(_ context.Context, key string, ttl time.Duration) (bool, error) {
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
