package fakegraph_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/cippbot/cippbot/internal/fakegraph"
)

// TestSchemaRendersOnlyV1Properties reads every kind of object the
// simulated tenant serves, with every property it renders ($select=*
// where a route narrows by default), and fails on any answer the
// server's own response check refuses: a property v1.0 does not have.
func TestSchemaRendersOnlyV1Properties(t *testing.T) {
	t.Parallel()
	g := newGraph(t, fakegraph.Options{})
	u := "/v1.0/users/" + fakegraph.ContosoIsaiahID
	paths := []string{
		"/v1.0/users?$select=*",
		"/v1.0/users",
		u + "?$select=*&$expand=manager",
		"/v1.0/users/" + fakegraph.ContosoAdeleID + "/manager",
		"/v1.0/users/" + fakegraph.ContosoAdminID + "/directReports",
		u + "/memberOf",
		"/v1.0/users/" + fakegraph.ContosoAdminID + "/memberOf",
		"/v1.0/users/" + fakegraph.ContosoAdminID + "/transitiveMemberOf",
		u + "/licenseDetails",
		u + "/authentication/methods",
		"/v1.0/users/" + fakegraph.ContosoAdminID + "/authentication/methods",
		u + "/mailFolders",
		u + "/mailFolders/inbox",
		u + "/mailFolders/inbox/childFolders",
		u + "/mailFolders/inbox/messageRules",
		u + "/drive",
		"/v1.0/users/" + fakegraph.ContosoAdeleID + "/drive",
		"/v1.0/groups",
		"/v1.0/groups/" + fakegraph.ContosoSalesMarketingID,
		"/v1.0/groups/" + fakegraph.ContosoSalesMarketingID + "/members",
		"/v1.0/directoryRoles",
		"/v1.0/directory/deletedItems/microsoft.graph.user",
		"/v1.0/organization",
		"/v1.0/domains",
		"/v1.0/subscribedSkus",
		"/v1.0/auditLogs/signIns",
		"/v1.0/auditLogs/directoryAudits",
		"/v1.0/servicePrincipals",
		"/v1.0/roleManagement/directory/roleAssignments?$expand=roleDefinition",
		"/v1.0/roleManagement/directory/roleDefinitions",
		"/v1.0/roleManagement/directory/roleEligibilityScheduleInstances?$expand=roleDefinition",
		"/v1.0/identity/conditionalAccess/policies",
		"/v1.0/sites?search=*",
		"/v1.0/sites/root",
		"/v1.0/sites/contoso.sharepoint.com:/sites/Sales",
		"/v1.0/sites/contoso.sharepoint.com:/sites/Sales:/drive",
		"/v1.0/sites/contoso.sharepoint.com:/sites/Sales:/drives",
		"/v1.0/sites/contoso.sharepoint.com:/sites/Sales:/drive/root",
		"/v1.0/sites/contoso.sharepoint.com:/sites/Sales:/drive/root/children",
	}
	for _, p := range paths {
		res := g.do(http.MethodGet, escapeSpaces(p), nil)
		if res.status == http.StatusInternalServerError || res.status == http.StatusBadRequest {
			t.Errorf("GET %s: %d %s", p, res.status, res.raw)
		}
	}
	// A partner tenant's GDAP relationships.
	partner := tenantGraph(t, mspServer(t, fakegraph.Options{}), fakegraph.PartnerDomain)
	for _, p := range []string{
		"/v1.0/tenantRelationships/delegatedAdminRelationships",
		"/v1.0/tenantRelationships/delegatedAdminRelationships/" + fakegraph.PartnerContosoRelationshipID,
	} {
		if res := partner.do(http.MethodGet, p, nil); res.status != http.StatusOK {
			t.Errorf("GET %s: %d %s", p, res.status, res.raw)
		}
	}
	// What writes answer with.
	for _, w := range []struct {
		path string
		body any
	}{
		{u + "/authentication/temporaryAccessPassMethods", map[string]any{"lifetimeInMinutes": 60}},
		{"/v1.0/servicePrincipals/" + g.mfaSP() + "/addPassword", map[string]any{"passwordCredential": map[string]any{"displayName": "x"}}},
		{"/v1.0/users/" + fakegraph.ContosoMeganID + "/revokeSignInSessions", nil},
	} {
		if res := g.do(http.MethodPost, w.path, w.body); res.status >= 300 {
			t.Errorf("POST %s: %d %s", w.path, res.status, res.raw)
		}
	}
	// The folders the Sales library holds, by id.
	res := g.do(http.MethodGet, "/v1.0/sites/contoso.sharepoint.com:/sites/Sales:/drive/root/children", nil)
	for _, it := range values(t, res) {
		id, _ := it["id"].(string)
		p := "/v1.0/sites/contoso.sharepoint.com:/sites/Sales:/drive/items/" + url.PathEscape(id)
		if r := g.do(http.MethodGet, p, nil); r.status >= 400 {
			t.Errorf("GET %s: %d %s", p, r.status, r.raw)
		}
	}
}

// TestSchemaRejects shows each kind of request the v1.0 schema does not
// allow, answered the way Graph answers it.
func TestSchemaRejects(t *testing.T) {
	t.Parallel()
	g := newGraph(t, fakegraph.Options{})
	sp := "/v1.0/servicePrincipals"
	u := "/v1.0/users/" + fakegraph.ContosoAdeleID
	tests := []struct {
		name, method, path string
		body               any
		msg                string
		// noRoute is a path the schema lacks (Request.Unhandled).
		noRoute bool
	}{
		{"unknown entity set", "GET", "/v1.0/userz", nil, "Resource not found for the segment 'userz'.", true},
		{"unknown navigation property", "GET", u + "/friends", nil, "Resource not found for the segment 'friends'.", true},
		{"unknown cast", "GET", u + "/memberOf/microsoft.graph.bogus/x", nil, "Resource not found for the segment 'x'.", true},
		{"cast to an unrelated type", "GET", u + "/memberOf/microsoft.graph.site", nil, "", true},
		{"action not bound to the type", "POST", "/v1.0/groups/" + fakegraph.ContosoSalesMarketingID + "/revokeSignInSessions", nil,
			"Resource not found for the segment 'revokeSignInSessions'.", true},
		{"segment after an action", "POST", u + "/revokeSignInSessions/x", nil, "Resource not found for the segment 'x'.", true},
		{"$select", "GET", sp + "?$select=id,createdDateTime", nil,
			"Could not find a property named 'createdDateTime' on type 'microsoft.graph.servicePrincipal'.", false},
		{"$select of a derived type's property without a cast", "GET", u + "/memberOf?$select=displayName", nil,
			"Could not find a property named 'displayName' on type 'microsoft.graph.directoryObject'.", false},
		{"$filter", "GET", sp + "?$filter=createdDateTime ge 2026-01-01T00:00:00Z", nil,
			"Could not find a property named 'createdDateTime' on type 'microsoft.graph.servicePrincipal'.", false},
		{"$filter in a function call", "GET", "/v1.0/users?$filter=startswith(nickname,'a')", nil,
			"Could not find a property named 'nickname' on type 'microsoft.graph.user'.", false},
		{"$filter in a lambda", "GET", "/v1.0/users?$filter=assignedLicenses/any(x:x/sku eq 'a')", nil,
			"Could not find a property named 'sku' on type 'microsoft.graph.assignedLicense'.", false},
		{"$filter into a complex type", "GET", "/v1.0/auditLogs/signIns?$filter=location/county eq 'x'", nil,
			"Could not find a property named 'county' on type 'microsoft.graph.signInLocation'.", false},
		{"$orderby", "GET", "/v1.0/users?$orderby=nickname", nil,
			"Could not find a property named 'nickname' on type 'microsoft.graph.user'.", false},
		{"$expand", "GET", u + "?$expand=boss", nil, "Could not find a property named 'boss' on type 'microsoft.graph.user'.", false},
		{"$expand of a structural property", "GET", u + "?$expand=displayName", nil,
			"Property 'displayName' on type 'microsoft.graph.user' is not a navigation property or complex property.", false},
		{"$select inside $expand", "GET", u + "?$expand=manager($select=nickname)", nil,
			"Could not find a property named 'nickname' on type 'microsoft.graph.directoryObject'.", false},
		{"body property", "PATCH", u, map[string]any{"favouriteColour": "blue"}, "The property 'favouriteColour' does not exist on type 'microsoft.graph.user'.", false},
		{"nested complex property", "PATCH", u, map[string]any{"passwordProfile": map[string]any{"password": "x", "hint": "y"}},
			"The property 'hint' does not exist on type 'microsoft.graph.passwordProfile'.", false},
		{"derived type in @odata.type", "POST", "/v1.0/users", map[string]any{"@odata.type": "#microsoft.graph.group", "displayName": "x"},
			"'microsoft.graph.group' was found, but it is not assignable to the expected type 'microsoft.graph.user'", false},
		{"annotation of an unknown property", "PATCH", u, map[string]any{"boss@odata.bind": "https://graph.microsoft.com/v1.0/users/x"},
			"The property 'boss' does not exist on type 'microsoft.graph.user'.", false},
		{"action parameter", "POST", sp + "/" + fakegraph.ContosoSuspiciousAppID + "/addPassword", map[string]any{"secret": "x"},
			"The parameter 'secret' in the request payload is not a valid parameter for the operation 'addPassword'.", false},
		{"complex action parameter", "POST", u + "/assignLicense",
			map[string]any{"addLicenses": []any{map[string]any{"skuId": "x", "plans": []string{}}}, "removeLicenses": []string{}},
			"The property 'plans' does not exist on type 'microsoft.graph.assignedLicense'.", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.noRoute {
				g.s.ExpectUnhandled(tt.method, tt.path)
			}
			res := g.do(tt.method, escapeSpaces(tt.path), tt.body)
			if got := g.s.Requests(); got[len(got)-1].Unhandled != tt.noRoute {
				t.Errorf("Request.Unhandled = %v, want %v", got[len(got)-1].Unhandled, tt.noRoute)
			}
			if tt.msg == "" {
				if res.status != http.StatusBadRequest {
					t.Fatalf("status = %d, want 400: %s", res.status, res.raw)
				}
				return
			}
			wantError(t, res, http.StatusBadRequest, "BadRequest", tt.msg)
		})
	}
}

// TestSchemaAccepts shows requests the schema allows that a looser
// reading might refuse: casts to derived types, namespace-qualified
// actions, lambdas, complex paths, path-based addressing.
func TestSchemaAccepts(t *testing.T) {
	t.Parallel()
	g := newGraph(t, fakegraph.Options{})
	u := "/v1.0/users/" + fakegraph.ContosoAdminID
	// A cast of a directoryObject list is an advanced query.
	advanced := http.Header{"Authorization": {"Bearer " + g.tok}, "ConsistencyLevel": {"eventual"}}
	for _, p := range []string{
		u + "/transitiveMemberOf/microsoft.graph.group?$count=true&$select=displayName,isAssignableToRole",
		u + "/transitiveMemberOf/microsoft.graph.directoryRole?$count=true&$select=displayName,roleTemplateId",
	} {
		if res := send(t, g.s, http.MethodGet, p, advanced, nil); res.status != http.StatusOK {
			t.Errorf("GET %s: %d %s", p, res.status, res.raw)
		}
	}
	for _, p := range []string{
		"/v1.0/users?$filter=startswith(displayName,'A') and accountEnabled eq true",
		"/v1.0/auditLogs/signIns?$filter=location/countryOrRegion eq 'US'",
		"/v1.0/sites/contoso.sharepoint.com:/sites/Sales:/drive?$select=id,sharepointIds",
	} {
		if res := g.do(http.MethodGet, escapeSpaces(p), nil); res.status == http.StatusBadRequest {
			t.Errorf("GET %s: %s", p, res.raw)
		}
	}
	res := g.do(http.MethodPost, "/v1.0/users/"+fakegraph.ContosoMeganID+"/microsoft.graph.revokeSignInSessions", nil)
	if res.status != http.StatusOK {
		t.Errorf("qualified action: %d %s", res.status, res.raw)
	}
}

// TestSchemaBatchItem shows a $batch item the schema refuses, answered
// on its own while the other items succeed.
func TestSchemaBatchItem(t *testing.T) {
	t.Parallel()
	g := newGraph(t, fakegraph.Options{})
	payload := map[string]any{"requests": []any{
		map[string]any{"id": "1", "method": "GET", "url": "/users/" + fakegraph.ContosoAdeleID + "?$select=displayName"},
		map[string]any{"id": "2", "method": "GET", "url": "/servicePrincipals?$select=id,publisherName"},
		map[string]any{"id": "3", "method": "PATCH", "url": "/users/" + fakegraph.ContosoAdeleID,
			"headers": map[string]any{"Content-Type": "application/json"}, "body": map[string]any{"shoeSize": 9}},
		map[string]any{"id": "4", "method": "GET", "url": "/groups?$select=id,displayName"},
	}}
	items := batchResponses(t, g.do(http.MethodPost, "/v1.0/$batch", payload))
	for id, want := range map[string]float64{"1": 200, "2": 400, "3": 400, "4": 200} {
		if items[id]["status"] != want {
			t.Errorf("item %s: status %v, want %v: %v", id, items[id]["status"], want, items[id])
		}
	}
	msg := items["2"]["body"].(map[string]any)["error"].(map[string]any)["message"].(string)
	if !strings.Contains(msg, "Could not find a property named 'publisherName' on type 'microsoft.graph.servicePrincipal'.") {
		t.Errorf("item 2: %s", msg)
	}
	msg = items["3"]["body"].(map[string]any)["error"].(map[string]any)["message"].(string)
	if !strings.Contains(msg, "The property 'shoeSize' does not exist on type 'microsoft.graph.user'.") {
		t.Errorf("item 3: %s", msg)
	}
}

// TestSchemaBetaNotChecked shows that beta requests, for which there is
// no schema here, are left to the routes.
func TestSchemaBetaNotChecked(t *testing.T) {
	t.Parallel()
	g := newGraph(t, fakegraph.Options{})
	res := g.do(http.MethodGet, "/beta/users/"+fakegraph.ContosoAdeleID+"?$select=displayName", nil)
	if res.status != http.StatusOK {
		t.Errorf("beta: %d %s", res.status, res.raw)
	}
}

// escapeSpaces escapes the spaces of a path and query written for
// reading.
func escapeSpaces(p string) string {
	return strings.ReplaceAll(p, " ", "%20")
}
