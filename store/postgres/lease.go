package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// AcquireLease takes the named lease for holder for ttl, or renews it if
// holder has it, and reports whether holder has it now: false if another
// holder's lease has not lapsed. Expiry is by the database's clock, so
// replicas whose clocks disagree still agree on who holds it. One
// statement (an upsert whose update applies only to the holder's own or a
// lapsed row) decides, so of concurrent calls for a free lease exactly one
// gets it; it works through a transaction-pooling proxy, unlike a session
// advisory lock.
func (db *DB) AcquireLease(ctx context.Context, name, holder string, ttl time.Duration) (bool, error) {
	if name == "" || holder == "" {
		return false, errors.New("acquire lease: empty name or holder")
	}
	if ttl <= 0 {
		return false, fmt.Errorf("acquire lease %s: ttl %v is not positive", name, ttl)
	}
	n, err := db.exec(ctx, `INSERT INTO leases (name, holder, valid_until)
VALUES ($1, $2, clock_timestamp() + $3 * interval '1 microsecond')
ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, valid_until = excluded.valid_until
WHERE leases.holder = excluded.holder OR leases.valid_until <= clock_timestamp()`,
		[]byte(name), []byte(holder), max(1, ttl.Microseconds()))
	if err != nil {
		return false, fmt.Errorf("acquire lease %s: %w", name, err)
	}
	return n == 1, nil
}

// ReleaseLease gives up the named lease if holder has it, so that another
// may take it at once; it does nothing otherwise.
func (db *DB) ReleaseLease(ctx context.Context, name, holder string) error {
	if _, err := db.exec(ctx, `DELETE FROM leases WHERE name = $1 AND holder = $2`, []byte(name), []byte(holder)); err != nil {
		return fmt.Errorf("release lease %s: %w", name, err)
	}
	return nil
}

// LeaseHolder returns who holds the named lease, "" if nobody does (it
// was never taken, was released or has lapsed).
func (db *DB) LeaseHolder(ctx context.Context, name string) (string, error) {
	if err := db.ready(ctx); err != nil {
		return "", err
	}
	var holder []byte
	err := db.pool.QueryRow(ctx, `SELECT holder FROM leases WHERE name = $1 AND valid_until > clock_timestamp()`, []byte(name)).Scan(&holder)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("lease %s: %w", name, err)
	}
	return string(holder), nil
}
