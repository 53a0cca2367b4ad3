package bot

import (
	"context"
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

// refuseGDAP is the request step that refuses, once the actor may ask
// and before any user is read, a request the service account's GDAP
// roles in the tenant do not allow (gdapRefusal).
func (b *Bot) refuseGDAP(_ context.Context, in *intake) error {
	return b.gdapRefusal(in.tenant, in.a)
}

// refuseGDAPTargets is the request step that refuses, once the users are
// read, a request one of whose users needs a role the service account's
// GDAP roles in the tenant do not give (a synced user's password reset).
func (b *Bot) refuseGDAPTargets(_ context.Context, in *intake) error {
	held, known := b.gdapHeld(in.tenant)
	if !known {
		return nil
	}
	for _, u := range in.users {
		if missing := actions.MissingGDAPTargetRoles(held, in.a, u); len(missing) > 0 {
			return actions.GDAPTargetRefusal(in.a, u, in.tenant.DefaultDomain, missing)
		}
	}
	return nil
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

// JudgeGDAP is actions.Service.Judge in delegated mode: it judges a
// check's (or a rehearsal's) report by the service account's GDAP roles
// in the tenant as tenants sync recorded them, or says that they are not
// known. Outside delegated mode it returns rep as it is.
func (b *Bot) JudgeGDAP(ctx context.Context, tenantID string, rep actions.CheckReport, c *actions.Catalogue) actions.CheckReport {
	if !b.Delegated {
		return rep
	}
	t, err := b.Store.TenantByName(ctx, tenantID)
	if err != nil {
		rep.Rules = append(rep.Rules, "the service account's GDAP roles could not be read from the tenant directory: "+err.Error())
		return rep
	}
	held, known := b.gdapHeld(t)
	if !known {
		rep.Rules = append(rep.Rules, fmt.Sprintf("the service account's GDAP roles in %s are not known yet: run cippbot tenants sync", t.DefaultDomain))
		return rep
	}
	return actions.CheckGDAP(rep, c, held)
}
