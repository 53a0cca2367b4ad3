package fakegraph_test

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/cippbot/cippbot/internal/fakegraph"
)

// Template ids of built-in roles used below.
const (
	globalAdminRole   = "62e90394-69f5-4237-9190-012177145e10"
	helpdeskAdminRole = "729827e3-9c14-49f7-bb1b-9608f156bbb8"
	privRoleAdminRole = "e8611ab8-c189-46e8-94e1-60213ab1f814"
	dirReadersRole    = "88d8e3e3-8f55-4a1e-953a-9b9898b8876b"
)

const assignmentsPath = "/v1.0/roleManagement/directory/roleAssignments"

// getWith sends a GET with extra headers.
func (g *graph) getWith(path string, hdr http.Header) response {
	g.t.Helper()
	h := hdr.Clone()
	if h == nil {
		h = http.Header{}
	}
	h.Set("Authorization", "Bearer "+g.tok)
	return send(g.t, g.s, http.MethodGet, path, h, nil)
}

// roleIDs returns the roleDefinitionId of each item.
func roleIDs(items []map[string]any) []string {
	var out []string
	for _, it := range items {
		out = append(out, it["roleDefinitionId"].(string))
	}
	return out
}

func TestRoleAssignmentsByPrincipal(t *testing.T) {
	t.Parallel()
	g := newGraph(t, fakegraph.Options{})
	// The request the client sends, URL-encoded as the SDK does.
	res := g.do(http.MethodGet, assignmentsPath+"?%24filter=principalId%20eq%20%27"+fakegraph.ContosoAdminID+"%27&%24expand=roleDefinition", nil)
	items := values(t, res)
	if len(items) != 1 {
		t.Fatalf("admin assignments = %s", res.raw)
	}
	a := items[0]
	if a["principalId"] != fakegraph.ContosoAdminID || a["roleDefinitionId"] != globalAdminRole || a["directoryScopeId"] != "/" {
		t.Errorf("assignment = %v", a)
	}
	if id, _ := a["id"].(string); !strings.HasSuffix(id, "-1") {
		t.Errorf("id = %v", a["id"])
	}
	def, _ := a["roleDefinition"].(map[string]any)
	if def["displayName"] != "Global Administrator" || def["id"] != globalAdminRole || def["templateId"] != globalAdminRole ||
		def["isBuiltIn"] != true || def["isEnabled"] != true || def["description"] == nil {
		t.Errorf("roleDefinition = %v", def)
	}
	if ctx := res.json["@odata.context"]; ctx != "https://graph.microsoft.com/v1.0/$metadata#roleManagement/directory/roleAssignments(roleDefinition())" {
		t.Errorf("context = %v", ctx)
	}

	// Debra holds Helpdesk Administrator only through a group: no
	// assignment names her; the group's does.
	if items := values(t, g.do(http.MethodGet, assignmentsPath+"?$filter="+urlEncode("principalId eq '"+fakegraph.ContosoGroupHelpdeskUserID+"'"), nil)); len(items) != 0 {
		t.Errorf("Debra's direct assignments = %v", items)
	}
	items = values(t, g.do(http.MethodGet, assignmentsPath+"?$filter="+urlEncode("principalId eq '"+fakegraph.ContosoHelpdeskID+"'"), nil))
	if !slices.Equal(roleIDs(items), []string{helpdeskAdminRole}) {
		t.Errorf("Helpdesk Operators assignments = %v", items)
	}

	// in, and several clauses joined with and.
	filter := fmt.Sprintf("principalId in ('%s', '%s')", fakegraph.ContosoAdminID, fakegraph.ContosoHelpdeskID)
	if items := values(t, g.do(http.MethodGet, assignmentsPath+"?$filter="+urlEncode(filter), nil)); !slices.Equal(roleIDs(items), []string{globalAdminRole, helpdeskAdminRole}) {
		t.Errorf("in: %v", items)
	}
	filter = "roleDefinitionId eq '" + globalAdminRole + "' and directoryScopeId eq '/'"
	res = g.do(http.MethodGet, assignmentsPath+"?$filter="+urlEncode(filter)+"&$expand=principal", nil)
	var principals []string
	for _, it := range values(t, res) {
		p := it["principal"].(map[string]any)
		principals = append(principals, fmt.Sprint(p["@odata.type"], " ", p["displayName"]))
		if p["@odata.type"] == "#microsoft.graph.group" && p["isAssignableToRole"] != true {
			t.Errorf("group principal = %v", p)
		}
	}
	if !slices.Equal(principals, []string{"#microsoft.graph.user MOD Administrator", "#microsoft.graph.group Tier 0 Admins"}) {
		t.Errorf("Global Administrator principals = %v", principals)
	}

	// $select keeps id and the selected properties; expanded ones stay.
	items = values(t, g.do(http.MethodGet, assignmentsPath+"?$select=roleDefinitionId&$expand=roleDefinition&$filter="+urlEncode("principalId eq '"+fakegraph.ContosoAdminID+"'"), nil))
	if len(items) != 1 || len(items[0]) != 3 || items[0]["roleDefinition"] == nil || items[0]["id"] == nil {
		t.Errorf("$select: %v", items)
	}

	// One assignment by id.
	id := a["id"].(string)
	res = g.do(http.MethodGet, assignmentsPath+"/"+id+"?$expand=principal", nil)
	if res.status != http.StatusOK || res.json["principal"].(map[string]any)["userPrincipalName"] != "admin@contoso.com" ||
		res.json["@odata.context"] != "https://graph.microsoft.com/v1.0/$metadata#roleManagement/directory/roleAssignments(principal())/$entity" {
		t.Errorf("get: %d %s", res.status, res.raw)
	}
	wantError(t, g.do(http.MethodGet, assignmentsPath+"/nope-1", nil), http.StatusNotFound, "Request_ResourceNotFound", "nope-1")
}

func TestRoleAssignmentsRejectUnsupportedQueries(t *testing.T) {
	t.Parallel()
	g := newGraph(t, fakegraph.Options{})
	tests := []struct {
		name, query, code, msg string
	}{
		{"startswith", "$filter=" + urlEncode("startswith(principalId,'6e')"), "BadRequest", "operator 'startsWith' is not supported on property 'principalId'"},
		{"ne", "$filter=" + urlEncode("principalId ne '"+fakegraph.ContosoAdminID+"'"), "BadRequest", "operator 'ne' is not supported"},
		{"id", "$filter=" + urlEncode("id eq 'x'"), "BadRequest", "filtering on property 'id' is not supported"},
		{"unknown expand", "$expand=members", "BadRequest", "Could not find a property named 'members' on type 'microsoft.graph.unifiedRoleAssignment'."},
		{"directoryScope expand", "$expand=directoryScope", "BadRequest", "not supported"},
		{"orderby", "$orderby=principalId", "BadRequest", "Query option '$orderby' is not supported"},
		{"unknown select", "$select=resourceScope", "BadRequest", "Could not find a property named 'resourceScope'"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			wantError(t, g.do(http.MethodGet, assignmentsPath+"?"+tc.query, nil), http.StatusBadRequest, tc.code, tc.msg)
		})
	}
	g.s.ExpectUnhandled(http.MethodPost, assignmentsPath)
	if res := g.do(http.MethodPost, assignmentsPath, map[string]any{}); res.status != http.StatusMethodNotAllowed {
		t.Errorf("POST: %d", res.status)
	}
}

func TestRolePermissions(t *testing.T) {
	t.Parallel()
	debraTMO := "/v1.0/users/" + fakegraph.ContosoGroupHelpdeskUserID + "/transitiveMemberOf"
	tests := []struct {
		name      string
		path      string
		ok, short []string
	}{
		{"assignments", assignmentsPath, []string{"RoleManagement.Read.Directory"}, []string{"User.Read.All", "Group.ReadWrite.All"}},
		{"assignments via RoleManagement.Read.All", assignmentsPath, []string{"RoleManagement.Read.All"}, nil},
		{"assignments via Directory.Read.All", assignmentsPath, []string{"Directory.Read.All"}, []string{"RoleEligibilitySchedule.Read.Directory"}},
		{"assignments via ReadWrite", assignmentsPath, []string{"RoleManagement.ReadWrite.Directory"}, nil},
		{"definitions", "/v1.0/roleManagement/directory/roleDefinitions", []string{"Directory.Read.All"}, []string{"RoleManagement.Read.All"}},
		{"eligibility", "/v1.0/roleManagement/directory/roleEligibilityScheduleInstances", []string{"RoleEligibilitySchedule.Read.Directory"},
			[]string{"Directory.Read.All", "Directory.ReadWrite.All"}},
		{"eligibility via RoleManagement.Read.All", "/v1.0/roleManagement/directory/roleEligibilityScheduleInstances", []string{"RoleManagement.Read.All"}, nil},
		{"conditional access", "/v1.0/identity/conditionalAccess/policies", []string{"Policy.Read.All"},
			[]string{"Policy.Read.ConditionalAccess", "Directory.ReadWrite.All", "Policy.ReadWrite.AuthenticationMethod"}},
		{"conditional access policy", "/v1.0/identity/conditionalAccess/policies/" + fakegraph.ContosoRequireMFAPolicyID, []string{"Policy.Read.All"}, []string{"Directory.Read.All"}},
		{"transitiveMemberOf", debraTMO, []string{"GroupMember.Read.All"}, []string{"RoleManagement.Read.Directory", "User.ReadWrite.All"}},
		{"transitiveMemberOf via User.Read.All", debraTMO, []string{"User.Read.All"}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g := newGraph(t, fakegraph.Options{})
			if tc.short != nil {
				g.s.SetPermissions(fakegraph.ContosoTenantID, tc.short)
				wantError(t, g.do(http.MethodGet, tc.path, nil), http.StatusForbidden, "Authorization_RequestDenied", "Insufficient privileges")
			}
			g.s.SetPermissions(fakegraph.ContosoTenantID, tc.ok)
			if res := g.do(http.MethodGet, tc.path, nil); res.status != http.StatusOK {
				t.Errorf("with %v: %d %s", tc.ok, res.status, res.raw)
			}
		})
	}
}

func TestAssignRoleHelpers(t *testing.T) {
	t.Parallel()
	g := newGraph(t, fakegraph.Options{})
	s := g.s
	debra := "/v1.0/roleManagement/directory/roleAssignments?$filter=" + urlEncode("principalId eq '"+fakegraph.ContosoGroupHelpdeskUserID+"'")
	if err := s.AssignRole(fakegraph.ContosoDomain, fakegraph.ContosoGroupHelpdeskUPN, "Privileged Role Administrator"); err != nil {
		t.Fatal(err)
	}
	if items := values(t, g.do(http.MethodGet, debra, nil)); !slices.Equal(roleIDs(items), []string{privRoleAdminRole}) {
		t.Errorf("after AssignRole: %v", items)
	}
	// The legacy view agrees: memberOf lists the activated directoryRole.
	var roles []string
	for _, it := range values(t, g.do(http.MethodGet, "/v1.0/users/"+fakegraph.ContosoGroupHelpdeskUPN+"/memberOf", nil)) {
		if it["@odata.type"] == "#microsoft.graph.directoryRole" {
			roles = append(roles, it["displayName"].(string))
		}
	}
	if !slices.Equal(roles, []string{"Privileged Role Administrator"}) {
		t.Errorf("memberOf roles = %v", roles)
	}
	// The snapshot lists direct roles first, then those held through
	// groups.
	if u, _ := s.User(fakegraph.ContosoTenantID, fakegraph.ContosoGroupHelpdeskUPN); !slices.Equal(u.Roles, []string{"Privileged Role Administrator", "Helpdesk Administrator"}) {
		t.Errorf("snapshot roles = %v", u.Roles)
	}
	// A role by template id, to a role-assignable group by name.
	if err := s.AssignRole(fakegraph.ContosoTenantID, "Tier 0 Admins", privRoleAdminRole); err != nil {
		t.Fatal(err)
	}
	if grp, _ := s.Group(fakegraph.ContosoTenantID, fakegraph.ContosoTier0AdminsID); !slices.Equal(grp.Roles, []string{"Global Administrator", "Privileged Role Administrator"}) {
		t.Errorf("group roles = %v", grp.Roles)
	}
	if err := s.UnassignRole(fakegraph.ContosoTenantID, fakegraph.ContosoGroupHelpdeskUserID, "privileged role administrator"); err != nil {
		t.Fatal(err)
	}
	if items := values(t, g.do(http.MethodGet, debra, nil)); len(items) != 0 {
		t.Errorf("after UnassignRole: %v", items)
	}
	for name, err := range map[string]error{
		"unknown role":           s.AssignRole(fakegraph.ContosoTenantID, fakegraph.ContosoAdeleID, "Dungeon Master"),
		"unknown principal":      s.AssignRole(fakegraph.ContosoTenantID, "nobody@contoso.com", "Global Reader"),
		"unknown tenant":         s.AssignRole("nowhere.example", fakegraph.ContosoAdeleID, "Global Reader"),
		"not role-assignable":    s.AssignRole(fakegraph.ContosoTenantID, "Break Glass Exclusions", "Global Reader"),
		"already assigned":       s.AssignRole(fakegraph.ContosoTenantID, fakegraph.ContosoAdminID, "Global Administrator"),
		"unassign not assigned":  s.UnassignRole(fakegraph.ContosoTenantID, fakegraph.ContosoAdeleID, "Global Reader"),
		"unassign unknown group": s.UnassignRole(fakegraph.ContosoTenantID, "No Such Group", "Global Reader"),
	} {
		if err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestRoleAssignmentsPaging(t *testing.T) {
	t.Parallel()
	g := newGraph(t, fakegraph.Options{})
	for i := range 150 {
		err := g.s.AddGroup(fakegraph.ContosoTenantID, fakegraph.Group{DisplayName: fmt.Sprintf("Readers %03d", i), MailNickname: fmt.Sprintf("readers%03d", i),
			SecurityEnabled: true, IsAssignableToRole: true, Roles: []string{"Directory Readers"}})
		if err != nil {
			t.Fatal(err)
		}
	}
	path := assignmentsPath + "?$filter=" + urlEncode("roleDefinitionId eq '"+dirReadersRole+"'") + "&$expand=roleDefinition"
	res := g.do(http.MethodGet, path, nil)
	first := values(t, res)
	next, _ := res.json["@odata.nextLink"].(string)
	if len(first) != 100 || next == "" {
		t.Fatalf("first page: %d items, next %q", len(first), next)
	}
	res = g.do(http.MethodGet, relativePath(t, g.s, next), nil)
	second := values(t, res)
	if len(second) != 50 || res.json["@odata.nextLink"] != nil {
		t.Errorf("second page: %d items, next %v", len(second), res.json["@odata.nextLink"])
	}
	if second[0]["roleDefinition"].(map[string]any)["displayName"] != "Directory Readers" {
		t.Errorf("next link lost $expand: %v", second[0])
	}
}

func TestRoleDefinitions(t *testing.T) {
	t.Parallel()
	g := newGraph(t, fakegraph.Options{})
	const defs = "/v1.0/roleManagement/directory/roleDefinitions"
	all := values(t, g.do(http.MethodGet, defs, nil))
	byName := map[string]map[string]any{}
	for _, d := range all {
		byName[d["displayName"].(string)] = d
		if d["id"] != d["templateId"] || d["isBuiltIn"] != true || d["isEnabled"] != true {
			t.Errorf("definition = %v", d)
		}
	}
	for name, id := range map[string]string{
		"Privileged Role Administrator": privRoleAdminRole, "Conditional Access Administrator": "b1be1c3e-b65d-4f19-8427-f6fa0d97feb9",
		"Application Administrator": "9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3", "Cloud Application Administrator": "158c047a-c907-4556-b7ef-446551a6b5f7",
		"Password Administrator": "966707d0-3269-4727-9be2-8c3a10f19b9d", "SharePoint Administrator": "f28a1f50-f6e7-4571-818b-6a12f2af6b6c",
		"Groups Administrator": "fdd7a751-b60b-444a-984c-02652fe8fa1c", "Intune Administrator": "3a2c62db-5318-420d-8d74-23affee5d9d5",
		"Hybrid Identity Administrator": "8ac3fc64-6eca-42ea-9e69-59f4c7b60eb2", "Teams Administrator": "69091246-20e8-4a56-aa4d-066075b2a7a8",
		"Billing Administrator": "b0f54661-2d74-4c50-afa3-1ec803f12efe", "Authentication Policy Administrator": "0526716b-113d-4c15-b2c8-68e3c22b9f80",
		"Directory Readers": dirReadersRole, "Global Administrator": globalAdminRole,
	} {
		if byName[name]["id"] != id {
			t.Errorf("%s = %v", name, byName[name])
		}
	}
	items := values(t, g.do(http.MethodGet, defs+"?$filter="+urlEncode("displayName eq 'Privileged Role Administrator'")+"&$select=id,displayName", nil))
	if len(items) != 1 || items[0]["id"] != privRoleAdminRole || len(items[0]) != 2 {
		t.Errorf("filtered = %v", items)
	}
	if res := g.do(http.MethodGet, defs+"/"+privRoleAdminRole, nil); res.status != http.StatusOK || res.json["displayName"] != "Privileged Role Administrator" {
		t.Errorf("get: %d %s", res.status, res.raw)
	}
	wantError(t, g.do(http.MethodGet, defs+"/00000000-0000-0000-0000-000000000000", nil), http.StatusNotFound, "Request_ResourceNotFound", "does not exist")
	wantError(t, g.do(http.MethodGet, defs+"?$filter="+urlEncode("templateId eq '"+privRoleAdminRole+"'"), nil), http.StatusBadRequest, "BadRequest", "templateId")
}

func TestRoleEligibility(t *testing.T) {
	t.Parallel()
	g := newGraph(t, fakegraph.Options{})
	const elig = "/v1.0/roleManagement/directory/roleEligibilityScheduleInstances"
	// The request the client sends.
	res := g.do(http.MethodGet, elig+"?%24filter=principalId%20eq%20%27"+fakegraph.ContosoEligiblePRAUserID+"%27&%24expand=roleDefinition", nil)
	items := values(t, res)
	if len(items) != 1 {
		t.Fatalf("eligibilities = %s", res.raw)
	}
	e := items[0]
	if e["roleDefinitionId"] != privRoleAdminRole || e["memberType"] != "Direct" || e["directoryScopeId"] != "/" || e["endDateTime"] != nil ||
		e["startDateTime"] == nil || e["roleEligibilityScheduleId"] == nil || !strings.HasSuffix(e["id"].(string), "-1-e") {
		t.Errorf("eligibility = %v", e)
	}
	if e["roleDefinition"].(map[string]any)["displayName"] != "Privileged Role Administrator" {
		t.Errorf("roleDefinition = %v", e["roleDefinition"])
	}
	if res := g.do(http.MethodGet, elig+"/"+e["id"].(string), nil); res.status != http.StatusOK || res.json["principalId"] != fakegraph.ContosoEligiblePRAUserID {
		t.Errorf("get: %d %s", res.status, res.raw)
	}
	// Eligibility is not an assignment.
	if items := values(t, g.do(http.MethodGet, assignmentsPath+"?$filter="+urlEncode("principalId eq '"+fakegraph.ContosoEligiblePRAUserID+"'"), nil)); len(items) != 0 {
		t.Errorf("assignments of an eligible user = %v", items)
	}
	if u, _ := g.s.User(fakegraph.ContosoTenantID, fakegraph.ContosoEligiblePRAUPN); !slices.Equal(u.Roles, []string{"Privileged Role Administrator"}) ||
		!slices.Equal(u.EligibleRoles, []string{"Privileged Role Administrator"}) {
		t.Errorf("snapshot: roles %v eligible %v", u.Roles, u.EligibleRoles)
	}
	// A role-assignable group can be eligible too.
	err := g.s.AddGroup(fakegraph.ContosoTenantID, fakegraph.Group{DisplayName: "PIM Approvers", MailNickname: "pim", SecurityEnabled: true,
		IsAssignableToRole: true, EligibleRoles: []string{"Global Reader"}, Members: []string{"AdeleV@contoso.com"}})
	if err != nil {
		t.Fatal(err)
	}
	grp, _ := g.s.Group(fakegraph.ContosoTenantID, "PIM Approvers")
	if !slices.Equal(grp.EligibleRoles, []string{"Global Reader"}) || len(grp.Roles) != 0 {
		t.Errorf("group snapshot: roles %v eligible %v", grp.Roles, grp.EligibleRoles)
	}
	// Its members may activate it: the user snapshot says so.
	if u, _ := g.s.User(fakegraph.ContosoTenantID, "AdeleV@contoso.com"); !slices.Equal(u.EligibleRoles, []string{"Global Reader"}) {
		t.Errorf("member's eligible roles = %v", u.EligibleRoles)
	}
	items = values(t, g.do(http.MethodGet, elig+"?$filter="+urlEncode("principalId eq '"+grp.ID+"'"), nil))
	if len(items) != 1 || items[0]["roleDefinitionId"] != "f2ef992c-3afb-46b9-b7cf-a126ee74c451" {
		t.Errorf("group eligibility = %v", items)
	}
	// ne is documented; in and startswith are not.
	if items := values(t, g.do(http.MethodGet, elig+"?$filter="+urlEncode("principalId ne '"+grp.ID+"'"), nil)); len(items) != 1 || items[0]["principalId"] != fakegraph.ContosoEligiblePRAUserID {
		t.Errorf("ne: %v", items)
	}
	wantError(t, g.do(http.MethodGet, elig+"?$filter="+urlEncode("principalId in ('"+grp.ID+"')"), nil), http.StatusBadRequest, "BadRequest", "operator 'in' is not supported")
	wantError(t, g.do(http.MethodGet, elig+"?$filter="+urlEncode("startswith(memberType,'D')"), nil), http.StatusBadRequest, "BadRequest", "not supported")
}

func TestRoleAssignableGroupMembership(t *testing.T) {
	t.Parallel()
	adele := ref(fakegraph.ContosoAdeleID)
	helpdesk := "/v1.0/groups/" + fakegraph.ContosoHelpdeskID + "/members/$ref"
	tests := []struct {
		name   string
		method string
		path   string
		body   any
		perms  []string
		status int
	}{
		{"add without RoleManagement", http.MethodPost, helpdesk, adele, []string{"GroupMember.ReadWrite.All"}, http.StatusForbidden},
		{"Group.ReadWrite.All won't work", http.MethodPost, helpdesk, adele, []string{"Group.ReadWrite.All", "Directory.ReadWrite.All"}, http.StatusForbidden},
		{"RoleManagement alone is not enough", http.MethodPost, helpdesk, adele, []string{"RoleManagement.ReadWrite.Directory"}, http.StatusForbidden},
		{"add with both", http.MethodPost, helpdesk, adele, []string{"GroupMember.ReadWrite.All", "RoleManagement.ReadWrite.Directory"}, http.StatusNoContent},
		{"remove without RoleManagement", http.MethodDelete, "/v1.0/groups/" + fakegraph.ContosoHelpdeskID + "/members/" + fakegraph.ContosoGroupHelpdeskUserID + "/$ref", nil,
			[]string{"GroupMember.ReadWrite.All"}, http.StatusForbidden},
		{"remove with both", http.MethodDelete, "/v1.0/groups/" + fakegraph.ContosoHelpdeskID + "/members/" + fakegraph.ContosoGroupHelpdeskUserID + "/$ref", nil,
			[]string{"GroupMember.ReadWrite.All", "RoleManagement.ReadWrite.Directory"}, http.StatusNoContent},
		{"ordinary group needs no RoleManagement", http.MethodPost, "/v1.0/groups/" + fakegraph.ContosoFinanceSecurityID + "/members/$ref", adele,
			[]string{"GroupMember.ReadWrite.All"}, http.StatusNoContent},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g := newGraph(t, fakegraph.Options{})
			g.s.SetPermissions(fakegraph.ContosoTenantID, tc.perms)
			res := g.do(tc.method, tc.path, tc.body)
			if res.status != tc.status {
				t.Fatalf("%d, want %d: %s", res.status, tc.status, res.raw)
			}
			if tc.status == http.StatusForbidden {
				wantError(t, res, http.StatusForbidden, "Authorization_RequestDenied", "Insufficient privileges")
			}
		})
	}

	// Nesting through the API.
	g := newGraph(t, fakegraph.Options{})
	groupRef := func(id string) map[string]any {
		return map[string]any{"@odata.id": "https://graph.microsoft.com/v1.0/groups/" + id}
	}
	wantError(t, g.do(http.MethodPost, helpdesk, groupRef(fakegraph.ContosoBreakGlassID)), http.StatusBadRequest, "Request_BadRequest", "role-assignable")
	wantError(t, g.do(http.MethodPost, "/v1.0/groups/"+fakegraph.ContosoRetailID+"/members/$ref", groupRef(fakegraph.ContosoBreakGlassID)),
		http.StatusBadRequest, "Request_BadRequest", "Microsoft 365 group")
	if res := g.do(http.MethodPost, "/v1.0/groups/"+fakegraph.ContosoFinanceSecurityID+"/members/$ref", groupRef(fakegraph.ContosoBreakGlassID)); res.status != http.StatusNoContent {
		t.Fatalf("nest a security group: %d %s", res.status, res.raw)
	}
	var types []string
	for _, m := range values(t, g.do(http.MethodGet, "/v1.0/groups/"+fakegraph.ContosoFinanceSecurityID+"/members", nil)) {
		types = append(types, fmt.Sprint(m["@odata.type"], " ", m["displayName"]))
	}
	if !slices.Contains(types, "#microsoft.graph.group Break Glass Exclusions") {
		t.Errorf("members = %v", types)
	}
	if res := g.do(http.MethodDelete, "/v1.0/groups/"+fakegraph.ContosoFinanceSecurityID+"/members/"+fakegraph.ContosoBreakGlassID+"/$ref", nil); res.status != http.StatusNoContent {
		t.Errorf("remove nested group: %d %s", res.status, res.raw)
	}
}

func TestGroupsIsAssignableToRole(t *testing.T) {
	t.Parallel()
	g := newGraph(t, fakegraph.Options{})
	var names []string
	for _, it := range values(t, g.do(http.MethodGet, "/v1.0/groups?$filter="+urlEncode("isAssignableToRole eq true"), nil)) {
		names = append(names, it["displayName"].(string))
	}
	if !slices.Equal(names, []string{"Helpdesk Operators", "Tier 0 Admins"}) {
		t.Errorf("role-assignable groups = %v", names)
	}
	// Returned by default: true, or null for other groups.
	res := g.do(http.MethodGet, "/v1.0/groups/"+fakegraph.ContosoTier0AdminsID, nil)
	if v, ok := res.json["isAssignableToRole"]; !ok || v != true {
		t.Errorf("Tier 0 Admins: %s", res.raw)
	}
	res = g.do(http.MethodGet, "/v1.0/groups/"+fakegraph.ContosoFinanceSecurityID, nil)
	if v, ok := res.json["isAssignableToRole"]; !ok || v != nil {
		t.Errorf("Finance Security: %s", res.raw)
	}
	res = g.do(http.MethodGet, "/v1.0/groups/"+fakegraph.ContosoHelpdeskID+"?$select=isAssignableToRole", nil)
	if res.json["isAssignableToRole"] != true || res.json["displayName"] != nil {
		t.Errorf("$select: %s", res.raw)
	}
	for _, it := range values(t, g.do(http.MethodGet, "/v1.0/users/admin@contoso.com/memberOf", nil)) {
		if it["displayName"] == "Tier 0 Admins" && it["isAssignableToRole"] != true {
			t.Errorf("memberOf item = %v", it)
		}
	}
	// The Global Administrator role lists the user and the group.
	var members []string
	for _, r := range values(t, g.do(http.MethodGet, "/v1.0/directoryRoles", nil)) {
		if r["roleTemplateId"] != globalAdminRole {
			continue
		}
		for _, m := range values(t, g.do(http.MethodGet, "/v1.0/directoryRoles/"+r["id"].(string)+"/members", nil)) {
			members = append(members, m["displayName"].(string))
		}
	}
	if !slices.Equal(members, []string{"MOD Administrator", "Tier 0 Admins"}) {
		t.Errorf("Global Administrator members = %v", members)
	}
}

func TestRoleSeedRules(t *testing.T) {
	t.Parallel()
	s := start(t, fakegraph.Options{})
	user := fakegraph.User{ID: "aaaaaaaa-0000-4000-8000-000000000001", UserPrincipalName: "kim@rules.example", DisplayName: "Kim", AccountEnabled: true}
	seed := func(groups ...fakegraph.Group) fakegraph.TenantSeed {
		return fakegraph.TenantSeed{ID: "aaaaaaaa-0000-4000-8000-0000000000ff", Domains: []string{"rules.example"},
			Users: []fakegraph.User{user}, Groups: groups}
	}
	const g1, g2 = "bbbbbbbb-0000-4000-8000-000000000001", "bbbbbbbb-0000-4000-8000-000000000002"
	tests := map[string]fakegraph.TenantSeed{
		"roles on an ordinary group": seed(fakegraph.Group{ID: g1, DisplayName: "A", SecurityEnabled: true, Roles: []string{"Global Reader"}}),
		"eligibility on an ordinary group": seed(fakegraph.Group{ID: g1, DisplayName: "A", SecurityEnabled: true,
			EligibleRoles: []string{"Global Reader"}}),
		"role-assignable but not security": seed(fakegraph.Group{ID: g1, DisplayName: "A", IsAssignableToRole: true}),
		"role-assignable and dynamic": seed(fakegraph.Group{ID: g1, DisplayName: "A", SecurityEnabled: true, IsAssignableToRole: true,
			GroupTypes: []string{"DynamicMembership"}}),
		"group in a role-assignable group": seed(fakegraph.Group{ID: g1, DisplayName: "A", SecurityEnabled: true, IsAssignableToRole: true,
			MemberGroups: []string{"B"}}, fakegraph.Group{ID: g2, DisplayName: "B", SecurityEnabled: true}),
		"group in a Microsoft 365 group": seed(fakegraph.Group{ID: g1, DisplayName: "A", GroupTypes: []string{"Unified"}, MailEnabled: true,
			MemberGroups: []string{g2}}, fakegraph.Group{ID: g2, DisplayName: "B", SecurityEnabled: true}),
		"unknown member group":  seed(fakegraph.Group{ID: g1, DisplayName: "A", SecurityEnabled: true, MemberGroups: []string{"Nope"}}),
		"unknown role":          seed(fakegraph.Group{ID: g1, DisplayName: "A", SecurityEnabled: true, IsAssignableToRole: true, Roles: []string{"Nope"}}),
		"unknown eligible role": {ID: "aaaaaaaa-0000-4000-8000-0000000000ff", Domains: []string{"rules.example"}, Users: []fakegraph.User{{ID: user.ID, UserPrincipalName: user.UserPrincipalName, EligibleRoles: []string{"Nope"}}}},
	}
	for name, sd := range tests {
		if err := s.AddTenant(sd); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	// Nesting a security group in a security group is fine, declared in
	// either order.
	err := s.AddTenant(seed(fakegraph.Group{ID: g1, DisplayName: "A", SecurityEnabled: true, MemberGroups: []string{"B"}},
		fakegraph.Group{ID: g2, DisplayName: "B", SecurityEnabled: true, IsAssignableToRole: true, Roles: []string{"Global Reader"},
			Members: []string{"kim@rules.example"}}))
	if err != nil {
		t.Fatal(err)
	}
	if grp, _ := s.Group("rules.example", "A"); !slices.Equal(grp.MemberGroups, []string{g2}) {
		t.Errorf("member groups = %v", grp.MemberGroups)
	}
	// AddGroup and AddGroupMember apply the same rules.
	if err := s.AddGroup("rules.example", fakegraph.Group{DisplayName: "C", Roles: []string{"Global Reader"}}); err == nil {
		t.Error("AddGroup: roles on an ordinary group accepted")
	}
	if _, ok := s.Group("rules.example", "C"); ok {
		t.Error("a refused AddGroup left the group behind")
	}
	if err := s.AddGroupMember("rules.example", "B", "A"); err == nil {
		t.Error("AddGroupMember: group in a role-assignable group accepted")
	}
	if err := s.AddGroupMember("rules.example", "A", "kim@rules.example"); err != nil {
		t.Error(err)
	}
	if err := s.AddGroupMember("rules.example", "A", "kim@rules.example"); err == nil {
		t.Error("AddGroupMember: duplicate accepted")
	}
}
