package store_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/cippbot/cippbot/bot"
	"github.com/google/go-cmp/cmp"
)

var t0 = time.Date(2025, 3, 14, 9, 26, 53, 589793238, time.UTC)

func testApproval(id string, created time.Time) bot.Approval {
	return bot.Approval{
		ID:           id,
		State:        bot.StatePending,
		Action:       "reset-password",
		TenantID:     "6b1a0c3e-0000-4000-8000-000000000001",
		TenantDomain: "contoso.com",
		Targets:      []bot.Target{{ID: "0f9c1d2e-0000-4000-8000-00000000000a", UPN: "alice@contoso.com"}},
		Params:       map[string]string{"notify": "true"},
		Reason:       "locked out",
		Requester:    bot.Actor{ID: "slack:U0123ABCD", Name: "riley"},
		Platform:     "slack",
		Workspace:    "T0001",
		Channel:      "C0001",
		CreatedAt:    created,
		ExpiresAt:    created.Add(15 * time.Minute),
	}
}

func TestCreateApproval(t *testing.T) {
	ctx := context.Background()

	t.Run("OK", func(t *testing.T) {
		db := MustOpenDB(t)
		want := testApproval("ap1", t0)
		if err := db.CreateApproval(ctx, want); err != nil {
			t.Fatal(err)
		}
		got, err := db.Approval(ctx, "ap1")
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("Approval mismatch (-want +got):\n%s", diff)
		}
	})

	t.Run("ErrExists", func(t *testing.T) {
		db := MustOpenDB(t)
		first := testApproval("ap1", t0)
		if err := db.CreateApproval(ctx, first); err != nil {
			t.Fatal(err)
		}
		second := testApproval("ap1", t0.Add(time.Hour))
		second.Action = "delete-user"
		if err := db.CreateApproval(ctx, second); !errors.Is(err, bot.ErrExists) {
			t.Fatalf("error = %v, want ErrExists", err)
		}
		got, err := db.Approval(ctx, "ap1")
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(first, got); diff != "" {
			t.Errorf("the duplicate replaced the approval (-want +got):\n%s", diff)
		}
	})

	t.Run("ErrEmptyID", func(t *testing.T) {
		db := MustOpenDB(t)
		if err := db.CreateApproval(ctx, testApproval("", t0)); err == nil {
			t.Error("CreateApproval with an empty ID succeeded")
		}
	})
}

func TestApproval(t *testing.T) {
	t.Run("ErrNotFound", func(t *testing.T) {
		db := MustOpenDB(t)
		if _, err := db.Approval(context.Background(), "nope"); !errors.Is(err, bot.ErrNotFound) {
			t.Errorf("error = %v, want ErrNotFound", err)
		}
	})

	t.Run("SurvivesReopen", func(t *testing.T) {
		ctx := context.Background()
		db := MustOpenDB(t)
		want := testApproval("ap1", t0)
		if err := db.CreateApproval(ctx, want); err != nil {
			t.Fatal(err)
		}
		MustReopen(t, db)
		got, err := db.Approvals(ctx, bot.StatePending)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]bot.Approval{want}, got); diff != "" {
			t.Errorf("pending approvals after reopen (-want +got):\n%s", diff)
		}
	})
}

// startRun moves a pending approval to running, and fails for any other.
func startRun(a *bot.Approval) error {
	if a.State != bot.StatePending {
		return fmt.Errorf("approval is %s", a.State)
	}
	a.State = bot.StateRunning
	a.DecidedBy = &bot.Actor{ID: "slack:U0999", Name: "sam"}
	a.DecidedAt = t0.Add(time.Minute)
	return nil
}

func TestUpdateApproval(t *testing.T) {
	ctx := context.Background()

	t.Run("OK", func(t *testing.T) {
		db := MustOpenDB(t)
		a := testApproval("ap1", t0)
		if err := db.CreateApproval(ctx, a); err != nil {
			t.Fatal(err)
		}
		got, err := db.UpdateApproval(ctx, "ap1", startRun)
		if err != nil {
			t.Fatal(err)
		}
		want := a
		if err := startRun(&want); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("returned approval (-want +got):\n%s", diff)
		}
		stored, err := db.Approval(ctx, "ap1")
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, stored); diff != "" {
			t.Errorf("stored approval (-want +got):\n%s", diff)
		}
	})

	t.Run("ErrNotFound", func(t *testing.T) {
		db := MustOpenDB(t)
		called := false
		_, err := db.UpdateApproval(ctx, "nope", func(*bot.Approval) error { called = true; return nil })
		if !errors.Is(err, bot.ErrNotFound) {
			t.Errorf("error = %v, want ErrNotFound", err)
		}
		if called {
			t.Error("fn was called for a missing approval")
		}
	})

	t.Run("FnError", func(t *testing.T) {
		db := MustOpenDB(t)
		a := testApproval("ap1", t0)
		if err := db.CreateApproval(ctx, a); err != nil {
			t.Fatal(err)
		}
		errNo := errors.New("no")
		got, err := db.UpdateApproval(ctx, "ap1", func(a *bot.Approval) error {
			a.State = bot.StateDone
			a.Params["notify"] = "false" // must not leak into the returned approval
			return errNo
		})
		if err != errNo {
			t.Errorf("error = %v, want fn's error", err)
		}
		if diff := cmp.Diff(a, got); diff != "" {
			t.Errorf("returned approval is not as it was (-want +got):\n%s", diff)
		}
		stored, err := db.Approval(ctx, "ap1")
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(a, stored); diff != "" {
			t.Errorf("fn's error did not stop the update (-want +got):\n%s", diff)
		}
	})

	t.Run("ErrIDChanged", func(t *testing.T) {
		db := MustOpenDB(t)
		if err := db.CreateApproval(ctx, testApproval("ap1", t0)); err != nil {
			t.Fatal(err)
		}
		_, err := db.UpdateApproval(ctx, "ap1", func(a *bot.Approval) error { a.ID = "ap2"; return nil })
		if err == nil {
			t.Error("changing the ID succeeded")
		}
		if _, err := db.Approval(ctx, "ap2"); !errors.Is(err, bot.ErrNotFound) {
			t.Errorf("Approval(ap2): error = %v, want ErrNotFound", err)
		}
	})

	t.Run("CompareAndSwap", func(t *testing.T) {
		db := MustOpenDB(t)
		if err := db.CreateApproval(ctx, testApproval("ap1", t0)); err != nil {
			t.Fatal(err)
		}
		const n = 50
		var (
			wg    sync.WaitGroup
			start = make(chan struct{})
			errs  = make([]error, n)
		)
		for i := range n {
			wg.Go(func() {
				<-start
				_, errs[i] = db.UpdateApproval(ctx, "ap1", startRun)
			})
		}
		close(start)
		wg.Wait()
		won := 0
		for _, err := range errs {
			if err == nil {
				won++
			}
		}
		if won != 1 {
			t.Errorf("%d updates moved the approval to running, want exactly 1", won)
		}
		got, err := db.Approval(ctx, "ap1")
		if err != nil {
			t.Fatal(err)
		}
		if got.State != bot.StateRunning {
			t.Errorf("state = %s, want running", got.State)
		}
	})
}

func TestApprovals(t *testing.T) {
	ctx := context.Background()
	db := MustOpenDB(t)
	// Created out of order, and with IDs that do not sort by time.
	a := testApproval("c", t0)
	b := testApproval("a", t0.Add(time.Minute))
	c := testApproval("b", t0.Add(-time.Minute))
	c.State = bot.StateDone
	d := testApproval("d", t0.Add(2*time.Minute))
	d.State = bot.StateDenied
	for _, x := range []bot.Approval{a, b, c, d} {
		if err := db.CreateApproval(ctx, x); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name   string
		states []bot.ApprovalState
		want   []bot.Approval
	}{
		{"All", nil, []bot.Approval{c, a, b, d}},
		{"Pending", []bot.ApprovalState{bot.StatePending}, []bot.Approval{a, b}},
		{"DoneOrDenied", []bot.ApprovalState{bot.StateDenied, bot.StateDone}, []bot.Approval{c, d}},
		{"None", []bot.ApprovalState{bot.StateUnknown}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := db.Approvals(ctx, tt.states...)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Approvals(%v) (-want +got):\n%s", tt.states, diff)
			}
		})
	}
}
