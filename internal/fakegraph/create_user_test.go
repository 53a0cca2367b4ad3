package fakegraph_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cippbot/cippbot/internal/fakegraph"
)

// newUserBody returns a valid POST /users body for alias.
func newUserBody(alias string) map[string]any {
	return map[string]any{
		"accountEnabled":    true,
		"displayName":       "Riley Ortega",
		"givenName":         "Riley",
		"surname":           "Ortega",
		"mailNickname":      alias,
		"userPrincipalName": alias + "@contoso.com",
		"passwordProfile":   map[string]any{"password": "Tr1cky-Passw0rd", "forceChangePasswordNextSignIn": true},
	}
}

func TestCreateUser(t *testing.T) {
	t.Parallel()
	clock := &fixedClock{t: time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)}
	g := newGraph(t, fakegraph.Options{Now: clock.Now})
	body := newUserBody("RileyO")
	for k, v := range map[string]any{"jobTitle": "Buyer", "department": "Retail", "companyName": "Contoso Ltd", "businessPhones": []string{"+1 425 555 0142"},
		"mobilePhone": "+1 425 555 0143", "streetAddress": "1 Main St", "city": "Tulsa", "state": "OK", "postalCode": "74103", "country": "United States",
		"usageLocation": "us", "@odata.type": "#microsoft.graph.user"} {
		body[k] = v
	}
	res := g.doGzip(http.MethodPost, "/v1.0/users", body)
	if res.status != http.StatusCreated {
		t.Fatalf("create: %d %s", res.status, res.raw)
	}
	id, _ := res.json["id"].(string)
	if res.json["@odata.context"] != "https://graph.microsoft.com/v1.0/$metadata#users/$entity" || id == "" ||
		res.json["userPrincipalName"] != "RileyO@contoso.com" || res.json["mail"] != nil || res.json["accountEnabled"] != nil {
		t.Errorf("created = %s", res.raw)
	}
	if loc := res.header.Get("Location"); !strings.Contains(loc, id) {
		t.Errorf("Location = %q", loc)
	}
	u, ok := g.s.User(fakegraph.ContosoTenantID, id)
	switch {
	case !ok:
		t.Fatal("no such user")
	case u.Password != "Tr1cky-Passw0rd" || !u.ForceChangePasswordNextSignIn || !u.AccountEnabled:
		t.Errorf("password/state: %+v", u)
	case u.MailboxType != "" || u.Mail != "" || len(u.ProxyAddresses) != 0:
		t.Errorf("unlicensed user has mail: %q %q %v", u.MailboxType, u.Mail, u.ProxyAddresses)
	case u.CompanyName != "Contoso Ltd" || u.StreetAddress != "1 Main St" || u.PostalCode != "74103" || u.State != "OK" ||
		u.UsageLocation != "US" || !slices.Equal(u.BusinessPhones, []string{"+1 425 555 0142"}) || u.MobilePhone != "+1 425 555 0143":
		t.Errorf("properties: %+v", u)
	case !u.CreatedDateTime.Equal(clock.Now()) || !u.LastPasswordChangeDateTime.Equal(clock.Now()):
		t.Errorf("times: %v %v", u.CreatedDateTime, u.LastPasswordChangeDateTime)
	}
	beta := g.do(http.MethodGet, "/beta/users/"+id, nil)
	for k, want := range map[string]any{"companyName": "Contoso Ltd", "postalCode": "74103", "state": "OK", "streetAddress": "1 Main St", "mailNickname": "RileyO"} {
		if beta.json[k] != want {
			t.Errorf("GET %s = %v, want %v", k, beta.json[k], want)
		}
	}
	if rs := g.s.Requests(); rs[len(rs)-2].Method != http.MethodPost || rs[len(rs)-2].Path != "/v1.0/users" || rs[len(rs)-2].Status != http.StatusCreated {
		t.Errorf("request log: %+v", rs[len(rs)-2])
	}

	// The new user may take the name of a deleted one.
	if r := g.do(http.MethodDelete, "/v1.0/users/"+id, nil); r.status != http.StatusNoContent {
		t.Fatalf("delete: %d", r.status)
	}
	again := g.do(http.MethodPost, "/v1.0/users", newUserBody("RileyO"))
	if again.status != http.StatusCreated {
		t.Fatalf("recreate: %d %s", again.status, again.raw)
	}
	if u, _ := g.s.User(fakegraph.ContosoTenantID, "RileyO@contoso.com"); u.Deleted || u.ID != again.json["id"] {
		t.Errorf("User by name found the deleted one: %+v", u)
	}
	if r := g.do(http.MethodPost, "/v1.0/directory/deletedItems/"+id+"/restore", nil); r.status != http.StatusBadRequest {
		t.Errorf("restore over the new user: %d", r.status)
	}
}

func TestCreateUserRejects(t *testing.T) {
	t.Parallel()
	g := newGraph(t, fakegraph.Options{})
	without := func(k string) map[string]any {
		b := newUserBody("Casey")
		delete(b, k)
		return b
	}
	with := func(k string, v any) map[string]any {
		b := newUserBody("Casey")
		b[k] = v
		return b
	}
	const complexity = "The specified password does not comply with password complexity requirements. Please provide a different password."
	tests := []struct {
		name string
		body map[string]any
		msg  string
	}{
		{"no accountEnabled", without("accountEnabled"), "Property accountEnabled value is required but is empty or missing."},
		{"no displayName", without("displayName"), "Property displayName value is required"},
		{"empty displayName", with("displayName", ""), "Property displayName value is required"},
		{"no mailNickname", without("mailNickname"), "Property mailNickname value is required"},
		{"no userPrincipalName", without("userPrincipalName"), "Property userPrincipalName value is required"},
		{"no passwordProfile", without("passwordProfile"), "Property passwordProfile value is required"},
		{"no password", with("passwordProfile", map[string]any{"forceChangePasswordNextSignIn": true}), "Property passwordProfile.password value is required"},
		{"unverified domain", with("userPrincipalName", "Casey@contoso.net"),
			"The domain portion of the userPrincipalName property is invalid. You must use one of the verified domain names in your organization."},
		{"duplicate upn", with("userPrincipalName", "AdeleV@contoso.com"), "Another object with the same value for property userPrincipalName already exists."},
		{"upn is an alias", with("userPrincipalName", "AdeleV@contoso.onmicrosoft.com"), ""},
		{"duplicate nickname", with("mailNickname", "adelev"), "Another object with the same value for property mailNickname already exists."},
		{"bad nickname", with("mailNickname", "casey smith"), "Invalid value specified for property 'mailNickname' of resource 'User'."},
		{"short password", with("passwordProfile", map[string]any{"password": "Ab1!"}), complexity},
		{"two classes", with("passwordProfile", map[string]any{"password": "onlylower123"}), complexity},
		{"accountEnabled not bool", with("accountEnabled", "yes"), "Invalid value specified for property 'accountEnabled' of resource 'User'."},
		{"unknown property", with("favouriteColour", "blue"), "The property 'favouriteColour' does not exist on type 'microsoft.graph.user'."},
		{"read-only property", with("assignedLicenses", []any{}), "Invalid property 'assignedLicenses'."},
		{"bad usage location", with("usageLocation", "USA"), "Invalid value specified for property 'usageLocation'"},
	}
	if u, _ := g.s.User(fakegraph.ContosoTenantID, fakegraph.ContosoAdeleID); !slices.Contains(u.ProxyAddresses, "SMTP:AdeleV@contoso.com") {
		t.Fatalf("Adele's addresses: %v", u.ProxyAddresses)
	}
	if r := g.do(http.MethodPatch, "/v1.0/users/"+fakegraph.ContosoAdeleID, map[string]any{"mail": "AdeleV@contoso.onmicrosoft.com"}); r.status != http.StatusNoContent {
		t.Fatalf("alias: %d %s", r.status, r.raw)
	}
	before := len(g.s.Users(fakegraph.ContosoTenantID))
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := g.do(http.MethodPost, "/v1.0/users", tc.body)
			if tc.msg == "" {
				wantError(t, res, http.StatusBadRequest, "Request_BadRequest", "property proxyAddresses already exists")
				return
			}
			code := "Request_BadRequest"
			if strings.Contains(tc.msg, "does not exist on type") {
				code = "BadRequest" // the v1.0 schema's answer, before the directory's
			}
			wantError(t, res, http.StatusBadRequest, code, tc.msg)
		})
	}
	if n := len(g.s.Users(fakegraph.ContosoTenantID)); n != before {
		t.Errorf("%d users added by rejected requests", n-before)
	}

	// Creating needs User.ReadWrite.All (or Directory.ReadWrite.All).
	g.s.SetPermissions(fakegraph.ContosoTenantID, []string{"User.Read.All", "User-PasswordProfile.ReadWrite.All"})
	wantError(t, g.do(http.MethodPost, "/v1.0/users", newUserBody("Casey")), http.StatusForbidden, "Authorization_RequestDenied", "Insufficient privileges")
	g.s.SetPermissions(fakegraph.ContosoTenantID, []string{"Directory.ReadWrite.All"})
	if r := g.do(http.MethodPost, "/v1.0/users", newUserBody("Casey")); r.status != http.StatusCreated {
		t.Errorf("with Directory.ReadWrite.All: %d %s", r.status, r.raw)
	}
}

func TestNewUserLicenceAndAliases(t *testing.T) {
	t.Parallel()
	g := newGraph(t, fakegraph.Options{})
	body := newUserBody("Morgan")
	res := g.do(http.MethodPost, "/v1.0/users", body)
	if res.status != http.StatusCreated {
		t.Fatalf("create: %d %s", res.status, res.raw)
	}
	path := "/v1.0/users/" + res.json["id"].(string)
	e3 := map[string]any{"addLicenses": []any{map[string]any{"skuId": fakegraph.SkuEnterprisePack, "disabledPlans": []any{}}}, "removeLicenses": []any{}}
	wantError(t, g.do(http.MethodPost, path+"/assignLicense", e3), http.StatusBadRequest, "Request_BadRequest",
		"License assignment cannot be done for user with invalid usage location.")
	unknown := map[string]any{"addLicenses": []any{map[string]any{"skuId": "11111111-2222-3333-4444-555555555555"}}, "removeLicenses": []any{}}
	wantError(t, g.do(http.MethodPost, path+"/assignLicense", unknown), http.StatusBadRequest, "Request_BadRequest", "does not correspond to a valid company License")
	if r := g.do(http.MethodPatch, path, map[string]any{"usageLocation": "US"}); r.status != http.StatusNoContent {
		t.Fatalf("usage location: %d %s", r.status, r.raw)
	}
	if r := g.do(http.MethodPost, path+"/assignLicense", e3); r.status != http.StatusOK {
		t.Fatalf("assign: %d %s", r.status, r.raw)
	}
	u, _ := g.s.User(fakegraph.ContosoTenantID, "Morgan@contoso.com")
	if u.MailboxType != fakegraph.MailboxUser || u.Mail != "Morgan@contoso.com" || !slices.Equal(u.ProxyAddresses, []string{"SMTP:Morgan@contoso.com"}) {
		t.Fatalf("after licensing: %q %q %v", u.MailboxType, u.Mail, u.ProxyAddresses)
	}

	// Aliases the way the reference adds them: mail to each alias, then
	// back to the user principal name.
	for _, m := range []string{"m.ortiz@contoso.com", "sales.morgan@contoso.onmicrosoft.com", "Morgan@contoso.com"} {
		if r := g.do(http.MethodPatch, path, map[string]any{"mail": m}); r.status != http.StatusNoContent {
			t.Fatalf("mail %s: %d %s", m, r.status, r.raw)
		}
	}
	want := []string{"SMTP:Morgan@contoso.com", "smtp:sales.morgan@contoso.onmicrosoft.com", "smtp:m.ortiz@contoso.com"}
	sel := g.do(http.MethodGet, path+"?$select=mail,proxyAddresses", nil)
	got, _ := sel.json["proxyAddresses"].([]any)
	if sel.json["mail"] != "Morgan@contoso.com" || len(got) != len(want) {
		t.Fatalf("GET = %s", sel.raw)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("proxyAddresses[%d] = %v, want %s", i, got[i], want[i])
		}
	}
	wantError(t, g.do(http.MethodPatch, path, map[string]any{"mail": "morgan@fabrikam.com"}), http.StatusBadRequest, "Request_BadRequest",
		"You must use one of the verified domain names in your organization.")
	wantError(t, g.do(http.MethodPatch, path, map[string]any{"mail": "MeganB@contoso.com"}), http.StatusBadRequest, "Request_BadRequest",
		"Another object with the same value for property proxyAddresses already exists.")
	wantError(t, g.do(http.MethodPatch, path, map[string]any{"mail": "not an address"}), http.StatusBadRequest, "Request_BadRequest", "property 'mail'")
	wantError(t, g.do(http.MethodPatch, path, map[string]any{"mail": nil}), http.StatusBadRequest, "Request_BadRequest", "property 'mail'")
	// A synchronized user's mail is mastered on premises.
	wantError(t, g.do(http.MethodPatch, "/v1.0/users/"+fakegraph.ContosoGradyID, map[string]any{"mail": "grady@contoso.com"}),
		http.StatusBadRequest, "Request_BadRequest", "on-premises mastered")
}
