package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.etcd.io/bbolt"

	"github.com/cippbot/cippbot/bot"
	"github.com/cippbot/cippbot/store"
)

const testAuditKey = "test-audit-key-0123456789abcdef0123456789"

// runBin runs the built binary with env and args and returns its exit code
// and combined output.
func runBin(t *testing.T, bin string, env []string, args ...string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0, string(out)
	case errors.As(err, &ee) && ee.Exited():
		return ee.ExitCode(), string(out)
	}
	t.Fatalf("%s %v: %v\n%s", bin, args, err, out)
	return -1, ""
}

// withEnv returns env with the given variables set (replacing any there).
func withEnv(env []string, kv ...string) []string {
	out := make([]string, 0, len(env)+len(kv))
	for _, e := range env {
		keep := true
		for _, s := range kv {
			if name, _, _ := strings.Cut(s, "="); strings.HasPrefix(e, name+"=") {
				keep = false
			}
		}
		if keep {
			out = append(out, e)
		}
	}
	return append(out, kv...)
}

// crashed reports whether the output looks like a Go crash.
func crashed(out string) bool {
	return strings.Contains(out, "panic") || strings.Contains(out, "goroutine ") || strings.Contains(out, "SIGBUS") || strings.Contains(out, "SIGSEGV")
}

// appendRecords opens the store at path (with key, if not empty), appends n
// records and returns them as stored.
func appendRecords(t *testing.T, path, key string, n int) []bot.AuditRecord {
	t.Helper()
	db := store.NewDB(path)
	if key != "" {
		db.AuditKey = []byte(key)
	}
	must(t, db.Open())
	defer db.Close()
	var out []bot.AuditRecord
	for i := range n {
		r, err := db.Append(context.Background(), bot.AuditRecord{
			Kind: bot.KindDecision, Platform: "slack", Actor: bot.Actor{ID: "slack:URILEY"},
			Action: "reset-password", ApprovalID: fmt.Sprint(i), Approver: &bot.Actor{ID: "slack:USAM"}, Outcome: "approved",
		})
		must(t, err)
		out = append(out, r)
	}
	return out
}

// rechainFile rewrites the trail of the store at path as someone without
// the key would: fn edits the records, then each is hashed again with plain
// SHA-256 and chained, and the head is moved.
func rechainFile(t *testing.T, path string, fn func([]bot.AuditRecord) []bot.AuditRecord) {
	t.Helper()
	b, err := bbolt.Open(path, 0o600, &bbolt.Options{Timeout: time.Second})
	must(t, err)
	defer b.Close()
	must(t, b.Update(func(tx *bbolt.Tx) error {
		audit, meta := tx.Bucket([]byte("audit")), tx.Bucket([]byte("meta"))
		var recs []bot.AuditRecord
		if err := audit.ForEach(func(k, v []byte) error {
			var r bot.AuditRecord
			if err := json.Unmarshal(v, &r); err != nil {
				return err
			}
			recs = append(recs, r)
			return nil
		}); err != nil {
			return err
		}
		for _, r := range recs {
			if err := audit.Delete(seqKeyOf(r.Seq)); err != nil {
				return err
			}
		}
		recs = fn(recs)
		prev := ""
		for i := range recs {
			r := &recs[i]
			r.Seq, r.Scheme, r.PrevHash = uint64(i+1), "", prev
			r.Hash = r.ComputeHash()
			prev = r.Hash
			v, _ := json.Marshal(r)
			if err := audit.Put(seqKeyOf(r.Seq), v); err != nil {
				return err
			}
		}
		if err := audit.SetSequence(uint64(len(recs))); err != nil {
			return err
		}
		h, _ := json.Marshal(map[string]any{"seq": len(recs), "hash": prev})
		return meta.Put([]byte("audit_head"), h)
	}))
}

func seqKeyOf(seq uint64) []byte {
	return []byte{byte(seq >> 56), byte(seq >> 48), byte(seq >> 40), byte(seq >> 32), byte(seq >> 24), byte(seq >> 16), byte(seq >> 8), byte(seq)}
}

// TestDamagedStoreRefused gives serve and audit verify an empty, a cut
// short and a garbled database file: each exits 1 naming the file and
// saying to restore from a backup, without a crash, and leaves the file as
// it was.
func TestDamagedStoreRefused(t *testing.T) {
	t.Parallel()
	r := newBinaryRun(t)
	appendRecords(t, r.data, "", 300)
	good, err := os.ReadFile(r.data)
	must(t, err)
	garbled := bytes.Clone(good)
	for i := 2 * 4096; i < len(garbled); i++ {
		garbled[i] ^= byte(i*31 + 7)
	}
	garbledMeta := bytes.Clone(good)
	for i := 0; i < 2*4096; i++ {
		garbledMeta[i] ^= 0x5a
	}
	for _, tc := range []struct {
		name    string
		content []byte
	}{
		{"ZeroLength", nil},
		{"TruncatedMidPage", good[:len(good)/2+100]},
		{"TruncatedToPages", good[:4*4096]},
		{"GarbledData", garbled},
		{"GarbledMeta", garbledMeta},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "damaged.db")
			must(t, os.WriteFile(path, tc.content, 0o600))
			env := withEnv(r.env, "CIPPBOT_DATA="+path)
			for _, args := range [][]string{{"audit", "verify"}, {"serve"}, {"audit", "export"}} {
				code, out := runBin(t, r.bin, env, args...)
				if code != 1 || !strings.Contains(out, path) || !strings.Contains(out, "restore from a backup") || crashed(out) {
					t.Errorf("%v: exit %d\n%s\nwant exit 1 naming the file and saying to restore from a backup", args, code, out)
				}
			}
			if after, _ := os.ReadFile(path); !bytes.Equal(after, tc.content) {
				t.Error("the damaged file was changed")
			}
		})
	}
	t.Run("NoFileStartsEmpty", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "new.db")
		code, out := runBin(t, r.bin, withEnv(r.env, "CIPPBOT_DATA="+path), "audit", "verify")
		if code != 0 || !strings.Contains(out, "intact: 0 records") {
			t.Errorf("exit %d\n%s", code, out)
		}
	})
}

// TestKeyedAuditRewriteFailsVerify keys a trail that has unkeyed records,
// then rewrites it without the key (a decision's approver changed, a
// decision deleted, the keyed records dropped), rechaining every hash and
// the head: verify with the key fails every time.
func TestKeyedAuditRewriteFailsVerify(t *testing.T) {
	t.Parallel()
	r := newBinaryRun(t)
	appendRecords(t, r.data, "", 3)
	appendRecords(t, r.data, testAuditKey, 4)
	keyed := withEnv(r.env, "CIPPBOT_AUDIT_KEY="+testAuditKey)
	code, out := runBin(t, r.bin, keyed, "audit", "verify")
	if code != 0 || !strings.Contains(out, "keyed (HMAC-SHA256) from record #4") {
		t.Fatalf("intact keyed trail: exit %d\n%s", code, out)
	}
	keyFile := filepath.Join(t.TempDir(), "audit.key")
	must(t, os.WriteFile(keyFile, []byte(testAuditKey+"\n"), 0o600))
	if code, out := runBin(t, r.bin, withEnv(r.env, "CIPPBOT_AUDIT_KEY_FILE="+keyFile), "audit", "verify"); code != 0 {
		t.Fatalf("key from a file: exit %d\n%s", code, out)
	}
	if code, out := runBin(t, r.bin, r.env, "audit", "verify"); code != 1 || !strings.Contains(out, "audit key") {
		t.Errorf("keyed trail without the key: exit %d\n%s", code, out)
	}
	good, err := os.ReadFile(r.data)
	must(t, err)
	for name, fn := range map[string]func([]bot.AuditRecord) []bot.AuditRecord{
		"ChangeApprover": func(rs []bot.AuditRecord) []bot.AuditRecord {
			rs[4].Approver = &bot.Actor{ID: "slack:UFORGED"}
			return rs
		},
		"DeleteDecision": func(rs []bot.AuditRecord) []bot.AuditRecord { return append(rs[:4], rs[5:]...) },
		"DropNewest":     func(rs []bot.AuditRecord) []bot.AuditRecord { return rs[:3] },
	} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "rewritten.db")
			must(t, os.WriteFile(path, good, 0o600))
			rechainFile(t, path, fn)
			code, out := runBin(t, r.bin, withEnv(keyed, "CIPPBOT_DATA="+path), "audit", "verify")
			if code != 1 || !strings.Contains(out, "NOT intact") || crashed(out) {
				t.Errorf("rewritten trail with the key: exit %d\n%s", code, out)
			}
			if strings.Contains(out, testAuditKey) {
				t.Error("the key appears in the output")
			}
		})
	}
}

// TestVerifyHeadCatchesDroppedRecords drops the newest records of an
// unkeyed trail and rechains the head: plain verify cannot tell, verify
// against the head published earlier can.
func TestVerifyHeadCatchesDroppedRecords(t *testing.T) {
	t.Parallel()
	r := newBinaryRun(t)
	recs := appendRecords(t, r.data, "", 6)
	head := fmt.Sprintf("%d:%s", recs[5].Seq, recs[5].Hash)
	if code, out := runBin(t, r.bin, r.env, "audit", "verify", "--head", head); code != 0 {
		t.Fatalf("intact trail against its head: exit %d\n%s", code, out)
	}
	rechainFile(t, r.data, func(rs []bot.AuditRecord) []bot.AuditRecord { return rs[:4] })
	if code, out := runBin(t, r.bin, r.env, "audit", "verify"); code != 0 {
		t.Fatalf("a rechained trail without a head: exit %d\n%s (the test expects it to pass)", code, out)
	}
	code, out := runBin(t, r.bin, r.env, "audit", "verify", "--head", head)
	if code != 1 || !strings.Contains(out, "audit record 6") || !strings.Contains(out, "removed") {
		t.Errorf("dropped records against the published head: exit %d\n%s", code, out)
	}
	if code, out := runBin(t, r.bin, r.env, "audit", "verify", "--head", "6:nothex"); code != 2 {
		t.Errorf("malformed --head: exit %d\n%s", code, out)
	}
}

// TestBackupWhileServing takes a backup while serve runs and holds the
// file's lock: the copy verifies, and serve goes on.
func TestBackupWhileServing(t *testing.T) {
	t.Parallel()
	r := newBinaryRun(t)
	appendRecords(t, r.data, testAuditKey, 5)
	r.env = withEnv(r.env, "CIPPBOT_AUDIT_KEY="+testAuditKey, "LOG_LEVEL=info")
	r.start(t)
	r.slash(t, "user AdeleV@contoso.com")
	dst := filepath.Join(t.TempDir(), "backup.db")
	code, out := runBin(t, r.bin, r.env, "backup", dst)
	if code != 0 || !strings.Contains(out, "from the running serve") {
		t.Fatalf("backup while serving: exit %d\n%s\n%s", code, out, r.logs.String())
	}
	code, out = runBin(t, r.bin, withEnv(r.env, "CIPPBOT_DATA="+dst), "audit", "verify")
	if code != 0 || !strings.Contains(out, "audit trail intact") {
		t.Errorf("verify of the backup: exit %d\n%s", code, out)
	}
	if _, err := os.Stat(backupSocket(r.data)); err != nil {
		t.Errorf("backup socket: %v", err)
	}
	must(t, r.cmd.Process.Signal(syscall.SIGTERM))
	select {
	case err := <-r.done:
		if err != nil {
			t.Fatalf("serve exited with %v\n%s", err, r.logs.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not stop")
	}
	if _, err := os.Stat(backupSocket(r.data)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the backup socket is left behind: %v", err)
	}
	logs := r.logs.String()
	if !strings.Contains(logs, `msg="audit head" when=start`) || !strings.Contains(logs, `msg="audit head" when=shutdown`) {
		t.Errorf("the audit head is not logged at start and shutdown:\n%s", logs)
	}
	if strings.Contains(logs, testAuditKey) {
		t.Error("the audit key appears in the logs")
	}
	// The head logged at shutdown verifies the trail.
	var head string
	for _, l := range strings.Split(logs, "\n") {
		if strings.Contains(l, "when=shutdown") {
			if _, h, ok := strings.Cut(l, " head="); ok {
				head = strings.Fields(h)[0]
			}
		}
	}
	if code, out := runBin(t, r.bin, r.env, "audit", "verify", "--head", head); code != 0 {
		t.Errorf("verify against the head logged at shutdown (%q): exit %d\n%s", head, code, out)
	}
	// With serve stopped, backup reads the file itself.
	dst2 := filepath.Join(t.TempDir(), "backup2.db")
	code, out = runBin(t, r.bin, r.env, "backup", dst2)
	if code != 0 || !strings.Contains(out, "from the file") {
		t.Fatalf("backup of a stopped store: exit %d\n%s", code, out)
	}
	if code, out := runBin(t, r.bin, withEnv(r.env, "CIPPBOT_DATA="+dst2), "audit", "verify"); code != 0 {
		t.Errorf("verify of the second backup: exit %d\n%s", code, out)
	}
}
