package store_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cippbot/cippbot/bot"
	"github.com/google/go-cmp/cmp"
)

func TestExportAudit(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := MustOpenDB(t)
	recs := mustAppend(t, db, 4)
	odd := testRecord(4)
	odd.Reason = "=HYPERLINK(\"http://evil\"), \"quoted\";\nnext line"
	odd.Approver = &bot.Actor{ID: "slack:U0999", Name: "sam"}
	odd.Targets = append(odd.Targets, bot.Target{ID: "only-id"})
	r, err := db.Append(ctx, odd)
	if err != nil {
		t.Fatal(err)
	}
	recs = append(recs, r)

	t.Run("JSONL", func(t *testing.T) {
		var buf bytes.Buffer
		if err := db.ExportAudit(ctx, &buf, "jsonl", time.Time{}); err != nil {
			t.Fatal(err)
		}
		var got []bot.AuditRecord
		sc := bufio.NewScanner(&buf)
		for sc.Scan() {
			var r bot.AuditRecord
			if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
				t.Fatalf("line %d: %v", len(got)+1, err)
			}
			if r.Hash != r.ComputeHash() {
				t.Errorf("line %d: hash does not match", len(got)+1)
			}
			got = append(got, r)
		}
		if diff := cmp.Diff(recs, got); diff != "" {
			t.Errorf("exported records (-want +got):\n%s", diff)
		}
	})

	t.Run("JSONLSince", func(t *testing.T) {
		var buf bytes.Buffer
		if err := db.ExportAudit(ctx, &buf, "jsonl", recs[3].Time); err != nil {
			t.Fatal(err)
		}
		if n := strings.Count(buf.String(), "\n"); n != 2 {
			t.Errorf("%d lines, want 2:\n%s", n, buf.String())
		}
	})

	t.Run("CSV", func(t *testing.T) {
		var buf bytes.Buffer
		if err := db.ExportAudit(ctx, &buf, "csv", time.Time{}); err != nil {
			t.Fatal(err)
		}
		rows, err := csv.NewReader(&buf).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		header := strings.Split("seq,time,kind,platform,workspace,channel,actor_id,actor_name,action,tenant,targets,params,reason,approval_id,approver,outcome,error,request_ids,duration_ms,prev_hash,hash", ",")
		if diff := cmp.Diff(header, rows[0]); diff != "" {
			t.Errorf("header (-want +got):\n%s", diff)
		}
		if len(rows) != len(recs)+1 {
			t.Fatalf("%d rows, want %d", len(rows), len(recs)+1)
		}
		col := make(map[string]int)
		for i, h := range rows[0] {
			col[h] = i
		}
		for i, r := range recs {
			row := rows[i+1]
			if got := row[col["seq"]]; got != strconv.FormatUint(r.Seq, 10) {
				t.Errorf("row %d: seq = %s, want %d", i+1, got, r.Seq)
			}
			if got, err := time.Parse(time.RFC3339Nano, row[col["time"]]); err != nil || !got.Equal(r.Time) {
				t.Errorf("row %d: time = %s, want %v", i+1, row[col["time"]], r.Time)
			}
			if got := row[col["hash"]]; got != r.Hash {
				t.Errorf("row %d: hash = %s, want %s", i+1, got, r.Hash)
			}
			if got := row[col["prev_hash"]]; got != r.PrevHash {
				t.Errorf("row %d: prev_hash = %s, want %s", i+1, got, r.PrevHash)
			}
		}
		first := rows[1]
		want := map[string]string{
			"kind":        "request",
			"actor_id":    "slack:U0123ABCD",
			"actor_name":  "riley",
			"tenant":      "contoso.com",
			"targets":     "alice@contoso.com (id-alice@contoso.com)",
			"params":      "length=16;notify=true",
			"request_ids": "req-1;req-2",
			"duration_ms": "120",
			"approver":    "",
		}
		for k, v := range want {
			if got := first[col[k]]; got != v {
				t.Errorf("first row: %s = %q, want %q", k, got, v)
			}
		}
		last := rows[len(rows)-1]
		want = map[string]string{
			"reason":   "'" + odd.Reason, // defused, otherwise intact
			"approver": "slack:U0999",
			"targets":  "bob@contoso.com (id-bob@contoso.com);only-id",
		}
		for k, v := range want {
			if got := last[col[k]]; got != v {
				t.Errorf("last row: %s = %q, want %q", k, got, v)
			}
		}
	})

	t.Run("CSVSince", func(t *testing.T) {
		var buf bytes.Buffer
		if err := db.ExportAudit(ctx, &buf, "csv", recs[2].Time); err != nil {
			t.Fatal(err)
		}
		rows, err := csv.NewReader(&buf).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) != 4 || rows[1][0] != "3" {
			t.Errorf("rows = %q, want the header and records 3 to 5", rows)
		}
	})

	t.Run("Empty", func(t *testing.T) {
		empty := MustOpenDB(t)
		var buf bytes.Buffer
		if err := empty.ExportAudit(ctx, &buf, "jsonl", time.Time{}); err != nil || buf.Len() != 0 {
			t.Errorf("jsonl export of an empty trail = %q, %v", buf.String(), err)
		}
		buf.Reset()
		if err := empty.ExportAudit(ctx, &buf, "csv", time.Time{}); err != nil || strings.Count(buf.String(), "\n") != 1 {
			t.Errorf("csv export of an empty trail = %q, %v", buf.String(), err)
		}
	})

	t.Run("ErrUnknownFormat", func(t *testing.T) {
		var buf bytes.Buffer
		if err := db.ExportAudit(ctx, &buf, "xml", time.Time{}); err == nil {
			t.Error("export as xml succeeded")
		}
		if buf.Len() != 0 {
			t.Errorf("export as xml wrote %q", buf.String())
		}
	})
}
