package fakegraph

import (
	"strings"
	"time"
)

// SPTestDelegatedGrant registers a delegated access token of a user (id
// or user principal name) of the tenant (id) for scope, valid for ttl, as
// if the user had signed in to the app, and returns it. The token
// endpoint issues only app-only tokens; this lets the SharePoint tests
// run the operations Microsoft allows only with a signed-in admin.
func (s *Server) SPTestDelegatedGrant(tenantID, user, scope string, ttl time.Duration) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := user
	if t := s.tenant(tenantID); t != nil {
		if u := t.findUser(user, false); u != nil {
			id = u.ID
		}
	}
	tok := "sptest-delegated." + newGUID()
	s.tokens[tok] = grant{tenantID: strings.ToLower(tenantID), clientID: s.clientID, scope: scope, expires: s.now().Add(ttl), user: id}
	return tok
}
