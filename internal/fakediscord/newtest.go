package fakediscord

import (
	"slices"
	"sync"
)

// TB is the part of testing.TB that NewTest uses; *testing.T and
// *testing.B satisfy it. (The package does not import testing, which the
// demo would then link.)
type TB interface {
	Helper()
	Errorf(format string, args ...any)
	Cleanup(func())
}

// NewTest returns New(opts) for a test: every request the server has no
// route for fails t with t.Errorf, naming its method and path, so that a
// test cannot pass on the realistic error the server answers such a
// request (tailscale's testcontrol does the same), unless the test said
// it meant to send it (ExpectUnhandled). opts.Unhandled, if non-nil, is
// called first. Requests after t and its cleanups have finished are not
// reported. Tests use NewTest; the demo uses New.
func NewTest(t TB, opts Options) *Server {
	t.Helper()
	c := &strictness{t: t}
	t.Cleanup(c.finish) // registered first, so it runs last
	next := opts.Unhandled
	opts.Unhandled = func(method, path string) {
		if next != nil {
			next(method, path)
		}
		c.report(method, path)
	}
	s := New(opts)
	s.strict = c
	return s
}

// ExpectUnhandled tells a server made by NewTest that the test means to
// send one request it has no route for, with exactly this method and
// path, to see how it is answered: that request does not fail the test,
// and the test fails if it is never sent. On a server made by New it does
// nothing.
func (s *Server) ExpectUnhandled(method, path string) {
	if s.strict != nil {
		s.strict.expect(method + " " + path)
	}
}

// strictness is what NewTest adds to a server.
type strictness struct {
	t TB

	mu       sync.Mutex
	over     bool
	expected []string
}

func (c *strictness) expect(req string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.expected = append(c.expected, req)
}

func (c *strictness) report(method, path string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.over {
		return
	}
	if i := slices.Index(c.expected, method+" "+path); i >= 0 {
		c.expected = slices.Delete(c.expected, i, i+1)
		return
	}
	c.t.Errorf("fakediscord: no route for %s %s (the test reached a route the fake lacks)", method, path)
}

func (c *strictness) finish() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.over = true
	defer func() { c.expected = nil }()
	for _, req := range c.expected {
		c.t.Errorf("fakediscord: the test expected a request without a route, %s, which never came", req)
	}
}
