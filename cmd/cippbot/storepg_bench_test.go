package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"slices"
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

// BenchmarkServeStores runs two serves in process, one on bbolt and one
// on PostgreSQL, each with Slack over HTTP, a fake Slack and the
// simulated tenant. Each iteration, on each serve in turn: a destructive
// slash command (block-signin) timed from its POST to its approval card,
// then its Approve click timed to the card showing the outcome. After the
// loop, a burst: 32 requests made, then approved all at once, 8 clicks in
// flight, timed to the last outcome: approvals per second. Run with
// -benchtime Nx.
func BenchmarkServeStores(b *testing.B) {
	ctx := context.Background()
	boltPath := filepath.Join(b.TempDir(), "bench.db")
	db := store.NewDB(boltPath)
	if err := db.Open(); err != nil {
		b.Fatal(err)
	}
	if err := seedServeStore(db); err != nil {
		b.Fatal(err)
	}
	if err := db.Close(); err != nil {
		b.Fatal(err)
	}
	dsn := pgtest.Schema(b)
	pg, err := postgres.Open(ctx, dsn, postgres.Options{})
	if err != nil {
		b.Fatal(err)
	}
	if err := pg.PutTenant(ctx, bot.Tenant{ID: fakegraph.ContosoTenantID, Name: "Contoso", DefaultDomain: "contoso.com", Domains: []string{"contoso.com"}}); err != nil {
		b.Fatal(err)
	}
	for actor, role := range map[string]bot.Role{"slack:URILEY": bot.RoleHelpdesk, "slack:USAM": bot.RoleApprover} {
		if err := pg.PutGrant(ctx, bot.Grant{Actor: actor, Role: role, GrantedBy: "bench"}); err != nil {
			b.Fatal(err)
		}
	}
	pg.Close()

	bolt := startStoreServe(b, func(cfg *Config) { cfg.DataPath = boltPath })
	defer bolt.stop()
	pgs := startStoreServe(b, func(cfg *Config) { cfg.Store, cfg.ReplicaID = dsn, "bench" })
	defer pgs.stop()
	var cardBolt, cardPG, doneBolt, donePG []time.Duration
	for b.Loop() {
		c, d := bolt.requestAndApprove()
		cardBolt, doneBolt = append(cardBolt, c), append(doneBolt, d)
		c, d = pgs.requestAndApprove()
		cardPG, donePG = append(cardPG, c), append(donePG, d)
	}
	pct := func(took []time.Duration, p float64) float64 {
		took = slices.Sorted(slices.Values(took))
		i := int(p*float64(len(took))+0.5) - 1
		return float64(took[min(max(i, 0), len(took)-1)]) / float64(time.Millisecond)
	}
	b.ReportMetric(pct(cardBolt, 0.50), "bolt-card-p50-ms")
	b.ReportMetric(pct(cardBolt, 0.99), "bolt-card-p99-ms")
	b.ReportMetric(pct(cardPG, 0.50), "pg-card-p50-ms")
	b.ReportMetric(pct(cardPG, 0.99), "pg-card-p99-ms")
	b.ReportMetric(pct(doneBolt, 0.50), "bolt-approve-p50-ms")
	b.ReportMetric(pct(donePG, 0.50), "pg-approve-p50-ms")
	b.ReportMetric(bolt.burst(32, 8), "bolt-approvals/s")
	b.ReportMetric(pgs.burst(32, 8), "pg-approvals/s")
}

// storeServe is an in-process serve for BenchmarkServeStores.
type storeServe struct {
	b    *testing.B
	fs   *fakeslack.Server
	base string
	stop func()
	seen map[string]bool
}

func startStoreServe(b *testing.B, configure func(*Config)) *storeServe {
	sim := fakegraph.NewTest(b, fakegraph.Options{})
	sim.Start()
	fs := fakeslack.NewTest(b, fakeslack.Options{})
	fs.AddChannel("COPS", "ops", "URILEY", "USAM", fakeslack.DefaultBotUserID)
	cfg := DefaultConfig()
	cfg.DataPath = filepath.Join(b.TempDir(), "unused.db")
	cfg.ReasonOptional = []string{"all"}
	cfg.QuotaTech, cfg.QuotaTenant = -1, -1
	cfg.ClientID, cfg.ClientSecret = fakegraph.DefaultClientID, fakegraph.DefaultClientSecret
	cfg.GraphURL, cfg.AuthorityHost = sim.URL(), sim.URL()+"/"
	cfg.SlackBotToken, cfg.SlackAPIURL = fakeslack.DefaultBotToken, fs.APIURL()
	cfg.SlackSigningSecret = fakeslack.DefaultSigningSecret
	configure(&cfg)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	s := &storeServe{b: b, fs: fs, base: "http://" + ln.Addr().String(), seen: map[string]bool{}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- runServe(ctx, cfg, sim.Client(), ln, slog.New(slog.NewTextHandler(io.Discard, nil))) }()
	s.stop = func() {
		cancel()
		if err := <-done; err != nil {
			b.Error(err)
		}
		fs.Close()
		sim.Close()
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get(s.base + "/healthz")
		if err == nil {
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			s.stop()
			b.Fatalf("serve never became ready: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return s
}

// request sends block-signin and returns its card and when it was sent.
func (s *storeServe) request() (fakeslack.Message, time.Duration) {
	start := time.Now()
	resp, err := s.fs.SlashCommand(s.base+"/slack/commands", "/cipp", "block-signin AdeleV@contoso.com", "COPS", "URILEY")
	if err != nil {
		s.b.Fatal(err)
	}
	resp.Body.Close()
	m := s.waitFor("card", func(m fakeslack.Message) bool {
		return !m.Ephemeral && m.Channel == "COPS" && strings.Contains(m.Text, "Approval needed") && !s.seen[m.TS]
	})
	took := time.Since(start)
	s.seen[m.TS] = true
	return m, took
}

// approve clicks Approve on card and waits for the card's outcome. It
// may run on any goroutine: it returns its error.
func (s *storeServe) approve(card fakeslack.Message) error {
	val := approveValue.FindStringSubmatch(string(card.Blocks))
	if val == nil {
		return fmt.Errorf("card has no approve button: %s", card.Blocks)
	}
	resp, err := s.fs.ClickButton(s.base+"/slack/interactions", card, "cipp_approve", val[1], "USAM")
	if err != nil {
		return err
	}
	resp.Body.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := s.fs.WaitForMessage(ctx, func(m fakeslack.Message) bool {
		return m.TS == card.TS && m.Updated > 0 && strings.Contains(m.Text, "sign-in")
	}); err != nil {
		return fmt.Errorf("no outcome on card %s: %w", card.TS, err)
	}
	return nil
}

func (s *storeServe) requestAndApprove() (toCard, toOutcome time.Duration) {
	card, toCard := s.request()
	// The click must find the card's reference stored, as a person's does.
	time.Sleep(20 * time.Millisecond)
	start := time.Now()
	if err := s.approve(card); err != nil {
		s.b.Fatal(err)
	}
	return toCard, time.Since(start)
}

// burst makes n requests, then approves them all, inFlight clicks at a
// time, and returns approvals per second.
func (s *storeServe) burst(n, inFlight int) float64 {
	cards := make([]fakeslack.Message, n)
	for i := range cards {
		cards[i], _ = s.request()
	}
	time.Sleep(100 * time.Millisecond)
	start := time.Now()
	sem := make(chan struct{}, inFlight)
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for _, c := range cards {
		sem <- struct{}{}
		wg.Go(func() { defer func() { <-sem }(); errs <- s.approve(c) })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			s.b.Fatal(err)
		}
	}
	return float64(n) / time.Since(start).Seconds()
}

func (s *storeServe) waitFor(what string, match func(fakeslack.Message) bool) fakeslack.Message {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	m, err := s.fs.WaitForMessage(ctx, match)
	if err != nil {
		s.b.Fatalf("no %s: %v", what, err)
	}
	return m
}
