package fakegraph_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/cippbot/cippbot/internal/fakegraph"
)

// mfaSP returns the object id of contoso's MFA service principal.
func (g *graph) mfaSP() string {
	g.t.Helper()
	items := values(g.t, g.do(http.MethodGet, "/v1.0/servicePrincipals?$filter="+url.QueryEscape("appId eq '"+fakegraph.MFAAppID+"'")+"&$select=id", nil))
	if len(items) != 1 {
		g.t.Fatalf("MFA service principals: %v", items)
	}
	return items[0]["id"].(string)
}

func TestServicePrincipals(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	g := newGraph(t, fakegraph.Options{Now: (&fixedClock{t: now}).Now})
	all := values(t, g.do(http.MethodGet, "/v1.0/servicePrincipals", nil))
	want := map[string]string{fakegraph.MFAAppID: "Azure Multi-Factor Auth Client", fakegraph.ExchangeAppID: "Office 365 Exchange Online",
		fakegraph.GraphAppID: "Microsoft Graph", fakegraph.ContosoSuspiciousAppID: "Mail Backup Pro",
		fakegraph.DefaultClientID: "cippbot"} // the app's own, which its role assignments name
	if len(all) != len(want) {
		t.Fatalf("%d service principals: %v", len(all), all)
	}
	for _, sp := range all {
		if want[sp["appId"].(string)] != sp["displayName"] {
			t.Errorf("unexpected %v %v", sp["appId"], sp["displayName"])
		}
		for _, k := range []string{"id", "servicePrincipalType", "accountEnabled", "appOwnerOrganizationId", "verifiedPublisher"} {
			if _, ok := sp[k]; !ok {
				t.Errorf("%v lacks %s", sp["displayName"], k)
			}
		}
		// v1.0's servicePrincipal has neither (beta's has).
		for _, k := range []string{"createdDateTime", "publisherName"} {
			if _, ok := sp[k]; ok {
				t.Errorf("%v has %s", sp["displayName"], k)
			}
		}
		if sp["servicePrincipalType"] != "Application" || sp["accountEnabled"] != true {
			t.Errorf("%v: %v %v", sp["displayName"], sp["servicePrincipalType"], sp["accountEnabled"])
		}
		if sp["appId"] != fakegraph.ContosoSuspiciousAppID && sp["appId"] != fakegraph.DefaultClientID {
			if sp["appOwnerOrganizationId"] != fakegraph.MicrosoftTenantID {
				t.Errorf("first-party app %v: %v", sp["displayName"], sp["appOwnerOrganizationId"])
			}
		}
	}

	id := g.mfaSP()
	one := g.do(http.MethodGet, "/v1.0/servicePrincipals/"+id+"?$select=appId,displayName,appOwnerOrganizationId", nil)
	if one.json["appId"] != fakegraph.MFAAppID || one.json["@odata.context"] != "https://graph.microsoft.com/v1.0/$metadata#servicePrincipals(appId,displayName,appOwnerOrganizationId)/$entity" ||
		one.json["servicePrincipalType"] != nil {
		t.Errorf("GET one: %s", one.raw)
	}
	wantError(t, g.do(http.MethodGet, "/v1.0/servicePrincipals/00000000-0000-0000-0000-000000000000", nil), http.StatusNotFound,
		"Request_ResourceNotFound", "does not exist")
	page := g.do(http.MethodGet, "/v1.0/servicePrincipals?$top=3&$orderby=displayName", nil)
	if items := values(t, page); len(items) != 3 || items[0]["displayName"] != "Azure Multi-Factor Auth Client" || page.json["@odata.nextLink"] == nil {
		t.Errorf("page: %s", page.raw)
	}
	// When an app was added is in the directory audit log (audits_test.go),
	// not on the service principal.
	wantError(t, g.do(http.MethodGet, "/v1.0/servicePrincipals?$filter="+url.QueryEscape("createdDateTime ge "+now.Add(-72*time.Hour).Format(time.RFC3339)), nil),
		http.StatusBadRequest, "BadRequest", "Could not find a property named 'createdDateTime' on type 'microsoft.graph.servicePrincipal'.")
	if sps := g.s.ServicePrincipals(fakegraph.ContosoTenantID); len(sps) != 5 || sps[3].CreatedDateTime != now.Add(-51*time.Hour) {
		t.Errorf("ServicePrincipals = %+v", sps)
	}
	// Other tenants get the first-party apps by default, and the app's own.
	if len(mspServer(t, fakegraph.Options{}).ServicePrincipals(fakegraph.FabrikamTenantID)) != 4 {
		t.Error("fabrikam lacks the first-party apps")
	}
}

func TestServicePrincipalPasswords(t *testing.T) {
	t.Parallel()
	clock := &fixedClock{t: time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)}
	g := newGraph(t, fakegraph.Options{Now: clock.Now})
	id := g.mfaSP()
	res := g.do(http.MethodPost, "/v1.0/servicePrincipals/"+id+"/addPassword", map[string]any{"passwordCredential": map[string]any{
		"displayName": "cippbot MFA push", "startDateTime": "2026-11-30T11:55:00Z", "endDateTime": "2026-11-30T12:10:00Z"}})
	if res.status != http.StatusOK {
		t.Fatalf("addPassword: %d %s", res.status, res.raw)
	}
	secret, _ := res.json["secretText"].(string)
	keyID, _ := res.json["keyId"].(string)
	if len(secret) != 40 || res.json["hint"] != secret[:3] || len(keyID) != 36 || res.json["displayName"] != "cippbot MFA push" ||
		res.json["startDateTime"] != "2026-11-30T11:55:00Z" || res.json["endDateTime"] != "2026-11-30T12:10:00Z" {
		t.Errorf("credential = %s", res.raw)
	}
	if v, ok := res.json["customKeyIdentifier"]; !ok || v != nil {
		t.Errorf("customKeyIdentifier = %v", v)
	}
	if n := g.s.ServicePrincipalSecrets(fakegraph.ContosoTenantID, fakegraph.MFAAppID); n != 1 {
		t.Errorf("secrets = %d", n)
	}
	sp := g.do(http.MethodGet, "/v1.0/servicePrincipals/"+id+"?$select=passwordCredentials", nil)
	if creds := sp.json["passwordCredentials"].([]any); len(creds) != 1 || creds[0].(map[string]any)["secretText"] != nil ||
		creds[0].(map[string]any)["keyId"] != keyID {
		t.Errorf("GET passwordCredentials: %s", sp.raw)
	}
	if strings.Contains(string(sp.raw), secret) {
		t.Error("GET shows the secret")
	}
	// The secret expires by the clock.
	clock.Set(clock.Now().Add(11 * time.Minute))
	if n := g.s.ServicePrincipalSecrets(fakegraph.ContosoTenantID, fakegraph.MFAAppID); n != 0 {
		t.Errorf("expired secret counted: %d", n)
	}
	if r := g.do(http.MethodPost, "/v1.0/servicePrincipals/"+id+"/removePassword", map[string]any{"keyId": keyID}); r.status != http.StatusNoContent {
		t.Fatalf("removePassword: %d %s", r.status, r.raw)
	}
	wantError(t, g.do(http.MethodPost, "/v1.0/servicePrincipals/"+id+"/removePassword", map[string]any{"keyId": keyID}),
		http.StatusBadRequest, "Request_BadRequest", keyID)
	wantError(t, g.do(http.MethodPost, "/v1.0/servicePrincipals/"+id+"/removePassword", map[string]any{}),
		http.StatusBadRequest, "Request_BadRequest", "keyId")

	// Defaults: starts now, two years.
	def := g.do(http.MethodPost, "/v1.0/servicePrincipals/"+id+"/addPassword", map[string]any{"passwordCredential": map[string]any{}})
	if def.status != http.StatusOK || parseTime(t, def.json["endDateTime"]).Sub(parseTime(t, def.json["startDateTime"])) < 365*24*time.Hour {
		t.Errorf("default credential: %s", def.raw)
	}
	wantError(t, g.do(http.MethodPost, "/v1.0/servicePrincipals/"+id+"/addPassword", map[string]any{"passwordCredential": map[string]any{
		"startDateTime": "2026-12-01T00:00:00Z", "endDateTime": "2026-11-30T00:00:00Z"}}), http.StatusBadRequest, "Request_BadRequest", "endDateTime")
	wantError(t, g.do(http.MethodPost, "/v1.0/servicePrincipals/"+id+"/addPassword", map[string]any{"secret": "x"}),
		http.StatusBadRequest, "BadRequest", "The parameter 'secret' in the request payload is not a valid parameter for the operation 'addPassword'.")
	g.s.ExpectUnhandled(http.MethodGet, "/v1.0/servicePrincipals/"+id+"/addPassword")
	wantError(t, g.do(http.MethodGet, "/v1.0/servicePrincipals/"+id+"/addPassword", nil), http.StatusMethodNotAllowed, "Request_BadRequest", "not allowed")
}

func TestServicePrincipalPermissions(t *testing.T) {
	t.Parallel()
	g := newGraph(t, fakegraph.Options{})
	id := g.mfaSP()
	add := map[string]any{"passwordCredential": map[string]any{"displayName": "x"}}
	for _, p := range []string{"Application.Read.All", "Directory.Read.All", "Directory.ReadWrite.All"} {
		g.s.SetPermissions(fakegraph.ContosoTenantID, []string{p})
		if r := g.do(http.MethodGet, "/v1.0/servicePrincipals/"+id, nil); r.status != http.StatusOK {
			t.Errorf("read with %s: %d", p, r.status)
		}
		wantError(t, g.do(http.MethodPost, "/v1.0/servicePrincipals/"+id+"/addPassword", add), http.StatusForbidden,
			"Authorization_RequestDenied", "Insufficient privileges to complete the operation.")
	}
	g.s.SetPermissions(fakegraph.ContosoTenantID, []string{"User.ReadWrite.All"})
	wantError(t, g.do(http.MethodGet, "/v1.0/servicePrincipals", nil), http.StatusForbidden, "Authorization_RequestDenied", "Insufficient privileges")
	g.s.SetPermissions(fakegraph.ContosoTenantID, []string{"Application.ReadWrite.All"})
	res := g.do(http.MethodPost, "/v1.0/servicePrincipals/"+id+"/addPassword", add)
	if res.status != http.StatusOK {
		t.Fatalf("addPassword with Application.ReadWrite.All: %d %s", res.status, res.raw)
	}
	if r := g.do(http.MethodPost, "/v1.0/servicePrincipals/"+id+"/removePassword", map[string]any{"keyId": res.json["keyId"]}); r.status != http.StatusNoContent {
		t.Errorf("removePassword: %d %s", r.status, r.raw)
	}
}
