package fakegraph_test

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cippbot/cippbot/internal/fakegraph"
)

// jwtParts decodes the header and payload of a token.
func jwtParts(t *testing.T, tok string) (map[string]any, map[string]any) {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("token has %d segments: %q", len(parts), tok)
	}
	var out [2]map[string]any
	for i := range 2 {
		b, err := base64.RawURLEncoding.DecodeString(parts[i])
		if err != nil {
			t.Fatalf("segment %d: %v", i, err)
		}
		if err := json.Unmarshal(b, &out[i]); err != nil {
			t.Fatalf("segment %d: %v", i, err)
		}
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil || len(sig) != 256 {
		t.Errorf("signature: %d bytes, %v", len(sig), err)
	}
	return out[0], out[1]
}

// roles returns the roles claim as strings.
func roles(claims map[string]any) []string {
	var out []string
	raw, _ := claims["roles"].([]any)
	for _, r := range raw {
		out = append(out, r.(string))
	}
	return out
}

func TestTokenClaims(t *testing.T) {
	t.Parallel()
	clock := &fixedClock{t: time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)}
	s := mspServer(t, fakegraph.Options{Now: clock.Now})
	tok := tenantGraph(t, s, fakegraph.FabrikamDomain).tok
	header, claims := jwtParts(t, tok)
	if header["typ"] != "JWT" || header["alg"] != "RS256" || header["kid"] == nil {
		t.Errorf("header = %v", header)
	}
	now := float64(clock.Now().Unix())
	want := map[string]any{
		"aud":   "https://graph.microsoft.com",
		"iss":   "https://sts.windows.net/" + fakegraph.FabrikamTenantID + "/",
		"tid":   fakegraph.FabrikamTenantID,
		"appid": fakegraph.DefaultClientID,
		"idtyp": "app",
		"ver":   "1.0",
		"iat":   now,
		"nbf":   now,
		"exp":   now + 3599,
	}
	for k, v := range want {
		if claims[k] != v {
			t.Errorf("%s = %v, want %v", k, claims[k], v)
		}
	}
	// A Graph token carries the Graph permissions only; Exchange's travel
	// in Exchange tokens.
	graphRoles := slices.DeleteFunc(fakegraph.DefaultPermissions(), func(p string) bool {
		return p == fakegraph.PermExchangeManageAsApp || p == fakegraph.PermSitesFullControlAll
	})
	if got := roles(claims); !slices.Equal(got, graphRoles) {
		t.Errorf("roles = %v", got)
	}
	for _, p := range []string{"User.ReadWrite.All", "Directory.ReadWrite.All", "Group.ReadWrite.All", "GroupMember.ReadWrite.All",
		"UserAuthenticationMethod.ReadWrite.All", "User-PasswordProfile.ReadWrite.All", "AuditLog.Read.All", "Organization.Read.All",
		"Domain.Read.All", "Policy.ReadWrite.AuthenticationMethod", "DelegatedAdminRelationship.Read.All"} {
		if !slices.Contains(fakegraph.DefaultPermissions(), p) {
			t.Errorf("DefaultPermissions lacks %s", p)
		}
	}

	// A seed's own permissions, and a runtime change: new tokens carry
	// the new set, the old token keeps working.
	const narrow = "22222222-3333-4444-8555-666666666666"
	if err := s.AddTenant(fakegraph.TenantSeed{ID: narrow, Domains: []string{"narrow.example"}, Permissions: []string{"User.Read.All"}}); err != nil {
		t.Fatal(err)
	}
	g := tenantGraph(t, s, "narrow.example")
	if _, c := jwtParts(t, g.tok); !slices.Equal(roles(c), []string{"User.Read.All"}) || c["tid"] != narrow {
		t.Errorf("narrow claims = %v", c)
	}
	s.SetPermissions("narrow.example", []string{"User.Read.All", "Domain.Read.All"})
	if got := s.Permissions(narrow); !slices.Equal(got, []string{"User.Read.All", "Domain.Read.All"}) {
		t.Errorf("Permissions = %v", got)
	}
	if _, c := jwtParts(t, tenantGraph(t, s, narrow).tok); !slices.Equal(roles(c), []string{"User.Read.All", "Domain.Read.All"}) {
		t.Errorf("claims after SetPermissions = %v", c)
	}
	if res := g.do(http.MethodGet, "/v1.0/domains", nil); res.status != http.StatusOK {
		t.Errorf("old token, newly granted permission: %d %s", res.status, res.raw)
	}
	s.SetPermissions(narrow, []string{})
	if _, c := jwtParts(t, tenantGraph(t, s, narrow).tok); c["roles"] != nil {
		t.Errorf("roles without permissions = %v", c["roles"])
	}
	if res := g.do(http.MethodGet, "/v1.0/users", nil); res.status != http.StatusForbidden {
		t.Errorf("old token after permissions were revoked: %d", res.status)
	}
	s.SetPermissions(narrow, nil)
	if got := s.Permissions(narrow); !slices.Equal(got, fakegraph.DefaultPermissions()) {
		t.Errorf("nil did not restore the defaults: %v", got)
	}
	func() {
		defer func() {
			if recover() == nil {
				t.Error("SetPermissions on an unknown tenant did not panic")
			}
		}()
		s.SetPermissions("nowhere.example", nil)
	}()
}

func TestPermissionTable(t *testing.T) {
	t.Parallel()
	const beta = "/beta/users/" + fakegraph.ContosoAdminID + "/authentication/requirements"
	adele := "/v1.0/users/" + fakegraph.ContosoAdeleID
	ref := map[string]any{"@odata.id": "https://graph.microsoft.com/v1.0/directoryObjects/" + fakegraph.ContosoAdeleID}
	tests := []struct {
		name   string
		method string
		path   string
		body   any
		// ok is granted a permission set that must succeed, short one
		// that must fail with 403.
		ok, short []string
		status    int
	}{
		{"list users", "GET", "/v1.0/users", nil, []string{"User.Read.All"}, []string{"Group.Read.All"}, 200},
		{"list users via Directory.Read.All", "GET", "/v1.0/users", nil, []string{"Directory.Read.All"}, []string{"AuditLog.Read.All"}, 200},
		{"list users via ReadWrite", "GET", "/v1.0/users", nil, []string{"User.ReadWrite.All"}, nil, 200},
		{"memberOf", "GET", adele + "/memberOf", nil, []string{"User.Read.All"}, []string{"Domain.Read.All"}, 200},
		{"manager", "GET", adele + "/manager", nil, []string{"Directory.ReadWrite.All"}, []string{"Organization.Read.All"}, 200},
		{"patch user", "PATCH", adele, map[string]any{"jobTitle": "x"}, []string{"User.ReadWrite.All"}, []string{"User.Read.All", "User-PasswordProfile.ReadWrite.All"}, 204},
		{"patch via Directory.ReadWrite.All", "PATCH", adele, map[string]any{"jobTitle": "x"}, []string{"Directory.ReadWrite.All"}, []string{"Directory.Read.All"}, 204},
		{"reset password", "PATCH", adele, map[string]any{"passwordProfile": map[string]any{"password": "Xy7!pass-word", "forceChangePasswordNextSignIn": true}},
			[]string{"User-PasswordProfile.ReadWrite.All"}, []string{"User.Read.All", "UserAuthenticationMethod.ReadWrite.All"}, 204},
		{"reset password via User.ReadWrite.All", "PATCH", adele, map[string]any{"passwordProfile": map[string]any{"password": "Xy7!pass-word"}},
			[]string{"User.ReadWrite.All"}, nil, 204},
		{"password plus other property", "PATCH", adele, map[string]any{"passwordProfile": map[string]any{"password": "Xy7!pass-word"}, "accountEnabled": false},
			[]string{"User.ReadWrite.All"}, []string{"User-PasswordProfile.ReadWrite.All"}, 204},
		{"delete user", "DELETE", "/v1.0/users/" + fakegraph.ContosoMeganID, nil, []string{"User.ReadWrite.All"}, []string{"User.Read.All"}, 204},
		{"revoke sessions", "POST", adele + "/revokeSignInSessions", nil, []string{"User.ReadWrite.All"}, []string{"User.Read.All"}, 200},
		{"list methods", "GET", adele + "/authentication/methods", nil, []string{"UserAuthenticationMethod.Read.All"}, []string{"User.ReadWrite.All"}, 200},
		{"create TAP", "POST", adele + "/authentication/temporaryAccessPassMethods", map[string]any{}, []string{"UserAuthenticationMethod.ReadWrite.All"}, []string{"UserAuthenticationMethod.Read.All"}, 201},
		{"delete phone", "DELETE", adele + "/authentication/phoneMethods/3179e48a-750b-4051-897c-87b9720928f7", nil, []string{"UserAuthenticationMethod.ReadWrite.All"}, []string{"UserAuthenticationMethod.Read.All", "Directory.ReadWrite.All"}, 204},
		{"get requirements", "GET", beta, nil, []string{"Policy.ReadWrite.AuthenticationMethod"}, []string{"UserAuthenticationMethod.ReadWrite.All"}, 200},
		{"set requirements", "PATCH", beta, map[string]any{"perUserMfaState": "disabled"}, []string{"Policy.ReadWrite.AuthenticationMethod"}, []string{"User.ReadWrite.All"}, 204},
		{"list groups", "GET", "/v1.0/groups", nil, []string{"Group.Read.All"}, []string{"User.Read.All"}, 200},
		{"add member", "POST", "/v1.0/groups/" + fakegraph.ContosoMark8ID + "/members/$ref", ref, []string{"GroupMember.ReadWrite.All"}, []string{"GroupMember.Read.All", "User.ReadWrite.All"}, 204},
		{"add member via Group.ReadWrite.All", "POST", "/v1.0/groups/" + fakegraph.ContosoMark8ID + "/members/$ref", ref, []string{"Group.ReadWrite.All"}, nil, 204},
		{"remove member", "DELETE", "/v1.0/groups/" + fakegraph.ContosoRetailID + "/members/" + fakegraph.ContosoAdeleID + "/$ref", nil, []string{"GroupMember.ReadWrite.All"}, []string{"Group.Read.All"}, 204},
		{"sign-ins", "GET", "/v1.0/auditLogs/signIns", nil, []string{"AuditLog.Read.All"}, []string{"Directory.ReadWrite.All"}, 200},
		{"skus", "GET", "/v1.0/subscribedSkus", nil, []string{"Organization.Read.All"}, []string{"User.ReadWrite.All"}, 200},
		{"organization", "GET", "/v1.0/organization", nil, []string{"Organization.Read.All"}, []string{"Domain.Read.All"}, 200},
		{"domains", "GET", "/v1.0/domains", nil, []string{"Domain.Read.All"}, []string{"Organization.Read.All"}, 200},
		{"relationships", "GET", "/v1.0/tenantRelationships/delegatedAdminRelationships", nil, []string{"DelegatedAdminRelationship.Read.All"}, []string{"Directory.ReadWrite.All"}, 200},
		{"relationships via ReadWrite", "GET", "/v1.0/tenantRelationships/delegatedAdminRelationships", nil, []string{"DelegatedAdminRelationship.ReadWrite.All"}, nil, 200},
		{"service root needs nothing", "GET", "/v1.0/", nil, []string{}, nil, 200},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g := newGraph(t, fakegraph.Options{})
			if tc.short != nil {
				g.s.SetPermissions(fakegraph.ContosoTenantID, tc.short)
				res := g.do(tc.method, tc.path, tc.body)
				wantError(t, res, http.StatusForbidden, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.")
				if inner, _ := res.json["error"].(map[string]any)["innerError"].(map[string]any); inner["request-id"] == nil {
					t.Errorf("no innerError: %s", res.raw)
				}
			}
			g.s.SetPermissions(fakegraph.ContosoTenantID, tc.ok)
			if res := g.do(tc.method, tc.path, tc.body); res.status != tc.status {
				t.Errorf("with %v: %d, want %d: %s", tc.ok, res.status, tc.status, res.raw)
			}
		})
	}
}

func TestPermissionsInBatch(t *testing.T) {
	t.Parallel()
	g := newGraph(t, fakegraph.Options{})
	g.s.SetPermissions(fakegraph.ContosoTenantID, []string{"User.Read.All", "AuditLog.Read.All"})
	res := g.do(http.MethodPost, "/v1.0/$batch", map[string]any{"requests": []any{
		map[string]any{"id": "read", "method": "GET", "url": "/users/AdeleV@contoso.com"},
		map[string]any{"id": "write", "method": "PATCH", "url": "/users/AdeleV@contoso.com",
			"headers": map[string]any{"Content-Type": "application/json"}, "body": map[string]any{"jobTitle": "x"}},
		map[string]any{"id": "domains", "method": "GET", "url": "/domains"},
		map[string]any{"id": "signins", "method": "GET", "url": "/auditLogs/signIns?$top=1"},
	}})
	items := batchResponses(t, res)
	want := map[string]float64{"read": 200, "write": 403, "domains": 403, "signins": 200}
	for id, status := range want {
		if items[id]["status"] != status {
			t.Errorf("item %s status = %v, want %v", id, items[id]["status"], status)
		}
	}
	e := items["write"]["body"].(map[string]any)["error"].(map[string]any)
	if e["code"] != "Authorization_RequestDenied" {
		t.Errorf("write error = %v", e)
	}
	if u, _ := g.s.User(fakegraph.ContosoTenantID, fakegraph.ContosoAdeleID); u.JobTitle == "x" {
		t.Error("denied batch item was applied")
	}
}
