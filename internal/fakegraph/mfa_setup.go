package fakegraph

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// What send-mfa-push meets in a tenant beyond the MFA client's secret: the
// service principal of the Azure Multi-Factor Auth Client may be missing
// (an app may create it), the tenant's default app management policy may
// forbid adding password credentials, and the MFA notification service's
// own service principal may be disabled.

// mfaSetup is that state of one tenant.
type mfaSetup struct {
	// restrictPasswords is the default app management policy enabled with
	// a passwordAddition restriction on service principals, for those
	// created after restrictSince.
	restrictPasswords bool
	restrictSince     time.Time
	// connectorDisabled turns off the MFA notification service's
	// service principal: tokens for MFAResource are refused.
	connectorDisabled bool
}

// createServicePrincipal serves POST /servicePrincipals: the service
// principal of an application, named by appId, the one required property
// (https://learn.microsoft.com/en-us/graph/api/serviceprincipal-post-serviceprincipals).
// Only Microsoft's first-party applications the server knows can be
// added; an appId naming no application is refused.
func (s *Server) createServicePrincipal(c *call) *reply {
	body, rep := decodeObject(c.body)
	if rep != nil {
		return rep
	}
	var appID string
	for k, v := range body {
		switch k {
		case "@odata.type":
		case "appId":
			if json.Unmarshal(v, &appID) != nil {
				return invalidValue(k, "ServicePrincipal")
			}
		default:
			return badRequest("Invalid property '%s'.", k)
		}
	}
	if appID == "" {
		return badRequest("Property 'appId' is required.")
	}
	if c.t.servicePrincipalByApp(appID) != nil {
		return badRequest("Another object with the same value for property servicePrincipalNames already exists.")
	}
	var name string
	for _, sp := range DefaultServicePrincipals() {
		if strings.EqualFold(sp.AppID, appID) {
			name = sp.DisplayName
		}
	}
	if name == "" {
		return badRequest("The appId '%s' of the service principal does not reference a valid application object.", appID)
	}
	sp := &ServicePrincipal{ID: newGUID(), AppID: strings.ToLower(appID), DisplayName: name, AppOwnerOrganizationID: MicrosoftTenantID,
		PublisherName: "Microsoft Services", SignInAudience: "AzureADMultipleOrgs", ServicePrincipalType: "Application",
		CreatedDateTime: c.now}
	c.t.servicePrincipals = append(c.t.servicePrincipals, sp)
	return &reply{status: http.StatusCreated,
		body: servicePrincipalObj(sp).prepend("@odata.context", c.context("servicePrincipals/$entity"))}
}

// passwordAdditionRefused answers addPassword on a service principal the
// default app management policy covers with a passwordAddition
// restriction: "restrictForAppsCreatedAfterDateTime: Specifies the date
// from which the policy restriction applies to newly created applications"
// (https://learn.microsoft.com/en-us/graph/api/resources/passwordcredentialconfiguration).
// The docs give no error text; this one is ours.
func passwordAdditionRefused(c *call, sp *ServicePrincipal) *reply {
	m := c.t.mfa
	if !m.restrictPasswords || sp.CreatedDateTime.Before(m.restrictSince) {
		return nil
	}
	return badRequest("Password credentials cannot be added: the tenant's app management policy restricts passwordAddition for service principals.")
}

// routePolicies serves GET /policies/defaultAppManagementPolicy
// (https://learn.microsoft.com/en-us/graph/api/tenantappmanagementpolicy-get).
func (s *Server) routePolicies(c *call) *reply {
	if len(c.segs) != 2 || c.seg(1) != "defaultappmanagementpolicy" {
		if len(c.segs) < 2 {
			return segmentNotFound(c.segs[0])
		}
		return segmentNotFound(c.segs[1])
	}
	if c.method != http.MethodGet {
		return methodNotAllowed()
	}
	m := c.t.mfa
	restrictions := []any{}
	if m.restrictPasswords {
		restrictions = append(restrictions, obj{{"restrictionType", "passwordAddition"}, {"state", "enabled"},
			{"maxLifetime", nil}, {"restrictForAppsCreatedAfterDateTime", formatTime(m.restrictSince)}})
	}
	return okReply(obj{
		{"@odata.context", c.context("policies/defaultAppManagementPolicy/$entity")},
		{"id", "00000000-0000-0000-0000-000000000000"},
		{"displayName", "Default app management tenant policy"},
		{"description", "Default tenant policy that enforces app management restrictions on applications and service principals."},
		{"isEnabled", m.restrictPasswords},
		{"applicationRestrictions", obj{{"passwordCredentials", []any{}}, {"keyCredentials", []any{}}}},
		{"servicePrincipalRestrictions", obj{{"passwordCredentials", restrictions}, {"keyCredentials", []any{}}}},
	})
}

// SetPasswordAdditionRestricted turns the default app management
// policy's passwordAddition restriction for service principals on or off
// in a tenant (ID or domain), for service principals created after since.
func (s *Server) SetPasswordAdditionRestricted(tenantIDOrDomain string, on bool, since time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tenant(tenantIDOrDomain)
	if t == nil {
		panic(fmt.Sprintf("fakegraph: SetPasswordAdditionRestricted: no tenant %q", tenantIDOrDomain))
	}
	t.mfa.restrictPasswords, t.mfa.restrictSince = on, since.UTC()
}

// SetMFAConnectorDisabled disables (or enables) the MFA notification
// service's service principal in a tenant (ID or domain): the token
// endpoint then refuses MFAResource with AADSTS500014.
func (s *Server) SetMFAConnectorDisabled(tenantIDOrDomain string, disabled bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tenant(tenantIDOrDomain)
	if t == nil {
		panic(fmt.Sprintf("fakegraph: SetMFAConnectorDisabled: no tenant %q", tenantIDOrDomain))
	}
	t.mfa.connectorDisabled = disabled
}

// RemoveServicePrincipal deletes a tenant's service principal of an
// application, as if the tenant never had it.
func (s *Server) RemoveServicePrincipal(tenantIDOrDomain, appID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tenant(tenantIDOrDomain)
	if t == nil {
		panic(fmt.Sprintf("fakegraph: RemoveServicePrincipal: no tenant %q", tenantIDOrDomain))
	}
	for i, sp := range t.servicePrincipals {
		if strings.EqualFold(sp.AppID, appID) {
			t.servicePrincipals = append(t.servicePrincipals[:i], t.servicePrincipals[i+1:]...)
			return
		}
	}
}

// connectorDisabledError is Entra's AADSTS500014 for a resource whose
// service principal is disabled: "The service principal for resource
// '{resource}' is disabled. This indicate that a subscription within the
// tenant has lapsed, or that the administrator for this tenant has
// disabled the application, preventing tokens from being issued for it."
func (s *Server) connectorDisabled(w http.ResponseWriter, r *http.Request, tenantID, resource string) bool {
	s.mu.Lock()
	t := s.tenants[tenantID]
	disabled := t != nil && t.mfa.connectorDisabled
	s.mu.Unlock()
	if !disabled {
		return false
	}
	s.writeIdentityError(w, r, http.StatusBadRequest, "invalid_resource", 500014,
		fmt.Sprintf("AADSTS500014: The service principal for resource '%s' is disabled. This indicate that a subscription within the tenant has lapsed, or that the administrator for this tenant has disabled the application, preventing tokens from being issued for it.", resource))
	return true
}
