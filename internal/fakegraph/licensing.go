package fakegraph

import (
	"slices"
	"strings"
)

// Group-based licensing
// (https://learn.microsoft.com/en-us/entra/fundamentals/concept-group-based-licensing):
// a licence assigned to a group reaches each of its direct members (nested
// groups are not supported: "Group-based licensing currently doesn't
// support groups that contain other groups"), a user holding the same SKU
// directly and through groups consumes one licence, and the user's
// licenseAssignmentStates say which assignment came from where
// ("assignedByGroup": the group's ID, or null for a direct assignment;
// https://learn.microsoft.com/en-us/graph/api/resources/licenseassignmentstate).
// A licence the user holds only through a group cannot be removed from
// the user with assignLicense; the membership has to go.

// errInheritedLicense is assignLicense's answer for removing a licence the
// user only inherits from a group.
const errInheritedLicense = "User license is inherited from a group membership and it cannot be removed directly from the user."

// licenseGroups returns the groups that give u the SKU id, in the
// tenant's order.
func (t *tenant) licenseGroups(u *User, id string) []*Group {
	var out []*Group
	for _, g := range t.groups {
		if containsFold(g.Licenses, id) && slices.Contains(g.Members, u.ID) {
			out = append(out, g)
		}
	}
	return out
}

// effectiveLicenses returns every SKU u holds, directly or through a
// group, once each: direct ones first.
func (t *tenant) effectiveLicenses(u *User) []string {
	out := slices.Clone(u.Licenses)
	for _, g := range t.groups {
		if len(g.Licenses) == 0 || !slices.Contains(g.Members, u.ID) {
			continue
		}
		for _, id := range g.Licenses {
			if !containsFold(out, id) {
				out = append(out, strings.ToLower(id))
			}
		}
	}
	return out
}

// licenseStates renders u's licenseAssignmentStates: one entry per direct
// assignment and one per group assignment.
func (t *tenant) licenseStates(u *User) []any {
	states := []any{}
	state := func(id string, group any) obj {
		return obj{{"assignedByGroup", group}, {"disabledPlans", []string{}}, {"error", "None"},
			{"lastUpdatedDateTime", nil}, {"skuId", id}, {"state", "Active"}}
	}
	for _, id := range u.Licenses {
		states = append(states, state(id, nil))
	}
	for _, g := range t.groups {
		if !slices.Contains(g.Members, u.ID) {
			continue
		}
		for _, id := range g.Licenses {
			states = append(states, state(strings.ToLower(id), g.ID))
		}
	}
	return states
}
