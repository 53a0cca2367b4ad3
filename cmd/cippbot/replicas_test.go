package main

import (
	"context"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/cippbot/cippbot/bot"
	"github.com/cippbot/cippbot/internal/fakediscord"
	"github.com/cippbot/cippbot/internal/fakegraph"
	"github.com/cippbot/cippbot/internal/fakeslack"
	"github.com/cippbot/cippbot/store/postgres"
)

// childServeEnv, set, makes the test binary run `cippbot serve` with its
// environment instead of the tests: a replica in a process of its own,
// which a test can kill.
const childServeEnv = "CIPPBOT_TEST_CHILD_SERVE"

// childServe is main for a replica started by startReplicaProcess.
func childServe() int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return Main(ctx, []string{"serve"}, os.Stdin, os.Stdout, os.Stderr, os.Getenv)
}

// replicaProcess is `cippbot serve` in a process of its own.
type replicaProcess struct {
	id, base, log string
	cmd           *exec.Cmd
	exited        chan struct{}
}

// startReplicaProcess starts serve as replica id with env, on a free
// loopback port, and waits until it answers /healthz.
func startReplicaProcess(t *testing.T, id string, env []string) *replicaProcess {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	addr := ln.Addr().String()
	ln.Close()
	r := &replicaProcess{id: id, base: "http://" + addr, log: filepath.Join(t.TempDir(), id+".log"), exited: make(chan struct{})}
	logf, err := os.Create(r.log)
	must(t, err)
	defer logf.Close()
	r.cmd = exec.Command(os.Args[0])
	r.cmd.Env = append(append(os.Environ(), env...), childServeEnv+"=1", "CIPPBOT_REPLICA_ID="+id, "CIPPBOT_LISTEN="+addr)
	r.cmd.Stdout, r.cmd.Stderr = logf, logf
	must(t, r.cmd.Start())
	go func() { _ = r.cmd.Wait(); close(r.exited) }()
	t.Cleanup(func() {
		_ = r.cmd.Process.Kill()
		<-r.exited
		if t.Failed() {
			b, _ := os.ReadFile(r.log)
			t.Logf("%s's log:\n%s", id, b)
		}
	})
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get(r.base + "/healthz")
		if err == nil {
			resp.Body.Close()
			return r
		}
		select {
		case <-r.exited:
			b, _ := os.ReadFile(r.log)
			t.Fatalf("%s exited at start:\n%s", id, b)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s never answered /healthz", id)
		}
	}
}

// stop ends the replica with SIGTERM, as an orchestrator does, and waits.
func (r *replicaProcess) stop(t *testing.T) {
	t.Helper()
	_ = r.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-r.exited:
	case <-time.After(40 * time.Second):
		t.Errorf("%s did not stop on SIGTERM", r.id)
	}
}

// kill ends the replica with SIGKILL: no shutdown, no lease released.
func (r *replicaProcess) kill() {
	_ = r.cmd.Process.Kill()
	<-r.exited
}

// TestServeReplicaProcessesPostgres is the two-replica end-to-end test:
// two serve processes on one PostgreSQL, with the fake Slack and the
// simulated tenant. Requests are approved on both replicas at once; the
// leader is killed with SIGKILL while it runs a request; the other
// replica takes over the leader's duties and keeps serving; the killed
// replica, restarted, marks its interrupted run "outcome unknown". Nothing
// runs twice, nothing is lost, no secret reaches the database, and the
// audit trail verifies.
func TestServeReplicaProcessesPostgres(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("starts serve processes and waits out a lease: not in -short")
	}
	if runtime.GOOS != "linux" {
		// The replicas trust the simulated tenant's certificate through
		// SSL_CERT_FILE, which Go reads on Linux.
		t.Skip("runs on Linux only")
	}
	dsn := postgresTestDSN(t)
	ctx := context.Background()
	seed := seedPostgres(t, dsn)

	sim := fakegraph.NewTest(t, fakegraph.Options{})
	sim.Start()
	t.Cleanup(sim.Close)
	ca := filepath.Join(t.TempDir(), "sim.pem")
	must(t, os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: sim.Certificate().Raw}), 0o644))
	fs := fakeslack.NewTest(t, fakeslack.Options{})
	t.Cleanup(fs.Close)
	fs.AddChannel("COPS", "ops", "URILEY", "USAM", fakeslack.DefaultBotUserID)
	const auditKey = "two replicas' audit key, thirty-two bytes or more"
	env := []string{"CIPPBOT_STORE=" + dsn, "CIPPBOT_AUDIT_KEY=" + auditKey,
		"CIPPBOT_LEASE_TTL=" + testLeaseTTL.String(), // leadership moves within seconds, not 20
		"CIPPBOT_STORE_KEY=two replicas' store key, thirty-two bytes or more",
		"AZURE_CLIENT_ID=" + fakegraph.DefaultClientID, "AZURE_CLIENT_SECRET=" + fakegraph.DefaultClientSecret,
		"CIPPBOT_GRAPH_URL=" + sim.URL(), "AZURE_AUTHORITY_HOST=" + sim.URL() + "/", "SSL_CERT_FILE=" + ca,
		"SLACK_BOT_TOKEN=" + fakeslack.DefaultBotToken, "SLACK_SIGNING_SECRET=" + fakeslack.DefaultSigningSecret,
		"SLACK_API_URL=" + fs.APIURL(), "LOG_FORMAT=json", "LOG_LEVEL=info"}

	holder := func(lease string) string {
		h, err := seed.LeaseHolder(ctx, lease)
		must(t, err)
		return h
	}
	waitFor := func(what string, within time.Duration, ok func() bool) {
		t.Helper()
		deadline := time.Now().Add(within)
		for !ok() {
			if time.Now().After(deadline) {
				t.Fatalf("%s: not within %v", what, within)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	leaderDuties := []string{"sweep", "audit-head"}

	// a starts first and takes the leader's duties; then b.
	a := startReplicaProcess(t, "replica-a", env)
	waitFor("replica-a leads", 15*time.Second, func() bool {
		for _, d := range leaderDuties {
			if holder(d) != "replica-a" {
				return false
			}
		}
		return true
	})
	b := startReplicaProcess(t, "replica-b", env)
	on := func(r *replicaProcess) *slackRun { return &slackRun{sim: sim, fs: fs, base: r.base} }

	// request asks on r for a password reset of upn and returns its card,
	// once the approval records it.
	request := func(r *replicaProcess, upn string) (fakeslack.Message, string) {
		t.Helper()
		on(r).slash(t, "COPS", "URILEY", `reset-password `+upn+` reason="replicas test"`)
		card := on(r).wait(t, "card for "+upn, func(m fakeslack.Message) bool {
			return isCard(m) && strings.Contains(m.Text, upn)
		})
		val := approveValue.FindStringSubmatch(string(card.Blocks))
		if val == nil {
			t.Fatalf("card has no approve button: %s", card.Blocks)
		}
		waitFor("card of "+upn+" stored", 10*time.Second, func() bool {
			aps, err := seed.Approvals(ctx, bot.StatePending)
			must(t, err)
			for _, ap := range aps {
				if ap.Card == card.TS {
					return true
				}
			}
			return false
		})
		return card, val[1]
	}
	done := func(card fakeslack.Message, upn string) {
		t.Helper()
		on(a).wait(t, "card of "+upn+" done", func(m fakeslack.Message) bool {
			return m.TS == card.TS && m.Updated > 0 && strings.Contains(m.Text, "password reset")
		})
	}

	// 1. Approvals of the same request from both replicas at once.
	for _, upn := range []string{"AdeleV@contoso.com", "MeganB@contoso.com", "AlexW@contoso.com"} {
		card, val := request(a, upn)
		var wg sync.WaitGroup
		for _, r := range []*replicaProcess{a, b} {
			wg.Go(func() { on(r).click(t, card, val, "USAM") })
		}
		wg.Wait()
		done(card, upn)
	}

	// 2. The leader is killed while it runs a request.
	// Its write is held at the simulated tenant, so it is killed mid-run.
	write := sim.Hold(http.MethodPatch, "/users/")
	card, val := request(b, "LeeG@contoso.com")
	on(a).click(t, card, val, "USAM")
	var interrupted string
	waitFor("replica-a running LeeG's reset", 20*time.Second, func() bool {
		aps, err := seed.Approvals(ctx, bot.StateRunning)
		must(t, err)
		for _, ap := range aps {
			if ap.Card == card.TS && ap.Replica == "replica-a" {
				interrupted = ap.ID
				return true
			}
		}
		return false
	})
	select {
	case <-write.Arrived():
	case <-time.After(20 * time.Second):
		t.Fatal("replica-a never sent LeeG's write")
	}
	a.kill()
	write.Release()
	killedAt := time.Now()

	// 3. The leader's duties move to b within the lease's time, and b
	// keeps serving meanwhile: a request made and approved on b runs.
	card, val = request(b, "LynneR@contoso.com")
	on(b).click(t, card, val, "USAM")
	done(card, "LynneR@contoso.com")
	waitFor("replica-b takes the leader's duties", 30*time.Second, func() bool {
		for _, d := range leaderDuties {
			if holder(d) != "replica-b" {
				return false
			}
		}
		return true
	})
	t.Logf("leader's duties moved %v after the kill", time.Since(killedAt).Round(time.Second))

	// 4. replica-a restarts under its ID: its interrupted run is marked
	// outcome unknown (unless b, seeing a's heartbeat lapse, did it
	// first), never run again.
	a = startReplicaProcess(t, "replica-a", env)
	waitFor("the interrupted run marked unknown", 20*time.Second, func() bool {
		ap, err := seed.Approval(ctx, interrupted)
		must(t, err)
		return ap.State == bot.StateUnknown
	})
	a.stop(t)
	b.stop(t)
	for _, d := range leaderDuties {
		if h := holder(d); h != "" {
			t.Errorf("lease %s still held by %q after both replicas stopped", d, h)
		}
	}

	// Nothing ran twice, nothing was lost: one password change per user
	// that was approved (the interrupted one at most once), one outcome
	// per approval.
	changes := map[string]int{}
	for _, r := range sim.Requests() {
		if r.Method == http.MethodPatch && strings.Contains(string(r.Body), "passwordProfile") {
			changes[r.Path]++
		}
	}
	for _, upn := range []string{"AdeleV@contoso.com", "MeganB@contoso.com", "AlexW@contoso.com", "LynneR@contoso.com", "LeeG@contoso.com"} {
		u, _ := sim.User(fakegraph.ContosoTenantID, upn)
		n := changes["/v1.0/users/"+u.ID] + changes["/v1.0/users/"+upn]
		if n > 1 || (n == 0 && upn != "LeeG@contoso.com") {
			t.Errorf("%s's password was changed %d times, want once", upn, n)
		}
	}
	recs, err := seed.Audit(ctx, bot.AuditFilter{})
	must(t, err)
	outcomes := map[string]int{}
	for _, r := range recs {
		if r.Kind == bot.KindOutcome {
			outcomes[r.ApprovalID]++
		}
	}
	all, err := seed.ApprovalsSince(ctx, time.Time{})
	must(t, err)
	if len(all) != 5 {
		t.Errorf("%d approvals stored, want 5", len(all))
	}
	for _, ap := range all {
		want := bot.StateDone
		if ap.ID == interrupted {
			want = bot.StateUnknown
		}
		if ap.State != want || outcomes[ap.ID] > 1 {
			t.Errorf("approval %s (%s): %s with %d outcome records, want %s with at most one", ap.ID, ap.Targets[0].UPN, ap.State, outcomes[ap.ID], want)
		}
	}
	var stdout, stderr strings.Builder
	if code := Main(ctx, []string{"audit", "verify"}, nil, &stdout, &stderr, func(k string) string {
		return map[string]string{"CIPPBOT_STORE": dsn, "CIPPBOT_AUDIT_KEY": auditKey}[k]
	}); code != 0 {
		t.Errorf("audit verify = %d: %s%s", code, stdout.String(), stderr.String())
	}
	// No secret at rest: each one delivered is in no table.
	var secrets []string
	for _, m := range fs.Messages() {
		if m.Ephemeral && strings.Contains(m.Text, "Only you can see this") {
			secrets = append(secrets, secretIn(t, m.Blocks))
		}
	}
	if len(secrets) != 4 {
		t.Errorf("%d secrets delivered, want 4 (one per completed reset)", len(secrets))
	}
	// Rows as text show bytea columns in hex: look for both spellings.
	inTable := func(table, what string) bool {
		var found bool
		must(t, seed.Pool().QueryRow(ctx, fmt.Sprintf(`SELECT EXISTS (SELECT 1 FROM %s t WHERE position($1 IN t::text) > 0 OR position($2 IN t::text) > 0)`, table),
			what, hex.EncodeToString([]byte(what))).Scan(&found))
		return found
	}
	if !inTable("approvals", "LeeG@contoso.com") || !inTable("audit", "LeeG@contoso.com") {
		t.Fatal("the search does not find the target in the approvals and the audit")
	}
	for _, secret := range secrets {
		for _, table := range []string{"approvals", "audit", "jobs", "deliveries", "grants", "tenants", "bindings", "sealed", "chat_refs", "transient", "leases", "replicas"} {
			if inTable(table, secret) {
				t.Errorf("a delivered secret is in table %s", table)
			}
		}
	}
}

// fakeClock is a clock a test moves forward.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// startDiscordReplica starts serve in process as replica id on the
// PostgreSQL store dsn, with the Discord interactions endpoint on fd, and
// returns its endpoint's URL and its logs.
func startDiscordReplica(t *testing.T, sim *fakegraph.Server, fd *fakediscord.Server, dsn, id, storeKey string) (string, *syncBuffer) {
	t.Helper()
	cfg := DefaultConfig()
	cfg.DataPath = filepath.Join(t.TempDir(), "unused.db")
	cfg.Store, cfg.ReplicaID, cfg.GDAP.StoreKey = dsn, id, storeKey
	cfg.ReasonOptional = []string{"all"}
	cfg.ClientID, cfg.ClientSecret = fakegraph.DefaultClientID, fakegraph.DefaultClientSecret
	cfg.GraphURL, cfg.AuthorityHost = sim.URL(), sim.URL()+"/"
	cfg.DiscordBotToken, cfg.DiscordAppID = fakediscord.DefaultBotToken, fakediscord.DefaultAppID
	cfg.DiscordPublicKey, cfg.DiscordGuildID, cfg.DiscordAPIURL = fd.PublicKeyHex(), guild, fd.BaseURL()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	logs := &syncBuffer{}
	log := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- runServe(ctx, cfg, sim.Client(), ln, log) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("serve %s: %v", id, err)
			}
		case <-time.After(30 * time.Second):
			t.Errorf("serve %s did not stop", id)
		}
	})
	waitReady(t, "http://"+ln.Addr().String())
	return "http://" + ln.Addr().String() + dRoute, logs
}

// TestDiscordRevealOnAnotherReplicaPostgres: over Discord's HTTP
// interactions, a secret whose requester's token has lapsed waits behind
// a Reveal button posted by the replica that ran the request; the click
// reaches the other replica, which shows it to the requester alone. The
// secret and the interaction tokens are in the database only sealed.
func TestDiscordRevealOnAnotherReplicaPostgres(t *testing.T) {
	t.Parallel()
	dsn := postgresTestDSN(t)
	ctx := context.Background()
	seed, err := postgres.Open(ctx, dsn, postgres.Options{})
	must(t, err)
	defer seed.Close()
	must(t, seed.PutTenant(ctx, bot.Tenant{ID: fakegraph.ContosoTenantID, Name: "Contoso", DefaultDomain: "contoso.com", Domains: []string{"contoso.com"}}))
	must(t, seed.PutGrant(ctx, bot.Grant{Actor: "discord:" + riley, Role: bot.RoleHelpdesk, GrantedBy: "test"}))
	must(t, seed.PutGrant(ctx, bot.Grant{Actor: "discord:" + samID, Role: bot.RoleApprover, GrantedBy: "test"}))

	sim := fakegraph.NewTest(t, fakegraph.Options{})
	sim.Start()
	t.Cleanup(sim.Close)
	clock := &fakeClock{t: time.Now()}
	fd := fakediscord.NewTest(t, fakediscord.Options{Now: clock.Now})
	t.Cleanup(fd.Close)
	fd.AddChannel(dChan, guild, riley, samID)
	const storeKey = "discord replicas' store key, thirty-two bytes or more"
	urlA, logsA := startDiscordReplica(t, sim, fd, dsn, "replica-a", storeKey)
	urlB, logsB := startDiscordReplica(t, sim, fd, dsn, "replica-b", storeKey)
	// Signed by the real clock, which the replicas check signatures by.
	deliver := func(url string, in fakediscord.Interaction) {
		t.Helper()
		resp, err := fd.DeliverAt(url, in, time.Now())
		must(t, err)
		resp.Body.Close()
		if resp.StatusCode != http.StatusAccepted {
			t.Fatalf("delivery: HTTP %d", resp.StatusCode)
		}
	}
	wait := func(what string, match func(fakediscord.Message) bool) fakediscord.Message {
		t.Helper()
		wctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		defer cancel()
		m, err := fd.WaitForMessage(wctx, match)
		if err != nil {
			t.Fatalf("no %s: %v\nmessages: %+v", what, err, fd.Messages())
		}
		return m
	}

	cmd := fd.Command(dChan, riley, command("reset-password", opt("user", 3, "AdeleV@contoso.com"), opt("reason", 3, "locked out")))
	deliver(urlA, cmd)
	card := wait("approval card", func(m fakediscord.Message) bool {
		return m.Via == fakediscord.ViaChannel && strings.Contains(m.Content, "Approval needed")
	})
	val := customApprove.FindStringSubmatch(string(card.Components))
	if val == nil {
		t.Fatalf("card has no approve button: %s", card.Components)
	}
	// Riley's token lapses at Discord; sam approves on the other replica.
	clock.Add(16 * time.Minute)
	click, err := fd.Click(dChan, samID, card, val[1])
	must(t, err)
	deliver(urlB, click)
	notice := wait("Reveal notice", func(m fakediscord.Message) bool {
		return strings.Contains(string(m.Components), `"custom_id":"reveal:`)
	})
	s := string(notice.Components)
	s = s[strings.Index(s, `"custom_id":"reveal:`)+len(`"custom_id":"`):]
	revealID := s[:strings.IndexByte(s, '"')]
	click, err = fd.Click(dChan, riley, notice, revealID)
	must(t, err)
	deliver(urlA, click)
	shown := wait("secret to riley", func(m fakediscord.Message) bool {
		return m.Ephemeral && m.For == riley && strings.Contains(m.Content, "`")
	})
	got := regexp.MustCompile("`([^`]+)`").FindStringSubmatch(shown.Content)
	if got == nil {
		t.Fatalf("no secret in %q", shown.Content)
	}
	secret := got[1]
	if u, _ := sim.User(fakegraph.ContosoTenantID, "AdeleV@contoso.com"); u.Password != secret {
		t.Fatal("the secret revealed is not the tenant's new password")
	}
	for _, m := range fd.Messages() {
		if strings.Contains(m.Content, secret) && (!m.Ephemeral || m.For != riley) {
			t.Errorf("secret visible beyond riley: %+v", m)
		}
	}
	if strings.Contains(logsA.String()+logsB.String(), secret) {
		t.Error("secret in the logs")
	}
	// In the database, neither the secret nor riley's interaction token
	// in plaintext; the sealed rows are there.
	var sealed int
	must(t, seed.Pool().QueryRow(ctx, `SELECT count(*) FROM transient WHERE key = $1`, []byte("discord:recent:discord:"+riley+"\x00"+dChan)).Scan(&sealed))
	if sealed != 1 {
		t.Errorf("%d sealed rows of riley's interaction, want 1", sealed)
	}
	for _, what := range []string{secret, cmd.Token} {
		for _, table := range []string{"approvals", "audit", "jobs", "deliveries", "grants", "tenants", "bindings", "sealed", "chat_refs", "transient", "leases", "replicas"} {
			var found bool
			must(t, seed.Pool().QueryRow(ctx, fmt.Sprintf(`SELECT EXISTS (SELECT 1 FROM %s t WHERE position($1 IN t::text) > 0 OR position($2 IN t::text) > 0)`, table),
				what, hex.EncodeToString([]byte(what))).Scan(&found))
			if found {
				t.Errorf("%.6s… (the secret or a token) is in table %s in plaintext", what, table)
			}
		}
	}
}

// fakeGateway counts the sessions open on it, as Discord would see them.
type fakeGateway struct {
	name   string
	shared *fakeGateway // where the counting happens

	mu         sync.Mutex
	open, most int
	holders    []string
}

func (g *fakeGateway) RunGateway(ctx context.Context) error {
	s := g.shared
	s.mu.Lock()
	s.open++
	s.most = max(s.most, s.open)
	s.holders = append(s.holders, g.name)
	s.mu.Unlock()
	<-ctx.Done()
	s.mu.Lock()
	s.open--
	s.mu.Unlock()
	return nil
}

// testLeaseTTL is the lease the replica tests run with (CIPPBOT_LEASE_TTL):
// short, so that a takeover takes seconds, and long enough to be renewed
// under load.
const testLeaseTTL = 3 * time.Second

// TestGatewayOnOneReplicaPostgres: of two replicas on one store, one keeps
// the Discord gateway; when it stops, the other connects, and never are
// two sessions open at once.
func TestGatewayOnOneReplicaPostgres(t *testing.T) {
	t.Parallel()
	dsn := postgresTestDSN(t)
	ctx := context.Background()
	shared := &fakeGateway{}
	type replica struct {
		cancel context.CancelFunc
		done   chan struct{}
		here   atomic.Bool
	}
	start := func(id string) *replica {
		db, err := postgres.Open(ctx, dsn, postgres.Options{})
		must(t, err)
		t.Cleanup(func() { db.Close() })
		r := &replica{done: make(chan struct{})}
		rctx, cancel := context.WithCancel(ctx)
		r.cancel = cancel
		b := &bot.Bot{Store: db, ReplicaID: id}
		go func() {
			defer close(r.done)
			leadGateway(rctx, b, testLeaseTTL, &fakeGateway{name: id, shared: shared}, &r.here, slog.New(slog.DiscardHandler))
		}()
		t.Cleanup(func() { cancel(); <-r.done })
		return r
	}
	a := start("replica-a")
	deadline := time.Now().Add(10 * time.Second)
	for !a.here.Load() {
		if time.Now().After(deadline) {
			t.Fatal("replica-a never connected the gateway")
		}
		time.Sleep(20 * time.Millisecond)
	}
	b := start("replica-b")
	time.Sleep(testLeaseTTL * 2 / 3) // two renewals: b tried and was refused
	if b.here.Load() {
		t.Fatal("replica-b connected while replica-a holds the gateway")
	}
	a.cancel()
	<-a.done
	deadline = time.Now().Add(10 * time.Second)
	for !b.here.Load() {
		if time.Now().After(deadline) {
			t.Fatal("replica-b did not take the gateway over")
		}
		time.Sleep(20 * time.Millisecond)
	}
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if shared.most != 1 || strings.Join(shared.holders, ",") != "replica-a,replica-b" {
		t.Errorf("sessions: at most %d open at once, held by %v; want 1, replica-a then replica-b", shared.most, shared.holders)
	}
}
