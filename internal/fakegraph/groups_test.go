package fakegraph_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/cippbot/cippbot/internal/fakegraph"
)

// ref is an add-member request body.
func ref(id string) map[string]any {
	return map[string]any{"@odata.id": "https://graph.microsoft.com/v1.0/directoryObjects/" + id}
}

func TestAddMember(t *testing.T) {
	t.Parallel()
	g := newGraph(t, fakegraph.Options{})
	path := "/v1.0/groups/" + fakegraph.ContosoRetailID + "/members/%24ref"
	if res := g.do(http.MethodPost, path, ref(fakegraph.ContosoMeganID)); res.status != http.StatusNoContent {
		t.Fatalf("first add: %d %s", res.status, res.raw)
	}
	res := g.do(http.MethodPost, strings.Replace(path, "%24", "$", 1), ref(fakegraph.ContosoMeganID))
	wantError(t, res, http.StatusBadRequest, "Request_BadRequest",
		"One or more added object references already exist for the following modified properties: 'members'.")
	grp, _ := g.s.Group(fakegraph.ContosoTenantID, fakegraph.ContosoRetailID)
	if !slices.Contains(grp.Members, fakegraph.ContosoMeganID) {
		t.Errorf("members = %v", grp.Members)
	}
	if u, _ := g.s.User(fakegraph.ContosoTenantID, fakegraph.ContosoMeganID); !slices.Contains(u.Groups, fakegraph.ContosoRetailID) {
		t.Errorf("user groups = %v", u.Groups)
	}
	members := values(t, g.do(http.MethodGet, "/v1.0/groups/"+fakegraph.ContosoRetailID+"/members", nil))
	var names []string
	for _, m := range members {
		names = append(names, m["displayName"].(string))
		if m["@odata.type"] != "#microsoft.graph.user" {
			t.Errorf("member type %v", m["@odata.type"])
		}
	}
	if !slices.Contains(names, "Megan Bowen") {
		t.Errorf("members = %v", names)
	}
	del := "/v1.0/groups/" + fakegraph.ContosoRetailID + "/members/" + fakegraph.ContosoMeganID + "/$ref"
	if res := g.do(http.MethodDelete, del, nil); res.status != http.StatusNoContent {
		t.Fatalf("remove: %d %s", res.status, res.raw)
	}
	wantError(t, g.do(http.MethodDelete, del, nil), http.StatusNotFound, "Request_ResourceNotFound", fakegraph.ContosoMeganID)
}

func TestAddMemberErrors(t *testing.T) {
	t.Parallel()
	g := newGraph(t, fakegraph.Options{})
	const locked = "Cannot Update a mail-enabled security groups and or distribution list."
	tests := []struct {
		name   string
		group  string
		body   map[string]any
		status int
		code   string
		msg    string
	}{
		{"distribution list", fakegraph.ContosoNewsletterID, ref(fakegraph.ContosoAdeleID), 400, "Request_BadRequest", locked},
		{"mail-enabled security", fakegraph.ContosoITMailSecurityID, ref(fakegraph.ContosoAdeleID), 400, "Request_BadRequest", locked},
		{"unknown object", fakegraph.ContosoHelpdeskID, ref("00000000-0000-0000-0000-0000000000aa"), 404, "Request_ResourceNotFound", "does not exist"},
		{"unknown group", "00000000-0000-0000-0000-0000000000bb", ref(fakegraph.ContosoAdeleID), 404, "Request_ResourceNotFound", "does not exist"},
		{"bad reference", fakegraph.ContosoHelpdeskID, map[string]any{"@odata.id": "AdeleV@contoso.com"}, 400, "Request_BadRequest", "Invalid object identifier"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := g.do(http.MethodPost, "/v1.0/groups/"+tc.group+"/members/$ref", tc.body)
			wantError(t, res, tc.status, tc.code, tc.msg)
		})
	}
	usersPath := map[string]any{"@odata.id": "https://graph.microsoft.com/v1.0/users/" + fakegraph.ContosoAdeleID}
	if res := g.do(http.MethodPost, "/v1.0/groups/"+fakegraph.ContosoHelpdeskID+"/members/$ref", usersPath); res.status != http.StatusNoContent {
		t.Errorf("security group add: %d %s", res.status, res.raw)
	}
}

func TestGroups(t *testing.T) {
	t.Parallel()
	g := newGraph(t, fakegraph.Options{})
	res := g.do(http.MethodGet, "/v1.0/groups/"+fakegraph.ContosoMark8ID+"?$select=displayName,groupTypes,mailEnabled,securityEnabled", nil)
	if res.json["displayName"] != "Mark 8 Project Team" || res.json["mailEnabled"] != true || res.json["securityEnabled"] != false {
		t.Errorf("group = %s", res.raw)
	}
	if _, ok := res.json["description"]; ok {
		t.Error("$select ignored")
	}
	tests := []struct {
		filter string
		want   []string
	}{
		{"displayName eq 'finance security'", []string{"Finance Security"}},
		{"startswith(displayName,'Mark')", []string{"Mark 8 Project Team"}},
		{"displayName eq 'Retail' or displayName eq 'All Company'", []string{"All Company", "Retail"}},
	}
	for _, tc := range tests {
		var got []string
		for _, v := range values(t, g.do(http.MethodGet, "/v1.0/groups?$filter="+urlEncode(tc.filter), nil)) {
			got = append(got, v["displayName"].(string))
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s: got %v, want %v", tc.filter, got, tc.want)
		}
	}
}

func TestMemberOf(t *testing.T) {
	t.Parallel()
	g := newGraph(t, fakegraph.Options{})
	items := values(t, g.do(http.MethodGet, "/v1.0/users/admin@contoso.com/memberOf", nil))
	var roles, groups []string
	for _, it := range items {
		switch it["@odata.type"] {
		case "#microsoft.graph.directoryRole":
			roles = append(roles, it["displayName"].(string))
			if it["displayName"] == "Global Administrator" && it["roleTemplateId"] != "62e90394-69f5-4237-9190-012177145e10" {
				t.Errorf("roleTemplateId = %v", it["roleTemplateId"])
			}
		case "#microsoft.graph.group":
			groups = append(groups, it["displayName"].(string))
			for _, k := range []string{"groupTypes", "mailEnabled", "securityEnabled"} {
				if _, ok := it[k]; !ok {
					t.Errorf("group lacks %s", k)
				}
			}
		default:
			t.Errorf("unexpected type %v", it["@odata.type"])
		}
	}
	if !slices.Equal(roles, []string{"Global Administrator"}) || !slices.Contains(groups, "Helpdesk Operators") {
		t.Errorf("roles %v groups %v", roles, groups)
	}
}
