package store

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/cippbot/cippbot/bot"
	"go.etcd.io/bbolt"
)

// TenantByDomain returns the tenant one of whose domains, or whose default
// domain, is domain (case-insensitive); bot.ErrNotFound if there is none. If
// more than one tenant claims the domain it returns an error rather than
// guess which customer is meant.
func (db *DB) TenantByDomain(ctx context.Context, domain string) (bot.Tenant, error) {
	if domain == "" {
		return bot.Tenant{}, fmt.Errorf("tenant for domain %q: %w", domain, bot.ErrNotFound)
	}
	var found []bot.Tenant
	err := db.view(ctx, func(tx *bbolt.Tx) error {
		return forEachTenant(tx, func(t bot.Tenant) {
			if TenantHasDomain(t, domain) {
				found = append(found, t)
			}
		})
	})
	switch {
	case err != nil:
		return bot.Tenant{}, err
	case len(found) == 0:
		return bot.Tenant{}, fmt.Errorf("tenant for domain %q: %w", domain, bot.ErrNotFound)
	case len(found) > 1:
		ids := make([]string, len(found))
		for i, t := range found {
			ids[i] = t.ID
		}
		return bot.Tenant{}, fmt.Errorf("domain %q is claimed by more than one tenant (%s)", domain, strings.Join(ids, ", "))
	}
	return found[0], nil
}

// Tenants returns every tenant, sorted by default domain (ignoring case).
func (db *DB) Tenants(ctx context.Context) ([]bot.Tenant, error) {
	var list []bot.Tenant
	err := db.view(ctx, func(tx *bbolt.Tx) error {
		return forEachTenant(tx, func(t bot.Tenant) { list = append(list, t) })
	})
	if err != nil {
		return nil, err
	}
	sortTenants(list)
	return list, nil
}

// PutTenant stores t, replacing any tenant with the same ID.
func (db *DB) PutTenant(ctx context.Context, t bot.Tenant) error {
	if t.ID == "" {
		return errors.New("put tenant: empty ID")
	}
	return db.update(ctx, func(tx *bbolt.Tx) error {
		if err := put(tx, bucketTenants, []byte(t.ID), t); err != nil {
			return fmt.Errorf("put tenant %s: %w", t.ID, err)
		}
		return nil
	})
}

// TenantByName returns the tenant that name stands for, ignoring case: its
// ID, its alias (Alias, or when that is empty the first label of its default
// domain: "contoso" for contoso.com), its default domain or one of its
// domains. bot.ErrNotFound if no tenant matches; if several do, an error
// naming their default domains, so that the technician can say which one.
func (db *DB) TenantByName(ctx context.Context, name string) (bot.Tenant, error) {
	if name == "" {
		return bot.Tenant{}, fmt.Errorf("tenant %q: %w", name, bot.ErrNotFound)
	}
	var found []bot.Tenant
	err := db.view(ctx, func(tx *bbolt.Tx) error {
		return forEachTenant(tx, func(t bot.Tenant) {
			if tenantIsNamed(t, name) {
				found = append(found, t)
			}
		})
	})
	switch {
	case err != nil:
		return bot.Tenant{}, err
	case len(found) == 0:
		return bot.Tenant{}, fmt.Errorf("tenant %q: %w", name, bot.ErrNotFound)
	case len(found) > 1:
		sortTenants(found)
		names := make([]string, len(found))
		for i, t := range found {
			names[i] = cmp.Or(t.DefaultDomain, t.ID)
		}
		return bot.Tenant{}, fmt.Errorf("%q matches %d tenants: %s; use the domain", name, len(found), strings.Join(names, ", "))
	}
	return found[0], nil
}

// tenantIsNamed says whether name, ignoring case, is t's ID, alias, default
// domain or one of its domains.
func tenantIsNamed(t bot.Tenant, name string) bool {
	eq := func(s string) bool { return s != "" && strings.EqualFold(s, name) }
	return eq(t.ID) || eq(tenantAlias(t)) || eq(t.DefaultDomain) || slices.ContainsFunc(t.Domains, eq)
}

// tenantAlias returns t's alias: Alias, or the first label of its default
// domain.
func tenantAlias(t bot.Tenant) string {
	if t.Alias != "" {
		return t.Alias
	}
	label, _, _ := strings.Cut(t.DefaultDomain, ".")
	return label
}

// DeleteTenant removes the tenant with the given ID and every channel
// binding to it, in one transaction; bot.ErrNotFound if there is no such
// tenant. Grants scoped to the tenant are kept.
func (db *DB) DeleteTenant(ctx context.Context, id string) error {
	return db.update(ctx, func(tx *bbolt.Tx) error {
		bk := tx.Bucket(bucketTenants)
		if id == "" || bk == nil || bk.Get([]byte(id)) == nil {
			return fmt.Errorf("tenant %q: %w", id, bot.ErrNotFound)
		}
		if err := bk.Delete([]byte(id)); err != nil {
			return fmt.Errorf("delete tenant %s: %w", id, err)
		}
		if err := deleteBindingsTo(tx, id); err != nil {
			return fmt.Errorf("delete tenant %s: %w", id, err)
		}
		return nil
	})
}

// sortTenants sorts list by default domain (ignoring case, then not), then
// ID.
func sortTenants(list []bot.Tenant) {
	slices.SortFunc(list, func(a, b bot.Tenant) int {
		if c := cmp.Compare(strings.ToLower(a.DefaultDomain), strings.ToLower(b.DefaultDomain)); c != 0 {
			return c
		}
		if c := cmp.Compare(a.DefaultDomain, b.DefaultDomain); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
}

func forEachTenant(tx *bbolt.Tx, fn func(bot.Tenant)) error {
	return forEach(tx, bucketTenants, func(k, v []byte) error {
		var t bot.Tenant
		if err := json.Unmarshal(v, &t); err != nil {
			return fmt.Errorf("tenant %q: %w", k, err)
		}
		fn(t)
		return nil
	})
}
