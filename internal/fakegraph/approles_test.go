package fakegraph_test

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/cippbot/cippbot/internal/fakegraph"
)

// setAppRoles replaces the roles of the app's service principal in
// contoso.
func (g *graph) setAppRoles(roles ...string) {
	g.t.Helper()
	if err := g.s.SetAppRoles(fakegraph.ContosoTenantID, roles...); err != nil {
		g.t.Fatal(err)
	}
}

// wantDenied checks Graph's answer to an app that lacks a role.
func wantDenied(t *testing.T, r response) {
	t.Helper()
	wantError(t, r, http.StatusForbidden, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.")
}

// wantStatus checks a status.
func wantStatus(t *testing.T, what string, r response, status int) {
	t.Helper()
	if r.status != status {
		t.Errorf("%s: status %d, want %d: %s", what, r.status, status, r.raw)
	}
}

// tokenOID returns the oid claim of an access token.
func tokenOID(t *testing.T, tok string) string {
	t.Helper()
	parts := strings.Split(tok, ".")
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var claims struct {
		OID string `json:"oid"`
	}
	if err := json.Unmarshal(payload, &claims); err != nil {
		t.Fatal(err)
	}
	return claims.OID
}

func TestAppServicePrincipalRoles(t *testing.T) {
	t.Parallel()
	g := newGraph(t, fakegraph.Options{})
	sps := values(t, g.do(http.MethodGet, "/v1.0/servicePrincipals?$filter="+url.QueryEscape("appId eq '"+fakegraph.DefaultClientID+"'")+"&$select=id,displayName", nil))
	if len(sps) != 1 || sps[0]["displayName"] != "cippbot" {
		t.Fatalf("the app's service principal: %v", sps)
	}
	id := sps[0]["id"].(string)
	if oid := tokenOID(t, g.tok); oid != id {
		t.Errorf("token oid %s, service principal %s", oid, id)
	}
	read := func() []string {
		t.Helper()
		items := values(t, g.do(http.MethodGet, "/v1.0/roleManagement/directory/roleAssignments?$filter="+
			url.QueryEscape("principalId eq '"+id+"'")+"&$expand=roleDefinition,principal", nil))
		var names []string
		for _, a := range items {
			def, _ := a["roleDefinition"].(map[string]any)
			p, _ := a["principal"].(map[string]any)
			if a["directoryScopeId"] != "/" || p["@odata.type"] != "#microsoft.graph.servicePrincipal" || p["appId"] != fakegraph.DefaultClientID {
				t.Errorf("assignment %v", a)
			}
			names = append(names, def["displayName"].(string))
		}
		slices.Sort(names)
		return names
	}
	want := fakegraph.DefaultAppRoles()
	slices.Sort(want)
	if got := read(); !slices.Equal(got, want) || !slices.Equal(g.s.AppRoles(fakegraph.ContosoDomain), want) {
		t.Errorf("default app roles = %v (AppRoles %v), want %v", got, g.s.AppRoles(fakegraph.ContosoDomain), want)
	}
	g.setAppRoles("Exchange Recipient Administrator", "fe930be7-5e62-47db-91af-98c3a49a38b1")
	if got := read(); !slices.Equal(got, []string{"Exchange Recipient Administrator", "User Administrator"}) {
		t.Errorf("after SetAppRoles: %v", got)
	}
	g.setAppRoles()
	if got := read(); got != nil {
		t.Errorf("no roles: %v", got)
	}
	if err := g.s.SetAppRoles(fakegraph.ContosoTenantID, "Supreme Leader"); err == nil {
		t.Error("an unknown role was accepted")
	}

	// A seed chooses the app's roles; an empty list means none.
	s := start(t, fakegraph.Options{})
	seed := fakegraph.FabrikamSeed()
	seed.AppRoles = []string{}
	if err := s.AddTenant(seed); err != nil {
		t.Fatal(err)
	}
	if r := s.AppRoles(fakegraph.FabrikamTenantID); r != nil {
		t.Errorf("fabrikam app roles = %v", r)
	}
	seed = fakegraph.PartnerSeed()
	seed.AppRoles = []string{"Nobody Administrator"}
	if err := s.AddTenant(seed); err == nil {
		t.Error("a seed with an unknown app role was accepted")
	}
}

// TestAppOnlyPasswordNeedsUserAdministrator: passwordProfile in app-only
// access needs a supported permission and at least the User
// Administrator role (the user resource's passwordProfile property).
func TestAppOnlyPasswordNeedsUserAdministrator(t *testing.T) {
	t.Parallel()
	g := newGraph(t, fakegraph.Options{})
	pw := map[string]any{"passwordProfile": map[string]any{"password": "Xq7!vRt2#mPw", "forceChangePasswordNextSignIn": true}}
	g.setAppRoles()
	wantDenied(t, g.do(http.MethodPatch, "/v1.0/users/"+fakegraph.ContosoAdeleID, pw))
	// The least privileged permission alone is not enough either.
	g.s.SetPermissions(fakegraph.ContosoTenantID, []string{"User-PasswordProfile.ReadWrite.All", "User.Read.All"})
	wantDenied(t, g.do(http.MethodPatch, "/v1.0/users/"+fakegraph.ContosoAdeleID, pw))
	// Authentication Administrator is not "at least User Administrator".
	g.s.SetPermissions(fakegraph.ContosoTenantID, nil)
	g.setAppRoles("Authentication Administrator", "Helpdesk Administrator", "Password Administrator")
	wantDenied(t, g.do(http.MethodPatch, "/v1.0/users/"+fakegraph.ContosoAdeleID, pw))
	g.setAppRoles("User Administrator")
	wantStatus(t, "User Administrator", g.do(http.MethodPatch, "/v1.0/users/"+fakegraph.ContosoAdeleID, pw), http.StatusNoContent)
	g.setAppRoles("Privileged Authentication Administrator")
	wantStatus(t, "Privileged Authentication Administrator", g.do(http.MethodPatch, "/v1.0/users/"+fakegraph.ContosoAdeleID, pw), http.StatusNoContent)
	g.setAppRoles("Global Administrator")
	wantStatus(t, "Global Administrator", g.do(http.MethodPatch, "/v1.0/users/"+fakegraph.ContosoAdeleID, pw), http.StatusNoContent)

	// Inside a $batch each item is judged on its own.
	g.setAppRoles()
	res := g.do(http.MethodPost, "/v1.0/$batch", map[string]any{"requests": []any{
		map[string]any{"id": "1", "method": "PATCH", "url": "/users/" + fakegraph.ContosoAdeleID, "body": pw, "headers": map[string]any{"Content-Type": "application/json"}},
		map[string]any{"id": "2", "method": "PATCH", "url": "/users/" + fakegraph.ContosoAdeleID, "body": map[string]any{"jobTitle": "Buyer"}, "headers": map[string]any{"Content-Type": "application/json"}},
	}})
	if res.status != http.StatusOK {
		t.Fatalf("batch: %d %s", res.status, res.raw)
	}
	for _, it := range res.json["responses"].([]any) {
		item := it.(map[string]any)
		if want := map[string]float64{"1": 403, "2": 204}[item["id"].(string)]; item["status"] != want {
			t.Errorf("batch item %v: status %v, want %v", item["id"], item["status"], want)
		}
	}
}

// TestAppOnlySensitiveActionsOnAdmins: the sensitive properties of an
// admin, and deleting or restoring one, need a role that "Who can
// perform sensitive actions" allows on each of the admin's roles; on a
// user without admin roles the permission suffices.
func TestAppOnlySensitiveActionsOnAdmins(t *testing.T) {
	t.Parallel()
	g := newGraph(t, fakegraph.Options{})
	disable := map[string]any{"accountEnabled": false}
	user := func(id string) string { return "/v1.0/users/" + id }

	// No role: ordinary users only. Henrietta is merely eligible for
	// Privileged Role Administrator, which she does not hold until she
	// activates it.
	g.setAppRoles()
	wantStatus(t, "ordinary user", g.do(http.MethodPatch, user(fakegraph.ContosoAdeleID), disable), http.StatusNoContent)
	wantStatus(t, "eligible admin", g.do(http.MethodPatch, user(fakegraph.ContosoEligiblePRAUserID), disable), http.StatusNoContent)
	wantStatus(t, "other properties of an admin", g.do(http.MethodPatch, user(fakegraph.ContosoAdminID), map[string]any{"jobTitle": "Boss"}), http.StatusNoContent)
	wantDenied(t, g.do(http.MethodPatch, user(fakegraph.ContosoAdminID), disable))
	for _, p := range []map[string]any{{"mobilePhone": "+1 425 555 0199"}, {"businessPhones": []string{}}, {"otherMails": []string{"x@example.com"}},
		{"userPrincipalName": "boss@contoso.com"}, {"onPremisesImmutableId": nil}} {
		wantDenied(t, g.do(http.MethodPatch, user(fakegraph.ContosoAdminID), p))
	}
	if err := g.s.AssignRole(fakegraph.ContosoTenantID, fakegraph.ContosoMeganID, "Directory Readers"); err != nil {
		t.Fatal(err)
	}
	wantStatus(t, "Directory Readers", g.do(http.MethodPatch, user(fakegraph.ContosoMeganID), disable), http.StatusNoContent)

	// Helpdesk Administrator, directly (Allan) or through a
	// role-assignable group (Debra): User Administrator may, an
	// Authentication Administrator may not.
	allan := "e19e18b0-8ea6-4cc8-bff5-e19fd804c726"
	g.setAppRoles("Authentication Administrator")
	wantDenied(t, g.do(http.MethodPatch, user(allan), disable))
	wantDenied(t, g.do(http.MethodPatch, user(fakegraph.ContosoGroupHelpdeskUserID), disable))
	g.setAppRoles("User Administrator")
	wantStatus(t, "Helpdesk Administrator", g.do(http.MethodPatch, user(allan), disable), http.StatusNoContent)
	wantStatus(t, "Helpdesk Administrator through a group", g.do(http.MethodPatch, user(fakegraph.ContosoGroupHelpdeskUserID), disable), http.StatusNoContent)

	// A Global Administrator: Privileged Authentication Administrator or
	// Global Administrator only.
	wantDenied(t, g.do(http.MethodPatch, user(fakegraph.ContosoAdminID), disable))
	wantDenied(t, g.do(http.MethodPatch, user(fakegraph.ContosoAdminID), map[string]any{"passwordProfile": map[string]any{"password": "Xq7!vRt2#mPw"}}))
	wantDenied(t, g.do(http.MethodDelete, user(fakegraph.ContosoAdminID), nil))
	g.setAppRoles("Privileged Authentication Administrator")
	wantStatus(t, "disable a Global Administrator", g.do(http.MethodPatch, user(fakegraph.ContosoAdminID), disable), http.StatusNoContent)
	wantStatus(t, "a Global Administrator's password", g.do(http.MethodPatch, user(fakegraph.ContosoAdminID),
		map[string]any{"passwordProfile": map[string]any{"password": "Xq7!vRt2#mPw"}}), http.StatusNoContent)
	wantStatus(t, "delete a Global Administrator", g.do(http.MethodDelete, user(fakegraph.ContosoAdminID), nil), http.StatusNoContent)

	// Restoring a deleted admin follows the same table.
	restore := "/v1.0/directory/deletedItems/" + fakegraph.ContosoAdminID + "/restore"
	g.setAppRoles("User Administrator")
	wantDenied(t, g.do(http.MethodPost, restore, nil))
	g.setAppRoles("Global Administrator")
	wantStatus(t, "restore a Global Administrator", g.do(http.MethodPost, restore, nil), http.StatusOK)

	// A user with no admin role in a role-assignable group: only
	// Privileged Authentication Administrator or Global Administrator.
	if err := g.s.AddGroup(fakegraph.ContosoTenantID, fakegraph.Group{DisplayName: "Break glass owners", SecurityEnabled: true,
		IsAssignableToRole: true, Members: []string{fakegraph.ContosoLeeID}}); err != nil {
		t.Fatal(err)
	}
	g.setAppRoles("User Administrator")
	wantDenied(t, g.do(http.MethodPatch, user(fakegraph.ContosoLeeID), disable))
	wantStatus(t, "ordinary property", g.do(http.MethodPatch, user(fakegraph.ContosoLeeID), map[string]any{"department": "IT"}), http.StatusNoContent)
	g.setAppRoles("Privileged Authentication Administrator")
	wantStatus(t, "member of a role-assignable group", g.do(http.MethodPatch, user(fakegraph.ContosoLeeID), disable), http.StatusNoContent)

	// A role outside the table (Exchange Administrator) falls under "All
	// other built-in and custom roles".
	if err := g.s.AssignRole(fakegraph.ContosoTenantID, fakegraph.ContosoJoniID, "Exchange Administrator"); err != nil {
		t.Fatal(err)
	}
	g.setAppRoles("User Administrator")
	wantDenied(t, g.do(http.MethodDelete, user(fakegraph.ContosoJoniID), nil))
	g.setAppRoles("Privileged Authentication Administrator")
	wantStatus(t, "delete an Exchange Administrator", g.do(http.MethodDelete, user(fakegraph.ContosoJoniID), nil), http.StatusNoContent)

	// A missing user is still a 404.
	g.setAppRoles()
	wantError(t, g.do(http.MethodDelete, user("00000000-0000-0000-0000-000000000001"), nil), http.StatusNotFound, "Request_ResourceNotFound", "does not exist")
}

// TestAppOnlyResetPasswordNotSupported: authenticationMethod:
// resetPassword supports no application permission.
func TestAppOnlyResetPasswordNotSupported(t *testing.T) {
	t.Parallel()
	g := newGraph(t, fakegraph.Options{})
	g.setAppRoles("Global Administrator")
	for _, p := range []string{
		"/v1.0/users/" + fakegraph.ContosoAdeleID + "/authentication/methods/28c10230-6103-485e-b985-444c60001490/resetPassword",
		"/beta/users/AdeleV@contoso.com/authentication/passwordMethods/28c10230-6103-485e-b985-444c60001490/microsoft.graph.resetPassword",
	} {
		wantDenied(t, g.do(http.MethodPost, p, map[string]any{"newPassword": "Xq7!vRt2#mPw"}))
	}
	if pw := values(t, g.do(http.MethodGet, "/v1.0/users/"+fakegraph.ContosoAdeleID+"/authentication/methods", nil)); len(pw) == 0 {
		t.Error("reading methods broke")
	}
}

// TestExchangeAppRoles: InvokeCommand app-only needs one of the roles
// Exchange supports for app-only access, and one that manages
// recipients to change anything.
func TestExchangeAppRoles(t *testing.T) {
	t.Parallel()
	x := newExo(t)
	set := func(roles ...string) {
		t.Helper()
		if err := x.s.SetAppRoles(fakegraph.ContosoTenantID, roles...); err != nil {
			t.Fatal(err)
		}
	}
	convert := map[string]any{"Identity": "AdeleV@contoso.com", "Type": "Shared"}
	set("User Administrator", "Privileged Authentication Administrator")
	wantRequestError(t, x.invoke("Get-Mailbox", map[string]any{"Identity": "AdeleV"}), http.StatusUnauthorized, "Unauthorized",
		"The role assigned to application "+fakegraph.DefaultClientID+" isn't supported in this scenario.")
	set("Global Reader")
	x.ok("Get-Mailbox", map[string]any{"Identity": "AdeleV"})
	wantRequestError(t, x.invoke("Set-Mailbox", convert), http.StatusUnauthorized, "Unauthorized", "User is not allowed to call Set-Mailbox.")
	if u := x.user(fakegraph.ContosoAdeleID); u.MailboxType == fakegraph.MailboxShared {
		t.Error("converted without a role")
	}
	set("Exchange Recipient Administrator")
	x.ok("Set-Mailbox", convert)
	set("Global Administrator")
	x.ok("Set-Mailbox", map[string]any{"Identity": "AdeleV@contoso.com", "Type": "Regular"})
	set(fakegraph.DefaultAppRoles()...)
	x.ok("Set-Mailbox", convert)
}
