package discord

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/bwmarrin/discordgo"

	"github.com/cippbot/cippbot/bot"
)

// CommandName is /cipp, the command of the built-ins: help, whoami, run
// (any command, typed as in Slack) and the admin group.
const CommandName = "cipp"

// areaPrefix starts the name of each area's command: /cipp-users,
// /cipp-sign-in, /cipp-mailbox…
const areaPrefix = CommandName + "-"

// run is /cipp's free-text subcommand: its one option holds a whole
// command as it would be typed in Slack, read by the grammar as typed.
const (
	runSubcommand = "run"
	runOption     = "command"
)

// Discord's limits on application commands.
const (
	maxOptions     = 25   // options (or subcommands) at one level
	maxDescription = 100  // characters of a description
	maxName        = 32   // characters of a command or option name
	maxChoices     = 25   // choices of one option
	maxChoice      = 100  // characters of a choice's name or value
	maxCommandSize = 4000 // characters of one command, as commandSize counts
	maxCommands    = 100  // chat input commands of one application
)

// namePattern is what Discord accepts as a chat input command or option
// name (lower case besides).
var namePattern = regexp.MustCompile(`^[-_\p{L}\p{N}]{1,32}$`)

// userOption names the target option of every action subcommand;
// fileOption the attachment option of bulk ones; reasonOption the why.
const (
	userOption   = "user"
	fileOption   = "file"
	reasonOption = "reason"
)

// Commands builds cippbot's application commands from the action
// declarations and the built-ins. /cipp holds help, whoami, run and an
// admin group of the other built-ins; then each area has its own command,
// /cipp-<area> lower-cased with spaces as hyphens, holding that area's
// actions as subcommands with typed options. An area too big for one
// command (25 subcommands, 4,000 characters) is split, in declaration
// order, into /cipp-<area>, /cipp-<area>-2 and so on. Nothing is listed
// twice, and the declarations are the only source of names and
// descriptions. The error names the command and the limit it breaks.
func Commands(actions []*bot.Action, builtins []bot.Builtin) ([]*discordgo.ApplicationCommand, error) {
	cmds := []*discordgo.ApplicationCommand{rootCommand(builtins)}
	var order []string
	areas := map[string][]*bot.Action{}
	labels := map[string]string{}
	for _, a := range actions {
		n := areaName(a.Area)
		if _, ok := areas[n]; !ok {
			order = append(order, n)
			labels[n] = strings.TrimSpace(a.Area)
		}
		areas[n] = append(areas[n], a)
	}
	for _, n := range order {
		subs := make([]*discordgo.ApplicationCommandOption, 0, len(areas[n]))
		for _, a := range areas[n] {
			subs = append(subs, actionSubcommand(a))
		}
		split, err := splitArea(areaPrefix+n, labels[n], subs)
		if err != nil {
			return nil, err
		}
		cmds = append(cmds, split...)
	}
	seen := map[string]bool{}
	for _, c := range cmds {
		if seen[c.Name] {
			return nil, fmt.Errorf("discord: /%s: two commands would have this name; Discord allows one", c.Name)
		}
		seen[c.Name] = true
		if err := checkCommand(c); err != nil {
			return nil, err
		}
	}
	if len(cmds) > maxCommands {
		return nil, fmt.Errorf("discord: %d commands exceed Discord's %d per application", len(cmds), maxCommands)
	}
	return cmds, nil
}

// rootCommand is /cipp: help and whoami stand alone, the other built-ins
// share one "admin" group, and run takes any command as typed.
func rootCommand(builtins []bot.Builtin) *discordgo.ApplicationCommand {
	cmd := &discordgo.ApplicationCommand{
		Name:        CommandName,
		Type:        discordgo.ChatApplicationCommand,
		Description: "Microsoft 365 user admin with approvals (try /cipp help; actions are under /cipp-…)",
	}
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
	cmd.Options = append(cmd.Options, &discordgo.ApplicationCommandOption{
		Type: discordgo.ApplicationCommandOptionSubCommand, Name: runSubcommand,
		Description: "Run any command as you would type it in Slack",
		Options: []*discordgo.ApplicationCommandOption{{
			Type: discordgo.ApplicationCommandOptionString, Name: runOption, Required: true,
			Description: "the command as you would type it in Slack, e.g. reset-password a@contoso.com",
		}},
	})
	if len(admin.Options) > 0 {
		cmd.Options = append(cmd.Options, admin)
	}
	return cmd
}

// areaName turns an area ("Sign-in", "OneDrive") into the part of a
// command name after "cipp-": lower case, spaces and anything else Discord
// refuses as hyphens, short enough to take a "-2" suffix.
func areaName(area string) string {
	var b strings.Builder
	hyphen := false
	for _, r := range strings.ToLower(strings.TrimSpace(area)) {
		if unicode.IsLetter(r) || unicode.IsNumber(r) || r == '_' {
			if hyphen && b.Len() > 0 {
				b.WriteByte('-')
			}
			hyphen = false
			b.WriteRune(r)
			continue
		}
		hyphen = true
	}
	n := b.String()
	if n == "" {
		n = "other"
	}
	room := maxName - len(areaPrefix) - len("-99")
	if r := []rune(n); len(r) > room {
		n = strings.TrimRight(string(r[:room]), "-")
	}
	return n
}

// splitArea puts an area's subcommands into as few commands as Discord's
// limits allow, in order: name, then name-2, name-3…
func splitArea(name, area string, subs []*discordgo.ApplicationCommandOption) ([]*discordgo.ApplicationCommand, error) {
	var out []*discordgo.ApplicationCommand
	nameOf := func(i int) string {
		if i == 0 {
			return name
		}
		return name + "-" + strconv.Itoa(i+1)
	}
	var cur []*discordgo.ApplicationCommandOption
	for _, s := range subs {
		if next := areaCommand(nameOf(len(out)), area, len(out), append(slices.Clone(cur), s)); len(next.Options) <= maxOptions && commandSize(next) <= maxCommandSize {
			cur = next.Options
			continue
		}
		if len(cur) > 0 {
			out = append(out, areaCommand(nameOf(len(out)), area, len(out), cur))
		}
		cur = []*discordgo.ApplicationCommandOption{s}
		if c := areaCommand(nameOf(len(out)), area, len(out), cur); commandSize(c) > maxCommandSize {
			return nil, fmt.Errorf("discord: /%s: subcommand %s alone makes it %d characters; Discord allows %d",
				c.Name, s.Name, commandSize(c), maxCommandSize)
		}
	}
	if len(cur) > 0 {
		out = append(out, areaCommand(nameOf(len(out)), area, len(out), cur))
	}
	return out, nil
}

// areaCommand is the part-th (from 0) command of an area, holding subs;
// its description lists them.
func areaCommand(name, area string, part int, subs []*discordgo.ApplicationCommandOption) *discordgo.ApplicationCommand {
	if area == "" {
		area = "Other"
	}
	label := area
	if part > 0 {
		label += " (" + strconv.Itoa(part+1) + ")"
	}
	names := make([]string, len(subs))
	for i, s := range subs {
		names[i] = s.Name
	}
	return &discordgo.ApplicationCommand{
		Name:        name,
		Type:        discordgo.ChatApplicationCommand,
		Description: describe(label + ": " + strings.Join(names, ", ")),
		Options:     subs,
	}
}

// actionSubcommand is an action as a subcommand: the user option (many
// users for bulk actions, which also take a file), an option per
// parameter, and the reason; required options first, as Discord wants.
//
// Discord allows 25 options per subcommand. The user, file and reason
// options always come; of the parameters, those that fit do, required
// ones first. An action with more parameters than that (none today:
// add-user has 19) keeps the rest reachable through /cipp run, which reads
// the command as typed, and its description says so.
func actionSubcommand(a *bot.Action) *discordgo.ApplicationCommandOption {
	user := &discordgo.ApplicationCommandOption{
		Type: discordgo.ApplicationCommandOptionString, Name: userOption, Description: "user@domain",
		Required: !a.Bulk && a.Form == nil,
	}
	fixed := []*discordgo.ApplicationCommandOption{user}
	switch {
	case a.Bulk:
		user.Description = "user@domain …"
		fixed = append(fixed, &discordgo.ApplicationCommandOption{
			Type: discordgo.ApplicationCommandOptionAttachment, Name: fileOption,
			Description: "CSV or list of users",
		})
	case a.Form != nil:
		user.Description = "user@domain; leave it out to fill in a form"
	}
	reason := &discordgo.ApplicationCommandOption{
		Type: discordgo.ApplicationCommandOptionString, Name: reasonOption, Description: "why",
	}
	params := a.Params
	desc := describe(a.Summary)
	if room := maxOptions - len(fixed) - 1; len(params) > room {
		byNeed := slices.Clone(params)
		slices.SortStableFunc(byNeed, func(x, y bot.Param) int { return boolRank(y.Required) - boolRank(x.Required) })
		keep := map[string]bool{}
		for _, p := range byNeed[:room] {
			keep[p.Name] = true
		}
		params = slices.DeleteFunc(slices.Clone(params), func(p bot.Param) bool { return !keep[p.Name] })
		desc = describeWith(a.Summary, " (every option: /cipp run)")
	}
	opts := fixed
	for _, p := range params {
		opts = append(opts, option(p))
	}
	opts = append(opts, reason)
	// Discord wants required options first.
	slices.SortStableFunc(opts, func(x, y *discordgo.ApplicationCommandOption) int {
		return boolRank(y.Required) - boolRank(x.Required)
	})
	return &discordgo.ApplicationCommandOption{
		Type: discordgo.ApplicationCommandOptionSubCommand, Name: a.Name, Description: desc, Options: opts,
	}
}

func boolRank(b bool) int {
	if b {
		return 1
	}
	return 0
}

// commandSize counts what Discord counts against maxCommandSize: names,
// descriptions, and choice names and values, at every level. It counts
// bytes, which are never fewer than Discord's characters.
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

// checkCommand reports the first of Discord's limits c breaks, naming c
// and the limit.
func checkCommand(c *discordgo.ApplicationCommand) error {
	fail := func(format string, args ...any) error {
		return fmt.Errorf("discord: /%s: %s", c.Name, fmt.Sprintf(format, args...))
	}
	if !validName(c.Name) {
		return fail("the name must be 1 to %d lower-case letters, digits, - or _", maxName)
	}
	if n := utf8.RuneCountInString(c.Description); n < 1 || n > maxDescription {
		return fail("the description must be 1 to %d characters", maxDescription)
	}
	var level func(path string, os []*discordgo.ApplicationCommandOption) error
	level = func(path string, os []*discordgo.ApplicationCommandOption) error {
		if len(os) > maxOptions {
			return fail("%s%d options exceed Discord's %d", path, len(os), maxOptions)
		}
		names := map[string]bool{}
		optional := false
		for _, o := range os {
			switch {
			case !validName(o.Name):
				return fail("%soption %q must be 1 to %d lower-case letters, digits, - or _", path, o.Name, maxName)
			case names[o.Name]:
				return fail("%soption %s is listed twice", path, o.Name)
			case utf8.RuneCountInString(o.Description) < 1 || utf8.RuneCountInString(o.Description) > maxDescription:
				return fail("%soption %s: the description must be 1 to %d characters", path, o.Name, maxDescription)
			case len(o.Choices) > maxChoices:
				return fail("%soption %s: %d choices exceed Discord's %d", path, o.Name, len(o.Choices), maxChoices)
			}
			names[o.Name] = true
			for _, ch := range o.Choices {
				if n, v := utf8.RuneCountInString(ch.Name), utf8.RuneCountInString(fmt.Sprint(ch.Value)); n < 1 || n > maxChoice || v < 1 || v > maxChoice {
					return fail("%soption %s: choice %q must be 1 to %d characters", path, o.Name, ch.Name, maxChoice)
				}
			}
			switch o.Type {
			case discordgo.ApplicationCommandOptionSubCommand, discordgo.ApplicationCommandOptionSubCommandGroup:
				if err := level(path+o.Name+": ", o.Options); err != nil {
					return err
				}
				continue
			}
			if o.Required && optional {
				return fail("%srequired option %s comes after an optional one; Discord wants required options first", path, o.Name)
			}
			optional = optional || !o.Required
		}
		return nil
	}
	if err := level("", c.Options); err != nil {
		return err
	}
	if n := commandSize(c); n > maxCommandSize {
		return fail("%d characters exceed Discord's %d per command", n, maxCommandSize)
	}
	return nil
}

func validName(s string) bool { return namePattern.MatchString(s) && strings.ToLower(s) == s }

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

// describe fits a summary into Discord's 1–100 characters.
func describe(s string) string { return describeWith(s, "") }

// describeWith fits a summary followed by suffix into Discord's 1–100
// characters, shortening the summary rather than the suffix.
func describeWith(s, suffix string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		s = "-"
	}
	room := maxDescription - utf8.RuneCountInString(suffix)
	if r := []rune(s); len(r) > room {
		s = string(r[:room-1]) + "…"
	}
	return s + suffix
}

// commandText turns a command's interaction data back into the command
// text the bot's grammar reads: "reset-password a@x.com --must-change
// reason=\"…\"". Booleans become flags, everything else name=value. The
// command's name plays no part, except that /cipp run's command, and the
// free-text options of /cipp's built-ins (help's action, access's args),
// are read by the grammar as typed: the grammar takes a quoted word
// literally, so free text is as safe as a command typed in Slack. In the
// areas' commands every option is quoted with bot.Quote. Why options
// become text at all is in the package comment.
func commandText(data discordgo.ApplicationCommandInteractionData) string {
	sub := subcommand(data)
	if sub == nil {
		return "help"
	}
	builtin := data.Name == CommandName
	if builtin && sub.Name == runSubcommand && len(data.Options) > 0 && data.Options[0] == sub {
		for _, o := range sub.Options {
			if o != nil && o.Name == runOption {
				if s, ok := o.Value.(string); ok && strings.TrimSpace(s) != "" {
					return s
				}
			}
		}
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
				words = append(words, bot.Quote(w))
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
		case builtin && (o.Name == "args" || o.Name == "action"):
			words = append(words, fmt.Sprint(o.Value)) // free text, read by the grammar as typed
		default:
			words = append(words, o.Name+"="+bot.Quote(fmt.Sprint(o.Value)))
		}
	}
	return strings.Join(words, " ")
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

// attachments returns the files attached to a command.
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
