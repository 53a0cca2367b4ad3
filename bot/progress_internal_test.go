package bot

import (
	"testing"

	"github.com/cippbot/cippbot/actions"
)

// TestProgressMessage: counts read with thousands separators, and a run
// held to the tenant's write limit says so.
func TestProgressMessage(t *testing.T) {
	a := &actions.Action{Name: "block-signin"}
	if got := progressMessage(a, 1200, 5000, true).Title; got != "Running block-signin: 1,200 of 5,000 done… pacing to Microsoft's write limit" {
		t.Errorf("paced: %q", got)
	}
	if got := progressMessage(a, 3, 999, false).Title; got != "Running block-signin: 3 of 999 done…" {
		t.Errorf("unpaced: %q", got)
	}
	for n, want := range map[int]string{0: "0", 100: "100", 1000: "1,000", 1234567: "1,234,567"} {
		if got := thousands(n); got != want {
			t.Errorf("thousands(%d) = %q", n, got)
		}
	}
}
