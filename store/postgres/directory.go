package postgres

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/cippbot/cippbot/bot"
	"github.com/cippbot/cippbot/store"
	"github.com/jackc/pgx/v5"
)

// Grants returns every grant, sorted by actor, then tenant.
func (db *DB) Grants(ctx context.Context) ([]bot.Grant, error) {
	list, err := docs[bot.Grant](ctx, db, "grant", `SELECT doc FROM grants`)
	if err != nil {
		return nil, err
	}
	slices.SortFunc(list, func(a, b bot.Grant) int {
		if c := cmp.Compare(a.Actor, b.Actor); c != 0 {
			return c
		}
		return cmp.Compare(a.Tenant, b.Tenant)
	})
	return list, nil
}

// GrantsOf returns actor's grants, sorted by tenant.
func (db *DB) GrantsOf(ctx context.Context, actor string) ([]bot.Grant, error) {
	return docs[bot.Grant](ctx, db, "grant", `SELECT doc FROM grants WHERE actor = $1 ORDER BY tenant`, []byte(actor))
}

// PutGrant stores g, replacing any grant for the same actor and tenant.
// The role must be one that can be read back (viewer to admin).
func (db *DB) PutGrant(ctx context.Context, g bot.Grant) error {
	if err := store.CheckGrant(g); err != nil {
		return err
	}
	doc, err := json.Marshal(g)
	if err != nil {
		return fmt.Errorf("put grant for %s: %w", g.Actor, err)
	}
	if _, err := db.exec(ctx, `INSERT INTO grants (actor, tenant, doc) VALUES ($1, $2, $3)
ON CONFLICT (actor, tenant) DO UPDATE SET doc = excluded.doc`, []byte(g.Actor), []byte(g.Tenant), doc); err != nil {
		return fmt.Errorf("put grant for %s: %w", g.Actor, err)
	}
	return nil
}

// DeleteGrant removes the grant for actor in tenant; bot.ErrNotFound if
// there is none.
func (db *DB) DeleteGrant(ctx context.Context, actor, tenant string) error {
	if strings.ContainsRune(actor, 0) || strings.ContainsRune(tenant, 0) {
		return errors.New("delete grant: actor or tenant holds a NUL byte")
	}
	n, err := db.exec(ctx, `DELETE FROM grants WHERE actor = $1 AND tenant = $2`, []byte(actor), []byte(tenant))
	if err != nil {
		return fmt.Errorf("delete grant for %s: %w", actor, err)
	}
	if n == 0 {
		return fmt.Errorf("grant for %s in tenant %q: %w", actor, tenant, bot.ErrNotFound)
	}
	return nil
}

// Tenants returns every tenant, sorted by default domain (ignoring case).
func (db *DB) Tenants(ctx context.Context) ([]bot.Tenant, error) {
	list, err := docs[bot.Tenant](ctx, db, "tenant", `SELECT doc FROM tenants`)
	if err != nil {
		return nil, err
	}
	store.SortTenants(list)
	return list, nil
}

// PutTenant stores t, replacing any tenant with the same ID.
func (db *DB) PutTenant(ctx context.Context, t bot.Tenant) error {
	if t.ID == "" {
		return errors.New("put tenant: empty ID")
	}
	doc, err := json.Marshal(t)
	if err != nil {
		return fmt.Errorf("put tenant %s: %w", t.ID, err)
	}
	if _, err := db.exec(ctx, `INSERT INTO tenants (id, doc) VALUES ($1, $2)
ON CONFLICT (id) DO UPDATE SET doc = excluded.doc`, []byte(t.ID), doc); err != nil {
		return fmt.Errorf("put tenant %s: %w", t.ID, err)
	}
	return nil
}

// TenantByDomain returns the tenant one of whose domains, or whose default
// domain, is domain (case-insensitive); bot.ErrNotFound if there is none,
// an error if more than one tenant claims it. The directory is an MSP's
// customers, hundreds at most: it is read whole and matched as the bbolt
// store matches.
func (db *DB) TenantByDomain(ctx context.Context, domain string) (bot.Tenant, error) {
	if domain == "" {
		return bot.Tenant{}, fmt.Errorf("tenant for domain %q: %w", domain, bot.ErrNotFound)
	}
	all, err := db.Tenants(ctx)
	if err != nil {
		return bot.Tenant{}, err
	}
	var found []bot.Tenant
	for _, t := range all {
		if store.TenantHasDomain(t, domain) {
			found = append(found, t)
		}
	}
	switch len(found) {
	case 0:
		return bot.Tenant{}, fmt.Errorf("tenant for domain %q: %w", domain, bot.ErrNotFound)
	case 1:
		return found[0], nil
	}
	ids := make([]string, len(found))
	for i, t := range found {
		ids[i] = t.ID
	}
	return bot.Tenant{}, fmt.Errorf("domain %q is claimed by more than one tenant (%s)", domain, strings.Join(ids, ", "))
}

// TenantByName returns the tenant that name stands for, ignoring case: its
// ID, alias, default domain or one of its domains. bot.ErrNotFound if none
// matches; if several do, an error naming their default domains.
func (db *DB) TenantByName(ctx context.Context, name string) (bot.Tenant, error) {
	if name == "" {
		return bot.Tenant{}, fmt.Errorf("tenant %q: %w", name, bot.ErrNotFound)
	}
	all, err := db.Tenants(ctx)
	if err != nil {
		return bot.Tenant{}, err
	}
	var found []bot.Tenant
	for _, t := range all {
		if store.TenantIsNamed(t, name) {
			found = append(found, t)
		}
	}
	switch len(found) {
	case 0:
		return bot.Tenant{}, fmt.Errorf("tenant %q: %w", name, bot.ErrNotFound)
	case 1:
		return found[0], nil
	}
	names := make([]string, len(found))
	for i, t := range found {
		names[i] = cmp.Or(t.DefaultDomain, t.ID)
	}
	return bot.Tenant{}, fmt.Errorf("%q matches %d tenants: %s; use the domain", name, len(found), strings.Join(names, ", "))
}

// DeleteTenant removes the tenant with the given ID and every channel
// binding to it, in one transaction; bot.ErrNotFound if there is no such
// tenant. Grants scoped to the tenant are kept.
func (db *DB) DeleteTenant(ctx context.Context, id string) error {
	return db.tx(ctx, pgx.TxOptions{}, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM tenants WHERE id = $1`, []byte(id))
		if err != nil {
			return fmt.Errorf("delete tenant %s: %w", id, err)
		}
		if id == "" || tag.RowsAffected() == 0 {
			return fmt.Errorf("tenant %q: %w", id, bot.ErrNotFound)
		}
		if _, err := tx.Exec(ctx, `DELETE FROM bindings WHERE tenant_id = $1`, []byte(id)); err != nil {
			return fmt.Errorf("delete tenant %s: %w", id, err)
		}
		return nil
	})
}

// Binding returns the binding of channel on platform, or bot.ErrNotFound.
func (db *DB) Binding(ctx context.Context, platform, channel string) (bot.Binding, error) {
	list, err := docs[bot.Binding](ctx, db, "binding", `SELECT doc FROM bindings WHERE platform = $1 AND channel = $2`, []byte(platform), []byte(channel))
	if err != nil {
		return bot.Binding{}, err
	}
	if len(list) == 0 {
		return bot.Binding{}, fmt.Errorf("binding of %s channel %q: %w", platform, channel, bot.ErrNotFound)
	}
	return list[0], nil
}

// PutBinding stores b, replacing the channel's binding. The platform,
// channel and tenant must be set, and the tenant must be in the directory
// (its row is locked against deletion meanwhile); if it is not, the error
// wraps bot.ErrNotFound.
func (db *DB) PutBinding(ctx context.Context, b bot.Binding) error {
	if err := store.CheckBinding(b); err != nil {
		return err
	}
	doc, err := json.Marshal(b)
	if err != nil {
		return fmt.Errorf("put binding of %s channel %s: %w", b.Platform, b.Channel, err)
	}
	return db.tx(ctx, pgx.TxOptions{}, func(tx pgx.Tx) error {
		var one int
		err := tx.QueryRow(ctx, `SELECT 1 FROM tenants WHERE id = $1 FOR SHARE`, []byte(b.TenantID)).Scan(&one)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("put binding of %s channel %s: tenant %q is not in the directory: %w", b.Platform, b.Channel, b.TenantID, bot.ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("put binding of %s channel %s: %w", b.Platform, b.Channel, err)
		}
		_, err = tx.Exec(ctx, `INSERT INTO bindings (platform, channel, tenant_id, doc) VALUES ($1, $2, $3, $4)
ON CONFLICT (platform, channel) DO UPDATE SET tenant_id = excluded.tenant_id, doc = excluded.doc`,
			[]byte(b.Platform), []byte(b.Channel), []byte(b.TenantID), doc)
		if err != nil {
			return fmt.Errorf("put binding of %s channel %s: %w", b.Platform, b.Channel, err)
		}
		return nil
	})
}

// DeleteBinding removes the binding of channel on platform;
// bot.ErrNotFound if there is none.
func (db *DB) DeleteBinding(ctx context.Context, platform, channel string) error {
	n, err := db.exec(ctx, `DELETE FROM bindings WHERE platform = $1 AND channel = $2`, []byte(platform), []byte(channel))
	if err != nil {
		return fmt.Errorf("delete binding of %s channel %s: %w", platform, channel, err)
	}
	if n == 0 {
		return fmt.Errorf("binding of %s channel %s: %w", platform, channel, bot.ErrNotFound)
	}
	return nil
}

// Bindings returns every binding, sorted by platform, then channel.
func (db *DB) Bindings(ctx context.Context) ([]bot.Binding, error) {
	return docs[bot.Binding](ctx, db, "binding", `SELECT doc FROM bindings ORDER BY platform, channel`)
}

// PutJob stores j, replacing any job with the same ID.
func (db *DB) PutJob(ctx context.Context, j bot.Job) error {
	if j.ID == "" {
		return errors.New("put job: empty ID")
	}
	doc, err := json.Marshal(j)
	if err != nil {
		return fmt.Errorf("put job %s: %w", j.ID, err)
	}
	if _, err := db.exec(ctx, `INSERT INTO jobs (id, doc) VALUES ($1, $2) ON CONFLICT (id) DO UPDATE SET doc = excluded.doc`, []byte(j.ID), doc); err != nil {
		return fmt.Errorf("put job %s: %w", j.ID, err)
	}
	return nil
}

// Jobs returns every job, by ID.
func (db *DB) Jobs(ctx context.Context) ([]bot.Job, error) {
	return docs[bot.Job](ctx, db, "job", `SELECT doc FROM jobs ORDER BY id`)
}

// DeleteJob removes the job with the given ID; bot.ErrNotFound if there is
// none.
func (db *DB) DeleteJob(ctx context.Context, id string) error {
	n, err := db.exec(ctx, `DELETE FROM jobs WHERE id = $1`, []byte(id))
	if err != nil {
		return fmt.Errorf("delete job %s: %w", id, err)
	}
	if n == 0 {
		return fmt.Errorf("job %s: %w", id, bot.ErrNotFound)
	}
	return nil
}

// maxPrune bounds how many expired delivery keys one FirstDelivery call
// deletes.
const maxPrune = 100

// FirstDelivery records key and reports whether it was new: false if key
// was recorded less than ttl ago, true (and key recorded as of now) if it
// was not recorded or its record is ttl old or older. Times are the
// database's clock, the same for every replica. Of concurrent calls with
// the same key, from any replica, exactly one reports true: the insert,
// or the update of an expired row, writes a row for one of them only. It
// then forgets up to 100 keys that are ttl old or older. An empty key or a
// ttl that is not positive is an error.
func (db *DB) FirstDelivery(ctx context.Context, key string, ttl time.Duration) (bool, error) {
	if key == "" {
		return false, errors.New("first delivery: empty key")
	}
	if ttl <= 0 {
		return false, fmt.Errorf("first delivery of %q: ttl %v is not positive", key, ttl)
	}
	micros := max(1, ttl.Microseconds())
	n, err := db.exec(ctx, `INSERT INTO deliveries (key, seen_at) VALUES ($1, clock_timestamp())
ON CONFLICT (key) DO UPDATE SET seen_at = excluded.seen_at
WHERE deliveries.seen_at <= clock_timestamp() - $2 * interval '1 microsecond'`, []byte(key), micros)
	if err != nil {
		return false, fmt.Errorf("first delivery of %q: %w", key, err)
	}
	_, err = db.exec(ctx, `DELETE FROM deliveries WHERE key IN (
	SELECT key FROM deliveries WHERE seen_at <= clock_timestamp() - $1 * interval '1 microsecond'
	ORDER BY seen_at LIMIT $2 FOR UPDATE SKIP LOCKED)`, micros, maxPrune)
	if err != nil {
		return false, fmt.Errorf("first delivery of %q: forget old keys: %w", key, err)
	}
	return n == 1, nil
}
