package faketeams

import "github.com/cippbot/cippbot/internal/unhandled"

// TB is the part of testing.TB that NewTest uses; *testing.T and
// *testing.B satisfy it. (The package does not import testing.)
type TB = unhandled.TB

// NewTest returns New() for a test: every request the server has no route
// for (outside the Bot Framework metadata, the authority and the
// Connector's routes, or a Connector path it does not implement) fails t
// with t.Errorf, naming its method and path, so that a test cannot pass on
// the 404 the server answers such a request, unless the test said it
// meant to send it (ExpectUnhandled). Requests after t and its cleanups
// have finished are not reported. Tests use NewTest.
func NewTest(t TB) *Server {
	t.Helper()
	c := unhandled.New(t, "faketeams") // its check registered first, so it runs last
	s := New()
	s.strict = c
	return s
}

// ExpectUnhandled tells a server made by NewTest that the test means to
// send one request it has no route for, with exactly this method and
// path, to see how it is answered: that request does not fail the test,
// and the test fails if it is never sent. On a server made by New it does
// nothing.
func (s *Server) ExpectUnhandled(method, path string) { s.strict.Expect(method, path) }

// unhandled reports a request without a route to the test, if NewTest
// made the server.
func (s *Server) unhandled(method, path string) {
	if s.strict != nil {
		s.strict.Report(method, path)
	}
}
