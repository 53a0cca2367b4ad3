package actions

import (
	"context"
	"fmt"
	"slices"
	"strings"
)

// Service runs actions against customer tenants. It is what the bot's
// runner interface is satisfied by.
type Service struct {
	Connector Connector
	Env       Env
	// Judge, if non-nil, gives the verdict of Check (and so of Rehearse)
	// from the report as the app-only rules made it: in delegated (GDAP)
	// mode the roles are those GDAP gives the service account in the
	// tenant (CheckGDAP).
	Judge func(ctx context.Context, tenantID string, rep CheckReport, c *Catalogue) CheckReport
}

// Result is the result of one action on one target.
type Result struct {
	Target  User
	Outcome Outcome
	Err     error
}

// LookupUsers reads many users by UPN or ID at once (in batches where the
// tenant batches them); errs[i] is set where ids[i] could not be read.
func (s *Service) LookupUsers(ctx context.Context, tenantID string, ids []string) ([]User, []error) {
	t, err := s.Connector.Tenant(ctx, tenantID)
	if err == nil {
		_, err = need(t.Users, "users")
	}
	if err != nil {
		return make([]User, len(ids)), fill(make([]error, len(ids)), err)
	}
	return t.Users.Users(ctx, ids)
}

// fill sets every element of errs to err and returns errs.
func fill(errs []error, err error) []error {
	for i := range errs {
		errs[i] = err
	}
	return errs
}

// LookupTargets reads the targets of action a by UPN or ID, as its
// Target kind says: existing users; users to create, none of which may
// exist (each comes back with its UPN only); or soft-deleted users.
func (s *Service) LookupTargets(ctx context.Context, tenantID string, a *Action, ids []string) ([]User, []error) {
	t, err := s.Connector.Tenant(ctx, tenantID)
	if err != nil {
		return make([]User, len(ids)), fill(make([]error, len(ids)), err)
	}
	// A change's request pins its targets' roles next: in a request
	// context, read them with the targets where the tenant can.
	if pf := prefetchFrom(ctx); pf != nil && a.Target == TargetUser && a.Risk != RiskRead && t.UsersWithRoles != nil {
		users, errs, roles, rerrs := t.UsersWithRoles.UsersWithRoles(ctx, ids)
		pf.putRoles(tenantID, users, roles, rerrs)
		return users, errs
	}
	return lookupTargets(ctx, t, a, ids)
}

func lookupTargets(ctx context.Context, t Tenant, a *Action, ids []string) ([]User, []error) {
	if a.Target != TargetDeleted && t.Users == nil {
		return make([]User, len(ids)), fill(make([]error, len(ids)), cannotReach("users"))
	}
	switch a.Target {
	case TargetNew:
		users, errs := t.Users.Users(ctx, ids)
		for i := range ids {
			switch {
			case errs[i] == nil:
				errs[i] = Errorf(ECONFLICT, "%s already exists", users[i].UPN)
			case ErrorCode(errs[i]) == ENOTFOUND:
				users[i], errs[i] = User{ID: strings.ToLower(ids[i]), UPN: strings.ToLower(ids[i])}, nil
			}
		}
		return users, errs
	case TargetDeleted:
		users, errs := make([]User, len(ids)), make([]error, len(ids))
		lc, err := need(t.Lifecycle, "deleted users")
		for i, id := range ids {
			if err != nil {
				errs[i] = err
				continue
			}
			users[i], _, errs[i] = lc.DeletedUser(ctx, id)
		}
		return users, errs
	}
	return t.Users.Users(ctx, ids)
}

// DirectoryRoles returns the directory roles each user holds.
func (s *Service) DirectoryRoles(ctx context.Context, tenantID string, userIDs []string) ([][]RoleHeld, []error) {
	t, err := s.Connector.Tenant(ctx, tenantID)
	if err == nil {
		_, err = need(t.Roles, "admin roles")
	}
	if err != nil {
		return make([][]RoleHeld, len(userIDs)), fill(make([]error, len(userIDs)), err)
	}
	if roles, ok := prefetchFrom(ctx).takeRoles(tenantID, userIDs); ok {
		return roles, make([]error, len(userIDs))
	}
	return t.Roles.DirectoryRoles(ctx, userIDs)
}

// FindUsers returns up to max users of the tenant whose mail nickname,
// UPN or display name starts with name.
func (s *Service) FindUsers(ctx context.Context, tenantID, name string, max int) ([]User, error) {
	t, err := s.Connector.Tenant(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	users, err := need(t.Users, "users")
	if err != nil {
		return nil, err
	}
	return users.FindUsers(ctx, name, max)
}

// CheckReport says what cippbot can do in a tenant.
type CheckReport struct {
	Permissions []string            // granted application permissions
	Working     []string            // action names that will work
	Missing     map[string][]string // action name → permissions it needs (any one)
	// AppRoles are the Microsoft Entra roles assigned to cippbot's app;
	// RolesRead says whether they could be read.
	AppRoles  []string
	RolesRead bool
	// MissingRoles maps an action name to the Entra roles it needs that
	// the app lacks (all of them needed).
	MissingRoles map[string][]string
	// Delegated are the actions that need a signed-in admin, which
	// app-only access cannot do.
	Delegated []string
	// Rules are the safety rules the permissions do not let cippbot apply
	// in full, each with the permission that would.
	Rules []string
	// GDAP reports a delegated (GDAP) mode check: Permissions are the
	// delegated token's scopes, AppRoles the roles GDAP gives the service
	// account, MissingRoles judged by GDAPRoles (CheckGDAP).
	GDAP bool
}

// Permissions behind the safety rules, each list any one of which will do
// (the documented application permissions of the reads they make).
var (
	// PermsRoleRead read active role assignments
	// (rbacapplication-list-roleassignments).
	PermsRoleRead = []string{"RoleManagement.Read.Directory", "RoleManagement.Read.All", "Directory.Read.All",
		"RoleManagement.ReadWrite.Directory", "Directory.ReadWrite.All"}
	// PermsEligibilityRead read PIM-eligible ones
	// (rbacapplication-list-roleeligibilityscheduleinstances).
	PermsEligibilityRead = []string{"RoleEligibilitySchedule.Read.Directory", "RoleEligibilitySchedule.ReadWrite.Directory",
		"RoleManagement.Read.All", "RoleManagement.Read.Directory", "RoleManagement.ReadWrite.Directory"}
	// PermsPolicyRead read Conditional Access policies
	// (conditionalaccessroot-list-policies).
	PermsPolicyRead = []string{"Policy.Read.All"}
)

// safetyRules says which safety rules perms do not let cippbot apply.
func safetyRules(perms []string) []string {
	has := func(any []string) bool {
		return slices.ContainsFunc(any, func(p string) bool { return slices.Contains(perms, p) })
	}
	var out []string
	if !has(PermsRoleRead) {
		out = append(out, "Admin roles cannot be read, so every change is refused: grant RoleManagement.Read.Directory")
	}
	if !has(PermsEligibilityRead) {
		out = append(out, "PIM-eligible admin roles are not read, so an eligible admin counts as ordinary: grant RoleEligibilitySchedule.Read.Directory")
	}
	if !has(PermsPolicyRead) {
		out = append(out, "Conditional Access exclusions cannot be checked for group changes: grant Policy.Read.All")
	}
	return out
}

// Check gets a token for the tenant and compares the permissions it
// carries with what each action of the catalogue needs.
func (s *Service) Check(ctx context.Context, tenantID string, c *Catalogue) (CheckReport, error) {
	adm, err := s.Connector.Admin(ctx, tenantID)
	if err != nil {
		return CheckReport{}, err
	}
	perms, err := adm.Permissions(ctx)
	if err != nil {
		return CheckReport{}, err
	}
	rep := CheckReport{Permissions: perms, Missing: map[string][]string{}, MissingRoles: map[string][]string{}, Rules: safetyRules(perms)}
	// A delegated connection (GDAP) can do what app-only cannot.
	t, err := s.Connector.Tenant(ctx, tenantID)
	delegated := err == nil && t.Delegated
	if roles, err := adm.AppRoles(ctx); err == nil {
		rep.AppRoles, rep.RolesRead = roles, true
	}
	var onAdmins []string // actions that cannot act on admins
	for _, a := range c.All() {
		works := permitted(&rep, a)
		if m := missingRoles(rep.AppRoles, a.Roles); rep.RolesRead && len(m) > 0 {
			rep.MissingRoles[a.Name] = m
			works = false
		}
		if a.DelegatedOnly != "" && !delegated {
			rep.Delegated = append(rep.Delegated, a.Name)
			works = false
		}
		if works {
			rep.Working = append(rep.Working, a.Name)
			if rep.RolesRead && len(missingRoles(rep.AppRoles, a.AdminRoles)) > 0 {
				onAdmins = append(onAdmins, a.Name)
			}
		}
	}
	if !rep.RolesRead && slices.ContainsFunc(c.All(), func(a *Action) bool { return len(a.Roles)+len(a.AdminRoles) > 0 }) {
		rep.Rules = append(rep.Rules, "cippbot's own Entra roles could not be read, so actions that need one are not judged: grant RoleManagement.Read.Directory")
	}
	if len(onAdmins) > 0 {
		rep.Rules = append(rep.Rules, fmt.Sprintf("On admins, %s fail without %s", strings.Join(onAdmins, ", "), RoleList(rolesToChangeAdmins)))
	}
	if s.Judge != nil {
		rep = s.Judge(ctx, tenantID, rep, c)
	}
	return rep, nil
}

// permitted records in rep what a lacks of rep.Permissions and reports
// whether it has what it needs.
func permitted(rep *CheckReport, a *Action) bool {
	perms, works := rep.Permissions, true
	need := a.Permissions
	if rep.GDAP {
		need = GDAPPermissions(a)
	}
	if len(need) > 0 && !slices.ContainsFunc(need, func(p string) bool { return slices.Contains(perms, p) }) {
		rep.Missing[a.Name] = need
		works = false
	}
	for _, p := range a.AlsoPermissions {
		if !slices.Contains(perms, p) && !slices.Contains(perms, strings.Replace(p, ".Read.", ".ReadWrite.", 1)) {
			rep.Rules = append(rep.Rules, fmt.Sprintf("%s also needs %s", a.Name, p))
			works = false
		}
	}
	return works
}

// CheckGDAP judges a tenant for delegated (GDAP) mode: the permissions of
// rep (the delegated token's scopes, as Check read them) and the roles
// held, those the tenant's GDAP access assignments give the service
// account's security groups, against each action's GDAPRoles. Actions
// that need a signed-in admin are not refused for it: the service account
// is one.
func CheckGDAP(rep CheckReport, c *Catalogue, held []string) CheckReport {
	out := CheckReport{Permissions: rep.Permissions, Missing: map[string][]string{}, MissingRoles: map[string][]string{},
		Rules: safetyRules(rep.Permissions), AppRoles: slices.Clone(held), RolesRead: true, GDAP: true}
	var onAdmins []string // actions that cannot act on admins
	for _, a := range c.All() {
		works := permitted(&out, a)
		if m := MissingGDAPRoles(held, a); len(m) > 0 {
			out.MissingRoles[a.Name] = m
			works = false
		}
		if works {
			out.Working = append(out.Working, a.Name)
			if len(missingGDAP(held, a.AdminRoles)) > 0 {
				onAdmins = append(onAdmins, a.Name)
			}
		}
	}
	// "Who can perform sensitive actions" bounds a signed-in admin as it
	// bounds an app.
	if len(onAdmins) > 0 {
		out.Rules = append(out.Rules, fmt.Sprintf("On admins, %s fail without %s through GDAP", strings.Join(onAdmins, ", "), RoleList(rolesToChangeAdmins)))
	}
	if a := c.Lookup("reset-password"); a != nil && slices.Contains(out.Working, a.Name) {
		if m := MissingGDAPTargetRoles(held, a, User{Synced: true}); len(m) > 0 {
			out.Rules = append(out.Rules, "On users synced from on-premises AD, reset-password is refused without "+RoleList(m)+" through GDAP (the reset writes the password back)")
		}
	}
	return out
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
	var t Tenant
	if a.Prepare != nil || a.DelegatedOnly != "" || a.AppOnlyCheck != nil {
		var err error
		if t, err = s.Connector.Tenant(ctx, tenantID); err != nil {
			return nil, err
		}
	}
	if a.DelegatedOnly != "" && !t.Delegated {
		return nil, DelegatedRefusal(a)
	}
	for _, u := range targets {
		if err := checkTarget(a, t, u, p); err != nil {
			return nil, err
		}
	}
	if a.Prepare == nil {
		return p, nil
	}
	return a.Prepare(ctx, t, p)
}

// checkTarget runs a's checks of one target on t: Check, and AppOnlyCheck on a
// connection without a signed-in admin.
func checkTarget(a *Action, t Tenant, u User, p Params) error {
	if a.Check != nil {
		if err := a.Check(u, p); err != nil {
			return err
		}
	}
	if a.AppOnlyCheck != nil && !t.Delegated {
		return a.AppOnlyCheck(u, p)
	}
	return nil
}

// Progress, if non-nil, is told how many of total targets are finished.
type Progress func(done, total int)

// Run runs the action on each target, given by object ID. The targets are
// read again first, so the action sees their current state, and checked
// again; a directory may answer that read from the one it made a moment
// before beside the targets' roles (the re-check before an approved run),
// so the two cost one round trip. Actions with a Plan send all their writes
// together (through Tenant.Batch where the tenant batches); others run
// target by target. One target's failure does not stop the others.
func (s *Service) Run(ctx context.Context, tenantID string, a *Action, targetIDs []string, p Params, progress Progress) []Result {
	results := make([]Result, len(targetIDs))
	for i, id := range targetIDs {
		results[i].Target = User{ID: id, UPN: id}
	}
	total := len(targetIDs)
	report := func(done int) {
		if progress != nil {
			progress(done, total)
		}
	}
	t, err := s.Connector.Tenant(ctx, tenantID)
	if err != nil {
		for i := range results {
			results[i].Err = err
		}
		return results
	}
	if a.DelegatedOnly != "" && !t.Delegated {
		for i := range results {
			results[i].Err = DelegatedRefusal(a)
		}
		return results
	}
	// A 403 of Graph's names the Entra role the app probably lacks.
	defer func() {
		roles := appRolesOnce(ctx, s.Connector, tenantID)
		for i := range results {
			results[i].Err = explainForbidden(a, results[i].Err, roles)
		}
	}()
	users, errs := lookupTargets(ctx, t, a, targetIDs)
	var ready []int // indexes of targets read and checked
	for i := range results {
		if errs[i] != nil {
			results[i].Err = errs[i]
			continue
		}
		results[i].Target = users[i]
		if err := checkTarget(a, t, users[i], p); err != nil {
			results[i].Err = err
			continue
		}
		ready = append(ready, i)
	}
	finished := total - len(ready)
	if a.Plan == nil {
		for n, i := range ready {
			results[i].Outcome, results[i].Err = a.Run(ctx, t, results[i].Target, p, s.Env)
			report(finished + n + 1)
		}
		return results
	}
	var ops []Op
	var opIdx []int // ops[k] belongs to results[opIdx[k]]
	plans := make([]Plan, len(results))
	for _, i := range ready {
		plan, err := a.Plan(results[i].Target, p, s.Env)
		switch {
		case err != nil:
			results[i].Err = err
			finished++
		case plan.Op == nil:
			results[i].Outcome = plan.Outcome
			finished++
		default:
			plans[i] = plan
			ops = append(ops, *plan.Op)
			opIdx = append(opIdx, i)
		}
	}
	report(finished)
	if len(ops) == 0 {
		return results
	}
	opErrs := apply(ctx, t, ops, func(done int) { report(finished + done) })
	for k, i := range opIdx {
		switch err := opErrs[k]; {
		case err == nil:
			results[i].Outcome = plans[i].Outcome
		case ErrorCode(err) == ECONFLICT && plans[i].IfConflict != nil:
			results[i].Outcome = *plans[i].IfConflict
		case ErrorCode(err) == ENOTFOUND && plans[i].IfNotFound != nil:
			results[i].Outcome = *plans[i].IfNotFound
		default:
			results[i].Err = err
		}
	}
	return results
}

// ApplyLater performs writes a run left for later (Outcome.Later).
func (s *Service) ApplyLater(ctx context.Context, tenantID string, ops []Op) []error {
	t, err := s.Connector.Tenant(ctx, tenantID)
	if err != nil {
		return fill(make([]error, len(ops)), err)
	}
	return apply(ctx, t, ops, nil)
}

// apply performs ops: Graph writes through t.Batch (which may batch) or
// else one by one, Exchange Online writes and password resets through
// writeback one by one. errs[i] is the result of ops[i].
func apply(ctx context.Context, t Tenant, ops []Op, progress func(done int)) []error {
	var graph, single []Op
	var graphIdx, singleIdx []int
	for i, op := range ops {
		if singleOp(op) {
			single, singleIdx = append(single, op), append(singleIdx, i)
		} else {
			graph, graphIdx = append(graph, op), append(graphIdx, i)
		}
	}
	errs := make([]error, len(ops))
	if len(graph) > 0 {
		send := t.applyEach
		if t.Batch != nil {
			send = t.Batch.Apply
		}
		for k, err := range send(ctx, graph, progress) {
			errs[graphIdx[k]] = err
		}
	}
	if len(single) == 0 {
		return errs
	}
	for k, op := range single {
		x, err := need(t.Exchange, "Exchange Online")
		if op.Kind == OpResetPassword {
			_, err = need(t.Writeback, "password writeback")
		}
		switch {
		case err != nil:
			errs[singleIdx[k]] = err
		case ctx.Err() != nil:
			errs[singleIdx[k]] = ctx.Err()
		case op.Kind == OpResetPassword && op.Update.Password == nil:
			errs[singleIdx[k]] = Errorf(EINTERNAL, "a password reset without a password")
		case op.Kind == OpResetPassword:
			errs[singleIdx[k]] = t.Writeback.ResetPasswordWriteback(ctx, op.UserID, *op.Update.Password)
		case op.Kind == OpAddDistributionMember:
			errs[singleIdx[k]] = x.AddDistributionMember(ctx, op.GroupID, op.UserID)
		default:
			errs[singleIdx[k]] = x.RemoveDistributionMember(ctx, op.GroupID, op.UserID)
		}
		if progress != nil {
			progress(len(graph) + k + 1)
		}
	}
	return errs
}

// applyEach performs Graph writes one by one through t's Users and
// Groups, for a tenant without Batch. errs[i] is the result of ops[i].
func (t Tenant) applyEach(ctx context.Context, ops []Op, progress func(done int)) []error {
	errs := make([]error, len(ops))
	for i, op := range ops {
		if err := ctx.Err(); err != nil {
			errs[i] = err
			continue
		}
		errs[i] = t.write(ctx, op)
		if progress != nil {
			progress(i + 1)
		}
	}
	return errs
}

// write performs one Graph write.
func (t Tenant) write(ctx context.Context, op Op) error {
	switch {
	case t.Users == nil && (op.Kind == OpUpdateUser || op.Kind == OpDeleteUser || op.Kind == OpRevokeSessions):
		return cannotReach("users")
	case t.Groups == nil && (op.Kind == OpAddGroupMember || op.Kind == OpRemoveGroupMember):
		return cannotReach("groups")
	}
	switch op.Kind {
	case OpUpdateUser:
		return t.Users.UpdateUser(ctx, op.UserID, op.Update)
	case OpDeleteUser:
		return t.Users.DeleteUser(ctx, op.UserID)
	case OpRevokeSessions:
		return t.Users.RevokeSessions(ctx, op.UserID)
	case OpAddGroupMember:
		return t.Groups.AddGroupMember(ctx, op.GroupID, op.UserID)
	case OpRemoveGroupMember:
		return t.Groups.RemoveGroupMember(ctx, op.GroupID, op.UserID)
	}
	return Errorf(EINTERNAL, "unknown operation %d", op.Kind)
}
