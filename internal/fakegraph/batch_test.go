package fakegraph_test

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/cippbot/cippbot/internal/fakegraph"
)

// alexID is Alex Wilber's seeded id.
const alexID = "438377a5-2902-4e82-b6d1-f415e86fbe91"

// batchResponses indexes the items of a $batch response by id.
func batchResponses(t *testing.T, res response) map[string]map[string]any {
	t.Helper()
	if res.status != http.StatusOK {
		t.Fatalf("batch status = %d: %s", res.status, res.raw)
	}
	items, ok := res.json["responses"].([]any)
	if !ok {
		t.Fatalf("no responses in %s", res.raw)
	}
	out := map[string]map[string]any{}
	for _, it := range items {
		m := it.(map[string]any)
		out[m["id"].(string)] = m
	}
	return out
}

func TestBatch(t *testing.T) {
	t.Parallel()
	g := newGraph(t, fakegraph.Options{})
	payload := map[string]any{"requests": []any{
		map[string]any{"id": "1", "method": "GET", "url": "/users/AdeleV@contoso.com?$select=displayName"},
		map[string]any{"id": "2", "method": "GET", "url": "/users/ghost@contoso.com"},
		map[string]any{"id": "3", "method": "PATCH", "url": "/users/" + alexID,
			"headers": map[string]any{"Content-Type": "application/json"}, "body": map[string]any{"jobTitle": "Never"}, "dependsOn": []string{"2"}},
		map[string]any{"id": "4", "method": "PATCH", "url": "https://graph.microsoft.com/v1.0/users/" + alexID,
			"headers": map[string]any{"Content-Type": "application/json"}, "body": map[string]any{"jobTitle": "Senior Marketing Assistant"}, "dependsOn": []string{"1"}},
	}}
	res := g.doGzip(http.MethodPost, "/v1.0/$batch", payload)
	items := batchResponses(t, res)
	if len(items) != 4 {
		t.Fatalf("%d responses", len(items))
	}
	want := map[string]float64{"1": 200, "2": 404, "3": 424, "4": 204}
	for id, status := range want {
		if items[id]["status"] != status {
			t.Errorf("item %s status = %v, want %v (%v)", id, items[id]["status"], status, items[id])
		}
	}
	body := items["1"]["body"].(map[string]any)
	if body["displayName"] != "Adele Vance" {
		t.Errorf("item 1 body = %v", body)
	}
	if h := items["1"]["headers"].(map[string]any); h["Content-Type"] == nil {
		t.Errorf("item 1 headers = %v", h)
	}
	e := items["2"]["body"].(map[string]any)["error"].(map[string]any)
	if e["code"] != "Request_ResourceNotFound" || e["message"] == "" {
		t.Errorf("item 2 error = %v", e)
	}
	u, _ := g.s.User(fakegraph.ContosoTenantID, alexID)
	if u.JobTitle != "Senior Marketing Assistant" {
		t.Errorf("job title = %q", u.JobTitle)
	}
	var itemRecs []fakegraph.Request
	for _, r := range g.s.Requests() {
		if r.BatchItemID != "" {
			itemRecs = append(itemRecs, r)
		}
	}
	if len(itemRecs) != 4 || itemRecs[3].Method != http.MethodPatch || itemRecs[3].Path != "/v1.0/users/"+alexID || itemRecs[3].Status != 204 {
		t.Errorf("recorded items = %+v", itemRecs)
	}
}

func TestBatchValidation(t *testing.T) {
	t.Parallel()
	g := newGraph(t, fakegraph.Options{})
	var many []any
	for i := range 21 {
		many = append(many, map[string]any{"id": fmt.Sprint(i), "method": "GET", "url": "/organization"})
	}
	tests := []struct {
		name    string
		payload any
	}{
		{"too many", map[string]any{"requests": many}},
		{"duplicate id", map[string]any{"requests": []any{
			map[string]any{"id": "a", "method": "GET", "url": "/organization"},
			map[string]any{"id": "a", "method": "GET", "url": "/domains"},
		}}},
		{"unknown dependency", map[string]any{"requests": []any{
			map[string]any{"id": "a", "method": "GET", "url": "/organization", "dependsOn": []string{"z"}},
		}}},
		{"no requests", map[string]any{"foo": 1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := g.do(http.MethodPost, "/v1.0/$batch", tc.payload)
			wantError(t, res, http.StatusBadRequest, "BadRequest", "")
		})
	}
	res := g.do(http.MethodPost, "/v1.0/$batch", map[string]any{"requests": many[:20]})
	if items := batchResponses(t, res); len(items) != 20 {
		t.Errorf("%d responses for 20 requests", len(items))
	}
}

func TestInjectThrottle(t *testing.T) {
	t.Parallel()
	g := newGraph(t, fakegraph.Options{})
	g.s.Inject(fakegraph.Fault{Method: "GET", PathContains: "/users/", Status: 429, RetryAfter: "2.128"})
	path := "/v1.0/users/AdeleV@contoso.com"
	res := g.do(http.MethodGet, path, nil)
	wantError(t, res, http.StatusTooManyRequests, "TooManyRequests", "Please retry again later.")
	if got := res.header.Get("Retry-After"); got != "2.128" {
		t.Errorf("Retry-After = %q", got)
	}
	if res := g.do(http.MethodGet, path, nil); res.status != http.StatusOK {
		t.Errorf("second call: %d %s", res.status, res.raw)
	}
	reqs := g.s.Requests()
	if reqs[len(reqs)-2].Status != 429 || reqs[len(reqs)-1].Status != 200 {
		t.Errorf("recorded statuses %d, %d", reqs[len(reqs)-2].Status, reqs[len(reqs)-1].Status)
	}
}

func TestInjectFaultMatching(t *testing.T) {
	t.Parallel()
	g := newGraph(t, fakegraph.Options{})
	g.s.Inject(fakegraph.Fault{Method: "PATCH", PathContains: "/users/", Times: 2, Status: 503, RetryAfter: "0"})
	if res := g.do(http.MethodGet, "/v1.0/users/AdeleV@contoso.com", nil); res.status != http.StatusOK {
		t.Errorf("GET was faulted: %d", res.status)
	}
	for range 2 {
		res := g.do(http.MethodPatch, "/v1.0/users/AdeleV@contoso.com", map[string]any{"jobTitle": "x"})
		if res.status != http.StatusServiceUnavailable || res.header.Get("Retry-After") != "0" {
			t.Errorf("PATCH = %d %s", res.status, res.raw)
		}
	}
	if res := g.do(http.MethodPatch, "/v1.0/users/AdeleV@contoso.com", map[string]any{"jobTitle": "x"}); res.status != http.StatusNoContent {
		t.Errorf("third PATCH = %d", res.status)
	}
	g.s.Inject(fakegraph.Fault{PathContains: "/organization", Times: -1, Status: 500})
	for range 3 {
		if res := g.do(http.MethodGet, "/v1.0/organization", nil); res.status != 500 {
			t.Errorf("persistent fault status %d", res.status)
		}
	}
	g.s.ClearFaults()
	if res := g.do(http.MethodGet, "/v1.0/organization", nil); res.status != 200 {
		t.Errorf("after ClearFaults: %d", res.status)
	}
}

func TestInjectIntoBatch(t *testing.T) {
	t.Parallel()
	g := newGraph(t, fakegraph.Options{})
	g.s.Inject(fakegraph.Fault{PathContains: "/users/MeganB", Status: 429, RetryAfter: "0"})
	res := g.do(http.MethodPost, "/v1.0/$batch", map[string]any{"requests": []any{
		map[string]any{"id": "a", "method": "GET", "url": "/users/AdeleV@contoso.com"},
		map[string]any{"id": "b", "method": "GET", "url": "/users/MeganB@contoso.com"},
	}})
	items := batchResponses(t, res)
	if items["a"]["status"] != float64(200) || items["b"]["status"] != float64(429) {
		t.Fatalf("statuses a=%v b=%v", items["a"]["status"], items["b"]["status"])
	}
	if h := items["b"]["headers"].(map[string]any); h["Retry-After"] != "0" {
		t.Errorf("item headers = %v", h)
	}
}
