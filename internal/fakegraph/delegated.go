package fakegraph

// The delegated side of the simulated Microsoft Entra authority: the
// device authorization grant a partner technician signs in with once, and
// the refresh token grant that turns the partner service account's
// refresh token into a delegated access token for any customer tenant it
// reaches through GDAP (the Secure Application Model).
//
// Rules and where Microsoft documents them:
//
//   - Device code flow, request and polling:
//     https://learn.microsoft.com/entra/identity-platform/v2-oauth2-device-code
//     (devicecode response fields, expires_in 900 s, interval 5 s; the
//     polling errors authorization_pending, authorization_declined,
//     bad_verification_code and expired_token).
//   - It is a public client flow: without a client secret the app must
//     have "Allow public client flows" on, otherwise Entra asks for
//     credentials (AADSTS7000218):
//     https://learn.microsoft.com/entra/identity-platform/msal-client-applications
//     and https://learn.microsoft.com/entra/identity-platform/reference-error-codes.
//   - Refresh token grant:
//     https://learn.microsoft.com/entra/identity-platform/v2-oauth2-auth-code-flow#refresh-the-access-token
//     (a new refresh token in every answer).
//   - Refresh token lifetime and rotation:
//     https://learn.microsoft.com/entra/identity-platform/refresh-tokens —
//     "Refresh tokens are bound to a combination of user and client, but
//     aren't tied to a resource or tenant" (one refresh token reaches every
//     customer tenant); "Refresh tokens replace themselves with a fresh
//     token upon every use. The Microsoft identity platform doesn't revoke
//     old refresh tokens when used to fetch new access tokens." So a used
//     refresh token keeps working here too, until it is revoked or sits
//     unused for 90 days (the default inactivity lifetime, AADSTS700082);
//     "Admin revokes all refresh tokens for a user" revokes every one,
//     the new ones included (AADSTS50173).
//   - AADSTS codes and their meaning:
//     https://learn.microsoft.com/entra/identity-platform/reference-error-codes
//     (70016 AuthorizationPending, 70019 CodeExpired, 700082
//     ExpiredOrRevokedGrantInactiveToken, 70043 BadTokenDueToInteractionRequired
//     by sign-in frequency, 50173 FreshTokenNeeded, 50076
//     UserStrongAuthClientAuthNRequired, 50020 user not in the tenant,
//     50057 UserDisabled, 9002313 invalid request/grant).
//   - Delegated access token claims (scp, oid, upn, idtyp "user", tid of
//     the resource tenant): https://learn.microsoft.com/entra/identity-platform/access-token-claims-reference
//   - ID token and client_info (uid.utid, what MSAL keys its account
//     cache on): https://learn.microsoft.com/entra/identity-platform/id-token-claims-reference

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// Device code and refresh token lifetimes.
const (
	// deviceCodeLifetime is expires_in of a device code (900 s in
	// Microsoft's documented example).
	deviceCodeLifetime = 900 * time.Second
	// deviceCodeInterval is the polling interval the server asks for.
	deviceCodeInterval = 5
	// refreshInactivity is how long a refresh token may sit unused
	// (90 days, Microsoft's default MaxInactiveTime).
	refreshInactivity = 90 * 24 * time.Hour
	// DeviceLoginURL is the verification_uri the device code flow names.
	DeviceLoginURL = "https://microsoft.com/devicelogin"
)

// Grant types of the delegated flows. Microsoft documents the device code
// grant as "urn:ietf:params:oauth:grant-type:device_code" (RFC 8628); the
// MSAL libraries send the short "device_code" (MSAL Go's grant.DeviceCode),
// which Entra accepts too.
const (
	grantDeviceCode      = "urn:ietf:params:oauth:grant-type:device_code"
	grantDeviceCodeShort = "device_code"
	grantRefreshToken    = "refresh_token"
)

// delegatedState is the authority's memory of device codes and refresh
// tokens. It lives behind s.mu.
type delegatedState struct {
	// publicClient is the app's "Allow public client flows" setting.
	publicClient bool
	deviceCodes  map[string]*deviceCode
	refresh      map[string]*refreshGrant
	// revokedAt is, per user id, when an admin revoked every refresh
	// token of the user: tokens issued before then fail with 50173.
	revokedAt map[string]time.Time
	// forced is, per user id, an interaction the user must go through
	// before a refresh succeeds (50076 or 70043).
	forced map[string]int
	// access holds the identity behind each delegated access token.
	access map[string]DelegatedAccess
}

// deviceCode is one device authorization request.
type deviceCode struct {
	userCode string
	tenantID string
	clientID string
	scopes   []string
	expires  time.Time
	// user and home are the signed-in user's id and home tenant, set by
	// SignInDeviceCode; declined by DeclineDeviceCode.
	user, home string
	declined   bool
	redeemed   bool
}

// refreshGrant is one issued refresh token.
type refreshGrant struct {
	user     string // user object id
	home     string // the user's home tenant id
	clientID string
	issued   time.Time
	lastUsed time.Time
	// public reports whether it was issued to a public client (no client
	// credentials), which Microsoft's revocation table treats apart.
	public bool
}

// DelegatedAccess is who a delegated access token speaks for.
type DelegatedAccess struct {
	// UserID and UPN identify the signed-in user (the partner service
	// account); HomeTenantID is the tenant the user belongs to.
	UserID, UPN, HomeTenantID string
	// TenantID is the tenant the token is for (a customer tenant reached
	// through GDAP, or the home tenant).
	TenantID string
	// Audience is the resource; Scopes the scp claim's permissions.
	Audience string
	Scopes   []string
}

// delegated returns the delegated state, creating it; s.mu must be held.
func (s *Server) delegated() *delegatedState {
	if s.del == nil {
		s.del = &delegatedState{
			deviceCodes: make(map[string]*deviceCode),
			refresh:     make(map[string]*refreshGrant),
			revokedAt:   make(map[string]time.Time),
			forced:      make(map[string]int),
			access:      make(map[string]DelegatedAccess),
		}
	}
	return s.del
}

// SetPublicClientFlows turns the app's "Allow public client flows"
// setting on or off (off by default). With it off, the device code grant
// and a refresh token grant without client credentials are refused with
// AADSTS7000218, as Entra refuses them.
func (s *Server) SetPublicClientFlows(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.delegated().publicClient = on
}

// SignInDeviceCode plays the user who opens DeviceLoginURL, enters
// userCode and signs in as upn (with MFA). The user must exist, be
// enabled and belong to the tenant the code was requested from.
func (s *Server) SignInDeviceCode(userCode, upn string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	dc := s.findUserCode(userCode)
	if dc == nil {
		return fmt.Errorf("fakegraph: no pending device code %q", userCode)
	}
	for _, t := range s.tenants {
		if t.id != dc.tenantID {
			continue
		}
		u := t.findUser(upn, false)
		if u == nil {
			continue
		}
		if !u.AccountEnabled {
			return fmt.Errorf("fakegraph: %s is blocked from signing in", upn)
		}
		dc.user, dc.home = u.ID, t.id
		return nil
	}
	return fmt.Errorf("fakegraph: no user %s in the code's tenant", upn)
}

// DeclineDeviceCode plays the user who enters userCode and then declines.
func (s *Server) DeclineDeviceCode(userCode string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	dc := s.findUserCode(userCode)
	if dc == nil {
		return fmt.Errorf("fakegraph: no pending device code %q", userCode)
	}
	dc.declined = true
	return nil
}

// findUserCode finds a device code by its user code; s.mu must be held.
func (s *Server) findUserCode(userCode string) *deviceCode {
	for _, dc := range s.delegated().deviceCodes {
		if strings.EqualFold(dc.userCode, userCode) && !dc.redeemed {
			return dc
		}
	}
	return nil
}

// DeviceCodes returns the user codes of the device codes not yet
// redeemed, for a test that plays the user.
func (s *Server) DeviceCodes() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, dc := range s.delegated().deviceCodes {
		if !dc.redeemed {
			out = append(out, dc.userCode)
		}
	}
	slices.Sort(out)
	return out
}

// IssueRefreshToken returns a refresh token for upn (tenant id or domain
// plus user) issued to the app as a confidential client, as if the user
// had signed in earlier: what a CIPP installation holds.
func (s *Server) IssueRefreshToken(tenantIDOrDomain, upn string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tenant(tenantIDOrDomain)
	if t == nil {
		return "", fmt.Errorf("fakegraph: no tenant %q", tenantIDOrDomain)
	}
	u := t.findUser(upn, false)
	if u == nil {
		return "", fmt.Errorf("fakegraph: no user %s in %s", upn, t.id)
	}
	return s.newRefreshToken(u.ID, t.id, s.clientID, false), nil
}

// RevokeRefreshTokens plays an admin revoking every refresh token of a
// user (revokeSignInSessions): every refresh token issued until now
// fails with AADSTS50173.
func (s *Server) RevokeRefreshTokens(tenantIDOrDomain, upn string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.mustUser("RevokeRefreshTokens", tenantIDOrDomain, upn)
	s.delegated().revokedAt[u.ID] = s.now()
}

// RequireInteraction makes every refresh token grant for a user fail with
// code until called again with 0: 50076 (multi-factor authentication
// required by a policy change or a new location) or 70043 (the sign-in
// frequency of a Conditional Access policy has passed). Both need the user
// to sign in again. It panics on another code.
func (s *Server) RequireInteraction(tenantIDOrDomain, upn string, code int) {
	if code != 0 && code != 50076 && code != 70043 {
		panic(fmt.Sprintf("fakegraph: RequireInteraction: code %d is not 50076 or 70043", code))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.mustUser("RequireInteraction", tenantIDOrDomain, upn)
	if code == 0 {
		delete(s.delegated().forced, u.ID)
		return
	}
	s.delegated().forced[u.ID] = code
}

// mustUser finds a user or panics; s.mu must be held.
func (s *Server) mustUser(op, tenantIDOrDomain, upn string) *User {
	t := s.tenant(tenantIDOrDomain)
	if t == nil {
		panic(fmt.Sprintf("fakegraph: %s: no tenant %q", op, tenantIDOrDomain))
	}
	u := t.findUser(upn, false)
	if u == nil {
		panic(fmt.Sprintf("fakegraph: %s: no user %s in %s", op, upn, t.id))
	}
	return u
}

// Delegated reports who a delegated access token issued by the server
// speaks for; false for an unknown or app-only token.
func (s *Server) Delegated(token string) (DelegatedAccess, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.delegated().access[token]
	if ok {
		a.Scopes = slices.Clone(a.Scopes)
	}
	return a, ok
}

// RefreshTokens returns every refresh token the server handed out, in no
// order, for tests that sweep logs and files for them.
func (s *Server) RefreshTokens() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, 0, len(s.delegated().refresh))
	for tok := range s.delegated().refresh {
		out = append(out, tok)
	}
	return out
}

// newRefreshToken records and returns a new refresh token; s.mu must be
// held. Microsoft's refresh tokens are opaque; these carry the "0.A"
// prefix real ones show and random bytes.
func (s *Server) newRefreshToken(user, home, clientID string, public bool) string {
	tok := "0.A" + randomB64(96)
	now := s.now()
	s.delegated().refresh[tok] = &refreshGrant{user: user, home: home, clientID: clientID, issued: now, lastUsed: now, public: public}
	return tok
}

// isDelegatedGrant reports whether a token request body asks for a
// delegated grant this file serves.
func isDelegatedGrant(raw []byte) bool {
	form, err := parseForm(raw)
	if err != nil {
		return false
	}
	switch form.Get("grant_type") {
	case grantDeviceCode, grantDeviceCodeShort, grantRefreshToken:
		return true
	}
	return false
}

// delegatedRequest is a delegated token request that passed client
// authentication.
type delegatedRequest struct {
	tokenRequest
	// public reports whether the client sent no credentials.
	public bool
}

// authDelegatedClient checks the client of a device code or refresh token
// request: a confidential client's secret, or a public client when the
// app allows public client flows. It redacts secrets and tokens in the
// request log.
func (s *Server) authDelegatedClient(w http.ResponseWriter, r *http.Request, raw []byte, rec *Request, args *tokenErrorArgs) (delegatedRequest, bool) {
	if r.Method != http.MethodPost {
		s.writeIdentityError(w, r, http.StatusMethodNotAllowed, "invalid_request", 900561,
			fmt.Sprintf("AADSTS900561: The endpoint only accepts POST, OPTIONS requests. Received a %s request.", r.Method))
		return delegatedRequest{}, false
	}
	form, err := parseForm(raw)
	if err != nil {
		s.writeIdentityError(w, r, http.StatusBadRequest, "invalid_request", 900144,
			"AADSTS900144: The request body must contain the following parameter: 'grant_type'.")
		return delegatedRequest{}, false
	}
	red := cloneValues(form)
	for _, k := range []string{"client_secret", "refresh_token", "device_code"} {
		if red.Has(k) {
			red.Set(k, "REDACTED")
		}
	}
	rec.Body = []byte(red.Encode())
	req := delegatedRequest{tokenRequest: tokenRequest{form: form, clientID: form.Get("client_id"), secret: form.Get("client_secret")}}
	if user, pass, ok := r.BasicAuth(); ok && req.clientID == "" {
		req.clientID, req.secret = user, pass
	}
	args.clientID = req.clientID
	if req.clientID == "" {
		s.writeIdentityError(w, r, http.StatusBadRequest, "invalid_request", 900144,
			"AADSTS900144: The request body must contain the following parameter: 'client_id'.")
		return req, false
	}
	if req.secret == "" && !req.form.Has("client_assertion") {
		if req.clientID != s.clientID {
			s.writeAADSTS(w, r, 700016, *args)
			return req, false
		}
		s.mu.Lock()
		public := s.delegated().publicClient
		s.mu.Unlock()
		if !public {
			s.writeMissingSecret(w, r)
			return req, false
		}
		req.public = true
		return req, true
	}
	return req, s.checkAppSecret(w, r, req.tokenRequest, *args)
}

// serveDeviceCode answers /{tenant}/oauth2/v2.0/devicecode.
func (s *Server) serveDeviceCode(w http.ResponseWriter, r *http.Request, tenantID, tenantName string, raw []byte, rec *Request) {
	args := tokenErrorArgs{tenantID: tenantID, tenantName: tenantName}
	if r.Method != http.MethodPost {
		s.writeIdentityError(w, r, http.StatusMethodNotAllowed, "invalid_request", 900561,
			fmt.Sprintf("AADSTS900561: The endpoint only accepts POST, OPTIONS requests. Received a %s request.", r.Method))
		return
	}
	rec.Body = raw
	form, err := parseForm(raw)
	if err != nil || form.Get("client_id") == "" {
		s.writeIdentityError(w, r, http.StatusBadRequest, "invalid_request", 900144,
			"AADSTS900144: The request body must contain the following parameter: 'client_id'.")
		return
	}
	args.clientID = form.Get("client_id")
	if args.clientID != s.clientID {
		s.writeAADSTS(w, r, 700016, args)
		return
	}
	scopes := strings.Fields(form.Get("scope"))
	if len(scopes) == 0 {
		s.writeIdentityError(w, r, http.StatusBadRequest, "invalid_request", 900144,
			"AADSTS900144: The request body must contain the following parameter: 'scope'.")
		return
	}
	s.mu.Lock()
	code := randomB64(96)
	userCode := newUserCode()
	dc := &deviceCode{userCode: userCode, tenantID: tenantID, clientID: args.clientID, scopes: scopes, expires: s.now().Add(deviceCodeLifetime)}
	s.delegated().deviceCodes[code] = dc
	s.mu.Unlock()
	s.writeIdentityJSON(w, r, http.StatusOK, obj{
		{"user_code", userCode},
		{"device_code", code},
		{"verification_uri", DeviceLoginURL},
		{"expires_in", int(deviceCodeLifetime / time.Second)},
		{"interval", deviceCodeInterval},
		{"message", fmt.Sprintf("To sign in, use a web browser to open the page %s and enter the code %s to authenticate.", DeviceLoginURL, userCode)},
	})
}

// newUserCode returns a nine-letter user code like Entra's.
func newUserCode() string {
	const letters = "ABCDEFGHJKLMNPQRSTUVWXYZ"
	b := []byte(randomB64(9))
	for i := range b {
		b[i] = letters[int(b[i])%len(letters)]
	}
	return string(b)
}

// issueDelegated answers the token endpoint for the device code and the
// refresh token grants.
func (s *Server) issueDelegated(w http.ResponseWriter, r *http.Request, tenantID, tenantName string, raw []byte, rec *Request) {
	args := tokenErrorArgs{tenantID: tenantID, tenantName: tenantName}
	req, ok := s.authDelegatedClient(w, r, raw, rec, &args)
	if !ok {
		return
	}
	var user, home string
	var scopes []string
	switch req.form.Get("grant_type") {
	case grantDeviceCode, grantDeviceCodeShort:
		user, home, scopes, ok = s.redeemDeviceCode(w, r, req)
	default:
		user, home, scopes, ok = s.redeemRefreshToken(w, r, req, tenantID)
	}
	if !ok {
		return
	}
	s.issueUserTokens(w, r, req, user, home, tenantID, tenantName, scopes, args)
}

// delegatedError writes an invalid_grant-style error.
func (s *Server) delegatedError(w http.ResponseWriter, r *http.Request, code string, aadsts int, suberror, msg string) {
	s.writeIdentityErrorSub(w, r, http.StatusBadRequest, code, suberror, aadsts, fmt.Sprintf("AADSTS%d: %s", aadsts, msg))
}

// redeemDeviceCode checks a device code poll and returns the signed-in
// user once the user has signed in.
func (s *Server) redeemDeviceCode(w http.ResponseWriter, r *http.Request, req delegatedRequest) (user, home string, scopes []string, ok bool) {
	s.mu.Lock()
	dc := s.delegated().deviceCodes[req.form.Get("device_code")]
	now := s.now()
	switch {
	case dc == nil || dc.redeemed || dc.clientID != req.clientID:
		s.mu.Unlock()
		s.delegatedError(w, r, "bad_verification_code", 70000, "", "The provided value for the input parameter 'device_code' is not valid.")
		return "", "", nil, false
	case !now.Before(dc.expires):
		s.mu.Unlock()
		s.delegatedError(w, r, "expired_token", 70019, "", "Verification code expired.")
		return "", "", nil, false
	case dc.declined:
		dc.redeemed = true
		s.mu.Unlock()
		s.delegatedError(w, r, "authorization_declined", 70000, "", "The user declined the authorization request.")
		return "", "", nil, false
	case dc.user == "":
		s.mu.Unlock()
		s.delegatedError(w, r, "authorization_pending", 70016, "", "OAuth 2.0 device flow error. Authorization is pending. Continue polling.")
		return "", "", nil, false
	}
	dc.redeemed = true
	user, home, scopes = dc.user, dc.home, dc.scopes
	s.mu.Unlock()
	return user, home, scopes, true
}

// redeemRefreshToken checks a refresh token against revocation,
// inactivity, forced interaction and the tenant it is redeemed in.
func (s *Server) redeemRefreshToken(w http.ResponseWriter, r *http.Request, req delegatedRequest, tenantID string) (user, home string, scopes []string, ok bool) {
	s.mu.Lock()
	d := s.delegated()
	g := d.refresh[req.form.Get("refresh_token")]
	now := s.now()
	if g == nil || g.clientID != req.clientID {
		s.mu.Unlock()
		s.delegatedError(w, r, "invalid_grant", 9002313, "", "Invalid request. Request is malformed or invalid.")
		return "", "", nil, false
	}
	if at, revoked := d.revokedAt[g.user]; revoked && !g.issued.After(at) {
		s.mu.Unlock()
		s.delegatedError(w, r, "invalid_grant", 50173, "",
			fmt.Sprintf("The provided grant has expired due to it being revoked, a fresh auth token is needed. The user might have changed or reset their password. The grant was issued on '%s' and the TokensValidFrom date (before which tokens are not valid) for this user is '%s'.",
				g.issued.Format(time.RFC3339), at.Format(time.RFC3339)))
		return "", "", nil, false
	}
	if idle := now.Sub(g.lastUsed); idle > refreshInactivity {
		s.mu.Unlock()
		s.delegatedError(w, r, "invalid_grant", 700082, "",
			fmt.Sprintf("The refresh token has expired due to inactivity. The token was issued on %s and was inactive for %s.",
				g.issued.Format(time.RFC3339), refreshInactivity.Round(time.Hour)))
		return "", "", nil, false
	}
	switch d.forced[g.user] {
	case 50076:
		s.mu.Unlock()
		s.delegatedError(w, r, "invalid_grant", 50076, "basic_action",
			"Due to a configuration change made by your administrator, or because you moved to a new location, you must use multi-factor authentication to access the resource.")
		return "", "", nil, false
	case 70043:
		s.mu.Unlock()
		s.delegatedError(w, r, "invalid_grant", 70043, "",
			fmt.Sprintf("The refresh token has expired or is invalid due to sign-in frequency checks by conditional access. The token was issued on %s and the maximum allowed lifetime for this request is 3600.", g.issued.Format(time.RFC3339)))
		return "", "", nil, false
	}
	g.lastUsed = now
	user, home = g.user, g.home
	s.mu.Unlock()
	return user, home, strings.Fields(req.form.Get("scope")), true
}

// delegatedScopes returns the delegated permissions the partner app holds
// on a resource: what CIPP's SAM app is consented to (its manifest,
// Config/SAMManifest.json in CIPP-API, asks for some 150 Graph
// permissions), reduced to what cippbot uses.
func delegatedScopes(kind resourceKind) []string {
	switch kind {
	case resExchange:
		return []string{"Exchange.Manage"}
	case resSharePoint:
		return []string{"AllSites.FullControl"}
	}
	return []string{"Directory.AccessAsUser.All", "Directory.ReadWrite.All", "User.ReadWrite.All", "Group.ReadWrite.All",
		"UserAuthenticationMethod.ReadWrite.All", "Sites.FullControl.All", "DelegatedAdminRelationship.Read.All",
		"AuditLog.Read.All", "Policy.ReadWrite.AuthenticationMethod", "Policy.Read.All", "RoleManagement.ReadWrite.Directory",
		"MailboxSettings.ReadWrite", "Mail.ReadWrite", "Application.ReadWrite.All", "Organization.Read.All", "Domain.Read.All",
		"LicenseAssignment.ReadWrite.All"}
}

// reachable reports whether a user of home may get tokens in tenant: its
// own tenant, or a customer its home tenant holds an active GDAP
// relationship with; s.mu must be held.
func (s *Server) reachable(home, tenantID string) bool {
	if home == tenantID {
		return true
	}
	p := s.tenants[home]
	if p == nil {
		return false
	}
	for _, rel := range p.relationships {
		if strings.EqualFold(rel.CustomerTenantID, tenantID) && strings.EqualFold(rel.Status, "active") {
			return true
		}
	}
	return false
}

// issueUserTokens issues the access, refresh and ID tokens of a delegated
// grant for the tenant of the authority.
func (s *Server) issueUserTokens(w http.ResponseWriter, r *http.Request, req delegatedRequest, user, home, tenantID, tenantName string, scopes []string, args tokenErrorArgs) {
	var resource string
	var perms []string
	wantID := false
	for _, sc := range scopes {
		switch sc {
		case "openid":
			wantID = true
			continue
		case "profile", "offline_access", "email":
			continue
		}
		i := strings.LastIndex(sc, "/")
		res, perm := "https://graph.microsoft.com", sc
		if i > 0 {
			res, perm = sc[:i], sc[i+1:]
		}
		if resource != "" && !strings.EqualFold(resource, res) {
			s.writeIdentityError(w, r, http.StatusBadRequest, "invalid_request", 28000,
				"AADSTS28000: Provided value for the input parameter scope is not valid because it contains more than one resource.")
			return
		}
		resource = res
		perms = append(perms, perm)
	}
	if resource == "" {
		resource, perms = "https://graph.microsoft.com", []string{".default"}
	}
	s.mu.Lock()
	t := s.tenants[tenantID]
	ht := s.tenants[home]
	var u *User
	if ht != nil {
		u = ht.findUser(user, false)
	}
	switch {
	case u == nil:
		s.mu.Unlock()
		s.delegatedError(w, r, "invalid_grant", 50173, "", "The provided grant has expired due to it being revoked, a fresh auth token is needed. The user might have changed or reset their password.")
		return
	case !u.AccountEnabled:
		s.mu.Unlock()
		s.delegatedError(w, r, "invalid_grant", 50057, "", "The user account is disabled. The account has been disabled by an administrator.")
		return
	case !s.reachable(home, tenantID):
		s.mu.Unlock()
		s.delegatedError(w, r, "invalid_grant", 50020, "",
			fmt.Sprintf("User account '{EUII Hidden}' from identity provider 'https://sts.windows.net/%s/' does not exist in tenant '%s' and cannot access the application '%s'(%s) in that tenant. The account needs to be added as an external user in the tenant first. Sign out and sign in again with a different Microsoft Entra user account.", home, tenantName, req.clientID, appDisplayName))
		return
	case t.tokenError != 0:
		code := t.tokenError
		s.mu.Unlock()
		s.writeAADSTS(w, r, code, args)
		return
	}
	target, known := resolveResource(t, resource, false)
	if !known {
		s.mu.Unlock()
		s.writeUnknownResource(w, r, resource, tenantID)
		return
	}
	granted := delegatedScopes(target.kind)
	if !slices.Contains(perms, ".default") {
		for _, p := range perms {
			if !containsFold(granted, p) {
				s.mu.Unlock()
				s.writeAADSTS(w, r, 65001, args)
				return
			}
		}
		granted = perms
	}
	now := s.now()
	expires := now.Add(tokenLifetime * time.Second)
	tok := newDelegatedToken(delegatedClaims{
		audience: target.audience, tenantID: t.id, home: home, clientID: req.clientID,
		user: u, scopes: granted, issued: now, expires: expires,
	})
	g := grant{tenantID: t.id, clientID: req.clientID, scope: target.scope, expires: expires}
	if home == t.id {
		g.user = u.ID
	}
	s.tokens[tok] = g
	s.delegated().access[tok] = DelegatedAccess{UserID: u.ID, UPN: u.UserPrincipalName, HomeTenantID: home, TenantID: t.id,
		Audience: target.audience, Scopes: slices.Clone(granted)}
	s.issued++
	t.issued++
	rt := s.newRefreshToken(u.ID, home, req.clientID, req.public)
	idTok := ""
	if wantID {
		idTok = newIDToken(req.clientID, t.id, u, now)
	}
	clientInfo := base64.RawURLEncoding.EncodeToString(mustJSON(obj{{"uid", u.ID}, {"utid", home}}))
	s.mu.Unlock()
	var scope []string
	for _, p := range granted {
		scope = append(scope, target.audience+"/"+p)
	}
	if slices.Contains(perms, ".default") {
		scope = append(scope, target.audience+"/.default")
	}
	if wantID {
		scope = append(scope, "openid", "profile")
	}
	scope = append(scope, "offline_access")
	body := obj{
		{"token_type", "Bearer"},
		{"scope", strings.Join(scope, " ")},
		{"expires_in", tokenLifetime},
		{"ext_expires_in", tokenLifetime},
		{"access_token", tok},
		{"refresh_token", rt},
	}
	if idTok != "" {
		body = append(body, field{"id_token", idTok})
	}
	body = append(body, field{"client_info", clientInfo})
	s.writeIdentityJSON(w, r, http.StatusOK, body)
}

// delegatedClaims is what a delegated access token says about itself.
type delegatedClaims struct {
	audience, tenantID, home, clientID string
	user                               *User
	scopes                             []string
	issued, expires                    time.Time
}

// newDelegatedToken returns an access token shaped like a Microsoft Entra
// v1.0 delegated token: the signed-in user's oid, upn and name, the scp
// claim with the delegated permissions, and idtyp "user". A user from
// another tenant (GDAP) carries that tenant as idp and no wids.
func newDelegatedToken(c delegatedClaims) string {
	issuer := "https://sts.windows.net/" + c.tenantID + "/"
	header := obj{{"typ", "JWT"}, {"nonce", randomB64(32)}, {"alg", "RS256"}, {"x5t", tokenKeyID}, {"kid", tokenKeyID}}
	payload := obj{
		{"aud", c.audience},
		{"iss", issuer},
		{"iat", c.issued.Unix()},
		{"nbf", c.issued.Unix()},
		{"exp", c.expires.Unix()},
		{"acr", "1"},
		{"aio", randomB64(60)},
		{"amr", []string{"pwd", "mfa"}},
		{"app_displayname", appDisplayName},
		{"appid", c.clientID},
		{"appidacr", "1"},
	}
	if c.home != c.tenantID {
		payload = append(payload, field{"idp", "https://sts.windows.net/" + c.home + "/"})
	}
	payload = append(payload,
		field{"idtyp", "user"},
		field{"name", c.user.DisplayName},
		field{"oid", c.user.ID},
		field{"rh", "0." + randomB64(40) + "."},
		field{"scp", strings.Join(c.scopes, " ")},
		field{"sub", stableGUID(c.user.ID, c.clientID, "sub")},
		field{"tenant_region_scope", "NA"},
		field{"tid", c.tenantID},
		field{"unique_name", c.user.UserPrincipalName},
		field{"upn", c.user.UserPrincipalName},
		field{"uti", randomB64(16)},
		field{"ver", "1.0"},
	)
	return segment(header) + "." + segment(payload) + "." + randomB64(256)
}

// newIDToken returns a v2.0 ID token for the signed-in user.
func newIDToken(clientID, tenantID string, u *User, now time.Time) string {
	header := obj{{"typ", "JWT"}, {"alg", "RS256"}, {"kid", tokenKeyID}}
	payload := obj{
		{"aud", clientID},
		{"iss", "https://login.microsoftonline.com/" + tenantID + "/v2.0"},
		{"iat", now.Unix()},
		{"nbf", now.Unix()},
		{"exp", now.Add(time.Hour).Unix()},
		{"name", u.DisplayName},
		{"oid", u.ID},
		{"preferred_username", u.UserPrincipalName},
		{"sub", stableGUID(u.ID, clientID, "sub")},
		{"tid", tenantID},
		{"ver", "2.0"},
	}
	return segment(header) + "." + segment(payload) + "." + randomB64(256)
}

// mustJSON marshals v, which cannot fail for the values used here.
func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Errorf("fakegraph: %w", err))
	}
	return b
}

// parseForm parses a form-encoded request body.
func parseForm(raw []byte) (url.Values, error) {
	return url.ParseQuery(string(raw))
}

// cloneValues returns a copy of v.
func cloneValues(v url.Values) url.Values {
	out := make(url.Values, len(v))
	for k, vs := range v {
		out[k] = slices.Clone(vs)
	}
	return out
}
