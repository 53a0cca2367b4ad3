package fakegraph_test

import (
	"bytes"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/cippbot/cippbot/internal/fakegraph"
)

// ruleNames returns the Name of each Get-InboxRule result.
func ruleNames(v []map[string]any) []string {
	var out []string
	for _, r := range v {
		s, _ := r["Name"].(string)
		out = append(out, s)
	}
	return out
}

// Get-InboxRule shows hidden rules only with -IncludeHidden, and Graph's
// messageRules never: the hidden rule of Isaiah's compromise.
func TestGetInboxRuleIncludeHidden(t *testing.T) {
	t.Parallel()
	x := newExo(t)
	mb := map[string]any{"Mailbox": "IsaiahL@contoso.com"}
	if v := x.ok("Get-InboxRule", mb); strings.Join(ruleNames(v), ",") != ".,.." {
		t.Errorf("without -IncludeHidden: %v", ruleNames(v))
	}
	all := x.ok("Get-InboxRule", map[string]any{"Mailbox": fakegraph.ContosoIsaiahID, "IncludeHidden": true})
	if strings.Join(ruleNames(all), ",") != ".,..,..." {
		t.Fatalf("with -IncludeHidden: %v", ruleNames(all))
	}
	fwd, hide, hidden := all[0], all[1], all[2]
	if fwd["ForwardTo"].([]any)[0] != `"`+fakegraph.ContosoIsaiahForward+`" [SMTP:`+fakegraph.ContosoIsaiahForward+`]` || fwd["Enabled"] != true {
		t.Errorf("forward rule = %v", fwd)
	}
	if hide["MoveToFolder"] != `IsaiahL:\RSS Feeds` || hide["MarkAsRead"] != true || hide["Priority"] != float64(2) {
		t.Errorf("hide rule = %v", hide)
	}
	id, _ := hidden["Identity"].(string)
	if !strings.HasPrefix(id, `IsaiahL\`) || hidden["DeleteMessage"] != true || hidden["MailboxOwnerId"] != "IsaiahL" ||
		hidden["RedirectTo"].([]any)[0] != `"`+fakegraph.ContosoIsaiahHiddenForward+`" [SMTP:`+fakegraph.ContosoIsaiahHiddenForward+`]` {
		t.Errorf("hidden rule = %v", hidden)
	}
	// One rule by name, RuleIdentity or MailboxAlias\RuleIdentity; a
	// hidden one only with -IncludeHidden.
	ruleID := strings.TrimPrefix(id, `IsaiahL\`)
	for _, p := range []map[string]any{
		{"Identity": id, "IncludeHidden": true},
		{"Identity": ruleID, "Mailbox": "IsaiahL", "IncludeHidden": true},
		{"Identity": "...", "Mailbox": "IsaiahL@contoso.com", "IncludeHidden": true},
	} {
		if v := x.ok("Get-InboxRule", p); len(v) != 1 || v[0]["Identity"] != id {
			t.Errorf("%v: %v", p, v)
		}
	}
	wantCmdletError(t, x.invoke("Get-InboxRule", map[string]any{"Identity": id}), http.StatusNotFound, "NotFound",
		"Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException", id)
	wantCmdletError(t, x.invoke("Get-InboxRule", map[string]any{"Identity": "nothing", "Mailbox": "IsaiahL"}), http.StatusNotFound, "NotFound",
		"Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException", "nothing")
	wantCmdletError(t, x.invoke("Get-InboxRule", map[string]any{"IncludeHidden": true}), http.StatusBadRequest, "BadRequest",
		"System.Management.Automation.ParameterBindingException", "Mailbox")
	wantCmdletError(t, x.invoke("Get-InboxRule", map[string]any{"Mailbox": "JoniS@contoso.com"}), http.StatusNotFound, "NotFound",
		"Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException", "JoniS")

	// Graph lists the two rules a user sees.
	g := &graph{t: t, s: x.s, tok: token(t, x.s)}
	if v := values(t, g.do(http.MethodGet, "/v1.0/users/"+fakegraph.ContosoIsaiahID+"/mailFolders/inbox/messageRules", nil)); len(v) != 2 {
		t.Errorf("Graph lists %d rules", len(v))
	}
}

// RuleIdentity is the Graph id's bytes read little-endian, as in the
// documentation's example.
func TestRuleIdentity(t *testing.T) {
	t.Parallel()
	x := newExo(t)
	if _, err := x.s.AddInboxRule(fakegraph.ContosoTenantID, "AdeleV@contoso.com", fakegraph.InboxRule{ID: "AQAAAAgmfug=", DisplayName: "Newsletters"}); err != nil {
		t.Fatal(err)
	}
	v := x.ok("Get-InboxRule", map[string]any{"Mailbox": "AdeleV@contoso.com", "Identity": `AdeleV\16752869479666417665`})
	if len(v) != 1 || v[0]["Identity"] != `AdeleV\16752869479666417665` {
		t.Errorf("by RuleIdentity: %v", v)
	}
	// Two rules named alike: the name is ambiguous.
	wantCmdletError(t, x.invoke("Disable-InboxRule", map[string]any{"Identity": "Newsletters", "Mailbox": "AdeleV@contoso.com"}), http.StatusBadRequest, "BadRequest",
		"Microsoft.Exchange.Configuration.Tasks.ManagementObjectAmbiguousException", "matches multiple entries")
}

// Disable-InboxRule keeps the rule, Remove-InboxRule deletes it; both
// reach hidden rules.
func TestDisableAndRemoveInboxRule(t *testing.T) {
	t.Parallel()
	x := newExo(t)
	all := x.ok("Get-InboxRule", map[string]any{"Mailbox": "IsaiahL@contoso.com", "IncludeHidden": true})
	hidden := all[2]["Identity"].(string)
	x.ok("Disable-InboxRule", map[string]any{"Identity": hidden, "Confirm": false})
	rules := x.s.InboxRules(fakegraph.ContosoTenantID, fakegraph.ContosoIsaiahID)
	if len(rules) != 3 || !rules[2].Disabled || !rules[2].Hidden {
		t.Fatalf("after Disable-InboxRule: %+v", rules)
	}
	if v := x.ok("Get-InboxRule", map[string]any{"Mailbox": "IsaiahL@contoso.com", "IncludeHidden": true}); v[2]["Enabled"] != false {
		t.Errorf("Enabled = %v", v[2]["Enabled"])
	}
	res := x.invoke("Disable-InboxRule", map[string]any{"Identity": hidden})
	if w, _ := res.json["@adminapi.warnings"].([]any); res.status != http.StatusOK || len(w) != 1 {
		t.Errorf("disabled twice: %d %s", res.status, res.raw)
	}
	x.ok("Enable-InboxRule", map[string]any{"Identity": hidden})
	if r := x.s.InboxRules(fakegraph.ContosoTenantID, fakegraph.ContosoIsaiahID); r[2].Disabled {
		t.Error("still disabled")
	}
	x.ok("Remove-InboxRule", map[string]any{"Identity": ".", "Mailbox": "IsaiahL@contoso.com", "Confirm": false})
	x.ok("Remove-InboxRule", map[string]any{"Identity": hidden, "Mailbox": "IsaiahL@contoso.com"})
	if r := x.s.InboxRules(fakegraph.ContosoTenantID, fakegraph.ContosoIsaiahID); len(r) != 1 || r[0].ID != fakegraph.ContosoIsaiahHideRuleID {
		t.Errorf("after Remove-InboxRule: %+v", r)
	}
	wantCmdletError(t, x.invoke("Remove-InboxRule", map[string]any{"Identity": hidden}), http.StatusNotFound, "NotFound",
		"Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException", hidden)
	// A rule of another mailbox is not found through this one.
	wantCmdletError(t, x.invoke("Disable-InboxRule", map[string]any{"Identity": `AdeleV\1`, "Mailbox": "IsaiahL@contoso.com"}), http.StatusNotFound, "NotFound",
		"Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException", "AdeleV")
}

// Get-MailboxRegionalConfiguration shows the time zone a mailbox's
// owner chose, null when none was chosen.
func TestMailboxRegionalConfiguration(t *testing.T) {
	t.Parallel()
	x := newExo(t)
	v := x.ok("Get-MailboxRegionalConfiguration", map[string]any{"Identity": "EnricoC@contoso.com"})
	if v[0]["TimeZone"] != "W. Europe Standard Time" || v[0]["Language"] != "en-US" {
		t.Errorf("Enrico: %v", v[0])
	}
	if v := x.ok("Get-MailboxRegionalConfiguration", map[string]any{"Identity": fakegraph.ContosoAdminID}); v[0]["TimeZone"] != nil || v[0]["Language"] != nil {
		t.Errorf("admin: %v", v[0])
	}
	wantCmdletError(t, x.invoke("Get-MailboxRegionalConfiguration", map[string]any{"Identity": "JoniS@contoso.com"}), http.StatusNotFound, "NotFound",
		"Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException", "JoniS")
	x.s.SetMailbox(fakegraph.ContosoTenantID, "AdeleV@contoso.com", func(u *fakegraph.User) { u.TimeZone = "tokyo standard time" })
	if v := x.ok("Get-MailboxRegionalConfiguration", map[string]any{"Identity": "AdeleV"}); v[0]["TimeZone"] != "Tokyo Standard Time" {
		t.Errorf("Adele: %v", v[0])
	}
	defer func() {
		if recover() == nil {
			t.Error("an unknown time zone was accepted")
		}
	}()
	x.s.SetMailbox(fakegraph.ContosoTenantID, "AdeleV@contoso.com", func(u *fakegraph.User) { u.TimeZone = "Mars Standard Time" })
}

// Every cmdlet is recorded with its anchor and the mailbox it was about;
// a mailbox cmdlet anchored at the system mailbox is misrouted.
func TestExchangeCallsRecordAnchor(t *testing.T) {
	t.Parallel()
	x := newExo(t)
	x.ok("Get-InboxRule", map[string]any{"Mailbox": "IsaiahL@contoso.com"})
	h := x.headers()
	h.Set("X-AnchorMailbox", "UPN:IsaiahL@contoso.com")
	res := send(t, x.s, http.MethodPost, "/adminapi/beta/"+x.tenant+"/InvokeCommand", h,
		bytes.NewReader(x.body("get-inboxrule", map[string]any{"Mailbox": fakegraph.ContosoIsaiahID, "IncludeHidden": true})))
	if res.status != http.StatusOK {
		t.Fatalf("anchored at the mailbox: %d %s", res.status, res.raw)
	}
	x.ok("Get-Mailbox", nil)
	calls := x.s.ExchangeCalls()
	want := []fakegraph.ExchangeCall{
		{Cmdlet: "Get-InboxRule", Anchor: exoAnchor + x.tenant, Mailbox: "IsaiahL@contoso.com", Misrouted: true},
		{Cmdlet: "Get-InboxRule", Anchor: "UPN:IsaiahL@contoso.com", Mailbox: "IsaiahL@contoso.com"},
		{Cmdlet: "Get-Mailbox", Anchor: exoAnchor + x.tenant},
	}
	if len(calls) != len(want) {
		t.Fatalf("calls = %+v", calls)
	}
	for i := range want {
		if calls[i] != want[i] {
			t.Errorf("call %d = %+v, want %+v", i, calls[i], want[i])
		}
	}
}

// A time without an offset is UTC, one with an offset is converted to
// UTC, whatever the mailbox's time zone.
func TestAutoReplyTimesAreUTC(t *testing.T) {
	t.Parallel()
	x := newExo(t)
	x.ok("Set-MailboxAutoReplyConfiguration", map[string]any{"Identity": "EnricoC@contoso.com", "AutoReplyState": "Scheduled",
		"StartTime": "2026-12-24T09:00:00", "EndTime": "2026-12-28T17:00:00+01:00"})
	u := x.user("EnricoC@contoso.com")
	if !u.AutoReplyStart.Equal(time.Date(2026, 12, 24, 9, 0, 0, 0, time.UTC)) || !u.AutoReplyEnd.Equal(time.Date(2026, 12, 28, 16, 0, 0, 0, time.UTC)) {
		t.Errorf("window = %v to %v", u.AutoReplyStart, u.AutoReplyEnd)
	}
}
