package bot

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/cippbot/cippbot/actions"
)

// Quota bounds destructive requests in a sliding hour; past it, the next
// request needs an admin among its approvers. Zero fields take defaults;
// a negative one turns that bound off.
type Quota struct {
	PerTechnician int // default 20
	PerTenant     int // default 100
}

func (q Quota) limits() (perTech, perTenant int) {
	perTech, perTenant = q.PerTechnician, q.PerTenant
	if perTech == 0 {
		perTech = 20
	}
	if perTenant == 0 {
		perTenant = 100
	}
	return perTech, perTenant
}

// applyPolicy raises what a request needs beyond its action's risk: a
// privileged target (an admin role, held directly, through a group or as
// PIM-eligible) or a privilege-granting group change (a role-assignable
// group, one holding a role, a Conditional Access exclusion) needs two
// approvers and, under the strict policy, an admin to ask; a technician or
// tenant over its hourly quota needs an admin to approve. It pins what it
// read to the approval, and refuses what the policy does not allow at all.
func (b *Bot) applyPolicy(ctx context.Context, a *actions.Action, t Tenant, role Role, users []actions.User, ap *Approval) error {
	if a.Risk == actions.RiskRead {
		return nil
	}
	var why []string
	if a.Target == actions.TargetUser {
		w, err := b.pinRoles(ctx, t, ap)
		if err != nil {
			return err
		}
		why = append(why, w...)
	}
	what := "a privileged account. Only an admin of %s may ask to change it, and two approvers must agree"
	if len(why) == 0 {
		what = "a change that grants privilege. Only an admin of %s may ask for it, and two approvers must agree"
	}
	groups, err := b.Runner.GroupPrivileges(ctx, t.ID, a, users, actions.Params(ap.Params))
	if err != nil {
		return actions.Errorf(actions.EUNAVAILABLE, "cannot read what the groups of this change grant, so cannot judge the risk: %s",
			actions.ErrorMessage(err))
	}
	for _, g := range groups {
		ap.Groups = append(ap.Groups, g.Why())
	}
	slices.Sort(ap.Groups)
	why = append(why, ap.Groups...)
	if len(why) > 0 {
		if t.PrivilegedPolicy != PolicyTwoApprovers && role < RoleAdmin {
			return actions.Errorf(actions.EFORBIDDEN, "%s: "+what, strings.Join(why, "; "), t.DefaultDomain)
		}
		ap.Needed = 2
		why[len(why)-1] += ": two approvers must agree"
		ap.Why = append(ap.Why, why...)
	}
	if needsApproval(a) || ap.Needed > 1 {
		if over := b.overQuota(ctx, ap); over != "" {
			ap.AdminNeeded = true
			ap.Why = append(ap.Why, over)
		}
	}
	return nil
}

// pinRoles pins each target's privileged roles to the approval and says
// which targets are privileged. Users to create or restore have no roles
// to read.
func (b *Bot) pinRoles(ctx context.Context, t Tenant, ap *Approval) ([]string, error) {
	ids := make([]string, len(ap.Targets))
	for i, tg := range ap.Targets {
		ids[i] = tg.ID
	}
	roles, errs := b.Runner.DirectoryRoles(ctx, t.ID, ids)
	var why []string
	for i := range ap.Targets {
		if errs[i] != nil {
			return nil, actions.Errorf(actions.EUNAVAILABLE, "cannot read the admin roles of %s, so cannot judge the risk: %s",
				ap.Targets[i].UPN, actions.ErrorMessage(errs[i]))
		}
		priv := actions.Privileged(roles[i])
		ap.Targets[i].Roles = priv
		if len(priv) > 0 {
			why = append(why, fmt.Sprintf("%s is %s", ap.Targets[i].UPN, strings.Join(priv, ", ")))
		}
	}
	return why, nil
}

// overQuota says why the requester or tenant is over its hourly quota of
// destructive requests, or returns "".
func (b *Bot) overQuota(ctx context.Context, ap *Approval) string {
	perTech, perTenant := b.Quota.limits()
	if perTech < 0 && perTenant < 0 {
		return "" // both bounds are off: nothing to count
	}
	since := b.now().Add(-time.Hour)
	recent, err := b.Store.ApprovalStampsSince(ctx, since)
	if err != nil {
		b.log().WarnContext(ctx, "quota check failed; asking for an admin to be safe", "err", err)
		return "the quota could not be checked: an admin must approve"
	}
	var mine, tenant int
	for _, x := range recent {
		if x.CreatedAt.Before(since) {
			continue
		}
		if a := b.Catalogue.Lookup(x.Action); a == nil || !needsApproval(a) {
			continue // changes that ran at once are kept too, for recovery
		}
		if x.RequesterID == ap.Requester.ID {
			mine++
		}
		if x.TenantID == ap.TenantID {
			tenant++
		}
	}
	switch {
	case perTech > 0 && mine >= perTech:
		return fmt.Sprintf("%s asked for %d destructive actions in the last hour (limit %d): an admin must approve", ap.Requester, mine, perTech)
	case perTenant > 0 && tenant >= perTenant:
		return fmt.Sprintf("%s had %d destructive requests in the last hour (limit %d): an admin must approve", ap.TenantDomain, tenant, perTenant)
	}
	return ""
}

// stillPinned re-reads, right before a run, what the risk decision was
// made on (the targets' admin roles, what the groups of the change grant)
// and reports what changed since the approval, or "" if nothing did.
func (b *Bot) stillPinned(ctx context.Context, a *actions.Action, ap Approval) string {
	ids := make([]string, len(ap.Targets))
	users := make([]actions.User, len(ap.Targets))
	for i, tg := range ap.Targets {
		ids[i] = tg.ID
		users[i] = actions.User{ID: tg.ID, UPN: tg.UPN}
	}
	if a.Target == actions.TargetUser {
		roles, errs := b.Runner.DirectoryRoles(ctx, ap.TenantID, ids)
		for i, tg := range ap.Targets {
			if actions.ErrorCode(errs[i]) == actions.ENOTFOUND {
				continue // the run will say so for this target
			}
			if errs[i] != nil {
				return fmt.Sprintf("the admin roles of %s could not be read again", tg.UPN)
			}
			now := actions.Privileged(roles[i])
			was := slices.Clone(tg.Roles)
			slices.Sort(was)
			if !slices.Equal(now, was) {
				if len(now) == 0 {
					now = []string{"no admin role"}
				}
				return fmt.Sprintf("%s now has %s", tg.UPN, strings.Join(now, ", "))
			}
		}
	}
	groups, err := b.Runner.GroupPrivileges(ctx, ap.TenantID, a, users, actions.Params(ap.Params))
	if err != nil {
		return "what the groups of this change grant could not be read again"
	}
	now := make([]string, len(groups))
	for i, g := range groups {
		now[i] = g.Why()
	}
	slices.Sort(now)
	if !slices.Equal(now, ap.Groups) {
		if len(now) == 0 {
			return "the groups of this change no longer grant privilege"
		}
		return "now " + strings.Join(now, "; ")
	}
	return ""
}
