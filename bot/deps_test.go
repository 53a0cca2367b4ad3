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

// TestGraphSDKFootprint keeps the first build of the bot affordable: the
// Graph SDK's root package (GraphServiceClient) imports every top-level
// Graph resource, some eighty packages that take minutes and gigabytes to
// compile. actions/m365 builds the request builders of the resources it
// uses itself (graphclient.go); a new resource adds a package or two.
func TestGraphSDKFootprint(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	const (
		sdk   = "github.com/microsoftgraph/msgraph-sdk-go" // msgraph-sdk-go-core is another module
		limit = 20
	)
	out, err := exec.Command("go", "list", "-deps", "github.com/cippbot/cippbot/cmd/cippbot").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	var pkgs []string
	for _, dep := range strings.Fields(string(out)) {
		if dep == sdk {
			t.Errorf("cmd/cippbot imports %s, the whole Graph service client", sdk)
		}
		if dep == sdk || strings.HasPrefix(dep, sdk+"/") {
			pkgs = append(pkgs, dep)
		}
	}
	if len(pkgs) > limit {
		t.Errorf("cmd/cippbot depends on %d msgraph-sdk-go packages, want at most %d:\n%s", len(pkgs), limit, strings.Join(pkgs, "\n"))
	}
}
