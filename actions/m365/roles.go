package m365

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	abs "github.com/microsoft/kiota-abstractions-go"

	"github.com/cippbot/cippbot/actions"
)

// Who holds which directory role is read from Entra's role management
// API, not from memberOf, which lists only the roles a user holds directly
// and only on its first page:
//
//   - active assignments, PIM-activated ones included:
//     GET /roleManagement/directory/roleAssignments?$filter=principalId eq '{id}'
//     (https://learn.microsoft.com/en-us/graph/api/rbacapplication-list-roleassignments);
//   - PIM-eligible assignments:
//     GET /roleManagement/directory/roleEligibilityScheduleInstances?$filter=principalId eq '{id}'
//     (https://learn.microsoft.com/en-us/graph/api/rbacapplication-list-roleeligibilityscheduleinstances);
//   - roles held through groups: a role can be assigned only to users,
//     role-assignable groups and service principals
//     (https://learn.microsoft.com/en-us/graph/api/resources/unifiedroleassignment),
//     so the same two reads for each role-assignable group in the user's
//     GET /users/{id}/transitiveMemberOf
//     (https://learn.microsoft.com/en-us/graph/api/user-list-transitivememberof).
//
// Every read follows @odata.nextLink to the end.

// roleDoc is a unifiedRoleAssignment or unifiedRoleEligibilityScheduleInstance
// with its roleDefinition expanded.
type roleDoc struct {
	PrincipalID      string `json:"principalId"`
	RoleDefinitionID string `json:"roleDefinitionId"`
	RoleDefinition   *struct {
		DisplayName string `json:"displayName"`
		TemplateID  string `json:"templateId"`
		IsBuiltIn   *bool  `json:"isBuiltIn"`
	} `json:"roleDefinition"`
}

func (r roleDoc) held(via string, eligible bool) actions.RoleHeld {
	h := actions.RoleHeld{TemplateID: r.RoleDefinitionID, Via: via, Eligible: eligible}
	if def := r.RoleDefinition; def != nil {
		h.Name = def.DisplayName
		if def.TemplateID != "" {
			h.TemplateID = def.TemplateID
		}
		h.Custom = def.IsBuiltIn != nil && !*def.IsBuiltIn
	}
	if h.Name == "" {
		h.Name = "role " + r.RoleDefinitionID
	}
	return h
}

// memberDoc is one directoryObject of a membership list.
type memberDoc struct {
	Type               string   `json:"@odata.type"`
	ID                 string   `json:"id"`
	DisplayName        string   `json:"displayName"`
	IsAssignableToRole *bool    `json:"isAssignableToRole"`
	GroupTypes         []string `json:"groupTypes"`
	MailEnabled        bool     `json:"mailEnabled"`
	SecurityEnabled    bool     `json:"securityEnabled"`
}

func (m memberDoc) assignable() bool { return m.IsAssignableToRole != nil && *m.IsAssignableToRole }

// principalFilter is the $filter of role reads for one principal.
func principalFilter(id string) string { return "principalId eq '" + odataQuote(id) + "'" }

// roleURLs returns the active-assignment and eligibility reads of one
// principal.
func (d *Directory) roleURLs(id string) (active, eligible string) {
	f := principalFilter(id)
	return d.v1("/roleManagement/directory/roleAssignments", "$filter", f, "$expand", "roleDefinition"),
		d.v1("/roleManagement/directory/roleEligibilityScheduleInstances", "$filter", f, "$expand", "roleDefinition")
}

// eligibilityUnreadable reports whether an eligibility read failed because
// the app may not read PIM data (a permission, or a tenant without PIM),
// which "check" names; cippbot then judges on active assignments alone.
func eligibilityUnreadable(err error) bool {
	c := actions.ErrorCode(err)
	return c == actions.EFORBIDDEN || c == actions.EINVALID
}

// DirectoryRoles implements actions.Roles: each user's active and
// eligible role assignments, and those of every role-assignable group the
// user is in, directly or transitively, all pages, in $batch requests.
func (d *Directory) DirectoryRoles(ctx context.Context, ids []string) ([][]actions.RoleHeld, []error) {
	if len(ids) > rolesPerUserMax {
		return d.tenantRoles(ctx, ids)
	}
	out, errs := make([][]actions.RoleHeld, len(ids)), make([]error, len(ids))
	urls := make([]string, 0, 3*len(ids))
	what := make([]string, 0, 3*len(ids))
	for _, id := range ids {
		active, eligible := d.roleURLs(id)
		// No $select: the list is of directoryObjects, which have none of
		// a group's properties until cast, and the cast needs advanced
		// query headers; a group's default properties carry
		// isAssignableToRole.
		urls = append(urls, d.v1("/users/"+url.PathEscape(id)+"/transitiveMemberOf"), active, eligible)
		what = append(what, "groups of user "+id, "roles of user "+id, "eligible roles of user "+id)
	}
	items, ierrs := d.rolesAndState(ctx, ids, urls, what)
	groupsOf := make([][]memberDoc, len(ids))
	var groupIDs []string
	for i := range ids {
		tm, act, elig := 3*i, 3*i+1, 3*i+2
		switch {
		case ierrs[tm] != nil:
			errs[i] = ierrs[tm]
			continue
		case ierrs[act] != nil:
			errs[i] = ierrs[act]
			continue
		case ierrs[elig] != nil && !eligibilityUnreadable(ierrs[elig]):
			errs[i] = ierrs[elig]
			continue
		}
		if err := decodeRoles(items[act], "", false, &out[i]); err != nil {
			errs[i] = mapError(err, what[act])
			continue
		}
		if ierrs[elig] == nil {
			if err := decodeRoles(items[elig], "", true, &out[i]); err != nil {
				errs[i] = mapError(err, what[elig])
				continue
			}
		}
		for _, raw := range items[tm] {
			var m memberDoc
			if err := json.Unmarshal(raw, &m); err != nil {
				errs[i] = mapError(err, what[tm])
				break
			}
			if m.assignable() {
				groupsOf[i] = append(groupsOf[i], m)
				groupIDs = append(groupIDs, m.ID)
			}
		}
	}
	slices.Sort(groupIDs)
	groupIDs = slices.Compact(groupIDs)
	if len(groupIDs) == 0 {
		return out, errs
	}
	byGroup, gerrs := d.groupRoles(ctx, groupIDs)
	for i := range ids {
		for _, g := range groupsOf[i] {
			if err := gerrs[g.ID]; err != nil {
				errs[i] = err
				break
			}
			for _, r := range byGroup[g.ID] {
				r.Via = g.DisplayName
				out[i] = append(out[i], r)
			}
		}
	}
	return out, errs
}

// groupRoles reads the active and eligible roles of groups.
func (d *Directory) groupRoles(ctx context.Context, groupIDs []string) (map[string][]actions.RoleHeld, map[string]error) {
	urls := make([]string, 0, 2*len(groupIDs))
	what := make([]string, 0, 2*len(groupIDs))
	for _, id := range groupIDs {
		active, eligible := d.roleURLs(id)
		urls = append(urls, active, eligible)
		what = append(what, "roles of group "+id, "eligible roles of group "+id)
	}
	items, ierrs := d.allPages(ctx, urls, what)
	roles, errs := map[string][]actions.RoleHeld{}, map[string]error{}
	for i, id := range groupIDs {
		act, elig := 2*i, 2*i+1
		if ierrs[act] != nil {
			errs[id] = ierrs[act]
			continue
		}
		if ierrs[elig] != nil && !eligibilityUnreadable(ierrs[elig]) {
			errs[id] = ierrs[elig]
			continue
		}
		var rs []actions.RoleHeld
		if err := decodeRoles(items[act], "", false, &rs); err != nil {
			errs[id] = mapError(err, what[act])
			continue
		}
		if ierrs[elig] == nil {
			if err := decodeRoles(items[elig], "", true, &rs); err != nil {
				errs[id] = mapError(err, what[elig])
				continue
			}
		}
		roles[id] = rs
	}
	return roles, errs
}

func decodeRoles(items []json.RawMessage, via string, eligible bool, out *[]actions.RoleHeld) error {
	for _, raw := range items {
		var r roleDoc
		if err := json.Unmarshal(raw, &r); err != nil {
			return err
		}
		*out = append(*out, r.held(via, eligible))
	}
	return nil
}

// caPolicy is the part of a conditionalAccessPolicy that says whom it
// leaves out
// (https://learn.microsoft.com/en-us/graph/api/resources/conditionalaccessusers).
type caPolicy struct {
	DisplayName string `json:"displayName"`
	State       string `json:"state"`
	Conditions  struct {
		Users struct {
			ExcludeGroups []string `json:"excludeGroups"`
		} `json:"users"`
	} `json:"conditions"`
}

// GroupPrivileges implements actions.Roles: each group with its
// isAssignableToRole, the roles it holds, and the enabled Conditional
// Access policies that exclude it. Without Policy.Read.All the policies
// cannot be read; the exclusions are then left out ("check" says so).
func (d *Directory) GroupPrivileges(ctx context.Context, groupIDs []string) ([]actions.GroupPrivilege, error) {
	urls := make([]string, len(groupIDs))
	what := make([]string, len(groupIDs))
	for i, id := range groupIDs {
		urls[i] = d.v1("/groups/"+url.PathEscape(id), "$select", "id,displayName,isAssignableToRole,groupTypes,mailEnabled,securityEnabled")
		what[i] = "group " + id
	}
	reqs := make([]*abs.RequestInformation, len(urls))
	for i, u := range urls {
		ri, err := rawRequest(abs.GET, u, nil)
		if err != nil {
			return nil, mapError(err, what[i])
		}
		reqs[i] = ri
	}
	out := make([]actions.GroupPrivilege, len(groupIDs))
	var assignable []string
	for i, r := range d.runBatch(ctx, reqs, what, nil) {
		if r.err != nil {
			return nil, r.err
		}
		var m memberDoc
		if err := json.Unmarshal(r.body, &m); err != nil {
			return nil, mapError(err, what[i])
		}
		out[i] = actions.GroupPrivilege{Group: actions.Group{ID: groupIDs[i], DisplayName: m.DisplayName,
			Unified: slices.Contains(m.GroupTypes, "Unified"), MailEnabled: m.MailEnabled, SecurityEnabled: m.SecurityEnabled},
			AssignableToRole: m.assignable()}
		if m.assignable() {
			assignable = append(assignable, groupIDs[i])
		}
	}
	if len(assignable) > 0 {
		roles, errs := d.groupRoles(ctx, assignable)
		for i := range out {
			id := out[i].Group.ID
			if err := errs[id]; err != nil {
				return nil, err
			}
			out[i].Roles = roles[id]
		}
	}
	policies, err := d.conditionalAccess(ctx)
	if err != nil {
		if actions.ErrorCode(err) != actions.EFORBIDDEN {
			return nil, err
		}
		d.log.DebugContext(ctx, "conditional access policies unreadable; exclusions not checked", "err", err)
	}
	for _, p := range policies {
		if p.State != "enabled" {
			continue
		}
		for i := range out {
			if slices.ContainsFunc(p.Conditions.Users.ExcludeGroups, func(g string) bool { return strings.EqualFold(g, out[i].Group.ID) }) {
				out[i].Exclusions = append(out[i].Exclusions, p.DisplayName)
			}
		}
	}
	return out, nil
}

// conditionalAccess reads every Conditional Access policy
// (https://learn.microsoft.com/en-us/graph/api/conditionalaccessroot-list-policies).
func (d *Directory) conditionalAccess(ctx context.Context) ([]caPolicy, error) {
	var out []caPolicy
	err := pages(ctx, d, d.v1("/identity/conditionalAccess/policies"), func(p caPolicy) bool {
		out = append(out, p)
		return true
	})
	return out, mapError(err, "Conditional Access policies")
}

// allPages GETs every URL and each @odata.nextLink after it, the first
// pages and then each round of next pages in $batch requests, and returns
// the items of each URL's collection, or the error that ended it.
func (d *Directory) allPages(ctx context.Context, urls, what []string) ([][]json.RawMessage, []error) {
	items, errs := make([][]json.RawMessage, len(urls)), make([]error, len(urls))
	next := slices.Clone(urls)
	const maxPages = 1000 // a loop guard: 100,000 items of 100 a page
	for round := 0; round < maxPages; round++ {
		var idx []int
		var reqs []*abs.RequestInformation
		var names []string
		for i, u := range next {
			if u == "" {
				continue
			}
			ri, err := rawRequest(abs.GET, u, nil)
			if err != nil {
				errs[i], next[i] = mapError(err, what[i]), ""
				continue
			}
			idx, reqs, names = append(idx, i), append(reqs, ri), append(names, what[i])
		}
		if len(reqs) == 0 {
			return items, errs
		}
		for k, r := range d.runBatch(ctx, reqs, names, nil) {
			i := idx[k]
			next[i] = ""
			if r.err != nil {
				errs[i] = r.err
				continue
			}
			var page struct {
				Value []json.RawMessage `json:"value"`
				Next  string            `json:"@odata.nextLink"`
			}
			if err := json.Unmarshal(r.body, &page); err != nil {
				errs[i] = mapError(err, what[i])
				continue
			}
			items[i] = append(items[i], page.Value...)
			next[i] = page.Next
		}
	}
	for i, u := range next {
		if u != "" {
			errs[i] = mapError(fmt.Errorf("more than %d pages", maxPages), what[i])
		}
	}
	return items, errs
}

// rolesAndState runs the role reads (urls) and, in the same $batch
// requests, reads the users' state, which it keeps for the run that
// usually follows a role check (Users takes it from there): so a
// re-check before a run and the run's own read of its targets cost one
// round trip together. It returns the role reads' results.
func (d *Directory) rolesAndState(ctx context.Context, ids, urls, what []string) ([][]json.RawMessage, []error) {
	n := len(urls)
	surls, swhat, chunkOf := d.userListReads(ids)
	items, ierrs := d.allPages(ctx, append(slices.Clip(urls), surls...), append(slices.Clip(what), swhat...))
	users, uerrs := userListResults(ids, items[n:], ierrs[n:], chunkOf)
	var read []actions.User
	for i, u := range users {
		if uerrs[i] == nil {
			read = append(read, u)
		} else {
			actions.PrefetchFrom(ctx).TakeUser(d.tenantID, ids[i], time.Time{}, 0) // an older read must not stand in
		}
	}
	actions.PrefetchFrom(ctx).PutUsers(d.tenantID, read, d.clock().Now())
	return items[:n], ierrs[:n]
}

// rolesPerUserMax is the most users whose roles are read user by user
// (three reads each); for more, the tenant's role assignments are read
// whole, which costs the same for 7 users as for 1,000.
const rolesPerUserMax = 6

// principalDoc is the expanded principal of a role assignment.
type principalDoc struct {
	Type        string `json:"@odata.type"`
	ID          string `json:"id"`
	DisplayName string `json:"displayName"`
}

// tenantRoleDoc is a role assignment or eligibility with its principal.
type tenantRoleDoc struct {
	roleDoc
	Principal *principalDoc `json:"principal"`
}

// tenantRoles answers DirectoryRoles for many users from the tenant's
// whole lists of active role assignments and PIM eligibilities, every
// page, with each assignment's principal expanded: a user's roles are
// those assigned to the user and those assigned to a group the user is a
// member of. A role can be assigned only to users, role-assignable groups
// and service principals
// (https://learn.microsoft.com/en-us/graph/api/resources/unifiedroleassignment),
// and a role-assignable group cannot have groups as members
// (https://learn.microsoft.com/en-us/entra/identity/role-based-access-control/groups-concept),
// so the direct members of the groups holding roles are all who hold a
// role through a group. The reads are as complete as the per-user ones,
// in two rounds of $batch requests (the second only if a group holds a
// role) whatever the number of users.
func (d *Directory) tenantRoles(ctx context.Context, ids []string) ([][]actions.RoleHeld, []error) {
	out, errs := make([][]actions.RoleHeld, len(ids)), make([]error, len(ids))
	urls := []string{
		d.v1("/roleManagement/directory/roleAssignments", "$expand", "principal,roleDefinition", "$top", "999"),
		d.v1("/roleManagement/directory/roleEligibilityScheduleInstances", "$expand", "principal,roleDefinition", "$top", "999"),
	}
	what := []string{"role assignments", "eligible role assignments"}
	items, ierrs := d.rolesAndState(ctx, ids, urls, what)
	if ierrs[0] != nil {
		return out, fill(errs, ierrs[0])
	}
	if ierrs[1] != nil && !eligibilityUnreadable(ierrs[1]) {
		return out, fill(errs, ierrs[1])
	}
	index := map[string]int{}
	for i, id := range ids {
		index[strings.ToLower(id)] = i
	}
	byGroup := map[string][]actions.RoleHeld{} // group ID → roles it holds
	groupName := map[string]string{}
	for list, eligible := range []bool{false, true} {
		if list == 1 && ierrs[1] != nil {
			break
		}
		for _, raw := range items[list] {
			var r tenantRoleDoc
			if err := json.Unmarshal(raw, &r); err != nil {
				return out, fill(errs, mapError(err, what[list]))
			}
			if i, ok := index[strings.ToLower(r.PrincipalID)]; ok {
				out[i] = append(out[i], r.held("", eligible))
				continue
			}
			if p := r.Principal; p != nil && strings.EqualFold(strings.TrimPrefix(p.Type, "#"), "microsoft.graph.group") {
				byGroup[r.PrincipalID] = append(byGroup[r.PrincipalID], r.held("", eligible))
				groupName[r.PrincipalID] = p.DisplayName
			}
		}
	}
	if len(byGroup) == 0 {
		return out, errs
	}
	groups := make([]string, 0, len(byGroup))
	for g := range byGroup {
		groups = append(groups, g)
	}
	slices.Sort(groups)
	urls, what = urls[:0], what[:0]
	for _, g := range groups {
		urls = append(urls, d.v1("/groups/"+url.PathEscape(g)+"/members", "$select", "id", "$top", "999"))
		what = append(what, "members of group "+g)
	}
	members, merrs := d.allPages(ctx, urls, what)
	for k, g := range groups {
		if merrs[k] != nil {
			return out, fill(errs, merrs[k])
		}
		for _, raw := range members[k] {
			var m memberDoc
			if err := json.Unmarshal(raw, &m); err != nil {
				return out, fill(errs, mapError(err, what[k]))
			}
			i, ok := index[strings.ToLower(m.ID)]
			if !ok {
				continue
			}
			for _, r := range byGroup[g] {
				r.Via = groupName[g]
				out[i] = append(out[i], r)
			}
		}
	}
	return out, errs
}

// UsersWithRoles implements actions.UsersWithRoles: up to
// rolesPerUserMax users by ID or name, with their roles, in one round of
// $batch requests: the users (a list read), each one's transitiveMemberOf
// (by ID or name alike), and the tenant's whole lists of role assignments
// and eligibilities, every page. A user's roles are those assigned to the
// user and to a role-assignable group the user is in, as DirectoryRoles
// reads them. More users are read first and their roles after.
func (d *Directory) UsersWithRoles(ctx context.Context, ids []string) ([]actions.User, []error, [][]actions.RoleHeld, []error) {
	if len(ids) > rolesPerUserMax {
		users, errs := d.Users(ctx, ids)
		roles, rerrs := make([][]actions.RoleHeld, len(ids)), make([]error, len(ids))
		var idx []int
		var found []string
		for i := range ids {
			if errs[i] == nil {
				idx, found = append(idx, i), append(found, users[i].ID)
			}
		}
		if len(found) > 0 {
			r, e := d.DirectoryRoles(ctx, found)
			for k, i := range idx {
				roles[i], rerrs[i] = r[k], e[k]
			}
		}
		return users, errs, roles, rerrs
	}
	urls := []string{
		d.v1("/roleManagement/directory/roleAssignments", "$expand", "roleDefinition", "$top", "999"),
		d.v1("/roleManagement/directory/roleEligibilityScheduleInstances", "$expand", "roleDefinition", "$top", "999"),
	}
	what := []string{"role assignments", "eligible role assignments"}
	for _, id := range ids {
		urls = append(urls, d.v1("/users/"+url.PathEscape(id)+"/transitiveMemberOf"))
		what = append(what, "groups of user "+id)
	}
	n := len(urls)
	surls, swhat, chunkOf := d.userListReads(ids)
	items, ierrs := d.allPages(ctx, append(urls, surls...), append(what, swhat...))
	users, errs := userListResults(ids, items[n:], ierrs[n:], chunkOf)
	var read []actions.User
	for i, u := range users {
		if errs[i] == nil {
			read = append(read, u)
		}
	}
	actions.PrefetchFrom(ctx).PutUsers(d.tenantID, read, d.clock().Now())
	roles, rerrs := make([][]actions.RoleHeld, len(ids)), make([]error, len(ids))
	if ierrs[0] != nil {
		return users, errs, roles, fill(rerrs, ierrs[0])
	}
	if ierrs[1] != nil && !eligibilityUnreadable(ierrs[1]) {
		return users, errs, roles, fill(rerrs, ierrs[1])
	}
	var docs [2][]roleDoc
	for list := range 2 {
		if ierrs[list] != nil {
			continue
		}
		for _, raw := range items[list] {
			var r roleDoc
			if err := json.Unmarshal(raw, &r); err != nil {
				return users, errs, roles, fill(rerrs, mapError(err, what[list]))
			}
			docs[list] = append(docs[list], r)
		}
	}
	for i := range ids {
		if errs[i] != nil {
			rerrs[i] = errs[i]
			continue
		}
		if ierrs[2+i] != nil {
			rerrs[i] = ierrs[2+i]
			continue
		}
		via := map[string]string{strings.ToLower(users[i].ID): ""} // principal → through what
		for _, raw := range items[2+i] {
			var m memberDoc
			if err := json.Unmarshal(raw, &m); err != nil {
				rerrs[i] = mapError(err, what[2+i])
				break
			}
			if m.assignable() {
				via[strings.ToLower(m.ID)] = m.DisplayName
			}
		}
		if rerrs[i] != nil {
			continue
		}
		for list, eligible := range []bool{false, true} {
			for _, r := range docs[list] {
				if v, ok := via[strings.ToLower(r.PrincipalID)]; ok {
					roles[i] = append(roles[i], r.held(v, eligible))
				}
			}
		}
	}
	return users, errs, roles, rerrs
}
