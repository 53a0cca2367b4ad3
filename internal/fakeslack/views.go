package fakeslack

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"
)

// Slack's limits on modals (and the fake's).
const (
	// triggerLifetime is how long after the payload carrying it a
	// trigger_id can be exchanged for a modal.
	triggerLifetime    = 3 * time.Second
	maxViewBlocks      = 100
	maxViewText        = 24 // title, submit and close
	maxCallbackID      = 255
	maxPrivateMetadata = 3000
	maxExternalID      = 255
	maxViewBytes       = 250_000
	maxInputLabel      = 2000
	maxInputHint       = 2000
	maxTextInput       = 3000
	maxPlaceholder     = 150
	maxViewStack       = 3
)

// plainTextInput is the element type whose value SubmitView can fill in.
const plainTextInput = "plain_text_input"

// View is a modal the app opened with views.open (or pushed in answer to a
// submission), as it currently stands.
type View struct {
	// ID is the view's ID, "V…".
	ID string
	// TriggerID is the trigger_id exchanged for the modal, "" for a view
	// pushed by an answer to a submission.
	TriggerID string
	// User is the one user who sees the modal: the user of the payload
	// that carried the trigger_id.
	User string
	// CallbackID is the view's callback_id.
	CallbackID string
	// PrivateMetadata is the view's private_metadata.
	PrivateMetadata string
	// JSON is the view object as the Web API answered it (with id,
	// team_id, state, hash, …); a response_action "update" replaces it.
	JSON json.RawMessage
	// Submitted reports that the user submitted the modal at least once
	// (SubmitView or SocketModeSubmitView).
	Submitted bool
	// Values is the state of the modal's plain_text_input elements at the
	// last submission, block_id → action_id → value; nil before that.
	Values map[string]map[string]string
	// Closed reports that the modal is gone: the app answered a submission
	// with an empty 200 (or a bare Socket Mode ack), or with
	// response_action "clear" on this or a view stacked on it.
	Closed bool
	// Errors holds the field errors, by block_id, of the app's last answer
	// if it was response_action "errors" (the modal stays open); nil
	// otherwise.
	Errors map[string]string
	// Response is the app's last answer to a submission (the HTTP body or
	// the Socket Mode ack payload), nil if empty or none yet.
	Response json.RawMessage
}

// view is what the server keeps of a modal.
type view struct {
	View
	obj    jsonObject // the view object, as the Web API returns it
	inputs []viewInput
	submit bool // shows a submit button
	rootID string
}

// viewInput is an input block of a modal.
type viewInput struct {
	blockID, actionID, typ string
	optional               bool
	initial                string
	minLen, maxLen         int
}

// trigger is a trigger_id handed out in a payload.
type trigger struct {
	user   string
	issued time.Time
	used   bool
}

// modalView is a checked views.open (or response_action) view argument.
type modalView struct {
	obj    jsonObject
	blocks json.RawMessage // checked and compacted, nil if none
	inputs []viewInput
}

// newTriggerLocked returns a fresh trigger_id that user's client can have
// exchanged for a modal within triggerLifetime.
func (s *Server) newTriggerLocked(user string) string {
	id := s.triggerIDLocked()
	s.triggers[id] = &trigger{user: user, issued: s.opts.Now()}
	return id
}

// viewsOpen is the views.open method.
func (s *Server) viewsOpen(p url.Values) result {
	raw, triggerID := p.Get("view"), p.Get("trigger_id")
	var missing []string
	if triggerID == "" {
		missing = append(missing, "[ERROR] missing required field: trigger_id [json-pointer:/trigger_id]")
	}
	if raw == "" {
		missing = append(missing, "[ERROR] missing required field: view [json-pointer:/view]")
	}
	if len(missing) > 0 {
		return blocksError("invalid_arguments", missing)
	}
	if len(raw) > maxViewBytes {
		return errResult("view_too_large")
	}
	mv, problems := parseModalView([]byte(raw))
	if len(problems) > 0 {
		return blocksError("invalid_arguments", problems)
	}
	t := s.triggers[triggerID]
	switch {
	case t == nil:
		return errResult("invalid_trigger_id")
	case t.used:
		return errResult("exchanged_trigger_id")
	case s.opts.Now().Sub(t.issued) > triggerLifetime:
		return errResult("expired_trigger_id")
	}
	t.used = true
	v := s.newViewLocked(mv, t.user, triggerID, "", nil)
	r := okResult()
	r["view"] = v.obj
	return r
}

// parseModalView checks a modal view object the way views.open does.
// Problems are worded like Slack's response_metadata messages.
func parseModalView(raw []byte) (modalView, []string) {
	var problems []string
	bad := func(ptr, format string, args ...any) {
		problems = append(problems, fmt.Sprintf("[ERROR] "+format+" [json-pointer:/view"+ptr+"]", args...))
	}
	var obj jsonObject
	if err := json.Unmarshal(raw, &obj); err != nil || obj == nil {
		bad("", "view must be a JSON object")
		return modalView{}, problems
	}
	switch typ := str(obj["type"]); typ {
	case "modal":
	case "":
		bad("/type", "missing required field: type")
	default:
		bad("/type", "must be modal; got %q", typ)
	}
	if isAbsent(obj["title"]) {
		bad("/title", "missing required field: title")
	} else {
		checkPlainText(obj["title"], "/title", maxViewText, bad)
	}
	blocks, bp := checkBlocks(obj["blocks"], blockRules{max: maxViewBlocks, root: "/view/blocks", modal: true})
	problems = append(problems, bp...)
	inputs := viewInputs(blocks)
	if isAbsent(obj["submit"]) {
		if len(inputs) > 0 {
			bad("/submit", "missing required field: submit (a view with input blocks needs a submit button)")
		}
	} else {
		checkPlainText(obj["submit"], "/submit", maxViewText, bad)
	}
	if !isAbsent(obj["close"]) {
		checkPlainText(obj["close"], "/close", maxViewText, bad)
	}
	for _, f := range []struct {
		name string
		max  int
	}{{"callback_id", maxCallbackID}, {"private_metadata", maxPrivateMetadata}, {"external_id", maxExternalID}} {
		if n := utf8.RuneCountInString(str(obj[f.name])); n > f.max {
			bad("/"+f.name, "must be less than %d characters", f.max+1)
		}
	}
	if len(problems) > 0 {
		return modalView{}, problems
	}
	return modalView{obj: obj, blocks: blocks, inputs: inputs}, nil
}

// isAbsent reports a missing or null field.
func isAbsent(raw json.RawMessage) bool {
	raw = bytes.TrimSpace(raw)
	return len(raw) == 0 || string(raw) == "null"
}

// checkPlainText checks a plain_text text object of 1 to max characters.
func checkPlainText(raw json.RawMessage, ptr string, max int, bad func(ptr, format string, args ...any)) {
	var t jsonObject
	_ = json.Unmarshal(raw, &t)
	if str(t["type"]) != "plain_text" {
		bad(ptr, "must be a plain_text text object")
		return
	}
	if n := utf8.RuneCountInString(str(t["text"])); n == 0 || n > max {
		bad(ptr+"/text", "must be 1 to %d characters", max)
	}
}

// intField decodes a JSON number field; ok is false if absent or not a
// number.
func intField(raw json.RawMessage) (int, bool) {
	var f float64
	if isAbsent(raw) || json.Unmarshal(raw, &f) != nil {
		return 0, false
	}
	return int(f), true
}

// checkInputBlock checks an input block of a modal: block_id, label, hint
// and an element with an action_id (text inputs in detail).
func checkInputBlock(b jsonObject, ptr string, bad func(ptr, format string, args ...any)) {
	if _, ok := b["block_id"]; !ok {
		bad(ptr+"/block_id", "missing required field: block_id")
	}
	if isAbsent(b["label"]) {
		bad(ptr+"/label", "missing required field: label")
	} else {
		checkPlainText(b["label"], ptr+"/label", maxInputLabel, bad)
	}
	if !isAbsent(b["hint"]) {
		checkPlainText(b["hint"], ptr+"/hint", maxInputHint, bad)
	}
	var e jsonObject
	_ = json.Unmarshal(b["element"], &e)
	eptr := ptr + "/element"
	if e == nil {
		bad(eptr, "missing required field: element")
		return
	}
	if _, ok := e["action_id"]; !ok {
		bad(eptr+"/action_id", "missing required field: action_id")
	}
	checkElement(e, eptr, bad)
	if str(e["type"]) != plainTextInput {
		return
	}
	minLen, hasMin := intField(e["min_length"])
	maxLen, hasMax := intField(e["max_length"])
	if hasMin && (minLen < 0 || minLen > maxTextInput) {
		bad(eptr+"/min_length", "must be between 0 and %d", maxTextInput)
	}
	if hasMax && (maxLen < 1 || maxLen > maxTextInput) {
		bad(eptr+"/max_length", "must be between 1 and %d", maxTextInput)
	}
	if hasMin && hasMax && minLen > maxLen {
		bad(eptr+"/min_length", "must be less than or equal to max_length")
	}
	limit := maxTextInput
	if hasMax && maxLen >= 1 && maxLen < limit {
		limit = maxLen
	}
	if n := utf8.RuneCountInString(str(e["initial_value"])); n > limit {
		bad(eptr+"/initial_value", "must be less than %d characters", limit+1)
	}
	if !isAbsent(e["placeholder"]) {
		checkPlainText(e["placeholder"], eptr+"/placeholder", maxPlaceholder, bad)
	}
}

// viewInputs lists the input blocks of checked blocks.
func viewInputs(blocks json.RawMessage) []viewInput {
	var bs []jsonObject
	_ = json.Unmarshal(blocks, &bs)
	var out []viewInput
	for _, b := range bs {
		if str(b["type"]) != "input" {
			continue
		}
		var e jsonObject
		_ = json.Unmarshal(b["element"], &e)
		in := viewInput{
			blockID:  str(b["block_id"]),
			actionID: str(e["action_id"]),
			typ:      str(e["type"]),
			initial:  str(e["initial_value"]),
			maxLen:   maxTextInput,
		}
		_ = json.Unmarshal(b["optional"], &in.optional)
		if n, ok := intField(e["min_length"]); ok {
			in.minLen = n
		}
		if n, ok := intField(e["max_length"]); ok {
			in.maxLen = n
		}
		out = append(out, in)
	}
	return out
}

func rawJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic("fakeslack: encoding JSON: " + err.Error())
	}
	return b
}

// newViewLocked records a modal opened for user.
func (s *Server) newViewLocked(mv modalView, user, triggerID, rootID string, previous json.RawMessage) *view {
	id := "V" + strconv.Itoa(1000000+s.nextSeqLocked())
	if rootID == "" {
		rootID = id
	}
	v := &view{View: View{ID: id, TriggerID: triggerID, User: user}, rootID: rootID}
	s.setViewContentLocked(v, mv, previous)
	s.views = append(s.views, v)
	s.viewIndex[id] = v
	s.notifyLocked()
	return v
}

// setViewContentLocked makes mv the content of v, as views.open (or a
// response_action "update") stores it: defaults filled in, a new hash.
func (s *Server) setViewContentLocked(v *view, mv modalView, previous json.RawMessage) {
	obj := jsonObject{}
	for _, k := range []string{"type", "title", "close", "submit", "private_metadata", "callback_id",
		"external_id", "clear_on_close", "notify_on_close"} {
		if raw, ok := mv.obj[k]; ok {
			obj[k] = raw
		}
	}
	defaults := map[string]any{
		"close":            map[string]any{"type": "plain_text", "text": "Cancel", "emoji": true},
		"submit":           nil,
		"private_metadata": "",
		"callback_id":      "",
		"external_id":      "",
		"clear_on_close":   false,
		"notify_on_close":  false,
	}
	for k, d := range defaults {
		if isAbsent(obj[k]) {
			obj[k] = rawJSON(d)
		}
	}
	obj["blocks"] = json.RawMessage("[]")
	if mv.blocks != nil {
		obj["blocks"] = mv.blocks
	}
	if len(previous) == 0 {
		previous = json.RawMessage("null")
	}
	obj["id"] = rawJSON(v.ID)
	obj["team_id"] = rawJSON(s.opts.TeamID)
	obj["state"] = json.RawMessage(`{"values":{}}`)
	obj["hash"] = rawJSON(fmt.Sprintf("%d.%s", s.opts.Now().Unix(), randomHex(4)))
	obj["root_view_id"] = rawJSON(v.rootID)
	obj["previous_view_id"] = previous
	obj["app_id"] = rawJSON(AppID)
	obj["app_installed_team_id"] = rawJSON(s.opts.TeamID)
	obj["bot_id"] = rawJSON(BotID)

	v.obj = obj
	v.JSON = rawJSON(obj)
	v.CallbackID = str(obj["callback_id"])
	v.PrivateMetadata = str(obj["private_metadata"])
	v.inputs = mv.inputs
	v.submit = !isAbsent(obj["submit"])
}

// Views returns every modal opened so far, as it currently stands, in the
// order they were opened.
func (s *Server) Views() []View {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]View, len(s.views))
	for i, v := range s.views {
		out[i] = v.snapshot()
	}
	return out
}

// WaitForView waits until a view (as Views returns it) satisfies match and
// returns it, or returns ctx's error.
func (s *Server) WaitForView(ctx context.Context, match func(View) bool) (View, error) {
	for {
		ch := s.changes()
		for _, v := range s.Views() {
			if match(v) {
				return v, nil
			}
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return View{}, ctx.Err()
		}
	}
}

func (v *view) snapshot() View {
	c := v.View
	c.JSON = slices.Clone(c.JSON)
	c.Response = slices.Clone(c.Response)
	c.Errors = maps.Clone(c.Errors)
	if c.Values != nil {
		c.Values = make(map[string]map[string]string, len(v.Values))
		for k, m := range v.Values {
			c.Values[k] = maps.Clone(m)
		}
	}
	return c
}

// SubmitView plays user pressing the submit button of the modal viewID
// after filling in its text inputs: values maps block_id → action_id →
// text. It builds the view_submission payload Slack sends (team, user,
// api_app_id, token, a fresh trigger_id, the view with its state, empty
// response_urls), signs the form body payload=<json> and POSTs it to
// target, the app's interactivity URL. The response is returned with its
// body intact; the caller must close it.
//
// Every input block appears in the state: a plain_text_input with the
// given text, else its initial_value (a JSON null value when empty). It
// fails without sending if the view is unknown, was opened for another
// user, is closed or covered by a view pushed on it, has no submit button,
// if values names a block_id or action_id that is not an input of the
// view (or an element other than a plain_text_input), or if a text breaks
// the element's rules as Slack's client enforces them (required unless
// the block is optional, min_length, max_length).
//
// The app's answer is recorded in the view (see View): a 200 with an
// empty body closes the modal; {"response_action":"errors","errors":{…}}
// keeps it open with Errors; "clear" closes its whole stack; "update"
// replaces its content; "push" opens a new view on top. Anything else,
// including a non-200 status, leaves it open as it was.
func (s *Server) SubmitView(target string, viewID string, values map[string]map[string]string, user string) (*http.Response, error) {
	s.mu.Lock()
	v, payload, vals, err := s.viewSubmissionLocked(viewID, values, user)
	if err == nil {
		s.markSubmittedLocked(v, vals)
	}
	s.mu.Unlock()
	if err != nil {
		return nil, err
	}
	resp, err := s.postSigned(target, []byte("payload="+url.QueryEscape(string(payload))))
	if err != nil {
		return nil, err
	}
	body, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(body))
	if err != nil {
		return resp, err
	}
	s.mu.Lock()
	s.answerViewLocked(v, resp.StatusCode == http.StatusOK, body)
	s.notifyLocked()
	s.mu.Unlock()
	return resp, nil
}

// SocketModeSubmitView checks and builds a submission as SubmitView does
// and sends it to the Socket Mode client in an interactive envelope,
// returning its envelope ID. The client's acknowledgement is the app's
// answer: a bare ack closes the modal, an ack whose payload is
// {"response_action":…} acts as the HTTP answer would. Use WaitForAck or
// WaitForView to wait for it.
func (s *Server) SocketModeSubmitView(viewID string, values map[string]map[string]string, user string) (string, error) {
	s.mu.Lock()
	v, payload, vals, err := s.viewSubmissionLocked(viewID, values, user)
	if err == nil && len(s.socks) == 0 {
		err = errors.New("fakeslack: no Socket Mode client connected")
	}
	if err == nil {
		s.markSubmittedLocked(v, vals)
	}
	s.mu.Unlock()
	if err != nil {
		return "", err
	}
	return s.socketModeSend("interactive", payload, v.ID)
}

// viewSubmissionLocked checks that user can submit viewID with values and
// builds the view_submission payload, changing nothing but the sequence.
func (s *Server) viewSubmissionLocked(viewID string, values map[string]map[string]string, user string) (*view, json.RawMessage, map[string]map[string]string, error) {
	v := s.viewIndex[viewID]
	switch {
	case v == nil:
		ids := make([]string, len(s.views))
		for i, w := range s.views {
			ids[i] = w.ID
		}
		return nil, nil, nil, fmt.Errorf("fakeslack: no view %q (views opened: %v)", viewID, ids)
	case v.User != user:
		return nil, nil, nil, fmt.Errorf("fakeslack: view %s was opened for %q, not %q", viewID, v.User, user)
	case v.Closed:
		return nil, nil, nil, fmt.Errorf("fakeslack: view %s is closed", viewID)
	case !v.submit:
		return nil, nil, nil, fmt.Errorf("fakeslack: view %s has no submit button", viewID)
	}
	for _, w := range s.views {
		if w != v && !w.Closed && w.rootID == v.rootID && str(w.obj["previous_view_id"]) == v.ID {
			return nil, nil, nil, fmt.Errorf("fakeslack: view %s is covered by view %s pushed on it", viewID, w.ID)
		}
	}
	for _, blockID := range slices.Sorted(maps.Keys(values)) {
		var in *viewInput
		for i := range v.inputs {
			if v.inputs[i].blockID == blockID {
				in = &v.inputs[i]
			}
		}
		if in == nil {
			return nil, nil, nil, fmt.Errorf("fakeslack: view %s has no input block %q (input blocks: %v)", viewID, blockID, inputNames(v.inputs))
		}
		for _, actionID := range slices.Sorted(maps.Keys(values[blockID])) {
			switch {
			case actionID != in.actionID:
				return nil, nil, nil, fmt.Errorf("fakeslack: input block %q of view %s has no element %q (input blocks: %v)",
					blockID, viewID, actionID, inputNames(v.inputs))
			case in.typ != plainTextInput:
				return nil, nil, nil, fmt.Errorf("fakeslack: element %s/%s of view %s is a %s; only a %s can be filled in",
					blockID, actionID, viewID, in.typ, plainTextInput)
			}
		}
	}
	state := map[string]map[string]any{}
	vals := map[string]map[string]string{}
	for _, in := range v.inputs {
		if in.typ != plainTextInput {
			state[in.blockID] = map[string]any{in.actionID: map[string]any{"type": in.typ}}
			continue
		}
		text, ok := values[in.blockID][in.actionID]
		if !ok {
			text = in.initial
		}
		n := utf8.RuneCountInString(text)
		switch {
		case n == 0 && !in.optional:
			return nil, nil, nil, fmt.Errorf("fakeslack: input %s/%s of view %s is required", in.blockID, in.actionID, viewID)
		case n > 0 && n < in.minLen:
			return nil, nil, nil, fmt.Errorf("fakeslack: input %s/%s of view %s needs at least %d characters, got %d", in.blockID, in.actionID, viewID, in.minLen, n)
		case n > in.maxLen:
			return nil, nil, nil, fmt.Errorf("fakeslack: input %s/%s of view %s takes at most %d characters, got %d", in.blockID, in.actionID, viewID, in.maxLen, n)
		}
		var value any
		if text != "" {
			value = text
		}
		state[in.blockID] = map[string]any{in.actionID: map[string]any{"type": plainTextInput, "value": value}}
		vals[in.blockID] = map[string]string{in.actionID: text}
	}
	obj := maps.Clone(v.obj)
	obj["state"] = rawJSON(map[string]any{"values": state})
	payload := rawJSON(map[string]any{
		"type": "view_submission",
		"team": map[string]any{"id": s.opts.TeamID, "domain": TeamDomain},
		"user": map[string]any{
			"id":       user,
			"username": userName(user),
			"name":     userName(user),
			"team_id":  s.opts.TeamID,
		},
		"api_app_id":            AppID,
		"token":                 VerificationToken,
		"trigger_id":            s.triggerIDLocked(),
		"view":                  obj,
		"response_urls":         []any{},
		"is_enterprise_install": false,
		"enterprise":            nil,
	})
	return v, payload, vals, nil
}

// inputNames lists block_id/action_id of inputs, for error messages.
func inputNames(inputs []viewInput) []string {
	out := make([]string, len(inputs))
	for i, in := range inputs {
		out[i] = in.blockID + "/" + in.actionID
	}
	return out
}

func (s *Server) markSubmittedLocked(v *view, vals map[string]map[string]string) {
	v.Submitted = true
	v.Values = vals
	v.Errors = nil
	v.Response = nil
	s.notifyLocked()
}

// viewAnswer is an app's answer to a view_submission.
type viewAnswer struct {
	ResponseAction string            `json:"response_action"`
	Errors         map[string]string `json:"errors"`
	View           json.RawMessage   `json:"view"`
}

// answerViewLocked applies the app's answer to a submission of v; ok is
// false for an HTTP status other than 200.
func (s *Server) answerViewLocked(v *view, ok bool, body []byte) {
	body = bytes.TrimSpace(body)
	v.Response = nil
	if len(body) > 0 {
		v.Response = slices.Clone(body)
	}
	if !ok {
		return
	}
	if len(body) == 0 || string(body) == "null" {
		v.Closed = true
		return
	}
	var ans viewAnswer
	if json.Unmarshal(body, &ans) != nil {
		return
	}
	switch ans.ResponseAction {
	case "":
		v.Closed = true
	case "errors":
		if len(ans.Errors) > 0 {
			v.Errors = ans.Errors
		}
	case "clear":
		for _, w := range s.views {
			if w.rootID == v.rootID {
				w.Closed = true
			}
		}
	case "update":
		if mv, problems := parseModalView(ans.View); len(problems) == 0 {
			s.setViewContentLocked(v, mv, v.obj["previous_view_id"])
		}
	case "push":
		depth := 0
		for _, w := range s.views {
			if w.rootID == v.rootID && !w.Closed {
				depth++
			}
		}
		if mv, problems := parseModalView(ans.View); len(problems) == 0 && depth < maxViewStack {
			s.newViewLocked(mv, v.User, "", v.rootID, rawJSON(v.ID))
		}
	}
}
