package bot

import (
	"context"
	"slices"
)

// Roles are what one actor holds: a global role (from CIPPBOT_ADMINS or a
// grant without a tenant) and a role per tenant. A role held in one tenant
// says nothing about any other: every check names the tenant it acts on.
type Roles struct {
	Global  Role
	Tenants map[string]Role // tenant ID → role granted there
}

// In returns the role in one tenant: the higher of the global role and
// the tenant's own grant. In("") is the global role alone.
func (rs Roles) In(tenantID string) Role {
	if tenantID == "" {
		return rs.Global
	}
	return max(rs.Global, rs.Tenants[tenantID])
}

// Highest returns the highest role held anywhere, for questions that are
// not about one tenant ("may this person use cippbot at all?").
func (rs Roles) Highest() Role {
	best := rs.Global
	for _, r := range rs.Tenants {
		best = max(best, r)
	}
	return best
}

// TenantsAtLeast returns the tenants in which the actor holds at least
// role through a tenant grant (the global role is not expanded).
func (rs Roles) TenantsAtLeast(role Role) []string {
	var out []string
	for id, r := range rs.Tenants {
		if r >= role {
			out = append(out, id)
		}
	}
	slices.Sort(out)
	return out
}

// roles reads everything the actor holds.
func (b *Bot) roles(ctx context.Context, actor string) (Roles, error) {
	rs := Roles{Tenants: map[string]Role{}}
	if slices.Contains(b.Admins, actor) {
		rs.Global = RoleAdmin
	}
	grants, err := b.Store.GrantsOf(ctx, actor)
	if err != nil {
		return Roles{}, err
	}
	for _, g := range grants {
		if g.Actor != actor {
			continue // a store's mistake must not hand out a role
		}
		if g.Tenant == "" {
			rs.Global = max(rs.Global, g.Role)
		} else {
			rs.Tenants[g.Tenant] = max(rs.Tenants[g.Tenant], g.Role)
		}
	}
	return rs, nil
}

// role returns the actor's role in one tenant; tenantID "" asks for the
// global role only, never for "any tenant".
func (b *Bot) role(ctx context.Context, actor, tenantID string) (Role, error) {
	rs, err := b.roles(ctx, actor)
	if err != nil {
		return RoleNone, err
	}
	return rs.In(tenantID), nil
}

// RoleIn returns the actor's effective role in a tenant ("" for the
// global role), as every check in the bot computes it.
func (b *Bot) RoleIn(ctx context.Context, actor, tenantID string) (Role, error) {
	return b.role(ctx, actor, tenantID)
}
