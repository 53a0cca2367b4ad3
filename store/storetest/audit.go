package storetest

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/cippbot/cippbot/bot"
	"github.com/cippbot/cippbot/store"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func record(i int) bot.AuditRecord {
	return bot.AuditRecord{
		Time:       t0.Add(time.Duration(i) * time.Minute),
		Kind:       bot.KindRequest,
		Platform:   "slack",
		Channel:    "C0001",
		Actor:      bot.Actor{ID: "slack:U0123ABCD", Name: "riley"},
		Action:     "reset-password",
		TenantID:   "6b1a0c3e-0000-4000-8000-000000000001",
		Tenant:     "contoso.com",
		Targets:    []bot.Target{{ID: fmt.Sprintf("obj-%d", i%3), UPN: fmt.Sprintf("User%d@Contoso.com", i%3)}},
		Params:     map[string]string{"i": fmt.Sprint(i)},
		ApprovalID: fmt.Sprintf("ap%d", i),
		Outcome:    "pending",
	}
}

func seqs(list []bot.AuditRecord) []uint64 {
	out := make([]uint64, len(list))
	for i, r := range list {
		out[i] = r.Seq
	}
	return out
}

func testAudit(t *testing.T, h Harness) {
	t.Run("AppendAndChain", func(t *testing.T) {
		s := fresh(t, h).handle(nil)
		if head, err := s.AuditHead(ctx()); err != nil || head != (store.AuditHead{}) {
			t.Fatalf("head of an empty trail = %+v, %v; want zero", head, err)
		}
		if rep, err := s.VerifyAudit(ctx()); err != nil || rep.Records != 0 {
			t.Fatalf("verify an empty trail = %+v, %v", rep, err)
		}
		var stored []bot.AuditRecord
		for i := range 5 {
			r, err := s.Append(ctx(), record(i))
			if err != nil {
				t.Fatal(err)
			}
			stored = append(stored, r)
		}
		prev := ""
		for i, r := range stored {
			if r.Seq != uint64(i+1) || r.Version != bot.AuditVersion || r.PrevHash != prev || r.Scheme != "" {
				t.Errorf("record %d: seq %d, version %d, scheme %q, prev %q; want seq %d, version %d, unkeyed, prev %q", i, r.Seq, r.Version, r.Scheme, r.PrevHash, i+1, bot.AuditVersion, prev)
			}
			if r.Hash != r.ComputeHash() {
				t.Errorf("record %d: hash %s, want its SHA-256 %s", i, r.Hash, r.ComputeHash())
			}
			if !r.Time.Equal(record(i).Time) || r.Time.Location() != time.UTC {
				t.Errorf("record %d: time %v, want %v in UTC", i, r.Time, record(i).Time)
			}
			prev = r.Hash
		}
		head, err := s.AuditHead(ctx())
		if err != nil {
			t.Fatal(err)
		}
		if want := (store.AuditHead{Seq: 5, Hash: prev}); head != want {
			t.Errorf("AuditHead = %+v, want %+v", head, want)
		}
		rep, err := s.VerifyAudit(ctx())
		if err != nil {
			t.Fatal(err)
		}
		if rep.Records != 5 || rep.Head != 5 || rep.HeadHash != prev || rep.KeyedFrom != 0 {
			t.Errorf("VerifyAudit = %+v, want 5 records, head 5 with hash %s", rep, prev)
		}
		all, err := s.Audit(ctx(), bot.AuditFilter{})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(stored, all); diff != "" {
			t.Errorf("Audit() differs from what Append returned (-appended +read):\n%s", diff)
		}
	})
	t.Run("TimeStamped", func(t *testing.T) {
		s := fresh(t, h).handle(nil)
		before := time.Now()
		r, err := s.Append(ctx(), bot.AuditRecord{Kind: bot.KindAccess, Actor: bot.Actor{ID: "console:riley"}})
		if err != nil {
			t.Fatal(err)
		}
		if r.Time.Before(before.Add(-time.Minute)) || r.Time.After(time.Now().Add(time.Minute)) || r.Time.Location() != time.UTC {
			t.Errorf("a record without a time got %v, want about now, in UTC", r.Time)
		}
	})
	t.Run("InvalidUTF8", func(t *testing.T) {
		s := fresh(t, h).handle(nil)
		r := record(1)
		r.Reason = "bad \xff byte"
		r.Params = map[string]string{"k\xfe": "v\xff"}
		if _, err := s.Append(ctx(), r); err != nil {
			t.Fatal(err)
		}
		if _, err := s.VerifyAudit(ctx()); err != nil {
			t.Errorf("a record with invalid UTF-8 does not verify: %v", err)
		}
	})
	t.Run("Filters", func(t *testing.T) {
		s := fresh(t, h).handle(nil)
		for i := range 9 {
			r := record(i)
			if i == 4 {
				r.Targets = append(r.Targets, bot.Target{ID: "obj-x", UPN: "other@contoso.com"})
			}
			if _, err := s.Append(ctx(), r); err != nil {
				t.Fatal(err)
			}
		}
		check := func(f bot.AuditFilter, want ...uint64) {
			t.Helper()
			got, err := s.Audit(ctx(), f)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, seqs(got), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("Audit(%+v) (-want +got):\n%s", f, diff)
			}
		}
		check(bot.AuditFilter{Limit: 3}, 7, 8, 9)
		check(bot.AuditFilter{Since: t0.Add(6 * time.Minute)}, 7, 8, 9)
		check(bot.AuditFilter{Since: t0.Add(6*time.Minute + time.Nanosecond)}, 8, 9)
		check(bot.AuditFilter{Target: "user1@contoso.COM"}, 2, 5, 8)
		check(bot.AuditFilter{Target: "OBJ-1"}, 2, 5, 8)
		check(bot.AuditFilter{Target: "obj-1", Limit: 2}, 5, 8)
		check(bot.AuditFilter{Target: "obj-1", Since: t0.Add(2 * time.Minute)}, 5, 8)
		check(bot.AuditFilter{Target: "other@contoso.com"}, 5)
		check(bot.AuditFilter{Target: "obj"})
		check(bot.AuditFilter{Target: "nobody@contoso.com"})
	})
	t.Run("PublishedHead", func(t *testing.T) {
		s := fresh(t, h).handle(nil)
		for i := range 3 {
			if _, err := s.Append(ctx(), record(i)); err != nil {
				t.Fatal(err)
			}
		}
		published, err := s.AuditHead(ctx())
		if err != nil {
			t.Fatal(err)
		}
		for i := 3; i < 6; i++ {
			if _, err := s.Append(ctx(), record(i)); err != nil {
				t.Fatal(err)
			}
		}
		if rep, err := s.VerifyAuditHead(ctx(), published); err != nil || rep.Records != 6 {
			t.Errorf("VerifyAuditHead(head at 3) = %+v, %v; want 6 records, no error", rep, err)
		}
		forged := published
		forged.Hash = "00" + forged.Hash[2:]
		var ae *store.AuditError
		if _, err := s.VerifyAuditHead(ctx(), forged); !errors.As(err, &ae) || ae.Seq != 3 {
			t.Errorf("VerifyAuditHead(other hash at 3) = %v, want an *AuditError at record 3", err)
		}
		if _, err := s.VerifyAuditHead(ctx(), store.AuditHead{Seq: 7, Hash: "x"}); !errors.As(err, &ae) {
			t.Errorf("VerifyAuditHead(beyond the trail) = %v, want an *AuditError", err)
		}
	})
}

func testAuditKeyed(t *testing.T, h Harness) {
	key := []byte("0123456789abcdef0123456789abcdef")
	d := fresh(t, h)
	s := d.handle(nil)
	for i := range 2 {
		if _, err := s.Append(ctx(), record(i)); err != nil {
			t.Fatal(err)
		}
	}
	s = d.handle(key)
	var last bot.AuditRecord
	for i := 2; i < 4; i++ {
		r, err := s.Append(ctx(), record(i))
		if err != nil {
			t.Fatal(err)
		}
		if r.Scheme != bot.HashHMAC || r.Hash != r.ComputeMAC(key) {
			t.Errorf("record %d under a key: scheme %q, hash %s; want %s with the HMAC %s", r.Seq, r.Scheme, r.Hash, bot.HashHMAC, r.ComputeMAC(key))
		}
		last = r
	}
	head, err := s.AuditHead(ctx())
	if err != nil {
		t.Fatal(err)
	}
	if want := (store.AuditHead{Seq: 4, Hash: last.Hash, Keyed: true}); head != want {
		t.Errorf("AuditHead = %+v, want %+v", head, want)
	}
	rep, err := s.VerifyAudit(ctx())
	if err != nil || rep.Records != 4 || rep.KeyedFrom != 3 {
		t.Errorf("VerifyAudit with the key = %+v, %v; want 4 records keyed from 3", rep, err)
	}

	// Without the key: appending is refused and verifying fails.
	s = d.handle(nil)
	if _, err := s.Append(ctx(), record(9)); err == nil {
		t.Error("Append without the key to a keyed trail succeeded")
	}
	var ae *store.AuditError
	if _, err := s.VerifyAudit(ctx()); !errors.As(err, &ae) || ae.Seq != 3 {
		t.Errorf("VerifyAudit without the key = %v, want an *AuditError at record 3", err)
	}
	// A wrong key is refused when the store opens.
	if _, err := d.tryHandle([]byte("not the key not the key not the")); err == nil {
		t.Error("opening a keyed trail with the wrong key succeeded")
	}
	s = d.handle(key)
	if rep, err := s.VerifyAudit(ctx()); err != nil || rep.Records != 4 {
		t.Errorf("VerifyAudit after all that = %+v, %v; want the 4 records intact", rep, err)
	}
}

func testAuditExport(t *testing.T, h Harness) {
	s := fresh(t, h).handle(nil)
	var stored []bot.AuditRecord
	for i := range 4 {
		r := record(i)
		if i == 1 {
			r.Reason = "=HYPERLINK(\"x\")"
		}
		sr, err := s.Append(ctx(), r)
		if err != nil {
			t.Fatal(err)
		}
		stored = append(stored, sr)
	}
	var buf bytes.Buffer
	if err := s.ExportAudit(ctx(), &buf, store.FormatJSONL, time.Time{}); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(&buf)
	var lines [][]byte
	for sc.Scan() {
		lines = append(lines, bytes.Clone(sc.Bytes()))
	}
	if len(lines) != len(stored) {
		t.Fatalf("JSONL export has %d lines, want %d", len(lines), len(stored))
	}
	for i, l := range lines {
		// The stored bytes, which are json.Marshal of the record.
		want, _ := json.Marshal(stored[i])
		if !bytes.Equal(l, want) {
			t.Errorf("export line %d = %s, want %s", i+1, l, want)
		}
	}
	buf.Reset()
	if err := s.ExportAudit(ctx(), &buf, store.FormatJSONL, t0.Add(2*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if n := bytes.Count(buf.Bytes(), []byte("\n")); n != 2 {
		t.Errorf("JSONL export since record 3's time has %d lines, want 2", n)
	}
	buf.Reset()
	if err := s.ExportAudit(ctx(), &buf, store.FormatCSV, time.Time{}); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 5 || rows[0][0] != "seq" || rows[2][0] != "2" || rows[2][12] != "'=HYPERLINK(\"x\")" {
		t.Errorf("CSV export = %q, want a header and 4 rows, the formula defused", rows)
	}
	if err := s.ExportAudit(ctx(), &buf, "xml", time.Time{}); err == nil {
		t.Error("export in an unknown format succeeded")
	}
}

// testAuditTwoHandles: appends from two handles on one database, 20
// goroutines each, form one intact chain.
func testAuditTwoHandles(t *testing.T, h Harness) {
	for _, key := range [][]byte{nil, []byte("two handles, one keyed chain.....")} {
		name := "Unkeyed"
		if key != nil {
			name = "Keyed"
		}
		t.Run(name, func(t *testing.T) {
			d := fresh(t, h)
			s1 := d.handle(key)
			s2 := d.second(s1, key)
			const goroutines, each = 20, 10
			var (
				wg   sync.WaitGroup
				mu   sync.Mutex
				seen = map[uint64]bool{}
			)
			for g := range goroutines {
				wg.Add(1)
				go func() {
					defer wg.Done()
					s := s1
					if g%2 == 1 {
						s = s2
					}
					for i := range each {
						r, err := s.Append(ctx(), record(g*each+i))
						if err != nil {
							t.Errorf("append: %v", err)
							return
						}
						mu.Lock()
						if seen[r.Seq] {
							t.Errorf("sequence number %d given twice", r.Seq)
						}
						seen[r.Seq] = true
						mu.Unlock()
					}
				}()
			}
			wg.Wait()
			const n = goroutines * each
			for _, s := range []Store{s1, s2} {
				rep, err := s.VerifyAudit(ctx())
				if err != nil {
					t.Fatalf("the chain appended from two handles does not verify: %v", err)
				}
				if rep.Records != n || rep.Head != n {
					t.Errorf("VerifyAudit = %+v, want %d records, head %d", rep, n, n)
				}
			}
			head, err := s2.AuditHead(ctx())
			if err != nil || head.Seq != n {
				t.Errorf("AuditHead = %+v, %v; want seq %d", head, err, n)
			}
		})
	}
}
