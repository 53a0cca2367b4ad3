package actions

import (
	"context"
	"strings"
	"sync"
	"time"
)

// Prefetch holds what one request read ahead of its own later steps: the
// admin roles of its targets, read in the same round trip as the targets
// themselves, for the request's role pin to take. It lives in the
// request's context only, so a later request, and the re-check before an
// approved run, always read the roles afresh.
type Prefetch struct {
	mu    sync.Mutex
	roles map[string][]RoleHeld // tenant ID + "/" + lower-case user ID
	users map[string]prefetched // likewise
}

// prefetched is a user's state as read at a time.
type prefetched struct {
	u  User
	at time.Time
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

// PrefetchFrom returns the reads a request shares between its steps, or
// nil outside a request; its methods accept nil.
func PrefetchFrom(ctx context.Context) *Prefetch { return prefetchFrom(ctx) }

// PutUsers keeps users' state, read at at, for a later step of the same
// request (the run that follows a lookup or a role re-check).
func (p *Prefetch) PutUsers(tenantID string, users []User, at time.Time) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.users == nil {
		p.users = map[string]prefetched{}
	}
	for _, u := range users {
		p.users[tenantID+"/"+strings.ToLower(u.ID)] = prefetched{u, at}
	}
}

// TakeUser returns a user's state kept by PutUsers, if it was read no
// longer than fresh before now, and forgets it: it stands in once.
func (p *Prefetch) TakeUser(tenantID, id string, now time.Time, fresh time.Duration) (User, bool) {
	if p == nil {
		return User{}, false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	k := tenantID + "/" + strings.ToLower(id)
	e, ok := p.users[k]
	delete(p.users, k)
	if !ok || now.Sub(e.at) > fresh || now.Before(e.at) {
		return User{}, false
	}
	return e.u, true
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
