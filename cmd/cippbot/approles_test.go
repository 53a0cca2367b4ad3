package main

import (
	"strings"
	"testing"

	"github.com/cippbot/cippbot/internal/fakegraph"
)

// TestForbiddenNamesRole: when Graph refuses a password reset because
// cippbot's app lacks the Entra role (the simulated tenant applies
// Microsoft's app-only rule for passwordProfile), the chat names the
// role, not only a permission.
func TestForbiddenNamesRole(t *testing.T) {
	t.Parallel()
	r := newRun(t)
	must(t, r.sim.SetAppRoles(fakegraph.ContosoTenantID))
	before, _ := r.sim.User(fakegraph.ContosoTenantID, "AdeleV@contoso.com")
	out := r.session(t, `/cipp reset-password AdeleV@contoso.com reason="locked out"`, "/as sam", "approve 1")
	want := "AdeleV@contoso.com: cippbot's app probably lacks the User Administrator Entra role in this tenant (or the User-PasswordProfile.ReadWrite.All permission)"
	if !strings.Contains(out, want) {
		t.Fatalf("output lacks %q:\n%s", want, out)
	}
	if after, _ := r.sim.User(fakegraph.ContosoTenantID, "AdeleV@contoso.com"); after.Password != before.Password {
		t.Error("the password changed")
	}
	if got := secrets(t, out, "riley"); len(got) != 0 {
		t.Errorf("a password was handed out: %d", len(got))
	}
	// With the role it works.
	must(t, r.sim.SetAppRoles(fakegraph.ContosoTenantID, "User Administrator"))
	out = r.session(t, `/as riley`, `/cipp reset-password AdeleV@contoso.com reason="locked out"`, "/as sam", "approve 2")
	if !strings.Contains(out, "AdeleV@contoso.com: password reset") {
		t.Fatalf("with the role:\n%s", out)
	}
}

// TestSyncedPasswordResetRefusedUpFront: a synced user's password can be
// reset with writeback only through authenticationMethod: resetPassword,
// which supports no application permission; cippbot says so before
// anyone is asked to approve, and nothing is sent.
func TestSyncedPasswordResetRefusedUpFront(t *testing.T) {
	t.Parallel()
	r := newRun(t)
	out := r.session(t, `/cipp reset-password GradyA@contoso.com reason="locked out"`)
	if !strings.Contains(out, "GradyA@contoso.com is synced from on-premises AD: resetting a synced user's password (with writeback) needs a signed-in admin (delegated access), which cippbot's app-only access cannot do") ||
		strings.Contains(out, "Approval needed") {
		t.Fatalf("output:\n%s", out)
	}
	for _, q := range r.sim.Requests() {
		if q.Method != "GET" && strings.Contains(q.Path, "/users/") {
			t.Errorf("a write was sent: %s %s", q.Method, q.Path)
		}
	}
}
