package main

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cippbot/cippbot/bot"
	"github.com/cippbot/cippbot/internal/fakegraph"
	"github.com/cippbot/cippbot/internal/fakeslack"
	"github.com/cippbot/cippbot/internal/pgtest"
	"github.com/cippbot/cippbot/store"
	"github.com/cippbot/cippbot/store/postgres"
)

// postgresTestDSN returns the DSN of an empty schema on a PostgreSQL
// server (see internal/pgtest), dropped when t ends, or skips t.
func postgresTestDSN(t *testing.T) string {
	t.Helper()
	return pgtest.Schema(t)
}

// TestStoreCopyPostgres: "cippbot store copy" moves a bbolt store with a
// keyed trail to PostgreSQL; "audit verify" passes on both with the same
// head, the exports are the same, and a second copy is refused.
func TestStoreCopyPostgres(t *testing.T) {
	t.Parallel()
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

// startPostgresServe starts serve as replica id on the PostgreSQL store
// dsn, with Slack over HTTP on fs and the simulated tenant sim.
func startPostgresServe(t *testing.T, sim *fakegraph.Server, fs *fakeslack.Server, dsn, id string) *slackRun {
	t.Helper()
	return startPostgresServeWith(t, sim, fs, dsn, id, nil)
}

// startPostgresServeWith is startPostgresServe with tweak, if non-nil,
// applied to the configuration.
func startPostgresServeWith(t *testing.T, sim *fakegraph.Server, fs *fakeslack.Server, dsn, id string, tweak func(*Config)) *slackRun {
	t.Helper()
	r := &slackRun{sim: sim, fs: fs, logs: &syncBuffer{}, done: make(chan error, 1)}
	cfg := DefaultConfig()
	cfg.DataPath = filepath.Join(t.TempDir(), "unused.db")
	cfg.Store, cfg.ReplicaID = dsn, id
	cfg.ReasonOptional = []string{"all"}
	cfg.ClientID, cfg.ClientSecret = fakegraph.DefaultClientID, fakegraph.DefaultClientSecret
	cfg.GraphURL, cfg.AuthorityHost = sim.URL(), sim.URL()+"/"
	cfg.SlackBotToken, cfg.SlackAPIURL = fakeslack.DefaultBotToken, fs.APIURL()
	cfg.SlackSigningSecret = fakeslack.DefaultSigningSecret
	if tweak != nil {
		tweak(&cfg)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	r.base = "http://" + ln.Addr().String()
	log := slog.New(slog.NewJSONHandler(r.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ctx, cancel := context.WithCancel(context.Background())
	go func() { r.done <- runServe(ctx, cfg, sim.Client(), ln, log) }()
	r.stopServe = sync.OnceFunc(func() {
		cancel()
		select {
		case err := <-r.done:
			if err != nil {
				t.Errorf("serve %s: %v", id, err)
			}
		case <-time.After(30 * time.Second):
			t.Errorf("serve %s did not stop", id)
		}
	})
	t.Cleanup(r.stopServe)
	waitReady(t, r.base)
	return r
}

// TestServeTwoReplicasPostgres: two serve replicas on one PostgreSQL
// store; a request made on one is approved on both at once; it runs once,
// each replica keeps its heartbeat, no secret reaches the database, and
// the audit trail verifies.
func TestServeTwoReplicasPostgres(t *testing.T) {
	t.Parallel()
	dsn := postgresTestDSN(t)
	ctx := context.Background()
	seed := seedPostgres(t, dsn)

	sim := fakegraph.NewTest(t, fakegraph.Options{})
	sim.Start()
	t.Cleanup(sim.Close)
	fs := fakeslack.NewTest(t, fakeslack.Options{})
	t.Cleanup(fs.Close)
	fs.AddChannel("COPS", "ops", "URILEY", "USAM", fakeslack.DefaultBotUserID)
	a := startPostgresServe(t, sim, fs, dsn, "replica-a")
	b := startPostgresServe(t, sim, fs, dsn, "replica-b")

	a.slash(t, "COPS", "URILEY", `reset-password AdeleV@contoso.com reason="locked out"`)
	card := a.wait(t, "approval card", isCard)
	val := approveValue.FindStringSubmatch(string(card.Blocks))
	if val == nil {
		t.Fatalf("card has no approve button: %s", card.Blocks)
	}
	waitCardStored(t, seed)
	var wg sync.WaitGroup
	for _, r := range []*slackRun{a, b} {
		wg.Add(1)
		go func() { defer wg.Done(); r.click(t, card, val[1], "USAM") }()
	}
	wg.Wait()
	secretMsg := a.wait(t, "secret to riley", func(m fakeslack.Message) bool {
		return m.Ephemeral && m.User == "URILEY" && strings.Contains(m.Text, "Only you can see this")
	})
	a.wait(t, "card updated", func(m fakeslack.Message) bool {
		return m.TS == card.TS && m.Updated > 0 && strings.Contains(m.Text, "password reset")
	})
	secret := secretIn(t, secretMsg.Blocks)
	live, err := seed.LiveReplicas(ctx, time.Minute)
	must(t, err)
	if strings.Join(live, ",") != "replica-a,replica-b" {
		t.Errorf("live replicas = %v, want both", live)
	}
	// The hourly audit head is one replica's duty.
	if h, err := seed.LeaseHolder(ctx, "audit-head"); err != nil || (h != "replica-a" && h != "replica-b") {
		t.Errorf("audit-head lease held by %q (%v), want one of the replicas", h, err)
	}
	a.stop(t)
	b.stop(t)
	if h, _ := seed.LeaseHolder(ctx, "audit-head"); h != "" {
		t.Errorf("audit-head lease still held by %q after both replicas stopped", h)
	}

	// One run: one outcome record for the approval, and one secret sent.
	recs, err := seed.Audit(ctx, bot.AuditFilter{})
	must(t, err)
	outcomes := 0
	for _, r := range recs {
		if r.Kind == bot.KindOutcome {
			outcomes++
		}
	}
	if outcomes != 1 {
		t.Errorf("%d outcome records, want 1 (the approval ran %d times)", outcomes, outcomes)
	}
	sent := 0
	for _, m := range fs.Messages() {
		if strings.Contains(m.Text, "Only you can see this") {
			sent++
		}
	}
	if sent != 1 {
		t.Errorf("the secret was sent %d times, want once", sent)
	}
	if rep, err := seed.VerifyAudit(ctx); err != nil || rep.Records != len(recs) {
		t.Errorf("audit verify = %+v, %v", rep, err)
	}
	// No secret at rest: in no column where the store keeps data. The
	// same query finds the target, which is there.
	inTable := func(table, column, what string) bool {
		t.Helper()
		var found bool
		must(t, seed.Pool().QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM `+table+` WHERE position($1::bytea IN `+column+`) > 0)`, []byte(what)).Scan(&found))
		return found
	}
	if !inTable("approvals", "doc", "AdeleV@contoso.com") || !inTable("audit", "rec", "AdeleV@contoso.com") {
		t.Fatal("the target is not found in the approvals and the audit: the search does not work")
	}
	for _, tc := range [][2]string{{"approvals", "doc"}, {"audit", "rec"}, {"jobs", "doc"}, {"deliveries", "key"},
		{"grants", "doc"}, {"tenants", "doc"}, {"bindings", "doc"}, {"leases", "holder"}, {"replicas", "id"},
		{"transient", "value"}, {"sealed", "value"}, {"chat_refs", "value"}} {
		if inTable(tc[0], tc[1], secret) {
			t.Errorf("the secret is in %s.%s", tc[0], tc[1])
		}
	}
}

// waitCardStored waits until the pending approval records its card's
// reference, which the bot stores after posting the card: a click before
// that would have its result posted anew rather than on the card.
func waitCardStored(t *testing.T, s bot.Store) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		aps, err := s.Approvals(context.Background(), bot.StatePending)
		must(t, err)
		if len(aps) == 1 && aps[0].Card != "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("pending approvals %+v: want one with its card stored", aps)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestStoreConfig(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "dsn")
	must(t, os.WriteFile(file, []byte("postgres://cippbot:s3cret@db:5432/cippbot\n"), 0o600))
	cfg, err := LoadConfig(func(k string) string {
		return map[string]string{"CIPPBOT_STORE_FILE": file, "CIPPBOT_REPLICA_ID": "node-1"}[k]
	})
	must(t, err)
	if cfg.Store != "postgres://cippbot:s3cret@db:5432/cippbot" || cfg.ReplicaID != "node-1" || !usesPostgres(cfg) {
		t.Errorf("config = store %q, replica %q", cfg.Store, cfg.ReplicaID)
	}
	if name := configuredStoreName(cfg); strings.Contains(name, "s3cret") || !strings.Contains(name, "db:5432") {
		t.Errorf("store named %q in messages, want the host without the password", name)
	}
	if _, err := LoadConfig(func(k string) string { return map[string]string{"CIPPBOT_STORE": "/var/lib/cippbot.db"}[k] }); err == nil {
		t.Error("CIPPBOT_STORE=a path was accepted")
	}
	if cfg, err := LoadConfig(func(string) string { return "" }); err != nil || usesPostgres(cfg) {
		t.Errorf("default config uses PostgreSQL (%v)", err)
	}
}

// seedPostgres opens dsn's store, closed when t ends, with contoso and
// riley (helpdesk) and sam (approver) on Slack, as the replica tests
// start.
func seedPostgres(t *testing.T, dsn string) *postgres.DB {
	t.Helper()
	ctx := context.Background()
	seed, err := postgres.Open(ctx, dsn, postgres.Options{})
	must(t, err)
	t.Cleanup(func() { seed.Close() })
	must(t, seed.PutTenant(ctx, bot.Tenant{ID: fakegraph.ContosoTenantID, Name: "Contoso", DefaultDomain: "contoso.com", Domains: []string{"contoso.com"}}))
	must(t, seed.PutGrant(ctx, bot.Grant{Actor: "slack:URILEY", Role: bot.RoleHelpdesk, GrantedBy: "test"}))
	must(t, seed.PutGrant(ctx, bot.Grant{Actor: "slack:USAM", Role: bot.RoleApprover, GrantedBy: "test"}))
	return seed
}
