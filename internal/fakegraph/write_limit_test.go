package fakegraph_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cippbot/cippbot/internal/fakegraph"
)

// TestWriteLimit holds one app's writes to a tenant to the write quota
// (scaled down here to 5 per 10 s): reads are free, $batch items count one
// by one, a write over the quota is 429 with Retry-After and Entra's
// throttle headers, and the bucket refills with time.
func TestWriteLimit(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	now := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	g := newGraph(t, fakegraph.Options{Now: clock, WriteLimit: 5, WriteWindow: 10 * time.Second})
	patch := func(title string) response {
		return g.do(http.MethodPatch, "/v1.0/users/"+alexID, map[string]any{"jobTitle": title})
	}
	for i := range 10 {
		if r := g.do(http.MethodGet, "/v1.0/users/"+alexID+"?$select=id", nil); r.status != 200 {
			t.Fatalf("read %d: %d", i, r.status)
		}
	}
	for i := range 3 {
		if r := patch(fmt.Sprint("t", i)); r.status != 204 {
			t.Fatalf("write %d: %d %s", i, r.status, r.raw)
		}
	}
	var reqs []any
	for i := range 3 {
		reqs = append(reqs, map[string]any{"id": fmt.Sprint(i + 1), "method": "PATCH", "url": "/users/" + alexID,
			"headers": map[string]any{"Content-Type": "application/json"}, "body": map[string]any{"jobTitle": fmt.Sprint("b", i)}})
	}
	items := batchResponses(t, g.doGzip(http.MethodPost, "/v1.0/$batch", map[string]any{"requests": reqs}))
	if items["1"]["status"] != 204.0 || items["2"]["status"] != 204.0 || items["3"]["status"] != 429.0 {
		t.Fatalf("batch items: %v", items)
	}
	h := items["3"]["headers"].(map[string]any)
	if h["Retry-After"] != "2" || h["X-Ms-Throttle-Information"] != "WriteLimitExceeded" ||
		h["X-Ms-Throttle-Scope"] != "Tenant_Application/Write/"+fakegraph.DefaultClientID+"/"+fakegraph.ContosoTenantID {
		t.Errorf("throttled item headers: %v", h)
	}
	r := patch("over")
	if r.status != 429 || r.header.Get("Retry-After") != "2" {
		t.Fatalf("write over the quota: %d %v", r.status, r.header)
	}
	if u, _ := g.s.User(fakegraph.ContosoTenantID, alexID); u.JobTitle != "b1" {
		t.Errorf("job title %q: a throttled write was applied", u.JobTitle)
	}
	advance(2 * time.Second) // one token back
	if r := patch("after"); r.status != 204 {
		t.Fatalf("write after the wait: %d", r.status)
	}
	if r := patch("again"); r.status != 429 {
		t.Fatalf("second write after the wait: %d", r.status)
	}
	if n := g.s.WritesThrottled(); n != 3 {
		t.Errorf("%d writes throttled, want 3", n)
	}
	g.s.SetWriteLimit(-1, 0)
	for i := range 10 {
		if r := patch(fmt.Sprint("off", i)); r.status != 204 {
			t.Fatalf("write %d with no quota: %d", i, r.status)
		}
	}
}

// TestInFilterLimit: "in" takes 15 values, as Graph documents.
func TestInFilterLimit(t *testing.T) {
	t.Parallel()
	g := newGraph(t, fakegraph.Options{})
	list := func(n int) response {
		vals := make([]string, n)
		for i := range vals {
			vals[i] = fmt.Sprintf("'%08d-0000-4000-8000-000000000000'", i)
		}
		vals[0] = "'" + alexID + "'"
		return g.do(http.MethodGet, "/v1.0/users?$select=id&$filter="+url.QueryEscape("id in ("+strings.Join(vals, ",")+")"), nil)
	}
	if r := list(15); r.status != 200 || len(r.json["value"].([]any)) != 1 {
		t.Errorf("15 values: %d %s", r.status, r.raw)
	}
	if r := list(16); r.status != 400 {
		t.Errorf("16 values: %d %s", r.status, r.raw)
	}
}
