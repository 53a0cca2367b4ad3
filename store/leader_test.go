package store_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cippbot/cippbot/store"
)

// failingLeases is a lease store that can be made to fail, as a replica
// cut off from the database does.
type failingLeases struct {
	store.LeaseStore
	down atomic.Bool
}

func (f *failingLeases) AcquireLease(ctx context.Context, name, holder string, ttl time.Duration) (bool, error) {
	if f.down.Load() {
		return false, errors.New("database unreachable")
	}
	return f.LeaseStore.AcquireLease(ctx, name, holder, ttl)
}

// leading records which replicas are running the duty.
type leading struct {
	mu      sync.Mutex
	now     map[string]bool
	overlap bool
}

func (l *leading) duty(me string) func(context.Context) {
	return func(ctx context.Context) {
		l.mu.Lock()
		for other, on := range l.now {
			if on && other != me {
				l.overlap = true
			}
		}
		l.now[me] = true
		l.mu.Unlock()
		<-ctx.Done()
		l.mu.Lock()
		l.now[me] = false
		l.mu.Unlock()
	}
}

func (l *leading) leader() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	for who, on := range l.now {
		if on {
			return who
		}
	}
	return ""
}

func waitFor(t *testing.T, within time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for time.Since(start) < within {
		if cond() {
			return time.Since(start)
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("%s: not within %v", what, within)
	return 0
}

func TestLead(t *testing.T) {
	t.Parallel()
	db := MustOpenDB(t)
	const ttl, renew = 600 * time.Millisecond, 150 * time.Millisecond
	l := &leading{now: map[string]bool{}}
	a := &failingLeases{LeaseStore: db}
	actx, acancel := context.WithCancel(context.Background())
	bctx, bcancel := context.WithCancel(context.Background())
	cctx, ccancel := context.WithCancel(context.Background())
	defer acancel()
	defer bcancel()
	defer ccancel()
	var wg sync.WaitGroup
	run := func(ctx context.Context, s store.LeaseStore, me string) {
		wg.Add(1)
		go func() { defer wg.Done(); store.Lead(ctx, s, "leader", me, ttl, renew, l.duty(me)) }()
	}
	run(actx, a, "a")
	waitFor(t, 2*time.Second, "a leads", func() bool { return l.leader() == "a" })
	run(bctx, db, "b")
	time.Sleep(3 * renew)
	if got := l.leader(); got != "a" {
		t.Fatalf("leader = %q after b started, want a still", got)
	}

	// a is cut off from the database: it stops leading before its lease
	// lapses, and b takes over within ttl + renew.
	a.down.Store(true)
	took := waitFor(t, ttl+3*renew, "b takes over from a", func() bool { return l.leader() == "b" })
	t.Logf("b took over %v after a was cut off", took)

	// b stops (SIGTERM): it releases the lease, and a, back, takes over
	// within a renewal.
	a.down.Store(false)
	run(cctx, db, "c")
	bcancel()
	waitFor(t, ttl+3*renew, "another takes over from b", func() bool { who := l.leader(); return who == "a" || who == "c" })
	acancel()
	ccancel()
	wg.Wait()
	if l.overlap {
		t.Error("two replicas ran the duty at once")
	}
	if who := l.leader(); who != "" {
		t.Errorf("%s still leads after every replica stopped", who)
	}
}
