package postgres_test

import (
	"context"
	"os"
	"testing"

	"github.com/cippbot/cippbot/internal/pgtest"
	"github.com/cippbot/cippbot/internal/testmain"
	"github.com/cippbot/cippbot/store/postgres"
	"github.com/cippbot/cippbot/store/storetest"
	"github.com/jackc/pgx/v5/pgxpool"
)

func TestMain(m *testing.M) {
	testmain.Parallel(8) // the tests wait more than they compute
	os.Exit(pgtest.Main(m))
}

// freshSchema creates an empty schema for t, dropped when t ends, and
// returns a pool configuration whose connections use it.
func freshSchema(t testing.TB) *pgxpool.Config {
	t.Helper()
	cfg, err := pgxpool.ParseConfig(pgtest.Schema(t))
	if err != nil {
		t.Fatal(err)
	}
	// Eight connections a handle: the races (two handles, 40 goroutines)
	// then run 16 transactions at once, more than pgx's default pool on a
	// small machine (4) and as many as the server's CPUs can contend over.
	// Each connection is a server process whose start costs about 10 ms of
	// CPU, and at 20 a handle the races opened 180 of the run's 272.
	cfg.MaxConns = 8
	return cfg
}

func TestConformance(t *testing.T) {
	t.Parallel()
	pgtest.DSN(t)
	storetest.Run(t, harness)
}

func BenchmarkStore(b *testing.B) {
	pgtest.DSN(b)
	storetest.Bench(b, harness)
}

var harness = storetest.Harness{
	Fresh: func(t testing.TB) storetest.Opener {
		cfg := freshSchema(t)
		return func(key []byte) (storetest.Store, error) {
			return postgres.OpenConfig(context.Background(), cfg.Copy(), postgres.Options{AuditKey: key})
		}
	},
}
