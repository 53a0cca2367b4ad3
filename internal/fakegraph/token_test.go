package fakegraph_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/cippbot/cippbot/internal/fakegraph"
)

func TestOpenIDConfiguration(t *testing.T) {
	t.Parallel()
	s := start(t, fakegraph.Options{})
	for _, tenant := range []string{fakegraph.ContosoTenantID, fakegraph.ContosoDomain, "CONTOSO.COM", fakegraph.ContosoInitialDomain} {
		t.Run(tenant, func(t *testing.T) {
			res := send(t, s, http.MethodGet, "/"+tenant+"/v2.0/.well-known/openid-configuration", nil, nil)
			if res.status != http.StatusOK {
				t.Fatalf("status = %d: %s", res.status, res.raw)
			}
			base := s.URL() + "/" + tenant
			for k, want := range map[string]string{
				"token_endpoint":         base + "/oauth2/v2.0/token",
				"authorization_endpoint": base + "/oauth2/v2.0/authorize",
				"issuer":                 s.URL() + "/" + fakegraph.ContosoTenantID + "/v2.0",
				"tenant_region_scope":    "NA",
			} {
				if got := res.json[k]; got != want {
					t.Errorf("%s = %v, want %s", k, got, want)
				}
			}
		})
	}
}

func TestUnknownTenant(t *testing.T) {
	t.Parallel()
	s := start(t, fakegraph.Options{})
	for _, tc := range []struct {
		name, method, path string
	}{
		{"openid", http.MethodGet, "/fabrikam.com/v2.0/.well-known/openid-configuration"},
		{"token", http.MethodPost, "/00000000-0000-0000-0000-000000000001/oauth2/v2.0/token"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := send(t, s, tc.method, tc.path, http.Header{"Content-Type": {"application/x-www-form-urlencoded"}},
				strings.NewReader(clientCredentials().Encode()))
			if res.status != http.StatusBadRequest {
				t.Fatalf("status = %d: %s", res.status, res.raw)
			}
			if res.json["error"] != "invalid_tenant" {
				t.Errorf("error = %v", res.json["error"])
			}
			if d, _ := res.json["error_description"].(string); !strings.HasPrefix(d, "AADSTS90002: Tenant '") {
				t.Errorf("error_description = %q", d)
			}
			if codes, _ := res.json["error_codes"].([]any); len(codes) != 1 || codes[0] != float64(90002) {
				t.Errorf("error_codes = %v", res.json["error_codes"])
			}
			for _, k := range []string{"timestamp", "trace_id", "correlation_id"} {
				if res.json[k] == "" || res.json[k] == nil {
					t.Errorf("%s missing", k)
				}
			}
		})
	}
}

func TestTokenEndpoint(t *testing.T) {
	t.Parallel()
	s := start(t, fakegraph.Options{})
	with := func(k, v string) url.Values {
		f := clientCredentials()
		f.Set(k, v)
		return f
	}
	tests := []struct {
		name       string
		form       url.Values
		status     int
		errCode    string
		descPrefix string
	}{
		{"ok", clientCredentials(), http.StatusOK, "", ""},
		{"graph app id scope", with("scope", "00000003-0000-0000-c000-000000000000/.default"), http.StatusOK, "", ""},
		{"wrong client", with("client_id", "nope"), http.StatusBadRequest, "unauthorized_client", "AADSTS700016: Application with identifier 'nope' was not found in the directory"},
		{"wrong secret", with("client_secret", "bad"), http.StatusUnauthorized, "invalid_client", "AADSTS7000215: Invalid client secret provided."},
		{"no default suffix", with("scope", "https://graph.microsoft.com/User.Read"), http.StatusBadRequest, "invalid_scope", "AADSTS1002012"},
		{"other resource", with("scope", "https://management.azure.com/.default"), http.StatusBadRequest, "invalid_resource", "AADSTS500011"},
		{"wrong grant", with("grant_type", "password"), http.StatusBadRequest, "unsupported_grant_type", "AADSTS70003"},
	}
	issued := 0
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := tokenForm(t, s, fakegraph.ContosoDomain, tc.form)
			if res.status != tc.status {
				t.Fatalf("status = %d, want %d: %s", res.status, tc.status, res.raw)
			}
			if tc.errCode == "" {
				issued++
				if res.json["token_type"] != "Bearer" || res.json["expires_in"] != float64(3599) || res.json["ext_expires_in"] != float64(3599) {
					t.Errorf("unexpected token response %s", res.raw)
				}
				if tok, _ := res.json["access_token"].(string); len(tok) < 20 {
					t.Errorf("access_token = %q", tok)
				}
				return
			}
			if res.json["error"] != tc.errCode {
				t.Errorf("error = %v, want %s", res.json["error"], tc.errCode)
			}
			if d, _ := res.json["error_description"].(string); !strings.HasPrefix(d, tc.descPrefix) {
				t.Errorf("error_description = %q, want prefix %q", d, tc.descPrefix)
			}
		})
	}
	if got := s.TokensIssued(); got != issued {
		t.Errorf("TokensIssued = %d, want %d", got, issued)
	}
	for _, r := range s.Requests() {
		if strings.Contains(string(r.Body), fakegraph.DefaultClientSecret) {
			t.Errorf("recorded token request leaks the client secret: %s", r.Body)
		}
	}
}

func TestCustomCredentials(t *testing.T) {
	t.Parallel()
	s := start(t, fakegraph.Options{ClientID: "app-1", ClientSecret: "s3cret"})
	f := clientCredentials()
	if res := tokenForm(t, s, fakegraph.ContosoTenantID, f); res.status != http.StatusBadRequest {
		t.Fatalf("default credentials accepted: %d", res.status)
	}
	f.Set("client_id", "app-1")
	f.Set("client_secret", "s3cret")
	if res := tokenForm(t, s, fakegraph.ContosoTenantID, f); res.status != http.StatusOK {
		t.Fatalf("custom credentials rejected: %d %s", res.status, res.raw)
	}
}

func TestBearerRequired(t *testing.T) {
	t.Parallel()
	clock := &fixedClock{t: time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)}
	s := start(t, fakegraph.Options{Now: clock.Now})
	tok := token(t, s)
	tests := []struct {
		name   string
		header string
		msg    string
	}{
		{"missing", "", "Access token is empty."},
		{"garbage", "Bearer not-a-token", "Access token validation failure"},
		{"wrong scheme", "Basic " + tok, "Access token validation failure"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			hdr := http.Header{}
			if tc.header != "" {
				hdr.Set("Authorization", tc.header)
			}
			res := send(t, s, http.MethodGet, "/v1.0/users", hdr, nil)
			wantError(t, res, http.StatusUnauthorized, "InvalidAuthenticationToken", tc.msg)
			if res.header.Get("WWW-Authenticate") == "" {
				t.Error("no WWW-Authenticate header")
			}
		})
	}
	auth := http.Header{"Authorization": {"Bearer " + tok}}
	if res := send(t, s, http.MethodGet, "/v1.0/users", auth, nil); res.status != http.StatusOK {
		t.Fatalf("valid token rejected: %d %s", res.status, res.raw)
	}
	clock.Set(clock.Now().Add(time.Hour))
	res := send(t, s, http.MethodGet, "/v1.0/users", auth, nil)
	wantError(t, res, http.StatusUnauthorized, "InvalidAuthenticationToken", "the token is expired")
}
