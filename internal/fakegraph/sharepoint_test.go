package fakegraph_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cippbot/cippbot/internal/fakegraph"
)

// contosoAdminScope is the scope of tokens for contoso's SharePoint
// admin endpoint.
const contosoAdminScope = "https://contoso-admin.sharepoint.com/.default"

// csomResponse is a decoded ProcessQuery answer.
type csomResponse struct {
	status int
	header http.Header
	raw    []byte
	items  []any
}

// errorInfo returns the ErrorInfo of the header element, nil on success.
func (r csomResponse) errorInfo(t *testing.T) map[string]any {
	t.Helper()
	if len(r.items) == 0 {
		t.Fatalf("empty CSOM answer: %s", r.raw)
	}
	head, ok := r.items[0].(map[string]any)
	if !ok || head["SchemaVersion"] != "15.0.0.0" || head["TraceCorrelationId"] == nil {
		t.Fatalf("bad CSOM header: %s", r.raw)
	}
	info, _ := head["ErrorInfo"].(map[string]any)
	return info
}

// result returns the value the answer carries for action id.
func (r csomResponse) result(t *testing.T, id int) map[string]any {
	t.Helper()
	for i := 1; i+1 < len(r.items); i += 2 {
		if n, ok := r.items[i].(float64); ok && int(n) == id {
			v, _ := r.items[i+1].(map[string]any)
			return v
		}
	}
	t.Fatalf("no result for action %d in %s", id, r.raw)
	return nil
}

// processQuery posts a CSOM request with a bearer token ("" for none).
func processQuery(t *testing.T, s *fakegraph.Server, tok, body string) csomResponse {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, s.URL()+"/_vti_bin/client.svc/ProcessQuery", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "text/xml")
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	res, err := s.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	out := csomResponse{status: res.StatusCode, header: res.Header, raw: raw}
	if strings.HasPrefix(strings.TrimSpace(string(raw)), "[") {
		if err := json.Unmarshal(raw, &out.items); err != nil {
			t.Fatalf("CSOM answer is not JSON: %v\n%s", err, raw)
		}
	}
	return out
}

// personalSitesXML is the request the reference sends: a Method action
// on the Tenant object.
func personalSitesXML(emails ...string) string {
	var objs strings.Builder
	for _, e := range emails {
		fmt.Fprintf(&objs, `<Object Type="String">%s</Object>`, e)
	}
	return `<Request AddExpandoFieldTypeSuffix="true" SchemaVersion="15.0.0.0" LibraryVersion="16.0.0.0" ApplicationName="cippbot" xmlns="http://schemas.microsoft.com/sharepoint/clientquery/2009"><Actions><ObjectPath Id="4" ObjectPathId="3" /><Query Id="5" ObjectPathId="3"><Query SelectAllProperties="true"><Properties /></Query></Query><Method Name="RequestPersonalSites" Id="6" ObjectPathId="3"><Parameters><Parameter Type="Array">` +
		objs.String() + `</Parameter></Parameters></Method></Actions><ObjectPaths><Constructor Id="3" TypeId="{268004ae-ef6b-4e9b-8425-127220d84719}" /></ObjectPaths></Request>`
}

// spAdmin starts a server whose contoso tenant has consented
// Sites.FullControl.All and returns it with an admin token.
func spAdmin(t *testing.T) (*fakegraph.Server, string) {
	t.Helper()
	s := start(t, fakegraph.Options{})
	s.SetPermissions(fakegraph.ContosoTenantID, append(noSharePoint(), "Sites.FullControl.All"))
	return s, s.SPTestGrant(fakegraph.ContosoTenantID, contosoAdminScope, time.Hour)
}

// adminGrant returns a delegated token of contoso's Global Administrator
// (licensed for SharePoint) for the SharePoint admin endpoint.
func adminGrant(s *fakegraph.Server) string {
	return s.SPTestDelegatedGrant(fakegraph.ContosoTenantID, fakegraph.ContosoAdminID, contosoAdminScope, time.Hour)
}

// tenantQueryXML queries the Tenant object and calls nothing.
func tenantQueryXML() string {
	return `<Request AddExpandoFieldTypeSuffix="true" SchemaVersion="15.0.0.0" LibraryVersion="16.0.0.0" ApplicationName="cippbot" xmlns="http://schemas.microsoft.com/sharepoint/clientquery/2009"><Actions><ObjectPath Id="4" ObjectPathId="3" /><Query Id="5" ObjectPathId="3"><Query SelectAllProperties="true"><Properties /></Query></Query></Actions><ObjectPaths><Constructor Id="3" TypeId="{268004ae-ef6b-4e9b-8425-127220d84719}" /></ObjectPaths></Request>`
}

// wantUnauthorizedOperation checks SharePoint's refusal of an operation
// the caller may not perform.
func wantUnauthorizedOperation(t *testing.T, r csomResponse) {
	t.Helper()
	info := r.errorInfo(t)
	if r.status != http.StatusOK || info == nil || info["ErrorTypeName"] != "System.UnauthorizedAccessException" ||
		info["ErrorMessage"] != "Attempted to perform an unauthorized operation." || info["ErrorCode"] != float64(-2147024891) || len(r.items) != 1 {
		t.Errorf("want UnauthorizedAccessException: %d %s", r.status, r.raw)
	}
}

// TestCSOMRequestPersonalSitesAppOnly: RequestPersonalSites needs an
// actor with the SharePoint Administrator role and a SharePoint licence
// (Request-SPOPersonalSite); an app-only token, even with
// Sites.FullControl.All, is refused, as CIPP found (CyberDrain/CIPP#592).
func TestCSOMRequestPersonalSitesAppOnly(t *testing.T) {
	t.Parallel()
	s, tok := spAdmin(t)
	wantUnauthorizedOperation(t, processQuery(t, s, tok, personalSitesXML("IsaiahL@contoso.com")))
	if s.OneDrive(fakegraph.ContosoTenantID, fakegraph.ContosoIsaiahID) || s.PersonalSiteRequests(fakegraph.ContosoTenantID) != nil {
		t.Error("app-only RequestPersonalSites ran")
	}
	// The rest of the admin endpoint still answers the app.
	if r := processQuery(t, s, tok, tenantQueryXML()); r.status != http.StatusOK || r.errorInfo(t) != nil {
		t.Errorf("tenant query: %d %s", r.status, r.raw)
	}
	// A signed-in admin must be a SharePoint (or Global) Administrator...
	notAdmin := s.SPTestDelegatedGrant(fakegraph.ContosoTenantID, fakegraph.ContosoAdeleID, contosoAdminScope, time.Hour)
	if r := processQuery(t, s, notAdmin, personalSitesXML("IsaiahL@contoso.com")); r.status != http.StatusForbidden ||
		r.errorInfo(t)["ErrorTypeName"] != "System.UnauthorizedAccessException" {
		t.Errorf("non-admin: %d %s", r.status, r.raw)
	}
	// ...and hold a SharePoint licence.
	if err := s.AssignRole(fakegraph.ContosoTenantID, fakegraph.ContosoJoniID, "SharePoint Administrator"); err != nil {
		t.Fatal(err)
	}
	unlicensed := s.SPTestDelegatedGrant(fakegraph.ContosoTenantID, fakegraph.ContosoJoniID, contosoAdminScope, time.Hour)
	wantUnauthorizedOperation(t, processQuery(t, s, unlicensed, personalSitesXML("IsaiahL@contoso.com")))
	if s.OneDrive(fakegraph.ContosoTenantID, fakegraph.ContosoIsaiahID) {
		t.Error("provisioned for an unlicensed admin")
	}
}

func TestCSOMRequestPersonalSites(t *testing.T) {
	t.Parallel()
	s, _ := spAdmin(t)
	tok := adminGrant(s)
	r := processQuery(t, s, tok, personalSitesXML("IsaiahL@contoso.com", "JoniS@contoso.com", "ghost@contoso.com"))
	if r.status != http.StatusOK || !strings.HasPrefix(r.header.Get("Content-Type"), "application/json") {
		t.Fatalf("status %d %s: %s", r.status, r.header.Get("Content-Type"), r.raw)
	}
	if info := r.errorInfo(t); info != nil {
		t.Fatalf("ErrorInfo = %v", info)
	}
	if r.result(t, 4)["IsNull"] != false {
		t.Errorf("object path result: %s", r.raw)
	}
	if ten := r.result(t, 5); ten["_ObjectType_"] != "Microsoft.Online.SharePoint.TenantAdministration.Tenant" || ten["RootSiteUrl"] != "https://contoso.sharepoint.com" {
		t.Errorf("tenant query: %s", r.raw)
	}
	if op := r.result(t, 6); op["IsComplete"] != true || op["_ObjectType_"] != "Microsoft.Online.SharePoint.TenantAdministration.SpoOperation" {
		t.Errorf("operation: %s", r.raw)
	}
	if r.header.Get("SPRequestGuid") == "" {
		t.Error("no SPRequestGuid")
	}
	// Isaiah is licensed: provisioned at once. Joni is unlicensed and
	// ghost is nobody: accepted, nothing happens.
	if !s.OneDrive(fakegraph.ContosoTenantID, fakegraph.ContosoIsaiahID) {
		t.Error("Isaiah not provisioned")
	}
	if s.OneDrive(fakegraph.ContosoTenantID, fakegraph.ContosoJoniID) {
		t.Error("unlicensed Joni provisioned")
	}
	want := []string{"IsaiahL@contoso.com", "JoniS@contoso.com", "ghost@contoso.com"}
	if got := s.PersonalSiteRequests(fakegraph.ContosoDomain); !slices.Equal(got, want) {
		t.Errorf("PersonalSiteRequests = %v", got)
	}
	// The drive is visible through Graph afterwards.
	g := &graph{t: t, s: s, tok: token(t, s)}
	s.SetPermissions(fakegraph.ContosoTenantID, append(noSharePoint(), "Sites.FullControl.All", "Files.Read.All"))
	if d := g.do(http.MethodGet, "/v1.0/users/"+fakegraph.ContosoIsaiahID+"/drive", nil); d.status != http.StatusOK ||
		d.json["webUrl"] != "https://contoso-my.sharepoint.com/personal/isaiahl_contoso_com/Documents" {
		t.Errorf("drive after provisioning: %d %s", d.status, d.raw)
	}
	// The request is in the log.
	i := slices.IndexFunc(s.Requests(), func(r fakegraph.Request) bool { return r.Path == "/_vti_bin/client.svc/ProcessQuery" })
	if i < 0 {
		t.Fatal("ProcessQuery not logged")
	}
	if logged := s.Requests()[i]; logged.Status != http.StatusOK || !strings.Contains(string(logged.Body), "RequestPersonalSites") {
		t.Errorf("logged %d %s", logged.Status, logged.Body)
	}
}

func TestCSOMMethodObjectPath(t *testing.T) {
	t.Parallel()
	// CIPP's current form: the method as an object path, then queried.
	s, _ := spAdmin(t)
	tok := adminGrant(s)
	body := `<?xml version="1.0" encoding="utf-8"?>
<Request xmlns="http://schemas.microsoft.com/sharepoint/clientquery/2009" AddExpandoFieldTypeSuffix="true" SchemaVersion="15.0.0.0" LibraryVersion="16.0.0.0" ApplicationName=".NET Library">
  <Actions>
    <ObjectPath Id="4" ObjectPathId="3" />
    <ObjectPath Id="6" ObjectPathId="5" />
    <Query Id="7" ObjectPathId="5"><Query SelectAllProperties="false"><Properties><Property Name="IsComplete" ScalarProperty="true" /></Properties></Query></Query>
  </Actions>
  <ObjectPaths>
    <Constructor Id="3" TypeId="{268004AE-EF6B-4E9B-8425-127220D84719}" />
    <Method Id="5" ParentId="3" Name="RequestPersonalSites">
      <Parameters><Parameter Type="Array"><Object Type="String">isaiahl@CONTOSO.com</Object></Parameter></Parameters>
    </Method>
  </ObjectPaths>
</Request>`
	r := processQuery(t, s, tok, body)
	if info := r.errorInfo(t); info != nil {
		t.Fatalf("ErrorInfo = %v", info)
	}
	op := r.result(t, 7)
	if op["IsComplete"] != true || op["PollingInterval"] != nil {
		t.Errorf("query: %s", r.raw)
	}
	if r.result(t, 6)["IsNull"] != false {
		t.Errorf("object path: %s", r.raw)
	}
	if !s.OneDrive(fakegraph.ContosoTenantID, fakegraph.ContosoIsaiahID) {
		t.Error("not provisioned")
	}
	if got := s.PersonalSiteRequests(fakegraph.ContosoTenantID); len(got) != 1 {
		t.Errorf("method ran %d times", len(got))
	}
}

func TestCSOMErrors(t *testing.T) {
	t.Parallel()
	s, _ := spAdmin(t)
	tok := adminGrant(s)
	many := make([]string, 201)
	for i := range many {
		many[i] = fmt.Sprintf("user%d@contoso.com", i)
	}
	for _, c := range []struct {
		name, body, typeName, msg string
	}{
		{"empty array", personalSitesXML(), "System.ArgumentException", "empty"},
		{"too many", personalSitesXML(many...), "System.ArgumentException", "200"},
		{"blank address", personalSitesXML(" "), "System.ArgumentException", "expected range"},
		{"unknown method", strings.Replace(personalSitesXML("a@contoso.com"), `Name="RequestPersonalSites"`, `Name="RemoveEverything"`, 1),
			"Microsoft.SharePoint.Client.InvalidClientQueryException", "RemoveEverything"},
		{"no constructor", strings.Replace(personalSitesXML("a@contoso.com"), `<Constructor Id="3" TypeId="{268004ae-ef6b-4e9b-8425-127220d84719}" />`, "", 1),
			"Microsoft.SharePoint.Client.InvalidClientQueryException", "'3'"},
		{"unknown type", strings.Replace(personalSitesXML("a@contoso.com"), "268004ae", "11111111", 1),
			"Microsoft.SharePoint.Client.InvalidClientQueryException", "Cannot find stub"},
		{"not XML", "hello", "Microsoft.SharePoint.Client.InvalidClientQueryException", "XML"},
		{"wrong namespace", strings.Replace(personalSitesXML("a@contoso.com"), "clientquery/2009", "clientquery/1999", 1),
			"Microsoft.SharePoint.Client.InvalidClientQueryException", "namespace"},
		{"wrong parameter", strings.Replace(personalSitesXML("a@contoso.com"), `Type="Array"`, `Type="String"`, 1),
			"System.ArgumentException", "expected range"},
	} {
		r := processQuery(t, s, tok, c.body)
		if r.status != http.StatusOK {
			t.Errorf("%s: status %d: %s", c.name, r.status, r.raw)
			continue
		}
		info := r.errorInfo(t)
		if info == nil || info["ErrorTypeName"] != c.typeName || !strings.Contains(info["ErrorMessage"].(string), c.msg) ||
			info["ErrorCode"] == nil || len(r.items) != 1 {
			t.Errorf("%s: %s", c.name, r.raw)
		}
	}
	if got := s.PersonalSiteRequests(fakegraph.ContosoTenantID); got != nil {
		t.Errorf("failed requests recorded: %v", got)
	}
	if s.OneDrive(fakegraph.ContosoTenantID, fakegraph.ContosoIsaiahID) {
		t.Error("provisioned by a failed request")
	}
}

func TestCSOMAuth(t *testing.T) {
	t.Parallel()
	s, _ := spAdmin(t)
	body := personalSitesXML("IsaiahL@contoso.com")
	check := func(name, tok, reason string) {
		t.Helper()
		r := processQuery(t, s, tok, body)
		if r.status != http.StatusUnauthorized {
			t.Errorf("%s: status %d: %s", name, r.status, r.raw)
			return
		}
		if d := r.header.Get("x-ms-diagnostics"); !strings.Contains(d, reason) {
			t.Errorf("%s: x-ms-diagnostics = %q, want %q", name, d, reason)
		}
		if !strings.HasPrefix(r.header.Get("WWW-Authenticate"), "Bearer realm=") || !strings.Contains(string(r.raw), reason) {
			t.Errorf("%s: %v %s", name, r.header, r.raw)
		}
	}
	check("no token", "", "Token is missing")
	check("unknown token", "not-a-token", "invalid signature")
	check("graph token", token(t, s), "Invalid audience Uri 'https://graph.microsoft.com'.")
	check("expired", s.SPTestGrant(fakegraph.ContosoTenantID, contosoAdminScope, -time.Minute), "expired")
	check("root site audience", s.SPTestGrant(fakegraph.ContosoTenantID, "https://contoso.sharepoint.com/.default", time.Hour), "Invalid audience Uri 'https://contoso.sharepoint.com'.")
	if err := s.AddTenant(fakegraph.FabrikamSeed()); err != nil {
		t.Fatal(err)
	}
	check("other tenant's host", s.SPTestGrant(fakegraph.FabrikamTenantID, contosoAdminScope, time.Hour), "Invalid audience Uri")
	if s.OneDrive(fakegraph.ContosoTenantID, fakegraph.ContosoIsaiahID) {
		t.Error("provisioned without a valid token")
	}

	// An admin token is no good for Graph.
	g := &graph{t: t, s: s, tok: s.SPTestGrant(fakegraph.ContosoTenantID, contosoAdminScope, time.Hour)}
	wantError(t, g.do(http.MethodGet, "/v1.0/sites/root", nil), http.StatusUnauthorized, "InvalidAuthenticationToken", "audience")

	// Wrong path and method.
	req, _ := http.NewRequest(http.MethodGet, s.URL()+"/_vti_bin/client.svc/ProcessQuery", nil)
	req.Header.Set("Authorization", "Bearer "+s.SPTestGrant(fakegraph.ContosoTenantID, contosoAdminScope, time.Hour))
	res, err := s.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET: %d", res.StatusCode)
	}
	s.ExpectUnhandled(http.MethodPost, "/_vti_bin/lists.asmx")
	res, err = s.Client().Post(s.URL()+"/_vti_bin/lists.asmx", "text/xml", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusNotFound {
		t.Errorf("other path: %d", res.StatusCode)
	}
}

func TestCSOMPermission(t *testing.T) {
	t.Parallel()
	s, tok := spAdmin(t)
	s.SetPermissions(fakegraph.ContosoTenantID, append(noSharePoint(), "Sites.ReadWrite.All"))
	r := processQuery(t, s, tok, personalSitesXML("IsaiahL@contoso.com"))
	if r.status != http.StatusForbidden {
		t.Fatalf("status %d: %s", r.status, r.raw)
	}
	if info := r.errorInfo(t); info == nil || info["ErrorTypeName"] != "System.UnauthorizedAccessException" || info["ErrorCode"] != float64(-2147024891) {
		t.Errorf("ErrorInfo: %s", r.raw)
	}
	if s.OneDrive(fakegraph.ContosoTenantID, fakegraph.ContosoIsaiahID) || s.PersonalSiteRequests(fakegraph.ContosoTenantID) != nil {
		t.Error("ran without permission")
	}
	// Permission names compare case-insensitively.
	s.SetPermissions(fakegraph.ContosoTenantID, []string{"sites.fullcontrol.all"})
	if r := processQuery(t, s, tok, tenantQueryXML()); r.status != http.StatusOK || r.errorInfo(t) != nil {
		t.Errorf("lowercase permission: %d %s", r.status, r.raw)
	}
}

func TestCSOMFault(t *testing.T) {
	t.Parallel()
	s, tok := spAdmin(t)
	s.Inject(fakegraph.Fault{PathContains: "/_vti_bin/", Status: http.StatusTooManyRequests, RetryAfter: "7"})
	r := processQuery(t, s, tok, personalSitesXML("IsaiahL@contoso.com"))
	if r.status != http.StatusTooManyRequests || r.header.Get("Retry-After") != "7" || r.errorInfo(t) == nil {
		t.Errorf("fault: %d %v %s", r.status, r.header, r.raw)
	}
	if r := processQuery(t, s, tok, personalSitesXML("IsaiahL@contoso.com")); r.status != http.StatusOK {
		t.Errorf("after fault: %d", r.status)
	}
}

func TestCSOMTokenEndpoint(t *testing.T) {
	t.Parallel()
	// Once the token endpoint issues SharePoint admin tokens, they work
	// here unchanged, as app-only tokens: RequestPersonalSites refuses
	// them.
	s := start(t, fakegraph.Options{})
	s.SetPermissions(fakegraph.ContosoTenantID, append(noSharePoint(), "Sites.FullControl.All"))
	form := clientCredentials()
	form.Set("scope", contosoAdminScope)
	res := tokenForm(t, s, fakegraph.ContosoTenantID, url.Values(form))
	if res.status != http.StatusOK {
		t.Skipf("token endpoint does not issue SharePoint tokens yet: %d %s", res.status, res.raw)
	}
	tok, _ := res.json["access_token"].(string)
	if r := processQuery(t, s, tok, tenantQueryXML()); r.status != http.StatusOK || r.errorInfo(t) != nil {
		t.Errorf("with an issued token: %d %s", r.status, r.raw)
	}
	wantUnauthorizedOperation(t, processQuery(t, s, tok, personalSitesXML("IsaiahL@contoso.com")))
}
