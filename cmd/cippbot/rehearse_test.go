package main

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/cippbot/cippbot/bot"
)

// TestCheckRehearse runs "cippbot check --rehearse" against the simulated
// tenant: one line per action not ready, the ready count, no write in
// the tenant's request log, and one check record in the audit trail.
func TestCheckRehearse(t *testing.T) {
	t.Parallel()
	sim, cfg := msp(t)
	cfg.ExchangeURL = sim.URL()
	cfg.AuditKey = testAuditKey
	if out, err := tenantsCmd(t, sim, cfg, "sync"); err != nil {
		t.Fatalf("sync: %v\n%s", err, out)
	}
	sim.ResetRequests()
	var out bytes.Buffer
	err := runRehearse(context.Background(), cfg, []string{"--rehearse", "AdeleV@contoso.com"}, &out, sim.Client(), slog.New(slog.DiscardHandler))
	t.Logf("\n%s", out.String())
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if lines[0] != "contoso.com: rehearsal on AdeleV@contoso.com, nothing changed" {
		t.Errorf("title %q", lines[0])
	}
	if !strings.Contains(out.String(), "✗ provision-onedrive: needs a signed-in admin") ||
		!strings.Contains(out.String(), "✓ 29 of 30 actions ready") {
		t.Errorf("output lacks the not-ready line or the count:\n%s", out.String())
	}
	for _, r := range sim.Requests() {
		switch {
		case r.Method == http.MethodGet, r.BatchItemID == "" && strings.HasSuffix(r.Path, "/token"),
			r.BatchItemID == "" && strings.HasSuffix(r.Path, "/$batch"):
		case strings.HasSuffix(r.Path, "/InvokeCommand"):
			var in struct{ CmdletInput struct{ CmdletName string } }
			if json.Unmarshal(r.Body, &in) != nil || !strings.HasPrefix(in.CmdletInput.CmdletName, "Get-") {
				t.Errorf("cmdlet %q", in.CmdletInput.CmdletName)
			}
		default:
			t.Errorf("request that may write: %s %s", r.Method, r.Path)
		}
	}

	db, err := openStore(cfg.DataPath)
	must(t, err)
	defer db.Close()
	recs, err := db.Audit(context.Background(), bot.AuditFilter{})
	must(t, err)
	var checks int
	for _, r := range recs {
		if r.Kind == bot.KindCheck {
			checks++
			if r.Platform != "cli" || !strings.HasPrefix(r.Actor.ID, "cli") || r.Tenant != "contoso.com" || r.Params["ready"] != "29 of 30" {
				t.Errorf("check record = %+v", r)
			}
		}
	}
	if checks != 1 {
		t.Errorf("%d check records, want 1", checks)
	}
	db.Close()
	// The record is keyed like every other, so the chain still verifies.
	var vout, verr bytes.Buffer
	if code := runAudit(context.Background(), cfg, []string{"verify"}, &vout, &verr); code != 0 {
		t.Errorf("audit verify after a rehearsal: exit %d\n%s%s", code, vout.String(), verr.String())
	}

	if err := runRehearse(context.Background(), cfg, []string{"--rehearse", "adele"}, &out, sim.Client(), slog.New(slog.DiscardHandler)); err == nil {
		t.Error("a user without a domain was taken")
	}
}
