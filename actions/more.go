package actions

import (
	"context"
	"fmt"
	"slices"
	"strings"
)

var resetMFA = &Action{
	Name:        "reset-mfa",
	Area:        "MFA",
	Summary:     "Remove every MFA method but the password, so the user registers again",
	Permissions: []string{"UserAuthenticationMethod.ReadWrite.All"},
	Risk:        RiskDestructive,
	Bulk:        true,
	Run: func(ctx context.Context, d Directory, u User, _ Params, _ Env) (Outcome, error) {
		methods, err := d.AuthMethods(ctx, u.ID)
		if err != nil {
			return Outcome{}, err
		}
		var removed, failed []string
		var firstErr error
		for _, m := range methods {
			if m.Kind == "password" {
				continue
			}
			if err := d.DeleteAuthMethod(ctx, u.ID, m); err != nil {
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
	Run: func(ctx context.Context, d Directory, u User, p Params, _ Env) (Outcome, error) {
		if err := d.SetMFAState(ctx, u.ID, p["state"]); err != nil {
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
func prepareGroup(ctx context.Context, d Directory, p Params) (Params, error) {
	gs, err := d.FindGroups(ctx, p["group"])
	if err != nil {
		return nil, err
	}
	switch len(gs) {
	case 0:
		return nil, Errorf(ENOTFOUND, "no group is named %q: check the spelling or use its ID", p["group"])
	case 1:
	default:
		e := Errorf(EINVALID, "%d groups are named %q: pick one", len(gs), p["group"])
		for _, g := range gs[:min(len(gs), 5)] {
			e.Choices = append(e.Choices, Choice{Label: g.DisplayName + " (" + g.Kind() + ")", Param: "group", Value: g.ID})
		}
		return nil, e
	}
	g := gs[0]
	q := p.Clone()
	q["group"] = g.DisplayName
	q["group-id"] = g.ID
	if !g.Unified && g.MailEnabled {
		if _, ok := d.(Exchange); !ok {
			return nil, Errorf(ECONFLICT, "%q is a %s: its members change in Exchange Online, which this tenant connection cannot reach", g.DisplayName, g.Kind())
		}
		q["group-kind"] = g.Kind()
	}
	return q, nil
}

// memberOp returns the write that adds (or removes) u to the group p
// names: through Exchange for mail-enabled groups, else Graph.
func memberOp(u User, p Params, add bool) *Op {
	op := &Op{UserID: u.ID, GroupID: p["group-id"]}
	switch {
	case add && p["group-kind"] != "":
		op.Kind = OpAddDistributionMember
	case add:
		op.Kind = OpAddGroupMember
	case p["group-kind"] != "":
		op.Kind = OpRemoveDistributionMember
	default:
		op.Kind = OpRemoveGroupMember
	}
	return op
}

var removeFromGroup = &Action{
	Name:        "remove-from-group",
	Aliases:     []string{"removegroup"},
	Area:        "Groups",
	Summary:     "Remove users from a group or distribution list",
	Permissions: []string{"GroupMember.ReadWrite.All", "Group.ReadWrite.All", "Directory.ReadWrite.All"},
	Params: []Param{
		{Name: "group", Kind: ParamString, Positional: true, Required: true, Summary: "group name or ID"},
	},
	Risk:    RiskChange,
	Bulk:    true,
	Prepare: prepareGroup,
	Groups:  groupParam,
	Plan: func(u User, p Params, _ Env) (Plan, error) {
		return Plan{Op: memberOp(u, p, false),
			Outcome:    Outcome{Summary: fmt.Sprintf("%s: removed from %s", u.UPN, p["group"])},
			IfNotFound: &Outcome{Summary: fmt.Sprintf("%s: was not in %s", u.UPN, p["group"])}}, nil
	},
}

// editFields are edit-user's fields: add-user's, less those that name
// the account (mailNickname, primDomain) or are not properties (aliases).
var editFields = func() []userField {
	var out []userField
	for _, f := range newUserFields {
		if f.graph != "" && f.graph != "mailNickname" {
			out = append(out, f)
		}
	}
	return out
}()

var editUser = &Action{
	Name:    "edit-user",
	Area:    "Users",
	Summary: "Change a user's name, title, department, phones or address (field= clears)",
	Params: func() []Param {
		var ps []Param
		for _, f := range editFields {
			ps = append(ps, Param{Name: f.name, Kind: ParamString, AllowEmpty: true, Summary: f.summary})
		}
		return ps
	}(),
	Permissions: permUserWrite,
	AdminRoles:  rolesToChangeAdmins, // phones are sensitive properties
	Risk:        RiskChange,
	Prepare: func(_ context.Context, _ Directory, p Params) (Params, error) {
		if len(p) == 0 {
			names := make([]string, len(editFields))
			for i, f := range editFields {
				names[i] = f.graph
			}
			return nil, Errorf(EINVALID, "edit-user needs at least one field=value: %s", strings.Join(names, ", "))
		}
		if v, ok := p["usagelocation"]; ok && v != "" && (len(v) != 2 || strings.ToUpper(v) != v && strings.ToLower(v) != v) {
			return nil, Errorf(EINVALID, "usageLocation is a two-letter country code like US or GB, not %q", v)
		}
		if v, ok := p["displayname"]; ok && strings.TrimSpace(v) == "" {
			return nil, Errorf(EINVALID, "displayName cannot be cleared")
		}
		return p, nil
	},
	Plan: func(u User, p Params, _ Env) (Plan, error) {
		fields := map[string]*string{}
		var changed []string
		for _, f := range editFields {
			v, ok := p[f.name]
			if !ok {
				continue
			}
			if f.graph == "usageLocation" {
				v = strings.ToUpper(v)
			}
			if v == "" {
				fields[f.graph] = nil
				changed = append(changed, f.graph+" cleared")
			} else {
				fields[f.graph] = &v
				changed = append(changed, f.graph+"="+v)
			}
		}
		slices.Sort(changed)
		return Plan{Op: &Op{Kind: OpUpdateUser, UserID: u.ID, Update: UserUpdate{Fields: fields}},
			Outcome: Outcome{Summary: u.UPN + ": updated", Lines: []string{strings.Join(changed, ", ")}}}, nil
	},
}
