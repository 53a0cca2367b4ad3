package fakegraph

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"
)

// ConditionalAccessPolicy is a Conditional Access policy of a tenant
// (TenantSeed.ConditionalAccessPolicies), served as a
// conditionalAccessPolicy:
// https://learn.microsoft.com/en-us/graph/api/resources/conditionalaccesspolicy
// and its users condition,
// https://learn.microsoft.com/en-us/graph/api/resources/conditionalaccessusers
type ConditionalAccessPolicy struct {
	// ID is the policy id, a GUID; empty gets a stable one.
	ID string
	// DisplayName names the policy; it is required.
	DisplayName string
	// State is "enabled", "disabled" or
	// "enabledForReportingButNotEnforced" (report-only); it is required.
	State string
	// IncludeUsers holds user ids or user principal names, or "All",
	// "None" or "GuestsOrExternalUsers"; ExcludeUsers user ids or UPNs,
	// or "GuestsOrExternalUsers". Users are served as ids.
	IncludeUsers []string
	ExcludeUsers []string
	// IncludeGroups and ExcludeGroups hold group ids or display names,
	// served as ids.
	IncludeGroups []string
	ExcludeGroups []string
	// IncludeRoles and ExcludeRoles hold directory role display names or
	// template ids, served as template ids.
	IncludeRoles []string
	ExcludeRoles []string
	// IncludeApplications defaults to ["All"].
	IncludeApplications []string
	// ClientAppTypes defaults to ["all"]; values are those of the
	// schema's conditionalAccessClientApp.
	ClientAppTypes []string
	// BuiltInControls are the grant controls, default ["mfa"]; values are
	// those of the schema's conditionalAccessGrantControl.
	BuiltInControls []string
	// GrantOperator is "OR" (the default) or "AND".
	GrantOperator string
	// CreatedDateTime defaults to 30 days after the tenant was created;
	// a zero ModifiedDateTime is served as null.
	CreatedDateTime  time.Time
	ModifiedDateTime time.Time
}

// Values of the schema's enumerations conditionalAccessPolicyState,
// conditionalAccessClientApp and conditionalAccessGrantControl (Microsoft
// Graph v1.0 metadata).
func caPolicyStates() []string {
	return []string{"enabled", "disabled", "enabledForReportingButNotEnforced"}
}

func caClientApps() []string {
	return []string{"all", "browser", "mobileAppsAndDesktopClients", "exchangeActiveSync", "easSupported", "other"}
}

func caGrantControls() []string {
	return []string{"block", "mfa", "compliantDevice", "domainJoinedDevice", "approvedApplication", "compliantApplication", "passwordChange", "riskRemediation"}
}

// canonical returns the member of allowed that equals v ignoring case.
func canonical(allowed []string, v string) (string, bool) {
	i := slices.IndexFunc(allowed, func(a string) bool { return strings.EqualFold(a, v) })
	if i < 0 {
		return "", false
	}
	return allowed[i], true
}

// buildCAPolicy validates a seeded policy and resolves its references
// to ids.
func (t *tenant) buildCAPolicy(seed ConditionalAccessPolicy, now time.Time) (*ConditionalAccessPolicy, error) {
	p := seed
	fail := func(format string, args ...any) error {
		return fmt.Errorf("tenant: conditional access policy %q: %s", seed.DisplayName, fmt.Sprintf(format, args...))
	}
	if strings.TrimSpace(p.DisplayName) == "" {
		return nil, fail("no display name")
	}
	if p.ID == "" {
		p.ID = stableGUID(t.id, "conditionalAccessPolicy", p.DisplayName)
	}
	if !isGUID(p.ID) {
		return nil, fail("id %q is not a GUID", p.ID)
	}
	p.ID = strings.ToLower(p.ID)
	if t.caPolicy(p.ID) != nil {
		return nil, fail("duplicate id")
	}
	state, ok := canonical(caPolicyStates(), p.State)
	if !ok {
		return nil, fail("state %q is not one of %v", p.State, caPolicyStates())
	}
	p.State = state
	users := func(refs []string, specials []string) ([]string, error) {
		out := []string{}
		for _, r := range refs {
			if s, ok := canonical(specials, r); ok {
				out = append(out, s)
				continue
			}
			u := t.findUser(r, false)
			if u == nil {
				return nil, fail("unknown user %q", r)
			}
			out = append(out, u.ID)
		}
		return out, nil
	}
	var err error
	if p.IncludeUsers, err = users(p.IncludeUsers, []string{"All", "None", "GuestsOrExternalUsers"}); err != nil {
		return nil, err
	}
	if p.ExcludeUsers, err = users(p.ExcludeUsers, []string{"GuestsOrExternalUsers"}); err != nil {
		return nil, err
	}
	groups := func(refs []string) ([]string, error) {
		out := []string{}
		for _, r := range refs {
			g, err := t.lookupGroupRef(r)
			if err != nil {
				return nil, fail("%v", err)
			}
			out = append(out, g.ID)
		}
		return out, nil
	}
	if p.IncludeGroups, err = groups(p.IncludeGroups); err != nil {
		return nil, err
	}
	if p.ExcludeGroups, err = groups(p.ExcludeGroups); err != nil {
		return nil, err
	}
	roles := func(refs []string) ([]string, error) {
		out := []string{}
		for _, r := range refs {
			_, tpl, ok := lookupRoleTemplate(r)
			if !ok {
				return nil, fail("unknown role %q", r)
			}
			out = append(out, tpl.id)
		}
		return out, nil
	}
	if p.IncludeRoles, err = roles(p.IncludeRoles); err != nil {
		return nil, err
	}
	if p.ExcludeRoles, err = roles(p.ExcludeRoles); err != nil {
		return nil, err
	}
	if len(p.IncludeApplications) == 0 {
		p.IncludeApplications = []string{"All"}
	}
	p.IncludeApplications = slices.Clone(p.IncludeApplications)
	enum := func(vals, allowed, defaults []string, what string) ([]string, error) {
		if len(vals) == 0 {
			return defaults, nil
		}
		out := make([]string, 0, len(vals))
		for _, v := range vals {
			c, ok := canonical(allowed, v)
			if !ok {
				return nil, fail("%s %q is not one of %v", what, v, allowed)
			}
			out = append(out, c)
		}
		return out, nil
	}
	if p.ClientAppTypes, err = enum(p.ClientAppTypes, caClientApps(), []string{"all"}, "client app type"); err != nil {
		return nil, err
	}
	if p.BuiltInControls, err = enum(p.BuiltInControls, caGrantControls(), []string{"mfa"}, "grant control"); err != nil {
		return nil, err
	}
	switch strings.ToUpper(p.GrantOperator) {
	case "":
		p.GrantOperator = "OR"
	case "OR", "AND":
		p.GrantOperator = strings.ToUpper(p.GrantOperator)
	default:
		return nil, fail("grant operator %q is not AND or OR", p.GrantOperator)
	}
	if p.CreatedDateTime.IsZero() {
		p.CreatedDateTime = t.created.Add(30 * 24 * time.Hour)
	}
	if p.CreatedDateTime.After(now) {
		p.CreatedDateTime = now
	}
	return &p, nil
}

// caPolicy finds a policy by id.
func (t *tenant) caPolicy(id string) *ConditionalAccessPolicy {
	for _, p := range t.caPolicies {
		if strings.EqualFold(p.ID, id) {
			return p
		}
	}
	return nil
}

// caPolicyObj renders a policy with the properties of the schema's
// conditionalAccessPolicy, in the order of the example response of
// https://learn.microsoft.com/en-us/graph/api/conditionalaccesspolicy-get
// Conditions the seed does not model are empty or null.
func caPolicyObj(p *ConditionalAccessPolicy) obj {
	return obj{
		{"id", p.ID},
		{"templateId", nil},
		{"displayName", p.DisplayName},
		{"description", nil},
		{"createdDateTime", formatTime(p.CreatedDateTime)},
		{"modifiedDateTime", formatTime(p.ModifiedDateTime)},
		{"state", p.State},
		{"sessionControls", nil},
		{"conditions", obj{
			{"userRiskLevels", []string{}},
			{"signInRiskLevels", []string{}},
			{"clientAppTypes", slices.Clone(p.ClientAppTypes)},
			{"servicePrincipalRiskLevels", []string{}},
			{"insiderRiskLevels", nil},
			{"platforms", nil},
			{"locations", nil},
			{"devices", nil},
			{"clientApplications", nil},
			{"authenticationFlows", nil},
			{"applications", obj{
				{"includeApplications", slices.Clone(p.IncludeApplications)},
				{"excludeApplications", []string{}},
				{"includeUserActions", []string{}},
				{"includeAuthenticationContextClassReferences", []string{}},
				{"applicationFilter", nil},
			}},
			{"users", obj{
				{"includeUsers", nonNil(slices.Clone(p.IncludeUsers))},
				{"excludeUsers", nonNil(slices.Clone(p.ExcludeUsers))},
				{"includeGroups", nonNil(slices.Clone(p.IncludeGroups))},
				{"excludeGroups", nonNil(slices.Clone(p.ExcludeGroups))},
				{"includeRoles", nonNil(slices.Clone(p.IncludeRoles))},
				{"excludeRoles", nonNil(slices.Clone(p.ExcludeRoles))},
				{"includeGuestsOrExternalUsers", nil},
				{"excludeGuestsOrExternalUsers", nil},
			}},
		}},
		{"grantControls", obj{
			{"operator", p.GrantOperator},
			{"builtInControls", slices.Clone(p.BuiltInControls)},
			{"customAuthenticationFactors", []string{}},
			{"termsOfUse", []string{}},
		}},
	}
}

// caPolicyProps lists the selectable policy properties.
func caPolicyProps() []string {
	return caPolicyObj(&ConditionalAccessPolicy{}).keys()
}

// caPoliciesCollection describes how the policies may be queried. The
// list supports $skip, $top, $count, $filter, $orderby and $select
// (https://learn.microsoft.com/en-us/graph/api/conditionalaccessroot-list-policies)
// without naming filterable properties, so the fake filters (eq) on the
// scalar ones. Conditional Access policies are not directory objects:
// $count needs no ConsistencyLevel header. The page gives no page size;
// the fake pages at 100 (at most 999 with $top).
func caPoliciesCollection() collection {
	return collection{
		entity:     "conditionalAccessPolicy",
		context:    "identity/conditionalAccess/policies",
		filterable: []string{"id", "displayName", "state"},
		operators:  map[string][]string{"id": {"eq"}, "displayName": {"eq"}, "state": {"eq"}},
		sortable:   []string{"displayName", "createdDateTime", "modifiedDateTime", "state"},
		pageSize:   100,
		maxTop:     999,
		plainCount: true,
		skip:       true,
	}
}

// skipAllowed reports whether a call may use $skip: only the
// Conditional Access policy list documents it.
func skipAllowed(c *call) bool {
	return c.method == http.MethodGet && len(c.segs) == 3 && c.seg(0) == "identity" && c.seg(1) == "conditionalaccess" && c.seg(2) == "policies"
}

// routeIdentity serves /identity/conditionalAccess/policies and
// /identity/conditionalAccess/policies/{id}.
func (s *Server) routeIdentity(c *call) *reply {
	n := len(c.segs)
	switch {
	case n < 2 || c.seg(1) != "conditionalaccess":
		return segmentNotFound(c.segs[min(n-1, 1)])
	case n < 3 || c.seg(2) != "policies":
		return segmentNotFound(c.segs[min(n-1, 2)])
	case n > 4:
		return segmentNotFound(c.segs[4])
	}
	if c.method != http.MethodGet {
		return methodNotAllowed()
	}
	sel, rep := parseSelect(c, "conditionalAccessPolicy", caPolicyProps())
	if rep != nil {
		return rep
	}
	if n == 4 {
		// https://learn.microsoft.com/en-us/graph/api/conditionalaccesspolicy-get
		// supports $select only.
		if rep := onlyOptions(c, "$select"); rep != nil {
			return rep
		}
		p := c.t.caPolicy(c.segs[3])
		if p == nil {
			return notFound(c.segs[3])
		}
		o := caPolicyObj(p)
		if sel != nil {
			o = o.pick(sel)
		}
		return okReply(o.prepend("@odata.context", c.context(selectContext("identity/conditionalAccess/policies", sel)+"/$entity")))
	}
	if rep := onlyOptions(c, "$select", "$filter", "$top", "$count", "$orderby", "$skip", "$skiptoken"); rep != nil {
		return rep
	}
	items := make([]obj, 0, len(c.t.caPolicies))
	for _, p := range c.t.caPolicies {
		items = append(items, caPolicyObj(p))
	}
	page, next, total, rep := c.queryCollection(items, caPoliciesCollection())
	if rep != nil {
		return rep
	}
	if sel != nil {
		for i := range page {
			page[i] = page[i].pick(sel)
		}
	}
	return c.listReply(selectContext("identity/conditionalAccess/policies", sel), page, next, total)
}

// onlyOptions answers 400 when the call uses a system query option other
// than those its documentation lists.
func onlyOptions(c *call, allowed ...string) *reply {
	for name := range c.query {
		if strings.HasPrefix(name, "$") && !slices.Contains(allowed, name) {
			return graphErr(http.StatusBadRequest, "BadRequest", fmt.Sprintf("Query option '%s' is not supported for this request.", name))
		}
	}
	return nil
}
