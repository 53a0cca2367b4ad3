package fakegraph

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Relationship is a granular delegated admin privileges (GDAP)
// relationship: a partner tenant's standing admin access to one customer
// tenant. The partner lists its relationships at
// /tenantRelationships/delegatedAdminRelationships.
type Relationship struct {
	// ID is the relationship id; "" derives a stable one in Graph's
	// "<guid>-<customer tenant id>" shape.
	ID string
	// DisplayName is the name the partner gave the relationship.
	DisplayName string
	// Status is one of Graph's relationship states: "active",
	// "expired", "terminated", "approvalPending", "activating",
	// "created", "approved", "expiring", "terminating" or
	// "terminationRequested". "" means "active".
	Status string
	// CustomerTenantID and CustomerDisplayName identify the customer;
	// the customer tenant need not exist on the server.
	CustomerTenantID    string
	CustomerDisplayName string
	// Duration is an ISO 8601 duration; "" means "P730D", the longest
	// Entra allows.
	Duration string
	// AutoExtendDuration is "PT0S" (no auto-extension, the default) or
	// "P180D".
	AutoExtendDuration string
	// Roles are the display names of the granted built-in roles (see
	// User.Roles); nil means User Administrator, Helpdesk Administrator
	// and Authentication Administrator.
	Roles []string
	// AccessAssignments give the relationship's roles to security groups
	// of the partner tenant; nil means none, and then no partner user
	// holds any role in the customer through it ("Once it's active, the
	// members of the access container get access to the roles specified
	// in the access details",
	// https://learn.microsoft.com/en-us/graph/api/resources/delegatedadminaccessassignment).
	AccessAssignments []AccessAssignment
	// CreatedDateTime, ActivatedDateTime and EndDateTime default
	// relative to the server's clock when zero: created 30 days ago
	// (or just over Duration ago for an expired relationship), activated
	// three minutes after creation unless still pending, and ending
	// Duration after creation.
	CreatedDateTime   time.Time
	ActivatedDateTime time.Time
	EndDateTime       time.Time
}

// AccessAssignment is a delegatedAdminAccessAssignment: some of a GDAP
// relationship's roles given to the members of one security group of the
// partner tenant (the access container).
type AccessAssignment struct {
	// ID is the assignment id; "" derives a stable GUID.
	ID string
	// GroupID is the partner tenant's security group (accessContainerId
	// of an accessContainerType "securityGroup" container).
	GroupID string
	// Roles are display names of roles of the relationship; an
	// assignment cannot give a role the relationship does not hold
	// (https://learn.microsoft.com/en-us/graph/api/delegatedadminrelationship-post-accessassignments:
	// the unifiedRoles of accessDetails must be roles of the relationship).
	Roles []string
	// Status is one of Graph's delegatedAdminAccessAssignmentStatus
	// values: "active" (the default), "pending", "deleting", "deleted" or
	// "error". Only an active assignment gives access.
	Status string
}

// accessAssignmentStatuses lists Graph's delegatedAdminAccessAssignmentStatus
// values.
func accessAssignmentStatuses() []string {
	return []string{"pending", "active", "deleting", "deleted", "error"}
}

// relationshipStatuses lists Graph's delegatedAdminRelationshipStatus
// values.
func relationshipStatuses() []string {
	return []string{"active", "expired", "terminated", "approvalPending", "activating", "created", "approved",
		"expiring", "terminating", "terminationRequested"}
}

// defaultRelationshipRoles are granted when a seeded relationship names
// none.
func defaultRelationshipRoles() []string {
	return []string{"User Administrator", "Helpdesk Administrator", "Authentication Administrator"}
}

// durationDays parses an ISO 8601 duration of whole days, "P<n>D".
func durationDays(d string) (int, bool) {
	rest, ok := strings.CutPrefix(strings.ToUpper(d), "P")
	if !ok {
		return 0, false
	}
	rest, ok = strings.CutSuffix(rest, "D")
	if !ok {
		return 0, false
	}
	n, err := strconv.Atoi(rest)
	if err != nil || n < 1 {
		return 0, false
	}
	return n, true
}

// buildRelationship validates a seeded relationship of partner tenant
// partnerID and fills in its defaults.
func buildRelationship(partnerID string, r Relationship, now time.Time) (*Relationship, error) {
	r.Roles = slices.Clone(r.Roles)
	if !isGUID(r.CustomerTenantID) {
		return nil, fmt.Errorf("tenant: relationship %q: customer tenant id %q is not a GUID", r.DisplayName, r.CustomerTenantID)
	}
	r.CustomerTenantID = strings.ToLower(r.CustomerTenantID)
	if r.DisplayName == "" {
		return nil, fmt.Errorf("tenant: relationship with %s: no display name", r.CustomerTenantID)
	}
	if r.Status == "" {
		r.Status = "active"
	}
	i := slices.IndexFunc(relationshipStatuses(), func(s string) bool { return strings.EqualFold(s, r.Status) })
	if i < 0 {
		return nil, fmt.Errorf("tenant: relationship %q: unknown status %q", r.DisplayName, r.Status)
	}
	r.Status = relationshipStatuses()[i]
	if r.Duration == "" {
		r.Duration = "P730D"
	}
	if r.AutoExtendDuration == "" {
		r.AutoExtendDuration = "PT0S"
	}
	if r.Roles == nil {
		r.Roles = defaultRelationshipRoles()
	}
	templates := roleTemplates()
	for _, name := range r.Roles {
		if _, ok := templates[name]; !ok {
			return nil, fmt.Errorf("tenant: relationship %q: unknown role %q", r.DisplayName, name)
		}
	}
	r.AccessAssignments = slices.Clone(r.AccessAssignments)
	for i := range r.AccessAssignments {
		a := &r.AccessAssignments[i]
		a.Roles = slices.Clone(a.Roles)
		if !isGUID(a.GroupID) {
			return nil, fmt.Errorf("tenant: relationship %q: access assignment group %q is not a GUID", r.DisplayName, a.GroupID)
		}
		a.GroupID = strings.ToLower(a.GroupID)
		if a.Status == "" {
			a.Status = "active"
		}
		j := slices.IndexFunc(accessAssignmentStatuses(), func(s string) bool { return strings.EqualFold(s, a.Status) })
		if j < 0 {
			return nil, fmt.Errorf("tenant: relationship %q: unknown access assignment status %q", r.DisplayName, a.Status)
		}
		a.Status = accessAssignmentStatuses()[j]
		for _, name := range a.Roles {
			if !containsFold(r.Roles, name) {
				return nil, fmt.Errorf("tenant: relationship %q: access assignment gives %q, which the relationship does not hold", r.DisplayName, name)
			}
		}
		if a.ID == "" {
			a.ID = stableGUID(partnerID, "gdap-assignment", r.CustomerTenantID, r.DisplayName, a.GroupID)
		}
	}
	days, whole := durationDays(r.Duration)
	if !whole && r.EndDateTime.IsZero() {
		return nil, fmt.Errorf("tenant: relationship %q: duration %q is not whole days, so EndDateTime is required", r.DisplayName, r.Duration)
	}
	if r.CreatedDateTime.IsZero() {
		switch r.Status {
		case "expired", "terminated":
			r.CreatedDateTime = now.Add(-time.Duration(days+30) * 24 * time.Hour)
		default:
			r.CreatedDateTime = now.Add(-30 * 24 * time.Hour)
		}
		r.CreatedDateTime = r.CreatedDateTime.Truncate(time.Second)
	}
	if r.ActivatedDateTime.IsZero() {
		switch r.Status {
		case "created", "approvalPending", "approved", "activating":
		default:
			r.ActivatedDateTime = r.CreatedDateTime.Add(3 * time.Minute)
		}
	}
	if r.EndDateTime.IsZero() {
		r.EndDateTime = r.CreatedDateTime.Add(time.Duration(days) * 24 * time.Hour)
	}
	if r.ID == "" {
		r.ID = stableGUID(partnerID, "gdap", r.CustomerTenantID, r.DisplayName) + "-" + r.CustomerTenantID
	}
	return &r, nil
}

// relationshipObj renders a delegatedAdminRelationship.
func relationshipObj(r *Relationship) obj {
	templates := roleTemplates()
	roles := make([]obj, 0, len(r.Roles))
	for _, name := range r.Roles {
		roles = append(roles, obj{{"roleDefinitionId", templates[name].id}})
	}
	modified := r.CreatedDateTime
	if r.ActivatedDateTime.After(modified) {
		modified = r.ActivatedDateTime
	}
	if r.Status == "expired" || r.Status == "terminated" {
		modified = r.EndDateTime
	}
	return obj{
		{"id", r.ID},
		{"displayName", r.DisplayName},
		{"duration", r.Duration},
		{"status", r.Status},
		{"autoExtendDuration", r.AutoExtendDuration},
		{"createdDateTime", formatTime(r.CreatedDateTime)},
		{"lastModifiedDateTime", formatTime(modified)},
		{"activatedDateTime", formatTime(r.ActivatedDateTime)},
		{"endDateTime", formatTime(r.EndDateTime)},
		{"customer", obj{{"tenantId", r.CustomerTenantID}, {"displayName", r.CustomerDisplayName}}},
		{"accessDetails", obj{{"unifiedRoles", roles}}},
	}
}

// accessAssignmentObj renders a delegatedAdminAccessAssignment
// (https://learn.microsoft.com/en-us/graph/api/resources/delegatedadminaccessassignment):
// the access container and the role definition ids of its access
// details.
func accessAssignmentObj(r *Relationship, a AccessAssignment) obj {
	templates := roleTemplates()
	roles := make([]obj, 0, len(a.Roles))
	for _, name := range a.Roles {
		n, _, _ := lookupRoleTemplate(name)
		roles = append(roles, obj{{"roleDefinitionId", templates[n].id}})
	}
	created := r.ActivatedDateTime
	if created.IsZero() {
		created = r.CreatedDateTime
	}
	return obj{
		{"@odata.etag", `W/"JyIwMDAwMDAwMC0wMDAwLTAwMDAtMDAwMC0wMDAwMDAwMDAwMDAiJw=="`},
		{"id", a.ID},
		{"status", a.Status},
		{"createdDateTime", formatTime(created)},
		{"lastModifiedDateTime", formatTime(created)},
		{"accessContainer", obj{{"accessContainerId", a.GroupID}, {"accessContainerType", "securityGroup"}}},
		{"accessDetails", obj{{"unifiedRoles", roles}}},
	}
}

// routeAccessAssignments serves
// /tenantRelationships/delegatedAdminRelationships/{id}/accessAssignments[/{id}]
// (https://learn.microsoft.com/en-us/graph/api/delegatedadminrelationship-list-accessassignments,
// https://learn.microsoft.com/en-us/graph/api/delegatedadminaccessassignment-get).
func (s *Server) routeAccessAssignments(c *call, r *Relationship) *reply {
	fragment := "tenantRelationships/delegatedAdminRelationships('" + r.ID + "')/accessAssignments"
	if len(c.segs) == 5 {
		for _, a := range r.AccessAssignments {
			if strings.EqualFold(a.ID, c.segs[4]) {
				return okReply(accessAssignmentObj(r, a).prepend("@odata.context", c.context(fragment+"/$entity")))
			}
		}
		return graphErr(http.StatusNotFound, "ResourceNotFound",
			fmt.Sprintf("The delegated admin access assignment with id '%s' was not found.", c.segs[4]))
	}
	items := make([]obj, 0, len(r.AccessAssignments))
	for _, a := range r.AccessAssignments {
		items = append(items, accessAssignmentObj(r, a))
	}
	page, next, total, rep := c.queryCollection(items, collection{
		entity:     "delegatedAdminAccessAssignment",
		context:    fragment,
		filterable: []string{"id", "status", "accessContainer/accessContainerId"},
		sortable:   []string{"createdDateTime"},
		pageSize:   relationshipsPageSize,
		maxTop:     300,
	})
	if rep != nil {
		return rep
	}
	return c.listReply(fragment, page, next, total)
}

// relationshipsPageSize is how many relationships one page holds, small
// so that paging is exercised.
const relationshipsPageSize = 2

// routeTenantRelationships serves
// /tenantRelationships/delegatedAdminRelationships[/{id}].
func (s *Server) routeTenantRelationships(c *call) *reply {
	n := len(c.segs)
	if n == 1 {
		return segmentNotFound(c.segs[0])
	}
	if c.seg(1) != "delegatedadminrelationships" {
		return segmentNotFound(c.segs[1])
	}
	if n > 3 && c.seg(3) != "accessassignments" {
		return segmentNotFound(c.segs[3])
	}
	if n > 5 {
		return segmentNotFound(c.segs[5])
	}
	if c.method != http.MethodGet {
		return methodNotAllowed()
	}
	const fragment = "tenantRelationships/delegatedAdminRelationships"
	if n > 3 {
		for _, r := range c.t.relationships {
			if strings.EqualFold(r.ID, c.segs[2]) {
				return s.routeAccessAssignments(c, r)
			}
		}
		return graphErr(http.StatusNotFound, "ResourceNotFound",
			fmt.Sprintf("The delegated admin relationship with id '%s' was not found.", c.segs[2]))
	}
	if n == 3 {
		for _, r := range c.t.relationships {
			if strings.EqualFold(r.ID, c.segs[2]) {
				return okReply(relationshipObj(r).prepend("@odata.context", c.context(fragment+"/$entity")))
			}
		}
		return graphErr(http.StatusNotFound, "ResourceNotFound",
			fmt.Sprintf("The delegated admin relationship with id '%s' was not found.", c.segs[2]))
	}
	items := make([]obj, 0, len(c.t.relationships))
	for _, r := range c.t.relationships {
		items = append(items, relationshipObj(r))
	}
	page, next, total, rep := c.queryCollection(items, collection{
		entity:     "delegatedAdminRelationship",
		context:    fragment,
		filterable: []string{"id", "displayName", "status", "customer/tenantId", "customer/displayName"},
		sortable:   []string{"displayName", "createdDateTime", "endDateTime"},
		pageSize:   relationshipsPageSize,
		maxTop:     300,
	})
	if rep != nil {
		return rep
	}
	return c.listReply(fragment, page, next, total)
}
