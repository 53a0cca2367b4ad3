package fakegraph

import (
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"
)

// Directory role data: role assignments (unifiedRoleAssignment), PIM
// role eligibilities (unifiedRoleEligibilityScheduleInstance),
// role-assignable groups and group nesting.
//
// The rules the tenant holds seed data and the test helpers to come from
// these pages:
//
//   - Supported principals of a role assignment are users, role-assignable
//     groups and service principals:
//     https://learn.microsoft.com/en-us/graph/api/resources/unifiedroleassignment
//   - isAssignableToRole needs securityEnabled and a group that is not
//     dynamic (groupTypes without DynamicMembership):
//     https://learn.microsoft.com/en-us/graph/api/resources/group
//   - Group nesting isn't supported in a role-assignable group ("A group
//     can't be added as a member of a role-assignable group"); a group
//     is made eligible for a role through PIM only as a role-assignable
//     group:
//     https://learn.microsoft.com/en-us/entra/identity/role-based-access-control/groups-concept
//   - A security group may contain security groups; a Microsoft 365
//     group contains no groups and is a member of none:
//     https://learn.microsoft.com/en-us/graph/api/group-post-members
//     (the allowed member types table)
//   - Only users and role-enabled groups can be members of directory
//     roles:
//     https://learn.microsoft.com/en-us/graph/api/directoryobject-getmemberobjects

// tenantScope is the directoryScopeId of a tenant-wide assignment.
const tenantScope = "/"

// roleAssignment is one unifiedRoleAssignment of the directory provider.
type roleAssignment struct {
	id          string
	principalID string
	// templateID is the roleDefinitionId: for a built-in role the
	// definition's id is its template id.
	templateID string
	scopeID    string
}

// roleEligibility is one PIM eligibility, served as a
// unifiedRoleEligibilityScheduleInstance.
type roleEligibility struct {
	id          string
	scheduleID  string
	principalID string
	templateID  string
	scopeID     string
	start       time.Time
	memberType  string
}

// lookupRoleTemplate resolves a built-in role by display name or
// template id, ignoring case, and returns its display name.
func lookupRoleTemplate(nameOrID string) (string, roleTemplate, bool) {
	for name, tpl := range roleTemplates() {
		if strings.EqualFold(name, nameOrID) || strings.EqualFold(tpl.id, nameOrID) {
			return name, tpl, true
		}
	}
	return "", roleTemplate{}, false
}

// roleNameByTemplate returns the display name of a built-in role.
func roleNameByTemplate(templateID string) string {
	name, _, _ := lookupRoleTemplate(templateID)
	return name
}

// sortedRoleNames returns the display names of every built-in role the
// tenant knows, sorted.
func sortedRoleNames() []string {
	var out []string
	for name := range roleTemplates() {
		out = append(out, name)
	}
	sort.Strings(out)
	return out
}

// guidBytes returns a GUID's 16 bytes in the Microsoft (mixed-endian)
// layout, in which the first three fields are little-endian.
func guidBytes(id string) [16]byte {
	var b [16]byte
	raw, err := hex.DecodeString(strings.ReplaceAll(id, "-", ""))
	if err != nil || len(raw) != 16 {
		return b
	}
	copy(b[:], raw)
	b[0], b[1], b[2], b[3] = b[3], b[2], b[1], b[0]
	b[4], b[5] = b[5], b[4]
	b[6], b[7] = b[7], b[6]
	return b
}

// roleObjectID builds the id Graph gives a role assignment or eligibility
// instance: the role definition's and the principal's GUIDs, base64url
// encoded together, and a suffix ("-1" for assignments, "-1-e" for
// eligibility instances), as in the examples of
// https://learn.microsoft.com/en-us/graph/api/rbacapplication-list-roleassignments
// and
// https://learn.microsoft.com/en-us/graph/api/rbacapplication-list-roleeligibilityscheduleinstances
func roleObjectID(templateID, principalID, suffix string) string {
	a, b := guidBytes(templateID), guidBytes(principalID)
	return base64.RawURLEncoding.EncodeToString(append(a[:], b[:]...)) + suffix
}

// assignRole assigns a built-in role to a principal at the tenant scope
// and returns the assignment and whether it is new. The matching
// directoryRole is activated and gets the principal as a member, so
// /directoryRoles and memberOf agree with /roleManagement.
func (t *tenant) assignRole(principalID, name string, tpl roleTemplate) (*roleAssignment, bool) {
	for _, a := range t.assignments {
		if a.principalID == principalID && a.templateID == tpl.id && a.scopeID == tenantScope {
			return a, false
		}
	}
	a := &roleAssignment{id: roleObjectID(tpl.id, principalID, "-1"), principalID: principalID, templateID: tpl.id, scopeID: tenantScope}
	t.assignments = append(t.assignments, a)
	r := t.roleByTemplate(tpl.id)
	if r == nil {
		r = &dirRole{id: stableGUID(t.id, "role", tpl.id), templateID: tpl.id, displayName: name, description: tpl.description}
		t.roles = append(t.roles, r)
	}
	if !slices.Contains(r.members, principalID) {
		r.members = append(r.members, principalID)
	}
	return a, true
}

// unassignRole removes a principal's tenant-wide assignment of a role
// and its directoryRole membership; false when there was none. The
// directoryRole stays activated.
func (t *tenant) unassignRole(principalID, templateID string) bool {
	i := slices.IndexFunc(t.assignments, func(a *roleAssignment) bool {
		return a.principalID == principalID && a.templateID == templateID && a.scopeID == tenantScope
	})
	if i < 0 {
		return false
	}
	t.assignments = slices.Delete(t.assignments, i, i+1)
	if r := t.roleByTemplate(templateID); r != nil {
		r.members = slices.DeleteFunc(r.members, func(id string) bool { return id == principalID })
	}
	return true
}

// makeEligible records a permanent, tenant-wide PIM eligibility of a
// principal for a role, starting at start; false when it exists.
func (t *tenant) makeEligible(principalID string, tpl roleTemplate, start time.Time) bool {
	for _, e := range t.eligibilities {
		if e.principalID == principalID && e.templateID == tpl.id && e.scopeID == tenantScope {
			return false
		}
	}
	t.eligibilities = append(t.eligibilities, &roleEligibility{
		id:          roleObjectID(tpl.id, principalID, "-1-e"),
		scheduleID:  stableGUID(t.id, "eligibility", principalID, tpl.id),
		principalID: principalID,
		templateID:  tpl.id,
		scopeID:     tenantScope,
		start:       start.UTC().Truncate(time.Second),
		memberType:  "Direct",
	})
	return true
}

// assignedRoleNames returns the display names of the roles assigned to a
// principal directly.
func (t *tenant) assignedRoleNames(principalID string) []string {
	var out []string
	for _, a := range t.assignments {
		if a.principalID == principalID {
			out = append(out, roleNameByTemplate(a.templateID))
		}
	}
	return out
}

// eligibleRoleNames returns the display names of the roles a principal
// is eligible for directly.
func (t *tenant) eligibleRoleNames(principalID string) []string {
	var out []string
	for _, e := range t.eligibilities {
		if e.principalID == principalID {
			out = append(out, roleNameByTemplate(e.templateID))
		}
	}
	return out
}

// userRoles returns, for a user snapshot, the display names of the roles
// the user holds (assigned directly, then through groups, then
// eligible) and of those the user is eligible for, directly or as a
// member of an eligible group ("Each member of the group is then eligible
// to activate the role assignment",
// https://learn.microsoft.com/en-us/entra/identity/role-based-access-control/groups-concept).
func (t *tenant) userRoles(userID string) (held, eligible []string) {
	add := func(list *[]string, names ...string) {
		for _, n := range names {
			if !slices.Contains(*list, n) {
				*list = append(*list, n)
			}
		}
	}
	for _, r := range t.roles {
		if slices.Contains(r.members, userID) {
			add(&held, r.displayName)
		}
	}
	groups := t.transitiveGroups(userID)
	for _, g := range groups {
		add(&held, t.assignedRoleNames(g.ID)...)
	}
	add(&eligible, t.eligibleRoleNames(userID)...)
	for _, g := range groups {
		add(&eligible, t.eligibleRoleNames(g.ID)...)
	}
	add(&held, eligible...)
	return held, eligible
}

// forgetPrincipal drops the role assignments and eligibilities of a
// principal that no longer exists.
func (t *tenant) forgetPrincipal(id string) {
	t.assignments = slices.DeleteFunc(t.assignments, func(a *roleAssignment) bool { return a.principalID == id })
	t.eligibilities = slices.DeleteFunc(t.eligibilities, func(e *roleEligibility) bool { return e.principalID == id })
}

// lookupGroupRef finds a group by id or display name (ignoring case); a
// display name shared by several groups is an error.
func (t *tenant) lookupGroupRef(idOrName string) (*Group, error) {
	if g := t.findGroup(idOrName); g != nil {
		return g, nil
	}
	var found *Group
	for _, g := range t.groups {
		if strings.EqualFold(g.DisplayName, idOrName) {
			if found != nil {
				return nil, fmt.Errorf("several groups are named %q", idOrName)
			}
			found = g
		}
	}
	if found == nil {
		return nil, fmt.Errorf("no group %q", idOrName)
	}
	return found, nil
}

// nestingError reports why child cannot become a member of parent, or
// nil when it can.
func nestingError(parent, child *Group) error {
	switch {
	case parent.IsAssignableToRole:
		// groups-concept: "Group nesting isn't supported. A group can't
		// be added as a member of a role-assignable group."
		return fmt.Errorf("group %q is role-assignable and cannot contain groups", parent.DisplayName)
	case parent.unified():
		// group-post-members: a Microsoft 365 group's members are users.
		return fmt.Errorf("group %q is a Microsoft 365 group and cannot contain groups", parent.DisplayName)
	case child.unified():
		// group-post-members: a Microsoft 365 group is a member of no group.
		return fmt.Errorf("group %q is a Microsoft 365 group and cannot be a member of a group", child.DisplayName)
	case slices.Contains(parent.MemberGroups, child.ID):
		return fmt.Errorf("group %q is already a member of %q", child.DisplayName, parent.DisplayName)
	}
	return nil
}

// groupLinks are the references of a seeded group that can be resolved
// only once every group exists.
type groupLinks struct {
	members, memberGroups, roles, eligible []string
}

// newGroup validates a seeded group's own properties and returns it with
// the defaults applied and its references set aside. created is the
// default creation time.
func (t *tenant) newGroup(seed Group, created time.Time) (*Group, groupLinks, error) {
	g := cloneGroup(seed)
	links := groupLinks{members: g.Members, memberGroups: g.MemberGroups, roles: g.Roles, eligible: g.EligibleRoles}
	g.Members, g.MemberGroups, g.Roles, g.EligibleRoles = nil, nil, nil, nil
	if !isGUID(g.ID) {
		return nil, links, fmt.Errorf("tenant: group %q: id %q is not a GUID", g.DisplayName, g.ID)
	}
	if t.findGroup(g.ID) != nil {
		return nil, links, fmt.Errorf("tenant: group %q: duplicate id", g.DisplayName)
	}
	g.ID = strings.ToLower(g.ID)
	if g.GroupTypes == nil {
		g.GroupTypes = []string{}
	}
	if g.CreatedDateTime.IsZero() {
		g.CreatedDateTime = created
	}
	if g.IsAssignableToRole {
		// https://learn.microsoft.com/en-us/graph/api/resources/group
		// (isAssignableToRole): securityEnabled must be true and the
		// group can't be dynamic.
		if !g.SecurityEnabled {
			return nil, links, fmt.Errorf("tenant: group %q: a role-assignable group must be security-enabled", g.DisplayName)
		}
		if containsFold(g.GroupTypes, "DynamicMembership") {
			return nil, links, fmt.Errorf("tenant: group %q: a role-assignable group cannot have dynamic membership", g.DisplayName)
		}
	}
	return &g, links, nil
}

// linkGroup resolves and applies a group's seeded references: member
// users (id or UPN), member groups (id or display name), assigned roles
// and eligible roles. Everything is checked before anything changes.
func (t *tenant) linkGroup(g *Group, l groupLinks) error {
	var users []*User
	for _, m := range l.members {
		u := t.findUser(m, true)
		if u == nil {
			return fmt.Errorf("tenant: group %q: unknown member %q", g.DisplayName, m)
		}
		users = append(users, u)
	}
	var children []*Group
	for _, ref := range l.memberGroups {
		child, err := t.lookupGroupRef(ref)
		if err != nil {
			return fmt.Errorf("tenant: group %q: member group: %w", g.DisplayName, err)
		}
		if slices.Contains(children, child) {
			continue
		}
		if err := nestingError(g, child); err != nil {
			return fmt.Errorf("tenant: %w", err)
		}
		children = append(children, child)
	}
	type role struct {
		name string
		tpl  roleTemplate
	}
	resolve := func(names []string, what string) ([]role, error) {
		var out []role
		for _, n := range names {
			name, tpl, ok := lookupRoleTemplate(n)
			if !ok {
				return nil, fmt.Errorf("tenant: group %q: unknown %s %q", g.DisplayName, what, n)
			}
			if !g.IsAssignableToRole {
				// unifiedRoleAssignment: supported principals are users,
				// role-assignable groups and service principals.
				return nil, fmt.Errorf("tenant: group %q: only a role-assignable group (IsAssignableToRole) can hold the %s %q", g.DisplayName, what, name)
			}
			out = append(out, role{name, tpl})
		}
		return out, nil
	}
	roles, err := resolve(l.roles, "role")
	if err != nil {
		return err
	}
	eligible, err := resolve(l.eligible, "eligible role")
	if err != nil {
		return err
	}
	for _, u := range users {
		if !slices.Contains(g.Members, u.ID) {
			g.Members = append(g.Members, u.ID)
		}
	}
	for _, c := range children {
		g.MemberGroups = append(g.MemberGroups, c.ID)
	}
	for _, r := range roles {
		t.assignRole(g.ID, r.name, r.tpl)
	}
	for _, r := range eligible {
		t.makeEligible(g.ID, r.tpl, g.CreatedDateTime)
	}
	return nil
}

// groupSnapshot returns a deep copy of g with Roles and EligibleRoles
// filled in.
func (t *tenant) groupSnapshot(g *Group) Group {
	c := cloneGroup(*g)
	c.Roles = t.assignedRoleNames(g.ID)
	c.EligibleRoles = t.eligibleRoleNames(g.ID)
	return c
}

// transitiveGroups returns the groups a user belongs to directly or
// through nested groups, in tenant order. Cycles are harmless.
func (t *tenant) transitiveGroups(userID string) []*Group {
	in := map[string]bool{}
	for _, g := range t.groups {
		if slices.Contains(g.Members, userID) {
			in[g.ID] = true
		}
	}
	for changed := true; changed; {
		changed = false
		for _, g := range t.groups {
			if in[g.ID] {
				continue
			}
			for _, child := range g.MemberGroups {
				if in[child] {
					in[g.ID] = true
					changed = true
					break
				}
			}
		}
	}
	var out []*Group
	for _, g := range t.groups {
		if in[g.ID] {
			out = append(out, g)
		}
	}
	return out
}

// principalRef is a resolved user or group.
type principalRef struct {
	id    string
	user  *User
	group *Group
}

// findPrincipal resolves a user (id or UPN, not deleted) or, failing
// that, a group (id or display name).
func (t *tenant) findPrincipal(ref string) (principalRef, error) {
	if u := t.findUser(ref, false); u != nil {
		return principalRef{id: u.ID, user: u}, nil
	}
	g, err := t.lookupGroupRef(ref)
	if err != nil {
		return principalRef{}, fmt.Errorf("no user or group %q", ref)
	}
	return principalRef{id: g.ID, group: g}, nil
}

// AssignRole assigns a built-in directory role (display name or template
// id) at the tenant scope to a principal of a tenant (id or domain): a
// user (id or user principal name) or a role-assignable group (id or
// display name). Graph then reports it under
// /roleManagement/directory/roleAssignments, and the activated
// directoryRole lists the principal as a member. It fails for an unknown
// tenant, principal or role, a group that is not role-assignable, or an
// assignment that exists.
func (s *Server) AssignRole(tenantIDOrDomain, principal, role string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, p, name, tpl, err := s.roleTarget("AssignRole", tenantIDOrDomain, principal, role)
	if err != nil {
		return err
	}
	if p.group != nil && !p.group.IsAssignableToRole {
		return fmt.Errorf("fakegraph: AssignRole: group %q is not role-assignable", p.group.DisplayName)
	}
	if _, added := t.assignRole(p.id, name, tpl); !added {
		return fmt.Errorf("fakegraph: AssignRole: %q already holds %s", principal, name)
	}
	return nil
}

// UnassignRole removes the tenant-wide assignment of a built-in role
// (display name or template id) from a user (id or user principal name)
// or group (id or display name) of a tenant (id or domain); the
// principal stops being a member of the directoryRole. It fails when
// there is no such assignment.
func (s *Server) UnassignRole(tenantIDOrDomain, principal, role string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, p, name, tpl, err := s.roleTarget("UnassignRole", tenantIDOrDomain, principal, role)
	if err != nil {
		return err
	}
	if !t.unassignRole(p.id, tpl.id) {
		return fmt.Errorf("fakegraph: UnassignRole: %q does not hold %s", principal, name)
	}
	return nil
}

// roleTarget resolves the arguments of AssignRole and UnassignRole; s.mu
// must be held.
func (s *Server) roleTarget(fn, tenantIDOrDomain, principal, role string) (*tenant, principalRef, string, roleTemplate, error) {
	t := s.tenant(tenantIDOrDomain)
	if t == nil {
		return nil, principalRef{}, "", roleTemplate{}, fmt.Errorf("fakegraph: %s: no tenant %q", fn, tenantIDOrDomain)
	}
	p, err := t.findPrincipal(principal)
	if err != nil {
		return nil, principalRef{}, "", roleTemplate{}, fmt.Errorf("fakegraph: %s: %w", fn, err)
	}
	name, tpl, ok := lookupRoleTemplate(role)
	if !ok {
		return nil, principalRef{}, "", roleTemplate{}, fmt.Errorf("fakegraph: %s: unknown role %q", fn, role)
	}
	return t, p, name, tpl, nil
}

// AddGroup adds a group to a tenant (id or domain) as seed data would:
// Members (user ids or UPNs), MemberGroups (existing groups' ids or
// display names), Roles and EligibleRoles are applied with the seed
// rules (only a role-assignable group holds roles or may not contain
// groups). An empty ID gets a stable one derived from the display name.
func (s *Server) AddGroup(tenantIDOrDomain string, g Group) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tenant(tenantIDOrDomain)
	if t == nil {
		return fmt.Errorf("fakegraph: AddGroup: no tenant %q", tenantIDOrDomain)
	}
	if g.ID == "" {
		for n := 0; g.ID == "" || t.findGroup(g.ID) != nil; n++ {
			g.ID = stableGUID(t.id, "group", g.DisplayName, fmt.Sprint(n))
		}
	}
	ng, links, err := t.newGroup(g, s.now().Truncate(time.Second))
	if err != nil {
		return fmt.Errorf("fakegraph: AddGroup: %w", err)
	}
	t.groups = append(t.groups, ng)
	if err := t.linkGroup(ng, links); err != nil {
		t.groups = t.groups[:len(t.groups)-1]
		return fmt.Errorf("fakegraph: AddGroup: %w", err)
	}
	return nil
}

// AddGroupMember makes a user (id or user principal name) or, failing
// that, a group (id or display name) a direct member of a group (id or
// display name) of a tenant (id or domain). Nesting follows the seed
// rules; it fails when the member is one already.
func (s *Server) AddGroupMember(tenantIDOrDomain, groupIDOrName, member string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tenant(tenantIDOrDomain)
	if t == nil {
		return fmt.Errorf("fakegraph: AddGroupMember: no tenant %q", tenantIDOrDomain)
	}
	g, err := t.lookupGroupRef(groupIDOrName)
	if err != nil {
		return fmt.Errorf("fakegraph: AddGroupMember: %w", err)
	}
	p, err := t.findPrincipal(member)
	if err != nil {
		return fmt.Errorf("fakegraph: AddGroupMember: %w", err)
	}
	if p.user != nil {
		if slices.Contains(g.Members, p.id) {
			return fmt.Errorf("fakegraph: AddGroupMember: %q is already a member of %q", member, g.DisplayName)
		}
		g.Members = append(g.Members, p.id)
		return nil
	}
	if err := nestingError(g, p.group); err != nil {
		return fmt.Errorf("fakegraph: AddGroupMember: %w", err)
	}
	g.MemberGroups = append(g.MemberGroups, p.id)
	return nil
}
