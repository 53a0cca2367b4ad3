package fakegraph

import (
	"net/http"
	"strings"
)

// transitiveMemberOf serves GET /users/{id}/transitiveMemberOf and its
// OData casts /transitiveMemberOf/microsoft.graph.group and
// /transitiveMemberOf/microsoft.graph.directoryRole, after
// https://learn.microsoft.com/en-us/graph/api/user-list-transitivememberof
//
//   - The result is the groups and directory roles the user is a member of
//     directly or transitively: groups that contain a group the user is
//     in, and the directory roles held by those groups (only users and
//     role-enabled groups can be members of directory roles,
//     https://learn.microsoft.com/en-us/graph/api/directoryobject-getmemberobjects).
//   - Default and maximum page sizes are 100 and 999.
//   - The ConsistencyLevel: eventual header and $count=true are required
//     with $search, $filter, $orderby and the OData cast; without them
//     the request fails as advanced queries do
//     (https://learn.microsoft.com/en-us/graph/aad-advanced-queries).
//     $search is not served.
func (s *Server) transitiveMemberOf(c *call) *reply {
	u, rep := c.lookupUser()
	if rep != nil {
		return rep
	}
	cast := ""
	if len(c.segs) == 4 {
		switch c.seg(3) {
		case "microsoft.graph.group":
			cast = "group"
		case "microsoft.graph.directoryrole":
			cast = "directoryRole"
		default:
			return segmentNotFound(c.segs[3])
		}
	}
	if rep := onlyOptions(c, "$select", "$filter", "$count", "$orderby", "$top", "$skiptoken"); rep != nil {
		return rep
	}
	count, _ := c.option("$count")
	advanced := strings.EqualFold(c.header.Get("ConsistencyLevel"), "eventual") && strings.EqualFold(count, "true")
	if !advanced {
		_, filter := c.option("$filter")
		_, order := c.option("$orderby")
		what := ""
		switch {
		case cast != "":
			what = "OData cast"
		case filter:
			what = "$filter"
		case order:
			what = "$orderby"
		}
		if what != "" {
			return graphErr(http.StatusBadRequest, "Request_UnsupportedQuery",
				what+" is not supported because the required parameters might be missing. Try adding $count=true query parameter and ConsistencyLevel:eventual header. Refer to https://aka.ms/graph-docs/advanced-queries for more information")
		}
	}
	var known []string
	switch cast {
	case "group":
		known = groupProps()
	case "directoryRole":
		known = roleObj(&dirRole{}).keys()
	default:
		known = append(groupProps(), "roleTemplateId")
	}
	entity := "directoryObject"
	if cast != "" {
		entity = cast
	}
	sel, rep := parseSelect(c, entity, known)
	if rep != nil {
		return rep
	}
	groups := c.t.transitiveGroups(u.ID)
	holders := map[string]bool{u.ID: true}
	var items []obj
	for _, g := range groups {
		holders[g.ID] = true
		if cast == "" || cast == "group" {
			o := groupObj(g)
			if cast == "" {
				o = o.prepend("@odata.type", "#microsoft.graph.group")
			}
			items = append(items, o)
		}
	}
	if cast == "" || cast == "directoryRole" {
		for _, r := range c.t.roles {
			for _, m := range r.members {
				if holders[m] {
					o := roleObj(r)
					if cast == "" {
						o = o.prepend("@odata.type", "#microsoft.graph.directoryRole")
					}
					items = append(items, o)
					break
				}
			}
		}
	}
	page, next, total, rep := c.queryCollection(items, collection{
		entity:     entity,
		filterable: []string{"id", "displayName", "mail", "mailNickname", "mailEnabled", "securityEnabled", "isAssignableToRole", "roleTemplateId"},
		sortable:   []string{"displayName"},
		pageSize:   100,
		maxTop:     999,
	})
	if rep != nil {
		return rep
	}
	if sel != nil {
		for i := range page {
			page[i] = page[i].pick(sel)
		}
	}
	ctx := "directoryObjects"
	switch cast {
	case "group":
		ctx = selectContext("groups", sel)
	case "directoryRole":
		ctx = selectContext("directoryRoles", sel)
	}
	return c.listReply(ctx, page, next, total)
}
