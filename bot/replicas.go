package bot

import (
	"context"
	"fmt"
	"slices"
	"time"
)

// More than one replica of the bot may share a store (PostgreSQL). Each
// has an ID (Bot.ReplicaID) and keeps a heartbeat in the store; a request
// set running carries the ID of the replica running it (Approval.Replica).
// Recover, at a replica's start, then marks "outcome unknown" only the runs
// of replicas that are gone, never a live replica's.

// ReplicaStore is a store that keeps replicas' heartbeats.
type ReplicaStore interface {
	// Heartbeat records that replica is alive now.
	Heartbeat(ctx context.Context, replica string) error
	// LiveReplicas returns the replicas whose heartbeat is younger than
	// within.
	LiveReplicas(ctx context.Context, within time.Duration) ([]string, error)
}

// ReplicaTimeout is how long after its last heartbeat a replica is taken
// for dead. Replicas beat every ReplicaBeat.
const (
	ReplicaTimeout = 30 * time.Second
	ReplicaBeat    = 5 * time.Second
)

// orphanedRuns returns those of the running approvals whose runner is
// gone: those of a replica whose heartbeat is older than ReplicaTimeout,
// and at start (atStart) also this replica's own (a run it had before it
// restarted) and those of no replica (written by a process alone, or
// before replicas). Without a ReplicaID or a store that keeps heartbeats,
// every run is orphaned at start, as for one process, and none later.
func (b *Bot) orphanedRuns(ctx context.Context, running []Approval, atStart bool) ([]Approval, error) {
	rs, ok := b.Store.(ReplicaStore)
	if !ok || b.ReplicaID == "" || len(running) == 0 {
		if !atStart {
			return nil, nil
		}
		return running, nil
	}
	live, err := rs.LiveReplicas(ctx, ReplicaTimeout)
	if err != nil {
		return nil, fmt.Errorf("live replicas: %w", err)
	}
	return slices.DeleteFunc(running, func(a Approval) bool {
		if a.Replica == "" || a.Replica == b.ReplicaID {
			return !atStart
		}
		return slices.Contains(live, a.Replica)
	}), nil
}

// RecoverOrphans marks "outcome unknown" the runs of replicas that died
// (whose heartbeat is older than ReplicaTimeout), as Recover does at
// start for every run it cannot have finished. Call it every so often on
// every replica: a replica that died is otherwise only recovered when it
// starts again under the same ID. It never touches this replica's runs,
// nor a live replica's; of replicas racing for one run, one marks it.
func (b *Bot) RecoverOrphans(ctx context.Context) error { return b.recoverRuns(ctx, false) }

// Heartbeat keeps this replica's heartbeat in the store every ReplicaBeat
// until ctx ends. It does nothing without a ReplicaID or a store that
// keeps heartbeats.
func (b *Bot) Heartbeat(ctx context.Context) {
	rs, ok := b.Store.(ReplicaStore)
	if !ok || b.ReplicaID == "" {
		return
	}
	t := time.NewTicker(ReplicaBeat)
	defer t.Stop()
	for {
		if err := rs.Heartbeat(ctx, b.ReplicaID); err != nil && ctx.Err() == nil {
			b.log().WarnContext(ctx, "replica heartbeat failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
