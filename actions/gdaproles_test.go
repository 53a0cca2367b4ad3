package actions_test

import (
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/cippbot/cippbot/actions"
)

func TestGDAPRoles_CoverCatalogue(t *testing.T) {
	for _, a := range actions.Default().All() {
		roles := actions.GDAPRoles(a)
		if len(roles) == 0 {
			t.Errorf("%s names no role for delegated mode", a.Name)
		}
		for _, r := range roles {
			if actions.RoleName(actionsRoleID(t, r)) != r {
				t.Errorf("%s: role %q has no template id", a.Name, r)
			}
		}
	}
}

// actionsRoleID finds the template id of a role by asking RoleName of
// each known id; it fails the test when none maps back.
func actionsRoleID(t *testing.T, name string) string {
	t.Helper()
	for _, id := range knownRoleIDs {
		if actions.RoleName(id) == name {
			return id
		}
	}
	return ""
}

// knownRoleIDs are the template ids of the roles the delegated table
// names (permissions-reference).
var knownRoleIDs = []string{
	"62e90394-69f5-4237-9190-012177145e10", "fe930be7-5e62-47db-91af-98c3a49a38b1", "729827e3-9c14-49f7-bb1b-9608f156bbb8",
	"966707d0-3269-4727-9be2-8c3a10f19b9d", "c4e39bd9-1100-46d3-8c65-fb160da0071f", "7be44c8a-adaf-4e2a-84d6-ab2649e08a13",
	"29232cdf-9323-42fd-ade2-1d097af3e4de", "4d6ac14f-3453-41d0-bef9-a3e0c569773a", "fdd7a751-b60b-444a-984c-02652fe8fa1c",
	"f28a1f50-f6e7-4571-818b-6a12f2af6b6c", "f2ef992c-3afb-46b9-b7cf-a126ee74c451", "158c047a-c907-4556-b7ef-446551a6b5f7",
	"88d8e3e3-8f55-4a1e-953a-9b9898b8876b",
}

func TestMissingGDAPRoles(t *testing.T) {
	cat := actions.Default()
	tests := []struct {
		action string
		held   []string
		want   []string
	}{
		{"reset-password", []string{"Helpdesk Administrator"}, nil},
		{"reset-password", []string{"License Administrator"}, []string{"Password Administrator"}},
		{"convert-mailbox", []string{"User Administrator", "Helpdesk Administrator"}, []string{"Exchange Administrator"}},
		{"convert-mailbox", []string{"Exchange Recipient Administrator"}, nil},
		{"create-tap", []string{"Privileged Authentication Administrator"}, nil},
		{"create-tap", []string{"User Administrator"}, []string{"Authentication Administrator"}},
		{"add-to-group", []string{"User Administrator"}, nil},
		{"user", []string{"License Administrator"}, nil},
		{"user", nil, []string{"Directory Readers"}},
		{"offboard", []string{"User Administrator"}, []string{"Exchange Administrator", "Authentication Administrator"}},
		{"offboard", []string{"Global Administrator"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.action+"/"+strings.Join(tt.held, "+"), func(t *testing.T) {
			got := actions.MissingGDAPRoles(tt.held, cat.Lookup(tt.action))
			if !slices.Equal(got, tt.want) {
				t.Errorf("MissingGDAPRoles(%q, %s) = %q, want %q", tt.held, tt.action, got, tt.want)
			}
		})
	}
}

// TestMissingGDAPTargetRoles: a synced user's password reset writes it
// back, which only Global, Privileged Authentication and Authentication
// Administrators may ask for; a cloud user's needs no more than the
// action's roles, and other actions add nothing.
func TestMissingGDAPTargetRoles(t *testing.T) {
	cat := actions.Default()
	cloud, synced := actions.User{UPN: "adele@contoso.com"}, actions.User{UPN: "grady@contoso.com", Synced: true}
	tests := []struct {
		action string
		held   []string
		u      actions.User
		want   []string
	}{
		{"reset-password", []string{"Password Administrator"}, cloud, nil},
		{"reset-password", []string{"Password Administrator"}, synced, []string{"Authentication Administrator"}},
		{"reset-password", []string{"Helpdesk Administrator", "User Administrator"}, synced, []string{"Authentication Administrator"}},
		{"reset-password", []string{"Authentication Administrator"}, synced, nil},
		{"reset-password", []string{"Privileged Authentication Administrator"}, synced, nil},
		{"reset-password", []string{"Global Administrator"}, synced, nil},
		{"block-signin", []string{"User Administrator"}, synced, nil},
	}
	for _, tt := range tests {
		a := cat.Lookup(tt.action)
		if got := actions.MissingGDAPTargetRoles(tt.held, a, tt.u); !slices.Equal(got, tt.want) {
			t.Errorf("MissingGDAPTargetRoles(%q, %s, synced %v) = %q, want %q", tt.held, tt.action, tt.u.Synced, got, tt.want)
		}
	}
	err := actions.GDAPTargetRefusal(cat.Lookup("reset-password"), synced, "contoso.com", []string{"Authentication Administrator"})
	if msg := actions.ErrorMessage(err); actions.ErrorCode(err) != actions.EFORBIDDEN ||
		!strings.HasPrefix(msg, "reset-password of grady@contoso.com (it is synced from on-premises AD, so its new password is written back) needs the Authentication Administrator role in contoso.com") {
		t.Errorf("refusal = %v", err)
	}
}

func TestCheckGDAP(t *testing.T) {
	cat := actions.Default()
	perms := []string{"Directory.AccessAsUser.All", "Directory.ReadWrite.All", "User.ReadWrite.All", "Group.ReadWrite.All",
		"UserAuthenticationMethod.ReadWrite.All", "AuditLog.Read.All", "Exchange.Manage"}
	rep := actions.CheckGDAP(actions.CheckReport{Permissions: perms}, cat, []string{"User Administrator", "Helpdesk Administrator"})
	if !rep.GDAP || !rep.RolesRead {
		t.Fatalf("report not marked GDAP: %+v", rep)
	}
	if got := rep.MissingRoles["convert-mailbox"]; !slices.Equal(got, []string{"Exchange Administrator"}) {
		t.Errorf("convert-mailbox missing %q", got)
	}
	if !slices.Contains(rep.Working, "reset-password") || !slices.Contains(rep.Working, "block-signin") {
		t.Errorf("working = %q", rep.Working)
	}
	if slices.Contains(rep.Working, "create-tap") || len(rep.Delegated) != 0 {
		t.Errorf("working = %q, delegated = %q", rep.Working, rep.Delegated)
	}
	if !slices.ContainsFunc(rep.Rules, func(r string) bool {
		return strings.HasPrefix(r, "On admins, ") && strings.Contains(r, "reset-password") && strings.HasSuffix(r, "Privileged Authentication Administrator role through GDAP")
	}) {
		t.Errorf("rules = %q; want the one about admins", rep.Rules)
	}
	if !slices.ContainsFunc(rep.Rules, func(r string) bool {
		return strings.HasPrefix(r, "On users synced from on-premises AD, reset-password is refused without the Authentication Administrator role")
	}) {
		t.Errorf("rules = %q; want the one about synced users", rep.Rules)
	}
	if rep := actions.CheckGDAP(actions.CheckReport{Permissions: perms}, cat, []string{"User Administrator", "Authentication Administrator"}); slices.ContainsFunc(rep.Rules, func(r string) bool {
		return strings.HasPrefix(r, "On users synced")
	}) {
		t.Errorf("rules = %q with Authentication Administrator held", rep.Rules)
	}
	err := actions.GDAPRefusal(cat.Lookup("convert-mailbox"), "fabrikam.com", rep.MissingRoles["convert-mailbox"])
	if actions.ErrorCode(err) != actions.EFORBIDDEN || !strings.Contains(actions.ErrorMessage(err), "the Exchange Administrator role in fabrikam.com") {
		t.Errorf("refusal = %v", err)
	}
}

// TestGDAPDocListsRoles keeps docs/GDAP.md's table of roles per action,
// written for people, equal to the catalogue's.
func TestGDAPDocListsRoles(t *testing.T) {
	raw, err := os.ReadFile("../docs/GDAP.md")
	if err != nil {
		t.Fatal(err)
	}
	listed := map[string]string{}
	in := false
	for _, line := range strings.Split(string(raw), "\n") {
		switch {
		case strings.HasPrefix(line, "| action | GDAP role |"):
			in = true
		case !in || strings.HasPrefix(line, "| ---"):
		case !strings.HasPrefix(line, "|"):
			in = false
		default:
			cells := strings.Split(line, "|")
			listed[strings.Trim(strings.TrimSpace(cells[1]), "`")] = strings.TrimSpace(cells[2])
		}
	}
	for _, a := range actions.Default().All() {
		want := strings.Join(actions.GDAPRoles(a), ", ")
		if got, ok := listed[a.Name]; !ok || got != want {
			t.Errorf("docs/GDAP.md: %s needs %q, the catalogue says %q", a.Name, got, want)
		}
		delete(listed, a.Name)
	}
	for name := range listed {
		t.Errorf("docs/GDAP.md lists %s, which is not an action", name)
	}
}
