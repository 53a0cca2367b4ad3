package main

import (
	"strings"
	"testing"

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

// TestRoundTrips counts the Graph round trips of single-user actions from
// the request to the result, approval included, and holds them to what
// they are (docs/BENCHMARKS.md lists them): a change's target is read
// with its roles at the request, its roles and state read again together
// on approval, and written.
func TestRoundTrips(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		lines []string
		want  int
		why   string
	}{
		{[]string{"/cipp user AdeleV@contoso.com"}, 5,
			"the user; the user with manager; groups, methods, sign-in and licences in one $batch; per-user MFA (beta); roles"},
		{[]string{`/cipp reset-password AdeleV@contoso.com reason="locked out"`, "/as sam", "approve 1"}, 3,
			"the user with its roles; roles and state again on approval; the write"},
		{[]string{`/cipp block-signin AdeleV@contoso.com reason="left"`, "/as sam", "approve 1"}, 3,
			"the user with its roles; roles and state again on approval; the write"},
	} {
		t.Run(strings.Fields(tc.lines[0])[1], func(t *testing.T) {
			r := newRun(t)
			r.session(t, "/cipp user AlexW@contoso.com") // a token in the cache
			r.sim.ResetRequests()
			out := r.session(t, tc.lines...)
			n, paths := graphRoundTrips(r.sim)
			t.Logf("%d round trips:\n%s", n, strings.Join(paths, "\n"))
			if n > tc.want {
				t.Errorf("%d round trips, want %d (%s):\n%s\n%s", n, tc.want, tc.why, strings.Join(paths, "\n"), out)
			}
		})
	}
}
