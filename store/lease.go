package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"go.etcd.io/bbolt"
)

// Leases choose one holder among replicas for duties only one may do at a
// time (the Discord gateway, tenant sync, publishing the audit head): a
// replica holds a lease until a time, renews it well before then, and
// another takes it over once it has lapsed. The bbolt store serves one
// process, so there the lease only passes between holders in it; the
// PostgreSQL store keeps the same contract across processes.

// bucketLeases maps a lease's name to its holder and expiry (a lease).
var bucketLeases = []byte("leases")

type lease struct {
	Holder string `json:"holder"`
	Until  int64  `json:"until"` // unix nanoseconds
}

// AcquireLease takes the named lease for holder for ttl, or renews it if
// holder has it, and reports whether holder has it now: false if another
// holder's lease has not lapsed. Of concurrent calls for a free lease,
// exactly one gets it. An empty name or holder, or a ttl that is not
// positive, is an error.
func (db *DB) AcquireLease(ctx context.Context, name, holder string, ttl time.Duration) (bool, error) {
	if name == "" || holder == "" {
		return false, errors.New("acquire lease: empty name or holder")
	}
	if ttl <= 0 {
		return false, fmt.Errorf("acquire lease %s: ttl %v is not positive", name, ttl)
	}
	var got bool
	err := db.update(ctx, func(tx *bbolt.Tx) error {
		now := db.now()
		if v := get(tx, bucketLeases, []byte(name)); v != nil {
			var l lease
			if err := json.Unmarshal(v, &l); err == nil && l.Holder != holder && l.Until > now.UnixNano() {
				return nil
			}
		}
		got = true
		return put(tx, bucketLeases, []byte(name), lease{Holder: holder, Until: now.Add(ttl).UnixNano()})
	})
	return got, err
}

// ReleaseLease gives up the named lease if holder has it, so that another
// may take it at once; it does nothing otherwise.
func (db *DB) ReleaseLease(ctx context.Context, name, holder string) error {
	return db.update(ctx, func(tx *bbolt.Tx) error {
		v := get(tx, bucketLeases, []byte(name))
		var l lease
		if v == nil || json.Unmarshal(v, &l) != nil || l.Holder != holder {
			return nil
		}
		return tx.Bucket(bucketLeases).Delete([]byte(name))
	})
}

// LeaseHolder returns who holds the named lease, "" if nobody does (it
// was never taken, was released or has lapsed).
func (db *DB) LeaseHolder(ctx context.Context, name string) (string, error) {
	var holder string
	err := db.view(ctx, func(tx *bbolt.Tx) error {
		v := get(tx, bucketLeases, []byte(name))
		if v == nil {
			return nil
		}
		var l lease
		if err := json.Unmarshal(v, &l); err != nil {
			return fmt.Errorf("lease %s: %w", name, err)
		}
		if l.Until > db.now().UnixNano() {
			holder = l.Holder
		}
		return nil
	})
	return holder, err
}
