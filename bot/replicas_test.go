package bot_test

import (
	"context"
	"testing"

	"github.com/cippbot/cippbot/bot"
)

// TestRecoverOnlyOrphanedRuns: a replica starting on a shared store marks
// "outcome unknown" its own earlier runs, runs of no replica and runs of a
// replica whose heartbeat stopped, never a live replica's run.
func TestRecoverOnlyOrphanedRuns(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	ctx := context.Background()
	h.bot.ReplicaID = "replica-a"
	runners := runningOn(t, h, "replica-a", "replica-b", "replica-c", "")
	must(t, h.db.Heartbeat(ctx, "replica-b"))
	must(t, h.db.Heartbeat(ctx, "replica-a"))
	must(t, h.bot.Recover(ctx))
	for id, runner := range runners {
		ap, err := h.db.Approval(ctx, id)
		must(t, err)
		want := bot.StateUnknown
		if runner == "replica-b" {
			want = bot.StateRunning // a live replica's
		}
		if ap.State != want {
			t.Errorf("run of %q: state %s after recover, want %s", runner, ap.State, want)
		}
	}
	if h.dir.Calls.Load() != 0 {
		t.Fatal("recover re-ran an action")
	}
}

// An approved request runs marked with the replica running it.
func TestRunCarriesReplica(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.bot.ReplicaID = "replica-a"
	id := cardID(t, h.do(riley, "block-signin AdeleV@contoso.com"))
	h.do(sam, "approve "+id)
	h.bot.Wait()
	ap, err := h.db.Approval(context.Background(), id)
	must(t, err)
	if ap.State != bot.StateDone || ap.Replica != "replica-a" {
		t.Errorf("approved run: state %s, runner %q; want done, by replica-a", ap.State, ap.Replica)
	}
}

// RecoverOrphans, while replicas run, marks only a dead replica's runs.
func TestRecoverOrphans(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	ctx := context.Background()
	h.bot.ReplicaID = "replica-a"
	runners := runningOn(t, h, "replica-a", "replica-b", "replica-c", "")
	must(t, h.db.Heartbeat(ctx, "replica-a"))
	must(t, h.db.Heartbeat(ctx, "replica-b"))
	must(t, h.bot.RecoverOrphans(ctx))
	for id, runner := range runners {
		ap, err := h.db.Approval(ctx, id)
		must(t, err)
		want := bot.StateRunning
		if runner == "replica-c" {
			want = bot.StateUnknown // no heartbeat: gone
		}
		if ap.State != want {
			t.Errorf("run of %q: state %s after RecoverOrphans, want %s", runner, ap.State, want)
		}
	}
	// Without a replica ID it does nothing.
	h.bot.ReplicaID = ""
	must(t, h.bot.RecoverOrphans(ctx))
	for id := range runners {
		if ap, _ := h.db.Approval(ctx, id); runners[id] != "replica-c" && ap.State != bot.StateRunning {
			t.Errorf("RecoverOrphans without a replica ID changed %s to %s", id, ap.State)
		}
	}
}

// runningOn asks for one block-signin per replica ID and marks each as
// running on that replica ("": on none); it returns approval ID → replica.
func runningOn(t *testing.T, h *harness, replicas ...string) map[string]string {
	t.Helper()
	runners := map[string]string{}
	for _, runner := range replicas {
		id := cardID(t, h.do(riley, "block-signin AdeleV@contoso.com"))
		_, err := h.db.UpdateApproval(context.Background(), id, func(a *bot.Approval) error {
			a.State, a.Replica = bot.StateRunning, runner
			return nil
		})
		must(t, err)
		runners[id] = runner
	}
	return runners
}
