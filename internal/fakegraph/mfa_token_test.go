package fakegraph_test

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cippbot/cippbot/internal/fakegraph"
)

// v1Token posts a v1 token request for the contoso tenant.
func v1Token(t *testing.T, s *fakegraph.Server, form url.Values) response {
	t.Helper()
	hdr := http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}
	return send(t, s, http.MethodPost, "/"+fakegraph.ContosoTenantID+"/oauth2/token", hdr, strings.NewReader(form.Encode()))
}

// mfaForm is a v1 request of the MFA client with secret.
func mfaForm(secret string) url.Values {
	return url.Values{"grant_type": {"client_credentials"}, "client_id": {fakegraph.MFAAppID}, "client_secret": {secret},
		"resource": {fakegraph.MFAResource}, "scope": {"openid"}}
}

// addMFASecret adds a secret to contoso's MFA service principal and
// returns it and its key id.
func (g *graph) addMFASecret(start, end time.Time) (string, string) {
	g.t.Helper()
	res := g.do(http.MethodPost, "/v1.0/servicePrincipals/"+g.mfaSP()+"/addPassword", map[string]any{"passwordCredential": map[string]any{
		"displayName": "push", "startDateTime": start.Format(time.RFC3339), "endDateTime": end.Format(time.RFC3339)}})
	if res.status != http.StatusOK {
		g.t.Fatalf("addPassword: %d %s", res.status, res.raw)
	}
	return res.json["secretText"].(string), res.json["keyId"].(string)
}

// aadsts returns the first error code of a token error.
func aadsts(r response) float64 {
	codes, _ := r.json["error_codes"].([]any)
	if len(codes) == 0 {
		return 0
	}
	f, _ := codes[0].(float64)
	return f
}

func TestTokenV1(t *testing.T) {
	t.Parallel()
	clock := &fixedClock{t: time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)}
	g := newGraph(t, fakegraph.Options{Now: clock.Now})
	s := g.s
	app := url.Values{"grant_type": {"client_credentials"}, "client_id": {fakegraph.DefaultClientID},
		"client_secret": {fakegraph.DefaultClientSecret}, "resource": {"https://graph.microsoft.com"}}
	res := v1Token(t, s, app)
	if res.status != http.StatusOK {
		t.Fatalf("v1 graph token: %d %s", res.status, res.raw)
	}
	now := clock.Now().Unix()
	for k, want := range map[string]any{"token_type": "Bearer", "expires_in": "3599", "ext_expires_in": "3599",
		"expires_on": strconv.FormatInt(now+3599, 10), "not_before": strconv.FormatInt(now, 10), "resource": "https://graph.microsoft.com"} {
		if res.json[k] != want {
			t.Errorf("%s = %v, want %v", k, res.json[k], want)
		}
	}
	v1 := &graph{t: t, s: s, tok: res.json["access_token"].(string)}
	if r := v1.do(http.MethodGet, "/v1.0/users/AdeleV@contoso.com", nil); r.status != http.StatusOK {
		t.Errorf("v1 token on Graph: %d %s", r.status, r.raw)
	}
	if _, c := jwtParts(t, v1.tok); c["aud"] != "https://graph.microsoft.com" || !slices.Contains(roles(c), "User.ReadWrite.All") {
		t.Errorf("claims = %v", c)
	}
	app.Set("resource", "https://outlook.office365.com")
	if r := v1Token(t, s, app); r.status != http.StatusOK || r.json["resource"] != "https://outlook.office365.com" {
		t.Errorf("v1 exchange token: %d %s", r.status, r.raw)
	}
	app.Del("resource")
	if r := v1Token(t, s, app); r.status != http.StatusBadRequest || aadsts(r) != 900144 {
		t.Errorf("no resource: %d %s", r.status, r.raw)
	}
	app.Set("resource", fakegraph.MFAResource)
	if r := v1Token(t, s, app); r.status != http.StatusBadRequest || aadsts(r) != 500011 {
		t.Errorf("app for the MFA service: %d %s", r.status, r.raw)
	}
	app.Set("client_secret", "wrong")
	if r := v1Token(t, s, app); r.status != http.StatusUnauthorized || aadsts(r) != 7000215 {
		t.Errorf("wrong secret: %d %s", r.status, r.raw)
	}

	// The MFA client needs a live secret of the tenant's service
	// principal.
	if r := v1Token(t, s, mfaForm("no-such-secret")); r.status != http.StatusUnauthorized || aadsts(r) != 7000215 {
		t.Errorf("MFA client without a secret: %d %s", r.status, r.raw)
	}
	secret, keyID := g.addMFASecret(clock.Now().Add(-5*time.Minute), clock.Now().Add(10*time.Minute))
	res = v1Token(t, s, mfaForm(secret))
	if res.status != http.StatusOK || res.json["resource"] != fakegraph.MFAResource {
		t.Fatalf("MFA token: %d %s", res.status, res.raw)
	}
	if _, c := jwtParts(t, res.json["access_token"].(string)); c["aud"] != fakegraph.MFAResource || c["appid"] != fakegraph.MFAAppID || c["roles"] != nil {
		t.Errorf("MFA claims = %v", c)
	}
	mfa := &graph{t: t, s: s, tok: res.json["access_token"].(string)}
	wantError(t, mfa.do(http.MethodGet, "/v1.0/users", nil), http.StatusUnauthorized, "InvalidAuthenticationToken", "audience")
	form := mfaForm(secret)
	form.Set("resource", "https://graph.microsoft.com")
	if r := v1Token(t, s, form); r.status != http.StatusBadRequest || aadsts(r) != 500011 {
		t.Errorf("MFA client for Graph: %d %s", r.status, r.raw)
	}
	for _, r := range s.Requests() {
		if strings.Contains(string(r.Body), secret) || strings.Contains(string(r.Body), fakegraph.DefaultClientSecret) {
			t.Errorf("secret in the request log: %s %s", r.Path, r.Body)
		}
	}
	clock.Set(clock.Now().Add(11 * time.Minute))
	if r := v1Token(t, s, mfaForm(secret)); r.status != http.StatusUnauthorized || aadsts(r) != 7000222 {
		t.Errorf("expired secret: %d %s", r.status, r.raw)
	}
	g.tok = token(t, s)
	if r := g.do(http.MethodPost, "/v1.0/servicePrincipals/"+g.mfaSP()+"/removePassword", map[string]any{"keyId": keyID}); r.status != http.StatusNoContent {
		t.Fatalf("removePassword: %d", r.status)
	}
	if r := v1Token(t, s, mfaForm(secret)); r.status != http.StatusUnauthorized || aadsts(r) != 7000215 {
		t.Errorf("removed secret: %d %s", r.status, r.raw)
	}
	// A secret that has not started yet.
	later, _ := g.addMFASecret(clock.Now().Add(time.Hour), clock.Now().Add(2*time.Hour))
	if r := v1Token(t, s, mfaForm(later)); r.status != http.StatusUnauthorized || aadsts(r) != 7000215 {
		t.Errorf("future secret: %d %s", r.status, r.raw)
	}
	// Another grant type; a tenant without the MFA app.
	if r := send(t, s, http.MethodPost, "/"+fakegraph.ContosoTenantID+"/oauth2/token", http.Header{"Content-Type": {"application/x-www-form-urlencoded"}},
		strings.NewReader(url.Values{"grant_type": {"password"}}.Encode())); r.status != http.StatusBadRequest || aadsts(r) != 70003 {
		t.Errorf("password grant: %d %s", r.status, r.raw)
	}
	const bare = "33333333-4444-4555-8666-777777777777"
	if err := s.AddTenant(fakegraph.TenantSeed{ID: bare, Domains: []string{"bare.example"}, ServicePrincipals: []fakegraph.ServicePrincipal{}}); err != nil {
		t.Fatal(err)
	}
	if r := send(t, s, http.MethodPost, "/bare.example/oauth2/token", http.Header{"Content-Type": {"application/x-www-form-urlencoded"}},
		strings.NewReader(mfaForm(secret).Encode())); r.status != http.StatusBadRequest || aadsts(r) != 700016 {
		t.Errorf("tenant without the MFA app: %d %s", r.status, r.raw)
	}
}

func TestTokenSharePointAdmin(t *testing.T) {
	t.Parallel()
	s := start(t, fakegraph.Options{})
	form := clientCredentials()
	form.Set("scope", "https://contoso-admin.sharepoint.com/.default")
	res := tokenForm(t, s, fakegraph.ContosoTenantID, form)
	if res.status != http.StatusOK {
		t.Fatalf("SharePoint token: %d %s", res.status, res.raw)
	}
	_, c := jwtParts(t, res.json["access_token"].(string))
	if c["aud"] != "https://contoso-admin.sharepoint.com" || !slices.Equal(roles(c), []string{fakegraph.PermSitesFullControlAll}) {
		t.Errorf("claims = %v", c)
	}
	sp := &graph{t: t, s: s, tok: res.json["access_token"].(string)}
	wantError(t, sp.do(http.MethodGet, "/v1.0/users", nil), http.StatusUnauthorized, "InvalidAuthenticationToken", "audience")
	form.Set("scope", "https://CONTOSO-ADMIN.sharepoint.com/.default")
	if r := tokenForm(t, s, fakegraph.ContosoDomain, form); r.status != http.StatusOK {
		t.Errorf("upper case host: %d %s", r.status, r.raw)
	}
	// A Graph token carries no SharePoint role.
	if _, c := jwtParts(t, token(t, s)); slices.Contains(roles(c), fakegraph.PermSitesFullControlAll) {
		t.Errorf("Graph roles = %v", roles(c))
	}
	for _, scope := range []string{"https://contoso.sharepoint.com/.default", "https://fabrikam-admin.sharepoint.com/.default",
		"https://contoso-admin.sharepoint.com/sites/x/.default", "https://evil.example/.default"} {
		form.Set("scope", scope)
		if r := tokenForm(t, s, fakegraph.ContosoTenantID, form); r.status != http.StatusBadRequest || aadsts(r) != 500011 {
			t.Errorf("%s: %d %s", scope, r.status, r.raw)
		}
	}
	// Without the permission the token carries no roles.
	s.SetPermissions(fakegraph.ContosoTenantID, []string{"User.Read.All"})
	form.Set("scope", "https://contoso-admin.sharepoint.com/.default")
	if _, c := jwtParts(t, tokenForm(t, s, fakegraph.ContosoTenantID, form).json["access_token"].(string)); c["roles"] != nil {
		t.Errorf("roles = %v", c["roles"])
	}
}
