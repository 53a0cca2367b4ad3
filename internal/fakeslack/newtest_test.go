package fakeslack_test

import (
	"net/http"
	"net/url"
	"slices"
	"testing"

	"github.com/cippbot/cippbot/internal/fakeslack"
	"github.com/cippbot/cippbot/internal/unhandled"
)

// TestNewTest: a server made by NewTest fails its test on each Web API
// method it does not implement and each path outside its routes, except
// those the test said it meant to send, and fails it for each of those
// never sent.
func TestNewTest(t *testing.T) {
	t.Parallel()
	rec := &unhandled.Recorder{}
	s := fakeslack.NewTest(rec, fakeslack.Options{})
	defer s.Close()
	call := func(method string) {
		t.Helper()
		resp, err := http.PostForm(s.APIURL()+method, url.Values{"token": {fakeslack.DefaultBotToken}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	call("auth.test")
	call("users.flip")
	resp, err := http.Get(s.URL() + "/nope")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET /nope: %d, want 404", resp.StatusCode)
	}
	s.ExpectUnhandled(http.MethodPost, "/api/users.flop")
	call("users.flop")
	s.ExpectUnhandled(http.MethodPost, "/api/never.sent")

	got := rec.End()
	want := []string{
		"fakeslack: no route for POST /api/users.flip (the test reached a route the fake lacks)",
		"fakeslack: no route for GET /nope (the test reached a route the fake lacks)",
		"fakeslack: the test expected a request without a route, POST /api/never.sent, which never came",
	}
	if !slices.Equal(got, want) {
		t.Errorf("reported:\n%q\nwant:\n%q", got, want)
	}
	var unhandled []string
	for _, c := range s.Calls() {
		if c.Unhandled {
			unhandled = append(unhandled, c.Method)
		}
	}
	if want := []string{"users.flip", "users.flop"}; !slices.Equal(unhandled, want) {
		t.Errorf("calls marked Unhandled: %q, want %q", unhandled, want)
	}
}
