package store_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cippbot/cippbot/bot"
	"github.com/cippbot/cippbot/store"
	"go.etcd.io/bbolt"
)

const testKey = "0123456789abcdef0123456789abcdef-test-key"

// rechain rewrites the whole trail as someone without the key would: fn
// edits the records (it may drop some by returning fewer), then every
// record is hashed again with plain SHA-256, chained, and the head moved.
func rechain(fn func([]bot.AuditRecord) []bot.AuditRecord) func(audit, meta *bbolt.Bucket) error {
	return func(audit, meta *bbolt.Bucket) error {
		var recs []bot.AuditRecord
		if err := audit.ForEach(func(k, v []byte) error {
			var r bot.AuditRecord
			if err := json.Unmarshal(v, &r); err != nil {
				return err
			}
			recs = append(recs, r)
			return audit.Delete(k)
		}); err != nil {
			return err
		}
		recs = fn(recs)
		prev := ""
		for i := range recs {
			r := &recs[i]
			r.Seq = uint64(i + 1)
			r.Scheme = ""
			r.PrevHash = prev
			r.Hash = r.ComputeHash()
			prev = r.Hash
			b, _ := json.Marshal(r)
			if err := audit.Put(key(r.Seq), b); err != nil {
				return err
			}
		}
		if err := audit.SetSequence(uint64(len(recs))); err != nil {
			return err
		}
		h, _ := json.Marshal(map[string]any{"seq": len(recs), "hash": prev})
		return meta.Put([]byte("audit_head"), h)
	}
}

// trailFile writes a store holding an audit trail of 200 records at
// path and returns the file's bytes.
func trailFile(t *testing.T, path string) []byte {
	t.Helper()
	db := store.NewDB(path)
	if err := db.Open(); err != nil {
		t.Fatal(err)
	}
	mustAppend(t, db, 200)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestOpenDamaged(t *testing.T) {
	t.Parallel()
	data := trailFile(t, filepath.Join(t.TempDir(), "good.db"))
	const page = 4096
	garble := func(from, to int) []byte {
		b := bytes.Clone(data)
		for i := from; i < to && i < len(b); i++ {
			b[i] ^= byte(i*7 + 13)
		}
		return b
	}
	for _, tc := range []struct {
		name    string
		content []byte
		want    string
	}{
		{"Empty", nil, "empty"},
		{"OneByte", []byte{0}, "meta page"},
		{"CutMidPage", data[:len(data)-page/2], "cut short"},
		{"CutWholePages", data[:4*page], "cut short"},
		{"ThreePages", data[:3*page], ""},
		{"GarbledMetaPages", garble(0, 2*page), "meta page"},
		{"GarbledDataPages", garble(2*page, len(data)), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "cippbot.db")
			if err := os.WriteFile(path, tc.content, 0o600); err != nil {
				t.Fatal(err)
			}
			db := store.NewDB(path)
			err := db.Open()
			if err == nil {
				// Damage bbolt does not see at open must show when
				// the trail is read.
				_, err = db.VerifyAudit(context.Background())
				db.Close()
			}
			var de *store.DamagedError
			if !errors.As(err, &de) {
				t.Fatalf("error = %v, want a *store.DamagedError", err)
			}
			msg := err.Error()
			if !strings.Contains(msg, path) || !strings.Contains(msg, "restore from a backup") || !strings.Contains(msg, tc.want) {
				t.Errorf("error = %q, want it to name the file, say %q and say to restore from a backup", msg, tc.want)
			}
			if after, _ := os.ReadFile(path); !bytes.Equal(after, tc.content) {
				t.Error("the damaged file was changed")
			}
		})
	}
}

func TestKeyedAudit(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "cippbot.db")
	db := store.NewDB(path)
	if err := db.Open(); err != nil {
		t.Fatal(err)
	}
	defer func() { db.Close() }()
	old := mustAppend(t, db, 3)
	published, err := db.AuditHead(ctx)
	if err != nil || published.Seq != 3 || published.Hash != old[2].Hash {
		t.Fatalf("head = %+v, %v", published, err)
	}
	// Keyed from the first record written with the key.
	reopen := func(key string) error {
		db.Close()
		db = store.NewDB(path)
		if key != "" {
			db.AuditKey = []byte(key)
		}
		return db.Open()
	}
	if err := reopen(testKey); err != nil {
		t.Fatal(err)
	}
	keyed := mustAppend(t, db, 3)
	for _, r := range keyed {
		if r.Scheme != bot.HashHMAC || r.Hash != r.ComputeMAC([]byte(testKey)) || r.Hash == r.ComputeHash() {
			t.Errorf("record %d: scheme %q, hash not the HMAC", r.Seq, r.Scheme)
		}
	}
	if keyed[0].PrevHash != old[2].Hash {
		t.Error("the first keyed record does not chain to the last unkeyed one")
	}
	rep, err := db.VerifyAudit(ctx)
	if err != nil || rep.Records != 6 || rep.KeyedFrom != 4 {
		t.Fatalf("VerifyAudit = %+v, %v", rep, err)
	}
	if _, err := db.VerifyAuditHead(ctx, published); err != nil {
		t.Errorf("VerifyAuditHead(%d) = %v", published.Seq, err)
	}
	// Old records are stored and verify as before.
	var buf bytes.Buffer
	if err := db.ExportAudit(ctx, &buf, store.FormatJSONL, time.Time{}); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	for i, l := range lines[:3] {
		if strings.Contains(l, "scheme") {
			t.Errorf("unkeyed record %d says a scheme: %s", i+1, l)
		}
	}
	if strings.Contains(buf.String(), testKey) {
		t.Error("the key appears in the records")
	}

	t.Run("WithoutKey", func(t *testing.T) {
		if err := reopen(""); err != nil {
			t.Fatal(err)
		}
		_, err := db.VerifyAudit(ctx)
		var ae *store.AuditError
		if !errors.As(err, &ae) || ae.Seq != 4 || !strings.Contains(err.Error(), "audit key") {
			t.Errorf("VerifyAudit without the key = %v, want record 4 to need the key", err)
		}
		if _, err := db.Append(ctx, testRecord(9)); err == nil || !strings.Contains(err.Error(), "keyed") {
			t.Errorf("Append without the key = %v, want it refused", err)
		}
	})
	t.Run("WrongKey", func(t *testing.T) {
		wrong := strings.Repeat("w", 40)
		err := reopen(wrong)
		if err == nil || !strings.Contains(err.Error(), "audit key") || strings.Contains(err.Error(), wrong) {
			t.Errorf("Open with the wrong key = %v", err)
		}
	})
	t.Run("RewrittenWithoutKey", func(t *testing.T) {
		for name, fn := range map[string]func([]bot.AuditRecord) []bot.AuditRecord{
			"ChangeApprover": func(rs []bot.AuditRecord) []bot.AuditRecord {
				rs[4].Approver = &bot.Actor{ID: "slack:UFORGED"}
				return rs
			},
			"DeleteRecord":  func(rs []bot.AuditRecord) []bot.AuditRecord { return append(rs[:4], rs[5:]...) },
			"DropKeyedTail": func(rs []bot.AuditRecord) []bot.AuditRecord { return rs[:3] },
		} {
			t.Run(name, func(t *testing.T) {
				if err := reopen(""); err != nil {
					t.Fatal(err)
				}
				backup := filepath.Join(t.TempDir(), "copy.db")
				f, err := os.Create(backup)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := db.Backup(ctx, f); err != nil {
					t.Fatal(err)
				}
				f.Close()
				copyDB := store.NewDB(backup)
				if err := copyDB.Open(); err != nil {
					t.Fatal(err)
				}
				tamper(t, copyDB, rechain(fn))
				if _, err := copyDB.VerifyAudit(ctx); err != nil && name != "DropKeyedTail" {
					t.Logf("without the key: %v", err)
				}
				copyDB.Close()
				copyDB.AuditKey = []byte(testKey)
				err = copyDB.Open()
				if err == nil {
					_, err = copyDB.VerifyAudit(ctx)
					copyDB.Close()
				}
				if err == nil {
					t.Error("a trail rewritten without the key verifies with the key")
				}
			})
		}
	})
}

func TestVerifyAuditHead(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := MustOpenDB(t)
	recs := mustAppend(t, db, 6)
	published := store.AuditHead{Seq: 6, Hash: recs[5].Hash}
	if _, err := db.VerifyAuditHead(ctx, published); err != nil {
		t.Fatal(err)
	}
	if _, err := db.VerifyAuditHead(ctx, store.AuditHead{Seq: 4, Hash: recs[3].Hash}); err != nil {
		t.Errorf("an older published head: %v", err)
	}
	tamper(t, db, rechain(func(rs []bot.AuditRecord) []bot.AuditRecord { return rs[:4] }))
	if _, err := db.VerifyAudit(ctx); err != nil {
		t.Fatalf("the trail cut back and rechained should pass without a head: %v", err)
	}
	_, err := db.VerifyAuditHead(ctx, published)
	var ae *store.AuditError
	if !errors.As(err, &ae) || ae.Seq != 6 || !strings.Contains(err.Error(), "removed") {
		t.Errorf("VerifyAuditHead after dropping the newest records = %v", err)
	}
	tamper(t, db, rechain(func(rs []bot.AuditRecord) []bot.AuditRecord {
		rs[1].Outcome = "failed"
		return rs
	}))
	if _, err := db.VerifyAuditHead(ctx, store.AuditHead{Seq: 4, Hash: recs[3].Hash}); err == nil {
		t.Error("a rewritten trail matches the published head")
	}
}

func TestExportJSONLIsStoredBytes(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := MustOpenDB(t)
	recs := mustAppend(t, db, 5)
	var want bytes.Buffer
	for _, r := range recs {
		b, _ := json.Marshal(r)
		want.Write(b)
		want.WriteByte('\n')
	}
	var got bytes.Buffer
	if err := db.ExportAudit(ctx, &got, store.FormatJSONL, time.Time{}); err != nil {
		t.Fatal(err)
	}
	if got.String() != want.String() {
		t.Errorf("export:\n%s\nwant the stored records:\n%s", got.String(), want.String())
	}
	got.Reset()
	if err := db.ExportAudit(ctx, &got, store.FormatJSONL, recs[2].Time); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(got.String(), "\n"); n != 3 {
		t.Errorf("since record 3: %d lines, want 3", n)
	}
}

func TestBackup(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := MustOpenDB(t)
	mustAppend(t, db, 50)
	path := filepath.Join(t.TempDir(), "backup.db")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	// Records appended while the copy is written are not in it, and do
	// not disturb it.
	n, err := db.Backup(ctx, f)
	if err != nil || n == 0 {
		t.Fatal(n, err)
	}
	f.Close()
	mustAppend(t, db, 1)
	if err := store.CheckFile(path); err != nil {
		t.Fatal(err)
	}
	cp := store.NewDB(path)
	if err := cp.Open(); err != nil {
		t.Fatal(err)
	}
	defer cp.Close()
	rep, err := cp.VerifyAudit(ctx)
	if err != nil || rep.Records != 50 {
		t.Errorf("backup: %+v, %v", rep, err)
	}
}

// TestDamagedPageAfterOpen: a leaf page whose element count is garbled
// passes Open's checks (the meta pages are sound) and is met only by a
// read that reaches it. That read fails with a *DamagedError naming the
// file, and the process goes on: other reads and writes still work.
func TestDamagedPageAfterOpen(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "cippbot.db")
	data := trailFile(t, path)
	// bbolt's page header: id (8 bytes), flags (2), count (2), overflow
	// (4); a leaf page has flags 0x02. Garble the count of the leaf that
	// holds the trail's first record, and of its stale copies: Open reads
	// the trail's end, not its start, and a full read meets it.
	const page, leaf = 4096, 0x02
	garbled := 0
	for off := 2 * page; off+page <= len(data); off += page {
		if binary.LittleEndian.Uint16(data[off+8:]) == leaf && bytes.Contains(data[off:off+page], []byte(`"seq":1,`)) {
			binary.LittleEndian.PutUint16(data[off+10:], 0xffff)
			garbled++
		}
	}
	if garbled == 0 {
		t.Fatal("no leaf page holding the first audit record found")
	}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}

	db := store.NewDB(path)
	if err := db.Open(); err != nil {
		t.Fatalf("Open: %v (the damage is meant to be past what Open checks)", err)
	}
	defer db.Close()
	_, err := db.Audit(ctx, bot.AuditFilter{})
	var de *store.DamagedError
	if !errors.As(err, &de) || !strings.Contains(err.Error(), path) {
		t.Fatalf("reading the trail: %v, want a *store.DamagedError naming the file", err)
	}
	if err := db.PutGrant(ctx, bot.Grant{Actor: "slack:U1", Role: bot.RoleViewer, GrantedBy: "test"}); err != nil {
		t.Errorf("a write elsewhere after the damaged read: %v", err)
	}
	if gs, err := db.Grants(ctx); err != nil || len(gs) != 1 {
		t.Errorf("a read elsewhere after the damaged read: %v, %v", gs, err)
	}
}
