package fakediscord

import (
	"encoding/json"
	"net/http"
	"strings"
)

// Message types the fake produces.
const (
	typeDefault     = 0
	typeChatCommand = 20
)

// createFlags are the flags a new channel message may carry.
const createFlags = FlagSuppressEmbeds | FlagSuppressNotifications | flagComponentsV2

// parseObject decodes a JSON object body; empty input and null give nil.
func parseObject(body []byte) (object, bool) {
	if isNull(body) {
		return nil, true
	}
	var obj object
	if err := json.Unmarshal(body, &obj); err != nil {
		return nil, false
	}
	return obj, true
}

// isEmpty reports a message with nothing to show.
func isEmpty(m *Message) bool {
	return m.Content == "" && m.Components == nil && m.Embeds == nil
}

// addMessageLocked stores a new message built from b in channel chID.
func (s *Server) addMessageLocked(chID string, b msgBody, flags int, via string, it *interactionState) *message {
	m := &message{Message: Message{
		ID:         s.newSnowflakeLocked(),
		ChannelID:  chID,
		Content:    b.content,
		Components: b.components,
		Embeds:     b.embeds,
		Flags:      flags,
		Via:        via,
		Type:       typeDefault,
		Timestamp:  s.opts.Now(),
	}}
	if ch := s.channels[chID]; ch != nil {
		m.GuildID = ch.guildID
		if ch.dm {
			m.For = ch.recipient
		}
	} else if it != nil {
		m.GuildID = it.guildID
	}
	if it != nil {
		m.ixn = it
		m.InteractionID = it.id
		m.Type = typeChatCommand
		if flags&FlagEphemeral != 0 {
			m.Ephemeral = true
			m.For = it.userID
		}
	}
	s.msgs = append(s.msgs, m)
	s.msgIndex[m.ID] = m
	return m
}

// editLocked applies b to m as an edit written through via. A components
// field of null leaves components unchanged unless nullClears (the channel
// message route clears them; webhook and callback routes ignore null, as
// Discord's do). Content and embeds present as null are cleared. Only the
// SUPPRESS_EMBEDS flag can change; an ephemeral stays ephemeral. An edit
// that would leave the message empty is refused.
func (s *Server) editLocked(m *message, b msgBody, nullClears bool, via string) (reply, bool) {
	next := m.Message
	if b.hasContent {
		next.Content = b.content
	}
	if b.hasEmbeds {
		next.Embeds = b.embeds
	}
	if b.hasComponents && (!b.nullComponents || nullClears) {
		next.Components = b.components
	}
	if b.hasFlags {
		next.Flags = next.Flags&^FlagSuppressEmbeds | b.flags&FlagSuppressEmbeds
	}
	next.Flags &^= FlagLoading
	if isEmpty(&next) {
		return errEmptyMessage(), false
	}
	next.Via = via
	next.Edits++
	m.Message = next
	m.edited = s.opts.Now()
	return reply{}, true
}

// renderLocked returns m as Discord's message object.
func (s *Server) renderLocked(m *message) map[string]any {
	comps, embeds := m.Components, m.Embeds
	if comps == nil {
		comps = json.RawMessage("[]")
	}
	if embeds == nil {
		embeds = json.RawMessage("[]")
	}
	var edited any
	if !m.edited.IsZero() {
		edited = timestamp(m.edited)
	}
	out := map[string]any{
		"id":               m.ID,
		"type":             m.Type,
		"content":          m.Content,
		"channel_id":       m.ChannelID,
		"author":           s.botUser(false),
		"attachments":      []any{},
		"embeds":           embeds,
		"mentions":         []any{},
		"mention_roles":    []any{},
		"pinned":           false,
		"mention_everyone": false,
		"tts":              false,
		"timestamp":        timestamp(m.Timestamp),
		"edited_timestamp": edited,
		"flags":            m.Flags,
		"components":       comps,
	}
	if it := m.ixn; it != nil {
		out["webhook_id"] = s.opts.AppID
		out["application_id"] = s.opts.AppID
		meta := map[string]any{
			"id":                             it.id,
			"type":                           it.kind,
			"user":                           userObject(it.userID),
			"authorizing_integration_owners": it.owners(),
		}
		if it.componentMsg != nil {
			meta["interacted_message_id"] = it.componentMsg.ID
		}
		if it.original != nil && it.original != m {
			meta["original_response_message_id"] = it.original.ID
		}
		out["interaction_metadata"] = meta
		if it.kind == interactionCommand {
			out["interaction"] = map[string]any{
				"id":   it.id,
				"type": it.kind,
				"name": it.commandName,
				"user": userObject(it.userID),
			}
		}
	}
	return out
}

// channelPostLocked is POST /channels/{id}/messages.
func (s *Server) channelPostLocked(chID string, body []byte) reply {
	ch := s.channels[chID]
	if ch == nil {
		return errUnknownChannel()
	}
	obj, ok := parseObject(body)
	if !ok {
		return errBadJSON()
	}
	var p problems
	b := parseMsgBody(obj, &p, nil)
	if !p.empty() {
		return p.reply()
	}
	if b.content == "" && b.components == nil && b.embeds == nil && isNull(obj["sticker_ids"]) && isNull(obj["poll"]) {
		return errEmptyMessage()
	}
	m := s.addMessageLocked(chID, b, b.flags&createFlags, channelVia(ch), nil)
	return jsonReply(http.StatusOK, s.renderLocked(m))
}

func channelVia(ch *channel) string {
	if ch.dm {
		return ViaDM
	}
	return ViaChannel
}

// channelMessageLocked is GET, PATCH and DELETE of
// /channels/{id}/messages/{id}. Ephemeral messages are not reachable
// through channel routes.
func (s *Server) channelMessageLocked(method, chID, msgID string, body []byte) reply {
	ch := s.channels[chID]
	if ch == nil {
		return errUnknownChannel()
	}
	m := s.msgIndex[msgID]
	if m == nil || m.ChannelID != chID || m.Deleted || m.Ephemeral {
		return errUnknownMessage()
	}
	switch method {
	case http.MethodDelete:
		m.Deleted = true
		return noContent()
	case http.MethodPatch:
		obj, ok := parseObject(body)
		if !ok {
			return errBadJSON()
		}
		var p problems
		b := parseMsgBody(obj, &p, nil)
		if !p.empty() {
			return p.reply()
		}
		if rp, ok := s.editLocked(m, b, true, channelVia(ch)); !ok {
			return rp
		}
	}
	return jsonReply(http.StatusOK, s.renderLocked(m))
}

// dmChannelID is the ID of the DM channel with user.
func dmChannelID(user string) string { return "dm" + user }

// openDMLocked returns the DM channel with user, creating it if needed.
func (s *Server) openDMLocked(user string) *channel {
	id := dmChannelID(user)
	ch := s.channels[id]
	if ch == nil {
		ch = &channel{id: id, dm: true, recipient: user, members: map[string]bool{user: true}}
		s.channels[id] = ch
	}
	return ch
}

// dmCreateLocked is POST /users/@me/channels.
func (s *Server) dmCreateLocked(body []byte) reply {
	obj, ok := parseObject(body)
	if !ok {
		return errBadJSON()
	}
	user, _ := str(obj["recipient_id"])
	if strings.TrimSpace(user) == "" {
		var p problems
		p.add([]string{"recipient_id"}, "BASE_TYPE_REQUIRED", "This field is required")
		return p.reply()
	}
	ch := s.openDMLocked(user)
	return jsonReply(http.StatusOK, map[string]any{
		"id":              ch.id,
		"type":            1,
		"flags":           0,
		"last_message_id": nil,
		"recipients":      []any{userObject(user)},
	})
}
