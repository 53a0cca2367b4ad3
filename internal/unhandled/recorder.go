package unhandled

import (
	"fmt"
	"slices"
	"sync"
)

// Recorder stands in for a test's T in a fake's NewTest, keeping what
// the fake reports instead of failing, so that the fakes' own tests can
// check what a test using them would be told.
type Recorder struct {
	mu       sync.Mutex
	errors   []string
	cleanups []func()
}

// Helper implements TB.
func (r *Recorder) Helper() {}

// Errorf implements TB: it keeps the message.
func (r *Recorder) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errors = append(r.errors, fmt.Sprintf(format, args...))
}

// Cleanup implements TB.
func (r *Recorder) Cleanup(f func()) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.cleanups = append(r.cleanups, f)
}

// End runs the cleanups, last first, as a test's end does, and returns
// the messages kept.
func (r *Recorder) End() []string {
	r.mu.Lock()
	fs := r.cleanups
	r.cleanups = nil
	r.mu.Unlock()
	for _, f := range slices.Backward(fs) {
		f()
	}
	return r.Reported()
}

// Reported returns the messages kept so far.
func (r *Recorder) Reported() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.errors)
}
