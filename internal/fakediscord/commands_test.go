package fakediscord_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/bwmarrin/discordgo"

	"github.com/cippbot/cippbot/internal/fakediscord"
)

func cippCommand() *discordgo.ApplicationCommand {
	minLen := 1
	return &discordgo.ApplicationCommand{
		Name:        "cipp",
		Description: "Run a CIPP action",
		Options: []*discordgo.ApplicationCommandOption{
			{
				Type:        discordgo.ApplicationCommandOptionSubCommand,
				Name:        "reset-password",
				Description: "Reset a user's password",
				Options: []*discordgo.ApplicationCommandOption{
					{Type: discordgo.ApplicationCommandOptionString, Name: "user", Description: "User principal name", Required: true, MinLength: &minLen, MaxLength: 256},
					{Type: discordgo.ApplicationCommandOptionBoolean, Name: "force-change", Description: "Require a change at next sign-in"},
				},
			},
			{
				Type:        discordgo.ApplicationCommandOptionSubCommandGroup,
				Name:        "mfa",
				Description: "MFA actions",
				Options: []*discordgo.ApplicationCommandOption{{
					Type: discordgo.ApplicationCommandOptionSubCommand, Name: "reset", Description: "Reset MFA",
					Options: []*discordgo.ApplicationCommandOption{{
						Type: discordgo.ApplicationCommandOptionString, Name: "method", Description: "Method",
						Choices: []*discordgo.ApplicationCommandOptionChoice{{Name: "All", Value: "all"}, {Name: "Phone", Value: "phone"}},
					}},
				}},
			},
		},
	}
}

func TestBulkOverwriteValid(t *testing.T) {
	t.Parallel()
	srv, dg := setup(t, fakediscord.Options{})
	got, err := dg.ApplicationCommandBulkOverwrite(fakediscord.DefaultAppID, "", []*discordgo.ApplicationCommand{
		cippCommand(),
		{Name: "Reset password", Type: discordgo.UserApplicationCommand},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].ID == "" || got[0].ApplicationID != fakediscord.DefaultAppID || got[0].Name != "cipp" ||
		got[0].Type != discordgo.ChatApplicationCommand || len(got[0].Options) != 2 || got[0].Version == "" {
		t.Fatalf("got = %+v", got)
	}
	var stored []discordgo.ApplicationCommand
	if err := json.Unmarshal(srv.Commands(""), &stored); err != nil {
		t.Fatal(err)
	}
	if len(stored) != 2 || stored[0].ID != got[0].ID {
		t.Errorf("stored = %+v", stored)
	}
	if srv.Commands("G1") != nil {
		t.Error("guild commands set")
	}

	// Overwriting keeps IDs of commands that stay.
	again, err := dg.ApplicationCommandBulkOverwrite(fakediscord.DefaultAppID, "", []*discordgo.ApplicationCommand{cippCommand()})
	if err != nil {
		t.Fatal(err)
	}
	if len(again) != 1 || again[0].ID != got[0].ID {
		t.Errorf("again = %+v", again)
	}
	// Commands built afterwards carry the registered ID.
	ix := parse(t, srv.Command("C1", "U1", json.RawMessage(`{"name":"cipp","type":1}`)))
	if ix.ApplicationCommandData().ID != got[0].ID {
		t.Errorf("command data id = %s, want %s", ix.ApplicationCommandData().ID, got[0].ID)
	}

	guild, err := dg.ApplicationCommandBulkOverwrite(fakediscord.DefaultAppID, "G1", []*discordgo.ApplicationCommand{cippCommand()})
	if err != nil {
		t.Fatal(err)
	}
	if guild[0].GuildID != "G1" || srv.Commands("G1") == nil {
		t.Errorf("guild = %+v", guild[0])
	}
	listed, err := dg.ApplicationCommands(fakediscord.DefaultAppID, "G1")
	if err != nil || len(listed) != 1 {
		t.Errorf("listed = %+v, %v", listed, err)
	}

	// Emptying works.
	if _, err := dg.ApplicationCommandBulkOverwrite(fakediscord.DefaultAppID, "", nil); err != nil {
		t.Fatal(err)
	}
	if string(srv.Commands("")) != "[]" && string(srv.Commands("")) != "null" {
		t.Errorf("after emptying = %s", srv.Commands(""))
	}
}

func TestBulkOverwriteInvalid(t *testing.T) {
	t.Parallel()
	srv, dg := setup(t, fakediscord.Options{})
	manyOptions := cippCommand()
	manyOptions.Options = nil
	for i := range 26 {
		manyOptions.Options = append(manyOptions.Options, &discordgo.ApplicationCommandOption{
			Type: discordgo.ApplicationCommandOptionString, Name: fmt.Sprintf("opt%d", i), Description: "d",
		})
	}
	capital := cippCommand()
	capital.Name = "CIPP"
	longDesc := cippCommand()
	longDesc.Description = strings.Repeat("d", 101)
	badOptionDesc := cippCommand()
	badOptionDesc.Options[0].Options[0].Description = ""
	order := cippCommand()
	order.Options[0].Options[0].Required, order.Options[0].Options[1].Required = false, true
	mixed := cippCommand()
	mixed.Options = append(mixed.Options, &discordgo.ApplicationCommandOption{Type: discordgo.ApplicationCommandOptionString, Name: "x", Description: "x"})
	groupValue := cippCommand()
	groupValue.Options[1].Options[0].Type = discordgo.ApplicationCommandOptionString
	minMax := cippCommand()
	lo := 10.0
	minMax.Options[0].Options = []*discordgo.ApplicationCommandOption{{Type: discordgo.ApplicationCommandOptionInteger, Name: "n", Description: "n", MinValue: &lo, MaxValue: 5}}
	badType := cippCommand()
	badType.Options[0].Options[0].Type = 12
	choices := cippCommand()
	for i := range 26 {
		choices.Options[1].Options[0].Options[0].Choices = append(choices.Options[1].Options[0].Options[0].Choices,
			&discordgo.ApplicationCommandOptionChoice{Name: fmt.Sprint(i), Value: fmt.Sprint(i)})
	}
	huge := cippCommand() // every part within its limit, 5000+ characters in all
	huge.Options = nil
	for s := range 2 {
		sub := &discordgo.ApplicationCommandOption{Type: discordgo.ApplicationCommandOptionSubCommand, Name: fmt.Sprint("sub", s), Description: "d"}
		for i := range 20 {
			sub.Options = append(sub.Options, &discordgo.ApplicationCommandOption{
				Type: discordgo.ApplicationCommandOptionString, Name: fmt.Sprintf("option-%02d-%s", i, strings.Repeat("n", 20)), Description: strings.Repeat("d", 100),
			})
		}
		huge.Options = append(huge.Options, sub)
	}

	cases := []struct {
		name string
		cmds []*discordgo.ApplicationCommand
		want string
	}{
		{"capitals", []*discordgo.ApplicationCommand{capital}, `"0":{"name":{"_errors":[{"code":"APPLICATION_COMMAND_INVALID_NAME"`},
		{"26 options", []*discordgo.ApplicationCommand{manyOptions}, `"options":{"_errors":[{"code":"BASE_TYPE_MAX_LENGTH"`},
		{"description 101", []*discordgo.ApplicationCommand{longDesc}, `"description":{"_errors":[{"code":"BASE_TYPE_BAD_LENGTH"`},
		{"option description", []*discordgo.ApplicationCommand{badOptionDesc}, `"description":{"_errors"`},
		{"required order", []*discordgo.ApplicationCommand{order}, "APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID"},
		{"mixed", []*discordgo.ApplicationCommand{mixed}, "mutually exclusive"},
		{"group content", []*discordgo.ApplicationCommand{groupValue}, "may only contain sub-commands"},
		{"min max", []*discordgo.ApplicationCommand{minMax}, "min_value must be less than or equal to max_value"},
		{"option type", []*discordgo.ApplicationCommand{badType}, "BASE_TYPE_CHOICES"},
		{"26 choices", []*discordgo.ApplicationCommand{choices}, `"choices":{"_errors"`},
		{"too large", []*discordgo.ApplicationCommand{huge}, "APPLICATION_COMMAND_TOO_LARGE"},
		{"duplicate", []*discordgo.ApplicationCommand{cippCommand(), cippCommand()}, "APPLICATION_COMMANDS_DUPLICATE_NAME"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := dg.ApplicationCommandBulkOverwrite(fakediscord.DefaultAppID, "", tc.cmds)
			wantRESTError(t, err, 400, 50035)
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v does not contain %s", err, tc.want)
			}
		})
	}

	var tooMany []*discordgo.ApplicationCommand
	for i := range 101 {
		tooMany = append(tooMany, &discordgo.ApplicationCommand{Name: fmt.Sprintf("c%d", i), Description: "d"})
	}
	_, err := dg.ApplicationCommandBulkOverwrite(fakediscord.DefaultAppID, "", tooMany)
	wantRESTError(t, err, 400, 50035)
	if !strings.Contains(err.Error(), "APPLICATION_COMMANDS_TOO_MANY") {
		t.Errorf("101 commands: %v", err)
	}
	if _, err := dg.ApplicationCommandBulkOverwrite(fakediscord.DefaultAppID, "", tooMany[:100]); err != nil {
		t.Errorf("100 commands: %v", err)
	}
	_, _ = dg.ApplicationCommandBulkOverwrite(fakediscord.DefaultAppID, "", nil)

	if string(srv.Commands("")) != "[]" {
		t.Errorf("rejected commands stored: %s", srv.Commands(""))
	}
	_, err = dg.ApplicationCommandBulkOverwrite("999", "", []*discordgo.ApplicationCommand{cippCommand()})
	wantRESTError(t, err, 403, 50001)
}

// areaCommands returns n chat input commands, /cipp and /cipp-area-<i>,
// each with a few subcommands.
func areaCommands(n int) []*discordgo.ApplicationCommand {
	out := []*discordgo.ApplicationCommand{cippCommand()}
	for i := 1; i < n; i++ {
		c := &discordgo.ApplicationCommand{Name: fmt.Sprintf("cipp-area-%d", i), Description: fmt.Sprintf("Area %d actions", i)}
		for j := range 3 {
			c.Options = append(c.Options, &discordgo.ApplicationCommandOption{
				Type: discordgo.ApplicationCommandOptionSubCommand, Name: fmt.Sprintf("action-%d", j), Description: "an action",
				Options: []*discordgo.ApplicationCommandOption{
					{Type: discordgo.ApplicationCommandOptionString, Name: "user", Description: "user@domain", Required: true},
					{Type: discordgo.ApplicationCommandOptionString, Name: "reason", Description: "why"},
				},
			})
		}
		out = append(out, c)
	}
	return out
}

// TestBulkOverwriteSeveralCommands: one PUT stores several chat input
// commands, each checked on its own; one command over a limit fails the
// whole PUT with Discord's Invalid Form Body at its index and changes
// nothing; a later PUT with fewer commands removes the others.
func TestBulkOverwriteSeveralCommands(t *testing.T) {
	t.Parallel()
	srv, dg := setup(t, fakediscord.Options{})
	got, err := dg.ApplicationCommandBulkOverwrite(fakediscord.DefaultAppID, "G1", areaCommands(8))
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]string{}
	for _, c := range got {
		if c.ID == "" || c.GuildID != "G1" || ids[c.Name] != "" {
			t.Fatalf("command %+v", c)
		}
		ids[c.Name] = c.ID
	}
	if len(ids) != 8 {
		t.Fatalf("stored %d commands", len(ids))
	}
	srv.AddChannel("C1", "G1")
	ix := parse(t, srv.Command("C1", "U1", json.RawMessage(`{"name":"cipp-area-5","type":1,"options":[{"name":"action-0","type":1}]}`)))
	if ix.ApplicationCommandData().ID != ids["cipp-area-5"] {
		t.Errorf("interaction carries command ID %s, want %s", ix.ApplicationCommandData().ID, ids["cipp-area-5"])
	}

	tooMany := areaCommands(8)
	for j := 3; j < 26; j++ {
		tooMany[5].Options = append(tooMany[5].Options, &discordgo.ApplicationCommandOption{
			Type: discordgo.ApplicationCommandOptionSubCommand, Name: fmt.Sprintf("action-%d", j), Description: "an action"})
	}
	tooLarge := areaCommands(8) // each part within its limit, 6,000+ characters in all
	for _, sub := range tooLarge[2].Options[:2] {
		sub.Options = nil
		for j := range 24 {
			sub.Options = append(sub.Options, &discordgo.ApplicationCommandOption{
				Type: discordgo.ApplicationCommandOptionString, Name: fmt.Sprintf("option-%02d-%s", j, strings.Repeat("n", 20)), Description: strings.Repeat("d", 100)})
		}
	}
	for _, tc := range []struct {
		name string
		cmds []*discordgo.ApplicationCommand
		want string
	}{
		{"26 subcommands", tooMany, `"5":{"options":{"_errors":[{"code":"BASE_TYPE_MAX_LENGTH"`},
		{"4000 characters", tooLarge, `"2":{"_errors":[{"code":"APPLICATION_COMMAND_TOO_LARGE"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := dg.ApplicationCommandBulkOverwrite(fakediscord.DefaultAppID, "G1", tc.cmds)
			wantRESTError(t, err, 400, 50035)
			if !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "Invalid Form Body") {
				t.Errorf("error %v does not contain %s", err, tc.want)
			}
			var stored []discordgo.ApplicationCommand
			if err := json.Unmarshal(srv.Commands("G1"), &stored); err != nil || len(stored) != 8 {
				t.Errorf("a rejected PUT changed the commands: %d, %v", len(stored), err)
			}
		})
	}

	got, err = dg.ApplicationCommandBulkOverwrite(fakediscord.DefaultAppID, "G1", areaCommands(3))
	if err != nil {
		t.Fatal(err)
	}
	listed, err := dg.ApplicationCommands(fakediscord.DefaultAppID, "G1")
	if err != nil || len(got) != 3 || len(listed) != 3 {
		t.Fatalf("after removing five: %d stored, %d listed, %v", len(got), len(listed), err)
	}
	for _, c := range listed {
		if c.ID != ids[c.Name] {
			t.Errorf("/%s changed ID %s → %s", c.Name, ids[c.Name], c.ID)
		}
	}
}
