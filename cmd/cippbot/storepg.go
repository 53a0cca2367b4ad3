package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"time"

	"github.com/cippbot/cippbot/adapters/teams"
	"github.com/cippbot/cippbot/bot"
	"github.com/cippbot/cippbot/store"
	"github.com/cippbot/cippbot/store/postgres"
)

// The choice of store: CIPPBOT_STORE=postgres://… puts everything in
// PostgreSQL (store/postgres), for more than one replica on one database;
// otherwise the bbolt file CIPPBOT_DATA is used, as before.

// anyStore is what the commands need of a store, bbolt or PostgreSQL.
type anyStore interface {
	bot.Store
	bot.Deduper
	AuditHead(ctx context.Context) (store.AuditHead, error)
	VerifyAudit(ctx context.Context) (store.VerifyReport, error)
	VerifyAuditHead(ctx context.Context, published store.AuditHead) (store.VerifyReport, error)
	ExportAudit(ctx context.Context, w io.Writer, format string, since time.Time) error
	Close() error
	store.Blobs    // the delegated mode's sealed token cache (login.go)
	teams.RefStore // how Teams reaches conversations after a restart
	bot.Transient  // what chat adapters hold for a click on any replica
}

var (
	_ anyStore = (*store.DB)(nil)
	_ anyStore = (*postgres.DB)(nil)
)

// usesPostgres reports whether cfg selects the PostgreSQL store.
func usesPostgres(cfg Config) bool { return postgres.IsDSN(cfg.Store) }

// openAnyStore opens the configured store with the audit key.
func openAnyStore(ctx context.Context, cfg Config) (anyStore, error) {
	if usesPostgres(cfg) {
		return openPostgres(ctx, cfg.Store, cfg.AuditKey)
	}
	return openKeyedStore(cfg)
}

// openPlainStore opens the configured store without the audit key, for
// the commands that do not touch the audit trail.
func openPlainStore(ctx context.Context, cfg Config) (anyStore, error) {
	if usesPostgres(cfg) {
		return openPostgres(ctx, cfg.Store, "")
	}
	return openStore(cfg.DataPath)
}

func openPostgres(ctx context.Context, dsn, auditKey string) (*postgres.DB, error) {
	var key []byte
	if auditKey != "" {
		key = []byte(auditKey)
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	db, err := postgres.Open(ctx, dsn, postgres.Options{AuditKey: key})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", storeName(dsn), err)
	}
	return db, nil
}

// storeName names a store for messages: a file's path, or a PostgreSQL
// DSN without its password.
func storeName(s string) string {
	if !postgres.IsDSN(s) {
		return s
	}
	u, err := url.Parse(s)
	if err != nil {
		return "PostgreSQL"
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	return u.Redacted()
}

// configuredStoreName names the store cfg selects.
func configuredStoreName(cfg Config) string {
	if usesPostgres(cfg) {
		return storeName(cfg.Store)
	}
	return cfg.DataPath
}

// runStoreCmd runs "cippbot store copy --from <bbolt file> --to
// postgres://…".
func runStoreCmd(ctx context.Context, cfg Config, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "copy" {
		return usageError{"store copy --from <bbolt file> --to postgres://…"}
	}
	fs := flag.NewFlagSet("store copy", flag.ContinueOnError)
	fs.SetOutput(stderr)
	from := fs.String("from", cfg.DataPath, "the bbolt file to copy (default CIPPBOT_DATA)")
	to := fs.String("to", cfg.Store, "the PostgreSQL database to copy into, postgres://… (default CIPPBOT_STORE)")
	if err := fs.Parse(args[1:]); err != nil {
		return usageError{err.Error()}
	}
	if !postgres.IsDSN(*to) {
		return usageError{"store copy: --to must be a postgres:// or postgresql:// URL"}
	}
	if postgres.IsDSN(*from) {
		return usageError{"store copy: --from must be a bbolt file"}
	}
	src, err := openKeyedStore(Config{DataPath: *from, AuditKey: cfg.AuditKey})
	if err != nil {
		return err
	}
	defer src.Close()
	dst, err := openPostgres(ctx, *to, cfg.AuditKey)
	if err != nil {
		return err
	}
	defer dst.Close()
	// The trail must be intact before it is copied: a copy of a damaged
	// trail would verify no better.
	if _, err := src.VerifyAudit(ctx); err != nil {
		return fmt.Errorf("store copy: the audit trail of %s is not intact, nothing copied: %w", *from, err)
	}
	n, err := postgres.Copy(ctx, src, dst)
	if err != nil {
		return fmt.Errorf("store copy to %s: %w", storeName(*to), err)
	}
	srcRep, err := src.VerifyAudit(ctx)
	if err != nil {
		return fmt.Errorf("store copy: the audit trail of %s: %w", *from, err)
	}
	dstRep, err := dst.VerifyAudit(ctx)
	if err != nil {
		return fmt.Errorf("store copy: the audit trail copied to %s does not verify: %w", storeName(*to), err)
	}
	if srcRep.Head != dstRep.Head || srcRep.HeadHash != dstRep.HeadHash {
		return errors.New("store copy: the copied audit trail's head differs from the source's")
	}
	fmt.Fprintf(stdout, "copied %s to %s: %d approvals, %d grants, %d tenants, %d bindings, %d jobs, %d audit records, %d retired approval IDs\n",
		*from, storeName(*to), n.Approvals, n.Grants, n.Tenants, n.Bindings, n.Jobs, n.Audit, n.RetiredIDs)
	fmt.Fprintf(stdout, "audit trail intact on both: head #%d %s\n", dstRep.Head, dstRep.HeadHash)
	return nil
}

// startReplica, on the PostgreSQL store, names this process among the
// replicas sharing it (CIPPBOT_REPLICA_ID, or the host name, which a
// restarted container keeps), records a heartbeat before Recover runs,
// keeps it every few seconds, and every ReplicaTimeout marks the runs of
// replicas that died as outcome unknown. It returns the function that
// stops all that. On bbolt, one process alone, it does nothing.
func startReplica(ctx context.Context, cfg Config, b *bot.Bot, log *slog.Logger) func() {
	rs, ok := b.Store.(bot.ReplicaStore)
	if !usesPostgres(cfg) || !ok {
		return func() {}
	}
	b.ReplicaID = cfg.ReplicaID
	if b.ReplicaID == "" {
		b.ReplicaID, _ = os.Hostname()
	}
	if b.ReplicaID == "" {
		b.ReplicaID = fmt.Sprintf("pid-%d", os.Getpid())
	}
	if err := rs.Heartbeat(ctx, b.ReplicaID); err != nil {
		log.Warn("replica heartbeat failed", "replica", b.ReplicaID, "err", err)
	}
	log.Info("replica on a shared store", "replica", b.ReplicaID)
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{}, 2)
	go func() { defer func() { done <- struct{}{} }(); b.Heartbeat(ctx) }()
	go func() {
		defer func() { done <- struct{}{} }()
		t := time.NewTicker(bot.ReplicaTimeout)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if err := b.RecoverOrphans(ctx); err != nil && ctx.Err() == nil {
					log.Warn("recovering runs of stopped replicas failed", "err", err)
				}
			}
		}
	}()
	return func() { cancel(); <-done; <-done }
}

// leaderOnly runs duty until ctx ends: on a shared store (b has a
// ReplicaID) only while this replica holds the named lease for ttl
// (store.Lead, renewed every third of ttl), so that one replica of
// several does it; alone, always.
func leaderOnly(ctx context.Context, b *bot.Bot, ttl time.Duration, name string, duty func(context.Context)) {
	ls, ok := b.Store.(store.LeaseStore)
	if !ok || b.ReplicaID == "" {
		duty(ctx)
		return
	}
	store.Lead(ctx, ls, name, b.ReplicaID, ttl, ttl/3, duty)
}
