package store_test

import (
	"context"
	"errors"
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

func TestApproval(t *testing.T) {
	t.Parallel()
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
