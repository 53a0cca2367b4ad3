// Package postgres keeps cippbot's store in PostgreSQL, for more than one
// replica of the bot on one database. DB implements bot.Store and
// bot.Deduper with the same contracts as the bbolt store (package store);
// both pass the conformance suite in store/storetest.
//
// How each piece of state maps onto the database:
//
//   - Approvals are rows holding the approval's JSON, with its state,
//     creation time and quota stamp in columns of their own for the
//     indexes. UpdateApproval locks the row (SELECT … FOR UPDATE), calls
//     its function and writes the result in the same transaction, so
//     concurrent updates from any replica see each other's changes: a
//     compare-and-swap.
//   - The audit trail is a table of records, each stored as the exact
//     bytes that were hashed (bytea, not jsonb, which reorders keys), and
//     a single head row. Append locks the head row in its transaction, so
//     appends from every replica are serialized into one chain; records
//     are sealed and verified by the same code as the bbolt store's
//     (store.SealRecord, store.AuditChecker), so a trail can be moved
//     between the two and verify on both.
//   - Delivery keys are rows with the time they were first seen, by the
//     database's clock: replicas' clocks may disagree, the database's is
//     one. A key is first when its insert, or its update over an expired
//     row, writes a row.
//   - Keys (IDs, actors, channels, target names) are stored as bytea, so
//     that any bytes a chat platform sends are kept and sort as the bbolt
//     store sorts them.
//
// The schema is versioned: Open applies the migrations the database has
// not had yet, in one transaction, under an advisory lock so that
// replicas starting together do not race.
package postgres

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/cippbot/cippbot/bot"
	"github.com/cippbot/cippbot/store"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Options are the settings of a DB besides where the database is.
type Options struct {
	// AuditKey, if set, keys the audit trail (HMAC-SHA256), as
	// store.DB.AuditKey does. Open refuses a key that does not verify the
	// newest keyed record. It is never written to the database.
	AuditKey []byte
	// Now stamps audit records that have no time; nil means time.Now.
	// Delivery keys are timed by the database's clock, not by it.
	Now func() time.Time
}

// DB is the PostgreSQL store. It is safe for concurrent use, and any
// number of DBs, in any number of processes, may use one database.
type DB struct {
	pool   *pgxpool.Pool
	key    []byte
	now    func() time.Time
	closed atomic.Bool
}

var (
	_ bot.Store   = (*DB)(nil)
	_ bot.Deduper = (*DB)(nil)
)

// IsDSN reports whether s names a PostgreSQL database (a postgres:// or
// postgresql:// URL) rather than a file.
func IsDSN(s string) bool {
	return strings.HasPrefix(s, "postgres://") || strings.HasPrefix(s, "postgresql://")
}

// Open connects to the database dsn names (a postgres:// URL or a
// key=value string, as libpq takes them), brings its schema up to date and
// checks the audit key.
func Open(ctx context.Context, dsn string, opts Options) (*DB, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		// The parse error may quote the DSN, password and all.
		return nil, errors.New("open PostgreSQL store: the connection string does not parse")
	}
	return OpenConfig(ctx, cfg, opts)
}

// OpenConfig is Open with the pool's configuration already made.
func OpenConfig(ctx context.Context, cfg *pgxpool.Config, opts Options) (*DB, error) {
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("open PostgreSQL store: %w", err)
	}
	db := &DB{pool: pool, key: opts.AuditKey, now: opts.Now}
	if db.now == nil {
		db.now = time.Now
	}
	if err := migrate(ctx, pool); err != nil {
		pool.Close()
		return nil, fmt.Errorf("open PostgreSQL store: %w", err)
	}
	if err := db.checkAuditKey(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	return db, nil
}

// Close closes the DB's connections. Closing a closed DB does nothing.
func (db *DB) Close() error {
	if db.closed.Swap(true) {
		return nil
	}
	db.pool.Close()
	return nil
}

// Pool returns the DB's connection pool.
func (db *DB) Pool() *pgxpool.Pool { return db.pool }

// ready returns an error if ctx is done or the DB is closed.
func (db *DB) ready(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if db.closed.Load() {
		return store.ErrClosed
	}
	return nil
}

// tx runs fn in a transaction and commits it if fn returns nil.
func (db *DB) tx(ctx context.Context, opts pgx.TxOptions, fn func(pgx.Tx) error) error {
	if err := db.ready(ctx); err != nil {
		return err
	}
	return pgx.BeginTxFunc(ctx, db.pool, opts, fn)
}

// exec runs one statement and returns how many rows it touched.
func (db *DB) exec(ctx context.Context, sql string, args ...any) (int64, error) {
	if err := db.ready(ctx); err != nil {
		return 0, err
	}
	tag, err := db.pool.Exec(ctx, sql, args...)
	if err != nil {
		return 0, err
	}
	return tag.RowsAffected(), nil
}

// docs runs a query whose rows are one JSON document each and decodes
// them into a list of T.
func docs[T any](ctx context.Context, db *DB, what, sql string, args ...any) ([]T, error) {
	if err := db.ready(ctx); err != nil {
		return nil, err
	}
	rows, err := db.pool.Query(ctx, sql, args...)
	if err != nil {
		return nil, err
	}
	var out []T
	var b []byte
	_, err = pgx.ForEachRow(rows, []any{&b}, func() error {
		var v T
		if err := json.Unmarshal(b, &v); err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		out = append(out, v)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// isUniqueViolation reports whether err is PostgreSQL's unique_violation.
func isUniqueViolation(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23505"
}

// timeKey returns t as 12 bytes that sort as the times do, as the bbolt
// store's index keys do: the Unix seconds, sign bit flipped, then the
// nanoseconds, both big-endian. Unlike timestamptz it keeps nanoseconds,
// which quota counts and ApprovalsSince compare by.
func timeKey(t time.Time) []byte {
	k := binary.BigEndian.AppendUint64(make([]byte, 0, 12), uint64(t.Unix())^(1<<63))
	return binary.BigEndian.AppendUint32(k, uint32(t.Nanosecond()))
}

// keyTime reads a timeKey back.
func keyTime(k []byte) (time.Time, error) {
	if len(k) != 12 {
		return time.Time{}, fmt.Errorf("time key %x is not 12 bytes", k)
	}
	secs := int64(binary.BigEndian.Uint64(k) ^ (1 << 63))
	return time.Unix(secs, int64(binary.BigEndian.Uint32(k[8:]))).UTC(), nil
}
