package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/cippbot/cippbot/bot"
	"github.com/cippbot/cippbot/store"
	"github.com/jackc/pgx/v5"
)

// auditBatch is how many records VerifyAudit and ExportAudit read per
// transaction, so that neither holds one open while it works.
const auditBatch = 1024

type head struct {
	seq    uint64
	hash   string
	scheme string
}

func readHead(ctx context.Context, q interface {
	QueryRow(context.Context, string, ...any) pgx.Row
}, lock bool) (head, error) {
	sql := `SELECT seq, hash, scheme FROM audit_head WHERE one = 1`
	if lock {
		sql += ` FOR UPDATE`
	}
	var (
		h   head
		seq int64
	)
	if err := q.QueryRow(ctx, sql).Scan(&seq, &h.hash, &h.scheme); err != nil {
		return head{}, fmt.Errorf("audit head: %w", err)
	}
	h.seq = uint64(seq)
	return h, nil
}

// checkAuditKey, when the DB has an audit key and the newest record is
// keyed, checks that record's HMAC under the key, so that a wrong key is
// refused at Open.
func (db *DB) checkAuditKey(ctx context.Context) error {
	if db.key == nil {
		return nil
	}
	h, err := readHead(ctx, db.pool, false)
	if err != nil || h.scheme != bot.HashHMAC {
		return err
	}
	var rec []byte
	err = db.pool.QueryRow(ctx, `SELECT rec FROM audit WHERE seq = $1`, int64(h.seq)).Scan(&rec)
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("audit record %d, the head, is missing; run cippbot audit verify", h.seq)
	}
	if err != nil {
		return err
	}
	return store.CheckHeadKey(h.seq, rec, db.key)
}

// AuditHead returns the head of the audit trail: its newest record's
// sequence number and hash, zero if the trail is empty.
func (db *DB) AuditHead(ctx context.Context) (store.AuditHead, error) {
	if err := db.ready(ctx); err != nil {
		return store.AuditHead{}, err
	}
	h, err := readHead(ctx, db.pool, false)
	if err != nil {
		return store.AuditHead{}, err
	}
	return store.AuditHead{Seq: h.seq, Hash: h.hash, Keyed: h.scheme == bot.HashHMAC}, nil
}

// Append stamps r with the audit version, the next sequence number, the
// previous record's hash, its time (now, if r has none; always UTC) and its
// own hash, stores it as the exact bytes hashed, indexes it by target and
// moves the head to it, all in one transaction that holds the head row's
// lock: appends from every replica form one chain. It returns the record
// as stored.
func (db *DB) Append(ctx context.Context, r bot.AuditRecord) (bot.AuditRecord, error) {
	var stored bot.AuditRecord
	err := db.tx(ctx, pgx.TxOptions{}, func(tx pgx.Tx) error {
		var err error
		stored, err = db.appendTx(ctx, tx, r)
		return err
	})
	if err != nil {
		return bot.AuditRecord{}, err
	}
	return stored, nil
}

// AppendRaw appends records already sealed elsewhere (by another store),
// as they are, in one transaction: each must be the next record of this
// trail (its sequence number one past the head, its previous hash the
// head's). It is for moving a trail between stores with its hashes
// intact; Append is for new records.
func (db *DB) AppendRaw(ctx context.Context, recs [][]byte) error {
	return db.tx(ctx, pgx.TxOptions{}, func(tx pgx.Tx) error {
		h, err := readHead(ctx, tx, true)
		if err != nil {
			return err
		}
		for _, raw := range recs {
			var r bot.AuditRecord
			if err := json.Unmarshal(raw, &r); err != nil {
				return fmt.Errorf("copy audit record after %d: %w", h.seq, err)
			}
			if r.Seq != h.seq+1 || r.PrevHash != h.hash {
				return fmt.Errorf("copy audit record %d: it does not follow record %d of this trail", r.Seq, h.seq)
			}
			if err := insertRecord(ctx, tx, r, raw); err != nil {
				return err
			}
			h = head{seq: r.Seq, hash: r.Hash, scheme: r.Scheme}
		}
		_, err = tx.Exec(ctx, `UPDATE audit_head SET seq = $1, hash = $2, scheme = $3 WHERE one = 1`, int64(h.seq), h.hash, h.scheme)
		return err
	})
}

func (db *DB) appendTx(ctx context.Context, tx pgx.Tx, r bot.AuditRecord) (bot.AuditRecord, error) {
	h, err := readHead(ctx, tx, true)
	if err != nil {
		return bot.AuditRecord{}, fmt.Errorf("append audit record: %w", err)
	}
	if h.scheme == bot.HashHMAC && db.key == nil {
		return bot.AuditRecord{}, errors.New("append audit record: the audit trail is keyed (HMAC-SHA256) and this store was opened without the audit key (CIPPBOT_AUDIT_KEY or CIPPBOT_AUDIT_KEY_FILE)")
	}
	rec, raw, err := store.SealRecord(r, h.seq+1, h.hash, db.key, db.now())
	if err != nil {
		return bot.AuditRecord{}, fmt.Errorf("append audit record: %w", err)
	}
	if err := insertRecord(ctx, tx, rec, raw); err != nil {
		return bot.AuditRecord{}, err
	}
	if _, err := tx.Exec(ctx, `UPDATE audit_head SET seq = $1, hash = $2, scheme = $3 WHERE one = 1`, int64(rec.Seq), rec.Hash, rec.Scheme); err != nil {
		return bot.AuditRecord{}, fmt.Errorf("append audit record: move head: %w", err)
	}
	return rec, nil
}

// insertRecord stores record r, whose stored form is raw, and its target
// index rows.
func insertRecord(ctx context.Context, tx pgx.Tx, r bot.AuditRecord, raw []byte) error {
	if _, err := tx.Exec(ctx, `INSERT INTO audit (seq, rec) VALUES ($1, $2)`, int64(r.Seq), raw); err != nil {
		if isUniqueViolation(err) {
			return fmt.Errorf("append audit record: record %d exists already; verify the audit trail", r.Seq)
		}
		return fmt.Errorf("append audit record: %w", err)
	}
	names := store.AuditTargetNames(r)
	if len(names) == 0 {
		return nil
	}
	bs := make([][]byte, len(names))
	for i, n := range names {
		bs[i] = []byte(n)
	}
	if _, err := tx.Exec(ctx, `INSERT INTO audit_by_target (name, seq) SELECT unnest($1::bytea[]), $2`, bs, int64(r.Seq)); err != nil {
		return fmt.Errorf("append audit record: index: %w", err)
	}
	return nil
}

// Audit returns the records matching f, oldest first. With f.Limit it
// returns the newest f.Limit matching records. A Target filter is served
// from the index by target.
func (db *DB) Audit(ctx context.Context, f bot.AuditFilter) ([]bot.AuditRecord, error) {
	if err := db.ready(ctx); err != nil {
		return nil, err
	}
	order := "ASC"
	if f.Limit > 0 {
		order = "DESC"
	}
	var (
		rows pgx.Rows
		err  error
	)
	if f.Target != "" {
		rows, err = db.pool.Query(ctx, `SELECT a.seq, a.rec FROM audit_by_target t JOIN audit a ON a.seq = t.seq
WHERE t.name = $1 ORDER BY t.seq `+order, []byte(store.AuditTargetName(f.Target)))
	} else {
		rows, err = db.pool.Query(ctx, `SELECT seq, rec FROM audit ORDER BY seq `+order)
	}
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []bot.AuditRecord
	for rows.Next() {
		var (
			seq int64
			raw []byte
		)
		if err := rows.Scan(&seq, &raw); err != nil {
			return nil, err
		}
		var r bot.AuditRecord
		if err := json.Unmarshal(raw, &r); err != nil {
			return nil, fmt.Errorf("audit record %d: %w", seq, err)
		}
		if !store.MatchesAudit(r, f) {
			continue
		}
		out = append(out, r)
		if f.Limit > 0 && len(out) == f.Limit {
			break
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if f.Limit > 0 {
		slices.Reverse(out)
	}
	return out, nil
}

// walkAudit calls fn with every stored record's sequence number and bytes,
// oldest first, reading auditBatch records per read-only transaction, and
// returns the head as read in the snapshot that reached the end of the
// trail.
func (db *DB) walkAudit(ctx context.Context, fn func(seq uint64, raw []byte) error) (head, error) {
	type entry struct {
		seq uint64
		raw []byte
	}
	var (
		after uint64
		batch []entry
	)
	for {
		batch = batch[:0]
		var (
			h    head
			done bool
		)
		err := db.tx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
			rows, err := tx.Query(ctx, `SELECT seq, rec FROM audit WHERE seq > $1 ORDER BY seq LIMIT $2`, int64(after), auditBatch)
			if err != nil {
				return err
			}
			var (
				seq int64
				raw []byte
			)
			_, err = pgx.ForEachRow(rows, []any{&seq, &raw}, func() error {
				batch = append(batch, entry{uint64(seq), slices.Clone(raw)})
				return nil
			})
			if err != nil {
				return err
			}
			if len(batch) < auditBatch {
				done = true
				h, err = readHead(ctx, tx, false)
			}
			return err
		})
		if err != nil {
			return head{}, err
		}
		for _, e := range batch {
			if err := fn(e.seq, e.raw); err != nil {
				return head{}, err
			}
		}
		if len(batch) > 0 {
			after = batch[len(batch)-1].seq
		}
		if done {
			return h, nil
		}
		if err := ctx.Err(); err != nil {
			return head{}, err
		}
	}
}

// VerifyAudit walks the audit trail and checks it as store.DB.VerifyAudit
// does, with the same rules (store.AuditChecker).
func (db *DB) VerifyAudit(ctx context.Context) (store.VerifyReport, error) {
	return db.verifyAudit(ctx, nil)
}

// VerifyAuditHead does what VerifyAudit does and also checks the trail
// against a head published earlier.
func (db *DB) VerifyAuditHead(ctx context.Context, published store.AuditHead) (store.VerifyReport, error) {
	return db.verifyAudit(ctx, &published)
}

func (db *DB) verifyAudit(ctx context.Context, published *store.AuditHead) (store.VerifyReport, error) {
	c := store.NewAuditChecker(db.key, published)
	h, err := db.walkAudit(ctx, c.Check)
	if err != nil {
		return c.Report(), err
	}
	return c.Finish(store.AuditHead{Seq: h.seq, Hash: h.hash})
}

// ExportAudit writes the audit records whose time is at or after since
// (zero means all), oldest first, to w, as store.DB.ExportAudit does: JSON
// lines are the stored bytes.
func (db *DB) ExportAudit(ctx context.Context, w io.Writer, format string, since time.Time) error {
	return store.WriteAuditExport(w, format, since, func(each func(uint64, []byte) error) error {
		_, err := db.walkAudit(ctx, each)
		return err
	})
}

// WalkAudit calls fn with every stored record's sequence number and exact
// bytes, oldest first.
func (db *DB) WalkAudit(ctx context.Context, fn func(seq uint64, raw []byte) error) error {
	_, err := db.walkAudit(ctx, fn)
	return err
}
