package fakegraph

import (
	"net/http"
	"slices"
	"strings"
	"time"
)

// roleObj renders an activated directory role.
func roleObj(r *dirRole) obj {
	return obj{
		{"id", r.id},
		{"deletedDateTime", nil},
		{"description", r.description},
		{"displayName", r.displayName},
		{"roleTemplateId", r.templateID},
	}
}

// signInObj renders one sign-in log entry.
func signInObj(si signIn) obj {
	ca := "success"
	if si.errorCode != 0 {
		ca = "notApplied"
	}
	risk, state, detail := "none", "none", "none"
	if si.risk != "" {
		risk = si.risk
	}
	if si.riskState != "" {
		state = si.riskState
	}
	if si.riskDetail != "" {
		detail = si.riskDetail
	}
	return obj{
		{"id", si.id},
		{"createdDateTime", formatTime(si.created)},
		{"userDisplayName", si.userName},
		{"userPrincipalName", si.upn},
		{"userId", si.userID},
		{"appId", si.appID},
		{"appDisplayName", si.app},
		{"ipAddress", si.ip},
		{"clientAppUsed", si.clientApp},
		{"correlationId", stableGUID(si.id, "correlation")},
		{"conditionalAccessStatus", ca},
		{"isInteractive", si.interactive},
		{"riskDetail", detail},
		{"riskLevelAggregated", risk},
		{"riskLevelDuringSignIn", risk},
		{"riskState", state},
		{"riskEventTypes", nonNil(slices.Clone(si.riskEvents))},
		{"riskEventTypes_v2", nonNil(slices.Clone(si.riskEvents))},
		{"resourceDisplayName", si.resource},
		{"status", obj{
			{"errorCode", si.errorCode},
			{"failureReason", si.failureReason},
			{"additionalDetails", nullString(si.details)},
		}},
		{"deviceDetail", obj{
			{"deviceId", ""},
			{"displayName", ""},
			{"operatingSystem", si.os},
			{"browser", si.browser},
			{"isCompliant", false},
			{"isManaged", false},
			{"trustType", ""},
		}},
		{"location", obj{
			{"city", si.city},
			{"state", si.state},
			{"countryOrRegion", si.country},
		}},
	}
}

// routeAuditLogs serves /auditLogs/signIns and (audits.go)
// /auditLogs/directoryAudits.
func (s *Server) routeAuditLogs(c *call) *reply {
	n := len(c.segs)
	if n == 1 {
		return segmentNotFound(c.segs[0])
	}
	if c.seg(1) == "directoryaudits" {
		return s.serveDirectoryAudits(c)
	}
	if c.seg(1) != "signins" {
		return segmentNotFound(c.segs[1])
	}
	if n > 3 {
		return segmentNotFound(c.segs[3])
	}
	if c.method != http.MethodGet {
		return methodNotAllowed()
	}
	if n == 3 {
		for _, si := range c.t.signIns {
			if strings.EqualFold(si.id, c.segs[2]) {
				return okReply(signInObj(si).prepend("@odata.context", c.context("auditLogs/signIns/$entity")))
			}
		}
		return notFound(c.segs[2])
	}
	bounds, rep := c.takeTimeBounds([]string{"createdDateTime"})
	if rep != nil {
		return rep
	}
	items := make([]obj, 0, len(c.t.signIns))
	for _, si := range c.t.signIns {
		items = append(items, signInObj(si))
	}
	items = keepWithin(items, bounds)
	page, next, total, rep := c.queryCollection(items, collection{
		entity:  "signIn",
		context: "auditLogs/signIns",
		filterable: []string{"id", "userId", "userPrincipalName", "userDisplayName", "appDisplayName", "appId", "ipAddress", "clientAppUsed",
			"isInteractive", "location/countryOrRegion", "riskLevelDuringSignIn"},
		sortable: []string{"createdDateTime", "userPrincipalName", "userDisplayName"},
		pageSize: 1000,
		maxTop:   1000,
	})
	if rep != nil {
		return rep
	}
	return c.listReply("auditLogs/signIns", page, next, total)
}

// skuObj renders one subscribed SKU.
func (t *tenant) skuObj(sku SKU) obj {
	return obj{
		{"accountName", t.displayName},
		{"accountId", t.id},
		{"appliesTo", "User"},
		{"capabilityStatus", "Enabled"},
		{"consumedUnits", t.consumed(sku.SkuID)},
		{"id", t.id + "_" + sku.SkuID},
		{"skuId", sku.SkuID},
		{"skuPartNumber", sku.SkuPartNumber},
		{"subscriptionIds", []string{stableGUID(t.id, "subscription", sku.SkuID)}},
		{"prepaidUnits", obj{{"enabled", sku.Enabled}, {"suspended", 0}, {"warning", 0}, {"lockedOut", 0}}},
		{"servicePlans", []any{}},
	}
}

// routeSKUs serves /subscribedSkus.
func (s *Server) routeSKUs(c *call) *reply {
	if len(c.segs) > 2 {
		return segmentNotFound(c.segs[2])
	}
	if c.method != http.MethodGet {
		return methodNotAllowed()
	}
	if len(c.segs) == 2 {
		for _, sku := range c.t.skus {
			if strings.EqualFold(c.segs[1], c.t.id+"_"+sku.SkuID) {
				return okReply(c.t.skuObj(sku).prepend("@odata.context", c.context("subscribedSkus/$entity")))
			}
		}
		return notFound(c.segs[1])
	}
	items := make([]obj, 0, len(c.t.skus))
	for _, sku := range c.t.skus {
		items = append(items, c.t.skuObj(sku))
	}
	return c.listReply("subscribedSkus", items, "", len(items))
}

// organizationObj renders the tenant's organization entity.
func (t *tenant) organizationObj() obj {
	var domains []obj
	for _, d := range t.domains {
		domains = append(domains, obj{
			{"capabilities", "Email, OfficeCommunicationsOnline"},
			{"isDefault", d.isDefault},
			{"isInitial", d.isInitial},
			{"name", d.name},
			{"type", "Managed"},
		})
	}
	var synced any
	var lastSync any
	for _, u := range t.users {
		if u.OnPremisesSyncEnabled {
			synced = true
			if cur, ok := lastSync.(string); !ok || formatTime(u.OnPremisesLastSyncDateTime).(string) > cur {
				lastSync = formatTime(u.OnPremisesLastSyncDateTime)
			}
		}
	}
	return obj{
		{"id", t.id},
		{"deletedDateTime", nil},
		{"businessPhones", []string{}},
		{"countryLetterCode", "US"},
		{"createdDateTime", formatTime(t.created)},
		{"displayName", t.displayName},
		{"onPremisesLastSyncDateTime", lastSync},
		{"onPremisesSyncEnabled", synced},
		{"preferredLanguage", "en"},
		{"tenantType", "AAD"},
		{"technicalNotificationMails", []string{"admin@" + t.domains[0].name}},
		{"verifiedDomains", domains},
	}
}

// routeOrganization serves /organization.
func (s *Server) routeOrganization(c *call) *reply {
	if len(c.segs) > 2 {
		return segmentNotFound(c.segs[2])
	}
	if c.method != http.MethodGet {
		return methodNotAllowed()
	}
	if len(c.segs) == 2 {
		if !strings.EqualFold(c.segs[1], c.t.id) {
			return notFound(c.segs[1])
		}
		return okReply(c.t.organizationObj().prepend("@odata.context", c.context("organization/$entity")))
	}
	return c.listReply("organization", []obj{c.t.organizationObj()}, "", 1)
}

// domainObj renders a verified domain.
func domainObj(d domain) obj {
	return obj{
		{"authenticationType", "Managed"},
		{"availabilityStatus", nil},
		{"id", d.name},
		{"isAdminManaged", true},
		{"isDefault", d.isDefault},
		{"isInitial", d.isInitial},
		{"isRoot", true},
		{"isVerified", true},
		{"passwordNotificationWindowInDays", 14},
		{"passwordValidityPeriodInDays", 2147483647},
		{"supportedServices", []string{"Email", "OfficeCommunicationsOnline"}},
	}
}

// routeDomains serves /domains.
func (s *Server) routeDomains(c *call) *reply {
	if len(c.segs) > 2 {
		return segmentNotFound(c.segs[2])
	}
	if c.method != http.MethodGet {
		return methodNotAllowed()
	}
	if len(c.segs) == 2 {
		for _, d := range c.t.domains {
			if strings.EqualFold(d.name, c.segs[1]) {
				return okReply(domainObj(d).prepend("@odata.context", c.context("domains/$entity")))
			}
		}
		return notFound(c.segs[1])
	}
	items := make([]obj, 0, len(c.t.domains))
	for _, d := range c.t.domains {
		items = append(items, domainObj(d))
	}
	return c.listReply("domains", items, "", len(items))
}

// routeDirectoryRoles serves /directoryRoles.
func (s *Server) routeDirectoryRoles(c *call) *reply {
	n := len(c.segs)
	if n > 3 {
		return segmentNotFound(c.segs[3])
	}
	if n == 3 && c.seg(2) != "members" {
		return segmentNotFound(c.segs[2])
	}
	if c.method != http.MethodGet {
		return methodNotAllowed()
	}
	if n == 1 {
		items := make([]obj, 0, len(c.t.roles))
		for _, r := range c.t.roles {
			items = append(items, roleObj(r))
		}
		page, next, total, rep := c.queryCollection(items, collection{
			entity: "directoryRole", filterable: []string{"id", "displayName", "roleTemplateId"},
			sortable: []string{"displayName"}, pageSize: 100, maxTop: 999,
		})
		if rep != nil {
			return rep
		}
		return c.listReply("directoryRoles", page, next, total)
	}
	var role *dirRole
	for _, r := range c.t.roles {
		if strings.EqualFold(r.id, c.segs[1]) {
			role = r
		}
	}
	if role == nil {
		return notFound(c.segs[1])
	}
	if n == 2 {
		return okReply(roleObj(role).prepend("@odata.context", c.context("directoryRoles/$entity")))
	}
	// Users and role-assignable groups can be members of a directory role:
	// https://learn.microsoft.com/en-us/graph/api/directoryobject-getmemberobjects
	var items []obj
	for _, id := range role.members {
		if u := c.t.findUser(id, false); u != nil {
			items = append(items, c.directoryUser(u, nil))
		} else if g := c.t.findGroup(id); g != nil {
			items = append(items, groupObj(g).prepend("@odata.type", "#microsoft.graph.group"))
		}
	}
	return c.listReply("directoryObjects", items, "", len(items))
}

// routeDirectory serves /directory/deletedItems.
func (s *Server) routeDirectory(c *call) *reply {
	n := len(c.segs)
	if n < 2 {
		return segmentNotFound(c.segs[0])
	}
	if c.seg(1) != "deleteditems" {
		return segmentNotFound(c.segs[1])
	}
	if n == 2 {
		return segmentNotFound(c.segs[1])
	}
	if c.seg(2) == "microsoft.graph.user" {
		if n > 3 {
			return segmentNotFound(c.segs[3])
		}
		if c.method != http.MethodGet {
			return methodNotAllowed()
		}
		var items []obj
		for _, u := range c.t.users {
			if u.Deleted {
				items = append(items, c.directoryUser(u, nil))
			}
		}
		return c.listReply("directoryObjects", items, "", len(items))
	}
	u := c.t.findUser(c.segs[2], true)
	if u != nil && (!u.Deleted || !strings.EqualFold(u.ID, c.segs[2])) {
		u = nil
	}
	switch {
	case n == 3 && c.method == http.MethodGet:
		if u == nil {
			return notFound(c.segs[2])
		}
		return okReply(c.directoryUser(u, nil).prepend("@odata.context", c.context("directoryObjects/$entity")))
	case n == 3 && c.method == http.MethodDelete:
		if u == nil {
			return notFound(c.segs[2])
		}
		c.t.purge(u)
		return noContent()
	case n == 3:
		return methodNotAllowed()
	case n == 4 && (c.seg(3) == "restore" || c.seg(3) == "microsoft.graph.restore"):
		if c.method != http.MethodPost {
			return methodNotAllowed()
		}
		if u == nil {
			return notFound(c.segs[2])
		}
		if other := c.t.findUser(u.UserPrincipalName, false); other != nil {
			return badRequest("Another object with the same value for property userPrincipalName already exists.")
		}
		u.Deleted = false
		u.DeletedDateTime = time.Time{}
		return okReply(c.directoryUser(u, nil).prepend("@odata.context", c.context("directoryObjects/$entity")))
	}
	return segmentNotFound(c.segs[3])
}

// purge removes a soft-deleted user for good.
func (t *tenant) purge(u *User) {
	t.users = slices.DeleteFunc(t.users, func(x *User) bool { return x == u })
	for _, g := range t.groups {
		g.Members = slices.DeleteFunc(g.Members, func(id string) bool { return id == u.ID })
	}
	for _, r := range t.roles {
		r.members = slices.DeleteFunc(r.members, func(id string) bool { return id == u.ID })
	}
	t.forgetPrincipal(u.ID)
	for _, other := range t.users {
		if other.ManagerID == u.ID {
			other.ManagerID = ""
		}
	}
}
