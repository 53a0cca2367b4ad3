package bot_test

import (
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestDependencies keeps the layering honest: the engine and the domain
// never link a chat SDK, bbolt or the Graph SDK, so that they build in
// seconds and stay platform-neutral; the fakes never link the client code
// they stand in for, so that a test of that code cannot pass by sharing
// its mistakes; and no product package links a fake, except the demo's
// simulated tenant in cmd/cippbot. One go list answers for every package.
func TestDependencies(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("runs go list")
	}
	out, err := exec.Command("go", "list", "-f", "{{.ImportPath}} {{join .Deps \" \"}}", mod+"...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	deps := map[string][]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		deps[f[0]] = f[1:]
	}
	for _, rule := range depRules {
		if _, ok := deps[mod+rule.pkg]; !ok {
			t.Errorf("go list does not list %s: rename the rule", rule.pkg)
		}
	}
	for _, v := range depViolations(deps) {
		t.Error(v)
	}
}

// TestDependencyRules shows that depViolations catches each kind of
// import the rules forbid.
func TestDependencyRules(t *testing.T) {
	t.Parallel()
	deps := map[string][]string{
		mod + "bot":                  {"fmt", "github.com/slack-go/slack", mod + "actions"},
		mod + "internal/fakegraph":   {mod + "internal/wintz", mod + "actions/m365", "github.com/microsoft/kiota-abstractions-go"},
		mod + "internal/fakeslack":   {"github.com/gorilla/websocket", mod + "internal/fakediscord"},
		mod + "adapters/teams":       {mod + "bot", mod + "internal/fakegraph"},
		mod + "store/postgres":       {mod + "bot", mod + "internal/mock"},
		mod + "cmd/cippbot":          {mod + "internal/fakegraph", mod + "internal/fakeslack"},
		mod + "internal/fakediscord": {"net/http"},
	}
	got := depViolations(deps)
	want := []string{
		"adapters/teams imports " + mod + "internal/fakegraph (only tests may use the fakes)",
		"bot imports github.com/slack-go/slack",
		"cmd/cippbot imports " + mod + "internal/fakeslack (only tests may use the fakes)",
		"internal/fakegraph imports " + mod + "actions/m365",
		"internal/fakegraph imports github.com/microsoft/kiota-abstractions-go",
		"internal/fakeslack imports " + mod + "internal/fakediscord",
		"store/postgres imports " + mod + "internal/mock (only tests may use the fakes)",
	}
	if !slices.Equal(got, want) {
		t.Errorf("depViolations =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

const mod = "github.com/cippbot/cippbot/"

// clients are the client libraries the fakes stand in for (the Graph
// SDK, kiota, the Azure identity client, slack-go and discordgo).
var clients = []string{"github.com/microsoftgraph", "github.com/microsoft/kiota", "github.com/Azure", "github.com/slack-go", "github.com/bwmarrin/discordgo"}

// depRules lists, per package (relative to the module), the dependencies
// it must not have: a module path forbids that package and those under
// it; any other path, every path it begins.
var depRules = []struct {
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
	// The fakes speak the wire format and import no project code but
	// small helpers (internal/wintz, internal/unhandled), least of all the
	// code they fake.
	{"internal/fakegraph", slices.Concat(clients, fakeBad("internal/fakegraph"))},
	{"internal/fakeslack", slices.Concat(clients, fakeBad("internal/fakeslack"))},
	{"internal/fakediscord", slices.Concat(clients, fakeBad("internal/fakediscord"))},
	{"internal/faketeams", slices.Concat(clients, fakeBad("internal/faketeams"))},
}

// fakeBad is every project package a fake must not import.
func fakeBad(self string) []string {
	var bad []string
	for _, p := range []string{"actions", "bot", "store", "adapters", "cmd", "internal/mock", "internal/pgtest", "internal/fakegraph", "internal/fakeslack", "internal/fakediscord", "internal/faketeams"} {
		if p != self {
			bad = append(bad, mod+p)
		}
	}
	return bad
}

// testSupport are the packages only tests may import; cmd/cippbot may
// import the simulated tenant, which "cippbot demo" runs.
var testSupport = []string{mod + "internal/fakegraph", mod + "internal/fakeslack", mod + "internal/fakediscord", mod + "internal/faketeams", mod + "internal/mock", mod + "internal/pgtest", mod + "internal/testmain"}

// depViolations returns, sorted, every dependency in deps (package →
// its dependencies, not counting tests) that depRules or testSupport
// forbid, packages named relative to the module.
func depViolations(deps map[string][]string) []string {
	var out []string
	for pkg, ds := range deps {
		rel := strings.TrimPrefix(pkg, mod)
		var bad []string
		for _, r := range depRules {
			if r.pkg == rel {
				bad = r.bad
			}
		}
		for _, dep := range ds {
			for _, b := range bad {
				if dep == b || strings.HasPrefix(dep, b+"/") || strings.HasPrefix(dep, b) && !strings.HasPrefix(b, mod) {
					out = append(out, rel+" imports "+dep)
					break
				}
			}
			if slices.Contains(testSupport, dep) && !strings.HasPrefix(rel, "internal/") && (rel != "cmd/cippbot" || dep != mod+"internal/fakegraph") {
				out = append(out, rel+" imports "+dep+" (only tests may use the fakes)")
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// TestGraphSDKFootprint keeps the first build of the bot affordable: the
// Graph SDK's root package (GraphServiceClient) imports every top-level
// Graph resource, some eighty packages that take minutes and gigabytes to
// compile. actions/m365 builds the request builders of the resources it
// uses itself (graphclient.go); a new resource adds a package or two.
func TestGraphSDKFootprint(t *testing.T) {
	t.Parallel()
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

// TestTestsUseStrictFakes keeps every test on the fakes' NewTest, which
// fails the test on a route the fake lacks; New, which only answers such
// a request realistically, is for the demo (and for the one test that
// checks that answer).
func TestTestsUseStrictFakes(t *testing.T) {
	t.Parallel()
	lenient := regexp.MustCompile(`\bfake(graph|slack|discord|teams)\.New\(`)
	allowed := map[string]int{filepath.Join("..", "internal", "fakegraph", "newtest_test.go"): 1}
	err := filepath.WalkDir("..", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, "_test.go") {
			return err
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if n := len(lenient.FindAll(src, -1)); n > allowed[path] {
			t.Errorf("%s makes a fake with New; tests use NewTest", path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
