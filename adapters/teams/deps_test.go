package teams_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDependencies keeps the adapter on the protocol: it links no other
// chat SDK, no store, no Graph SDK and no other adapter.
func TestDependencies(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("runs go list")
	}
	const mod = "github.com/cippbot/cippbot/"
	out, err := exec.Command("go", "list", "-deps", mod+"adapters/teams").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	bad := []string{"github.com/microsoftgraph", "github.com/Azure", "go.etcd.io/bbolt", "github.com/slack-go",
		"github.com/bwmarrin/discordgo", mod + "store", mod + "adapters/slack", mod + "adapters/discord", mod + "internal/fake"}
	// Of the project, it imports the engine alone.
	direct, err := exec.Command("go", "list", "-f", `{{join .Imports " "}}`, mod+"adapters/teams").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, direct)
	}
	for _, imp := range strings.Fields(string(direct)) {
		if strings.HasPrefix(imp, mod) && imp != mod+"bot" {
			t.Errorf("adapters/teams imports %s; only bot is allowed", imp)
		}
	}
	for _, dep := range strings.Fields(string(out)) {
		for _, b := range bad {
			if dep == b || strings.HasPrefix(dep, b+"/") {
				t.Errorf("adapters/teams imports %s", dep)
			}
		}
	}
}
