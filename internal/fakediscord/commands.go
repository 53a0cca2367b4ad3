package fakediscord

import (
	"bytes"
	"encoding/json"
	"math"
	"net/http"
	"regexp"
	"strconv"
	"strings"
)

// Discord's application command limits.
const (
	maxChatCommands  = 100
	maxMenuCommands  = 5
	maxCommandName   = 32
	maxCommandDesc   = 100
	maxOptions       = 25
	maxChoices       = 25
	maxChoiceName    = 100
	maxChoiceValue   = 100
	maxCommandSize   = 4000
	maxStringLength  = 6000
	commandTypeChat  = 1
	commandTypeUser  = 2
	commandTypeMsg   = 3
	commandTypeEntry = 4
	optionSubcommand = 1
	optionGroup      = 2
	optionString     = 3
	optionInteger    = 4
	optionNumber     = 10
	optionAttachment = 11
	chatNamePattern  = `^[-_'\p{L}\p{N}\p{Devanagari}\p{Thai}]{1,32}$`
)

func commandKey(guild string, typ int, name string) string {
	return guild + "\x00" + strconv.Itoa(typ) + "\x00" + name
}

// commandChecker validates one bulk overwrite.
type commandChecker struct {
	p       problems
	namePat *regexp.Regexp
	size    int // characters of the current command counted toward maxCommandSize
}

// bulkOverwriteLocked is PUT /applications/{app}/commands and
// PUT /applications/{app}/guilds/{guild}/commands.
func (s *Server) bulkOverwriteLocked(guild string, body []byte) reply {
	var raw []json.RawMessage
	if err := json.Unmarshal(body, &raw); err != nil {
		if !json.Valid(body) {
			return errBadJSON()
		}
		var p problems
		p.add(nil, "BASE_TYPE_ARRAY", "Must be an array.")
		return p.reply()
	}
	c := &commandChecker{namePat: regexp.MustCompile(chatNamePattern)}
	cmds := make([]map[string]any, len(raw))
	counts := map[int]int{}
	seen := map[string]bool{}
	for i, r := range raw {
		var obj object
		if err := json.Unmarshal(r, &obj); err != nil || obj == nil {
			c.p.add(at(nil, i), "MODEL_TYPE_CONVERT", "Only dictionaries may be used in a ModelType")
			continue
		}
		typ := c.command(obj, at(nil, i))
		counts[typ]++
		name, _ := str(obj["name"])
		key := commandKey("", typ, name)
		if seen[key] {
			c.p.add(at(nil, i, "name"), "APPLICATION_COMMANDS_DUPLICATE_NAME", "Application command names must be unique")
		}
		seen[key] = true
		dec := json.NewDecoder(bytes.NewReader(r))
		dec.UseNumber()
		var m map[string]any
		_ = dec.Decode(&m)
		m["type"] = typ
		cmds[i] = m
	}
	if counts[commandTypeChat] > maxChatCommands {
		c.p.add(nil, "APPLICATION_COMMANDS_TOO_MANY", "Maximum number of chat input commands (%d) exceeded", maxChatCommands)
	}
	if counts[commandTypeUser] > maxMenuCommands || counts[commandTypeMsg] > maxMenuCommands {
		c.p.add(nil, "APPLICATION_COMMANDS_TOO_MANY", "Maximum number of user and message commands (%d each) exceeded", maxMenuCommands)
	}
	if !c.p.empty() {
		return c.p.reply()
	}
	ids := map[string]string{}
	for _, m := range cmds {
		name, _ := m["name"].(string)
		key := commandKey(guild, m["type"].(int), name)
		id := s.commandIDs[key]
		if id == "" {
			id = s.newSnowflakeLocked()
		}
		ids[key] = id
		m["id"] = id
		m["application_id"] = s.opts.AppID
		m["version"] = s.newSnowflakeLocked()
		if guild != "" {
			m["guild_id"] = guild
		}
		if _, ok := m["description"]; !ok {
			m["description"] = ""
		}
		if _, ok := m["default_member_permissions"]; !ok {
			m["default_member_permissions"] = nil
		}
		if _, ok := m["nsfw"]; !ok {
			m["nsfw"] = false
		}
	}
	for k := range s.commandIDs {
		if strings.HasPrefix(k, guild+"\x00") {
			delete(s.commandIDs, k)
		}
	}
	for k, v := range ids {
		s.commandIDs[k] = v
	}
	out, err := json.Marshal(cmds)
	if err != nil {
		return errBadJSON()
	}
	s.commands[guild] = out
	return rawReply(http.StatusOK, out)
}

// command checks one command and returns its type (1 if absent).
func (c *commandChecker) command(obj object, path []string) int {
	typ := commandTypeChat
	if raw, ok := obj["type"]; ok && !isNull(raw) {
		typ = intOf(raw)
	}
	if typ < commandTypeChat || typ > commandTypeEntry {
		c.p.add(at(path, "type"), "BASE_TYPE_CHOICES", "Value must be one of {1, 2, 3, 4}.")
		return typ
	}
	c.size = 0
	name, _ := str(obj["name"])
	desc, _ := str(obj["description"])
	c.size += runes(name) + runes(desc)
	if typ == commandTypeChat {
		c.name(name, at(path, "name"))
		c.description(desc, at(path, "description"))
		c.options(obj["options"], at(path, "options"), 0)
	} else {
		if n := runes(name); n < 1 || n > maxCommandName {
			c.p.add(at(path, "name"), "BASE_TYPE_BAD_LENGTH", "Must be between 1 and %d in length.", maxCommandName)
		}
		if desc != "" {
			c.p.add(at(path, "description"), "APPLICATION_COMMAND_DESCRIPTION_INVALID", "Context menu commands cannot have a description")
		}
		var opts []json.RawMessage
		_ = json.Unmarshal(obj["options"], &opts)
		if len(opts) > 0 {
			c.p.add(at(path, "options"), "APPLICATION_COMMAND_OPTIONS_INVALID", "Context menu commands cannot have options")
		}
	}
	if c.size > maxCommandSize {
		c.p.add(path, "APPLICATION_COMMAND_TOO_LARGE", "Command exceeds maximum size (%d)", maxCommandSize)
	}
	return typ
}

// name checks a chat input command or option name.
func (c *commandChecker) name(name string, path []string) {
	if n := runes(name); n < 1 || n > maxCommandName {
		c.p.add(path, "BASE_TYPE_BAD_LENGTH", "Must be between 1 and %d in length.", maxCommandName)
		return
	}
	if !c.namePat.MatchString(name) || strings.ToLower(name) != name {
		c.p.add(path, "APPLICATION_COMMAND_INVALID_NAME", "Command name is invalid")
	}
}

func (c *commandChecker) description(desc string, path []string) {
	if n := runes(desc); n < 1 || n > maxCommandDesc {
		c.p.add(path, "BASE_TYPE_BAD_LENGTH", "Must be between 1 and %d in length.", maxCommandDesc)
	}
}

// options checks one level of options and what they contain. parent is
// the type of the enclosing option: 0 for a command's own options,
// optionSubcommand or optionGroup below.
func (c *commandChecker) options(raw json.RawMessage, path []string, parent int) {
	if isNull(raw) {
		return
	}
	var opts []object
	if err := json.Unmarshal(raw, &opts); err != nil {
		c.p.add(path, "BASE_TYPE_ARRAY", "Must be an array.")
		return
	}
	if len(opts) > maxOptions {
		c.p.add(path, "BASE_TYPE_MAX_LENGTH", "Must be %d or fewer in length.", maxOptions)
	}
	names := map[string]bool{}
	sawOptional, sawSub, sawValue := false, false, false
	for i, o := range opts {
		op := at(path, i)
		typ := intOf(o["type"])
		name, _ := str(o["name"])
		desc, _ := str(o["description"])
		c.size += runes(name) + runes(desc)
		c.name(name, at(op, "name"))
		c.description(desc, at(op, "description"))
		if names[name] {
			c.p.add(at(op, "name"), "APPLICATION_COMMAND_OPTION_NAME_ALREADY_EXISTS", "Option name %s is already used in these options", name)
		}
		names[name] = true
		if typ < optionSubcommand || typ > optionAttachment {
			c.p.add(at(op, "type"), "BASE_TYPE_CHOICES", "Value must be one of {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}.")
			continue
		}
		isSub := typ == optionSubcommand || typ == optionGroup
		if isSub {
			sawSub = true
		} else {
			sawValue = true
		}
		switch {
		case parent == optionGroup && typ != optionSubcommand:
			c.p.add(at(op, "type"), "APPLICATION_COMMAND_OPTION_TYPE_INVALID", "Sub-command groups may only contain sub-commands")
		case parent == optionSubcommand && isSub:
			c.p.add(at(op, "type"), "APPLICATION_COMMAND_OPTION_TYPE_INVALID", "Sub-commands may not contain sub-commands or sub-command groups")
		}
		if isSub {
			c.options(o["options"], at(op, "options"), typ)
			continue
		}
		var nested []json.RawMessage
		_ = json.Unmarshal(o["options"], &nested)
		if len(nested) > 0 {
			c.p.add(at(op, "options"), "APPLICATION_COMMAND_OPTIONS_INVALID", "Only sub-commands and sub-command groups can have options")
		}
		required := string(bytes.TrimSpace(o["required"])) == "true"
		if required && sawOptional {
			c.p.add(at(op, "required"), "APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID", "Required options must be placed before non-required options")
		}
		if !required {
			sawOptional = true
		}
		c.choices(o, typ, op)
		c.ranges(o, typ, op)
	}
	if sawSub && sawValue {
		c.p.add(path, "APPLICATION_COMMAND_OPTIONS_TYPE_INVALID", "Sub-command and sub-command group option types are mutually exclusive to all other types")
	}
}

// choices checks an option's choices.
func (c *commandChecker) choices(o object, typ int, path []string) {
	var choices []object
	_ = json.Unmarshal(o["choices"], &choices)
	if len(choices) == 0 {
		return
	}
	if typ != optionString && typ != optionInteger && typ != optionNumber {
		c.p.add(at(path, "choices"), "APPLICATION_COMMAND_OPTION_CHOICES_INVALID", "Only string, integer and number options can have choices")
	}
	if string(bytes.TrimSpace(o["autocomplete"])) == "true" {
		c.p.add(at(path, "autocomplete"), "APPLICATION_COMMAND_AUTOCOMPLETE_INVALID", "Autocomplete cannot be enabled on options with choices")
	}
	if len(choices) > maxChoices {
		c.p.add(at(path, "choices"), "BASE_TYPE_MAX_LENGTH", "Must be %d or fewer in length.", maxChoices)
	}
	for j, ch := range choices {
		cp := at(path, "choices", j)
		name, _ := str(ch["name"])
		c.size += runes(name)
		if n := runes(name); n < 1 || n > maxChoiceName {
			c.p.add(at(cp, "name"), "BASE_TYPE_BAD_LENGTH", "Must be between 1 and %d in length.", maxChoiceName)
		}
		switch typ {
		case optionString:
			v, ok := str(ch["value"])
			c.size += runes(v)
			if !ok {
				c.p.add(at(cp, "value"), "BASE_TYPE_STRING", "Could not interpret %q as string.", string(ch["value"]))
			} else if n := runes(v); n < 1 || n > maxChoiceValue {
				c.p.add(at(cp, "value"), "BASE_TYPE_BAD_LENGTH", "Must be between 1 and %d in length.", maxChoiceValue)
			}
		case optionInteger, optionNumber:
			v, ok := num(ch["value"])
			c.size += len(bytes.TrimSpace(ch["value"]))
			if !ok || (typ == optionInteger && v != math.Trunc(v)) {
				kind := "number"
				if typ == optionInteger {
					kind = "int"
				}
				c.p.add(at(cp, "value"), "NUMBER_TYPE_COERCE", "Value %q is not %s.", string(ch["value"]), kind)
			}
		}
	}
}

// ranges checks min_value/max_value and min_length/max_length.
func (c *commandChecker) ranges(o object, typ int, path []string) {
	minV, hasMin := o["min_value"]
	maxV, hasMax := o["max_value"]
	hasMin, hasMax = hasMin && !isNull(minV), hasMax && !isNull(maxV)
	if (hasMin || hasMax) && typ != optionInteger && typ != optionNumber {
		c.p.add(at(path, "min_value"), "APPLICATION_COMMAND_OPTION_RANGE_INVALID", "Only integer and number options can have min_value and max_value")
	}
	if hasMin && hasMax {
		lo, _ := num(minV)
		hi, _ := num(maxV)
		if lo > hi {
			c.p.add(at(path, "min_value"), "APPLICATION_COMMAND_OPTION_MIN_MAX_INVALID", "min_value must be less than or equal to max_value")
		}
	}
	minL, hasMinL := o["min_length"]
	maxL, hasMaxL := o["max_length"]
	hasMinL, hasMaxL = hasMinL && !isNull(minL), hasMaxL && !isNull(maxL)
	if (hasMinL || hasMaxL) && typ != optionString {
		c.p.add(at(path, "min_length"), "APPLICATION_COMMAND_OPTION_LENGTH_INVALID", "Only string options can have min_length and max_length")
	}
	lo, hi := 0, maxStringLength
	if hasMinL {
		lo = intOf(minL)
		if lo < 0 || lo > maxStringLength {
			c.p.add(at(path, "min_length"), "NUMBER_TYPE_MAX", "int value should be between 0 and %d.", maxStringLength)
		}
	}
	if hasMaxL {
		hi = intOf(maxL)
		if hi < 1 || hi > maxStringLength {
			c.p.add(at(path, "max_length"), "NUMBER_TYPE_MAX", "int value should be between 1 and %d.", maxStringLength)
		}
	}
	if lo > hi {
		c.p.add(at(path, "min_length"), "APPLICATION_COMMAND_OPTION_MIN_MAX_INVALID", "min_length must be less than or equal to max_length")
	}
}
