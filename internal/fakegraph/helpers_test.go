package fakegraph_test

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cippbot/cippbot/internal/fakegraph"
)

// start returns a started server that is closed when the test ends.
func start(t *testing.T, opts fakegraph.Options) *fakegraph.Server {
	t.Helper()
	s := fakegraph.NewTest(t, opts)
	s.Start()
	t.Cleanup(s.Close)
	return s
}

// response is a decoded HTTP response.
type response struct {
	status int
	header http.Header
	raw    []byte
	json   map[string]any
}

// send performs a request against the server and decodes a JSON body.
func send(t *testing.T, s *fakegraph.Server, method, path string, hdr http.Header, body io.Reader) response {
	t.Helper()
	req, err := http.NewRequest(method, s.URL()+path, body)
	if err != nil {
		t.Fatalf("new request: %v", err)
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	res, err := s.Client().Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("read body: %v", err)
	}
	out := response{status: res.StatusCode, header: res.Header, raw: raw}
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &out.json); err != nil {
			t.Fatalf("%s %s: body is not a JSON object: %v\n%s", method, path, err, raw)
		}
	}
	return out
}

// tokenForm posts a token request and returns the response.
func tokenForm(t *testing.T, s *fakegraph.Server, tenant string, form url.Values) response {
	t.Helper()
	hdr := http.Header{"Content-Type": {"application/x-www-form-urlencoded; charset=utf-8"}}
	return send(t, s, http.MethodPost, "/"+tenant+"/oauth2/v2.0/token", hdr, strings.NewReader(form.Encode()))
}

// clientCredentials is a valid token request for the default app.
func clientCredentials() url.Values {
	return url.Values{
		"grant_type":    {"client_credentials"},
		"client_id":     {fakegraph.DefaultClientID},
		"client_secret": {fakegraph.DefaultClientSecret},
		"scope":         {"https://graph.microsoft.com/.default"},
		"client_info":   {"1"},
	}
}

// token obtains an access token for the contoso tenant.
func token(t *testing.T, s *fakegraph.Server) string {
	t.Helper()
	res := tokenForm(t, s, fakegraph.ContosoTenantID, clientCredentials())
	if res.status != http.StatusOK {
		t.Fatalf("token: status %d: %s", res.status, res.raw)
	}
	tok, _ := res.json["access_token"].(string)
	if tok == "" {
		t.Fatalf("token: no access_token in %s", res.raw)
	}
	return tok
}

// graph is an authenticated Graph client for tests.
type graph struct {
	t   *testing.T
	s   *fakegraph.Server
	tok string
}

// newGraph starts a server and returns a client holding a token.
func newGraph(t *testing.T, opts fakegraph.Options) *graph {
	s := start(t, opts)
	return &graph{t: t, s: s, tok: token(t, s)}
}

// do sends a Graph request; body is marshalled as JSON when not nil.
func (g *graph) do(method, path string, body any) response {
	g.t.Helper()
	var r io.Reader
	hdr := http.Header{"Authorization": {"Bearer " + g.tok}}
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			g.t.Fatalf("marshal: %v", err)
		}
		r = bytes.NewReader(b)
		hdr.Set("Content-Type", "application/json")
	}
	return send(g.t, g.s, method, path, hdr, r)
}

// doGzip sends a Graph request with a gzip-compressed JSON body.
func (g *graph) doGzip(method, path string, body any) response {
	g.t.Helper()
	b, err := json.Marshal(body)
	if err != nil {
		g.t.Fatalf("marshal: %v", err)
	}
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(b); err != nil {
		g.t.Fatalf("gzip: %v", err)
	}
	if err := zw.Close(); err != nil {
		g.t.Fatalf("gzip: %v", err)
	}
	hdr := http.Header{
		"Authorization":    {"Bearer " + g.tok},
		"Content-Type":     {"application/json"},
		"Content-Encoding": {"gzip"},
	}
	return send(g.t, g.s, method, path, hdr, &buf)
}

// errorOf returns the code and message of a Graph error body.
func errorOf(t *testing.T, r response) (string, string) {
	t.Helper()
	e, ok := r.json["error"].(map[string]any)
	if !ok {
		t.Fatalf("no error object in %s", r.raw)
	}
	code, _ := e["code"].(string)
	msg, _ := e["message"].(string)
	return code, msg
}

// wantError checks status, code and a message fragment.
func wantError(t *testing.T, r response, status int, code, msgPart string) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status = %d, want %d: %s", r.status, status, r.raw)
	}
	gotCode, gotMsg := errorOf(t, r)
	if gotCode != code {
		t.Errorf("code = %q, want %q (message %q)", gotCode, code, gotMsg)
	}
	if !strings.Contains(gotMsg, msgPart) {
		t.Errorf("message = %q, want it to contain %q", gotMsg, msgPart)
	}
}

// values returns the "value" array of a collection response.
func values(t *testing.T, r response) []map[string]any {
	t.Helper()
	if r.status != http.StatusOK {
		t.Fatalf("status = %d: %s", r.status, r.raw)
	}
	raw, ok := r.json["value"].([]any)
	if !ok {
		t.Fatalf("no value array in %s", r.raw)
	}
	out := make([]map[string]any, len(raw))
	for i, v := range raw {
		out[i], _ = v.(map[string]any)
	}
	return out
}

// fixedClock is a settable clock for Options.Now.
type fixedClock struct {
	mu sync.Mutex
	t  time.Time
}

// Now reads the clock.
func (c *fixedClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Set moves the clock.
func (c *fixedClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}
