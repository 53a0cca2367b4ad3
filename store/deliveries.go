package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/cippbot/cippbot/bot"
	"go.etcd.io/bbolt"
)

// maxPrune bounds how many expired delivery keys one FirstDelivery call
// deletes, so that no call pays for a long backlog at once.
const maxPrune = 100

var _ bot.Deduper = (*DB)(nil)

// FirstDelivery records key and reports whether it was new: false if key
// was recorded less than ttl ago, true (and key recorded as of now) if it
// was not recorded or its record is ttl old or older. In the same
// transaction it forgets up to 100 keys that are ttl old or older, oldest
// first. Write transactions run one at a time, so of concurrent calls
// with the same key exactly one reports true. An empty key or a ttl that
// is not positive is an error.
func (db *DB) FirstDelivery(ctx context.Context, key string, ttl time.Duration) (bool, error) {
	if key == "" {
		return false, errors.New("first delivery: empty key")
	}
	if ttl <= 0 {
		return false, fmt.Errorf("first delivery of %q: ttl %v is not positive", key, ttl)
	}
	var first bool
	err := db.update(ctx, func(tx *bbolt.Tx) error {
		now := db.now()
		cutoff := now.Add(-ttl).UnixNano() // recorded at or before it: expired
		seen, err := tx.CreateBucketIfNotExists(bucketDeliveries)
		if err != nil {
			return fmt.Errorf("first delivery of %q: %w", key, err)
		}
		byTime, err := tx.CreateBucketIfNotExists(bucketDeliveriesByTime)
		if err != nil {
			return fmt.Errorf("first delivery of %q: %w", key, err)
		}
		if err := pruneDeliveries(seen, byTime, cutoff); err != nil {
			return fmt.Errorf("first delivery of %q: %w", key, err)
		}
		k := []byte(key)
		if v := seen.Get(k); v != nil {
			at, ok := deliveryTime(v)
			if ok && len(v) == 8 && at > cutoff {
				return nil // a repeat
			}
			// Expired, or unreadable: drop its index entry and record the
			// key afresh below.
			if ok {
				if err := byTime.Delete(deliveryIndexKey(at, k)); err != nil {
					return fmt.Errorf("first delivery of %q: %w", key, err)
				}
			}
		}
		at := now.UnixNano()
		if err := seen.Put(k, binary.BigEndian.AppendUint64(nil, uint64(at))); err != nil {
			return fmt.Errorf("first delivery of %q: %w", key, err)
		}
		if err := byTime.Put(deliveryIndexKey(at, k), []byte{}); err != nil {
			return fmt.Errorf("first delivery of %q: %w", key, err)
		}
		first = true
		return nil
	})
	if err != nil {
		return false, err
	}
	return first, nil
}

// pruneDeliveries deletes up to maxPrune delivery keys recorded at or
// before cutoff (unix nanoseconds), oldest first. It reads the time index
// from its start and stops at the first entry that is not expired, so it
// never scans the keys it keeps.
func pruneDeliveries(seen, byTime *bbolt.Bucket, cutoff int64) error {
	var expired [][]byte
	c := byTime.Cursor()
	for ik, _ := c.First(); ik != nil && len(expired) < maxPrune; ik, _ = c.Next() {
		if at, ok := deliveryTime(ik); ok && at > cutoff {
			break
		}
		// Copied: the cursor's slices are not valid across a delete.
		expired = append(expired, slices.Clone(ik))
	}
	for _, ik := range expired {
		if err := byTime.Delete(ik); err != nil {
			return err
		}
		if len(ik) <= 8 {
			continue // names no key
		}
		// Delete the key only if this entry is its current record.
		k := ik[8:]
		if v := seen.Get(k); v != nil && bytes.Equal(v, ik[:8]) {
			if err := seen.Delete(k); err != nil {
				return err
			}
		}
	}
	return nil
}

// deliveryIndexKey is the time index key of key recorded at at (unix
// nanoseconds): the time, big-endian, then the key, so the index sorts
// oldest first.
func deliveryIndexKey(at int64, key []byte) []byte {
	return append(binary.BigEndian.AppendUint64(nil, uint64(at)), key...)
}

// deliveryTime reads the big-endian unix nanoseconds at the start of b (a
// delivery's value, or a time index key).
func deliveryTime(b []byte) (int64, bool) {
	if len(b) < 8 {
		return 0, false
	}
	return int64(binary.BigEndian.Uint64(b)), true
}
