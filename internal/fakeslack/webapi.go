package fakeslack

import (
	"bytes"
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// maxTextLen is Slack's limit on a message's top-level text.
const maxTextLen = 40000

// isUserID reports whether id looks like a Slack user ID.
func isUserID(id string) bool {
	if len(id) < 2 || (id[0] != 'U' && id[0] != 'W') {
		return false
	}
	for _, c := range id[1:] {
		if (c < 'A' || c > 'Z') && (c < '0' || c > '9') {
			return false
		}
	}
	return true
}

// result is a Web API JSON answer.
type result map[string]any

func okResult() result { return result{"ok": true} }

func errResult(code string) result { return result{"ok": false, "error": code} }

// apiHandler serves one Web API method; s.mu is held.
type apiHandler func(s *Server, p url.Values) result

// tokenKind says which token a method wants.
type tokenKind int

const (
	botToken tokenKind = iota
	appToken
)

type apiMethod struct {
	token   tokenKind
	handler apiHandler
}

// lookupMethod returns the Web API method served under name.
func lookupMethod(name string) (apiMethod, bool) {
	switch name {
	case "auth.test":
		return apiMethod{botToken, (*Server).authTest}, true
	case "chat.postMessage":
		return apiMethod{botToken, (*Server).chatPostMessage}, true
	case "chat.postEphemeral":
		return apiMethod{botToken, (*Server).chatPostEphemeral}, true
	case "chat.update":
		return apiMethod{botToken, (*Server).chatUpdate}, true
	case "chat.delete":
		return apiMethod{botToken, (*Server).chatDelete}, true
	case "conversations.open":
		return apiMethod{botToken, (*Server).conversationsOpen}, true
	case "apps.connections.open":
		return apiMethod{appToken, (*Server).appsConnectionsOpen}, true
	case "views.open":
		return apiMethod{botToken, (*Server).viewsOpen}, true
	}
	return apiMethod{}, false
}

func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request) {
	method := strings.TrimPrefix(r.URL.Path, "/api/")
	body, _ := io.ReadAll(io.LimitReader(r.Body, 16<<20))
	params, token, parseErr := parseAPIRequest(r, body)

	s.mu.Lock()
	if s.down {
		s.calls = append(s.calls, Call{Method: method, Params: params, Body: body, Token: token, At: s.opts.Now()})
		s.notifyLocked()
		s.mu.Unlock()
		drop(w)
		return
	}
	status, header, res := s.dispatchLocked(method, params, token, parseErr)
	resp, _ := json.Marshal(res)
	_, known := lookupMethod(method)
	s.calls = append(s.calls, Call{
		Method:    method,
		Params:    params,
		Body:      body,
		Token:     token,
		Status:    status,
		Response:  resp,
		At:        s.opts.Now(),
		Unhandled: !known,
	})
	s.notifyLocked()
	s.mu.Unlock()
	if !known && s.opts.Unhandled != nil {
		s.opts.Unhandled(r.Method, r.URL.Path)
	}

	for k, v := range header {
		w.Header()[k] = v
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(resp)
}

// dispatchLocked answers one Web API call: unknown method, rate limit,
// injected failure, authentication, then the method itself.
func (s *Server) dispatchLocked(method string, p url.Values, token, parseErr string) (int, http.Header, result) {
	m, ok := lookupMethod(method)
	if !ok {
		return http.StatusOK, nil, result{"ok": false, "error": "unknown_method", "req_method": method}
	}
	if rl, ok := s.limits[method]; ok && rl.remaining > 0 {
		rl.remaining--
		s.limits[method] = rl
		h := http.Header{}
		h.Set("Retry-After", strconv.Itoa(rl.retryAfter))
		return http.StatusTooManyRequests, h, errResult("ratelimited")
	}
	if q := s.failures[method]; len(q) > 0 {
		s.failures[method] = q[1:]
		return http.StatusOK, nil, errResult(q[0])
	}
	if code := s.faultLocked(method, p); code != "" {
		return http.StatusOK, nil, errResult(code)
	}
	if code := s.checkTokenLocked(m.token, token); code != "" {
		return http.StatusOK, nil, errResult(code)
	}
	if parseErr != "" {
		return http.StatusOK, nil, errResult(parseErr)
	}
	return http.StatusOK, nil, m.handler(s, p)
}

// checkTokenLocked returns the Slack error for a token, or "".
func (s *Server) checkTokenLocked(want tokenKind, token string) string {
	right, other := s.opts.BotToken, s.opts.AppToken
	if want == appToken {
		right, other = other, right
	}
	switch token {
	case "":
		return "not_authed"
	case right:
		return ""
	case other:
		return "not_allowed_token_type"
	default:
		return "invalid_auth"
	}
}

// parseAPIRequest extracts the parameters and token of a Web API request.
// Form and query parameters are taken as they are; a JSON body is
// flattened. The token is the Authorization bearer, else the token
// parameter (which Slack does not read from JSON bodies).
func parseAPIRequest(r *http.Request, body []byte) (url.Values, string, string) {
	params := url.Values{}
	for k, vs := range r.URL.Query() {
		params[k] = append(params[k], vs...)
	}
	ctype, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	isJSON := ctype == "application/json"
	var parseErr string
	switch {
	case isJSON:
		if len(bytes.TrimSpace(body)) > 0 {
			var obj map[string]json.RawMessage
			if err := json.Unmarshal(body, &obj); err != nil {
				parseErr = "invalid_json"
				break
			}
			for k, raw := range obj {
				var str string
				if json.Unmarshal(raw, &str) == nil {
					params.Set(k, str)
				} else {
					params.Set(k, string(raw))
				}
			}
		}
	case len(body) > 0:
		form, err := url.ParseQuery(string(body))
		if err != nil {
			parseErr = "invalid_form_data"
			break
		}
		for k, vs := range form {
			params[k] = append(params[k], vs...)
		}
	}
	token := ""
	if auth, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
		token = strings.TrimSpace(auth)
	} else if !isJSON {
		token = params.Get("token")
	}
	return params, token, parseErr
}

func (s *Server) authTest(url.Values) result {
	r := okResult()
	r["url"] = "https://" + TeamDomain + ".slack.com/"
	r["team"] = TeamName
	r["user"] = userName(s.opts.BotUserID)
	r["team_id"] = s.opts.TeamID
	r["user_id"] = s.opts.BotUserID
	r["bot_id"] = BotID
	return r
}

// resolveChannelLocked finds a channel by ID or name ("#ops" or "ops"). A
// user ID resolves to the bot's DM with that user, opening it if needed,
// as chat.postMessage does on Slack.
func (s *Server) resolveChannelLocked(ref string, allowUser bool) *channel {
	if ref == "" {
		return nil
	}
	if ch := s.channels[ref]; ch != nil {
		return ch
	}
	if allowUser && isUserID(ref) && ref != s.opts.BotUserID {
		ch, _ := s.openDMLocked(ref)
		return ch
	}
	name := strings.TrimPrefix(ref, "#")
	for _, ch := range s.channels {
		if !ch.dm && ch.name == name {
			return ch
		}
	}
	return nil
}

// content reads text and blocks parameters. It returns the Slack error
// for invalid blocks along with Slack-style detail messages.
func content(p url.Values) (text string, blocks json.RawMessage, code string, detail []string) {
	text = p.Get("text")
	if len(text) > maxTextLen {
		return "", nil, "msg_too_long", nil
	}
	if raw := p.Get("blocks"); raw != "" {
		var problems []string
		blocks, problems = normalizeBlocks([]byte(raw))
		if len(problems) > 0 {
			return "", nil, "invalid_blocks", problems
		}
	}
	return text, blocks, "", nil
}

func blocksError(code string, detail []string) result {
	r := errResult(code)
	if len(detail) > 0 {
		r["response_metadata"] = map[string]any{"messages": detail}
	}
	return r
}

func hasContent(text string, blocks json.RawMessage, p url.Values) bool {
	return strings.TrimSpace(text) != "" || len(blocks) > 0 || hasAttachments(p.Get("attachments"))
}

func hasAttachments(raw string) bool {
	var a []json.RawMessage
	return json.Unmarshal([]byte(raw), &a) == nil && len(a) > 0
}

// messageObject renders a message the way the Web API returns one.
func (s *Server) messageObject(m *message) map[string]any {
	o := map[string]any{
		"type":    "message",
		"user":    s.opts.BotUserID,
		"bot_id":  BotID,
		"app_id":  AppID,
		"team":    s.opts.TeamID,
		"ts":      m.TS,
		"text":    m.Text,
		"channel": m.Channel,
	}
	if len(m.Blocks) > 0 {
		o["blocks"] = m.Blocks
	}
	if m.ThreadTS != "" {
		o["thread_ts"] = m.ThreadTS
	}
	return o
}

func (s *Server) chatPostMessage(p url.Values) result {
	ch := s.resolveChannelLocked(p.Get("channel"), true)
	if ch == nil {
		return errResult("channel_not_found")
	}
	if !ch.members[s.opts.BotUserID] {
		return errResult("not_in_channel")
	}
	text, blocks, code, detail := content(p)
	if code != "" {
		return blocksError(code, detail)
	}
	if !hasContent(text, blocks, p) {
		return errResult("no_text")
	}
	via := ViaPostMessage
	if ch.dm {
		via = ViaDM
	}
	m := s.addMessageLocked(Message{
		Channel:  ch.id,
		TS:       s.nextTSLocked(),
		ThreadTS: p.Get("thread_ts"),
		User:     ch.dmUser,
		DM:       ch.dm,
		Text:     text,
		Blocks:   blocks,
		Via:      via,
	})
	r := okResult()
	r["channel"] = ch.id
	r["ts"] = m.TS
	r["message"] = s.messageObject(m)
	return r
}

func (s *Server) chatPostEphemeral(p url.Values) result {
	ch := s.resolveChannelLocked(p.Get("channel"), false)
	if ch == nil {
		return errResult("channel_not_found")
	}
	if !ch.members[s.opts.BotUserID] {
		return errResult("not_in_channel")
	}
	user := p.Get("user")
	if user == "" || !isUserID(user) {
		return errResult("user_not_found")
	}
	if !ch.members[user] {
		return errResult("user_not_in_channel")
	}
	text, blocks, code, detail := content(p)
	if code != "" {
		return blocksError(code, detail)
	}
	if !hasContent(text, blocks, p) {
		return errResult("no_text")
	}
	m := s.addMessageLocked(Message{
		Channel:   ch.id,
		TS:        s.nextTSLocked(),
		ThreadTS:  p.Get("thread_ts"),
		User:      user,
		Ephemeral: true,
		DM:        ch.dm,
		Text:      text,
		Blocks:    blocks,
		Via:       ViaPostEphemeral,
	})
	r := okResult()
	r["message_ts"] = m.TS
	return r
}

func (s *Server) chatUpdate(p url.Values) result {
	ch := s.resolveChannelLocked(p.Get("channel"), false)
	if ch == nil {
		return errResult("channel_not_found")
	}
	m := s.findMessageLocked(ch.id, p.Get("ts"))
	if m == nil || m.Ephemeral {
		// Slack cannot chat.update an ephemeral message.
		return errResult("message_not_found")
	}
	text, blocks, code, detail := content(p)
	if code != "" {
		return blocksError(code, detail)
	}
	newText, newBlocks := m.Text, m.Blocks
	if _, ok := p["text"]; ok {
		newText = text
	}
	if _, ok := p["blocks"]; ok {
		newBlocks = blocks
	}
	if !hasContent(newText, newBlocks, p) {
		return errResult("no_text")
	}
	m.Text, m.Blocks = newText, newBlocks
	m.Updated++
	m.Via = ViaUpdate
	s.notifyLocked()
	r := okResult()
	r["channel"] = ch.id
	r["ts"] = m.TS
	r["text"] = m.Text
	r["message"] = s.messageObject(m)
	return r
}

func (s *Server) chatDelete(p url.Values) result {
	ch := s.resolveChannelLocked(p.Get("channel"), false)
	if ch == nil {
		return errResult("channel_not_found")
	}
	m := s.findMessageLocked(ch.id, p.Get("ts"))
	if m == nil || m.Ephemeral {
		return errResult("message_not_found")
	}
	m.deleted = true
	s.notifyLocked()
	r := okResult()
	r["channel"] = ch.id
	r["ts"] = m.TS
	return r
}

// openDMLocked returns the bot's DM with user, creating it if needed, and
// whether it already existed.
func (s *Server) openDMLocked(user string) (*channel, bool) {
	if id, ok := s.dmByUser[user]; ok {
		return s.channels[id], true
	}
	id := "D" + strconv.Itoa(1000000+s.nextSeqLocked())
	ch := &channel{
		id:      id,
		name:    DMChannelName,
		members: map[string]bool{user: true, s.opts.BotUserID: true},
		dm:      true,
		dmUser:  user,
	}
	s.channels[id] = ch
	s.dmByUser[user] = id
	s.notifyLocked()
	return ch, false
}

func (s *Server) dmObject(ch *channel) map[string]any {
	return map[string]any{"id": ch.id, "is_im": true, "is_open": true, "user": ch.dmUser}
}

func (s *Server) conversationsOpen(p url.Values) result {
	if id := p.Get("channel"); id != "" {
		ch := s.channels[id]
		if ch == nil || !ch.dm {
			return errResult("channel_not_found")
		}
		r := okResult()
		r["no_op"] = true
		r["already_open"] = true
		r["channel"] = s.dmObject(ch)
		return r
	}
	users := p.Get("users")
	if users == "" {
		return errResult("users_list_not_supplied")
	}
	list := strings.Split(users, ",")
	if len(list) > 1 {
		// Multi-person DMs are not modelled.
		return errResult("not_supported")
	}
	user := strings.TrimSpace(list[0])
	if !isUserID(user) {
		return errResult("user_not_found")
	}
	if user == s.opts.BotUserID {
		return errResult("cannot_dm_bot")
	}
	ch, existed := s.openDMLocked(user)
	r := okResult()
	if existed {
		r["no_op"] = true
		r["already_open"] = true
	}
	r["channel"] = s.dmObject(ch)
	return r
}

func (s *Server) appsConnectionsOpen(url.Values) result {
	ticket := strconv.Itoa(s.nextSeqLocked())
	s.tickets[ticket] = true
	r := okResult()
	r["url"] = "ws://" + s.hs.Listener.Addr().String() + "/ws?ticket=" + ticket
	return r
}
