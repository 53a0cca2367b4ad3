package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cippbot/cippbot/bot"
	"github.com/cippbot/cippbot/store"
	"github.com/google/go-cmp/cmp"
	"go.etcd.io/bbolt"
)

// Raw names in the file, for tests that change it behind the store's back.
const (
	indexBucket = "audit_by_target"
	indexState  = "audit_index"
)

// refAudit is what Audit should return for f, worked out from every record
// of the trail (oldest first) the obvious way.
func refAudit(all []bot.AuditRecord, f bot.AuditFilter) []bot.AuditRecord {
	var out []bot.AuditRecord
	want := strings.ToLower(f.Target)
	for _, r := range all {
		if !f.Since.IsZero() && r.Time.Before(f.Since) {
			continue
		}
		if f.Target != "" && !slices.ContainsFunc(r.Targets, func(t bot.Target) bool {
			return strings.ToLower(t.UPN) == want || strings.ToLower(t.ID) == want
		}) {
			continue
		}
		out = append(out, r)
	}
	if f.Limit > 0 && len(out) > f.Limit {
		out = out[len(out)-f.Limit:]
	}
	return out
}

// checkAudit checks that Audit and refAudit agree on f, and if scan is set
// Audit without the index too. It compares sequence numbers: the records all
// come from the store.
func checkAudit(t *testing.T, db *store.DB, all []bot.AuditRecord, f bot.AuditFilter, scan bool) {
	t.Helper()
	ctx := context.Background()
	want := seqs(refAudit(all, f))
	got, err := db.Audit(ctx, f)
	if err != nil {
		t.Fatalf("Audit(%+v): %v", f, err)
	}
	if diff := cmp.Diff(want, seqs(got)); diff != "" {
		t.Errorf("Audit(%+v) (-want +got):\n%s", f, diff)
	}
	if !scan {
		return
	}
	got, err = store.AuditScan(db, ctx, f)
	if err != nil {
		t.Fatalf("AuditScan(%+v): %v", f, err)
	}
	if diff := cmp.Diff(want, seqs(got)); diff != "" {
		t.Errorf("AuditScan(%+v) (-want +got):\n%s", f, diff)
	}
}

func seqs(recs []bot.AuditRecord) []uint64 {
	out := make([]uint64, len(recs))
	for i, r := range recs {
		out[i] = r.Seq
	}
	return out
}

// longName is a name longer than an index key holds; longName+"1" and
// longName+"2" share their index prefix.
var longName = strings.Repeat("a", 600)

// indexNames are the UPNs and IDs of randomRecords' targets.
var indexNames = []string{
	"alice@contoso.com", "Bob@Contoso.com", "carol@fabrikam.com", "al", "al\x00ice@contoso.com",
	"id-1", "ID-2", "id-3", "Ünïcode@contoso.com", longName + "1", longName + "2", "",
}

// randomRecords returns n records with 0 to 3 random targets each and
// random times, not in order.
func randomRecords(rng *rand.Rand, n int) []bot.AuditRecord {
	recs := make([]bot.AuditRecord, n)
	pick := func() string { return indexNames[rng.IntN(len(indexNames))] }
	for i := range recs {
		r := testRecord(i)
		r.Time = t0.Add(time.Duration(rng.IntN(1000)) * time.Minute)
		r.Targets = nil
		for range rng.IntN(4) {
			t := bot.Target{UPN: pick(), ID: pick()}
			if rng.IntN(5) == 0 {
				t.ID = strings.ToUpper(t.UPN) // the same name twice
			}
			r.Targets = append(r.Targets, t)
		}
		recs[i] = r
	}
	return recs
}

// fill appends recs, the first half in batches, the rest one by one, and
// returns the whole trail.
func fill(t *testing.T, db *store.DB, recs []bot.AuditRecord) []bot.AuditRecord {
	t.Helper()
	ctx := context.Background()
	half := len(recs) / 2
	for i := 0; i < half; i += 50 {
		if err := store.AppendBatch(db, ctx, recs[i:min(i+50, half)]); err != nil {
			t.Fatal(err)
		}
	}
	for _, r := range recs[half:] {
		if _, err := db.Append(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	all, err := db.Audit(ctx, bot.AuditFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != len(recs) {
		t.Fatalf("%d records, want %d", len(all), len(recs))
	}
	return all
}

// queries returns the filters the index tests check: every name (as stored
// and in upper case) and some unknown ones, each with and without Since, and
// with each of limits.
func queries(limits ...int) []bot.AuditFilter {
	names := []string{"nobody@contoso.com", "a", longName, longName + "3", "al\x00"}
	for _, n := range indexNames {
		if n != "" {
			names = append(names, n, strings.ToUpper(n))
		}
	}
	var fs []bot.AuditFilter
	for _, n := range names {
		for _, since := range []time.Time{{}, t0.Add(300 * time.Minute), t0.Add(990 * time.Minute)} {
			for _, limit := range limits {
				fs = append(fs, bot.AuditFilter{Target: n, Since: since, Limit: limit})
			}
		}
	}
	return fs
}

func TestAuditIndex(t *testing.T) {
	t.Parallel()
	db := MustOpenDB(t)
	rng := rand.New(rand.NewPCG(1, 2))
	all := fill(t, db, randomRecords(rng, 200))
	fs := queries(0, 1, 3, 10, 1000)
	for _, f := range fs {
		checkAudit(t, db, all, f, f.Limit == 3 || f.Limit == 0 && f.Since.IsZero())
	}
	// Every query with a result was checked on some records.
	found := 0
	for _, f := range fs {
		if len(refAudit(all, f)) > 0 {
			found++
		}
	}
	if found < len(fs)/2 {
		t.Errorf("only %d of %d queries have results; the test checks little", found, len(fs))
	}
	if rep, err := db.VerifyAudit(context.Background()); err != nil || rep.Records != len(all) {
		t.Errorf("VerifyAudit = %+v, %v", rep, err)
	}
}

func TestAppendBatch(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := MustOpenDB(t)
	first := mustAppend(t, db, 2)
	recs := []bot.AuditRecord{testRecord(2), testRecord(3), testRecord(4)}
	recs[1].Time = time.Time{}
	now := t0.Add(time.Hour)
	db.Now = func() time.Time { return now }
	if err := store.AppendBatch(db, ctx, recs); err != nil {
		t.Fatal(err)
	}
	got, err := db.Audit(ctx, bot.AuditFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 5 || got[2].PrevHash != first[1].Hash || got[4].Seq != 5 || !got[3].Time.Equal(now) {
		t.Errorf("after the batch: %+v", got)
	}
	if rep, err := db.VerifyAudit(ctx); err != nil || rep.Records != 5 || rep.HeadHash != got[4].Hash {
		t.Errorf("VerifyAudit = %+v, %v", rep, err)
	}

	// A batch with one bad record stores none of them.
	bad := []bot.AuditRecord{testRecord(5), testRecord(6)}
	bad[1].Time = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)
	if err := store.AppendBatch(db, ctx, bad); err == nil || !strings.Contains(err.Error(), "record 2 of 2") {
		t.Errorf("AppendBatch error = %v, want it to name record 2", err)
	}
	if got, err := db.Audit(ctx, bot.AuditFilter{}); err != nil || len(got) != 5 {
		t.Errorf("after the failed batch: %d records, %v; want 5", len(got), err)
	}
	if got, err := db.Audit(ctx, bot.AuditFilter{Target: "alice@contoso.com"}); err != nil || len(got) != 2 {
		t.Errorf("alice's records after the failed batch: %d, %v; want 2", len(got), err)
	}
	r, err := db.Append(ctx, testRecord(5))
	if err != nil || r.Seq != 6 {
		t.Errorf("Append after the failed batch = %d, %v; want record 6", r.Seq, err)
	}
}

// rawUpdate closes db, changes its file with bbolt directly, and, unless
// reopen is false, opens it again.
func rawUpdate(t *testing.T, db *store.DB, reopen bool, fn func(tx *bbolt.Tx) error) {
	t.Helper()
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	b, err := bbolt.Open(db.Path, 0o600, &bbolt.Options{Timeout: time.Second, NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Update(fn); err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if reopen {
		if err := db.Open(); err != nil {
			t.Fatal(err)
		}
	}
}

// rawState returns the index state stored in db's file, and how many keys
// the index holds, with db closed; it opens db again.
func rawState(t *testing.T, db *store.DB) (state map[string]uint64, keys int) {
	t.Helper()
	rawUpdate(t, db, true, func(tx *bbolt.Tx) error {
		bk := tx.Bucket([]byte(indexBucket))
		if bk == nil {
			return errors.New("no index bucket")
		}
		keys = bk.Stats().KeyN
		return json.Unmarshal(tx.Bucket([]byte("meta")).Get([]byte(indexState)), &state)
	})
	return state, keys
}

func TestAuditIndexMigration(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(3, 4))

	// setup returns a store with a trail, the trail, its verification
	// report and how many keys the index has.
	setup := func(t *testing.T) (*store.DB, []bot.AuditRecord, store.VerifyReport, int) {
		db := MustOpenDB(t)
		all := fill(t, db, randomRecords(rng, 100))
		rep, err := db.VerifyAudit(ctx)
		if err != nil {
			t.Fatal(err)
		}
		state, keys := rawState(t, db)
		if want := map[string]uint64{"version": 1, "seq": 100}; !cmp.Equal(state, want) {
			t.Errorf("index state = %v, want %v", state, want)
		}
		return db, all, rep, keys
	}
	// check checks queries, the index state and that VerifyAudit says what
	// it said before.
	check := func(t *testing.T, db *store.DB, all []bot.AuditRecord, rep store.VerifyReport, keys int) {
		t.Helper()
		for _, f := range queries(0, 3) {
			checkAudit(t, db, all, f, false)
		}
		got, err := db.VerifyAudit(ctx)
		if err != nil {
			t.Errorf("VerifyAudit: %v", err)
		}
		if diff := cmp.Diff(rep, got); diff != "" {
			t.Errorf("VerifyAudit report (-before +after):\n%s", diff)
		}
		state, n := rawState(t, db)
		if want := map[string]uint64{"version": 1, "seq": uint64(len(all))}; !cmp.Equal(state, want) {
			t.Errorf("index state = %v, want %v", state, want)
		}
		if n != keys {
			t.Errorf("index has %d keys, want %d", n, keys)
		}
	}

	t.Run("FromBeforeTheIndex", func(t *testing.T) {
		db, all, rep, keys := setup(t)
		rawUpdate(t, db, false, func(tx *bbolt.Tx) error {
			if err := tx.DeleteBucket([]byte(indexBucket)); err != nil {
				return err
			}
			return tx.Bucket([]byte("meta")).Delete([]byte(indexState))
		})
		if err := db.Open(); err != nil {
			t.Fatal(err)
		}
		check(t, db, all, rep, keys)
		// Appending goes on indexing.
		r, err := db.Append(ctx, testRecord(0))
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, r)
		got, err := db.Audit(ctx, bot.AuditFilter{Target: "ALICE@contoso.com", Limit: 1})
		if err != nil || len(got) != 1 || got[0].Seq != r.Seq {
			t.Errorf("newest record of alice = %+v, %v; want record %d", got, err, r.Seq)
		}
		check(t, db, all, store.VerifyReport{Records: len(all), Head: r.Seq, HeadHash: r.Hash}, keys+2)
	})

	t.Run("StateOnly", func(t *testing.T) {
		// An index without a state is not trusted: it is built again.
		db, all, rep, keys := setup(t)
		rawUpdate(t, db, true, func(tx *bbolt.Tx) error {
			if err := tx.Bucket([]byte(indexBucket)).Put([]byte("stale\x00\x00\x00\x00\x00\x00\x00\x00\x01"), []byte{}); err != nil {
				return err
			}
			return tx.Bucket([]byte("meta")).Delete([]byte(indexState))
		})
		check(t, db, all, rep, keys)
	})

	t.Run("OtherVersion", func(t *testing.T) {
		db, all, rep, keys := setup(t)
		rawUpdate(t, db, true, func(tx *bbolt.Tx) error {
			if err := tx.DeleteBucket([]byte(indexBucket)); err != nil {
				return err
			}
			if _, err := tx.CreateBucket([]byte(indexBucket)); err != nil {
				return err
			}
			return tx.Bucket([]byte("meta")).Put([]byte(indexState), []byte(`{"version":99,"seq":100}`))
		})
		check(t, db, all, rep, keys)
	})

	t.Run("Behind", func(t *testing.T) {
		// Records appended by a version that did not index them: the
		// index holds records up to 60, and its state says so.
		db, all, rep, keys := setup(t)
		rawUpdate(t, db, true, func(tx *bbolt.Tx) error {
			bk := tx.Bucket([]byte(indexBucket))
			var stale [][]byte
			err := bk.ForEach(func(k, _ []byte) error {
				if seq := k[len(k)-8:]; string(seq) > string(key(60)) {
					stale = append(stale, slices.Clone(k))
				}
				return nil
			})
			if err != nil {
				return err
			}
			for _, k := range stale {
				if err := bk.Delete(k); err != nil {
					return err
				}
			}
			return tx.Bucket([]byte("meta")).Put([]byte(indexState), []byte(`{"version":1,"seq":60}`))
		})
		check(t, db, all, rep, keys)
	})

	t.Run("Unreadable", func(t *testing.T) {
		db, all, rep, keys := setup(t)
		rawUpdate(t, db, true, func(tx *bbolt.Tx) error {
			return tx.Bucket([]byte("meta")).Put([]byte(indexState), []byte(`not json`))
		})
		check(t, db, all, rep, keys)
	})

	t.Run("TamperedTrail", func(t *testing.T) {
		// Building the index over a trail with a broken record leaves
		// that record out, and VerifyAudit still reports it.
		db, _, _, _ := setup(t)
		rawUpdate(t, db, true, func(tx *bbolt.Tx) error {
			if err := tx.Bucket([]byte("audit")).Put(key(7), []byte("gone")); err != nil {
				return err
			}
			if err := tx.DeleteBucket([]byte(indexBucket)); err != nil {
				return err
			}
			return tx.Bucket([]byte("meta")).Delete([]byte(indexState))
		})
		_, err := db.VerifyAudit(ctx)
		var ae *store.AuditError
		if !errors.As(err, &ae) || ae.Seq != 7 {
			t.Errorf("VerifyAudit error = %v, want record 7 broken", err)
		}
	})
}

// TestAuditIndexNotVerified checks that the index is no part of what
// VerifyAudit checks, and that a record removed behind the store's back is
// not returned from the index.
func TestAuditIndexNotVerified(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := MustOpenDB(t)
	recs := mustAppend(t, db, 9) // targets: alice, bob, carol, alice, ...
	rep, err := db.VerifyAudit(ctx)
	if err != nil {
		t.Fatal(err)
	}
	rawUpdate(t, db, true, func(tx *bbolt.Tx) error {
		bk := tx.Bucket([]byte(indexBucket))
		if err := bk.Delete(append([]byte("bob@contoso.com\x00"), key(2)...)); err != nil {
			return err
		}
		return bk.Put(append([]byte("extra\x00"), key(1)...), []byte{})
	})
	if got, err := db.VerifyAudit(ctx); err != nil || got != rep {
		t.Errorf("VerifyAudit after the index changed = %+v, %v; want %+v", got, err, rep)
	}

	// The index answers what it holds, checked against the records.
	got, err := db.Audit(ctx, bot.AuditFilter{Target: "bob@contoso.com"})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]bot.AuditRecord{recs[4], recs[7]}, got); diff != "" {
		t.Errorf("bob's records (-want +got):\n%s", diff)
	}
	if got, err := db.Audit(ctx, bot.AuditFilter{Target: "extra"}); err != nil || len(got) != 0 {
		t.Errorf("records of a target no record has = %+v, %v", got, err)
	}

	// A record removed from the trail is not returned.
	rawUpdate(t, db, true, func(tx *bbolt.Tx) error {
		return tx.Bucket([]byte("audit")).Delete(key(4))
	})
	got, err = db.Audit(ctx, bot.AuditFilter{Target: "id-alice@contoso.com"})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]bot.AuditRecord{recs[0], recs[6]}, got); diff != "" {
		t.Errorf("alice's records (-want +got):\n%s", diff)
	}
	var ae *store.AuditError
	if _, err := db.VerifyAudit(ctx); !errors.As(err, &ae) || ae.Seq != 4 {
		t.Errorf("VerifyAudit error = %v, want record 4 missing", err)
	}
}

// TestAuditIndexLongTarget checks that a target of any length (typed into
// chat, say) is indexed: longer than a bbolt key may be.
func TestAuditIndexLongTarget(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := MustOpenDB(t)
	huge := strings.Repeat("x", 40000)
	var want []uint64
	for i, upn := range []string{huge + "@contoso.com", huge + "@fabrikam.com", huge} {
		r := testRecord(i)
		r.Kind = bot.KindRefused
		r.Targets = []bot.Target{{UPN: upn}}
		got, err := db.Append(ctx, r)
		if err != nil {
			t.Fatal(err)
		}
		if i == 1 {
			want = append(want, got.Seq)
		}
	}
	for _, limit := range []int{0, 1} {
		got, err := db.Audit(ctx, bot.AuditFilter{Target: strings.ToUpper(huge) + "@fabrikam.com", Limit: limit})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, seqs(got)); diff != "" {
			t.Errorf("Limit %d (-want +got):\n%s", limit, diff)
		}
	}
}
