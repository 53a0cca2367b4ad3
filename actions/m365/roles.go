package m365

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"

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

// DirectoryRoles implements actions.Directory: each user's active and
// eligible role assignments, and those of every role-assignable group the
// user is in, directly or transitively, all pages, in $batch requests.
func (d *Directory) DirectoryRoles(ctx context.Context, ids []string) ([][]actions.RoleHeld, []error) {
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
	items, ierrs := d.allPages(ctx, urls, what)
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

// GroupPrivileges implements actions.Directory: each group with its
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
