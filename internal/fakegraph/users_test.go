package fakegraph_test

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cippbot/cippbot/internal/fakegraph"
)

func TestGetUserByUPNWithSelect(t *testing.T) {
	t.Parallel()
	g := newGraph(t, fakegraph.Options{})
	res := g.do(http.MethodGet, "/v1.0/users/adelev@CONTOSO.com?%24select=displayName,accountEnabled,onPremisesSyncEnabled", nil)
	if res.status != http.StatusOK {
		t.Fatalf("status = %d: %s", res.status, res.raw)
	}
	var keys []string
	for k := range res.json {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	want := []string{"@odata.context", "accountEnabled", "displayName", "id", "onPremisesSyncEnabled"}
	if !slices.Equal(keys, want) {
		t.Errorf("keys = %v, want %v", keys, want)
	}
	if res.json["id"] != fakegraph.ContosoAdeleID || res.json["displayName"] != "Adele Vance" || res.json["accountEnabled"] != true {
		t.Errorf("unexpected user %s", res.raw)
	}
	if res.json["onPremisesSyncEnabled"] != nil {
		t.Errorf("cloud user onPremisesSyncEnabled = %v, want null", res.json["onPremisesSyncEnabled"])
	}
	if ctx, _ := res.json["@odata.context"].(string); !strings.HasPrefix(ctx, "https://graph.microsoft.com/v1.0/$metadata#users(") || !strings.HasSuffix(ctx, ")/$entity") {
		t.Errorf("@odata.context = %q", ctx)
	}
	if ct := res.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") || !strings.Contains(ct, "odata.metadata=minimal") {
		t.Errorf("Content-Type = %q", ct)
	}
	for _, h := range []string{"request-id", "client-request-id", "Date"} {
		if res.header.Get(h) == "" {
			t.Errorf("missing header %s", h)
		}
	}
}

func TestUserDefaultProperties(t *testing.T) {
	t.Parallel()
	g := newGraph(t, fakegraph.Options{})
	v1 := g.do(http.MethodGet, "/v1.0/users/"+fakegraph.ContosoGradyID, nil)
	if v1.status != http.StatusOK {
		t.Fatalf("status = %d", v1.status)
	}
	if _, ok := v1.json["accountEnabled"]; ok {
		t.Error("v1.0 returned accountEnabled without $select")
	}
	if v1.json["userPrincipalName"] != "GradyA@contoso.com" {
		t.Errorf("userPrincipalName = %v", v1.json["userPrincipalName"])
	}
	if _, ok := v1.json["password"]; ok {
		t.Error("password returned")
	}
	beta := g.do(http.MethodGet, "/beta/users/GradyA@contoso.com", nil)
	if beta.json["onPremisesSyncEnabled"] != true || beta.json["onPremisesImmutableId"] == nil || beta.json["onPremisesLastSyncDateTime"] == nil {
		t.Errorf("beta synced user properties wrong: %s", beta.raw)
	}
	if lic, _ := beta.json["assignedLicenses"].([]any); len(lic) != 1 {
		t.Errorf("assignedLicenses = %v", beta.json["assignedLicenses"])
	}
}

func TestExpandManager(t *testing.T) {
	t.Parallel()
	g := newGraph(t, fakegraph.Options{})
	res := g.do(http.MethodGet, "/v1.0/users/AdeleV@contoso.com?$select=displayName&$expand=manager", nil)
	m, ok := res.json["manager"].(map[string]any)
	if !ok {
		t.Fatalf("no manager in %s", res.raw)
	}
	if m["@odata.type"] != "#microsoft.graph.user" || m["displayName"] != "Miriam Graham" || m["userPrincipalName"] != "MiriamG@contoso.com" {
		t.Errorf("manager = %v", m)
	}
	res = g.do(http.MethodGet, "/v1.0/users/PattiF@contoso.com/manager", nil)
	wantError(t, res, http.StatusNotFound, "Request_ResourceNotFound", "'manager'")
	res = g.do(http.MethodGet, "/v1.0/users/AdeleV@contoso.com/manager", nil)
	if res.json["id"] == nil || res.json["displayName"] != "Miriam Graham" {
		t.Errorf("GET manager = %s", res.raw)
	}
}

func TestNotFoundShape(t *testing.T) {
	t.Parallel()
	g := newGraph(t, fakegraph.Options{})
	req, _ := http.NewRequest(http.MethodGet, g.s.URL()+"/v1.0/users/nobody@contoso.com", nil)
	req.Header.Set("Authorization", "Bearer "+g.tok)
	req.Header.Set("client-request-id", "11111111-2222-3333-4444-555555555555")
	res := send(t, g.s, http.MethodGet, "/v1.0/users/nobody@contoso.com", req.Header, nil)
	wantError(t, res, http.StatusNotFound, "Request_ResourceNotFound",
		"Resource 'nobody@contoso.com' does not exist or one of its queried reference-property objects are not present.")
	if ct := res.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type = %q", ct)
	}
	inner, _ := res.json["error"].(map[string]any)["innerError"].(map[string]any)
	if inner["request-id"] == nil || inner["request-id"] != res.header.Get("request-id") {
		t.Errorf("innerError.request-id = %v, header %q", inner["request-id"], res.header.Get("request-id"))
	}
	if inner["client-request-id"] != "11111111-2222-3333-4444-555555555555" || res.header.Get("client-request-id") != "11111111-2222-3333-4444-555555555555" {
		t.Errorf("client-request-id not echoed: %v", inner)
	}
	if _, err := time.Parse("2006-01-02T15:04:05", inner["date"].(string)); err != nil {
		t.Errorf("innerError.date: %v", err)
	}
}

func TestUnknownRoute(t *testing.T) {
	t.Parallel()
	g := newGraph(t, fakegraph.Options{})
	tests := []struct {
		method, path string
		status       int
		code, msg    string
		// noRoute is a route the server lacks (Request.Unhandled).
		noRoute bool
	}{
		{http.MethodGet, "/v1.0/contacts", 400, "BadRequest", "Resource not found for the segment 'contacts'.", true},
		{http.MethodGet, "/v1.0/users/AdeleV@contoso.com/bogus", 400, "BadRequest", "Resource not found for the segment 'bogus'.", true},
		{http.MethodGet, "/v1.0/users/AdeleV@contoso.com/authentication/requirements", 400, "BadRequest", "segment 'requirements'", true},
		{http.MethodPut, "/v1.0/users/AdeleV@contoso.com", 405, "Request_BadRequest", "Specified HTTP method is not allowed", true},
		{http.MethodGet, "/v2/users", 400, "BadRequest", "Invalid version: v2", true},
		{http.MethodGet, "/v1.0/me", 400, "BadRequest", "/me request is only valid with delegated authentication flow.", false},
		{http.MethodGet, "/v1.0/users?$search=%22displayName:adele%22", 400, "BadRequest", "Query option '$search' is not supported.", false},
	}
	for _, tc := range tests {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			if tc.noRoute {
				path, _, _ := strings.Cut(tc.path, "?")
				g.s.ExpectUnhandled(tc.method, path)
			}
			res := g.do(tc.method, tc.path, nil)
			if got := g.s.Requests(); got[len(got)-1].Unhandled != tc.noRoute {
				t.Errorf("Request.Unhandled = %v, want %v", got[len(got)-1].Unhandled, tc.noRoute)
			}
			wantError(t, res, tc.status, tc.code, tc.msg)
		})
	}
	reqs := g.s.Requests()
	last := reqs[len(reqs)-1]
	if last.Status != http.StatusBadRequest || last.Path != "/v1.0/users" {
		t.Errorf("last recorded request = %+v", last)
	}
}

func TestPatchGzip(t *testing.T) {
	t.Parallel()
	clock := &fixedClock{t: time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)}
	g := newGraph(t, fakegraph.Options{Now: clock.Now})
	clock.Set(clock.Now().Add(time.Minute))
	body := map[string]any{
		"@odata.type":    "#microsoft.graph.user",
		"accountEnabled": false,
		"passwordProfile": map[string]any{
			"password":                      "Correct-Horse-9",
			"forceChangePasswordNextSignIn": true,
		},
		"jobTitle": "Regional Retail Manager",
	}
	res := g.doGzip(http.MethodPatch, "/v1.0/users/"+fakegraph.ContosoAdeleID, body)
	if res.status != http.StatusNoContent || len(res.raw) != 0 {
		t.Fatalf("status = %d: %s", res.status, res.raw)
	}
	u, ok := g.s.User(fakegraph.ContosoTenantID, "AdeleV@contoso.com")
	if !ok {
		t.Fatal("user not found")
	}
	if u.AccountEnabled || u.Password != "Correct-Horse-9" || !u.ForceChangePasswordNextSignIn || u.JobTitle != "Regional Retail Manager" {
		t.Errorf("state not updated: %+v", u)
	}
	if !u.LastPasswordChangeDateTime.Equal(clock.Now()) {
		t.Errorf("LastPasswordChangeDateTime = %v, want %v", u.LastPasswordChangeDateTime, clock.Now())
	}
	reqs := g.s.Requests()
	last := reqs[len(reqs)-1]
	if last.ContentEncoding != "gzip" || !strings.Contains(string(last.Body), `"accountEnabled":false`) || last.Status != http.StatusNoContent {
		t.Errorf("recorded request = %+v (body %s)", last, last.Body)
	}
	sel := g.do(http.MethodGet, "/v1.0/users/"+fakegraph.ContosoAdeleID+"?$select=accountEnabled,lastPasswordChangeDateTime", nil)
	if sel.json["accountEnabled"] != false || sel.json["lastPasswordChangeDateTime"] != "2026-11-30T12:01:00Z" {
		t.Errorf("GET after PATCH = %s", sel.raw)
	}
}

func TestPatchBodyErrors(t *testing.T) {
	t.Parallel()
	g := newGraph(t, fakegraph.Options{})
	auth := func(extra ...string) http.Header {
		h := http.Header{"Authorization": {"Bearer " + g.tok}, "Content-Type": {"application/json"}}
		for i := 0; i+1 < len(extra); i += 2 {
			h.Set(extra[i], extra[i+1])
		}
		return h
	}
	path := "/v1.0/users/" + fakegraph.ContosoAdeleID
	tests := []struct {
		name   string
		header http.Header
		body   string
		code   string
		msg    string
	}{
		{"plain body labelled gzip", auth("Content-Encoding", "gzip"), `{"accountEnabled":false}`, "BadRequest", "gzip"},
		{"not json", auth(), `{"accountEnabled":`, "BadRequest", "Unable to read JSON request payload"},
		{"unknown property", auth(), `{"favouriteColour":"blue"}`, "BadRequest", "The property 'favouriteColour' does not exist on type 'microsoft.graph.user'."},
		{"wrong type", auth(), `{"accountEnabled":"no"}`, "Request_BadRequest", "Invalid value specified for property 'accountEnabled'"},
		{"bad usage location", auth(), `{"usageLocation":"USA"}`, "Request_BadRequest", "usageLocation"},
		{"foreign domain upn", auth(), `{"userPrincipalName":"adele@fabrikam.com"}`, "Request_BadRequest", "verified domain"},
		{"duplicate upn", auth(), `{"userPrincipalName":"MeganB@contoso.com"}`, "Request_BadRequest", "already exists"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := send(t, g.s, http.MethodPatch, path, tc.header, strings.NewReader(tc.body))
			wantError(t, res, http.StatusBadRequest, tc.code, tc.msg)
		})
	}
	if u, _ := g.s.User(fakegraph.ContosoDomain, fakegraph.ContosoAdeleID); !u.AccountEnabled || u.UserPrincipalName != "AdeleV@contoso.com" {
		t.Errorf("rejected PATCH changed state: %+v", u)
	}
}

func TestSyncedUser(t *testing.T) {
	t.Parallel()
	g := newGraph(t, fakegraph.Options{})
	const msg = "Unable to update the specified properties for on-premises mastered Directory Sync objects or objects currently undergoing migration."
	for _, body := range []map[string]any{
		{"accountEnabled": false},
		{"passwordProfile": map[string]any{"password": "Valid-Pass-123"}},
		{"onPremisesImmutableId": nil},
		{"displayName": "G. Archie"},
		{"usageLocation": "GB", "surname": "Archer"},
	} {
		res := g.do(http.MethodPatch, "/v1.0/users/"+fakegraph.ContosoGradyID, body)
		wantError(t, res, http.StatusBadRequest, "Request_BadRequest", msg)
	}
	res := g.do(http.MethodDelete, "/v1.0/users/GradyA@contoso.com", nil)
	wantError(t, res, http.StatusBadRequest, "Request_BadRequest", msg)
	if res := g.do(http.MethodPatch, "/v1.0/users/"+fakegraph.ContosoGradyID, map[string]any{"usageLocation": "GB"}); res.status != http.StatusNoContent {
		t.Errorf("cloud-mastered property rejected: %d %s", res.status, res.raw)
	}
	u, _ := g.s.User(fakegraph.ContosoTenantID, fakegraph.ContosoGradyID)
	if !u.AccountEnabled || u.OnPremisesImmutableID == "" || u.UsageLocation != "GB" || !u.OnPremisesSyncEnabled {
		t.Errorf("synced user state: %+v", u)
	}
}

func TestLeftoverImmutableID(t *testing.T) {
	t.Parallel()
	g := newGraph(t, fakegraph.Options{})
	u, _ := g.s.User(fakegraph.ContosoTenantID, "LeeG@contoso.com")
	if u.OnPremisesSyncEnabled || u.OnPremisesImmutableID == "" {
		t.Fatalf("Lee Gu seed: %+v", u)
	}
	if res := g.do(http.MethodPatch, "/v1.0/users/LeeG@contoso.com", map[string]any{"onPremisesImmutableId": nil}); res.status != http.StatusNoContent {
		t.Fatalf("clear immutable id: %d %s", res.status, res.raw)
	}
	u, _ = g.s.User(fakegraph.ContosoTenantID, "LeeG@contoso.com")
	if u.OnPremisesImmutableID != "" {
		t.Errorf("immutable id not cleared: %q", u.OnPremisesImmutableID)
	}
}

func TestPasswordComplexity(t *testing.T) {
	t.Parallel()
	g := newGraph(t, fakegraph.Options{})
	tests := []struct {
		password string
		ok       bool
	}{
		{"Short1!", false},
		{"alllowercase", false},
		{"lowerUPPER", false},
		{"lower1234", false},
		{"lowerUPPER1", true},
		{"lower-123!", true},
		{"UPPER-123!", true},
		{"Pässwörd-1", true},
	}
	for _, tc := range tests {
		t.Run(tc.password, func(t *testing.T) {
			res := g.do(http.MethodPatch, "/v1.0/users/AlexW@contoso.com", map[string]any{
				"passwordProfile": map[string]any{"password": tc.password, "forceChangePasswordNextSignIn": false},
			})
			if tc.ok {
				if res.status != http.StatusNoContent {
					t.Fatalf("status = %d: %s", res.status, res.raw)
				}
				if u, _ := g.s.User(fakegraph.ContosoTenantID, "AlexW@contoso.com"); u.Password != tc.password {
					t.Errorf("password = %q", u.Password)
				}
				return
			}
			wantError(t, res, http.StatusBadRequest, "Request_BadRequest",
				"The specified password does not comply with password complexity requirements. Please provide a different password.")
		})
	}
}

func TestSeedPasswordsAreRandom(t *testing.T) {
	t.Parallel()
	a := fakegraph.NewTest(t, fakegraph.Options{})
	b := fakegraph.NewTest(t, fakegraph.Options{})
	ua, _ := a.User(fakegraph.ContosoTenantID, "MeganB@contoso.com")
	ub, _ := b.User(fakegraph.ContosoTenantID, "MeganB@contoso.com")
	if ua.Password == "" || ua.Password == ub.Password {
		t.Errorf("seed passwords %q and %q", ua.Password, ub.Password)
	}
	if ua.ID != ub.ID || ua.ID != fakegraph.ContosoMeganID {
		t.Errorf("ids not deterministic: %s %s", ua.ID, ub.ID)
	}
}

func TestContosoSeed(t *testing.T) {
	t.Parallel()
	s := fakegraph.NewTest(t, fakegraph.Options{})
	users := s.Users(fakegraph.ContosoTenantID)
	if len(users) < 23 {
		t.Fatalf("%d users", len(users))
	}
	var synced, disabled, immutable, globalAdmins []string
	for _, u := range users {
		if !strings.HasSuffix(u.UserPrincipalName, "@contoso.com") {
			t.Errorf("upn %s", u.UserPrincipalName)
		}
		if u.OnPremisesSyncEnabled {
			synced = append(synced, u.UserPrincipalName)
		}
		if !u.AccountEnabled {
			disabled = append(disabled, u.UserPrincipalName)
		}
		if !u.OnPremisesSyncEnabled && u.OnPremisesImmutableID != "" {
			immutable = append(immutable, u.UserPrincipalName)
		}
		if slices.Contains(u.Roles, "Global Administrator") {
			globalAdmins = append(globalAdmins, u.UserPrincipalName)
		}
	}
	for name, tc := range map[string]struct {
		got  []string
		want string
	}{
		"synced":        {synced, "GradyA@contoso.com"},
		"disabled":      {disabled, "IsaiahL@contoso.com"},
		"immutable":     {immutable, "LeeG@contoso.com"},
		"global admins": {globalAdmins, "admin@contoso.com"},
	} {
		if len(tc.got) != 1 || tc.got[0] != tc.want {
			t.Errorf("%s = %v, want [%s]", name, tc.got, tc.want)
		}
	}
	adele, _ := s.User(fakegraph.ContosoDomain, "AdeleV@contoso.com")
	if adele.JobTitle != "Retail Manager" || !slices.Contains(adele.Groups, fakegraph.ContosoRetailID) {
		t.Errorf("Adele = %+v", adele)
	}
	if dl, ok := s.Group(fakegraph.ContosoTenantID, "Contoso Newsletter"); !ok || !dl.MailEnabled || dl.SecurityEnabled || len(dl.GroupTypes) != 0 {
		t.Errorf("newsletter = %+v", dl)
	}
}

func TestFilterUsers(t *testing.T) {
	t.Parallel()
	g := newGraph(t, fakegraph.Options{})
	tests := []struct {
		filter string
		want   []string
	}{
		{"userPrincipalName eq 'ADELEV@contoso.com'", []string{"AdeleV@contoso.com"}},
		{"mail eq 'meganb@contoso.com'", []string{"MeganB@contoso.com"}},
		{"mailNickname eq 'LeeG'", []string{"LeeG@contoso.com"}},
		{"displayName eq 'Grady Archie'", []string{"GradyA@contoso.com"}},
		{"startswith(displayName,'ad')", []string{"AdeleV@contoso.com"}},
		{"startswith(userPrincipalName,'al') or displayName eq 'Lee Gu'", []string{"AlexW@contoso.com", "AllanD@contoso.com", "LeeG@contoso.com"}},
		{"startsWith(displayName, 'Mi') and department eq 'Sales & Marketing'", []string{"MiriamG@contoso.com"}},
		{"accountEnabled eq false", []string{"IsaiahL@contoso.com"}},
		{"displayName eq 'O''Brien'", nil},
	}
	for _, tc := range tests {
		t.Run(tc.filter, func(t *testing.T) {
			res := g.do(http.MethodGet, "/v1.0/users?%24filter="+urlEncode(tc.filter)+"&%24select=userPrincipalName", nil)
			var got []string
			for _, v := range values(t, res) {
				got = append(got, v["userPrincipalName"].(string))
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
	for _, bad := range []string{"endswith(mail,'contoso.com')", "displayName ne 'x'", "displayName eq"} {
		res := g.do(http.MethodGet, "/v1.0/users?$filter="+urlEncode(bad), nil)
		wantError(t, res, http.StatusBadRequest, "BadRequest", "Invalid filter clause")
	}
	// A property v1.0's user does not have is refused by the schema.
	wantError(t, g.do(http.MethodGet, "/v1.0/users?$filter="+urlEncode("favouriteColour eq 'blue'"), nil), http.StatusBadRequest, "BadRequest",
		"Could not find a property named 'favouriteColour' on type 'microsoft.graph.user'.")
}

func TestTopAndPaging(t *testing.T) {
	t.Parallel()
	g := newGraph(t, fakegraph.Options{})
	next := "/v1.0/users?$top=10&$select=id"
	seen := map[string]bool{}
	pages := 0
	for next != "" {
		res := g.do(http.MethodGet, next, nil)
		for _, v := range values(t, res) {
			seen[v["id"].(string)] = true
		}
		pages++
		link, _ := res.json["@odata.nextLink"].(string)
		next = strings.TrimPrefix(link, g.s.URL())
		if pages > 5 {
			t.Fatal("too many pages")
		}
	}
	if pages != 3 || len(seen) != len(g.s.Users(fakegraph.ContosoTenantID)) {
		t.Errorf("pages = %d, users = %d", pages, len(seen))
	}
	res := g.do(http.MethodGet, "/v1.0/users?$top=0", nil)
	if res.status != http.StatusBadRequest {
		t.Errorf("$top=0 status = %d", res.status)
	}
}

func TestDeleteAndRestoreUser(t *testing.T) {
	t.Parallel()
	g := newGraph(t, fakegraph.Options{})
	if res := g.do(http.MethodDelete, "/v1.0/users/JoniS@contoso.com", nil); res.status != http.StatusNoContent {
		t.Fatalf("delete: %d %s", res.status, res.raw)
	}
	if res := g.do(http.MethodGet, "/v1.0/users/JoniS@contoso.com", nil); res.status != http.StatusNotFound {
		t.Errorf("deleted user still readable: %d", res.status)
	}
	u, ok := g.s.User(fakegraph.ContosoTenantID, "JoniS@contoso.com")
	if !ok || !u.Deleted {
		t.Fatalf("snapshot = %+v", u)
	}
	if res := g.do(http.MethodPost, "/v1.0/directory/deletedItems/"+u.ID+"/restore", nil); res.status != http.StatusOK {
		t.Fatalf("restore: %d %s", res.status, res.raw)
	}
	if res := g.do(http.MethodGet, "/v1.0/users/JoniS@contoso.com", nil); res.status != http.StatusOK {
		t.Errorf("restored user not readable: %d", res.status)
	}
}

func TestRevokeSignInSessions(t *testing.T) {
	t.Parallel()
	clock := &fixedClock{t: time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)}
	g := newGraph(t, fakegraph.Options{Now: clock.Now})
	clock.Set(clock.Now().Add(90 * time.Second))
	res := g.do(http.MethodPost, "/v1.0/users/MeganB@contoso.com/revokeSignInSessions", nil)
	if res.status != http.StatusOK || res.json["value"] != true ||
		res.json["@odata.context"] != "https://graph.microsoft.com/v1.0/$metadata#Edm.Boolean" {
		t.Fatalf("revoke: %d %s", res.status, res.raw)
	}
	u, _ := g.s.User(fakegraph.ContosoTenantID, fakegraph.ContosoMeganID)
	if !u.SignInSessionsValidFrom.Equal(clock.Now()) {
		t.Errorf("SignInSessionsValidFrom = %v", u.SignInSessionsValidFrom)
	}
	sel := g.do(http.MethodGet, "/v1.0/users/MeganB@contoso.com?$select=signInSessionsValidFromDateTime", nil)
	if sel.json["signInSessionsValidFromDateTime"] != "2026-11-30T12:01:30Z" {
		t.Errorf("signInSessionsValidFromDateTime = %v", sel.json["signInSessionsValidFromDateTime"])
	}
}

func TestLicenses(t *testing.T) {
	t.Parallel()
	g := newGraph(t, fakegraph.Options{})
	skus := values(t, g.do(http.MethodGet, "/v1.0/subscribedSkus", nil))
	if len(skus) != 5 {
		t.Fatalf("%d skus", len(skus))
	}
	consumed := map[string]float64{}
	for _, s := range skus {
		consumed[s["skuPartNumber"].(string)] = s["consumedUnits"].(float64)
		if s["prepaidUnits"].(map[string]any)["enabled"] == nil {
			t.Errorf("sku without prepaidUnits.enabled: %v", s)
		}
	}
	add := map[string]any{"addLicenses": []any{map[string]any{"skuId": fakegraph.SkuEMS, "disabledPlans": []string{}}}, "removeLicenses": []string{}}
	res := g.do(http.MethodPost, "/v1.0/users/JoniS@contoso.com/assignLicense", add)
	wantError(t, res, http.StatusBadRequest, "Request_BadRequest", "invalid usage location")
	if res := g.do(http.MethodPatch, "/v1.0/users/JoniS@contoso.com", map[string]any{"usageLocation": "US"}); res.status != http.StatusNoContent {
		t.Fatalf("set usage location: %d", res.status)
	}
	if res := g.do(http.MethodPost, "/v1.0/users/JoniS@contoso.com/assignLicense", add); res.status != http.StatusOK {
		t.Fatalf("assign: %d %s", res.status, res.raw)
	}
	skus = values(t, g.do(http.MethodGet, "/v1.0/subscribedSkus", nil))
	for _, s := range skus {
		if s["skuPartNumber"] == "EMS" && s["consumedUnits"].(float64) != consumed["EMS"]+1 {
			t.Errorf("EMS consumed = %v, was %v", s["consumedUnits"], consumed["EMS"])
		}
	}
}

func TestOrganizationAndDomains(t *testing.T) {
	t.Parallel()
	g := newGraph(t, fakegraph.Options{})
	org := values(t, g.do(http.MethodGet, "/v1.0/organization", nil))
	if len(org) != 1 || org[0]["id"] != fakegraph.ContosoTenantID || org[0]["displayName"] != "Contoso" {
		t.Fatalf("organization = %v", org)
	}
	domains := values(t, g.do(http.MethodGet, "/v1.0/domains", nil))
	if len(domains) != 2 || domains[0]["id"] != "contoso.com" || domains[0]["isDefault"] != true || domains[1]["isInitial"] != true {
		t.Errorf("domains = %v", domains)
	}
}

func TestSignIns(t *testing.T) {
	t.Parallel()
	g := newGraph(t, fakegraph.Options{})
	res := g.do(http.MethodGet, "/v1.0/auditLogs/signIns?$filter="+urlEncode("userId eq '"+fakegraph.ContosoMeganID+"'")+"&$top=3", nil)
	items := values(t, res)
	if len(items) != 3 {
		t.Fatalf("%d sign-ins", len(items))
	}
	var last string
	for i, it := range items {
		if it["userId"] != fakegraph.ContosoMeganID {
			t.Errorf("userId = %v", it["userId"])
		}
		ts := it["createdDateTime"].(string)
		if i > 0 && ts > last {
			t.Errorf("not newest first: %s after %s", ts, last)
		}
		last = ts
		for _, k := range []string{"status", "location", "deviceDetail", "appDisplayName", "ipAddress", "clientAppUsed"} {
			if it[k] == nil {
				t.Errorf("sign-in lacks %s", k)
			}
		}
	}
	if res.json["@odata.nextLink"] == nil {
		t.Error("no next link with more sign-ins left")
	}
}

func TestPerUserMFA(t *testing.T) {
	t.Parallel()
	g := newGraph(t, fakegraph.Options{})
	path := "/beta/users/" + fakegraph.ContosoAdeleID + "/authentication/requirements"
	if res := g.do(http.MethodGet, path, nil); res.json["perUserMfaState"] != "disabled" {
		t.Fatalf("GET = %s", res.raw)
	}
	if res := g.do(http.MethodPatch, path, map[string]any{"perUserMfaState": "enforced"}); res.status != http.StatusNoContent {
		t.Fatalf("PATCH = %d %s", res.status, res.raw)
	}
	if u, _ := g.s.User(fakegraph.ContosoTenantID, fakegraph.ContosoAdeleID); u.PerUserMFAState != "enforced" {
		t.Errorf("PerUserMFAState = %q", u.PerUserMFAState)
	}
	res := g.do(http.MethodPatch, path, map[string]any{"perUserMfaState": "sometimes"})
	if res.status != http.StatusBadRequest {
		t.Errorf("invalid state accepted: %d", res.status)
	}
}

func TestLatency(t *testing.T) {
	// Not parallel: it bounds a request's time from above.
	g := newGraph(t, fakegraph.Options{Latency: 120 * time.Millisecond})
	begin := time.Now()
	g.do(http.MethodGet, "/v1.0/organization", nil)
	if d := time.Since(begin); d < 120*time.Millisecond {
		t.Errorf("request took %v, want at least 120ms", d)
	}
	g.s.SetLatency(0)
	begin = time.Now()
	g.do(http.MethodGet, "/v1.0/organization", nil)
	if d := time.Since(begin); d >= 120*time.Millisecond {
		t.Errorf("request took %v after SetLatency(0)", d)
	}
}

func TestHandlerInProcess(t *testing.T) {
	t.Parallel()
	s := fakegraph.NewTest(t, fakegraph.Options{})
	if s.URL() != "" || s.Client() != nil {
		t.Error("URL and Client must be empty before Start")
	}
	req := httptest.NewRequest(http.MethodGet, "https://graph.test/"+fakegraph.ContosoDomain+"/v2.0/.well-known/openid-configuration", nil)
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, req)
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `"token_endpoint":"https://graph.test/contoso.com/oauth2/v2.0/token"`) {
		t.Errorf("in-process discovery: %d %s", rec.Code, rec.Body)
	}
	if n := len(s.Requests()); n != 1 {
		t.Errorf("%d requests recorded", n)
	}
}

// urlEncode escapes a query value.
func urlEncode(s string) string {
	return strings.NewReplacer("%", "%25", " ", "%20", "'", "%27", "&", "%26", "+", "%2B", "#", "%23").Replace(s)
}
