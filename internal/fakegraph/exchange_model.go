package fakegraph

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/cippbot/cippbot/internal/wintz"
)

// exchangeQuotaGB returns the mailbox size limit, in GB, that a product
// grants, or 0 when it does not include Exchange Online.
func exchangeQuotaGB(skuPartNumber string) float64 {
	switch strings.ToUpper(skuPartNumber) {
	case "ENTERPRISEPACK", "ENTERPRISEPREMIUM", "ENTERPRISEPREMIUM_NOPSTNCONF", "SPE_E3", "SPE_E5",
		"EXCHANGEENTERPRISE", "DEVELOPERPACK_E5":
		return 100
	case "O365_BUSINESS_PREMIUM", "SPB", "O365_BUSINESS_ESSENTIALS", "SMB_BUSINESS_ESSENTIALS",
		"SMB_BUSINESS_PREMIUM", "STANDARDPACK", "EXCHANGESTANDARD", "EXCHANGEESSENTIALS":
		return 50
	case "SPE_F1", "DESKLESSPACK", "EXCHANGEDESKLESS":
		return 2
	}
	return 0
}

// exchangeQuotaGB returns the largest mailbox size limit u's licenses
// grant, 0 when none includes Exchange Online.
func (t *tenant) exchangeQuotaGB(u *User) float64 {
	var q float64
	for _, id := range t.effectiveLicenses(u) {
		if sku := t.sku(id); sku != nil {
			q = max(q, exchangeQuotaGB(sku.SkuPartNumber))
		}
	}
	return q
}

// mailboxQuotaGB is the ProhibitSendReceiveQuota of u's mailbox: what
// its licenses grant, or the 50 GB of an unlicensed (shared) mailbox.
func (t *tenant) mailboxQuotaGB(u *User) float64 {
	if q := t.exchangeQuotaGB(u); q > 0 {
		return q
	}
	return 50
}

// provisionMailbox gives u a user mailbox with Exchange's defaults,
// keeping whatever mailbox state it already has.
func (t *tenant) provisionMailbox(u *User) {
	if u.MailboxType == "" {
		u.MailboxType = MailboxUser
	}
	if u.AutoReplyState == "" {
		u.AutoReplyState = AutoReplyDisabled
	}
	if u.ExternalAudience == "" {
		u.ExternalAudience = "All"
	}
}

// defaultMailboxSize returns a plausible, stable mailbox size for a
// seeded user: 0.35 to 14.34 GB.
func defaultMailboxSize(tenantID, userID string) float64 {
	sum := sha256.Sum256([]byte(tenantID + "\x00mailbox\x00" + userID))
	return 0.35 + float64(binary.BigEndian.Uint16(sum[:2])%1400)/100
}

// hasMailboxState reports whether any mailbox setting of u differs from
// its zero value.
func hasMailboxState(u *User) bool {
	return u.MailboxSizeGB != 0 || u.ArchiveEnabled || u.AutoExpandingArchive || u.ForwardingSMTPAddress != "" ||
		u.ForwardingAddress != "" || u.DeliverToMailboxAndForward || u.InternalMessage != "" || u.ExternalMessage != "" ||
		!u.AutoReplyStart.IsZero() || !u.AutoReplyEnd.IsZero() || u.HiddenFromAddressLists || u.TimeZone != "" ||
		(u.AutoReplyState != "" && u.AutoReplyState != AutoReplyDisabled) || (u.ExternalAudience != "" && u.ExternalAudience != "All")
}

// normalizeMailbox checks u's mailbox state and puts it in canonical
// form: enumerations spelled as Exchange spells them, the forwarding
// SMTP address with its "smtp:" prefix and the forwarding recipient as
// its primary SMTP address.
func (t *tenant) normalizeMailbox(u *User) error {
	switch {
	case u.MailboxType == "":
		if hasMailboxState(u) {
			return errors.New("mailbox settings for a user without a mailbox")
		}
		return nil
	case strings.EqualFold(u.MailboxType, MailboxUser):
		u.MailboxType = MailboxUser
	case strings.EqualFold(u.MailboxType, MailboxShared):
		u.MailboxType = MailboxShared
	default:
		return fmt.Errorf("unknown mailbox type %q", u.MailboxType)
	}
	if u.MailboxSizeGB < 0 || math.IsNaN(u.MailboxSizeGB) || math.IsInf(u.MailboxSizeGB, 0) {
		return fmt.Errorf("mailbox size %v GB", u.MailboxSizeGB)
	}
	if u.AutoExpandingArchive && !u.ArchiveEnabled {
		return errors.New("auto-expanding archive without an archive")
	}
	if u.ForwardingSMTPAddress != "" {
		addr, ok := normalizeSMTP(u.ForwardingSMTPAddress)
		if !ok {
			return fmt.Errorf("forwarding address %q is not an SMTP address", u.ForwardingSMTPAddress)
		}
		u.ForwardingSMTPAddress = addr
	}
	if u.ForwardingAddress != "" {
		mail, ok := t.recipientAddress(u.ForwardingAddress)
		if !ok {
			return fmt.Errorf("forwarding recipient %q is not a mailbox or mail-enabled group of the tenant", u.ForwardingAddress)
		}
		u.ForwardingAddress = mail
	}
	state, ok := enumValue(u.AutoReplyState, AutoReplyDisabled, AutoReplyEnabled, AutoReplyScheduled)
	if u.AutoReplyState == "" {
		state, ok = AutoReplyDisabled, true
	}
	if !ok {
		return fmt.Errorf("unknown auto-reply state %q", u.AutoReplyState)
	}
	u.AutoReplyState = state
	audience, ok := enumValue(u.ExternalAudience, "None", "Known", "All")
	if u.ExternalAudience == "" {
		audience, ok = "All", true
	}
	if !ok {
		return fmt.Errorf("unknown external audience %q", u.ExternalAudience)
	}
	u.ExternalAudience = audience
	if u.TimeZone != "" {
		tz, ok := wintz.Name(u.TimeZone)
		if !ok {
			return fmt.Errorf("unknown time zone %q (a Windows time zone name, like \"W. Europe Standard Time\")", u.TimeZone)
		}
		u.TimeZone = tz
	}
	if u.AutoReplyState == AutoReplyScheduled {
		if u.AutoReplyStart.IsZero() || u.AutoReplyEnd.IsZero() {
			return errors.New("scheduled auto-reply without a start and end time")
		}
		if !u.AutoReplyEnd.After(u.AutoReplyStart) {
			return errors.New("scheduled auto-reply ends before it starts")
		}
	}
	return nil
}

// enumValue returns the member of allowed that s names, ignoring case.
func enumValue(s string, allowed ...string) (string, bool) {
	for _, a := range allowed {
		if strings.EqualFold(strings.TrimSpace(s), a) {
			return a, true
		}
	}
	return "", false
}

// normalizeSMTP turns "user@example.com" or "SMTP:user@example.com" into
// Exchange's "smtp:user@example.com".
func normalizeSMTP(s string) (string, bool) {
	s = strings.TrimSpace(s)
	if len(s) > 5 && strings.EqualFold(s[:5], "smtp:") {
		s = s[5:]
	}
	local, domain, ok := strings.Cut(s, "@")
	if !ok || local == "" || domain == "" || strings.ContainsAny(s, " \t\r\n<>,;:\"") || strings.Contains(domain, "@") ||
		!strings.Contains(domain, ".") || strings.HasPrefix(domain, ".") || strings.HasSuffix(domain, ".") {
		return "", false
	}
	return "smtp:" + s, true
}

// exoUser finds a user that is not deleted by any identity Exchange
// accepts for a mailbox: object id, user principal name, primary SMTP
// address, any proxy address or alias. The user may have no mailbox.
func (t *tenant) exoUser(identity string) *User {
	id := strings.TrimSpace(identity)
	if id == "" {
		return nil
	}
	bare := id
	if len(bare) > 5 && strings.EqualFold(bare[:5], "smtp:") {
		bare = bare[5:]
	}
	for _, u := range t.users {
		if u.Deleted || t.notYetInExchange(u) {
			continue
		}
		if strings.EqualFold(u.ID, id) || strings.EqualFold(u.UserPrincipalName, bare) || strings.EqualFold(u.Mail, bare) ||
			strings.EqualFold(u.MailNickname, id) {
			return u
		}
		for _, p := range u.ProxyAddresses {
			if _, addr, ok := strings.Cut(p, ":"); ok && strings.EqualFold(addr, bare) {
				return u
			}
		}
		if strings.EqualFold(u.MailNickname+"@"+t.initialDomain(), bare) {
			return u
		}
	}
	return nil
}

// exoMailbox finds a user with a mailbox (see exoUser).
func (t *tenant) exoMailbox(identity string) *User {
	if u := t.exoUser(identity); u != nil && u.MailboxType != "" {
		return u
	}
	return nil
}

// exoGroup finds a distribution list or mail-enabled security group by
// object id, display name, primary SMTP address or alias; Microsoft 365
// groups and plain security groups are not distribution groups.
func (t *tenant) exoGroup(identity string) *Group {
	id := strings.TrimSpace(identity)
	if id == "" {
		return nil
	}
	for _, g := range t.groups {
		if !g.MailEnabled || g.unified() {
			continue
		}
		if strings.EqualFold(g.ID, id) || strings.EqualFold(g.DisplayName, id) || strings.EqualFold(g.MailNickname, id) ||
			(g.Mail != "" && strings.EqualFold(g.Mail, strings.TrimPrefix(strings.TrimPrefix(id, "smtp:"), "SMTP:"))) {
			return g
		}
	}
	return nil
}

// recipientAddress resolves a recipient (a mailbox or a mail-enabled
// group) to its primary SMTP address.
func (t *tenant) recipientAddress(identity string) (string, bool) {
	if u := t.exoMailbox(identity); u != nil {
		return u.Mail, true
	}
	for _, g := range t.groups {
		if g.MailEnabled && g.Mail != "" && (strings.EqualFold(g.ID, identity) || strings.EqualFold(g.Mail, identity) ||
			strings.EqualFold(g.DisplayName, identity) || strings.EqualFold(g.MailNickname, identity)) {
			return g.Mail, true
		}
	}
	return "", false
}

// recipientName returns the Exchange name (Identity) of the recipient
// with primary SMTP address mail, or mail itself.
func (t *tenant) recipientName(mail string) string {
	for _, u := range t.users {
		if !u.Deleted && u.MailboxType != "" && strings.EqualFold(u.Mail, mail) {
			return u.MailNickname
		}
	}
	for _, g := range t.groups {
		if strings.EqualFold(g.Mail, mail) {
			return g.MailNickname
		}
	}
	return mail
}

// initialDomain returns the tenant's onmicrosoft.com domain, or its
// default one.
func (t *tenant) initialDomain() string {
	for _, d := range t.domains {
		if d.isInitial {
			return d.name
		}
	}
	return t.domains[0].name
}

// gbToBytes converts Exchange's binary gigabytes to bytes.
func gbToBytes(gb float64) int64 {
	return int64(math.Round(gb * (1 << 30)))
}

// byteSize renders a size the way Exchange renders a
// ByteQuantifiedSize: "48.7 GB (52,291,226,829 bytes)".
func byteSize(n int64) string {
	units := []string{"B", "KB", "MB", "GB", "TB"}
	v := float64(n)
	i := 0
	for i < len(units)-1 && v >= 1024 {
		v /= 1024
		i++
	}
	digits := len(strconv.FormatInt(int64(v), 10))
	s := strconv.FormatFloat(v, 'f', max(0, 4-digits), 64)
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	return fmt.Sprintf("%s %s (%s bytes)", s, units[i], groupThousands(n))
}

// groupThousands writes n with commas between groups of three digits.
func groupThousands(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// SetMailbox changes the Exchange Online mailbox of a user (id or user
// principal name) of a tenant (id or domain), for tests. fn gets a
// snapshot of the user; only its mailbox fields (MailboxType through
// TimeZone) are written back, checked and normalized as
// seed data is. Setting MailboxType to "" removes the mailbox and all
// its settings; setting it on a user without one provisions it. It
// panics if the tenant or user does not exist or the new state is
// invalid.
func (s *Server) SetMailbox(tenantIDOrDomain, idOrUPN string, fn func(*User)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tenant(tenantIDOrDomain)
	if t == nil {
		panic(fmt.Sprintf("fakegraph: SetMailbox: no tenant %q", tenantIDOrDomain))
	}
	u := t.findUser(idOrUPN, true)
	if u == nil {
		panic(fmt.Sprintf("fakegraph: SetMailbox: no user %q in %s", idOrUPN, t.id))
	}
	snap := t.snapshot(u)
	fn(&snap)
	next := *u
	if snap.MailboxType == "" {
		snap = User{}
	}
	copyMailbox(&next, &snap)
	if err := t.normalizeMailbox(&next); err != nil {
		panic(fmt.Sprintf("fakegraph: SetMailbox: user %q: %v", u.UserPrincipalName, err))
	}
	copyMailbox(u, &next)
}

// copyMailbox copies the mailbox fields of src to dst.
func copyMailbox(dst, src *User) {
	dst.MailboxType = src.MailboxType
	dst.MailboxSizeGB = src.MailboxSizeGB
	dst.ArchiveEnabled = src.ArchiveEnabled
	dst.AutoExpandingArchive = src.AutoExpandingArchive
	dst.ForwardingSMTPAddress = src.ForwardingSMTPAddress
	dst.ForwardingAddress = src.ForwardingAddress
	dst.DeliverToMailboxAndForward = src.DeliverToMailboxAndForward
	dst.AutoReplyState = src.AutoReplyState
	dst.InternalMessage = src.InternalMessage
	dst.ExternalMessage = src.ExternalMessage
	dst.ExternalAudience = src.ExternalAudience
	dst.AutoReplyStart = src.AutoReplyStart
	dst.AutoReplyEnd = src.AutoReplyEnd
	dst.HiddenFromAddressLists = src.HiddenFromAddressLists
	dst.TimeZone = src.TimeZone
}
