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
			if strings.EqualFold(t.DefaultDomain, domain) || slices.ContainsFunc(t.Domains, func(d string) bool {
				return strings.EqualFold(d, domain)
			}) {
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
	slices.SortFunc(list, func(a, b bot.Tenant) int {
		if c := cmp.Compare(strings.ToLower(a.DefaultDomain), strings.ToLower(b.DefaultDomain)); c != 0 {
			return c
		}
		if c := cmp.Compare(a.DefaultDomain, b.DefaultDomain); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
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
