package fakediscord

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"unicode/utf8"
)

// Discord's message limits (and the fake's).
const (
	maxContent        = 2000
	maxActionRows     = 5
	maxRowWidth       = 5
	maxCustomID       = 100
	maxButtonLabel    = 80
	maxSelectOptions  = 25
	maxPlaceholder    = 150
	maxEmbeds         = 10
	maxEmbedTotal     = 6000
	maxEmbedTitle     = 256
	maxEmbedDesc      = 4096
	maxEmbedFields    = 25
	maxEmbedFieldName = 256
	maxEmbedFieldVal  = 1024
	maxEmbedFooter    = 2048
	maxEmbedAuthor    = 256
	maxModalTitle     = 45
	maxModalRows      = 5
	maxTextInputLabel = 45

	maxTextInputLength      = 4000
	maxTextInputPlaceholder = 100

	flagComponentsV2 = 1 << 15
)

type object = map[string]json.RawMessage

// problems collects Invalid Form Body errors, each at a path into the
// request body.
type problems struct {
	list []problem
}

type problem struct {
	path          []string
	code, message string
}

// add records a problem at path (strings or ints).
func (p *problems) add(path []string, code, format string, args ...any) {
	p.list = append(p.list, problem{path: path, code: code, message: fmt.Sprintf(format, args...)})
}

func (p *problems) empty() bool { return len(p.list) == 0 }

// reply is Discord's 400 {"message":"Invalid Form Body","code":50035,
// "errors":{...}} with the problems nested by path, each leaf holding
// {"_errors":[{"code":...,"message":...}]}.
func (p *problems) reply() reply {
	root := map[string]any{}
	for _, pr := range p.list {
		node := root
		for _, k := range pr.path {
			next, ok := node[k].(map[string]any)
			if !ok {
				next = map[string]any{}
				node[k] = next
			}
			node = next
		}
		errs, _ := node["_errors"].([]any)
		node["_errors"] = append(errs, map[string]string{"code": pr.code, "message": pr.message})
	}
	return jsonReply(http.StatusBadRequest, apiError{Message: "Invalid Form Body", Code: 50035, Errors: root})
}

// at extends path with more elements (strings or ints).
func at(path []string, more ...any) []string {
	out := make([]string, 0, len(path)+len(more))
	out = append(out, path...)
	for _, m := range more {
		switch v := m.(type) {
		case int:
			out = append(out, strconv.Itoa(v))
		default:
			out = append(out, fmt.Sprint(v))
		}
	}
	return out
}

func isNull(raw json.RawMessage) bool {
	raw = bytes.TrimSpace(raw)
	return len(raw) == 0 || string(raw) == "null"
}

// str decodes a JSON string; ok is false for anything else.
func str(raw json.RawMessage) (string, bool) {
	var v string
	if err := json.Unmarshal(raw, &v); err != nil {
		return "", false
	}
	return v, true
}

// num decodes a JSON number; ok is false for anything else.
func num(raw json.RawMessage) (float64, bool) {
	var v float64
	if err := json.Unmarshal(raw, &v); err != nil {
		return 0, false
	}
	return v, true
}

func intOf(raw json.RawMessage) int {
	v, _ := num(raw)
	return int(v)
}

func runes(s string) int { return utf8.RuneCountInString(s) }

func compact(raw json.RawMessage) json.RawMessage {
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		return bytes.Clone(raw)
	}
	return buf.Bytes()
}

// msgBody is the message part of a create or edit body. For each field,
// has* reports whether the field was present (even as null).
type msgBody struct {
	content        string
	hasContent     bool
	components     json.RawMessage // normalized; nil when empty
	hasComponents  bool
	nullComponents bool
	embeds         json.RawMessage // normalized; nil when empty
	hasEmbeds      bool
	flags          int
	hasFlags       bool
}

// parseMsgBody reads and checks the message fields of obj, reporting
// problems under path. A nil obj is an empty body.
func parseMsgBody(obj object, p *problems, path []string) msgBody {
	var b msgBody
	if raw, ok := obj["flags"]; ok && !isNull(raw) {
		f, ok := num(raw)
		if !ok {
			p.add(at(path, "flags"), "NUMBER_TYPE_COERCE", "Value %q is not int.", string(raw))
		}
		b.flags, b.hasFlags = int(f), true
	}
	if raw, ok := obj["content"]; ok {
		b.hasContent = true
		if !isNull(raw) {
			c, ok := str(raw)
			if !ok {
				p.add(at(path, "content"), "BASE_TYPE_STRING", "Could not interpret %q as string.", string(raw))
			}
			if runes(c) > maxContent {
				p.add(at(path, "content"), "BASE_TYPE_MAX_LENGTH", "Must be %d or fewer in length.", maxContent)
			}
			b.content = c
		}
	}
	if raw, ok := obj["components"]; ok {
		b.hasComponents = true
		if isNull(raw) {
			b.nullComponents = true
		} else {
			b.components = checkComponents(raw, b.flags&flagComponentsV2 != 0, p, at(path, "components"))
		}
	}
	if raw, ok := obj["embeds"]; ok {
		b.hasEmbeds = true
		if !isNull(raw) {
			b.embeds = checkEmbeds(raw, p, at(path, "embeds"))
		}
	}
	return b
}

// checkComponents checks a message's components array and returns it
// compacted, nil if empty.
func checkComponents(raw json.RawMessage, v2 bool, p *problems, path []string) json.RawMessage {
	var rows []object
	if err := json.Unmarshal(raw, &rows); err != nil {
		p.add(path, "BASE_TYPE_ARRAY", "Must be an array.")
		return nil
	}
	if len(rows) == 0 {
		return nil
	}
	if !v2 && len(rows) > maxActionRows {
		p.add(path, "BASE_TYPE_MAX_LENGTH", "Must be %d or fewer in length.", maxActionRows)
	}
	ids := map[string]bool{}
	for i, row := range rows {
		rp := at(path, i)
		if intOf(row["type"]) != 1 {
			if !v2 {
				p.add(at(rp, "type"), "UNION_TYPE_CHOICES", "Value of field \"type\" must be one of (1,).")
			}
			continue
		}
		checkActionRow(row, ids, p, rp)
	}
	return compact(raw)
}

// checkActionRow checks an action row of buttons or one select menu.
func checkActionRow(row object, ids map[string]bool, p *problems, path []string) {
	var comps []object
	if err := json.Unmarshal(row["components"], &comps); err != nil && !isNull(row["components"]) {
		p.add(at(path, "components"), "BASE_TYPE_ARRAY", "Must be an array.")
		return
	}
	if len(comps) == 0 {
		p.add(at(path, "components"), "BASE_TYPE_MIN_LENGTH", "Must be 1 or more in length.")
		return
	}
	if len(comps) > maxRowWidth {
		p.add(at(path, "components"), "BASE_TYPE_MAX_LENGTH", "Must be %d or fewer in length.", maxRowWidth)
	}
	width := 0
	for j, c := range comps {
		cp := at(path, "components", j)
		switch t := intOf(c["type"]); t {
		case 2:
			width++
			checkButton(c, ids, p, cp)
		case 3, 5, 6, 7, 8:
			width += maxRowWidth
			checkSelect(c, t, ids, p, cp)
		default:
			p.add(at(cp, "type"), "UNION_TYPE_CHOICES", "Value of field \"type\" must be one of (2, 3, 5, 6, 7, 8).")
		}
	}
	if width > maxRowWidth {
		p.add(at(path, "components"), "COMPONENT_LAYOUT_WIDTH_EXCEEDED", "The specified component exceeds the maximum width")
	}
}

// checkCustomID checks a custom_id's length and uniqueness in the message.
func checkCustomID(c object, ids map[string]bool, p *problems, path []string) {
	raw, ok := c["custom_id"]
	if !ok || isNull(raw) {
		p.add(at(path, "custom_id"), "BASE_TYPE_REQUIRED", "This field is required")
		return
	}
	id, _ := str(raw)
	if n := runes(id); n < 1 || n > maxCustomID {
		p.add(at(path, "custom_id"), "BASE_TYPE_BAD_LENGTH", "Must be between 1 and %d in length.", maxCustomID)
		return
	}
	if ids[id] {
		p.add(at(path, "custom_id"), "COMPONENT_CUSTOM_ID_DUPLICATED", "Component custom id cannot be duplicated")
	}
	ids[id] = true
}

func checkButton(c object, ids map[string]bool, p *problems, path []string) {
	label, _ := str(c["label"])
	if runes(label) > maxButtonLabel {
		p.add(at(path, "label"), "BASE_TYPE_MAX_LENGTH", "Must be %d or fewer in length.", maxButtonLabel)
	}
	customID, _ := str(c["custom_id"])
	switch style := intOf(c["style"]); style {
	case 1, 2, 3, 4:
		checkCustomID(c, ids, p, path)
	case 5:
		if u, _ := str(c["url"]); u == "" {
			p.add(at(path, "url"), "BASE_TYPE_REQUIRED", "This field is required")
		}
		if customID != "" {
			p.add(at(path, "custom_id"), "COMPONENT_INVALID_CUSTOM_ID", "A link button cannot have a custom_id")
		}
	case 6:
		if sku, _ := str(c["sku_id"]); sku == "" {
			p.add(at(path, "sku_id"), "BASE_TYPE_REQUIRED", "This field is required")
		}
	default:
		p.add(at(path, "style"), "BASE_TYPE_CHOICES", "Value must be one of {1, 2, 3, 4, 5, 6}.")
	}
}

func checkSelect(c object, typ int, ids map[string]bool, p *problems, path []string) {
	checkCustomID(c, ids, p, path)
	if ph, _ := str(c["placeholder"]); runes(ph) > maxPlaceholder {
		p.add(at(path, "placeholder"), "BASE_TYPE_MAX_LENGTH", "Must be %d or fewer in length.", maxPlaceholder)
	}
	if typ == 3 {
		var opts []object
		_ = json.Unmarshal(c["options"], &opts)
		if len(opts) < 1 || len(opts) > maxSelectOptions {
			p.add(at(path, "options"), "BASE_TYPE_BAD_LENGTH", "Must be between 1 and %d in length.", maxSelectOptions)
		}
	}
}

// checkEmbeds checks an embeds array and returns it compacted, nil if
// empty.
func checkEmbeds(raw json.RawMessage, p *problems, path []string) json.RawMessage {
	var embeds []object
	if err := json.Unmarshal(raw, &embeds); err != nil {
		p.add(path, "BASE_TYPE_ARRAY", "Must be an array.")
		return nil
	}
	if len(embeds) == 0 {
		return nil
	}
	if len(embeds) > maxEmbeds {
		p.add(path, "BASE_TYPE_MAX_LENGTH", "Must be %d or fewer in length.", maxEmbeds)
	}
	total := 0
	limit := func(ep []string, field string, value string, max int) {
		n := runes(value)
		total += n
		if n > max {
			p.add(at(ep, field), "BASE_TYPE_MAX_LENGTH", "Must be %d or fewer in length.", max)
		}
	}
	for i, e := range embeds {
		ep := at(path, i)
		title, _ := str(e["title"])
		limit(ep, "title", title, maxEmbedTitle)
		desc, _ := str(e["description"])
		limit(ep, "description", desc, maxEmbedDesc)
		var footer, author struct {
			Text string `json:"text"`
			Name string `json:"name"`
		}
		_ = json.Unmarshal(e["footer"], &footer)
		limit(at(ep, "footer"), "text", footer.Text, maxEmbedFooter)
		_ = json.Unmarshal(e["author"], &author)
		limit(at(ep, "author"), "name", author.Name, maxEmbedAuthor)
		var fields []struct {
			Name  string `json:"name"`
			Value string `json:"value"`
		}
		_ = json.Unmarshal(e["fields"], &fields)
		if len(fields) > maxEmbedFields {
			p.add(at(ep, "fields"), "BASE_TYPE_MAX_LENGTH", "Must be %d or fewer in length.", maxEmbedFields)
		}
		for j, f := range fields {
			limit(at(ep, "fields", j), "name", f.Name, maxEmbedFieldName)
			limit(at(ep, "fields", j), "value", f.Value, maxEmbedFieldVal)
		}
	}
	if total > maxEmbedTotal {
		p.add(path, "MESSAGE_EMBEDS_TOO_LONG", "Embed size exceeds maximum size of %d", maxEmbedTotal)
	}
	return compact(raw)
}

// checkModal checks the data of a modal callback (type 9): custom_id,
// title, and 1 to 5 action rows each holding exactly one text input.
func checkModal(data object, p *problems, path []string) {
	if data == nil {
		p.add(path, "BASE_TYPE_REQUIRED", "This field is required")
		return
	}
	checkCustomID(data, map[string]bool{}, p, path)
	if t, _ := str(data["title"]); runes(t) < 1 || runes(t) > maxModalTitle {
		p.add(at(path, "title"), "BASE_TYPE_BAD_LENGTH", "Must be between 1 and %d in length.", maxModalTitle)
	}
	var rows []object
	if err := json.Unmarshal(data["components"], &rows); err != nil && !isNull(data["components"]) {
		p.add(at(path, "components"), "BASE_TYPE_ARRAY", "Must be an array.")
		return
	}
	if len(rows) < 1 || len(rows) > maxModalRows {
		p.add(at(path, "components"), "BASE_TYPE_BAD_LENGTH", "Must be between 1 and %d in length.", maxModalRows)
	}
	ids := map[string]bool{}
	for i, row := range rows {
		rp := at(path, "components", i)
		if intOf(row["type"]) != 1 {
			p.add(at(rp, "type"), "UNION_TYPE_CHOICES", "Value of field \"type\" must be one of (1,).")
			continue
		}
		var comps []object
		_ = json.Unmarshal(row["components"], &comps)
		if len(comps) != 1 {
			p.add(at(rp, "components"), "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 1 in length.")
		}
		for j, c := range comps {
			cp := at(rp, "components", j)
			if intOf(c["type"]) != 4 {
				p.add(at(cp, "type"), "UNION_TYPE_CHOICES", "Value of field \"type\" must be one of (4,).")
				continue
			}
			checkTextInput(c, ids, p, cp)
		}
	}
}

// checkTextInput checks a text input (type 4) of a modal.
func checkTextInput(c object, ids map[string]bool, p *problems, path []string) {
	checkCustomID(c, ids, p, path)
	if l, _ := str(c["label"]); runes(l) < 1 || runes(l) > maxTextInputLabel {
		p.add(at(path, "label"), "BASE_TYPE_BAD_LENGTH", "Must be between 1 and %d in length.", maxTextInputLabel)
	}
	switch intOf(c["style"]) {
	case 1, 2:
	default:
		p.add(at(path, "style"), "BASE_TYPE_CHOICES", "Value must be one of {1, 2}.")
	}
	minLen, hasMin := optInt(c["min_length"])
	maxLen, hasMax := optInt(c["max_length"])
	if hasMin && (minLen < 0 || minLen > maxTextInputLength) {
		p.add(at(path, "min_length"), "NUMBER_TYPE_MAX", "int value should be between 0 and %d.", maxTextInputLength)
	}
	if hasMax && (maxLen < 1 || maxLen > maxTextInputLength) {
		p.add(at(path, "max_length"), "NUMBER_TYPE_MAX", "int value should be between 1 and %d.", maxTextInputLength)
	}
	if hasMin && hasMax && minLen > maxLen {
		p.add(at(path, "min_length"), "BASE_TYPE_BAD_LENGTH", "min_length must not be greater than max_length.")
	}
	if v, _ := str(c["value"]); runes(v) > maxTextInputLength {
		p.add(at(path, "value"), "BASE_TYPE_MAX_LENGTH", "Must be %d or fewer in length.", maxTextInputLength)
	}
	if ph, _ := str(c["placeholder"]); runes(ph) > maxTextInputPlaceholder {
		p.add(at(path, "placeholder"), "BASE_TYPE_MAX_LENGTH", "Must be %d or fewer in length.", maxTextInputPlaceholder)
	}
}

// optInt decodes an optional JSON number; ok is false if absent or null.
func optInt(raw json.RawMessage) (int, bool) {
	if isNull(raw) {
		return 0, false
	}
	v, ok := num(raw)
	return int(v), ok
}
