package fakeslack

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Slack's limits on a response_url.
const (
	responseURLUses     = 5
	responseURLLifetime = 30 * time.Minute
)

// hook is one response_url.
type hook struct {
	channel, user string
	// origTS is the message the interaction came from, "" for slash
	// commands; replace_original and delete_original act on it.
	origTS  string
	created time.Time
	uses    int
}

// reply is the body of a response_url POST or of an app's immediate answer
// to a slash command.
type reply struct {
	Text            string          `json:"text"`
	Blocks          json.RawMessage `json:"blocks"`
	Attachments     json.RawMessage `json:"attachments"`
	ResponseType    string          `json:"response_type"`
	ReplaceOriginal flag            `json:"replace_original"`
	DeleteOriginal  flag            `json:"delete_original"`
	ThreadTS        string          `json:"thread_ts"`
}

// flag is a boolean Slack also accepts as the string "true".
type flag bool

// UnmarshalJSON accepts true, false, "true" and "false".
func (f *flag) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(b), `"`)
	*f = flag(s == "true")
	return nil
}

// ResponseURL returns a fresh response_url bound to channel and user, as
// Slack puts in a slash command. Like Slack's, it accepts at most five
// POSTs within thirty minutes (by Options.Now); after that it answers HTTP
// 404 {"ok":false,"error":"expired_url"}.
//
// A POST takes Slack's JSON body: text, blocks, thread_ts, response_type
// ("ephemeral", the default, shows the message to user only; "in_channel"
// posts it publicly, even where the bot is not a member), replace_original
// and delete_original. The last two act on the message an interaction came
// from (see ClickButton); on a URL from ResponseURL there is none, so
// replace_original is ignored and delete_original fails with HTTP 404
// {"ok":false,"error":"message_not_found"}. A malformed body answers HTTP
// 400 (invalid_payload, invalid_blocks, no_text) and does not count as a
// use.
func (s *Server) ResponseURL(channel, user string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.newHookLocked(channel, user, "")
}

func (s *Server) newHookLocked(channel, user, origTS string) string {
	id := randomHex(12)
	s.hooks[id] = &hook{channel: channel, user: user, origTS: origTS, created: s.opts.Now()}
	return s.hs.URL + "/response/" + id
}

func (s *Server) serveResponseURL(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		writeJSON(w, http.StatusMethodNotAllowed, errResult("method_not_allowed"))
		return
	}
	id := strings.TrimPrefix(r.URL.Path, "/response/")
	body, _ := io.ReadAll(io.LimitReader(r.Body, 16<<20))

	s.mu.Lock()
	if s.down {
		s.mu.Unlock()
		drop(w)
		return
	}
	status, res := s.postHookLocked(id, r.Header.Get("Content-Type"), body)
	s.mu.Unlock()
	writeJSON(w, status, res)
}

func (s *Server) postHookLocked(id, contentType string, body []byte) (int, result) {
	h := s.hooks[id]
	if h == nil {
		return http.StatusNotFound, errResult("invalid_url")
	}
	if h.uses >= responseURLUses || s.opts.Now().Sub(h.created) > responseURLLifetime {
		return http.StatusNotFound, errResult("expired_url")
	}
	rp, ok := parseReplyBody(contentType, body)
	if !ok {
		return http.StatusBadRequest, errResult("invalid_payload")
	}
	blocks, problems := normalizeBlocks(rp.Blocks)
	if len(problems) > 0 {
		return http.StatusBadRequest, blocksError("invalid_blocks", problems)
	}
	var orig *message
	if h.origTS != "" {
		orig = s.findMessageLocked(h.channel, h.origTS)
	}
	switch {
	case bool(rp.DeleteOriginal):
		if orig == nil {
			return http.StatusNotFound, errResult("message_not_found")
		}
		h.uses++
		orig.deleted = true
		s.notifyLocked()
		return http.StatusOK, okResult()
	case !hasReplyContent(rp.Text, blocks, rp.Attachments):
		return http.StatusBadRequest, errResult("no_text")
	case bool(rp.ReplaceOriginal) && h.origTS != "":
		if orig == nil {
			return http.StatusNotFound, errResult("message_not_found")
		}
		h.uses++
		orig.Text, orig.Blocks = rp.Text, blocks
		orig.Updated++
		orig.Via = ViaResponseURL
		s.notifyLocked()
		return http.StatusOK, okResult()
	}
	h.uses++
	s.postReplyLocked(h.channel, h.user, rp.Text, blocks, rp.ResponseType, rp.ThreadTS, ViaResponseURL)
	return http.StatusOK, okResult()
}

// postReplyLocked records a message an app sent in answer to a user: an
// ephemeral for user, or with response_type in_channel a public message.
func (s *Server) postReplyLocked(channel, user, text string, blocks json.RawMessage, responseType, threadTS, via string) {
	m := Message{
		Channel:  channel,
		TS:       s.nextTSLocked(),
		ThreadTS: threadTS,
		Text:     text,
		Blocks:   blocks,
		Via:      via,
	}
	if ch := s.channels[channel]; ch != nil && ch.dm {
		m.DM, m.User = true, ch.dmUser
	}
	if responseType != "in_channel" {
		m.Ephemeral, m.User = true, user
	}
	s.addMessageLocked(m)
}

// recordAckReplyLocked records the message an app's immediate answer to a
// slash command produces, if the answer has content. body is JSON if
// isJSON, plain text otherwise.
func (s *Server) recordAckReplyLocked(channel, user string, body []byte, isJSON bool) {
	body = bytes.TrimSpace(body)
	if len(body) == 0 || string(body) == "null" {
		return
	}
	rp := reply{Text: string(body)}
	if isJSON {
		rp = reply{}
		if json.Unmarshal(body, &rp) != nil {
			return
		}
	}
	blocks, problems := normalizeBlocks(rp.Blocks)
	if len(problems) > 0 || !hasReplyContent(rp.Text, blocks, rp.Attachments) {
		return
	}
	s.postReplyLocked(channel, user, rp.Text, blocks, rp.ResponseType, "", ViaAck)
}

func hasReplyContent(text string, blocks, attachments json.RawMessage) bool {
	return strings.TrimSpace(text) != "" || len(blocks) > 0 || hasAttachments(string(attachments))
}

// parseReplyBody reads a JSON body, or a form with the JSON in its
// payload field.
func parseReplyBody(contentType string, body []byte) (reply, bool) {
	ctype, _, _ := mime.ParseMediaType(contentType)
	if ctype == "application/x-www-form-urlencoded" {
		form, err := url.ParseQuery(string(body))
		if err != nil {
			return reply{}, false
		}
		body = []byte(form.Get("payload"))
	}
	var rp reply
	if err := json.Unmarshal(body, &rp); err != nil {
		return reply{}, false
	}
	return rp, true
}

func writeJSON(w http.ResponseWriter, status int, res result) {
	b, _ := json.Marshal(res)
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
