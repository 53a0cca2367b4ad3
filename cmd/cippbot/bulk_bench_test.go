package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cippbot/cippbot/actions"
	"github.com/cippbot/cippbot/actions/m365"
	"github.com/cippbot/cippbot/bot"
	"github.com/cippbot/cippbot/internal/fakegraph"
	"github.com/cippbot/cippbot/internal/fakeslack"
	"github.com/cippbot/cippbot/store"
)

// bulkTenant is the simulated tenant of the bulk benchmarks.
const bulkTenant = "b3a1c0de-0000-4000-8000-00000000b01c"

// bulkLatency is the simulated tenant's latency per HTTP request in the
// bulk benchmarks: a $batch of 20 pays it once.
const bulkLatency = 50 * time.Millisecond

// bulkSim starts a simulated tenant of n enabled users and returns it with
// the users' IDs and names.
func bulkSim(b *testing.B, n int) (sim *fakegraph.Server, ids, upns []string) {
	b.Helper()
	sim = fakegraph.NewTest(b, fakegraph.Options{})
	sim.Start()
	seed := fakegraph.TenantSeed{ID: bulkTenant, DisplayName: "Bulk", Domains: []string{"bulk.example", "bulk.onmicrosoft.com"}}
	ids, upns = make([]string, n), make([]string, n)
	for i := range n {
		ids[i] = fmt.Sprintf("b3a1c0de-0000-4000-8000-%012d", i+2)
		upns[i] = fmt.Sprintf("user%04d@bulk.example", i)
		seed.Users = append(seed.Users, fakegraph.User{ID: ids[i], UserPrincipalName: upns[i], DisplayName: fmt.Sprintf("User %04d", i), AccountEnabled: true})
	}
	if err := sim.AddTenant(seed); err != nil {
		sim.Close()
		b.Fatal(err)
	}
	return sim, ids, upns
}

// lastWrite returns the time of the last successful PATCH in the
// simulated tenant's request log (a $batch item is logged when the
// tenant applies it, after the latency), how many there were, and how
// many Graph requests (a $batch counted once) the log holds.
func lastWrite(sim *fakegraph.Server) (last time.Time, written, trips int) {
	for _, r := range sim.Requests() {
		if r.BatchItemID == "" && strings.HasPrefix(r.Path, "/v1.0/") {
			trips++
		}
		if r.Method == "PATCH" && r.Status == 204 {
			written++
			if r.Time.After(last) {
				last = r.Time
			}
		}
	}
	return last, written, trips
}

// bulkFloor is the floor of a bulk write of ids: a bare client, warmed
// with one read, writing one PATCH per user in $batch requests of 20,
// four in flight (m365's default), nothing else. It sets the users
// enabled, so it also undoes a block-signin before it. It returns the
// time from the first request to the last write the tenant applied.
func bulkFloor(b *testing.B, sim *fakegraph.Server, ids []string) time.Duration {
	b.Helper()
	ctx := context.Background()
	conn, err := m365.New(m365.Config{GraphURL: sim.URL(), AuthorityHost: sim.URL() + "/",
		ClientID: fakegraph.DefaultClientID, ClientSecret: fakegraph.DefaultClientSecret, HTTPClient: sim.Client()})
	if err != nil {
		b.Fatal(err)
	}
	dir, err := conn.Directory(ctx, bulkTenant)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := dir.User(ctx, ids[0]); err != nil { // a token, a connection
		b.Fatal(err)
	}
	ops := make([]actions.Op, len(ids))
	t := true
	for i, id := range ids {
		ops[i] = actions.Op{Kind: actions.OpUpdateUser, UserID: id, Update: actions.UserUpdate{AccountEnabled: &t}}
	}
	sim.ResetRequests()
	start := time.Now()
	for _, err := range dir.Apply(ctx, ops, nil) {
		if err != nil {
			b.Fatal(err)
		}
	}
	last, written, _ := lastWrite(sim)
	if written != len(ids) {
		b.Fatalf("floor: %d of %d written", written, len(ids))
	}
	return last.Sub(start)
}

// serveBulk is `cippbot serve` with Slack over HTTP (signed requests to
// its listener), a fake Slack, its own store and the simulated tenant.
type serveBulk struct {
	fs   *fakeslack.Server
	base string
	stop func()
}

// startServeBulk starts serve against sim and a fake Slack whose Web API
// answers after slackLatency (through a delaying proxy; Slack's own
// answers take a few hundred milliseconds).
func startServeBulk(b *testing.B, sim *fakegraph.Server, slackLatency time.Duration) *serveBulk {
	b.Helper()
	ctx := context.Background()
	s := &serveBulk{fs: fakeslack.NewTest(b, fakeslack.Options{})}
	s.fs.AddChannel("COPS", "ops", "URILEY", "USAM", fakeslack.DefaultBotUserID)
	path := filepath.Join(b.TempDir(), "cippbot.db")
	db := store.NewDB(path)
	if err := db.Open(); err != nil {
		b.Fatal(err)
	}
	if err := db.PutTenant(ctx, bot.Tenant{ID: bulkTenant, Name: "Bulk", DefaultDomain: "bulk.example", Domains: []string{"bulk.example"}, Source: "bench"}); err != nil {
		b.Fatal(err)
	}
	for actor, role := range map[string]bot.Role{"slack:URILEY": bot.RoleHelpdesk, "slack:USAM": bot.RoleApprover} {
		if err := db.PutGrant(ctx, bot.Grant{Actor: actor, Role: role, GrantedBy: "bench"}); err != nil {
			b.Fatal(err)
		}
	}
	if err := db.Close(); err != nil {
		b.Fatal(err)
	}
	cfg := DefaultConfig()
	cfg.DataPath = path
	cfg.ReasonOptional = []string{"all"}
	cfg.ClientID, cfg.ClientSecret = fakegraph.DefaultClientID, fakegraph.DefaultClientSecret
	cfg.GraphURL, cfg.AuthorityHost = sim.URL(), sim.URL()+"/"
	cfg.SlackBotToken, cfg.SlackAPIURL = fakeslack.DefaultBotToken, s.fs.APIURL()
	var proxy *httptest.Server
	if slackLatency > 0 {
		u, err := url.Parse(s.fs.URL())
		if err != nil {
			b.Fatal(err)
		}
		rp := httputil.NewSingleHostReverseProxy(u)
		proxy = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			time.Sleep(slackLatency)
			rp.ServeHTTP(w, r)
		}))
		cfg.SlackAPIURL = proxy.URL + "/api/"
	}
	cfg.SlackSigningSecret = fakeslack.DefaultSigningSecret
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	s.base = "http://" + ln.Addr().String()
	sctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- runServe(sctx, cfg, sim.Client(), ln, slog.New(slog.NewTextHandler(io.Discard, nil))) }()
	s.stop = func() {
		cancel()
		if err := <-done; err != nil {
			b.Error(err)
		}
		if proxy != nil {
			proxy.Close()
		}
		s.fs.Close()
	}
	deadline := time.Now().Add(60 * time.Second)
	for !healthy(s.base) {
		if time.Now().After(deadline) {
			s.stop()
			b.Fatal("serve never became ready")
		}
		time.Sleep(10 * time.Millisecond)
	}
	return s
}

// wait waits up to a minute for a message that matches.
func (s *serveBulk) wait(b *testing.B, what string, match func(fakeslack.Message) bool) fakeslack.Message {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	m, err := s.fs.WaitForMessage(ctx, match)
	if err != nil {
		b.Fatalf("no %s: %v", what, err)
	}
	return m
}

// BenchmarkApproveToLastWrite1000 measures a bulk block-signin of
// 1,000 users through `serve` with Slack over HTTP, against the simulated
// tenant with 50 ms per Graph request: from the signed approve click (the
// interaction POSTed to serve's listener) to the last write the tenant
// applies, read from the tenant's request log. Beside it, against the
// same tenant and latency in the same iteration, the floor: a bare
// client writing the same 1,000 PATCHes in $batch requests of 20, four in
// flight, timed from its first request to its last write. Each iteration
// starts its own tenant, Slack and serve, so the tenant's write quota and
// cippbot's write bucket start full (1,000 writes are far under them).
// It runs twice: with the fake Slack answering at once, and with its Web
// API answering after 150 ms, about what Slack's own chat.update takes,
// to show whether chat calls stand between the click and the writes.
// Run with -benchtime=1x and -count.
func BenchmarkApproveToLastWrite1000(b *testing.B) {
	for _, lat := range []time.Duration{0, 150 * time.Millisecond} {
		b.Run(fmt.Sprintf("slack=%v", lat), func(b *testing.B) { benchApproveToLastWrite(b, lat) })
	}
}

func benchApproveToLastWrite(b *testing.B, slackLatency time.Duration) {
	const n = 1000
	var floor, took time.Duration
	var trips int
	b.StopTimer() // set-up and the floor are not the measure
	for range b.N {
		sim, ids, upns := bulkSim(b, n)
		s := startServeBulk(b, sim, slackLatency)
		func() {
			defer sim.Close()
			defer s.stop()
			resp, err := s.fs.SlashCommand(s.base+"/slack/commands", "/cipp", "block-signin "+strings.Join(upns, " ")+` reason="bench"`, "COPS", "URILEY")
			if err != nil {
				b.Fatal(err)
			}
			resp.Body.Close()
			card := s.wait(b, "approval card", isCard)
			val := approveValue.FindStringSubmatch(string(card.Blocks))
			if val == nil {
				b.Fatalf("card has no approve button: %s", card.Blocks)
			}

			sim.SetLatency(bulkLatency)
			f := bulkFloor(b, sim, ids)

			sim.ResetRequests()
			b.StartTimer()
			click := time.Now()
			resp, err = s.fs.ClickButton(s.base+"/slack/interactions", card, "cipp_approve", val[1], "USAM")
			if err != nil {
				b.Fatal(err)
			}
			resp.Body.Close()
			s.wait(b, "result on the card", func(m fakeslack.Message) bool {
				return m.TS == card.TS && strings.Contains(m.Text, "block-signin") && (strings.Contains(m.Text, "Done") || strings.Contains(m.Text, "Failed") || strings.Contains(m.Text, "Partly"))
			})
			b.StopTimer()
			last, written, t := lastWrite(sim)
			if written != n {
				b.Fatalf("%d of %d written", written, n)
			}
			floor += f
			took += last.Sub(click)
			trips += t
			if testing.Verbose() { // the requests after the click, to see the gaps
				for _, r := range sim.Requests() {
					if r.BatchItemID == "" {
						b.Logf("%6.3f s %s %s %d", r.Time.Sub(click).Seconds(), r.Method, r.Path, r.Status)
					}
				}
				b.Logf("floor %.3f s, approve to last write %.3f s, %.2f×", f.Seconds(), last.Sub(click).Seconds(), last.Sub(click).Seconds()/f.Seconds())
			}
		}()
	}
	runs := float64(b.N)
	b.ReportMetric(floor.Seconds()/runs, "floor-s")
	b.ReportMetric(took.Seconds()/runs, "approve-to-last-write-s")
	b.ReportMetric(took.Seconds()/floor.Seconds(), "x-floor")
	b.ReportMetric(float64(trips)/runs, "graph-requests")
}

// healthy reports whether serve at base answers /healthz with 200.
func healthy(base string) bool {
	resp, err := http.Get(base + "/healthz")
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}
