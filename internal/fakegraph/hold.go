package fakegraph

import (
	"net/http"
	"strings"
	"sync"
)

// A Hold keeps one Graph request waiting before it is served, so that a
// test can act while exactly that call is in flight (slowing every call
// with SetLatency slows the whole test instead). Create it with
// Server.Hold.
type Hold struct {
	method, pathContains string

	arrived, done chan struct{}
	release       chan struct{}
	releaseOnce   sync.Once
}

// Hold makes the next Graph request (a whole request, not a $batch item)
// whose method is method ("" matches any) and whose path contains
// pathContains wait, before anything else is done with it, until Release
// is called or its client goes away. A request whose client goes away
// while held is answered 499 and not carried out, as with SetLatency.
func (s *Server) Hold(method, pathContains string) *Hold {
	h := &Hold{
		method: method, pathContains: pathContains,
		arrived: make(chan struct{}), done: make(chan struct{}), release: make(chan struct{}),
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.holds = append(s.holds, h)
	return h
}

// Arrived is closed when the held request has arrived.
func (h *Hold) Arrived() <-chan struct{} { return h.arrived }

// Release lets the held request go on; it may be called more than once,
// and before the request arrives (it is then not held at all).
func (h *Hold) Release() { h.releaseOnce.Do(func() { close(h.release) }) }

// Done is closed when the held request has been answered and recorded.
func (h *Hold) Done() <-chan struct{} { return h.done }

// takeHold removes and returns the first hold matching the request, or
// nil.
func (s *Server) takeHold(r *http.Request) *Hold {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, h := range s.holds {
		if (h.method == "" || strings.EqualFold(h.method, r.Method)) && strings.Contains(r.URL.Path, h.pathContains) {
			s.holds = append(s.holds[:i:i], s.holds[i+1:]...)
			return h
		}
	}
	return nil
}

// wait holds the request until it is released; it reports false if the
// client went away first.
func (h *Hold) wait(r *http.Request) bool {
	close(h.arrived)
	select {
	case <-h.release:
		return true
	case <-r.Context().Done():
		return false
	}
}
