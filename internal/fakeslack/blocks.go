package fakeslack

import (
	"bytes"
	"encoding/json"
	"fmt"
	"unicode/utf8"
)

// Block Kit limits Slack enforces (and the fake checks).
const (
	maxBlocks          = 50
	maxActionElements  = 25
	maxContextElements = 10
	maxSectionFields   = 10
	maxIDLen           = 255
	maxButtonText      = 75
	maxButtonValue     = 2000
	maxURLLen          = 3000
	maxSectionText     = 3000
	maxHeaderText      = 150
)

type jsonObject = map[string]json.RawMessage

// blockRules says where a blocks array lives and which limits apply.
type blockRules struct {
	// max is the most blocks allowed.
	max int
	// root is the JSON pointer of the array in problem messages.
	root string
	// modal checks input blocks as modals need them.
	modal bool
}

// messageBlocks are the rules for a message's blocks.
var messageBlocks = blockRules{max: maxBlocks, root: "/blocks"}

// normalizeBlocks parses a message's blocks array, checks it against the
// Block Kit rules Slack enforces most visibly, and returns it compacted.
// "null", "[]" and empty input give nil. Problems are worded like Slack's
// response_metadata messages.
func normalizeBlocks(raw []byte) (json.RawMessage, []string) {
	return checkBlocks(raw, messageBlocks)
}

// checkBlocks is normalizeBlocks under rules.
func checkBlocks(raw []byte, rules blockRules) (json.RawMessage, []string) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var blocks []jsonObject
	if err := json.Unmarshal(raw, &blocks); err != nil {
		return nil, []string{"[ERROR] blocks must be a JSON array of objects [json-pointer:" + rules.root + "]"}
	}
	if len(blocks) == 0 {
		return nil, nil
	}
	var problems []string
	bad := func(ptr, format string, args ...any) {
		problems = append(problems, fmt.Sprintf("[ERROR] "+format+" [json-pointer:"+rules.root+ptr+"]", args...))
	}
	if len(blocks) > rules.max {
		bad("", "no more than %d items allowed", rules.max)
	}
	blockIDs := map[string]bool{}
	for i, b := range blocks {
		ptr := fmt.Sprintf("/%d", i)
		typ := str(b["type"])
		if typ == "" {
			bad(ptr, "missing required field: type")
			continue
		}
		if id, ok := b["block_id"]; ok {
			bid := str(id)
			switch {
			case bid == "" || utf8.RuneCountInString(bid) > maxIDLen:
				bad(ptr+"/block_id", "must be 1 to %d characters", maxIDLen)
			case blockIDs[bid]:
				bad(ptr+"/block_id", "duplicate block_id %q", bid)
			}
			blockIDs[bid] = true
		}
		switch typ {
		case "actions":
			var els []jsonObject
			_ = json.Unmarshal(b["elements"], &els)
			if len(els) == 0 || len(els) > maxActionElements {
				bad(ptr+"/elements", "must have 1 to %d items", maxActionElements)
			}
			actionIDs := map[string]bool{}
			for j, e := range els {
				eptr := fmt.Sprintf("%s/elements/%d", ptr, j)
				if aid := str(e["action_id"]); aid != "" {
					if actionIDs[aid] {
						bad(eptr+"/action_id", "duplicate action_id %q in block", aid)
					}
					actionIDs[aid] = true
				}
				checkElement(e, eptr, bad)
			}
		case "section":
			var text jsonObject
			_ = json.Unmarshal(b["text"], &text)
			var fields []json.RawMessage
			_ = json.Unmarshal(b["fields"], &fields)
			if text == nil && len(fields) == 0 {
				bad(ptr, "must provide text or fields")
			}
			if n := utf8.RuneCountInString(str(text["text"])); n > maxSectionText {
				bad(ptr+"/text/text", "must be less than %d characters", maxSectionText+1)
			}
			if len(fields) > maxSectionFields {
				bad(ptr+"/fields", "no more than %d items allowed", maxSectionFields)
			}
			if acc, ok := b["accessory"]; ok {
				var e jsonObject
				_ = json.Unmarshal(acc, &e)
				checkElement(e, ptr+"/accessory", bad)
			}
		case "header":
			var text jsonObject
			_ = json.Unmarshal(b["text"], &text)
			if str(text["type"]) != "plain_text" {
				bad(ptr+"/text", "must be a plain_text text object")
			}
			if n := utf8.RuneCountInString(str(text["text"])); n == 0 || n > maxHeaderText {
				bad(ptr+"/text/text", "must be 1 to %d characters", maxHeaderText)
			}
		case "context":
			var els []json.RawMessage
			_ = json.Unmarshal(b["elements"], &els)
			if len(els) == 0 || len(els) > maxContextElements {
				bad(ptr+"/elements", "must have 1 to %d items", maxContextElements)
			}
		case "input":
			if rules.modal {
				checkInputBlock(b, ptr, bad)
			}
		}
	}
	if len(problems) > 0 {
		return nil, problems
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		return nil, []string{"[ERROR] invalid JSON [json-pointer:" + rules.root + "]"}
	}
	return json.RawMessage(buf.Bytes()), nil
}

// checkElement checks the interactive element e (buttons in detail).
func checkElement(e jsonObject, ptr string, bad func(ptr, format string, args ...any)) {
	if e == nil || str(e["type"]) == "" {
		bad(ptr, "missing required field: type")
		return
	}
	if aid, ok := e["action_id"]; ok {
		if n := utf8.RuneCountInString(str(aid)); n == 0 || n > maxIDLen {
			bad(ptr+"/action_id", "must be 1 to %d characters", maxIDLen)
		}
	}
	if str(e["type"]) != "button" {
		return
	}
	var text jsonObject
	_ = json.Unmarshal(e["text"], &text)
	if str(text["type"]) != "plain_text" {
		bad(ptr+"/text", "must be a plain_text text object")
	}
	if n := utf8.RuneCountInString(str(text["text"])); n == 0 || n > maxButtonText {
		bad(ptr+"/text/text", "must be 1 to %d characters", maxButtonText)
	}
	if n := utf8.RuneCountInString(str(e["value"])); n > maxButtonValue {
		bad(ptr+"/value", "must be less than %d characters", maxButtonValue+1)
	}
	if n := utf8.RuneCountInString(str(e["url"])); n > maxURLLen {
		bad(ptr+"/url", "must be less than %d characters", maxURLLen+1)
	}
	switch style := str(e["style"]); style {
	case "", "primary", "danger":
	default:
		bad(ptr+"/style", "must be one of primary, danger; got %q", style)
	}
}

// str returns raw as a string if it is a JSON string, else "".
func str(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return ""
	}
	return s
}

// button is a button shown in a message.
type button struct {
	blockID  string
	actionID string
	value    string
	text     json.RawMessage
	style    string
}

// messageButtons lists the buttons shown in blocks: elements of actions
// blocks and accessories of section blocks.
func messageButtons(blocks json.RawMessage) []button {
	var bs []jsonObject
	if json.Unmarshal(blocks, &bs) != nil {
		return nil
	}
	var out []button
	for i, b := range bs {
		blockID := str(b["block_id"])
		if blockID == "" {
			// Slack generates an ID when the app gives none.
			blockID = fmt.Sprintf("b%d", i+1)
		}
		var els []jsonObject
		switch str(b["type"]) {
		case "actions":
			_ = json.Unmarshal(b["elements"], &els)
		case "section":
			var acc jsonObject
			if json.Unmarshal(b["accessory"], &acc) == nil && acc != nil {
				els = []jsonObject{acc}
			}
		}
		for _, e := range els {
			if str(e["type"]) != "button" {
				continue
			}
			out = append(out, button{
				blockID:  blockID,
				actionID: str(e["action_id"]),
				value:    str(e["value"]),
				text:     e["text"],
				style:    str(e["style"]),
			})
		}
	}
	return out
}

// findButton returns the button with actionID and value shown in blocks.
func findButton(blocks json.RawMessage, actionID, value string) (button, bool) {
	for _, b := range messageButtons(blocks) {
		if b.actionID == actionID && b.value == value {
			return b, true
		}
	}
	return button{}, false
}

// buttons lists the action_id=value pairs of the buttons shown in blocks,
// for error messages.
func buttons(blocks json.RawMessage) []string {
	var out []string
	for _, b := range messageButtons(blocks) {
		out = append(out, b.actionID+"="+b.value)
	}
	return out
}
