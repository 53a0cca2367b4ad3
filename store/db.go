// Package store keeps everything cippbot persists — approvals, the audit
// trail, role grants, the tenant directory, channel bindings and the
// delivery keys of recent chat events — in a single bbolt file. DB
// implements bot.Store and bot.Deduper.
//
// The audit trail is append-only and hash-chained: each record holds the hash
// of the one before it, and the hash and sequence number of the newest record
// (the head) are kept apart from the records and updated in the same
// transaction. VerifyAudit walks the chain and reports the first record that
// was altered, removed or added behind the bot's back. With an audit key
// (DB.AuditKey), records are chained with HMAC-SHA256 under it, so that
// nobody without the key can rewrite them and their hashes. An index of the
// records by target, written with each record, serves Audit's Target filter;
// it is derived from the trail and is not part of what VerifyAudit checks.
//
// Open refuses a file that exists but is empty or damaged (a
// *DamagedError): a new store is created only where no file exists.
package store

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"sync/atomic"
	"time"

	"github.com/cippbot/cippbot/bot"
	"go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
)

// Bucket names.
var (
	bucketApprovals  = []byte("approvals")
	bucketAudit      = []byte("audit")
	bucketAuditIndex = []byte("audit_by_target")
	bucketMeta       = []byte("meta")
	bucketGrants     = []byte("grants")
	bucketTenants    = []byte("tenants")
	bucketBindings   = []byte("bindings")
	// bucketDeliveries maps a delivery key to when it was first seen;
	// bucketDeliveriesByTime indexes the same keys by that time (time, then
	// key), so expired keys are found without scanning the rest.
	bucketDeliveries       = []byte("deliveries")
	bucketDeliveriesByTime = []byte("deliveries_by_time")
	// bucketApprovalsByTime and bucketApprovalsActive index the approvals
	// by creation time and hold the pending and running ones (approvals.go).
	bucketApprovalsByTime = []byte("approvals_by_time")
	bucketApprovalsActive = []byte("approvals_active")
	// bucketApprovalsRetired holds the IDs of pruned approvals, which are
	// never given again (approvals.go).
	bucketApprovalsRetired = []byte("approvals_retired")

	allBuckets = [][]byte{bucketApprovals, bucketAudit, bucketAuditIndex, bucketMeta, bucketGrants, bucketTenants, bucketBindings,
		bucketDeliveries, bucketDeliveriesByTime, bucketJobs, bucketApprovalsByTime, bucketApprovalsActive, bucketApprovalsRetired}
)

// keyAuditHead is the key, in the meta bucket, of the audit trail's head.
var keyAuditHead = []byte("audit_head")

// defaultOpenTimeout is how long Open waits for another process's lock when
// DB.OpenTimeout is zero.
const defaultOpenTimeout = 2 * time.Second

// ErrClosed is returned by every method of a DB that is not open.
var ErrClosed = errors.New("store: database is not open")

// DB is the bbolt-backed store. Set its fields before calling Open; it is
// safe for concurrent use once open.
type DB struct {
	// Path is the database file. Open creates it (mode 0600) if needed; its
	// directory must exist.
	Path string
	// Now returns the current time; nil means time.Now. Append stamps
	// records that have no time with it, and FirstDelivery records and
	// expires delivery keys by it.
	Now func() time.Time
	// OpenTimeout is how long Open waits for another process to release
	// the file's lock; 0 means 2s.
	OpenTimeout time.Duration
	// AuditKey, if set, keys the audit trail: Append chains records with
	// HMAC-SHA256 under it instead of plain SHA-256, and VerifyAudit
	// checks them with it. It never appears in records, logs or errors.
	AuditKey []byte
	// NoSync skips the fsync after each commit (bbolt's DB.NoSync): a
	// crash or power loss can then lose or damage the file. Only tests set
	// it, on files that die with them; serve never does.
	NoSync bool

	bolt atomic.Pointer[bbolt.DB]
	// prunedTransient is when PutTransient last removed expired values
	// (Unix nanoseconds).
	prunedTransient atomic.Int64
}

var _ bot.Store = (*DB)(nil)

// NewDB returns a DB for the file at path. Call Open before using it.
func NewDB(path string) *DB {
	return &DB{Path: path}
}

// Open opens the database file, creating it and every bucket if needed, and
// brings the audit index up to date with the trail (building it, the first
// time a file from before the index is opened). If another process has the
// file open, Open gives up after OpenTimeout.
func (db *DB) Open() error {
	if db.bolt.Load() != nil {
		return fmt.Errorf("open %s: already open", db.Path)
	}
	if db.Path == "" {
		return errors.New("open database: no path")
	}
	timeout := db.OpenTimeout
	if timeout <= 0 {
		timeout = defaultOpenTimeout
	}
	// A file that exists is checked before bbolt maps it: bbolt would
	// start an empty file afresh and crash on a damaged one. Only where no
	// file exists is a new store created.
	if fileExists(db.Path) {
		if err := checkFile(db.Path); err != nil {
			var pe *fs.PathError
			if errors.As(err, &pe) {
				err = pe.Err
			}
			var de *DamagedError
			if errors.As(err, &de) {
				return de
			}
			return fmt.Errorf("open %s: %w", db.Path, err)
		}
	}
	b, err := openBolt(db.Path, timeout)
	if err != nil {
		var de *DamagedError
		switch {
		case errors.Is(err, bolterrors.ErrTimeout):
			return &lockedError{path: db.Path, err: err}
		case errors.As(err, &de):
			return de
		case errors.Is(err, bolterrors.ErrInvalid), errors.Is(err, bolterrors.ErrVersionMismatch), errors.Is(err, bolterrors.ErrChecksum):
			return &DamagedError{Path: db.Path, Reason: "not a usable cippbot database: " + err.Error(), Err: err}
		}
		// The error from opening the file names the path already; keep
		// only its cause so the path is not repeated.
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return fmt.Errorf("open %s: %w", db.Path, err)
	}
	b.NoSync = db.NoSync
	err = guardBolt(db.Path, func() error { return b.Update(db.openTx) })
	if err != nil {
		_ = b.Close()
		var de *DamagedError
		if errors.As(err, &de) {
			return de
		}
		return fmt.Errorf("open %s: %w", db.Path, err)
	}
	if !db.bolt.CompareAndSwap(nil, b) {
		_ = b.Close()
		return fmt.Errorf("open %s: already open", db.Path)
	}
	return nil
}

// openTx creates every bucket and brings the audit index up to date.
func (db *DB) openTx(tx *bbolt.Tx) error {
	indexed := tx.Bucket(bucketAuditIndex) != nil
	approvalsIndexed := tx.Bucket(bucketApprovalsByTime) != nil
	for _, name := range allBuckets {
		if _, err := tx.CreateBucketIfNotExists(name); err != nil {
			return fmt.Errorf("create bucket %s: %w", name, err)
		}
	}
	if !approvalsIndexed {
		if err := buildApprovalIndexes(tx); err != nil {
			return err
		}
	}
	if err := syncAuditIndex(tx, indexed); err != nil {
		return err
	}
	return db.checkAuditKey(tx)
}

// Close closes the database. Closing a closed DB does nothing.
func (db *DB) Close() error {
	b := db.bolt.Swap(nil)
	if b == nil {
		return nil
	}
	if err := b.Close(); err != nil {
		return fmt.Errorf("close %s: %w", db.Path, err)
	}
	return nil
}

// lockedError says the database file is locked by another process. It
// wraps bbolt's timeout error.
type lockedError struct {
	path string
	err  error
}

func (e *lockedError) Error() string {
	return "open " + e.path + ": database is in use by another cippbot process (locked); stop it or use another CIPPBOT_DATA"
}

func (e *lockedError) Unwrap() error { return e.err }

// handle returns the open bbolt database, or an error if ctx is done or the
// DB is not open.
func (db *DB) handle(ctx context.Context) (*bbolt.DB, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	b := db.bolt.Load()
	if b == nil {
		return nil, ErrClosed
	}
	return b, nil
}

// view runs fn in a read transaction.
//
// Like update, it turns a panic reading a damaged page, which bbolt meets
// only when a transaction reaches it (Open checks what it can), into a
// *DamagedError: one request fails, naming the file and the fix, instead
// of the process.
func (db *DB) view(ctx context.Context, fn func(*bbolt.Tx) error) error {
	b, err := db.handle(ctx)
	if err != nil {
		return err
	}
	return guardBolt(db.Path, func() error { return b.View(fn) })
}

// update runs fn in a read-write transaction.
func (db *DB) update(ctx context.Context, fn func(*bbolt.Tx) error) error {
	b, err := db.handle(ctx)
	if err != nil {
		return err
	}
	return guardBolt(db.Path, func() error { return b.Update(fn) })
}

func (db *DB) now() time.Time {
	if db.Now != nil {
		return db.Now()
	}
	return time.Now()
}

// forEach calls fn for every key and value of the named bucket, in key
// order. A missing bucket is empty.
func forEach(tx *bbolt.Tx, name []byte, fn func(k, v []byte) error) error {
	bk := tx.Bucket(name)
	if bk == nil {
		return nil
	}
	return bk.ForEach(fn)
}

// get returns the value of key in the named bucket, or nil. A missing bucket
// is empty. The value is valid only during tx.
func get(tx *bbolt.Tx, name, key []byte) []byte {
	bk := tx.Bucket(name)
	if bk == nil {
		return nil
	}
	return bk.Get(key)
}

// put stores v, encoded as JSON, under key in the named bucket.
func put(tx *bbolt.Tx, name, key []byte, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	bk, err := tx.CreateBucketIfNotExists(name)
	if err != nil {
		return err
	}
	return bk.Put(key, b)
}

// seqKey returns the audit bucket key of sequence number seq.
func seqKey(seq uint64) []byte {
	return binary.BigEndian.AppendUint64(nil, seq)
}
