package fakegraph

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// tokenLifetime is the lifetime of issued access tokens, in seconds.
const tokenLifetime = 3599

// graphResources are the resource identifiers that name Microsoft Graph
// in a "/.default" scope.
func graphResources() []string {
	return []string{
		"https://graph.microsoft.com",
		"https://graph.microsoft.com/",
		"00000003-0000-0000-c000-000000000000",
	}
}

// exchangeResources are the resource identifiers that name Exchange
// Online in a "/.default" scope.
func exchangeResources() []string {
	return []string{
		exchangeAudience,
		exchangeAudience + "/",
		"00000002-0000-0ff1-ce00-000000000000",
	}
}

// Audiences written into access tokens.
const (
	graphAudience    = "https://graph.microsoft.com"
	exchangeAudience = "https://outlook.office365.com"
)

// MFAResource is the v1 resource of the legacy MFA notification service
// (BeginTwoWayAuthentication): the token endpoint issues tokens for it
// only to the Azure Multi-Factor Auth Client (MFAAppID).
const MFAResource = "https://adnotifications.windowsazure.com/StrongAuthenticationService.svc/Connector"

// serveIdentity answers the Microsoft Entra endpoints: tenant discovery,
// the token endpoint and the signing keys.
func (s *Server) serveIdentity(w http.ResponseWriter, r *http.Request, segs []string, raw []byte, rec *Request) {
	rec.Body = raw
	if len(segs) < 2 || !isIdentityArea(segs[1]) {
		// Neither an identity endpoint nor a Graph version: answer the
		// way graph.microsoft.com answers an unknown version.
		v := ""
		if len(segs) > 0 {
			v = segs[0]
		}
		rec.Unhandled = true
		s.writeGraph(w, r, graphErr(http.StatusBadRequest, "BadRequest", "Invalid version: "+v))
		return
	}
	tenantName := segs[0]
	rest := strings.ToLower(strings.Join(segs[1:], "/"))
	var known bool
	switch rest {
	case "v2.0/.well-known/openid-configuration", "oauth2/v2.0/token", "oauth2/v2.0/devicecode", "oauth2/token", "discovery/v2.0/keys":
		known = true
	}
	if !known {
		rec.Unhandled = true
		s.writeIdentityError(w, r, http.StatusNotFound, "invalid_request", 900561,
			fmt.Sprintf("AADSTS900561: The endpoint '/%s' is not supported.", strings.Join(segs[1:], "/")))
		return
	}
	s.mu.Lock()
	t := s.tenant(tenantName)
	var tenantID string
	if t != nil {
		tenantID = t.id
	}
	s.mu.Unlock()
	if t == nil {
		s.writeAADSTS(w, r, 90002, tokenErrorArgs{tenantName: tenantName})
		return
	}
	base := baseURL(r) + "/" + tenantName
	switch rest {
	case "v2.0/.well-known/openid-configuration":
		if r.Method != http.MethodGet {
			s.writeIdentityError(w, r, http.StatusMethodNotAllowed, "invalid_request", 900561,
				fmt.Sprintf("AADSTS900561: The endpoint only accepts GET requests. Received a %s request.", r.Method))
			return
		}
		s.writeIdentityJSON(w, r, http.StatusOK, obj{
			{"token_endpoint", base + "/oauth2/v2.0/token"},
			{"token_endpoint_auth_methods_supported", []string{"client_secret_post", "private_key_jwt", "client_secret_basic"}},
			{"jwks_uri", baseURL(r) + "/" + tenantName + "/discovery/v2.0/keys"},
			{"response_modes_supported", []string{"query", "fragment", "form_post"}},
			{"subject_types_supported", []string{"pairwise"}},
			{"id_token_signing_alg_values_supported", []string{"RS256"}},
			{"response_types_supported", []string{"code", "id_token", "code id_token", "id_token token"}},
			{"scopes_supported", []string{"openid", "profile", "email", "offline_access"}},
			{"issuer", baseURL(r) + "/" + tenantID + "/v2.0"},
			{"request_uri_parameter_supported", false},
			{"userinfo_endpoint", "https://graph.microsoft.com/oidc/userinfo"},
			{"authorization_endpoint", base + "/oauth2/v2.0/authorize"},
			{"device_authorization_endpoint", base + "/oauth2/v2.0/devicecode"},
			{"http_logout_supported", true},
			{"frontchannel_logout_supported", true},
			{"end_session_endpoint", base + "/oauth2/v2.0/logout"},
			{"claims_supported", []string{"sub", "iss", "aud", "exp", "iat", "nbf", "tid", "ver"}},
			{"kerberos_endpoint", base + "/kerberos"},
			{"tenant_region_scope", "NA"},
			{"cloud_instance_name", "microsoftonline.com"},
			{"cloud_graph_host_name", "graph.windows.net"},
			{"msgraph_host", "graph.microsoft.com"},
			{"rbac_url", "https://pas.windows.net"},
		})
	case "discovery/v2.0/keys":
		s.writeIdentityJSON(w, r, http.StatusOK, obj{{"keys", []any{}}})
	case "oauth2/v2.0/devicecode":
		s.serveDeviceCode(w, r, tenantID, tenantName, raw, rec)
	case "oauth2/v2.0/token":
		if isDelegatedGrant(raw) { // delegated.go
			s.issueDelegated(w, r, tenantID, tenantName, raw, rec)
			return
		}
		s.issueToken(w, r, tenantID, tenantName, raw, rec)
	case "oauth2/token":
		s.issueTokenV1(w, r, tenantID, tenantName, raw, rec)
	}
}

// isIdentityArea reports whether seg starts an identity endpoint path.
func isIdentityArea(seg string) bool {
	switch strings.ToLower(seg) {
	case "v2.0", "oauth2", "discovery":
		return true
	}
	return false
}

// tokenRequest is a client credentials request that passed the checks
// common to both token endpoints.
type tokenRequest struct {
	form     url.Values
	clientID string
	secret   string
}

// parseTokenRequest checks the method, the grant type and the presence
// of the client's credentials, redacts the secret in the request log,
// and writes the error and returns false when a check fails.
func (s *Server) parseTokenRequest(w http.ResponseWriter, r *http.Request, raw []byte, rec *Request) (tokenRequest, bool) {
	if r.Method != http.MethodPost {
		s.writeIdentityError(w, r, http.StatusMethodNotAllowed, "invalid_request", 900561,
			fmt.Sprintf("AADSTS900561: The endpoint only accepts POST, OPTIONS requests. Received a %s request.", r.Method))
		return tokenRequest{}, false
	}
	form, err := url.ParseQuery(string(raw))
	if err != nil {
		s.writeIdentityError(w, r, http.StatusBadRequest, "invalid_request", 900144,
			"AADSTS900144: The request body must contain the following parameter: 'grant_type'.")
		return tokenRequest{}, false
	}
	if form.Has("client_secret") {
		red := url.Values{}
		for k, v := range form {
			red[k] = v
		}
		red.Set("client_secret", "REDACTED")
		rec.Body = []byte(red.Encode())
	}
	req := tokenRequest{form: form, clientID: form.Get("client_id"), secret: form.Get("client_secret")}
	if user, pass, ok := r.BasicAuth(); ok && req.clientID == "" {
		req.clientID, req.secret = user, pass
	}
	grantType := form.Get("grant_type")
	switch {
	case grantType == "":
		s.writeIdentityError(w, r, http.StatusBadRequest, "invalid_request", 900144,
			"AADSTS900144: The request body must contain the following parameter: 'grant_type'.")
		return req, false
	case grantType != "client_credentials":
		s.writeIdentityError(w, r, http.StatusBadRequest, "unsupported_grant_type", 70003,
			fmt.Sprintf("AADSTS70003: The app requested an unsupported grant type '%s'.", grantType))
		return req, false
	case req.clientID == "":
		s.writeIdentityError(w, r, http.StatusBadRequest, "invalid_request", 900144,
			"AADSTS900144: The request body must contain the following parameter: 'client_id'.")
		return req, false
	}
	return req, true
}

// checkAppSecret checks the client's credentials against the app the
// server plays, and writes the error and returns false when they fail.
func (s *Server) checkAppSecret(w http.ResponseWriter, r *http.Request, req tokenRequest, args tokenErrorArgs) bool {
	switch {
	case req.clientID != s.clientID:
		s.writeAADSTS(w, r, 700016, args)
	case req.form.Has("client_assertion"):
		s.writeIdentityError(w, r, http.StatusUnauthorized, "invalid_client", 700027,
			"AADSTS700027: The certificate with identifier used to sign the client assertion is not registered on application.")
	case req.secret == "":
		s.writeMissingSecret(w, r)
	case req.secret != s.clientSecret:
		s.writeAADSTS(w, r, 7000215, args)
	default:
		return true
	}
	return false
}

// writeMissingSecret is Entra's answer for a request without
// credentials.
func (s *Server) writeMissingSecret(w http.ResponseWriter, r *http.Request) {
	s.writeIdentityError(w, r, http.StatusUnauthorized, "invalid_client", 7000218,
		"AADSTS7000218: The request body must contain the following parameter: 'client_assertion' or 'client_secret'.")
}

// writeUnknownResource is Entra's answer for a resource the tenant does
// not hold.
func (s *Server) writeUnknownResource(w http.ResponseWriter, r *http.Request, res, tenantID string) {
	s.writeIdentityError(w, r, http.StatusBadRequest, "invalid_resource", 500011,
		fmt.Sprintf("AADSTS500011: The resource principal named %s was not found in the tenant named %s. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You might have sent your authentication request to the wrong tenant.", res, tenantID))
}

// tokenTarget is the resource a token is issued for.
type tokenTarget struct {
	kind resourceKind
	// audience is the token's aud claim.
	audience string
	// scope is what the grant records, "<resource>/.default"; each
	// service checks it.
	scope string
}

// sharePointAdminHost returns the host of the tenant's SharePoint admin
// site: the initial domain's first label plus "-admin.sharepoint.com".
func (t *tenant) sharePointAdminHost() string {
	name, _, _ := strings.Cut(t.initialDomain(), ".")
	return strings.ToLower(name) + "-admin.sharepoint.com"
}

// resolveResource names the resource of a "/.default" scope (without
// the suffix) or a v1 resource parameter; v1 also knows the MFA
// notification service. s.mu must be held.
func resolveResource(t *tenant, res string, v1 bool) (tokenTarget, bool) {
	switch {
	case containsFold(exchangeResources(), res):
		return tokenTarget{resExchange, exchangeAudience, exchangeAudience + "/.default"}, true
	case containsFold(graphResources(), res) || containsFold(graphResources(), res+"/"):
		return tokenTarget{resGraph, graphAudience, graphAudience + "/.default"}, true
	case v1 && strings.EqualFold(strings.TrimSuffix(res, "/"), MFAResource):
		return tokenTarget{resMFA, MFAResource, MFAResource + "/.default"}, true
	}
	u, err := url.Parse(res)
	if err == nil && strings.EqualFold(u.Scheme, "https") && (u.Path == "" || u.Path == "/") && u.RawQuery == "" &&
		strings.EqualFold(u.Host, t.sharePointAdminHost()) {
		aud := "https://" + t.sharePointAdminHost()
		return tokenTarget{resSharePoint, aud, aud + "/.default"}, true
	}
	return tokenTarget{}, false
}

// issueToken implements the v2 client credentials grant
// (/{tenant}/oauth2/v2.0/token, scope "<resource>/.default").
func (s *Server) issueToken(w http.ResponseWriter, r *http.Request, tenantID, tenantName string, raw []byte, rec *Request) {
	req, ok := s.parseTokenRequest(w, r, raw, rec)
	if !ok {
		return
	}
	args := tokenErrorArgs{clientID: req.clientID, tenantID: tenantID, tenantName: tenantName}
	if !s.checkAppSecret(w, r, req, args) {
		return
	}
	var resource []string
	for _, sc := range strings.Fields(req.form.Get("scope")) {
		switch sc {
		case "openid", "profile", "offline_access", "email":
			continue
		}
		resource = append(resource, sc)
	}
	if len(resource) == 0 {
		s.writeIdentityError(w, r, http.StatusBadRequest, "invalid_request", 90014,
			"AADSTS90014: The required field 'scope' is missing from the credential. Ensure that you have all the necessary parameters for the login request.")
		return
	}
	if len(resource) > 1 || !strings.HasSuffix(resource[0], "/.default") {
		s.writeIdentityError(w, r, http.StatusBadRequest, "invalid_scope", 1002012,
			fmt.Sprintf("AADSTS1002012: The provided value for scope %s is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).", strings.Join(resource, " ")))
		return
	}
	res := strings.TrimSuffix(resource[0], "/.default")
	s.mu.Lock()
	target, known := tokenTarget{}, false
	if t := s.tenants[tenantID]; t != nil {
		target, known = resolveResource(t, res, false)
	}
	s.mu.Unlock()
	if !known {
		s.writeUnknownResource(w, r, res, tenantID)
		return
	}
	if target.kind != resSharePoint {
		// Graph and Exchange check the scope as it was asked for.
		target.scope = resource[0]
	}
	tok, _, ok := s.grantToken(w, r, req.clientID, target, args)
	if !ok {
		return
	}
	s.writeIdentityJSON(w, r, http.StatusOK, obj{
		{"token_type", "Bearer"},
		{"expires_in", tokenLifetime},
		{"ext_expires_in", tokenLifetime},
		{"access_token", tok},
	})
}

// issueTokenV1 implements the v1 client credentials grant
// (/{tenant}/oauth2/token, resource=...). Besides the app the server
// plays, it accepts the Azure Multi-Factor Auth Client (MFAAppID) with
// a live secret added to the tenant's service principal of it, for the
// MFA notification service (MFAResource).
func (s *Server) issueTokenV1(w http.ResponseWriter, r *http.Request, tenantID, tenantName string, raw []byte, rec *Request) {
	req, ok := s.parseTokenRequest(w, r, raw, rec)
	if !ok {
		return
	}
	args := tokenErrorArgs{clientID: req.clientID, tenantID: tenantID, tenantName: tenantName}
	if strings.EqualFold(req.clientID, MFAAppID) {
		if !s.checkMFASecret(w, r, req, tenantID, args) {
			return
		}
	} else if !s.checkAppSecret(w, r, req, args) {
		return
	}
	res := req.form.Get("resource")
	if res == "" {
		s.writeIdentityError(w, r, http.StatusBadRequest, "invalid_request", 900144,
			"AADSTS900144: The request body must contain the following parameter: 'resource'.")
		return
	}
	s.mu.Lock()
	target, known := tokenTarget{}, false
	if t := s.tenants[tenantID]; t != nil {
		target, known = resolveResource(t, res, true)
	}
	s.mu.Unlock()
	// The MFA client holds no permission on other resources, and the
	// app the server plays none on the MFA service.
	if !known || (target.kind == resMFA) != strings.EqualFold(req.clientID, MFAAppID) {
		s.writeUnknownResource(w, r, res, tenantID)
		return
	}
	if target.kind == resMFA && s.connectorDisabled(w, r, tenantID, res) {
		return
	}
	tok, now, ok := s.grantToken(w, r, req.clientID, target, args)
	if !ok {
		return
	}
	expires := now.Add(tokenLifetime * time.Second)
	s.writeIdentityJSON(w, r, http.StatusOK, obj{
		{"token_type", "Bearer"},
		{"expires_in", strconv.Itoa(tokenLifetime)},
		{"ext_expires_in", strconv.Itoa(tokenLifetime)},
		{"expires_on", strconv.FormatInt(expires.Unix(), 10)},
		{"not_before", strconv.FormatInt(now.Unix(), 10)},
		{"resource", res},
		{"access_token", tok},
	})
}

// checkMFASecret checks a secret of the Azure Multi-Factor Auth Client
// against the live secrets of the tenant's service principal of it, and
// writes the error and returns false when it fails.
func (s *Server) checkMFASecret(w http.ResponseWriter, r *http.Request, req tokenRequest, tenantID string, args tokenErrorArgs) bool {
	if req.secret == "" {
		s.writeMissingSecret(w, r)
		return false
	}
	s.mu.Lock()
	var sp *ServicePrincipal
	if t := s.tenants[tenantID]; t != nil {
		sp = t.servicePrincipalByApp(MFAAppID)
	}
	code := 7000215
	now := s.now()
	if sp != nil {
		for _, p := range sp.passwords {
			if p.secret != req.secret {
				continue
			}
			switch {
			case p.live(now):
				code = 0
			case !now.Before(p.end):
				code = 7000222
			}
		}
	}
	s.mu.Unlock()
	switch {
	case sp == nil:
		s.writeAADSTS(w, r, 700016, args)
	case code != 0:
		s.writeAADSTS(w, r, code, args)
	default:
		return true
	}
	return false
}

// grantToken issues and records an access token for target, unless the
// tenant is set to refuse tokens, in which case it writes that error and
// returns false. It returns the token and the time it was issued.
func (s *Server) grantToken(w http.ResponseWriter, r *http.Request, clientID string, target tokenTarget, args tokenErrorArgs) (string, time.Time, bool) {
	s.mu.Lock()
	t := s.tenants[args.tenantID]
	if t == nil || t.tokenError != 0 {
		code := 90002
		if t != nil {
			code = t.tokenError
		}
		s.mu.Unlock()
		s.writeAADSTS(w, r, code, args)
		return "", time.Time{}, false
	}
	now := s.now()
	// The tenant's consented permissions are the app's; the MFA service
	// has none (rolesFor gives it nothing).
	tok := newAccessToken(tokenClaims{
		audience: target.audience,
		tenantID: t.id,
		clientID: clientID,
		roles:    rolesFor(t.permissions, target.kind),
		issued:   now,
		expires:  now.Add(tokenLifetime * time.Second),
	})
	s.tokens[tok] = grant{tenantID: t.id, clientID: clientID, scope: target.scope, expires: now.Add(tokenLifetime * time.Second)}
	s.issued++
	t.issued++
	s.mu.Unlock()
	return tok, now, true
}

// identityHeaders sets the headers the identity endpoints always send.
func (s *Server) identityHeaders(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Cache-Control", "no-store, no-cache")
	h.Set("Pragma", "no-cache")
	h.Set("x-ms-request-id", newGUID())
	h.Set("Date", s.now().Format(http.TimeFormat))
}

// writeIdentityJSON writes body as an identity endpoint response.
func (s *Server) writeIdentityJSON(w http.ResponseWriter, _ *http.Request, status int, body any) {
	s.identityHeaders(w)
	b, err := json.Marshal(body)
	if err != nil {
		status = http.StatusInternalServerError
		b = []byte(`{"error":"server_error"}`)
	}
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// writeIdentityError writes an OAuth error in the shape Microsoft Entra
// uses; description starts with "AADSTS<code>: ".
func (s *Server) writeIdentityError(w http.ResponseWriter, r *http.Request, status int, code string, aadsts int, description string) {
	s.writeIdentityErrorSub(w, r, status, code, "", aadsts, description)
}

// writeIdentityErrorSub is writeIdentityError with a suberror, which
// Entra adds for some errors ("" for none).
func (s *Server) writeIdentityErrorSub(w http.ResponseWriter, r *http.Request, status int, code, suberror string, aadsts int, description string) {
	trace := newGUID()
	corr := r.Header.Get("client-request-id")
	if corr == "" {
		corr = newGUID()
	}
	ts := s.now().Format("2006-01-02 15:04:05Z")
	body := obj{
		{"error", code},
		{"error_description", fmt.Sprintf("%s\r\nTrace ID: %s\r\nCorrelation ID: %s\r\nTimestamp: %s", description, trace, corr, ts)},
		{"error_codes", []int{aadsts}},
		{"timestamp", ts},
		{"trace_id", trace},
		{"correlation_id", corr},
		{"error_uri", fmt.Sprintf("https://login.microsoftonline.com/error?code=%d", aadsts)},
	}
	if suberror != "" {
		body = append(body, field{"suberror", suberror})
	}
	s.writeIdentityJSON(w, r, status, body)
}
