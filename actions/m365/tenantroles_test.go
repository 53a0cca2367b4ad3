package m365_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/cippbot/cippbot/actions"
	"github.com/cippbot/cippbot/internal/fakegraph"
)

func roleStrings(rs []actions.RoleHeld) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.String())
	}
	slices.Sort(out)
	return out
}

// TestTenantRolesMatchPerUser: the roles of many users, read from the
// tenant's whole role lists in a few $batch requests, are exactly those
// the per-user reads find: held directly, through a role-assignable
// group, or eligible.
func TestTenantRolesMatchPerUser(t *testing.T) {
	t.Parallel()
	sim := newSim(t)
	if err := sim.AssignRole(fakegraph.ContosoTenantID, "AdeleV@contoso.com", "User Administrator"); err != nil {
		t.Fatal(err)
	}
	d := dir(t, connector(t, sim), fakegraph.ContosoTenantID)
	var ids []string
	for _, u := range sim.Users(fakegraph.ContosoTenantID) {
		if !u.Deleted {
			ids = append(ids, u.ID)
		}
	}
	if len(ids) < 8 {
		t.Fatalf("only %d users", len(ids))
	}
	sim.ResetRequests()
	all, errs := d.DirectoryRoles(ctx(), ids)
	trips := 0
	for _, r := range sim.Requests() {
		if r.BatchItemID == "" && strings.HasPrefix(r.Path, "/v1.0/") {
			trips++
		}
	}
	if trips > 2 {
		t.Errorf("%d round trips for %d users' roles, want 2 at most", trips, len(ids))
	}
	held, via, eligible := 0, 0, 0
	for i, id := range ids {
		if errs[i] != nil {
			t.Fatalf("%s: %v", id, errs[i])
		}
		one, oerrs := d.DirectoryRoles(ctx(), []string{id})
		if oerrs[0] != nil {
			t.Fatal(oerrs[0])
		}
		if got, want := roleStrings(all[i]), roleStrings(one[0]); !slices.Equal(got, want) {
			t.Errorf("%s: tenant-wide %v, per user %v", id, got, want)
		}
		for _, r := range all[i] {
			held++
			if r.Via != "" {
				via++
			}
			if r.Eligible {
				eligible++
			}
		}
	}
	if held == 0 || via == 0 || eligible == 0 {
		t.Errorf("the seed exercises too little: %d roles, %d through groups, %d eligible", held, via, eligible)
	}
}

// TestUsersWithRoles: users named by UPN come back with the same roles
// DirectoryRoles reads for their IDs, in one round trip; a missing user
// is ENOTFOUND.
func TestUsersWithRoles(t *testing.T) {
	t.Parallel()
	sim := newSim(t)
	if err := sim.AssignRole(fakegraph.ContosoTenantID, "AdeleV@contoso.com", "User Administrator"); err != nil {
		t.Fatal(err)
	}
	d := dir(t, connector(t, sim), fakegraph.ContosoTenantID)
	held := 0
	for _, u := range sim.Users(fakegraph.ContosoTenantID) {
		if u.Deleted {
			continue
		}
		sim.ResetRequests()
		users, errs, roles, rerrs := d.UsersWithRoles(ctx(), []string{u.UserPrincipalName, "nobody@contoso.com"})
		trips := 0
		for _, r := range sim.Requests() {
			if r.BatchItemID == "" && strings.HasPrefix(r.Path, "/v1.0/") {
				trips++
			}
		}
		if trips != 1 {
			t.Errorf("%s: %d round trips", u.UserPrincipalName, trips)
		}
		if errs[0] != nil || rerrs[0] != nil || users[0].ID != u.ID {
			t.Fatalf("%s: %+v %v %v", u.UserPrincipalName, users[0], errs[0], rerrs[0])
		}
		if actions.ErrorCode(errs[1]) != actions.ENOTFOUND {
			t.Errorf("missing user: %v", errs[1])
		}
		one, oerrs := d.DirectoryRoles(ctx(), []string{u.ID})
		if oerrs[0] != nil {
			t.Fatal(oerrs[0])
		}
		if got, want := roleStrings(roles[0]), roleStrings(one[0]); !slices.Equal(got, want) {
			t.Errorf("%s: with the user %v, per user %v", u.UserPrincipalName, got, want)
		}
		held += len(roles[0])
	}
	if held == 0 {
		t.Error("no roles in the seed")
	}
}
