package store

import (
	"bytes"
	"context"
	"crypto/hmac"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/cippbot/cippbot/bot"
	"go.etcd.io/bbolt"
)

// auditBatch is how many audit records VerifyAudit and ExportAudit read per
// read transaction, so that neither keeps one open for long: a long read
// transaction can hold up Append when the file has to grow.
const auditBatch = 1024

// ctxCheckEvery is how many records a scan handles between checks of its
// context.
const ctxCheckEvery = 256

// auditHead is the sequence number and hash of the newest audit record. It is
// written in the same transaction as the record, so that removing records
// from the end of the trail shows.
type auditHead struct {
	Seq    uint64 `json:"seq"`
	Hash   string `json:"hash"`
	Scheme string `json:"scheme,omitempty"` // the newest record's Scheme
}

// AuditHead is the sequence number and hash of an audit record, usually the
// newest: publish it somewhere else (serve logs it every hour) and check the
// trail against it later with VerifyAuditHead.
type AuditHead struct {
	Seq   uint64
	Hash  string
	Keyed bool // the record is keyed (HMAC-SHA256); AuditHead sets it
}

// AuditHead returns the head of the audit trail: its newest record's
// sequence number and hash, zero if the trail is empty.
func (db *DB) AuditHead(ctx context.Context) (AuditHead, error) {
	var h auditHead
	err := db.view(ctx, func(tx *bbolt.Tx) error {
		var err error
		h, err = readHead(tx)
		return err
	})
	return AuditHead{Seq: h.Seq, Hash: h.Hash, Keyed: h.Scheme == bot.HashHMAC}, err
}

// checkAuditKey, when the DB has an audit key and the newest record is
// keyed, checks that record's HMAC under the key, so that a wrong key is
// refused at Open rather than chaining records nobody can verify.
func (db *DB) checkAuditKey(tx *bbolt.Tx) error {
	if db.AuditKey == nil {
		return nil
	}
	head, err := readHead(tx)
	if err != nil || head.Scheme != bot.HashHMAC {
		return err
	}
	v := get(tx, bucketAudit, seqKey(head.Seq))
	if v == nil {
		return fmt.Errorf("audit record %d, the head, is missing; run cippbot audit verify", head.Seq)
	}
	r, err := decodeStrict(v)
	if err != nil || r.Scheme != bot.HashHMAC || !hmac.Equal([]byte(r.Hash), []byte(r.ComputeMAC(db.AuditKey))) {
		return fmt.Errorf("the audit key does not verify the newest audit record (#%d): the key is not the one the trail was written with, or the record was altered; run cippbot audit verify", head.Seq)
	}
	return nil
}

func readHead(tx *bbolt.Tx) (auditHead, error) {
	var h auditHead
	v := get(tx, bucketMeta, keyAuditHead)
	if v == nil {
		return h, nil
	}
	if err := json.Unmarshal(v, &h); err != nil {
		return h, fmt.Errorf("audit head: %w", err)
	}
	return h, nil
}

// Append stamps r with the audit version, the next sequence number, the
// previous record's hash, its time (now, if r has none; always UTC) and its
// own hash, stores it, indexes it by target and moves the head to it, all in
// one transaction. It returns the record as stored. There is no way to
// change or remove a record once appended.
//
// Append refuses to extend a trail whose head does not match its sequence
// counter, which happens only if the file was changed by something other
// than this package; VerifyAudit says what is wrong.
func (db *DB) Append(ctx context.Context, r bot.AuditRecord) (bot.AuditRecord, error) {
	var stored bot.AuditRecord
	err := db.update(ctx, func(tx *bbolt.Tx) error {
		var err error
		stored, err = db.appendTx(tx, r)
		return err
	})
	if err != nil {
		return bot.AuditRecord{}, err
	}
	return stored, nil
}

// appendBatch appends recs, in order, in one transaction, each as Append
// would; if one fails, none is stored. It is for filling a trail quickly
// (one sync to disk instead of one per record).
func (db *DB) appendBatch(ctx context.Context, recs []bot.AuditRecord) error {
	return db.update(ctx, func(tx *bbolt.Tx) error {
		for i, r := range recs {
			if i%ctxCheckEvery == ctxCheckEvery-1 {
				if err := ctx.Err(); err != nil {
					return err
				}
			}
			if _, err := db.appendTx(tx, r); err != nil {
				return fmt.Errorf("record %d of %d: %w", i+1, len(recs), err)
			}
		}
		return nil
	})
}

// appendTx does Append's work in tx and returns the record as stored.
func (db *DB) appendTx(tx *bbolt.Tx, r bot.AuditRecord) (bot.AuditRecord, error) {
	bk, err := tx.CreateBucketIfNotExists(bucketAudit)
	if err != nil {
		return bot.AuditRecord{}, err
	}
	// Records are only ever added at the end: fill pages rather than
	// leave half of each free for inserts that never come.
	bk.FillPercent = 1
	head, err := readHead(tx)
	if err != nil {
		return bot.AuditRecord{}, fmt.Errorf("append audit record: %w", err)
	}
	seq, err := bk.NextSequence()
	if err != nil {
		return bot.AuditRecord{}, fmt.Errorf("append audit record: %w", err)
	}
	if head.Scheme == bot.HashHMAC && db.AuditKey == nil {
		return bot.AuditRecord{}, errors.New("append audit record: the audit trail is keyed (HMAC-SHA256) and this store was opened without the audit key (CIPPBOT_AUDIT_KEY or CIPPBOT_AUDIT_KEY_FILE)")
	}
	if seq != head.Seq+1 {
		return bot.AuditRecord{}, fmt.Errorf("append audit record: the trail is inconsistent (head at %d, next sequence %d); verify the audit trail", head.Seq, seq)
	}
	key := seqKey(seq)
	if bk.Get(key) != nil {
		return bot.AuditRecord{}, fmt.Errorf("append audit record: record %d exists already; verify the audit trail", seq)
	}
	rec, b, err := SealRecord(r, seq, head.Hash, db.AuditKey, db.now())
	if err != nil {
		return bot.AuditRecord{}, fmt.Errorf("append audit record: %w", err)
	}
	if err := bk.Put(key, b); err != nil {
		return bot.AuditRecord{}, fmt.Errorf("append audit record: %w", err)
	}
	if err := put(tx, bucketMeta, keyAuditHead, auditHead{Seq: seq, Hash: rec.Hash, Scheme: rec.Scheme}); err != nil {
		return bot.AuditRecord{}, fmt.Errorf("append audit record: move head: %w", err)
	}
	if err := indexAppended(tx, rec); err != nil {
		return bot.AuditRecord{}, fmt.Errorf("append audit record: %w", err)
	}
	return rec, nil
}

// roundTrip returns r as it reads back after encoding.
func roundTrip(r bot.AuditRecord) (bot.AuditRecord, error) {
	b, err := json.Marshal(r)
	if err != nil {
		return bot.AuditRecord{}, err
	}
	var out bot.AuditRecord
	if err := json.Unmarshal(b, &out); err != nil {
		return bot.AuditRecord{}, err
	}
	return out, nil
}

// Audit returns the records matching f, oldest first. With f.Limit it returns
// the newest f.Limit matching records. A Target filter matches a record one
// of whose targets has that UPN or object ID, ignoring case; it is served
// from the index, reading only that target's records.
func (db *DB) Audit(ctx context.Context, f bot.AuditFilter) ([]bot.AuditRecord, error) {
	var out []bot.AuditRecord
	err := db.view(ctx, func(tx *bbolt.Tx) error {
		var err error
		if idx := usableIndex(tx); f.Target != "" && idx != nil {
			out, err = auditByTarget(ctx, tx, idx, f)
		} else {
			out, err = auditScan(ctx, tx, f)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// auditScan returns the records matching f, oldest first, reading the trail
// from the start, or with f.Limit from the end until it has f.Limit matches.
func auditScan(ctx context.Context, tx *bbolt.Tx, f bot.AuditFilter) ([]bot.AuditRecord, error) {
	bk := tx.Bucket(bucketAudit)
	if bk == nil {
		return nil, nil
	}
	c := bk.Cursor()
	first, next := c.First, c.Next
	if f.Limit > 0 {
		first, next = c.Last, c.Prev
	}
	var out []bot.AuditRecord
	n := 0
	for k, v := first(); k != nil; k, v = next() {
		if n++; n%ctxCheckEvery == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		var r bot.AuditRecord
		if err := json.Unmarshal(v, &r); err != nil {
			return nil, fmt.Errorf("audit record %d: %w", keySeq(k), err)
		}
		if !matches(r, f) {
			continue
		}
		out = append(out, r)
		if f.Limit > 0 && len(out) == f.Limit {
			break
		}
	}
	if f.Limit > 0 {
		slices.Reverse(out)
	}
	return out, nil
}

func matches(r bot.AuditRecord, f bot.AuditFilter) bool {
	if !f.Since.IsZero() && r.Time.Before(f.Since) {
		return false
	}
	if f.Target == "" {
		return true
	}
	want := targetKey(f.Target)
	return slices.ContainsFunc(r.Targets, func(t bot.Target) bool {
		return targetKey(t.UPN) == want || targetKey(t.ID) == want
	})
}

// keySeq returns the sequence number an audit key stands for, or 0 if the
// key is malformed.
func keySeq(k []byte) uint64 {
	if len(k) != 8 {
		return 0
	}
	return binary.BigEndian.Uint64(k)
}

// AuditError is a problem VerifyAudit found in the audit trail: the record
// with sequence number Seq was altered, is missing, or should not be there.
type AuditError struct {
	Seq    uint64
	Reason string
}

func (e *AuditError) Error() string {
	return fmt.Sprintf("audit record %d: %s", e.Seq, e.Reason)
}

// VerifyReport is what VerifyAudit checked.
type VerifyReport struct {
	Records   int    // records checked
	Head      uint64 // sequence number of the newest record, 0 if none
	HeadHash  string // hash of the newest record; worth writing down elsewhere
	KeyedFrom uint64 // sequence number of the first keyed record, 0 if none
}

// VerifyAudit walks the audit trail, oldest first, and checks that every
// record decodes into the current record type with no unknown fields, is in
// the form Append wrote it, is stored under its own sequence number, follows
// the one before it with no gap, holds that record's hash, and hashes to its
// own hash; and that the head points at the last record. The first problem
// is returned as an *AuditError, with a report of the records checked before
// it; other errors (a cancelled context, a closed DB) are returned as they
// are.
//
// Records written with an audit key (Scheme HashHMAC) are checked with
// db.AuditKey: without the key nobody can rewrite them and their hashes.
// Once one record is keyed, every later one must be; a keyed record without
// db.AuditKey, or, with db.AuditKey, a trail whose newest record is not
// keyed (rewritten without the key, or not yet written with it), is
// reported. Unkeyed records before the first keyed one are checked as
// before.
//
// Without a key, the check finds changes made by anything that edits the
// file without rewriting every later record and the head. To detect a
// wholesale rewrite or dropped newest records, keep HeadHash somewhere else
// and use VerifyAuditHead.
func (db *DB) VerifyAudit(ctx context.Context) (VerifyReport, error) {
	return db.verifyAudit(ctx, nil)
}

// VerifyAuditHead does what VerifyAudit does and also checks the trail
// against a head published earlier: record published.Seq must be there,
// with that hash. A trail cut back to before it, or rewritten up to it,
// fails.
func (db *DB) VerifyAuditHead(ctx context.Context, published AuditHead) (VerifyReport, error) {
	return db.verifyAudit(ctx, &published)
}

func (db *DB) verifyAudit(ctx context.Context, published *AuditHead) (VerifyReport, error) {
	c := NewAuditChecker(db.AuditKey, published)
	head, err := db.walkAudit(ctx, func(k, v []byte) error {
		if len(k) != 8 {
			return &AuditError{Seq: c.rep.Head + 1, Reason: fmt.Sprintf("stored under a malformed key %x", k)}
		}
		return c.Check(binary.BigEndian.Uint64(k), v)
	})
	if err != nil {
		return c.rep, err
	}
	return c.Finish(AuditHead{Seq: head.Seq, Hash: head.Hash})
}

// decodeStrict decodes one stored record, refusing unknown fields and
// anything after the record.
func decodeStrict(v []byte) (bot.AuditRecord, error) {
	var r bot.AuditRecord
	dec := json.NewDecoder(bytes.NewReader(v))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		return r, err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return r, errors.New("data after the record")
	}
	return r, nil
}

// walkAudit calls fn with the key and value of every audit record, in key
// order, outside any transaction, reading auditBatch records per read
// transaction. It returns the head as read in the transaction that reached
// the end of the trail, or fn's first error. k and v are valid only during
// the call: each batch is copied into one buffer, reused for the next.
func (db *DB) walkAudit(ctx context.Context, fn func(k, v []byte) error) (auditHead, error) {
	b, err := db.handle(ctx)
	if err != nil {
		return auditHead{}, err
	}
	type entry struct{ k, v []byte }
	var (
		head  auditHead
		after []byte // key of the last record handed to fn
		batch = make([]entry, 0, auditBatch)
		arena []byte // the batch's keys and values
	)
	for {
		if err := ctx.Err(); err != nil {
			return auditHead{}, err
		}
		batch = batch[:0]
		arena = arena[:0]
		done := false
		err := guardBolt(db.Path, func() error {
			return b.View(func(tx *bbolt.Tx) error {
				var k, v []byte
				if bk := tx.Bucket(bucketAudit); bk != nil {
					c := bk.Cursor()
					if after == nil {
						k, v = c.First()
					} else if k, v = c.Seek(after); bytes.Equal(k, after) {
						k, v = c.Next()
					}
					for ; k != nil && len(batch) < auditBatch; k, v = c.Next() {
						start := len(arena)
						arena = append(arena, k...)
						arena = append(arena, v...)
						mid := start + len(k)
						batch = append(batch, entry{arena[start:mid:mid], arena[mid:len(arena):len(arena)]})
					}
				}
				if k != nil {
					return nil
				}
				done = true
				var err error
				if head, err = readHead(tx); err != nil {
					return &AuditError{Seq: 0, Reason: err.Error()}
				}
				return nil
			})
		})
		if err != nil {
			return auditHead{}, err
		}
		for i, e := range batch {
			if i%ctxCheckEvery == ctxCheckEvery-1 {
				if err := ctx.Err(); err != nil {
					return auditHead{}, err
				}
			}
			if err := fn(e.k, e.v); err != nil {
				return auditHead{}, err
			}
		}
		if len(batch) > 0 {
			after = append(after[:0], batch[len(batch)-1].k...)
		}
		if done {
			return head, nil
		}
	}
}

// WalkAudit calls fn with every stored record's sequence number and exact
// bytes, oldest first, reading the trail in batches outside any long
// transaction. raw is valid only during the call. It is for moving a trail
// to another store with its hashes intact.
func (db *DB) WalkAudit(ctx context.Context, fn func(seq uint64, raw []byte) error) error {
	_, err := db.walkAudit(ctx, func(k, v []byte) error { return fn(keySeq(k), v) })
	return err
}
