package m365_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/cippbot/cippbot/actions"
	"github.com/cippbot/cippbot/actions/m365"
	"github.com/cippbot/cippbot/internal/fakegraph"
)

const benchTenant = "b3a1c0de-0000-4000-8000-000000000001"

// bigTenant is a simulated tenant of n users with latency on every HTTP
// request, as a distant Graph has.
func bigTenant(b *testing.B, n int, latency time.Duration) (*fakegraph.Server, *m365.Directory, []string) {
	b.Helper()
	return bigTenantWith(b, n, latency, fakegraph.Options{}, m365.RetryPolicy{})
}

// bigTenantWith is bigTenant with the simulated tenant's options and
// cippbot's retry policy given.
func bigTenantWith(b *testing.B, n int, latency time.Duration, opts fakegraph.Options, retry m365.RetryPolicy) (*fakegraph.Server, *m365.Directory, []string) {
	b.Helper()
	sim := fakegraph.NewTest(b, opts)
	sim.Start()
	b.Cleanup(sim.Close)
	seed := fakegraph.TenantSeed{ID: benchTenant, DisplayName: "Bench", Domains: []string{"bench.example", "bench.onmicrosoft.com"}}
	ids := make([]string, n)
	for i := range n {
		ids[i] = fmt.Sprintf("b3a1c0de-0000-4000-8000-%012d", i+2)
		seed.Users = append(seed.Users, fakegraph.User{ID: ids[i], UserPrincipalName: fmt.Sprintf("user%04d@bench.example", i),
			DisplayName: fmt.Sprintf("User %04d", i), AccountEnabled: true})
	}
	if err := sim.AddTenant(seed); err != nil {
		b.Fatal(err)
	}
	c, err := m365.New(m365.Config{GraphURL: sim.URL(), AuthorityHost: sim.URL() + "/",
		ClientID: fakegraph.DefaultClientID, ClientSecret: fakegraph.DefaultClientSecret, HTTPClient: sim.Client(), Retry: retry})
	if err != nil {
		b.Fatal(err)
	}
	d, err := c.Directory(ctx(), benchTenant)
	if err != nil {
		b.Fatal(err)
	}
	// Warm the token cache so the first iteration measures Graph only.
	if _, err := d.User(ctx(), ids[0]); err != nil {
		b.Fatal(err)
	}
	sim.SetLatency(latency)
	return sim, d, ids
}

func blockOps(ids []string) []actions.Op {
	f := false
	ops := make([]actions.Op, len(ids))
	for i, id := range ids {
		ops[i] = actions.Op{Kind: actions.OpUpdateUser, UserID: id, Update: actions.UserUpdate{AccountEnabled: &f}}
	}
	return ops
}

// BenchmarkBulkBlock1000 blocks 1,000 users against a tenant with 50 ms per
// HTTP request: through $batch (cippbot) and one PATCH per user (the
// reference's way). Run with -benchtime=1x; the per-user path takes about
// a minute.
func BenchmarkBulkBlock1000(b *testing.B) {
	for _, mode := range []string{"batched", "per-user"} {
		b.Run(mode, func(b *testing.B) {
			_, d, ids := bigTenant(b, 1000, 50*time.Millisecond)
			ops := blockOps(ids)
			for b.Loop() {
				var errs []error
				if mode == "batched" {
					errs = d.Apply(ctx(), ops, nil)
				} else {
					for _, op := range ops {
						errs = append(errs, d.UpdateUser(ctx(), op.UserID, op.Update))
					}
				}
				for _, err := range errs {
					if err != nil {
						b.Fatal(err)
					}
				}
			}
			b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/1000users")
		})
	}
}

// BenchmarkBulkBlock1000Throttled throttles 10% of $batch items: all 1,000
// end done, none is written twice.
func BenchmarkBulkBlock1000Throttled(b *testing.B) {
	sim, d, ids := bigTenant(b, 1000, 50*time.Millisecond)
	ops := blockOps(ids)
	for b.Loop() {
		sim.ClearFaults()
		sim.ResetRequests()
		sim.Inject(fakegraph.Fault{Method: "PATCH", PathContains: "/users/", Status: 429, RetryAfter: "0.2", Every: 10})
		c, trace := actions.WithTrace(ctx())
		for _, err := range d.Apply(c, ops, nil) {
			if err != nil {
				b.Fatal(err)
			}
		}
		ok := map[string]int{}
		for _, r := range sim.Requests() {
			if r.Method == "PATCH" && r.Status == 204 {
				ok[r.Path]++
			}
		}
		for p, n := range ok {
			if n != 1 {
				b.Fatalf("%s written %d times", p, n)
			}
		}
		if len(ok) != len(ids) || trace.Throttled() < 100 {
			b.Fatalf("%d of %d written, %d throttled", len(ok), len(ids), trace.Throttled())
		}
		b.ReportMetric(float64(trace.Throttled()), "throttled")
	}
}

// fastClock runs speed times faster than the wall clock from its start:
// the simulated tenant and cippbot's write pacing share it, so a run that
// Entra's write quota stretches over minutes takes seconds, with the
// documented quota itself unchanged.
type fastClock struct {
	start time.Time
	speed float64
}

func (c fastClock) Now() time.Time {
	return c.start.Add(time.Duration(float64(time.Since(c.start)) * c.speed))
}

func (c fastClock) Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(time.Duration(float64(d) / c.speed))
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// BenchmarkBulkBlock5000Paced blocks 5,000 users against a tenant that
// holds writes to Microsoft Entra's documented quota (3,000 per 2 min
// 30 s per app and tenant, each $batch item counted), 50 ms per HTTP
// request, on a clock running 10 times fast (about 14 s of wall time for
// about 2 min 20 s simulated): paced to the quota (cippbot's default)
// and unpaced. Run with -benchtime=1x.
func BenchmarkBulkBlock5000Paced(b *testing.B) {
	for _, mode := range []string{"paced", "unpaced"} {
		b.Run(mode, func(b *testing.B) {
			clock := fastClock{start: time.Now(), speed: 10}
			retry := m365.RetryPolicy{Clock: clock}
			if mode == "unpaced" {
				retry.WriteLimit = -1
			}
			sim, d, ids := bigTenantWith(b, 5000, 50*time.Millisecond, fakegraph.Options{Now: clock.Now}, retry)
			ops := blockOps(ids)
			for b.Loop() {
				sim.SetWriteLimit(0, 0) // a full bucket, as after a quiet spell
				sim.ResetRequests()
				start := clock.Now()
				c, trace := actions.WithTrace(ctx())
				failed := 0
				for _, err := range d.Apply(c, ops, nil) {
					if err != nil {
						failed++
					}
				}
				simulated := clock.Now().Sub(start)
				written := 0
				for _, r := range sim.Requests() {
					if r.Method == "PATCH" && r.Status == 204 {
						written++
					}
				}
				if mode == "paced" && (failed > 0 || trace.Throttled() >= len(ids)/100 || written != len(ids)) {
					b.Fatalf("paced: %d failed, %d throttled, %d written", failed, trace.Throttled(), written)
				}
				b.ReportMetric(float64(trace.Throttled()), "throttled")
				b.ReportMetric(float64(failed), "failed")
				b.ReportMetric(simulated.Seconds(), "simulated-s")
			}
		})
	}
}
