package store_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/cippbot/cippbot/bot"
	"github.com/cippbot/cippbot/internal/testmain"
	"github.com/cippbot/cippbot/store"
)

// The big store is a trail of bigRecords records over bigTargets targets,
// each target in every bigTargets-th record. It is built once per test
// process, by the first benchmark that needs it, and removed by TestMain.
const (
	bigRecords = 1_000_000
	bigTargets = 1_000
	bigBatch   = 10_000 // records per transaction while building
)

var big struct {
	once sync.Once
	dir  string
	db   *store.DB
	took time.Duration
	err  error
}

func TestMain(m *testing.M) {
	testmain.Parallel(8)
	code := m.Run()
	if big.db != nil {
		if err := big.db.Close(); err != nil {
			fmt.Fprintln(os.Stderr, err)
		}
	}
	if big.dir != "" {
		os.RemoveAll(big.dir)
	}
	os.Exit(code)
}

// bigTarget returns the n-th target of the big store.
func bigTarget(n int) bot.Target {
	return bot.Target{
		ID:  fmt.Sprintf("00000000-0000-4000-8000-%012d", n),
		UPN: fmt.Sprintf("user%04d@contoso.com", n),
	}
}

// bigRecord returns the i-th record of the big store.
func bigRecord(i int) bot.AuditRecord {
	return bot.AuditRecord{
		Time:     t0.Add(time.Duration(i) * time.Second),
		Kind:     bot.KindOutcome,
		Platform: "slack",
		Channel:  "C0001",
		Actor:    bot.Actor{ID: "slack:U0123ABCD", Name: "riley"},
		Action:   "reset-password",
		TenantID: "6b1a0c3e-0000-4000-8000-000000000001",
		Tenant:   "contoso.com",
		Targets:  []bot.Target{bigTarget(i % bigTargets)},
		Outcome:  "ok",
	}
}

// bigStore returns the big store, building it if this is the first call.
// It skips the benchmark under -short.
func bigStore(b *testing.B) *store.DB {
	b.Helper()
	if testing.Short() {
		b.Skip("skipped under -short: builds a store of 1,000,000 audit records")
	}
	big.once.Do(func() {
		start := time.Now()
		dir, err := os.MkdirTemp("", "cippbot-bench-")
		if err != nil {
			big.err = err
			return
		}
		big.dir = dir
		db := store.NewDB(filepath.Join(dir, "big.db"))
		if err := db.Open(); err != nil {
			big.err = err
			return
		}
		ctx := context.Background()
		recs := make([]bot.AuditRecord, bigBatch)
		for i := 0; i < bigRecords; i += bigBatch {
			for j := range recs {
				recs[j] = bigRecord(i + j)
			}
			if err := store.AppendBatch(db, ctx, recs); err != nil {
				db.Close()
				big.err = err
				return
			}
		}
		big.db = db
		big.took = time.Since(start)
	})
	if big.err != nil {
		b.Fatal(big.err)
	}
	fi, err := os.Stat(big.db.Path)
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("store of %d records (%d transactions of %d), %d MB, built in %v",
		bigRecords, bigRecords/bigBatch, bigBatch, fi.Size()>>20, big.took.Round(time.Millisecond))
	return big.db
}

// benchAudit runs audit with f, first checking that it returns the want
// newest records.
func benchAudit(b *testing.B, audit func(context.Context, bot.AuditFilter) ([]bot.AuditRecord, error), f bot.AuditFilter, want []uint64) {
	b.Helper()
	ctx := context.Background()
	got, err := audit(ctx, f)
	if err != nil {
		b.Fatal(err)
	}
	if len(got) != len(want) {
		b.Fatalf("%d records, want %d", len(got), len(want))
	}
	for i, r := range got {
		if r.Seq != want[i] {
			b.Fatalf("record %d has Seq %d, want %d", i, r.Seq, want[i])
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := audit(ctx, f); err != nil {
			b.Fatal(err)
		}
	}
}

// newestOf returns the sequence numbers of the newest n records of the big
// store's target t (all of them if t < 0), oldest first.
func newestOf(t, n int) []uint64 {
	var seqs []uint64
	for i := bigRecords - 1; i >= 0 && len(seqs) < n; i-- {
		if t < 0 || i%bigTargets == t {
			seqs = append(seqs, uint64(i+1))
		}
	}
	for i, j := 0, len(seqs)-1; i < j; i, j = i+1, j-1 {
		seqs[i], seqs[j] = seqs[j], seqs[i]
	}
	return seqs
}

// BenchmarkAuditByTarget asks for the newest 10 records of one target, which
// the index serves reading only those records.
func BenchmarkAuditByTarget(b *testing.B) {
	db := bigStore(b)
	f := bot.AuditFilter{Target: bigTarget(500).UPN, Limit: 10}
	benchAudit(b, db.Audit, f, newestOf(500, 10))
}

// BenchmarkAuditByTargetScan asks the same without the index, reading the
// trail back from the end until it has 10 of the target's records (about
// 10,000 records here): how Audit worked before the index.
func BenchmarkAuditByTargetScan(b *testing.B) {
	db := bigStore(b)
	f := bot.AuditFilter{Target: bigTarget(500).UPN, Limit: 10}
	scan := func(ctx context.Context, f bot.AuditFilter) ([]bot.AuditRecord, error) {
		return store.AuditScan(db, ctx, f)
	}
	benchAudit(b, scan, f, newestOf(500, 10))
}

// BenchmarkAuditAllNewest asks for the newest 10 records of any target: the
// unindexed path, which reads the last 10 records of the trail.
func BenchmarkAuditAllNewest(b *testing.B) {
	db := bigStore(b)
	benchAudit(b, db.Audit, bot.AuditFilter{Limit: 10}, newestOf(-1, 10))
}
