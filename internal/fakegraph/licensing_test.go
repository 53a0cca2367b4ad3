package fakegraph_test

import (
	"net/http"
	"testing"

	"github.com/cippbot/cippbot/internal/fakegraph"
)

// TestGroupBasedLicensing: a group's licence reaches its members, shows
// in licenseAssignmentStates with the group, consumes one licence per
// user however many ways it is held, and cannot be removed from the user
// with assignLicense.
func TestGroupBasedLicensing(t *testing.T) {
	t.Parallel()
	g := newGraph(t, fakegraph.Options{})
	const emily = "8b1d7c7a-4605-4a8f-a82a-84475981d820" // E3, direct
	if err := g.s.AddGroup(fakegraph.ContosoTenantID, fakegraph.Group{ID: "a1a1a1a1-0000-4000-8000-000000000001", DisplayName: "Licensing",
		SecurityEnabled: true, Licenses: []string{fakegraph.SkuEMS, fakegraph.SkuEnterprisePack}, Members: []string{emily}}); err != nil {
		t.Fatal(err)
	}
	user := "/v1.0/users/" + emily
	res := g.do(http.MethodGet, user+"?$select=assignedLicenses,licenseAssignmentStates", nil)
	states, _ := res.json["licenseAssignmentStates"].([]any)
	assigned, _ := res.json["assignedLicenses"].([]any)
	if res.status != 200 || len(states) != 3 || len(assigned) != 2 {
		t.Fatalf("user: %d %s", res.status, res.raw)
	}
	byGroup := 0
	for _, s := range states {
		if m, _ := s.(map[string]any); m["assignedByGroup"] == "a1a1a1a1-0000-4000-8000-000000000001" {
			byGroup++
		}
	}
	if byGroup != 2 {
		t.Errorf("%d states by the group, want 2: %s", byGroup, res.raw)
	}
	// Not on the default set: licenseAssignmentStates comes only on $select.
	if res := g.do(http.MethodGet, user, nil); res.json["licenseAssignmentStates"] != nil {
		t.Errorf("licenseAssignmentStates without $select: %s", res.raw)
	}

	assign := user + "/assignLicense"
	res = g.do(http.MethodPost, assign, map[string]any{"addLicenses": []any{}, "removeLicenses": []string{fakegraph.SkuEMS}})
	wantError(t, res, http.StatusBadRequest, "Request_BadRequest", "User license is inherited from a group membership and it cannot be removed directly from the user.")
	// E3 is held both ways: the direct assignment goes, the group's stays.
	res = g.do(http.MethodPost, assign, map[string]any{"addLicenses": []any{}, "removeLicenses": []string{fakegraph.SkuEnterprisePack}})
	if res.status != 200 {
		t.Fatalf("removing the direct E3: %d %s", res.status, res.raw)
	}
	res = g.do(http.MethodGet, user+"?$select=assignedLicenses", nil)
	if a, _ := res.json["assignedLicenses"].([]any); len(a) != 2 {
		t.Errorf("licences after removing the direct one: %s", res.raw)
	}
}
