package discord

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/bwmarrin/discordgo"

	"github.com/cippbot/cippbot/bot"
)

// CommandName is the one application command cippbot registers.
const CommandName = "cipp"

// Discord's limits on application commands.
const (
	maxOptions     = 25
	maxDescription = 100
)

// userOption names the target option of every action subcommand;
// fileOption the attachment option of bulk ones.
const (
	userOption = "user"
	fileOption = "file"
)

// Command builds the /cipp command from the action declarations and the
// built-ins: one subcommand each, typed options derived from parameters.
// Nothing is listed twice: the declarations are the only source.
func Command(actions []*bot.Action, builtins []bot.Builtin) (*discordgo.ApplicationCommand, error) {
	cmd := &discordgo.ApplicationCommand{
		Name:        CommandName,
		Type:        discordgo.ChatApplicationCommand,
		Description: "Microsoft 365 user admin with approvals (try /cipp help)",
	}
	var subs []*discordgo.ApplicationCommandOption
	for _, a := range actions {
		sub := &discordgo.ApplicationCommandOption{
			Type: discordgo.ApplicationCommandOptionSubCommand, Name: a.Name, Description: describe(a.Summary),
		}
		opts := []*discordgo.ApplicationCommandOption{{
			Type: discordgo.ApplicationCommandOptionString, Name: userOption, Description: "user@domain", Required: !a.Bulk,
		}}
		if a.Bulk {
			opts[0].Description = "user@domain …"
			opts = append(opts, &discordgo.ApplicationCommandOption{
				Type: discordgo.ApplicationCommandOptionAttachment, Name: fileOption,
				Description: "CSV or list of users",
			})
		}
		for _, p := range a.Params {
			opts = append(opts, option(p))
		}
		opts = append(opts, &discordgo.ApplicationCommandOption{
			Type: discordgo.ApplicationCommandOptionString, Name: "reason", Description: "why",
		})
		// Discord wants required options first.
		sort.SliceStable(opts, func(i, j int) bool { return opts[i].Required && !opts[j].Required })
		sub.Options = opts
		subs = append(subs, sub)
	}
	cmd.Options = groupByArea(subs, actions, 3) // help, whoami, admin
	// help and whoami stand alone; the other built-ins share one "admin"
	// group, leaving Discord's 25 top-level options to the actions.
	admin := &discordgo.ApplicationCommandOption{Type: discordgo.ApplicationCommandOptionSubCommandGroup,
		Name: "admin", Description: "Audit, access, tenants, channel binding, checks"}
	for _, b := range builtins {
		sub := &discordgo.ApplicationCommandOption{
			Type: discordgo.ApplicationCommandOptionSubCommand, Name: b.Name, Description: describe(b.Summary),
		}
		if b.Arg != "" {
			sub.Options = []*discordgo.ApplicationCommandOption{{
				Type: discordgo.ApplicationCommandOptionString, Name: b.Arg, Description: describe(b.ArgSummary),
			}}
		}
		if b.Name == "help" || b.Name == "whoami" {
			cmd.Options = append(cmd.Options, sub)
		} else {
			admin.Options = append(admin.Options, sub)
		}
	}
	if len(admin.Options) > 0 {
		cmd.Options = append(cmd.Options, admin)
	}
	if len(cmd.Options) > maxOptions {
		return nil, fmt.Errorf("discord: %d subcommands exceed Discord's %d; group them", len(cmd.Options), maxOptions)
	}
	if n := commandSize(cmd); n > maxCommandSize {
		return nil, fmt.Errorf("discord: /cipp would be %d characters; Discord allows %d", n, maxCommandSize)
	}
	return cmd, nil
}

// maxCommandSize is Discord's limit on the characters of one command.
const maxCommandSize = 4000

// commandSize counts what Discord counts against maxCommandSize: names,
// descriptions, and choice names and values, at every level.
func commandSize(c *discordgo.ApplicationCommand) int {
	n := len(c.Name) + len(c.Description)
	var opts func([]*discordgo.ApplicationCommandOption)
	opts = func(os []*discordgo.ApplicationCommandOption) {
		for _, o := range os {
			n += len(o.Name) + len(o.Description)
			for _, ch := range o.Choices {
				n += len(ch.Name) + len(fmt.Sprint(ch.Value))
			}
			opts(o.Options)
		}
	}
	opts(c.Options)
	return n
}

func option(p bot.Param) *discordgo.ApplicationCommandOption {
	o := &discordgo.ApplicationCommandOption{Name: p.Name, Description: describe(p.Summary), Required: p.Required}
	switch p.Kind {
	case bot.ParamBool:
		o.Type = discordgo.ApplicationCommandOptionBoolean
	case bot.ParamInt:
		o.Type = discordgo.ApplicationCommandOptionInteger
		if p.Min != 0 || p.Max != 0 {
			lo := float64(p.Min)
			o.MinValue, o.MaxValue = &lo, float64(p.Max)
		}
	case bot.ParamEnum:
		o.Type = discordgo.ApplicationCommandOptionString
		for _, c := range p.Choices {
			o.Choices = append(o.Choices, &discordgo.ApplicationCommandOptionChoice{Name: c, Value: c})
		}
	default:
		o.Type = discordgo.ApplicationCommandOptionString
	}
	return o
}

// groupByArea returns the action subcommands as they are when they fit
// beside the built-ins in Discord's 25 options, and otherwise in one
// subcommand group per area (/cipp mailbox set-ooo …).
func groupByArea(subs []*discordgo.ApplicationCommandOption, actions []*bot.Action, builtins int) []*discordgo.ApplicationCommandOption {
	if len(subs)+builtins <= maxOptions {
		return subs
	}
	var groups []*discordgo.ApplicationCommandOption
	byName := map[string]*discordgo.ApplicationCommandOption{}
	for i, a := range actions {
		name := strings.ToLower(strings.ReplaceAll(a.Area, " ", "-"))
		if name == "" {
			name = "other"
		}
		g, ok := byName[name]
		if !ok {
			g = &discordgo.ApplicationCommandOption{Type: discordgo.ApplicationCommandOptionSubCommandGroup,
				Name: name, Description: describe(a.Area + " actions")}
			byName[name] = g
			groups = append(groups, g)
		}
		g.Options = append(g.Options, subs[i])
	}
	return groups
}

// describe fits a summary into Discord's 1–100 characters.
func describe(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return "-"
	}
	if r := []rune(s); len(r) > maxDescription {
		return string(r[:maxDescription-1]) + "…"
	}
	return s
}

// commandText turns /cipp's interaction data back into the command text
// the bot's grammar reads: "reset-password a@x.com --must-change
// reason=\"…\"". Booleans become flags, everything else name=value.
func commandText(data discordgo.ApplicationCommandInteractionData) string {
	sub := subcommand(data)
	if sub == nil {
		return "help"
	}
	words := []string{sub.Name}
	for _, o := range sub.Options {
		if o == nil {
			continue
		}
		switch {
		case o.Name == userOption:
			// Each word is quoted, so it can only ever be a user: never a
			// flag or name=value smuggled in through the text box.
			for _, w := range strings.Fields(fmt.Sprint(o.Value)) {
				words = append(words, quote(w))
			}
		case o.Type == discordgo.ApplicationCommandOptionAttachment:
			// read by attachments, not as text
		case o.Type == discordgo.ApplicationCommandOptionBoolean:
			if v, ok := o.Value.(bool); ok && v {
				words = append(words, "--"+o.Name)
			}
		case o.Type == discordgo.ApplicationCommandOptionInteger:
			if v, ok := o.Value.(float64); ok {
				words = append(words, o.Name+"="+strconv.FormatInt(int64(v), 10))
			}
		case o.Name == "args" || o.Name == "action":
			words = append(words, fmt.Sprint(o.Value)) // free text, read by the grammar as typed
		default:
			words = append(words, o.Name+"="+quote(fmt.Sprint(o.Value)))
		}
	}
	return strings.Join(words, " ")
}

// quote wraps v in double quotes for the grammar, escaping what it must.
func quote(v string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(v) + `"`
}

// subcommand returns the chosen subcommand, inside its group if any.
func subcommand(data discordgo.ApplicationCommandInteractionData) *discordgo.ApplicationCommandInteractionDataOption {
	if len(data.Options) == 0 || data.Options[0] == nil {
		return nil
	}
	sub := data.Options[0]
	if sub.Type == discordgo.ApplicationCommandOptionSubCommandGroup {
		if len(sub.Options) == 0 || sub.Options[0] == nil {
			return nil
		}
		sub = sub.Options[0]
	}
	return sub
}

// attachments returns the files attached to a /cipp command.
func attachments(data discordgo.ApplicationCommandInteractionData) []*discordgo.MessageAttachment {
	sub := subcommand(data)
	if sub == nil || data.Resolved == nil {
		return nil
	}
	var out []*discordgo.MessageAttachment
	for _, o := range sub.Options {
		if o == nil || o.Type != discordgo.ApplicationCommandOptionAttachment {
			continue
		}
		if att, ok := data.Resolved.Attachments[fmt.Sprint(o.Value)]; ok {
			out = append(out, att)
		}
	}
	return out
}
