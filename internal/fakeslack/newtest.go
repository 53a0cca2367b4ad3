package fakeslack

import "github.com/cippbot/cippbot/internal/unhandled"

// TB is the part of testing.TB that NewTest uses; *testing.T and
// *testing.B satisfy it. (The package does not import testing, which the
// demo would then link.)
type TB = unhandled.TB

// NewTest returns New(opts) for a test: every request the server has no
// route for fails t with t.Errorf, naming its method and path, so that a
// test cannot pass on the realistic error the server answers such a
// request (tailscale's testcontrol does the same), unless the test said
// it meant to send it (ExpectUnhandled). opts.Unhandled, if non-nil, is
// called first. Requests after t and its cleanups have finished are not
// reported. Tests use NewTest; the demo uses New.
func NewTest(t TB, opts Options) *Server {
	t.Helper()
	c := unhandled.New(t, "fakeslack") // its check registered first, so it runs last
	opts.Unhandled = c.After(opts.Unhandled)
	s := New(opts)
	s.strict = c
	return s
}

// ExpectUnhandled tells a server made by NewTest that the test means to
// send one request it has no route for, with exactly this method and
// path, to see how it is answered: that request does not fail the test,
// and the test fails if it is never sent. On a server made by New it does
// nothing.
func (s *Server) ExpectUnhandled(method, path string) { s.strict.Expect(method, path) }
