package fakegraph

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// Inbox rules and regional settings through Exchange's cmdlets:
//
//	Get-InboxRule -Mailbox <m> [-Identity <rule>] [-IncludeHidden]
//	Disable-InboxRule / Enable-InboxRule / Remove-InboxRule -Identity <rule> [-Mailbox <m>]
//	Get-MailboxRegionalConfiguration -Identity <m>
//
// A rule is named by its Name, its RuleIdentity or, in Exchange
// Online, "MailboxAlias\RuleIdentity"
// (https://learn.microsoft.com/powershell/module/exchangepowershell/get-inboxrule,
// .../disable-inboxrule, .../remove-inboxrule). RuleIdentity is the
// rule's 8-byte id, whose base64 is Graph's messageRule id, read as a
// little-endian number: the documentation's example 16752869479666417665
// is 0xE87E260800000001, the bytes 01 00 00 00 08 26 7E E8 of a Graph id
// "AQAAAAgmfug=". Get-InboxRule leaves hidden rules out unless
// -IncludeHidden is given ("The IncludeHidden switch specifies whether
// to include hidden Inbox rules in the results"); the other cmdlets
// find them by identity.

// exAmbiguous is the exception of an identity that names several objects.
const exAmbiguous = "Microsoft.Exchange.Configuration.Tasks.ManagementObjectAmbiguousException"

// ruleIdentity is the RuleIdentity of r: its id's 8 bytes as a
// little-endian number, or a stable number for an id of another shape.
func ruleIdentity(r InboxRule) uint64 {
	if raw, err := base64.StdEncoding.DecodeString(r.ID); err == nil && len(raw) == 8 {
		return binary.LittleEndian.Uint64(raw)
	}
	sum := sha256.Sum256([]byte("rule\x00" + r.ID))
	return binary.LittleEndian.Uint64(sum[:8])
}

// ruleExoIdentity is the Identity Exchange Online shows for a rule.
func ruleExoIdentity(u *User, r InboxRule) string {
	return u.MailNickname + `\` + strconv.FormatUint(ruleIdentity(r), 10)
}

// ruleMailbox resolves the mailbox of a rule cmdlet: the Mailbox
// parameter or, without it, the mailbox part of an Identity
// "MailboxAlias\RuleIdentity".
func (c *exoCall) ruleMailbox(identity string) (*User, *exoFailure) {
	m, present, null, f := c.str("Mailbox")
	switch {
	case f != nil:
		return nil, f
	case present && (null || strings.TrimSpace(m) == ""):
		return nil, bindingError("Cannot bind argument to parameter 'Mailbox' because it is an empty string.")
	case present:
		u := c.t.exoMailbox(strings.TrimSpace(m))
		if u == nil {
			return nil, recipientNotFound(m)
		}
		c.target = u
		return u, nil
	}
	if owner, _, ok := strings.Cut(identity, `\`); ok {
		if u := c.t.exoMailbox(owner); u != nil {
			c.target = u
			return u, nil
		}
		return nil, objectNotFound(identity)
	}
	// An app has no mailbox of its own to default to.
	return nil, bindingError("Cannot process command because of one or more missing mandatory parameters: Mailbox.")
}

// findRule returns the index in u.InboxRules of the rule identity names.
func (c *exoCall) findRule(u *User, identity string, includeHidden bool) (int, *exoFailure) {
	id := strings.TrimSpace(identity)
	if owner, rest, ok := strings.Cut(id, `\`); ok {
		if c.t.exoMailbox(owner) != u {
			return -1, objectNotFound(identity)
		}
		id = rest
	}
	found := -1
	for i, r := range u.InboxRules {
		if r.Hidden && !includeHidden {
			continue
		}
		if strconv.FormatUint(ruleIdentity(r), 10) == id {
			return i, nil
		}
		if strings.EqualFold(r.DisplayName, id) {
			if found >= 0 {
				return -1, cmdletError(http.StatusBadRequest, exAmbiguous,
					"The operation couldn't be performed because '%s' matches multiple entries.", identity)
			}
			found = i
		}
	}
	if found < 0 {
		return -1, objectNotFound(identity)
	}
	return found, nil
}

// exoRecipients renders rule recipients as Get-InboxRule does: a
// mailbox of the tenant by its display name and legacy Exchange DN,
// any other address by itself.
func (t *tenant) exoRecipients(addrs []string) any {
	if len(addrs) == 0 {
		return nil
	}
	out := make([]string, 0, len(addrs))
	for _, a := range addrs {
		if u := t.exoMailbox(a); u != nil {
			sum := sha256.Sum256([]byte(t.id + "\x00legacyDN\x00" + u.ID))
			out = append(out, `"`+u.DisplayName+`" [EX:/o=ExchangeLabs/ou=Exchange Administrative Group (FYDIBOHF23SPDLT)/cn=Recipients/cn=`+
				strings.ToLower(base64.RawURLEncoding.EncodeToString(sum[:12]))+"-"+u.MailNickname+"]")
			continue
		}
		out = append(out, `"`+a+`" [SMTP:`+a+"]")
	}
	return out
}

// exoFolder renders a folder of u as a MailboxFolderIdParameter,
// "MailboxID:\ParentFolder[\SubFolder]"
// (https://learn.microsoft.com/powershell/module/exchangepowershell/new-inboxrule).
func (t *tenant) exoFolder(u *User, id string) any {
	if id == "" {
		return nil
	}
	root := folderID(t.id, u.ID, rootFolder)
	folders := t.mailFolders(u)
	var path []string
	for cur := id; cur != "" && cur != root && len(path) <= len(folders); {
		i := slices.IndexFunc(folders, func(f folderView) bool { return f.id == cur })
		if i < 0 {
			break
		}
		path = append([]string{folders[i].displayName}, path...)
		cur = folders[i].parentID
	}
	return u.MailNickname + `:\` + strings.Join(path, `\`)
}

// words renders a word list, null when empty.
func words(w []string) any {
	if len(w) == 0 {
		return nil
	}
	return slices.Clone(w)
}

// inboxRuleObj renders r as Get-InboxRule does (a subset of its
// properties).
func (t *tenant) inboxRuleObj(u *User, r InboxRule) obj {
	var importance any
	if r.MarkImportance != "" {
		importance = strings.ToUpper(r.MarkImportance[:1]) + r.MarkImportance[1:]
	}
	return obj{
		{"Identity", ruleExoIdentity(u, r)},
		{"Name", r.DisplayName},
		{"Enabled", !r.Disabled},
		{"Priority", r.Sequence},
		{"RuleIdentity", ruleIdentity(r)},
		{"MailboxOwnerId", u.MailNickname},
		{"InError", r.HasError},
		{"From", t.exoRecipients(r.FromAddresses)},
		{"SentTo", t.exoRecipients(r.SentToAddresses)},
		{"FromAddressContainsWords", words(r.SenderContains)},
		{"SubjectContainsWords", words(r.SubjectContains)},
		{"BodyContainsWords", words(r.BodyContains)},
		{"SubjectOrBodyContainsWords", words(r.BodyOrSubjectContains)},
		{"ForwardTo", t.exoRecipients(r.ForwardTo)},
		{"ForwardAsAttachmentTo", t.exoRecipients(r.ForwardAsAttachmentTo)},
		{"RedirectTo", t.exoRecipients(r.RedirectTo)},
		{"DeleteMessage", r.Delete},
		{"SoftDeleteMessage", r.PermanentDelete},
		{"MoveToFolder", t.exoFolder(u, r.MoveToFolder)},
		{"CopyToFolder", t.exoFolder(u, r.CopyToFolder)},
		{"MarkAsRead", r.MarkAsRead},
		{"MarkImportance", importance},
		{"StopProcessingRules", r.StopProcessingRules},
		{"SupportedByTask", true},
		{"IsValid", true},
	}
}

// getInboxRule runs Get-InboxRule: the mailbox's rules, or the one
// Identity names; hidden ones only with IncludeHidden.
func (c *exoCall) getInboxRule() ([]obj, *exoFailure) {
	identity, present, _, f := c.str("Identity")
	if f != nil {
		return nil, f
	}
	hidden, _, f := c.flag("IncludeHidden")
	if f != nil {
		return nil, f
	}
	u, f := c.ruleMailbox(identity)
	if f != nil {
		return nil, f
	}
	// "The value $null or a non-existent value for the Identity
	// parameter returns *all* objects" (Get-InboxRule's documentation):
	// a null or empty Identity lists every rule.
	if present && strings.TrimSpace(identity) != "" {
		i, f := c.findRule(u, identity, hidden)
		if f != nil {
			return nil, f
		}
		return []obj{c.t.inboxRuleObj(u, u.InboxRules[i])}, nil
	}
	var out []obj
	for _, r := range u.InboxRules {
		if !r.Hidden || hidden {
			out = append(out, c.t.inboxRuleObj(u, r))
		}
	}
	return out, nil
}

// ruleTarget resolves the Identity (and Mailbox) of a rule cmdlet that
// changes one rule; hidden rules are found too.
func (c *exoCall) ruleTarget() (*User, int, *exoFailure) {
	identity, f := c.required("Identity")
	if f != nil {
		return nil, -1, f
	}
	for _, sw := range []string{"Force", "AlwaysDeleteOutlookRulesBlob"} {
		if _, _, f := c.flag(sw); f != nil {
			return nil, -1, f
		}
	}
	u, f := c.ruleMailbox(identity)
	if f != nil {
		return nil, -1, f
	}
	i, f := c.findRule(u, identity, true)
	return u, i, f
}

// setRuleEnabled runs Disable-InboxRule or Enable-InboxRule.
func (c *exoCall) setRuleEnabled(enabled bool) ([]obj, *exoFailure) {
	u, i, f := c.ruleTarget()
	if f != nil {
		return nil, f
	}
	r := &u.InboxRules[i]
	if r.Disabled == !enabled {
		c.warnUnchanged(ruleExoIdentity(u, *r))
		return nil, nil
	}
	r.Disabled = !enabled
	return nil, nil
}

// removeInboxRule runs Remove-InboxRule.
func (c *exoCall) removeInboxRule() ([]obj, *exoFailure) {
	u, i, f := c.ruleTarget()
	if f != nil {
		return nil, f
	}
	u.InboxRules = slices.Delete(u.InboxRules, i, i+1)
	return nil, nil
}

// getRegionalConfig runs Get-MailboxRegionalConfiguration: the
// mailbox's language and time zone, null until its owner chose them
// (https://learn.microsoft.com/powershell/module/exchangepowershell/get-mailboxregionalconfiguration).
// TimeZone is a Windows time zone name, "a supported time zone key name
// (for example, "Pacific Standard Time")"
// (https://learn.microsoft.com/powershell/module/exchangepowershell/set-mailboxregionalconfiguration).
func (c *exoCall) getRegionalConfig() ([]obj, *exoFailure) {
	u, f := c.mailbox()
	if f != nil {
		return nil, f
	}
	if _, _, f := c.flag("VerifyDefaultFolderNameLanguage"); f != nil {
		return nil, f
	}
	var tz, lang any
	if u.TimeZone != "" {
		tz = u.TimeZone
		if u.PreferredLanguage != "" {
			lang = u.PreferredLanguage
		}
	}
	return []obj{{
		{"Identity", u.MailNickname},
		{"DateFormat", nil},
		{"Language", lang},
		{"DefaultFolderNameMatchingUserLanguage", false},
		{"TimeFormat", nil},
		{"TimeZone", tz},
		{"IsValid", true},
	}}, nil
}
