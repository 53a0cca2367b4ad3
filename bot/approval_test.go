package bot_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/cippbot/cippbot/bot"
	"github.com/cippbot/cippbot/store"
)

// failingMoves is a store that refuses to store an approval change that
// would leave it in one state, as a full disk or a lost lock would.
type failingMoves struct {
	*store.DB
	to bot.ApprovalState
}

func (f failingMoves) UpdateApproval(ctx context.Context, id string, fn func(*bot.Approval) error) (bot.Approval, error) {
	ap, err := f.DB.Approval(ctx, id)
	if err != nil {
		return bot.Approval{}, err
	}
	if fn(&ap) == nil && ap.State == f.to {
		return bot.Approval{}, errors.New("disk full")
	}
	return f.DB.UpdateApproval(ctx, id, fn)
}

func TestApprovalStateNotStored(t *testing.T) {
	t.Parallel()
	t.Run("RunEnd", func(t *testing.T) {
		h := newHarness(t)
		var logs lockedBuf
		h.bot.Logger = slog.New(slog.NewTextHandler(&logs, nil))
		h.bot.Store = failingMoves{DB: h.db, to: bot.StateDone}
		id := cardID(t, h.do(riley, "block-signin AdeleV@contoso.com"))
		sent := h.do(sam, "approve "+id)

		// The run happened and the people are told so…
		if u, _ := h.dir.Get("u-adele"); u.Enabled {
			t.Fatal("approved request did not run")
		}
		var told bool
		for _, s := range sent {
			if s.To == sam.ID && strings.HasPrefix(s.Message.Title, "You approved "+id) {
				told = true
			}
		}
		if !told {
			t.Errorf("approver not told the result: %+v", sent)
		}
		// …the failure is logged with the approval and the move meant…
		line := ""
		for _, l := range strings.Split(logs.String(), "\n") {
			if strings.Contains(l, "approval state not stored") {
				line = l
			}
		}
		for _, want := range []string{"approval=" + id, "to=done", "disk full"} {
			if !strings.Contains(line, want) {
				t.Errorf("log line %q lacks %q", line, want)
			}
		}
		// …and the approval is not claimed done: it stays running, so the
		// next start reports its outcome unknown rather than forgetting it.
		ap, err := h.db.Approval(context.Background(), id)
		must(t, err)
		if ap.State != bot.StateRunning {
			t.Fatalf("state = %s, want running", ap.State)
		}
		h.bot.Store = h.db
		must(t, h.bot.Recover(context.Background()))
		if ap, _ := h.db.Approval(context.Background(), id); ap.State != bot.StateUnknown {
			t.Fatalf("after recover, state = %s, want unknown", ap.State)
		}
	})
	t.Run("SweepExpiry", func(t *testing.T) {
		h := newHarness(t)
		var logs lockedBuf
		h.bot.Logger = slog.New(slog.NewTextHandler(&logs, nil))
		id := cardID(t, h.do(riley, "block-signin AdeleV@contoso.com"))
		before := len(auditKinds(t, h.db))
		h.bot.Store = failingMoves{DB: h.db, to: bot.StateExpired}
		h.clock.Add(16 * time.Minute)
		h.chat.Reset()
		must(t, h.bot.Sweep(context.Background()))

		// Nothing says it expired while the store says it is pending: no
		// record, no card, no message; the next sweep tries again.
		if got := auditKinds(t, h.db); len(got) != before {
			t.Errorf("audit grew from %d to %v records though the expiry was not stored", before, got)
		}
		if sent := h.chat.Sent(); len(sent) != 0 {
			t.Errorf("sent %+v for an expiry not stored", sent)
		}
		if !strings.Contains(logs.String(), "approval="+id) {
			t.Errorf("failure not logged with the approval: %s", logs.String())
		}
		h.bot.Store = h.db
		must(t, h.bot.Sweep(context.Background()))
		if ap, _ := h.db.Approval(context.Background(), id); ap.State != bot.StateExpired {
			t.Fatalf("next sweep: state = %s, want expired", ap.State)
		}
	})
}
