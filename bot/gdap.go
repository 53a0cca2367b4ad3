package bot

import (
	"fmt"

	"github.com/cippbot/cippbot/actions"
)

// In delegated (GDAP) mode the partner service account holds, in each
// customer tenant, only the roles the GDAP relationship's access
// assignments give its security groups, as tenants sync last read them
// (Tenant.GDAP). A request that needs a role the account lacks is refused
// before anyone is asked to approve, naming the role; check reports, per
// tenant, which actions the roles allow.

// gdapHeld returns the roles the service account holds in t, and whether
// they are known (delegated mode, and a sync read them with the sign-in).
func (b *Bot) gdapHeld(t Tenant) ([]string, bool) {
	if !b.Delegated || t.GDAP == nil || !t.GDAP.Signed {
		return nil, false
	}
	return t.GDAP.ServiceAccountRoles(), true
}

// gdapRefusal refuses a request in t that needs a role the service
// account does not hold there; nil when it holds them or they are not
// known (Microsoft then answers for itself).
func (b *Bot) gdapRefusal(t Tenant, a *actions.Action) error {
	held, known := b.gdapHeld(t)
	if !known {
		return nil
	}
	if missing := actions.MissingGDAPRoles(held, a); len(missing) > 0 {
		return actions.GDAPRefusal(a, t.DefaultDomain, missing)
	}
	return nil
}

// checkGDAP judges a check's report by the service account's GDAP roles
// in t, or says that they are not known.
func (b *Bot) checkGDAP(rep actions.CheckReport, t Tenant) actions.CheckReport {
	held, known := b.gdapHeld(t)
	if !known {
		rep.Rules = append(rep.Rules, fmt.Sprintf("the service account's GDAP roles in %s are not known yet: run cippbot tenants sync", t.DefaultDomain))
		return rep
	}
	return actions.CheckGDAP(rep, b.Catalogue, held)
}
