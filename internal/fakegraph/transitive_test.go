package fakegraph_test

import (
	"fmt"
	"net/http"
	"slices"
	"testing"

	"github.com/cippbot/cippbot/internal/fakegraph"
)

// eventual is the header advanced queries need.
var eventual = http.Header{"ConsistencyLevel": {"eventual"}}

func TestTransitiveMemberOf(t *testing.T) {
	t.Parallel()
	g := newGraph(t, fakegraph.Options{})
	// Nest Break Glass Exclusions (Debra joins it) in a new security group.
	if err := g.s.AddGroup(fakegraph.ContosoDomain, fakegraph.Group{DisplayName: "Outer", MailNickname: "outer", SecurityEnabled: true,
		MemberGroups: []string{"Break Glass Exclusions"}}); err != nil {
		t.Fatal(err)
	}
	if err := g.s.AddGroupMember(fakegraph.ContosoDomain, fakegraph.ContosoBreakGlassID, fakegraph.ContosoGroupHelpdeskUPN); err != nil {
		t.Fatal(err)
	}
	// The request the client sends: no $select, since a directoryObject
	// has none of a group's properties until cast.
	res := g.do(http.MethodGet, "/v1.0/users/"+fakegraph.ContosoGroupHelpdeskUserID+"/transitiveMemberOf", nil)
	items := values(t, res)
	var got []string
	for _, it := range items {
		got = append(got, fmt.Sprint(it["@odata.type"], " ", it["displayName"], " ", it["isAssignableToRole"]))
	}
	for _, it := range values(t, g.do(http.MethodGet, "/v1.0/users/"+fakegraph.ContosoGroupHelpdeskUserID+"/transitiveMemberOf?$select=id", nil)) {
		for k := range it {
			if k != "@odata.type" && k != "id" {
				t.Errorf("unselected property %s in %v", k, it)
			}
		}
	}
	want := []string{
		"#microsoft.graph.group All Company <nil>",
		"#microsoft.graph.group Helpdesk Operators true",
		"#microsoft.graph.group Break Glass Exclusions <nil>",
		"#microsoft.graph.group Outer <nil>",
		// Held through Helpdesk Operators.
		"#microsoft.graph.directoryRole Helpdesk Administrator <nil>",
	}
	if !slices.Equal(got, want) {
		t.Errorf("transitiveMemberOf =\n%v\nwant\n%v", got, want)
	}
	if res.json["@odata.context"] != "https://graph.microsoft.com/v1.0/$metadata#directoryObjects" {
		t.Errorf("context = %v", res.json["@odata.context"])
	}
	// memberOf stays direct: no Outer, no role.
	var direct []string
	for _, it := range values(t, g.do(http.MethodGet, "/v1.0/users/"+fakegraph.ContosoGroupHelpdeskUserID+"/memberOf", nil)) {
		direct = append(direct, it["displayName"].(string))
	}
	if slices.Contains(direct, "Outer") || slices.Contains(direct, "Helpdesk Administrator") {
		t.Errorf("memberOf = %v", direct)
	}

	// The OData cast needs ConsistencyLevel: eventual and $count=true.
	cast := "/v1.0/users/" + fakegraph.ContosoGroupHelpdeskUPN + "/transitiveMemberOf/microsoft.graph.group"
	wantError(t, g.do(http.MethodGet, cast, nil), http.StatusBadRequest, "Request_UnsupportedQuery", "ConsistencyLevel:eventual")
	wantError(t, g.getWith(cast, eventual), http.StatusBadRequest, "Request_UnsupportedQuery", "$count=true")
	res = g.getWith(cast+"?$count=true&$select=id,displayName", eventual)
	items = values(t, res)
	if len(items) != 4 || res.json["@odata.count"] != float64(4) || items[0]["@odata.type"] != nil ||
		res.json["@odata.context"] != "https://graph.microsoft.com/v1.0/$metadata#groups(id,displayName)" {
		t.Errorf("cast: %s", res.raw)
	}
	res = g.getWith("/v1.0/users/"+fakegraph.ContosoGroupHelpdeskUPN+"/transitiveMemberOf/microsoft.graph.directoryRole?$count=true", eventual)
	if items := values(t, res); len(items) != 1 || items[0]["roleTemplateId"] != helpdeskAdminRole {
		t.Errorf("directoryRole cast: %s", res.raw)
	}
	wantError(t, g.getWith(cast+"?$count=true&$select=roleTemplateId", eventual), http.StatusBadRequest, "BadRequest", "microsoft.graph.group")
	// So do $filter and $orderby.
	tmo := "/v1.0/users/" + fakegraph.ContosoGroupHelpdeskUPN + "/transitiveMemberOf"
	wantError(t, g.do(http.MethodGet, tmo+"?$filter="+urlEncode("id eq '"+fakegraph.ContosoBreakGlassID+"'"), nil), http.StatusBadRequest, "Request_UnsupportedQuery", "$filter")
	if items := values(t, g.getWith(tmo+"?$count=true&$filter="+urlEncode("id eq '"+fakegraph.ContosoBreakGlassID+"'"), eventual)); len(items) != 1 {
		t.Errorf("advanced $filter: %v", items)
	}
	// A group's displayName is not a directoryObject's: filtering on it
	// needs the cast.
	wantError(t, g.getWith(tmo+"?$count=true&$filter="+urlEncode("displayName eq 'Outer'"), eventual), http.StatusBadRequest, "BadRequest",
		"Could not find a property named 'displayName' on type 'microsoft.graph.directoryObject'.")
	if items := values(t, g.getWith(tmo+"/microsoft.graph.group?$count=true&$filter="+urlEncode("displayName eq 'Outer'"), eventual)); len(items) != 1 {
		t.Errorf("advanced $filter after the cast: %v", items)
	}
	wantError(t, g.do(http.MethodGet, tmo+"?$expand=members", nil), http.StatusBadRequest, "BadRequest",
		"Could not find a property named 'members' on type 'microsoft.graph.directoryObject'.")
	g.s.ExpectUnhandled(http.MethodGet, tmo+"/microsoft.graph.user")
	wantError(t, g.do(http.MethodGet, tmo+"/microsoft.graph.user", nil), http.StatusBadRequest, "BadRequest", "microsoft.graph.user")
	if res := g.do(http.MethodGet, "/v1.0/users/nobody@contoso.com/transitiveMemberOf", nil); res.status != http.StatusNotFound {
		t.Errorf("unknown user: %d", res.status)
	}
}

func TestTransitiveMemberOfPaging(t *testing.T) {
	t.Parallel()
	s := start(t, fakegraph.Options{})
	const uid = "aaaaaaaa-0000-4000-8000-000000000001"
	err := s.AddTenant(fakegraph.TenantSeed{ID: "aaaaaaaa-0000-4000-8000-0000000000ee", Domains: []string{"paging.example"},
		Users: []fakegraph.User{{ID: uid, UserPrincipalName: "pat@paging.example", DisplayName: "Pat", AccountEnabled: true}}})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 150 {
		if err := s.AddGroup("paging.example", fakegraph.Group{DisplayName: fmt.Sprintf("Group %03d", i), SecurityEnabled: true,
			Members: []string{"pat@paging.example"}}); err != nil {
			t.Fatal(err)
		}
	}
	g := tenantGraph(t, s, "paging.example")
	for _, rel := range []string{"transitiveMemberOf", "memberOf"} {
		res := g.do(http.MethodGet, "/v1.0/users/"+uid+"/"+rel, nil)
		first := values(t, res)
		next, _ := res.json["@odata.nextLink"].(string)
		if len(first) != 100 || next == "" {
			t.Fatalf("%s first page: %d items, next %q", rel, len(first), next)
		}
		res = g.do(http.MethodGet, relativePath(t, s, next), nil)
		second := values(t, res)
		if len(second) != 50 || res.json["@odata.nextLink"] != nil {
			t.Errorf("%s second page: %d items, next %v", rel, len(second), res.json["@odata.nextLink"])
		}
		if second[49]["displayName"] != "Group 149" || second[49]["isAssignableToRole"] != nil {
			t.Errorf("%s last item = %v", rel, second[49])
		}
	}
	if items := values(t, g.do(http.MethodGet, "/v1.0/users/"+uid+"/transitiveMemberOf?$top=999", nil)); len(items) != 150 {
		t.Errorf("$top=999: %d items", len(items))
	}
	wantError(t, g.do(http.MethodGet, "/v1.0/users/"+uid+"/transitiveMemberOf?$top=1000", nil), http.StatusBadRequest, "Request_UnsupportedQuery", "between 1 and 999")
}
