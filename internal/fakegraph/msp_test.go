package fakegraph_test

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cippbot/cippbot/internal/fakegraph"
)

// mspServer starts a server holding contoso, fabrikam and the partner.
func mspServer(t *testing.T, opts fakegraph.Options) *fakegraph.Server {
	t.Helper()
	s := start(t, opts)
	for _, seed := range []fakegraph.TenantSeed{fakegraph.FabrikamSeed(), fakegraph.PartnerSeed()} {
		if err := s.AddTenant(seed); err != nil {
			t.Fatalf("AddTenant %s: %v", seed.DisplayName, err)
		}
	}
	return s
}

// tenantGraph returns a client holding a token for the given tenant.
func tenantGraph(t *testing.T, s *fakegraph.Server, tenant string) *graph {
	t.Helper()
	res := tokenForm(t, s, tenant, clientCredentials())
	if res.status != http.StatusOK {
		t.Fatalf("token for %s: %d %s", tenant, res.status, res.raw)
	}
	return &graph{t: t, s: s, tok: res.json["access_token"].(string)}
}

// relativePath strips the server's base URL from a next link.
func relativePath(t *testing.T, s *fakegraph.Server, link string) string {
	t.Helper()
	rest, ok := strings.CutPrefix(link, s.URL())
	if !ok {
		t.Fatalf("next link %q does not point at %s", link, s.URL())
	}
	return rest
}

// collectPages follows @odata.nextLink and returns every item and the
// number of pages.
func collectPages(t *testing.T, g *graph, path string) ([]map[string]any, int) {
	t.Helper()
	var all []map[string]any
	pages := 0
	for path != "" {
		res := g.do(http.MethodGet, path, nil)
		all = append(all, values(t, res)...)
		pages++
		if pages > 10 {
			t.Fatal("paging does not end")
		}
		next, _ := res.json["@odata.nextLink"].(string)
		path = ""
		if next != "" {
			path = relativePath(t, g.s, next)
		}
	}
	return all, pages
}

func TestNewSeedsOnlyContoso(t *testing.T) {
	t.Parallel()
	s := start(t, fakegraph.Options{})
	for _, tenant := range []string{fakegraph.PartnerTenantID, fakegraph.FabrikamDomain} {
		res := tokenForm(t, s, tenant, clientCredentials())
		if res.status != http.StatusBadRequest || res.json["error"] != "invalid_tenant" {
			t.Errorf("%s exists on a plain server: %d %s", tenant, res.status, res.raw)
		}
	}
}

func TestDelegatedAdminRelationships(t *testing.T) {
	t.Parallel()
	s := mspServer(t, fakegraph.Options{})
	g := tenantGraph(t, s, fakegraph.PartnerDomain)
	const path = "/v1.0/tenantRelationships/delegatedAdminRelationships"

	res := g.do(http.MethodGet, path+"?$filter="+url.QueryEscape("status eq 'active'"), nil)
	if ctx := res.json["@odata.context"]; ctx != "https://graph.microsoft.com/v1.0/$metadata#tenantRelationships/delegatedAdminRelationships" {
		t.Errorf("@odata.context = %v", ctx)
	}
	first := values(t, res)
	if len(first) != 2 {
		t.Fatalf("active page = %d items: %s", len(first), res.raw)
	}
	if _, ok := res.json["@odata.nextLink"]; ok {
		t.Errorf("two active relationships fit one page but got a next link: %s", res.raw)
	}
	byCustomer := map[string]map[string]any{}
	for _, r := range first {
		c := r["customer"].(map[string]any)
		byCustomer[c["tenantId"].(string)] = r
		if r["status"] != "active" {
			t.Errorf("filtered relationship status = %v", r["status"])
		}
	}
	con := byCustomer[fakegraph.ContosoTenantID]
	fab := byCustomer[fakegraph.FabrikamTenantID]
	if con == nil || fab == nil {
		t.Fatalf("active customers = %v", byCustomer)
	}
	if con["id"] != fakegraph.PartnerContosoRelationshipID || con["displayName"] == "" ||
		con["customer"].(map[string]any)["displayName"] != "Contoso" || fab["customer"].(map[string]any)["displayName"] != "Fabrikam" {
		t.Errorf("relationships = %v / %v", con, fab)
	}
	if con["duration"] != "P730D" || con["autoExtendDuration"] != "PT0S" || con["createdDateTime"] != "2025-06-02T15:04:11Z" ||
		con["activatedDateTime"] != "2025-06-02T15:09:47Z" || con["endDateTime"] != "2027-06-02T15:04:11Z" {
		t.Errorf("contoso relationship = %v", con)
	}
	if roles := con["accessDetails"].(map[string]any)["unifiedRoles"].([]any); len(roles) != 5 {
		t.Errorf("contoso roles = %v", roles)
	}

	// No filter: all three, two per page, following next links.
	all, pages := collectPages(t, g, path)
	if len(all) != 3 || pages != 2 {
		t.Fatalf("unfiltered: %d items over %d pages", len(all), pages)
	}
	var expired []map[string]any
	for _, r := range all {
		if r["status"] == "expired" {
			expired = append(expired, r)
		}
	}
	if len(expired) != 1 || expired[0]["customer"].(map[string]any)["displayName"] != "Tailspin Toys" ||
		expired[0]["customer"].(map[string]any)["tenantId"] != fakegraph.TailspinTenantID {
		t.Errorf("expired = %v", expired)
	}
	res = g.do(http.MethodGet, path, nil)
	next, _ := res.json["@odata.nextLink"].(string)
	if !strings.HasPrefix(next, s.URL()+path+"?") || !strings.Contains(next, "skiptoken=") {
		t.Errorf("@odata.nextLink = %q", next)
	}

	// Filters on the customer and by status that match nothing.
	res = g.do(http.MethodGet, path+"?$filter="+url.QueryEscape("customer/tenantId eq '"+fakegraph.FabrikamTenantID+"'"), nil)
	if got := values(t, res); len(got) != 1 || got[0]["id"] != fakegraph.PartnerFabrikamRelationshipID {
		t.Errorf("by customer = %v", got)
	}
	res = g.do(http.MethodGet, path+"?$filter="+url.QueryEscape("status eq 'terminated'"), nil)
	if got := values(t, res); len(got) != 0 {
		t.Errorf("terminated = %v", got)
	}

	// One relationship by id, and a missing one.
	res = g.do(http.MethodGet, path+"/"+fakegraph.PartnerTailspinRelationshipID, nil)
	if res.status != http.StatusOK || res.json["status"] != "expired" || res.json["endDateTime"] != "2024-02-29T09:15:00Z" {
		t.Errorf("by id: %d %s", res.status, res.raw)
	}
	res = g.do(http.MethodGet, path+"/nope", nil)
	wantError(t, res, http.StatusNotFound, "ResourceNotFound", "nope")

	// A customer holds no relationships of its own.
	cg := tenantGraph(t, s, fakegraph.ContosoTenantID)
	if got := values(t, cg.do(http.MethodGet, path, nil)); len(got) != 0 {
		t.Errorf("contoso relationships = %v", got)
	}
}

func TestRelationshipSeeds(t *testing.T) {
	t.Parallel()
	clock := &fixedClock{t: time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)}
	s := start(t, fakegraph.Options{Now: clock.Now})
	const partner = "11111111-2222-4333-8444-555555555555"
	seed := fakegraph.TenantSeed{
		ID:      partner,
		Domains: []string{"msp.example"},
		Relationships: []fakegraph.Relationship{
			{DisplayName: "defaults", CustomerTenantID: fakegraph.ContosoTenantID, CustomerDisplayName: "Contoso"},
			{DisplayName: "old", Status: "expired", CustomerTenantID: fakegraph.TailspinTenantID},
			{DisplayName: "pending", Status: "approvalPending", CustomerTenantID: fakegraph.FabrikamTenantID},
		},
	}
	for name, bad := range map[string]fakegraph.Relationship{
		"status":   {DisplayName: "x", Status: "paused", CustomerTenantID: fakegraph.ContosoTenantID},
		"customer": {DisplayName: "x", CustomerTenantID: "contoso"},
		"role":     {DisplayName: "x", CustomerTenantID: fakegraph.ContosoTenantID, Roles: []string{"Dungeon Master"}},
		"duration": {DisplayName: "x", CustomerTenantID: fakegraph.ContosoTenantID, Duration: "P1Y"},
	} {
		s2 := fakegraph.NewTest(t, fakegraph.Options{})
		if err := s2.AddTenant(fakegraph.TenantSeed{ID: partner, Domains: []string{"msp.example"}, Relationships: []fakegraph.Relationship{bad}}); err == nil {
			t.Errorf("bad %s accepted", name)
		}
	}
	if err := s.AddTenant(seed); err != nil {
		t.Fatal(err)
	}
	g := tenantGraph(t, s, "msp.example")
	all, _ := collectPages(t, g, "/v1.0/tenantRelationships/delegatedAdminRelationships")
	if len(all) != 3 {
		t.Fatalf("%d relationships", len(all))
	}
	def, old, pending := all[0], all[1], all[2]
	id, _ := def["id"].(string)
	if !strings.HasSuffix(id, "-"+fakegraph.ContosoTenantID) || len(id) != 73 {
		t.Errorf("derived id = %q", id)
	}
	if def["status"] != "active" || def["duration"] != "P730D" || def["autoExtendDuration"] != "PT0S" ||
		def["createdDateTime"] != "2026-10-31T12:00:00Z" || def["activatedDateTime"] != "2026-10-31T12:03:00Z" || def["endDateTime"] != "2028-10-30T12:00:00Z" {
		t.Errorf("defaults = %v", def)
	}
	if end, _ := time.Parse(time.RFC3339, old["endDateTime"].(string)); !end.Before(clock.Now()) {
		t.Errorf("expired relationship ends %v, after now", end)
	}
	if pending["activatedDateTime"] != nil {
		t.Errorf("pending relationship activated: %v", pending)
	}
}

func TestFabrikamSeed(t *testing.T) {
	t.Parallel()
	s := mspServer(t, fakegraph.Options{})
	g := tenantGraph(t, s, fakegraph.FabrikamTenantID)

	domains := values(t, g.do(http.MethodGet, "/v1.0/domains", nil))
	if len(domains) != 2 || domains[0]["id"] != fakegraph.FabrikamDomain || domains[0]["isDefault"] != true ||
		domains[1]["id"] != fakegraph.FabrikamInitialDomain || domains[1]["isInitial"] != true {
		t.Errorf("fabrikam domains = %v", domains)
	}
	org := values(t, g.do(http.MethodGet, "/v1.0/organization", nil))
	if org[0]["id"] != fakegraph.FabrikamTenantID || org[0]["displayName"] != "Fabrikam" {
		t.Errorf("organization = %v", org)
	}
	pg := tenantGraph(t, s, fakegraph.PartnerInitialDomain)
	domains = values(t, pg.do(http.MethodGet, "/v1.0/domains", nil))
	if len(domains) != 2 || domains[0]["id"] != fakegraph.PartnerDomain || domains[1]["id"] != fakegraph.PartnerInitialDomain {
		t.Errorf("partner domains = %v", domains)
	}
	if org := values(t, pg.do(http.MethodGet, "/v1.0/organization", nil)); org[0]["displayName"] != "Northwind MSP" {
		t.Errorf("partner organization = %v", org)
	}

	users := values(t, g.do(http.MethodGet, "/v1.0/users", nil))
	if len(users) != 6 {
		t.Errorf("%d fabrikam users", len(users))
	}
	alexes := values(t, g.do(http.MethodGet, "/v1.0/users?$filter="+url.QueryEscape("startswith(displayName,'alex')"), nil))
	var names []string
	for _, u := range alexes {
		names = append(names, u["displayName"].(string))
	}
	slices.Sort(names)
	if !slices.Equal(names, []string{"Alex Wilson", "Alex Wu"}) {
		t.Errorf("alex in fabrikam = %v", names)
	}
	res := g.do(http.MethodGet, "/v1.0/users/AlexW@fabrikam.com", nil)
	if res.json["id"] != fakegraph.FabrikamAlexWID || res.json["displayName"] != "Alex Wu" {
		t.Errorf("AlexW@fabrikam.com = %s", res.raw)
	}
	if u, ok := s.User(fakegraph.ContosoDomain, "AlexW@contoso.com"); !ok || u.DisplayName != "Alex Wilber" {
		t.Errorf("contoso AlexW = %+v", u)
	}
	if u, _ := s.User(fakegraph.FabrikamDomain, fakegraph.FabrikamAdminID); !slices.Contains(u.Roles, "Global Administrator") {
		t.Errorf("fabrikam admin roles = %v", u.Roles)
	}
	if u, _ := s.User(fakegraph.FabrikamDomain, fakegraph.FabrikamGarthID); u.AccountEnabled {
		t.Error("Garth is enabled")
	}
	if groups := values(t, g.do(http.MethodGet, "/v1.0/groups", nil)); len(groups) != 3 {
		t.Errorf("%d fabrikam groups", len(groups))
	}
}

func TestTokensBoundToTenant(t *testing.T) {
	t.Parallel()
	s := mspServer(t, fakegraph.Options{})
	con := tenantGraph(t, s, fakegraph.ContosoDomain)
	fab := tenantGraph(t, s, fakegraph.FabrikamDomain)
	tenantTwo := tenantGraph(t, s, fakegraph.FabrikamInitialDomain)

	upns := func(g *graph) []string {
		var out []string
		for _, u := range values(t, g.do(http.MethodGet, "/v1.0/users?$top=999", nil)) {
			out = append(out, strings.ToLower(u["userPrincipalName"].(string)))
		}
		return out
	}
	cu, fu := upns(con), upns(fab)
	if len(cu) != 23 || len(fu) != 6 {
		t.Fatalf("contoso sees %d users, fabrikam %d", len(cu), len(fu))
	}
	for _, u := range cu {
		if !strings.HasSuffix(u, "@contoso.com") {
			t.Errorf("contoso token sees %s", u)
		}
	}
	for _, u := range fu {
		if !strings.HasSuffix(u, "@fabrikam.com") {
			t.Errorf("fabrikam token sees %s", u)
		}
	}
	// The same UPN local part resolves to a different person per token,
	// and ids of the other tenant are not found.
	if a, b := con.do(http.MethodGet, "/v1.0/users/AlexW@contoso.com", nil), fab.do(http.MethodGet, "/v1.0/users/AlexW@fabrikam.com", nil); a.json["id"] == b.json["id"] {
		t.Error("both AlexW share an id")
	}
	if res := con.do(http.MethodGet, "/v1.0/users/"+fakegraph.FabrikamAlexWID, nil); res.status != http.StatusNotFound {
		t.Errorf("fabrikam user via contoso token: %d", res.status)
	}
	if res := fab.do(http.MethodGet, "/v1.0/users/AdeleV@contoso.com", nil); res.status != http.StatusNotFound {
		t.Errorf("contoso user via fabrikam token: %d", res.status)
	}
	// Writes through one tenant's token leave the other alone.
	if res := fab.do(http.MethodPatch, "/v1.0/users/AlexW@fabrikam.com", map[string]any{"jobTitle": "Sales Lead"}); res.status != http.StatusNoContent {
		t.Fatalf("patch: %d %s", res.status, res.raw)
	}
	if u, _ := s.User(fakegraph.ContosoTenantID, "AlexW@contoso.com"); u.JobTitle != "Marketing Assistant" {
		t.Errorf("contoso AlexW job title = %q", u.JobTitle)
	}

	if got := s.TokensIssuedFor(fakegraph.ContosoTenantID); got != 1 {
		t.Errorf("TokensIssuedFor(contoso) = %d", got)
	}
	if got := s.TokensIssuedFor(fakegraph.FabrikamDomain); got != 2 || tenantTwo.tok == fab.tok {
		t.Errorf("TokensIssuedFor(fabrikam) = %d", got)
	}
	if got := s.TokensIssuedFor(fakegraph.PartnerTenantID); got != 0 {
		t.Errorf("TokensIssuedFor(partner) = %d", got)
	}
	if got := s.TokensIssuedFor("nowhere.example"); got != 0 {
		t.Errorf("TokensIssuedFor(unknown) = %d", got)
	}
	if got := s.TokensIssued(); got != 3 {
		t.Errorf("TokensIssued = %d", got)
	}
}
