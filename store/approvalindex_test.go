package store_test

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/cippbot/cippbot/bot"
	"github.com/cippbot/cippbot/store"
	"github.com/google/go-cmp/cmp"
	"go.etcd.io/bbolt"
)

// mustConsistent fails the test if the approval indexes disagree with the
// approvals.
func mustConsistent(t testing.TB, db *store.DB) {
	t.Helper()
	problems, err := store.ApprovalIndexProblems(db, context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Error("approval index:", p)
	}
}

// ids returns the IDs of list, in order.
func ids(list []bot.Approval) []string {
	var out []string
	for _, a := range list {
		out = append(out, a.ID)
	}
	return out
}

// scanned returns the approvals Approvals() returns that pass keep: what an
// index must give.
func scanned(t testing.TB, db *store.DB, keep func(bot.Approval) bool) []string {
	t.Helper()
	all, err := db.Approvals(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, a := range all {
		if keep(a) {
			out = append(out, a.ID)
		}
	}
	return out
}

func TestApprovalsSince(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := MustOpenDB(t)
	at := func(id string, created time.Time) bot.Approval { return testApproval(id, created) }
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		paris = time.FixedZone("CET", 3600)
	}
	list := []bot.Approval{
		at("zero", time.Time{}),
		at("old", t0.Add(-2*time.Hour)),
		at("b-edge", t0), // exactly at the bound: included
		at("a-edge", t0), // same time, sorted by ID
		at("just-before", t0.Add(-time.Nanosecond)),
		at("paris", t0.Add(time.Minute).In(paris)), // another zone, the same instant order
		at("later", t0.Add(30*time.Minute)),
		at("future", t0.Add(48*time.Hour)),
	}
	for _, a := range list {
		if err := db.CreateApproval(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	for _, since := range []time.Time{time.Time{}, t0.Add(-3 * time.Hour), t0, t0.Add(time.Second), t0.Add(100 * time.Hour)} {
		got, err := db.ApprovalsSince(ctx, since)
		if err != nil {
			t.Fatal(err)
		}
		want := scanned(t, db, func(a bot.Approval) bool { return !a.CreatedAt.Before(since) })
		if diff := cmp.Diff(want, ids(got)); diff != "" {
			t.Errorf("ApprovalsSince(%v) (-want +got):\n%s", since, diff)
		}
		stamps, err := db.ApprovalStampsSince(ctx, since)
		if err != nil {
			t.Fatal(err)
		}
		var fromApprovals []bot.ApprovalStamp
		for _, a := range got {
			fromApprovals = append(fromApprovals, bot.ApprovalStamp{ID: a.ID, CreatedAt: a.CreatedAt.UTC(), Action: a.Action,
				RequesterID: a.Requester.ID, TenantID: a.TenantID})
		}
		if diff := cmp.Diff(fromApprovals, stamps); diff != "" {
			t.Errorf("ApprovalStampsSince(%v) disagrees with ApprovalsSince (-approvals +stamps):\n%s", since, diff)
		}
	}
	got, err := db.ApprovalsSince(ctx, t0)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"a-edge", "b-edge", "paris", "later", "future"}, ids(got)); diff != "" {
		t.Errorf("ApprovalsSince(t0) (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(list[3], got[0]); diff != "" {
		t.Errorf("ApprovalsSince returns the approval as stored (-want +got):\n%s", diff)
	}
	mustConsistent(t, db)
}

func TestApprovalIndexFollowsUpdates(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := MustOpenDB(t)
	for i := range 6 {
		if err := db.CreateApproval(ctx, testApproval(fmt.Sprintf("ap%d", i), t0.Add(time.Duration(i)*time.Minute))); err != nil {
			t.Fatal(err)
		}
	}
	set := func(id string, s bot.ApprovalState) {
		t.Helper()
		if _, err := db.UpdateApproval(ctx, id, func(a *bot.Approval) error { a.State = s; return nil }); err != nil {
			t.Fatal(err)
		}
	}
	set("ap0", bot.StateRunning)
	set("ap1", bot.StateDenied)
	set("ap2", bot.StateRunning)
	set("ap2", bot.StateDone)
	set("ap3", bot.StateExpired)
	set("ap3", bot.StatePending) // back again: the index follows
	// Moving the creation time moves the key by time.
	if _, err := db.UpdateApproval(ctx, "ap5", func(a *bot.Approval) error { a.CreatedAt = t0.Add(-time.Hour); return nil }); err != nil {
		t.Fatal(err)
	}
	// So does a change of what the quota counts by.
	if _, err := db.UpdateApproval(ctx, "ap1", func(a *bot.Approval) error { a.Requester.ID = "slack:U0THER"; return nil }); err != nil {
		t.Fatal(err)
	}
	// A refused update leaves the index alone.
	if _, err := db.UpdateApproval(ctx, "ap4", func(a *bot.Approval) error { a.State = bot.StateDone; return fmt.Errorf("no") }); err == nil {
		t.Fatal("the refused update succeeded")
	}
	mustConsistent(t, db)

	for _, states := range [][]bot.ApprovalState{{bot.StatePending}, {bot.StateRunning}, {bot.StateRunning, bot.StatePending}} {
		got, err := db.Approvals(ctx, states...)
		if err != nil {
			t.Fatal(err)
		}
		want := scanned(t, db, func(a bot.Approval) bool { return slices.Contains(states, a.State) })
		if diff := cmp.Diff(want, ids(got)); diff != "" {
			t.Errorf("Approvals(%v) (-want +got):\n%s", states, diff)
		}
	}
	got, err := db.Approvals(ctx, bot.StatePending)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"ap5", "ap3", "ap4"}, ids(got)); diff != "" {
		t.Errorf("pending (-want +got):\n%s", diff)
	}
	since, err := db.ApprovalsSince(ctx, t0.Add(4*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"ap4"}, ids(since)); diff != "" {
		t.Errorf("since 4m, after ap5 moved back an hour (-want +got):\n%s", diff)
	}
}

func TestPruneApprovals(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := MustOpenDB(t)
	states := []bot.ApprovalState{bot.StateDone, bot.StatePending, bot.StateDenied, bot.StateRunning, bot.StateExpired, bot.StateFailed, bot.StateUnknown}
	// 70 approvals a day apart, in turn in each state.
	var list []bot.Approval
	for i := range 70 {
		a := testApproval(fmt.Sprintf("ap%02d", i), t0.Add(time.Duration(i)*24*time.Hour))
		a.State = states[i%len(states)]
		list = append(list, a)
	}
	if err := db.CreateApprovals(ctx, list); err != nil {
		t.Fatal(err)
	}
	rec := bot.AuditRecord{Time: t0, Kind: bot.KindOutcome, Actor: bot.Actor{ID: "slack:U1"}, Action: "reset-password", ApprovalID: "ap00", Outcome: "ok"}
	if _, err := db.Append(ctx, rec); err != nil {
		t.Fatal(err)
	}
	before := t0.Add(35 * 24 * time.Hour) // ap00..ap34 are older
	decidedBefore := func() []string {
		return scanned(t, db, func(a bot.Approval) bool {
			return a.CreatedAt.Before(before) && a.State != bot.StatePending && a.State != bot.StateRunning
		})
	}
	all := decidedBefore() // 25 of the 35: 10 are pending or running

	if n, err := db.PruneApprovals(ctx, before, 0); n != 0 || err != nil {
		t.Fatalf("PruneApprovals(max 0) = %d, %v", n, err)
	}
	n, err := db.PruneApprovals(ctx, before, 10)
	if err != nil || n != 10 {
		t.Fatalf("PruneApprovals(max 10) = %d, %v; want 10", n, err)
	}
	if diff := cmp.Diff(all[10:], decidedBefore()); diff != "" {
		t.Errorf("the oldest 10 should have gone (-want +got):\n%s", diff)
	}
	mustConsistent(t, db)
	total := n
	for {
		n, err := db.PruneApprovals(ctx, before, 10)
		if err != nil {
			t.Fatal(err)
		}
		total += n
		if n < 10 {
			break
		}
	}
	if total != len(all) {
		t.Errorf("removed %d, want %d", total, len(all))
	}
	if left := decidedBefore(); len(left) != 0 {
		t.Errorf("left behind: %v", left)
	}
	mustConsistent(t, db)
	// Pending and running ones are kept whatever their age, and so is
	// everything from the bound on.
	rest, err := db.Approvals(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(rest), 70-len(all); got != want {
		t.Errorf("%d approvals left, want %d", got, want)
	}
	for _, a := range rest {
		if a.CreatedAt.Before(before) && a.State != bot.StatePending && a.State != bot.StateRunning {
			t.Errorf("%s (%s) was kept", a.ID, a.State)
		}
	}
	if _, err := db.Approval(ctx, "ap00"); err == nil {
		t.Error("ap00 is still there")
	}
	// The audit trail is untouched.
	recs, err := db.Audit(ctx, bot.AuditFilter{})
	if err != nil || len(recs) != 1 || recs[0].ApprovalID != "ap00" {
		t.Errorf("audit after pruning = %+v, %v", recs, err)
	}
	if rep, err := db.VerifyAudit(ctx); err != nil || rep.Records != 1 {
		t.Errorf("VerifyAudit after pruning = %+v, %v", rep, err)
	}
	// Nothing left to remove.
	if n, err := db.PruneApprovals(ctx, before, 10); n != 0 || err != nil {
		t.Errorf("PruneApprovals again = %d, %v", n, err)
	}
}

// TestApprovalIndexBuiltAtOpen opens a file written before the indexes:
// Open builds them once, from the approvals.
func TestApprovalIndexBuiltAtOpen(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "old.db")
	b, err := bbolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	var list []bot.Approval
	err = b.Update(func(tx *bbolt.Tx) error {
		bk, err := tx.CreateBucket([]byte("approvals"))
		if err != nil {
			return err
		}
		for i, s := range []bot.ApprovalState{bot.StatePending, bot.StateDone, bot.StateRunning, bot.StateDenied, bot.StatePending} {
			a := testApproval(fmt.Sprintf("old%d", i), t0.Add(time.Duration(-i)*time.Hour))
			a.State = s
			list = append(list, a)
			v, err := json.Marshal(a)
			if err != nil {
				return err
			}
			if err := bk.Put([]byte(a.ID), v); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	db := store.NewDB(path)
	if err := db.Open(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	mustConsistent(t, db)
	pending, err := db.Approvals(ctx, bot.StatePending)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]bot.Approval{list[4], list[0]}, pending); diff != "" {
		t.Errorf("pending after the build (-want +got):\n%s", diff)
	}
	since, err := db.ApprovalsSince(ctx, t0.Add(-90*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"old1", "old0"}, ids(since)); diff != "" {
		t.Errorf("since -90m (-want +got):\n%s", diff)
	}
	// New approvals after the build are indexed as they come, and a
	// reopen does not build again.
	if err := db.CreateApproval(ctx, testApproval("new", t0.Add(time.Hour))); err != nil {
		t.Fatal(err)
	}
	MustReopen(t, db)
	mustConsistent(t, db)
}

// TestApprovalIndexConcurrent runs creates, state changes and prunes from
// many goroutines at once and checks the indexes after.
func TestApprovalIndexConcurrent(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := MustOpenDB(t)
	const n = 40
	var old []bot.Approval
	for i := range n {
		a := testApproval(fmt.Sprintf("old%02d", i), t0.Add(-time.Duration(n-i)*time.Hour))
		if i%2 == 0 {
			a.State = bot.StateDone
		}
		old = append(old, a)
	}
	if err := db.CreateApprovals(ctx, old); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	start := make(chan struct{})
	// Creators.
	for g := range 4 {
		wg.Go(func() {
			<-start
			for i := range n {
				if err := db.CreateApproval(ctx, testApproval(fmt.Sprintf("new%d-%02d", g, i), t0.Add(time.Duration(i)*time.Second))); err != nil {
					t.Error(err)
				}
			}
		})
	}
	// Racers for the same old pending approvals: pending → running → one of
	// done or failed; only one wins each step.
	steps := [][2]bot.ApprovalState{{bot.StatePending, bot.StateRunning}, {bot.StateRunning, bot.StateDone}, {bot.StateRunning, bot.StateFailed}}
	var won [3][n]int
	var mu sync.Mutex
	for range 6 {
		wg.Go(func() {
			<-start
			for _, st := range steps {
				for i := 1; i < n; i += 2 {
					_, err := db.UpdateApproval(ctx, old[i].ID, func(a *bot.Approval) error {
						if a.State != st[0] {
							return fmt.Errorf("is %s", a.State)
						}
						a.State = st[1]
						return nil
					})
					if err == nil {
						mu.Lock()
						won[slices.Index(steps, st)][i]++
						mu.Unlock()
					}
				}
			}
		})
	}
	// A pruner of everything decided before t0.
	wg.Go(func() {
		<-start
		for range 20 {
			if _, err := db.PruneApprovals(ctx, t0, 3); err != nil {
				t.Error(err)
			}
		}
	})
	// Readers.
	wg.Go(func() {
		<-start
		for range 20 {
			if _, err := db.Approvals(ctx, bot.StatePending, bot.StateRunning); err != nil {
				t.Error(err)
			}
			if _, err := db.ApprovalsSince(ctx, t0); err != nil {
				t.Error(err)
			}
		}
	})
	close(start)
	wg.Wait()
	for i := 1; i < n; i += 2 {
		if won[0][i] != 1 || won[1][i]+won[2][i] > 1 {
			t.Errorf("%s: %d moved it to running, %d to done, %d to failed", old[i].ID, won[0][i], won[1][i], won[2][i])
		}
	}
	mustConsistent(t, db)
	// Whatever is still before t0 is pending or running, or the pruner ran
	// out of turns; one more round takes the rest.
	for {
		n, err := db.PruneApprovals(ctx, t0, 100)
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
	}
	left, err := db.Approvals(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range left {
		if a.CreatedAt.Before(t0) && a.State != bot.StateRunning && a.State != bot.StatePending {
			t.Errorf("%s (%s) was not pruned", a.ID, a.State)
		}
	}
	if got := len(left); got < 4*n {
		t.Errorf("%d approvals left, want at least the %d new ones", got, 4*n)
	}
	mustConsistent(t, db)
}
