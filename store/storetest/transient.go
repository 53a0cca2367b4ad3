package storetest

import (
	"bytes"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cippbot/cippbot/bot"
	"github.com/cippbot/cippbot/store"
)

func testTransient(t *testing.T, h Harness) {
	t.Run("PutGetTake", func(t *testing.T) {
		d := fresh(t, h)
		a := d.handle(nil)
		if v, err := a.Transient(ctx(), "discord:ask:1"); v != nil || err != nil {
			t.Fatalf("Transient before Put = %q, %v; want nothing", v, err)
		}
		if err := a.PutTransient(ctx(), "discord:ask:1", []byte("first"), time.Hour); err != nil {
			t.Fatal(err)
		}
		if err := a.PutTransient(ctx(), "discord:ask:1", []byte("second"), time.Hour); err != nil {
			t.Fatal(err)
		}
		b := d.second(a, nil)
		if v, err := b.Transient(ctx(), "discord:ask:1"); string(v) != "second" || err != nil {
			t.Fatalf("Transient on another handle = %q, %v; want the replacement", v, err)
		}
		if v, err := b.Transient(ctx(), "discord:ask:1"); string(v) != "second" || err != nil {
			t.Fatalf("Transient read twice = %q, %v; a read must not remove it", v, err)
		}
		if v, err := b.TakeTransient(ctx(), "discord:ask:1"); string(v) != "second" || err != nil {
			t.Fatalf("TakeTransient = %q, %v", v, err)
		}
		if v, err := a.Transient(ctx(), "discord:ask:1"); v != nil || err != nil {
			t.Errorf("Transient after Take = %q, %v; want nothing", v, err)
		}
		if v, err := a.TakeTransient(ctx(), "discord:ask:1"); v != nil || err != nil {
			t.Errorf("second Take = %q, %v; want nothing", v, err)
		}
		if err := a.PutTransient(ctx(), "", []byte("x"), time.Hour); !errors.Is(err, bot.ErrTransientKey) {
			t.Errorf("empty key: %v, want ErrTransientKey", err)
		}
		if err := a.PutTransient(ctx(), "k", []byte("x"), 0); !errors.Is(err, bot.ErrTransientKey) {
			t.Errorf("zero ttl: %v, want ErrTransientKey", err)
		}
	})
	t.Run("Expiry", func(t *testing.T) {
		d := fresh(t, h)
		s := d.handle(nil)
		if err := s.PutTransient(ctx(), "short", []byte("v"), 300*time.Millisecond); err != nil {
			t.Fatal(err)
		}
		if err := s.PutTransient(ctx(), "long", []byte("v"), time.Hour); err != nil {
			t.Fatal(err)
		}
		time.Sleep(500 * time.Millisecond)
		if v, err := s.Transient(ctx(), "short"); v != nil || err != nil {
			t.Errorf("expired value = %q, %v; want nothing", v, err)
		}
		if v, err := s.TakeTransient(ctx(), "short"); v != nil || err != nil {
			t.Errorf("Take of an expired value = %q, %v; want nothing", v, err)
		}
		if v, err := s.Transient(ctx(), "long"); string(v) != "v" || err != nil {
			t.Errorf("live value = %q, %v", v, err)
		}
	})
	t.Run("TakeOnceAcrossHandles", func(t *testing.T) {
		d := fresh(t, h)
		a := d.handle(nil)
		b := d.second(a, nil)
		if err := a.PutTransient(ctx(), "reveal", []byte("secret"), time.Hour); err != nil {
			t.Fatal(err)
		}
		var got atomic.Int32
		var wg sync.WaitGroup
		for i := range 40 {
			s := a
			if i%2 == 1 {
				s = b
			}
			wg.Go(func() {
				v, err := s.TakeTransient(ctx(), "reveal")
				if err != nil {
					t.Error(err)
				}
				if v != nil {
					got.Add(1)
				}
			})
		}
		wg.Wait()
		if got.Load() != 1 {
			t.Errorf("%d of 40 concurrent takers got the value, want exactly 1", got.Load())
		}
	})
	t.Run("Sealed", func(t *testing.T) {
		d := fresh(t, h)
		a := d.handle(nil)
		key := bytes.Repeat([]byte("k"), store.MinSealKey)
		sa, err := store.NewSealedTransient(a, key)
		if err != nil {
			t.Fatal(err)
		}
		secret := []byte("Temporary-Pass-0123456789")
		if err := sa.PutTransient(ctx(), "discord:reveal:1", secret, time.Hour); err != nil {
			t.Fatal(err)
		}
		raw, err := a.Transient(ctx(), "discord:reveal:1")
		if err != nil || raw == nil || bytes.Contains(raw, secret) {
			t.Fatalf("stored value = %q, %v; want it sealed", raw, err)
		}
		b := d.second(a, nil)
		sb, _ := store.NewSealedTransient(b, key)
		// Moved to another key, it does not open: the key is bound.
		if err := b.PutTransient(ctx(), "discord:reveal:2", raw, time.Hour); err != nil {
			t.Fatal(err)
		}
		if _, err := sb.Transient(ctx(), "discord:reveal:2"); !errors.Is(err, store.ErrWrongKey) {
			t.Errorf("value under another key: %v, want ErrWrongKey", err)
		}
		wrong, _ := store.NewSealedTransient(b, bytes.Repeat([]byte("x"), store.MinSealKey))
		if _, err := wrong.Transient(ctx(), "discord:reveal:1"); !errors.Is(err, store.ErrWrongKey) {
			t.Errorf("wrong store key: %v, want ErrWrongKey", err)
		}
		if v, err := sb.TakeTransient(ctx(), "discord:reveal:1"); !bytes.Equal(v, secret) || err != nil {
			t.Fatalf("Take on another handle = %q, %v", v, err)
		}
		if v, err := sa.TakeTransient(ctx(), "discord:reveal:1"); v != nil || err != nil {
			t.Errorf("second Take = %q, %v; want nothing", v, err)
		}
		if _, err := store.NewSealedTransient(a, []byte("short")); err == nil {
			t.Error("a short store key was accepted")
		}
	})
}
