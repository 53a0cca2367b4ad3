package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"go.etcd.io/bbolt"
)

// bucketChatRefs holds what a chat adapter needs to reach conversations
// and people after a restart (Teams: a conversation's service URL, a
// user's one-to-one chat), as the adapter encodes it. Never a secret. The
// bucket is created on the first write; until then it reads as empty.
var bucketChatRefs = []byte("chat_refs")

// PutChatRef stores value under key, replacing what was there.
func (db *DB) PutChatRef(ctx context.Context, key string, value []byte) error {
	if key == "" {
		return errors.New("put chat ref: empty key")
	}
	return db.update(ctx, func(tx *bbolt.Tx) error {
		bk, err := tx.CreateBucketIfNotExists(bucketChatRefs)
		if err != nil {
			return fmt.Errorf("put chat ref %q: %w", key, err)
		}
		return bk.Put([]byte(key), bytes.Clone(value))
	})
}

// DeleteChatRef removes key; removing a missing key is no error.
func (db *DB) DeleteChatRef(ctx context.Context, key string) error {
	return db.update(ctx, func(tx *bbolt.Tx) error {
		if bk := tx.Bucket(bucketChatRefs); bk != nil {
			return bk.Delete([]byte(key))
		}
		return nil
	})
}

// ChatRefs returns every stored value whose key starts with prefix, by key.
func (db *DB) ChatRefs(ctx context.Context, prefix string) (map[string][]byte, error) {
	out := map[string][]byte{}
	err := db.view(ctx, func(tx *bbolt.Tx) error {
		bk := tx.Bucket(bucketChatRefs)
		if bk == nil {
			return nil
		}
		c := bk.Cursor()
		p := []byte(prefix)
		for k, v := c.Seek(p); k != nil && bytes.HasPrefix(k, p); k, v = c.Next() {
			out[string(k)] = bytes.Clone(v)
		}
		return nil
	})
	return out, err
}
