package fakegraph

import (
	"bytes"
	"net/url"
	"strings"
	"testing"
	"time"
)

// TestSchemaParses parses the embedded v1.0 schema and reports how long
// it takes; the server parses it once per process.
func TestSchemaParses(t *testing.T) {
	t.Parallel()
	start := time.Now()
	m, err := parseCSDL(bytes.NewReader(graphV1CSDL))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("parsed %d bytes in %v: %d types, %d entity sets and singletons", len(graphV1CSDL), time.Since(start), len(m.types), len(m.sources))
	for _, name := range []string{"users", "groups", "servicePrincipals", "sites", "auditLogs", "directory", "roleManagement", "identity"} {
		if m.sources[strings.ToLower(name)] == nil {
			t.Errorf("no %s", name)
		}
	}
	u := m.typeOf("microsoft.graph.user")
	if u == nil || u.property("displayName") == nil || u.property("manager") == nil || !u.property("manager").nav ||
		u.base == nil || u.base.name != "microsoft.graph.directoryObject" {
		t.Errorf("user = %+v", u)
	}
	if op := m.boundOperation("microsoft.graph.restore", m.typeOf("microsoft.graph.user"), false); op == nil || !op.action {
		t.Error("restore is not bound to user through directoryObject")
	}
}

// checkURL runs the schema check on a v1.0 request.
func checkURL(method, target, body string) *reply {
	p, q, _ := strings.Cut(target, "?")
	c := &call{version: "v1.0", method: method, segs: splitEscaped(p), body: []byte(body), query: url.Values{}}
	vals, _ := url.ParseQuery(q)
	for k, v := range vals {
		c.query[strings.ToLower(k)] = v
	}
	_, rep := checkV1Request(c)
	return rep
}

// TestSchemaAllows lists requests the schema allows, several of which a
// looser reading would refuse or a stricter one reject.
func TestSchemaAllows(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ method, url, body string }{
		{"GET", "/users/a@b.com?$select=id,displayName,assignedLicenses", ""},
		{"GET", "/users?$filter=assignedLicenses/any(x:x/skuId eq 6fd2c87f-b296-42f0-b197-1e91e994b900)", ""},
		{"GET", "/users?$filter=assignedLicenses/any(x: x/skuId eq 6fd2c87f-b296-42f0-b197-1e91e994b900) and accountEnabled eq true", ""},
		{"GET", "/users?$filter=proxyAddresses/any(p:startswith(p,'smtp:'))", ""},
		{"GET", "/users?$filter=startswith(displayName,'A') or endswith(mail,'@contoso.com')", ""},
		{"GET", "/users?$filter=not(accountEnabled eq true) and createdDateTime ge 2026-01-01T00:00:00Z", ""},
		{"GET", "/users?$filter=userType in ('Guest','Member')&$orderby=displayName desc,userPrincipalName", ""},
		{"GET", "/users?$filter=extension_abc123_costCenter eq 'x'", ""},
		{"GET", "/groups?$filter=groupTypes/any(c:c eq 'Unified')&$select=id,displayName", ""},
		{"GET", "/groups/1/members/$count", ""},
		{"GET", "/groups/1/members/microsoft.graph.user?$select=displayName,mail", ""},
		{"GET", "/groups/1/members/microsoft.graph.user/$count", ""},
		{"POST", "/groups/1/members/$ref", `{"@odata.id":"https://graph.microsoft.com/v1.0/directoryObjects/2"}`},
		{"DELETE", "/groups/1/members/2/$ref", ""},
		{"PUT", "/users/1/manager/$ref", `{"@odata.id":"https://graph.microsoft.com/v1.0/users/2"}`},
		{"GET", "/users/1?$expand=manager($select=id)", ""},
		{"GET", "/users/1?$expand=manager/microsoft.graph.user($select=id,displayName)", ""},
		{"GET", "/users/1?$expand=memberOf/microsoft.graph.group($select=displayName)", ""},
		{"GET", "/users/1/transitiveMemberOf/microsoft.graph.directoryRole?$select=roleTemplateId", ""},
		{"POST", "/directory/deletedItems/1/restore", ""},
		{"POST", "/directory/deletedItems/1/microsoft.graph.restore", `{"newUserPrincipalName":"a@b.com"}`},
		{"GET", "/directory/deletedItems/microsoft.graph.user?$select=id,deletedDateTime,userPrincipalName", ""},
		{"POST", "/users/1/assignLicense", `{"addLicenses":[{"skuId":"x","disabledPlans":[]}],"removeLicenses":[]}`},
		{"POST", "/users/1/microsoft.graph.revokeSignInSessions", ""},
		{"POST", "/servicePrincipals/1/addPassword", `{"passwordCredential":{"displayName":"x","endDateTime":"2027-01-01T00:00:00Z"}}`},
		{"POST", "/users", `{"accountEnabled":true,"displayName":"x","passwordProfile":{"password":"x","forceChangePasswordNextSignIn":true},"manager@odata.bind":"https://graph.microsoft.com/v1.0/users/2"}`},
		{"PATCH", "/users/1", `{"@odata.type":"#microsoft.graph.user","jobTitle":null,"extension_abc_x":"y"}`},
		{"POST", "/users/1/authentication/temporaryAccessPassMethods", `{"lifetimeInMinutes":60,"isUsableOnce":true}`},
		{"GET", "/users/1/authentication/methods", ""},
		{"GET", "/users/1/mailFolders/inbox/messageRules/abc", ""},
		{"GET", "/users/1/mailFolders?includeHiddenFolders=true&$top=250", ""},
		{"GET", "/users/1/drive?$select=webUrl", ""},
		{"POST", "/users/1/drive/root/children", `{"name":"x","remoteItem":{"id":"1","parentReference":{"driveId":"d"}},"@microsoft.graph.conflictBehavior":"rename"}`},
		{"GET", "/sites/root?$select=siteCollection,webUrl", ""},
		{"GET", "/sites/contoso.sharepoint.com:/sites/Sales?$select=id,displayName", ""},
		{"GET", "/sites/contoso.sharepoint.com:/sites/Sales:/drive/root:/Proposals/2026?$select=id,sharepointIds,folder", ""},
		{"GET", "/sites/contoso.sharepoint.com:/sites/Sales:/drive/root:/Proposals/2026:/children", ""},
		{"GET", "/sites/contoso.sharepoint.com%3A%2Fsites%2FSales", ""},
		{"GET", "/drives/b!x/items/01AB:/a/b.txt:/content", ""},
		{"GET", "/roleManagement/directory/roleAssignments?$filter=principalId eq '1'&$expand=roleDefinition", ""},
		{"GET", "/identity/conditionalAccess/policies/1", ""},
		{"GET", "/tenantRelationships/delegatedAdminRelationships?$filter=status eq 'active'", ""},
		{"GET", "/auditLogs/signIns?$filter=userId eq '1' and createdDateTime ge 2026-01-01T00:00:00Z and location/countryOrRegion eq 'US'", ""},
		{"GET", "/auditLogs/directoryAudits?$filter=activityDateTime ge 2026-01-01T00:00:00Z and (activityDisplayName eq 'Add service principal' or activityDisplayName eq 'Consent to application')", ""},
		{"GET", "/auditLogs/directoryAudits?$filter=targetResources/any(t:t/id eq '1') and initiatedBy/user/userPrincipalName eq 'a'", ""},
		{"GET", "/security/alerts_v2?$filter=severity eq microsoft.graph.security.alertSeverity'high'", ""},
		{"GET", "/users/1/calendar/calendarView?startDateTime=2026-01-01T00:00:00Z&endDateTime=2026-01-02T00:00:00Z", ""},
		{"GET", "/users/1/reminderView(StartDateTime='2026-01-01T00:00:00',EndDateTime='2026-01-02T00:00:00')", ""},
		{"GET", "/users/delta()?$select=displayName", ""},
		{"GET", "/subscribedSkus", ""},
		{"GET", "/me", ""},
	} {
		if rep := checkURL(tt.method, tt.url, tt.body); rep != nil {
			t.Errorf("%s %s: %s", tt.method, tt.url, rep.err.message)
		}
	}
}

// TestSchemaRefuses lists requests the schema does not allow and
// Graph's answers to them.
func TestSchemaRefuses(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ method, url, body, msg string }{
		{"GET", "/users/1/bogus", "", "Resource not found for the segment 'bogus'."},
		{"GET", "/users/1/displayName/x", "", "Resource not found for the segment 'x'."},
		{"GET", "/users/$count/x", "", "Resource not found for the segment 'x'."},
		{"GET", "/users/1/$count", "", "Resource not found for the segment '$count'."},
		{"GET", "/me('x')", "", "Resource not found for the segment 'me('x')'."},
		{"POST", "/users/1/restore/x", "", "Resource not found for the segment 'x'."},
		{"GET", "/users/1/transitiveMemberOf?$select=id,displayName", "", "Could not find a property named 'displayName' on type 'microsoft.graph.directoryObject'."},
		{"GET", "/users/1?$select=manager/id", "", "Found a path with multiple navigation properties"},
		{"GET", "/users?$filter=assignedLicenses/any(x:x/skuId eq 1) and x/skuId eq 2", "", "Could not find a property named 'x' on type 'microsoft.graph.user'."},
		{"GET", "/users?$filter=proxyAddresses/any(p:startswith(q,'smtp:'))", "", "Could not find a property named 'q' on type 'microsoft.graph.user'."},
		{"GET", "/users?$filter=displayName/length eq 1", "", "Could not find a property named 'length' on type 'Edm.Untyped'."},
		{"GET", "/users?$orderby=createdDateTime,nickname desc", "", "Could not find a property named 'nickname' on type 'microsoft.graph.user'."},
		{"GET", "/users/1?$expand=manager($expand=bogus)", "", "Could not find a property named 'bogus' on type 'microsoft.graph.directoryObject'."},
		{"GET", "/users/1/memberOf?$filter=displayName eq 'x'", "", "Could not find a property named 'displayName' on type 'microsoft.graph.directoryObject'."},
		// Graph's directory is laxer here than its schema (user-list-manager
		// shows manager($levels=max;$select=id,displayName)); a client held
		// to the schema works on both.
		{"GET", "/users/1?$expand=manager($select=id,displayName)", "", "Could not find a property named 'displayName' on type 'microsoft.graph.directoryObject'."},
		{"GET", "/servicePrincipals?$filter=publisherName eq 'x'", "", "Could not find a property named 'publisherName' on type 'microsoft.graph.servicePrincipal'."},
		{"PATCH", "/users/1", `{"@odata.type":"#microsoft.graph.nothing"}`, "A type named 'microsoft.graph.nothing' could not be resolved by the model."},
		{"PATCH", "/users/1", `{"assignedLicenses":[{"skuId":"x","disabled":[]}]}`, "The property 'disabled' does not exist on type 'microsoft.graph.assignedLicense'."},
		{"POST", "/users/1/authentication/temporaryAccessPassMethods", `{"lifetime":60}`, "The property 'lifetime' does not exist on type 'microsoft.graph.temporaryAccessPassAuthenticationMethod'."},
		{"POST", "/servicePrincipals/1/addPassword", `{"passwordCredential":{"secret":"x"}}`, "The property 'secret' does not exist on type 'microsoft.graph.passwordCredential'."},
		{"POST", "/directory/deletedItems/1/restore", `{"newUPN":"x"}`, "The parameter 'newUPN' in the request payload is not a valid parameter for the operation 'restore'."},
		{"POST", "/groups/1/members/$ref", `{"@odata.id":"x","id":"y"}`, "The property 'id' is not allowed in an entity reference payload"},
		{"GET", "/users/1/reminderView(Start='x')", "", "The parameter 'Start' is not in scope of the function 'reminderView'."},
	} {
		rep := checkURL(tt.method, tt.url, tt.body)
		if rep == nil {
			t.Errorf("%s %s: allowed", tt.method, tt.url)
			continue
		}
		if rep.status != 400 || rep.err.code != "BadRequest" || !strings.Contains(rep.err.message, tt.msg) {
			t.Errorf("%s %s: %d %s %q, want %q", tt.method, tt.url, rep.status, rep.err.code, rep.err.message, tt.msg)
		}
	}
}

// TestSchemaResolves checks what some paths address.
func TestSchemaResolves(t *testing.T) {
	t.Parallel()
	m := v1Model()
	for _, tt := range []struct {
		path, typ string
		coll      bool
	}{
		{"users", "microsoft.graph.user", true},
		{"users/1/manager", "microsoft.graph.directoryObject", false},
		{"users/1/transitiveMemberOf/microsoft.graph.group", "microsoft.graph.group", true},
		{"users/1/assignLicense", "microsoft.graph.user", false},
		{"directory/deletedItems/1/restore", "microsoft.graph.directoryObject", false},
		{"sites/contoso.sharepoint.com:/sites/Sales", "microsoft.graph.site", false},
		{"sites/contoso.sharepoint.com:/sites/Sales:/drive", "microsoft.graph.drive", false},
		{"sites/contoso.sharepoint.com:/sites/Sales:/drive/root:/a/b:/children", "microsoft.graph.driveItem", true},
		{"sites/contoso.sharepoint.com:/sites/Sales:/drive/root:/a/b", "microsoft.graph.driveItem", false},
		{"auditLogs/directoryAudits", "microsoft.graph.directoryAudit", true},
		{"servicePrincipals/1/addPassword", "microsoft.graph.passwordCredential", false},
	} {
		tgt, rep := m.resolvePath(splitEscaped(tt.path))
		if rep != nil {
			t.Errorf("%s: %s", tt.path, rep.err.message)
			continue
		}
		if typeName(tgt.typ) != tt.typ || tgt.coll != tt.coll {
			t.Errorf("%s: %s (collection %v), want %s (%v)", tt.path, typeName(tgt.typ), tgt.coll, tt.typ, tt.coll)
		}
	}
}

// TestSchemaChecksResponses shows the server's own answers held to the
// schema: a property v1.0 lacks, at any depth, is a 500 naming it.
func TestSchemaChecksResponses(t *testing.T) {
	t.Parallel()
	get := func(path string) (*call, *schemaTarget) {
		c := &call{version: "v1.0", method: "GET", segs: splitEscaped(path), query: url.Values{}}
		tgt, rep := checkV1Request(c)
		if rep != nil {
			t.Fatalf("%s: %s", path, rep.err.message)
		}
		return c, tgt
	}
	c, tgt := get("servicePrincipals")
	for _, tt := range []struct {
		body obj
		bad  string
	}{
		{obj{{"value", []obj{{{"id", "1"}, {"displayName", "x"}}}}}, ""},
		{obj{{"value", []obj{{{"id", "1"}, {"createdDateTime", "x"}}}}}, "property 'createdDateTime' on type 'microsoft.graph.servicePrincipal'"},
		{obj{{"value", []obj{{{"verifiedPublisher", obj{{"displayName", nil}, {"verifiedPublisherName", nil}}}}}}},
			"property 'verifiedPublisherName' on type 'microsoft.graph.verifiedPublisher'"},
		{obj{{"value", []obj{{{"passwordCredentials", []obj{{{"keyId", "1"}, {"secret", "x"}}}}}}}},
			"property 'secret' on type 'microsoft.graph.passwordCredential'"},
		{obj{{"value", []obj{}}, {"count", 1}}, "member 'count' beside 'value'"},
	} {
		rep := checkV1Response(c, tgt, okReply(tt.body))
		switch {
		case tt.bad == "" && rep.err != nil:
			t.Errorf("%v: %s", tt.body, rep.err.message)
		case tt.bad != "" && (rep.err == nil || rep.status != 500 || !strings.Contains(rep.err.message, tt.bad)):
			t.Errorf("%v: %+v, want a 500 naming %s", tt.body, rep.err, tt.bad)
		}
	}
	// Items of a directoryObject list are checked as the type they name.
	c, tgt = get("users/1/memberOf")
	ok := obj{{"value", []obj{{{"@odata.type", "#microsoft.graph.group"}, {"id", "1"}, {"groupTypes", []string{}}}}}}
	if rep := checkV1Response(c, tgt, okReply(ok)); rep.err != nil {
		t.Errorf("group in memberOf: %s", rep.err.message)
	}
	bad := obj{{"value", []obj{{{"id", "1"}, {"groupTypes", []string{}}}}}}
	if rep := checkV1Response(c, tgt, okReply(bad)); rep.err == nil {
		t.Error("a group's property on an untyped directoryObject passed")
	}
}
