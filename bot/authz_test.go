package bot_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/cippbot/cippbot/actions"
	"github.com/cippbot/cippbot/bot"
)

const fabrikamID = "99999999-8888-7777-6666-555555555555"

// withFabrikam adds a second tenant, a user in it and a fabrikam-only
// admin.
func withFabrikam(t *testing.T, h *harness) bot.Actor {
	t.Helper()
	ctx := context.Background()
	must(t, h.db.PutTenant(ctx, bot.Tenant{ID: fabrikamID, Name: "Fabrikam", DefaultDomain: "fabrikam.com", Domains: []string{"fabrikam.com"}}))
	h.dir.Put(actions.User{ID: "u-fab", UPN: "pat@fabrikam.com", DisplayName: "Pat", Enabled: true})
	fab := bot.Actor{ID: "slack:UFAB", Name: "fab"}
	must(t, h.db.PutGrant(ctx, bot.Grant{Actor: fab.ID, Role: bot.RoleAdmin, Tenant: fabrikamID, GrantedBy: "test"}))
	return fab
}

func grantsOf(t *testing.T, h *harness) map[string]bot.Role {
	t.Helper()
	gs, err := h.db.Grants(context.Background())
	must(t, err)
	out := map[string]bot.Role{}
	for _, g := range gs {
		out[g.Actor+"@"+g.Tenant] = g.Role
	}
	return out
}

// TestTenantAdminStaysInTenant: an admin of fabrikam.com only cannot
// grant or revoke anything outside it, nor approve in contoso.com.
func TestTenantAdminStaysInTenant(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	fab := withFabrikam(t, h)
	before := grantsOf(t, h)

	got := only(t, h.do(fab, "access grant "+fab.ID+" admin"))
	if !strings.Contains(got.Message.Title, "Only a global admin may grant roles in all tenants") {
		t.Fatalf("global grant by a tenant admin: %q", got.Message.Title)
	}
	got = only(t, h.do(fab, "access revoke "+sam.ID))
	if !strings.Contains(got.Message.Title, "Only a global admin may revoke roles in all tenants") {
		t.Fatalf("global revoke by a tenant admin: %q", got.Message.Title)
	}
	got = only(t, h.do(fab, "access grant "+fab.ID+" admin contoso.com"))
	if got.Message.Title != "Only an admin of contoso.com may grant roles there." {
		t.Fatalf("grant in another tenant: %q", got.Message.Title)
	}
	if after := grantsOf(t, h); len(after) != len(before) {
		t.Fatalf("grants changed: %v → %v", before, after)
	}

	// In fabrikam.com the tenant admin does as an admin does.
	got = only(t, h.do(fab, "access grant slack:UNEW approver fabrikam.com"))
	if got.Message.Title != "slack:UNEW is now approver in fabrikam.com." {
		t.Fatalf("grant in own tenant: %q", got.Message.Title)
	}
	got = only(t, h.do(fab, "access list"))
	if l := text(got.Message); !strings.Contains(l, "slack:UNEW: approver in fabrikam.com") || strings.Contains(l, sam.ID) {
		t.Fatalf("tenant admin's access list:\n%s", l)
	}

	// A contoso request cannot be approved by fabrikam's admin.
	id := cardID(t, h.do(riley, `block-signin AdeleV@contoso.com reason="leaver"`))
	got = only(t, h.do(fab, "approve "+id))
	if !strings.Contains(got.Message.Title, "Only an approver for contoso.com may approve") || h.dir.Calls.Load() != 0 {
		t.Fatalf("cross-tenant approval: %q, calls %d", got.Message.Title, h.dir.Calls.Load())
	}

	got = only(t, h.do(fab, "whoami"))
	if l := text(got.Message); !strings.Contains(l, "fabrikam.com: admin") || strings.Contains(l, "All tenants") {
		t.Fatalf("whoami:\n%s", l)
	}
	got = only(t, h.do(fab, "tenants"))
	if l := text(got.Message); !strings.Contains(l, "fabrikam.com") || strings.Contains(l, "contoso.com") {
		t.Fatalf("tenants:\n%s", l)
	}
	got = only(t, h.do(fab, "audit"))
	if l := text(got.Message); strings.Contains(l, "AdeleV") || strings.Contains(l, "block-signin") {
		t.Fatalf("audit shows another tenant:\n%s", l)
	}
	got = only(t, h.do(fab, "check contoso.com"))
	if !strings.Contains(got.Message.Title, "Only an admin of contoso.com may check it") {
		t.Fatalf("check of another tenant: %q", got.Message.Title)
	}
}

// TestSameIDOnTwoPlatforms: slack:U1 and discord:U1 are two people.
func TestSameIDOnTwoPlatforms(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	must(t, h.db.PutGrant(context.Background(), bot.Grant{Actor: "slack:U1", Role: bot.RoleApprover, GrantedBy: "test"}))
	discordU1 := bot.Actor{ID: "discord:U1", Name: "u1"}
	id := cardID(t, h.do(riley, `block-signin AdeleV@contoso.com reason="leaver"`))
	got := only(t, h.do(discordU1, "approve "+id))
	if !strings.Contains(got.Message.Title, "you have no role") || h.dir.Calls.Load() != 0 {
		t.Fatalf("discord:U1 used slack:U1's role: %q", got.Message.Title)
	}
}

// TestReasonNeedsVisibleCharacters: a zero-width space is no reason.
func TestReasonNeedsVisibleCharacters(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.bot.ReasonOptional = nil
	for _, reason := range []string{"\u200b", "\u200b\u200d\ufeff", " \t", "\u2060.", "\x01"} {
		got := only(t, h.do(riley, `block-signin AdeleV@contoso.com reason="`+reason+`"`))
		if got.Message.Ask == nil || !strings.Contains(got.Message.Title, "A reason ") {
			t.Fatalf("reason %q accepted: %+v", reason, got.Message)
		}
	}
	if aps, _ := h.db.Approvals(context.Background()); len(aps) != 0 {
		t.Fatalf("%d approvals stored for invisible reasons", len(aps))
	}
	got := only(t, h.do(riley, `block-signin AdeleV@contoso.com reason="​"`))
	if got.Message.Title != "Why block-signin AdeleV@contoso.com? A reason needs letters or digits." {
		t.Fatalf("title: %q", got.Message.Title)
	}
	cardID(t, h.do(riley, `block-signin AdeleV@contoso.com reason="Ticket 4711"`))
	cardID(t, h.do(riley, `block-signin AlexW@contoso.com reason="休職"`))
}

// TestRefusalsCompactAndLimited: someone with no role cannot grow the
// audit trail at will.
func TestRefusalsCompactAndLimited(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	nobody := bot.Actor{ID: "slack:UNOBODY", Name: "nobody"}
	var targets []string
	for i := range 134 {
		targets = append(targets, strings.Repeat("x", 40)+string(rune('a'+i%26))+"@contoso.com")
	}
	cmd := "block-signin " + strings.Join(targets, " ") + ` reason="` + strings.Repeat("r", 2000) + `"`
	if len(cmd) < 8000 {
		t.Fatalf("command is %d bytes", len(cmd))
	}
	for range 30 {
		got := only(t, h.do(nobody, cmd))
		if got.Message.Tone != bot.ToneError {
			t.Fatalf("no refusal: %+v", got.Message)
		}
	}
	refused := func() []bot.AuditRecord {
		recs, err := h.db.Audit(context.Background(), bot.AuditFilter{})
		must(t, err)
		var out []bot.AuditRecord
		for _, r := range recs {
			if r.Kind == bot.KindRefused && r.Actor.ID == nobody.ID {
				out = append(out, r)
			}
		}
		return out
	}
	recs := refused()
	if len(recs) != 10 {
		t.Fatalf("%d refusal records in the first minute, want 10", len(recs))
	}
	for _, r := range recs {
		b, _ := json.Marshal(r)
		if len(b) > 2048 {
			t.Fatalf("refusal record of %d bytes: %s", len(b), b)
		}
		if len(r.Targets) != 3 || r.Params["targets"] != "134" || len(r.Params["command"]) > 256 || r.Action != "block-signin" {
			t.Fatalf("refusal record not compact: targets %d, params %v", len(r.Targets), r.Params)
		}
	}
	h.clock.Add(61 * time.Second)
	must(t, h.bot.Sweep(context.Background()))
	recs = refused()
	if len(recs) != 11 || recs[10].Params["refused"] != "20" || !strings.Contains(recs[10].Error, "20 more refused requests") {
		t.Fatalf("summary: %d records, last %+v", len(recs), recs[len(recs)-1])
	}
	only(t, h.do(nobody, "block-signin AdeleV@contoso.com"))
	if n := len(refused()); n != 12 {
		t.Fatalf("next window: %d records, want 12", n)
	}
	// Someone with a role is never rate-limited, and still recorded
	// compactly.
	for range 15 {
		h.do(viewer, cmd)
	}
	recs, err := h.db.Audit(context.Background(), bot.AuditFilter{})
	must(t, err)
	n := 0
	for _, r := range recs {
		if r.Kind == bot.KindRefused && r.Actor.ID == viewer.ID {
			n++
			if len(r.Targets) > 3 {
				t.Fatalf("viewer's refusal keeps %d targets", len(r.Targets))
			}
		}
	}
	if n != 15 {
		t.Fatalf("viewer's refusals recorded %d times, want 15", n)
	}
}

// TestPrivilegedGroupChange: adding to a group that holds an admin role is
// a privileged change, whatever the action's own risk.
func TestPrivilegedGroupChange(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.dir.PutGroup(actions.Group{ID: "g-tier0", DisplayName: "Tier 0 Admins", SecurityEnabled: true})
	h.dir.SetGroupPrivilege(actions.GroupPrivilege{Group: actions.Group{ID: "g-tier0"}, AssignableToRole: true,
		Roles: []actions.RoleHeld{{Name: "Global Administrator", TemplateID: "62e90394-69f5-4237-9190-012177145e10"}}})

	got := only(t, h.do(riley, `add-to-group AdeleV@contoso.com "Tier 0 Admins"`))
	if !strings.Contains(got.Message.Title, "Tier 0 Admins holds Global Administrator") ||
		!strings.Contains(got.Message.Title, "Only an admin of contoso.com may ask") || h.dir.IsMember("g-tier0", "u-adele") {
		t.Fatalf("helpdesk adding to Tier 0: %q", got.Message.Title)
	}

	h.bot.ReasonOptional = nil
	got = only(t, h.do(admin, `add-to-group AdeleV@contoso.com "Tier 0 Admins"`))
	if got.Message.Ask == nil {
		t.Fatalf("no reason asked for a privileged group change: %+v", got.Message)
	}
	sent := h.do(admin, `add-to-group AdeleV@contoso.com "Tier 0 Admins" reason="new admin, ticket 9"`)
	id := cardID(t, sent)
	card := text(sent[0].Message)
	if !strings.Contains(card, "Tier 0 Admins holds Global Administrator: two approvers must agree") || !strings.Contains(card, "Approvals: 0 of 2") {
		t.Fatalf("card:\n%s", card)
	}
	h.do(sam, "approve "+id)
	if h.dir.IsMember("g-tier0", "u-adele") {
		t.Fatal("ran after one approval")
	}
	h.do(alex, "approve "+id)
	if !h.dir.IsMember("g-tier0", "u-adele") {
		t.Fatal("not added after two approvals")
	}
	// Now Adele holds Global Administrator through the group: she is a
	// privileged target herself.
	got = only(t, h.do(riley, `revoke-sessions AdeleV@contoso.com`))
	if !strings.Contains(got.Message.Title, "Global Administrator (through Tier 0 Admins)") {
		t.Fatalf("role through a group missed: %q", got.Message.Title)
	}
}

// TestGroupPinVoid: a group that starts to hold a role between the
// request and the run voids the approval.
func TestGroupPinVoid(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.dir.PutGroup(actions.Group{ID: "g-ops", DisplayName: "Ops", SecurityEnabled: true})
	h.dir.SetGroupPrivilege(actions.GroupPrivilege{Group: actions.Group{ID: "g-ops"}, AssignableToRole: true})
	id := cardID(t, h.do(admin, `add-to-group AdeleV@contoso.com Ops reason="on call"`))
	h.dir.SetGroupPrivilege(actions.GroupPrivilege{Group: actions.Group{ID: "g-ops"}, AssignableToRole: true,
		Roles: []actions.RoleHeld{{Name: "Privileged Role Administrator"}}})
	h.do(sam, "approve "+id)
	sent := h.do(alex, "approve "+id)
	var void bool
	for _, s := range sent {
		if strings.Contains(text(s.Message), "now Ops holds Privileged Role Administrator") {
			void = true
		}
	}
	if !void || h.dir.IsMember("g-ops", "u-adele") {
		t.Fatalf("approval not void: member=%v %+v", h.dir.IsMember("g-ops", "u-adele"), sent)
	}
}
