package fakegraph_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/cippbot/cippbot/internal/fakegraph"
)

// TestHold: a held request waits, unanswered and unrecorded, until it is
// released; other requests go on meanwhile; a held request whose client
// leaves is answered 499 and not carried out.
func TestHold(t *testing.T) {
	t.Parallel()
	g := newGraph(t, fakegraph.Options{})
	revoke := "/v1.0/users/" + fakegraph.ContosoAdeleID + "/revokeSignInSessions"

	adele, _ := g.s.User(fakegraph.ContosoTenantID, fakegraph.ContosoAdeleID)
	h := g.s.Hold(http.MethodPost, "/revokeSignInSessions")
	t.Cleanup(h.Release) // before the server closes, which waits for it
	answered := make(chan response, 1)
	go func() { answered <- g.do(http.MethodPost, revoke, nil) }()
	select {
	case <-h.Arrived():
	case <-time.After(10 * time.Second):
		t.Fatal("the held request never arrived")
	}
	if res := g.do(http.MethodGet, "/v1.0/users/"+fakegraph.ContosoAlexID, nil); res.status != http.StatusOK {
		t.Errorf("another request while one is held: %d", res.status)
	}
	select {
	case res := <-answered:
		t.Fatalf("answered while held: %d", res.status)
	case <-h.Done():
		t.Fatal("done while held")
	case <-time.After(50 * time.Millisecond):
	}
	if u, _ := g.s.User(fakegraph.ContosoTenantID, fakegraph.ContosoAdeleID); !u.SignInSessionsValidFrom.Equal(adele.SignInSessionsValidFrom) {
		t.Fatal("the held revoke was carried out")
	}
	h.Release()
	if res := <-answered; res.status != http.StatusOK {
		t.Errorf("released request: %d %s", res.status, res.raw)
	}
	<-h.Done()
	if u, _ := g.s.User(fakegraph.ContosoTenantID, fakegraph.ContosoAdeleID); u.SignInSessionsValidFrom.Equal(adele.SignInSessionsValidFrom) {
		t.Error("the released revoke was not carried out")
	}

	// The client leaves while its request is held.
	alex, _ := g.s.User(fakegraph.ContosoTenantID, fakegraph.ContosoAlexID)
	h = g.s.Hold(http.MethodPost, "/revokeSignInSessions")
	t.Cleanup(h.Release)
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, g.s.URL()+"/v1.0/users/"+fakegraph.ContosoAlexID+"/revokeSignInSessions", nil)
	req.Header.Set("Authorization", "Bearer "+g.tok)
	go func() {
		<-h.Arrived()
		cancel()
	}()
	if _, err := g.s.Client().Do(req); err == nil {
		t.Fatal("the request was answered, not cancelled")
	}
	select {
	case <-h.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("the cancelled request was never recorded")
	}
	reqs := g.s.Requests()
	if last := reqs[len(reqs)-1]; last.Status != 499 {
		t.Errorf("cancelled request recorded with %d, want 499", last.Status)
	}
	if u, _ := g.s.User(fakegraph.ContosoTenantID, fakegraph.ContosoAlexID); !u.SignInSessionsValidFrom.Equal(alex.SignInSessionsValidFrom) {
		t.Error("the cancelled revoke was carried out")
	}
}
