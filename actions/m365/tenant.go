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
// the app's access token for the tenant (the scp claim of a delegated
// one): what was consented, exactly.
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
		// Scp holds a delegated token's permissions (GDAP mode),
		// space-separated (access-token-claims-reference).
		Scp string `json:"scp"`
	}
	if err := json.Unmarshal(payload, &claims); err != nil {
		return nil, actions.Errorf(actions.EINTERNAL, "cannot read the access token's claims")
	}
	return append(claims.Roles, strings.Fields(claims.Scp)...), nil
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
	rels := map[string][]string{} // the relationships of each customer
	err = it.Iterate(ctx, func(rel models.DelegatedAdminRelationshipable) bool {
		c := rel.GetCustomer()
		if c == nil || deref(c.GetTenantId()) == "" {
			return true
		}
		id := deref(c.GetTenantId())
		rels[id] = append(rels[id], deref(rel.GetId()))
		if seen[id] {
			return true
		}
		seen[id] = true
		out = append(out, actions.Customer{TenantID: id, Name: deref(c.GetDisplayName())})
		return true
	})
	if err != nil {
		return nil, mapError(err, "GDAP relationships")
	}
	for i := range out {
		for _, rel := range rels[out[i].TenantID] {
			as, err := d.accessAssignments(ctx, rel)
			if err != nil {
				out[i].AccessErr = err
				continue
			}
			out[i].Access = append(out[i].Access, as...)
		}
	}
	return out, nil
}

// accessAssignments reads the active access assignments of a GDAP
// relationship: each security group of the partner and the role template
// ids it holds
// (https://learn.microsoft.com/en-us/graph/api/delegatedadminrelationship-list-accessassignments,
// the shape of https://learn.microsoft.com/en-us/graph/api/resources/delegatedadminaccessassignment).
func (d *Directory) accessAssignments(ctx context.Context, relID string) ([]actions.AccessAssignment, error) {
	what := "the access assignments of GDAP relationship " + relID
	r, err := d.client.TenantRelationships().DelegatedAdminRelationships().ByDelegatedAdminRelationshipId(relID).AccessAssignments().Get(ctx, nil)
	if err != nil {
		return nil, mapError(err, what)
	}
	it, err := msgraphgocore.NewPageIterator[models.DelegatedAdminAccessAssignmentable](r, d.adapter,
		models.CreateDelegatedAdminAccessAssignmentCollectionResponseFromDiscriminatorValue)
	if err != nil {
		return nil, mapError(err, what)
	}
	var out []actions.AccessAssignment
	err = it.Iterate(ctx, func(a models.DelegatedAdminAccessAssignmentable) bool {
		if st := a.GetStatus(); st == nil || *st != models.ACTIVE_DELEGATEDADMINACCESSASSIGNMENTSTATUS {
			return true
		}
		c := a.GetAccessContainer()
		if c == nil || deref(c.GetAccessContainerId()) == "" {
			return true
		}
		as := actions.AccessAssignment{Relationship: relID, GroupID: strings.ToLower(deref(c.GetAccessContainerId()))}
		if det := a.GetAccessDetails(); det != nil {
			for _, role := range det.GetUnifiedRoles() {
				if id := deref(role.GetRoleDefinitionId()); id != "" {
					as.RoleIDs = append(as.RoleIDs, strings.ToLower(id))
				}
			}
		}
		out = append(out, as)
		return true
	})
	if err != nil {
		return nil, mapError(err, what)
	}
	return out, nil
}

// SignedInGroups implements actions.Admin: for a delegated token (idtyp
// "user", access-token-claims-reference) the security groups its user
// (oid) is a member of, transitively, as CIPP's GDAP check reads them
// (https://learn.microsoft.com/en-us/graph/api/user-list-transitivememberof).
func (d *Directory) SignedInGroups(ctx context.Context) ([]string, bool, error) {
	tok, err := d.cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{d.scope}})
	if err != nil {
		return nil, false, mapError(err, "token")
	}
	var claims struct {
		OID   string `json:"oid"`
		IDTyp string `json:"idtyp"`
		Scp   string `json:"scp"`
	}
	if parts := strings.Split(tok.Token, "."); len(parts) == 3 {
		if payload, err := base64.RawURLEncoding.DecodeString(parts[1]); err == nil {
			_ = json.Unmarshal(payload, &claims)
		}
	}
	if claims.IDTyp != "user" && claims.Scp == "" || claims.OID == "" {
		return nil, false, nil
	}
	what := "the service account's groups"
	r, err := d.client.Users().ByUserId(claims.OID).TransitiveMemberOf().Get(ctx, nil)
	if err != nil {
		return nil, true, mapError(err, what)
	}
	it, err := msgraphgocore.NewPageIterator[models.DirectoryObjectable](r, d.adapter,
		models.CreateDirectoryObjectCollectionResponseFromDiscriminatorValue)
	if err != nil {
		return nil, true, mapError(err, what)
	}
	ids := []string{}
	err = it.Iterate(ctx, func(o models.DirectoryObjectable) bool {
		if g, ok := o.(models.Groupable); ok && g.GetSecurityEnabled() != nil && *g.GetSecurityEnabled() {
			ids = append(ids, strings.ToLower(deref(g.GetId())))
		}
		return true
	})
	if err != nil {
		return nil, true, mapError(err, what)
	}
	slices.Sort(ids)
	return ids, true, nil
}
