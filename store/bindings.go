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

// bindingKey is the key of the binding of channel on platform. Neither may
// be empty or hold a NUL byte, so the key is unambiguous and keys sort by
// platform, then channel.
func bindingKey(platform, channel string) ([]byte, error) {
	if platform == "" || channel == "" {
		return nil, errors.New("empty platform or channel")
	}
	if strings.ContainsRune(platform, 0) || strings.ContainsRune(channel, 0) {
		return nil, errors.New("platform or channel holds a NUL byte")
	}
	return []byte(platform + "\x00" + channel), nil
}

// Binding returns the binding of channel on platform, or bot.ErrNotFound.
func (db *DB) Binding(ctx context.Context, platform, channel string) (bot.Binding, error) {
	var b bot.Binding
	key, err := bindingKey(platform, channel)
	if err != nil {
		return b, fmt.Errorf("binding of %s channel %q: %w", platform, channel, bot.ErrNotFound)
	}
	err = db.view(ctx, func(tx *bbolt.Tx) error {
		v := get(tx, bucketBindings, key)
		if v == nil {
			return fmt.Errorf("binding of %s channel %s: %w", platform, channel, bot.ErrNotFound)
		}
		if err := json.Unmarshal(v, &b); err != nil {
			return fmt.Errorf("binding of %s channel %s: %w", platform, channel, err)
		}
		return nil
	})
	if err != nil {
		return bot.Binding{}, err
	}
	return b, nil
}

// PutBinding stores b, replacing the channel's binding. The platform,
// channel and tenant must be set, and the tenant must be in the directory;
// if it is not, the error wraps bot.ErrNotFound.
func (db *DB) PutBinding(ctx context.Context, b bot.Binding) error {
	key, err := bindingKey(b.Platform, b.Channel)
	if err != nil {
		return fmt.Errorf("put binding: %w", err)
	}
	if b.TenantID == "" {
		return fmt.Errorf("put binding of %s channel %s: empty tenant ID", b.Platform, b.Channel)
	}
	return db.update(ctx, func(tx *bbolt.Tx) error {
		if get(tx, bucketTenants, []byte(b.TenantID)) == nil {
			return fmt.Errorf("put binding of %s channel %s: tenant %q is not in the directory: %w", b.Platform, b.Channel, b.TenantID, bot.ErrNotFound)
		}
		if err := put(tx, bucketBindings, key, b); err != nil {
			return fmt.Errorf("put binding of %s channel %s: %w", b.Platform, b.Channel, err)
		}
		return nil
	})
}

// DeleteBinding removes the binding of channel on platform; bot.ErrNotFound
// if there is none.
func (db *DB) DeleteBinding(ctx context.Context, platform, channel string) error {
	key, err := bindingKey(platform, channel)
	if err != nil {
		return fmt.Errorf("binding of %s channel %q: %w", platform, channel, bot.ErrNotFound)
	}
	return db.update(ctx, func(tx *bbolt.Tx) error {
		bk := tx.Bucket(bucketBindings)
		if bk == nil || bk.Get(key) == nil {
			return fmt.Errorf("binding of %s channel %s: %w", platform, channel, bot.ErrNotFound)
		}
		return bk.Delete(key)
	})
}

// Bindings returns every binding, sorted by platform, then channel.
func (db *DB) Bindings(ctx context.Context) ([]bot.Binding, error) {
	var list []bot.Binding
	err := db.view(ctx, func(tx *bbolt.Tx) error {
		return forEachBinding(tx, func(_ []byte, b bot.Binding) {
			list = append(list, b)
		})
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(list, func(a, b bot.Binding) int {
		if c := cmp.Compare(a.Platform, b.Platform); c != 0 {
			return c
		}
		return cmp.Compare(a.Channel, b.Channel)
	})
	return list, nil
}

// deleteBindingsTo removes, in tx, every binding to the tenant with the
// given ID.
func deleteBindingsTo(tx *bbolt.Tx, tenantID string) error {
	var keys [][]byte
	err := forEachBinding(tx, func(k []byte, b bot.Binding) {
		if b.TenantID == tenantID {
			keys = append(keys, slices.Clone(k))
		}
	})
	if err != nil {
		return err
	}
	bk := tx.Bucket(bucketBindings)
	for _, k := range keys {
		if err := bk.Delete(k); err != nil {
			return fmt.Errorf("delete binding %q: %w", k, err)
		}
	}
	return nil
}

func forEachBinding(tx *bbolt.Tx, fn func(k []byte, b bot.Binding)) error {
	return forEach(tx, bucketBindings, func(k, v []byte) error {
		var b bot.Binding
		if err := json.Unmarshal(v, &b); err != nil {
			return fmt.Errorf("binding %q: %w", k, err)
		}
		fn(k, b)
		return nil
	})
}
