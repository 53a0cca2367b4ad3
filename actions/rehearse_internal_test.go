package actions

import (
	"maps"
	"slices"
	"testing"
)

// TestRehearsalsCoverCatalogue keeps the rehearsal table in step with the
// catalogue: every action has its reads, every entry names an action, and
// every read it names exists and says what it reads.
func TestRehearsalsCoverCatalogue(t *testing.T) {
	c := Default()
	for _, a := range c.All() {
		if _, ok := rehearsals[a.Name]; !ok {
			t.Errorf("action %s has no entry in rehearsals", a.Name)
		}
	}
	for name, reads := range rehearsals {
		if a := c.Lookup(name); a == nil || a.Name != name {
			t.Errorf("rehearsals has %q, which is no action's name", name)
		}
		if len(reads) == 0 {
			t.Errorf("rehearsal of %s reads nothing", name)
		}
		for _, r := range reads {
			if probes[r] == nil {
				t.Errorf("rehearsal of %s names unknown read %q", name, r)
			}
			if probeWhat[r] == "" {
				t.Errorf("read %q does not say what it reads", r)
			}
		}
	}
	for name := range probes {
		if !slices.ContainsFunc(slices.Collect(maps.Values(rehearsals)), func(rs []string) bool { return slices.Contains(rs, name) }) {
			t.Errorf("read %q is used by no action", name)
		}
	}
}
