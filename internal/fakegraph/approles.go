package fakegraph

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
)

// App-only authorization as Microsoft Entra enforces it: besides its
// application permissions, an app acting without a signed-in user is
// bounded by the directory roles assigned to its own service principal.
//
// Every tenant holds a service principal of the server's app (its client
// id, named "cippbot", object id the oid claim of its tokens), and that
// service principal is a principal of role assignments like a user:
// GET /roleManagement/directory/roleAssignments?$filter=principalId eq
// '{its id}' lists them. TenantSeed.AppRoles seeds them (nil means
// DefaultAppRoles()); SetAppRoles changes them.
//
// The rules below, and no others, are enforced on top of the
// permissions; each comes from the page cited.
//
//   - Updating passwordProfile in app-only access needs "at least the
//     User Administrator Microsoft Entra role"
//     (https://learn.microsoft.com/en-us/graph/api/resources/user,
//     property passwordProfile: "In app-only scenarios, the calling app
//     must be assigned a supported permission and at least the User
//     Administrator Microsoft Entra role"). The roles that are at least
//     that for passwords are User Administrator, Privileged
//     Authentication Administrator ("the least privileged role that's
//     allowed to update this property for all administrators") and
//     Global Administrator.
//   - Updating the sensitive properties (accountEnabled, businessPhones,
//     mobilePhone, onPremisesImmutableId, otherMails, passwordProfile,
//     userPrincipalName) of a user with privileged administrator roles,
//     and deleting or restoring such a user, needs in app-only access "a
//     higher privileged administrator role as indicated in Who can
//     perform sensitive actions"
//     (https://learn.microsoft.com/en-us/graph/api/user-update,
//     https://learn.microsoft.com/en-us/graph/api/user-delete,
//     https://learn.microsoft.com/en-us/graph/api/directory-deleteditems-restore).
//     The table is that of
//     https://learn.microsoft.com/en-us/entra/identity/role-based-access-control/privileged-roles-permissions#who-can-perform-sensitive-actions
//     (sensitiveActionRows). A user whose only roles are the
//     unprivileged ones every column may act on (Directory Readers,
//     Guest Inviter, …) counts as a user with no admin role; for such
//     users the permission alone suffices, as the pages say.
//   - authenticationMethod: resetPassword lists "Application: Not
//     supported"
//     (https://learn.microsoft.com/en-us/graph/api/authenticationmethod-resetpassword):
//     every app-only call is refused.
//   - Exchange Online cmdlets in app-only access need, besides
//     Exchange.ManageAsApp, one of the Microsoft Entra roles of the
//     table "Assign Microsoft Entra roles to the application" of
//     https://learn.microsoft.com/en-us/powershell/exchange/app-only-auth-powershell-v2
//     (exchangeConnectRoles); without one Exchange answers with the
//     error the ExchangeOnlineManagement module shows, "The role
//     assigned to application … isn't supported in this scenario". A
//     cmdlet that changes recipients (anything but Get-*) needs a role
//     that manages recipients: Exchange Administrator or Global
//     Administrator ("provide the required permissions for any task in
//     Exchange Online PowerShell", same page) or Exchange Recipient
//     Administrator ("Can create or update Exchange Online recipients",
//     https://learn.microsoft.com/en-us/entra/identity/role-based-access-control/permissions-reference#exchange-recipient-administrator);
//     the read-only and security roles get Exchange's 401 "User is not
//     allowed to call …".
//   - SharePoint's Tenant.RequestPersonalSites needs an actor that is "at
//     least assigned the SharePoint Online administrator role and [has]
//     been assigned a SharePoint Online license"
//     (https://learn.microsoft.com/en-us/powershell/module/sharepoint-online/request-spopersonalsite):
//     an app holds no licence, so an app-only token is refused with
//     System.UnauthorizedAccessException "Attempted to perform an
//     unauthorized operation.", the error CIPP met
//     (https://github.com/CyberDrain/CIPP/issues/592). A delegated token
//     of a licensed SharePoint or Global Administrator works, a partner's
//     service account's through GDAP included (csomCaller).
//
// Authentication-method writes (temporary access pass, deleting methods)
// list UserAuthenticationMethod.ReadWrite.All for application access and
// name roles only "for delegated scenarios"
// (https://learn.microsoft.com/en-us/graph/api/authentication-post-temporaryaccesspassmethods),
// so nothing is enforced there beyond the permission.

// Role names the rules use.
const (
	roleGlobalAdmin        = "Global Administrator"
	roleUserAdmin          = "User Administrator"
	rolePrivAuthAdmin      = "Privileged Authentication Administrator"
	roleAuthAdmin          = "Authentication Administrator"
	roleExchangeAdmin      = "Exchange Administrator"
	roleExchangeRecipients = "Exchange Recipient Administrator"
	roleSharePointAdmin    = "SharePoint Administrator"
)

// DefaultAppRoles returns the directory roles the app's service
// principal holds in a tenant whose seed leaves AppRoles nil: User
// Administrator (password resets), Privileged Authentication
// Administrator (sensitive changes to admins) and Exchange Administrator
// (Exchange Online cmdlets).
func DefaultAppRoles() []string {
	return []string{roleUserAdmin, rolePrivAuthAdmin, roleExchangeAdmin}
}

// appServicePrincipalID returns the object id of the app's service
// principal in a tenant: the oid claim of the tokens the server issues.
func (s *Server) appServicePrincipalID(t *tenant) string {
	return stableGUID(t.id, "servicePrincipal", s.clientID)
}

// seedApp gives a new tenant the app's service principal, unless the
// seed lists one for the client id, and assigns it roles (nil means
// DefaultAppRoles()). The tenant is not yet shared.
func (s *Server) seedApp(t *tenant, roles []string) error {
	if roles == nil {
		roles = DefaultAppRoles()
	}
	sp := t.servicePrincipalByApp(s.clientID)
	if sp == nil {
		sp = &ServicePrincipal{
			ID: s.appServicePrincipalID(t), AppID: s.clientID, DisplayName: appDisplayName,
			CreatedDateTime: t.created, ServicePrincipalType: "Application", SignInAudience: "AzureADMultipleOrgs",
		}
		t.servicePrincipals = append(t.servicePrincipals, sp)
	}
	for _, r := range roles {
		name, tpl, ok := lookupRoleTemplate(r)
		if !ok {
			return fmt.Errorf("tenant: app role: unknown role %q", r)
		}
		t.assignRole(sp.ID, name, tpl)
	}
	return nil
}

// appSP returns the app's service principal in t; s.mu must be held.
func (s *Server) appSP(t *tenant) *ServicePrincipal {
	if sp := t.servicePrincipalByApp(s.clientID); sp != nil {
		return sp
	}
	return t.servicePrincipal(s.appServicePrincipalID(t))
}

// appRoleNames returns the display names of the roles assigned to the
// app's service principal in t, tenant-wide; s.mu must be held.
func (s *Server) appRoleNames(t *tenant) []string {
	sp := s.appSP(t)
	if sp == nil {
		return nil
	}
	var out []string
	for _, a := range t.assignments {
		if a.principalID == sp.ID && a.scopeID == tenantScope {
			out = append(out, roleNameByTemplate(a.templateID))
		}
	}
	return out
}

// SetAppRoles replaces the directory roles (display names or template
// ids) assigned to the app's service principal in a tenant (id or
// domain); no roles leaves it none. Graph and Exchange judge every later
// request by the new set.
func (s *Server) SetAppRoles(tenantIDOrDomain string, roles ...string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tenant(tenantIDOrDomain)
	if t == nil {
		return fmt.Errorf("fakegraph: SetAppRoles: no tenant %q", tenantIDOrDomain)
	}
	type role struct {
		name string
		tpl  roleTemplate
	}
	var want []role
	for _, r := range roles {
		name, tpl, ok := lookupRoleTemplate(r)
		if !ok {
			return fmt.Errorf("fakegraph: SetAppRoles: unknown role %q", r)
		}
		want = append(want, role{name, tpl})
	}
	sp := s.appSP(t)
	if sp == nil {
		return fmt.Errorf("fakegraph: SetAppRoles: tenant %q has no service principal of the app", tenantIDOrDomain)
	}
	for _, a := range slices.Clone(t.assignments) {
		if a.principalID == sp.ID {
			t.unassignRole(sp.ID, a.templateID)
		}
	}
	for _, r := range want {
		t.assignRole(sp.ID, r.name, r.tpl)
	}
	return nil
}

// AppRoles returns the display names of the directory roles assigned to
// the app's service principal in a tenant (id or domain), sorted; nil
// when there is no such tenant.
func (s *Server) AppRoles(tenantIDOrDomain string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tenant(tenantIDOrDomain)
	if t == nil {
		return nil
	}
	out := s.appRoleNames(t)
	slices.Sort(out)
	return out
}

// holdsAny reports whether held includes one of roles, ignoring case.
func holdsAny(held []string, roles ...string) bool {
	return slices.ContainsFunc(roles, func(r string) bool { return containsFold(held, r) })
}

// sensitiveProperties are the user properties of "Who can perform
// sensitive actions" (privileged-roles-permissions).
func sensitiveProperties() []string {
	return []string{"accountEnabled", "businessPhones", "mobilePhone", "onPremisesImmutableId", "otherMails",
		"passwordProfile", "userPrincipalName"}
}

// ordinaryRoles are the roles whose row of "Who can perform sensitive
// actions" every column checks and that are not privileged: a user
// holding only these counts as one with no admin role.
func ordinaryRoles() []string {
	return []string{"Directory Readers", "Guest Inviter", "Message Center Reader", "Reports Reader",
		"Usage Summary Reports Reader", "User Experience Success Manager"}
}

// sensitiveActionRows is the table of "Who can perform sensitive
// actions": for a role a user holds, the roles that may act on them. A
// role without a row falls under "All other built-in and custom roles".
func sensitiveActionRows() map[string][]string {
	all := []string{roleAuthAdmin, roleUserAdmin, rolePrivAuthAdmin, roleGlobalAdmin}
	return map[string][]string{
		roleAuthAdmin:                   {roleAuthAdmin, rolePrivAuthAdmin, roleGlobalAdmin},
		roleGlobalAdmin:                 {rolePrivAuthAdmin, roleGlobalAdmin},
		"Groups Administrator":          {roleUserAdmin, rolePrivAuthAdmin, roleGlobalAdmin},
		"Helpdesk Administrator":        {roleUserAdmin, rolePrivAuthAdmin, roleGlobalAdmin},
		"Password Administrator":        all,
		rolePrivAuthAdmin:               {rolePrivAuthAdmin, roleGlobalAdmin},
		"Privileged Role Administrator": {rolePrivAuthAdmin, roleGlobalAdmin},
		roleUserAdmin:                   {roleUserAdmin, rolePrivAuthAdmin, roleGlobalAdmin},
	}
}

// otherRolesRow is the row of "All other built-in and custom roles", and
// of a user with no admin role who is a member of a role-assignable
// group.
func otherRolesRow() []string { return []string{rolePrivAuthAdmin, roleGlobalAdmin} }

// activeRoles returns the roles u holds now, directly or through groups
// (PIM eligibilities are not held until activated), and whether u is a
// member of a role-assignable group.
func (t *tenant) activeRoles(u *User) (roles []string, inAssignableGroup bool) {
	add := func(names ...string) {
		for _, n := range names {
			if !slices.Contains(roles, n) {
				roles = append(roles, n)
			}
		}
	}
	add(t.assignedRoleNames(u.ID)...)
	for _, g := range t.transitiveGroups(u.ID) {
		add(t.assignedRoleNames(g.ID)...)
		if g.IsAssignableToRole {
			inAssignableGroup = true
		}
	}
	return roles, inAssignableGroup
}

// mayActOn reports whether an app holding app may perform a sensitive
// action on u, by the table; password is set for a passwordProfile
// update, which app-only always needs at least User Administrator for.
func (t *tenant) mayActOn(app []string, u *User, password bool) bool {
	if holdsAny(app, roleGlobalAdmin) {
		return true
	}
	if password && !holdsAny(app, roleUserAdmin, rolePrivAuthAdmin) {
		return false
	}
	roles, inGroup := t.activeRoles(u)
	rows := sensitiveActionRows()
	privileged := false
	for _, r := range roles {
		if containsFold(ordinaryRoles(), r) {
			continue
		}
		privileged = true
		row, ok := rows[r]
		if !ok {
			row = otherRolesRow()
		}
		if !holdsAny(app, row...) {
			return false
		}
	}
	if !privileged && inGroup && !holdsAny(app, otherRolesRow()...) {
		return false
	}
	return true
}

// sensitiveKeys returns the sensitive properties a PATCH body sets.
func sensitiveKeys(body []byte) []string {
	var m map[string]json.RawMessage
	if json.Unmarshal(body, &m) != nil {
		return nil
	}
	var out []string
	for _, p := range sensitiveProperties() {
		if _, ok := m[p]; ok {
			out = append(out, p)
		}
	}
	return out
}

// permitAppRoles applies the app-only role rules to a call whose
// permissions passed; s.mu must be held. A target that does not exist is
// left to the route (404).
func (s *Server) permitAppRoles(c *call) *reply {
	n := len(c.segs)
	switch {
	case c.seg(0) == "users" && n == 6 && (c.seg(3) == "methods" || c.seg(3) == "passwordmethods") &&
		(c.seg(5) == "resetpassword" || c.seg(5) == "microsoft.graph.resetpassword") && c.caller == nil:
		// Application: Not supported (a delegated call: writeback.go).
		return accessDenied()
	case c.seg(0) == "users" && n == 2 && (c.method == http.MethodPatch || c.method == http.MethodDelete):
		keys := sensitiveKeys(c.body)
		if c.method == http.MethodPatch && len(keys) == 0 {
			return nil
		}
		u := c.t.findUser(c.segs[1], false)
		if u == nil {
			return nil
		}
		if !c.t.mayActOn(s.appRoleNames(c.t), u, slices.Contains(keys, "passwordProfile")) {
			return accessDenied()
		}
	case c.seg(0) == "directory" && n == 4 && c.seg(1) == "deleteditems" && c.method == http.MethodPost &&
		(c.seg(3) == "restore" || c.seg(3) == "microsoft.graph.restore"):
		u := c.t.findUser(c.segs[2], true)
		if u == nil || !u.Deleted {
			return nil
		}
		if !c.t.mayActOn(s.appRoleNames(c.t), u, false) {
			return accessDenied()
		}
	}
	return nil
}

// exchangeConnectRoles are the Microsoft Entra roles app-only-auth-
// powershell-v2 supports for Exchange Online PowerShell.
func exchangeConnectRoles() []string {
	return []string{"Compliance Administrator", roleExchangeAdmin, roleExchangeRecipients, roleGlobalAdmin,
		"Global Reader", "Helpdesk Administrator", "Security Administrator", "Security Reader"}
}

// exchangeWriteRoles are those of them that manage recipients.
func exchangeWriteRoles() []string {
	return []string{roleExchangeAdmin, roleExchangeRecipients, roleGlobalAdmin}
}

// exchangeRoleDenied applies the app-only role rules of Exchange Online
// to a cmdlet; s.mu must be held.
func (s *Server) exchangeRoleDenied(t *tenant, cmdlet string) *exoFailure {
	app := s.appRoleNames(t)
	if !holdsAny(app, exchangeConnectRoles()...) {
		return exoRequestError(http.StatusUnauthorized, "Unauthorized", fmt.Sprintf(
			"The role assigned to application %s isn't supported in this scenario. Please check online documentation for assigning correct Directory Roles to Azure AD Application for EXO App-Only Authentication.",
			s.clientID))
	}
	if !strings.HasPrefix(strings.ToLower(cmdlet), "get-") && !holdsAny(app, exchangeWriteRoles()...) {
		return exoRequestError(http.StatusUnauthorized, "Unauthorized", "User is not allowed to call "+cmdlet+".")
	}
	return nil
}

// exchangeDelegatedDenied judges a cmdlet run with a signed-in admin's
// token (the partner's service account through GDAP, or a user of the
// tenant); s.mu must be held. The token must carry Exchange Online's
// delegated permission Exchange.Manage ("Manage Exchange As Current
// User", what the ExchangeOnlineManagement module signs in with) rather
// than the app's Exchange.ManageAsApp, and the admin's Microsoft Entra
// roles decide as they do for an app: "Exchange Administrator" manages
// recipients (Organization Management), the Exchange Recipient
// Administrator "Can create or update Exchange Online recipients", and
// the reader and security roles read only
// (https://learn.microsoft.com/en-us/entra/identity/role-based-access-control/permissions-reference,
// https://learn.microsoft.com/en-us/exchange/permissions-exo/permissions-exo#microsoft-entra-roles).
func (s *Server) exchangeDelegatedDenied(a *DelegatedAccess, t *tenant, cmdlet string) *exoFailure {
	if !containsFold(a.Scopes, "Exchange.Manage") {
		f := exoRequestError(http.StatusUnauthorized, "Unauthorized", "User is not allowed to call "+cmdlet+".")
		f.header = http.Header{"X-Ms-Diagnostics": {`2000008;reason="The token has no Exchange.Manage permission.";error_category="insufficient_claims"`}}
		return f
	}
	roles := s.delegatedRoles(a, t)
	if !holdsAny(roles, exchangeConnectRoles()...) ||
		!strings.HasPrefix(strings.ToLower(cmdlet), "get-") && !holdsAny(roles, exchangeWriteRoles()...) {
		return exoRequestError(http.StatusUnauthorized, "Unauthorized", "User is not allowed to call "+cmdlet+".")
	}
	return nil
}

// bearer returns the token of an Authorization header.
func bearer(header string) string {
	_, tok, _ := strings.Cut(strings.TrimSpace(header), " ")
	return strings.TrimSpace(tok)
}

// csomUnauthorized is SharePoint's refusal of an operation the caller
// may not perform.
func csomUnauthorized() *csomError {
	return &csomError{"Attempted to perform an unauthorized operation.", "System.UnauthorizedAccessException", -2147024891}
}

// csomCaller returns the signed-in user of a SharePoint admin token and
// the tenant the user belongs to (nil for an app-only token), refusing a
// delegated caller who is not a SharePoint or Global Administrator, as
// the tenant admin site does; s.mu must be held and the token already
// checked. A partner's service account reaching t through GDAP holds the
// roles its relationships grant (delegatedRoles, writeback.go) and needs
// the delegated SharePoint permission the admin site takes,
// AllSites.FullControl ("Have full control of all site collections",
// https://learn.microsoft.com/graph/permissions-reference; what the
// SharePoint Online Management Shell and PnP sign in with).
func (s *Server) csomCaller(header string, t *tenant) (*User, *tenant, *csomError) {
	_, tok, _ := strings.Cut(strings.TrimSpace(header), " ")
	tok = strings.TrimSpace(tok)
	g, ok := s.tokens[tok]
	a := s.callerOf(tok)
	denied := &csomError{"Access denied. You do not have permission to perform this action or access this resource.",
		"System.UnauthorizedAccessException", -2147024891}
	if a != nil && a.HomeTenantID != t.id {
		home := s.tenants[a.HomeTenantID]
		var u *User
		if home != nil {
			u = home.findUser(a.UserID, false)
		}
		switch {
		case u == nil:
			return nil, nil, csomUnauthorized()
		case !containsFold(a.Scopes, "AllSites.FullControl"):
			return u, home, denied
		case !holdsAny(s.delegatedRoles(a, t), roleSharePointAdmin, roleGlobalAdmin):
			return u, home, denied
		}
		return u, home, nil
	}
	if !ok || g.user == "" {
		return nil, nil, nil
	}
	u := t.findUser(g.user, false)
	if u == nil {
		return nil, nil, csomUnauthorized()
	}
	if roles, _ := t.activeRoles(u); !holdsAny(roles, roleSharePointAdmin, roleGlobalAdmin) {
		return u, t, denied
	}
	return u, t, nil
}

// personalSitesDenied refuses RequestPersonalSites to an app-only caller
// and to a signed-in admin without a SharePoint licence (held in the
// admin's own tenant: a partner's service account is licensed in the
// partner's).
func (run *csomRun) personalSitesDenied() *csomError {
	if run.user == nil || !run.userTenant.spLicensed(run.user) {
		return csomUnauthorized()
	}
	return nil
}
