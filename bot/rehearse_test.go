package bot_test

import (
	"context"
	"strings"
	"testing"

	"github.com/cippbot/cippbot/bot"
)

// TestCheckRehearse: an admin rehearses every action on one user; the
// reply lists what is not ready first, then the ready count; nothing is
// changed; one check record is audited.
func TestCheckRehearse(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.dir.Perms = []string{"User.ReadWrite.All", "GroupMember.ReadWrite.All", "UserAuthenticationMethod.ReadWrite.All"}

	got := only(t, h.do(riley, "check contoso.com rehearse AdeleV@contoso.com"))
	if !strings.Contains(got.Message.Title, "Only an admin") {
		t.Errorf("non-admin rehearsal: %q", got.Message.Title)
	}

	for _, cmd := range []string{"check contoso.com rehearse AdeleV@contoso.com", "check rehearse AdeleV@contoso.com", "check --rehearse AdeleV@contoso.com"} {
		got = only(t, h.do(admin, cmd))
		m := got.Message
		if got.To == "" {
			t.Errorf("%s: the rehearsal was public", cmd)
		}
		if m.Title != "contoso.com: rehearsal on AdeleV@contoso.com, nothing changed" {
			t.Errorf("%s: title %q", cmd, m.Title)
		}
		// A mock tenant has no Exchange side and lacks permissions.
		i := len(m.Lines) - 1
		for i >= 0 && !strings.HasPrefix(m.Lines[i], "✓ ") {
			i--
		}
		if i <= 0 || !strings.HasSuffix(m.Lines[i], " of 30 actions ready") {
			t.Fatalf("%s: no ready count after failures:\n%s", cmd, text(m))
		}
		for _, l := range m.Lines[:i] {
			if !strings.HasPrefix(l, "✗ ") {
				t.Errorf("%s: %q among the failures", cmd, l)
			}
		}
		if !strings.Contains(text(m), "✗ convert-mailbox: missing permission: grant Exchange.ManageAsApp") ||
			!strings.Contains(text(m), "✗ add-license: licences: this tenant connection cannot reach licences") {
			t.Errorf("%s: reasons missing:\n%s", cmd, text(m))
		}
	}
	if n := h.dir.Calls.Load(); n != 0 {
		t.Errorf("the rehearsal made %d changes", n)
	}

	recs, err := h.db.Audit(context.Background(), bot.AuditFilter{})
	must(t, err)
	var checks []bot.AuditRecord
	for _, r := range recs {
		if r.Kind == bot.KindCheck {
			checks = append(checks, r)
		}
	}
	if len(checks) != 3 {
		t.Fatalf("%d check records, want one per rehearsal (3)", len(checks))
	}
	c := checks[0]
	if c.Actor.ID != admin.ID || c.Tenant != "contoso.com" || len(c.Targets) != 1 || c.Targets[0].ID != "u-adele" ||
		c.Outcome != "partial" || !strings.Contains(c.Error, "not ready: ") || !strings.HasSuffix(c.Params["ready"], " of 30") {
		t.Errorf("check record = %+v", c)
	}
}

func TestCheckRehearseNeedsUser(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	for _, cmd := range []string{"check contoso.com rehearse", "check rehearse AdeleV@contoso.com AlexW@contoso.com"} {
		got := only(t, h.do(admin, cmd))
		if !strings.Contains(text(got.Message), "rehearse takes one user@domain") {
			t.Errorf("%s: %s", cmd, text(got.Message))
		}
	}
	got := only(t, h.do(admin, "check rehearse nobody@contoso.com"))
	if !strings.Contains(got.Message.Title, "could not run") {
		t.Errorf("unknown user: %s", text(got.Message))
	}
}
