package postgres_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"

	"github.com/cippbot/cippbot/store/postgres"
	"github.com/cippbot/cippbot/store/storetest"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// dsnEnv names the database the tests use. Each test works in a schema of
// its own, dropped when it ends, so any database the user may create
// schemas in will do.
const dsnEnv = "CIPPBOT_TEST_POSTGRES"

// testDSN returns the test database's DSN, or skips the test.
func testDSN(t testing.TB) string {
	t.Helper()
	dsn := os.Getenv(dsnEnv)
	if dsn == "" {
		t.Skip("PostgreSQL store tests skipped: set " + dsnEnv + " to a database's DSN (postgres://user@host:port/db?sslmode=disable) to run them; .ci/postgres start DIR starts a throwaway server and prints one")
	}
	return dsn
}

// freshSchema creates an empty schema for t, dropped when t ends, and
// returns a pool configuration whose connections use it.
func freshSchema(t testing.TB) *pgxpool.Config {
	t.Helper()
	dsn := testDSN(t)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatalf("connect to %s: %v", dsnEnv, err)
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	schema := "cippbot_test_" + hex.EncodeToString(b)
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		conn.Close(ctx)
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		if _, err := conn.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
		conn.Close(ctx)
	})
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		t.Fatal(err)
	}
	cfg.ConnConfig.RuntimeParams["search_path"] = schema
	cfg.MaxConns = 20
	return cfg
}

func TestConformance(t *testing.T) {
	testDSN(t)
	storetest.Run(t, harness)
}

func BenchmarkStore(b *testing.B) {
	testDSN(b)
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
