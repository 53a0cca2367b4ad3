package fakegraph

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Application ids of Microsoft's first-party applications that every
// seeded tenant holds a service principal of (see
// DefaultServicePrincipals).
const (
	// MFAAppID is the "Azure Multi-Factor Auth Client", whose secrets
	// (added with addPassword) get tokens for the legacy MFA
	// notification service (MFAResource).
	MFAAppID = "981f26a1-7f43-403b-a875-f8b09b8cd720"
	// ExchangeAppID is "Office 365 Exchange Online".
	ExchangeAppID = "00000002-0000-0ff1-ce00-000000000000"
	// GraphAppID is "Microsoft Graph".
	GraphAppID = "00000003-0000-0000-c000-000000000000"
)

// MicrosoftTenantID is the tenant that owns Microsoft's first-party
// applications ("Microsoft Services"), their appOwnerOrganizationId.
const MicrosoftTenantID = "f8cdef31-a31e-4b4a-93e4-5f571e91255a"

// ServicePrincipal is an enterprise application of a tenant, as seed data
// (TenantSeed.ServicePrincipals).
type ServicePrincipal struct {
	// ID is the object id; a stable one is derived from the tenant and
	// AppID when empty.
	ID string
	// AppID is the application (client) id; it is unique in a tenant.
	AppID string
	// DisplayName is the application's name.
	DisplayName string
	// CreatedDateTime is when the app was added to the tenant;
	// CreatedAgo, when CreatedDateTime is zero, places it this long
	// before the server's clock. With neither, it is the tenant's
	// creation time. v1.0's servicePrincipal has no createdDateTime: the
	// time is served as the "Add service principal" event of the
	// directory audit log (audits.go).
	CreatedDateTime time.Time
	CreatedAgo      time.Duration
	// AddedBy is the user (id or user principal name) who added the app
	// by consenting to it, "" when the organization added it; the audit
	// log then shows their "Consent to application" event as well.
	AddedBy string
	// AppOwnerOrganizationID is the tenant that registered the app.
	AppOwnerOrganizationID string
	// PublisherName is the publisher's tenant name, "" if unknown. It is
	// seed data only: v1.0's servicePrincipal has no publisherName, so it
	// is not served.
	PublisherName string
	// VerifiedPublisher is the display name of the app's verified
	// publisher, "" for none.
	VerifiedPublisher string
	// Disabled turns the service principal off (accountEnabled false).
	Disabled bool
	// ServicePrincipalType defaults to "Application".
	ServicePrincipalType string
	// SignInAudience defaults to "AzureADMultipleOrgs".
	SignInAudience string

	// passwords are the secrets added with addPassword.
	passwords []passwordCredential
}

// passwordCredential is one client secret of a service principal.
type passwordCredential struct {
	keyID       string
	displayName string
	secret      string
	start, end  time.Time
}

// live reports whether the secret can be used at now.
func (p passwordCredential) live(now time.Time) bool {
	return !now.Before(p.start) && now.Before(p.end)
}

// DefaultServicePrincipals returns the first-party applications a tenant
// holds when its seed leaves ServicePrincipals nil: the Azure
// Multi-Factor Auth Client, Office 365 Exchange Online and Microsoft
// Graph.
func DefaultServicePrincipals() []ServicePrincipal {
	ms := func(appID, name string) ServicePrincipal {
		return ServicePrincipal{AppID: appID, DisplayName: name, AppOwnerOrganizationID: MicrosoftTenantID,
			PublisherName: "Microsoft Services", SignInAudience: "AzureADMultipleOrgs"}
	}
	return []ServicePrincipal{
		ms(MFAAppID, "Azure Multi-Factor Auth Client"),
		ms(ExchangeAppID, "Office 365 Exchange Online"),
		ms(GraphAppID, "Microsoft Graph"),
	}
}

// buildServicePrincipals validates seeded service principals and fills
// in their defaults; nil means DefaultServicePrincipals().
func buildServicePrincipals(tenantID string, seeds []ServicePrincipal, created, now time.Time) ([]*ServicePrincipal, error) {
	if seeds == nil {
		seeds = DefaultServicePrincipals()
	}
	var out []*ServicePrincipal
	for i := range seeds {
		sp := seeds[i]
		sp.passwords = nil
		if !isGUID(sp.AppID) {
			return nil, fmt.Errorf("tenant: service principal %q: app id %q is not a GUID", sp.DisplayName, sp.AppID)
		}
		sp.AppID = strings.ToLower(sp.AppID)
		if sp.ID == "" {
			sp.ID = stableGUID(tenantID, "servicePrincipal", sp.AppID)
		}
		if !isGUID(sp.ID) {
			return nil, fmt.Errorf("tenant: service principal %q: id %q is not a GUID", sp.DisplayName, sp.ID)
		}
		sp.ID = strings.ToLower(sp.ID)
		if sp.AppOwnerOrganizationID != "" && !isGUID(sp.AppOwnerOrganizationID) {
			return nil, fmt.Errorf("tenant: service principal %q: owner %q is not a GUID", sp.DisplayName, sp.AppOwnerOrganizationID)
		}
		if slices.ContainsFunc(out, func(o *ServicePrincipal) bool { return o.ID == sp.ID || o.AppID == sp.AppID }) {
			return nil, fmt.Errorf("tenant: service principal %q: duplicate id or app id", sp.DisplayName)
		}
		if sp.CreatedDateTime.IsZero() && sp.CreatedAgo > 0 {
			sp.CreatedDateTime = now.Add(-sp.CreatedAgo).Truncate(time.Second)
		}
		if sp.CreatedDateTime.IsZero() {
			sp.CreatedDateTime = created
		}
		if sp.ServicePrincipalType == "" {
			sp.ServicePrincipalType = "Application"
		}
		if sp.SignInAudience == "" {
			sp.SignInAudience = "AzureADMultipleOrgs"
		}
		out = append(out, &sp)
	}
	return out, nil
}

// servicePrincipal finds a service principal by object id.
func (t *tenant) servicePrincipal(id string) *ServicePrincipal {
	for _, sp := range t.servicePrincipals {
		if strings.EqualFold(sp.ID, id) {
			return sp
		}
	}
	return nil
}

// servicePrincipalByApp finds a service principal by application id.
func (t *tenant) servicePrincipalByApp(appID string) *ServicePrincipal {
	for _, sp := range t.servicePrincipals {
		if strings.EqualFold(sp.AppID, appID) {
			return sp
		}
	}
	return nil
}

// ServicePrincipals returns copies of a tenant's (id or domain) service
// principals, without their secrets; nil if there is no such tenant.
func (s *Server) ServicePrincipals(tenantIDOrDomain string) []ServicePrincipal {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tenant(tenantIDOrDomain)
	if t == nil {
		return nil
	}
	out := make([]ServicePrincipal, 0, len(t.servicePrincipals))
	for _, sp := range t.servicePrincipals {
		c := *sp
		c.passwords = nil
		out = append(out, c)
	}
	return out
}

// ServicePrincipalSecrets returns how many live client secrets (added
// with addPassword, not removed, started and not expired by the
// server's clock) the service principal of appID has in a tenant (id or
// domain); 0 when there is no such tenant or app.
func (s *Server) ServicePrincipalSecrets(tenantIDOrDomain, appID string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tenant(tenantIDOrDomain)
	if t == nil {
		return 0
	}
	sp := t.servicePrincipalByApp(appID)
	if sp == nil {
		return 0
	}
	now, n := s.now(), 0
	for _, p := range sp.passwords {
		if p.live(now) {
			n++
		}
	}
	return n
}
