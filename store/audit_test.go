package store_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/cippbot/cippbot/bot"
	"github.com/cippbot/cippbot/store"
	"github.com/google/go-cmp/cmp"
	"go.etcd.io/bbolt"
)

// testRecord returns the i-th record of a small made-up trail.
func testRecord(i int) bot.AuditRecord {
	upn := []string{"alice@contoso.com", "bob@contoso.com", "carol@fabrikam.com"}[i%3]
	return bot.AuditRecord{
		Time:       t0.Add(time.Duration(i) * time.Minute),
		Kind:       bot.KindRequest,
		Platform:   "slack",
		Workspace:  "T0001",
		Channel:    "C0001",
		Actor:      bot.Actor{ID: "slack:U0123ABCD", Name: "riley"},
		Action:     "reset-password",
		TenantID:   "6b1a0c3e-0000-4000-8000-000000000001",
		Tenant:     "contoso.com",
		Targets:    []bot.Target{{ID: "id-" + upn, UPN: upn}},
		Params:     map[string]string{"notify": "true", "length": "16"},
		Reason:     "locked out",
		Outcome:    "ok",
		RequestIDs: []string{"req-1", "req-2"},
		DurationMS: 120,
	}
}

// mustAppend appends n test records and returns them as stored.
func mustAppend(tb testing.TB, db *store.DB, n int) []bot.AuditRecord {
	tb.Helper()
	var out []bot.AuditRecord
	for i := range n {
		r, err := db.Append(context.Background(), testRecord(i))
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, r)
	}
	return out
}

func TestAppend(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("Chain", func(t *testing.T) {
		db := MustOpenDB(t)
		recs := mustAppend(t, db, 5)
		prev := ""
		for i, r := range recs {
			if r.Seq != uint64(i+1) {
				t.Errorf("record %d: Seq = %d", i, r.Seq)
			}
			if r.Version != bot.AuditVersion {
				t.Errorf("record %d: Version = %d", i, r.Version)
			}
			if r.PrevHash != prev {
				t.Errorf("record %d: PrevHash = %q, want %q", i, r.PrevHash, prev)
			}
			if r.Hash == "" || r.Hash != r.ComputeHash() {
				t.Errorf("record %d: Hash = %q, want %q", i, r.Hash, r.ComputeHash())
			}
			prev = r.Hash
		}
		got, err := db.Audit(ctx, bot.AuditFilter{})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(recs, got); diff != "" {
			t.Errorf("Audit differs from what Append returned (-want +got):\n%s", diff)
		}
	})

	t.Run("Time", func(t *testing.T) {
		db := MustOpenDB(t)
		now := time.Date(2025, 1, 2, 3, 4, 5, 6, time.FixedZone("CET", 3600))
		db.Now = func() time.Time { return now }
		r := testRecord(0)
		r.Time = time.Time{}
		got, err := db.Append(ctx, r)
		if err != nil {
			t.Fatal(err)
		}
		if !got.Time.Equal(now) || got.Time.Location() != time.UTC {
			t.Errorf("Time = %v, want %v in UTC", got.Time, now.UTC())
		}
		// A given time is kept, in UTC, to the nanosecond.
		r.Time = now.Add(time.Nanosecond)
		got, err = db.Append(ctx, r)
		if err != nil {
			t.Fatal(err)
		}
		if !got.Time.Equal(now.Add(time.Nanosecond)) || got.Time.Location() != time.UTC {
			t.Errorf("Time = %v, want %v in UTC", got.Time, now.Add(time.Nanosecond).UTC())
		}
		stored, err := db.Audit(ctx, bot.AuditFilter{Limit: 1})
		if err != nil {
			t.Fatal(err)
		}
		if s := stored[0].Time; !s.Equal(got.Time) || s.Location() != time.UTC {
			t.Errorf("stored Time = %v, want %v", s, got.Time)
		}
	})

	t.Run("OverridesChainFields", func(t *testing.T) {
		db := MustOpenDB(t)
		r := testRecord(0)
		r.Version, r.Seq, r.PrevHash, r.Hash = 7, 99, "forged", "forged"
		got, err := db.Append(ctx, r)
		if err != nil {
			t.Fatal(err)
		}
		if got.Version != bot.AuditVersion || got.Seq != 1 || got.PrevHash != "" || got.Hash != got.ComputeHash() {
			t.Errorf("Append kept caller's chain fields: %+v", got)
		}
	})

	t.Run("InvalidUTF8", func(t *testing.T) {
		db := MustOpenDB(t)
		r := testRecord(0)
		r.Reason = "bad \xff byte"
		r.Params = map[string]string{"k\xfe": "v\xfd"}
		got, err := db.Append(ctx, r)
		if err != nil {
			t.Fatal(err)
		}
		if got.Hash != got.ComputeHash() {
			t.Error("returned record does not hash to its Hash")
		}
		if _, err := db.VerifyAudit(ctx); err != nil {
			t.Errorf("VerifyAudit: %v", err)
		}
	})

	t.Run("ErrTimeOutOfRange", func(t *testing.T) {
		db := MustOpenDB(t)
		r := testRecord(0)
		r.Time = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)
		if _, err := db.Append(ctx, r); err == nil {
			t.Fatal("Append of a time JSON cannot hold succeeded")
		}
		// The failed append used no sequence number.
		got, err := db.Append(ctx, testRecord(1))
		if err != nil {
			t.Fatal(err)
		}
		if got.Seq != 1 {
			t.Errorf("Seq = %d, want 1", got.Seq)
		}
	})

	t.Run("SurvivesReopen", func(t *testing.T) {
		db := MustOpenDB(t)
		first := mustAppend(t, db, 2)
		MustReopen(t, db)
		r, err := db.Append(ctx, testRecord(2))
		if err != nil {
			t.Fatal(err)
		}
		if r.Seq != 3 || r.PrevHash != first[1].Hash {
			t.Errorf("after reopen: Seq = %d, PrevHash = %q; want 3, %q", r.Seq, r.PrevHash, first[1].Hash)
		}
		if rep, err := db.VerifyAudit(ctx); err != nil || rep.Records != 3 {
			t.Errorf("VerifyAudit = %+v, %v", rep, err)
		}
	})
}

func TestAudit(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := MustOpenDB(t)
	recs := mustAppend(t, db, 7) // targets: alice, bob, carol, alice, bob, carol, alice
	tests := []struct {
		name string
		f    bot.AuditFilter
		want []bot.AuditRecord
	}{
		{"All", bot.AuditFilter{}, recs},
		{"TargetUPN", bot.AuditFilter{Target: "ALICE@contoso.com"}, []bot.AuditRecord{recs[0], recs[3], recs[6]}},
		{"TargetID", bot.AuditFilter{Target: "id-bob@contoso.com"}, []bot.AuditRecord{recs[1], recs[4]}},
		{"TargetNone", bot.AuditFilter{Target: "dave@contoso.com"}, nil},
		{"Limit", bot.AuditFilter{Limit: 2}, recs[5:]},
		{"LimitAboveCount", bot.AuditFilter{Limit: 100}, recs},
		{"LimitTarget", bot.AuditFilter{Target: "alice@contoso.com", Limit: 2}, []bot.AuditRecord{recs[3], recs[6]}},
		{"Since", bot.AuditFilter{Since: recs[4].Time}, recs[4:]},
		{"SinceOtherZone", bot.AuditFilter{Since: recs[4].Time.In(time.FixedZone("X", -5*3600))}, recs[4:]},
		{"SinceLimit", bot.AuditFilter{Since: recs[2].Time, Limit: 10}, recs[2:]},
		{"SinceTarget", bot.AuditFilter{Since: recs[2].Time, Target: "carol@fabrikam.com"}, []bot.AuditRecord{recs[2], recs[5]}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := db.Audit(ctx, tt.f)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Audit(%+v) (-want +got):\n%s", tt.f, diff)
			}
		})
	}
}

func TestVerifyAudit(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("Empty", func(t *testing.T) {
		db := MustOpenDB(t)
		rep, err := db.VerifyAudit(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(store.VerifyReport{}, rep); diff != "" {
			t.Errorf("report (-want +got):\n%s", diff)
		}
	})

	t.Run("OK", func(t *testing.T) {
		db := MustOpenDB(t)
		recs := mustAppend(t, db, 10)
		rep, err := db.VerifyAudit(ctx)
		if err != nil {
			t.Fatal(err)
		}
		want := store.VerifyReport{Records: 10, Head: 10, HeadHash: recs[9].Hash}
		if diff := cmp.Diff(want, rep); diff != "" {
			t.Errorf("report (-want +got):\n%s", diff)
		}
	})

	t.Run("ManyBatches", func(t *testing.T) {
		// More records than one read transaction takes, with more appended
		// while the check runs.
		db := MustOpenDB(t)
		mustAppend(t, db, 1100)
		done := make(chan error)
		go func() {
			for i := range 50 {
				if _, err := db.Append(ctx, testRecord(i)); err != nil {
					done <- err
					return
				}
			}
			done <- nil
		}()
		rep, err := db.VerifyAudit(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if rep.Records < 1100 || rep.Head != uint64(rep.Records) {
			t.Errorf("report = %+v", rep)
		}
		rep, err = db.VerifyAudit(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if rep.Records != 1150 || rep.Head != 1150 {
			t.Errorf("report = %+v, want 1150 records", rep)
		}
	})
}

// tamper closes db, changes its file with bbolt directly, and opens it again.
func tamper(t *testing.T, db *store.DB, fn func(audit, meta *bbolt.Bucket) error) {
	t.Helper()
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	b, err := bbolt.Open(db.Path, 0o600, &bbolt.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	err = b.Update(func(tx *bbolt.Tx) error {
		return fn(tx.Bucket([]byte("audit")), tx.Bucket([]byte("meta")))
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if err := db.Open(); err != nil {
		t.Fatal(err)
	}
}

func key(seq uint64) []byte { return binary.BigEndian.AppendUint64(nil, seq) }

// edit replaces old with new in the stored JSON of record seq.
func edit(seq uint64, old, new string) func(audit, meta *bbolt.Bucket) error {
	return func(audit, _ *bbolt.Bucket) error {
		v := audit.Get(key(seq))
		if !bytes.Contains(v, []byte(old)) {
			return errors.New("record does not hold " + old)
		}
		return audit.Put(key(seq), bytes.Replace(v, []byte(old), []byte(new), 1))
	}
}

// rewrite decodes record seq, calls fn on it, and stores it back, with its
// hash recomputed if rehash is set.
func rewrite(seq uint64, rehash bool, fn func(*bot.AuditRecord)) func(audit, meta *bbolt.Bucket) error {
	return func(audit, _ *bbolt.Bucket) error {
		var r bot.AuditRecord
		if err := json.Unmarshal(audit.Get(key(seq)), &r); err != nil {
			return err
		}
		fn(&r)
		if rehash {
			r.Hash = r.ComputeHash()
		}
		b, err := json.Marshal(r)
		if err != nil {
			return err
		}
		return audit.Put(key(seq), b)
	}
}

func TestVerifyAuditTampered(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tests := []struct {
		name    string
		tamper  func(audit, meta *bbolt.Bucket) error
		seq     uint64
		reason  string
		records int // records verified before the problem
	}{
		{
			name:    "ChangedValue",
			tamper:  edit(3, `"reset-password"`, `"disable-user"`),
			seq:     3,
			reason:  "hash does not match its contents",
			records: 2,
		},
		{
			name:   "ChangedTime",
			tamper: rewrite(4, false, func(r *bot.AuditRecord) { r.Time = r.Time.Add(time.Nanosecond) }),
			seq:    4,
			reason: "hash does not match its contents",
		},
		{
			name:   "ChangedAndRehashed",
			tamper: rewrite(3, true, func(r *bot.AuditRecord) { r.Outcome = "failed" }),
			seq:    4,
			reason: "previous hash does not match the hash of record 3",
		},
		{
			name:   "ChangedSeq",
			tamper: rewrite(2, true, func(r *bot.AuditRecord) { r.Seq = 7 }),
			seq:    2,
			reason: "stored as record 2 but says it is record 7",
		},
		{
			name:   "RemovedField",
			tamper: rewrite(5, false, func(r *bot.AuditRecord) { r.Params = nil }),
			seq:    5,
			reason: "hash does not match its contents",
		},
		{
			name:    "DeletedMiddle",
			tamper:  func(audit, _ *bbolt.Bucket) error { return audit.Delete(key(3)) },
			seq:     3,
			reason:  "record 3 is missing (the trail goes from 2 to 4)",
			records: 2,
		},
		{
			name: "DeletedTwo",
			tamper: func(audit, _ *bbolt.Bucket) error {
				audit.Delete(key(2))
				return audit.Delete(key(3))
			},
			seq:    2,
			reason: "records 2 to 3 are missing (the trail goes from 1 to 4)",
		},
		{
			name:   "DeletedFirst",
			tamper: func(audit, _ *bbolt.Bucket) error { return audit.Delete(key(1)) },
			seq:    1,
			reason: "record 1 is missing (the trail goes from 0 to 2)",
		},
		{
			name:    "DeletedTail",
			tamper:  func(audit, _ *bbolt.Bucket) error { return audit.Delete(key(5)) },
			seq:     5,
			reason:  "records after 4 are missing (the head is at 5)",
			records: 4,
		},
		{
			name: "DeletedTailAndHead",
			tamper: func(audit, meta *bbolt.Bucket) error {
				audit.Delete(key(5))
				return meta.Delete([]byte("audit_head"))
			},
			seq:    1,
			reason: "was not appended by cippbot (the head is at 0)",
		},
		{
			name:   "UnknownField",
			tamper: edit(2, `"v":1,`, `"v":1,"note":"added later",`),
			seq:    2,
			reason: `does not decode: json: unknown field "note"`,
		},
		{
			name:   "DuplicateField",
			tamper: edit(2, `"v":1,`, `"v":1,"kind":"refused",`),
			seq:    2,
			reason: "stored form does not match its contents",
		},
		{
			name:   "FieldNameCase",
			tamper: edit(2, `"kind":`, `"KIND":`),
			seq:    2,
			reason: "stored form does not match its contents",
		},
		{
			name:   "FaithfulRewrite", // decoding and encoding again changes nothing
			tamper: rewrite(2, false, func(*bot.AuditRecord) {}),
		},
		{
			name: "TrailingGarbage",
			tamper: func(audit, _ *bbolt.Bucket) error {
				return audit.Put(key(2), append(bytes.Clone(audit.Get(key(2))), ` {}`...))
			},
			seq:    2,
			reason: "does not decode: data after the record",
		},
		{
			name:   "NotJSON",
			tamper: func(audit, _ *bbolt.Bucket) error { return audit.Put(key(4), []byte("gone")) },
			seq:    4,
			reason: "does not decode: invalid character 'g' looking for beginning of value",
		},
		{
			name:   "UnknownVersion",
			tamper: rewrite(3, true, func(r *bot.AuditRecord) { r.Version = 2 }),
			seq:    3,
			reason: "unknown version 2",
		},
		{
			name: "Inserted",
			tamper: func(audit, meta *bbolt.Bucket) error {
				var last bot.AuditRecord
				if err := json.Unmarshal(audit.Get(key(5)), &last); err != nil {
					return err
				}
				r := testRecord(9)
				r.Version, r.Seq, r.PrevHash = bot.AuditVersion, 6, last.Hash
				r.Hash = r.ComputeHash()
				b, _ := json.Marshal(r)
				return audit.Put(key(6), b)
			},
			seq:    6,
			reason: "was not appended by cippbot (the head is at 5)",
		},
		{
			name: "LastReplaced",
			tamper: rewrite(5, true, func(r *bot.AuditRecord) {
				r.Outcome = "failed"
			}),
			seq:    5,
			reason: "hash does not match the head's",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db := MustOpenDB(t)
			mustAppend(t, db, 5)
			tamper(t, db, tt.tamper)
			rep, err := db.VerifyAudit(ctx)
			if tt.seq == 0 && tt.reason == "" {
				if err != nil {
					t.Fatalf("VerifyAudit: %v", err)
				}
				return
			}
			var ae *store.AuditError
			if !errors.As(err, &ae) {
				t.Fatalf("VerifyAudit error = %v, want an *AuditError", err)
			}
			want := &store.AuditError{Seq: tt.seq, Reason: tt.reason}
			if diff := cmp.Diff(want, ae); diff != "" {
				t.Errorf("AuditError (-want +got):\n%s", diff)
			}
			if tt.records != 0 && rep.Records != tt.records {
				t.Errorf("report.Records = %d, want %d", rep.Records, tt.records)
			}
		})
	}

	t.Run("AppendAfterTailDeleted", func(t *testing.T) {
		// The head, not the last record left, is what Append chains to, so
		// a removed tail stays visible after more records are appended.
		db := MustOpenDB(t)
		mustAppend(t, db, 5)
		tamper(t, db, func(audit, _ *bbolt.Bucket) error { return audit.Delete(key(5)) })
		r, err := db.Append(ctx, testRecord(5))
		if err != nil {
			t.Fatal(err)
		}
		if r.Seq != 6 {
			t.Errorf("Seq = %d, want 6", r.Seq)
		}
		_, err = db.VerifyAudit(ctx)
		var ae *store.AuditError
		if !errors.As(err, &ae) || ae.Seq != 5 {
			t.Errorf("VerifyAudit error = %v, want record 5 missing", err)
		}
	})

	t.Run("ErrorMessage", func(t *testing.T) {
		err := &store.AuditError{Seq: 12, Reason: "hash does not match its contents"}
		if got, want := err.Error(), "audit record 12: hash does not match its contents"; got != want {
			t.Errorf("Error() = %q, want %q", got, want)
		}
	})
}

func TestAppendRefusesBrokenHead(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := MustOpenDB(t)
	mustAppend(t, db, 3)
	tamper(t, db, func(audit, _ *bbolt.Bucket) error { return audit.SetSequence(1) })
	if _, err := db.Append(ctx, testRecord(3)); err == nil || !strings.Contains(err.Error(), "inconsistent") {
		t.Errorf("Append error = %v, want it to refuse an inconsistent trail", err)
	}
	recs, err := db.Audit(ctx, bot.AuditFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 3 {
		t.Errorf("%d records, want 3: Append overwrote one", len(recs))
	}
}

func BenchmarkAppend(b *testing.B) {
	ctx := context.Background()
	db := MustOpenDB(b)
	r := testRecord(0)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := db.Append(ctx, r); err != nil {
			b.Fatal(err)
		}
	}
}
