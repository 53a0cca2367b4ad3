package fakegraph_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/cippbot/cippbot/internal/fakegraph"
)

// delegatedGraph returns a Graph client holding the partner service
// account's delegated token for a customer tenant, reached through GDAP.
func delegatedGraph(t *testing.T, s *fakegraph.Server, tenant string) *graph {
	t.Helper()
	rt, err := s.IssueRefreshToken(fakegraph.PartnerTenantID, serviceAccount)
	if err != nil {
		t.Fatal(err)
	}
	r := tokenForm(t, s, tenant, refreshForm(rt, "https://graph.microsoft.com/.default"))
	if r.status != http.StatusOK {
		t.Fatalf("delegated token: %d %s", r.status, r.raw)
	}
	return &graph{t: t, s: s, tok: r.json["access_token"].(string)}
}

const resetPath = "/v1.0/users/%s/authentication/methods/28c10230-6103-485e-b985-444c60001490/resetPassword"

// reset posts a reset and returns the operation's path.
func reset(t *testing.T, g *graph, user string, body any) (response, string) {
	t.Helper()
	r := g.do(http.MethodPost, strings.Replace(resetPath, "%s", user, 1), body)
	loc := r.header.Get("Location")
	if r.status != http.StatusAccepted {
		return r, ""
	}
	if !strings.HasPrefix(loc, g.s.URL()+"/v1.0/users/") || !strings.Contains(loc, "/authentication/operations/") {
		t.Fatalf("Location = %q", loc)
	}
	return r, strings.TrimPrefix(loc, g.s.URL())
}

// poll reads the operation until it ends and returns the states seen.
func poll(t *testing.T, g *graph, path string) (states []string, last response) {
	t.Helper()
	for range 5 {
		last = g.do(http.MethodGet, path, nil)
		if last.status != http.StatusOK {
			t.Fatalf("GET operation: %d %s", last.status, last.raw)
		}
		st, _ := last.json["status"].(string)
		states = append(states, st)
		if st == "succeeded" || st == "failed" {
			if last.header.Get("Retry-After") != "" {
				t.Errorf("a terminal state carries Retry-After")
			}
			return states, last
		}
		if last.header.Get("Retry-After") != "1" {
			t.Errorf("running operation: Retry-After = %q, want 1", last.header.Get("Retry-After"))
		}
	}
	t.Fatalf("operation never ended: %v", states)
	return nil, last
}

func TestResetPassword_Writeback(t *testing.T) {
	t.Parallel()
	const pw = "Tr0ub4dor&3xyz"
	t.Run("OK", func(t *testing.T) {
		s := mspServer(t, fakegraph.Options{})
		s.SetPasswordWriteback(fakegraph.ContosoTenantID, fakegraph.WritebackOn)
		g := delegatedGraph(t, s, fakegraph.ContosoTenantID)
		r, op := reset(t, g, fakegraph.ContosoGradyID, map[string]string{"newPassword": pw})
		if op == "" {
			t.Fatalf("reset: %d %s", r.status, r.raw)
		}
		if got, _ := s.User(fakegraph.ContosoTenantID, fakegraph.ContosoGradyID); got.Password == pw {
			t.Fatal("the password changed before the operation ran")
		}
		states, last := poll(t, g, op)
		if strings.Join(states, ",") != "running,succeeded" {
			t.Errorf("states = %v", states)
		}
		if last.json["resourceLocation"] == nil || last.json["createdDateTime"] == nil {
			t.Errorf("operation = %s", last.raw)
		}
		u, _ := s.User(fakegraph.ContosoTenantID, fakegraph.ContosoGradyID)
		if u.Password != pw || !u.ForceChangePasswordNextSignIn {
			t.Errorf("password not set, or the user is not asked to change it")
		}
	})
	t.Run("ErrWritebackOff", func(t *testing.T) {
		s := mspServer(t, fakegraph.Options{})
		g := delegatedGraph(t, s, fakegraph.ContosoTenantID)
		_, op := reset(t, g, fakegraph.ContosoGradyID, map[string]string{"newPassword": pw})
		states, last := poll(t, g, op)
		if states[len(states)-1] != "failed" || !strings.Contains(last.json["statusDetail"].(string), "writeback is not enabled") {
			t.Errorf("states %v, %s", states, last.raw)
		}
		if u, _ := s.User(fakegraph.ContosoTenantID, fakegraph.ContosoGradyID); u.Password == pw {
			t.Error("password changed")
		}
	})
	t.Run("ErrRejectedOnPremises", func(t *testing.T) {
		s := mspServer(t, fakegraph.Options{})
		s.SetPasswordWriteback(fakegraph.ContosoTenantID, fakegraph.WritebackRejected)
		g := delegatedGraph(t, s, fakegraph.ContosoTenantID)
		_, op := reset(t, g, fakegraph.ContosoGradyID, map[string]string{"newPassword": pw})
		if _, last := poll(t, g, op); !strings.Contains(last.json["statusDetail"].(string), "password policy") {
			t.Errorf("%s", last.raw)
		}
	})
	t.Run("CloudUserGenerated", func(t *testing.T) {
		s := mspServer(t, fakegraph.Options{})
		g := delegatedGraph(t, s, fakegraph.ContosoTenantID)
		r, op := reset(t, g, fakegraph.ContosoAdeleID, nil)
		gen, _ := r.json["newPassword"].(string)
		if op == "" || gen == "" {
			t.Fatalf("reset without a password: %d %s", r.status, r.raw)
		}
		poll(t, g, op)
		if u, _ := s.User(fakegraph.ContosoTenantID, fakegraph.ContosoAdeleID); u.Password != gen {
			t.Error("the generated password is not the user's")
		}
	})
	t.Run("ErrSyncedNeedsPassword", func(t *testing.T) {
		s := mspServer(t, fakegraph.Options{})
		g := delegatedGraph(t, s, fakegraph.ContosoTenantID)
		r, _ := reset(t, g, fakegraph.ContosoGradyID, nil)
		wantError(t, r, http.StatusBadRequest, "Request_BadRequest", "newPassword")
	})
	t.Run("ErrComplexity", func(t *testing.T) {
		s := mspServer(t, fakegraph.Options{})
		g := delegatedGraph(t, s, fakegraph.ContosoTenantID)
		r, _ := reset(t, g, fakegraph.ContosoAdeleID, map[string]string{"newPassword": "password"})
		wantError(t, r, http.StatusBadRequest, "Request_BadRequest", "complexity")
	})
	t.Run("ErrAppOnly", func(t *testing.T) {
		// Application: Not supported, whatever the app's roles.
		s := mspServer(t, fakegraph.Options{})
		g := &graph{t: t, s: s, tok: token(t, s)}
		r, _ := reset(t, g, fakegraph.ContosoAdeleID, map[string]string{"newPassword": pw})
		wantError(t, r, http.StatusForbidden, "Authorization_RequestDenied", "")
		// Nor may an app read a reset's operation.
		_, op := reset(t, delegatedGraph(t, s, fakegraph.ContosoTenantID), fakegraph.ContosoAdeleID, map[string]string{"newPassword": pw})
		wantError(t, g.do(http.MethodGet, op, nil), http.StatusForbidden, "Authorization_RequestDenied", "")
	})
	t.Run("ErrRoleLacking", func(t *testing.T) {
		// Only the authentication administrators may call the method
		// (resetPassword, "Permissions"); an Authentication
		// Administrator resets non-admins only.
		for _, tc := range []struct {
			role        string
			user, admin int
		}{
			{"Helpdesk Administrator", http.StatusForbidden, http.StatusForbidden},
			{"User Administrator", http.StatusForbidden, http.StatusForbidden},
			{"Authentication Administrator", http.StatusAccepted, http.StatusForbidden},
			{"Privileged Authentication Administrator", http.StatusAccepted, http.StatusAccepted},
		} {
			t.Run(tc.role, func(t *testing.T) {
				seed := fakegraph.PartnerSeed()
				seed.Relationships[0].Roles = []string{tc.role}
				seed.Relationships[0].AccessAssignments = []fakegraph.AccessAssignment{{GroupID: fakegraph.PartnerServiceDeskGroupID, Roles: []string{tc.role}}}
				s := start(t, fakegraph.Options{})
				if err := s.AddTenant(seed); err != nil {
					t.Fatal(err)
				}
				g := delegatedGraph(t, s, fakegraph.ContosoTenantID)
				if r, _ := reset(t, g, fakegraph.ContosoAdeleID, map[string]string{"newPassword": pw}); r.status != tc.user {
					t.Errorf("on a non-admin: %d %s, want %d", r.status, r.raw, tc.user)
				}
				if r, _ := reset(t, g, fakegraph.ContosoAdminID, map[string]string{"newPassword": pw}); r.status != tc.admin {
					t.Errorf("on a Global Administrator: %d %s, want %d", r.status, r.raw, tc.admin)
				}
			})
		}
	})
}
