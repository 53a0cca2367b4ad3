package storetest

import (
	"fmt"
	"testing"
	"time"
)

func testLeases(t *testing.T, h Harness) {
	t.Run("HoldRenewLapse", func(t *testing.T) {
		d := fresh(t, h)
		a := d.handle(nil)
		b := d.second(a, nil)
		const ttl = time.Second
		acquire := func(s Store, holder string, want bool) {
			t.Helper()
			got, err := s.AcquireLease(ctx(), "leader", holder, ttl)
			if err != nil || got != want {
				t.Fatalf("AcquireLease(leader, %s) = %v, %v; want %v", holder, got, err, want)
			}
		}
		holder := func(s Store, want string) {
			t.Helper()
			got, err := s.LeaseHolder(ctx(), "leader")
			if err != nil || got != want {
				t.Fatalf("LeaseHolder(leader) = %q, %v; want %q", got, err, want)
			}
		}
		holder(b, "")
		acquire(a, "replica-a", true)
		acquire(b, "replica-b", false)
		holder(b, "replica-a")
		// Renewing keeps it past the first ttl.
		for range 6 {
			time.Sleep(ttl / 4)
			acquire(a, "replica-a", true)
			acquire(b, "replica-b", false)
		}
		// Another lease is another matter.
		if got, err := b.AcquireLease(ctx(), "other", "replica-b", ttl); !got || err != nil {
			t.Fatalf("AcquireLease(other, replica-b) = %v, %v; want true", got, err)
		}
		// a dies: once its lease lapses b takes over, and a has lost it.
		time.Sleep(ttl + 100*time.Millisecond)
		holder(b, "")
		acquire(b, "replica-b", true)
		acquire(a, "replica-a", false)
		holder(a, "replica-b")
		// Releasing: only the holder can, and then it is free at once.
		if err := a.ReleaseLease(ctx(), "leader", "replica-a"); err != nil {
			t.Fatal(err)
		}
		holder(a, "replica-b")
		if err := b.ReleaseLease(ctx(), "leader", "replica-b"); err != nil {
			t.Fatal(err)
		}
		holder(a, "")
		acquire(a, "replica-a", true)
		for _, bad := range [][2]string{{"", "x"}, {"x", ""}} {
			if _, err := a.AcquireLease(ctx(), bad[0], bad[1], ttl); err == nil {
				t.Errorf("AcquireLease(%q, %q) succeeded", bad[0], bad[1])
			}
		}
		if _, err := a.AcquireLease(ctx(), "x", "y", 0); err == nil {
			t.Error("AcquireLease with ttl 0 succeeded")
		}
	})
	t.Run("OneWinner", func(t *testing.T) {
		d := fresh(t, h)
		a := d.handle(nil)
		b := d.second(a, nil)
		const n = 20
		winners := race(n, a, b, func(s Store, i int) string {
			me := fmt.Sprintf("replica-%d", i)
			ok, err := s.AcquireLease(ctx(), "leader", me, time.Minute)
			if err != nil {
				t.Errorf("AcquireLease: %v", err)
			}
			if !ok {
				return ""
			}
			return me
		})
		if len(winners) != 1 {
			t.Fatalf("%d of %d replicas got the lease (%v), want 1", len(winners), n, winners)
		}
		if got, _ := b.LeaseHolder(ctx(), "leader"); got != winners[0] {
			t.Errorf("LeaseHolder = %q, want the winner %q", got, winners[0])
		}
	})
}

func testReplicas(t *testing.T, h Harness) {
	d := fresh(t, h)
	a := d.handle(nil)
	b := d.second(a, nil)
	live := func(s Store, within time.Duration, want ...string) {
		t.Helper()
		got, err := s.LiveReplicas(ctx(), within)
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("LiveReplicas(%v) = %v, want %v", within, got, want)
		}
	}
	live(a, time.Minute)
	for _, id := range []string{"replica-b", "replica-a"} {
		if err := a.Heartbeat(ctx(), id); err != nil {
			t.Fatal(err)
		}
	}
	live(b, time.Minute, "replica-a", "replica-b")
	time.Sleep(700 * time.Millisecond)
	if err := b.Heartbeat(ctx(), "replica-a"); err != nil {
		t.Fatal(err)
	}
	live(a, 500*time.Millisecond, "replica-a")
	live(a, time.Minute, "replica-a", "replica-b")
	if err := a.Heartbeat(ctx(), ""); err == nil {
		t.Error("Heartbeat with an empty ID succeeded")
	}
}
