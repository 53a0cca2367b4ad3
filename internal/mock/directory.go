// Package mock holds hand-written test doubles for the project's
// interfaces: an in-memory tenant, function-field stubs of a tenant's
// capabilities, and a recording chat.
package mock

import (
	"context"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/cippbot/cippbot/actions"
)

// Directory is an in-memory tenant: its users, groups, sign-in methods,
// roles and administration, without Exchange, SharePoint or licences. The
// zero value is an empty directory; add users with Put. Calls counts every
// state-changing call.
type Directory struct {
	mu     sync.Mutex
	users  map[string]*MemUser // by ID
	groups map[string]*actions.Group
	member map[string]map[string]bool // group ID → user IDs
	privs  map[string]actions.GroupPrivilege

	// Calls counts UpdateUser, DeleteUser, RevokeSessions, CreateTAP and
	// AddGroupMember calls.
	Calls atomic.Int64
	// Fail, if non-nil, is returned by every state-changing call.
	Fail error
	// Org, Perms and Custs are what Organization, Permissions and
	// Customers return.
	Org   actions.TenantInfo
	Perms []string
	Custs []actions.Customer
	// AppRoleNames, if non-nil, are what AppRoles returns; nil means the
	// app's roles cannot be read.
	AppRoleNames []string
	// Groups, if non-nil, are what SignedInGroups returns for a
	// delegated connection; nil means an app-only one.
	Groups []string
}

// MemUser is a user of the in-memory directory with its secret state.
type MemUser struct {
	actions.User
	Password    string
	ForceChange bool
	TAP         string
	Revoked     int
	Deleted     bool
	Roles       []string // directory role names
}

var (
	_ actions.Users     = (*Directory)(nil)
	_ actions.Groups    = (*Directory)(nil)
	_ actions.Auth      = (*Directory)(nil)
	_ actions.Roles     = (*Directory)(nil)
	_ actions.Admin     = (*Directory)(nil)
	_ actions.Connector = (*Directory)(nil)
)

// Tenant implements actions.Connector: every tenant is this directory,
// which writes one by one (no Batch) and has no Exchange, SharePoint,
// licences, security logs or MFA service.
func (d *Directory) Tenant(context.Context, string) (actions.Tenant, error) {
	return actions.Tenant{Users: d, Groups: d, Auth: d, Roles: d, Org: d}, nil
}

// Admin implements actions.Connector: every tenant is this directory.
func (d *Directory) Admin(context.Context, string) (actions.Admin, error) { return d, nil }

// Put adds or replaces a user.
func (d *Directory) Put(u actions.User) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.users == nil {
		d.users = map[string]*MemUser{}
	}
	d.users[u.ID] = &MemUser{User: u}
}

// PutGroup adds or replaces a group.
func (d *Directory) PutGroup(g actions.Group) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.groups == nil {
		d.groups = map[string]*actions.Group{}
		d.member = map[string]map[string]bool{}
	}
	d.groups[g.ID] = &g
	if d.member[g.ID] == nil {
		d.member[g.ID] = map[string]bool{}
	}
}

// Get returns a copy of the user with the given ID or UPN.
func (d *Directory) Get(idOrUPN string) (MemUser, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	u := d.find(idOrUPN)
	if u == nil {
		return MemUser{}, false
	}
	return *u, true
}

func (d *Directory) find(idOrUPN string) *MemUser {
	if u, ok := d.users[idOrUPN]; ok && !u.Deleted {
		return u
	}
	for _, u := range d.users {
		if strings.EqualFold(u.UPN, idOrUPN) && !u.Deleted {
			return u
		}
	}
	return nil
}

func notFound(what string) error {
	return actions.Errorf(actions.ENOTFOUND, "%s was not found in the tenant", what)
}

// User implements actions.Users.
func (d *Directory) User(_ context.Context, idOrUPN string) (actions.User, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	u := d.find(idOrUPN)
	if u == nil {
		return actions.User{}, notFound("user " + idOrUPN)
	}
	return u.User, nil
}

// UserDetails implements actions.Users.
func (d *Directory) UserDetails(ctx context.Context, id string) (actions.UserDetails, error) {
	u, err := d.User(ctx, id)
	return actions.UserDetails{User: u}, err
}

func (d *Directory) change(id string, fn func(u *MemUser) error) error {
	d.Calls.Add(1)
	if d.Fail != nil {
		return d.Fail
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	u := d.find(id)
	if u == nil {
		return notFound("user " + id)
	}
	return fn(u)
}

// UpdateUser implements actions.Users.
func (d *Directory) UpdateUser(_ context.Context, id string, up actions.UserUpdate) error {
	return d.change(id, func(u *MemUser) error {
		if u.Synced && (up.AccountEnabled != nil || up.Password != nil || up.ClearImmutableID) {
			return actions.Errorf(actions.ECONFLICT, "on-premises mastered")
		}
		if up.AccountEnabled != nil {
			u.Enabled = *up.AccountEnabled
		}
		if up.Password != nil {
			u.Password, u.ForceChange = up.Password.Reveal(), up.ForceChange
		}
		if up.PasswordPolicies != nil {
			u.PasswordPolicies = *up.PasswordPolicies
		}
		if up.ClearImmutableID {
			u.ImmutableID = ""
		}
		return nil
	})
}

// DeleteUser implements actions.Users.
func (d *Directory) DeleteUser(_ context.Context, id string) error {
	return d.change(id, func(u *MemUser) error { u.Deleted = true; return nil })
}

// RevokeSessions implements actions.Users.
func (d *Directory) RevokeSessions(_ context.Context, id string) error {
	return d.change(id, func(u *MemUser) error { u.Revoked++; return nil })
}

// CreateTAP implements actions.Auth.
func (d *Directory) CreateTAP(_ context.Context, id string, o actions.TAPOptions) (actions.TAP, error) {
	var tap actions.TAP
	err := d.change(id, func(u *MemUser) error {
		u.TAP = "Tap" + u.ID + "x9"
		tap = actions.TAP{Pass: actions.NewSecret("tap", u.TAP), LifetimeMinutes: max(o.LifetimeMinutes, 60), UsableOnce: o.UsableOnce}
		return nil
	})
	return tap, err
}

// FindGroups implements actions.Groups.
func (d *Directory) FindGroups(_ context.Context, nameOrID string) ([]actions.Group, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if g, ok := d.groups[nameOrID]; ok {
		return []actions.Group{*g}, nil
	}
	var out []actions.Group
	for _, g := range d.groups {
		if strings.EqualFold(g.DisplayName, nameOrID) {
			out = append(out, *g)
		}
	}
	return out, nil
}

// AddGroupMember implements actions.Groups.
func (d *Directory) AddGroupMember(_ context.Context, groupID, userID string) error {
	d.Calls.Add(1)
	d.mu.Lock()
	defer d.mu.Unlock()
	m, ok := d.member[groupID]
	if !ok {
		return notFound("group " + groupID)
	}
	if m[userID] {
		return actions.Errorf(actions.ECONFLICT, "already a member")
	}
	m[userID] = true
	return nil
}

// IsMember reports whether the user is in the group.
func (d *Directory) IsMember(groupID, userID string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.member[groupID][userID]
}

// Users implements actions.Users, one lookup at a time.
func (d *Directory) Users(ctx context.Context, ids []string) ([]actions.User, []error) {
	users, errs := make([]actions.User, len(ids)), make([]error, len(ids))
	for i, id := range ids {
		users[i], errs[i] = d.User(ctx, id)
	}
	return users, errs
}

// FindUsers implements actions.Users.
func (d *Directory) FindUsers(_ context.Context, name string, max int) ([]actions.User, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []actions.User
	name = strings.ToLower(name)
	for _, u := range d.users {
		nick, _, _ := strings.Cut(strings.ToLower(u.UPN), "@")
		if !u.Deleted && (strings.HasPrefix(nick, name) || strings.HasPrefix(strings.ToLower(u.DisplayName), name)) {
			out = append(out, u.User)
		}
	}
	slices.SortFunc(out, func(a, b actions.User) int { return strings.Compare(a.UPN, b.UPN) })
	if len(out) > max {
		out = out[:max]
	}
	return out, nil
}

// Organization implements actions.Admin.
func (d *Directory) Organization(context.Context) (actions.TenantInfo, error) {
	return d.Org, nil
}

// Permissions implements actions.Admin.
func (d *Directory) Permissions(context.Context) ([]string, error) { return d.Perms, nil }

// Customers implements actions.Admin.
func (d *Directory) Customers(context.Context) ([]actions.Customer, error) { return d.Custs, nil }

// AppRoles implements actions.Admin: AppRoleNames, or EFORBIDDEN when it
// is nil.
func (d *Directory) AppRoles(context.Context) ([]string, error) {
	if d.AppRoleNames == nil {
		return nil, actions.Errorf(actions.EFORBIDDEN, "the app's roles cannot be read")
	}
	return d.AppRoleNames, nil
}

// SignedInGroups implements actions.Admin: Groups, delegated when non-nil.
func (d *Directory) SignedInGroups(context.Context) ([]string, bool, error) {
	return d.Groups, d.Groups != nil, nil
}

// SetRoles sets a user's directory roles.
func (d *Directory) SetRoles(id string, roles ...string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if u := d.find(id); u != nil {
		u.Roles = roles
	}
}

// DirectoryRoles implements actions.Roles: each role set with
// SetRoles, held directly, and those of the privileged groups (see
// SetGroupPrivilege) the user is a member of, held through them.
func (d *Directory) DirectoryRoles(_ context.Context, ids []string) ([][]actions.RoleHeld, []error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	roles, errs := make([][]actions.RoleHeld, len(ids)), make([]error, len(ids))
	for i, id := range ids {
		u := d.find(id)
		if u == nil {
			errs[i] = notFound("user " + id)
			continue
		}
		for _, r := range u.Roles {
			roles[i] = append(roles[i], actions.RoleHeld{Name: r})
		}
		for gid, gp := range d.privs {
			if !d.member[gid][u.ID] {
				continue
			}
			for _, r := range gp.Roles {
				r.Via = gp.Group.DisplayName
				roles[i] = append(roles[i], r)
			}
		}
	}
	return roles, errs
}

// SetGroupPrivilege marks a group (added with PutGroup) as privileged:
// role-assignable, holding roles, or excluded from Conditional Access.
func (d *Directory) SetGroupPrivilege(gp actions.GroupPrivilege) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.privs == nil {
		d.privs = map[string]actions.GroupPrivilege{}
	}
	if g, ok := d.groups[gp.Group.ID]; ok {
		gp.Group = *g
	}
	d.privs[gp.Group.ID] = gp
}

// GroupPrivileges implements actions.Roles.
func (d *Directory) GroupPrivileges(_ context.Context, ids []string) ([]actions.GroupPrivilege, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make([]actions.GroupPrivilege, 0, len(ids))
	for _, id := range ids {
		gp, ok := d.privs[id]
		if !ok {
			g, found := d.groups[id]
			if !found {
				return nil, notFound("group " + id)
			}
			gp = actions.GroupPrivilege{Group: *g}
		}
		out = append(out, gp)
	}
	return out, nil
}

// RemoveGroupMember implements actions.Groups.
func (d *Directory) RemoveGroupMember(_ context.Context, groupID, userID string) error {
	d.Calls.Add(1)
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.member[groupID][userID] {
		return notFound("membership of " + userID)
	}
	delete(d.member[groupID], userID)
	return nil
}

// AuthMethods implements actions.Auth: a password and a phone.
func (d *Directory) AuthMethods(_ context.Context, userID string) ([]actions.AuthMethod, error) {
	return []actions.AuthMethod{{ID: "pw", Kind: "password", Name: "password"}, {ID: "ph", Kind: "phone", Name: "phone"}}, nil
}

// DeleteAuthMethod implements actions.Auth.
func (d *Directory) DeleteAuthMethod(_ context.Context, userID string, m actions.AuthMethod) error {
	return d.change(userID, func(*MemUser) error { return nil })
}

// SetMFAState implements actions.Auth.
func (d *Directory) SetMFAState(_ context.Context, userID, state string) error {
	return d.change(userID, func(*MemUser) error { return nil })
}
