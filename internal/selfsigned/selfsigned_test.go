package selfsigned_test

import (
	"crypto/ecdsa"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/cippbot/cippbot/internal/selfsigned"
)

// TestStartTLS shows that a server started with StartTLS presents the
// P-256 certificate, that its Client trusts it, and that a client which
// does not trust it is refused.
func TestStartTLS(t *testing.T) {
	ts := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }))
	selfsigned.StartTLS(ts)
	defer ts.Close()
	if _, ok := ts.Certificate().PublicKey.(*ecdsa.PublicKey); !ok {
		t.Fatalf("certificate key is %T, want *ecdsa.PublicKey", ts.Certificate().PublicKey)
	}
	res, err := ts.Client().Get(ts.URL)
	if err != nil {
		t.Fatalf("trusted client: %v", err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if string(body) != "ok" {
		t.Fatalf("body %q", body)
	}
	if _, err := (&http.Client{}).Get(ts.URL); err == nil {
		t.Fatal("a client without the certificate was not refused")
	}
}
