package fakegraph_test

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/cippbot/cippbot/internal/fakegraph"
)

func TestFaultEveryInBatch(t *testing.T) {
	t.Parallel()
	g := newGraph(t, fakegraph.Options{})
	g.s.Inject(fakegraph.Fault{Method: "GET", PathContains: "/users/", Every: 10, Status: 429, RetryAfter: "0.2"})
	var reqs []any
	for i := range 20 {
		reqs = append(reqs, map[string]any{"id": fmt.Sprint(i + 1), "method": "GET", "url": "/users/AdeleV@contoso.com?$select=id"})
	}
	items := batchResponses(t, g.do(http.MethodPost, "/v1.0/$batch", map[string]any{"requests": reqs}))
	var throttled []string
	for i := range 20 {
		id := fmt.Sprint(i + 1)
		it := items[id]
		switch it["status"] {
		case float64(200):
		case float64(429):
			throttled = append(throttled, id)
			h, _ := it["headers"].(map[string]any)
			if h["Retry-After"] != "0.2" {
				t.Errorf("item %s headers = %v", id, h)
			}
			e := it["body"].(map[string]any)["error"].(map[string]any)
			if e["code"] != "TooManyRequests" {
				t.Errorf("item %s error = %v", id, e)
			}
		default:
			t.Errorf("item %s status = %v", id, it["status"])
		}
	}
	if len(throttled) != 2 || throttled[0] != "10" || throttled[1] != "20" {
		t.Errorf("throttled items = %v, want [10 20]", throttled)
	}
	// The fault keeps going: the next ten matching requests throttle one.
	n := 0
	for range 10 {
		if res := g.do(http.MethodGet, "/v1.0/users/AdeleV@contoso.com", nil); res.status == http.StatusTooManyRequests {
			n++
			if res.header.Get("Retry-After") != "0.2" {
				t.Errorf("Retry-After = %q", res.header.Get("Retry-After"))
			}
		}
	}
	if n != 1 {
		t.Errorf("%d of the next 10 throttled", n)
	}
}

func TestFaultEveryBoundedByTimes(t *testing.T) {
	t.Parallel()
	g := newGraph(t, fakegraph.Options{})
	g.s.Inject(fakegraph.Fault{PathContains: "/organization", Every: 2, Times: 2, Status: 503})
	var got []int
	for range 10 {
		got = append(got, g.do(http.MethodGet, "/v1.0/organization", nil).status)
	}
	want := []int{200, 503, 200, 503, 200, 200, 200, 200, 200, 200}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("statuses = %v, want %v", got, want)
	}
	// Non-matching requests do not advance the count.
	g.s.Inject(fakegraph.Fault{PathContains: "/domains", Every: 3, Times: -1, Status: 500})
	g.do(http.MethodGet, "/v1.0/organization", nil)
	g.do(http.MethodGet, "/v1.0/domains", nil)
	g.do(http.MethodGet, "/v1.0/domains", nil)
	if res := g.do(http.MethodGet, "/v1.0/domains", nil); res.status != 500 {
		t.Errorf("third matching request = %d", res.status)
	}
}
