package main

import (
	"bytes"
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/cippbot/cippbot/internal/fakegraph"
)

// lastAudit returns the newest audit record's JSON line, through the CLI.
func (r *run) lastAudit(t *testing.T) string {
	t.Helper()
	var stdout, stderr bytes.Buffer
	env := func(k string) string {
		if k == "CIPPBOT_DATA" {
			return r.path
		}
		return ""
	}
	if code := Main(context.Background(), []string{"audit", "export"}, nil, &stdout, &stderr, env); code != 0 {
		t.Fatalf("audit export: %s", stderr.String())
	}
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	return lines[len(lines)-1]
}

func TestResetMFA(t *testing.T) {
	t.Parallel()
	r := newRun(t)
	out := r.session(t, "/cipp reset-mfa MeganB@contoso.com", "approve 1", "/as sam", "approve 1")
	if !strings.Contains(out, "Approval needed: reset-mfa") || !strings.Contains(out, "You cannot approve your own request") {
		t.Fatalf("not held for another approver:\n%s", out)
	}
	if !strings.Contains(out, "MeganB@contoso.com: 2 MFA method(s) removed") {
		t.Fatalf("result:\n%s", out)
	}
	if u, _ := r.sim.User(fakegraph.ContosoTenantID, "MeganB@contoso.com"); len(u.AuthMethods) != 0 {
		t.Errorf("methods left: %+v", u.AuthMethods)
	}
	if a := r.lastAudit(t); !strings.Contains(a, `"kind":"outcome"`) || !strings.Contains(a, `"action":"reset-mfa"`) || !strings.Contains(a, `"outcome":"ok"`) {
		t.Errorf("audit: %s", a)
	}
	// Without the permission, the answer names it.
	r.sim.SetPermissions(fakegraph.ContosoTenantID, slices.DeleteFunc(fakegraph.DefaultPermissions(), func(p string) bool {
		return strings.HasPrefix(p, "UserAuthenticationMethod")
	}))
	out = r.session(t, "/cipp reset-mfa PattiF@contoso.com", "/as sam", "approve 2")
	if !strings.Contains(out, "lacks the permission") {
		t.Errorf("missing permission:\n%s", out)
	}
	if u, _ := r.sim.User(fakegraph.ContosoTenantID, "PattiF@contoso.com"); len(u.AuthMethods) != 3 {
		t.Errorf("methods changed without permission: %+v", u.AuthMethods)
	}
}

func TestSetMFA(t *testing.T) {
	t.Parallel()
	r := newRun(t)
	out := r.session(t, "/cipp set-mfa AdeleV@contoso.com enforced", "/as sam", "approve 1")
	if !strings.Contains(out, "AdeleV@contoso.com: per-user MFA enforced") {
		t.Fatalf("result:\n%s", out)
	}
	if u, _ := r.sim.User(fakegraph.ContosoTenantID, "AdeleV@contoso.com"); u.PerUserMFAState != "enforced" {
		t.Errorf("state = %q", u.PerUserMFAState)
	}
	out = r.session(t, "/cipp set-mfa AdeleV@contoso.com sometimes")
	if !strings.Contains(out, "state is one of enforced, enabled, disabled") {
		t.Errorf("bad state:\n%s", out)
	}
}

func TestRemoveFromGroup(t *testing.T) {
	t.Parallel()
	r := newRun(t)
	g, _ := r.sim.Group(fakegraph.ContosoTenantID, "Sales and Marketing")
	var member string
	for _, id := range g.Members {
		if u, ok := r.sim.User(fakegraph.ContosoTenantID, id); ok && len(u.Roles) == 0 {
			member = u.UserPrincipalName
			break
		}
	}
	out := r.session(t, `/cipp remove-from-group `+member+` "Sales and Marketing"`)
	if strings.Contains(out, "Approval needed") || !strings.Contains(out, member+": removed from Sales and Marketing") {
		t.Fatalf("change action should run at once:\n%s", out)
	}
	g, _ = r.sim.Group(fakegraph.ContosoTenantID, "Sales and Marketing")
	for _, id := range g.Members {
		if u, _ := r.sim.User(fakegraph.ContosoTenantID, id); u.UserPrincipalName == member {
			t.Fatal("still a member")
		}
	}
	out = r.session(t, `/cipp remove-from-group `+member+` "Sales and Marketing"`)
	if !strings.Contains(out, member+": was not in Sales and Marketing") {
		t.Errorf("second removal:\n%s", out)
	}
	// A distribution list changes through Exchange: not a member is said so.
	out = r.session(t, `/cipp remove-from-group `+member+` "Contoso Newsletter"`)
	if !strings.Contains(out, member+": was not in Contoso Newsletter") {
		t.Errorf("distribution list:\n%s", out)
	}
}

func TestEditUser(t *testing.T) {
	t.Parallel()
	r := newRun(t)
	out := r.session(t, `/cipp edit-user AdeleV@contoso.com jobTitle="Store Manager" department= usageLocation=gb`)
	if !strings.Contains(out, "AdeleV@contoso.com: updated") || strings.Contains(out, "Approval needed") {
		t.Fatalf("result:\n%s", out)
	}
	u, _ := r.sim.User(fakegraph.ContosoTenantID, "AdeleV@contoso.com")
	if u.JobTitle != "Store Manager" || u.Department != "" || u.UsageLocation != "GB" {
		t.Errorf("user = title %q dept %q usage %q", u.JobTitle, u.Department, u.UsageLocation)
	}
	out = r.session(t, `/cipp edit-user GradyA@contoso.com jobTitle="Lead"`)
	if !strings.Contains(out, "synced from on-premises AD") {
		t.Errorf("synced user:\n%s", out)
	}
	out = r.session(t, `/cipp edit-user AdeleV@contoso.com`)
	if !strings.Contains(out, "needs at least one field=value") {
		t.Errorf("no fields:\n%s", out)
	}
	out = r.session(t, `/cipp edit-user AdeleV@contoso.com usageLocation=Britain`)
	if !strings.Contains(out, "two-letter country code") {
		t.Errorf("bad usage location:\n%s", out)
	}
}
