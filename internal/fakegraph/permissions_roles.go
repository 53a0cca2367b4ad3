package fakegraph

import (
	"net/http"
	"strings"
)

// Permissions of the role-management, PIM, Conditional Access and
// transitive-membership routes. Their pages list every application
// permission that works, so these routes accept exactly those (no
// permission implies another here).
const (
	PermRoleManagementReadAll                = "RoleManagement.Read.All"
	PermRoleManagementReadWriteDirectory     = "RoleManagement.ReadWrite.Directory"
	PermRoleEligibilityScheduleReadDirectory = "RoleEligibilitySchedule.Read.Directory"
	PermRoleEligibilityScheduleReadWriteDir  = "RoleEligibilitySchedule.ReadWrite.Directory"
	PermPolicyReadAll                        = "Policy.Read.All"
)

// exactPermissions returns, for a route whose documentation lists every
// application permission that works, that list, of which the app needs
// one exactly; false for other routes.
func exactPermissions(c *call) ([]string, bool) {
	n := len(c.segs)
	switch c.seg(0) {
	case "rolemanagement":
		if n < 3 || c.seg(1) != "directory" {
			return nil, false
		}
		switch c.seg(2) {
		case "roleassignments":
			// https://learn.microsoft.com/en-us/graph/api/rbacapplication-list-roleassignments
			// https://learn.microsoft.com/en-us/graph/api/unifiedroleassignment-get
			return []string{PermRoleManagementReadDirectory, PermRoleManagementReadAll, PermDirectoryReadAll,
				PermRoleManagementReadWriteDirectory, PermDirectoryReadWriteAll}, true
		case "roledefinitions":
			// https://learn.microsoft.com/en-us/graph/api/rbacapplication-list-roledefinitions
			return []string{PermRoleManagementReadDirectory, PermDirectoryReadAll, PermRoleManagementReadWriteDirectory,
				PermDirectoryReadWriteAll}, true
		case "roleeligibilityscheduleinstances":
			// https://learn.microsoft.com/en-us/graph/api/rbacapplication-list-roleeligibilityscheduleinstances
			// (Directory.Read.All is not among them).
			return []string{PermRoleEligibilityScheduleReadDirectory, PermRoleEligibilityScheduleReadWriteDir,
				PermRoleManagementReadAll, PermRoleManagementReadDirectory, PermRoleManagementReadWriteDirectory}, true
		}
	case "identity":
		if n >= 3 && c.seg(1) == "conditionalaccess" && c.seg(2) == "policies" {
			// https://learn.microsoft.com/en-us/graph/api/conditionalaccessroot-list-policies
			// and conditionalaccesspolicy-get: Policy.Read.All, no higher
			// privileged permission listed (not even
			// Policy.Read.ConditionalAccess).
			return []string{PermPolicyReadAll}, true
		}
	case "users":
		if n >= 3 && c.seg(2) == "transitivememberof" {
			// https://learn.microsoft.com/en-us/graph/api/user-list-transitivememberof
			return []string{PermUserReadAll, PermGroupMemberReadAll, PermGroupReadAll, PermDirectoryReadAll,
				PermDirectoryReadWriteAll}, true
		}
	}
	return nil, false
}

// grantsExactly reports whether granted holds one of need, ignoring case.
func grantsExactly(granted, need []string) bool {
	for _, p := range need {
		if containsFold(granted, p) {
			return true
		}
	}
	return false
}

// roleAssignableMembershipDenied answers 403 when a call adds a member to,
// or removes one from, a role-assignable group without
// RoleManagement.ReadWrite.Directory, which those calls need in addition
// to the usual permission
// (https://learn.microsoft.com/en-us/graph/api/group-post-members,
// https://learn.microsoft.com/en-us/graph/api/group-delete-members; "The
// Group.ReadWrite.All permission won't work",
// https://learn.microsoft.com/en-us/entra/identity/role-based-access-control/groups-concept).
func roleAssignableMembershipDenied(c *call, granted []string) *reply {
	n := len(c.segs)
	if c.seg(0) != "groups" || n < 4 || c.seg(2) != "members" || !strings.EqualFold(c.segs[n-1], "$ref") {
		return nil
	}
	if c.method != http.MethodPost && c.method != http.MethodDelete {
		return nil
	}
	g := c.t.findGroup(c.segs[1])
	if g == nil || !g.IsAssignableToRole {
		return nil
	}
	if !containsFold(granted, PermRoleManagementReadWriteDirectory) {
		return accessDenied()
	}
	return nil
}
