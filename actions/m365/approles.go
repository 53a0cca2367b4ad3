package m365

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"slices"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"github.com/cippbot/cippbot/actions"
)

// AppRoles implements actions.Admin: the directory roles
// assigned, tenant wide, to cippbot's own service principal, which bound
// what its app-only calls may do. The service principal is found by the
// app's client id (the token's appid claim):
//
//	GET /servicePrincipals?$filter=appId eq '{client id}'&$select=id
//	GET /roleManagement/directory/roleAssignments?$filter=principalId eq '{id}'&$expand=roleDefinition
//
// (https://learn.microsoft.com/en-us/graph/api/serviceprincipal-list,
// https://learn.microsoft.com/en-us/graph/api/rbacapplication-list-roleassignments).
// When the first read is refused (it needs Application.Read.All), the
// token's oid claim, the object id of the service principal in an
// app-only token
// (https://learn.microsoft.com/en-us/entra/identity-platform/access-token-claims-reference),
// stands in.
func (d *Directory) AppRoles(ctx context.Context) ([]string, error) {
	claims, err := d.tokenIDs(ctx)
	if err != nil {
		return nil, err
	}
	id := ""
	if claims.AppID != "" {
		err := pages(ctx, d, d.v1("/servicePrincipals", "$filter", "appId eq '"+odataQuote(claims.AppID)+"'", "$select", "id"),
			func(sp struct {
				ID string `json:"id"`
			}) bool {
				id = sp.ID
				return false
			})
		if err != nil && actions.ErrorCode(mapError(err, "cippbot's service principal")) != actions.EFORBIDDEN {
			return nil, mapError(err, "cippbot's service principal")
		}
	}
	if id == "" {
		id = claims.OID
	}
	if id == "" {
		return nil, actions.Errorf(actions.ENOTFOUND, "cippbot's app has no service principal in this tenant")
	}
	var roles []string
	err = pages(ctx, d, d.v1("/roleManagement/directory/roleAssignments", "$filter", principalFilter(id), "$expand", "roleDefinition"),
		func(a struct {
			roleDoc
			DirectoryScopeID string `json:"directoryScopeId"`
		}) bool {
			if a.DirectoryScopeID == "/" {
				if name := a.held("", false).Name; !slices.Contains(roles, name) {
					roles = append(roles, name)
				}
			}
			return true
		})
	if err != nil {
		return nil, mapError(err, "cippbot's Entra roles")
	}
	slices.Sort(roles)
	return roles, nil
}

// tokenIDs are the claims of the app's Graph token that identify it.
type tokenIDs struct {
	AppID string `json:"appid"`
	OID   string `json:"oid"`
}

// tokenIDs reads the appid and oid claims of the app's Graph token.
func (d *Directory) tokenIDs(ctx context.Context) (tokenIDs, error) {
	tok, err := d.cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{d.scope}})
	if err != nil {
		return tokenIDs{}, mapError(err, "token")
	}
	parts := strings.Split(tok.Token, ".")
	var c tokenIDs
	if len(parts) != 3 {
		return c, actions.Errorf(actions.EINTERNAL, "the access token is not a JWT; cannot read the app's identity")
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil || json.Unmarshal(payload, &c) != nil {
		return c, actions.Errorf(actions.EINTERNAL, "cannot read the access token's claims")
	}
	return c, nil
}
