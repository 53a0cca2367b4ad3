package fakegraph

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"
)

// Directory audit log:
//
//	GET /auditLogs/directoryAudits         newest first; $filter, $orderby,
//	                                       $top, $skiptoken, $select
//	GET /auditLogs/directoryAudits/{id}
//
// The log is what Microsoft Entra records of the tenant's applications:
// an "Add service principal" event (category ApplicationManagement,
// logged by Core Directory) for every service principal at its
// CreatedDateTime, and a "Consent to application" event by the user in
// ServicePrincipal.AddedBy, when there is one, right after it
// (https://learn.microsoft.com/en-us/entra/identity/monitoring-health/reference-audit-activities).
// Events are derived from the tenant's service principals on every read,
// so an app seeded, created with POST /servicePrincipals or added with
// AddServicePrincipal has its events, and only those of the last 30 days
// are kept, the retention of Microsoft Entra ID P1 and P2
// (https://learn.microsoft.com/en-us/entra/identity/monitoring-health/reference-reports-data-retention).
//
// The rules are those of
// https://learn.microsoft.com/en-us/graph/api/directoryaudit-list and
// https://learn.microsoft.com/en-us/graph/api/resources/directoryaudit:
// the app needs AuditLog.Read.All and Directory.Read.All (both);
// $filter takes activityDateTime with eq, ge and le; activityDisplayName
// with eq and startswith; id, correlationId and loggedByService with eq;
// initiatedBy/user/id, /displayName and /userPrincipalName and
// initiatedBy/app/appId and /displayName with eq (userPrincipalName also
// startswith); $orderby takes activityDateTime.

// auditRetention is how long Microsoft Entra ID P1 and P2 keep audit
// logs.
const auditRetention = 30 * 24 * time.Hour

// Audit activities of the applications of a tenant, as
// https://learn.microsoft.com/en-us/entra/identity/monitoring-health/reference-audit-activities
// names them.
const (
	activityAddServicePrincipal = "Add service principal"
	activityConsentToApp        = "Consent to application"
)

// directoryAudit is one event of the directory audit log.
type directoryAudit struct {
	id       string
	at       time.Time
	activity string
	opType   string
	// by is the user who did it, nil when the directory did.
	by *User
	sp *ServicePrincipal
}

// directoryAudits returns the events of the last auditRetention before
// now, newest first.
func (t *tenant) directoryAudits(now time.Time) []directoryAudit {
	var out []directoryAudit
	for _, sp := range t.servicePrincipals {
		if sp.CreatedDateTime.IsZero() {
			continue
		}
		var by *User
		if sp.AddedBy != "" {
			by = t.findUser(sp.AddedBy, true)
		}
		out = append(out, directoryAudit{at: sp.CreatedDateTime, activity: activityAddServicePrincipal, opType: "Add", by: by, sp: sp})
		if by != nil {
			out = append(out, directoryAudit{at: sp.CreatedDateTime.Add(time.Second), activity: activityConsentToApp, opType: "Assign", by: by, sp: sp})
		}
	}
	kept := out[:0]
	for _, e := range out {
		if !e.at.After(now) && now.Sub(e.at) <= auditRetention {
			// Shaped like Entra's: Directory_{guid}_{code}_{number}.
			e.id = fmt.Sprintf("Directory_%s_%s_%d", stableGUID(t.id, e.sp.ID, e.activity),
				strings.ToUpper(stableGUID(e.sp.ID)[:5]), e.at.Unix()%100000000)
			kept = append(kept, e)
		}
	}
	slices.SortStableFunc(kept, func(a, b directoryAudit) int { return b.at.Compare(a.at) })
	return kept
}

// directoryAuditObj renders an event with the properties of v1.0's
// directoryAudit.
func directoryAuditObj(e directoryAudit) obj {
	initiator := obj{{"app", nil}, {"user", nil}}
	if e.by != nil {
		initiator = obj{{"app", nil}, {"user", obj{
			{"id", e.by.ID},
			{"displayName", nullString(e.by.DisplayName)},
			{"userPrincipalName", e.by.UserPrincipalName},
			{"ipAddress", nil},
		}}}
	}
	return obj{
		{"id", e.id},
		{"category", "ApplicationManagement"},
		{"correlationId", stableGUID(e.id, "correlation")},
		{"result", "success"},
		{"resultReason", ""},
		{"activityDisplayName", e.activity},
		{"activityDateTime", formatTime(e.at)},
		{"loggedByService", "Core Directory"},
		{"operationType", e.opType},
		{"initiatedBy", initiator},
		{"targetResources", []obj{{
			{"id", e.sp.ID},
			{"displayName", e.sp.DisplayName},
			{"type", "ServicePrincipal"},
			{"userPrincipalName", nil},
			{"groupType", nil},
			{"modifiedProperties", []obj{}},
		}}},
		{"additionalDetails", []obj{}},
	}
}

// directoryAuditsCollection describes how /auditLogs/directoryAudits may
// be queried (see the rules above); activityDateTime is taken out of the
// filter first (takeTimeBounds).
func directoryAuditsCollection() collection {
	eq := []string{"eq"}
	return collection{
		entity:  "directoryAudit",
		context: "auditLogs/directoryAudits",
		filterable: []string{"id", "activityDisplayName", "correlationId", "loggedByService",
			"initiatedBy/user/id", "initiatedBy/user/displayName", "initiatedBy/user/userPrincipalName",
			"initiatedBy/app/appId", "initiatedBy/app/displayName"},
		operators: map[string][]string{
			"id": eq, "activityDisplayName": {"eq", "startsWith"}, "correlationId": eq, "loggedByService": eq,
			"initiatedBy/user/id": eq, "initiatedBy/user/displayName": eq, "initiatedBy/user/userPrincipalName": {"eq", "startsWith"},
			"initiatedBy/app/appId": eq, "initiatedBy/app/displayName": eq,
		},
		sortable: []string{"activityDateTime"},
		// The pages state no page size; these are the sign-in log's.
		pageSize: 1000,
		maxTop:   1000,
	}
}

// serveDirectoryAudits serves /auditLogs/directoryAudits[/{id}]; s.mu is
// held and the call has AuditLog.Read.All.
func (s *Server) serveDirectoryAudits(c *call) *reply {
	n := len(c.segs)
	if n > 3 {
		return segmentNotFound(c.segs[3])
	}
	if c.method != http.MethodGet {
		return methodNotAllowed()
	}
	// "AuditLog.Read.All and Directory.Read.All": both, for application
	// permissions (https://learn.microsoft.com/en-us/graph/api/directoryaudit-list,
	// https://learn.microsoft.com/en-us/graph/api/directoryaudit-get).
	if !hasPermission(c.t.permissions, PermAuditLogReadAll) || !hasPermission(c.t.permissions, PermDirectoryReadAll) {
		return accessDenied()
	}
	events := c.t.directoryAudits(c.now)
	props := directoryAuditObj(directoryAudit{id: "x", sp: &ServicePrincipal{}}).keys()
	sel, rep := parseSelect(c, "directoryAudit", props)
	if rep != nil {
		return rep
	}
	if n == 3 {
		for _, e := range events {
			if e.id == c.segs[2] {
				o := directoryAuditObj(e)
				if sel != nil {
					o = o.pick(sel)
				}
				return okReply(o.prepend("@odata.context", c.context(selectContext("auditLogs/directoryAudits", sel)+"/$entity")))
			}
		}
		return notFound(c.segs[2])
	}
	bounds, rep := c.takeTimeBounds([]string{"activityDateTime"})
	if rep != nil {
		return rep
	}
	for _, b := range bounds {
		if b.op != "eq" && b.op != "ge" && b.op != "le" {
			return graphErr(http.StatusBadRequest, "BadRequest",
				fmt.Sprintf("Invalid filter clause: operator '%s' is not supported on property 'activityDateTime'", b.op))
		}
	}
	items := make([]obj, 0, len(events))
	for _, e := range events {
		items = append(items, directoryAuditObj(e))
	}
	items = keepWithin(items, bounds)
	page, next, total, rep := c.queryCollection(items, directoryAuditsCollection())
	if rep != nil {
		return rep
	}
	if sel != nil {
		for i := range page {
			page[i] = page[i].pick(sel)
		}
	}
	return c.listReply(selectContext("auditLogs/directoryAudits", sel), page, next, total)
}

// AddServicePrincipal adds an enterprise application to a tenant (id or
// domain) as if it had just been added: its CreatedDateTime defaults to
// the server's clock (CreatedAgo places it earlier), and the directory
// audit log shows it being added. Other fields default as in
// TenantSeed.ServicePrincipals.
func (s *Server) AddServicePrincipal(tenantIDOrDomain string, sp ServicePrincipal) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tenant(tenantIDOrDomain)
	if t == nil {
		return fmt.Errorf("fakegraph: no tenant %q", tenantIDOrDomain)
	}
	now := s.now()
	if sp.CreatedDateTime.IsZero() && sp.CreatedAgo == 0 {
		sp.CreatedDateTime = now.Truncate(time.Second)
	}
	built, err := buildServicePrincipals(t.id, []ServicePrincipal{sp}, t.created, now)
	if err != nil {
		return err
	}
	added := built[0]
	if t.servicePrincipal(added.ID) != nil || t.servicePrincipalByApp(added.AppID) != nil {
		return fmt.Errorf("tenant: service principal %q: duplicate id or app id", added.DisplayName)
	}
	t.servicePrincipals = append(t.servicePrincipals, added)
	return nil
}
