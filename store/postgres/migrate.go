package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// migrations are the schema's versions, in order: migrations[i] brings a
// database from version i to version i+1. Never change one that has been
// released; add another.
var migrations = []string{
	// 1: everything the bbolt store keeps.
	`
CREATE TABLE approvals (
	id           bytea PRIMARY KEY,
	state        text NOT NULL,
	created_key  bytea NOT NULL, -- creation time, as timeKey: nanoseconds, sortable
	action       bytea NOT NULL, -- the quota stamp
	requester_id bytea NOT NULL,
	tenant_id    bytea NOT NULL,
	doc          bytea NOT NULL  -- the approval's JSON
);
CREATE INDEX approvals_by_time ON approvals (created_key, id);
CREATE INDEX approvals_by_state ON approvals (state, created_key, id);

CREATE TABLE audit_head (
	one    int PRIMARY KEY CHECK (one = 1),
	seq    bigint NOT NULL,
	hash   text NOT NULL,
	scheme text NOT NULL
);
INSERT INTO audit_head (one, seq, hash, scheme) VALUES (1, 0, '', '');
CREATE TABLE audit (
	seq bigint PRIMARY KEY CHECK (seq > 0),
	rec bytea NOT NULL -- the record's JSON, exactly the bytes hashed
);
CREATE TABLE audit_by_target (
	name bytea NOT NULL, -- store.AuditTargetNames
	seq  bigint NOT NULL REFERENCES audit,
	PRIMARY KEY (name, seq)
);

CREATE TABLE grants (
	actor  bytea NOT NULL,
	tenant bytea NOT NULL,
	doc    bytea NOT NULL,
	PRIMARY KEY (actor, tenant)
);
CREATE TABLE tenants (
	id  bytea PRIMARY KEY,
	doc bytea NOT NULL
);
CREATE TABLE bindings (
	platform  bytea NOT NULL,
	channel   bytea NOT NULL,
	tenant_id bytea NOT NULL,
	doc       bytea NOT NULL,
	PRIMARY KEY (platform, channel)
);
CREATE INDEX bindings_by_tenant ON bindings (tenant_id);
CREATE TABLE jobs (
	id  bytea PRIMARY KEY,
	doc bytea NOT NULL
);
CREATE TABLE deliveries (
	key     bytea PRIMARY KEY,
	seen_at timestamptz NOT NULL -- by the database's clock
);
CREATE INDEX deliveries_by_time ON deliveries (seen_at);
`,
	// 2: leases, for duties one replica does at a time, and replicas'
	// heartbeats, for telling a dead replica's runs from a live one's.
	`
CREATE TABLE leases (
	name        bytea PRIMARY KEY,
	holder      bytea NOT NULL,
	valid_until timestamptz NOT NULL -- by the database's clock
);
CREATE TABLE replicas (
	id      bytea PRIMARY KEY,
	seen_at timestamptz NOT NULL -- by the database's clock
);
`,
	// 3: sealed blobs (the delegated mode's token cache, encrypted before
	// it gets here) and what chat adapters keep to reach conversations
	// after a restart (Teams).
	`
CREATE TABLE sealed (
	name  bytea PRIMARY KEY,
	value bytea NOT NULL
);
CREATE TABLE chat_refs (
	key   bytea PRIMARY KEY,
	value bytea NOT NULL
);
`,
	// 4: what chat adapters must find again on whichever replica a click
	// lands (bot.Transient): questions waiting for their forms, long
	// buttons' commands, interaction tokens and Reveal secrets, the last
	// two sealed before they get here.
	`
CREATE TABLE transient (
	key        bytea PRIMARY KEY,
	value      bytea NOT NULL,
	expires_at timestamptz NOT NULL -- by the database's clock
);
CREATE INDEX transient_by_expiry ON transient (expires_at);
`,
	// 5: the IDs of pruned approvals, never given again: a pruned
	// approval's card may still be in a channel, buttons and all.
	`
CREATE TABLE approvals_retired (
	id bytea PRIMARY KEY
);
`,
}

// migrationLock is the advisory lock key under which migrations run
// ("cippbot" in ASCII).
const migrationLock = 0x63697070626f74

// SchemaVersion is the schema version this code writes.
var SchemaVersion = len(migrations)

// migrate applies the migrations the database has not had yet, in one
// transaction that holds a transaction-level advisory lock, so that
// replicas starting together apply each once, and a migration that fails
// leaves the schema as it was. (A transaction-level lock also works
// through a transaction-pooling proxy, where a session lock would not.)
// A database of a newer version than this code knows is refused.
func migrate(ctx context.Context, pool *pgxpool.Pool) error {
	return pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(migrationLock)); err != nil {
			return fmt.Errorf("lock schema: %w", err)
		}
		if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS cippbot_schema (
	version    int PRIMARY KEY,
	applied_at timestamptz NOT NULL DEFAULT now()
)`); err != nil {
			return fmt.Errorf("schema versions: %w", err)
		}
		var have int
		if err := tx.QueryRow(ctx, `SELECT coalesce(max(version), 0) FROM cippbot_schema`).Scan(&have); err != nil {
			return fmt.Errorf("schema version: %w", err)
		}
		if have > len(migrations) {
			return fmt.Errorf("the database's schema is version %d, newer than this cippbot knows (%d): upgrade cippbot", have, len(migrations))
		}
		for v := have + 1; v <= len(migrations); v++ {
			if _, err := tx.Exec(ctx, migrations[v-1]); err != nil {
				return fmt.Errorf("migrate schema to version %d: %w", v, err)
			}
			if _, err := tx.Exec(ctx, `INSERT INTO cippbot_schema (version) VALUES ($1)`, v); err != nil {
				return fmt.Errorf("migrate schema to version %d: %w", v, err)
			}
		}
		return nil
	})
}
