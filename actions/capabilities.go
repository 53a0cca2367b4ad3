package actions

import (
	"context"
	"strings"
	"time"
)

// The interfaces below are the capabilities of a tenant beyond users,
// groups, sign-in methods and roles (directory.go); Tenant holds them.

// NewUser is a user to create.
type NewUser struct {
	UPN          string
	DisplayName  string
	GivenName    string
	Surname      string
	MailNickname string
	Password     Secret
	ForceChange  bool // must change the password at first sign-in
	// Fields sets other properties by their Graph name ("jobTitle",
	// "usageLocation"); businessPhones is one number.
	Fields map[string]string
}

// SKU is a subscription the tenant holds.
type SKU struct {
	ID         string // skuId
	PartNumber string // skuPartNumber, e.g. "ENTERPRISEPACK"
	Enabled    int    // prepaid units
	Consumed   int
	// For a user's licences (UserSKUs): whether it is assigned to the
	// user directly, and the groups that assign it (group-based
	// licensing). A licence held only through groups goes when the user
	// leaves them, never by removing it from the user.
	Direct   bool
	ByGroups []Group
}

// GroupNames names the groups that assign the licence.
func (s SKU) GroupNames() string {
	names := make([]string, len(s.ByGroups))
	for i, g := range s.ByGroups {
		names[i] = g.DisplayName
	}
	return strings.Join(names, ", ")
}

// Free returns how many licences of the subscription are unassigned.
func (s SKU) Free() int { return s.Enabled - s.Consumed }

// Lifecycle creates, restores and licenses users.
type Lifecycle interface {
	// CreateUser creates a cloud user; ECONFLICT if the UPN is taken.
	CreateUser(ctx context.Context, n NewUser) (User, error)
	// AddAliases adds e-mail aliases to the user whose primary address is
	// primary (its UPN), keeping primary as the primary.
	AddAliases(ctx context.Context, userID, primary string, aliases []string) error
	// DeletedUser finds a soft-deleted user by object ID or former UPN,
	// with when it was deleted; ENOTFOUND if there is none.
	DeletedUser(ctx context.Context, idOrUPN string) (User, time.Time, error)
	// RestoreUser restores a soft-deleted user.
	RestoreUser(ctx context.Context, id string) (User, error)
	// SKUs lists the tenant's subscriptions.
	SKUs(ctx context.Context) ([]SKU, error)
	// UserSKUs lists the subscriptions licensed to the user, each with
	// whether it is assigned directly and the groups that assign it.
	UserSKUs(ctx context.Context, userID string) ([]SKU, error)
	// AssignLicenses adds and removes licences by SKU ID in one call;
	// EINVALID with the service's words when it refuses (no usage
	// location, none left).
	AssignLicenses(ctx context.Context, userID string, add, remove []string) error
	// UserGroups lists the groups the user is a direct member of.
	UserGroups(ctx context.Context, userID string) ([]Group, error)
}

// InboxRule is one of a mailbox's inbox rules, as far as it matters to
// someone looking for a compromise.
type InboxRule struct {
	ID        string // Exchange's Identity of the rule
	Name      string
	Enabled   bool
	ForwardTo []string // forward, redirect and forward-as-attachment addresses
	Delete    bool     // deletes (or permanently deletes) what it matches
	MoveTo    string   // display name of the folder it moves to, "" if none
	MarkRead  bool
}

// App is an enterprise application (service principal) in a tenant.
type App struct {
	ID        string
	AppID     string
	Name      string
	Publisher string // "" if unverified
	Created   time.Time
	Foreign   bool // owned by another organization
}

// Security reads what compromise research needs.
type Security interface {
	// SignIns returns the user's sign-ins since the given time, newest
	// first, at most max.
	SignIns(ctx context.Context, userID string, since time.Time, max int) ([]SignIn, error)
	// InboxRules lists the inbox rules of the user's mailbox, hidden
	// ones included.
	InboxRules(ctx context.Context, userID string) ([]InboxRule, error)
	// DisableInboxRule turns one inbox rule off, keeping it as evidence;
	// DeleteInboxRule deletes it.
	DisableInboxRule(ctx context.Context, userID, ruleID string) error
	DeleteInboxRule(ctx context.Context, userID, ruleID string) error
	// NewApps lists the applications added to the tenant since the time.
	NewApps(ctx context.Context, since time.Time) ([]App, error)
}

// OneDrive provisions personal sites and places shortcuts in them.
type OneDrive interface {
	// ProvisionOneDrive asks SharePoint to create the users' OneDrives.
	ProvisionOneDrive(ctx context.Context, upns []string) error
	// OneDriveURL returns the web address of the user's OneDrive;
	// ENOTFOUND if it has not been created.
	OneDriveURL(ctx context.Context, userID string) (string, error)
	// AddShortcut adds to the user's OneDrive a shortcut to a SharePoint
	// site's library or a folder in it, given by its web address, and
	// returns the shortcut's name.
	AddShortcut(ctx context.Context, userID, targetURL string) (string, error)
}

// PasswordWriteback resets passwords through Microsoft Entra's password
// authentication method (authenticationMethod: resetPassword): for a
// synced user, the new password is written back to on-premises AD.
type PasswordWriteback interface {
	// ResetPasswordWriteback sets the user's password and waits for the
	// reset, a long-running operation, to end. The user must change the
	// password at the next sign-in, whatever was asked. ECONFLICT when
	// the tenant refuses it (writeback not enabled, the on-premises
	// policy rejects the password), EUNAVAILABLE when the operation did
	// not end in time (its result is unknown), EFORBIDDEN when the
	// signed-in admin lacks a role. Safe for concurrent use.
	ResetPasswordWriteback(ctx context.Context, userID string, pw Secret) error
}

// PushResult is what a user did with an MFA push.
type PushResult string

// Push results.
const (
	PushApproved PushResult = "approved"
	PushDenied   PushResult = "denied"
	PushFraud    PushResult = "reported as fraud"
	PushTimeout  PushResult = "not answered in time"
)

// MFAPush sends MFA push notifications through the legacy MFA service.
type MFAPush interface {
	// SendMFAPush sends a push to the user's authenticator app and waits
	// for the answer. An error means no push could be sent (no
	// authenticator registered, the service refused).
	SendMFAPush(ctx context.Context, upn string) (PushResult, error)
}

type stepsKey struct{}

// WithSteps returns a context under which actions of several steps
// (offboard) report each step's state as it changes, so that the chat can
// show the plan being worked through.
func WithSteps(ctx context.Context, report func(lines []string)) context.Context {
	return context.WithValue(ctx, stepsKey{}, report)
}

// reportSteps passes lines to the context's step reporter, if any.
func reportSteps(ctx context.Context, lines []string) {
	if f, ok := ctx.Value(stepsKey{}).(func([]string)); ok && f != nil {
		f(lines)
	}
}
