package actions

import "context"

// Tenant is what one connection to a customer tenant can do, one field per
// capability, so that an action reads the one it uses and a test stands in
// for that one alone. A nil field means the connection cannot do that: an
// action that needs it fails with EUNAVAILABLE (see need), and nothing
// finds capabilities by type assertion.
type Tenant struct {
	Users  Users
	Groups Groups
	Auth   Auth
	Roles  Roles
	Org    Org

	Lifecycle Lifecycle
	Security  Security
	Exchange  Exchange
	OneDrive  OneDrive
	Push      MFAPush

	// Rehearsal makes the reads only a rehearsal needs (see Rehearse).
	Rehearsal Rehearser

	// Delegated reports whether the connection acts as a signed-in admin
	// (GDAP's partner service account) rather than as an app: what
	// Microsoft allows only delegated (Action.DelegatedOnly,
	// Action.AppOnlyCheck) is refused before approval without it.
	Delegated bool
	// Writeback resets passwords through the password authentication
	// method, which writes a synced user's password back to on-premises
	// AD; Microsoft offers it to delegated connections only.
	Writeback PasswordWriteback

	// Batch, if non-nil, sends many writes of a bulk run at once; nil
	// means they go one by one through Users and Groups. It changes how
	// writes travel, not what the tenant can do.
	Batch Batch
	// UsersWithRoles, if non-nil, reads a change's targets and their admin
	// roles in one round trip; nil means they are read apart.
	UsersWithRoles UsersWithRoles
}

// Connector hands out the connections to customer tenants.
type Connector interface {
	// Tenant returns what the connection to the tenant with the given ID
	// can do.
	Tenant(ctx context.Context, tenantID string) (Tenant, error)
	// Admin returns the administration of that tenant, for onboarding and
	// "check"; actions never see it.
	Admin(ctx context.Context, tenantID string) (Admin, error)
}

// cannotReach is the one error for a capability the tenant connection
// lacks (a nil field of Tenant): what names it, "Exchange Online".
func cannotReach(what string) *Error {
	return Errorf(EUNAVAILABLE, "this tenant connection cannot reach %s", what)
}

// need returns c, or the cannotReach error when the tenant connection
// lacks it (c is nil).
func need[C comparable](c C, what string) (C, error) {
	var none C
	if c == none {
		return none, cannotReach(what)
	}
	return c, nil
}
