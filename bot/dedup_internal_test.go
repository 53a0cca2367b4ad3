package bot

import (
	"context"
	"testing"
	"time"
)

func TestMemDeduper(t *testing.T) {
	t.Parallel()
	const ttl = 30 * time.Minute
	now := time.Date(2025, 3, 14, 9, 26, 53, 0, time.UTC)
	m := NewMemDeduper(func() time.Time { return now })
	first := func(key string) bool {
		t.Helper()
		ok, err := m.FirstDelivery(context.Background(), key, ttl)
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	if !first("slack:cmd:1") || first("slack:cmd:1") {
		t.Fatal("want new, then a repeat")
	}
	now = now.Add(ttl - time.Nanosecond)
	if first("slack:cmd:1") {
		t.Error("repeat just inside the ttl reported as new")
	}
	if !first("slack:cmd:2") {
		t.Error("another key reported as a repeat")
	}
	now = now.Add(time.Nanosecond)
	if !first("slack:cmd:1") {
		t.Error("a delivery a ttl after the first reported as a repeat")
	}
	// Recording slack:cmd:1 again forgot nothing live; slack:cmd:2 is kept.
	if len(m.seen) != 2 {
		t.Errorf("%d keys remembered, want 2", len(m.seen))
	}
	now = now.Add(ttl)
	first("slack:cmd:3")
	if len(m.seen) != 1 {
		t.Errorf("%d keys remembered after they expired, want 1", len(m.seen))
	}
}
