// Command cippbot runs Microsoft 365 user administration from chat, with
// four-eyes approvals, private secret delivery and a hash-chained audit
// trail. "cippbot demo" tries it in a terminal against a simulated tenant.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/term"

	"github.com/cippbot/cippbot/actions"
	"github.com/cippbot/cippbot/actions/m365"
	"github.com/cippbot/cippbot/adapters/console"
	"github.com/cippbot/cippbot/bot"
	"github.com/cippbot/cippbot/internal/fakegraph"
	"github.com/cippbot/cippbot/store"
)

// Version is set at build time with -ldflags "-X main.Version=…".
var Version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := Main(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.Getenv)
	stop()
	os.Exit(code)
}

const usage = `cippbot: Microsoft 365 user administration from chat

Usage:
  cippbot demo                      try it: a console chat against a simulated tenant
  cippbot serve                     run the bot
  cippbot audit verify [--head SEQ:HASH]   check the audit trail's hash chain (and a head published earlier)
  cippbot audit export [--format jsonl|csv] [--since 2026-01-02]
  cippbot backup <file>             a consistent copy of the database, also while serve runs
  cippbot store copy --from <bbolt file> --to postgres://…   move a store to PostgreSQL, audit chain intact
  cippbot tenants list | sync | add <domain-or-id> | remove <domain-or-id>
  cippbot tenants policy <domain-or-id> strict|two-approvers
  cippbot check                     can cippbot reach each tenant, and which actions work
  cippbot check --rehearse USER@DOMAIN   every action's reads on one user, changing nothing
  cippbot login                     sign the partner service account in for delegated (GDAP) mode
  cippbot version
  cippbot healthcheck               exit 0 if serve answers /healthz on CIPPBOT_LISTEN (for containers)

Environment: CIPPBOT_DATA (bbolt file, default ./cippbot.db), CIPPBOT_STORE
(postgres://… instead of the file, for more than one replica), CIPPBOT_AUDIT_KEY
(or _FILE), CIPPBOT_ADMINS,
CIPPBOT_APPROVAL_TTL, CIPPBOT_APPROVAL_RETENTION, LOG_LEVEL, LOG_FORMAT,
CIPPBOT_CLOUD, AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_CLIENT_SECRET (or _FILE)
or AZURE_CLIENT_CERTIFICATE_PATH; CIPPBOT_AUTH (app or gdap) and, for gdap
and login, CIPPBOT_STORE_KEY (or _FILE);
Slack and Discord settings: see README.
`

// Main runs cippbot with the given arguments and environment and returns
// the exit code: 0 ok, 1 failure, 2 bad usage or configuration.
func Main(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	cfg, err := LoadConfig(getenv)
	if err != nil {
		fmt.Fprintln(stderr, "cippbot:", err)
		return 2
	}
	if args[0] == "demo" && getenv("LOG_LEVEL") == "" {
		cfg.LogLevel = slog.LevelWarn // keep the chat readable
	}
	log := newLogger(stderr, cfg)
	var runErr error
	switch args[0] {
	case "demo":
		runErr = runDemo(ctx, cfg, getenv("CIPPBOT_DATA") != "", stdin, stdout, log)
	case "serve":
		runErr = runServe(ctx, cfg, nil, nil, log)
	case "audit":
		return runAudit(ctx, cfg, args[1:], stdout, stderr)
	case "backup":
		runErr = runBackup(ctx, cfg, args[1:], stdout)
	case "store":
		runErr = runStoreCmd(ctx, cfg, args[1:], stdout, stderr)
	case "tenants":
		runErr = runTenants(ctx, cfg, args[1:], stdout, nil, log)
	case "check":
		if len(args) > 1 { // --rehearse user@domain (rehearse.go)
			runErr = runRehearse(ctx, cfg, args[1:], stdout, nil, log)
			break
		}
		runErr = runCheck(ctx, cfg, stdout, nil, log)
	case "login":
		runErr = runLogin(ctx, cfg, args[1:], getenv, stdout, nil, log) // login.go
	case "version":
		fmt.Fprintln(stdout, "cippbot", version())
		return 0
	case "healthcheck":
		return healthcheck(cfg, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "cippbot: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
	if runErr != nil {
		var ue usageError
		fmt.Fprintln(stderr, "cippbot:", runErr)
		if errors.As(runErr, &ue) {
			return 2
		}
		return 1
	}
	return 0
}

// usageError is a mistake in the command line or configuration.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func version() string {
	if Version != "dev" {
		return Version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return Version
}

func newLogger(w io.Writer, cfg Config) *slog.Logger {
	opts := &slog.HandlerOptions{Level: cfg.LogLevel}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// openKeyedStore opens the store with the audit key, for the commands that
// append to the audit trail or verify it.
func openKeyedStore(cfg Config) (*store.DB, error) {
	db := store.NewDB(cfg.DataPath)
	db.NoSync = cfg.noSync
	if cfg.AuditKey != "" {
		db.AuditKey = []byte(cfg.AuditKey)
	}
	if err := db.Open(); err != nil {
		return nil, err
	}
	return db, nil
}

func openStore(path string) (*store.DB, error) {
	db := store.NewDB(path)
	if err := db.Open(); err != nil {
		return nil, err
	}
	return db, nil
}

// Demo personas and what they may do.
var demoPersonas = []struct {
	console.Persona
	role bot.Role
}{
	{console.Persona{Name: "riley", Note: "helpdesk: runs changes, asks for approval of destructive actions"}, bot.RoleHelpdesk},
	{console.Persona{Name: "sam", Note: "approver: approves others' requests"}, bot.RoleApprover},
	{console.Persona{Name: "jordan", Note: "admin: grants and revokes roles"}, bot.RoleAdmin},
}

// runDemo runs the console chat against an embedded simulated tenant,
// through the same Graph client path as a real tenant.
func runDemo(ctx context.Context, cfg Config, keepData bool, stdin io.Reader, stdout io.Writer, log *slog.Logger) error {
	if !keepData {
		dir, err := os.MkdirTemp("", "cippbot-demo-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		cfg.DataPath = filepath.Join(dir, "cippbot.db")
	}
	sim := fakegraph.New(fakegraph.Options{})
	sim.Start()
	defer sim.Close()
	fancy := false
	if f, ok := stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fancy = true
	}
	d, err := startDemo(ctx, cfg, sim, stdout, fancy, log)
	if err != nil {
		return err
	}
	defer d.Close()
	fmt.Fprint(stdout, demoWelcome(cfg.DataPath, keepData))
	go sweep(ctx, d.bot, log)
	err = d.console.Run(ctx, stdin)
	d.bot.Wait()
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

// demo is a wired console chat against a simulated tenant.
type demo struct {
	console *console.Adapter
	bot     *bot.Bot
	db      *store.DB
}

// Close closes the store.
func (d *demo) Close() error { return d.db.Close() }

// startDemo wires the store, the Graph connector pointed at sim, the bot
// and the console adapter writing to out.
func startDemo(ctx context.Context, cfg Config, sim *fakegraph.Server, out io.Writer, fancy bool, log *slog.Logger) (*demo, error) {
	db, err := openKeyedStore(cfg)
	if err != nil {
		return nil, err
	}
	d := &demo{db: db}
	if err := d.wire(ctx, cfg, sim, out, fancy, log); err != nil {
		db.Close()
		return nil, err
	}
	return d, nil
}

func (d *demo) wire(ctx context.Context, cfg Config, sim *fakegraph.Server, out io.Writer, fancy bool, log *slog.Logger) error {
	conn, err := m365.New(m365.Config{
		GraphURL:           sim.URL(),
		ExchangeURL:        sim.URL(),
		SharePointAdminURL: sim.URL(),
		MFAConnectorURL:    sim.URL(),
		AuthorityHost:      sim.URL() + "/",
		ClientID:           fakegraph.DefaultClientID,
		ClientSecret:       fakegraph.DefaultClientSecret,
		HTTPClient:         sim.Client(),
		Retry:              m365.RetryPolicy{Base: time.Second},
		Logger:             log,
	})
	if err != nil {
		return err
	}
	if err := d.db.PutTenant(ctx, bot.Tenant{ID: fakegraph.ContosoTenantID, Name: "Contoso (simulated)",
		DefaultDomain: fakegraph.ContosoDomain, Domains: []string{fakegraph.ContosoDomain, "contoso.onmicrosoft.com"}, Source: "demo"}); err != nil {
		return err
	}
	personas := make([]console.Persona, len(demoPersonas))
	for i, p := range demoPersonas {
		personas[i] = p.Persona
		if err := d.db.PutGrant(ctx, bot.Grant{Actor: console.Platform + ":" + p.Name, Role: p.role, GrantedBy: "demo", GrantedAt: time.Now().UTC()}); err != nil {
			return err
		}
	}
	d.console = &console.Adapter{Out: out, Personas: personas, Fancy: fancy}
	d.bot = newBot(cfg, conn, d.db, log)
	d.bot.Chats = map[string]bot.Chat{console.Platform: d.console}
	d.console.Handler = d.bot
	// Short sequential approval IDs ("approve 3") make the demo easy to
	// type and to script; serve uses random ones.
	existing, err := d.db.Approvals(ctx)
	if err != nil {
		return err
	}
	// Count on from the highest: approvals past the retention are removed,
	// so their number can be lower than the highest ID.
	var next atomic.Int64
	for _, ap := range existing {
		if n, err := strconv.ParseInt(ap.ID, 10, 64); err == nil && n > next.Load() {
			next.Store(n)
		}
	}
	d.bot.NewID = func() string { return strconv.FormatInt(next.Add(1), 10) }
	return d.bot.Recover(ctx)
}

func demoWelcome(path string, kept bool) string {
	where := "a temporary database (set CIPPBOT_DATA to keep it)"
	if kept {
		where = path
	}
	return `cippbot demo: a chat against a simulated Microsoft 365 tenant, contoso.com.
You are riley (helpdesk). Switch with /as sam (approver) or /as jordan (admin).
Try:
  /cipp help
  /cipp user AdeleV@contoso.com
  /cipp reset-password AdeleV@contoso.com --must-change reason="locked out"
  /as sam   then   approve <id from the card>
  /cipp block-signin GradyA@contoso.com        (synced from on-premises)
  /cipp create-tap AlexW@contoso.com lifetime=60 --once     (asks why)
  /cipp add-to-group MeganB@contoso.com "Sales and Marketing"
  /cipp set-ooo AdeleV@contoso.com message="Back on Monday"
  /cipp audit
Buttons show as commands to type. Audit and approvals live in ` + where + `.
`
}

func newBot(cfg Config, conn actions.Connector, db bot.Store, log *slog.Logger) *bot.Bot {
	svc := &actions.Service{
		Connector: conn,
		Env:       actions.Env{Passwords: actions.Passwords{}},
	}
	b := &bot.Bot{
		Catalogue:         actions.Default(),
		Runner:            svc,
		Store:             db,
		Admins:            cfg.Admins,
		Delegated:         cfg.Auth == "gdap",
		ApprovalTTL:       cfg.ApprovalTTL,
		ApprovalRetention: cfg.ApprovalRetention,
		ReasonOptional:    cfg.ReasonOptional,
		Quota:             bot.Quota{PerTechnician: cfg.QuotaTech, PerTenant: cfg.QuotaTenant},
		Logger:            log,
	}
	if b.Delegated {
		svc.Judge = b.JudgeGDAP // check and rehearse judge roles by GDAP
	}
	return b
}

// sweepEvery is how often serve sweeps.
const sweepEvery = 30 * time.Second

// sweep does what one process alone does every 30 seconds (bot.Sweep)
// until ctx ends.
func sweep(ctx context.Context, b *bot.Bot, log *slog.Logger) {
	every(ctx, sweepEvery, func() {
		if err := b.Sweep(ctx); err != nil {
			log.WarnContext(ctx, "approval sweep failed", "err", err)
		}
	})
}

// sweepShared runs due jobs, expires stale approvals and prunes old ones
// (bot.SweepShared) every 30 seconds until ctx ends: the leader's sweep.
func sweepShared(ctx context.Context, b *bot.Bot, log *slog.Logger) {
	every(ctx, sweepEvery, func() {
		if err := b.SweepShared(ctx); err != nil {
			log.WarnContext(ctx, "approval sweep failed", "err", err)
		}
	})
}

// every calls fn every d until ctx ends.
func every(ctx context.Context, d time.Duration, fn func()) {
	t := time.NewTicker(d)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			fn()
		}
	}
}

func runAudit(ctx context.Context, cfg Config, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, "cippbot: audit verify [--head SEQ:HASH] | audit export [--format jsonl|csv] [--since DATE]")
		return 2
	}
	var published *store.AuditHead
	if args[0] == "verify" {
		fs := flag.NewFlagSet("audit verify", flag.ContinueOnError)
		fs.SetOutput(stderr)
		head := fs.String("head", "", "a head published earlier (SEQ:HASH, as serve logs it): that record must be there, with that hash")
		if err := fs.Parse(args[1:]); err != nil {
			return 2
		}
		if *head != "" {
			h, err := parseHead(*head)
			if err != nil {
				fmt.Fprintln(stderr, "cippbot:", err)
				return 2
			}
			published = &h
		}
	}
	db, err := openAnyStore(ctx, cfg)
	if err != nil {
		fmt.Fprintln(stderr, "cippbot:", err)
		return 1
	}
	defer db.Close()
	switch args[0] {
	case "verify":
		var rep store.VerifyReport
		if published != nil {
			rep, err = db.VerifyAuditHead(ctx, *published)
		} else {
			rep, err = db.VerifyAudit(ctx)
		}
		if err != nil {
			fmt.Fprintf(stderr, "cippbot: audit trail of %s is NOT intact: %v\n", configuredStoreName(cfg), err)
			return 1
		}
		fmt.Fprintf(stdout, "audit trail intact: %d records, head #%d %s\n", rep.Records, rep.Head, rep.HeadHash)
		switch {
		case rep.KeyedFrom != 0:
			fmt.Fprintf(stdout, "keyed (HMAC-SHA256) from record #%d on\n", rep.KeyedFrom)
		case rep.Records > 0:
			fmt.Fprintln(stdout, "not keyed: anyone who can write the file can rewrite the trail and its hashes; set CIPPBOT_AUDIT_KEY, and compare the head with one published earlier (--head)")
		}
		if published != nil {
			fmt.Fprintf(stdout, "matches the published head #%d\n", published.Seq)
		}
		return 0
	case "export":
		fs := flag.NewFlagSet("audit export", flag.ContinueOnError)
		fs.SetOutput(stderr)
		format := fs.String("format", "jsonl", "jsonl or csv")
		since := fs.String("since", "", "only records at or after this date (2006-01-02) or RFC 3339 time")
		if err := fs.Parse(args[1:]); err != nil {
			return 2
		}
		var t time.Time
		if *since != "" {
			if t, err = parseSince(*since); err != nil {
				fmt.Fprintln(stderr, "cippbot:", err)
				return 2
			}
		}
		if err := db.ExportAudit(ctx, stdout, *format, t); err != nil {
			fmt.Fprintln(stderr, "cippbot:", err)
			return 1
		}
		return 0
	}
	fmt.Fprintf(stderr, "cippbot: unknown audit command %q\n", args[0])
	return 2
}

// parseHead parses a head as serve logs it: SEQ:HASH.
func parseHead(s string) (store.AuditHead, error) {
	seq, hash, ok := strings.Cut(s, ":")
	n, err := strconv.ParseUint(seq, 10, 64)
	if !ok || err != nil || n == 0 || len(hash) != 64 || strings.Trim(strings.ToLower(hash), "0123456789abcdef") != "" {
		return store.AuditHead{}, fmt.Errorf("--head %q is not SEQ:HASH (a record number and its 64-digit hex hash)", s)
	}
	return store.AuditHead{Seq: n, Hash: strings.ToLower(hash)}, nil
}

func parseSince(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	if t, err := time.Parse("2006-01-02", s); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("--since %q is not a date (2006-01-02) or RFC 3339 time", s)
}

// healthcheck asks a running serve for /healthz on CIPPBOT_LISTEN; the
// container image has no shell or curl, so the binary does it.
func healthcheck(cfg Config, stderr io.Writer) int {
	host, port, err := net.SplitHostPort(cfg.Listen)
	if err != nil {
		fmt.Fprintln(stderr, "cippbot: CIPPBOT_LISTEN:", err)
		return 2
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	c := &http.Client{Timeout: 3 * time.Second}
	resp, err := c.Get("http://" + net.JoinHostPort(host, port) + "/healthz")
	if err != nil {
		fmt.Fprintln(stderr, "cippbot: unhealthy:", err)
		return 1
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		fmt.Fprintln(stderr, "cippbot: unhealthy:", resp.Status)
		return 1
	}
	return 0
}
