package fakegraph

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// InboxRule is one inbox rule of a mailbox, as Graph's messageRule shows
// it. Seed data (User.InboxRules) may leave ID empty for a stable
// Exchange-style id, Sequence 0 for one after the previous rule, and may
// name MoveToFolder and CopyToFolder by well-known name ("inbox",
// "archive", "deleteditems", "junkemail", "conversationhistory",
// "rssfeeds", ...) or display name; a display name no folder has
// becomes a new top-level folder. Snapshots hold folder ids.
type InboxRule struct {
	// ID is the rule id, e.g. "AQAAAJ5dZp8=".
	ID string
	// DisplayName is the rule's name; attackers like "." or "..".
	DisplayName string
	// Sequence orders the rules, lowest first.
	Sequence int
	// Disabled turns the rule off (isEnabled false).
	Disabled bool
	// HasError and ReadOnly mirror hasError and isReadOnly.
	HasError bool
	ReadOnly bool

	// SubjectContains, BodyContains, BodyOrSubjectContains and
	// SenderContains are the rule's conditions on words;
	// FromAddresses and SentToAddresses its conditions on addresses.
	// A rule without conditions applies to every message.
	SubjectContains       []string
	BodyContains          []string
	BodyOrSubjectContains []string
	SenderContains        []string
	FromAddresses         []string
	SentToAddresses       []string

	// ForwardTo, RedirectTo and ForwardAsAttachmentTo are the addresses
	// mail is sent on to.
	ForwardTo             []string
	RedirectTo            []string
	ForwardAsAttachmentTo []string
	// Delete moves mail to Deleted Items; PermanentDelete purges it.
	Delete          bool
	PermanentDelete bool
	// MoveToFolder and CopyToFolder are folder ids ("" for none).
	MoveToFolder string
	CopyToFolder string
	// MarkAsRead marks mail read; MarkImportance is "", "low", "normal"
	// or "high".
	MarkAsRead     bool
	MarkImportance string
	// StopProcessingRules skips the rules after this one.
	StopProcessingRules bool

	// Hidden marks a hidden inbox rule, the kind an attacker leaves in a
	// compromised mailbox. Exchange lists it only when Get-InboxRule is
	// asked for hidden rules: "The IncludeHidden switch specifies
	// whether to include hidden Inbox rules in the results"
	// (https://learn.microsoft.com/powershell/module/exchangepowershell/get-inboxrule).
	// Graph's messageRules list the rules the mailbox shows, so a
	// hidden rule is not among them, nor can it be read or deleted there.
	Hidden bool
}

// clone deep-copies r.
func (r InboxRule) clone() InboxRule {
	for _, l := range []*[]string{&r.SubjectContains, &r.BodyContains, &r.BodyOrSubjectContains, &r.SenderContains,
		&r.FromAddresses, &r.SentToAddresses, &r.ForwardTo, &r.RedirectTo, &r.ForwardAsAttachmentTo} {
		*l = slices.Clone(*l)
	}
	return r
}

// MailFolder is a folder a user created in their mailbox.
type MailFolder struct {
	// ID is the folder id; seed data may leave it empty for a stable
	// Exchange-style one.
	ID string
	// DisplayName is the folder's name.
	DisplayName string
	// Parent is the id of the parent folder. Seed data may give a
	// well-known name ("msgfolderroot", the default, for a top-level
	// folder, or e.g. "inbox") or the display name of another folder.
	Parent string
}

// wellKnownFolder is a folder every mailbox has.
type wellKnownFolder struct {
	// name is the well-known name, e.g. "deleteditems".
	name string
	// displayName is the English folder name.
	displayName string
	// graphName reports whether Graph accepts name in place of the id.
	graphName bool
}

// rootFolder is the well-known name of the mailbox's root folder, the
// parent of the top-level folders.
const rootFolder = "msgfolderroot"

// wellKnownFolders returns the top-level folders of every mailbox, in
// the order Exchange lists them (by display name).
func wellKnownFolders() []wellKnownFolder {
	return []wellKnownFolder{
		{"archive", "Archive", true},
		{"conversationhistory", "Conversation History", true},
		{"deleteditems", "Deleted Items", true},
		{"drafts", "Drafts", true},
		{"inbox", "Inbox", true},
		{"junkemail", "Junk Email", true},
		{"outbox", "Outbox", true},
		{"rssfeeds", "RSS Feeds", false},
		{"sentitems", "Sent Items", true},
		{"syncissues", "Sync Issues", true},
	}
}

// folderView is one folder of a mailbox, well-known or created.
type folderView struct {
	id          string
	displayName string
	parentID    string
	// wellKnown is the well-known name, "" for a created folder.
	wellKnown string
}

// exchangeID returns a stable id shaped like an Exchange item id: URL-safe
// base64 of 46 bytes starting with the bytes that make "AAMk".
func exchangeID(parts ...string) string {
	a := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	b := sha256.Sum256(a[:])
	raw := append([]byte{0x00, 0x03, 0x24, 0x00}, a[:]...)
	raw = append(raw, b[:10]...)
	return base64.URLEncoding.EncodeToString(raw)
}

// folderID returns the stable id of a mailbox folder.
func folderID(tenantID, userID, key string) string {
	return exchangeID(tenantID, userID, "folder", strings.ToLower(key))
}

// ruleID returns a stable id shaped like Exchange's rule ids
// ("AQAAAJ5dZp8="), without '+' or '/' so that it is safe in a path.
func ruleID(tenantID, userID string, n int) string {
	for salt := 0; ; salt++ {
		sum := sha256.Sum256([]byte(fmt.Sprintf("%s\x00%s\x00rule\x00%d\x00%d", tenantID, userID, n, salt)))
		raw := make([]byte, 8)
		raw[0] = 1
		copy(raw[4:], sum[:4])
		id := base64.StdEncoding.EncodeToString(raw)
		if !strings.ContainsAny(id, "+/") {
			return id
		}
	}
}

// mailFolders returns every folder of u's mailbox: the well-known ones,
// then the created ones. The root is not included.
func (t *tenant) mailFolders(u *User) []folderView {
	root := folderID(t.id, u.ID, rootFolder)
	out := make([]folderView, 0, len(wellKnownFolders())+len(u.MailFolders))
	for _, w := range wellKnownFolders() {
		out = append(out, folderView{id: folderID(t.id, u.ID, w.name), displayName: w.displayName, parentID: root, wellKnown: w.name})
	}
	for _, f := range u.MailFolders {
		out = append(out, folderView{id: f.ID, displayName: f.DisplayName, parentID: f.Parent})
	}
	return out
}

// findFolder resolves a folder of u by id or, when byName is set, by
// well-known name or display name (ignoring case). graphOnly limits
// well-known names to those Graph accepts in a URL.
func (t *tenant) findFolder(u *User, ref string, byName, graphOnly bool) (folderView, bool) {
	folders := t.mailFolders(u)
	for _, f := range folders {
		if f.id == ref {
			return f, true
		}
	}
	if strings.EqualFold(ref, rootFolder) || ref == folderID(t.id, u.ID, rootFolder) {
		return folderView{id: folderID(t.id, u.ID, rootFolder), displayName: "Top of Information Store", wellKnown: rootFolder}, true
	}
	for _, w := range wellKnownFolders() {
		if strings.EqualFold(ref, w.name) && (w.graphName || !graphOnly) {
			return folders[slices.IndexFunc(folders, func(f folderView) bool { return f.wellKnown == w.name })], true
		}
	}
	if byName {
		for _, f := range folders {
			if strings.EqualFold(f.displayName, ref) {
				return f, true
			}
		}
	}
	return folderView{}, false
}

// normalizeRules checks the seeded folders and inbox rules of u and
// gives them ids, parents and sequence numbers.
func (t *tenant) normalizeRules(u *User) error {
	if len(u.InboxRules) == 0 && len(u.MailFolders) == 0 {
		return nil
	}
	if u.MailboxType == "" {
		return errors.New("inbox rules or mail folders for a user without a mailbox")
	}
	seeded := u.MailFolders
	u.MailFolders = nil
	for _, f := range seeded {
		if strings.TrimSpace(f.DisplayName) == "" {
			return errors.New("mail folder without a display name")
		}
		parent := f.Parent
		if parent == "" {
			parent = rootFolder
		}
		p, ok := t.findFolder(u, parent, true, false)
		if !ok {
			return fmt.Errorf("mail folder %q: unknown parent %q", f.DisplayName, f.Parent)
		}
		if f.ID == "" {
			f.ID = folderID(t.id, u.ID, "created:"+p.id+"/"+f.DisplayName)
		}
		if _, dup := t.findFolder(u, f.ID, false, false); dup {
			return fmt.Errorf("mail folder %q: duplicate id", f.DisplayName)
		}
		f.Parent = p.id
		u.MailFolders = append(u.MailFolders, f)
	}
	seq := 0
	for i := range u.InboxRules {
		r := &u.InboxRules[i]
		if r.ID == "" {
			r.ID = ruleID(t.id, u.ID, i)
		}
		for _, other := range u.InboxRules[:i] {
			if other.ID == r.ID {
				return fmt.Errorf("inbox rule %q: duplicate id", r.DisplayName)
			}
		}
		if r.Sequence == 0 {
			r.Sequence = seq + 1
		}
		seq = r.Sequence
		for _, ref := range []*string{&r.MoveToFolder, &r.CopyToFolder} {
			if *ref == "" {
				continue
			}
			f, ok := t.findFolder(u, *ref, true, false)
			if !ok {
				// A rule may point at a folder the seed did not list.
				nf := MailFolder{ID: folderID(t.id, u.ID, "created:"+*ref), DisplayName: *ref, Parent: folderID(t.id, u.ID, rootFolder)}
				u.MailFolders = append(u.MailFolders, nf)
				f = folderView{id: nf.ID}
			}
			*ref = f.id
		}
		switch strings.ToLower(r.MarkImportance) {
		case "", "low", "normal", "high":
			r.MarkImportance = strings.ToLower(r.MarkImportance)
		default:
			return fmt.Errorf("inbox rule %q: unknown importance %q", r.DisplayName, r.MarkImportance)
		}
	}
	slices.SortStableFunc(u.InboxRules, func(a, b InboxRule) int { return a.Sequence - b.Sequence })
	return nil
}

// folderCounts returns stable, plausible item counts and a size for a
// folder.
func folderCounts(id string) (total, unread int, size int64) {
	sum := sha256.Sum256([]byte("counts\x00" + id))
	total = int(binary.BigEndian.Uint16(sum[:2]) % 900)
	unread = int(binary.BigEndian.Uint16(sum[2:4])) % (total/4 + 1)
	return total, unread, int64(total) * (18_000 + int64(sum[4])*100)
}
