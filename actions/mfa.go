package actions

import (
	"context"
	"fmt"
	"strings"
)

var resetMFA = &Action{
	Name:        "reset-mfa",
	Area:        "MFA",
	Summary:     "Remove every MFA method but the password, so the user registers again",
	Permissions: []string{"UserAuthenticationMethod.ReadWrite.All"},
	Risk:        RiskDestructive,
	Bulk:        true,
	Run: func(ctx context.Context, t Tenant, u User, _ Params, _ Env) (Outcome, error) {
		auth, err := need(t.Auth, "authentication methods")
		if err != nil {
			return Outcome{}, err
		}
		methods, err := auth.AuthMethods(ctx, u.ID)
		if err != nil {
			return Outcome{}, err
		}
		var removed, failed []string
		var firstErr error
		for _, m := range methods {
			if m.Kind == "password" {
				continue
			}
			if err := auth.DeleteAuthMethod(ctx, u.ID, m); err != nil {
				failed = append(failed, m.Name+": "+ErrorMessage(err))
				firstErr = cmpOr(firstErr, err)
				continue
			}
			removed = append(removed, m.Name)
		}
		if len(failed) > 0 {
			e := &Error{Code: ErrorCode(firstErr), Message: fmt.Sprintf("removed %s; could not remove %s",
				listOr(removed, "nothing"), strings.Join(failed, "; "))}
			return Outcome{}, e
		}
		if len(removed) == 0 {
			return Outcome{Summary: u.UPN + ": no MFA methods to remove"}, nil
		}
		return Outcome{Summary: fmt.Sprintf("%s: %d MFA method(s) removed", u.UPN, len(removed)),
			Lines: []string{"Removed: " + strings.Join(removed, ", "), "They must register MFA again at next sign-in."}}, nil
	},
}

func cmpOr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

var mfaStates = []string{"enforced", "enabled", "disabled"}

var setMFA = &Action{
	Name:    "set-mfa",
	Area:    "MFA",
	Summary: "Set legacy per-user MFA: enforced, enabled or disabled",
	Params: []Param{
		{Name: "state", Kind: ParamEnum, Choices: mfaStates, Positional: true, Required: true, Summary: "enforced, enabled or disabled"},
	},
	Permissions: []string{"Policy.ReadWrite.AuthenticationMethod"},
	Risk:        RiskDestructive,
	Bulk:        true,
	Run: func(ctx context.Context, t Tenant, u User, p Params, _ Env) (Outcome, error) {
		auth, err := need(t.Auth, "per-user MFA")
		if err != nil {
			return Outcome{}, err
		}
		if err := auth.SetMFAState(ctx, u.ID, p["state"]); err != nil {
			return Outcome{}, err
		}
		o := Outcome{Summary: fmt.Sprintf("%s: per-user MFA %s", u.UPN, p["state"])}
		if p["state"] == "disabled" {
			o.Lines = []string{"Conditional Access or security defaults may still require MFA."}
		}
		return o, nil
	},
}

// prepareGroup resolves the group parameter to one group. Microsoft 365
// and security groups change through Graph; distribution lists and
// mail-enabled security groups through Exchange Online. A name several
// groups share is refused with a choice of them.
