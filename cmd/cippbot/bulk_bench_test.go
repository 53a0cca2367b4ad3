package main

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cippbot/cippbot/actions"
	"github.com/cippbot/cippbot/actions/m365"
	"github.com/cippbot/cippbot/bot"
	"github.com/cippbot/cippbot/internal/fakegraph"
)

const bulkTenant = "b3a1c0de-0000-4000-8000-00000000b01c"

// BenchmarkApproveToLastWrite1000 measures a bulk block-signin of 1,000
// users through the bot, the action service and the Graph client against
// the simulated tenant with 50 ms per HTTP request: from the approve
// click to the last write the tenant records. The floor beside it is a
// bare client writing the same 1,000 PATCHes in $batch requests of 20
// (4 in flight), nothing else. Run with -benchtime=1x.
func BenchmarkApproveToLastWrite1000(b *testing.B) {
	const n = 1000
	sim := fakegraph.NewTest(b, fakegraph.Options{})
	sim.Start()
	b.Cleanup(sim.Close)
	seed := fakegraph.TenantSeed{ID: bulkTenant, DisplayName: "Bulk", Domains: []string{"bulk.example", "bulk.onmicrosoft.com"}}
	upns := make([]string, n)
	ids := make([]string, n)
	for i := range n {
		ids[i] = fmt.Sprintf("b3a1c0de-0000-4000-8000-%012d", i+2)
		upns[i] = fmt.Sprintf("user%04d@bulk.example", i)
		seed.Users = append(seed.Users, fakegraph.User{ID: ids[i], UserPrincipalName: upns[i], DisplayName: fmt.Sprintf("User %04d", i), AccountEnabled: true})
	}
	if err := sim.AddTenant(seed); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		// The floor: a bare client, $batch PATCHes only.
		conn, err := m365.New(m365.Config{GraphURL: sim.URL(), AuthorityHost: sim.URL() + "/",
			ClientID: fakegraph.DefaultClientID, ClientSecret: fakegraph.DefaultClientSecret, HTTPClient: sim.Client()})
		if err != nil {
			b.Fatal(err)
		}
		dir, err := conn.Directory(context.Background(), bulkTenant)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := dir.User(context.Background(), ids[0]); err != nil { // a token
			b.Fatal(err)
		}
		sim.SetLatency(50 * time.Millisecond)
		ops := make([]actions.Op, n)
		t := true
		for i, id := range ids {
			ops[i] = actions.Op{Kind: actions.OpUpdateUser, UserID: id, Update: actions.UserUpdate{AccountEnabled: &t}}
		}
		start := time.Now()
		for _, err := range dir.Apply(context.Background(), ops, nil) {
			if err != nil {
				b.Fatal(err)
			}
		}
		floor := time.Since(start)

		// The bot: ask, then approve as another technician.
		sim.SetLatency(0)
		cfg := DefaultConfig()
		cfg.DataPath = filepath.Join(b.TempDir(), "cippbot.db")
		cfg.ReasonOptional = []string{"all"}
		var out strings.Builder
		d, err := startDemo(context.Background(), cfg, sim, &out, false, slog.New(slog.DiscardHandler))
		if err != nil {
			b.Fatal(err)
		}
		if err := d.db.PutTenant(context.Background(), bot.Tenant{ID: bulkTenant, Name: "Bulk", DefaultDomain: "bulk.example",
			Domains: []string{"bulk.example"}, Source: "bench"}); err != nil {
			b.Fatal(err)
		}
		say := func(lines ...string) {
			if err := d.console.Run(context.Background(), strings.NewReader(strings.Join(lines, "\n")+"\n")); err != nil {
				b.Fatal(err)
			}
		}
		say("/cipp user AdeleV@contoso.com") // tokens
		say("/cipp block-signin " + strings.Join(upns, " ") + ` reason="bench"`)
		if !strings.Contains(out.String(), "Approval needed") {
			b.Fatalf("no approval card:\n%s", out.String())
		}
		sim.SetLatency(50 * time.Millisecond)
		sim.ResetRequests()
		click := time.Now()
		say("/as sam", "approve 1")
		d.bot.Wait()
		var last time.Time
		trips, written := 0, 0
		for _, r := range sim.Requests() {
			if testing.Verbose() && r.BatchItemID == "" {
				b.Logf("%6.3f s %s %s %d", r.Time.Sub(click).Seconds(), r.Method, r.Path, r.Status)
			}
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
		d.Close()
		if written != n {
			b.Fatalf("%d of %d written:\n%s", written, n, out.String()[max(0, out.Len()-2000):])
		}
		took := last.Sub(click)
		b.ReportMetric(floor.Seconds(), "floor-s")
		b.ReportMetric(took.Seconds(), "approve-to-last-write-s")
		b.ReportMetric(took.Seconds()/floor.Seconds(), "x-floor")
		b.ReportMetric(float64(trips), "graph-requests")
	}
}
