package m365

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	abs "github.com/microsoft/kiota-abstractions-go"

	"github.com/cippbot/cippbot/actions"
)

// The reads a rehearsal makes beyond those the actions make: each only
// reads (a GET, or a Get-* cmdlet) or obtains a token without using it.

var _ actions.Rehearser = (*Directory)(nil)

// MFAServicePrincipal implements actions.Rehearser:
// GET /servicePrincipals?$filter=appId eq '981f26a1-…', the look-up
// SendMFAPush starts with, without adding what is missing
// (https://learn.microsoft.com/en-us/graph/api/serviceprincipal-list),
// and its accountEnabled: "true if the service principal account is
// enabled; otherwise, false"
// (https://learn.microsoft.com/en-us/graph/api/resources/serviceprincipal);
// a disabled one is refused tokens (AADSTS7000112, see postToken).
func (d *Directory) MFAServicePrincipal(ctx context.Context) (exists, enabled bool, err error) {
	var sps struct {
		Value []struct {
			ID             string `json:"id"`
			AccountEnabled *bool  `json:"accountEnabled"`
		} `json:"value"`
	}
	err = d.send(ctx, abs.GET, d.v1("/servicePrincipals", "$filter", "appId eq '"+mfaAppID+"'", "$select", "id,accountEnabled"), nil, &sps)
	if err != nil {
		return false, false, mapError(err, "the MFA service app")
	}
	if len(sps.Value) == 0 {
		return false, false, nil
	}
	e := sps.Value[0].AccountEnabled
	return true, e == nil || *e, nil
}

// PasswordCredentialsAllowed implements actions.Rehearser with
// GET /policies/defaultAppManagementPolicy
// (https://learn.microsoft.com/en-us/graph/api/tenantappmanagementpolicy-get,
// Policy.Read.All): an enabled policy whose servicePrincipalRestrictions
// hold an enabled passwordAddition restriction forbids secrets on
// service principals created after its restrictForAppsCreatedAfterDateTime
// (https://learn.microsoft.com/en-us/graph/api/resources/passwordcredentialconfiguration).
// v1.0 does not say when a service principal was created, so any such
// restriction counts as forbidding, and why names its date.
func (d *Directory) PasswordCredentialsAllowed(ctx context.Context) (bool, string, error) {
	var p struct {
		IsEnabled bool `json:"isEnabled"`
		SP        struct {
			Passwords []struct {
				Type  string     `json:"restrictionType"`
				State string     `json:"state"`
				Since *time.Time `json:"restrictForAppsCreatedAfterDateTime"`
			} `json:"passwordCredentials"`
		} `json:"servicePrincipalRestrictions"`
	}
	if err := d.send(ctx, abs.GET, d.v1("/policies/defaultAppManagementPolicy"), nil, &p); err != nil {
		return false, "", mapError(err, "the tenant's app management policy")
	}
	if !p.IsEnabled {
		return true, "", nil
	}
	for _, r := range p.SP.Passwords {
		if r.Type == "passwordAddition" && r.State == "enabled" {
			why := "passwordAddition"
			if r.Since != nil && !r.Since.IsZero() {
				why += " for apps added after " + r.Since.UTC().Format(time.DateOnly)
			}
			return false, why, nil
		}
	}
	return true, "", nil
}

// AutoReply implements actions.Rehearser with
// Get-MailboxAutoReplyConfiguration, anchored on the mailbox
// (https://learn.microsoft.com/powershell/module/exchangepowershell/get-mailboxautoreplyconfiguration).
func (d *Directory) AutoReply(ctx context.Context, userID string) (actions.AutoReply, error) {
	what := "user " + userID
	v, err := d.invokeOn(ctx, userID, "Get-MailboxAutoReplyConfiguration", map[string]any{"Identity": userID}, what)
	if err != nil {
		return actions.AutoReply{}, err
	}
	if len(v) == 0 {
		return actions.AutoReply{}, actions.Errorf(actions.ENOTFOUND, "%s has no Exchange mailbox (not licensed for Exchange?)", what)
	}
	var c struct {
		AutoReplyState  string
		InternalMessage string
	}
	if err := json.Unmarshal(v[0], &c); err != nil {
		return actions.AutoReply{}, &actions.Error{Code: actions.EINTERNAL, Message: "Exchange Online sent an auto-reply cippbot cannot read", Detail: err.Error()}
	}
	return actions.AutoReply{Enabled: !strings.EqualFold(c.AutoReplyState, "Disabled"), Message: c.InternalMessage}, nil
}

// SharePointAdmin implements actions.Rehearser: the admin site's address
// from GET /sites/root, and a token for it, which ProvisionOneDrive would
// send to its CSOM endpoint; the token is not used.
func (d *Directory) SharePointAdmin(ctx context.Context) (string, error) {
	name, err := d.sharePointName(ctx)
	if err != nil {
		return "", err
	}
	admin := "https://" + name + "-admin." + d.spSuffix
	if _, err := d.cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{admin + "/.default"}}); err != nil {
		err = mapError(err, "SharePoint admin token")
		var ae *actions.Error
		if errors.As(err, &ae) && strings.Contains(ae.Message, "AADSTS500011") {
			ae.Message = "Entra ID knows no SharePoint admin site " + admin + " in this tenant (AADSTS500011): does it have SharePoint Online?"
		}
		return "", err
	}
	return admin, nil
}

// ExchangeOrganization implements actions.Rehearser with
// Get-Mailbox -ResultSize 1, routed by the system mailbox as
// Add-DistributionGroupMember is (see invoke).
func (d *Directory) ExchangeOrganization(ctx context.Context) error {
	_, err := d.invoke(ctx, "Get-Mailbox", map[string]any{"ResultSize": 1}, "Exchange Online")
	return err
}
