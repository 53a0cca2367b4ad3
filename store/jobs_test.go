package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/cippbot/cippbot/actions"
	"github.com/cippbot/cippbot/bot"
)

func TestJobs(t *testing.T) {
	db := MustOpenDB(t)
	ctx := context.Background()
	j := bot.Job{ID: "j1", Action: "add-user", TenantID: "t", Target: bot.Target{ID: "u1", UPN: "jane@contoso.com"}, What: "add to Newsletter",
		Op: actions.Op{Kind: actions.OpAddDistributionMember, GroupID: "g1", UserID: "u1"}, NextAt: time.Date(2026, 12, 6, 9, 5, 0, 0, time.UTC)}
	if err := db.PutJob(ctx, j); err != nil {
		t.Fatal(err)
	}
	j.Attempts = 1
	if err := db.PutJob(ctx, j); err != nil {
		t.Fatal(err)
	}
	got, err := db.Jobs(ctx)
	if err != nil || len(got) != 1 || got[0].Attempts != 1 || got[0].Op.Kind != actions.OpAddDistributionMember || !got[0].NextAt.Equal(j.NextAt) {
		t.Fatalf("Jobs = %+v, %v", got, err)
	}
	if err := db.DeleteJob(ctx, "j1"); err != nil {
		t.Fatal(err)
	}
	if err := db.DeleteJob(ctx, "j1"); !errors.Is(err, bot.ErrNotFound) {
		t.Fatalf("second delete: %v", err)
	}
	if err := db.PutJob(ctx, bot.Job{}); err == nil {
		t.Fatal("a job without an ID was stored")
	}
}
