// Package unhandled is what the fakes' NewTest constructors share: a
// checker that fails a test on every request the fake has no route for,
// as tailscale's testcontrol does, unless the test said it meant to send
// it. It does not import testing, which the demo would then link.
package unhandled

import (
	"slices"
	"sync"
)

// TB is the part of testing.TB a Checker uses; *testing.T and *testing.B
// satisfy it.
type TB interface {
	Helper()
	Errorf(format string, args ...any)
	Cleanup(func())
}

// Checker fails t on requests without a route. Requests after t and its
// cleanups have finished are not reported.
type Checker struct {
	t    TB
	fake string // "fakegraph", for the messages

	mu       sync.Mutex
	over     bool
	expected []string
}

// New returns a Checker for the fake named fake. Its end-of-test check
// is registered with t now, so that it runs after the cleanups the test
// registers later.
func New(t TB, fake string) *Checker {
	t.Helper()
	c := &Checker{t: t, fake: fake}
	t.Cleanup(c.finish)
	return c
}

// Expect says the test means to send one request without a route, with
// exactly this method and path: it does not fail the test, and the test
// fails if it never comes.
func (c *Checker) Expect(method, path string) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.expected = append(c.expected, method+" "+path)
}

// After returns a fake's Unhandled hook that calls next, if non-nil,
// and then reports the request.
func (c *Checker) After(next func(method, path string)) func(method, path string) {
	return func(method, path string) {
		if next != nil {
			next(method, path)
		}
		c.Report(method, path)
	}
}

// Report is called with every request the fake has no route for.
func (c *Checker) Report(method, path string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.over {
		return
	}
	if i := slices.Index(c.expected, method+" "+path); i >= 0 {
		c.expected = slices.Delete(c.expected, i, i+1)
		return
	}
	c.t.Errorf("%s: no route for %s %s (the test reached a route the fake lacks)", c.fake, method, path)
}

func (c *Checker) finish() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.over = true
	defer func() { c.expected = nil }()
	for _, req := range c.expected {
		c.t.Errorf("%s: the test expected a request without a route, %s, which never came", c.fake, req)
	}
}
