package store

import (
	"bytes"
	"crypto/hmac"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/cippbot/cippbot/bot"
)

// The audit chain's rules, apart from where records are kept: another
// store (store/postgres) seals and checks records with these, so that a
// trail verifies the same wherever it is stored and can be moved between
// stores unchanged.

// SealRecord stamps r as record seq of a trail whose newest record has the
// hash prevHash: the audit version, the hash scheme (keyed if key is not
// nil), its time (now, if r has none; always UTC), and its hash. It returns
// the record and the exact bytes to store, which are what VerifyAudit
// decodes and hashes again.
func SealRecord(r bot.AuditRecord, seq uint64, prevHash string, key []byte, now time.Time) (bot.AuditRecord, []byte, error) {
	r.Version = bot.AuditVersion
	r.Scheme = ""
	if key != nil {
		r.Scheme = bot.HashHMAC
	}
	if r.Time.IsZero() {
		r.Time = now
	}
	r.Time = r.Time.UTC()
	r.Seq = seq
	r.PrevHash = prevHash
	r.Hash = ""
	// Hash the record as it will read back, so that verification, which
	// decodes and hashes again, gets the same result (for one, encoding
	// replaces invalid UTF-8, which decoding cannot undo).
	r, err := roundTrip(r)
	if err != nil {
		return bot.AuditRecord{}, nil, err
	}
	if r.Scheme == bot.HashHMAC {
		r.Hash = r.ComputeMAC(key)
	} else {
		r.Hash = r.ComputeHash()
	}
	b, err := json.Marshal(r)
	if err != nil {
		return bot.AuditRecord{}, nil, err
	}
	return r, b, nil
}

// CheckHeadKey reports whether the stored newest record raw (the head) is
// keyed and its HMAC verifies under key, for refusing a wrong audit key at
// open. It returns nil if key is nil or the record is not keyed.
func CheckHeadKey(seq uint64, raw []byte, key []byte) error {
	if key == nil {
		return nil
	}
	r, err := decodeStrict(raw)
	if err == nil && r.Scheme != bot.HashHMAC {
		return nil
	}
	if err != nil || !hmac.Equal([]byte(r.Hash), []byte(r.ComputeMAC(key))) {
		return fmt.Errorf("the audit key does not verify the newest audit record (#%d): the key is not the one the trail was written with, or the record was altered; run cippbot audit verify", seq)
	}
	return nil
}

// AuditChecker checks an audit trail record by record, oldest first, as
// VerifyAudit does: call Check with every stored record's sequence number
// and bytes, in order, then Finish with the stored head.
type AuditChecker struct {
	key        []byte
	published  *AuditHead
	rep        VerifyReport
	prevHash   string
	sawPublish bool
}

// NewAuditChecker returns a checker that verifies keyed records with key
// and, if published is not nil, checks the trail against that published
// head (as VerifyAuditHead).
func NewAuditChecker(key []byte, published *AuditHead) *AuditChecker {
	return &AuditChecker{key: key, published: published}
}

// Report returns what has been checked so far.
func (c *AuditChecker) Report() VerifyReport { return c.rep }

// Check checks the record stored as number seq, whose stored bytes are v.
// The first problem is an *AuditError.
func (c *AuditChecker) Check(seq uint64, v []byte) error {
	want := c.rep.Head + 1
	switch {
	case seq == 0:
		return &AuditError{Seq: 0, Reason: "there is no record 0"}
	case seq == want+1:
		return &AuditError{Seq: want, Reason: fmt.Sprintf("record %d is missing (the trail goes from %d to %d)", want, c.rep.Head, seq)}
	case seq > want:
		return &AuditError{Seq: want, Reason: fmt.Sprintf("records %d to %d are missing (the trail goes from %d to %d)", want, seq-1, c.rep.Head, seq)}
	case seq < want:
		return &AuditError{Seq: seq, Reason: fmt.Sprintf("comes after record %d", c.rep.Head)}
	}
	r, err := decodeStrict(v)
	if err != nil {
		return &AuditError{Seq: seq, Reason: "does not decode: " + err.Error()}
	}
	switch {
	case r.Version != bot.AuditVersion:
		return &AuditError{Seq: seq, Reason: fmt.Sprintf("unknown version %d", r.Version)}
	case r.Seq != seq:
		return &AuditError{Seq: seq, Reason: fmt.Sprintf("stored as record %d but says it is record %d", seq, r.Seq)}
	case r.PrevHash != c.prevHash && seq == 1:
		return &AuditError{Seq: seq, Reason: "the first record has a previous hash"}
	case r.PrevHash != c.prevHash:
		return &AuditError{Seq: seq, Reason: fmt.Sprintf("previous hash does not match the hash of record %d", seq-1)}
	}
	switch r.Scheme {
	case "":
		if c.rep.KeyedFrom != 0 {
			return &AuditError{Seq: seq, Reason: fmt.Sprintf("is not keyed, but the trail is keyed from record %d on", c.rep.KeyedFrom)}
		}
		if r.Hash != r.ComputeHash() {
			return &AuditError{Seq: seq, Reason: "hash does not match its contents"}
		}
	case bot.HashHMAC:
		if c.key == nil {
			return &AuditError{Seq: seq, Reason: "is keyed (HMAC-SHA256): verify with the audit key (CIPPBOT_AUDIT_KEY or CIPPBOT_AUDIT_KEY_FILE)"}
		}
		if !hmac.Equal([]byte(r.Hash), []byte(r.ComputeMAC(c.key))) {
			return &AuditError{Seq: seq, Reason: "hash does not match its contents under the audit key (the record was altered, or the key is not the one it was written with)"}
		}
		if c.rep.KeyedFrom == 0 {
			c.rep.KeyedFrom = seq
		}
	default:
		return &AuditError{Seq: seq, Reason: fmt.Sprintf("unknown hash scheme %q", r.Scheme)}
	}
	if c.published != nil && seq == c.published.Seq {
		if r.Hash != c.published.Hash {
			return &AuditError{Seq: seq, Reason: "hash differs from the published head: the trail was rewritten"}
		}
		c.sawPublish = true
	}
	if b, err := json.Marshal(r); err != nil || !bytes.Equal(b, v) {
		return &AuditError{Seq: seq, Reason: "stored form does not match its contents"}
	}
	c.rep.Records++
	c.rep.Head = seq
	c.rep.HeadHash = r.Hash
	c.prevHash = r.Hash
	return nil
}

// Finish checks the stored head (the newest record's sequence number and
// hash, as the store keeps them apart from the records) against the
// records checked, and returns the report.
func (c *AuditChecker) Finish(head AuditHead) (VerifyReport, error) {
	rep := c.rep
	switch {
	case head.Seq > rep.Head:
		return rep, &AuditError{Seq: rep.Head + 1, Reason: fmt.Sprintf("records after %d are missing (the head is at %d)", rep.Head, head.Seq)}
	case head.Seq < rep.Head:
		return rep, &AuditError{Seq: head.Seq + 1, Reason: fmt.Sprintf("was not appended by cippbot (the head is at %d)", head.Seq)}
	case head.Hash != rep.HeadHash:
		return rep, &AuditError{Seq: rep.Head, Reason: "hash does not match the head's"}
	}
	if c.published != nil && !c.sawPublish && c.published.Seq != 0 {
		return rep, &AuditError{Seq: c.published.Seq, Reason: fmt.Sprintf("is missing: the trail ends at record %d, before the published head; newer records were removed", rep.Head)}
	}
	if c.key != nil && rep.Records > 0 && rep.KeyedFrom == 0 {
		return rep, &AuditError{Seq: rep.Head, Reason: "the newest record is not keyed: the trail was rewritten without the audit key, or no record has been written with the key yet"}
	}
	return rep, nil
}

// MatchesAudit reports whether record r is selected by f's Target and
// Since (Limit is the caller's).
func MatchesAudit(r bot.AuditRecord, f bot.AuditFilter) bool { return matches(r, f) }

// AuditTargetNames returns the names under which r is indexed by target:
// each distinct non-empty UPN and object ID of its targets, lower-cased and
// cut to 512 bytes. A lookup by target looks for AuditTargetName of the
// filter and checks the records it finds with MatchesAudit.
func AuditTargetNames(r bot.AuditRecord) []string {
	keys := indexKeys(r)
	names := make([]string, len(keys))
	for i, k := range keys {
		names[i] = string(k[:len(k)-9]) // drop the NUL and the sequence number
	}
	return names
}

// AuditTargetName returns the index name a Target filter looks up.
func AuditTargetName(target string) string {
	p := indexPrefix(targetKey(target))
	return string(p[:len(p)-1])
}

// TenantHasDomain reports whether domain, ignoring case, is t's default
// domain or one of its domains: what TenantByDomain looks for.
func TenantHasDomain(t bot.Tenant, domain string) bool {
	return strings.EqualFold(t.DefaultDomain, domain) || slices.ContainsFunc(t.Domains, func(d string) bool {
		return strings.EqualFold(d, domain)
	})
}

// TenantIsNamed reports whether name, ignoring case, is t's ID, alias,
// default domain or one of its domains: what TenantByName looks for.
func TenantIsNamed(t bot.Tenant, name string) bool { return tenantIsNamed(t, name) }

// SortTenants sorts list as Tenants returns it: by default domain
// (ignoring case, then not), then ID.
func SortTenants(list []bot.Tenant) { sortTenants(list) }

// CheckGrant returns the error PutGrant returns for a grant it refuses.
func CheckGrant(g bot.Grant) error {
	if g.Actor == "" {
		return errors.New("put grant: empty actor")
	}
	if g.Role <= bot.RoleNone || g.Role > bot.RoleAdmin {
		return fmt.Errorf("put grant for %s: role %d cannot be granted", g.Actor, int(g.Role))
	}
	if _, err := grantKey(g.Actor, g.Tenant); err != nil {
		return fmt.Errorf("put grant: %w", err)
	}
	return nil
}

// CheckBinding returns the error PutBinding returns for a binding it
// refuses before looking up its tenant.
func CheckBinding(b bot.Binding) error {
	if _, err := bindingKey(b.Platform, b.Channel); err != nil {
		return fmt.Errorf("put binding: %w", err)
	}
	if b.TenantID == "" {
		return fmt.Errorf("put binding of %s channel %s: empty tenant ID", b.Platform, b.Channel)
	}
	return nil
}
