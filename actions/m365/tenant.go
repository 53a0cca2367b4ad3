package m365

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	msgraphgocore "github.com/microsoftgraph/msgraph-sdk-go-core"
	"github.com/microsoftgraph/msgraph-sdk-go/models"
	"github.com/microsoftgraph/msgraph-sdk-go/tenantrelationships"
	"github.com/microsoftgraph/msgraph-sdk-go/users"

	"github.com/cippbot/cippbot/actions"
)

// FindUsers implements actions.Users.
func (d *Directory) FindUsers(ctx context.Context, name string, max int) ([]actions.User, error) {
	q := odataQuote(name)
	filter := fmt.Sprintf("mailNickname eq '%s' or startswith(userPrincipalName,'%s') or startswith(displayName,'%s')", q, q, q)
	top := int32(max)
	r, err := d.client.Users().Get(ctx, &users.UsersRequestBuilderGetRequestConfiguration{
		QueryParameters: &users.UsersRequestBuilderGetQueryParameters{Filter: &filter, Select: userSelect, Top: &top},
	})
	if err != nil {
		return nil, mapError(err, "users named "+name)
	}
	var out []actions.User
	for _, u := range r.GetValue() {
		out = append(out, toUser(u))
	}
	return out, nil
}

// Organization implements actions.Org.
func (d *Directory) Organization(ctx context.Context) (actions.TenantInfo, error) {
	r, err := d.client.Organization().Get(ctx, nil)
	if err != nil {
		return actions.TenantInfo{}, mapError(err, "the tenant's organization")
	}
	orgs := r.GetValue()
	if len(orgs) == 0 {
		return actions.TenantInfo{}, actions.Errorf(actions.ENOTFOUND, "the tenant has no organization record")
	}
	o := orgs[0]
	info := actions.TenantInfo{ID: deref(o.GetId()), Name: deref(o.GetDisplayName()), Country: deref(o.GetCountryLetterCode())}
	for _, vd := range o.GetVerifiedDomains() {
		name := deref(vd.GetName())
		if vd.GetIsDefault() != nil && *vd.GetIsDefault() {
			info.DefaultDomain = name
			info.Domains = append([]string{name}, info.Domains...)
			continue
		}
		info.Domains = append(info.Domains, name)
	}
	if info.DefaultDomain == "" && len(info.Domains) > 0 {
		info.DefaultDomain = info.Domains[0]
	}
	return info, nil
}

// Permissions implements actions.Admin by reading the roles claim of
// the app's access token for the tenant: what was consented, exactly.
func (d *Directory) Permissions(ctx context.Context) ([]string, error) {
	roles, err := d.tokenRoles(ctx, d.scope)
	if err != nil {
		return nil, err
	}
	// A token holds only its own resource's roles: Exchange's
	// (Exchange.ManageAsApp) come with an Exchange token. Without one,
	// the mailbox actions are reported as missing it.
	// Likewise SharePoint's (Sites.FullControl.All, for OneDrive
	// provisioning) come with a token for the tenant's admin site.
	extra := []string{d.exoScope}
	if name, err := d.sharePointName(ctx); err == nil {
		extra = append(extra, "https://"+name+"-admin."+d.spSuffix+"/.default")
	}
	for _, scope := range extra {
		more, err := d.tokenRoles(ctx, scope)
		if err != nil {
			continue
		}
		for _, r := range more {
			if !slices.Contains(roles, r) {
				roles = append(roles, r)
			}
		}
	}
	slices.Sort(roles)
	return roles, nil
}

// tokenRoles returns the roles claim of the app's token for scope.
func (d *Directory) tokenRoles(ctx context.Context, scope string) ([]string, error) {
	tok, err := d.cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{scope}})
	if err != nil {
		return nil, mapError(err, "token")
	}
	parts := strings.Split(tok.Token, ".")
	if len(parts) != 3 {
		return nil, actions.Errorf(actions.EINTERNAL, "the access token is not a JWT; cannot read its permissions")
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return nil, actions.Errorf(actions.EINTERNAL, "cannot decode the access token")
	}
	var claims struct {
		Roles []string `json:"roles"`
	}
	if err := json.Unmarshal(payload, &claims); err != nil {
		return nil, actions.Errorf(actions.EINTERNAL, "cannot read the access token's claims")
	}
	return claims.Roles, nil
}

// Customers implements actions.Admin: active GDAP relationships, all
// pages, one entry per customer tenant.
func (d *Directory) Customers(ctx context.Context) ([]actions.Customer, error) {
	filter := "status eq 'active'"
	r, err := d.client.TenantRelationships().DelegatedAdminRelationships().Get(ctx,
		&tenantrelationships.DelegatedAdminRelationshipsRequestBuilderGetRequestConfiguration{
			QueryParameters: &tenantrelationships.DelegatedAdminRelationshipsRequestBuilderGetQueryParameters{Filter: &filter},
		})
	if err != nil {
		return nil, mapError(err, "GDAP relationships")
	}
	it, err := msgraphgocore.NewPageIterator[models.DelegatedAdminRelationshipable](r, d.adapter,
		models.CreateDelegatedAdminRelationshipCollectionResponseFromDiscriminatorValue)
	if err != nil {
		return nil, mapError(err, "GDAP relationships")
	}
	seen := map[string]bool{}
	var out []actions.Customer
	err = it.Iterate(ctx, func(rel models.DelegatedAdminRelationshipable) bool {
		c := rel.GetCustomer()
		if c == nil || deref(c.GetTenantId()) == "" || seen[deref(c.GetTenantId())] {
			return true
		}
		seen[deref(c.GetTenantId())] = true
		out = append(out, actions.Customer{TenantID: deref(c.GetTenantId()), Name: deref(c.GetDisplayName())})
		return true
	})
	if err != nil {
		return nil, mapError(err, "GDAP relationships")
	}
	return out, nil
}
