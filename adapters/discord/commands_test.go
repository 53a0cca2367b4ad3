package discord_test

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/bwmarrin/discordgo"
	"github.com/google/go-cmp/cmp"

	"github.com/cippbot/cippbot/actions"
	"github.com/cippbot/cippbot/adapters/discord"
	"github.com/cippbot/cippbot/bot"
)

// synthetic returns n actions in one area, most with many parameters
// (some with more than a subcommand's 25 options can hold), long
// summaries and enum choices: an area that cannot fit one command.
func synthetic(area string, n int) []*bot.Action {
	var out []*bot.Action
	for i := range n {
		a := &bot.Action{Name: fmt.Sprintf("synthetic-action-%02d", i), Area: area, Bulk: i%3 == 0,
			Summary: fmt.Sprintf("Synthetic action %d with a summary long enough to need trimming at Discord's hundred characters", i)}
		params := 3 + (i*7)%30 // 3 to 32
		for j := range params {
			p := bot.Param{Name: fmt.Sprintf("param-%02d", j), Kind: bot.ParamString,
				Summary: strings.Repeat("words ", 5+j%10), Required: j%9 == 8}
			switch j % 5 {
			case 1:
				p.Kind = bot.ParamBool
			case 2:
				p.Kind, p.Min, p.Max = bot.ParamInt, 1, 100
			case 3:
				p.Kind, p.Choices = bot.ParamEnum, []string{"enforced", "enabled", "disabled"}
			}
			a.Params = append(a.Params, p)
		}
		out = append(out, a)
	}
	return out
}

// catalogues are the action lists every command set is checked with.
func catalogues() map[string][]*bot.Action {
	real := actions.Default().All()
	return map[string][]*bot.Action{
		"Real":          real,
		"RealAnd40Wide": append(slices.Clone(real), synthetic("Bulk Stuff", 40)...),
	}
}

var discordName = regexp.MustCompile(`^[-_\p{L}\p{N}]{1,32}$`)

// size counts a command as Discord does: the characters of names,
// descriptions, and choice names and values, at every level.
func size(c *discordgo.ApplicationCommand) int {
	n := utf8.RuneCountInString(c.Name) + utf8.RuneCountInString(c.Description)
	var walk func([]*discordgo.ApplicationCommandOption)
	walk = func(os []*discordgo.ApplicationCommandOption) {
		for _, o := range os {
			n += utf8.RuneCountInString(o.Name) + utf8.RuneCountInString(o.Description)
			for _, ch := range o.Choices {
				n += utf8.RuneCountInString(ch.Name) + utf8.RuneCountInString(fmt.Sprint(ch.Value))
			}
			walk(o.Options)
		}
	}
	walk(c.Options)
	return n
}

// checkLimits fails the test for every Discord limit a command breaks.
func checkLimits(t *testing.T, cmds []*discordgo.ApplicationCommand) {
	t.Helper()
	if len(cmds) > 100 {
		t.Errorf("%d commands; Discord allows 100", len(cmds))
	}
	names := map[string]bool{}
	for _, c := range cmds {
		if names[c.Name] {
			t.Errorf("/%s registered twice", c.Name)
		}
		names[c.Name] = true
		if !discordName.MatchString(c.Name) || strings.ToLower(c.Name) != c.Name {
			t.Errorf("/%s: bad name", c.Name)
		}
		if n := utf8.RuneCountInString(c.Description); n < 1 || n > 100 {
			t.Errorf("/%s: description of %d characters", c.Name, n)
		}
		if n := size(c); n > 4000 {
			t.Errorf("/%s: %d characters", c.Name, n)
		}
		var level func(path string, os []*discordgo.ApplicationCommandOption)
		level = func(path string, os []*discordgo.ApplicationCommandOption) {
			if len(os) > 25 {
				t.Errorf("%s: %d options", path, len(os))
			}
			seen := map[string]bool{}
			optional := false
			for _, o := range os {
				p := path + " " + o.Name
				if seen[o.Name] {
					t.Errorf("%s: listed twice", p)
				}
				seen[o.Name] = true
				if !discordName.MatchString(o.Name) || strings.ToLower(o.Name) != o.Name {
					t.Errorf("%s: bad name", p)
				}
				if n := utf8.RuneCountInString(o.Description); n < 1 || n > 100 {
					t.Errorf("%s: description of %d characters", p, n)
				}
				if len(o.Choices) > 25 {
					t.Errorf("%s: %d choices", p, len(o.Choices))
				}
				if o.Type == discordgo.ApplicationCommandOptionSubCommand || o.Type == discordgo.ApplicationCommandOptionSubCommandGroup {
					level(p, o.Options)
					continue
				}
				if o.Required && optional {
					t.Errorf("%s: required after an optional option", p)
				}
				optional = optional || !o.Required
			}
		}
		level("/"+c.Name, c.Options)
	}
}

func TestCommandsWithinLimits(t *testing.T) {
	for name, list := range catalogues() {
		t.Run(name, func(t *testing.T) {
			cmds, err := discord.Commands(list, bot.Builtins())
			if err != nil {
				t.Fatal(err)
			}
			checkLimits(t, cmds)

			// Every action is a subcommand of its area's command, once.
			where := map[string][]string{}
			for _, c := range cmds {
				for _, o := range c.Options {
					if o.Type == discordgo.ApplicationCommandOptionSubCommand {
						where[o.Name] = append(where[o.Name], c.Name)
					}
				}
			}
			for _, a := range list {
				area := "cipp-" + strings.ToLower(strings.ReplaceAll(a.Area, " ", "-"))
				got := where[a.Name]
				if len(got) != 1 || (got[0] != area && !strings.HasPrefix(got[0], area+"-")) {
					t.Errorf("%s (area %s) is under %v", a.Name, a.Area, got)
				}
			}

			// /cipp keeps the built-ins and run, and nothing else.
			root := cmds[0]
			var top []string
			for _, o := range root.Options {
				top = append(top, o.Name)
			}
			if root.Name != "cipp" || !cmp.Equal(top, []string{"help", "whoami", "run", "admin"}) {
				t.Errorf("/%s holds %v", root.Name, top)
			}

			// The same declarations build the same commands.
			again, err := discord.Commands(list, bot.Builtins())
			if err != nil {
				t.Fatal(err)
			}
			if !cmp.Equal(cmds, again) {
				t.Error("two builds differ")
			}
		})
	}
}

func TestCommandsSplitWideArea(t *testing.T) {
	cmds, err := discord.Commands(synthetic("Bulk Stuff", 40), nil)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	var subs int
	for _, c := range cmds[1:] {
		names = append(names, c.Name)
		subs += len(c.Options)
		if !strings.HasPrefix(c.Description, "Bulk Stuff") {
			t.Errorf("/%s: description %q", c.Name, c.Description)
		}
	}
	if len(names) < 3 || names[0] != "cipp-bulk-stuff" || names[1] != "cipp-bulk-stuff-2" || names[2] != "cipp-bulk-stuff-3" {
		t.Errorf("commands %v", names)
	}
	if subs != 40 {
		t.Errorf("%d subcommands for 40 actions", subs)
	}
	// An action with more parameters than fit keeps the required ones and
	// points to /cipp run for the rest.
	for _, c := range cmds[1:] {
		for _, s := range c.Options {
			if s.Name != "synthetic-action-04" { // 31 parameters
				continue
			}
			if len(s.Options) != 25 || !strings.HasSuffix(s.Description, "/cipp run)") {
				t.Errorf("%s: %d options, description %q", s.Name, len(s.Options), s.Description)
			}
			have := map[string]bool{}
			for _, o := range s.Options {
				have[o.Name] = true
			}
			for _, want := range []string{"user", "reason", "param-08", "param-17", "param-26"} {
				if !have[want] {
					t.Errorf("%s lacks %s", s.Name, want)
				}
			}
		}
	}
}

func TestCommandsRefuseWhatCannotFit(t *testing.T) {
	huge := &bot.Action{Name: "huge", Area: "Huge", Summary: "Too big for any command"}
	for i := range 20 {
		p := bot.Param{Name: fmt.Sprintf("p%02d", i), Kind: bot.ParamEnum, Summary: strings.Repeat("d", 90)}
		for j := range 20 {
			p.Choices = append(p.Choices, fmt.Sprintf("%02d-%s", j, strings.Repeat("c", 20)))
		}
		huge.Params = append(huge.Params, p)
	}
	badName := &bot.Action{Name: "Bad Name", Area: "Users", Summary: "x"}
	tests := []struct {
		name string
		list []*bot.Action
		want []string
	}{
		{"TooLarge", []*bot.Action{huge}, []string{"/cipp-huge", "4000"}},
		{"BadName", []*bot.Action{badName}, []string{"/cipp-users", "Bad Name", "32"}},
		{"Duplicate", []*bot.Action{{Name: "x", Area: "A", Summary: "x", Params: []bot.Param{{Name: "reason", Summary: "r"}}}},
			[]string{"/cipp-a", "reason", "twice"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := discord.Commands(tt.list, bot.Builtins())
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not name %q", err, w)
				}
			}
		})
	}
}

// TestRegisterReplacesCommands: Register sends every command in one bulk
// overwrite, which fake Discord checks against Discord's limits; commands
// no longer built disappear.
func TestRegisterReplacesCommands(t *testing.T) {
	a, fd, _ := newAdapter(t, handlerFunc(func(context.Context, bot.Event, bot.Responder) {}))
	registered := func() []string {
		var cmds []struct{ Name string }
		must(t, json.Unmarshal(fd.Commands(""), &cmds))
		var names []string
		for _, c := range cmds {
			names = append(names, c.Name)
		}
		return names
	}
	wide := catalogues()["RealAnd40Wide"]
	must(t, a.Register(context.Background(), wide, bot.Builtins()))
	cmds, _ := discord.Commands(wide, bot.Builtins())
	if got := registered(); len(got) != len(cmds) || !slices.Contains(got, "cipp-bulk-stuff-2") {
		t.Fatalf("registered %v", got)
	}
	must(t, a.Register(context.Background(), actions.Default().All(), bot.Builtins()))
	got := registered()
	if slices.Contains(got, "cipp-bulk-stuff") {
		t.Errorf("a removed area is still registered: %v", got)
	}
	for _, want := range []string{"cipp", "cipp-users", "cipp-sign-in", "cipp-mfa", "cipp-groups", "cipp-mailbox", "cipp-security", "cipp-onedrive"} {
		if !slices.Contains(got, want) {
			t.Errorf("no /%s in %v", want, got)
		}
	}
	var puts int
	for _, c := range fd.Calls() {
		if c.Method == "PUT" && strings.HasSuffix(c.Path, "/commands") {
			puts++
		}
	}
	if puts != 2 {
		t.Errorf("%d bulk overwrites, want 2", puts)
	}
}

// TestCommandText: an action's text is the same whichever command carries
// it; /cipp run's command and the built-ins' free-text options are read
// as typed, and only in /cipp.
func TestCommandText(t *testing.T) {
	tests := []struct {
		name string
		data string
		want string
	}{
		{"Action", `{"name":"cipp-sign-in","options":[{"name":"reset-password","type":1,"options":[{"name":"user","type":3,"value":"a@x.com b@x.com"},{"name":"must-change","type":5,"value":true},{"name":"reason","type":3,"value":"locked \"out\""}]}]}`,
			`reset-password "a@x.com" "b@x.com" --must-change reason="locked \"out\""`},
		{"SameInOldCipp", `{"name":"cipp","options":[{"name":"reset-password","type":1,"options":[{"name":"user","type":3,"value":"a@x.com b@x.com"},{"name":"must-change","type":5,"value":true},{"name":"reason","type":3,"value":"locked \"out\""}]}]}`,
			`reset-password "a@x.com" "b@x.com" --must-change reason="locked \"out\""`},
		{"IntAndEnum", `{"name":"cipp-mfa","options":[{"name":"create-tap","type":1,"options":[{"name":"user","type":3,"value":"a@x.com"},{"name":"lifetime","type":4,"value":60},{"name":"once","type":5,"value":false}]}]}`,
			`create-tap "a@x.com" lifetime=60`},
		{"Run", `{"name":"cipp","options":[{"name":"run","type":1,"options":[{"name":"command","type":3,"value":"reset-password a@x.com --must-change reason=\"locked out\""}]}]}`,
			`reset-password a@x.com --must-change reason="locked out"`},
		{"RunBlank", `{"name":"cipp","options":[{"name":"run","type":1,"options":[{"name":"command","type":3,"value":"  "}]}]}`, "help"},
		{"RunOnlyInCipp", `{"name":"cipp-users","options":[{"name":"run","type":1,"options":[{"name":"command","type":3,"value":"delete-user a@x.com"}]}]}`,
			`run command="delete-user a@x.com"`},
		{"FreeTextOnlyInCipp", `{"name":"cipp-users","options":[{"name":"edit-user","type":1,"options":[{"name":"action","type":3,"value":"--all"}]}]}`,
			`edit-user action="--all"`},
		{"Help", `{"name":"cipp","options":[{"name":"help","type":1,"options":[{"name":"action","type":3,"value":"reset-password"}]}]}`, "help reset-password"},
		{"AdminGroup", `{"name":"cipp","options":[{"name":"admin","type":2,"options":[{"name":"access","type":1,"options":[{"name":"args","type":3,"value":"grant discord:1 helpdesk"}]}]}]}`,
			"access grant discord:1 helpdesk"},
		{"NoSubcommand", `{"name":"cipp"}`, "help"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []bot.Event
			a, fd, _ := newAdapter(t, handlerFunc(func(_ context.Context, ev bot.Event, _ bot.Responder) { got = append(got, ev) }))
			deliver(t, a, fd.Command(ch, riley, json.RawMessage(tt.data)))
			if len(got) != 1 || got[0].Text != tt.want {
				t.Errorf("events %+v, want text %s", got, tt.want)
			}
		})
	}
}

// TestUnknownCommand: a command cippbot did not register is answered with
// a short ephemeral, and nothing reaches the bot.
func TestUnknownCommand(t *testing.T) {
	var got []bot.Event
	a, fd, _ := newAdapter(t, handlerFunc(func(_ context.Context, ev bot.Event, _ bot.Responder) { got = append(got, ev) }))
	deliver(t, a, fd.Command(ch, riley, json.RawMessage(`{"name":"other","options":[]}`)))
	must(t, a.Register(context.Background(), actions.Default().All(), bot.Builtins()))
	deliver(t, a, fd.Command(ch, riley, json.RawMessage(`{"name":"cipp-gone","options":[{"name":"x","type":1}]}`)))
	deliver(t, a, fd.Command(ch, riley, json.RawMessage(`{"name":"cipp-mailbox","options":[{"name":"disable-ooo","type":1,"options":[{"name":"user","type":3,"value":"a@x.com"}]}]}`)))
	if len(got) != 1 || got[0].Text != `disable-ooo "a@x.com"` {
		t.Errorf("events %+v", got)
	}
	var unknown []string
	for _, m := range fd.Messages() {
		if strings.Contains(m.Content, "Unknown command") {
			if !m.Ephemeral || m.For != riley {
				t.Errorf("not ephemeral to riley: %+v", m)
			}
			unknown = append(unknown, m.Content)
		}
	}
	if len(unknown) != 2 || !strings.Contains(unknown[0], "/other") || !strings.Contains(unknown[1], "/cipp-gone") {
		t.Errorf("unknown-command answers %q", unknown)
	}
}
