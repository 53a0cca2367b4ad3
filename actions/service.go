package actions

import (
	"context"
	"fmt"
)

// Service runs actions against customer tenants. It is what the bot's
// runner interface is satisfied by.
type Service struct {
	Connector Connector
	Env       Env
}

// Result is the result of one action on one target.
type Result struct {
	Target  User
	Outcome Outcome
	Err     error
}

// FindUser returns the user idOrUPN of the tenant.
func (s *Service) FindUser(ctx context.Context, tenantID, idOrUPN string) (User, error) {
	d, err := s.Connector.Directory(ctx, tenantID)
	if err != nil {
		return User{}, err
	}
	u, err := d.User(ctx, idOrUPN)
	if err != nil {
		return User{}, fmt.Errorf("find user %s: %w", idOrUPN, err)
	}
	return u, nil
}

// Prepare checks a request before anyone is asked to approve it: each target
// must pass the action's Check, and the action's Prepare may resolve names in
// the parameters. It returns the parameters to pin to the approval.
func (s *Service) Prepare(ctx context.Context, tenantID string, a *Action, targets []User, p Params) (Params, error) {
	if len(targets) == 0 {
		return nil, Errorf(EINVALID, "%s needs a user: usage is %s", a.Name, a.Usage())
	}
	if len(targets) > 1 && !a.Bulk {
		return nil, Errorf(EINVALID, "%s takes one user at a time", a.Name)
	}
	if a.Check != nil {
		for _, u := range targets {
			if err := a.Check(u, p); err != nil {
				return nil, err
			}
		}
	}
	if a.Prepare == nil {
		return p, nil
	}
	d, err := s.Connector.Directory(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	return a.Prepare(ctx, d, p)
}

// Run runs the action on each target, given by object ID, in order. Each
// target is read again first, so the action sees its current state, and
// checked again. One target's failure does not stop the others.
func (s *Service) Run(ctx context.Context, tenantID string, a *Action, targetIDs []string, p Params) []Result {
	results := make([]Result, len(targetIDs))
	d, err := s.Connector.Directory(ctx, tenantID)
	if err != nil {
		for i, id := range targetIDs {
			results[i] = Result{Target: User{ID: id, UPN: id}, Err: err}
		}
		return results
	}
	for i, id := range targetIDs {
		r := &results[i]
		r.Target.ID, r.Target.UPN = id, id
		if err := ctx.Err(); err != nil {
			r.Err = err
			continue
		}
		u, err := d.User(ctx, id)
		if err != nil {
			r.Err = err
			continue
		}
		r.Target = u
		if a.Check != nil {
			if err := a.Check(u, p); err != nil {
				r.Err = err
				continue
			}
		}
		r.Outcome, r.Err = a.Run(ctx, d, u, p, s.Env)
	}
	return results
}
