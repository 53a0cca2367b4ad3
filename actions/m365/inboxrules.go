package m365

import (
	"context"
	"encoding/json"
	"errors"
	"regexp"
	"slices"
	"strings"

	"github.com/cippbot/cippbot/actions"
)

// Inbox rules go through Exchange, not Graph: Graph's messageRules list
// the rules a user sees, while Get-InboxRule -IncludeHidden also shows
// the hidden rules an attacker leaves ("The IncludeHidden switch
// specifies whether to include hidden Inbox rules in the results",
// https://learn.microsoft.com/powershell/module/exchangepowershell/get-inboxrule).
// CIPP reads rules the same way, routed by the user's mailbox.

// exoRule is an inbox rule as Get-InboxRule returns it.
type exoRule struct {
	Identity              string
	Name                  string
	Enabled               bool
	ForwardTo             []string
	RedirectTo            []string
	ForwardAsAttachmentTo []string
	DeleteMessage         bool
	SoftDeleteMessage     bool
	MoveToFolder          *string
	MarkAsRead            bool
}

// exoRecipient matches the address in Exchange's rendering of a rule
// recipient, `"Name" [SMTP:addr]`.
var exoRecipient = regexp.MustCompile(`(?i)\[SMTP:([^\]]+)\]`)

// recipientAddress returns the SMTP address of a rule recipient, or its
// name for one Exchange names by legacy DN (a mailbox of the tenant).
func recipientAddress(s string) string {
	if m := exoRecipient.FindStringSubmatch(s); m != nil {
		return strings.TrimSpace(m[1])
	}
	name, _, _ := strings.Cut(s, "[")
	return strings.Trim(strings.TrimSpace(name), `"`)
}

// folderName returns the folder of a MailboxFolderIdParameter,
// "MailboxID:\ParentFolder[\SubFolder]": its last part.
func folderName(s string) string {
	if _, path, ok := strings.Cut(s, `:\`); ok {
		s = path
	}
	if i := strings.LastIndex(s, `\`); i >= 0 {
		s = s[i+1:]
	}
	return s
}

// InboxRules implements actions.Security:
// Get-InboxRule -Mailbox <user> -IncludeHidden.
func (d *Directory) InboxRules(ctx context.Context, userID string) ([]actions.InboxRule, error) {
	v, err := d.invokeOn(ctx, userID, "Get-InboxRule", map[string]any{"Mailbox": userID, "IncludeHidden": true}, "user "+userID)
	if err != nil {
		return nil, err
	}
	out := make([]actions.InboxRule, 0, len(v))
	for _, raw := range v {
		var r exoRule
		if err := json.Unmarshal(raw, &r); err != nil {
			return nil, &actions.Error{Code: actions.EINTERNAL, Message: "Exchange Online sent an inbox rule cippbot cannot read", Detail: err.Error()}
		}
		rule := actions.InboxRule{ID: r.Identity, Name: r.Name, Enabled: r.Enabled,
			Delete: r.DeleteMessage || r.SoftDeleteMessage, MarkRead: r.MarkAsRead}
		for _, list := range [][]string{r.ForwardTo, r.RedirectTo, r.ForwardAsAttachmentTo} {
			for _, rc := range list {
				if a := recipientAddress(rc); a != "" && !slices.Contains(rule.ForwardTo, a) {
					rule.ForwardTo = append(rule.ForwardTo, a)
				}
			}
		}
		if r.MoveToFolder != nil {
			rule.MoveTo = folderName(*r.MoveToFolder)
		}
		out = append(out, rule)
	}
	return out, nil
}

// DisableInboxRule implements actions.Security: Disable-InboxRule, which
// keeps the rule
// (https://learn.microsoft.com/powershell/module/exchangepowershell/disable-inboxrule).
func (d *Directory) DisableInboxRule(ctx context.Context, userID, ruleID string) error {
	_, err := d.invokeOn(ctx, userID, "Disable-InboxRule", map[string]any{"Identity": ruleID, "Mailbox": userID, "Confirm": false},
		"user "+userID)
	return ruleError(err, ruleID)
}

// DeleteInboxRule implements actions.Security: Remove-InboxRule
// (https://learn.microsoft.com/powershell/module/exchangepowershell/remove-inboxrule).
func (d *Directory) DeleteInboxRule(ctx context.Context, userID, ruleID string) error {
	_, err := d.invokeOn(ctx, userID, "Remove-InboxRule", map[string]any{"Identity": ruleID, "Mailbox": userID, "Confirm": false},
		"user "+userID)
	return ruleError(err, ruleID)
}

// ruleError says a rule is gone when Exchange found the mailbox but not
// the rule ("object '<rule>' couldn't be found").
func ruleError(err error, ruleID string) error {
	var ae *actions.Error
	if errors.As(err, &ae) && ae.Code == actions.ENOTFOUND && strings.Contains(ae.Detail, "'"+ruleID+"'") {
		ae.Message = "inbox rule " + ruleID + " is gone"
	}
	return err
}
