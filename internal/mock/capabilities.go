package mock

import (
	"context"
	"time"

	"github.com/cippbot/cippbot/actions"
)

// The stubs below stand in for one capability of a tenant each. Every
// method calls the function field of its name; a call whose field is nil
// panics, which fails the test that made a call it did not expect.

// Users is a function-field stub of actions.Users.
type Users struct {
	UserFn           func(ctx context.Context, idOrUPN string) (actions.User, error)
	UserDetailsFn    func(ctx context.Context, id string) (actions.UserDetails, error)
	UsersFn          func(ctx context.Context, ids []string) ([]actions.User, []error)
	FindUsersFn      func(ctx context.Context, name string, max int) ([]actions.User, error)
	UpdateUserFn     func(ctx context.Context, id string, u actions.UserUpdate) error
	DeleteUserFn     func(ctx context.Context, id string) error
	RevokeSessionsFn func(ctx context.Context, id string) error
}

var _ actions.Users = (*Users)(nil)

// User calls UserFn.
func (s *Users) User(ctx context.Context, idOrUPN string) (actions.User, error) {
	return s.UserFn(ctx, idOrUPN)
}

// UserDetails calls UserDetailsFn.
func (s *Users) UserDetails(ctx context.Context, id string) (actions.UserDetails, error) {
	return s.UserDetailsFn(ctx, id)
}

// Users calls UsersFn.
func (s *Users) Users(ctx context.Context, ids []string) ([]actions.User, []error) {
	return s.UsersFn(ctx, ids)
}

// FindUsers calls FindUsersFn.
func (s *Users) FindUsers(ctx context.Context, name string, max int) ([]actions.User, error) {
	return s.FindUsersFn(ctx, name, max)
}

// UpdateUser calls UpdateUserFn.
func (s *Users) UpdateUser(ctx context.Context, id string, u actions.UserUpdate) error {
	return s.UpdateUserFn(ctx, id, u)
}

// DeleteUser calls DeleteUserFn.
func (s *Users) DeleteUser(ctx context.Context, id string) error { return s.DeleteUserFn(ctx, id) }

// RevokeSessions calls RevokeSessionsFn.
func (s *Users) RevokeSessions(ctx context.Context, id string) error {
	return s.RevokeSessionsFn(ctx, id)
}

// Groups is a function-field stub of actions.Groups.
type Groups struct {
	FindGroupsFn        func(ctx context.Context, nameOrID string) ([]actions.Group, error)
	AddGroupMemberFn    func(ctx context.Context, groupID, userID string) error
	RemoveGroupMemberFn func(ctx context.Context, groupID, userID string) error
}

var _ actions.Groups = (*Groups)(nil)

// FindGroups calls FindGroupsFn.
func (s *Groups) FindGroups(ctx context.Context, nameOrID string) ([]actions.Group, error) {
	return s.FindGroupsFn(ctx, nameOrID)
}

// AddGroupMember calls AddGroupMemberFn.
func (s *Groups) AddGroupMember(ctx context.Context, groupID, userID string) error {
	return s.AddGroupMemberFn(ctx, groupID, userID)
}

// RemoveGroupMember calls RemoveGroupMemberFn.
func (s *Groups) RemoveGroupMember(ctx context.Context, groupID, userID string) error {
	return s.RemoveGroupMemberFn(ctx, groupID, userID)
}

// Auth is a function-field stub of actions.Auth.
type Auth struct {
	AuthMethodsFn      func(ctx context.Context, userID string) ([]actions.AuthMethod, error)
	DeleteAuthMethodFn func(ctx context.Context, userID string, m actions.AuthMethod) error
	CreateTAPFn        func(ctx context.Context, id string, o actions.TAPOptions) (actions.TAP, error)
	SetMFAStateFn      func(ctx context.Context, userID, state string) error
}

var _ actions.Auth = (*Auth)(nil)

// AuthMethods calls AuthMethodsFn.
func (s *Auth) AuthMethods(ctx context.Context, userID string) ([]actions.AuthMethod, error) {
	return s.AuthMethodsFn(ctx, userID)
}

// DeleteAuthMethod calls DeleteAuthMethodFn.
func (s *Auth) DeleteAuthMethod(ctx context.Context, userID string, m actions.AuthMethod) error {
	return s.DeleteAuthMethodFn(ctx, userID, m)
}

// CreateTAP calls CreateTAPFn.
func (s *Auth) CreateTAP(ctx context.Context, id string, o actions.TAPOptions) (actions.TAP, error) {
	return s.CreateTAPFn(ctx, id, o)
}

// SetMFAState calls SetMFAStateFn.
func (s *Auth) SetMFAState(ctx context.Context, userID, state string) error {
	return s.SetMFAStateFn(ctx, userID, state)
}

// Org is a function-field stub of actions.Org.
type Org struct {
	OrganizationFn func(ctx context.Context) (actions.TenantInfo, error)
}

var _ actions.Org = (*Org)(nil)

// Organization calls OrganizationFn.
func (s *Org) Organization(ctx context.Context) (actions.TenantInfo, error) {
	return s.OrganizationFn(ctx)
}

// Security is a function-field stub of actions.Security.
type Security struct {
	SignInsFn          func(ctx context.Context, userID string, since time.Time, max int) ([]actions.SignIn, error)
	InboxRulesFn       func(ctx context.Context, userID string) ([]actions.InboxRule, error)
	DisableInboxRuleFn func(ctx context.Context, userID, ruleID string) error
	DeleteInboxRuleFn  func(ctx context.Context, userID, ruleID string) error
	NewAppsFn          func(ctx context.Context, since time.Time) ([]actions.App, error)
}

var _ actions.Security = (*Security)(nil)

// SignIns calls SignInsFn.
func (s *Security) SignIns(ctx context.Context, userID string, since time.Time, max int) ([]actions.SignIn, error) {
	return s.SignInsFn(ctx, userID, since, max)
}

// InboxRules calls InboxRulesFn.
func (s *Security) InboxRules(ctx context.Context, userID string) ([]actions.InboxRule, error) {
	return s.InboxRulesFn(ctx, userID)
}

// DisableInboxRule calls DisableInboxRuleFn.
func (s *Security) DisableInboxRule(ctx context.Context, userID, ruleID string) error {
	return s.DisableInboxRuleFn(ctx, userID, ruleID)
}

// DeleteInboxRule calls DeleteInboxRuleFn.
func (s *Security) DeleteInboxRule(ctx context.Context, userID, ruleID string) error {
	return s.DeleteInboxRuleFn(ctx, userID, ruleID)
}

// NewApps calls NewAppsFn.
func (s *Security) NewApps(ctx context.Context, since time.Time) ([]actions.App, error) {
	return s.NewAppsFn(ctx, since)
}

// Exchange is a function-field stub of actions.Exchange.
type Exchange struct {
	MailboxFn                  func(ctx context.Context, userID string) (actions.Mailbox, error)
	MailboxTimeZoneFn          func(ctx context.Context, userID string) (string, error)
	SetMailboxSharedFn         func(ctx context.Context, userID string, shared bool) error
	EnableArchiveFn            func(ctx context.Context, userID string, autoExpanding bool) error
	SetAutoReplyFn             func(ctx context.Context, userID string, r actions.AutoReply) error
	ClearForwardingFn          func(ctx context.Context, userID string) error
	SetForwardingFn            func(ctx context.Context, userID, address string, keepCopy bool) error
	HideFromAddressListFn      func(ctx context.Context, userID string, hide bool) error
	AddDistributionMemberFn    func(ctx context.Context, groupID, userID string) error
	RemoveDistributionMemberFn func(ctx context.Context, groupID, userID string) error
}

var _ actions.Exchange = (*Exchange)(nil)

// Mailbox calls MailboxFn.
func (s *Exchange) Mailbox(ctx context.Context, userID string) (actions.Mailbox, error) {
	return s.MailboxFn(ctx, userID)
}

// MailboxTimeZone calls MailboxTimeZoneFn.
func (s *Exchange) MailboxTimeZone(ctx context.Context, userID string) (string, error) {
	return s.MailboxTimeZoneFn(ctx, userID)
}

// SetMailboxShared calls SetMailboxSharedFn.
func (s *Exchange) SetMailboxShared(ctx context.Context, userID string, shared bool) error {
	return s.SetMailboxSharedFn(ctx, userID, shared)
}

// EnableArchive calls EnableArchiveFn.
func (s *Exchange) EnableArchive(ctx context.Context, userID string, autoExpanding bool) error {
	return s.EnableArchiveFn(ctx, userID, autoExpanding)
}

// SetAutoReply calls SetAutoReplyFn.
func (s *Exchange) SetAutoReply(ctx context.Context, userID string, r actions.AutoReply) error {
	return s.SetAutoReplyFn(ctx, userID, r)
}

// ClearForwarding calls ClearForwardingFn.
func (s *Exchange) ClearForwarding(ctx context.Context, userID string) error {
	return s.ClearForwardingFn(ctx, userID)
}

// SetForwarding calls SetForwardingFn.
func (s *Exchange) SetForwarding(ctx context.Context, userID, address string, keepCopy bool) error {
	return s.SetForwardingFn(ctx, userID, address, keepCopy)
}

// HideFromAddressList calls HideFromAddressListFn.
func (s *Exchange) HideFromAddressList(ctx context.Context, userID string, hide bool) error {
	return s.HideFromAddressListFn(ctx, userID, hide)
}

// AddDistributionMember calls AddDistributionMemberFn.
func (s *Exchange) AddDistributionMember(ctx context.Context, groupID, userID string) error {
	return s.AddDistributionMemberFn(ctx, groupID, userID)
}

// RemoveDistributionMember calls RemoveDistributionMemberFn.
func (s *Exchange) RemoveDistributionMember(ctx context.Context, groupID, userID string) error {
	return s.RemoveDistributionMemberFn(ctx, groupID, userID)
}

// Writeback is a function-field stub of actions.PasswordWriteback.
type Writeback struct {
	ResetPasswordWritebackFn func(ctx context.Context, userID string, pw actions.Secret) error
}

var _ actions.PasswordWriteback = (*Writeback)(nil)

// ResetPasswordWriteback calls ResetPasswordWritebackFn.
func (s *Writeback) ResetPasswordWriteback(ctx context.Context, userID string, pw actions.Secret) error {
	return s.ResetPasswordWritebackFn(ctx, userID, pw)
}
