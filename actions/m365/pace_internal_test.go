package m365

import (
	"context"
	"sync"
	"testing"
	"time"
)

// stepClock is a clock that moves only when slept on.
type stepClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *stepClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }

func (c *stepClock) Sleep(_ context.Context, d time.Duration) error {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
	return nil
}

// TestWriteBucket: the bucket lets the documented 3,000 writes through at
// once, then one per 50 ms (3,000 per 150 s); a write quota 429 empties
// it; a negative limit turns pacing off.
func TestWriteBucket(t *testing.T) {
	t.Parallel()
	clock := &stepClock{now: time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)}
	b := newWriteBucket(RetryPolicy{Clock: clock})
	start := clock.Now()
	for range 150 {
		if waited, _ := b.take(context.Background(), 20); waited {
			t.Fatalf("waited within the first 3,000 writes, at %v", clock.Now().Sub(start))
		}
	}
	for range 100 {
		b.take(context.Background(), 20)
	}
	if got := clock.Now().Sub(start); got < 100*time.Second || got > 101*time.Second {
		t.Errorf("5,000 writes took %v of the clock, want 100 s", got)
	}
	clock.Sleep(context.Background(), time.Hour) // full again
	b.throttled()
	if waited, _ := b.take(context.Background(), 1); !waited {
		t.Error("no wait after the service said the write quota was hit")
	}
	if newWriteBucket(RetryPolicy{WriteLimit: -1}) != nil {
		t.Error("a negative limit still paces")
	}
	if !writeQuotaHit(map[string]string{"x-ms-throttle-scope": "Tenant_Application/Write/a/b"}) ||
		!writeQuotaHit(map[string]string{"X-Ms-Throttle-Information": "WriteLimitExceeded"}) ||
		writeQuotaHit(map[string]string{"Retry-After": "1"}) {
		t.Error("writeQuotaHit misjudges the headers")
	}
}
