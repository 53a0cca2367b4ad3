package actions

import (
	"context"
	"strings"
	"sync"
)

// Prefetch holds what one request read ahead of its own later steps: the
// admin roles of its targets, read in the same round trip as the targets
// themselves, for the request's role pin to take. It lives in the
// request's context only, so a later request, and the re-check before an
// approved run, always read the roles afresh.
type Prefetch struct {
	mu    sync.Mutex
	roles map[string][]RoleHeld // tenant ID + "/" + lower-case user ID
}

type prefetchKey struct{}

// WithPrefetch returns a context in which a request's reads may be shared
// between its steps.
func WithPrefetch(ctx context.Context) context.Context {
	return context.WithValue(ctx, prefetchKey{}, &Prefetch{})
}

func prefetchFrom(ctx context.Context) *Prefetch {
	p, _ := ctx.Value(prefetchKey{}).(*Prefetch)
	return p
}

func (p *Prefetch) putRoles(tenantID string, users []User, roles [][]RoleHeld, errs []error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.roles == nil {
		p.roles = map[string][]RoleHeld{}
	}
	for i, u := range users {
		if errs[i] == nil && u.ID != "" {
			p.roles[tenantID+"/"+strings.ToLower(u.ID)] = roles[i]
		}
	}
}

// takeRoles returns the roles of every user of ids if all were read
// ahead, and forgets them.
func (p *Prefetch) takeRoles(tenantID string, ids []string) ([][]RoleHeld, bool) {
	if p == nil {
		return nil, false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([][]RoleHeld, len(ids))
	for i, id := range ids {
		r, ok := p.roles[tenantID+"/"+strings.ToLower(id)]
		if !ok {
			return nil, false
		}
		out[i] = r
	}
	for _, id := range ids {
		delete(p.roles, tenantID+"/"+strings.ToLower(id))
	}
	return out, true
}

// UsersWithRoles is implemented by directories that can read users by ID
// or name together with their admin roles, in one round trip.
type UsersWithRoles interface {
	UsersWithRoles(ctx context.Context, ids []string) ([]User, []error, [][]RoleHeld, []error)
}
