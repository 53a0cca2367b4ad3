package store

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/cippbot/cippbot/bot"
)

// Export formats.
const (
	FormatJSONL = "jsonl"
	FormatCSV   = "csv"
)

// csvHeader is the header row of a CSV export.
var csvHeader = []string{
	"seq", "time", "kind", "platform", "workspace", "channel", "actor_id", "actor_name",
	"action", "tenant", "targets", "params", "reason", "approval_id", "approver",
	"outcome", "error", "request_ids", "duration_ms", "prev_hash", "hash",
}

// ExportAudit writes the audit records whose time is at or after since (zero
// means all), oldest first, to w in the given format:
//
//   - "jsonl": each record's JSON exactly as stored (and as VerifyAudit
//     checks it), one per line, copied without decoding; the records can be
//     verified again from it.
//   - "csv": a header row, then one row per record. Targets (UPN, with the
//     object ID in parentheses), request IDs and params (key=value, sorted by
//     key) are joined with ";". A cell that a spreadsheet would take for a
//     formula (starting with =, +, -, @, tab or carriage return) is prefixed
//     with a single quote.
//
// It reads the trail in batches, so it never holds a transaction open while
// w blocks.
func (db *DB) ExportAudit(ctx context.Context, w io.Writer, format string, since time.Time) error {
	return WriteAuditExport(w, format, since, func(each func(seq uint64, raw []byte) error) error {
		_, err := db.walkAudit(ctx, func(k, v []byte) error { return each(keySeq(k), v) })
		return err
	})
}

// WriteAuditExport writes an export as ExportAudit describes it. walk must
// call its function with every stored record's sequence number and bytes,
// oldest first, and return its first error.
func WriteAuditExport(w io.Writer, format string, since time.Time, walk func(each func(seq uint64, raw []byte) error) error) error {
	bw := bufio.NewWriterSize(w, 256<<10)
	var (
		each  func(seq uint64, v []byte) error
		flush func() error
	)
	switch format {
	case FormatJSONL:
		// JSON lines are the stored bytes, copied: only the time is
		// decoded, and only when it is asked about.
		each = func(seq uint64, raw []byte) error {
			if !since.IsZero() {
				t, err := recordTime(raw)
				if err != nil {
					return fmt.Errorf("audit record %d: %w", seq, err)
				}
				if t.Before(since) {
					return nil
				}
			}
			// Stored records are one line; compact any that are not so
			// the output stays one record per line.
			if bytes.IndexByte(raw, '\n') >= 0 || bytes.IndexByte(raw, '\r') >= 0 {
				var buf bytes.Buffer
				if err := json.Compact(&buf, raw); err == nil {
					raw = buf.Bytes()
				}
			}
			if _, err := bw.Write(raw); err != nil {
				return fmt.Errorf("export audit: %w", err)
			}
			if err := bw.WriteByte('\n'); err != nil {
				return fmt.Errorf("export audit: %w", err)
			}
			return nil
		}
		flush = bw.Flush
	case FormatCSV:
		cw := csv.NewWriter(bw)
		if err := cw.Write(csvHeader); err != nil {
			return err
		}
		each = func(seq uint64, v []byte) error {
			var r bot.AuditRecord
			if err := json.Unmarshal(v, &r); err != nil {
				return fmt.Errorf("audit record %d: %w", seq, err)
			}
			if !since.IsZero() && r.Time.Before(since) {
				return nil
			}
			if err := cw.Write(csvRow(r)); err != nil {
				return fmt.Errorf("export audit: %w", err)
			}
			return nil
		}
		flush = func() error {
			cw.Flush()
			if err := cw.Error(); err != nil {
				return err
			}
			return bw.Flush()
		}
	default:
		return fmt.Errorf("export audit: unknown format %q (want %s or %s)", format, FormatJSONL, FormatCSV)
	}
	if err := walk(each); err != nil {
		return err
	}
	if err := flush(); err != nil {
		return fmt.Errorf("export audit: %w", err)
	}
	return nil
}

// timePrefix is how a stored record begins, up to its time: Append stores
// json.Marshal of bot.AuditRecord, whose first fields are v, seq and time.
var timePrefix = []byte(`{"v":`)

// recordTime returns the time of a stored record. It reads it from the
// record's start when the record is in the form Append writes, and decodes
// only the time field otherwise.
func recordTime(v []byte) (time.Time, error) {
	if bytes.HasPrefix(v, timePrefix) {
		if i := bytes.Index(v, []byte(`,"time":"`)); i > 0 && i < 64 {
			rest := v[i+len(`,"time":"`):]
			if j := bytes.IndexByte(rest, '"'); j > 0 {
				if t, err := time.Parse(time.RFC3339Nano, string(rest[:j])); err == nil {
					return t, nil
				}
			}
		}
	}
	var r struct {
		Time time.Time `json:"time"`
	}
	if err := json.Unmarshal(v, &r); err != nil {
		return time.Time{}, err
	}
	return r.Time, nil
}

func csvRow(r bot.AuditRecord) []string {
	targets := make([]string, len(r.Targets))
	for i, t := range r.Targets {
		switch {
		case t.UPN == "":
			targets[i] = t.ID
		case t.ID == "":
			targets[i] = t.UPN
		default:
			targets[i] = t.UPN + " (" + t.ID + ")"
		}
	}
	params := make([]string, 0, len(r.Params))
	for _, k := range slices.Sorted(maps.Keys(r.Params)) {
		params = append(params, k+"="+r.Params[k])
	}
	tenant := r.Tenant
	if tenant == "" {
		tenant = r.TenantID
	}
	var approver string
	if r.Approver != nil {
		approver = r.Approver.ID
	}
	var duration string
	if r.DurationMS != 0 {
		duration = strconv.FormatInt(r.DurationMS, 10)
	}
	row := []string{
		strconv.FormatUint(r.Seq, 10),
		r.Time.UTC().Format(time.RFC3339Nano),
		r.Kind,
		r.Platform,
		r.Workspace,
		r.Channel,
		r.Actor.ID,
		r.Actor.Name,
		r.Action,
		tenant,
		strings.Join(targets, ";"),
		strings.Join(params, ";"),
		r.Reason,
		r.ApprovalID,
		approver,
		r.Outcome,
		r.Error,
		strings.Join(r.RequestIDs, ";"),
		duration,
		r.PrevHash,
		r.Hash,
	}
	for i, c := range row {
		row[i] = defuseCell(c)
	}
	return row
}

// defuseCell keeps a spreadsheet from running c as a formula.
func defuseCell(c string) string {
	if c != "" && strings.ContainsRune("=+-@\t\r", rune(c[0])) {
		return "'" + c
	}
	return c
}
