package fakegraph

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// TestSharePointGrantScope checks what the SharePoint admin endpoint
// relies on: the grant of a SharePoint admin token records exactly
// "https://{name}-admin.sharepoint.com/.default", host in lower case.
func TestSharePointGrantScope(t *testing.T) {
	t.Parallel()
	s := New(Options{})
	for _, scope := range []string{"https://contoso-admin.sharepoint.com/.default", "https://Contoso-Admin.SharePoint.com/.default",
		"https://contoso-admin.sharepoint.com//.default"} {
		form := url.Values{"grant_type": {"client_credentials"}, "client_id": {DefaultClientID}, "client_secret": {DefaultClientSecret}, "scope": {scope}}
		req := httptest.NewRequest(http.MethodPost, "https://login.test/"+ContosoInitialDomain+"/oauth2/v2.0/token", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			t.Fatalf("%s: %d %s", scope, rec.Code, rec.Body)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.tokens) != 3 {
		t.Fatalf("%d grants", len(s.tokens))
	}
	for _, g := range s.tokens {
		if g.scope != "https://contoso-admin.sharepoint.com/.default" || g.tenantID != ContosoTenantID || g.clientID != DefaultClientID {
			t.Errorf("grant = %+v", g)
		}
	}
}
