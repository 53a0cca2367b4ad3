package actions

import (
	"context"
	"sync"
	"time"
)

// User is a directory user as the actions see it.
type User struct {
	ID               string
	UPN              string
	DisplayName      string
	Enabled          bool
	Synced           bool   // onPremisesSyncEnabled: mastered in on-premises AD
	ImmutableID      string // onPremisesImmutableId
	PasswordPolicies string // e.g. "DisablePasswordExpiration, DisableStrongPassword"
	JobTitle         string
	Department       string
	Mail             string
}

// UserDetails is what the "user" action shows.
type UserDetails struct {
	User
	Manager            string    // display name
	Licenses           []string  // friendly names, or SKU part numbers
	LastPasswordChange time.Time // zero if unknown
	LastSignIn         *SignIn   // nil if none is recorded
	Methods            []string  // authentication method kinds: "authenticator", "phone"
	Roles              []string  // directory role names
	Groups             []string  // group display names
	MFAState           string    // per-user MFA: disabled, enabled, enforced; "" if unknown
}

// SignIn is one sign-in log entry.
type SignIn struct {
	Time     time.Time
	App      string
	IP       string
	Location string
	OK       bool
	Failure  string
	// Country is the two-letter countryOrRegion; Risk the risk level
	// during sign-in ("" for none or hidden).
	Country     string
	Risk        string
	Interactive bool
}

// Group is a directory group.
type Group struct {
	ID              string
	DisplayName     string
	Unified         bool // Microsoft 365 group
	MailEnabled     bool
	SecurityEnabled bool
}

// Kind returns "Microsoft 365", "security", "distribution list" or
// "mail-enabled security".
func (g Group) Kind() string {
	switch {
	case g.Unified:
		return "Microsoft 365"
	case g.MailEnabled && g.SecurityEnabled:
		return "mail-enabled security"
	case g.MailEnabled:
		return "distribution list"
	}
	return "security"
}

// UserUpdate lists the user properties to change; nil fields are left as
// they are.
type UserUpdate struct {
	AccountEnabled   *bool
	Password         *Secret
	ForceChange      bool // with Password: must change at next sign-in
	PasswordPolicies *string
	ClearImmutableID bool
	// Fields sets other properties by their Graph name ("jobTitle"); a nil
	// value clears the property.
	Fields map[string]*string
}

// AuthMethod is one of a user's authentication methods.
type AuthMethod struct {
	ID   string
	Kind string // the Graph type without "AuthenticationMethod": "phone", "microsoftAuthenticator", "password"
	Name string // for people: "phone", "authenticator app"
	// Created is when the method was registered, if the type says.
	Created time.Time
}

// TAPOptions are the options of a new temporary access pass.
type TAPOptions struct {
	LifetimeMinutes int // 0 means the tenant policy's default
	UsableOnce      bool
}

// TAP is a newly created temporary access pass.
type TAP struct {
	Pass            Secret
	LifetimeMinutes int
	UsableOnce      bool
	Start           time.Time
}

// The interfaces below are what a tenant connection can do, split by
// what uses them; Tenant gathers them. Methods return *Error with
// ENOTFOUND for a missing object, EFORBIDDEN for a missing permission,
// ECONFLICT when the object's state forbids the change, EUNAVAILABLE when
// the service is throttling or down after retries, and EINVALID when the
// service rejects the input. Implementations are safe for concurrent use.

// Users reads and changes a tenant's users.
type Users interface {
	// User returns the user with the given object ID or UPN.
	User(ctx context.Context, idOrUPN string) (User, error)
	// UserDetails returns the user with manager, licences, sign-in,
	// authentication methods, roles and groups.
	UserDetails(ctx context.Context, id string) (UserDetails, error)
	// Users reads many users by object ID or UPN at once; errs[i] is set
	// where users[i] could not be read. Implementations may batch.
	Users(ctx context.Context, ids []string) (users []User, errs []error)
	// FindUsers returns up to max users whose mail nickname, UPN or
	// display name starts with name (for bare names in a bound channel).
	FindUsers(ctx context.Context, name string, max int) ([]User, error)
	// UpdateUser changes the given properties of the user.
	UpdateUser(ctx context.Context, id string, u UserUpdate) error
	// DeleteUser soft-deletes the user (restorable for 30 days).
	DeleteUser(ctx context.Context, id string) error
	// RevokeSessions invalidates the user's refresh tokens and sessions.
	RevokeSessions(ctx context.Context, id string) error
}

// Groups finds a tenant's groups and changes the members of Microsoft 365
// and security groups (distribution lists change through Exchange).
type Groups interface {
	// FindGroups returns the group with ID nameOrID, or the groups whose
	// display name is nameOrID.
	FindGroups(ctx context.Context, nameOrID string) ([]Group, error)
	// AddGroupMember adds the user to a Microsoft 365 or security group.
	// It returns ECONFLICT if the user is already a member.
	AddGroupMember(ctx context.Context, groupID, userID string) error
	// RemoveGroupMember removes the user from a Microsoft 365 or security
	// group; ENOTFOUND if the user is not a member.
	RemoveGroupMember(ctx context.Context, groupID, userID string) error
}

// Auth manages how users sign in: their authentication methods, temporary
// access passes and legacy per-user MFA.
type Auth interface {
	// AuthMethods lists the user's authentication methods.
	AuthMethods(ctx context.Context, userID string) ([]AuthMethod, error)
	// DeleteAuthMethod removes one authentication method.
	DeleteAuthMethod(ctx context.Context, userID string, m AuthMethod) error
	// CreateTAP creates a temporary access pass, replacing any existing one.
	CreateTAP(ctx context.Context, id string, o TAPOptions) (TAP, error)
	// SetMFAState sets per-user MFA: "disabled", "enabled" or "enforced".
	SetMFAState(ctx context.Context, userID, state string) error
}

// Roles reads the privilege that the approval rules judge a change by.
type Roles interface {
	// DirectoryRoles returns the directory roles each user holds, read
	// completely (every page): active assignments held directly or
	// through role-assignable groups, PIM-activated ones included, and
	// PIM-eligible ones where the app may read them. errs[i] is set where
	// the roles of userIDs[i] could not be read.
	DirectoryRoles(ctx context.Context, userIDs []string) (roles [][]RoleHeld, errs []error)
	// GroupPrivileges says, for each group, what a change of its
	// membership would grant or take away: whether it is role-assignable,
	// the directory roles it holds, and the Conditional Access policies
	// that exclude it (where the app may read them).
	GroupPrivileges(ctx context.Context, groupIDs []string) ([]GroupPrivilege, error)
}

// UsersWithRoles reads users by ID or name together with their admin
// roles, in one round trip, as Users.Users and Roles.DirectoryRoles would.
type UsersWithRoles interface {
	UsersWithRoles(ctx context.Context, ids []string) ([]User, []error, [][]RoleHeld, []error)
}

// Batch sends many single-request writes at once.
type Batch interface {
	// Apply performs the Graph writes ops (not the Exchange ones); errs[i]
	// is the result of ops[i]. Throttled writes are retried, none is sent
	// twice after it succeeded. progress, if non-nil, is called with the
	// number of ops finished so far, from any goroutine.
	Apply(ctx context.Context, ops []Op, progress func(done int)) (errs []error)
}

// Org describes the tenant itself.
type Org interface {
	// Organization describes the tenant: ID, name and verified domains.
	Organization(ctx context.Context) (TenantInfo, error)
}

// Admin is the administration of a tenant connection: what onboarding
// and "check" read about the tenant and cippbot's own access to it. No
// action uses it.
type Admin interface {
	Org
	// Permissions returns the application permissions cippbot holds in
	// the tenant, as granted in its access token.
	Permissions(ctx context.Context) ([]string, error)
	// Customers returns the customers with an active GDAP relationship;
	// it is called on the partner tenant.
	Customers(ctx context.Context) ([]Customer, error)
	// AppRoles returns the display names of the directory roles assigned,
	// tenant wide, to cippbot's app's service principal.
	AppRoles(ctx context.Context) ([]string, error)
	// SignedInGroups returns the IDs of the security groups the signed-in
	// user of a delegated connection (GDAP's partner service account) is
	// a member of, directly or not, in its own tenant; delegated is false,
	// and the list nil, for an app-only connection. It is called on the
	// partner tenant.
	SignedInGroups(ctx context.Context) (ids []string, delegated bool, err error)
}

// TenantInfo describes a tenant.
type TenantInfo struct {
	ID            string
	Name          string
	DefaultDomain string
	Domains       []string // verified, default first
	Country       string   // countryLetterCode: the default usage location
}

// Customer is a customer tenant reached through GDAP.
type Customer struct {
	TenantID string
	Name     string
	// Access lists the access assignments of the customer's active
	// relationships: which partner security groups hold which roles.
	// AccessErr says why they could not be read, if they could not.
	Access    []AccessAssignment
	AccessErr error
}

// AccessAssignment is one GDAP access assignment: the roles RoleIDs
// (built-in role template ids) given to the members of the partner's
// security group GroupID through the relationship Relationship.
type AccessAssignment struct {
	Relationship string   `json:"relationship"`
	GroupID      string   `json:"group_id"`
	RoleIDs      []string `json:"role_ids"`
}

// OpKind is the kind of a batched write.
type OpKind int

// Batched write kinds.
const (
	OpUpdateUser        OpKind = iota + 1 // PATCH /users/{id} with Update
	OpDeleteUser                          // DELETE /users/{id}
	OpRevokeSessions                      // POST /users/{id}/revokeSignInSessions
	OpAddGroupMember                      // POST /groups/{GroupID}/members/$ref
	OpRemoveGroupMember                   // DELETE /groups/{GroupID}/members/{UserID}/$ref
	// Exchange Online writes: never batched, run one by one through the
	// tenant's Exchange side.
	OpAddDistributionMember    // Add-DistributionGroupMember
	OpRemoveDistributionMember // Remove-DistributionGroupMember
	// OpResetPassword resets Update.Password through the password
	// method (Tenant.Writeback): a long-running operation, never
	// batched.
	OpResetPassword
)

// exchangeOp reports whether op runs through Exchange Online.
func exchangeOp(op Op) bool {
	return op.Kind == OpAddDistributionMember || op.Kind == OpRemoveDistributionMember
}

// singleOp reports whether op is sent on its own, outside Graph's $batch.
func singleOp(op Op) bool {
	return exchangeOp(op) || op.Kind == OpResetPassword
}

// Op is one write that takes a single Graph request, so that bulk runs
// can send many in one $batch.
type Op struct {
	Kind    OpKind
	UserID  string
	Update  UserUpdate
	GroupID string
}

// Trace collects the service request IDs of the calls made under one
// context, for the audit record, and counts how often the service
// throttled them. The zero value is ready to use.
type Trace struct {
	mu        sync.Mutex
	ids       []string
	throttled int
	paced     bool
}

// Pace records that writes waited to keep under the service's write
// limit. A nil Trace ignores it.
func (t *Trace) Pace() {
	if t == nil {
		return
	}
	t.mu.Lock()
	t.paced = true
	t.mu.Unlock()
}

// Paced reports whether writes under this trace waited for the service's
// write limit.
func (t *Trace) Paced() bool {
	if t == nil {
		return false
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.paced
}

// Throttle records that the service throttled a call (and it was retried
// or given up). A nil Trace ignores it.
func (t *Trace) Throttle() {
	if t == nil {
		return
	}
	t.mu.Lock()
	t.throttled++
	t.mu.Unlock()
}

// Throttled returns how many times calls under this trace were throttled.
func (t *Trace) Throttled() int {
	if t == nil {
		return 0
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.throttled
}

type traceKey struct{}

// WithTrace returns a context whose calls are recorded into a new Trace.
func WithTrace(ctx context.Context) (context.Context, *Trace) {
	t := &Trace{}
	return context.WithValue(ctx, traceKey{}, t), t
}

// TraceFrom returns the Trace of ctx, or nil.
func TraceFrom(ctx context.Context) *Trace {
	t, _ := ctx.Value(traceKey{}).(*Trace)
	return t
}

// Add records a request ID. A nil Trace ignores it.
func (t *Trace) Add(id string) {
	if t == nil || id == "" {
		return
	}
	t.mu.Lock()
	t.ids = append(t.ids, id)
	t.mu.Unlock()
}

// IDs returns the recorded request IDs in order.
func (t *Trace) IDs() []string {
	if t == nil {
		return nil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]string(nil), t.ids...)
}
