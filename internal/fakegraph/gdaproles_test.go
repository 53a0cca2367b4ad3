package fakegraph_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"slices"
	"testing"

	"github.com/cippbot/cippbot/internal/fakegraph"
)

// gdapSim is a server with the partner and both customers, and the
// service account's refresh token.
func gdapSim(t *testing.T) (*fakegraph.Server, string) {
	t.Helper()
	s := start(t, fakegraph.Options{})
	for _, seed := range []fakegraph.TenantSeed{fakegraph.PartnerSeed(), fakegraph.FabrikamSeed()} {
		if err := s.AddTenant(seed); err != nil {
			t.Fatal(err)
		}
	}
	rt, err := s.IssueRefreshToken(fakegraph.PartnerTenantID, serviceAccount)
	if err != nil {
		t.Fatal(err)
	}
	return s, rt
}

// delegatedToken redeems rt in tenant for scope.
func delegatedToken(t *testing.T, s *fakegraph.Server, rt, tenant, scope string) string {
	t.Helper()
	res := tokenForm(t, s, tenant, refreshForm(rt, scope))
	if res.status != http.StatusOK {
		t.Fatalf("delegated token for %s: %d %s", tenant, res.status, res.raw)
	}
	return res.json["access_token"].(string)
}

// call sends a Graph request with tok.
func call(t *testing.T, s *fakegraph.Server, tok, method, path string, body any) response {
	t.Helper()
	hdr := http.Header{"Authorization": {"Bearer " + tok}}
	var rd *bytes.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
		hdr.Set("Content-Type", "application/json")
	} else {
		rd = bytes.NewReader(nil)
	}
	return send(t, s, method, path, hdr, rd)
}

func TestGDAP_AccessAssignments(t *testing.T) {
	t.Parallel()
	s, _ := gdapSim(t)
	partner := &graph{t: t, s: s, tok: tokenFor(t, s, fakegraph.PartnerTenantID)}
	r := partner.do(http.MethodGet, "/v1.0/tenantRelationships/delegatedAdminRelationships/"+fakegraph.PartnerFabrikamRelationshipID+"/accessAssignments", nil)
	items := values(t, r)
	if len(items) != 2 {
		t.Fatalf("fabrikam access assignments = %s", r.raw)
	}
	var groups []string
	for _, it := range items {
		c := it["accessContainer"].(map[string]any)
		if c["accessContainerType"] != "securityGroup" || it["status"] != "active" {
			t.Errorf("assignment = %v", it)
		}
		groups = append(groups, c["accessContainerId"].(string))
		roles := it["accessDetails"].(map[string]any)["unifiedRoles"].([]any)
		if len(roles) == 0 || roles[0].(map[string]any)["roleDefinitionId"] == "" {
			t.Errorf("assignment roles = %v", roles)
		}
		one := partner.do(http.MethodGet, "/v1.0/tenantRelationships/delegatedAdminRelationships/"+fakegraph.PartnerFabrikamRelationshipID+"/accessAssignments/"+it["id"].(string), nil)
		if one.status != http.StatusOK || one.json["id"] != it["id"] {
			t.Errorf("get assignment: %d %s", one.status, one.raw)
		}
	}
	slices.Sort(groups)
	if !slices.Equal(groups, []string{fakegraph.PartnerAdminAgentsGroupID, fakegraph.PartnerServiceDeskGroupID}) {
		t.Errorf("groups = %v", groups)
	}
	wantError(t, partner.do(http.MethodGet, "/v1.0/tenantRelationships/delegatedAdminRelationships/nope/accessAssignments", nil),
		http.StatusNotFound, "ResourceNotFound", "nope")
	// Sam is in the service desk group only: fabrikam's Authentication
	// Administrator goes to the admin agents.
	if got := s.GDAPRoles(fakegraph.PartnerTenantID, serviceAccount, fakegraph.FabrikamTenantID); !slices.Equal(got, []string{"Helpdesk Administrator", "User Administrator"}) {
		t.Errorf("Sam's roles in fabrikam = %v", got)
	}
	// An expired relationship gives nothing.
	if got := s.GDAPRoles(fakegraph.PartnerTenantID, serviceAccount, fakegraph.TailspinTenantID); len(got) != 0 {
		t.Errorf("Sam's roles in tailspin = %v", got)
	}
}

// tokenFor is an app-only Graph token for tenant.
func tokenFor(t *testing.T, s *fakegraph.Server, tenant string) string {
	t.Helper()
	res := tokenForm(t, s, tenant, clientCredentials())
	if res.status != http.StatusOK {
		t.Fatalf("token for %s: %d %s", tenant, res.status, res.raw)
	}
	return res.json["access_token"].(string)
}

func TestGDAP_GraphHonoursRoles(t *testing.T) {
	t.Parallel()
	s, rt := gdapSim(t)
	fab := delegatedToken(t, s, rt, fakegraph.FabrikamTenantID, "https://graph.microsoft.com/.default")
	con := delegatedToken(t, s, rt, fakegraph.ContosoTenantID, "https://graph.microsoft.com/.default")
	garth := "/v1.0/users/" + fakegraph.FabrikamGarthID

	t.Run("UserAdministratorUpdates", func(t *testing.T) {
		if r := call(t, s, fab, http.MethodPatch, garth, map[string]any{"jobTitle": "Senior Accountant"}); r.status != http.StatusNoContent {
			t.Fatalf("PATCH as User Administrator: %d %s", r.status, r.raw)
		}
	})
	t.Run("NoAuthenticationAdministrator", func(t *testing.T) {
		r := call(t, s, fab, http.MethodPost, garth+"/authentication/temporaryAccessPassMethods", map[string]any{"lifetimeInMinutes": 60})
		wantError(t, r, http.StatusForbidden, "Authorization_RequestDenied", "Insufficient privileges")
		// The same call in contoso, where the service desk holds
		// Privileged Authentication Administrator.
		r = call(t, s, con, http.MethodPost, "/v1.0/users/"+fakegraph.ContosoAdeleID+"/authentication/temporaryAccessPassMethods", map[string]any{"lifetimeInMinutes": 60})
		if r.status != http.StatusCreated {
			t.Fatalf("TAP in contoso: %d %s", r.status, r.raw)
		}
	})
	t.Run("SensitiveOnAdmin", func(t *testing.T) {
		// Kim is a Global Administrator: a User Administrator may not
		// block her.
		r := call(t, s, fab, http.MethodPatch, "/v1.0/users/"+fakegraph.FabrikamAdminID, map[string]any{"accountEnabled": false})
		wantError(t, r, http.StatusForbidden, "Authorization_RequestDenied", "Insufficient privileges")
	})
	t.Run("ScopeMustCover", func(t *testing.T) {
		narrow := delegatedToken(t, s, rt, fakegraph.FabrikamTenantID, "https://graph.microsoft.com/Organization.Read.All")
		if r := call(t, s, narrow, http.MethodGet, "/v1.0/organization", nil); r.status != http.StatusOK {
			t.Fatalf("GET /organization with Organization.Read.All: %d %s", r.status, r.raw)
		}
		r := call(t, s, narrow, http.MethodPatch, garth, map[string]any{"jobTitle": "x"})
		wantError(t, r, http.StatusForbidden, "Authorization_RequestDenied", "Insufficient privileges")
	})
	t.Run("NoAssignmentNoAccess", func(t *testing.T) {
		if err := s.SetAccessAssignments(fakegraph.PartnerTenantID, fakegraph.PartnerFabrikamRelationshipID, nil); err != nil {
			t.Fatal(err)
		}
		wantError(t, call(t, s, fab, http.MethodGet, garth, nil), http.StatusForbidden, "Authorization_RequestDenied", "Insufficient privileges")
	})
	t.Run("AssignmentOutsideRelationship", func(t *testing.T) {
		err := s.SetAccessAssignments(fakegraph.PartnerTenantID, fakegraph.PartnerFabrikamRelationshipID,
			[]fakegraph.AccessAssignment{{GroupID: fakegraph.PartnerServiceDeskGroupID, Roles: []string{"Exchange Administrator"}}})
		if err == nil {
			t.Fatal("an assignment of a role the relationship lacks was accepted")
		}
	})
}

func TestGDAP_ExchangeHonoursRoles(t *testing.T) {
	t.Parallel()
	s, rt := gdapSim(t)
	invoke := func(tenant, tok string) response {
		x := &exo{t: t, s: s, tok: tok, tenant: tenant}
		return x.invoke("Set-Mailbox", map[string]any{"Identity": "nobody-" + tenant, "Type": "Shared"})
	}
	// Fabrikam's relationship has no Exchange role: refused before the
	// cmdlet runs.
	fab := delegatedToken(t, s, rt, fakegraph.FabrikamTenantID, exoScope)
	if r := invoke(fakegraph.FabrikamTenantID, fab); r.status != http.StatusForbidden {
		t.Fatalf("Set-Mailbox in fabrikam without Exchange Administrator: %d %s", r.status, r.raw)
	}
	// Contoso's gives the service desk Exchange Administrator: the
	// cmdlet runs (and fails on the unknown mailbox, not on the role).
	con := delegatedToken(t, s, rt, fakegraph.ContosoTenantID, exoScope)
	if r := invoke(fakegraph.ContosoTenantID, con); r.status == http.StatusForbidden || r.status == http.StatusUnauthorized {
		t.Fatalf("Set-Mailbox in contoso as Exchange Administrator: %d %s", r.status, r.raw)
	}
}

// TestGDAP_RoleTable: each delegated rule, with the service desk given
// one role at a time in contoso.
func TestGDAP_RoleTable(t *testing.T) {
	t.Parallel()
	s, rt := gdapSim(t)
	adele := "/v1.0/users/" + fakegraph.ContosoAdeleID
	groupRef := map[string]any{"@odata.id": "https://graph.microsoft.com/v1.0/directoryObjects/" + fakegraph.ContosoAdeleID}
	password := map[string]any{"passwordProfile": map[string]any{"password": "Xw7#kP2$mN9q", "forceChangePasswordNextSignIn": false}}
	type try struct {
		method, path string
		body         any
		allowed      bool
	}
	tests := []struct {
		role  string
		scope string
		tries []try
	}{
		{"Helpdesk Administrator", "", []try{
			{http.MethodPatch, adele, password, true},
			{http.MethodPatch, adele, map[string]any{"jobTitle": "Store Manager"}, false},
			{http.MethodPost, adele + "/revokeSignInSessions", nil, true},
			{http.MethodPost, adele + "/assignLicense", map[string]any{"addLicenses": []any{}, "removeLicenses": []any{}}, false},
			{http.MethodGet, adele, nil, true},
		}},
		{"License Administrator", "", []try{
			{http.MethodPost, adele + "/assignLicense", map[string]any{"addLicenses": []any{}, "removeLicenses": []any{}}, true},
			{http.MethodPatch, adele, password, false},
			{http.MethodPost, "/v1.0/groups/" + fakegraph.ContosoFinanceSecurityID + "/members/$ref", groupRef, false},
		}},
		{"User Administrator", "", []try{
			{http.MethodPost, "/v1.0/groups/" + fakegraph.ContosoFinanceSecurityID + "/members/$ref", groupRef, true},
			// A role-assignable group's members: Privileged Role
			// Administrator only.
			{http.MethodPost, "/v1.0/groups/" + fakegraph.ContosoHelpdeskID + "/members/$ref", groupRef, false},
			{http.MethodPatch, adele, map[string]any{"jobTitle": "Store Manager"}, true},
		}},
		// Without Directory.AccessAsUser.All no password is set, whatever
		// the role.
		{"User Administrator", "https://graph.microsoft.com/User.ReadWrite.All", []try{
			{http.MethodPatch, adele, password, false},
			{http.MethodPatch, adele, map[string]any{"jobTitle": "Buyer"}, true},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.role+"/"+tt.scope, func(t *testing.T) {
			err := s.SetAccessAssignments(fakegraph.PartnerTenantID, fakegraph.PartnerContosoRelationshipID,
				[]fakegraph.AccessAssignment{{GroupID: fakegraph.PartnerServiceDeskGroupID, Roles: []string{tt.role}}})
			if err != nil {
				t.Fatal(err)
			}
			scope := tt.scope
			if scope == "" {
				scope = "https://graph.microsoft.com/.default"
			}
			tok := delegatedToken(t, s, rt, fakegraph.ContosoTenantID, scope)
			for _, tr := range tt.tries {
				r := call(t, s, tok, tr.method, tr.path, tr.body)
				denied := r.status == http.StatusForbidden
				if denied == tr.allowed {
					t.Errorf("%s %s as %s: %d %s; allowed %v", tr.method, tr.path, tt.role, r.status, r.raw, tr.allowed)
				}
			}
		})
	}
}
