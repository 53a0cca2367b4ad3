package faketeams

import (
	"net/http"
	"slices"
	"testing"

	"github.com/cippbot/cippbot/internal/unhandled"
)

// TestNewTest: a server made by NewTest fails its test on each path
// outside its routes and each Connector route it does not implement,
// except those the test said it meant to send, and fails it for each of
// those never sent.
func TestNewTest(t *testing.T) {
	t.Parallel()
	rec := &unhandled.Recorder{}
	s := NewTest(rec)
	defer s.Close()
	_, out := postForm(t, s.Client(), s.TokenURL(), goodForm(s))
	send := func(method, path string) {
		t.Helper()
		req, _ := http.NewRequest(method, s.URL()+path, nil)
		req.Header.Set("Authorization", "Bearer "+out["access_token"].(string))
		resp, err := s.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("%s %s: %d, want 404", method, path, resp.StatusCode)
		}
	}
	send(http.MethodGet, "/nope")
	send(http.MethodPatch, "/amer/v3/conversations/a:1/activities/2")
	s.ExpectUnhandled(http.MethodGet, "/v1/.well-known/elsewhere")
	send(http.MethodGet, "/v1/.well-known/elsewhere")
	s.ExpectUnhandled(http.MethodGet, "/never/sent")

	got := rec.End()
	want := []string{
		"faketeams: no route for GET /nope (the test reached a route the fake lacks)",
		"faketeams: no route for PATCH /amer/v3/conversations/a:1/activities/2 (the test reached a route the fake lacks)",
		"faketeams: the test expected a request without a route, GET /never/sent, which never came",
	}
	if !slices.Equal(got, want) {
		t.Errorf("reported:\n%q\nwant:\n%q", got, want)
	}
}

// TestNew_lenient: a server made by New answers the same requests with
// the same 404 and reports nothing.
func TestNew_lenient(t *testing.T) {
	t.Parallel()
	s := New()
	defer s.Close()
	resp, err := s.Client().Get(s.URL() + "/nope")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET /nope: %d, want 404", resp.StatusCode)
	}
}
