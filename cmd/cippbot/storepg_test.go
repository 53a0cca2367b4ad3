package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cippbot/cippbot/bot"
	"github.com/cippbot/cippbot/store"
	"github.com/jackc/pgx/v5"
)

// postgresTestDSN returns the DSN of an empty schema on the database
// CIPPBOT_TEST_POSTGRES names, dropped when t ends, or skips t.
func postgresTestDSN(t *testing.T) string {
	t.Helper()
	dsn := os.Getenv("CIPPBOT_TEST_POSTGRES")
	if dsn == "" {
		t.Skip("PostgreSQL tests skipped: set CIPPBOT_TEST_POSTGRES to a postgres:// DSN to run them")
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	schema := "cippbot_test_" + hex.EncodeToString(b)
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_, _ = conn.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE")
		conn.Close(ctx)
	})
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatalf("CIPPBOT_TEST_POSTGRES must be a postgres:// URL here: %v", err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// TestStoreCopyPostgres: "cippbot store copy" moves a bbolt store with a
// keyed trail to PostgreSQL; "audit verify" passes on both with the same
// head, the exports are the same, and a second copy is refused.
func TestStoreCopyPostgres(t *testing.T) {
	dsn := postgresTestDSN(t)
	ctx := context.Background()
	key := "store copy test key: thirty-two bytes or more"
	path := filepath.Join(t.TempDir(), "cippbot.db")
	src := store.NewDB(path)
	src.AuditKey = []byte(key)
	if err := src.Open(); err != nil {
		t.Fatal(err)
	}
	if err := src.PutTenant(ctx, bot.Tenant{ID: "t1", DefaultDomain: "contoso.com", Domains: []string{"contoso.com"}}); err != nil {
		t.Fatal(err)
	}
	for i := range 20 {
		if _, err := src.Append(ctx, bot.AuditRecord{Kind: bot.KindRequest, Actor: bot.Actor{ID: "slack:U1"}, Reason: strings.Repeat("x", i)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := src.Close(); err != nil {
		t.Fatal(err)
	}
	cippbot := func(env map[string]string, args ...string) (int, string, string) {
		var stdout, stderr bytes.Buffer
		code := Main(ctx, args, nil, &stdout, &stderr, func(k string) string { return env[k] })
		return code, stdout.String(), stderr.String()
	}
	bolt := map[string]string{"CIPPBOT_DATA": path, "CIPPBOT_AUDIT_KEY": key}
	pg := map[string]string{"CIPPBOT_STORE": dsn, "CIPPBOT_AUDIT_KEY": key}

	code, out, errOut := cippbot(bolt, "store", "copy", "--from", path, "--to", dsn)
	if code != 0 || !strings.Contains(out, "20 audit records") || !strings.Contains(out, "audit trail intact on both") {
		t.Fatalf("store copy = %d\n%s%s", code, out, errOut)
	}
	code, boltOut, errOut := cippbot(bolt, "audit", "verify")
	if code != 0 {
		t.Fatalf("audit verify of the bbolt file = %d: %s", code, errOut)
	}
	code, pgOut, errOut := cippbot(pg, "audit", "verify")
	if code != 0 {
		t.Fatalf("audit verify of PostgreSQL = %d: %s", code, errOut)
	}
	if boltOut != pgOut || !strings.Contains(pgOut, "20 records") {
		t.Errorf("audit verify says\n%s on bbolt and\n%s on PostgreSQL; want the same, 20 records", boltOut, pgOut)
	}
	_, boltExport, _ := cippbot(bolt, "audit", "export")
	_, pgExport, _ := cippbot(pg, "audit", "export")
	if boltExport != pgExport || strings.Count(pgExport, "\n") != 20 {
		t.Errorf("audit exports differ, or are not 20 lines:\n%s\n%s", boltExport, pgExport)
	}
	code, out, _ = cippbot(pg, "tenants", "list")
	if code != 0 || !strings.Contains(out, "contoso.com") {
		t.Errorf("tenants list on PostgreSQL = %d %q, want the copied tenant", code, out)
	}
	if code, _, errOut := cippbot(bolt, "store", "copy", "--from", path, "--to", dsn); code == 0 || !strings.Contains(errOut, "not empty") {
		t.Errorf("a second copy = %d %q, want it refused", code, errOut)
	}
	// A wrong key is refused by the PostgreSQL store as by bbolt.
	wrong := map[string]string{"CIPPBOT_STORE": dsn, "CIPPBOT_AUDIT_KEY": strings.Repeat("k", 40)}
	if code, _, errOut := cippbot(wrong, "audit", "verify"); code == 0 || !strings.Contains(errOut, "audit key does not verify") {
		t.Errorf("audit verify with a wrong key = %d %q, want it refused", code, errOut)
	}
	if code, _, errOut := cippbot(map[string]string{"CIPPBOT_STORE": "mysql://x"}, "audit", "verify"); code != 2 || !strings.Contains(errOut, "CIPPBOT_STORE") {
		t.Errorf("CIPPBOT_STORE=mysql://x: %d %q, want a configuration error", code, errOut)
	}
}
