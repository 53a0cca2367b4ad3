package store

import (
	"context"
	"time"
)

// Leases for leader duties: a replica renews every LeaseRenew, a lease
// lasts LeaseTTL, so a replica that dies is replaced within LeaseTTL +
// LeaseRenew (20 s), and a holder that cannot renew stops its duties
// before its lease lapses.
const (
	LeaseTTL   = 15 * time.Second
	LeaseRenew = 5 * time.Second
)

// LeaseStore is a store that keeps leases; both cippbot stores are.
type LeaseStore interface {
	AcquireLease(ctx context.Context, name, holder string, ttl time.Duration) (bool, error)
	ReleaseLease(ctx context.Context, name, holder string) error
}

// Lead runs duty while holder holds the named lease, until ctx ends. Every
// renew it tries to take or renew the lease (for ttl); while holder has it
// duty runs, with a context that ends when a renewal fails, or has not
// succeeded by the time the lease would lapse (timed from the start of the
// last renewal that succeeded, by this process's clock: never later than
// the database's expiry), or ctx ends. Lead waits for duty to return
// before trying again, and releases the lease when ctx ends so that
// another replica takes over at once. renew must be well under ttl.
func Lead(ctx context.Context, s LeaseStore, name, holder string, ttl, renew time.Duration, duty func(context.Context)) {
	var (
		dutyCancel context.CancelFunc
		dutyDone   chan struct{}
		deadline   *time.Timer
	)
	stop := func() {
		if dutyCancel == nil {
			return
		}
		dutyCancel()
		<-dutyDone
		dutyCancel, dutyDone = nil, nil
		if deadline != nil {
			deadline.Stop()
		}
	}
	t := time.NewTicker(renew)
	defer t.Stop()
	for {
		started := time.Now()
		ok, err := s.AcquireLease(ctx, name, holder, ttl)
		switch {
		case err == nil && ok && dutyCancel == nil:
			dctx, cancel := context.WithCancel(ctx)
			done := make(chan struct{})
			dutyCancel, dutyDone = cancel, done
			deadline = time.AfterFunc(ttl-time.Since(started), cancel)
			go func() { defer close(done); duty(dctx) }()
		case err == nil && ok:
			// Renewed: the duty may run until this lease lapses.
			deadline.Reset(ttl - time.Since(started))
		default:
			// Lost, or could not tell: stop at once rather than risk two
			// leaders.
			stop()
		}
		select {
		case <-ctx.Done():
			stop()
			// A fresh context: ctx is done, and the lease should go now
			// rather than lapse.
			rctx, cancel := context.WithTimeout(context.Background(), renew)
			_ = s.ReleaseLease(rctx, name, holder)
			cancel()
			return
		case <-t.C:
		}
		select {
		case <-dutyDone: // duty ended by itself or by its deadline
			stop()
		default:
		}
	}
}
