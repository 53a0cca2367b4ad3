package actions

import (
	"context"
	"slices"
	"strings"
)

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
	Prepare: func(_ context.Context, _ Tenant, p Params) (Params, error) {
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
