package fakegraph_test

import (
	"net/http"
	"slices"
	"testing"

	"github.com/cippbot/cippbot/internal/fakegraph"
)

const caPolicies = "/v1.0/identity/conditionalAccess/policies"

// strs returns a JSON array of strings as a slice.
func strs(v any) []string {
	out := []string{}
	for _, x := range v.([]any) {
		out = append(out, x.(string))
	}
	return out
}

func TestConditionalAccessPolicies(t *testing.T) {
	t.Parallel()
	g := newGraph(t, fakegraph.Options{})
	res := g.do(http.MethodGet, caPolicies, nil)
	items := values(t, res)
	if len(items) != 2 || res.json["@odata.context"] != "https://graph.microsoft.com/v1.0/$metadata#identity/conditionalAccess/policies" {
		t.Fatalf("policies: %s", res.raw)
	}
	mfa := items[0]
	if mfa["id"] != fakegraph.ContosoRequireMFAPolicyID || mfa["displayName"] != "Require MFA for all users" || mfa["state"] != "enabled" ||
		mfa["createdDateTime"] != "2024-05-06T10:12:44Z" || mfa["modifiedDateTime"] != nil {
		t.Errorf("policy = %v", mfa)
	}
	users := at(mfa, "conditions/users").(map[string]any)
	for k, want := range map[string][]string{
		"includeUsers": {"All"}, "excludeUsers": {}, "includeGroups": {}, "excludeGroups": {fakegraph.ContosoBreakGlassID},
		"includeRoles": {}, "excludeRoles": {},
	} {
		if got := strs(users[k]); !slices.Equal(got, want) {
			t.Errorf("users.%s = %v, want %v", k, got, want)
		}
	}
	if got := strs(at(mfa, "conditions/applications/includeApplications")); !slices.Equal(got, []string{"All"}) {
		t.Errorf("includeApplications = %v", got)
	}
	if got := strs(at(mfa, "grantControls/builtInControls")); !slices.Equal(got, []string{"mfa"}) || at(mfa, "grantControls/operator") != "OR" {
		t.Errorf("grantControls = %v", mfa["grantControls"])
	}
	legacy := items[1]
	if legacy["state"] != "enabledForReportingButNotEnforced" || !slices.Equal(strs(at(legacy, "conditions/users/excludeRoles")), []string{globalAdminRole}) ||
		!slices.Equal(strs(at(legacy, "conditions/clientAppTypes")), []string{"exchangeActiveSync", "other"}) ||
		!slices.Equal(strs(at(legacy, "grantControls/builtInControls")), []string{"block"}) {
		t.Errorf("legacy policy = %v", legacy)
	}

	// Paging with $top follows nextLink; $skip, $filter, $orderby,
	// $count (no ConsistencyLevel needed) and $select work.
	all, pages := collectPages(t, g, caPolicies+"?$top=1")
	if len(all) != 2 || pages != 2 || all[1]["id"] != fakegraph.ContosoBlockLegacyAuthPolicyID {
		t.Errorf("paged: %d items in %d pages", len(all), pages)
	}
	if items := values(t, g.do(http.MethodGet, caPolicies+"?$skip=1", nil)); len(items) != 1 || items[0]["id"] != fakegraph.ContosoBlockLegacyAuthPolicyID {
		t.Errorf("$skip: %v", items)
	}
	if items := values(t, g.do(http.MethodGet, caPolicies+"?$filter="+urlEncode("state eq 'enabled'"), nil)); len(items) != 1 || items[0]["id"] != fakegraph.ContosoRequireMFAPolicyID {
		t.Errorf("$filter: %v", items)
	}
	if items := values(t, g.do(http.MethodGet, caPolicies+"?$orderby=displayName", nil)); items[0]["displayName"] != "Block legacy authentication" {
		t.Errorf("$orderby: %v", items[0]["displayName"])
	}
	res = g.do(http.MethodGet, caPolicies+"?$count=true&$select=displayName,state", nil)
	if items := values(t, res); res.json["@odata.count"] != float64(2) || len(items[0]) != 3 {
		t.Errorf("$count/$select: %s", res.raw)
	}

	res = g.do(http.MethodGet, caPolicies+"/"+fakegraph.ContosoRequireMFAPolicyID, nil)
	if res.status != http.StatusOK || res.json["displayName"] != "Require MFA for all users" ||
		res.json["@odata.context"] != "https://graph.microsoft.com/v1.0/$metadata#identity/conditionalAccess/policies/$entity" {
		t.Errorf("get: %d %s", res.status, res.raw)
	}
	wantError(t, g.do(http.MethodGet, caPolicies+"/00000000-0000-0000-0000-000000000000", nil), http.StatusNotFound, "Request_ResourceNotFound", "does not exist")
	wantError(t, g.do(http.MethodGet, caPolicies+"?$filter="+urlEncode("startswith(displayName,'Req')"), nil), http.StatusBadRequest, "BadRequest", "not supported")
	wantError(t, g.do(http.MethodGet, caPolicies+"?$filter="+urlEncode("conditions/users/includeUsers eq 'All'"), nil), http.StatusBadRequest, "BadRequest", "not supported")
	wantError(t, g.do(http.MethodGet, caPolicies+"?$expand=grantControls", nil), http.StatusBadRequest, "BadRequest", "is not a navigation property")
	wantError(t, g.do(http.MethodGet, caPolicies+"/"+fakegraph.ContosoRequireMFAPolicyID+"?$skip=1", nil), http.StatusBadRequest, "BadRequest", "$skip")
	wantError(t, g.do(http.MethodGet, "/v1.0/users?$skip=1", nil), http.StatusBadRequest, "BadRequest", "$skip")
	g.s.ExpectUnhandled(http.MethodPatch, caPolicies+"/"+fakegraph.ContosoRequireMFAPolicyID)
	if res := g.do(http.MethodPatch, caPolicies+"/"+fakegraph.ContosoRequireMFAPolicyID, map[string]any{"state": "disabled"}); res.status != http.StatusMethodNotAllowed {
		t.Errorf("PATCH: %d", res.status)
	}
}

func TestConditionalAccessSeedRules(t *testing.T) {
	t.Parallel()
	s := start(t, fakegraph.Options{})
	user := fakegraph.User{ID: "aaaaaaaa-0000-4000-8000-000000000001", UserPrincipalName: "kim@ca.example", DisplayName: "Kim", AccountEnabled: true}
	seed := func(p fakegraph.ConditionalAccessPolicy) fakegraph.TenantSeed {
		return fakegraph.TenantSeed{ID: "aaaaaaaa-0000-4000-8000-0000000000dd", Domains: []string{"ca.example"}, Users: []fakegraph.User{user},
			ConditionalAccessPolicies: []fakegraph.ConditionalAccessPolicy{p}}
	}
	for name, p := range map[string]fakegraph.ConditionalAccessPolicy{
		"no name":         {State: "enabled"},
		"bad state":       {DisplayName: "P", State: "on"},
		"unknown user":    {DisplayName: "P", State: "enabled", IncludeUsers: []string{"nobody@ca.example"}},
		"All excluded":    {DisplayName: "P", State: "enabled", ExcludeUsers: []string{"All"}},
		"unknown group":   {DisplayName: "P", State: "enabled", ExcludeGroups: []string{"Nope"}},
		"unknown role":    {DisplayName: "P", State: "enabled", IncludeRoles: []string{"Nope"}},
		"bad control":     {DisplayName: "P", State: "enabled", BuiltInControls: []string{"pray"}},
		"bad client app":  {DisplayName: "P", State: "enabled", ClientAppTypes: []string{"fax"}},
		"bad operator":    {DisplayName: "P", State: "enabled", GrantOperator: "XOR"},
		"id is not GUID":  {ID: "p1", DisplayName: "P", State: "enabled"},
		"lowercase state": {DisplayName: "P", State: "enabledforreportingbutnotenforced", IncludeUsers: []string{"kim@ca.example"}},
	} {
		err := s.AddTenant(seed(p))
		if name == "lowercase state" {
			if err != nil {
				t.Errorf("%s: %v", name, err)
			}
			continue
		}
		if err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	g := tenantGraph(t, s, "ca.example")
	items := values(t, g.do(http.MethodGet, caPolicies, nil))
	if len(items) != 1 || items[0]["state"] != "enabledForReportingButNotEnforced" ||
		!slices.Equal(strs(at(items[0], "conditions/users/includeUsers")), []string{user.ID}) {
		t.Errorf("policy = %v", items)
	}
}
