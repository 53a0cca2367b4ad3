package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/cippbot/cippbot/bot"
	"github.com/jackc/pgx/v5"
)

const insertApproval = `INSERT INTO approvals (id, state, created_key, action, requester_id, tenant_id, doc)
VALUES ($1, $2, $3, $4, $5, $6, $7)`

// approvalArgs returns the column values of a, in the order of
// insertApproval.
func approvalArgs(a bot.Approval) ([]any, error) {
	doc, err := json.Marshal(a)
	if err != nil {
		return nil, err
	}
	return []any{[]byte(a.ID), string(a.State), timeKey(a.CreatedAt), []byte(a.Action), []byte(a.Requester.ID), []byte(a.TenantID), doc}, nil
}

// CreateApproval stores a new approval; bot.ErrExists if its ID is taken.
func (db *DB) CreateApproval(ctx context.Context, a bot.Approval) error {
	return db.CreateApprovals(ctx, []bot.Approval{a})
}

// CreateApprovals stores new approvals in one transaction: all of them, or
// none if one has an empty ID or one that is taken (bot.ErrExists).
func (db *DB) CreateApprovals(ctx context.Context, list []bot.Approval) error {
	for _, a := range list {
		if a.ID == "" {
			return errors.New("create approval: empty ID")
		}
	}
	return db.tx(ctx, pgx.TxOptions{}, func(tx pgx.Tx) error {
		for _, a := range list {
			args, err := approvalArgs(a)
			if err != nil {
				return fmt.Errorf("create approval %q: %w", a.ID, err)
			}
			var retired bool
			if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM approvals_retired WHERE id = $1)`, []byte(a.ID)).Scan(&retired); err != nil {
				return fmt.Errorf("create approval %q: %w", a.ID, err)
			}
			if retired {
				return fmt.Errorf("approval %q: %w", a.ID, bot.ErrExists)
			}
			if _, err := tx.Exec(ctx, insertApproval, args...); err != nil {
				if isUniqueViolation(err) {
					return fmt.Errorf("approval %q: %w", a.ID, bot.ErrExists)
				}
				return fmt.Errorf("create approval %q: %w", a.ID, err)
			}
		}
		return nil
	})
}

// Approval returns the approval with the given ID, or bot.ErrNotFound.
func (db *DB) Approval(ctx context.Context, id string) (bot.Approval, error) {
	list, err := docs[bot.Approval](ctx, db, "approval "+id, `SELECT doc FROM approvals WHERE id = $1`, []byte(id))
	if err != nil {
		return bot.Approval{}, err
	}
	if len(list) == 0 {
		return bot.Approval{}, fmt.Errorf("approval %q: %w", id, bot.ErrNotFound)
	}
	return list[0], nil
}

// UpdateApproval reads the approval, locking its row (SELECT … FOR
// UPDATE), calls fn on it and stores the result, in one transaction:
// concurrent calls, from this process or another, wait for each other and
// see each other's changes, so fn can act as the guard of a
// compare-and-swap. If fn returns an error nothing is stored, and the
// approval as it was is returned with that error. fn must not change the
// ID. bot.ErrNotFound if there is no such approval.
func (db *DB) UpdateApproval(ctx context.Context, id string, fn func(*bot.Approval) error) (bot.Approval, error) {
	var (
		before, after bot.Approval
		fnErr         error
	)
	err := db.tx(ctx, pgx.TxOptions{}, func(tx pgx.Tx) error {
		var doc []byte
		err := tx.QueryRow(ctx, `SELECT doc FROM approvals WHERE id = $1 FOR UPDATE`, []byte(id)).Scan(&doc)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("approval %q: %w", id, bot.ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("approval %q: %w", id, err)
		}
		// Decoded twice rather than copied, so fn cannot reach into
		// before's maps and slices.
		if err := json.Unmarshal(doc, &before); err != nil {
			return fmt.Errorf("approval %q: %w", id, err)
		}
		if err := json.Unmarshal(doc, &after); err != nil {
			return fmt.Errorf("approval %q: %w", id, err)
		}
		if fnErr = fn(&after); fnErr != nil {
			return fnErr
		}
		if after.ID != id {
			return fmt.Errorf("update approval %q: the update changed its ID to %q", id, after.ID)
		}
		args, err := approvalArgs(after)
		if err != nil {
			return fmt.Errorf("update approval %q: %w", id, err)
		}
		_, err = tx.Exec(ctx, `UPDATE approvals SET state = $2, created_key = $3, action = $4, requester_id = $5, tenant_id = $6, doc = $7
WHERE id = $1`, args...)
		if err != nil {
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
// are given), oldest first, then by ID. Pending and running approvals are
// found by an index of their own.
func (db *DB) Approvals(ctx context.Context, states ...bot.ApprovalState) ([]bot.Approval, error) {
	if len(states) == 0 {
		return docs[bot.Approval](ctx, db, "approval", `SELECT doc FROM approvals ORDER BY created_key, id`)
	}
	ss := make([]string, len(states))
	for i, s := range states {
		ss[i] = string(s)
	}
	return docs[bot.Approval](ctx, db, "approval", `SELECT doc FROM approvals WHERE state = ANY($1) ORDER BY created_key, id`, ss)
}

// ApprovalsSince returns the approvals created at or after t, oldest
// first.
func (db *DB) ApprovalsSince(ctx context.Context, t time.Time) ([]bot.Approval, error) {
	return docs[bot.Approval](ctx, db, "approval", `SELECT doc FROM approvals WHERE created_key >= $1 ORDER BY created_key, id`, timeKey(t))
}

// ApprovalStampsSince returns the stamps of the approvals created at or
// after t, oldest first, from their columns: no approval is decoded.
func (db *DB) ApprovalStampsSince(ctx context.Context, t time.Time) ([]bot.ApprovalStamp, error) {
	if err := db.ready(ctx); err != nil {
		return nil, err
	}
	rows, err := db.pool.Query(ctx, `SELECT id, created_key, action, requester_id, tenant_id FROM approvals
WHERE created_key >= $1 ORDER BY created_key, id`, timeKey(t))
	if err != nil {
		return nil, err
	}
	var (
		out                            []bot.ApprovalStamp
		id, key, action, req, tenantID []byte
	)
	_, err = pgx.ForEachRow(rows, []any{&id, &key, &action, &req, &tenantID}, func() error {
		created, err := keyTime(key)
		if err != nil {
			return fmt.Errorf("approval %q: %w", id, err)
		}
		out = append(out, bot.ApprovalStamp{ID: string(id), CreatedAt: created, Action: string(action), RequesterID: string(req), TenantID: string(tenantID)})
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// PruneApprovals removes up to max approvals created before the given time
// that are decided (neither pending nor running), oldest first, in one
// statement, and returns how many it removed. Rows another replica is
// updating are skipped, not waited for. It does nothing if max is not
// positive.
func (db *DB) PruneApprovals(ctx context.Context, before time.Time, max int) (int, error) {
	if max <= 0 {
		return 0, nil
	}
	// The pruned IDs are retired in the same statement (see migration 5).
	n, err := db.exec(ctx, `WITH gone AS (DELETE FROM approvals WHERE id IN (
	SELECT id FROM approvals WHERE created_key < $1 AND state NOT IN ('pending', 'running')
	ORDER BY created_key, id LIMIT $2 FOR UPDATE SKIP LOCKED) RETURNING id)
INSERT INTO approvals_retired (id) SELECT id FROM gone ON CONFLICT DO NOTHING`, timeKey(before), max)
	if err != nil {
		return 0, fmt.Errorf("prune approvals: %w", err)
	}
	return int(n), nil
}
