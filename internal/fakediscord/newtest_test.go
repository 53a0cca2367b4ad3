package fakediscord_test

import (
	"net/http"
	"slices"
	"testing"

	"github.com/cippbot/cippbot/internal/fakediscord"
	"github.com/cippbot/cippbot/internal/unhandled"
)

// TestNewTest: a server made by NewTest fails its test on each path or
// method it has no route for, except those the test said it meant to
// send, and fails it for each of those never sent.
func TestNewTest(t *testing.T) {
	t.Parallel()
	rec := &unhandled.Recorder{}
	s := fakediscord.NewTest(rec, fakediscord.Options{})
	defer s.Close()
	call := func(method, path string) int {
		t.Helper()
		req, _ := http.NewRequest(method, s.BaseURL()+path, nil)
		req.Header.Set("Authorization", "Bot "+fakediscord.DefaultBotToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := call(http.MethodGet, "users/@me"); got != http.StatusOK {
		t.Fatalf("GET users/@me: %d", got)
	}
	call(http.MethodGet, "guilds/123")
	call(http.MethodDelete, "users/@me")
	s.ExpectUnhandled(http.MethodGet, "/api/v9/guilds/456")
	call(http.MethodGet, "guilds/456")
	s.ExpectUnhandled(http.MethodGet, "/api/v9/never")

	got := rec.End()
	want := []string{
		"fakediscord: no route for GET /api/v9/guilds/123 (the test reached a route the fake lacks)",
		"fakediscord: no route for DELETE /api/v9/users/@me (the test reached a route the fake lacks)",
		"fakediscord: the test expected a request without a route, GET /api/v9/never, which never came",
	}
	if !slices.Equal(got, want) {
		t.Errorf("reported:\n%q\nwant:\n%q", got, want)
	}
	var unhandled []string
	for _, c := range s.Calls() {
		if c.Unhandled {
			unhandled = append(unhandled, c.Method+" "+c.Path)
		}
	}
	if want := []string{"GET /api/v9/guilds/123", "DELETE /api/v9/users/@me", "GET /api/v9/guilds/456"}; !slices.Equal(unhandled, want) {
		t.Errorf("calls marked Unhandled: %q, want %q", unhandled, want)
	}
}
