package fakegraph_test

import (
	"net/http"
	"slices"
	"testing"

	"github.com/cippbot/cippbot/internal/fakegraph"
	"github.com/cippbot/cippbot/internal/unhandled"
)

// TestNewTest: a server made by NewTest fails its test on each request
// it has no route for, a $batch item included, except those the test
// said it meant to send, and fails it for each of those never sent.
func TestNewTest(t *testing.T) {
	t.Parallel()
	rec := &unhandled.Recorder{}
	s := fakegraph.NewTest(rec, fakegraph.Options{})
	s.Start()
	defer s.Close()
	g := &graph{t: t, s: s, tok: token(t, s)}

	if res := g.do(http.MethodGet, "/v1.0/users/AdeleV@contoso.com", nil); res.status != http.StatusOK {
		t.Fatalf("GET user: %d %s", res.status, res.raw)
	}
	g.do(http.MethodGet, "/v1.0/contacts", nil)
	g.do(http.MethodPut, "/v1.0/users/AdeleV@contoso.com", map[string]any{})
	g.do(http.MethodPost, "/v1.0/$batch", map[string]any{"requests": []any{
		map[string]any{"id": "1", "method": "GET", "url": "/users/AdeleV@contoso.com"},
		map[string]any{"id": "2", "method": "GET", "url": "/groupz"},
	}})
	s.ExpectUnhandled(http.MethodGet, "/v1.0/userz")
	g.do(http.MethodGet, "/v1.0/userz", nil)
	s.ExpectUnhandled(http.MethodDelete, "/v1.0/never")

	got := rec.End()
	want := []string{
		"fakegraph: no route for GET /v1.0/contacts (the test reached a route the fake lacks)",
		"fakegraph: no route for PUT /v1.0/users/AdeleV@contoso.com (the test reached a route the fake lacks)",
		"fakegraph: no route for GET /v1.0/groupz (the test reached a route the fake lacks)",
		"fakegraph: the test expected a request without a route, DELETE /v1.0/never, which never came",
	}
	if !slices.Equal(got, want) {
		t.Errorf("reported:\n%q\nwant:\n%q", got, want)
	}
	// After the test, nothing more is reported.
	g.do(http.MethodGet, "/v1.0/contacts", nil)
	if n := len(rec.Reported()); n != len(want) {
		t.Errorf("%d reports after the test ended, want none", n-len(want))
	}

	// The demo's server (New) reports nothing and answers the same.
	lenient := fakegraph.New(fakegraph.Options{})
	lenient.Start()
	defer lenient.Close()
	lg := &graph{t: t, s: lenient, tok: token(t, lenient)}
	wantError(t, lg.do(http.MethodGet, "/v1.0/contacts", nil), http.StatusBadRequest, "BadRequest", "segment 'contacts'")
	if reqs := lenient.Requests(); !reqs[len(reqs)-1].Unhandled {
		t.Error("Request.Unhandled not set for an unknown segment")
	}
}
