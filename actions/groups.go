package actions

import (
	"context"
	"fmt"
)

func prepareGroup(ctx context.Context, t Tenant, p Params) (Params, error) {
	groups, err := need(t.Groups, "groups")
	if err != nil {
		return nil, err
	}
	gs, err := groups.FindGroups(ctx, p["group"])
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
		if t.Exchange == nil {
			// The code of cannotReach, with words that say why this group
			// needs Exchange.
			return nil, Errorf(EUNAVAILABLE, "%q is a %s: its members change in Exchange Online, which this tenant connection cannot reach", g.DisplayName, g.Kind())
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

var addToGroup = &Action{
	Name:        "add-to-group",
	Area:        "Groups",
	Permissions: []string{"GroupMember.ReadWrite.All", "Group.ReadWrite.All", "Directory.ReadWrite.All"},
	Aliases:     []string{"addgroup"},
	Summary:     "Add users to a group or distribution list",
	Params: []Param{
		{Name: "group", Kind: ParamString, Positional: true, Required: true, Summary: "group name or ID"},
	},
	Risk:    RiskChange,
	Bulk:    true,
	Prepare: prepareGroup,
	Groups:  groupParam,
	Plan: func(u User, p Params, _ Env) (Plan, error) {
		return Plan{Op: memberOp(u, p, true),
			Outcome:    Outcome{Summary: fmt.Sprintf("%s: added to %s", u.UPN, p["group"])},
			IfConflict: &Outcome{Summary: fmt.Sprintf("%s: already in %s", u.UPN, p["group"])}}, nil
	},
}
