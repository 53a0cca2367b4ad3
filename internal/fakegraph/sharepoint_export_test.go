package fakegraph

import (
	"strings"
	"time"
)

// SPTestGrant registers an access token of the tenant (id) for scope,
// valid for ttl from now (negative for an expired one), as if the token
// endpoint had issued it, and returns it. It lets the SharePoint tests
// run whatever scopes the token endpoint supports.
func (s *Server) SPTestGrant(tenantID, scope string, ttl time.Duration) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	tok := "sptest." + newGUID()
	s.tokens[tok] = grant{tenantID: strings.ToLower(tenantID), clientID: s.clientID, scope: scope, expires: s.now().Add(ttl)}
	return tok
}
