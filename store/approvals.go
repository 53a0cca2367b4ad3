package store

import (
	"bytes"
	"cmp"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/cippbot/cippbot/bot"
	"go.etcd.io/bbolt"
)

// Approvals are kept by ID in the approvals bucket, with two indexes
// written in the same transaction as the approval, so that the bot's
// frequent reads cost what they return rather than the whole history:
//
//   - approvals_by_time holds a key per approval made of its creation time
//     (timeKey) and its ID: the approvals created since a time are a range
//     of it, and the oldest are at its start. Its value is the approval's
//     stamp (encodeStamp: action, requester, tenant), all the hourly quota
//     counts by, so that counting decodes no approval.
//   - approvals_active holds the ID of every pending or running approval,
//     with its state as value: what the sweep and recovery look at.
//
// Open builds both, once, for a file written before they existed.

// timeKeyLen is the length of the time part of an approvals_by_time key.
const timeKeyLen = 12

// timeKey returns t as 12 bytes that sort as the times do: the Unix
// seconds, sign bit flipped, then the nanoseconds, both big-endian. Unlike
// UnixNano it covers every time, the zero time included.
func timeKey(t time.Time) []byte {
	k := binary.BigEndian.AppendUint64(make([]byte, 0, timeKeyLen+16), uint64(t.Unix())^(1<<63))
	return binary.BigEndian.AppendUint32(k, uint32(t.Nanosecond()))
}

// approvalTimeKey returns the approvals_by_time key of the approval with
// the given ID and creation time.
func approvalTimeKey(created time.Time, id string) []byte {
	return append(timeKey(created), id...)
}

// active reports whether an approval in state s is in approvals_active.
func active(s bot.ApprovalState) bool {
	return s == bot.StatePending || s == bot.StateRunning
}

// indexApproval adds a to the indexes. Without the index buckets (a file
// not opened by Open) it does nothing; Open builds them.
func indexApproval(tx *bbolt.Tx, a bot.Approval) error {
	if byTime := tx.Bucket(bucketApprovalsByTime); byTime != nil {
		if err := byTime.Put(approvalTimeKey(a.CreatedAt, a.ID), encodeStamp(a)); err != nil {
			return err
		}
	}
	if act := tx.Bucket(bucketApprovalsActive); act != nil && active(a.State) {
		if err := act.Put([]byte(a.ID), []byte(a.State)); err != nil {
			return err
		}
	}
	return nil
}

// encodeStamp returns the approvals_by_time value of a: its action,
// requester ID and tenant ID, each as a uvarint length and the bytes.
func encodeStamp(a bot.Approval) []byte {
	var b []byte
	for _, s := range [...]string{a.Action, a.Requester.ID, a.TenantID} {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	return b
}

// decodeStamp reads an approvals_by_time key and value back into a stamp.
func decodeStamp(k, v []byte) (bot.ApprovalStamp, error) {
	if len(k) <= timeKeyLen {
		return bot.ApprovalStamp{}, fmt.Errorf("approval index key %x is too short", k)
	}
	secs := int64(binary.BigEndian.Uint64(k) ^ (1 << 63))
	nsec := int64(binary.BigEndian.Uint32(k[8:]))
	st := bot.ApprovalStamp{ID: string(k[timeKeyLen:]), CreatedAt: time.Unix(secs, nsec).UTC()}
	for _, dst := range [...]*string{&st.Action, &st.RequesterID, &st.TenantID} {
		n, w := binary.Uvarint(v)
		if w <= 0 || uint64(len(v)-w) < n {
			return bot.ApprovalStamp{}, fmt.Errorf("approval %q: damaged index entry", st.ID)
		}
		*dst, v = string(v[w:w+int(n)]), v[w+int(n):]
	}
	return st, nil
}

// reindexApproval moves an approval's index entries from what it was to
// what it is.
func reindexApproval(tx *bbolt.Tx, before, after bot.Approval) error {
	if byTime := tx.Bucket(bucketApprovalsByTime); byTime != nil &&
		(!before.CreatedAt.Equal(after.CreatedAt) || !bytes.Equal(encodeStamp(before), encodeStamp(after))) {
		if err := byTime.Delete(approvalTimeKey(before.CreatedAt, before.ID)); err != nil {
			return err
		}
		if err := byTime.Put(approvalTimeKey(after.CreatedAt, after.ID), encodeStamp(after)); err != nil {
			return err
		}
	}
	act := tx.Bucket(bucketApprovalsActive)
	if act == nil || before.State == after.State {
		return nil
	}
	if active(after.State) {
		return act.Put([]byte(after.ID), []byte(after.State))
	}
	return act.Delete([]byte(after.ID))
}

// buildApprovalIndexes writes the index entries of every stored approval.
// Open calls it once for a file from before the indexes.
func buildApprovalIndexes(tx *bbolt.Tx) error {
	return forEach(tx, bucketApprovals, func(k, v []byte) error {
		// Only the fields the indexes hold: decoding is most of the cost.
		var a struct {
			State     bot.ApprovalState `json:"state"`
			Action    string            `json:"action"`
			TenantID  string            `json:"tenant_id"`
			Requester struct {
				ID string `json:"id"`
			} `json:"requester"`
			CreatedAt time.Time `json:"created_at"`
		}
		if err := json.Unmarshal(v, &a); err != nil {
			return fmt.Errorf("index approval %q: %w", k, err)
		}
		ap := bot.Approval{ID: string(k), State: a.State, Action: a.Action, TenantID: a.TenantID,
			Requester: bot.Actor{ID: a.Requester.ID}, CreatedAt: a.CreatedAt}
		if err := indexApproval(tx, ap); err != nil {
			return fmt.Errorf("index approval %q: %w", k, err)
		}
		return nil
	})
}

// CreateApproval stores a new approval; bot.ErrExists if its ID is taken.
func (db *DB) CreateApproval(ctx context.Context, a bot.Approval) error {
	return db.CreateApprovals(ctx, []bot.Approval{a})
}

// CreateApprovals stores new approvals in one transaction: all of them, or
// none if one has an empty ID or one that is taken (bot.ErrExists). It is
// for bringing many approvals in at once; the bot creates them one by one.
func (db *DB) CreateApprovals(ctx context.Context, list []bot.Approval) error {
	for _, a := range list {
		if a.ID == "" {
			return errors.New("create approval: empty ID")
		}
	}
	return db.update(ctx, func(tx *bbolt.Tx) error {
		for _, a := range list {
			if get(tx, bucketApprovals, []byte(a.ID)) != nil || get(tx, bucketApprovalsRetired, []byte(a.ID)) != nil {
				return fmt.Errorf("approval %q: %w", a.ID, bot.ErrExists)
			}
			if err := put(tx, bucketApprovals, []byte(a.ID), a); err != nil {
				return fmt.Errorf("create approval %q: %w", a.ID, err)
			}
			if err := indexApproval(tx, a); err != nil {
				return fmt.Errorf("create approval %q: %w", a.ID, err)
			}
		}
		return nil
	})
}

// Approval returns the approval with the given ID, or bot.ErrNotFound.
func (db *DB) Approval(ctx context.Context, id string) (bot.Approval, error) {
	var a bot.Approval
	err := db.view(ctx, func(tx *bbolt.Tx) error {
		var err error
		a, err = getApproval(tx, id)
		return err
	})
	if err != nil {
		return bot.Approval{}, err
	}
	return a, nil
}

// UpdateApproval reads the approval, calls fn on it and stores the result,
// all in one write transaction; write transactions run one at a time, so
// concurrent calls see each other's changes and fn can act as the guard of a
// compare-and-swap. If fn returns an error nothing is stored, and the
// approval as it was is returned with that error. fn must not change the ID.
// A change of state or creation time moves the approval's index entries in
// the same transaction. bot.ErrNotFound if there is no such approval.
func (db *DB) UpdateApproval(ctx context.Context, id string, fn func(*bot.Approval) error) (bot.Approval, error) {
	var (
		before, after bot.Approval
		fnErr         error
	)
	err := db.update(ctx, func(tx *bbolt.Tx) error {
		var err error
		if before, err = getApproval(tx, id); err != nil {
			return err
		}
		// Decode again rather than copy, so fn cannot reach into before's
		// maps and slices.
		if after, err = getApproval(tx, id); err != nil {
			return err
		}
		if fnErr = fn(&after); fnErr != nil {
			return fnErr
		}
		if after.ID != id {
			return fmt.Errorf("update approval %q: the update changed its ID to %q", id, after.ID)
		}
		if err := put(tx, bucketApprovals, []byte(id), after); err != nil {
			return fmt.Errorf("update approval %q: %w", id, err)
		}
		if err := reindexApproval(tx, before, after); err != nil {
			return fmt.Errorf("update approval %q: %w", id, err)
		}
		return nil
	})
	switch {
	case fnErr != nil:
		return before, fnErr
	case err != nil:
		return bot.Approval{}, err
	}
	return after, nil
}

// Approvals returns the approvals in any of the given states (all if none
// are given), oldest first. Asked only for pending or running approvals it
// reads those alone, from their index; otherwise it reads every approval.
func (db *DB) Approvals(ctx context.Context, states ...bot.ApprovalState) ([]bot.Approval, error) {
	var list []bot.Approval
	err := db.view(ctx, func(tx *bbolt.Tx) error {
		if act := tx.Bucket(bucketApprovalsActive); act != nil && len(states) > 0 && !slices.ContainsFunc(states, func(s bot.ApprovalState) bool { return !active(s) }) {
			return act.ForEach(func(k, v []byte) error {
				if !slices.Contains(states, bot.ApprovalState(v)) {
					return nil
				}
				a, err := getApproval(tx, string(k))
				if err != nil {
					return fmt.Errorf("active approvals: %w", err)
				}
				if slices.Contains(states, a.State) {
					list = append(list, a)
				}
				return nil
			})
		}
		return forEach(tx, bucketApprovals, func(k, v []byte) error {
			var a bot.Approval
			if err := json.Unmarshal(v, &a); err != nil {
				return fmt.Errorf("approval %q: %w", k, err)
			}
			if len(states) == 0 || slices.Contains(states, a.State) {
				list = append(list, a)
			}
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	slices.SortStableFunc(list, compareApprovals)
	return list, nil
}

// compareApprovals orders approvals oldest first, then by ID.
func compareApprovals(a, b bot.Approval) int {
	if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
		return c
	}
	return cmp.Compare(a.ID, b.ID)
}

// ApprovalsSince returns the approvals created at or after t, oldest first.
// It reads only those, from the index by creation time.
func (db *DB) ApprovalsSince(ctx context.Context, t time.Time) ([]bot.Approval, error) {
	var list []bot.Approval
	err := db.view(ctx, func(tx *bbolt.Tx) error {
		byTime := tx.Bucket(bucketApprovalsByTime)
		if byTime == nil { // a file not opened by Open
			var err error
			list, err = unindexedSince(tx, t)
			return err
		}
		c := byTime.Cursor()
		for k, _ := c.Seek(timeKey(t)); k != nil; k, _ = c.Next() {
			if len(k) <= timeKeyLen {
				continue
			}
			a, err := getApproval(tx, string(k[timeKeyLen:]))
			if err != nil {
				return fmt.Errorf("approvals since %s: %w", t.Format(time.RFC3339), err)
			}
			list = append(list, a)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	slices.SortStableFunc(list, compareApprovals) // a no-op unless the file was not indexed
	return list, nil
}

// PruneApprovals removes up to max approvals created before the given time
// that are decided (neither pending nor running), oldest first, in one
// transaction, and returns how many it removed. It reads the index by
// creation time from its start, so it costs what it removes plus the
// pending and running approvals it passes over. The audit trail is not
// touched. It does nothing if max is not positive.
func (db *DB) PruneApprovals(ctx context.Context, before time.Time, max int) (int, error) {
	if max <= 0 {
		return 0, nil
	}
	// Most sweeps find nothing to remove: look first without writing.
	var found bool
	err := db.view(ctx, func(tx *bbolt.Tx) error {
		found = len(pruneCandidates(tx, before, 1)) > 0
		return nil
	})
	if err != nil || !found {
		return 0, err
	}
	n := 0
	err = db.update(ctx, func(tx *bbolt.Tx) error {
		n = 0
		byTime, aps := tx.Bucket(bucketApprovalsByTime), tx.Bucket(bucketApprovals)
		if byTime == nil || aps == nil {
			return nil
		}
		retired, err := tx.CreateBucketIfNotExists(bucketApprovalsRetired)
		if err != nil {
			return fmt.Errorf("prune approvals: %w", err)
		}
		keys := pruneCandidates(tx, before, max)
		for _, k := range keys {
			if len(k) > timeKeyLen {
				id := k[timeKeyLen:]
				if v := aps.Get(id); v != nil {
					var a struct {
						State bot.ApprovalState `json:"state"`
					}
					if err := json.Unmarshal(v, &a); err != nil {
						return fmt.Errorf("prune approval %q: %w", id, err)
					}
					if active(a.State) {
						continue // never remove an approval still in play, index or not
					}
					if err := aps.Delete(id); err != nil {
						return fmt.Errorf("prune approval %q: %w", id, err)
					}
					// Its card may still be in a channel, buttons and
					// all: the ID is never given to a new approval,
					// which a click on that old card would decide.
					if err := retired.Put(id, []byte{1}); err != nil {
						return fmt.Errorf("prune approval %q: %w", id, err)
					}
				}
			}
			if err := byTime.Delete(k); err != nil {
				return fmt.Errorf("prune approvals: %w", err)
			}
			n++
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}

// RetiredApprovalIDs returns the IDs of pruned approvals, which are never
// given again, in key order: what a copy of the store must carry over.
func (db *DB) RetiredApprovalIDs(ctx context.Context) ([]string, error) {
	var ids []string
	err := db.view(ctx, func(tx *bbolt.Tx) error {
		return forEach(tx, bucketApprovalsRetired, func(k, _ []byte) error {
			ids = append(ids, string(k))
			return nil
		})
	})
	return ids, err
}

// pruneCandidates returns the approvals_by_time keys of up to max
// approvals created before the given time that are not in the active
// index, oldest first; none if the indexes are missing (a file not opened
// by Open). The keys are copies, valid after tx; they are collected before
// any is deleted, as deleting under a bbolt cursor can make it skip keys.
func pruneCandidates(tx *bbolt.Tx, before time.Time, max int) [][]byte {
	byTime, act := tx.Bucket(bucketApprovalsByTime), tx.Bucket(bucketApprovalsActive)
	if byTime == nil || act == nil {
		return nil
	}
	end := timeKey(before)
	var keys [][]byte
	c := byTime.Cursor()
	for k, _ := c.First(); k != nil && len(keys) < max; k, _ = c.Next() {
		if bytes.Compare(k, end) >= 0 {
			break
		}
		if len(k) > timeKeyLen && act.Get(k[timeKeyLen:]) != nil {
			continue // pending or running: kept whatever its age
		}
		keys = append(keys, bytes.Clone(k))
	}
	return keys
}

// ApprovalStampsSince returns the stamps (ID, creation time, action,
// requester, tenant) of the approvals created at or after t, oldest first,
// reading only the index by creation time: no approval is decoded.
func (db *DB) ApprovalStampsSince(ctx context.Context, t time.Time) ([]bot.ApprovalStamp, error) {
	var list []bot.ApprovalStamp
	err := db.view(ctx, func(tx *bbolt.Tx) error {
		byTime := tx.Bucket(bucketApprovalsByTime)
		if byTime == nil { // a file not opened by Open
			aps, err := unindexedSince(tx, t)
			for _, a := range aps {
				list = append(list, bot.ApprovalStamp{ID: a.ID, CreatedAt: a.CreatedAt.UTC(), Action: a.Action,
					RequesterID: a.Requester.ID, TenantID: a.TenantID})
			}
			return err
		}
		c := byTime.Cursor()
		for k, v := c.Seek(timeKey(t)); k != nil; k, v = c.Next() {
			st, err := decodeStamp(k, v)
			if err != nil {
				return err
			}
			list = append(list, st)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	slices.SortStableFunc(list, func(a, b bot.ApprovalStamp) int { // a no-op unless the file was not indexed
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
	return list, nil
}

// unindexedSince scans every approval for those created at or after t,
// for a file without the index by creation time.
func unindexedSince(tx *bbolt.Tx, t time.Time) ([]bot.Approval, error) {
	var list []bot.Approval
	err := forEach(tx, bucketApprovals, func(k, v []byte) error {
		var a bot.Approval
		if err := json.Unmarshal(v, &a); err != nil {
			return fmt.Errorf("approval %q: %w", k, err)
		}
		if !a.CreatedAt.Before(t) {
			list = append(list, a)
		}
		return nil
	})
	return list, err
}

func getApproval(tx *bbolt.Tx, id string) (bot.Approval, error) {
	v := get(tx, bucketApprovals, []byte(id))
	if v == nil {
		return bot.Approval{}, fmt.Errorf("approval %q: %w", id, bot.ErrNotFound)
	}
	var a bot.Approval
	if err := json.Unmarshal(v, &a); err != nil {
		return bot.Approval{}, fmt.Errorf("approval %q: %w", id, err)
	}
	return a, nil
}
