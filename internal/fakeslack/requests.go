package fakeslack

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Sign returns the headers Slack adds to a request it sends an app:
// X-Slack-Request-Timestamp (ts in Unix seconds) and X-Slack-Signature
// ("v0=" + hex HMAC-SHA256 of "v0:<ts>:<body>" keyed by the signing
// secret).
func (s *Server) Sign(body []byte, ts time.Time) http.Header {
	return signature(s.opts.SigningSecret, body, ts)
}

func signature(secret string, body []byte, ts time.Time) http.Header {
	stamp := strconv.FormatInt(ts.Unix(), 10)
	mac := hmac.New(sha256.New, []byte(secret))
	_, _ = mac.Write([]byte("v0:" + stamp + ":"))
	_, _ = mac.Write(body)
	h := http.Header{}
	h.Set("X-Slack-Request-Timestamp", stamp)
	h.Set("X-Slack-Signature", "v0="+hex.EncodeToString(mac.Sum(nil)))
	return h
}

// slashFields returns the fields of a slash command, in Slack's order.
func (s *Server) slashFieldsLocked(command, text, channel, user string) [][2]string {
	return [][2]string{
		{"token", VerificationToken},
		{"team_id", s.opts.TeamID},
		{"team_domain", TeamDomain},
		{"channel_id", channel},
		{"channel_name", s.channelNameLocked(channel)},
		{"user_id", user},
		{"user_name", userName(user)},
		{"command", command},
		{"text", text},
		{"api_app_id", AppID},
		{"is_enterprise_install", "false"},
		{"response_url", s.newHookLocked(channel, user, "")},
		{"trigger_id", s.newTriggerLocked(user)},
	}
}

func (s *Server) triggerIDLocked() string {
	return fmt.Sprintf("%d.%d.%s", s.nextSeqLocked(), s.opts.Now().Unix(), randomHex(16))
}

// SlashCommandPayload returns a slash command as the JSON payload of a
// Socket Mode slash_commands envelope, with the fields of the form
// SlashCommand sends (a fresh response_url and a unique trigger_id, which
// views.open accepts once within 3 seconds). It does not check that the
// user is in the channel.
func (s *Server) SlashCommandPayload(command, text, channel, user string) json.RawMessage {
	s.mu.Lock()
	fields := s.slashFieldsLocked(command, text, channel, user)
	s.mu.Unlock()
	obj := map[string]string{}
	for _, f := range fields {
		if f[0] != "is_enterprise_install" {
			obj[f[0]] = f[1]
		}
	}
	b, _ := json.Marshal(obj)
	return b
}

// SlashCommand plays user typing "command text" in channel: it builds the
// form body Slack sends (token, team_id, team_domain, channel_id,
// channel_name, user_id, user_name, command, text, api_app_id,
// is_enterprise_install, response_url from ResponseURL, a unique
// trigger_id that views.open accepts once within 3 seconds), signs it
// with the time from Options.Now and POSTs it to target, the app's slash
// command URL.
//
// It fails without sending if channel is unknown or user is not a member.
// If the app answers 200 with a body, that body becomes a message as on
// Slack (Via "ack"; JSON with text/blocks/response_type, or plain text;
// ephemeral to user unless response_type is in_channel). The response is
// returned with its body intact; the caller must close it.
func (s *Server) SlashCommand(target, command, text, channel, user string) (*http.Response, error) {
	s.mu.Lock()
	if err := s.checkUserInChannelLocked(channel, user); err != nil {
		s.mu.Unlock()
		return nil, err
	}
	fields := s.slashFieldsLocked(command, text, channel, user)
	s.mu.Unlock()

	var b strings.Builder
	for i, f := range fields {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(f[0] + "=" + url.QueryEscape(f[1]))
	}
	resp, err := s.postSigned(target, []byte(b.String()))
	if err != nil {
		return nil, err
	}
	body, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(body))
	if err != nil {
		return resp, err
	}
	if resp.StatusCode == http.StatusOK {
		ctype, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
		s.mu.Lock()
		s.recordAckReplyLocked(channel, user, body, ctype == "application/json")
		s.mu.Unlock()
	}
	return resp, nil
}

func (s *Server) checkUserInChannelLocked(channel, user string) error {
	ch := s.channels[channel]
	if ch == nil {
		return fmt.Errorf("fakeslack: unknown channel %q (add it with AddChannel)", channel)
	}
	if !ch.members[user] {
		return fmt.Errorf("fakeslack: user %q is not a member of channel %q", user, channel)
	}
	return nil
}

// postSigned POSTs a form body signed with the time from Options.Now.
func (s *Server) postSigned(target string, body []byte) (*http.Response, error) {
	req, err := http.NewRequest(http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("User-Agent", "Slackbot 1.0 (+https://api.slack.com/robots)")
	for k, v := range s.Sign(body, s.opts.Now()) {
		req.Header[k] = v
	}
	return s.client.Do(req)
}

// ClickButton plays user clicking the button with actionID and value in
// msg: it builds the block_actions payload Slack sends (see
// BlockActionsPayload), signs the form body payload=<json> and POSTs it to
// target, the app's interactivity URL. The caller must close the response.
//
// It fails without sending unless the message, as the server currently
// has it (looked up by msg.Channel and msg.TS; msg's other fields are
// ignored), still exists, is visible to user (an ephemeral only to its
// reader, a DM only to its member) and shows such a button.
func (s *Server) ClickButton(target string, msg Message, actionID, value, user string) (*http.Response, error) {
	payload, err := s.blockActions(msg, actionID, value, user, true)
	if err != nil {
		return nil, err
	}
	return s.postSigned(target, []byte("payload="+url.QueryEscape(string(payload))))
}

// BlockActionsPayload returns the block_actions payload for user clicking
// a button, for a Socket Mode interactive envelope (ClickButton sends the
// same payload over HTTP). It carries a fresh response_url whose
// replace_original and delete_original act on the message, a unique
// trigger_id (views.open accepts it once within 3 seconds) and action_ts.
// As on Slack, the payload has no message field when the message is
// ephemeral (container.message_ts identifies it).
//
// Unlike ClickButton it does not check the button: it describes the
// server's current copy of msg if there is one, else msg as given. Use
// SocketModeClickButton for a checked click over Socket Mode.
func (s *Server) BlockActionsPayload(msg Message, actionID, value, user string) json.RawMessage {
	payload, _ := s.blockActions(msg, actionID, value, user, false)
	return payload
}

func (s *Server) blockActions(msg Message, actionID, value, user string, check bool) (json.RawMessage, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := msg
	cur := s.findMessageLocked(msg.Channel, msg.TS)
	if cur != nil {
		m = cur.snapshot()
	}
	btn, found := findButton(m.Blocks, actionID, value)
	if check {
		switch {
		case cur == nil:
			return nil, fmt.Errorf("fakeslack: no message %s in channel %q (never posted, or deleted)", msg.TS, msg.Channel)
		case m.Ephemeral && m.User != user:
			return nil, fmt.Errorf("fakeslack: ephemeral message %s is visible only to %q, not %q", m.TS, m.User, user)
		case m.DM && m.User != user:
			return nil, fmt.Errorf("fakeslack: DM message %s is visible only to %q, not %q", m.TS, m.User, user)
		case !found:
			return nil, fmt.Errorf("fakeslack: message %s shows no button %s=%s (buttons: %v)",
				m.TS, actionID, value, buttons(m.Blocks))
		}
	}
	if !found {
		btn = button{blockID: "b1", actionID: actionID, value: value}
	}
	if len(btn.text) == 0 {
		btn.text = json.RawMessage(`{"type":"plain_text","text":"x","emoji":true}`)
	}
	action := map[string]any{
		"action_id": btn.actionID,
		"block_id":  btn.blockID,
		"text":      btn.text,
		"value":     btn.value,
		"type":      "button",
		"action_ts": s.nextTSLocked(),
	}
	if btn.style != "" {
		action["style"] = btn.style
	}
	container := map[string]any{
		"type":         "message",
		"message_ts":   m.TS,
		"channel_id":   m.Channel,
		"is_ephemeral": m.Ephemeral,
	}
	if m.ThreadTS != "" {
		container["thread_ts"] = m.ThreadTS
	}
	p := map[string]any{
		"type": "block_actions",
		"user": map[string]any{
			"id":       user,
			"username": userName(user),
			"name":     userName(user),
			"team_id":  s.opts.TeamID,
		},
		"api_app_id":   AppID,
		"token":        VerificationToken,
		"container":    container,
		"trigger_id":   s.newTriggerLocked(user),
		"team":         map[string]any{"id": s.opts.TeamID, "domain": TeamDomain},
		"enterprise":   nil,
		"channel":      map[string]any{"id": m.Channel, "name": s.channelNameLocked(m.Channel)},
		"response_url": s.newHookLocked(m.Channel, user, m.TS),
		"actions":      []any{action},
		"state":        map[string]any{"values": map[string]any{}},
	}
	if !m.Ephemeral {
		obj := map[string]any{
			"type":   "message",
			"user":   s.opts.BotUserID,
			"bot_id": BotID,
			"app_id": AppID,
			"team":   s.opts.TeamID,
			"ts":     m.TS,
			"text":   m.Text,
		}
		if len(m.Blocks) > 0 {
			obj["blocks"] = m.Blocks
		}
		if m.ThreadTS != "" {
			obj["thread_ts"] = m.ThreadTS
		}
		p["message"] = obj
	}
	b, err := json.Marshal(p)
	if err != nil {
		return nil, fmt.Errorf("fakeslack: encoding block_actions payload: %w", err)
	}
	return b, nil
}
