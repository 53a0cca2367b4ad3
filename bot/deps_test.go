package bot_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDependencies keeps the layering honest: the engine and the domain
// never link a chat SDK, bbolt or the Graph SDK, so that they build in
// seconds and stay platform-neutral.
func TestDependencies(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	const mod = "github.com/cippbot/cippbot/"
	tests := []struct {
		pkg string
		bad []string
	}{
		{"bot", []string{"github.com/slack-go", "github.com/bwmarrin/discordgo", "go.etcd.io/bbolt", "github.com/microsoftgraph", "github.com/Azure", mod + "store", mod + "adapters", mod + "actions/m365"}},
		{"actions", []string{"github.com/microsoftgraph", "github.com/Azure", "go.etcd.io/bbolt", mod + "bot", mod + "store", mod + "adapters"}},
		{"store", []string{"github.com/microsoftgraph", mod + "actions/m365", mod + "adapters"}},
		{"adapters/console", []string{"github.com/microsoftgraph", "go.etcd.io/bbolt", mod + "store", mod + "actions/m365"}},
		{"actions/m365", []string{mod + "bot", mod + "store", mod + "adapters"}},
		{"adapters/slack", []string{"github.com/microsoftgraph", "github.com/Azure", "go.etcd.io/bbolt", "github.com/bwmarrin/discordgo", mod + "store", mod + "actions/m365", mod + "adapters/discord"}},
		{"adapters/discord", []string{"github.com/microsoftgraph", "github.com/Azure", "go.etcd.io/bbolt", "github.com/slack-go", mod + "store", mod + "actions/m365", mod + "adapters/slack"}},
	}
	for _, tt := range tests {
		t.Run(tt.pkg, func(t *testing.T) {
			out, err := exec.Command("go", "list", "-deps", mod+tt.pkg).CombinedOutput()
			if err != nil {
				t.Fatalf("go list: %v\n%s", err, out)
			}
			for _, dep := range strings.Fields(string(out)) {
				for _, b := range tt.bad {
					if dep == b || strings.HasPrefix(dep, b+"/") || strings.HasPrefix(dep, b) && !strings.HasPrefix(b, mod) {
						t.Errorf("%s imports %s", tt.pkg, dep)
					}
				}
			}
		})
	}
}
