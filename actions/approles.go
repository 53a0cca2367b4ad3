package actions

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// cippbot runs app-only: without a signed-in user, Microsoft Entra
// bounds what its app may do by the directory roles assigned to the
// app's own service principal, besides its permissions. The roles the
// actions declare come from these pages:
//
//   - passwordProfile: "In app-only scenarios, the calling app must be
//     assigned a supported permission and at least the User
//     Administrator Microsoft Entra role"
//     (https://learn.microsoft.com/en-us/graph/api/resources/user).
//   - Sensitive properties (accountEnabled, phones, otherMails,
//     onPremisesImmutableId, userPrincipalName, passwordProfile) of a
//     user with privileged administrator roles, and deleting or
//     restoring one, need in app-only access "a higher privileged
//     administrator role as indicated in Who can perform sensitive
//     actions" (https://learn.microsoft.com/en-us/graph/api/user-update,
//     https://learn.microsoft.com/en-us/graph/api/user-delete); for a
//     Global Administrator that is Privileged Authentication
//     Administrator
//     (https://learn.microsoft.com/en-us/entra/identity/role-based-access-control/privileged-roles-permissions#who-can-perform-sensitive-actions).
//   - Exchange Online cmdlets app-only need Exchange.ManageAsApp and a
//     Microsoft Entra role; Exchange Administrator covers every task,
//     Exchange Recipient Administrator the recipient ones
//     (https://learn.microsoft.com/en-us/powershell/exchange/app-only-auth-powershell-v2).
//   - Authentication-method writes (TAP, removing methods) name roles
//     only for delegated access
//     (https://learn.microsoft.com/en-us/graph/api/authentication-post-temporaryaccesspassmethods):
//     the permission suffices.

// Microsoft Entra built-in roles the catalogue names.
const (
	RoleUserAdmin         = "User Administrator"
	RolePrivAuthAdmin     = "Privileged Authentication Administrator"
	RoleExchangeAdmin     = "Exchange Administrator"
	RoleGlobalAdmin       = "Global Administrator"
	roleExchangeRecipient = "Exchange Recipient Administrator"
)

// RoleAlternatives lists, for each role an action names, the other roles
// that do as well for what cippbot does with it. Global Administrator
// does everything.
var RoleAlternatives = map[string][]string{
	// Privileged Authentication Administrator "is the least privileged
	// role that's allowed to update this property [passwordProfile] for
	// all administrators" (resources/user).
	RoleUserAdmin: {RolePrivAuthAdmin, RoleGlobalAdmin},
	// The recipient cmdlets cippbot runs (app-only-auth-powershell-v2).
	RoleExchangeAdmin: {roleExchangeRecipient, RoleGlobalAdmin},
	RolePrivAuthAdmin: {RoleGlobalAdmin},
}

// rolesToChangeAdmins are the AdminRoles of the actions that change a
// user's sensitive properties, or delete or restore users.
var rolesToChangeAdmins = []string{RolePrivAuthAdmin}

// Role lists of the catalogue.
var (
	rolesPassword = []string{RoleUserAdmin}
	rolesExchange = []string{RoleExchangeAdmin}
)

// roleHeld reports whether held satisfies the named role, itself or
// through an alternative.
func roleHeld(held []string, role string) bool {
	for _, r := range append([]string{role}, RoleAlternatives[role]...) {
		if slices.ContainsFunc(held, func(h string) bool { return strings.EqualFold(h, r) }) {
			return true
		}
	}
	return slices.ContainsFunc(held, func(h string) bool { return strings.EqualFold(h, RoleGlobalAdmin) })
}

// missingRoles returns the roles of need that held does not satisfy.
func missingRoles(held, need []string) []string {
	var out []string
	for _, r := range need {
		if !roleHeld(held, r) {
			out = append(out, r)
		}
	}
	return out
}

// RoleList renders role names for a sentence: "the User Administrator
// role", "the User Administrator and Exchange Administrator roles".
func RoleList(roles []string) string {
	switch len(roles) {
	case 0:
		return "no role"
	case 1:
		return "the " + roles[0] + " role"
	}
	return "the " + strings.Join(roles[:len(roles)-1], ", ") + " and " + roles[len(roles)-1] + " roles"
}

// GDAPPointer says how cippbot gets a signed-in admin: GDAP mode.
const GDAPPointer = "Connect cippbot through GDAP (CIPPBOT_AUTH=gdap, see docs/GDAP.md) and it can do this itself."

// DelegatedRefusal is the answer, on an app-only connection, to an action
// Microsoft allows only with a signed-in admin.
func DelegatedRefusal(a *Action) error {
	msg := a.Name + " needs a signed-in admin (delegated access), which cippbot's app-only access cannot do"
	if a.DelegatedOnly != "" {
		msg += ": " + a.DelegatedOnly
	}
	return Errorf(EFORBIDDEN, "%s. %s", strings.TrimSuffix(msg, "."), GDAPPointer)
}

// graphInsufficient is Graph's message when the app's roles or
// permissions do not allow a call.
const graphInsufficient = "Insufficient privileges to complete the operation"

// explainForbidden turns Graph's "Insufficient privileges" for an action
// that needs Entra roles into an answer that names the role the app
// probably lacks: the first of the action's roles the app does not hold,
// else the one to act on admins. appRoles reads the app's roles (false
// when it cannot).
func explainForbidden(a *Action, err error, appRoles func() ([]string, bool)) error {
	var e *Error
	if ErrorCode(err) != EFORBIDDEN || !errors.As(err, &e) || !strings.Contains(e.Detail, graphInsufficient) ||
		len(a.Roles)+len(a.AdminRoles) == 0 {
		return err
	}
	role, why := "", ""
	held, known := appRoles()
	switch {
	case !known && len(a.Roles) > 0:
		role = a.Roles[0]
	case !known:
		role = a.AdminRoles[0]
	default:
		if m := missingRoles(held, a.Roles); len(m) > 0 {
			role = m[0]
		} else if m := missingRoles(held, a.AdminRoles); len(m) > 0 {
			role, why = m[0], ", which changing an admin needs"
		}
	}
	if role == "" {
		return err
	}
	msg := fmt.Sprintf("cippbot's app probably lacks the %s Entra role in this tenant%s", role, why)
	if len(a.Permissions) > 0 {
		msg += fmt.Sprintf(" (or the %s permission)", a.Permissions[0])
	}
	out := *e
	out.Message = msg
	return &out
}

// appRolesOnce returns a reader of the app roles in the tenant that asks
// once, and only if called: reaching the tenant's administration costs a
// round trip that a run without a refusal to explain need not make.
func appRolesOnce(ctx context.Context, c Connector, tenantID string) func() ([]string, bool) {
	var held []string
	known, asked := false, false
	return func() ([]string, bool) {
		if !asked {
			asked = true
			if adm, err := c.Admin(ctx, tenantID); err == nil {
				h, err := adm.AppRoles(ctx)
				held, known = h, err == nil
			}
		}
		return held, known
	}
}
