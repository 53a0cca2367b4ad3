package main

import (
	"context"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/cippbot/cippbot/actions"
	"github.com/cippbot/cippbot/internal/fakediscord"
)

// TestDiscordHelpWhole asks /cipp help in Discord: the list is longer
// than one Discord message (2,000 characters, which the fake enforces), so
// it arrives in several, each within the limit, and every action and the
// admin section show.
func TestDiscordHelpWhole(t *testing.T) {
	t.Parallel()
	r := startDiscord(t)
	r.deliver(t, r.fd.Command(dChan, riley, command("help")))
	want := []string{"Approvals and admin:", "/cipp help <action> for details."}
	for _, a := range actions.Default().All() {
		want = append(want, "• "+a.Name+":")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var all string
	var parts []fakediscord.Message
	for {
		parts, all = nil, ""
		for _, m := range r.fd.Messages() {
			if m.For == riley && strings.Contains(m.Content, "cippbot: Microsoft 365 user admin") {
				parts = append(parts, m)
				all += m.Content + "\n"
			}
		}
		if strings.Contains(all, want[1]) || ctx.Err() != nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if len(parts) < 2 {
		t.Errorf("help came in %d message(s); it does not fit one", len(parts))
	}
	for _, m := range parts {
		if n := utf8.RuneCountInString(m.Content); n > 2000 || !m.Ephemeral {
			t.Errorf("part of %d characters, ephemeral=%v", n, m.Ephemeral)
		}
	}
	unescaped := strings.NewReplacer(`\-`, "-", `\_`, "_", `\*`, "*").Replace(all)
	for _, w := range want {
		if !strings.Contains(unescaped, w) {
			t.Errorf("help lacks %q", w)
		}
	}
	if strings.Contains(all, "…") && !strings.Contains(all, "(continued)") {
		t.Error("help was cut")
	}
}
