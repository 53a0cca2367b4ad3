package store

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/cippbot/cippbot/bot"
	"go.etcd.io/bbolt"
)

// The audit index lets Audit find the records of one target without reading
// the whole trail. For every target of a record it holds a key made of the
// target's UPN, lower-cased, a NUL byte and the record's sequence number (8
// bytes, big-endian), and one made the same way of the target's object ID;
// values are empty. The keys of a target are therefore contiguous and in
// trail order.
//
// Append writes a record's keys in the same transaction as the record. The
// index is derived from the trail: Open builds it for a file written before
// it existed, and catches it up if records were appended without it (by an
// older version of this package). The state, in the meta bucket, says which
// version of the index the file holds and up to which record it is complete.

// auditIndexVersion is the version of the index written by this code.
// Changing how keys are made means changing it, so that Open rebuilds the
// index.
const auditIndexVersion = 1

// keyAuditIndex is the key, in the meta bucket, of the index state.
var keyAuditIndex = []byte("audit_index")

// maxIndexName is the longest name, in bytes, an index key holds. Longer
// names are cut to it (bbolt limits key length, and a target typed into chat
// can be any length); a lookup cuts the name it looks for the same way and
// checks the records it finds, so the cut costs nothing but a little reading.
const maxIndexName = 512

// indexState says which version of the index the file holds and that every
// record up to Seq is in it.
type indexState struct {
	Version int    `json:"version"`
	Seq     uint64 `json:"seq"`
}

func readIndexState(tx *bbolt.Tx) (indexState, error) {
	var s indexState
	v := get(tx, bucketMeta, keyAuditIndex)
	if v == nil {
		return s, nil
	}
	if err := json.Unmarshal(v, &s); err != nil {
		return indexState{}, fmt.Errorf("audit index state: %w", err)
	}
	return s, nil
}

// targetKey returns the form in which a target's UPN or ID is indexed and
// compared: lower-cased. Audit's Target filter matches a record when this is
// the same for the filter and one of the record's UPNs or IDs.
func targetKey(s string) string { return strings.ToLower(s) }

// indexPrefix returns the prefix shared by the index keys of name, which is
// a target key.
func indexPrefix(name string) []byte {
	if len(name) > maxIndexName {
		name = name[:maxIndexName]
	}
	return append([]byte(name), 0)
}

// indexKeys returns the index keys of r: one for each distinct non-empty UPN
// and ID of its targets. Duplicates are found through maps: a bulk
// record names thousands of targets, and comparing each name with every
// other took most of its append.
func indexKeys(r bot.AuditRecord) [][]byte {
	var names []string
	seen := make(map[string]bool, 2*len(r.Targets))
	for _, t := range r.Targets {
		for _, s := range [...]string{t.UPN, t.ID} {
			if s == "" {
				continue
			}
			if n := targetKey(s); !seen[n] {
				seen[n] = true
				names = append(names, n)
			}
		}
	}
	keys := make([][]byte, 0, len(names))
	have := make(map[string]bool, len(names))
	for _, n := range names {
		k := indexPrefix(n)
		k = append(k, seqKey(r.Seq)...)
		// Two names cut to the same prefix give the same key.
		if !have[string(k)] {
			have[string(k)] = true
			keys = append(keys, k)
		}
	}
	return keys
}

// indexRecord writes the index keys of r to idx.
func indexRecord(idx *bbolt.Bucket, r bot.AuditRecord) error {
	for _, k := range indexKeys(r) {
		if err := idx.Put(k, []byte{}); err != nil {
			return fmt.Errorf("index record %d: %w", r.Seq, err)
		}
	}
	return nil
}

// indexAppended indexes r, just appended in tx, and moves the index state
// past it if the index was complete up to the record before. Without an
// index bucket (a file not opened by Open) it does nothing; Open builds the
// index.
func indexAppended(tx *bbolt.Tx, r bot.AuditRecord) error {
	idx := tx.Bucket(bucketAuditIndex)
	if idx == nil {
		return nil
	}
	if err := indexRecord(idx, r); err != nil {
		return err
	}
	st, err := readIndexState(tx)
	if err != nil {
		return err
	}
	if st.Version != auditIndexVersion || st.Seq != r.Seq-1 {
		// The index has a gap that Open will fill; leave the state saying
		// so.
		return nil
	}
	st.Seq = r.Seq
	return put(tx, bucketMeta, keyAuditIndex, st)
}

// syncAuditIndex brings the index up to date with the trail, in Open's
// transaction. existed says whether the index bucket was there before Open
// created the buckets. If the index is new, of another version or its state
// is unreadable, it is built from scratch; if it is behind the trail, the
// records after its state are indexed. Records that do not decode are left
// out (VerifyAudit reports them).
func syncAuditIndex(tx *bbolt.Tx, existed bool) error {
	st, err := readIndexState(tx)
	rebuild := !existed || err != nil || st.Version != auditIndexVersion
	if rebuild {
		if existed {
			if err := tx.DeleteBucket(bucketAuditIndex); err != nil {
				return fmt.Errorf("rebuild audit index: %w", err)
			}
			if _, err := tx.CreateBucket(bucketAuditIndex); err != nil {
				return fmt.Errorf("rebuild audit index: %w", err)
			}
		}
		st = indexState{Version: auditIndexVersion}
	}
	audit := tx.Bucket(bucketAudit)
	idx := tx.Bucket(bucketAuditIndex)
	c := audit.Cursor()
	last, _ := c.Last()
	if !rebuild && keySeq(last) <= st.Seq {
		return nil
	}
	for k, v := c.Seek(seqKey(st.Seq + 1)); k != nil; k, v = c.Next() {
		seq := keySeq(k)
		if seq == 0 {
			continue
		}
		var r bot.AuditRecord
		if err := json.Unmarshal(v, &r); err != nil {
			continue
		}
		// Index the record under the key it is stored at, which is the
		// one Audit reads.
		r.Seq = seq
		if err := indexRecord(idx, r); err != nil {
			return fmt.Errorf("build audit index: %w", err)
		}
		st.Seq = max(st.Seq, seq)
	}
	if err := put(tx, bucketMeta, keyAuditIndex, st); err != nil {
		return fmt.Errorf("build audit index: %w", err)
	}
	return nil
}

// usableIndex returns the index bucket if the index can serve queries: it
// exists and is of this version. Open makes sure of both.
func usableIndex(tx *bbolt.Tx) *bbolt.Bucket {
	idx := tx.Bucket(bucketAuditIndex)
	if idx == nil {
		return nil
	}
	if st, err := readIndexState(tx); err != nil || st.Version != auditIndexVersion {
		return nil
	}
	return idx
}

// auditByTarget returns the records matching f, whose Target is set, oldest
// first, reading only the index keys of f.Target and their records. With
// f.Limit it walks the keys from the newest and stops after f.Limit
// matches.
func auditByTarget(ctx context.Context, tx *bbolt.Tx, idx *bbolt.Bucket, f bot.AuditFilter) ([]bot.AuditRecord, error) {
	audit := tx.Bucket(bucketAudit)
	if audit == nil {
		return nil, nil
	}
	prefix := indexPrefix(targetKey(f.Target))
	c := idx.Cursor()
	first, next := func() ([]byte, []byte) { return c.Seek(prefix) }, c.Next
	if f.Limit > 0 {
		// The prefix ends in a NUL byte; the same with 1 sorts after all
		// its keys.
		end := bytes.Clone(prefix)
		end[len(end)-1] = 1
		first = func() ([]byte, []byte) {
			if k, _ := c.Seek(end); k == nil {
				return c.Last()
			}
			return c.Prev()
		}
		next = c.Prev
	}
	var out []bot.AuditRecord
	n := 0
	for k, _ := first(); k != nil && bytes.HasPrefix(k, prefix); k, _ = next() {
		if n++; n%ctxCheckEvery == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		// A longer key is another name that starts with this one and a
		// NUL byte.
		if len(k) != len(prefix)+8 {
			continue
		}
		seq := k[len(prefix):]
		v := audit.Get(seq)
		if v == nil {
			// The record is gone; VerifyAudit reports that.
			continue
		}
		var r bot.AuditRecord
		if err := json.Unmarshal(v, &r); err != nil {
			return nil, fmt.Errorf("audit record %d: %w", keySeq(seq), err)
		}
		// The check also drops the other names cut to the same prefix.
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
