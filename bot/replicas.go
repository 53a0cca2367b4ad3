package bot

import (
	"context"
	"fmt"
	"slices"
	"time"
)

// More than one replica of the bot may share a store (PostgreSQL). Each
// has an ID (Bot.ReplicaID) and keeps a heartbeat in the store; a request
// set running carries the ID of the replica running it (Approval.Runner).
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
// gone: this replica's own (a run it had before it restarted), those of no
// replica (written alone, or before replicas), and those of a replica
// whose heartbeat is older than ReplicaTimeout. Without a ReplicaID or a
// store that keeps heartbeats, every run is orphaned, as for one process.
func (b *Bot) orphanedRuns(ctx context.Context, running []Approval) ([]Approval, error) {
	rs, ok := b.Store.(ReplicaStore)
	if !ok || b.ReplicaID == "" || len(running) == 0 {
		return running, nil
	}
	live, err := rs.LiveReplicas(ctx, ReplicaTimeout)
	if err != nil {
		return nil, fmt.Errorf("live replicas: %w", err)
	}
	return slices.DeleteFunc(running, func(a Approval) bool {
		return a.Runner != "" && a.Runner != b.ReplicaID && slices.Contains(live, a.Runner)
	}), nil
}

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
