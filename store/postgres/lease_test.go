package postgres_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cippbot/cippbot/store"
)

// TestLeadTakeover: two replicas on one database; the leader's connections
// die without releasing its lease (SIGKILL), and the other takes over once
// the lease lapses, by the database's clock.
func TestLeadTakeover(t *testing.T) {
	t.Parallel()
	cfg := freshSchema(t)
	a := open(t, cfg, nil)
	b := open(t, cfg, nil)
	const ttl, renew = time.Second, 200 * time.Millisecond
	var leader atomic.Value
	leader.Store("")
	duty := func(me string) func(context.Context) {
		return func(ctx context.Context) {
			leader.Store(me)
			<-ctx.Done()
			leader.CompareAndSwap(me, "")
		}
	}
	actx, acancel := context.WithCancel(context.Background())
	defer acancel()
	bctx, bcancel := context.WithCancel(context.Background())
	defer bcancel()
	adone := make(chan struct{})
	go func() { defer close(adone); store.Lead(actx, a, "leader", "a", ttl, renew, duty("a")) }()
	deadline := time.Now().Add(3 * time.Second)
	for leader.Load() != "a" {
		if time.Now().After(deadline) {
			t.Fatal("a did not lead")
		}
		time.Sleep(10 * time.Millisecond)
	}
	go store.Lead(bctx, b, "leader", "b", ttl, renew, duty("b"))
	time.Sleep(3 * renew)
	if got := leader.Load(); got != "a" {
		t.Fatalf("leader = %v once b runs, want a", got)
	}
	// a dies: its pool closes under it, so it can neither renew nor
	// release.
	killed := time.Now()
	a.Close()
	deadline = killed.Add(ttl + 3*renew)
	for leader.Load() != "b" {
		if time.Now().After(deadline) {
			t.Fatalf("b did not take over within %v of a's death", ttl+3*renew)
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Logf("b took over %v after a died", time.Since(killed).Round(time.Millisecond))
	if h, err := b.LeaseHolder(context.Background(), "leader"); err != nil || h != "b" {
		t.Errorf("LeaseHolder = %q, %v; want b", h, err)
	}
	acancel()
	<-adone
}
