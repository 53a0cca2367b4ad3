package actions

import (
	"context"
	"slices"
	"strings"
)

// RoleHeld is a directory role a user or group holds in Microsoft Entra
// ID, as a role assignment (unifiedRoleAssignment) or a PIM eligibility
// (unifiedRoleEligibilityScheduleInstance) says.
type RoleHeld struct {
	Name       string // the role definition's display name
	TemplateID string // the built-in role's template ID; "" if unknown
	Custom     bool   // a custom role (isBuiltIn false)
	// Via is the display name of the role-assignable group the role is
	// held through; "" when it is assigned to the principal itself.
	Via string
	// Eligible marks a PIM-eligible assignment: not active, but the
	// holder may activate it at will.
	Eligible bool
}

// String names the role with how it is held: "Helpdesk Administrator
// (through Helpdesk Operators, eligible)".
func (r RoleHeld) String() string {
	var how []string
	if r.Via != "" {
		how = append(how, "through "+r.Via)
	}
	if r.Eligible {
		how = append(how, "eligible")
	}
	if r.Custom {
		how = append(how, "custom role")
	}
	if len(how) == 0 {
		return r.Name
	}
	return r.Name + " (" + strings.Join(how, ", ") + ")"
}

// privilegedRoles are the built-in directory roles whose holders can take
// over a tenant or its users (Microsoft marks them PRIVILEGED in "Microsoft
// Entra built-in roles"): changing such an account, or granting such a
// role by group membership, needs more than a helpdesk request. Keyed by
// template ID, which is the same in every tenant; the name is a fallback.
var privilegedRoles = map[string]string{
	"62e90394-69f5-4237-9190-012177145e10": "Global Administrator",
	"e8611ab8-c189-46e8-94e1-60213ab1f814": "Privileged Role Administrator",
	"7be44c8a-adaf-4e2a-84d6-ab2649e08a13": "Privileged Authentication Administrator",
	"c4e39bd9-1100-46d3-8c65-fb160da0071f": "Authentication Administrator",
	"194ae4cb-b126-40b2-bd5b-6091b380977d": "Security Administrator",
	"b1be1c3e-b65d-4f19-8427-f6fa0d97feb9": "Conditional Access Administrator",
	"29232cdf-9323-42fd-ade2-1d097af3e4de": "Exchange Administrator",
	"f28a1f50-f6e7-4571-818b-6a12f2af6b6c": "SharePoint Administrator",
	"fe930be7-5e62-47db-91af-98c3a49a38b1": "User Administrator",
	"729827e3-9c14-49f7-bb1b-9608f156bbb8": "Helpdesk Administrator",
	"966707d0-3269-4727-9be2-8c3a10f19b9d": "Password Administrator",
	"9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3": "Application Administrator",
	"158c047a-c907-4556-b7ef-446551a6b5f7": "Cloud Application Administrator",
	"8ac3fc64-6eca-42ea-9e69-59f4c7b60eb2": "Hybrid Identity Administrator",
	"3a2c62db-5318-420d-8d74-23affee5d9d5": "Intune Administrator",
	"69091246-20e8-4a56-aa4d-066075b2a7a8": "Teams Administrator",
	"b0f54661-2d74-4c50-afa3-1ec803f12efe": "Billing Administrator",
	"0526716b-113d-4c15-b2c8-68e3c22b9f80": "Authentication Policy Administrator",
	"fdd7a751-b60b-444a-984c-02652fe8fa1c": "Groups Administrator",
	"9f06204d-73c1-4d4c-880a-6edb90606fd8": "Azure AD Joined Device Local Administrator",
	"8329153b-31d0-4727-b945-745eb3bc5f31": "Domain Name Administrator",
	"be2f45a1-457d-42af-a067-6ec1fa63bc45": "External Identity Provider Administrator",
	"9360feb5-f418-4baa-8175-e2a00bac4301": "Directory Writers",
	"e00e864a-17c5-4a4b-9c06-f5b95a8d5bd8": "Partner Tier2 Support",
	"4ba39ca4-527c-499a-b93d-d9b492c50246": "Partner Tier1 Support",
}

// IsPrivileged reports whether holding r makes an account privileged: a
// privileged built-in role, or a custom role, whose permissions cippbot
// cannot judge and so treats as privileged.
func (r RoleHeld) IsPrivileged() bool {
	if r.Custom {
		return true
	}
	if _, ok := privilegedRoles[strings.ToLower(r.TemplateID)]; ok {
		return true
	}
	for _, name := range privilegedRoles {
		if strings.EqualFold(name, r.Name) {
			return true
		}
	}
	return false
}

// Privileged returns, sorted and once each, the roles among roles that
// make an account privileged, as their String.
func Privileged(roles []RoleHeld) []string {
	var out []string
	for _, r := range roles {
		if r.IsPrivileged() && !slices.Contains(out, r.String()) {
			out = append(out, r.String())
		}
	}
	slices.Sort(out)
	return out
}

// GroupPrivilege is what a change of a group's membership grants or takes
// away besides the membership itself.
type GroupPrivilege struct {
	Group Group
	// AssignableToRole is the group's isAssignableToRole: it can hold
	// directory roles, so that its members get them.
	AssignableToRole bool
	// Roles are the directory roles the group holds, active or eligible.
	Roles []RoleHeld
	// Exclusions are the display names of the Conditional Access
	// policies that exclude the group: its members escape them.
	Exclusions []string
}

// Privileged reports whether membership of the group is privilege.
func (g GroupPrivilege) Privileged() bool {
	return g.AssignableToRole || len(g.Roles) > 0 || len(g.Exclusions) > 0
}

// Why says in one line why membership of the group is privilege: "Tier 0
// Admins holds Global Administrator".
func (g GroupPrivilege) Why() string {
	name := g.Group.DisplayName
	if name == "" {
		name = g.Group.ID
	}
	var parts []string
	if len(g.Roles) > 0 {
		names := make([]string, len(g.Roles))
		for i, r := range g.Roles {
			names[i] = r.String()
		}
		parts = append(parts, "holds "+strings.Join(names, ", "))
	} else if g.AssignableToRole {
		parts = append(parts, "is role-assignable")
	}
	if len(g.Exclusions) > 0 {
		parts = append(parts, "is excluded from Conditional Access policy "+strings.Join(g.Exclusions, ", "))
	}
	return name + " " + strings.Join(parts, " and ")
}

// GroupPrivileges returns the privileged groups among those whose
// membership a run of a on targets with p would change, each with why.
// Actions that change no group membership have none.
func (s *Service) GroupPrivileges(ctx context.Context, tenantID string, a *Action, targets []User, p Params) ([]GroupPrivilege, error) {
	if a.Groups == nil {
		return nil, nil
	}
	t, err := s.Connector.Tenant(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	ids, err := a.Groups(ctx, t, targets, p)
	if err != nil {
		return nil, err
	}
	slices.Sort(ids)
	ids = slices.Compact(ids)
	if len(ids) == 0 {
		return nil, nil
	}
	roles, err := need(t.Roles, "admin roles")
	if err != nil {
		return nil, err
	}
	all, err := roles.GroupPrivileges(ctx, ids)
	if err != nil {
		return nil, err
	}
	var out []GroupPrivilege
	for _, g := range all {
		if g.Privileged() {
			out = append(out, g)
		}
	}
	return out, nil
}

// groupParam is Groups for actions that change one group's membership,
// named by the group-id their Prepare pinned.
func groupParam(_ context.Context, _ Tenant, _ []User, p Params) ([]string, error) {
	if id := p["group-id"]; id != "" {
		return []string{id}, nil
	}
	return nil, nil
}

// copiedGroups is Groups for add-user and bulk-add: the groups of every
// user whose groups are copied (copyfrom=).
func copiedGroups(ctx context.Context, t Tenant, _ []User, p Params) ([]string, error) {
	var from []string
	for k, v := range p {
		if strings.HasPrefix(k, "copyfrom-id:") && v != "" {
			from = append(from, v)
		}
	}
	return groupsOf(ctx, t, from)
}

// offboardGroups is Groups for offboard: the groups each target leaves,
// when the plan has the groups step.
func offboardGroups(ctx context.Context, t Tenant, targets []User, p Params) ([]string, error) {
	if !slices.Contains(strings.Split(p["steps"], ","), "groups") {
		return nil, nil
	}
	ids := make([]string, len(targets))
	for i, u := range targets {
		ids[i] = u.ID
	}
	return groupsOf(ctx, t, ids)
}

// groupsOf returns the IDs of the groups the users are direct members of.
func groupsOf(ctx context.Context, t Tenant, users []string) ([]string, error) {
	if len(users) == 0 || t.Lifecycle == nil {
		// Without Lifecycle there are no memberships to read, and none to
		// change: the run cannot reach them either.
		return nil, nil
	}
	var ids []string
	for _, u := range users {
		gs, err := t.Lifecycle.UserGroups(ctx, u)
		if err != nil {
			return nil, err
		}
		for _, g := range gs {
			ids = append(ids, g.ID)
		}
	}
	return ids, nil
}
