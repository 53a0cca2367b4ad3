package store

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/cippbot/cippbot/bot"
	"go.etcd.io/bbolt"
)

// grantKey is the key of the grant for actor in tenant. Neither may hold a
// NUL byte, so the key is unambiguous and keys sort by actor, then tenant.
func grantKey(actor, tenant string) ([]byte, error) {
	if strings.ContainsRune(actor, 0) || strings.ContainsRune(tenant, 0) {
		return nil, errors.New("actor or tenant holds a NUL byte")
	}
	return []byte(actor + "\x00" + tenant), nil
}

// Grants returns every grant, sorted by actor, then tenant: the keys'
// order, since the NUL byte between the two sorts before every other.
func (db *DB) Grants(ctx context.Context) ([]bot.Grant, error) {
	return db.grantsFrom(ctx, nil)
}

// GrantsOf returns actor's grants, sorted by tenant.
func (db *DB) GrantsOf(ctx context.Context, actor string) ([]bot.Grant, error) {
	prefix, err := grantKey(actor, "")
	if err != nil {
		return nil, nil // no grant can be stored for it
	}
	return db.grantsFrom(ctx, prefix)
}

// grantsFrom returns the grants whose keys begin with prefix, in key
// order.
func (db *DB) grantsFrom(ctx context.Context, prefix []byte) ([]bot.Grant, error) {
	var list []bot.Grant
	err := db.view(ctx, func(tx *bbolt.Tx) error {
		bk := tx.Bucket(bucketGrants)
		if bk == nil {
			return nil
		}
		c := bk.Cursor()
		for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			var g bot.Grant
			if err := json.Unmarshal(v, &g); err != nil {
				return fmt.Errorf("grant %q: %w", k, err)
			}
			list = append(list, g)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return list, nil
}

// PutGrant stores g, replacing any grant for the same actor and tenant. The
// role must be one that can be read back (viewer to admin).
func (db *DB) PutGrant(ctx context.Context, g bot.Grant) error {
	if g.Actor == "" {
		return errors.New("put grant: empty actor")
	}
	// A role outside viewer..admin is written as "none", which cannot be
	// read back and would make Grants fail for every grant.
	if g.Role <= bot.RoleNone || g.Role > bot.RoleAdmin {
		return fmt.Errorf("put grant for %s: role %d cannot be granted", g.Actor, int(g.Role))
	}
	key, err := grantKey(g.Actor, g.Tenant)
	if err != nil {
		return fmt.Errorf("put grant: %w", err)
	}
	return db.update(ctx, func(tx *bbolt.Tx) error {
		if err := put(tx, bucketGrants, key, g); err != nil {
			return fmt.Errorf("put grant for %s: %w", g.Actor, err)
		}
		return nil
	})
}

// DeleteGrant removes the grant for actor in tenant; bot.ErrNotFound if there
// is none.
func (db *DB) DeleteGrant(ctx context.Context, actor, tenant string) error {
	key, err := grantKey(actor, tenant)
	if err != nil {
		return fmt.Errorf("delete grant: %w", err)
	}
	return db.update(ctx, func(tx *bbolt.Tx) error {
		bk := tx.Bucket(bucketGrants)
		if bk == nil || bk.Get(key) == nil {
			return fmt.Errorf("grant for %s in tenant %q: %w", actor, tenant, bot.ErrNotFound)
		}
		return bk.Delete(key)
	})
}
