package faketeams

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// The simulated Microsoft Entra ID authority of the bot's tenant, as MSAL
// (under azidentity) uses it for the client-credentials grant with
// instance discovery off: tenant discovery, then the v2.0 token endpoint
// (learn.microsoft.com/entra/identity-platform/v2-protocols-oidc, "Find
// your app's OpenID configuration document URI";
// v2-oauth2-client-creds-grant-flow). Both answer over TLS only.

// BotFrameworkTenant is the legacy multi-tenant authority's tenant: it
// exists, but a single-tenant bot's app is not in it, so a token request
// there fails with AADSTS700016 "…not found in the directory 'Bot
// Framework'" (TEAMS.md A0; techcommunity blog 4475227).
const BotFrameworkTenant = "botframework.com"

// isAuthorityPath reports whether p is one of the authority's endpoints:
// /{tenant}/v2.0/.well-known/openid-configuration or
// /{tenant}/oauth2/v2.0/token.
func isAuthorityPath(p string) bool {
	_, rest, ok := strings.Cut(strings.TrimPrefix(p, "/"), "/")
	return ok && (rest == "v2.0/.well-known/openid-configuration" || rest == "oauth2/v2.0/token")
}

// aadError writes Entra's error body: error, error_description (the
// AADSTS code first) and error_codes
// (learn.microsoft.com/entra/identity-platform/reference-error-codes,
// "Handling error codes in your application").
func aadError(w http.ResponseWriter, status int, errc string, code int, desc string) {
	writeJSON(w, status, map[string]any{"error": errc, "error_description": desc, "error_codes": []int{code},
		"timestamp": time.Now().UTC().Format("2006-01-02 15:04:05Z"), "trace_id": randHex(16), "correlation_id": randHex(16)})
}

func (s *Server) authority(w http.ResponseWriter, r *http.Request, p string, body []byte) {
	tenant, rest, _ := strings.Cut(strings.TrimPrefix(p, "/"), "/")
	if r.TLS == nil {
		// The authority host must be https; azidentity refuses anything
		// else ("cannot use an authority host without https").
		aadError(w, http.StatusBadRequest, "invalid_request", 90002, "AADSTS90002: https is required.")
		return
	}
	if !strings.EqualFold(tenant, s.TenantID) && !strings.EqualFold(tenant, BotFrameworkTenant) {
		// An unknown tenant is refused by discovery and token endpoint
		// alike (reference-error-codes: AADSTS90002 InvalidTenantName).
		aadError(w, http.StatusBadRequest, "invalid_tenant", 90002, fmt.Sprintf("AADSTS90002: Tenant '%s' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.", tenant))
		return
	}
	base := s.srv.URL + "/" + tenant
	switch rest {
	case "v2.0/.well-known/openid-configuration":
		if r.Method != http.MethodGet {
			aadError(w, http.StatusMethodNotAllowed, "invalid_request", 900561, "AADSTS900561: The endpoint only accepts GET requests.")
			return
		}
		// The fields MSAL requires (authorization and token endpoints,
		// an issuer on the authority's host).
		writeJSON(w, http.StatusOK, map[string]any{
			"token_endpoint":                        base + "/oauth2/v2.0/token",
			"token_endpoint_auth_methods_supported": []string{"client_secret_post", "private_key_jwt", "client_secret_basic"},
			"jwks_uri":                              base + "/discovery/v2.0/keys",
			"issuer":                                s.srv.URL + "/" + s.tenantIDOf(tenant) + "/v2.0",
			"authorization_endpoint":                base + "/oauth2/v2.0/authorize",
			"id_token_signing_alg_values_supported": []string{"RS256"},
			"tenant_region_scope":                   "NA",
			"cloud_instance_name":                   "microsoftonline.com",
		})
	case "oauth2/v2.0/token":
		s.token(w, r, tenant, body)
	}
}

// tenantIDOf is the tenant's ID as issuers name it.
func (s *Server) tenantIDOf(tenant string) string {
	if strings.EqualFold(tenant, BotFrameworkTenant) {
		return "d6d49420-f39b-4df7-a1dc-d59a935871db" // Bot Framework's directory
	}
	return s.TenantID
}

// token is the client-credentials grant of a single-tenant bot: its own
// tenant, its app ID, its password or a client assertion signed with a
// registered certificate, and the Bot Framework's "/.default" scope.
func (s *Server) token(w http.ResponseWriter, r *http.Request, tenant string, body []byte) {
	if r.Method != http.MethodPost {
		aadError(w, http.StatusMethodNotAllowed, "invalid_request", 900561, "AADSTS900561: The endpoint only accepts POST requests.")
		return
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/x-www-form-urlencoded") {
		aadError(w, http.StatusBadRequest, "invalid_request", 900144, "AADSTS900144: The request body must contain the following parameter: 'grant_type'.")
		return
	}
	f, err := url.ParseQuery(string(body))
	if err != nil || f.Get("grant_type") == "" {
		aadError(w, http.StatusBadRequest, "invalid_request", 900144, "AADSTS900144: The request body must contain the following parameter: 'grant_type'.")
		return
	}
	if g := f.Get("grant_type"); g != "client_credentials" {
		aadError(w, http.StatusBadRequest, "unsupported_grant_type", 70003, fmt.Sprintf("AADSTS70003: The app requested an unsupported grant type '%s'.", g))
		return
	}
	switch {
	case f.Get("client_id") != s.AppID:
		aadError(w, http.StatusBadRequest, "unauthorized_client", 700016, fmt.Sprintf("AADSTS700016: Application with identifier '%s' was not found in the directory '%s'.", f.Get("client_id"), tenant))
		return
	case strings.EqualFold(tenant, BotFrameworkTenant):
		// A single-tenant bot asking the multi-tenant authority.
		aadError(w, http.StatusBadRequest, "unauthorized_client", 700016, fmt.Sprintf("AADSTS700016: Application with identifier '%s' was not found in the directory 'Bot Framework'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.", s.AppID))
		return
	}
	switch {
	case f.Get("client_assertion") != "":
		if f.Get("client_assertion_type") != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer" {
			aadError(w, http.StatusBadRequest, "invalid_request", 50027, "AADSTS50027: Invalid client_assertion_type.")
			return
		}
		if desc, err := s.checkAssertion(f.Get("client_assertion"), s.srv.URL+r.URL.Path); err != nil {
			aadError(w, http.StatusUnauthorized, "invalid_client", 700027, desc)
			return
		}
	case f.Get("client_secret") == "":
		aadError(w, http.StatusUnauthorized, "invalid_client", 7000218, "AADSTS7000218: The request body must contain the following parameter: 'client_assertion' or 'client_secret'.")
		return
	case f.Get("client_secret") != s.AppPassword:
		// The description never repeats the secret sent.
		aadError(w, http.StatusUnauthorized, "invalid_client", 7000215, fmt.Sprintf("AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '%s'.", s.AppID))
		return
	}
	// The client-credentials grant takes one resource's "/.default"
	// scope (v2-oauth2-client-creds-grant-flow, "scope"); MSAL adds the
	// OpenID scopes, which the grant ignores.
	var scopes []string
	for _, sc := range strings.Fields(f.Get("scope")) {
		if sc != "openid" && sc != "profile" && sc != "offline_access" {
			scopes = append(scopes, sc)
		}
	}
	switch {
	case len(scopes) == 0:
		aadError(w, http.StatusBadRequest, "invalid_request", 90014, "AADSTS90014: The required field 'scope' is missing from the credential.")
		return
	case len(scopes) > 1 || !strings.HasSuffix(scopes[0], "/.default"):
		aadError(w, http.StatusBadRequest, "invalid_scope", 1002012, fmt.Sprintf("AADSTS1002012: The provided value for scope %s is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).", strings.Join(scopes, " ")))
		return
	case scopes[0] != Scope:
		// The simulation holds one resource: the Bot Framework.
		res := strings.TrimSuffix(scopes[0], "/.default")
		aadError(w, http.StatusBadRequest, "invalid_resource", 500011, fmt.Sprintf("AADSTS500011: The resource principal named %s was not found in the tenant named %s. You might have sent your authentication request to the wrong tenant.", res, tenant))
		return
	}
	tok := "bf." + randHex(24)
	s.mu.Lock()
	s.tokens[tok] = time.Now().Add(time.Hour)
	s.tokenGrants++
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599, "access_token": tok})
}

// TokenGrants says how many tokens the token endpoint issued.
func (s *Server) TokenGrants() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tokenGrants
}
