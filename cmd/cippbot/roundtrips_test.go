package main

import (
	"strings"
	"testing"
	"time"

	"github.com/cippbot/cippbot/internal/fakegraph"
)

// graphRoundTrips counts the Graph HTTP requests the simulated tenant saw
// since the last reset: a $batch counts once, its items not at all; token
// requests are left out.
func graphRoundTrips(sim *fakegraph.Server) (n int, paths []string) {
	for _, r := range sim.Requests() {
		if r.BatchItemID != "" || !(strings.HasPrefix(r.Path, "/v1.0/") || strings.HasPrefix(r.Path, "/beta/")) {
			continue
		}
		n++
		paths = append(paths, r.Method+" "+r.Path)
	}
	return n, paths
}

// graphWaves counts the Graph requests the longest chain of them waited
// for one after another, given that each took at least latency: requests
// sent side by side arrive together and count once.
func graphWaves(sim *fakegraph.Server, latency time.Duration) int {
	var at []time.Time
	for _, r := range sim.Requests() {
		if r.BatchItemID != "" || !(strings.HasPrefix(r.Path, "/v1.0/") || strings.HasPrefix(r.Path, "/beta/")) {
			continue
		}
		at = append(at, r.Time)
	}
	// depth[i] is the longest chain ending in request i; a request can
	// follow one that arrived at least latency before it.
	depth := make([]int, len(at))
	waves := 0
	for i := range at {
		depth[i] = 1
		for j := range i {
			if at[i].Sub(at[j]) >= latency && depth[j]+1 > depth[i] {
				depth[i] = depth[j] + 1
			}
		}
		waves = max(waves, depth[i])
	}
	return waves
}

// TestRoundTrips counts the Graph round trips of single-user actions from
// the request to the result, approval included, and holds them to what
// they are (docs/BENCHMARKS.md lists them): a change's target is read
// with its roles at the request, its roles and state read again together
// on approval, and written.
func TestRoundTrips(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		lines []string
		want  int // requests
		waves int // of them, waited for one after another
		why   string
	}{
		{[]string{"/cipp user AdeleV@contoso.com"}, 4, 2,
			"the user; then side by side: the user with manager, groups, methods, sign-in and licences in one $batch, per-user MFA (beta, which a v1.0 $batch cannot hold), and roles"},
		{[]string{`/cipp reset-password AdeleV@contoso.com reason="locked out"`, "/as sam", "approve 1"}, 3, 3,
			"the user with its roles; roles and state again on approval; the write"},
		{[]string{`/cipp block-signin AdeleV@contoso.com reason="left"`, "/as sam", "approve 1"}, 3, 3,
			"the user with its roles; roles and state again on approval; the write"},
	} {
		t.Run(strings.Fields(tc.lines[0])[1], func(t *testing.T) {
			r := newRun(t)
			r.session(t, "/cipp user AlexW@contoso.com") // a token in the cache
			r.sim.ResetRequests()
			// Each request takes this long, so that requests sent one
			// after another arrive at least this far apart.
			const latency = 150 * time.Millisecond
			r.sim.SetLatency(latency)
			out := r.session(t, tc.lines...)
			r.sim.SetLatency(0)
			n, paths := graphRoundTrips(r.sim)
			waves := graphWaves(r.sim, latency)
			t.Logf("%d round trips in %d waves:\n%s", n, waves, strings.Join(paths, "\n"))
			if n > tc.want || waves > tc.waves {
				t.Errorf("%d round trips in %d waves, want %d in %d (%s):\n%s\n%s", n, waves, tc.want, tc.waves, tc.why, strings.Join(paths, "\n"), out)
			}
		})
	}
}
