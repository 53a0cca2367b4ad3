package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// Heartbeat records that replica is alive now, by the database's clock.
func (db *DB) Heartbeat(ctx context.Context, replica string) error {
	if replica == "" {
		return errors.New("heartbeat: empty replica ID")
	}
	if _, err := db.exec(ctx, `INSERT INTO replicas (id, seen_at) VALUES ($1, clock_timestamp())
ON CONFLICT (id) DO UPDATE SET seen_at = excluded.seen_at`, []byte(replica)); err != nil {
		return fmt.Errorf("heartbeat of %s: %w", replica, err)
	}
	return nil
}

// LiveReplicas returns the replicas whose last heartbeat is less than
// within old by the database's clock, sorted.
func (db *DB) LiveReplicas(ctx context.Context, within time.Duration) ([]string, error) {
	if err := db.ready(ctx); err != nil {
		return nil, err
	}
	rows, err := db.pool.Query(ctx, `SELECT id FROM replicas WHERE seen_at > clock_timestamp() - $1 * interval '1 microsecond' ORDER BY id`,
		within.Microseconds())
	if err != nil {
		return nil, err
	}
	var (
		live []string
		id   []byte
	)
	_, err = pgx.ForEachRow(rows, []any{&id}, func() error {
		live = append(live, string(id))
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("live replicas: %w", err)
	}
	return live, nil
}
