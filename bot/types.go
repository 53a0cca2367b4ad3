package bot

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/cippbot/cippbot/actions"
)

// Errors the store returns.
var (
	// ErrNotFound means the record does not exist.
	ErrNotFound = errors.New("not found")
	// ErrExists means a record with the same key exists already.
	ErrExists = errors.New("already exists")
)

// Actor is a person on a chat platform. ID is immutable and
// platform-qualified ("slack:U0123ABCD", "discord:80351110224678912",
// "console:riley"); Name is for display only and may change.
type Actor struct {
	ID   string `json:"id"`
	Name string `json:"name,omitempty"`
}

// String returns the display name, or the ID when there is none.
func (a Actor) String() string {
	if a.Name != "" {
		return a.Name
	}
	return a.ID
}

// Role is what a technician may do. Each role includes the ones before it.
type Role int

// Roles, from least to most trusted.
const (
	RoleNone     Role = iota
	RoleViewer        // read actions
	RoleHelpdesk      // change actions; may request destructive ones
	RoleApprover      // may approve others' destructive requests
	RoleAdmin         // may grant and revoke roles
)

var roleNames = [...]string{"none", "viewer", "helpdesk", "approver", "admin"}

// String returns the role's name.
func (r Role) String() string {
	if r < 0 || int(r) >= len(roleNames) {
		return "none"
	}
	return roleNames[r]
}

// ParseRole returns the role named s.
func ParseRole(s string) (Role, bool) {
	for i, n := range roleNames {
		if n == s && i > 0 {
			return Role(i), true
		}
	}
	return RoleNone, false
}

// MarshalText implements encoding.TextMarshaler.
func (r Role) MarshalText() ([]byte, error) { return []byte(r.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (r *Role) UnmarshalText(b []byte) error {
	v, ok := ParseRole(string(b))
	if !ok {
		return errors.New("unknown role " + string(b))
	}
	*r = v
	return nil
}

// Grant gives an actor a role, in one tenant or (Tenant "") in all.
type Grant struct {
	Actor     string    `json:"actor"`            // platform-qualified ID
	Role      Role      `json:"role"`             //
	Tenant    string    `json:"tenant,omitempty"` // tenant ID; "" means every tenant
	GrantedBy string    `json:"granted_by"`       // actor ID, or "config" for CIPPBOT_ADMINS
	GrantedAt time.Time `json:"granted_at"`
}

// Tenant is a customer tenant the bot may act on.
type Tenant struct {
	ID            string   `json:"id"`             // directory (tenant) GUID
	Name          string   `json:"name"`           // display name
	DefaultDomain string   `json:"default_domain"` // what technicians type
	Domains       []string `json:"domains"`        // every verified domain, default included
	// Alias is a short name that may stand for the tenant ("contoso");
	// empty means the first label of the default domain.
	Alias string `json:"alias,omitempty"`
	// Source says where the tenant came from: "gdap" (tenants sync),
	// "manual" (tenants add) or "demo".
	Source string `json:"source,omitempty"`
	// PrivilegedPolicy says what a change to a privileged account (a
	// Global Administrator, say) needs: PolicyStrict (the default: only
	// an admin may ask, and two approvers must agree) or PolicyTwoApprovers
	// (anyone who may ask, and two approvers).
	PrivilegedPolicy string `json:"privileged_policy,omitempty"`
	// GDAP is what tenants sync last read of the partner's GDAP access
	// to the tenant; nil if it was never read (a tenant added by hand).
	GDAP *GDAPAccess `json:"gdap,omitempty"`
}

// GDAPAccess is the partner's GDAP access to a customer tenant, as tenants
// sync read it: the access assignments of the active relationships, and,
// when the sync ran with the delegated sign-in, the partner service
// account's security groups then.
type GDAPAccess struct {
	Assignments []actions.AccessAssignment `json:"assignments"`
	// Signed reports whether ServiceAccountGroups were read (the sync ran
	// in delegated mode).
	Signed               bool      `json:"signed,omitempty"`
	ServiceAccountGroups []string  `json:"service_account_groups,omitempty"`
	SyncedAt             time.Time `json:"synced_at"`
}

// ServiceAccountRoles returns the display names of the roles the
// assignments give the service account's groups, sorted.
func (g *GDAPAccess) ServiceAccountRoles() []string {
	var out []string
	if g == nil {
		return out
	}
	for _, a := range g.Assignments {
		if !slices.Contains(g.ServiceAccountGroups, a.GroupID) {
			continue
		}
		for _, id := range a.RoleIDs {
			if n := actions.RoleName(id); !slices.Contains(out, n) {
				out = append(out, n)
			}
		}
	}
	slices.Sort(out)
	return out
}

// Policies for privileged targets.
const (
	PolicyStrict       = "strict"
	PolicyTwoApprovers = "two-approvers"
)

// Binding ties a chat channel to one customer tenant, so that bare user
// names in that channel resolve in it.
type Binding struct {
	Platform string    `json:"platform"`
	Channel  string    `json:"channel"`
	TenantID string    `json:"tenant_id"`
	BoundBy  string    `json:"bound_by"` // actor ID
	BoundAt  time.Time `json:"bound_at"`
}

// ApprovalState is where an approval is in its life.
type ApprovalState string

// Approval states. pending → denied | expired | running → done | failed;
// running → unknown when the process died during the run.
const (
	StatePending ApprovalState = "pending"
	StateDenied  ApprovalState = "denied"
	StateExpired ApprovalState = "expired"
	StateRunning ApprovalState = "running"
	StateDone    ApprovalState = "done"
	StateFailed  ApprovalState = "failed"
	StateUnknown ApprovalState = "unknown"
)

// Target is a resolved target of a request.
type Target struct {
	ID  string `json:"id"`  // directory object ID
	UPN string `json:"upn"` // as shown when the request was made
	// Roles are the privileged directory roles the target held when the
	// request was made; the approval is pinned to them.
	Roles []string `json:"roles,omitempty"`
}

// Approval is a destructive request waiting for, or past, a second
// technician's decision. It is pinned to the exact action, tenant, target
// object IDs and parameters that were shown on the card.
type Approval struct {
	ID           string            `json:"id"`
	State        ApprovalState     `json:"state"`
	Action       string            `json:"action"`
	TenantID     string            `json:"tenant_id"`
	TenantDomain string            `json:"tenant_domain"`
	Targets      []Target          `json:"targets"`
	Params       map[string]string `json:"params,omitempty"`
	Reason       string            `json:"reason,omitempty"`
	Requester    Actor             `json:"requester"`
	Platform     string            `json:"platform"`
	Workspace    string            `json:"workspace,omitempty"`
	Channel      string            `json:"channel"`
	Card         string            `json:"card,omitempty"` // platform message reference of the approval card
	CreatedAt    time.Time         `json:"created_at"`
	ExpiresAt    time.Time         `json:"expires_at"`
	DecidedBy    *Actor            `json:"decided_by,omitempty"`
	DecidedAt    time.Time         `json:"decided_at,omitzero"`
	Outcome      string            `json:"outcome,omitempty"` // public one-line result
	// Replica is the replica (Bot.ReplicaID) that set it running: while it
	// runs, only that replica's death makes its outcome unknown.
	Replica string `json:"replica,omitempty"`
	// Needed is how many approvers must agree (0 means 1); Approvers are
	// those who have so far.
	Needed    int     `json:"needed,omitempty"`
	Approvers []Actor `json:"approvers,omitempty"`
	// AdminNeeded means at least one approver must be an admin (a quota
	// was exceeded).
	AdminNeeded   bool `json:"admin_needed,omitempty"`
	AdminApproved bool `json:"admin_approved,omitempty"` // an admin is among Approvers
	// Why says why more than one ordinary approval is needed.
	Why []string `json:"why,omitempty"`
	// Groups pins what the groups of the change grant ("Tier 0 Admins
	// holds Global Administrator"), sorted, as read when it was asked.
	Groups []string `json:"groups,omitempty"`
}

// needed returns how many approvals the request needs.
func (a Approval) needed() int { return max(1, a.Needed) }

// Record kinds in the audit trail.
const (
	KindRequest  = "request"  // a technician asked for an action
	KindRefused  = "refused"  // the bot refused it (role, input, target)
	KindDecision = "decision" // an approver approved or denied, or it expired
	KindIntent   = "intent"   // written right before the tenant is called
	KindOutcome  = "outcome"  // what the tenant answered
	KindAccess   = "access"   // a role was granted or revoked
	KindBinding  = "binding"  // a channel was bound to a tenant or unbound
)

// AuditVersion is the version of AuditRecord written by this code.
const AuditVersion = 1

// AuditRecord is one entry of the tamper-evident audit trail. Each record
// holds the hash of the one before it. It never holds a secret.
type AuditRecord struct {
	Version    int               `json:"v"`
	Seq        uint64            `json:"seq"`
	Time       time.Time         `json:"time"`
	Kind       string            `json:"kind"`
	Platform   string            `json:"platform,omitempty"`
	Workspace  string            `json:"workspace,omitempty"`
	Channel    string            `json:"channel,omitempty"`
	Actor      Actor             `json:"actor"`
	Action     string            `json:"action,omitempty"`
	TenantID   string            `json:"tenant_id,omitempty"`
	Tenant     string            `json:"tenant,omitempty"` // default domain
	Targets    []Target          `json:"targets,omitempty"`
	Params     map[string]string `json:"params,omitempty"`
	Reason     string            `json:"reason,omitempty"`
	Policy     string            `json:"policy,omitempty"` // why more approval was needed
	ApprovalID string            `json:"approval_id,omitempty"`
	Approver   *Actor            `json:"approver,omitempty"`
	Outcome    string            `json:"outcome,omitempty"` // ok, failed, partial, pending, approved, denied, expired, refused, granted, revoked
	Error      string            `json:"error,omitempty"`
	RequestIDs []string          `json:"request_ids,omitempty"`
	DurationMS int64             `json:"duration_ms,omitempty"`
	// Scheme is how Hash was computed: "" for SHA-256 of the record
	// (ComputeHash), HashHMAC for HMAC-SHA256 under the audit key
	// (ComputeMAC). It is part of what is hashed, so it cannot be changed
	// without the hash failing.
	Scheme   string `json:"scheme,omitempty"`
	PrevHash string `json:"prev_hash"`
	Hash     string `json:"hash"`
}

// ComputeHash returns the hex SHA-256 of the record's JSON encoding with
// Hash empty. Invalid UTF-8 (a stray byte from chat) hashes as U+FFFD, as
// it reads back from JSON, so the hash survives a store round trip. The store sets Hash to it when appending, and verification
// recomputes it.
func (r AuditRecord) ComputeHash() string {
	sum := sha256.Sum256(r.hashInput())
	return hex.EncodeToString(sum[:])
}

// HashHMAC is the Scheme of a record whose Hash is an HMAC-SHA256 under the
// audit key.
const HashHMAC = "hmac-sha256"

// ComputeMAC returns the hex HMAC-SHA256 under key of the same bytes
// ComputeHash hashes (the record's JSON with Hash empty, Scheme included).
// Without the key, a record cannot be changed and given a matching hash.
func (r AuditRecord) ComputeMAC(key []byte) string {
	m := hmac.New(sha256.New, key)
	m.Write(r.hashInput())
	return hex.EncodeToString(m.Sum(nil))
}

// hashInput is the record's JSON encoding with Hash empty and invalid UTF-8
// replaced.
func (r AuditRecord) hashInput() []byte {
	r = r.validUTF8()
	r.Hash = ""
	b, err := json.Marshal(r)
	if err != nil {
		// Every field marshals; this cannot happen.
		panic("bot: marshal audit record: " + err.Error())
	}
	return b
}

// AuditFilter selects audit records. A Target filter is served from an
// index, without reading the whole trail.
type AuditFilter struct {
	Target string    // UPN or object ID; "" means any
	Since  time.Time // zero means from the start
	Limit  int       // newest Limit records; 0 means all
}

// ApprovalStamp is what the hourly quota counts of an approval: which
// action who asked for in which tenant, and when.
type ApprovalStamp struct {
	ID          string
	CreatedAt   time.Time
	Action      string
	RequesterID string
	TenantID    string
}

// ApprovalStore keeps approvals. Implementations are safe for concurrent use
// and serialize UpdateApproval calls, which makes it a compare-and-swap.
type ApprovalStore interface {
	// CreateApproval stores a new approval; ErrExists if its ID is taken.
	CreateApproval(ctx context.Context, a Approval) error
	// Approval returns the approval with the given ID, or ErrNotFound.
	Approval(ctx context.Context, id string) (Approval, error)
	// UpdateApproval reads the approval, calls fn on it and stores the
	// result, all in one transaction: concurrent calls see each other's
	// changes. If fn returns an error nothing is stored and that error is
	// returned with the approval as it was. ErrNotFound if there is none.
	UpdateApproval(ctx context.Context, id string, fn func(*Approval) error) (Approval, error)
	// Approvals returns the approvals in any of the given states (all if
	// none are given), oldest first. Asked only for pending or running
	// approvals, it reads those alone, whatever the history.
	Approvals(ctx context.Context, states ...ApprovalState) ([]Approval, error)
	// ApprovalStampsSince returns the stamps of the approvals created at
	// or after t, oldest first, reading only those.
	ApprovalStampsSince(ctx context.Context, t time.Time) ([]ApprovalStamp, error)
	// PruneApprovals removes up to max decided approvals (neither pending
	// nor running) created before the given time, oldest first, in one
	// transaction, and says how many it removed. The audit trail keeps
	// their records.
	PruneApprovals(ctx context.Context, before time.Time, max int) (int, error)
}

// AuditLog is the append-only, hash-chained audit trail.
type AuditLog interface {
	// Append sets the record's Version, Seq, PrevHash and Hash, stores it
	// and returns it as stored.
	Append(ctx context.Context, r AuditRecord) (AuditRecord, error)
	// Audit returns the records matching f, oldest first.
	Audit(ctx context.Context, f AuditFilter) ([]AuditRecord, error)
}

// GrantStore keeps role grants.
type GrantStore interface {
	// Grants returns every grant.
	Grants(ctx context.Context) ([]Grant, error)
	// GrantsOf returns actor's grants, sorted by tenant ("" first): what
	// a role check reads, without the other actors' grants.
	GrantsOf(ctx context.Context, actor string) ([]Grant, error)
	// PutGrant stores g, replacing any grant for the same actor and tenant.
	PutGrant(ctx context.Context, g Grant) error
	// DeleteGrant removes the grant for actor in tenant; ErrNotFound if
	// there is none.
	DeleteGrant(ctx context.Context, actor, tenant string) error
}

// TenantStore is the tenant directory.
type TenantStore interface {
	// TenantByDomain returns the tenant one of whose domains is domain
	// (case-insensitive), or ErrNotFound.
	TenantByDomain(ctx context.Context, domain string) (Tenant, error)
	// Tenants returns every tenant, sorted by default domain.
	Tenants(ctx context.Context) ([]Tenant, error)
	// PutTenant stores t, replacing any tenant with the same ID.
	PutTenant(ctx context.Context, t Tenant) error
	// TenantByName returns the tenant whose ID, alias (explicit, or the
	// first label of its default domain) or one of whose domains is name,
	// case-insensitive; ErrNotFound if none, an error naming the
	// candidates if several.
	TenantByName(ctx context.Context, name string) (Tenant, error)
	// DeleteTenant removes the tenant with the given ID and every binding
	// to it; ErrNotFound if there is none.
	DeleteTenant(ctx context.Context, id string) error
}

// BindingStore keeps channel bindings.
type BindingStore interface {
	// Binding returns the binding of a channel, or ErrNotFound.
	Binding(ctx context.Context, platform, channel string) (Binding, error)
	// PutBinding stores b, replacing the channel's binding.
	PutBinding(ctx context.Context, b Binding) error
	// DeleteBinding removes the channel's binding; ErrNotFound if none.
	DeleteBinding(ctx context.Context, platform, channel string) error
	// Bindings returns every binding, sorted by platform and channel.
	Bindings(ctx context.Context) ([]Binding, error)
}

// Job is work a run left for later because Microsoft 365 cannot take it
// yet (Exchange Online does not know a new user for minutes). It is kept
// in the store, so that it survives a restart, tried on a schedule, and
// its result goes to the requester.
type Job struct {
	ID           string     `json:"id"`
	Action       string     `json:"action"`
	ApprovalID   string     `json:"approval_id,omitempty"`
	TenantID     string     `json:"tenant_id"`
	TenantDomain string     `json:"tenant_domain"`
	Target       Target     `json:"target"`
	What         string     `json:"what"` // "add to Sales DL"
	Op           actions.Op `json:"op"`
	Requester    Actor      `json:"requester"`
	Platform     string     `json:"platform"`
	Workspace    string     `json:"workspace,omitempty"`
	Channel      string     `json:"channel"`
	CreatedAt    time.Time  `json:"created_at"`
	NextAt       time.Time  `json:"next_at"`
	Attempts     int        `json:"attempts"`
	LastError    string     `json:"last_error,omitempty"`
}

// JobStore keeps jobs.
type JobStore interface {
	// PutJob stores j, replacing any job with the same ID.
	PutJob(ctx context.Context, j Job) error
	// Jobs returns every job.
	Jobs(ctx context.Context) ([]Job, error)
	// DeleteJob removes a job; ErrNotFound if there is none.
	DeleteJob(ctx context.Context, id string) error
}

// Store is everything the bot persists.
type Store interface {
	ApprovalStore
	AuditLog
	GrantStore
	TenantStore
	BindingStore
	JobStore
}

// validUTF8 returns a copy of r whose strings are valid UTF-8, invalid
// bytes replaced by U+FFFD the way encoding/json does.
func (r AuditRecord) validUTF8() AuditRecord {
	v := func(s string) string {
		if utf8.ValidString(s) {
			return s
		}
		return strings.ToValidUTF8(s, "\uFFFD")
	}
	actor := func(a Actor) Actor { return Actor{ID: v(a.ID), Name: v(a.Name)} }
	r.Kind, r.Platform, r.Workspace, r.Channel = v(r.Kind), v(r.Platform), v(r.Workspace), v(r.Channel)
	r.Actor = actor(r.Actor)
	r.Action, r.TenantID, r.Tenant, r.Reason, r.Policy = v(r.Action), v(r.TenantID), v(r.Tenant), v(r.Reason), v(r.Policy)
	r.ApprovalID, r.Outcome, r.Error, r.PrevHash = v(r.ApprovalID), v(r.Outcome), v(r.Error), v(r.PrevHash)
	if r.Approver != nil {
		a := actor(*r.Approver)
		r.Approver = &a
	}
	if r.Targets != nil {
		ts := make([]Target, len(r.Targets))
		for i, t := range r.Targets {
			ts[i] = Target{ID: v(t.ID), UPN: v(t.UPN)}
			for _, role := range t.Roles {
				ts[i].Roles = append(ts[i].Roles, v(role))
			}
		}
		r.Targets = ts
	}
	if r.Params != nil {
		ps := make(map[string]string, len(r.Params))
		for k, val := range r.Params {
			ps[v(k)] = v(val)
		}
		r.Params = ps
	}
	if r.RequestIDs != nil {
		ids := make([]string, len(r.RequestIDs))
		for i, id := range r.RequestIDs {
			ids[i] = v(id)
		}
		r.RequestIDs = ids
	}
	return r
}

// Deduper remembers delivery keys (a Slack trigger ID, a Discord
// interaction ID) so that a platform's redelivery is handled once, even
// across a restart. Implementations are safe for concurrent use.
type Deduper interface {
	// FirstDelivery records key and reports whether it was new. Keys
	// older than ttl may be forgotten.
	FirstDelivery(ctx context.Context, key string, ttl time.Duration) (bool, error)
}
