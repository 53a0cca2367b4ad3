package fakegraph

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// appDisplayName is the name Entra error messages give the application.
const appDisplayName = "cippbot"

// tokenErrorArgs fills in an AADSTS message.
type tokenErrorArgs struct {
	clientID   string
	tenantID   string
	tenantName string
}

// aadstsError is how Microsoft Entra answers one AADSTS code.
type aadstsError struct {
	status   int
	code     string
	suberror string
	message  func(a tokenErrorArgs) string
}

// aadstsErrors returns the AADSTS codes the token endpoint can answer
// with, as Entra sends them for a client credentials request.
func aadstsErrors() map[int]aadstsError {
	return map[int]aadstsError{
		700016: {http.StatusBadRequest, "unauthorized_client", "", func(a tokenErrorArgs) string {
			return fmt.Sprintf("Application with identifier '%s' was not found in the directory '%s'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.", a.clientID, a.tenantID)
		}},
		7000112: {http.StatusBadRequest, "unauthorized_client", "", func(a tokenErrorArgs) string {
			return fmt.Sprintf("Application '%s'(%s) is disabled.", a.clientID, appDisplayName)
		}},
		7000215: {http.StatusUnauthorized, "invalid_client", "", func(a tokenErrorArgs) string {
			return fmt.Sprintf("Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '%s'.", a.clientID)
		}},
		7000222: {http.StatusUnauthorized, "invalid_client", "", func(a tokenErrorArgs) string {
			return fmt.Sprintf("The provided client secret keys for app '%s' are expired. Visit the Azure portal to create new keys for your app: https://aka.ms/NewClientSecret, or consider using certificate credentials for added security: https://aka.ms/certCreds.", a.clientID)
		}},
		7000229: {http.StatusUnauthorized, "invalid_client", "", func(a tokenErrorArgs) string {
			return fmt.Sprintf("The client application %s is missing service principal in the tenant %s. See instructions here: https://go.microsoft.com/fwlink/?linkid=2225119", a.clientID, a.tenantID)
		}},
		65001: {http.StatusBadRequest, "invalid_grant", "consent_required", func(a tokenErrorArgs) string {
			return fmt.Sprintf("The user or administrator has not consented to use the application with ID '%s' named '%s'. Send an interactive authorization request for this user and resource.", a.clientID, appDisplayName)
		}},
		53003: {http.StatusBadRequest, "interaction_required", "message_only", func(tokenErrorArgs) string {
			return "Access has been blocked by Conditional Access policies. The access policy does not allow token issuance."
		}},
		500011: {http.StatusBadRequest, "invalid_resource", "", func(a tokenErrorArgs) string {
			return fmt.Sprintf("The resource principal named https://graph.microsoft.com was not found in the tenant named %s. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You might have sent your authentication request to the wrong tenant.", a.tenantName)
		}},
		90002: {http.StatusBadRequest, "invalid_tenant", "", func(a tokenErrorArgs) string {
			return fmt.Sprintf("Tenant '%s' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant.", a.tenantName)
		}},
		50020: {http.StatusBadRequest, "invalid_request", "", func(a tokenErrorArgs) string {
			return fmt.Sprintf("User account '{EUII Hidden}' from identity provider 'live.com' does not exist in tenant '%s' and cannot access the application '%s'(%s) in that tenant. The account needs to be added as an external user in the tenant first. Sign out and sign in again with a different Microsoft Entra user account.", a.tenantName, a.clientID, appDisplayName)
		}},
	}
}

// TokenErrorCodes returns the AADSTS codes that TenantSeed.TokenError and
// SetTokenError accept, in ascending order.
func TokenErrorCodes() []int {
	var out []int
	for code := range aadstsErrors() {
		out = append(out, code)
	}
	slices.Sort(out)
	return out
}

// parseTokenError turns "7000229" or "AADSTS7000229" into a supported
// code.
func parseTokenError(s string) (int, error) {
	digits := strings.TrimPrefix(strings.ToUpper(strings.TrimSpace(s)), "AADSTS")
	code, err := strconv.Atoi(digits)
	if err != nil {
		return 0, fmt.Errorf("tenant: token error %q is not an AADSTS code", s)
	}
	if _, ok := aadstsErrors()[code]; !ok {
		return 0, fmt.Errorf("tenant: token error AADSTS%d is not supported; use one of %v", code, TokenErrorCodes())
	}
	return code, nil
}

// SetTokenError makes the token endpoint refuse every otherwise valid
// request for a tenant (id or domain) with a Microsoft Entra error, given
// as its AADSTS code ("65001" or "AADSTS65001"); "" lets tokens be
// issued again. Tokens issued earlier keep working. It panics if the
// tenant does not exist or the code is not one of TokenErrorCodes():
//
//	700016   400 unauthorized_client  application not found in the directory
//	7000112  400 unauthorized_client  application is disabled
//	7000215  401 invalid_client       invalid client secret
//	7000222  401 invalid_client       client secret expired
//	7000229  401 invalid_client       app has no service principal in the tenant
//	65001    400 invalid_grant        admin consent missing (suberror consent_required)
//	53003    400 interaction_required blocked by Conditional Access (suberror message_only)
//	500011   400 invalid_resource     Microsoft Graph not found in the tenant
//	90002    400 invalid_tenant       tenant not found
//	50020    400 invalid_request      account does not exist in the tenant
func (s *Server) SetTokenError(tenantIDOrDomain, code string) {
	n := 0
	if code != "" {
		var err error
		if n, err = parseTokenError(code); err != nil {
			panic("fakegraph: SetTokenError: " + err.Error())
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tenant(tenantIDOrDomain)
	if t == nil {
		panic(fmt.Sprintf("fakegraph: SetTokenError: no tenant %q", tenantIDOrDomain))
	}
	t.tokenError = n
}

// writeAADSTS writes the token endpoint's answer for a supported code.
func (s *Server) writeAADSTS(w http.ResponseWriter, r *http.Request, code int, a tokenErrorArgs) {
	e, ok := aadstsErrors()[code]
	if !ok {
		s.writeIdentityError(w, r, http.StatusInternalServerError, "server_error", code, fmt.Sprintf("AADSTS%d: Unknown error.", code))
		return
	}
	s.writeIdentityErrorSub(w, r, e.status, e.code, e.suberror, code, fmt.Sprintf("AADSTS%d: %s", code, e.message(a)))
}
