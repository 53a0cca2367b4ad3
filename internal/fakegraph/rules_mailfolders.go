package fakegraph

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
)

// Mailbox routes (Outlook endpoints of Graph):
//
//	GET    /users/{id}/mailFolders                         top-level folders
//	GET    /users/{id}/mailFolders/{id or name}            one folder
//	GET    /users/{id}/mailFolders/{id or name}/childFolders
//	GET    /users/{id}/mailFolders/inbox/messageRules      inbox rules
//	GET    /users/{id}/mailFolders/inbox/messageRules/{id}
//	DELETE /users/{id}/mailFolders/inbox/messageRules/{id} 204
//
// Folders need Mail.ReadBasic.All (or Mail.Read, Mail.ReadWrite), rules
// MailboxSettings.Read (MailboxSettings.ReadWrite to delete); Exchange
// answers a missing one with 403 ErrorAccessDenied. A user without a
// mailbox gets 404 MailboxNotEnabledForRESTAPI.

// mailboxNotEnabled is Exchange's answer for a user without a mailbox.
func mailboxNotEnabled() *reply {
	return graphErr(http.StatusNotFound, "MailboxNotEnabledForRESTAPI", "The mailbox is either inactive, soft-deleted, or is hosted on-premise.")
}

// itemNotFound is Exchange's answer for a missing folder or rule.
func itemNotFound() *reply {
	return graphErr(http.StatusNotFound, "ErrorItemNotFound", "The specified object was not found in the store.")
}

// mailboxAccessDenied is Exchange's answer when the app lacks the
// permission for a mailbox call.
func mailboxAccessDenied() *reply {
	return graphErr(http.StatusForbidden, "ErrorAccessDenied", "Access is denied. Check credentials and try again.")
}

// mailboxUser resolves segment 1 of a mailbox path to a user who has a
// mailbox.
func (c *call) mailboxUser() (*User, *reply) {
	u := c.t.findUser(c.segs[1], false)
	if u == nil {
		return nil, graphErr(http.StatusNotFound, "ErrorInvalidUser", fmt.Sprintf("The requested user '%s' is invalid.", c.segs[1]))
	}
	if u.MailboxType == "" {
		return nil, mailboxNotEnabled()
	}
	return u, nil
}

// routeMailFolders serves /users/{id}/mailFolders/...; s.mu is held.
func (s *Server) routeMailFolders(c *call) *reply {
	n := len(c.segs)
	if n > 6 {
		return segmentNotFound(c.segs[6])
	}
	if n >= 5 && c.seg(4) != "messagerules" && c.seg(4) != "childfolders" {
		return segmentNotFound(c.segs[4])
	}
	if n == 6 && c.seg(4) != "messagerules" {
		return segmentNotFound(c.segs[5])
	}
	switch {
	case n == 6 && c.method == http.MethodDelete:
	case n == 6 && c.method == http.MethodGet:
	case c.method != http.MethodGet:
		return methodNotAllowed()
	}
	u, rep := c.mailboxUser()
	if rep != nil {
		return rep
	}
	if v, ok := c.query["includehiddenfolders"]; ok && len(v) > 0 && !strings.EqualFold(v[0], "true") && !strings.EqualFold(v[0], "false") {
		return graphErr(http.StatusBadRequest, "ErrorInvalidParameter", "The value of the parameter 'includeHiddenFolders' is invalid.")
	}
	if n == 3 {
		return c.listFolders(u, folderID(c.t.id, u.ID, rootFolder), "users('"+u.ID+"')/mailFolders")
	}
	f, ok := c.t.findFolder(u, c.segs[3], false, true)
	if !ok {
		return itemNotFound()
	}
	switch {
	case n == 4:
		sel, rep := parseSelect(c, "mailFolder", folderProps())
		if rep != nil {
			return rep
		}
		o := c.t.folderObj(u, f)
		if sel != nil {
			o = o.pick(sel)
		}
		return okReply(o.prepend("@odata.context", c.context("users('"+u.ID+"')/mailFolders/$entity")))
	case c.seg(4) == "childfolders":
		return c.listFolders(u, f.id, "users('"+u.ID+"')/mailFolders('"+c.segs[3]+"')/childFolders")
	}
	if f.wellKnown != "inbox" {
		return graphErr(http.StatusBadRequest, "ErrorInvalidRequest", "Inbox rules are only supported on the Inbox folder.")
	}
	ctx := "users('" + u.ID + "')/mailFolders('" + c.segs[3] + "')/messageRules"
	// Hidden rules are Exchange's to show (Get-InboxRule -IncludeHidden),
	// not Graph's: see InboxRule.Hidden.
	if n == 5 {
		items := make([]obj, 0, len(u.InboxRules))
		for _, r := range u.InboxRules {
			if !r.Hidden {
				items = append(items, c.t.ruleObj(r))
			}
		}
		return c.listReply(ctx, items, "", len(items))
	}
	i := slices.IndexFunc(u.InboxRules, func(r InboxRule) bool { return r.ID == c.segs[5] && !r.Hidden })
	if i < 0 {
		return itemNotFound()
	}
	if c.method == http.MethodDelete {
		u.InboxRules = slices.Delete(u.InboxRules, i, i+1)
		return noContent()
	}
	return okReply(c.t.ruleObj(u.InboxRules[i]).prepend("@odata.context", c.context(ctx+"/$entity")))
}

// folderProps lists the selectable mailFolder properties.
func folderProps() []string {
	return []string{"id", "displayName", "parentFolderId", "childFolderCount", "unreadItemCount", "totalItemCount", "isHidden"}
}

// listFolders lists the folders of u whose parent is parentID.
func (c *call) listFolders(u *User, parentID, ctx string) *reply {
	sel, rep := parseSelect(c, "mailFolder", folderProps())
	if rep != nil {
		return rep
	}
	var items []obj
	for _, f := range c.t.mailFolders(u) {
		if f.parentID == parentID {
			items = append(items, c.t.folderObj(u, f))
		}
	}
	page, next, total, rep := c.queryCollection(items, collection{
		entity: "mailFolder", filterable: []string{"id", "displayName"}, sortable: []string{"displayName"},
		pageSize: 10, maxTop: 1000,
	})
	if rep != nil {
		return rep
	}
	if sel != nil {
		for i := range page {
			page[i] = page[i].pick(sel)
		}
	}
	return c.listReply(ctx, page, next, total)
}

// folderObj renders a mail folder. Its properties are v1.0's
// (https://learn.microsoft.com/en-us/graph/api/resources/mailfolder);
// sizeInBytes is beta's only.
func (t *tenant) folderObj(u *User, f folderView) obj {
	children := 0
	for _, other := range t.mailFolders(u) {
		if other.parentID == f.id {
			children++
		}
	}
	total, unread, _ := folderCounts(f.id)
	return obj{
		{"id", f.id},
		{"displayName", f.displayName},
		{"parentFolderId", f.parentID},
		{"childFolderCount", children},
		{"unreadItemCount", unread},
		{"totalItemCount", total},
		{"isHidden", false},
	}
}

// recipients renders addresses as Graph recipients; a tenant user's
// address carries the user's display name.
func (t *tenant) recipients(addrs []string) []obj {
	out := make([]obj, 0, len(addrs))
	for _, a := range addrs {
		name := a
		if u := t.exoUser(a); u != nil {
			name = u.DisplayName
		}
		out = append(out, obj{{"emailAddress", obj{{"name", name}, {"address", a}}}})
	}
	return out
}

// ruleObj renders an inbox rule as a messageRule; conditions and
// actions carry only what is set.
func (t *tenant) ruleObj(r InboxRule) obj {
	cond := obj{}
	for _, w := range []struct {
		k string
		v []string
	}{{"bodyContains", r.BodyContains}, {"bodyOrSubjectContains", r.BodyOrSubjectContains}, {"senderContains", r.SenderContains},
		{"subjectContains", r.SubjectContains}} {
		if len(w.v) > 0 {
			cond = append(cond, field{w.k, slices.Clone(w.v)})
		}
	}
	if len(r.FromAddresses) > 0 {
		cond = append(cond, field{"fromAddresses", t.recipients(r.FromAddresses)})
	}
	if len(r.SentToAddresses) > 0 {
		cond = append(cond, field{"sentToAddresses", t.recipients(r.SentToAddresses)})
	}
	act := obj{}
	if r.MoveToFolder != "" {
		act = append(act, field{"moveToFolder", r.MoveToFolder})
	}
	if r.CopyToFolder != "" {
		act = append(act, field{"copyToFolder", r.CopyToFolder})
	}
	if r.Delete {
		act = append(act, field{"delete", true})
	}
	if r.PermanentDelete {
		act = append(act, field{"permanentDelete", true})
	}
	if r.MarkAsRead {
		act = append(act, field{"markAsRead", true})
	}
	if r.MarkImportance != "" {
		act = append(act, field{"markImportance", r.MarkImportance})
	}
	for _, w := range []struct {
		k string
		v []string
	}{{"forwardTo", r.ForwardTo}, {"forwardAsAttachmentTo", r.ForwardAsAttachmentTo}, {"redirectTo", r.RedirectTo}} {
		if len(w.v) > 0 {
			act = append(act, field{w.k, t.recipients(w.v)})
		}
	}
	act = append(act, field{"stopProcessingRules", r.StopProcessingRules})
	return obj{
		{"id", r.ID},
		{"displayName", r.DisplayName},
		{"sequence", r.Sequence},
		{"isEnabled", !r.Disabled},
		{"hasError", r.HasError},
		{"isReadOnly", r.ReadOnly},
		{"conditions", cond},
		{"actions", act},
	}
}

// mailboxLookup finds a tenant and a user with a mailbox for an
// accessor, or reports why not; s.mu must be held.
func (s *Server) mailboxLookup(tenantIDOrDomain, idOrUPN string) (*tenant, *User) {
	t := s.tenant(tenantIDOrDomain)
	if t == nil {
		return nil, nil
	}
	u := t.findUser(idOrUPN, false)
	if u == nil || u.MailboxType == "" {
		return t, nil
	}
	return t, u
}

// InboxRules returns copies of the inbox rules of a user (id or user
// principal name) of a tenant (id or domain), with folder ids; nil when
// there is no such user or no mailbox.
func (s *Server) InboxRules(tenantIDOrDomain, idOrUPN string) []InboxRule {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, u := s.mailboxLookup(tenantIDOrDomain, idOrUPN)
	if u == nil {
		return nil
	}
	out := make([]InboxRule, len(u.InboxRules))
	for i, r := range u.InboxRules {
		out[i] = r.clone()
	}
	return out
}

// AddInboxRule adds an inbox rule to a user's mailbox as seed data would
// (see InboxRule for the defaults) and returns its id. It fails when
// the tenant, the user or the mailbox does not exist, or the rule is
// invalid.
func (s *Server) AddInboxRule(tenantIDOrDomain, idOrUPN string, r InboxRule) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, u := s.mailboxLookup(tenantIDOrDomain, idOrUPN)
	if u == nil {
		return "", fmt.Errorf("fakegraph: AddInboxRule: no mailbox %q in tenant %q", idOrUPN, tenantIDOrDomain)
	}
	next := cloneUser(*u)
	r = r.clone()
	for n := len(u.InboxRules); r.ID == ""; n++ {
		id := ruleID(t.id, u.ID, n)
		if !slices.ContainsFunc(u.InboxRules, func(o InboxRule) bool { return o.ID == id }) {
			r.ID = id
		}
	}
	if r.Sequence == 0 {
		for _, other := range u.InboxRules {
			r.Sequence = max(r.Sequence, other.Sequence)
		}
		r.Sequence++
	}
	next.InboxRules = append(next.InboxRules, r)
	if err := t.normalizeRules(&next); err != nil {
		return "", fmt.Errorf("fakegraph: AddInboxRule: %w", err)
	}
	u.InboxRules, u.MailFolders = next.InboxRules, next.MailFolders
	return r.ID, nil
}

// MailFolderName returns the display name of a folder of a user's
// mailbox, given its id or well-known name; "" when there is none.
func (s *Server) MailFolderName(tenantIDOrDomain, idOrUPN, folder string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, u := s.mailboxLookup(tenantIDOrDomain, idOrUPN)
	if u == nil {
		return ""
	}
	f, ok := t.findFolder(u, folder, false, false)
	if !ok {
		return ""
	}
	return f.displayName
}
