package bot_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/cippbot/cippbot/actions"
	"github.com/cippbot/cippbot/bot"
)

// stalling is a Runner whose runs hang until their context ends (cippbot
// stopping) and then fail with the context's error, as a Graph call does.
type stalling struct {
	bot.Runner
	started chan struct{}
}

func (s stalling) Run(ctx context.Context, _ string, _ *actions.Action, ids []string, _ actions.Params, _ actions.Progress) []actions.Result {
	close(s.started)
	<-ctx.Done()
	out := make([]actions.Result, len(ids))
	for i, id := range ids {
		out[i] = actions.Result{Target: actions.User{ID: id}, Err: ctx.Err()}
	}
	return out
}

type lockedBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}
func (l *lockedBuf) String() string { l.mu.Lock(); defer l.mu.Unlock(); return l.b.String() }

// TestStopRecordsUnknown stops cippbot (cancels the handler's context)
// while a change runs: the outcome is written, as "unknown", with a fresh
// context; the log says unknown, not failed; the run is closed as unknown.
func TestStopRecordsUnknown(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ name, text string }{
		{"RunAtOnce", "revoke-sessions AdeleV@contoso.com"},
		{"Approved", `delete-user AdeleV@contoso.com reason="left"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			logs := &lockedBuf{}
			h.bot.Logger = slog.New(slog.NewTextHandler(logs, nil))
			st := stalling{Runner: h.bot.Runner, started: make(chan struct{})}
			h.bot.Runner = st
			actor := riley
			if tc.name == "Approved" {
				h.do(riley, tc.text)
				actor = sam
			}
			text := tc.text
			if tc.name == "Approved" {
				aps, err := h.db.Approvals(context.Background(), bot.StatePending)
				must(t, err)
				if len(aps) != 1 {
					t.Fatalf("%d pending approvals", len(aps))
				}
				text = "approve " + aps[0].ID
			}
			ctx, cancel := context.WithCancel(context.Background())
			go func() { <-st.started; cancel() }()
			h.bot.Handle(ctx, bot.Event{Platform: "console", Channel: "ops", Actor: actor, Text: text}, h.chat.For(actor))

			recs, err := h.db.Audit(context.Background(), bot.AuditFilter{})
			must(t, err)
			var outcome string
			for _, r := range recs {
				if r.Kind == bot.KindOutcome {
					outcome = r.Outcome
				}
			}
			if outcome != "unknown" {
				t.Errorf("outcome record = %q, want unknown (records: %d)", outcome, len(recs))
			}
			if l := logs.String(); !strings.Contains(l, "outcome=unknown") || strings.Contains(l, "outcome=failed") {
				t.Errorf("log does not call it unknown:\n%s", l)
			}
			aps, err := h.db.Approvals(context.Background(), bot.StateRunning)
			must(t, err)
			if len(aps) != 0 {
				t.Errorf("run left as running: %+v", aps)
			}
			unknown, err := h.db.Approvals(context.Background(), bot.StateUnknown)
			must(t, err)
			if len(unknown) != 1 {
				t.Errorf("%d runs closed as unknown, want 1", len(unknown))
			}
		})
	}
}
