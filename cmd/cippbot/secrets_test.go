package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/cippbot/cippbot/actions"
	"github.com/cippbot/cippbot/bot"
	"github.com/cippbot/cippbot/internal/fakegraph"
)

// sweepTarget is a user the simulated tenant has and does not sync from
// on-premises, so every action may change it.
const sweepTarget = "AlexW@contoso.com"

// sweepNew is a user the simulated tenant does not have, for actions that
// create users.
const sweepNew = "sweep.user@contoso.com"

// secretCommand builds, from an action's declaration alone, a command
// that runs it on target: every required parameter gets a valid value
// (the first choice of an enum, the minimum of a number, a bool as its
// flag). It fails for a required parameter whose valid values the
// declaration does not say, such as free text.
func secretCommand(a *actions.Action, target string) (string, error) {
	words := []string{"/cipp", a.Name, target}
	var required []string // add-user's form fields
	if a.Form != nil {
		required = a.Form.Required
	}
	for _, k := range required {
		if k != "mailnickname" && k != "primdomain" {
			words = append(words, k+`="Sweep User"`)
		}
	}
	for _, p := range a.Params {
		if !p.Required {
			continue
		}
		switch p.Kind {
		case actions.ParamBool:
			words = append(words, "--"+p.Name)
		case actions.ParamEnum:
			if len(p.Choices) == 0 {
				return "", fmt.Errorf("required parameter %s is an enum without choices", p.Name)
			}
			words = append(words, p.Name+"="+p.Choices[0])
		case actions.ParamInt:
			words = append(words, p.Name+"="+strconv.Itoa(p.Min))
		default:
			return "", fmt.Errorf("required parameter %s (kind %d) takes free text: no valid value follows from its declaration", p.Name, p.Kind)
		}
	}
	words = append(words, `reason="secret sweep"`)
	line := strings.Join(words, " ")
	cmd, err := bot.ParseCommand(line)
	if err != nil {
		return "", fmt.Errorf("%q does not parse: %v", line, err)
	}
	if _, err := a.Bind(cmd.Positional, cmd.Named, cmd.Flags); err != nil {
		return "", fmt.Errorf("%q does not bind: %v", line, err)
	}
	return line, nil
}

// TestSecretActionsNeverLeak runs every action that yields a secret end to
// end in the console demo against the simulated tenant: riley asks, sam
// approves, and the secret reaches riley alone, once, privately, and
// appears in no log line, no audit export and no byte of the bbolt file.
// An action that yields a secret and cannot be driven this way fails the
// test: extend secretCommand (or the secret format secrets reads) for it.
func TestSecretActionsNeverLeak(t *testing.T) {
	// Not parallel: t.Chdir.
	var swept int
	for _, a := range actions.Default().All() {
		if !a.Secret {
			continue
		}
		swept++
		t.Run(a.Name, func(t *testing.T) {
			target := sweepTarget
			if a.Target == actions.TargetNew {
				target = sweepNew // a user to create
			}
			line, err := secretCommand(a, target)
			if err != nil {
				t.Fatalf("%s yields a secret but cannot be driven by the sweep: %v", a.Name, err)
			}
			if a.Target == actions.TargetNew && a.Bulk {
				// Users to create in bulk come from a CSV of their fields.
				t.Chdir(t.TempDir()) // the console attaches files of the working directory
				csv := "new.csv"
				if err := os.WriteFile(csv, []byte("displayName,userPrincipalName\nSweep User,"+sweepNew+"\n"), 0o600); err != nil {
					t.Fatal(err)
				}
				line = strings.Replace(line, " "+sweepNew, " file="+csv, 1)
			}
			r := newRun(t)
			if u, ok := r.sim.User(fakegraph.ContosoTenantID, sweepTarget); !ok || u.OnPremisesSyncEnabled {
				t.Fatalf("the simulated tenant lacks %s or syncs it (found %v)", sweepTarget, ok)
			}
			out := r.session(t, line, "/as sam", "approve 1")
			for _, want := range []string{
				"Approval needed: " + a.Name + " " + target,
				"approved by sam",
			} {
				if !strings.Contains(out, want) {
					t.Errorf("output of %q lacks %q:\n%s", line, want, out)
				}
			}
			got := secrets(t, out, "riley")
			if len(got) != 1 {
				t.Fatalf("%s: %d secrets revealed to riley, want 1 (a new kind of secret needs its label in secretLine):\n%s", a.Name, len(got), out)
			}
			if len(got[0]) < 8 {
				t.Fatalf("%s: a secret of %d characters is too short to search for", a.Name, len(got[0]))
			}
			r.assertNowhere(t, got[0])
		})
	}
	if swept == 0 {
		t.Fatal("no action yields a secret: the sweep checks nothing")
	}
}

// TestSecretCommand checks the sweep's command builder, including that it
// refuses what it cannot fill rather than skip.
func TestSecretCommand(t *testing.T) {
	t.Parallel()
	cat := actions.Default()
	for name, want := range map[string]string{
		"reset-password":         `/cipp reset-password AlexW@contoso.com reason="secret sweep"`,
		"create-tap":             `/cipp create-tap AlexW@contoso.com reason="secret sweep"`,
		"password-never-expires": `/cipp password-never-expires AlexW@contoso.com state=on reason="secret sweep"`,
	} {
		got, err := secretCommand(cat.Lookup(name), sweepTarget)
		if err != nil || got != want {
			t.Errorf("secretCommand(%s) = %q, %v; want %q", name, got, err, want)
		}
	}
	synthetic := &actions.Action{Name: "x", Params: []actions.Param{
		{Name: "n", Kind: actions.ParamInt, Required: true, Min: 10, Max: 20},
		{Name: "b", Kind: actions.ParamBool, Required: true},
	}}
	if got, err := secretCommand(synthetic, sweepTarget); err != nil || got != `/cipp x AlexW@contoso.com n=10 --b reason="secret sweep"` {
		t.Errorf("int and bool: %q, %v", got, err)
	}
	for _, a := range []*actions.Action{
		{Name: "set-password", Params: []actions.Param{{Name: "password", Kind: actions.ParamString, Required: true}}},
		{Name: "pick", Params: []actions.Param{{Name: "one", Kind: actions.ParamEnum, Required: true}}},
	} {
		if got, err := secretCommand(a, sweepTarget); err == nil {
			t.Errorf("secretCommand(%s) = %q, want an error", a.Name, got)
		}
	}
}
