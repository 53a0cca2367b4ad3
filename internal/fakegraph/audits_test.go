package fakegraph_test

import (
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/cippbot/cippbot/internal/fakegraph"
)

const audits = "/v1.0/auditLogs/directoryAudits"

// auditsFiltered lists the directory audit events a $filter keeps.
func (g *graph) auditsFiltered(filter string) response {
	g.t.Helper()
	return g.do(http.MethodGet, audits+"?$filter="+url.QueryEscape(filter), nil)
}

func TestDirectoryAudits(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	clock := &fixedClock{t: now}
	g := newGraph(t, fakegraph.Options{Now: clock.Now})
	const ownApp, oldApp = "0b7e6f3a-2c1d-4e5f-8a9b-1c2d3e4f5a6b", "1c8f7a4b-3d2e-4f6a-9b0c-2d3e4f5a6b7c"
	if err := g.s.AddServicePrincipal(fakegraph.ContosoDomain, fakegraph.ServicePrincipal{AppID: ownApp, DisplayName: "Contoso Expenses",
		AppOwnerOrganizationID: fakegraph.ContosoTenantID}); err != nil {
		t.Fatal(err)
	}
	// Older than the 30 days Entra keeps audit logs.
	if err := g.s.AddServicePrincipal(fakegraph.ContosoDomain, fakegraph.ServicePrincipal{AppID: oldApp, DisplayName: "Old Tool",
		CreatedAgo: 40 * 24 * time.Hour}); err != nil {
		t.Fatal(err)
	}
	if err := g.s.AddServicePrincipal(fakegraph.ContosoDomain, fakegraph.ServicePrincipal{AppID: ownApp, DisplayName: "Again"}); err == nil {
		t.Error("a second service principal of an app was added")
	}

	res := g.do(http.MethodGet, audits, nil)
	all := values(t, res)
	if res.json["@odata.context"] != "https://graph.microsoft.com/v1.0/$metadata#auditLogs/directoryAudits" {
		t.Errorf("context: %v", res.json["@odata.context"])
	}
	var names []string
	for _, e := range all {
		names = append(names, at(e, "activityDisplayName").(string)+": "+e["targetResources"].([]any)[0].(map[string]any)["displayName"].(string))
		if e["category"] != "ApplicationManagement" || e["loggedByService"] != "Core Directory" || e["result"] != "success" {
			t.Errorf("event = %v", e)
		}
	}
	want := []string{"Add service principal: Contoso Expenses", "Consent to application: Mail Backup Pro", "Add service principal: Mail Backup Pro"}
	if len(names) != len(want) {
		t.Fatalf("events = %v, want %v", names, want)
	}
	for i := range want {
		if names[i] != want[i] {
			t.Errorf("events = %v, want %v (newest first)", names, want)
			break
		}
	}
	if at(all[0], "initiatedBy/user") != nil || at(all[1], "initiatedBy/user/userPrincipalName") == nil {
		t.Errorf("initiators: %v / %v", all[0]["initiatedBy"], all[1]["initiatedBy"])
	}

	// One event by id.
	id := all[1]["id"].(string)
	if one := g.do(http.MethodGet, audits+"/"+url.PathEscape(id), nil); one.json["id"] != id {
		t.Errorf("GET one: %s", one.raw)
	}
	wantError(t, g.do(http.MethodGet, audits+"/nope", nil), http.StatusNotFound, "Request_ResourceNotFound", "nope")

	// $filter as documented: activityDateTime eq, ge, le; activityDisplayName eq, startswith.
	day := now.Add(-24 * time.Hour).Format(time.RFC3339)
	if got := values(t, g.auditsFiltered("activityDateTime ge "+day)); len(got) != 1 {
		t.Errorf("since a day: %v", got)
	}
	if got := values(t, g.auditsFiltered("activityDateTime le "+day+" and activityDisplayName eq 'Consent to application'")); len(got) != 1 {
		t.Errorf("consents before a day: %v", got)
	}
	if got := values(t, g.auditsFiltered("startswith(activityDisplayName,'Add ')")); len(got) != 2 {
		t.Errorf("startswith: %v", got)
	}
	if got := values(t, g.auditsFiltered("activityDateTime ge "+now.Add(-7*24*time.Hour).Format(time.RFC3339)+
		" and (activityDisplayName eq 'Add service principal' or activityDisplayName eq 'Consent to application')")); len(got) != 3 {
		t.Errorf("added or consented in a week: %v", got)
	}
	if got := values(t, g.auditsFiltered("initiatedBy/user/id eq '"+fakegraph.ContosoIsaiahID+"'")); len(got) != 2 {
		t.Errorf("by Isaiah: %v", got)
	}
	wantError(t, g.auditsFiltered("activityDateTime gt "+day), http.StatusBadRequest, "BadRequest", "operator 'gt'")
	wantError(t, g.auditsFiltered("category eq 'ApplicationManagement'"), http.StatusBadRequest, "BadRequest", "'category' is not supported")
	wantError(t, g.auditsFiltered("loggedByService ne 'x'"), http.StatusBadRequest, "BadRequest", "operator 'ne'")
	wantError(t, g.auditsFiltered("appId eq 'x'"), http.StatusBadRequest, "BadRequest",
		"Could not find a property named 'appId' on type 'microsoft.graph.directoryAudit'.")

	// $orderby activityDateTime, $top and paging.
	asc := values(t, g.do(http.MethodGet, audits+"?$orderby=activityDateTime%20asc", nil))
	if len(asc) != 3 || asc[0]["id"] != all[2]["id"] {
		t.Errorf("ascending: %v", asc)
	}
	wantError(t, g.do(http.MethodGet, audits+"?$orderby=category", nil), http.StatusBadRequest, "Request_UnsupportedQuery", "category")
	items, pages := g.allPages(audits + "?$top=1")
	if len(items) != 3 || pages != 3 {
		t.Errorf("$top=1: %d items on %d pages", len(items), pages)
	}

	// Retention: an event ages out after 30 days.
	clock.Set(now.Add(29 * 24 * time.Hour))
	g.tok = token(t, g.s)
	if got := values(t, g.do(http.MethodGet, audits, nil)); len(got) != 1 {
		t.Errorf("29 days later: %v", got)
	}
}

func TestDirectoryAuditsPermissions(t *testing.T) {
	t.Parallel()
	g := newGraph(t, fakegraph.Options{})
	// "AuditLog.Read.All and Directory.Read.All"
	// (https://learn.microsoft.com/en-us/graph/api/directoryaudit-list).
	for _, tc := range []struct {
		perms []string
		ok    bool
	}{
		{[]string{"AuditLog.Read.All"}, false},
		{[]string{"Directory.Read.All"}, false},
		{[]string{"AuditLog.Read.All", "Directory.Read.All"}, true},
		{[]string{"AuditLog.Read.All", "Directory.ReadWrite.All"}, true},
	} {
		g.s.SetPermissions(fakegraph.ContosoTenantID, tc.perms)
		res := g.do(http.MethodGet, audits, nil)
		if tc.ok && res.status != http.StatusOK {
			t.Errorf("%v: %d %s", tc.perms, res.status, res.raw)
		}
		if !tc.ok {
			wantError(t, res, http.StatusForbidden, "Authorization_RequestDenied", "Insufficient privileges")
		}
	}
}
