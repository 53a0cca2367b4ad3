package fakegraph

import (
	"net/http"
	"slices"
	"strings"
)

// groupObj renders every property of g in Graph's order.
// isAssignableToRole is returned by default, null for a group that is not
// role-assignable (https://learn.microsoft.com/en-us/graph/api/resources/group
// and the example response of
// https://learn.microsoft.com/en-us/graph/api/group-list).
func groupObj(g *Group) obj {
	var proxies []string
	if g.Mail != "" {
		proxies = []string{"SMTP:" + g.Mail}
	}
	var assignable any
	if g.IsAssignableToRole {
		assignable = true
	}
	return obj{
		{"id", g.ID},
		{"deletedDateTime", nil},
		{"classification", nil},
		{"createdDateTime", formatTime(g.CreatedDateTime)},
		{"description", nullString(g.Description)},
		{"displayName", g.DisplayName},
		{"groupTypes", nonNil(g.GroupTypes)},
		{"isAssignableToRole", assignable},
		{"mail", nullString(g.Mail)},
		{"mailEnabled", g.MailEnabled},
		{"mailNickname", g.MailNickname},
		{"onPremisesSyncEnabled", nil},
		{"proxyAddresses", nonNil(proxies)},
		{"securityEnabled", g.SecurityEnabled},
		{"visibility", nullString(g.Visibility)},
	}
}

// groupProps lists every selectable group property.
func groupProps() []string {
	return groupObj(&Group{}).keys()
}

// groupsCollection describes how /groups may be queried.
func groupsCollection() collection {
	return collection{
		entity:  "group",
		context: "groups",
		// isAssignableToRole supports $filter (eq; ne and NOT only in
		// advanced queries): https://learn.microsoft.com/en-us/graph/api/resources/group
		filterable: []string{"id", "displayName", "mail", "mailNickname", "mailEnabled", "securityEnabled", "isAssignableToRole"},
		sortable:   []string{"displayName"},
		pageSize:   100,
		maxTop:     999,
	}
}

// routeGroups serves /groups and everything below it.
func (s *Server) routeGroups(c *call) *reply {
	n := len(c.segs)
	switch {
	case n == 1:
		if c.method != http.MethodGet {
			return methodNotAllowed()
		}
		return s.listGroups(c)
	case n == 2:
		if c.method != http.MethodGet {
			return methodNotAllowed()
		}
		return s.getGroup(c)
	case c.seg(2) != "members":
		return segmentNotFound(c.segs[2])
	case n == 3:
		if c.method != http.MethodGet {
			return methodNotAllowed()
		}
		return s.listMembers(c)
	case n == 4 && c.seg(3) == "$ref":
		if c.method != http.MethodPost {
			return methodNotAllowed()
		}
		return s.addMember(c)
	case n == 4:
		if c.method != http.MethodGet {
			return methodNotAllowed()
		}
		return s.getMember(c)
	case n == 5 && c.seg(4) == "$ref":
		if c.method != http.MethodDelete {
			return methodNotAllowed()
		}
		return s.removeMember(c)
	}
	return segmentNotFound(c.segs[min(n-1, 5)])
}

// lookupGroup resolves segment 1 of a /groups path.
func (c *call) lookupGroup() (*Group, *reply) {
	g := c.t.findGroup(c.segs[1])
	if g == nil {
		return nil, notFound(c.segs[1])
	}
	return g, nil
}

// listGroups serves GET /groups.
func (s *Server) listGroups(c *call) *reply {
	sel, rep := parseSelect(c, "group", groupProps())
	if rep != nil {
		return rep
	}
	var items []obj
	for _, g := range c.t.groups {
		items = append(items, groupObj(g))
	}
	page, next, total, rep := c.queryCollection(items, groupsCollection())
	if rep != nil {
		return rep
	}
	if sel != nil {
		for i := range page {
			page[i] = page[i].pick(sel)
		}
	}
	return c.listReply(selectContext("groups", sel), page, next, total)
}

// getGroup serves GET /groups/{id}.
func (s *Server) getGroup(c *call) *reply {
	sel, rep := parseSelect(c, "group", groupProps())
	if rep != nil {
		return rep
	}
	g, rep := c.lookupGroup()
	if rep != nil {
		return rep
	}
	o := groupObj(g)
	if sel != nil {
		o = o.pick(sel)
	}
	return okReply(o.prepend("@odata.context", c.context(selectContext("groups", sel)+"/$entity")))
}

// listMembers serves GET /groups/{id}/members.
func (s *Server) listMembers(c *call) *reply {
	g, rep := c.lookupGroup()
	if rep != nil {
		return rep
	}
	sel, rep := parseSelect(c, "user", userProps())
	if rep != nil {
		return rep
	}
	var items []obj
	for _, id := range g.Members {
		if u := c.t.findUser(id, false); u != nil {
			items = append(items, c.t.userObj(u))
		}
	}
	// Nested groups are members too, after the users.
	for _, id := range g.MemberGroups {
		if m := c.t.findGroup(id); m != nil {
			items = append(items, groupObj(m).prepend("@odata.type", "#microsoft.graph.group"))
		}
	}
	page, next, total, rep := c.queryCollection(items, usersCollection())
	if rep != nil {
		return rep
	}
	for i := range page {
		if t, _ := page[i].get("@odata.type"); t == "#microsoft.graph.group" {
			if sel != nil {
				page[i] = page[i].pick(sel)
			}
			continue
		}
		page[i] = c.shapeUser(page[i], sel).prepend("@odata.type", "#microsoft.graph.user")
	}
	return c.listReply("directoryObjects", page, next, total)
}

// getMember serves GET /groups/{id}/members/{uid}.
func (s *Server) getMember(c *call) *reply {
	g, rep := c.lookupGroup()
	if rep != nil {
		return rep
	}
	if m := c.t.findGroup(c.segs[3]); m != nil && slices.Contains(g.MemberGroups, m.ID) {
		sel, rep := parseSelect(c, "group", groupProps())
		if rep != nil {
			return rep
		}
		o := groupObj(m)
		if sel != nil {
			o = o.pick(sel)
		}
		return okReply(o.prepend("@odata.type", "#microsoft.graph.group").prepend("@odata.context", c.context("directoryObjects/$entity")))
	}
	u := c.t.findUser(c.segs[3], false)
	if u == nil || !slices.Contains(g.Members, u.ID) {
		return notFound(c.segs[3])
	}
	sel, rep := parseSelect(c, "user", userProps())
	if rep != nil {
		return rep
	}
	return okReply(c.directoryUser(u, sel).prepend("@odata.context", c.context("directoryObjects/$entity")))
}

// membershipLocked reports the error Graph gives for groups whose
// membership is managed in Exchange.
func membershipLocked(g *Group) *reply {
	if g.MailEnabled && !g.unified() {
		return badRequest("Cannot Update a mail-enabled security groups and or distribution list.")
	}
	return nil
}

// addMember serves POST /groups/{id}/members/$ref.
func (s *Server) addMember(c *call) *reply {
	g, rep := c.lookupGroup()
	if rep != nil {
		return rep
	}
	id, rep := refTarget(c.body)
	if rep != nil {
		return rep
	}
	if rep := membershipLocked(g); rep != nil {
		return rep
	}
	if child := c.t.findGroup(id); child != nil {
		return addMemberGroup(g, child)
	}
	u := c.t.findUser(id, false)
	if u == nil || !strings.EqualFold(u.ID, id) {
		return notFound(id)
	}
	if slices.Contains(g.Members, u.ID) {
		return badRequest("One or more added object references already exist for the following modified properties: 'members'.")
	}
	g.Members = append(g.Members, u.ID)
	return noContent()
}

// removeMember serves DELETE /groups/{id}/members/{uid}/$ref.
func (s *Server) removeMember(c *call) *reply {
	g, rep := c.lookupGroup()
	if rep != nil {
		return rep
	}
	if rep := membershipLocked(g); rep != nil {
		return rep
	}
	id := strings.ToLower(c.segs[3])
	if i := slices.Index(g.MemberGroups, id); i >= 0 {
		g.MemberGroups = slices.Delete(g.MemberGroups, i, i+1)
		return noContent()
	}
	i := slices.Index(g.Members, id)
	if i < 0 {
		return notFound(c.segs[3])
	}
	g.Members = slices.Delete(g.Members, i, i+1)
	return noContent()
}

// addMemberGroup nests child in g, with the rules of the allowed member
// types table of https://learn.microsoft.com/en-us/graph/api/group-post-members
// (security groups may contain security groups; Microsoft 365 groups
// contain no groups and belong to none) and of
// https://learn.microsoft.com/en-us/entra/identity/role-based-access-control/groups-concept
// ("A group can't be added as a member of a role-assignable group").
func addMemberGroup(g, child *Group) *reply {
	switch {
	case slices.Contains(g.MemberGroups, child.ID):
		return badRequest("One or more added object references already exist for the following modified properties: 'members'.")
	case g.IsAssignableToRole:
		return badRequest("Group nesting isn't supported for role-assignable groups: a group can't be added as a member of a role-assignable group.")
	case g.unified() || child.unified():
		return badRequest("A Microsoft 365 group can neither contain groups nor be a member of a group.")
	}
	g.MemberGroups = append(g.MemberGroups, child.ID)
	return noContent()
}
