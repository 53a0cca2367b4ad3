package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/cippbot/cippbot/bot"
)

var _ bot.Transient = (*DB)(nil)

// PutTransient implements bot.Transient, timed by the database's clock, so
// that replicas whose clocks disagree expire a value at one time. It also
// removes some expired values, so the table stays as small as what is
// live.
func (db *DB) PutTransient(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	if key == "" || ttl <= 0 {
		return bot.ErrTransientKey
	}
	if value == nil {
		value = []byte{}
	}
	err := db.tx(ctx, pgx.TxOptions{}, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `DELETE FROM transient WHERE key IN
(SELECT key FROM transient WHERE expires_at <= now() LIMIT 100 FOR UPDATE SKIP LOCKED)`); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO transient (key, value, expires_at)
VALUES ($1, $2, now() + $3 * interval '1 microsecond')
ON CONFLICT (key) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at`,
			[]byte(key), value, ttl.Microseconds())
		return err
	})
	if err != nil {
		return fmt.Errorf("put transient: %w", err)
	}
	return nil
}

// Transient implements bot.Transient.
func (db *DB) Transient(ctx context.Context, key string) ([]byte, error) {
	return db.transient(ctx, `SELECT value FROM transient WHERE key = $1 AND expires_at > now()`, key)
}

// TakeTransient implements bot.Transient: one DELETE … RETURNING, so of
// concurrent takers on any replica one gets the row.
func (db *DB) TakeTransient(ctx context.Context, key string) ([]byte, error) {
	return db.transient(ctx, `WITH gone AS (DELETE FROM transient WHERE key = $1 RETURNING value, expires_at)
SELECT value FROM gone WHERE expires_at > now()`, key)
}

func (db *DB) transient(ctx context.Context, sql, key string) ([]byte, error) {
	if err := db.ready(ctx); err != nil {
		return nil, err
	}
	var v []byte
	err := db.pool.QueryRow(ctx, sql, []byte(key)).Scan(&v)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("transient: %w", err)
	}
	if v == nil {
		v = []byte{}
	}
	return v, nil
}
