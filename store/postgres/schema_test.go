package postgres_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/cippbot/cippbot/bot"
	"github.com/cippbot/cippbot/store"
	"github.com/cippbot/cippbot/store/postgres"
	"github.com/jackc/pgx/v5/pgxpool"
)

func open(t *testing.T, cfg *pgxpool.Config, key []byte) *postgres.DB {
	t.Helper()
	db, err := postgres.OpenConfig(context.Background(), cfg.Copy(), postgres.Options{AuditKey: key})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// Replicas starting together on an empty database migrate it once.
func TestMigrateConcurrently(t *testing.T) {
	t.Parallel()
	cfg := freshSchema(t)
	var wg sync.WaitGroup
	errs := make([]error, 6)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			db, err := postgres.OpenConfig(context.Background(), cfg.Copy(), postgres.Options{})
			if err == nil {
				_ = db.Close()
			}
			errs[i] = err
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatalf("concurrent opens: %v", err)
	}
	db := open(t, cfg, nil)
	var versions []int
	rows, err := db.Pool().Query(context.Background(), `SELECT version FROM cippbot_schema ORDER BY version`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			t.Fatal(err)
		}
		versions = append(versions, v)
	}
	if rows.Err() != nil {
		t.Fatal(rows.Err())
	}
	if len(versions) != postgres.SchemaVersion || versions[len(versions)-1] != postgres.SchemaVersion {
		t.Errorf("schema versions applied: %v, want 1..%d once each", versions, postgres.SchemaVersion)
	}
}

func TestNewerSchemaRefused(t *testing.T) {
	t.Parallel()
	cfg := freshSchema(t)
	db := open(t, cfg, nil)
	if _, err := db.Pool().Exec(context.Background(), `INSERT INTO cippbot_schema (version) VALUES ($1)`, postgres.SchemaVersion+1); err != nil {
		t.Fatal(err)
	}
	_, err := postgres.OpenConfig(context.Background(), cfg.Copy(), postgres.Options{})
	if err == nil || !strings.Contains(err.Error(), "newer than this cippbot knows") {
		t.Errorf("open of a newer schema = %v, want it refused", err)
	}
}

// Records are stored as the exact bytes hashed, and a change to them in
// the database is found by VerifyAudit.
func TestAuditStoredBytes(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := open(t, freshSchema(t), nil)
	var last bot.AuditRecord
	for _, reason := range []string{"first", "second", "third"} {
		r, err := db.Append(ctx, bot.AuditRecord{Kind: bot.KindRequest, Actor: bot.Actor{ID: "slack:U1"}, Reason: reason,
			Params: map[string]string{"z": "1", "a": "2"}})
		if err != nil {
			t.Fatal(err)
		}
		last = r
	}
	var raw []byte
	if err := db.Pool().QueryRow(ctx, `SELECT rec FROM audit WHERE seq = 3`).Scan(&raw); err != nil {
		t.Fatal(err)
	}
	want, _ := json.Marshal(last)
	if !bytes.Equal(raw, want) {
		t.Errorf("stored record = %s, want the bytes hashed %s", raw, want)
	}
	if err := db.Pool().QueryRow(ctx, `SELECT rec FROM audit WHERE seq = 2`).Scan(&raw); err != nil {
		t.Fatal(err)
	}
	altered := bytes.Replace(raw, []byte(`"second"`), []byte(`"secxnd"`), 1)
	if bytes.Equal(altered, raw) {
		t.Fatalf("record 2 does not hold its reason: %s", raw)
	}
	if _, err := db.Pool().Exec(ctx, `UPDATE audit SET rec = $1 WHERE seq = 2`, altered); err != nil {
		t.Fatal(err)
	}
	var ae *store.AuditError
	if _, err := db.VerifyAudit(ctx); !errors.As(err, &ae) || ae.Seq != 2 {
		t.Errorf("VerifyAudit after altering record 2 = %v, want an *AuditError at 2", err)
	}
	if _, err := db.Pool().Exec(ctx, `DELETE FROM audit_by_target; DELETE FROM audit WHERE seq = 3`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.VerifyAudit(ctx); !errors.As(err, &ae) {
		t.Errorf("VerifyAudit after removing the newest record = %v, want an *AuditError", err)
	}
}
