package discord_test

import (
	"bytes"
	"context"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cippbot/cippbot/adapters/discord"
	"github.com/cippbot/cippbot/bot"
	"github.com/cippbot/cippbot/internal/fakediscord"
	"github.com/cippbot/cippbot/store"
)

// recorder is a Handler that records the events it is given.
type recorder struct {
	mu     sync.Mutex
	events []bot.Event
}

func (r *recorder) Handle(_ context.Context, ev bot.Event, _ bot.Responder) {
	r.mu.Lock()
	r.events = append(r.events, ev)
	r.mu.Unlock()
}

func (r *recorder) count() int { r.mu.Lock(); defer r.mu.Unlock(); return len(r.events) }

// keyLog is a bot.Deduper that records the calls it passes on.
type keyLog struct {
	next bot.Deduper
	mu   sync.Mutex
	keys []string
	ttls []time.Duration
}

func (k *keyLog) FirstDelivery(ctx context.Context, key string, ttl time.Duration) (bool, error) {
	k.mu.Lock()
	k.keys = append(k.keys, key)
	k.ttls = append(k.ttls, ttl)
	k.mu.Unlock()
	return k.next.FirstDelivery(ctx, key, ttl)
}

// startOn returns an adapter on fd with the given deduper and logger.
func startOn(t *testing.T, fd *fakediscord.Server, c *clock, dedup bot.Deduper, log *slog.Logger) (*discord.Adapter, *recorder) {
	t.Helper()
	h := &recorder{}
	a, err := discord.New(discord.Config{BotToken: fakediscord.DefaultBotToken, AppID: fakediscord.DefaultAppID,
		APIURL: fd.BaseURL(), Now: c.Now, Dedup: dedup, Logger: log}, h)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close(context.Background()) })
	return a, h
}

func newFakeDiscord(t *testing.T) (*fakediscord.Server, *clock) {
	t.Helper()
	c := &clock{t: time.Now()}
	fd := fakediscord.NewTest(t, fakediscord.Options{Now: c.Now})
	t.Cleanup(fd.Close)
	fd.AddChannel(ch, "", riley, sam)
	return fd, c
}

func openStore(t *testing.T) *store.DB {
	t.Helper()
	db := store.NewDB(filepath.Join(t.TempDir(), "cippbot.db"))
	if err := db.Open(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// acks counts the attempts to acknowledge in, accepted or not.
func acks(fd *fakediscord.Server, in fakediscord.Interaction) int {
	n := 0
	for _, c := range fd.Calls() {
		if c.Method == "POST" && strings.Contains(c.Path, "/interactions/"+in.ID+"/") {
			n++
		}
	}
	return n
}

// TestRepeatAfterRestart: an interaction handled before a restart is
// neither acknowledged nor handled again when it is delivered to the
// restarted adapter, which shares the store; a new one still goes through.
func TestRepeatAfterRestart(t *testing.T) {
	fd, c := newFakeDiscord(t)
	db := openStore(t)
	keys := &keyLog{next: db}
	in := fd.Command(ch, riley, cmdData("reset-password"))

	before, hb := startOn(t, fd, c, keys, nil)
	deliver(t, before, in)
	deliver(t, before, in) // a repeat before the restart
	if n := hb.count(); n != 1 {
		t.Fatalf("before the restart the adapter handled the interaction %d times, want 1", n)
	}
	must(t, before.Close(context.Background()))
	// The process stops and starts again.
	must(t, db.Close())
	must(t, db.Open())

	after, ha := startOn(t, fd, c, keys, nil)
	deliver(t, after, in)
	if n := ha.count(); n != 0 {
		t.Fatalf("after the restart the adapter handled the repeated interaction %d times", n)
	}
	if n := acks(fd, in); n != 1 {
		t.Errorf("the interaction was acknowledged %d times, want once", n)
	}
	next := fd.Command(ch, riley, cmdData("reset-password"))
	deliver(t, after, next)
	if n := ha.count(); n != 1 {
		t.Errorf("after the restart the adapter handled a new interaction %d times, want 1", n)
	}
	if n := acks(fd, next); n != 1 {
		t.Errorf("the new interaction was acknowledged %d times, want once", n)
	}

	keys.mu.Lock()
	defer keys.mu.Unlock()
	for i, k := range keys.keys {
		if k != "discord:"+in.ID && k != "discord:"+next.ID {
			t.Errorf("delivery key %q, want discord: and the interaction ID", k)
		}
		if keys.ttls[i] != 15*time.Minute {
			t.Errorf("delivery key %q kept for %v, want 15m", k, keys.ttls[i])
		}
	}
}

// TestRepeatInMemory: without a store, repeats are dropped by the adapter
// that saw the first delivery for as long as a token lives, but a
// restarted adapter has forgotten them.
func TestRepeatInMemory(t *testing.T) {
	fd, c := newFakeDiscord(t)
	in := fd.Command(ch, riley, cmdData("reset-password"))
	a, h := startOn(t, fd, c, nil, nil)
	for range 3 {
		deliver(t, a, in)
	}
	if n := h.count(); n != 1 {
		t.Errorf("handled %d times for one interaction delivered 3 times", n)
	}
	c.Add(15*time.Minute - time.Second)
	deliver(t, a, in)
	if n := h.count(); n != 1 {
		t.Errorf("a repeat within the token's life was handled")
	}
	if n := acks(fd, in); n != 1 {
		t.Fatalf("the interaction was acknowledged %d times, want once", n)
	}
	// A restarted adapter tries again (and Discord refuses the second
	// acknowledgement).
	restarted, _ := startOn(t, fd, c, nil, nil)
	deliver(t, restarted, in)
	if n := acks(fd, in); n != 2 {
		t.Errorf("an adapter without a store made %d acknowledgements in all, want 2: the restarted one should not know the interaction", n)
	}
}

// TestRepeatStoreError: when the store cannot be read the interaction is
// handled, with a warning, rather than dropped.
func TestRepeatStoreError(t *testing.T) {
	fd, c := newFakeDiscord(t)
	db := openStore(t)
	must(t, db.Close())
	var logs syncBuffer
	a, h := startOn(t, fd, c, db, slog.New(slog.NewTextHandler(&logs, nil)))
	deliver(t, a, fd.Command(ch, riley, cmdData("reset-password")))
	if n := h.count(); n != 1 {
		t.Errorf("handled %d times, want once despite the store error", n)
	}
	if !strings.Contains(logs.String(), "level=WARN") || !strings.Contains(logs.String(), "repeated interaction") {
		t.Errorf("no warning logged:\n%s", logs.String())
	}
}

// syncBuffer is a bytes.Buffer safe for a logger and a test at once.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }
