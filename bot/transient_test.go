package bot_test

import (
	"context"
	"testing"
	"time"

	"github.com/cippbot/cippbot/actions"
	"github.com/cippbot/cippbot/bot"
)

func TestHoldPrivate(t *testing.T) {
	t.Parallel()
	m := bot.Message{Title: "AdeleV@contoso.com: password reset", Lines: []string{"must change"}, Tone: bot.ToneOK,
		Secrets: []bot.Secret{actions.NewSecret("password", "Zq7$Held-001")}}
	b, err := bot.HoldPrivate(m)
	if err != nil {
		t.Fatal(err)
	}
	got, err := bot.OpenPrivate(b)
	if err != nil {
		t.Fatal(err)
	}
	if got.Title != m.Title || len(got.Secrets) != 1 || got.Secrets[0].Reveal() != "Zq7$Held-001" || got.Secrets[0].Label() != "password" || got.Tone != bot.ToneOK {
		t.Errorf("OpenPrivate(HoldPrivate(m)) = %+v, want m", got)
	}
}

func TestMemTransient(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	m := bot.NewMemTransient(func() time.Time { return now })
	ctx := context.Background()
	if err := m.PutTransient(ctx, "k", []byte("v"), time.Minute); err != nil {
		t.Fatal(err)
	}
	if v, _ := m.Transient(ctx, "k"); string(v) != "v" {
		t.Fatalf("Transient = %q", v)
	}
	now = now.Add(time.Minute)
	if v, _ := m.Transient(ctx, "k"); v != nil {
		t.Errorf("expired value = %q", v)
	}
	_ = m.PutTransient(ctx, "k", []byte("w"), time.Minute)
	if v, _ := m.TakeTransient(ctx, "k"); string(v) != "w" {
		t.Errorf("Take = %q", v)
	}
	if v, _ := m.TakeTransient(ctx, "k"); v != nil {
		t.Errorf("second Take = %q", v)
	}
}
