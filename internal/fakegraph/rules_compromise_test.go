package fakegraph_test

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cippbot/cippbot/internal/fakegraph"
)

// allPages follows @odata.nextLink from path and returns every item.
func (g *graph) allPages(path string) ([]map[string]any, int) {
	g.t.Helper()
	var out []map[string]any
	pages := 0
	for path != "" {
		res := g.do(http.MethodGet, path, nil)
		out = append(out, values(g.t, res)...)
		pages++
		next, _ := res.json["@odata.nextLink"].(string)
		if next != "" && !strings.HasPrefix(next, g.s.URL()+"/") {
			g.t.Fatalf("next link %q does not point at the server", next)
		}
		path = strings.TrimPrefix(next, g.s.URL())
	}
	return out, pages
}

// signInsSince lists a user's sign-ins since a time, five per page.
func (g *graph) signInsSince(userID string, since time.Time) ([]map[string]any, int) {
	g.t.Helper()
	filter := "userId eq '" + userID + "' and createdDateTime ge " + since.UTC().Format(time.RFC3339)
	return g.allPages("/v1.0/auditLogs/signIns?$filter=" + url.QueryEscape(filter) + "&$top=5")
}

// at returns the value at a path of nested objects, e.g. "location/countryOrRegion".
func at(m map[string]any, path string) any {
	var v any = m
	for _, k := range strings.Split(path, "/") {
		o, _ := v.(map[string]any)
		v = o[k]
	}
	return v
}

// parseTime parses a Graph DateTimeOffset.
func parseTime(t *testing.T, v any) time.Time {
	t.Helper()
	s, _ := v.(string)
	out, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatalf("time %v: %v", v, err)
	}
	return out
}

func TestCompromisedIsaiah(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	clock := &fixedClock{t: now}
	g := newGraph(t, fakegraph.Options{Now: clock.Now})
	week := now.Add(-7 * 24 * time.Hour)

	// Sign-ins: a high-risk success from Lagos after six failures from
	// the same address, against a history from the US only.
	recent, pages := g.signInsSince(fakegraph.ContosoIsaiahID, week)
	if pages < 2 {
		t.Errorf("%d sign-ins on %d page(s): no paging", len(recent), pages)
	}
	var foreignOK, failures int
	for _, si := range recent {
		if ts := parseTime(t, si["createdDateTime"]); ts.Before(week) || si["userId"] != fakegraph.ContosoIsaiahID {
			t.Errorf("outside the filter: %v %v", ts, si["userId"])
		}
		code := at(si, "status/errorCode")
		if at(si, "location/countryOrRegion") != "NG" {
			continue
		}
		if si["ipAddress"] != fakegraph.ContosoIsaiahAttackIP {
			t.Errorf("foreign sign-in from %v", si["ipAddress"])
		}
		switch code {
		case float64(0):
			foreignOK++
			if si["riskLevelDuringSignIn"] != "high" || si["riskState"] != "atRisk" || si["isInteractive"] != true || at(si, "location/city") != "Lagos" {
				t.Errorf("foreign success = %v", si)
			}
			if ago := now.Sub(parseTime(t, si["createdDateTime"])); ago < 12*time.Hour || ago > 36*time.Hour {
				t.Errorf("foreign success %v ago, want about a day", ago)
			}
		case float64(50126):
			failures++
		}
	}
	if foreignOK != 1 || failures < 5 {
		t.Errorf("foreign successes %d, failures %d", foreignOK, failures)
	}
	older, _ := g.allPages("/v1.0/auditLogs/signIns?$filter=" + url.QueryEscape("userId eq '"+fakegraph.ContosoIsaiahID+"'"))
	baseline := 0
	for _, si := range older {
		if parseTime(t, si["createdDateTime"]).Before(week) {
			baseline++
			if at(si, "location/countryOrRegion") != "US" || at(si, "status/errorCode") != float64(0) {
				t.Errorf("baseline sign-in = %v", si)
			}
		}
	}
	if baseline == 0 || len(older) != len(recent)+baseline {
		t.Errorf("%d sign-ins, %d recent, %d before", len(older), len(recent), baseline)
	}

	// An Authenticator registered yesterday; phone methods carry no date.
	methods := values(t, g.do(http.MethodGet, "/v1.0/users/"+fakegraph.ContosoIsaiahID+"/authentication/methods", nil))
	var authenticator bool
	for _, m := range methods {
		switch m["@odata.type"] {
		case "#microsoft.graph.microsoftAuthenticatorAuthenticationMethod":
			authenticator = true
			if ago := now.Sub(parseTime(t, m["createdDateTime"])); ago < 12*time.Hour || ago > 36*time.Hour {
				t.Errorf("Authenticator registered %v ago", ago)
			}
		case "#microsoft.graph.phoneAuthenticationMethod":
			if _, ok := m["createdDateTime"]; ok {
				t.Errorf("phone method has createdDateTime: %v", m)
			}
		}
	}
	if !authenticator {
		t.Errorf("no Authenticator: %v", methods)
	}

	// A password change two days ago.
	u := g.do(http.MethodGet, "/v1.0/users/"+fakegraph.ContosoIsaiahID+"?$select=lastPasswordChangeDateTime,accountEnabled,displayName", nil)
	if ago := now.Sub(parseTime(t, u.json["lastPasswordChangeDateTime"])); ago < 40*time.Hour || ago > 60*time.Hour {
		t.Errorf("password changed %v ago", ago)
	}

	// A new app from an outside publisher, which Isaiah consented to: the
	// directory audit log has it (v1.0's servicePrincipal has no creation
	// time), the service principal its owner and publisher.
	filter := "activityDateTime ge " + week.Format(time.RFC3339) +
		" and (activityDisplayName eq 'Add service principal' or activityDisplayName eq 'Consent to application')"
	events := values(t, g.do(http.MethodGet, "/v1.0/auditLogs/directoryAudits?$filter="+url.QueryEscape(filter), nil))
	var got []string
	for _, e := range events {
		target := e["targetResources"].([]any)[0].(map[string]any)
		got = append(got, fmt.Sprint(e["activityDisplayName"], " ", target["type"], " ", target["displayName"], " ", at(e, "initiatedBy/user/id")))
		if ago := now.Sub(parseTime(t, e["activityDateTime"])); ago < 50*time.Hour || ago > 52*time.Hour {
			t.Errorf("%v %v ago", e["activityDisplayName"], ago)
		}
	}
	want := []string{"Consent to application ServicePrincipal Mail Backup Pro " + fakegraph.ContosoIsaiahID,
		"Add service principal ServicePrincipal Mail Backup Pro " + fakegraph.ContosoIsaiahID}
	if !slices.Equal(got, want) {
		t.Fatalf("new apps = %v, want %v", got, want)
	}
	spID := events[0]["targetResources"].([]any)[0].(map[string]any)["id"].(string)
	sp := g.do(http.MethodGet, "/v1.0/servicePrincipals/"+spID+"?$select=id,appId,displayName,verifiedPublisher,appOwnerOrganizationId", nil)
	if sp.json["appId"] != fakegraph.ContosoSuspiciousAppID || sp.json["appOwnerOrganizationId"] != fakegraph.ContosoSuspiciousAppOwner ||
		at(sp.json, "verifiedPublisher/displayName") != nil {
		t.Errorf("new app = %s", sp.raw)
	}
}

func TestCleanAdele(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	g := newGraph(t, fakegraph.Options{Now: (&fixedClock{t: now}).Now})
	week := now.Add(-7 * 24 * time.Hour)
	all, _ := g.signInsSince(fakegraph.ContosoAdeleID, now.Add(-30*24*time.Hour))
	if len(all) == 0 {
		t.Fatal("no sign-ins")
	}
	for _, si := range all {
		if at(si, "location/countryOrRegion") != "US" || at(si, "status/errorCode") != float64(0) || si["riskLevelDuringSignIn"] != "none" {
			t.Errorf("sign-in = %v", si)
		}
	}
	rules := values(t, g.do(http.MethodGet, "/v1.0/users/"+fakegraph.ContosoAdeleID+"/mailFolders/inbox/messageRules", nil))
	if len(rules) != 1 || rules[0]["id"] != fakegraph.ContosoAdeleRuleID {
		t.Fatalf("rules = %v", rules)
	}
	act := rules[0]["actions"].(map[string]any)
	if act["forwardTo"] != nil || act["redirectTo"] != nil || act["delete"] != nil {
		t.Errorf("actions = %v", act)
	}
	folder := g.do(http.MethodGet, "/v1.0/users/"+fakegraph.ContosoAdeleID+"/mailFolders/"+act["moveToFolder"].(string), nil)
	if folder.json["displayName"] != "Newsletters" {
		t.Errorf("folder = %s", folder.raw)
	}
	for _, m := range values(t, g.do(http.MethodGet, "/v1.0/users/"+fakegraph.ContosoAdeleID+"/authentication/methods", nil)) {
		if c, ok := m["createdDateTime"]; ok && m["@odata.type"] != "#microsoft.graph.passwordAuthenticationMethod" && parseTime(t, c).After(week) {
			t.Errorf("recent method: %v", m)
		}
	}
	u := g.do(http.MethodGet, "/v1.0/users/"+fakegraph.ContosoAdeleID+"?$select=lastPasswordChangeDateTime", nil)
	if parseTime(t, u.json["lastPasswordChangeDateTime"]).After(week) {
		t.Errorf("recent password change: %s", u.raw)
	}
	if s := g.s.InboxRules(fakegraph.ContosoTenantID, fakegraph.ContosoAdeleID); len(s) != 1 || !slices.Equal(s[0].FromAddresses, []string{"newsletter@contoso.com"}) {
		t.Errorf("InboxRules = %+v", s)
	}
}

func TestSignInTimeFilter(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	g := newGraph(t, fakegraph.Options{Now: (&fixedClock{t: now}).Now})
	day := now.Add(-24 * time.Hour).Format(time.RFC3339)
	for _, f := range []string{"createdDateTime ge " + day, "createdDateTime gt " + day + " and userPrincipalName eq 'MeganB@contoso.com'",
		"(userId eq '" + fakegraph.ContosoMeganID + "') and createdDateTime ge '" + day + "'"} {
		items, _ := g.allPages("/v1.0/auditLogs/signIns?$filter=" + url.QueryEscape(f))
		if len(items) == 0 {
			t.Errorf("%s: nothing", f)
		}
		for _, si := range items {
			if parseTime(t, si["createdDateTime"]).Before(now.Add(-24 * time.Hour)) {
				t.Errorf("%s: %v", f, si["createdDateTime"])
			}
		}
	}
	old, _ := g.allPages("/v1.0/auditLogs/signIns?$filter=" + url.QueryEscape("createdDateTime lt "+now.Add(-20*24*time.Hour).Format(time.RFC3339)))
	for _, si := range old {
		if !parseTime(t, si["createdDateTime"]).Before(now.Add(-20 * 24 * time.Hour)) {
			t.Errorf("lt: %v", si["createdDateTime"])
		}
	}
	wantError(t, g.do(http.MethodGet, "/v1.0/auditLogs/signIns?$filter="+url.QueryEscape("createdDateTime ge 2026-13-45"), nil),
		http.StatusBadRequest, "BadRequest", "DateTimeOffset")
	wantError(t, g.do(http.MethodGet, "/v1.0/auditLogs/signIns?$filter="+url.QueryEscape("createdDateTime ge "+day+" or userId eq 'x'"), nil),
		http.StatusBadRequest, "BadRequest", "Invalid filter clause")
}
