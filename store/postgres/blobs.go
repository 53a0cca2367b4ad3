package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/cippbot/cippbot/store"
)

var _ store.Blobs = (*DB)(nil)

// PutBlob implements store.Blobs; the value is sealed before it gets here.
func (db *DB) PutBlob(ctx context.Context, name string, value []byte) error {
	if _, err := db.exec(ctx, `INSERT INTO sealed (name, value) VALUES ($1, $2)
ON CONFLICT (name) DO UPDATE SET value = excluded.value`, []byte(name), value); err != nil {
		return fmt.Errorf("put %s: %w", name, err)
	}
	return nil
}

// Blob implements store.Blobs.
func (db *DB) Blob(ctx context.Context, name string) ([]byte, error) {
	return db.value(ctx, `SELECT value FROM sealed WHERE name = $1`, name)
}

// DeleteBlob implements store.Blobs.
func (db *DB) DeleteBlob(ctx context.Context, name string) error {
	if _, err := db.exec(ctx, `DELETE FROM sealed WHERE name = $1`, []byte(name)); err != nil {
		return fmt.Errorf("delete %s: %w", name, err)
	}
	return nil
}

// PutChatRef stores value under key, replacing what was there: what a
// chat adapter needs to reach a conversation after a restart, never a
// secret.
func (db *DB) PutChatRef(ctx context.Context, key string, value []byte) error {
	if key == "" {
		return errors.New("put chat ref: empty key")
	}
	if _, err := db.exec(ctx, `INSERT INTO chat_refs (key, value) VALUES ($1, $2)
ON CONFLICT (key) DO UPDATE SET value = excluded.value`, []byte(key), value); err != nil {
		return fmt.Errorf("put chat ref %q: %w", key, err)
	}
	return nil
}

// DeleteChatRef removes key; removing a missing key is no error.
func (db *DB) DeleteChatRef(ctx context.Context, key string) error {
	if _, err := db.exec(ctx, `DELETE FROM chat_refs WHERE key = $1`, []byte(key)); err != nil {
		return fmt.Errorf("delete chat ref %q: %w", key, err)
	}
	return nil
}

// ChatRefs returns every stored value whose key starts with prefix, by
// key. Keys are bytea, so the prefix is matched on bytes, as bbolt's
// cursor does.
func (db *DB) ChatRefs(ctx context.Context, prefix string) (map[string][]byte, error) {
	if err := db.ready(ctx); err != nil {
		return nil, err
	}
	rows, err := db.pool.Query(ctx, `SELECT key, value FROM chat_refs
WHERE substring(key FROM 1 FOR octet_length($1::bytea)) = $1::bytea`, []byte(prefix))
	if err != nil {
		return nil, fmt.Errorf("chat refs: %w", err)
	}
	out := map[string][]byte{}
	var k, v []byte
	_, err = pgx.ForEachRow(rows, []any{&k, &v}, func() error {
		out[string(k)] = append([]byte(nil), v...)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("chat refs: %w", err)
	}
	return out, nil
}

// value reads one bytea column of at most one row; nil when there is none.
func (db *DB) value(ctx context.Context, sql, key string) ([]byte, error) {
	if err := db.ready(ctx); err != nil {
		return nil, err
	}
	var v []byte
	err := db.pool.QueryRow(ctx, sql, []byte(key)).Scan(&v)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", key, err)
	}
	return v, nil
}
