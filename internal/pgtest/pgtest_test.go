package pgtest_test

import (
	"context"
	"os"
	"testing"

	"github.com/cippbot/cippbot/internal/pgtest"
	"github.com/jackc/pgx/v5"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// TestSchema: two tests' schemas are apart, and each is where its
// connections create tables.
func TestSchema(t *testing.T) {
	ctx := context.Background()
	a, b := pgtest.Schema(t), pgtest.Schema(t)
	if a == b {
		t.Fatalf("two schemas share a DSN: %s", a)
	}
	for _, dsn := range []string{a, b} {
		conn, err := pgx.Connect(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "CREATE TABLE t (x int)"); err != nil {
			t.Fatalf("create the same table in each schema: %v", err)
		}
	}
}
