package store

import (
	"bytes"
	"context"
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
	Seq  uint64 `json:"seq"`
	Hash string `json:"hash"`
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
	r.Version = bot.AuditVersion
	if r.Time.IsZero() {
		r.Time = db.now()
	}
	r.Time = r.Time.UTC()
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
	if seq != head.Seq+1 {
		return bot.AuditRecord{}, fmt.Errorf("append audit record: the trail is inconsistent (head at %d, next sequence %d); verify the audit trail", head.Seq, seq)
	}
	key := seqKey(seq)
	if bk.Get(key) != nil {
		return bot.AuditRecord{}, fmt.Errorf("append audit record: record %d exists already; verify the audit trail", seq)
	}
	rec := r
	rec.Seq = seq
	rec.PrevHash = head.Hash
	rec.Hash = ""
	// Hash the record as it will read back, so that verification, which
	// decodes and hashes again, gets the same result (for one, encoding
	// replaces invalid UTF-8, which decoding cannot undo).
	if rec, err = roundTrip(rec); err != nil {
		return bot.AuditRecord{}, fmt.Errorf("append audit record: %w", err)
	}
	rec.Hash = rec.ComputeHash()
	b, err := json.Marshal(rec)
	if err != nil {
		return bot.AuditRecord{}, fmt.Errorf("append audit record: %w", err)
	}
	if err := bk.Put(key, b); err != nil {
		return bot.AuditRecord{}, fmt.Errorf("append audit record: %w", err)
	}
	if err := put(tx, bucketMeta, keyAuditHead, auditHead{Seq: seq, Hash: rec.Hash}); err != nil {
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
	Records  int    // records checked
	Head     uint64 // sequence number of the newest record, 0 if none
	HeadHash string // hash of the newest record; worth writing down elsewhere
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
// The check finds changes made by anything that edits the file without
// rewriting every later record and the head. To detect a wholesale rewrite,
// keep HeadHash somewhere else and compare.
func (db *DB) VerifyAudit(ctx context.Context) (VerifyReport, error) {
	var (
		rep      VerifyReport
		prevHash string
	)
	check := func(k, v []byte) error {
		want := rep.Head + 1
		if len(k) != 8 {
			return &AuditError{Seq: want, Reason: fmt.Sprintf("stored under a malformed key %x", k)}
		}
		seq := binary.BigEndian.Uint64(k)
		switch {
		case seq == 0:
			return &AuditError{Seq: 0, Reason: "there is no record 0"}
		case seq == want+1:
			return &AuditError{Seq: want, Reason: fmt.Sprintf("record %d is missing (the trail goes from %d to %d)", want, rep.Head, seq)}
		case seq > want:
			return &AuditError{Seq: want, Reason: fmt.Sprintf("records %d to %d are missing (the trail goes from %d to %d)", want, seq-1, rep.Head, seq)}
		}
		r, err := decodeStrict(v)
		if err != nil {
			return &AuditError{Seq: seq, Reason: "does not decode: " + err.Error()}
		}
		switch {
		case r.Version != bot.AuditVersion:
			return &AuditError{Seq: seq, Reason: fmt.Sprintf("unknown version %d", r.Version)}
		case r.Seq != seq:
			return &AuditError{Seq: seq, Reason: fmt.Sprintf("stored as record %d but says it is record %d", seq, r.Seq)}
		case r.PrevHash != prevHash && seq == 1:
			return &AuditError{Seq: seq, Reason: "the first record has a previous hash"}
		case r.PrevHash != prevHash:
			return &AuditError{Seq: seq, Reason: fmt.Sprintf("previous hash does not match the hash of record %d", seq-1)}
		case r.Hash != r.ComputeHash():
			return &AuditError{Seq: seq, Reason: "hash does not match its contents"}
		}
		if b, err := json.Marshal(r); err != nil || !bytes.Equal(b, v) {
			return &AuditError{Seq: seq, Reason: "stored form does not match its contents"}
		}
		rep.Records++
		rep.Head = seq
		rep.HeadHash = r.Hash
		prevHash = r.Hash
		return nil
	}
	head, err := db.walkAudit(ctx, check)
	if err != nil {
		return rep, err
	}
	switch {
	case head.Seq > rep.Head:
		return rep, &AuditError{Seq: rep.Head + 1, Reason: fmt.Sprintf("records after %d are missing (the head is at %d)", rep.Head, head.Seq)}
	case head.Seq < rep.Head:
		return rep, &AuditError{Seq: head.Seq + 1, Reason: fmt.Sprintf("was not appended by cippbot (the head is at %d)", head.Seq)}
	case head.Hash != rep.HeadHash:
		return rep, &AuditError{Seq: rep.Head, Reason: "hash does not match the head's"}
	}
	return rep, nil
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
// the end of the trail, or fn's first error.
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
	)
	for {
		if err := ctx.Err(); err != nil {
			return auditHead{}, err
		}
		batch = batch[:0]
		done := false
		err := b.View(func(tx *bbolt.Tx) error {
			var k, v []byte
			if bk := tx.Bucket(bucketAudit); bk != nil {
				c := bk.Cursor()
				if after == nil {
					k, v = c.First()
				} else if k, v = c.Seek(after); bytes.Equal(k, after) {
					k, v = c.Next()
				}
				for ; k != nil && len(batch) < auditBatch; k, v = c.Next() {
					batch = append(batch, entry{bytes.Clone(k), bytes.Clone(v)})
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
			after = batch[len(batch)-1].k
		}
		if done {
			return head, nil
		}
	}
}
