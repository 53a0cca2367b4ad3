// Package storetest is the conformance suite of cippbot's stores: the
// contracts of every method the bot and the command line use, checked the
// same way against each implementation (bbolt in package store, PostgreSQL
// in store/postgres). A store passes by calling Run from its tests.
package storetest

import (
	"context"
	"io"
	"testing"
	"time"

	"github.com/cippbot/cippbot/bot"
	"github.com/cippbot/cippbot/store"
)

// Store is what a cippbot store provides: everything the bot persists,
// delivery keys, and the audit trail's head, verification and export.
type Store interface {
	bot.Store
	bot.Deduper
	// CreateApprovals stores new approvals, all or none.
	CreateApprovals(ctx context.Context, list []bot.Approval) error
	// ApprovalsSince returns the approvals created at or after t, oldest
	// first.
	ApprovalsSince(ctx context.Context, t time.Time) ([]bot.Approval, error)
	AuditHead(ctx context.Context) (store.AuditHead, error)
	VerifyAudit(ctx context.Context) (store.VerifyReport, error)
	VerifyAuditHead(ctx context.Context, published store.AuditHead) (store.VerifyReport, error)
	ExportAudit(ctx context.Context, w io.Writer, format string, since time.Time) error
	// AcquireLease takes or renews the named lease for holder for ttl
	// and reports whether holder has it now.
	AcquireLease(ctx context.Context, name, holder string, ttl time.Duration) (bool, error)
	// ReleaseLease gives up the lease if holder has it.
	ReleaseLease(ctx context.Context, name, holder string) error
	// LeaseHolder returns who holds the lease, "" if nobody.
	LeaseHolder(ctx context.Context, name string) (string, error)
	// Heartbeat records that replica is alive now.
	Heartbeat(ctx context.Context, replica string) error
	// LiveReplicas returns the replicas whose heartbeat is younger than
	// within, sorted.
	LiveReplicas(ctx context.Context, within time.Duration) ([]string, error)
	// Blobs keep the sealed token cache (store.Sealed seals before).
	store.Blobs
	// PutChatRef, DeleteChatRef and ChatRefs keep what a chat adapter
	// needs to reach conversations after a restart.
	PutChatRef(ctx context.Context, key string, value []byte) error
	DeleteChatRef(ctx context.Context, key string) error
	ChatRefs(ctx context.Context, prefix string) (map[string][]byte, error)
	// Transient values are what chat adapters must find again on any
	// replica (store.SealedTransient seals the secret ones before).
	bot.Transient
	Close() error
}

// Opener opens a handle on one database, keyed with auditKey (nil: no
// audit key). An error is what opening the store returns (for one, a key
// that does not verify the newest record).
type Opener func(auditKey []byte) (Store, error)

// Harness is how the suite gets databases of the store under test.
type Harness struct {
	// Fresh makes a new, empty database for the test and returns an
	// Opener for it. The suite closes the handles it opens; Fresh cleans
	// up the database itself when the test ends (t.Cleanup).
	Fresh func(t testing.TB) Opener
	// OneHandle says only one handle on a database may be open at a time
	// (bbolt locks its file): the suite closes a handle before it opens
	// the next, and the tests of two handles (two replicas) use one handle
	// from both sides.
	OneHandle bool
}

// Run runs the whole suite. The groups run side by side, each on
// databases of its own: the suite takes as long as its slowest group (the
// leases, which wait for one to lapse), not the sum.
func Run(t *testing.T, h Harness) {
	for _, g := range []struct {
		name string
		test func(*testing.T, Harness)
	}{
		{"Approvals", testApprovals},
		{"ApprovalIndexes", testApprovalIndexes},
		{"ApprovalRace", testApprovalRace},
		{"Audit", testAudit},
		{"AuditKeyed", testAuditKeyed},
		{"AuditExport", testAuditExport},
		{"AuditTwoHandles", testAuditTwoHandles},
		{"Grants", testGrants},
		{"Tenants", testTenants},
		{"Bindings", testBindings},
		{"Jobs", testJobs},
		{"Deliveries", testDeliveries},
		{"Leases", testLeases},
		{"Replicas", testReplicas},
		{"Sealed", testSealed},
		{"ChatRefs", testChatRefs},
		{"Transient", testTransient},
		{"Closed", testClosed},
	} {
		t.Run(g.name, func(t *testing.T) {
			t.Parallel()
			g.test(t, h)
		})
	}
}

// db is a database of the store under test, with the handles opened on it.
type db struct {
	t    testing.TB
	h    Harness
	open Opener
	last Store
}

func fresh(t testing.TB, h Harness) *db {
	t.Helper()
	return &db{t: t, h: h, open: h.Fresh(t)}
}

// handle opens a handle with key, failing the test if it cannot. With
// OneHandle the previous handle is closed first.
func (d *db) handle(key []byte) Store {
	d.t.Helper()
	s, err := d.tryHandle(key)
	if err != nil {
		d.t.Fatalf("open store: %v", err)
	}
	return s
}

func (d *db) tryHandle(key []byte) (Store, error) {
	d.t.Helper()
	if d.h.OneHandle && d.last != nil {
		if err := d.last.Close(); err != nil {
			d.t.Fatalf("close store: %v", err)
		}
		d.last = nil
	}
	s, err := d.open(key)
	if err != nil {
		return nil, err
	}
	d.last = s
	d.t.Cleanup(func() { _ = s.Close() })
	return s, nil
}

// second returns a second handle on the database, beside first: a handle
// of its own, or first itself with OneHandle.
func (d *db) second(first Store, key []byte) Store {
	d.t.Helper()
	if d.h.OneHandle {
		return first
	}
	return d.handle(key)
}

// t0 has nanoseconds, which a store must keep.
var t0 = time.Date(2025, 3, 14, 9, 26, 53, 589793238, time.UTC)

func ctx() context.Context { return context.Background() }
