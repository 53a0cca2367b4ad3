package fakegraph

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// Graph's SharePoint and OneDrive routes (see sites_model.go for the
// seeded state):
//
//	GET  /sites                                  the team sites (?search= filters)
//	GET  /sites/root                             the root site
//	GET  /sites/{host}                           the root site of that host
//	GET  /sites/{host}:/{path}[:/...]            a site by its server-relative path
//	GET  /sites/{host},{site id},{web id}[/...]  a site by id
//	GET  .../drive, .../drives                   its Documents library
//	GET  .../drive/root[:/{path}[:]][/children]  folders, by path
//	GET  .../drive/items/{id}[/children]         folders, by id
//	POST .../children                            create a folder
//	GET  /users/{id}/drive[/...]                 the user's OneDrive, as above
//	POST /users/{id}/drive/root/children         create a folder or a shortcut
//
// Reads need Sites.Read.All or Files.Read.All (or a permission that
// includes one: the ReadWrite variants, Sites.Manage.All,
// Sites.FullControl.All); writes need Files.ReadWrite.All or
// Sites.ReadWrite.All (or Manage/FullControl). Errors use SharePoint's
// camelCase codes (itemNotFound, accessDenied, invalidRequest,
// nameAlreadyExists).

// spItemNotFound is SharePoint's answer for a missing driveItem.
func spItemNotFound() *reply {
	return graphErr(http.StatusNotFound, "itemNotFound", "The resource could not be found.")
}

// spSiteNotFound is SharePoint's answer for a missing site.
func spSiteNotFound() *reply {
	return graphErr(http.StatusNotFound, "itemNotFound", "Requested site could not be found")
}

// spInvalid is a 400 with SharePoint's invalidRequest code.
func spInvalid(msg string) *reply {
	return graphErr(http.StatusBadRequest, "invalidRequest", msg)
}

// spAccessDenied is SharePoint's answer when the app lacks a permission.
func spAccessDenied() *reply {
	return graphErr(http.StatusForbidden, "accessDenied", "Access denied")
}

// spMysiteNotFound is Graph's answer for a user without a OneDrive.
func spMysiteNotFound() *reply {
	return graphErr(http.StatusNotFound, "ResourceNotFound", "User's mysite not found.")
}

// spPermit checks the call against the SharePoint permissions: reads
// need Sites.Read.All or Files.Read.All, writes Sites.ReadWrite.All or
// Files.ReadWrite.All; Sites.Manage.All and Sites.FullControl.All
// include both.
func spPermit(c *call) *reply {
	anyOf := []string{"Sites.ReadWrite.All", "Files.ReadWrite.All", "Sites.Manage.All", "Sites.FullControl.All"}
	if c.method == http.MethodGet {
		anyOf = append(anyOf, "Sites.Read.All", "Files.Read.All")
	}
	for _, p := range anyOf {
		if hasPermission(c.t.permissions, p) {
			return nil
		}
	}
	return spAccessDenied()
}

// routeSites serves /sites/...; s.mu is held.
func (s *Server) routeSites(c *call) *reply {
	if rep := spPermit(c); rep != nil {
		return rep
	}
	sp := s.spState(c.t)
	if len(c.segs) == 1 {
		if c.method != http.MethodGet {
			return methodNotAllowed()
		}
		return s.spListSites(c, sp)
	}
	st, rest, rep := sp.resolveSite(c.segs[1:])
	if rep != nil {
		return rep
	}
	ctx := "sites('" + url.PathEscape(st.graphID()) + "')"
	if rest == "" {
		if c.method != http.MethodGet {
			return methodNotAllowed()
		}
		return s.spGetSite(c, st)
	}
	head, tail, _ := strings.Cut(strings.TrimPrefix(rest, "/"), "/")
	switch strings.ToLower(head) {
	case "drive":
		return s.spRouteDrive(c, st, tail, ctx+"/drive")
	case "drives":
		if tail != "" {
			id, more, _ := strings.Cut(tail, "/")
			if !strings.EqualFold(id, st.lib.driveID) {
				return spItemNotFound()
			}
			return s.spRouteDrive(c, st, more, ctx+"/drives('"+st.lib.driveID+"')")
		}
		if c.method != http.MethodGet {
			return methodNotAllowed()
		}
		sel, rep := parseSelect(c, "drive", spDriveProps())
		if rep != nil {
			return rep
		}
		return c.listReply(selectContext("drives", sel), []obj{c.spShapeDrive(sp, st, sel)}, "", 1)
	}
	return segmentNotFound(head)
}

// resolveSite finds the site a /sites path addresses and returns the
// rest of the path ("" or "/drive/..."). segs are the decoded segments
// after "sites"; joining them undoes percent-encoded slashes and
// colons, which Graph accepts too.
func (sp *spTenant) resolveSite(segs []string) (*spSite, string, *reply) {
	first := segs[0]
	joined := strings.Join(segs, "/")
	var host, path, rest string
	switch {
	case strings.EqualFold(first, "root"):
		return sp.sites[0], strings.TrimPrefix(joined, first), nil
	case strings.Contains(first, ":"):
		// {host}:/{server-relative path}[:/{rest}]
		h, after, _ := strings.Cut(joined, ":")
		host = h
		if p, r, ok := strings.Cut(after, ":"); ok {
			path, rest = p, r
		} else {
			path = after
		}
		if rest != "" && !strings.HasPrefix(rest, "/") {
			return nil, "", spInvalid("Invalid request")
		}
	case strings.Contains(first, ","):
		parts := strings.Split(first, ",")
		rest = strings.TrimPrefix(joined, first)
		if len(parts) != 3 || !isGUID(parts[1]) || !isGUID(parts[2]) {
			return nil, "", spInvalid("Provided identifier is malformed - id is not valid")
		}
		if !sp.ownsHost(parts[0]) {
			return nil, "", spInvalid("Invalid hostname for this tenancy")
		}
		st := sp.siteByIDs(parts[1], parts[2])
		if st == nil || !strings.EqualFold(st.host, parts[0]) {
			return nil, "", spSiteNotFound()
		}
		return st, rest, nil
	default:
		host, rest = first, strings.TrimPrefix(joined, first)
	}
	if !sp.ownsHost(host) {
		return nil, "", spInvalid("Invalid hostname for this tenancy")
	}
	if path != "" && !strings.HasPrefix(path, "/") {
		path = "/" + path
	}
	st := sp.siteByPath(host, path)
	if st == nil {
		return nil, "", spSiteNotFound()
	}
	return st, rest, nil
}

// ownsHost reports whether host is one of the tenant's SharePoint hosts
// that holds sites.
func (sp *spTenant) ownsHost(host string) bool {
	return strings.EqualFold(host, sp.rootHost()) || strings.EqualFold(host, sp.myHost())
}

// spSiteProps lists the selectable site properties.
func spSiteProps() []string {
	return []string{"createdDateTime", "description", "id", "lastModifiedDateTime", "name", "webUrl", "displayName", "root", "siteCollection", "drive"}
}

// spSiteObj renders st in Graph's order.
func spSiteObj(st *spSite) obj {
	return obj{
		{"createdDateTime", formatTime(st.created)},
		{"description", st.description},
		{"id", st.graphID()},
		{"lastModifiedDateTime", formatTime(st.lastModified())},
		{"name", st.name},
		{"webUrl", st.siteURL()},
		{"displayName", st.displayName},
		{"root", obj{}},
		{"siteCollection", obj{{"hostname", st.host}}},
	}
}

// spSiteExpand reads $expand for a site: only "drive" is served.
func spSiteExpand(c *call) (bool, *reply) {
	v, ok := c.option("$expand")
	if !ok {
		return false, nil
	}
	if strings.EqualFold(strings.TrimSpace(v), "drive") {
		return true, nil
	}
	return false, graphErr(http.StatusBadRequest, "BadRequest",
		fmt.Sprintf("Could not find a navigation property named '%s' on type 'microsoft.graph.site'.", strings.TrimSpace(v)))
}

// spGetSite serves GET /sites/{site}.
func (s *Server) spGetSite(c *call, st *spSite) *reply {
	sel, rep := parseSelect(c, "site", spSiteProps())
	if rep != nil {
		return rep
	}
	expand, rep := spSiteExpand(c)
	if rep != nil {
		return rep
	}
	o := spSiteObj(st)
	if sel != nil {
		o = o.pick(sel)
	}
	if expand || containsFold(sel, "drive") {
		o = append(o, field{"drive", c.spShapeDrive(s.spState(c.t), st, nil)})
	}
	return okReply(o.prepend("@odata.context", c.context(selectContext("sites", sel)+"/$entity")))
}

// spListSites serves GET /sites: the team sites, filtered by ?search=
// on name, display name and address.
func (s *Server) spListSites(c *call, sp *spTenant) *reply {
	sel, rep := parseSelect(c, "site", spSiteProps())
	if rep != nil {
		return rep
	}
	q, searching := c.query["search"]
	term := ""
	if searching && len(q) > 0 {
		term = strings.ToLower(strings.Trim(q[0], `"`))
	}
	var items []obj
	for _, st := range sp.sites {
		if term != "" && term != "*" && !strings.Contains(strings.ToLower(st.displayName+" "+st.name+" "+st.siteURL()), term) {
			continue
		}
		items = append(items, spSiteObj(st))
	}
	page, next, total, rep := c.queryCollection(items, collection{entity: "site", context: "sites",
		filterable: []string{"id", "name", "displayName", "webUrl"}, sortable: []string{"name", "displayName"}, pageSize: 200, maxTop: 999})
	if rep != nil {
		return rep
	}
	if sel != nil {
		for i := range page {
			page[i] = page[i].pick(sel)
		}
	}
	return c.listReply(selectContext("sites", sel), page, next, total)
}

// spDriveProps lists the selectable drive properties.
func spDriveProps() []string {
	return []string{"createdDateTime", "description", "id", "lastModifiedDateTime", "name", "webUrl", "driveType",
		"createdBy", "lastModifiedBy", "owner", "quota", "sharePointIds"}
}

// spUserIdentity renders a user as an identitySet member.
func spUserIdentity(u *User) obj {
	return obj{{"email", u.UserPrincipalName}, {"id", u.ID}, {"displayName", u.DisplayName}}
}

// spSystemAccount is the identity of items SharePoint created itself.
func spSystemAccount() obj {
	return obj{{"user", obj{{"displayName", "System Account"}}}}
}

// spShapeDrive renders st's library with a selection; without one, every
// property but sharePointIds, which Graph returns only when selected.
func (c *call) spShapeDrive(sp *spTenant, st *spSite, sel []string) obj {
	l := st.lib
	owner, modifiedBy := spSystemAccount(), spSystemAccount()
	if st.owner != nil {
		owner = obj{{"user", spUserIdentity(st.owner)}}
		modifiedBy = owner
	}
	used := int64(0)
	o := obj{
		{"createdDateTime", formatTime(l.created)},
		{"description", ""},
		{"id", l.driveID},
		{"lastModifiedDateTime", formatTime(st.lastModified())},
		{"name", l.driveName},
		{"webUrl", l.webURL()},
		{"driveType", l.driveType},
		{"createdBy", spSystemAccount()},
		{"lastModifiedBy", modifiedBy},
		{"owner", owner},
		{"quota", obj{{"deleted", 0}, {"remaining", spQuota - used}, {"state", "normal"}, {"total", spQuota}, {"used", used}}},
		{"sharePointIds", obj{{"listId", l.listID}, {"siteId", st.siteID}, {"siteUrl", st.siteURL()}, {"tenantId", sp.tenantID}, {"webId", st.webID}}},
	}
	if sel == nil {
		return o[:len(o)-1]
	}
	return o.pick(sel)
}

// spRouteDrive serves a library: rest is what follows "drive" (or
// "drives/{id}"), ctx the @odata.context of the drive.
func (s *Server) spRouteDrive(c *call, st *spSite, rest, ctx string) *reply {
	sp := s.spState(c.t)
	if rest == "" {
		if c.method != http.MethodGet {
			return methodNotAllowed()
		}
		sel, rep := parseSelect(c, "drive", spDriveProps())
		if rep != nil {
			return rep
		}
		return okReply(c.spShapeDrive(sp, st, sel).prepend("@odata.context", c.context(selectContext("drives", sel)+"/$entity")))
	}
	it, tail, itemCtx, rep := spResolveItem(st.lib, rest, ctx)
	if rep != nil {
		return rep
	}
	switch strings.ToLower(tail) {
	case "":
		if c.method != http.MethodGet {
			return methodNotAllowed()
		}
		return s.spGetItem(c, sp, it, itemCtx)
	case "children":
		switch c.method {
		case http.MethodGet:
			return s.spListChildren(c, sp, it, itemCtx+"/children")
		case http.MethodPost:
			return s.spCreateChild(c, sp, it, itemCtx+"/children")
		}
		return methodNotAllowed()
	}
	head, _, _ := strings.Cut(tail, "/")
	return segmentNotFound(head)
}

// spResolveItem finds the item rest addresses below a drive:
// "root", "root:/{path}", "root:/{path}:", "items/{id}", each optionally
// followed by "/children"; it returns the item, what follows it, and
// the item's @odata.context.
func spResolveItem(l *spLibrary, rest, ctx string) (*spItem, string, string, *reply) {
	head, after, _ := strings.Cut(rest, "/")
	switch {
	case strings.EqualFold(head, "root"):
		return l.root(), after, ctx + "/root", nil
	case strings.HasPrefix(strings.ToLower(rest), "root:"):
		p := rest[len("root:"):]
		tail := ""
		if i := strings.Index(p, ":"); i >= 0 {
			p, tail = p[:i], strings.TrimPrefix(p[i+1:], "/")
		}
		it := l.resolve(p)
		if it == nil {
			return nil, "", "", spItemNotFound()
		}
		return it, tail, ctx + "/root", nil
	case strings.EqualFold(head, "items"):
		id, more, _ := strings.Cut(after, "/")
		if id == "" {
			return nil, "", "", methodNotAllowed()
		}
		it := l.find(id)
		if it == nil {
			return nil, "", "", spItemNotFound()
		}
		return it, more, ctx + "/items", nil
	}
	return nil, "", "", segmentNotFound(head)
}

// spItemProps lists the selectable driveItem properties.
func spItemProps() []string {
	return []string{"createdDateTime", "eTag", "id", "lastModifiedDateTime", "name", "webUrl", "cTag", "size",
		"createdBy", "lastModifiedBy", "parentReference", "fileSystemInfo", "folder", "root", "remoteItem", "sharepointIds", "children"}
}

// spItemObj renders it with every property in Graph's order; sharepointIds
// comes last so that the default shape can drop it.
func (sp *spTenant) spItemObj(it *spItem) obj {
	l := it.lib
	st := l.site
	by := obj{{"user", obj{{"displayName", it.createdBy}}}}
	o := obj{
		{"createdDateTime", formatTime(it.created)},
		{"eTag", fmt.Sprintf("\"{%s},1\"", strings.ToUpper(it.uniqueID))},
		{"id", it.id},
		{"lastModifiedDateTime", formatTime(it.modified)},
		{"name", it.name},
		{"webUrl", it.webURL()},
		{"cTag", fmt.Sprintf("\"c:{%s},0\"", strings.ToUpper(it.uniqueID))},
		{"size", 0},
		{"createdBy", by},
		{"lastModifiedBy", by},
	}
	ref := obj{{"driveType", l.driveType}, {"driveId", l.driveID}}
	if it.parent != nil {
		parentPath := "/drives/" + l.driveID + "/root:" + it.parent.path()
		ref = append(ref, field{"id", it.parent.id}, field{"name", spParentName(it.parent)}, field{"path", parentPath}, field{"siteId", st.graphID()})
	}
	o = append(o, field{"parentReference", ref},
		field{"fileSystemInfo", obj{{"createdDateTime", formatTime(it.created)}, {"lastModifiedDateTime", formatTime(it.modified)}}})
	if it.remote != nil {
		r := it.remote
		o = append(o, field{"remoteItem", obj{
			{"createdDateTime", formatTime(r.created)},
			{"id", r.id},
			{"lastModifiedDateTime", formatTime(r.modified)},
			{"name", spRemoteName(r)},
			{"webUrl", r.webURL()},
			{"folder", obj{{"childCount", len(r.lib.children(r))}}},
			{"parentReference", obj{{"driveType", r.lib.driveType}, {"driveId", r.lib.driveID}, {"siteId", r.lib.site.graphID()}}},
			{"sharepointIds", sp.spItemIDs(r)},
		}})
	} else {
		o = append(o, field{"folder", obj{{"childCount", len(l.children(it))}}})
	}
	if it.parent == nil {
		o = append(o, field{"root", obj{}})
	}
	return append(o, field{"sharepointIds", sp.spItemIDs(it)})
}

// spParentName is the name Graph gives a parent folder: the library's
// for the root.
func spParentName(it *spItem) string {
	if it.parent == nil {
		return it.lib.urlName
	}
	return it.name
}

// spRemoteName is the name a shortcut target shows: the library's for a
// library root.
func spRemoteName(it *spItem) string {
	if it.parent == nil {
		return it.lib.driveName
	}
	return it.name
}

// spItemIDs renders the sharepointIds of it.
func (sp *spTenant) spItemIDs(it *spItem) obj {
	st := it.lib.site
	listItemID := ""
	if it.parent != nil {
		listItemID = strconv.Itoa(it.listItemID)
	}
	o := obj{{"listId", it.lib.listID}}
	if listItemID != "" {
		o = append(o, field{"listItemId", listItemID})
	}
	return append(o, field{"listItemUniqueId", it.uniqueID}, field{"siteId", st.siteID},
		field{"siteUrl", st.siteURL()}, field{"tenantId", sp.tenantID}, field{"webId", st.webID})
}

// spItemSelection reads $select and $expand=children for driveItems.
func spItemSelection(c *call) ([]string, bool, *reply) {
	sel, rep := parseSelect(c, "driveItem", spItemProps())
	if rep != nil {
		return nil, false, rep
	}
	v, ok := c.option("$expand")
	if !ok {
		return sel, false, nil
	}
	if !strings.EqualFold(strings.TrimSpace(v), "children") {
		return nil, false, graphErr(http.StatusBadRequest, "BadRequest",
			fmt.Sprintf("Could not find a navigation property named '%s' on type 'microsoft.graph.driveItem'.", strings.TrimSpace(v)))
	}
	return sel, true, nil
}

// spShapeItem applies a selection: without one, every property but
// sharepointIds, which Graph returns only when selected.
func (sp *spTenant) spShapeItem(it *spItem, sel []string) obj {
	o := sp.spItemObj(it)
	if sel == nil {
		return o[:len(o)-1]
	}
	return o.pick(sel)
}

// spGetItem serves GET on a driveItem.
func (s *Server) spGetItem(c *call, sp *spTenant, it *spItem, ctx string) *reply {
	sel, expand, rep := spItemSelection(c)
	if rep != nil {
		return rep
	}
	o := sp.spShapeItem(it, sel)
	if expand {
		kids := []obj{}
		for _, k := range it.lib.children(it) {
			kids = append(kids, sp.spShapeItem(k, nil))
		}
		o = append(o, field{"children", kids})
	}
	return okReply(o.prepend("@odata.context", c.context(ctx+"/$entity")))
}

// spListChildren serves GET .../children.
func (s *Server) spListChildren(c *call, sp *spTenant, it *spItem, ctx string) *reply {
	if it.remote != nil {
		return spItemNotFound()
	}
	sel, _, rep := spItemSelection(c)
	if rep != nil {
		return rep
	}
	var items []obj
	for _, k := range it.lib.children(it) {
		items = append(items, sp.spItemObj(k))
	}
	page, next, total, rep := c.queryCollection(items, collection{entity: "driveItem", context: ctx,
		filterable: []string{"name", "id"}, sortable: []string{"name", "lastModifiedDateTime"}, pageSize: 200, maxTop: 999})
	if rep != nil {
		return rep
	}
	for i := range page {
		if sel == nil {
			page[i] = page[i][:len(page[i])-1]
		} else {
			page[i] = page[i].pick(sel)
		}
	}
	return c.listReply(ctx, page, next, total)
}

// spInvalidName reports whether a name cannot be used in SharePoint.
func spInvalidName(name string) bool {
	return strings.ContainsAny(name, "\"*:<>?/\\|") || strings.HasSuffix(name, ".") || strings.TrimSpace(name) != name ||
		len([]rune(name)) > 255
}

// spCreateChild serves POST .../children: a folder, or in a OneDrive a
// shortcut to a SharePoint folder or library given by its
// remoteItem.sharepointIds.
func (s *Server) spCreateChild(c *call, sp *spTenant, parent *spItem, ctx string) *reply {
	if parent.remote != nil {
		return spItemNotFound()
	}
	body, rep := decodeObject(c.body)
	if rep != nil {
		return rep
	}
	var name, behavior string
	var remote *spItem
	facets := 0
	behavior = "fail"
	if v := c.query["@microsoft.graph.conflictbehavior"]; len(v) > 0 {
		behavior = v[0]
	}
	for k, v := range body {
		switch k {
		case "name":
			if json.Unmarshal(v, &name) != nil {
				return spInvalid("Invalid request")
			}
		case "@microsoft.graph.conflictBehavior":
			if json.Unmarshal(v, &behavior) != nil {
				return spInvalid("Invalid request")
			}
		case "folder":
			var f map[string]json.RawMessage
			if json.Unmarshal(v, &f) != nil || f == nil {
				return spInvalid("Invalid request")
			}
			facets++
		case "file":
			return spInvalid("Files are created by uploading their content: PUT /drive/items/{parent-id}:/{filename}:/content.")
		case "remoteItem":
			facets++
		case "@odata.type", "description":
		default:
			return graphErr(http.StatusBadRequest, "BadRequest",
				fmt.Sprintf("The property '%s' does not exist on type 'microsoft.graph.driveItem'. Make sure to only use property names that are defined by the type or mark the type as open type.", k))
		}
	}
	if facets != 1 {
		return spInvalid("Either 'folder' or 'remoteItem' must be provided, but not both.")
	}
	if name == "" {
		return spInvalid("The name of the item is missing.")
	}
	if spInvalidName(name) {
		return spInvalid("The provided name cannot contain leading or trailing spaces, a trailing period or any of the characters \" * : < > ? / \\ |.")
	}
	if raw, ok := body["remoteItem"]; ok {
		if parent.lib.driveType != "business" {
			return spInvalid("Shortcuts can only be added to a user's OneDrive.")
		}
		var rep *reply
		if remote, rep = sp.shortcutTarget(raw); rep != nil {
			return rep
		}
	}
	switch strings.ToLower(behavior) {
	case "fail", "rename", "replace":
	default:
		return spInvalid(fmt.Sprintf("Invalid value '%s' for @microsoft.graph.conflictBehavior: use fail, rename or replace.", behavior))
	}
	l := parent.lib
	if old := l.child(parent, name); old != nil {
		switch strings.ToLower(behavior) {
		case "fail":
			return graphErr(http.StatusConflict, "nameAlreadyExists", "The specified item name already exists.")
		case "replace":
			l.remove(old)
		case "rename":
			for n := 1; ; n++ {
				if cand := fmt.Sprintf("%s %d", name, n); l.child(parent, cand) == nil {
					name = cand
					break
				}
			}
		}
	}
	it := l.add(parent, name, remote, c.now, "SharePoint App")
	parent.modified = c.now
	return &reply{status: http.StatusCreated, body: sp.spShapeItem(it, nil).prepend("@odata.context", c.context(ctx+"/$entity"))}
}

// shortcutTarget resolves remoteItem.sharepointIds to a folder (or a
// library root, with listItemUniqueId "root") of a team site.
func (sp *spTenant) shortcutTarget(raw json.RawMessage) (*spItem, *reply) {
	var remote struct {
		SharepointIDs *struct {
			ListID           string `json:"listId"`
			ListItemUniqueID string `json:"listItemUniqueId"`
			SiteID           string `json:"siteId"`
			SiteURL          string `json:"siteUrl"`
			WebID            string `json:"webId"`
		} `json:"sharepointIds"`
	}
	if json.Unmarshal(raw, &remote) != nil || remote.SharepointIDs == nil {
		return nil, spInvalid("remoteItem must carry sharepointIds (listId, listItemUniqueId, siteId, siteUrl, webId).")
	}
	ids := remote.SharepointIDs
	if !isGUID(ids.ListID) || !isGUID(ids.SiteID) || !isGUID(ids.WebID) ||
		(!strings.EqualFold(ids.ListItemUniqueID, "root") && !isGUID(ids.ListItemUniqueID)) {
		return nil, spInvalid("remoteItem.sharepointIds needs the GUIDs listId, siteId and webId, and listItemUniqueId as a GUID or \"root\".")
	}
	var st *spSite
	for _, x := range sp.sites {
		if strings.EqualFold(x.siteID, ids.SiteID) && strings.EqualFold(x.webID, ids.WebID) {
			st = x
		}
	}
	if st == nil || !strings.EqualFold(st.lib.listID, ids.ListID) {
		return nil, spItemNotFound()
	}
	if ids.SiteURL != "" && !strings.EqualFold(strings.TrimRight(ids.SiteURL, "/"), st.siteURL()) {
		return nil, spItemNotFound()
	}
	if strings.EqualFold(ids.ListItemUniqueID, "root") {
		return st.lib.root(), nil
	}
	for _, it := range st.lib.items {
		if strings.EqualFold(it.uniqueID, ids.ListItemUniqueID) && it.remote == nil {
			return it, nil
		}
	}
	return nil, spItemNotFound()
}

// routeUserDrive serves /users/{id}/drive/...; s.mu is held.
func (s *Server) routeUserDrive(c *call) *reply {
	if rep := spPermit(c); rep != nil {
		return rep
	}
	u, rep := c.lookupUser()
	if rep != nil {
		return rep
	}
	sp := s.spState(c.t)
	st, ok := sp.oneDrives[u.ID]
	if !ok {
		return spMysiteNotFound()
	}
	return s.spRouteDrive(c, st, strings.Join(c.segs[3:], "/"), "users('"+u.ID+"')/drive")
}

// isSharePointPath reports whether segs address the SharePoint admin
// endpoint (/_vti_bin/client.svc/ProcessQuery).
func isSharePointPath(segs []string) bool {
	return len(segs) > 0 && strings.EqualFold(segs[0], "_vti_bin")
}
