package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cippbot/cippbot/bot"
	"github.com/cippbot/cippbot/internal/fakegraph"
	"github.com/cippbot/cippbot/internal/fakeslack"
	"github.com/cippbot/cippbot/store"
	"go.etcd.io/bbolt"
)

// The history store holds historyStored approvals, historyPending of them
// pending, as a busy deployment accumulates them: one every 7.7 seconds over
// the last 89 days (within the default retention), the newest
// historyPending still pending (about the last 21 hours), the rest done,
// denied or expired, asked by 50 technicians of the one tenant.
const (
	historyStored  = 1_000_000
	historyPending = 10_000
	historyBatch   = 20_000 // approvals per transaction while building
	historySpan    = 89 * 24 * time.Hour
)

// historyStore builds the history store in a temporary directory of b and
// returns its path. It writes the approvals bucket directly, as a store
// from before the approval indexes held it, and then opens it once with
// the store package, so that Open brings it up to date as an upgrade
// would; it then adds the tenant and the grants serve needs. It skips
// under -short.
func historyStore(b *testing.B) string {
	b.Helper()
	if testing.Short() {
		b.Skip("skipped under -short: builds a store of 1,000,000 approvals")
	}
	start := time.Now()
	path := filepath.Join(b.TempDir(), "history.db")
	if err := writeHistory(path, start); err != nil {
		b.Fatal(err)
	}
	db := store.NewDB(path)
	openStart := time.Now()
	if err := db.Open(); err != nil {
		b.Fatal(err)
	}
	opened := time.Since(openStart)
	if err := seedServeStore(db); err != nil {
		b.Fatal(err)
	}
	if err := db.Close(); err != nil {
		b.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("store of %d approvals (%d pending), %d MB, built in %v, first Open (building the indexes) %v",
		historyStored, historyPending, fi.Size()>>20, time.Since(start).Round(time.Millisecond), opened.Round(time.Millisecond))
	return path
}

func writeHistory(path string, now time.Time) error {
	bdb, err := bbolt.Open(path, 0o600, nil)
	if err != nil {
		return err
	}
	defer bdb.Close()
	step := historySpan / historyStored
	first := now.Add(-historySpan)
	decided := []bot.ApprovalState{bot.StateDone, bot.StateDone, bot.StateDone, bot.StateDenied, bot.StateExpired}
	for i := 0; i < historyStored; i += historyBatch {
		err := bdb.Update(func(tx *bbolt.Tx) error {
			bk, err := tx.CreateBucketIfNotExists([]byte("approvals"))
			if err != nil {
				return err
			}
			bk.FillPercent = 0.9 // keys come in order
			for j := i; j < i+historyBatch && j < historyStored; j++ {
				created := first.Add(time.Duration(j) * step).UTC()
				a := bot.Approval{
					ID: fmt.Sprintf("h%07d", j), Action: "block-signin",
					TenantID: fakegraph.ContosoTenantID, TenantDomain: "contoso.com",
					Targets:   []bot.Target{{ID: fmt.Sprintf("00000000-0000-4000-8000-%012d", j%5000), UPN: fmt.Sprintf("user%04d@contoso.com", j%5000)}},
					Reason:    "left the company",
					Requester: bot.Actor{ID: fmt.Sprintf("slack:UT%02d", j%50), Name: fmt.Sprintf("tech%02d", j%50)},
					Platform:  "slack", Workspace: "T0001", Channel: "COPS", Card: "1700000000.000100",
					CreatedAt: created, ExpiresAt: created.Add(15 * time.Minute),
				}
				if j >= historyStored-historyPending {
					a.State, a.ExpiresAt = bot.StatePending, now.Add(24*time.Hour)
				} else {
					a.State = decided[j%len(decided)]
					a.DecidedBy = &bot.Actor{ID: "slack:USAM", Name: "sam"}
					a.DecidedAt = created.Add(time.Minute)
					a.Approvers = []bot.Actor{*a.DecidedBy}
					a.Outcome = "ok"
				}
				v, err := json.Marshal(a)
				if err != nil {
					return err
				}
				if err := bk.Put([]byte(a.ID), v); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// seedServeStore adds what serve needs besides approvals: the tenant and
// the grants of the channel's people.
func seedServeStore(db *store.DB) error {
	ctx := context.Background()
	if err := db.PutTenant(ctx, bot.Tenant{ID: fakegraph.ContosoTenantID, Name: "Contoso", DefaultDomain: "contoso.com", Domains: []string{"contoso.com"}}); err != nil {
		return err
	}
	for actor, role := range map[string]bot.Role{"slack:URILEY": bot.RoleHelpdesk, "slack:USAM": bot.RoleApprover} {
		if err := db.PutGrant(ctx, bot.Grant{Actor: actor, Role: role, GrantedBy: "bench"}); err != nil {
			return err
		}
	}
	return nil
}

// BenchmarkCommandToCard runs two serves in process, one on an empty store
// and one on the history store, each with Slack over HTTP, a fake Slack and
// the simulated tenant, and times a destructive slash command from its POST
// to its approval card in the channel. Each iteration sends one command to
// each serve in turn, so that whatever else the machine is doing weighs on
// both alike. It reports the 50th and 99th percentiles of each and the
// ratio of the 99th.
func BenchmarkCommandToCard(b *testing.B) {
	emptyPath := filepath.Join(b.TempDir(), "empty.db")
	db := store.NewDB(emptyPath)
	if err := db.Open(); err != nil {
		b.Fatal(err)
	}
	if err := seedServeStore(db); err != nil {
		b.Fatal(err)
	}
	if err := db.Close(); err != nil {
		b.Fatal(err)
	}
	historyPath := historyStore(b)
	empty, stopEmpty := startCardServe(b, emptyPath)
	defer stopEmpty()
	hist, stopHist := startCardServe(b, historyPath)
	defer stopHist()
	var tookEmpty, tookHist []time.Duration
	for b.Loop() {
		tookEmpty = append(tookEmpty, empty())
		tookHist = append(tookHist, hist())
	}
	pct := func(took []time.Duration, p float64) float64 {
		took = slices.Sorted(slices.Values(took))
		i := int(p*float64(len(took))+0.5) - 1
		return float64(took[min(max(i, 0), len(took)-1)]) / float64(time.Millisecond)
	}
	b.ReportMetric(pct(tookEmpty, 0.50), "empty-p50-ms")
	b.ReportMetric(pct(tookEmpty, 0.99), "empty-p99-ms")
	b.ReportMetric(pct(tookHist, 0.50), "1M-p50-ms")
	b.ReportMetric(pct(tookHist, 0.99), "1M-p99-ms")
	b.ReportMetric(pct(tookHist, 0.99)/pct(tookEmpty, 0.99), "p99-ratio")
}

// startCardServe starts serve on the store at path and returns a function
// that sends one destructive command and returns how long its card took,
// and one that stops serve.
func startCardServe(b *testing.B, path string) (cmdToCard func() time.Duration, stop func()) {
	sim := fakegraph.NewTest(b, fakegraph.Options{})
	sim.Start()
	fs := fakeslack.NewTest(b, fakeslack.Options{})
	fs.AddChannel("COPS", "ops", "URILEY", "USAM", fakeslack.DefaultBotUserID)

	cfg := DefaultConfig()
	cfg.DataPath = path
	cfg.ReasonOptional = []string{"all"}
	cfg.ClientID, cfg.ClientSecret = fakegraph.DefaultClientID, fakegraph.DefaultClientSecret
	cfg.GraphURL, cfg.AuthorityHost = sim.URL(), sim.URL()+"/"
	cfg.SlackBotToken, cfg.SlackAPIURL = fakeslack.DefaultBotToken, fs.APIURL()
	cfg.SlackSigningSecret = fakeslack.DefaultSigningSecret
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- runServe(ctx, cfg, sim.Client(), ln, slog.New(slog.NewTextHandler(io.Discard, nil))) }()
	stop = func() {
		cancel()
		if err := <-done; err != nil {
			b.Error(err)
		}
		fs.Close()
		sim.Close()
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get(base + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			stop()
			b.Fatalf("serve never became ready: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}

	seen := map[string]bool{}
	card := func(m fakeslack.Message) bool {
		return !m.Ephemeral && m.Channel == "COPS" && strings.Contains(m.Text, "Approval needed") && !seen[m.TS]
	}
	cmdToCard = func() time.Duration {
		start := time.Now()
		resp, err := fs.SlashCommand(base+"/slack/commands", "/cipp", "block-signin AdeleV@contoso.com", "COPS", "URILEY")
		if err != nil {
			b.Fatal(err)
		}
		resp.Body.Close()
		wctx, wcancel := context.WithTimeout(context.Background(), 5*time.Minute)
		m, err := fs.WaitForMessage(wctx, card)
		wcancel()
		if err != nil {
			b.Fatalf("no card: %v", err)
		}
		took := time.Since(start)
		seen[m.TS] = true
		return took
	}
	return cmdToCard, stop
}

// BenchmarkIdleServeRSSHistory is BenchmarkIdleServeRSS on the history
// store: it builds cippbot, runs `cippbot serve` on that store, waits until
// it is ready and then 35 seconds, so that the 30-second sweep has run
// once, and reports its resident memory then and at its peak. Run with
// -benchtime=1x.
func BenchmarkIdleServeRSSHistory(b *testing.B) {
	path := historyStore(b)
	bin := buildBinary(b, b.TempDir())
	fs := fakeslack.NewTest(b, fakeslack.Options{})
	defer fs.Close()
	for b.Loop() {
		cmd := startServeBinary(b, bin, fs, path, "127.0.0.1:18766", 60*time.Second)
		ready := vmRSS(b, cmd.Process.Pid)
		time.Sleep(35 * time.Second) // idle, one sweep
		rss := vmRSS(b, cmd.Process.Pid)
		peak := vmStatus(b, cmd.Process.Pid, "VmHWM:")
		cmd.Process.Signal(os.Interrupt)
		cmd.Wait()
		b.ReportMetric(float64(ready)/1024, "ready-RSS-MiB")
		b.ReportMetric(float64(rss)/1024, "RSS-MiB")
		b.ReportMetric(float64(peak)/1024, "peak-RSS-MiB")
	}
}

// vmStatus reads a field of a process's /proc status in KiB.
func vmStatus(b *testing.B, pid int, field string) int {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		b.Skipf("no /proc: %v", err)
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if v, ok := strings.CutPrefix(line, field); ok {
			var n int
			fmt.Sscanf(strings.TrimSpace(v), "%d", &n)
			return n
		}
	}
	b.Fatalf("no %s", field)
	return 0
}
