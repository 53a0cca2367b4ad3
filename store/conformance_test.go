package store_test

import (
	"path/filepath"
	"testing"

	"github.com/cippbot/cippbot/store"
	"github.com/cippbot/cippbot/store/storetest"
)

// TestConformance runs the stores' conformance suite against bbolt. A
// bbolt file is locked by the handle that has it open, so the suite's two
// handles (two replicas) are one.
func TestConformance(t *testing.T) {
	t.Parallel()
	storetest.Run(t, boltHarness)
}

func BenchmarkStore(b *testing.B) {
	storetest.Bench(b, boltHarness)
}

var boltHarness = storetest.Harness{
	OneHandle: true,
	Fresh: func(t testing.TB) storetest.Opener {
		path := filepath.Join(t.TempDir(), "cippbot.db")
		return func(key []byte) (storetest.Store, error) {
			db := store.NewDB(path)
			db.AuditKey = key
			if err := db.Open(); err != nil {
				return nil, err
			}
			return db, nil
		}
	},
}
