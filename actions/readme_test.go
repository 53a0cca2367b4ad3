package actions_test

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/cippbot/cippbot/actions"
)

// TestREADMEListsEveryAction keeps the README's action table, which is
// written by hand for people, honest: every action in the catalogue has a
// row with its risk, and no row names an action that is not there.
func TestREADMEListsEveryAction(t *testing.T) {
	raw, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	listed := readmeActions(t, string(raw))
	if len(listed) == 0 {
		t.Fatal("README has no action table (a row after \"| action | risk | what it does |\")")
	}
	c := actions.Default()
	for _, a := range c.All() {
		risk, ok := listed[a.Name]
		switch {
		case !ok:
			t.Errorf("README's action table lacks %s", a.Name)
		case risk != a.Risk.String():
			t.Errorf("README says %s is %s; the catalogue says %s", a.Name, risk, a.Risk)
		}
		delete(listed, a.Name)
	}
	for name := range listed {
		t.Errorf("README's action table lists %s, which is not an action", name)
	}
}

var commandName = regexp.MustCompile("^`([a-z][a-z-]*)")

// readmeActions reads the table under "| action | risk |": each row's
// first cell holds one command or several joined by " / " (`add-license
// <SKU,…>` / `remove-license <SKU,…>`), its second the risks in the
// same order, or one risk for all.
func readmeActions(t *testing.T, readme string) map[string]string {
	t.Helper()
	out := map[string]string{}
	in := false
	for _, line := range strings.Split(readme, "\n") {
		switch {
		case strings.HasPrefix(line, "| action | risk |"):
			in = true
			continue
		case !in:
			continue
		case strings.HasPrefix(line, "| ---"):
			continue
		case !strings.HasPrefix(line, "|"):
			return out
		}
		cells := strings.Split(strings.ReplaceAll(line, `\|`, "¦"), "|")
		if len(cells) < 4 {
			t.Fatalf("README action row has too few cells: %s", line)
		}
		cmds := strings.Split(strings.TrimSpace(cells[1]), " / ")
		risks := strings.Split(strings.TrimSpace(cells[2]), " / ")
		for i, cmd := range cmds {
			m := commandName.FindStringSubmatch(strings.TrimSpace(cmd))
			if m == nil {
				t.Fatalf("README action row does not start with a `command`: %s", line)
			}
			risk := risks[0]
			if len(risks) == len(cmds) {
				risk = risks[i]
			}
			if _, dup := out[m[1]]; dup {
				t.Errorf("README lists %s twice", m[1])
			}
			out[m[1]] = risk
		}
	}
	return out
}
