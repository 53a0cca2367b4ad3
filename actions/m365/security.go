package m365

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/microsoftgraph/msgraph-sdk-go/auditlogs"
	"github.com/microsoftgraph/msgraph-sdk-go/models"
	"github.com/microsoftgraph/msgraph-sdk-go/users"

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

// mailboxError explains Graph's refusal to reach a user's mailbox when
// there is none (MailboxNotEnabledForRESTAPI: unlicensed, inactive or on
// premises).
func mailboxError(err error, userID string) error {
	var ae *actions.Error
	if errors.As(err, &ae) && (strings.Contains(ae.Detail, "MailboxNotEnabledForRESTAPI") || strings.Contains(ae.Detail, "MailboxNotSupportedForRESTAPI")) {
		ae.Code = actions.ENOTFOUND
		ae.Message = fmt.Sprintf("user %s has no Exchange mailbox (not licensed for Exchange?)", userID)
	}
	return err
}

// InboxRules implements actions.Security:
// GET /users/{id}/mailFolders/inbox/messageRules, with the folders rules
// move mail to named from GET /users/{id}/mailFolders (hidden ones too).
func (d *Directory) InboxRules(ctx context.Context, userID string) ([]actions.InboxRule, error) {
	what := "inbox rules of " + userID
	user := d.client.Users().ByUserId(userID)
	r, err := user.MailFolders().ByMailFolderId("inbox").MessageRules().Get(ctx, nil)
	if err != nil {
		return nil, mailboxError(mapError(err, what), userID)
	}
	var out []actions.InboxRule
	folders := map[string]string{} // folder ID → display name, "" until known
	err = iterate(ctx, d, r, models.CreateMessageRuleCollectionResponseFromDiscriminatorValue, func(m models.MessageRuleable) bool {
		rule := actions.InboxRule{ID: deref(m.GetId()), Name: deref(m.GetDisplayName()), Enabled: m.GetIsEnabled() != nil && *m.GetIsEnabled()}
		if a := m.GetActions(); a != nil {
			for _, list := range [][]models.Recipientable{a.GetForwardTo(), a.GetRedirectTo(), a.GetForwardAsAttachmentTo()} {
				for _, rc := range list {
					if e := rc.GetEmailAddress(); e != nil {
						addr := deref(e.GetAddress())
						if addr == "" {
							addr = deref(e.GetName())
						}
						if addr != "" && !slices.Contains(rule.ForwardTo, addr) {
							rule.ForwardTo = append(rule.ForwardTo, addr)
						}
					}
				}
			}
			rule.Delete = isTrue(a.GetDelete()) || isTrue(a.GetPermanentDelete())
			rule.MarkRead = isTrue(a.GetMarkAsRead())
			if f := deref(a.GetMoveToFolder()); f != "" {
				rule.MoveTo = f // an ID until named below
				folders[f] = ""
			}
		}
		out = append(out, rule)
		return true
	})
	if err != nil {
		return nil, mailboxError(mapError(err, what), userID)
	}
	if len(folders) > 0 {
		d.folderNames(ctx, userID, folders)
		for i := range out {
			if out[i].MoveTo != "" {
				out[i].MoveTo = folders[out[i].MoveTo]
			}
		}
	}
	return out, nil
}

// folderNames fills in the display names of the mailbox folders whose IDs
// are the keys of names: the top-level folders in one call, any other
// folder on its own. A folder that cannot be read is "(unknown folder)".
func (d *Directory) folderNames(ctx context.Context, userID string, names map[string]string) {
	user := d.client.Users().ByUserId(userID)
	top, hidden := int32(250), "true"
	r, err := user.MailFolders().Get(ctx, &users.ItemMailFoldersRequestBuilderGetRequestConfiguration{
		QueryParameters: &users.ItemMailFoldersRequestBuilderGetQueryParameters{Top: &top, IncludeHiddenFolders: &hidden},
	})
	if err == nil {
		for _, f := range r.GetValue() {
			if _, ok := names[deref(f.GetId())]; ok {
				names[deref(f.GetId())] = deref(f.GetDisplayName())
			}
		}
	} else {
		d.log.DebugContext(ctx, "mail folders unreadable", "user", userID, "err", mapError(err, "mail folders"))
	}
	for id, name := range names {
		if name != "" {
			continue
		}
		f, err := user.MailFolders().ByMailFolderId(id).Get(ctx, &users.ItemMailFoldersMailFolderItemRequestBuilderGetRequestConfiguration{
			QueryParameters: &users.ItemMailFoldersMailFolderItemRequestBuilderGetQueryParameters{Select: []string{"id", "displayName"}},
		})
		if err != nil || deref(f.GetDisplayName()) == "" {
			names[id] = "(unknown folder)"
			continue
		}
		names[id] = deref(f.GetDisplayName())
	}
}

func isTrue(b *bool) bool { return b != nil && *b }

// DeleteInboxRule implements actions.Security:
// DELETE /users/{id}/mailFolders/inbox/messageRules/{ruleId}.
func (d *Directory) DeleteInboxRule(ctx context.Context, userID, ruleID string) error {
	err := d.client.Users().ByUserId(userID).MailFolders().ByMailFolderId("inbox").MessageRules().ByMessageRuleId(ruleID).Delete(ctx, nil)
	return mailboxError(mapError(err, "inbox rule "+ruleID+" of "+userID), userID)
}

// servicePrincipal is an enterprise application as Graph lists it;
// createdDateTime is not in the SDK's model.
type servicePrincipal struct {
	ID                string    `json:"id"`
	AppID             string    `json:"appId"`
	DisplayName       string    `json:"displayName"`
	PublisherName     string    `json:"publisherName"`
	Owner             string    `json:"appOwnerOrganizationId"`
	Created           time.Time `json:"createdDateTime"`
	VerifiedPublisher *struct {
		DisplayName string `json:"displayName"`
	} `json:"verifiedPublisher"`
}

// NewApps implements actions.Security: every page of
// GET /servicePrincipals?$filter=createdDateTime ge {since}. An app is
// foreign when another organization than the tenant or Microsoft owns it.
func (d *Directory) NewApps(ctx context.Context, since time.Time) ([]actions.App, error) {
	const what = "the tenant's applications"
	own := d.tenantID
	if !guidRE.MatchString(own) {
		org, err := d.Organization(ctx)
		if err != nil {
			return nil, err
		}
		own = org.ID
	}
	sel := "id,appId,displayName,publisherName,verifiedPublisher,appOwnerOrganizationId,createdDateTime"
	var out []actions.App
	undated := 0
	collect := func(sp servicePrincipal) bool {
		if sp.Created.IsZero() {
			undated++
			return true
		}
		if sp.Created.Before(since) {
			return true
		}
		a := actions.App{ID: sp.ID, AppID: sp.AppID, Name: sp.DisplayName, Created: sp.Created,
			Foreign: sp.Owner != "" && !strings.EqualFold(sp.Owner, own) && !slices.Contains(microsoftTenants, strings.ToLower(sp.Owner))}
		if sp.VerifiedPublisher != nil {
			a.Publisher = sp.VerifiedPublisher.DisplayName
		}
		out = append(out, a)
		return true
	}
	filter := "createdDateTime ge " + since.UTC().Format(time.RFC3339)
	err := pages(ctx, d, d.v1("/servicePrincipals", "$filter", filter, "$select", sel), collect)
	if actions.ErrorCode(mapError(err, what)) == actions.EINVALID {
		// Should the filter be refused, read them all and filter here.
		d.log.DebugContext(ctx, "servicePrincipals filter refused; filtering locally", "err", mapError(err, what))
		out, undated = nil, 0
		err = pages(ctx, d, d.v1("/servicePrincipals", "$select", sel, "$top", "999"), collect)
	}
	if err != nil {
		return nil, mapError(err, what)
	}
	if undated > 0 {
		d.log.DebugContext(ctx, "service principals without createdDateTime left out", "count", undated)
	}
	slices.SortStableFunc(out, func(a, b actions.App) int { return b.Created.Compare(a.Created) })
	return out, nil
}
