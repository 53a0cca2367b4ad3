package store

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/cippbot/cippbot/bot"
	"go.etcd.io/bbolt"
)

// CreateApproval stores a new approval; bot.ErrExists if its ID is taken.
func (db *DB) CreateApproval(ctx context.Context, a bot.Approval) error {
	if a.ID == "" {
		return errors.New("create approval: empty ID")
	}
	return db.update(ctx, func(tx *bbolt.Tx) error {
		if get(tx, bucketApprovals, []byte(a.ID)) != nil {
			return fmt.Errorf("approval %q: %w", a.ID, bot.ErrExists)
		}
		if err := put(tx, bucketApprovals, []byte(a.ID), a); err != nil {
			return fmt.Errorf("create approval %q: %w", a.ID, err)
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
// bot.ErrNotFound if there is no such approval.
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
// are given), oldest first.
func (db *DB) Approvals(ctx context.Context, states ...bot.ApprovalState) ([]bot.Approval, error) {
	var list []bot.Approval
	err := db.view(ctx, func(tx *bbolt.Tx) error {
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
	slices.SortStableFunc(list, func(a, b bot.Approval) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
	return list, nil
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
