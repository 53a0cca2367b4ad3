package teams

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// FuzzServeHTTP feeds arbitrary bodies and headers to the endpoint: it
// never panics, never reaches the handler without a valid token, and
// never calls out for a request without a bearer token.
func FuzzServeHTTP(f *testing.F) {
	f.Add(`{"type":"message","text":"help","serviceUrl":"https://smba.trafficmanager.net/amer/"}`, "")
	f.Add(`{"type":"invoke","name":"adaptiveCard/action","value":{"action":{"verb":"cipp.reveal","data":{"reveal":"x"}}}}`, "Bearer x.y.z")
	f.Add(`not json`, "Bearer eyJhbGciOiJub25lIn0.e30.")
	f.Add(`{"entities":[{"type":"mention","text":"","mentioned":{"id":""}}],"text":"<at>x</at>"}`, "Basic Zm9v")
	h := &recordingHandler{}
	a, err := New(Config{AppID: "app", Credential: noCredential{}, TenantID: "t", OpenIDURL: "https://127.0.0.1:1/none",
		HTTPClient: &http.Client{Transport: failTransport{}}}, h)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body, auth string) {
		req := httptest.NewRequest(http.MethodPost, Route, strings.NewReader(body))
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		w := httptest.NewRecorder()
		a.ServeHTTP(w, req)
		if w.Code != http.StatusUnauthorized && w.Code != http.StatusRequestEntityTooLarge {
			t.Fatalf("HTTP %d without a valid token", w.Code)
		}
		if len(h.got()) != 0 {
			t.Fatal("handler reached without a valid token")
		}
		var act activity
		if json.Unmarshal([]byte(body), &act) == nil {
			act.tenant()
			commandText(&act)
		}
	})
}

// noCredential has no token: the fuzzer never gets so far.
type noCredential struct{}

func (noCredential) Token(context.Context, string) (string, error) { return "", http.ErrHandlerTimeout }

// failTransport refuses every request: fuzzing stays off the network.
type failTransport struct{}

func (failTransport) RoundTrip(*http.Request) (*http.Response, error) {
	return nil, http.ErrHandlerTimeout
}
