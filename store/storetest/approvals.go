package storetest

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/cippbot/cippbot/bot"
	"github.com/google/go-cmp/cmp"
)

func approval(id string, created time.Time) bot.Approval {
	return bot.Approval{
		ID:           id,
		State:        bot.StatePending,
		Action:       "reset-password",
		TenantID:     "6b1a0c3e-0000-4000-8000-000000000001",
		TenantDomain: "contoso.com",
		Targets:      []bot.Target{{ID: "0f9c1d2e-0000-4000-8000-00000000000a", UPN: "alice@contoso.com", Roles: []string{"User Administrator"}}},
		Params:       map[string]string{"notify": "true"},
		Reason:       "locked out",
		Requester:    bot.Actor{ID: "slack:U0123ABCD", Name: "riley"},
		Platform:     "slack",
		Workspace:    "T0001",
		Channel:      "C0001",
		CreatedAt:    created,
		ExpiresAt:    created.Add(15 * time.Minute),
		Needed:       2,
		Why:          []string{"privileged target"},
	}
}

func ids(list []bot.Approval) []string {
	out := make([]string, len(list))
	for i, a := range list {
		out[i] = a.ID
	}
	return out
}

func testApprovals(t *testing.T, h Harness) {
	t.Run("CreateAndRead", func(t *testing.T) {
		s := fresh(t, h).handle(nil)
		want := approval("ap1", t0)
		if err := s.CreateApproval(ctx(), want); err != nil {
			t.Fatal(err)
		}
		got, err := s.Approval(ctx(), "ap1")
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("Approval read back differs (-want +got):\n%s", diff)
		}
		if !got.CreatedAt.Equal(t0) || got.CreatedAt.Nanosecond() != t0.Nanosecond() {
			t.Errorf("CreatedAt = %v, want %v to the nanosecond", got.CreatedAt, t0)
		}
	})
	t.Run("CreateTakenID", func(t *testing.T) {
		s := fresh(t, h).handle(nil)
		if err := s.CreateApproval(ctx(), approval("ap1", t0)); err != nil {
			t.Fatal(err)
		}
		second := approval("ap1", t0.Add(time.Hour))
		second.Reason = "other"
		if err := s.CreateApproval(ctx(), second); !errors.Is(err, bot.ErrExists) {
			t.Fatalf("CreateApproval with a taken ID = %v, want ErrExists", err)
		}
		got, err := s.Approval(ctx(), "ap1")
		if err != nil || got.Reason != "locked out" {
			t.Fatalf("after refused create: %+v, %v; want the first approval kept", got.Reason, err)
		}
		if err := s.CreateApproval(ctx(), approval("", t0)); err == nil {
			t.Error("CreateApproval with an empty ID succeeded")
		}
	})
	t.Run("CreateApprovalsAllOrNone", func(t *testing.T) {
		s := fresh(t, h).handle(nil)
		if err := s.CreateApproval(ctx(), approval("b", t0)); err != nil {
			t.Fatal(err)
		}
		err := s.CreateApprovals(ctx(), []bot.Approval{approval("a", t0), approval("b", t0), approval("c", t0)})
		if !errors.Is(err, bot.ErrExists) {
			t.Fatalf("CreateApprovals with a taken ID = %v, want ErrExists", err)
		}
		for _, id := range []string{"a", "c"} {
			if _, err := s.Approval(ctx(), id); !errors.Is(err, bot.ErrNotFound) {
				t.Errorf("approval %s after a refused batch: %v, want ErrNotFound", id, err)
			}
		}
		if err := s.CreateApprovals(ctx(), []bot.Approval{approval("a", t0), approval("c", t0.Add(time.Second))}); err != nil {
			t.Fatal(err)
		}
		all, err := s.Approvals(ctx())
		if err != nil {
			t.Fatal(err)
		}
		if got, want := ids(all), []string{"a", "b", "c"}; !slices.Equal(got, want) {
			t.Errorf("Approvals() = %v, want %v", got, want)
		}
	})
	t.Run("NotFound", func(t *testing.T) {
		s := fresh(t, h).handle(nil)
		if _, err := s.Approval(ctx(), "nope"); !errors.Is(err, bot.ErrNotFound) {
			t.Errorf("Approval(missing) = %v, want ErrNotFound", err)
		}
		called := false
		_, err := s.UpdateApproval(ctx(), "nope", func(*bot.Approval) error { called = true; return nil })
		if !errors.Is(err, bot.ErrNotFound) || called {
			t.Errorf("UpdateApproval(missing) = %v (fn called: %v), want ErrNotFound without calling fn", err, called)
		}
	})
	t.Run("Update", func(t *testing.T) {
		s := fresh(t, h).handle(nil)
		if err := s.CreateApproval(ctx(), approval("ap1", t0)); err != nil {
			t.Fatal(err)
		}
		by := bot.Actor{ID: "slack:U999", Name: "sam"}
		got, err := s.UpdateApproval(ctx(), "ap1", func(a *bot.Approval) error {
			a.State = bot.StateRunning
			a.DecidedBy = &by
			a.DecidedAt = t0.Add(time.Minute)
			a.Approvers = append(a.Approvers, by)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if got.State != bot.StateRunning || got.DecidedBy == nil || got.DecidedBy.ID != by.ID {
			t.Errorf("UpdateApproval returned %+v, want it running, decided by %s", got, by.ID)
		}
		read, err := s.Approval(ctx(), "ap1")
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(got, read); diff != "" {
			t.Errorf("stored approval differs from what UpdateApproval returned (-returned +stored):\n%s", diff)
		}

		// fn's error: nothing stored, the approval as it was returned.
		errNo := errors.New("not pending")
		before, err := s.UpdateApproval(ctx(), "ap1", func(a *bot.Approval) error {
			a.State = bot.StateDenied
			a.Params["notify"] = "false" // must not reach the approval returned
			return errNo
		})
		if !errors.Is(err, errNo) {
			t.Fatalf("UpdateApproval with fn failing = %v, want fn's error", err)
		}
		if diff := cmp.Diff(read, before); diff != "" {
			t.Errorf("UpdateApproval with fn failing returned other than the stored approval (-stored +returned):\n%s", diff)
		}
		if read, _ := s.Approval(ctx(), "ap1"); read.State != bot.StateRunning {
			t.Errorf("after fn failed the stored state is %s, want %s", read.State, bot.StateRunning)
		}

		// The ID cannot change.
		if _, err := s.UpdateApproval(ctx(), "ap1", func(a *bot.Approval) error { a.ID = "other"; return nil }); err == nil {
			t.Error("UpdateApproval changing the ID succeeded")
		}
		if _, err := s.Approval(ctx(), "other"); !errors.Is(err, bot.ErrNotFound) {
			t.Errorf("after a refused ID change, approval other: %v, want ErrNotFound", err)
		}
	})
}

func testApprovalIndexes(t *testing.T, h Harness) {
	t.Run("ByState", func(t *testing.T) {
		s := fresh(t, h).handle(nil)
		states := []bot.ApprovalState{bot.StatePending, bot.StateDone, bot.StateRunning, bot.StateDenied, bot.StatePending, bot.StateUnknown}
		var list []bot.Approval
		for i, st := range states {
			// Created out of ID order, two at the same time.
			a := approval(fmt.Sprintf("ap%d", len(states)-i), t0.Add(time.Duration(i/2)*time.Second))
			a.State = st
			list = append(list, a)
		}
		for _, a := range list {
			if err := s.CreateApproval(ctx(), a); err != nil {
				t.Fatal(err)
			}
		}
		check := func(want []string, states ...bot.ApprovalState) {
			t.Helper()
			got, err := s.Approvals(ctx(), states...)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(ids(got), want) {
				t.Errorf("Approvals(%v) = %v, want %v", states, ids(got), want)
			}
		}
		// Oldest first, then by ID.
		check([]string{"ap5", "ap6", "ap3", "ap4", "ap1", "ap2"})
		check([]string{"ap6", "ap4", "ap2"}, bot.StatePending, bot.StateRunning)
		check([]string{"ap6", "ap2"}, bot.StatePending)
		check([]string{"ap5", "ap3", "ap1"}, bot.StateDone, bot.StateDenied, bot.StateUnknown)
		check([]string{"ap3", "ap4"}, bot.StateDenied, bot.StateRunning)
		check(nil, bot.StateExpired)

		// A change of state moves the approval between the lists.
		if _, err := s.UpdateApproval(ctx(), "ap6", func(a *bot.Approval) error { a.State = bot.StateExpired; return nil }); err != nil {
			t.Fatal(err)
		}
		if _, err := s.UpdateApproval(ctx(), "ap5", func(a *bot.Approval) error { a.State = bot.StateRunning; return nil }); err != nil {
			t.Fatal(err)
		}
		check([]string{"ap5", "ap4", "ap2"}, bot.StatePending, bot.StateRunning)
		check([]string{"ap6"}, bot.StateExpired)
	})
	t.Run("Since", func(t *testing.T) {
		s := fresh(t, h).handle(nil)
		zero := approval("zero", time.Time{})
		a := approval("a", t0.Add(-time.Nanosecond))
		b := approval("b", t0)
		b.Action, b.TenantID, b.Requester = "offboard", "tenant-b", bot.Actor{ID: "discord:42"}
		c := approval("c", t0.Add(time.Hour))
		for _, ap := range []bot.Approval{c, zero, b, a} {
			if err := s.CreateApproval(ctx(), ap); err != nil {
				t.Fatal(err)
			}
		}
		got, err := s.ApprovalsSince(ctx(), t0)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(ids(got), []string{"b", "c"}) {
			t.Errorf("ApprovalsSince(t0) = %v, want [b c] (at t0 to the nanosecond is included)", ids(got))
		}
		stamps, err := s.ApprovalStampsSince(ctx(), t0)
		if err != nil {
			t.Fatal(err)
		}
		want := []bot.ApprovalStamp{
			{ID: "b", CreatedAt: t0, Action: "offboard", RequesterID: "discord:42", TenantID: "tenant-b"},
			{ID: "c", CreatedAt: t0.Add(time.Hour), Action: c.Action, RequesterID: c.Requester.ID, TenantID: c.TenantID},
		}
		if diff := cmp.Diff(want, stamps); diff != "" {
			t.Errorf("ApprovalStampsSince(t0) (-want +got):\n%s", diff)
		}
		all, err := s.ApprovalStampsSince(ctx(), time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		if len(all) != 4 || all[0].ID != "zero" {
			t.Errorf("ApprovalStampsSince(zero time) = %v, want all four, the zero-time one first", all)
		}
		// Moving the creation time moves the stamp.
		if _, err := s.UpdateApproval(ctx(), "a", func(ap *bot.Approval) error { ap.CreatedAt = t0.Add(2 * time.Hour); return nil }); err != nil {
			t.Fatal(err)
		}
		got, err = s.ApprovalsSince(ctx(), t0)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(ids(got), []string{"b", "c", "a"}) {
			t.Errorf("after moving a's creation time, ApprovalsSince(t0) = %v, want [b c a]", ids(got))
		}
		stamps, err = s.ApprovalStampsSince(ctx(), t0.Add(90*time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		if len(stamps) != 1 || stamps[0].ID != "a" || !stamps[0].CreatedAt.Equal(t0.Add(2*time.Hour)) {
			t.Errorf("stamps since t0+90m = %+v, want a's at t0+2h", stamps)
		}
	})
	t.Run("Prune", func(t *testing.T) {
		s := fresh(t, h).handle(nil)
		states := []bot.ApprovalState{bot.StateDone, bot.StatePending, bot.StateDenied, bot.StateRunning, bot.StateExpired, bot.StateFailed, bot.StateDone}
		for i, st := range states {
			a := approval(fmt.Sprintf("ap%d", i), t0.Add(time.Duration(i)*time.Minute))
			a.State = st
			if err := s.CreateApproval(ctx(), a); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := s.Append(ctx(), bot.AuditRecord{Kind: bot.KindRequest, ApprovalID: "ap0"}); err != nil {
			t.Fatal(err)
		}
		if n, err := s.PruneApprovals(ctx(), t0.Add(time.Hour), 0); n != 0 || err != nil {
			t.Errorf("PruneApprovals(max 0) = %d, %v; want 0, nil", n, err)
		}
		// Before ap6: ap0..ap5, of which ap1 (pending) and ap3 (running)
		// are kept whatever their age. Two at a time, oldest first.
		n, err := s.PruneApprovals(ctx(), t0.Add(6*time.Minute), 2)
		if err != nil || n != 2 {
			t.Fatalf("PruneApprovals = %d, %v; want 2", n, err)
		}
		left, _ := s.Approvals(ctx())
		if want := []string{"ap1", "ap3", "ap4", "ap5", "ap6"}; !slices.Equal(ids(left), want) {
			t.Errorf("after pruning 2: %v, want %v", ids(left), want)
		}
		n, err = s.PruneApprovals(ctx(), t0.Add(6*time.Minute), 100)
		if err != nil || n != 2 {
			t.Fatalf("PruneApprovals again = %d, %v; want 2", n, err)
		}
		left, _ = s.Approvals(ctx())
		if want := []string{"ap1", "ap3", "ap6"}; !slices.Equal(ids(left), want) {
			t.Errorf("after pruning: %v, want %v", ids(left), want)
		}
		if n, err := s.PruneApprovals(ctx(), t0.Add(6*time.Minute), 100); n != 0 || err != nil {
			t.Errorf("PruneApprovals with nothing to prune = %d, %v; want 0, nil", n, err)
		}
		stamps, _ := s.ApprovalStampsSince(ctx(), time.Time{})
		if len(stamps) != 3 {
			t.Errorf("stamps after pruning: %d, want 3 (pruned approvals leave the quota count)", len(stamps))
		}
		if rep, err := s.VerifyAudit(ctx()); err != nil || rep.Records != 1 {
			t.Errorf("audit after pruning: %+v, %v; want its one record, intact", rep, err)
		}
		// A pruned approval's ID is never given again: its card, buttons
		// and all, may still be in a channel. The kept ones are taken too.
		for _, id := range []string{"ap0", "ap2", "ap4", "ap5", "ap1"} {
			if err := s.CreateApproval(ctx(), approval(id, t0.Add(time.Hour))); !errors.Is(err, bot.ErrExists) {
				t.Errorf("CreateApproval(%s) after pruning = %v, want ErrExists", id, err)
			}
		}
		if err := s.CreateApproval(ctx(), approval("ap7", t0.Add(time.Hour))); err != nil {
			t.Errorf("CreateApproval(a new ID) = %v", err)
		}
	})
}

// testApprovalRace: 40 deciders, on two handles, race to decide one
// approval; exactly one wins. Then 40 increments lose none.
func testApprovalRace(t *testing.T, h Harness) {
	d := fresh(t, h)
	s1 := d.handle(nil)
	s2 := d.second(s1, nil)
	if err := s1.CreateApproval(ctx(), approval("race", t0)); err != nil {
		t.Fatal(err)
	}
	errTaken := errors.New("already decided")
	const n = 40
	winners := race(n, s1, s2, func(s Store, i int) string {
		me := bot.Actor{ID: fmt.Sprintf("slack:U%02d", i)}
		_, err := s.UpdateApproval(ctx(), "race", func(a *bot.Approval) error {
			if a.State != bot.StatePending {
				return errTaken
			}
			a.State = bot.StateRunning
			a.DecidedBy = &me
			return nil
		})
		if err != nil && !errors.Is(err, errTaken) {
			t.Errorf("decider %d: %v", i, err)
		}
		if err != nil {
			return ""
		}
		return me.ID
	})
	if len(winners) != 1 {
		t.Fatalf("%d of %d deciders won (%v), want exactly 1", len(winners), n, winners)
	}
	got, err := s2.Approval(ctx(), "race")
	if err != nil {
		t.Fatal(err)
	}
	if got.State != bot.StateRunning || got.DecidedBy == nil || got.DecidedBy.ID != winners[0] {
		t.Errorf("stored approval: state %s, decided by %v; want running, by the winner %s", got.State, got.DecidedBy, winners[0])
	}

	// Read-modify-write from both handles loses no update.
	race(n, s1, s2, func(s Store, i int) string {
		if _, err := s.UpdateApproval(ctx(), "race", func(a *bot.Approval) error { a.Needed++; return nil }); err != nil {
			t.Errorf("increment %d: %v", i, err)
		}
		return ""
	})
	got, err = s1.Approval(ctx(), "race")
	if err != nil {
		t.Fatal(err)
	}
	if want := approval("race", t0).Needed + n; got.Needed != want {
		t.Errorf("after %d concurrent increments Needed = %d, want %d (updates were lost)", n, got.Needed, want)
	}
}

// race runs try n times at once, the even ones on a and the odd ones on
// b, all released together, and returns the names of those that won
// (try returns "" for a loss), in no order.
func race(n int, a, b Store, try func(s Store, i int) string) []string {
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		winners []string
		start   = make(chan struct{})
	)
	for i := range n {
		s := a
		if i%2 == 1 {
			s = b
		}
		wg.Go(func() {
			<-start
			if won := try(s, i); won != "" {
				mu.Lock()
				winners = append(winners, won)
				mu.Unlock()
			}
		})
	}
	close(start)
	wg.Wait()
	return winners
}
