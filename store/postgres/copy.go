package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/cippbot/cippbot/bot"
)

// Source is a store to copy from: the bbolt store (store.DB) is one.
type Source interface {
	bot.Store
	// WalkAudit calls fn with every stored audit record's sequence number
	// and exact bytes, oldest first.
	WalkAudit(ctx context.Context, fn func(seq uint64, raw []byte) error) error
	// RetiredApprovalIDs returns the IDs of pruned approvals, never to be
	// given again.
	RetiredApprovalIDs(ctx context.Context) ([]string, error)
}

// Copied counts what Copy copied.
type Copied struct {
	Approvals, Grants, Tenants, Bindings, Jobs, Audit int
	RetiredIDs                                        int
}

// copyBatch is how many audit records Copy writes per transaction.
const copyBatch = 1000

// Copy copies everything src keeps into dst, whose database must be empty
// (no approvals, tenants, grants, bindings, jobs or audit records): the
// audit records byte for byte, so that their hashes, and the chain, stay
// as they were and verify on both. Delivery keys are not copied: they
// last minutes, and the chat platforms stop redelivering long before a
// store is moved.
func Copy(ctx context.Context, src Source, dst *DB) (Copied, error) {
	var n Copied
	if err := dst.ready(ctx); err != nil {
		return n, err
	}
	var used bool
	err := dst.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM approvals) OR EXISTS (SELECT 1 FROM tenants)
	OR EXISTS (SELECT 1 FROM grants) OR EXISTS (SELECT 1 FROM bindings) OR EXISTS (SELECT 1 FROM jobs)
	OR EXISTS (SELECT 1 FROM audit) OR (SELECT seq FROM audit_head) <> 0`).Scan(&used)
	if err != nil {
		return n, err
	}
	if used {
		return n, errors.New("the destination is not empty; copy into a new database")
	}
	tenants, err := src.Tenants(ctx)
	if err != nil {
		return n, err
	}
	for _, t := range tenants {
		if err := dst.PutTenant(ctx, t); err != nil {
			return n, err
		}
		n.Tenants++
	}
	bindings, err := src.Bindings(ctx)
	if err != nil {
		return n, err
	}
	for _, b := range bindings {
		if err := dst.PutBinding(ctx, b); err != nil {
			return n, err
		}
		n.Bindings++
	}
	grants, err := src.Grants(ctx)
	if err != nil {
		return n, err
	}
	for _, g := range grants {
		if err := dst.PutGrant(ctx, g); err != nil {
			return n, err
		}
		n.Grants++
	}
	jobs, err := src.Jobs(ctx)
	if err != nil {
		return n, err
	}
	for _, j := range jobs {
		if err := dst.PutJob(ctx, j); err != nil {
			return n, err
		}
		n.Jobs++
	}
	approvals, err := src.Approvals(ctx)
	if err != nil {
		return n, err
	}
	for i := 0; i < len(approvals); i += copyBatch {
		batch := approvals[i:min(i+copyBatch, len(approvals))]
		if err := dst.CreateApprovals(ctx, batch); err != nil {
			return n, err
		}
		n.Approvals += len(batch)
	}
	retired, err := src.RetiredApprovalIDs(ctx)
	if err != nil {
		return n, err
	}
	for _, id := range retired {
		if _, err := dst.exec(ctx, `INSERT INTO approvals_retired (id) VALUES ($1) ON CONFLICT DO NOTHING`, []byte(id)); err != nil {
			return n, fmt.Errorf("copy retired approval IDs: %w", err)
		}
		n.RetiredIDs++
	}
	var batch [][]byte
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		if err := dst.AppendRaw(ctx, batch); err != nil {
			return err
		}
		n.Audit += len(batch)
		batch = batch[:0]
		return nil
	}
	err = src.WalkAudit(ctx, func(seq uint64, raw []byte) error {
		batch = append(batch, append([]byte(nil), raw...))
		if len(batch) == copyBatch {
			return flush()
		}
		return nil
	})
	if err == nil {
		err = flush()
	}
	if err != nil {
		return n, fmt.Errorf("copy the audit trail: %w", err)
	}
	return n, nil
}
