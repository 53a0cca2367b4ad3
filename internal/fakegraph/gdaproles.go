package fakegraph

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
)

// Delegated authorization through GDAP, as Microsoft Entra and Exchange
// Online enforce it for a partner user (the service account) acting in a
// customer tenant with a delegated token. Such a user holds, in the
// customer tenant, exactly the roles its partner-tenant security groups
// are given by the access assignments of the active GDAP relationships
// with that customer: "the administrative roles are assigned to the
// Microsoft partner through an access container (like a security group).
// Once it's active, the members of the access container get access to the
// roles specified in the access details"
// (https://learn.microsoft.com/en-us/graph/api/resources/delegatedadminaccessassignment).
// Membership is transitive, as CIPP's GDAP trace reads it
// (transitiveMemberOf of the partner user).
//
// A delegated call needs both a delegated permission in the token's scp
// claim and a role of the signed-in user that allows the operation ("In
// delegated scenarios with work or school accounts, the signed-in user
// must be assigned a supported Microsoft Entra role or a custom role with
// a supported role permission", the Permissions section of each Graph
// API page, e.g. https://learn.microsoft.com/en-us/graph/api/authenticationmethod-resetpassword).
// The rules enforced, each from the page cited:
//
//   - A partner user holds no role in the customer tenant but those GDAP
//     gives: without any, every call is refused (GDAP is least-privilege
//     access through roles only,
//     https://learn.microsoft.com/en-us/partner-center/customers/gdap-introduction).
//   - Creating, deleting and restoring users and updating their
//     properties: User Administrator (least privileged roles by task,
//     "Users",
//     https://learn.microsoft.com/en-us/entra/identity/role-based-access-control/delegate-by-task#users).
//   - Resetting a password (passwordProfile): Password Administrator,
//     Helpdesk Administrator, User Administrator, Authentication
//     Administrator or Privileged Authentication Administrator (same
//     page, "Reset password for non-administrators"); in delegated
//     access the app must also hold Directory.AccessAsUser.All ("In
//     delegated access, the calling app must be assigned the
//     Directory.AccessAsUser.All delegated permission on behalf of the
//     signed-in user", passwordProfile,
//     https://learn.microsoft.com/en-us/graph/api/resources/user).
//   - Revoking sign-in sessions: a role with
//     microsoft.directory/users/invalidateAllRefreshTokens: Helpdesk,
//     Authentication, Privileged Authentication or User Administrator
//     (https://learn.microsoft.com/en-us/entra/identity/role-based-access-control/permissions-reference).
//   - Assigning licences: License Administrator or User Administrator
//     (delegate-by-task, "Licensing").
//   - Group membership: Groups Administrator or User Administrator
//     (delegate-by-task, "Groups"); a role-assignable group's only
//     Privileged Role Administrator ("Only Global Administrators and
//     Privileged Role Administrators can manage the membership of a
//     role-assignable group",
//     https://learn.microsoft.com/en-us/entra/identity/role-based-access-control/groups-concept).
//   - Authentication methods (temporary access pass, removing methods,
//     per-user MFA, the password writeback reset): Authentication
//     Administrator, or Privileged Authentication Administrator; reading
//     them also Global Reader
//     (https://learn.microsoft.com/en-us/graph/api/authentication-post-temporaryaccesspassmethods,
//     https://learn.microsoft.com/en-us/graph/api/authenticationmethod-resetpassword,
//     https://learn.microsoft.com/en-us/graph/api/authentication-list-methods).
//   - Sensitive changes to a user who holds an admin role follow "Who can
//     perform sensitive actions", as for app-only access (approles.go).
//   - Exchange Online cmdlets: the Microsoft Entra roles that carry
//     Exchange role groups — Exchange Administrator and Global
//     Administrator (Organization Management), Exchange Recipient
//     Administrator (Recipient Management), and read-only ones for Get-
//     cmdlets
//     (https://learn.microsoft.com/en-us/exchange/permissions-exo/permissions-exo#microsoft-entra-roles-in-exchange-online);
//     and Exchange.Manage in scp.
//
// Global Administrator may do everything. A delegated token in the
// user's own tenant is judged as before (the tenant's consented
// permissions and, for SharePoint, the user's own roles).

// gdapCaller is the partner user behind a delegated token used in a
// customer tenant.
type gdapCaller struct {
	userID, home string
	scopes       []string
}

// gdapCallerOf returns the GDAP caller of a token in tenant t, or nil for
// an app-only token or one used in the user's own tenant; s.mu must be
// held.
func (s *Server) gdapCallerOf(tok string, t *tenant) *gdapCaller {
	a, ok := s.delegated().access[tok]
	if !ok || strings.EqualFold(a.HomeTenantID, t.id) {
		return nil
	}
	return &gdapCaller{userID: a.UserID, home: a.HomeTenantID, scopes: a.Scopes}
}

// exchangeGDAPCaller returns the GDAP caller of an Authorization header's
// token in t, or nil; s.mu must be held.
func (s *Server) exchangeGDAPCaller(header string, t *tenant) *gdapCaller {
	_, tok, _ := strings.Cut(strings.TrimSpace(header), " ")
	return s.gdapCallerOf(strings.TrimSpace(tok), t)
}

// gdapRoles returns the roles a partner user of home holds in customer
// through the access assignments of home's active relationships with it;
// s.mu must be held.
func (s *Server) gdapRoles(home, userID, customer string) []string {
	p := s.tenants[home]
	if p == nil {
		return nil
	}
	var groups []string
	for _, g := range p.transitiveGroups(userID) {
		groups = append(groups, strings.ToLower(g.ID))
	}
	var out []string
	for _, r := range p.relationships {
		if !strings.EqualFold(r.CustomerTenantID, customer) || r.Status != "active" {
			continue
		}
		for _, a := range r.AccessAssignments {
			if a.Status != "active" || !slices.Contains(groups, a.GroupID) {
				continue
			}
			for _, name := range a.Roles {
				if n, _, ok := lookupRoleTemplate(name); ok && !slices.Contains(out, n) {
					out = append(out, n)
				}
			}
		}
	}
	slices.Sort(out)
	return out
}

// GDAPRoles returns the roles the partner user upn of partner (id or
// domain) holds in customer (id or domain) through GDAP, sorted; nil
// when there is none.
func (s *Server) GDAPRoles(partner, upn, customer string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, c := s.tenant(partner), s.tenant(customer)
	if p == nil {
		return nil
	}
	u := p.findUser(upn, false)
	if u == nil {
		return nil
	}
	id := customer
	if c != nil {
		id = c.id
	}
	return s.gdapRoles(p.id, u.ID, id)
}

// SetAccessAssignments replaces the access assignments of the
// relationship with the given id held by partner (id or domain). Later
// delegated calls are judged by the new ones.
func (s *Server) SetAccessAssignments(partner, relationshipID string, as []AccessAssignment) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.tenant(partner)
	if p == nil {
		return fmt.Errorf("fakegraph: SetAccessAssignments: no tenant %q", partner)
	}
	for i, r := range p.relationships {
		if !strings.EqualFold(r.ID, relationshipID) {
			continue
		}
		next := *r
		next.AccessAssignments = as
		built, err := buildRelationship(p.id, next, s.now())
		if err != nil {
			return fmt.Errorf("fakegraph: SetAccessAssignments: %w", err)
		}
		p.relationships[i] = built
		return nil
	}
	return fmt.Errorf("fakegraph: SetAccessAssignments: no relationship %q", relationshipID)
}

// Role lists of the delegated rules.
func rolesUserWrite() []string { return []string{roleUserAdmin, roleGlobalAdmin} }
func rolesPasswordReset() []string {
	return []string{"Password Administrator", "Helpdesk Administrator", roleUserAdmin, roleAuthAdmin, rolePrivAuthAdmin, roleGlobalAdmin}
}
func rolesRevokeSessions() []string {
	return []string{"Helpdesk Administrator", roleAuthAdmin, rolePrivAuthAdmin, roleUserAdmin, roleGlobalAdmin}
}
func rolesLicense() []string {
	return []string{"License Administrator", roleUserAdmin, roleGlobalAdmin}
}
func rolesGroupMembers() []string {
	return []string{"Groups Administrator", roleUserAdmin, roleGlobalAdmin}
}
func rolesAuthMethods() []string { return []string{roleAuthAdmin, rolePrivAuthAdmin, roleGlobalAdmin} }

// delegatedPermitted checks a Graph call's delegated permissions (scp)
// the way permit checks application ones.
func delegatedPermitted(c *call, scopes []string) *reply {
	if need, ok := exactPermissions(c); ok {
		if !grantsExactly(scopes, need) {
			return accessDenied()
		}
		return nil
	}
	anyOf := requiredPermissions(c)
	if len(anyOf) == 0 {
		return nil
	}
	for _, p := range anyOf {
		if hasPermission(scopes, p) {
			return roleAssignableMembershipDenied(c, scopes)
		}
	}
	if isMailboxCall(c) {
		return mailboxAccessDenied()
	}
	return accessDenied()
}

// permitGDAP applies the delegated rules to a Graph call of a GDAP
// caller; s.mu must be held. A target that does not exist is left to the
// route (404).
func (s *Server) permitGDAP(c *call) *reply {
	g := c.gdap
	if rep := delegatedPermitted(c, g.scopes); rep != nil {
		return rep
	}
	roles := s.gdapRoles(g.home, g.userID, c.t.id)
	if len(roles) == 0 {
		return accessDenied()
	}
	need := func(any []string) *reply {
		if holdsAny(roles, any...) {
			return nil
		}
		return accessDenied()
	}
	onTarget := func(id string, deleted bool) *reply {
		u := c.t.findUser(id, deleted)
		if u == nil || c.t.mayActOn(roles, u, false) {
			return nil
		}
		return accessDenied()
	}
	n := len(c.segs)
	get := c.method == http.MethodGet
	switch c.seg(0) {
	case "users":
		switch {
		case n >= 3 && c.seg(2) == "authentication":
			if get {
				// Reading another user's methods: the
				// authentication administrators, or Global Reader
				// (https://learn.microsoft.com/en-us/graph/api/authentication-list-methods).
				return need(append(rolesAuthMethods(), "Global Reader"))
			}
			if rep := need(rolesAuthMethods()); rep != nil {
				return rep
			}
			return onTarget(c.segs[1], false)
		case get || isMailboxCall(c):
			return nil
		case n == 1 && c.method == http.MethodPost:
			return need(rolesUserWrite())
		case n == 2 && c.method == http.MethodPatch:
			keys := sensitiveKeys(c.body)
			if slices.Contains(keys, "passwordProfile") {
				if !containsFold(g.scopes, "Directory.AccessAsUser.All") {
					return accessDenied()
				}
				if rep := need(rolesPasswordReset()); rep != nil {
					return rep
				}
				if onlyPasswordProfile(c.body) {
					return onTarget(c.segs[1], false)
				}
			}
			if rep := need(rolesUserWrite()); rep != nil {
				return rep
			}
			if len(keys) > 0 {
				return onTarget(c.segs[1], false)
			}
			return nil
		case n == 2 && c.method == http.MethodDelete:
			if rep := need(rolesUserWrite()); rep != nil {
				return rep
			}
			return onTarget(c.segs[1], false)
		case n >= 3 && (c.seg(2) == "revokesigninsessions" || c.seg(2) == "microsoft.graph.revokesigninsessions"):
			return need(rolesRevokeSessions())
		case n >= 3 && (c.seg(2) == "assignlicense" || c.seg(2) == "microsoft.graph.assignlicense"):
			return need(rolesLicense())
		}
		return need(rolesUserWrite())
	case "groups":
		if get {
			return nil
		}
		if n >= 4 && c.seg(2) == "members" {
			if gr := c.t.findGroup(c.segs[1]); gr != nil && gr.IsAssignableToRole {
				return need([]string{"Privileged Role Administrator", roleGlobalAdmin})
			}
		}
		return need(rolesGroupMembers())
	case "directory":
		if get {
			return nil
		}
		if rep := need(rolesUserWrite()); rep != nil {
			return rep
		}
		if n == 4 && c.seg(1) == "deleteditems" {
			return onTarget(c.segs[2], true)
		}
	}
	return nil
}

// exchangeGDAPDenied applies the delegated rules of Exchange Online to a
// cmdlet of a GDAP caller; s.mu must be held.
func (s *Server) exchangeGDAPDenied(g *gdapCaller, t *tenant, cmdlet string) *exoFailure {
	if !containsFold(g.scopes, "Exchange.Manage") {
		f := exoRequestError(http.StatusUnauthorized, "Unauthorized", "User is not allowed to call "+cmdlet+".")
		f.header = http.Header{"X-Ms-Diagnostics": {`2000008;reason="The token has no Exchange.Manage scope.";error_category="insufficient_claims"`}}
		return f
	}
	roles := s.gdapRoles(g.home, g.userID, t.id)
	if !holdsAny(roles, exchangeConnectRoles()...) ||
		!strings.HasPrefix(strings.ToLower(cmdlet), "get-") && !holdsAny(roles, exchangeWriteRoles()...) {
		return exoRequestError(http.StatusForbidden, "Forbidden", "User is not allowed to call "+cmdlet+".")
	}
	return nil
}
