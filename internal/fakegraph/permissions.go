package fakegraph

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
)

// Microsoft Graph application permissions the server knows about.
const (
	PermUserReadAll                     = "User.Read.All"
	PermUserReadWriteAll                = "User.ReadWrite.All"
	PermDirectoryReadAll                = "Directory.Read.All"
	PermDirectoryReadWriteAll           = "Directory.ReadWrite.All"
	PermGroupReadAll                    = "Group.Read.All"
	PermGroupReadWriteAll               = "Group.ReadWrite.All"
	PermGroupMemberReadAll              = "GroupMember.Read.All"
	PermGroupMemberReadWriteAll         = "GroupMember.ReadWrite.All"
	PermUserAuthMethodReadAll           = "UserAuthenticationMethod.Read.All"
	PermUserAuthMethodReadWriteAll      = "UserAuthenticationMethod.ReadWrite.All"
	PermUserPasswordProfileReadWriteAll = "User-PasswordProfile.ReadWrite.All"
	PermUserRevokeSessionsAll           = "User.RevokeSessions.All"
	PermLicenseAssignmentReadWriteAll   = "LicenseAssignment.ReadWrite.All"
	PermAuditLogReadAll                 = "AuditLog.Read.All"
	PermOrganizationReadAll             = "Organization.Read.All"
	PermDomainReadAll                   = "Domain.Read.All"
	PermRoleManagementReadDirectory     = "RoleManagement.Read.Directory"
	PermPolicyReadWriteAuthMethod       = "Policy.ReadWrite.AuthenticationMethod"
	PermDelegatedAdminRelReadAll        = "DelegatedAdminRelationship.Read.All"
	PermDelegatedAdminRelReadWriteAll   = "DelegatedAdminRelationship.ReadWrite.All"
	PermMailboxSettingsRead             = "MailboxSettings.Read"
	PermMailboxSettingsReadWrite        = "MailboxSettings.ReadWrite"
	PermMailReadBasicAll                = "Mail.ReadBasic.All"
	PermMailRead                        = "Mail.Read"
	PermMailReadWrite                   = "Mail.ReadWrite"
	PermApplicationReadAll              = "Application.Read.All"
	PermApplicationReadWriteAll         = "Application.ReadWrite.All"
)

// PermSitesFullControlAll is the SharePoint Online application permission
// (an app role of "Office 365 SharePoint Online",
// 00000003-0000-0ff1-ce00-000000000000) that the SharePoint admin
// endpoint needs. It travels only in tokens for the tenant's SharePoint
// admin site, never in Graph or Exchange tokens.
const PermSitesFullControlAll = "Sites.FullControl.All"

// Exchange Online application permissions (app roles of the "Office 365
// Exchange Online" resource, 00000002-0000-0ff1-ce00-000000000000). They
// are consented alongside the Graph ones but travel only in tokens for
// Exchange, never in Graph tokens.
const (
	// PermExchangeManageAsApp lets an app run Exchange Online cmdlets
	// (InvokeCommand); without it Exchange answers 401.
	PermExchangeManageAsApp = "Exchange.ManageAsApp"
	// PermExchangeFullAccessAsApp is Exchange's EWS full_access_as_app;
	// the server only recognizes it as an Exchange permission.
	PermExchangeFullAccessAsApp = "full_access_as_app"
)

// DefaultPermissions returns the application permissions a tenant grants
// when its seed leaves Permissions nil: everything the server serves.
func DefaultPermissions() []string {
	return []string{
		PermUserReadWriteAll,
		PermDirectoryReadWriteAll,
		PermGroupReadWriteAll,
		PermGroupMemberReadWriteAll,
		PermUserAuthMethodReadWriteAll,
		PermUserPasswordProfileReadWriteAll,
		PermAuditLogReadAll,
		PermOrganizationReadAll,
		PermDomainReadAll,
		PermPolicyReadWriteAuthMethod,
		PermDelegatedAdminRelReadAll,
		PermMailboxSettingsReadWrite,
		PermMailReadBasicAll,
		PermApplicationReadWriteAll,
		PermRoleManagementReadWriteDirectory,
		PermPolicyReadAll,
		PermExchangeManageAsApp,
		PermSitesFullControlAll,
	}
}

// resourceKind is the resource an access token is for.
type resourceKind int

// The resources the token endpoint issues tokens for.
const (
	// resGraph is Microsoft Graph.
	resGraph resourceKind = iota
	// resExchange is Exchange Online.
	resExchange
	// resSharePoint is the tenant's SharePoint admin site.
	resSharePoint
	// resMFA is the legacy MFA notification service, which has no
	// application permissions of its own.
	resMFA
)

// permissionResource returns the resource whose app role p is: Exchange
// Online's, SharePoint Online's, or (every other one) Microsoft Graph's.
func permissionResource(p string) resourceKind {
	switch {
	case strings.EqualFold(p, PermExchangeManageAsApp), strings.EqualFold(p, PermExchangeFullAccessAsApp):
		return resExchange
	case strings.EqualFold(p, PermSitesFullControlAll):
		return resSharePoint
	}
	return resGraph
}

// rolesFor returns the permissions of perms that belong to a token's
// resource.
func rolesFor(perms []string, kind resourceKind) []string {
	var out []string
	for _, p := range perms {
		if permissionResource(p) == kind {
			out = append(out, p)
		}
	}
	return out
}

// impliedPermissions lists, for a permission, the others it includes
// beyond the general rule that "X.ReadWrite.Y" includes "X.Read.Y".
func impliedPermissions() map[string][]string {
	return map[string][]string{
		"directory.readwrite.all": {PermUserReadWriteAll, PermGroupReadWriteAll, PermGroupMemberReadWriteAll},
		"directory.read.all": {PermUserReadAll, PermGroupReadAll, PermGroupMemberReadAll, PermOrganizationReadAll,
			PermDomainReadAll, PermRoleManagementReadDirectory, PermApplicationReadAll},
		"group.readwrite.all":       {PermGroupMemberReadWriteAll},
		"group.read.all":            {PermGroupMemberReadAll},
		"mailboxsettings.readwrite": {PermMailboxSettingsRead},
		"mail.readwrite":            {PermMailRead},
		"mail.read":                 {PermMailReadBasicAll},
	}
}

// normalizePermissions trims and de-duplicates a permission list,
// keeping its order and spelling.
func normalizePermissions(perms []string) []string {
	out := make([]string, 0, len(perms))
	for _, p := range perms {
		p = strings.TrimSpace(p)
		if p != "" && !containsFold(out, p) {
			out = append(out, p)
		}
	}
	return out
}

// hasPermission reports whether granted includes need, directly or by
// implication.
func hasPermission(granted []string, need string) bool {
	seen := map[string]bool{}
	queue := slices.Clone(granted)
	for len(queue) > 0 {
		p := strings.ToLower(queue[0])
		queue = queue[1:]
		if seen[p] {
			continue
		}
		seen[p] = true
		if strings.EqualFold(p, need) {
			return true
		}
		if read := strings.Replace(p, ".readwrite.", ".read.", 1); read != p {
			queue = append(queue, read)
		}
		queue = append(queue, impliedPermissions()[p]...)
	}
	return false
}

// SetPermissions replaces the application permissions consented in a
// tenant (id or domain); nil restores DefaultPermissions(). Tokens issued
// afterwards carry the new set in their roles claim (Graph tokens the
// Graph permissions, Exchange tokens the Exchange ones); tokens issued
// earlier keep working, but every Graph request and every InvokeCommand
// is authorized against the tenant's current set. It panics if the
// tenant does not exist.
func (s *Server) SetPermissions(tenantIDOrDomain string, perms []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tenant(tenantIDOrDomain)
	if t == nil {
		panic(fmt.Sprintf("fakegraph: SetPermissions: no tenant %q", tenantIDOrDomain))
	}
	if perms == nil {
		t.permissions = DefaultPermissions()
		return
	}
	t.permissions = normalizePermissions(perms)
}

// Permissions returns the application permissions currently consented
// in a tenant (id or domain), or nil if there is no such tenant.
func (s *Server) Permissions(tenantIDOrDomain string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tenant(tenantIDOrDomain)
	if t == nil {
		return nil
	}
	return slices.Clone(t.permissions)
}

// accessDenied is Graph's answer when the app lacks a permission.
func accessDenied() *reply {
	return graphErr(http.StatusForbidden, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.")
}

// permit checks the call against its tenant's permissions; c.query and
// c.body must be parsed. s.mu must be held. Mailbox calls are refused
// the way Exchange refuses them.
func (s *Server) permit(c *call) *reply {
	if need, ok := exactPermissions(c); ok {
		if !grantsExactly(c.t.permissions, need) {
			return accessDenied()
		}
		return nil
	}
	anyOf := requiredPermissions(c)
	if len(anyOf) == 0 {
		return nil
	}
	for _, p := range anyOf {
		if hasPermission(c.t.permissions, p) {
			return roleAssignableMembershipDenied(c, c.t.permissions)
		}
	}
	if isMailboxCall(c) {
		return mailboxAccessDenied()
	}
	return accessDenied()
}

// isMailboxCall reports whether c is served by Exchange behind Graph
// (/users/{id}/mailFolders/...).
func isMailboxCall(c *call) bool {
	return c.seg(0) == "users" && len(c.segs) >= 3 && c.seg(2) == "mailfolders"
}

// requiredPermissions returns the permissions of which the app needs at
// least one for the call; nil means none (the service root, $batch
// itself, and paths the router rejects anyway).
func requiredPermissions(c *call) []string {
	n := len(c.segs)
	get := c.method == http.MethodGet
	switch c.seg(0) {
	case "users":
		switch {
		case isMailboxCall(c) && n >= 5 && c.seg(4) == "messagerules":
			if get {
				return []string{PermMailboxSettingsRead}
			}
			return []string{PermMailboxSettingsReadWrite}
		case isMailboxCall(c):
			if get {
				return []string{PermMailReadBasicAll}
			}
			return []string{PermMailReadWrite}
		case n >= 3 && c.seg(2) == "authentication":
			switch {
			case n >= 4 && c.seg(3) == "requirements":
				return []string{PermPolicyReadWriteAuthMethod}
			case get:
				return []string{PermUserAuthMethodReadAll}
			}
			return []string{PermUserAuthMethodReadWriteAll}
		case get:
			return []string{PermUserReadAll}
		case n == 2 && c.method == http.MethodPatch && onlyPasswordProfile(c.body):
			return []string{PermUserPasswordProfileReadWriteAll, PermUserReadWriteAll}
		case n >= 3 && (c.seg(2) == "revokesigninsessions" || c.seg(2) == "microsoft.graph.revokesigninsessions"):
			return []string{PermUserRevokeSessionsAll, PermUserReadWriteAll}
		case n >= 3 && (c.seg(2) == "assignlicense" || c.seg(2) == "microsoft.graph.assignlicense"):
			return []string{PermLicenseAssignmentReadWriteAll, PermUserReadWriteAll}
		}
		return []string{PermUserReadWriteAll}
	case "groups":
		switch {
		case n >= 4 && c.seg(2) == "members" && c.seg(n-1) == "$ref":
			return []string{PermGroupMemberReadWriteAll}
		case get:
			return []string{PermGroupMemberReadAll}
		}
		return []string{PermGroupReadWriteAll}
	case "directory":
		if get {
			return []string{PermUserReadAll}
		}
		return []string{PermUserReadWriteAll}
	case "directoryroles":
		return []string{PermRoleManagementReadDirectory}
	case "auditlogs":
		return []string{PermAuditLogReadAll}
	case "subscribedskus", "organization":
		return []string{PermOrganizationReadAll}
	case "domains":
		return []string{PermDomainReadAll}
	case "tenantrelationships":
		if get {
			return []string{PermDelegatedAdminRelReadAll}
		}
		return []string{PermDelegatedAdminRelReadWriteAll}
	case "serviceprincipals":
		if get {
			return []string{PermApplicationReadAll}
		}
		return []string{PermApplicationReadWriteAll}
	case "policies":
		// https://learn.microsoft.com/en-us/graph/api/tenantappmanagementpolicy-get
		return []string{PermPolicyReadAll, "Policy.Read.ApplicationConfiguration", "Policy.ReadWrite.ApplicationConfiguration"}
	}
	return nil
}

// onlyPasswordProfile reports whether a PATCH body sets passwordProfile
// and nothing else.
func onlyPasswordProfile(body []byte) bool {
	var m map[string]json.RawMessage
	if json.Unmarshal(body, &m) != nil {
		return false
	}
	_, ok := m["passwordProfile"]
	for k := range m {
		if k != "passwordProfile" && k != "@odata.type" {
			return false
		}
	}
	return ok
}
