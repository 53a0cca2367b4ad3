package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/cippbot/cippbot/adapters/discord"
	"github.com/cippbot/cippbot/adapters/slack"
	"github.com/cippbot/cippbot/bot"
	"github.com/cippbot/cippbot/store"
)

// sealedTransient returns where what is secret waits for a click on any
// replica (Discord's interaction tokens; the secrets behind Reveal
// buttons, Slack's and Discord's and Teams'): the store, sealed under
// CIPPBOT_STORE_KEY, or, without that key, nil (memory: such a click must
// reach the replica that made the button).
func sealedTransient(cfg Config, db anyStore, log *slog.Logger) (bot.Transient, error) {
	if cfg.GDAP.StoreKey == "" {
		if usesPostgres(cfg) {
			log.Warn("CIPPBOT_STORE_KEY is not set: Reveal buttons and Discord's follow-ups work only on the replica that made them; set the same key on every replica")
		}
		return nil, nil
	}
	st, err := store.NewSealedTransient(db, []byte(cfg.GDAP.StoreKey))
	if err != nil {
		return nil, usageError{err.Error()}
	}
	return st, nil
}

// gateway is a connection that one replica alone keeps: Discord's.
type gateway interface {
	RunGateway(ctx context.Context) error
}

// leadGateway runs gw while this replica holds the "discord-gateway"
// lease (for ttl), until ctx ends; here says when it does. A gateway that
// fails is tried again at the next renewal while the lease is held.
func leadGateway(ctx context.Context, b *bot.Bot, ttl time.Duration, gw gateway, here *atomic.Bool, log *slog.Logger) {
	leaderOnly(ctx, b, ttl, "discord-gateway", func(ctx context.Context) {
		here.Store(true)
		defer here.Store(false)
		log.Info("this replica holds the Discord gateway", "replica", b.ReplicaID)
		if err := gw.RunGateway(ctx); err != nil {
			log.Error("Discord gateway", "err", err)
		}
	})
}

// shutdownGrace is how long in-flight work may take after SIGTERM.
const shutdownGrace = 20 * time.Second

// runServe runs the bot: the configured chat platforms, real tenants
// through the partner app, and the HTTP listener. graphClient, if non-nil,
// carries Graph and token traffic (tests point it at a simulated tenant);
// ln, if non-nil, replaces listening on cfg.Listen.
func runServe(ctx context.Context, cfg Config, graphClient *http.Client, ln net.Listener, log *slog.Logger) error {
	if ln != nil {
		defer ln.Close() // also when start-up fails, so nobody waits on it
	}
	met := newMetrics()
	if cfg.Auth == "gdap" { // delegated mode (login.go)
		if cfg.GDAP.StoreKey == "" {
			return usageError{"serve: CIPPBOT_AUTH=gdap needs CIPPBOT_STORE_KEY (or CIPPBOT_STORE_KEY_FILE), the key the refresh token is sealed with"}
		}
		cfg.GDAP.source = &gdapSource{}
	}
	conn, err := connector(cfg, graphClient, log, met.graphExchange)
	if err != nil {
		return err
	}
	if cfg.SlackBotToken == "" && cfg.DiscordBotToken == "" && !cfg.Teams.enabled() {
		return usageError{"serve: no chat platform is configured; set SLACK_BOT_TOKEN (with SLACK_SIGNING_SECRET or SLACK_APP_TOKEN), DISCORD_BOT_TOKEN with DISCORD_APP_ID, and/or TEAMS_APP_ID with TEAMS_APP_PASSWORD and TEAMS_TENANT_ID"}
	}
	db, err := openAnyStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := startGDAP(ctx, cfg, db, graphClient, log); err != nil {
		return err
	}
	if h, err := db.AuditHead(ctx); err == nil && cfg.AuditKey != "" && h.Seq > 0 && !h.Keyed {
		// Either the key is new, or the keyed records were removed
		// and the rest rechained: only a head published earlier tells.
		log.Warn("the audit trail is not keyed yet: it is keyed from the next record on; if it was keyed before, it was rewritten (check with cippbot audit verify --head and a head logged earlier)", "head", h.Seq)
	}
	if bdb, ok := db.(*store.DB); !ok {
		// PostgreSQL is backed up with its own tools (pg_dump).
	} else if bl, err := listenBackup(cfg.DataPath, bdb, log); err != nil {
		log.Warn("cippbot backup cannot reach this serve; stop it to take a backup", "err", err)
	} else {
		defer bl.Close()
	}
	sealed, err := sealedTransient(cfg, db, log)
	if err != nil {
		return err
	}
	b := newBot(cfg, conn, db, log)
	b.Chats = map[string]bot.Chat{}
	b.Metrics = met
	b.SecretHold, b.SecretRetry = cfg.secretHold, cfg.secretRetry
	if sealed != nil {
		b.Held = sealed // a Reveal click on any replica finds the secret
	}

	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "ok") })
	mux.Handle("GET /metrics", met.handler())
	var platforms []string
	var sl *slack.Adapter
	if cfg.SlackBotToken != "" {
		sl, err = slack.New(slack.Config{
			BotToken: cfg.SlackBotToken, SigningSecret: cfg.SlackSigningSecret, AppToken: cfg.SlackAppToken,
			APIURL: cfg.SlackAPIURL, Logger: log, Dedup: db, State: db,
		}, b)
		if err != nil {
			return usageError{err.Error()}
		}
		if err := sl.Check(ctx); err != nil {
			return err
		}
		b.Chats[slack.Platform] = sl
		if cfg.SlackSigningSecret != "" {
			sl.Routes(mux)
			platforms = append(platforms, "slack (HTTP /slack/commands, /slack/interactions)")
		}
		if cfg.SlackAppToken != "" {
			platforms = append(platforms, "slack (Socket Mode)")
		}
	}
	var dc *discord.Adapter
	if cfg.DiscordBotToken != "" {
		dc, err = discord.New(discord.Config{
			BotToken: cfg.DiscordBotToken, AppID: cfg.DiscordAppID, PublicKey: cfg.DiscordPublicKey,
			GuildID: cfg.DiscordGuildID, APIURL: cfg.DiscordAPIURL, Logger: log, Dedup: db,
			State: db, Sealed: sealed,
		}, b)
		if err != nil {
			return usageError{err.Error()}
		}
		if err := dc.Register(ctx, b.Actions(), bot.Builtins()); err != nil {
			return err
		}
		b.Chats[discord.Platform] = dc
		if cfg.DiscordPublicKey != "" {
			dc.Routes(mux)
			platforms = append(platforms, "discord (HTTP /discord/interactions)")
		} else {
			platforms = append(platforms, "discord (gateway)")
		}
	}
	// Teams: see teams.go.
	tm, err := startTeams(cfg, b, db, sealed, mux, graphClient, log)
	if err != nil {
		return err
	}
	if tm != nil {
		platforms = append(platforms, "teams (HTTP /teams/messages)")
	}
	cfg.GDAP.source.setTell(tellAdminsGDAP(b)) // delegated mode's failures reach the admins once (login.go)
	defer startReplica(ctx, cfg, b, log)()     // storepg.go: replicas on PostgreSQL
	var gatewayHere atomic.Bool                // this replica holds the Discord gateway
	if err := b.Recover(ctx); err != nil {
		return err
	}
	// Ready: the store answers, the tenant directory has tenants, and
	// every platform is connected.
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		var problems []string
		if ts, err := db.Tenants(r.Context()); err != nil {
			problems = append(problems, "store: "+err.Error())
		} else if len(ts) == 0 {
			problems = append(problems, "tenant directory: no tenants (cippbot tenants sync or add)")
		}
		if err := cfg.GDAP.source.Degraded(); err != nil {
			problems = append(problems, err.Error())
		}
		if sl != nil {
			if err := sl.Ready(); err != nil {
				problems = append(problems, err.Error())
			}
		}
		// Over the gateway, a replica that does not hold the gateway's
		// lease has nothing to connect: Discord's events go to the one
		// that does.
		if dc != nil && (cfg.DiscordPublicKey != "" || b.ReplicaID == "" || gatewayHere.Load()) {
			if err := dc.Ready(); err != nil {
				problems = append(problems, err.Error())
			}
		}
		if len(problems) > 0 {
			http.Error(w, strings.Join(problems, "\n"), http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ready")
	})

	if ln == nil {
		if ln, err = net.Listen("tcp", cfg.Listen); err != nil {
			return fmt.Errorf("listen on %s: %w", cfg.Listen, err)
		}
		defer ln.Close()
	}
	srv := newHTTPServer(mux, cfg.http)
	log.Info("cippbot serving", "version", version(), "listen", ln.Addr().String(), "platforms", strings.Join(platforms, ", "), "config", cfg)

	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		if err := serveLimited(srv, ln, cfg.http); !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("http: %w", err)
		}
		return nil
	})
	if sl != nil && cfg.SlackAppToken != "" {
		g.Go(func() error { return sl.RunSocketMode(gctx) })
	}
	switch {
	case dc == nil || cfg.DiscordPublicKey != "":
	case b.ReplicaID == "":
		g.Go(func() error { return dc.RunGateway(gctx) })
	default:
		// One gateway session for all replicas: two sessions would each
		// get every event. The lease holder connects; another replica
		// takes over within 20 s of its death.
		g.Go(func() error { leadGateway(gctx, b, cfg.LeaseTTL, dc, &gatewayHere, log); return nil })
	}
	// Refusal summaries are this process's own; jobs, expiry and pruning
	// are the shared store's, done by one replica at a time.
	if b.ReplicaID != "" {
		g.Go(func() error { every(gctx, sweepEvery, func() { b.FlushRefusals(gctx) }); return nil })
	}
	g.Go(func() error {
		leaderOnly(gctx, b, cfg.LeaseTTL, "sweep", func(ctx context.Context) { sweepShared(ctx, b, log) })
		return nil
	})
	logHead(ctx, db, log, "start")
	g.Go(func() error {
		leaderOnly(gctx, b, cfg.LeaseTTL, "audit-head", func(ctx context.Context) { logHeads(ctx, db, log) })
		return nil
	})
	if cfg.TenantID != "" {
		g.Go(func() error {
			leaderOnly(gctx, b, cfg.LeaseTTL, "tenant-sync", func(ctx context.Context) { syncLoop(ctx, conn, db, cfg.TenantID, log) })
			return nil
		})
	}
	g.Go(func() error {
		<-gctx.Done()
		// Stop taking new work, then let acknowledged work finish.
		sctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
		defer cancel()
		srv.Shutdown(sctx)
		if sl != nil {
			if err := sl.Close(sctx); err != nil {
				log.Warn("in-flight Slack work did not finish in time", "err", err)
			}
		}
		if dc != nil {
			if err := dc.Close(sctx); err != nil {
				log.Warn("in-flight Discord work did not finish in time", "err", err)
			}
		}
		closeTeams(sctx, tm, log)
		b.Wait()
		// Secrets still waiting for delivery: those in memory die with the
		// process, and their cards say so; those sealed in the store stay
		// behind their Reveal buttons, which any replica answers.
		b.DropSecrets(sctx)
		return nil
	})
	err = g.Wait()
	logHead(context.Background(), db, log, "shutdown")
	log.Info("cippbot stopped")
	return err
}
