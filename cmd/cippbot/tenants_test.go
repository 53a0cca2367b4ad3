package main

import (
	"bytes"
	"context"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cippbot/cippbot/internal/fakegraph"
)

func msp(t *testing.T) (*fakegraph.Server, Config) {
	t.Helper()
	sim := fakegraph.NewTest(t, fakegraph.Options{})
	sim.Start()
	t.Cleanup(sim.Close)
	for _, seed := range []fakegraph.TenantSeed{fakegraph.FabrikamSeed(), fakegraph.PartnerSeed()} {
		must(t, sim.AddTenant(seed))
	}
	cfg := DefaultConfig()
	cfg.noSync = true // the store dies with the test
	cfg.DataPath = filepath.Join(t.TempDir(), "cippbot.db")
	cfg.TenantID = fakegraph.PartnerTenantID
	cfg.ClientID, cfg.ClientSecret = fakegraph.DefaultClientID, fakegraph.DefaultClientSecret
	cfg.GraphURL, cfg.AuthorityHost = sim.URL(), sim.URL()+"/"
	return sim, cfg
}

func tenantsCmd(t *testing.T, sim *fakegraph.Server, cfg Config, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	err := runTenants(context.Background(), cfg, args, &out, sim.Client(), slog.New(slog.DiscardHandler))
	return out.String(), err
}

func TestTenantsSync(t *testing.T) {
	t.Parallel()
	sim, cfg := msp(t)
	out, err := tenantsCmd(t, sim, cfg, "sync")
	if err != nil || !strings.Contains(out, "2 added, 0 updated, 0 could not be read") {
		t.Fatalf("sync: %q, %v", out, err)
	}
	out, _ = tenantsCmd(t, sim, cfg, "list")
	for _, want := range []string{"contoso.com\t" + fakegraph.ContosoTenantID, "fabrikam.com\t" + fakegraph.FabrikamTenantID, "gdap"} {
		if !strings.Contains(out, want) {
			t.Errorf("list lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "Tailspin") {
		t.Error("an expired GDAP relationship was synced")
	}
	// Consent revoked in fabrikam: the sync says so and keeps the tenant.
	sim.SetTokenError(fakegraph.FabrikamTenantID, "7000229")
	out, err = tenantsCmd(t, sim, cfg, "sync")
	if err != nil || !strings.Contains(out, "1 could not be read") || !strings.Contains(out, "AADSTS7000229") {
		t.Fatalf("sync with revoked consent: %q, %v", out, err)
	}
	var check bytes.Buffer
	err = runCheck(context.Background(), cfg, &check, sim.Client(), slog.New(slog.DiscardHandler))
	if err == nil || !strings.Contains(check.String(), "fabrikam.com: cippbot cannot sign in") ||
		!strings.Contains(check.String(), "contoso.com: signed in; 29 of 30 actions will work") ||
		!strings.Contains(check.String(), "✗ provision-onedrive needs a signed-in admin (delegated access), which app-only mode cannot do") {
		t.Fatalf("check: %v\n%s", err, check.String())
	}
}

func TestTenantsAddRemove(t *testing.T) {
	t.Parallel()
	sim, cfg := msp(t)
	out, err := tenantsCmd(t, sim, cfg, "add", "fabrikam.com")
	if err != nil || !strings.Contains(out, "added fabrikam.com (Fabrikam, "+fakegraph.FabrikamTenantID+")") {
		t.Fatalf("add: %q, %v", out, err)
	}
	out, err = tenantsCmd(t, sim, cfg, "remove", "fabrikam")
	if err != nil || !strings.Contains(out, "removed fabrikam.com") {
		t.Fatalf("remove by alias: %q, %v", out, err)
	}
	if _, err := tenantsCmd(t, sim, cfg, "add", "nosuch.example"); err == nil {
		t.Error("adding an unknown domain succeeded")
	}
}

func TestCheckNamesMissingPermissions(t *testing.T) {
	t.Parallel()
	sim, cfg := msp(t)
	tenantsCmd(t, sim, cfg, "add", "contoso.com")
	sim.SetPermissions(fakegraph.ContosoTenantID, []string{"User.ReadWrite.All"})
	var out bytes.Buffer
	err := runCheck(context.Background(), cfg, &out, sim.Client(), slog.New(slog.DiscardHandler))
	if err != nil || !strings.Contains(out.String(), "create-tap needs UserAuthenticationMethod.ReadWrite.All") ||
		!strings.Contains(out.String(), "add-to-group needs GroupMember.ReadWrite.All or Group.ReadWrite.All or Directory.ReadWrite.All") {
		t.Fatalf("check: %v\n%s", err, out.String())
	}
}

// TestCheckNamesMissingRoles: check reads the Entra roles of cippbot's
// own service principal and names, per action, the ones it lacks.
func TestCheckNamesMissingRoles(t *testing.T) {
	t.Parallel()
	sim, cfg := msp(t)
	tenantsCmd(t, sim, cfg, "add", "contoso.com")
	check := func() string {
		t.Helper()
		var out bytes.Buffer
		must(t, runCheck(context.Background(), cfg, &out, sim.Client(), slog.New(slog.DiscardHandler)))
		return out.String()
	}
	out := check()
	if strings.Contains(out, "reset-password needs") || strings.Contains(out, "convert-mailbox needs") ||
		!strings.Contains(out, "Entra roles: Exchange Administrator, Privileged Authentication Administrator, User Administrator") {
		t.Fatalf("default roles:\n%s", out)
	}
	must(t, sim.SetAppRoles(fakegraph.ContosoTenantID, "Exchange Recipient Administrator"))
	out = check()
	for _, want := range []string{
		"✗ reset-password needs the User Administrator role",
		"✗ offboard needs the User Administrator role",
		"On admins, block-signin, ", "fail without the Privileged Authentication Administrator role",
		"Entra roles: Exchange Recipient Administrator",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("check lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "convert-mailbox needs") {
		t.Errorf("Exchange Recipient Administrator is enough for the mailbox actions:\n%s", out)
	}
	must(t, sim.SetAppRoles(fakegraph.ContosoTenantID))
	out = check()
	for _, want := range []string{
		"✗ offboard needs the User Administrator and Exchange Administrator roles",
		"✗ convert-mailbox needs the Exchange Administrator role",
		"Entra roles: none",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("check lacks %q:\n%s", want, out)
		}
	}
	// Without the permission to read role assignments, check says it
	// cannot judge.
	sim.SetPermissions(fakegraph.ContosoTenantID, []string{"User.ReadWrite.All", "GroupMember.ReadWrite.All"})
	if out := check(); !strings.Contains(out, "cippbot's own Entra roles could not be read") || strings.Contains(out, "reset-password needs the") {
		t.Errorf("roles unreadable:\n%s", out)
	}
}

// TestCheckNamesSafetyRules: check names each safety rule the app's
// permissions do not let cippbot apply, with the permission that would.
func TestCheckNamesSafetyRules(t *testing.T) {
	t.Parallel()
	sim, cfg := msp(t)
	tenantsCmd(t, sim, cfg, "add", "contoso.com")
	check := func() string {
		var out bytes.Buffer
		must(t, runCheck(context.Background(), cfg, &out, sim.Client(), slog.New(slog.DiscardHandler)))
		return out.String()
	}
	sim.SetPermissions(fakegraph.ContosoTenantID, []string{"User.ReadWrite.All", "GroupMember.ReadWrite.All"})
	if out := check(); !strings.Contains(out, "Admin roles cannot be read, so every change is refused: grant RoleManagement.Read.Directory") {
		t.Fatalf("no role read:\n%s", out)
	}
	sim.SetPermissions(fakegraph.ContosoTenantID, []string{"User.ReadWrite.All", "GroupMember.ReadWrite.All", "Directory.Read.All"})
	out := check()
	if strings.Contains(out, "Admin roles cannot be read") ||
		!strings.Contains(out, "PIM-eligible admin roles are not read, so an eligible admin counts as ordinary: grant RoleEligibilitySchedule.Read.Directory") ||
		!strings.Contains(out, "Conditional Access exclusions cannot be checked for group changes: grant Policy.Read.All") {
		t.Fatalf("Directory.Read.All alone:\n%s", out)
	}
	sim.SetPermissions(fakegraph.ContosoTenantID, []string{"User.ReadWrite.All", "AuditLog.Read.All", "RoleManagement.Read.Directory"})
	if out := check(); !strings.Contains(out, "research-compromise also needs Directory.Read.All") {
		t.Fatalf("research-compromise without Directory.Read.All:\n%s", out)
	}
	sim.SetPermissions(fakegraph.ContosoTenantID, fakegraph.DefaultPermissions())
	if out := check(); strings.Contains(out, "cannot be") || strings.Contains(out, "not read") || strings.Contains(out, "also needs") {
		t.Fatalf("every permission granted:\n%s", out)
	}
}

func TestTenantsPolicy(t *testing.T) {
	t.Parallel()
	sim, cfg := msp(t)
	tenantsCmd(t, sim, cfg, "add", "contoso.com")
	out, err := tenantsCmd(t, sim, cfg, "policy", "contoso", "two-approvers")
	if err != nil || !strings.Contains(out, "contoso.com: changes to privileged accounts now follow the two-approvers policy") {
		t.Fatalf("policy: %q, %v", out, err)
	}
	if _, err := tenantsCmd(t, sim, cfg, "policy", "contoso", "lax"); err == nil {
		t.Error("an unknown policy was accepted")
	}
}
