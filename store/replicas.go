package store

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"go.etcd.io/bbolt"
)

// bucketReplicas maps a replica's ID to its last heartbeat (unix
// nanoseconds, big-endian).
var bucketReplicas = []byte("replicas")

// Heartbeat records that replica is alive now. A replica calls it every
// few seconds; running approvals carry its ID, and a starting replica
// takes as interrupted only the runs of replicas whose heartbeat stopped.
func (db *DB) Heartbeat(ctx context.Context, replica string) error {
	if replica == "" {
		return errors.New("heartbeat: empty replica ID")
	}
	return db.update(ctx, func(tx *bbolt.Tx) error {
		bk, err := tx.CreateBucketIfNotExists(bucketReplicas)
		if err != nil {
			return err
		}
		return bk.Put([]byte(replica), binary.BigEndian.AppendUint64(nil, uint64(db.now().UnixNano())))
	})
}

// LiveReplicas returns the replicas whose last heartbeat is less than
// within old, sorted.
func (db *DB) LiveReplicas(ctx context.Context, within time.Duration) ([]string, error) {
	var live []string
	err := db.view(ctx, func(tx *bbolt.Tx) error {
		cutoff := db.now().Add(-within).UnixNano()
		return forEach(tx, bucketReplicas, func(k, v []byte) error {
			if len(v) != 8 {
				return fmt.Errorf("replica %q: damaged heartbeat", k)
			}
			if int64(binary.BigEndian.Uint64(v)) > cutoff {
				live = append(live, string(k))
			}
			return nil
		})
	})
	return live, err
}
