package actions_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/cippbot/cippbot/actions"
	"github.com/cippbot/cippbot/internal/mock"
)

// roleDir is a tenant whose app holds the given permissions and Entra
// roles, whose users all exist, and whose writes all fail with applyErr.
// Anything else panics.
type roleDir struct {
	actions.Admin
	perms, roles []string
	rolesErr     error
	applyErr     error
	roleReads    int
}

func (d *roleDir) Permissions(context.Context) ([]string, error) { return d.perms, nil }

func (d *roleDir) AppRoles(context.Context) ([]string, error) {
	d.roleReads++
	return d.roles, d.rolesErr
}

func (d *roleDir) Apply(_ context.Context, ops []actions.Op, _ func(int)) []error {
	errs := make([]error, len(ops))
	for i := range errs {
		errs[i] = d.applyErr
	}
	return errs
}

// existingUsers reads every ID as an enabled user of that UPN.
func existingUsers(_ context.Context, ids []string) ([]actions.User, []error) {
	users := make([]actions.User, len(ids))
	for i, id := range ids {
		users[i] = actions.User{ID: id, UPN: id, Enabled: true}
	}
	return users, make([]error, len(ids))
}

type oneConn struct {
	d     *roleDir
	calls int
}

func (c *oneConn) Tenant(context.Context, string) (actions.Tenant, error) {
	c.calls++
	return actions.Tenant{Users: &mock.Users{UsersFn: existingUsers}, Batch: c.d}, nil
}

func (c *oneConn) Admin(context.Context, string) (actions.Admin, error) {
	c.calls++
	return c.d, nil
}

func TestCheckNamesMissingRoles(t *testing.T) {
	all := []string{"User.ReadWrite.All", "Directory.ReadWrite.All", "Exchange.ManageAsApp", "Sites.FullControl.All",
		"UserAuthenticationMethod.ReadWrite.All", "RoleManagement.Read.Directory", "RoleEligibilitySchedule.Read.Directory", "Policy.Read.All",
		"AuditLog.Read.All", "Application.ReadWrite.All", "Policy.ReadWrite.AuthenticationMethod"}
	check := func(roles []string, rolesErr error) actions.CheckReport {
		t.Helper()
		s := &actions.Service{Connector: &oneConn{d: &roleDir{perms: all, roles: roles, rolesErr: rolesErr}}}
		rep, err := s.Check(context.Background(), "t", actions.Default())
		if err != nil {
			t.Fatal(err)
		}
		return rep
	}
	rep := check(nil, nil)
	if !rep.RolesRead || !slices.Equal(rep.MissingRoles["offboard"], []string{actions.RoleUserAdmin, actions.RoleExchangeAdmin}) ||
		!slices.Equal(rep.MissingRoles["reset-password"], []string{actions.RoleUserAdmin}) ||
		!slices.Equal(rep.MissingRoles["convert-mailbox"], []string{actions.RoleExchangeAdmin}) ||
		rep.MissingRoles["create-tap"] != nil || !slices.Contains(rep.Working, "create-tap") || slices.Contains(rep.Working, "reset-password") {
		t.Errorf("no roles: %+v", rep)
	}
	if !slices.Equal(rep.Delegated, []string{"provision-onedrive"}) || slices.Contains(rep.Working, "provision-onedrive") {
		t.Errorf("Delegated = %v", rep.Delegated)
	}
	if !slices.ContainsFunc(rep.Rules, func(r string) bool {
		return strings.HasPrefix(r, "On admins, block-signin,") && strings.HasSuffix(r, "fail without the Privileged Authentication Administrator role")
	}) {
		t.Errorf("Rules = %q", rep.Rules)
	}
	// Roles that do as well: Privileged Authentication Administrator for
	// User Administrator, Exchange Recipient Administrator for Exchange
	// Administrator.
	rep = check([]string{"Privileged Authentication Administrator", "Exchange Recipient Administrator"}, nil)
	if len(rep.MissingRoles) != 0 || len(rep.Rules) != 0 || !slices.Contains(rep.Working, "reset-password") || !slices.Contains(rep.Working, "convert-mailbox") {
		t.Errorf("sufficient roles: %+v", rep)
	}
	rep = check([]string{"Global Administrator"}, nil)
	if len(rep.MissingRoles) != 0 || len(rep.Rules) != 0 {
		t.Errorf("Global Administrator: %+v", rep)
	}
	// Roles that cannot be read are not guessed.
	rep = check(nil, actions.Errorf(actions.EFORBIDDEN, "no"))
	if rep.RolesRead || len(rep.MissingRoles) != 0 || !slices.Contains(rep.Working, "reset-password") ||
		!slices.ContainsFunc(rep.Rules, func(r string) bool { return strings.Contains(r, "Entra roles could not be read") }) {
		t.Errorf("unreadable roles: %+v", rep)
	}
	if got := actions.RoleList([]string{"A", "B", "C"}); got != "the A, B and C roles" {
		t.Errorf("RoleList = %q", got)
	}
}

// TestDelegatedOnlyRefusedUpFront: on an app-only connection an action
// Microsoft allows only with a signed-in admin is refused before
// approval, pointing at GDAP mode; the connection is asked for nothing
// but what it is.
func TestDelegatedOnlyRefusedUpFront(t *testing.T) {
	c := &oneConn{}
	s := &actions.Service{Connector: c}
	a := actions.Default().Lookup("provision-onedrive")
	_, err := s.Prepare(context.Background(), "t", a, []actions.User{{ID: "u", UPN: "u@contoso.com"}}, actions.Params{})
	if actions.ErrorCode(err) != actions.EFORBIDDEN ||
		!strings.HasPrefix(actions.ErrorMessage(err), "provision-onedrive needs a signed-in admin (delegated access), which cippbot's app-only access cannot do: ") ||
		!strings.HasSuffix(actions.ErrorMessage(err), actions.GDAPPointer) {
		t.Errorf("Prepare = %v", err)
	}
	if c.calls > 1 {
		t.Error("the tenant was asked more than what it is")
	}
	// A delegated connection lets it through.
	s.Connector = stubConn{actions.Tenant{Delegated: true}}
	if _, err := s.Prepare(context.Background(), "t", a, []actions.User{{ID: "u", UPN: "u@contoso.com"}}, actions.Params{}); err != nil {
		t.Errorf("Prepare, delegated = %v", err)
	}
	// Run refuses too, should a request get that far.
	s.Connector = &oneConn{d: &roleDir{}}
	if res := s.Run(context.Background(), "t", a, []string{"u"}, actions.Params{}, nil); actions.ErrorCode(res[0].Err) != actions.EFORBIDDEN {
		t.Errorf("Run = %+v", res)
	}
}

// TestForbiddenNamesRole: Graph's "Insufficient privileges" for an
// action that needs a role names the role the app lacks.
func TestForbiddenNamesRole(t *testing.T) {
	graph403 := &actions.Error{Code: actions.EFORBIDDEN, Message: "cippbot's app lacks the permission for this in the tenant (Graph: Insufficient privileges to complete the operation)",
		Detail: "graph 403 Authorization_RequestDenied: Insufficient privileges to complete the operation."}
	run := func(action string, d *roleDir, targets ...string) []actions.Result {
		t.Helper()
		s := &actions.Service{Connector: &oneConn{d: d}, Env: actions.Env{Passwords: actions.Passwords{}}}
		return s.Run(context.Background(), "t", actions.Default().Lookup(action), targets, actions.Params{"must-change": "false"}, nil)
	}
	d := &roleDir{applyErr: graph403}
	res := run("reset-password", d, "a@contoso.com", "b@contoso.com")
	want := "cippbot's app probably lacks the User Administrator Entra role in this tenant (or the User-PasswordProfile.ReadWrite.All permission)"
	for _, r := range res {
		if actions.ErrorMessage(r.Err) != want || actions.ErrorCode(r.Err) != actions.EFORBIDDEN {
			t.Errorf("%s: %v", r.Target.UPN, r.Err)
		}
	}
	if d.roleReads != 1 {
		t.Errorf("the app's roles were read %d times for one run", d.roleReads)
	}
	// Holding the role, the admin target is the likely cause.
	res = run("reset-password", &roleDir{applyErr: graph403, roles: []string{"User Administrator"}}, "admin@contoso.com")
	if got := actions.ErrorMessage(res[0].Err); got != "cippbot's app probably lacks the Privileged Authentication Administrator Entra role in this tenant, which changing an admin needs (or the User-PasswordProfile.ReadWrite.All permission)" {
		t.Errorf("admin target: %q", got)
	}
	// Roles unknown: the action's first role.
	res = run("block-signin", &roleDir{applyErr: graph403, rolesErr: actions.Errorf(actions.EFORBIDDEN, "no")}, "a@contoso.com")
	if got := actions.ErrorMessage(res[0].Err); got != "cippbot's app probably lacks the Privileged Authentication Administrator Entra role in this tenant (or the User.ReadWrite.All permission)" {
		t.Errorf("roles unknown: %q", got)
	}
	// Every role held, another 403, or an action without roles: Graph's
	// words stay.
	res = run("reset-password", &roleDir{applyErr: graph403, roles: []string{"Global Administrator"}}, "a@contoso.com")
	if actions.ErrorMessage(res[0].Err) != graph403.Message {
		t.Errorf("all roles held: %v", res[0].Err)
	}
	other := &actions.Error{Code: actions.EFORBIDDEN, Message: "x", Detail: "graph 403 Forbidden: Access denied"}
	if res := run("reset-password", &roleDir{applyErr: other}, "a@contoso.com"); actions.ErrorMessage(res[0].Err) != "x" {
		t.Errorf("other 403: %v", res[0].Err)
	}
	if res := run("revoke-sessions", &roleDir{applyErr: graph403}, "a@contoso.com"); actions.ErrorMessage(res[0].Err) != graph403.Message {
		t.Errorf("revoke-sessions: %v", res[0].Err)
	}
}

// delegatedConn is a GDAP connection: the tenant acts as a signed-in
// admin; its administration is d.
type delegatedConn struct{ d *roleDir }

func (c delegatedConn) Tenant(context.Context, string) (actions.Tenant, error) {
	return actions.Tenant{Delegated: true}, nil
}

func (c delegatedConn) Admin(context.Context, string) (actions.Admin, error) { return c.d, nil }

// TestCheckDelegated: on a delegated (GDAP) connection, check no longer
// counts provision-onedrive among what needs a signed-in admin.
func TestCheckDelegated(t *testing.T) {
	d := &roleDir{perms: []string{"User.ReadWrite.All", "Sites.FullControl.All", "RoleManagement.Read.Directory"},
		roles: []string{actions.RoleUserAdmin}}
	s := &actions.Service{Connector: delegatedConn{d}}
	rep, err := s.Check(context.Background(), "t", actions.Default())
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Delegated) != 0 || !slices.Contains(rep.Working, "provision-onedrive") {
		t.Errorf("delegated check: Delegated %v, Working %v", rep.Delegated, rep.Working)
	}
}
