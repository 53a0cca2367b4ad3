package fakegraph

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
)

// The directory provider of Microsoft Graph's unified role management:
//
//	GET /roleManagement/directory/roleAssignments[/{id}]
//	GET /roleManagement/directory/roleDefinitions[/{id}]
//	GET /roleManagement/directory/roleEligibilityScheduleInstances[/{id}]

// roleAssignmentsContext is the @odata.context set of role assignments.
const roleAssignmentsContext = "roleManagement/directory/roleAssignments"

// roleAssignmentObj renders an assignment with the properties of the
// schema's unifiedRoleAssignment that the directory provider fills:
// https://learn.microsoft.com/en-us/graph/api/resources/unifiedroleassignment
func roleAssignmentObj(a *roleAssignment) obj {
	return obj{
		{"id", a.id},
		{"principalId", a.principalID},
		{"directoryScopeId", a.scopeID},
		{"appScopeId", nil},
		{"condition", nil},
		{"roleDefinitionId", a.templateID},
	}
}

// roleDefinitionObj renders a built-in role as a unifiedRoleDefinition
// (https://learn.microsoft.com/en-us/graph/api/resources/unifiedroledefinition):
// a built-in definition's id is its template id, and it is built in and
// enabled. The fake does not model the role's resource actions, so
// rolePermissions is empty.
func roleDefinitionObj(name string, tpl roleTemplate) obj {
	return obj{
		{"id", tpl.id},
		{"description", tpl.description},
		{"displayName", name},
		{"isBuiltIn", true},
		{"isEnabled", true},
		{"resourceScopes", []string{"/"}},
		{"templateId", tpl.id},
		{"version", nil},
		{"rolePermissions", []any{}},
	}
}

// roleEligibilityObj renders an eligibility as a
// unifiedRoleEligibilityScheduleInstance in the order of the example of
// https://learn.microsoft.com/en-us/graph/api/rbacapplication-list-roleeligibilityscheduleinstances
// A seeded eligibility is permanent: endDateTime is null.
func roleEligibilityObj(e *roleEligibility) obj {
	return obj{
		{"id", e.id},
		{"principalId", e.principalID},
		{"roleDefinitionId", e.templateID},
		{"directoryScopeId", e.scopeID},
		{"appScopeId", nil},
		{"startDateTime", formatTime(e.start)},
		{"endDateTime", nil},
		{"memberType", e.memberType},
		{"roleEligibilityScheduleId", e.scheduleID},
	}
}

// roleAssignmentsCollection: principalId, roleDefinitionId,
// directoryScopeId and appScopeId support $filter with eq and in
// (https://learn.microsoft.com/en-us/graph/api/resources/unifiedroleassignment).
// The list page gives no page size; the fake pages at 100 (at most 999
// with $top), as directory lists do.
func roleAssignmentsCollection() collection {
	eqIn := []string{"eq", "in"}
	return collection{
		entity:     "unifiedRoleAssignment",
		context:    roleAssignmentsContext,
		filterable: []string{"principalId", "roleDefinitionId", "directoryScopeId", "appScopeId"},
		operators:  map[string][]string{"principalId": eqIn, "roleDefinitionId": eqIn, "directoryScopeId": eqIn, "appScopeId": eqIn},
		pageSize:   100,
		maxTop:     999,
	}
}

// roleDefinitionsCollection: $filter with eq and in on id, displayName
// and isBuiltIn
// (https://learn.microsoft.com/en-us/graph/api/rbacapplication-list-roledefinitions).
func roleDefinitionsCollection() collection {
	eqIn := []string{"eq", "in"}
	return collection{
		entity:     "unifiedRoleDefinition",
		context:    "roleManagement/directory/roleDefinitions",
		filterable: []string{"id", "displayName", "isBuiltIn"},
		operators:  map[string][]string{"id": eqIn, "displayName": eqIn, "isBuiltIn": eqIn},
		pageSize:   100,
		maxTop:     999,
	}
}

// roleEligibilitiesCollection: principalId, roleDefinitionId,
// directoryScopeId, appScopeId, memberType and roleEligibilityScheduleId
// support $filter with eq and ne
// (https://learn.microsoft.com/en-us/graph/api/resources/unifiedroleeligibilityscheduleinstance).
func roleEligibilitiesCollection() collection {
	eqNe := []string{"eq", "ne"}
	return collection{
		entity:  "unifiedRoleEligibilityScheduleInstance",
		context: "roleManagement/directory/roleEligibilityScheduleInstances",
		filterable: []string{"principalId", "roleDefinitionId", "directoryScopeId", "appScopeId", "memberType",
			"roleEligibilityScheduleId"},
		operators: map[string][]string{"principalId": eqNe, "roleDefinitionId": eqNe, "directoryScopeId": eqNe,
			"appScopeId": eqNe, "memberType": eqNe, "roleEligibilityScheduleId": eqNe},
		pageSize: 100,
		maxTop:   999,
	}
}

// roleExpand is a parsed $expand of an assignment or eligibility.
type roleExpand struct {
	// props are the expanded navigation properties in request order.
	props []string
}

// has reports whether prop was expanded.
func (e roleExpand) has(prop string) bool {
	return slices.Contains(e.props, prop)
}

// parseRoleExpand understands $expand=roleDefinition, principal or both
// (comma separated) on entity, the navigation properties the resource
// pages mark as supporting $expand. directoryScope and appScope are
// navigation properties too but are not served.
func parseRoleExpand(c *call, entity string) (roleExpand, *reply) {
	v, ok := c.option("$expand")
	if !ok {
		return roleExpand{}, nil
	}
	var out roleExpand
	for _, part := range strings.Split(v, ",") {
		name := strings.TrimSpace(part)
		if strings.Contains(name, "(") {
			return roleExpand{}, graphErr(http.StatusBadRequest, "BadRequest",
				fmt.Sprintf("Query options inside $expand are not supported for '%s'.", strings.TrimSpace(strings.SplitN(name, "(", 2)[0])))
		}
		switch strings.ToLower(name) {
		case "roledefinition":
			name = "roleDefinition"
		case "principal":
			name = "principal"
		case "directoryscope", "appscope":
			return roleExpand{}, graphErr(http.StatusBadRequest, "BadRequest",
				fmt.Sprintf("Expanding '%s' is not supported for this request.", name))
		default:
			return roleExpand{}, graphErr(http.StatusBadRequest, "BadRequest",
				fmt.Sprintf("Could not find a navigation property named '%s' on type 'microsoft.graph.%s'.", name, entity))
		}
		if !out.has(name) {
			out.props = append(out.props, name)
		}
	}
	return out, nil
}

// roleContext returns a context fragment such as
// "roleManagement/directory/roleAssignments(id,principal())".
func roleContext(set string, sel []string, exp roleExpand) string {
	parts := slices.Clone(sel)
	for _, p := range exp.props {
		parts = append(parts, p+"()")
	}
	if len(parts) == 0 {
		return set
	}
	return set + "(" + strings.Join(parts, ",") + ")"
}

// principalObj renders the principal of an assignment (a user, group or
// service principal) as a directoryObject; null when it no longer
// exists.
func (c *call) principalObj(id string) any {
	if u := c.t.findUser(id, false); u != nil && u.ID == id {
		return c.directoryUser(u, nil)
	}
	if g := c.t.findGroup(id); g != nil {
		return groupObj(g).prepend("@odata.type", "#microsoft.graph.group")
	}
	if sp := c.t.servicePrincipal(id); sp != nil {
		return servicePrincipalObj(sp).prepend("@odata.type", "#microsoft.graph.servicePrincipal")
	}
	return nil
}

// expandRole appends the expanded navigation properties to a rendered
// assignment or eligibility.
func (c *call) expandRole(o obj, principalID, templateID string, exp roleExpand) obj {
	for _, p := range exp.props {
		switch p {
		case "roleDefinition":
			var def any
			if name, tpl, ok := lookupRoleTemplate(templateID); ok {
				def = roleDefinitionObj(name, tpl)
			}
			o = append(o, field{"roleDefinition", def})
		case "principal":
			o = append(o, field{"principal", c.principalObj(principalID)})
		}
	}
	return o
}

// routeRoleManagement serves /roleManagement/directory/...
func (s *Server) routeRoleManagement(c *call) *reply {
	n := len(c.segs)
	switch {
	case n < 2 || c.seg(1) != "directory":
		return segmentNotFound(c.segs[min(n-1, 1)])
	case n < 3:
		return segmentNotFound(c.segs[1])
	case n > 4:
		return segmentNotFound(c.segs[4])
	}
	if c.method != http.MethodGet {
		return methodNotAllowed()
	}
	switch c.seg(2) {
	case "roleassignments":
		return s.roleAssignments(c)
	case "roledefinitions":
		return s.roleDefinitions(c)
	case "roleeligibilityscheduleinstances":
		return s.roleEligibilities(c)
	}
	return segmentNotFound(c.segs[2])
}

// roleAssignments serves
// https://learn.microsoft.com/en-us/graph/api/rbacapplication-list-roleassignments
// ($filter, $expand, $select) and
// https://learn.microsoft.com/en-us/graph/api/unifiedroleassignment-get
// ($select, $expand).
func (s *Server) roleAssignments(c *call) *reply {
	sel, rep := parseSelect(c, "unifiedRoleAssignment", roleAssignmentObj(&roleAssignment{}).keys())
	if rep != nil {
		return rep
	}
	exp, rep := parseRoleExpand(c, "unifiedRoleAssignment")
	if rep != nil {
		return rep
	}
	render := func(a *roleAssignment, o obj) obj {
		if sel != nil {
			o = o.pick(sel)
		}
		return c.expandRole(o, a.principalID, a.templateID, exp)
	}
	if len(c.segs) == 4 {
		if rep := onlyOptions(c, "$select", "$expand"); rep != nil {
			return rep
		}
		for _, a := range c.t.assignments {
			if a.id == c.segs[3] {
				o := render(a, roleAssignmentObj(a))
				return okReply(o.prepend("@odata.context", c.context(roleContext(roleAssignmentsContext, sel, exp)+"/$entity")))
			}
		}
		return notFound(c.segs[3])
	}
	if rep := onlyOptions(c, "$select", "$expand", "$filter", "$top", "$skiptoken"); rep != nil {
		return rep
	}
	byID := map[string]*roleAssignment{}
	items := make([]obj, 0, len(c.t.assignments))
	for _, a := range c.t.assignments {
		items = append(items, roleAssignmentObj(a))
		byID[a.id] = a
	}
	page, next, total, rep := c.queryCollection(items, roleAssignmentsCollection())
	if rep != nil {
		return rep
	}
	for i, it := range page {
		id, _ := it.get("id")
		page[i] = render(byID[id.(string)], it)
	}
	return c.listReply(roleContext(roleAssignmentsContext, sel, exp), page, next, total)
}

// roleDefinitions serves
// https://learn.microsoft.com/en-us/graph/api/rbacapplication-list-roledefinitions
// and https://learn.microsoft.com/en-us/graph/api/unifiedroledefinition-get
// for the built-in roles the fake knows, sorted by display name.
func (s *Server) roleDefinitions(c *call) *reply {
	sel, rep := parseSelect(c, "unifiedRoleDefinition", roleDefinitionObj("", roleTemplate{}).keys())
	if rep != nil {
		return rep
	}
	if _, ok := c.option("$expand"); ok {
		// inheritsPermissionsFrom is the only relationship; it is not served.
		return graphErr(http.StatusBadRequest, "BadRequest", "Expanding 'inheritsPermissionsFrom' is not supported for this request.")
	}
	const set = "roleManagement/directory/roleDefinitions"
	if len(c.segs) == 4 {
		if rep := onlyOptions(c, "$select"); rep != nil {
			return rep
		}
		name, tpl, ok := lookupRoleTemplate(c.segs[3])
		if !ok || !strings.EqualFold(tpl.id, c.segs[3]) {
			return notFound(c.segs[3])
		}
		o := roleDefinitionObj(name, tpl)
		if sel != nil {
			o = o.pick(sel)
		}
		return okReply(o.prepend("@odata.context", c.context(selectContext(set, sel)+"/$entity")))
	}
	if rep := onlyOptions(c, "$select", "$filter", "$top", "$skiptoken"); rep != nil {
		return rep
	}
	templates := roleTemplates()
	var items []obj
	for _, name := range sortedRoleNames() {
		items = append(items, roleDefinitionObj(name, templates[name]))
	}
	page, next, total, rep := c.queryCollection(items, roleDefinitionsCollection())
	if rep != nil {
		return rep
	}
	if sel != nil {
		for i := range page {
			page[i] = page[i].pick(sel)
		}
	}
	return c.listReply(selectContext(set, sel), page, next, total)
}

// roleEligibilities serves
// https://learn.microsoft.com/en-us/graph/api/rbacapplication-list-roleeligibilityscheduleinstances
// ($select, $filter, $expand) and
// https://learn.microsoft.com/en-us/graph/api/unifiedroleeligibilityscheduleinstance-get.
// The pages document no behaviour for a tenant without Microsoft Entra ID
// P2 (PIM's licence), so the fake does not model one.
func (s *Server) roleEligibilities(c *call) *reply {
	const set = "roleManagement/directory/roleEligibilityScheduleInstances"
	sel, rep := parseSelect(c, "unifiedRoleEligibilityScheduleInstance", roleEligibilityObj(&roleEligibility{}).keys())
	if rep != nil {
		return rep
	}
	exp, rep := parseRoleExpand(c, "unifiedRoleEligibilityScheduleInstance")
	if rep != nil {
		return rep
	}
	render := func(e *roleEligibility, o obj) obj {
		if sel != nil {
			o = o.pick(sel)
		}
		return c.expandRole(o, e.principalID, e.templateID, exp)
	}
	if len(c.segs) == 4 {
		if rep := onlyOptions(c, "$select", "$expand"); rep != nil {
			return rep
		}
		for _, e := range c.t.eligibilities {
			if e.id == c.segs[3] {
				o := render(e, roleEligibilityObj(e))
				return okReply(o.prepend("@odata.context", c.context(roleContext(set, sel, exp)+"/$entity")))
			}
		}
		return notFound(c.segs[3])
	}
	if rep := onlyOptions(c, "$select", "$expand", "$filter", "$top", "$skiptoken"); rep != nil {
		return rep
	}
	byID := map[string]*roleEligibility{}
	items := make([]obj, 0, len(c.t.eligibilities))
	for _, e := range c.t.eligibilities {
		items = append(items, roleEligibilityObj(e))
		byID[e.id] = e
	}
	page, next, total, rep := c.queryCollection(items, roleEligibilitiesCollection())
	if rep != nil {
		return rep
	}
	for i, it := range page {
		id, _ := it.get("id")
		page[i] = render(byID[id.(string)], it)
	}
	return c.listReply(roleContext(set, sel, exp), page, next, total)
}
