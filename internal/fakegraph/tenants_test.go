package fakegraph_test

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/cippbot/cippbot/internal/fakegraph"
)

func TestAddTenantIsolation(t *testing.T) {
	t.Parallel()
	s := start(t, fakegraph.Options{})
	const fabrikamID = "0f1e2d3c-4b5a-4968-8776-655443322110"
	err := s.AddTenant(fakegraph.TenantSeed{
		ID:          fabrikamID,
		DisplayName: "Fabrikam",
		Domains:     []string{"fabrikam.com", "fabrikam.onmicrosoft.com"},
		Users: []fakegraph.User{{
			ID: "aaaaaaaa-0000-4000-8000-000000000001", UserPrincipalName: "kim@fabrikam.com", DisplayName: "Kim Akers",
			AccountEnabled: true, Roles: []string{"Global Administrator"},
		}},
	})
	if err != nil {
		t.Fatalf("AddTenant: %v", err)
	}
	if err := s.AddTenant(fakegraph.TenantSeed{ID: fabrikamID, Domains: []string{"other.com"}}); err == nil {
		t.Error("duplicate tenant accepted")
	}
	if err := s.AddTenant(fakegraph.TenantSeed{ID: "0f1e2d3c-4b5a-4968-8776-655443322111", Domains: []string{"contoso.com"}}); err == nil {
		t.Error("duplicate domain accepted")
	}
	res := tokenForm(t, s, "fabrikam.com", clientCredentials())
	if res.status != http.StatusOK {
		t.Fatalf("fabrikam token: %d %s", res.status, res.raw)
	}
	g := &graph{t: t, s: s, tok: res.json["access_token"].(string)}
	users := values(t, g.do(http.MethodGet, "/v1.0/users", nil))
	if len(users) != 1 || users[0]["userPrincipalName"] != "kim@fabrikam.com" {
		t.Errorf("fabrikam users = %v", users)
	}
	if res := g.do(http.MethodGet, "/v1.0/users/"+fakegraph.ContosoAdeleID, nil); res.status != http.StatusNotFound {
		t.Errorf("contoso user visible from fabrikam: %d", res.status)
	}
	if org := values(t, g.do(http.MethodGet, "/v1.0/organization", nil)); org[0]["id"] != fabrikamID {
		t.Errorf("organization = %v", org)
	}
}

func TestConcurrentRequests(t *testing.T) {
	t.Parallel()
	g := newGraph(t, fakegraph.Options{})
	errs := make(chan error, 40)
	for i := range 40 {
		go func() {
			method, body := http.MethodGet, ""
			if i%2 == 1 {
				method, body = http.MethodPatch, `{"jobTitle":"Title `+strconv.Itoa(i)+`"}`
			}
			req, err := http.NewRequest(method, g.s.URL()+"/v1.0/users/"+fakegraph.ContosoMeganID, strings.NewReader(body))
			if err != nil {
				errs <- err
				return
			}
			req.Header.Set("Authorization", "Bearer "+g.tok)
			res, err := g.s.Client().Do(req)
			if err != nil {
				errs <- err
				return
			}
			res.Body.Close()
			if res.StatusCode != http.StatusOK && res.StatusCode != http.StatusNoContent {
				err = fmt.Errorf("%s: status %d", method, res.StatusCode)
			}
			errs <- err
		}()
	}
	for range 40 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	if n := len(g.s.Requests()); n != 41 {
		t.Errorf("%d requests recorded, want 41 (token + 40)", n)
	}
}
