package fakeslack_test

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"testing"

	"github.com/cippbot/cippbot/internal/fakeslack"
)

// recordingTB stands in for a test's T in NewTest, keeping what the
// server reports instead of failing.
type recordingTB struct {
	mu       sync.Mutex
	errors   []string
	cleanups []func()
}

func (r *recordingTB) Helper() {}

func (r *recordingTB) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errors = append(r.errors, fmt.Sprintf(format, args...))
}

func (r *recordingTB) Cleanup(f func()) { r.cleanups = append(r.cleanups, f) }

// end runs the cleanups, last first, as a test's end does, and returns
// the errors reported.
func (r *recordingTB) end() []string {
	for _, f := range slices.Backward(r.cleanups) {
		f()
	}
	r.cleanups = nil
	return r.reported()
}

// reported returns the errors reported so far.
func (r *recordingTB) reported() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.errors)
}

// TestNewTest: a server made by NewTest fails its test on each Web API
// method it does not implement and each path outside its routes, except
// those the test said it meant to send, and fails it for each of those
// never sent.
func TestNewTest(t *testing.T) {
	t.Parallel()
	rec := &recordingTB{}
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

	got := rec.end()
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
