package fakegraph

import (
	"net/http"
	"strings"
)

// routeServicePrincipals serves /servicePrincipals/...; s.mu is held.
func (s *Server) routeServicePrincipals(c *call) *reply {
	return segmentNotFound(c.segs[0])
}

// routeMailFolders serves /users/{id}/mailFolders/...; s.mu is held.
func (s *Server) routeMailFolders(c *call) *reply {
	return segmentNotFound(c.segs[2])
}

// createUser serves POST /users; s.mu is held.
func (s *Server) createUser(c *call) *reply {
	return methodNotAllowed()
}

// isMFAConnectorPath reports whether segs address the legacy MFA
// notification service (/StrongAuthenticationService.svc/Connector/...).
func isMFAConnectorPath(segs []string) bool {
	return len(segs) > 0 && strings.EqualFold(segs[0], "StrongAuthenticationService.svc")
}

// serveMFAConnector answers the legacy MFA notification service.
func (s *Server) serveMFAConnector(w http.ResponseWriter, r *http.Request, segs []string, raw []byte, rec *Request) {
	rec.Body = raw
	http.NotFound(w, r)
}
