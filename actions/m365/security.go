package m365

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	abs "github.com/microsoft/kiota-abstractions-go"
	"github.com/microsoftgraph/msgraph-sdk-go/auditlogs"
	"github.com/microsoftgraph/msgraph-sdk-go/models"

	"github.com/cippbot/cippbot/actions"
)

var _ actions.Security = (*Directory)(nil)

// microsoftTenants are the tenants that own Microsoft's own applications.
var microsoftTenants = []string{
	"f8cdef31-a31e-4b4a-93e4-5f571e91255a", // Microsoft Services
	"72f988bf-86f1-41af-91ab-2d7cd011db47", // Microsoft
}

// SignIns implements actions.Security: GET /auditLogs/signIns filtered on
// the user and the time, page after page until max.
func (d *Directory) SignIns(ctx context.Context, userID string, since time.Time, max int) ([]actions.SignIn, error) {
	what := "sign-ins of " + userID
	if max <= 0 {
		max = 1000
	}
	filter := fmt.Sprintf("userId eq '%s'", odataQuote(userID))
	if !since.IsZero() {
		filter += " and createdDateTime ge " + since.UTC().Format(time.RFC3339)
	}
	top := int32(min(max, 1000))
	r, err := d.client.AuditLogs().SignIns().Get(ctx, &auditlogs.SignInsRequestBuilderGetRequestConfiguration{
		QueryParameters: &auditlogs.SignInsRequestBuilderGetQueryParameters{Filter: &filter, Top: &top},
	})
	if err != nil {
		return nil, signInError(mapError(err, what))
	}
	var out []actions.SignIn
	err = iterate(ctx, d, r, models.CreateSignInCollectionResponseFromDiscriminatorValue, func(s models.SignInable) bool {
		out = append(out, *toSignIn(s))
		return len(out) < max
	})
	if err != nil {
		return nil, signInError(mapError(err, what))
	}
	slices.SortStableFunc(out, func(a, b actions.SignIn) int { return b.Time.Compare(a.Time) })
	return out, nil
}

// signInError explains the refusal of a tenant without Entra ID P1 to
// show sign-in logs through Graph.
func signInError(err error) error {
	var ae *actions.Error
	if errors.As(err, &ae) && (strings.Contains(ae.Detail, "NonPremiumTenant") || strings.Contains(strings.ToLower(ae.Detail), "premium license")) {
		ae.Code = actions.EFORBIDDEN
		ae.Message = "the tenant's sign-in logs need an Entra ID P1 or P2 licence to be read through Graph"
	}
	return err
}

// Audit activities that bring an application into a tenant
// (https://learn.microsoft.com/en-us/entra/identity/monitoring-health/reference-audit-activities,
// category ApplicationManagement).
const (
	activityAddServicePrincipal = "Add service principal"
	activityConsentToApp        = "Consent to application"
)

// directoryAudit is the part of a directory audit event NewApps reads.
type directoryAudit struct {
	Time     time.Time `json:"activityDateTime"`
	Activity string    `json:"activityDisplayName"`
	Result   string    `json:"result"`
	Targets  []struct {
		ID          string `json:"id"`
		DisplayName string `json:"displayName"`
		Type        string `json:"type"`
	} `json:"targetResources"`
}

// servicePrincipal is the part of an enterprise application NewApps
// reads.
type servicePrincipal struct {
	ID                string `json:"id"`
	AppID             string `json:"appId"`
	DisplayName       string `json:"displayName"`
	Owner             string `json:"appOwnerOrganizationId"`
	VerifiedPublisher *struct {
		DisplayName string `json:"displayName"`
	} `json:"verifiedPublisher"`
}

// NewApps implements actions.Security: the enterprise applications added
// to the tenant, or consented to, since the time. v1.0's servicePrincipal
// has no creation time, so they come from the directory audit log
// (https://learn.microsoft.com/en-us/graph/api/directoryaudit-list, which
// needs AuditLog.Read.All and Directory.Read.All): every page of
// GET /auditLogs/directoryAudits?$filter=activityDateTime ge {since} and
// (activityDisplayName eq 'Add service principal' or activityDisplayName
// eq 'Consent to application'), each app at its earliest such event. Each
// is then read, in $batch requests, for its owner and publisher
// (GET /servicePrincipals/{id}); one deleted since is left out. An app is
// foreign when another organization than the tenant or Microsoft owns
// it. The log reaches back 30 days at most (7 without Entra ID P1).
func (d *Directory) NewApps(ctx context.Context, since time.Time) ([]actions.App, error) {
	const what = "the tenant's new applications"
	own := d.tenantID
	if !guidRE.MatchString(own) {
		org, err := d.Organization(ctx)
		if err != nil {
			return nil, err
		}
		own = org.ID
	}
	filter := fmt.Sprintf("activityDateTime ge %s and (activityDisplayName eq '%s' or activityDisplayName eq '%s')",
		since.UTC().Format(time.RFC3339), activityAddServicePrincipal, activityConsentToApp)
	first := map[string]actions.App{} // by service principal object id
	var ids []string
	err := pages(ctx, d, d.v1("/auditLogs/directoryAudits", "$filter", filter), func(e directoryAudit) bool {
		if e.Time.Before(since) || e.Result != "" && !strings.EqualFold(e.Result, "success") {
			return true
		}
		for _, t := range e.Targets {
			if !strings.EqualFold(t.Type, "ServicePrincipal") || t.ID == "" {
				continue
			}
			a, seen := first[t.ID]
			if !seen {
				ids = append(ids, t.ID)
			}
			if !seen || e.Time.Before(a.Created) {
				first[t.ID] = actions.App{ID: t.ID, Name: t.DisplayName, Created: e.Time}
			}
		}
		return true
	})
	if err != nil {
		return nil, mapError(err, what)
	}
	reqs := make([]*abs.RequestInformation, len(ids))
	names := make([]string, len(ids))
	for i, id := range ids {
		ri, err := rawRequest(abs.GET, d.v1("/servicePrincipals/"+url.PathEscape(id), "$select", "id,appId,displayName,appOwnerOrganizationId,verifiedPublisher"), nil)
		if err != nil {
			return nil, mapError(err, what)
		}
		reqs[i], names[i] = ri, "application "+first[id].Name
	}
	var out []actions.App
	for i, r := range d.runBatch(ctx, reqs, names, nil) {
		a := first[ids[i]]
		if r.err != nil {
			if actions.ErrorCode(r.err) == actions.ENOTFOUND {
				d.log.DebugContext(ctx, "new application deleted since", "id", a.ID, "name", a.Name)
				continue
			}
			return nil, r.err
		}
		var sp servicePrincipal
		if err := json.Unmarshal(r.body, &sp); err != nil {
			return nil, mapError(err, names[i])
		}
		a.AppID = sp.AppID
		if sp.DisplayName != "" {
			a.Name = sp.DisplayName
		}
		a.Foreign = sp.Owner != "" && !strings.EqualFold(sp.Owner, own) && !slices.Contains(microsoftTenants, strings.ToLower(sp.Owner))
		if sp.VerifiedPublisher != nil {
			a.Publisher = sp.VerifiedPublisher.DisplayName
		}
		out = append(out, a)
	}
	slices.SortStableFunc(out, func(a, b actions.App) int { return b.Created.Compare(a.Created) })
	return out, nil
}
