package fakegraph

// An administrator's password reset through the password authentication
// method, the one way Graph writes a synced user's new password back to
// on-premises Active Directory, and the long-running operation that
// reports how it ended.
//
// Rules and where Microsoft documents them:
//
//   - POST /users/{id}/authentication/methods/{passwordMethods-id}/resetPassword,
//     the method id always 28c10230-6103-485e-b985-444c60001490, body
//     {"newPassword"}; "This reset is a long-running operation and returns
//     a Location header with a link where the caller can periodically
//     check for the status of the reset operation"; 202 Accepted with
//     Location (required) and Retry-After (optional); "If the caller did
//     not submit a password, a Microsoft-generated password is provided"
//     in a passwordResetResponse; newPassword is "Required for tenants
//     with hybrid password scenarios", and "must adhere to the tenant's
//     cloud and/or on-premises password requirements"; the operation
//     "can't be performed on a user's own account"; the user "is
//     prompted to change their password on their next sign in":
//     https://learn.microsoft.com/graph/api/authenticationmethod-resetpassword
//   - Permissions: delegated UserAuthenticationMethod.ReadWrite.All only,
//     "Application: Not supported" (approles.go refuses app-only tokens);
//     the signed-in admin needs Authentication Administrator or
//     Privileged Authentication Administrator (or Global Administrator),
//     while "Admins with User Administrator, Helpdesk Administrator, or
//     Password Administrator roles can also reset passwords for
//     non-admin users and a limited set of admin roles as defined in Who
//     can reset passwords" (same page); the limited set is the table of
//     https://learn.microsoft.com/entra/identity/role-based-access-control/privileged-roles-permissions
//     (sensitiveActionRows in approles.go).
//   - GET /users/{id}/authentication/operations/{id}: a longRunningOperation
//     {id, createdDateTime, lastActionDateTime, resourceLocation, status,
//     statusDetail}, status notStarted, running, succeeded or failed
//     ("Succeeded and Failed are terminal states"), delegated
//     UserAuthenticationMethod.Read.All or ReadWrite.All only, for Global
//     Administrator, Global Reader, Privileged Authentication
//     Administrator or Authentication Administrator:
//     https://learn.microsoft.com/graph/api/longrunningoperation-get and
//     https://learn.microsoft.com/graph/api/resources/longrunningoperation
//   - Writeback itself is a tenant setting of Microsoft Entra Connect
//     ("Enable Microsoft Entra password writeback",
//     https://learn.microsoft.com/entra/identity/authentication/tutorial-enable-sspr-writeback),
//     off until an administrator turns it on. A synced user's reset
//     without it, or one the on-premises password policy rejects, is
//     accepted and then fails asynchronously (CIPP's note on the same
//     call: it "is applied asynchronously ... and will fail if writeback
//     is not enabled or if the on-premises password policy rejects the
//     password"). Microsoft documents statusDetail only as "Details about
//     the status of the operation"; the texts here are the server's own.
//
// An operation moves one state per poll: notStarted when accepted,
// running at the first GET (answered with Retry-After), terminal at the
// next, when the password changes (or not).

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Writeback is a tenant's password writeback setting.
type Writeback int

// Writeback settings.
const (
	// WritebackOff: Microsoft Entra Connect does not write passwords back
	// (the default); a synced user's reset fails.
	WritebackOff Writeback = iota
	// WritebackOn: synced users' new passwords are written back.
	WritebackOn
	// WritebackRejected: writeback is on, and the on-premises password
	// policy rejects every new password.
	WritebackRejected
)

// Delegated permissions of the reset and of reading its operation.
const (
	scpAuthMethodReadWrite = "UserAuthenticationMethod.ReadWrite.All"
	scpAuthMethodRead      = "UserAuthenticationMethod.Read.All"
	roleGlobalReader       = "Global Reader"
)

// writebackState is the tenants' writeback settings and the reset
// operations; it lives behind s.mu.
type writebackState struct {
	settings   map[string]Writeback // by tenant id
	ops        map[string]*resetOperation
	retryAfter int // seconds, on a running operation
}

// resetOperation is one password reset.
type resetOperation struct {
	seq                  int // order of acceptance
	id, tenantID, userID string
	password             string
	created, last        time.Time
	status, detail       string
	location             string // resourceLocation
}

// writeback returns the state, creating it; s.mu must be held.
func (s *Server) writeback() *writebackState {
	if s.wb == nil {
		s.wb = &writebackState{settings: map[string]Writeback{}, ops: map[string]*resetOperation{}, retryAfter: 1}
	}
	return s.wb
}

// SetPasswordWriteback sets a tenant's (id or domain) password writeback.
func (s *Server) SetPasswordWriteback(tenantIDOrDomain string, w Writeback) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tenant(tenantIDOrDomain)
	if t == nil {
		panic(fmt.Sprintf("fakegraph: SetPasswordWriteback: no tenant %q", tenantIDOrDomain))
	}
	s.writeback().settings[t.id] = w
}

// SetResetRetryAfter sets the Retry-After (whole seconds, 0 allowed) of a
// running reset operation; 1 by default.
func (s *Server) SetResetRetryAfter(seconds int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.writeback().retryAfter = seconds
}

// ResetOperation is a password reset as the server holds it, for tests.
type ResetOperation struct {
	ID, TenantID, UserID string
	Status, StatusDetail string
}

// ResetOperations returns the password reset operations in the order
// they were accepted.
func (s *Server) ResetOperations() []ResetOperation {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []ResetOperation
	for _, op := range s.writeback().ops {
		out = append(out, ResetOperation{op.id, op.tenantID, op.userID, op.status, op.detail})
	}
	slices.SortFunc(out, func(a, b ResetOperation) int { return s.wb.ops[a.ID].seq - s.wb.ops[b.ID].seq })
	return out
}

// callerOf returns who a delegated access token acts for, nil for an
// app-only token; s.mu must be held.
func (s *Server) callerOf(tok string) *DelegatedAccess {
	a, ok := s.delegated().access[tok]
	if !ok {
		return nil
	}
	a.Scopes = slices.Clone(a.Scopes)
	return &a
}

// delegatedRoles returns the Microsoft Entra roles a delegated caller
// holds in t; s.mu must be held. A user of t holds its own roles (direct,
// through groups); a partner's service account reached t through GDAP
// and holds the roles the access assignments of its home tenant's active
// relationships with t give its security groups (gdapRoles).
func (s *Server) delegatedRoles(a *DelegatedAccess, t *tenant) []string {
	if a.HomeTenantID == t.id {
		u := t.findUser(a.UserID, false)
		if u == nil {
			return nil
		}
		roles, _ := t.activeRoles(u)
		return roles
	}
	return s.gdapRoles(a.HomeTenantID, a.UserID, t.id)
}

// mayResetPassword reports whether an admin holding roles may reset u's
// password through the password method. The method's page names the
// least privileged roles that may call it, Authentication Administrator
// and Privileged Authentication Administrator (resetPassword, "Permissions",
// https://learn.microsoft.com/en-us/graph/api/authenticationmethod-resetpassword);
// which admins' passwords each may reset is "Who can reset passwords"
// (https://learn.microsoft.com/en-us/entra/identity/role-based-access-control/privileged-roles-permissions#who-can-reset-passwords).
func (t *tenant) mayResetPassword(roles []string, u *User) bool {
	return holdsAny(roles, roleGlobalAdmin, roleAuthAdmin, rolePrivAuthAdmin) && t.mayActOn(roles, u, false)
}

// resetPassword serves POST .../authentication/methods/{id}/resetPassword.
func (s *Server) resetPassword(c *call) *reply {
	if c.method != http.MethodPost {
		return methodNotAllowed()
	}
	if !strings.EqualFold(c.segs[4], passwordMethodID) {
		return notFound(c.segs[4])
	}
	if c.caller == nil || !containsFold(c.caller.Scopes, scpAuthMethodReadWrite) {
		return accessDenied()
	}
	u, rep := c.lookupUser()
	if rep != nil {
		return rep
	}
	if u.ID == c.caller.UserID {
		return graphErr(http.StatusForbidden, "accessDenied", "An administrator cannot reset their own password with this operation.")
	}
	if !c.t.mayResetPassword(s.delegatedRoles(c.caller, c.t), u) {
		return accessDenied()
	}
	var body struct {
		NewPassword *string `json:"newPassword"`
	}
	if len(strings.TrimSpace(string(c.body))) > 0 {
		var m map[string]json.RawMessage
		if json.Unmarshal(c.body, &m) != nil {
			return invalidPayload()
		}
		for k, v := range m {
			switch k {
			case "newPassword":
				s, null, rep := rawString(v, k, "ResetPasswordRequest")
				if rep != nil {
					return rep
				}
				if !null {
					body.NewPassword = &s
				}
			default:
				return badRequest("Invalid property '%s'.", k)
			}
		}
	}
	generated := ""
	switch {
	case body.NewPassword == nil && u.OnPremisesSyncEnabled:
		return badRequest("The newPassword parameter is required for users whose password is managed on premises.")
	case body.NewPassword == nil:
		generated = newPassword()
		body.NewPassword = &generated
	case !strings.Contains(u.PasswordPolicies, "DisableStrongPassword") && !passwordComplexityOK(*body.NewPassword):
		return badRequest("The specified password does not comply with password complexity requirements. Please provide a different password.")
	}
	op := &resetOperation{
		seq: len(s.writeback().ops), id: newGUID(), tenantID: c.t.id, userID: u.ID, password: *body.NewPassword,
		created: c.now, last: c.now, status: "notStarted",
		location: c.base + "/v1.0/users/" + u.ID + "/authentication/methods/" + passwordMethodID,
	}
	s.writeback().ops[op.id] = op
	var pw any
	if generated != "" {
		pw = generated
	}
	return &reply{
		status: http.StatusAccepted,
		header: http.Header{"Location": {c.base + "/v1.0/users/" + u.ID + "/authentication/operations/" + op.id}},
		body: obj{
			{"@odata.context", c.context("microsoft.graph.passwordResetResponse")},
			{"newPassword", pw},
		},
	}
}

// getResetOperation serves GET /users/{id}/authentication/operations/{id}.
func (s *Server) getResetOperation(c *call) *reply {
	if len(c.segs) != 5 {
		if len(c.segs) == 4 {
			return methodNotAllowed()
		}
		return segmentNotFound(c.segs[5])
	}
	if c.method != http.MethodGet {
		return methodNotAllowed()
	}
	if c.caller == nil || !containsFold(c.caller.Scopes, scpAuthMethodRead) && !containsFold(c.caller.Scopes, scpAuthMethodReadWrite) {
		return accessDenied()
	}
	u, rep := c.lookupUser()
	if rep != nil {
		return rep
	}
	if !holdsAny(s.delegatedRoles(c.caller, c.t), roleGlobalAdmin, roleGlobalReader, rolePrivAuthAdmin, roleAuthAdmin) {
		return accessDenied()
	}
	op := s.writeback().ops[strings.ToLower(c.segs[4])]
	if op == nil || op.tenantID != c.t.id || op.userID != u.ID {
		return notFound(c.segs[4])
	}
	var hdr http.Header
	switch op.status {
	case "notStarted":
		op.status, op.last = "running", c.now
	case "running":
		s.finishReset(c.t, u, op, c.now)
	}
	if op.status == "running" {
		hdr = http.Header{"Retry-After": {strconv.Itoa(s.writeback().retryAfter)}}
	}
	var detail any
	if op.detail != "" {
		detail = op.detail
	}
	return &reply{status: http.StatusOK, header: hdr, body: obj{
		{"@odata.context", c.context("users('" + u.ID + "')/authentication/operations/$entity")},
		{"@odata.type", "#microsoft.graph.longRunningOperation"},
		{"id", op.id},
		{"createdDateTime", formatTime(op.created)},
		{"lastActionDateTime", formatTime(op.last)},
		{"resourceLocation", op.location},
		{"status", op.status},
		{"statusDetail", detail},
	}}
}

// finishReset ends a running reset: a cloud user's password changes; a
// synced user's only if writeback is on and the on-premises policy takes
// it.
func (s *Server) finishReset(t *tenant, u *User, op *resetOperation, now time.Time) {
	op.last = now
	pw := op.password
	op.password = ""
	if u.OnPremisesSyncEnabled {
		switch s.writeback().settings[t.id] {
		case WritebackOff:
			op.status = "failed"
			op.detail = "Password writeback is not enabled for this tenant: the password of a user synchronized from on-premises Active Directory cannot be reset in the cloud."
			return
		case WritebackRejected:
			op.status = "failed"
			op.detail = "The on-premises Active Directory password policy rejected the new password."
			return
		}
	}
	u.Password = pw
	u.LastPasswordChangeDateTime = now
	u.ForceChangePasswordNextSignIn = true
	op.status = "succeeded"
}
