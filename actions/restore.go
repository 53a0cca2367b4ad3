package actions

import "context"

var restoreUser = &Action{
	Example:     "restore-user AdeleV@contoso.com",
	Name:        "restore-user",
	Aliases:     []string{"undelete-user"},
	Area:        "Users",
	Summary:     "Restore a deleted user (deleted users stay 30 days)",
	Permissions: permUserWrite,
	AdminRoles:  rolesToChangeAdmins,
	Risk:        RiskChange,
	Bulk:        true,
	Target:      TargetDeleted,
	Run: func(ctx context.Context, t Tenant, u User, _ Params, _ Env) (Outcome, error) {
		lc, err := need(t.Lifecycle, "deleted users")
		if err != nil {
			return Outcome{}, err
		}
		r, err := lc.RestoreUser(ctx, u.ID)
		if err != nil {
			return Outcome{}, err
		}
		return Outcome{Summary: r.UPN + ": restored",
			Lines: []string{"Licences and group memberships come back with it; check sign-in is as it should be."}}, nil
	},
}
