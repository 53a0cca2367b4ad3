package fakegraph_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/cippbot/cippbot/internal/fakegraph"
)

func TestTokenErrors(t *testing.T) {
	t.Parallel()
	s := mspServer(t, fakegraph.Options{})
	tests := []struct {
		code     string
		status   int
		err      string
		suberror string
		desc     string
	}{
		{"7000229", 401, "invalid_client", "", "AADSTS7000229: The client application " + fakegraph.DefaultClientID + " is missing service principal in the tenant " + fakegraph.FabrikamTenantID + "."},
		{"AADSTS65001", 400, "invalid_grant", "consent_required", "AADSTS65001: The user or administrator has not consented to use the application with ID '" + fakegraph.DefaultClientID + "'"},
		{"700016", 400, "unauthorized_client", "", "AADSTS700016: Application with identifier '" + fakegraph.DefaultClientID + "' was not found in the directory"},
		{"7000215", 401, "invalid_client", "", "AADSTS7000215: Invalid client secret provided."},
		{"7000222", 401, "invalid_client", "", "AADSTS7000222: The provided client secret keys for app '" + fakegraph.DefaultClientID + "' are expired."},
		{"7000112", 400, "unauthorized_client", "", "AADSTS7000112: Application '" + fakegraph.DefaultClientID + "'"},
		{"53003", 400, "interaction_required", "message_only", "AADSTS53003: Access has been blocked by Conditional Access policies."},
		{"500011", 400, "invalid_resource", "", "AADSTS500011: The resource principal named https://graph.microsoft.com was not found"},
		{"90002", 400, "invalid_tenant", "", "AADSTS90002: Tenant 'fabrikam.com' not found."},
		{"50020", 400, "invalid_request", "", "AADSTS50020: User account"},
	}
	if len(tests) != len(fakegraph.TokenErrorCodes()) {
		t.Errorf("testing %d codes of %v", len(tests), fakegraph.TokenErrorCodes())
	}
	for _, tc := range tests {
		t.Run(tc.code, func(t *testing.T) {
			s.SetTokenError(fakegraph.FabrikamTenantID, tc.code)
			res := tokenForm(t, s, fakegraph.FabrikamDomain, clientCredentials())
			if res.status != tc.status || res.json["error"] != tc.err {
				t.Fatalf("got %d %v, want %d %s: %s", res.status, res.json["error"], tc.status, tc.err, res.raw)
			}
			desc, _ := res.json["error_description"].(string)
			if !strings.HasPrefix(desc, tc.desc) {
				t.Errorf("error_description = %q, want prefix %q", desc, tc.desc)
			}
			if !strings.Contains(desc, "\r\nTrace ID: ") || !strings.Contains(desc, "\r\nCorrelation ID: ") || !strings.Contains(desc, "\r\nTimestamp: ") {
				t.Errorf("error_description lacks the trace lines: %q", desc)
			}
			n := strings.TrimPrefix(tc.code, "AADSTS")
			if codes, _ := res.json["error_codes"].([]any); len(codes) != 1 || fmt.Sprint(int(codes[0].(float64))) != n {
				t.Errorf("error_codes = %v", res.json["error_codes"])
			}
			if res.json["error_uri"] != "https://login.microsoftonline.com/error?code="+n {
				t.Errorf("error_uri = %v", res.json["error_uri"])
			}
			if got, _ := res.json["suberror"].(string); got != tc.suberror {
				t.Errorf("suberror = %q, want %q", got, tc.suberror)
			}
			for _, k := range []string{"timestamp", "trace_id", "correlation_id"} {
				if v, _ := res.json[k].(string); v == "" || !strings.Contains(desc, v) {
					t.Errorf("%s = %q, not in the description", k, v)
				}
			}
		})
	}
	// Other tenants are unaffected, and clearing the error lets tokens
	// through again.
	if res := tokenForm(t, s, fakegraph.ContosoDomain, clientCredentials()); res.status != http.StatusOK {
		t.Errorf("contoso token refused: %d %s", res.status, res.raw)
	}
	before := s.TokensIssuedFor(fakegraph.FabrikamDomain)
	s.SetTokenError(fakegraph.FabrikamDomain, "")
	if res := tokenForm(t, s, fakegraph.FabrikamDomain, clientCredentials()); res.status != http.StatusOK {
		t.Errorf("token after clearing: %d %s", res.status, res.raw)
	}
	if before != 0 || s.TokensIssuedFor(fakegraph.FabrikamDomain) != 1 {
		t.Errorf("TokensIssuedFor before/after = %d/%d", before, s.TokensIssuedFor(fakegraph.FabrikamDomain))
	}
}

func TestTokenErrorKeepsIssuedTokens(t *testing.T) {
	t.Parallel()
	g := newGraph(t, fakegraph.Options{})
	g.s.SetTokenError(fakegraph.ContosoTenantID, "65001")
	if res := tokenForm(t, g.s, fakegraph.ContosoTenantID, clientCredentials()); res.status != http.StatusBadRequest {
		t.Errorf("token issued despite 65001: %d", res.status)
	}
	if res := g.do(http.MethodGet, "/v1.0/users/AdeleV@contoso.com", nil); res.status != http.StatusOK {
		t.Errorf("earlier token stopped working: %d", res.status)
	}
	// A wrong secret is still reported as such.
	f := clientCredentials()
	f.Set("client_secret", "bad")
	if res := tokenForm(t, g.s, fakegraph.ContosoTenantID, f); res.status != http.StatusUnauthorized {
		t.Errorf("wrong secret: %d %s", res.status, res.raw)
	}
}

func TestTokenErrorSeed(t *testing.T) {
	t.Parallel()
	s := start(t, fakegraph.Options{})
	seed := fakegraph.FabrikamSeed()
	seed.TokenError = "AADSTS7000229"
	if err := s.AddTenant(seed); err != nil {
		t.Fatal(err)
	}
	res := tokenForm(t, s, fakegraph.FabrikamTenantID, clientCredentials())
	if res.status != http.StatusUnauthorized || res.json["error"] != "invalid_client" {
		t.Errorf("seeded token error: %d %s", res.status, res.raw)
	}
	bad := fakegraph.PartnerSeed()
	bad.TokenError = "12345"
	if err := s.AddTenant(bad); err == nil || !strings.Contains(err.Error(), "12345") {
		t.Errorf("unsupported code accepted: %v", err)
	}
	for _, tc := range []struct{ tenant, code string }{{fakegraph.ContosoDomain, "nonsense"}, {"nowhere.example", "65001"}} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("SetTokenError(%q, %q) did not panic", tc.tenant, tc.code)
				}
			}()
			s.SetTokenError(tc.tenant, tc.code)
		}()
	}
}
