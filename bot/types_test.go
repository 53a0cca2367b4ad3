package bot_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/cippbot/cippbot/bot"
)

// TestComputeHashSurvivesJSON checks that a record hashes the same before
// and after a JSON round trip, stray invalid bytes from chat included.
func TestComputeHashSurvivesJSON(t *testing.T) {
	t.Parallel()
	r := bot.AuditRecord{
		Version: 1, Seq: 7, Time: time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC), Kind: bot.KindRequest,
		Actor: bot.Actor{ID: "slack:U1", Name: "bad\xffname"}, Reason: "locked \xc3 out",
		Targets: []bot.Target{{ID: "x", UPN: "a\xfe@contoso.com"}}, Params: map[string]string{"k\xff": "v\xff"},
		RequestIDs: []string{"r\xff"}, Approver: &bot.Actor{ID: "s\xff"},
	}
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var back bot.AuditRecord
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if r.ComputeHash() != back.ComputeHash() {
		t.Fatal("hash changed across a JSON round trip")
	}
	r.Reason = "locked out"
	if r.ComputeHash() == back.ComputeHash() {
		t.Fatal("hash ignores the reason")
	}
}
