package bot

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cippbot/cippbot/actions"
)

// TestProgressMessage: counts read with thousands separators, and a run
// held to the tenant's write limit says so.
func TestProgressMessage(t *testing.T) {
	t.Parallel()
	a := &actions.Action{Name: "block-signin"}
	if got := progressMessage(a, 1200, 5000, true).Title; got != "Running block-signin: 1,200 of 5,000 done… pacing to Microsoft's write limit" {
		t.Errorf("paced: %q", got)
	}
	if got := progressMessage(a, 3, 999, false).Title; got != "Running block-signin: 3 of 999 done…" {
		t.Errorf("unpaced: %q", got)
	}
	for n, want := range map[int]string{0: "0", 100: "100", 1000: "1,000", 1234567: "1,234,567"} {
		if got := thousands(n); got != want {
			t.Errorf("thousands(%d) = %q", n, got)
		}
	}
}

// TestShowLater: a slow chat does not hold up the run that reports
// progress; messages that come while one is being shown replace one
// another, so the newest is shown next; stop waits for the one being
// shown and drops the rest, so the result shown after it stays.
func TestShowLater(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	entered := make(chan string, 10)
	var mu sync.Mutex
	var shown []string
	show := func(m Message) bool {
		entered <- m.Title
		<-release
		mu.Lock()
		shown = append(shown, m.Title)
		mu.Unlock()
		return true
	}
	later, stop := showLater(show)
	start := time.Now()
	later(Message{Title: "1"})
	if got := <-entered; got != "1" { // being shown, waits for release
		t.Fatalf("showing %s, want 1", got)
	}
	later(Message{Title: "2"}) // replaced by 3
	later(Message{Title: "3"})
	if d := time.Since(start); d > time.Second {
		t.Fatalf("later waited %v for the chat", d)
	}
	release <- struct{}{} // 1 shown
	release <- struct{}{} // 3 shown
	later(Message{Title: "4"})
	for title := range entered { // 3, then 4
		if title == "4" {
			break // being shown
		}
	}
	stopped := make(chan struct{})
	go func() { stop(); close(stopped) }()
	select {
	case <-stopped:
		t.Fatal("stop did not wait for the message being shown")
	case <-time.After(50 * time.Millisecond):
	}
	release <- struct{}{} // 4 shown
	<-stopped
	later(Message{Title: "5"}) // after stop: dropped
	mu.Lock()
	defer mu.Unlock()
	if got := strings.Join(shown, ","); got != "1,3,4" {
		t.Errorf("shown %s, want 1,3,4", got)
	}
}
