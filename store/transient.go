package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"time"

	"go.etcd.io/bbolt"

	"github.com/cippbot/cippbot/bot"
)

// bucketTransient holds bot.Transient values: the expiry (Unix
// nanoseconds, big-endian) then the value. It is created by the first
// Put; until then it reads as empty.
var bucketTransient = []byte("transient")

// transientPruneEvery is how often PutTransient removes expired values.
const transientPruneEvery = time.Minute

var _ bot.Transient = (*DB)(nil)

// PutTransient implements bot.Transient, timed by db.Now.
func (db *DB) PutTransient(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	if key == "" || ttl <= 0 {
		return bot.ErrTransientKey
	}
	return db.update(ctx, func(tx *bbolt.Tx) error {
		bk, err := tx.CreateBucketIfNotExists(bucketTransient)
		if err != nil {
			return fmt.Errorf("put transient: %w", err)
		}
		now := db.now()
		if last := db.prunedTransient.Load(); now.UnixNano()-last >= int64(transientPruneEvery) {
			if err := pruneTransient(bk, now); err != nil {
				return fmt.Errorf("put transient: %w", err)
			}
			db.prunedTransient.Store(now.UnixNano())
		}
		v := binary.BigEndian.AppendUint64(make([]byte, 0, 8+len(value)), uint64(now.Add(ttl).UnixNano()))
		return bk.Put([]byte(key), append(v, value...))
	})
}

func pruneTransient(bk *bbolt.Bucket, now time.Time) error {
	var dead [][]byte
	c := bk.Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		if !transientLive(v, now) {
			dead = append(dead, bytes.Clone(k))
		}
	}
	for _, k := range dead {
		if err := bk.Delete(k); err != nil {
			return err
		}
	}
	return nil
}

// transientLive reports whether a stored value has not expired at now.
func transientLive(v []byte, now time.Time) bool {
	return len(v) >= 8 && int64(binary.BigEndian.Uint64(v)) > now.UnixNano()
}

// Transient implements bot.Transient.
func (db *DB) Transient(ctx context.Context, key string) ([]byte, error) {
	var out []byte
	err := db.view(ctx, func(tx *bbolt.Tx) error {
		if v := get(tx, bucketTransient, []byte(key)); v != nil && transientLive(v, db.now()) {
			out = bytes.Clone(v[8:])
		}
		return nil
	})
	return out, err
}

// TakeTransient implements bot.Transient: bbolt's one writer makes the
// read and the delete one step.
func (db *DB) TakeTransient(ctx context.Context, key string) ([]byte, error) {
	var out []byte
	err := db.update(ctx, func(tx *bbolt.Tx) error {
		bk := tx.Bucket(bucketTransient)
		if bk == nil {
			return nil
		}
		v := bk.Get([]byte(key))
		if v == nil {
			return nil
		}
		if transientLive(v, db.now()) {
			out = bytes.Clone(v[8:])
		}
		return bk.Delete([]byte(key))
	})
	return out, err
}
