package store_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/cippbot/cippbot/store"
	"go.etcd.io/bbolt"
)

// fakeClock is a settable clock for DB.Now.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

func (c *fakeClock) Set(t time.Time) { c.mu.Lock(); c.t = t; c.mu.Unlock() }

// mustFirst calls FirstDelivery and fails the test on an error.
func mustFirst(tb testing.TB, db *store.DB, key string, ttl time.Duration) bool {
	tb.Helper()
	first, err := db.FirstDelivery(context.Background(), key, ttl)
	if err != nil {
		tb.Fatal(err)
	}
	return first
}

// deliveryCounts closes db, counts the entries of the deliveries bucket
// and of its time index with bbolt itself, and opens db again.
func deliveryCounts(tb testing.TB, db *store.DB) (keys, index int) {
	tb.Helper()
	if err := db.Close(); err != nil {
		tb.Fatal(err)
	}
	b, err := bbolt.Open(db.Path, 0o600, &bbolt.Options{Timeout: time.Second, ReadOnly: true})
	if err != nil {
		tb.Fatal(err)
	}
	err = b.View(func(tx *bbolt.Tx) error {
		for name, n := range map[string]*int{"deliveries": &keys, "deliveries_by_time": &index} {
			bk := tx.Bucket([]byte(name))
			if bk == nil {
				return fmt.Errorf("bucket %s missing", name)
			}
			*n = bk.Stats().KeyN
		}
		return nil
	})
	if cerr := b.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		tb.Fatal(err)
	}
	if err := db.Open(); err != nil {
		tb.Fatal(err)
	}
	return keys, index
}

func TestFirstDelivery(t *testing.T) {
	t.Parallel()
	const ttl = 30 * time.Minute

	t.Run("OnceWithinTTL", func(t *testing.T) {
		db := MustOpenDB(t)
		if !mustFirst(t, db, "slack:cmd:1.2.3", ttl) {
			t.Error("first delivery reported as a repeat")
		}
		for range 3 {
			if mustFirst(t, db, "slack:cmd:1.2.3", ttl) {
				t.Error("repeated delivery reported as new")
			}
		}
		if !mustFirst(t, db, "slack:cmd:1.2.4", ttl) {
			t.Error("another key reported as a repeat")
		}
	})

	t.Run("NewAgainAfterTTL", func(t *testing.T) {
		db := MustOpenDB(t)
		c := &fakeClock{t: t0}
		db.Now = c.Now
		if !mustFirst(t, db, "k", ttl) {
			t.Fatal("first delivery reported as a repeat")
		}
		c.Set(t0.Add(ttl - time.Nanosecond))
		if mustFirst(t, db, "k", ttl) {
			t.Fatal("repeat just inside the ttl reported as new")
		}
		// The repeat did not renew the key: it expires ttl after the
		// first delivery.
		c.Set(t0.Add(ttl))
		if !mustFirst(t, db, "k", ttl) {
			t.Fatal("delivery a ttl after the first reported as a repeat")
		}
		// That delivery recorded the key again, as of now.
		c.Set(t0.Add(ttl + time.Minute))
		if mustFirst(t, db, "k", ttl) {
			t.Error("repeat of the renewed key reported as new")
		}
		if keys, index := deliveryCounts(t, db); keys != 1 || index != 1 {
			t.Errorf("%d keys and %d index entries, want 1 and 1", keys, index)
		}
	})

	t.Run("SurvivesReopen", func(t *testing.T) {
		db := MustOpenDB(t)
		if !mustFirst(t, db, "discord:1234", 15*time.Minute) {
			t.Fatal("first delivery reported as a repeat")
		}
		MustReopen(t, db)
		if mustFirst(t, db, "discord:1234", 15*time.Minute) {
			t.Error("repeat after a reopen reported as new")
		}
		other := store.NewDB(db.Path)
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
		if err := other.Open(); err != nil {
			t.Fatal(err)
		}
		defer other.Close()
		if mustFirst(t, other, "discord:1234", 15*time.Minute) {
			t.Error("repeat in a new DB on the same file reported as new")
		}
	})

	t.Run("Concurrent", func(t *testing.T) {
		db := MustOpenDB(t)
		const n = 50
		var (
			wg    sync.WaitGroup
			start = make(chan struct{})
			first = make([]bool, n)
			errs  = make([]error, n)
		)
		for i := range n {
			wg.Go(func() {
				<-start
				first[i], errs[i] = db.FirstDelivery(context.Background(), "slack:act:9.8.7:1700000000.000100", ttl)
			})
		}
		close(start)
		wg.Wait()
		won := 0
		for i := range n {
			if errs[i] != nil {
				t.Fatal(errs[i])
			}
			if first[i] {
				won++
			}
		}
		if won != 1 {
			t.Errorf("%d of %d concurrent deliveries reported as new, want exactly 1", won, n)
		}
	})

	t.Run("PrunesOldestHundred", func(t *testing.T) {
		db := MustOpenDB(t)
		c := &fakeClock{}
		db.Now = c.Now
		// 1000 keys, a millisecond apart, all older than the ttl by the
		// time of the last call. Each call prunes only keys that have
		// expired by then, and none have yet.
		for i := range 1000 {
			c.Set(t0.Add(time.Duration(i) * time.Millisecond))
			if !mustFirst(t, db, fmt.Sprintf("old-%04d", i), ttl) {
				t.Fatalf("old-%04d reported as a repeat", i)
			}
		}
		if keys, index := deliveryCounts(t, db); keys != 1000 || index != 1000 {
			t.Fatalf("%d keys and %d index entries, want 1000 and 1000", keys, index)
		}
		c.Set(t0.Add(time.Hour))
		if !mustFirst(t, db, "new", ttl) {
			t.Fatal("new key reported as a repeat")
		}
		keys, index := deliveryCounts(t, db)
		if want := 1000 - 100 + 1; keys != want || index != want {
			t.Fatalf("after one call: %d keys and %d index entries, want %d and %d", keys, index, want, want)
		}
		// The oldest went first: old-0099 is forgotten, old-0100 is not.
		if !mustFirst(t, db, "old-0099", ttl) {
			t.Error("old-0099 survived the pruning")
		}
		// That call pruned the next hundred, old-0100 among them, and
		// recorded old-0099 anew.
		if keys, index := deliveryCounts(t, db); keys != 1000-200+2 || index != keys {
			t.Errorf("after two calls: %d keys and %d index entries, want %d", keys, index, 1000-200+2)
		}
		// Calls go on until every expired key is gone.
		for i := range 10 {
			mustFirst(t, db, fmt.Sprintf("later-%d", i), ttl)
		}
		if keys, index := deliveryCounts(t, db); keys != 12 || index != 12 {
			t.Errorf("after the backlog: %d keys and %d index entries, want 12 (the new ones only)", keys, index)
		}
	})

	t.Run("PruneKeepsLiveKeys", func(t *testing.T) {
		db := MustOpenDB(t)
		c := &fakeClock{t: t0}
		db.Now = c.Now
		mustFirst(t, db, "old", ttl)
		c.Set(t0.Add(20 * time.Minute))
		mustFirst(t, db, "recent", ttl)
		c.Set(t0.Add(40 * time.Minute)) // old has expired, recent has not
		mustFirst(t, db, "now", ttl)
		if keys, index := deliveryCounts(t, db); keys != 2 || index != 2 {
			t.Errorf("%d keys and %d index entries, want 2 and 2", keys, index)
		}
		if mustFirst(t, db, "recent", ttl) {
			t.Error("a live key was pruned")
		}
	})

	t.Run("ErrEmptyKey", func(t *testing.T) {
		db := MustOpenDB(t)
		if _, err := db.FirstDelivery(context.Background(), "", ttl); err == nil {
			t.Error("FirstDelivery with an empty key succeeded")
		}
	})

	t.Run("ErrBadTTL", func(t *testing.T) {
		db := MustOpenDB(t)
		for _, d := range []time.Duration{0, -time.Minute} {
			if _, err := db.FirstDelivery(context.Background(), "k", d); err == nil {
				t.Errorf("FirstDelivery with ttl %v succeeded", d)
			}
		}
	})
}

func BenchmarkFirstDelivery(b *testing.B) {
	db := MustOpenDB(b)
	i := 0
	for b.Loop() {
		i++
		if !mustFirst(b, db, fmt.Sprintf("slack:cmd:%d", i), time.Minute) {
			b.Fatal("new key reported as a repeat")
		}
	}
}
