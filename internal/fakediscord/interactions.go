package fakediscord

import (
	"bytes"
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Interaction types.
const (
	interactionPing        = 1
	interactionCommand     = 2
	interactionComponent   = 3
	interactionModalSubmit = 5
)

// callbackAllowed reports whether callback type typ may answer an
// interaction of type kind.
func callbackAllowed(kind, typ int) bool {
	switch kind {
	case interactionPing:
		return typ == 1
	case interactionCommand:
		return typ == 4 || typ == 5 || typ == 9
	case interactionComponent:
		return typ == 4 || typ == 5 || typ == 6 || typ == 7 || typ == 9
	case interactionModalSubmit:
		// 6 and 7 only for a modal opened from a component; see
		// callbackLocked.
		return typ == 4 || typ == 5 || typ == 6 || typ == 7
	}
	return false
}

// Fixed values put in interaction payloads.
const (
	appPermissions = "562949953421311"
	locale         = "en-US"
	memberJoinedAt = "2024-01-01T00:00:00.000000+00:00"
	deliverAgent   = "Discord-Interactions/1.0 (+https://discord.com)"
)

// interactionState is what the server remembers of an interaction.
type interactionState struct {
	id, token   string
	kind        int
	channelID   string
	guildID     string // "" in DMs
	userID      string
	commandName string
	created     time.Time
	acked       bool
	ackType     int
	// componentMsg is the message a clicked component is on.
	componentMsg *message
	// original is the @original message: the response created by
	// callback 4 or 5, or the component's message after callback 6 or 7.
	original *message
	// modal is the modal a modal submit interaction submits.
	modal *modalState
}

// owners is the authorizing_integration_owners object: the guild for a
// guild install used in a guild, "0" in the bot's DM.
func (it *interactionState) owners() map[string]string {
	if it.guildID == "" {
		return map[string]string{"0": "0"}
	}
	return map[string]string{"0": it.guildID}
}

// PublicKey returns the instance's Ed25519 public key, which verifies the
// signatures Sign makes.
func (s *Server) PublicKey() ed25519.PublicKey {
	return append(ed25519.PublicKey(nil), s.pub...)
}

// PublicKeyHex returns PublicKey hex-encoded, as the Discord developer
// portal shows it.
func (s *Server) PublicKeyHex() string { return hex.EncodeToString(s.pub) }

// Sign returns the headers Discord adds to an interaction it POSTs:
// X-Signature-Timestamp (ts in Unix seconds) and X-Signature-Ed25519 (hex
// Ed25519 signature of the timestamp followed by body).
func (s *Server) Sign(body []byte, ts time.Time) http.Header {
	stamp := strconv.FormatInt(ts.Unix(), 10)
	msg := make([]byte, 0, len(stamp)+len(body))
	msg = append(msg, stamp...)
	msg = append(msg, body...)
	h := http.Header{}
	h.Set("X-Signature-Ed25519", hex.EncodeToString(ed25519.Sign(s.priv, msg)))
	h.Set("X-Signature-Timestamp", stamp)
	return h
}

// newInteractionLocked registers an interaction of kind by user in
// channel. A channel ID starting with "dm" is a DM: it is opened for user
// if the server does not know it. Other unknown channels are taken to be
// in DefaultGuildID (but the bot cannot post in them).
func (s *Server) newInteractionLocked(kind int, chID, user string) *interactionState {
	it := &interactionState{kind: kind, channelID: chID, userID: user}
	it.created = s.opts.Now()
	it.id = s.snowflakeAtLocked(it.created) // one reading: the ID's time is the creation's
	it.token = newToken(it.id)
	if chID != "" {
		ch := s.channels[chID]
		if ch == nil && strings.HasPrefix(chID, "dm") {
			ch = s.openDMLocked(strings.TrimPrefix(chID, "dm"))
		}
		switch {
		case ch == nil:
			it.guildID = DefaultGuildID
		case !ch.dm:
			it.guildID = ch.guildID
		}
	}
	s.interactions[it.id] = it
	s.byToken[it.token] = it
	return it
}

// payloadLocked builds the JSON Discord POSTs for it.
func (s *Server) payloadLocked(it *interactionState, data json.RawMessage, msg *message) []byte {
	obj := map[string]any{
		"id":                             it.id,
		"application_id":                 s.opts.AppID,
		"type":                           it.kind,
		"token":                          it.token,
		"version":                        1,
		"app_permissions":                appPermissions,
		"locale":                         locale,
		"authorizing_integration_owners": it.owners(),
		"entitlements":                   []any{},
		"entitlement_sku_ids":            []any{},
		"attachment_size_limit":          10485760,
		"channel_id":                     it.channelID,
	}
	if data != nil {
		obj["data"] = data
	}
	if msg != nil {
		obj["message"] = s.renderLocked(msg)
	}
	if it.guildID != "" {
		obj["context"] = 0
		obj["guild_id"] = it.guildID
		obj["guild_locale"] = locale
		obj["guild"] = map[string]any{"id": it.guildID, "locale": locale, "features": []any{}}
		obj["channel"] = map[string]any{
			"id":          it.channelID,
			"type":        0,
			"guild_id":    it.guildID,
			"name":        it.channelID,
			"flags":       0,
			"nsfw":        false,
			"parent_id":   nil,
			"permissions": appPermissions,
		}
		obj["member"] = map[string]any{
			"user":                         userObject(it.userID),
			"roles":                        []any{},
			"permissions":                  "0",
			"joined_at":                    memberJoinedAt,
			"nick":                         nil,
			"avatar":                       nil,
			"banner":                       nil,
			"premium_since":                nil,
			"communication_disabled_until": nil,
			"deaf":                         false,
			"mute":                         false,
			"pending":                      false,
			"flags":                        0,
		}
	} else {
		obj["context"] = 1
		obj["channel"] = map[string]any{
			"id":         it.channelID,
			"type":       1,
			"flags":      0,
			"recipients": []any{userObject(it.userID)},
		}
		obj["user"] = userObject(it.userID)
	}
	if it.kind == interactionPing {
		obj = map[string]any{
			"id":             it.id,
			"application_id": s.opts.AppID,
			"type":           it.kind,
			"token":          it.token,
			"version":        1,
			"entitlements":   []any{},
		}
	}
	b, err := json.Marshal(obj)
	if err != nil {
		panic("fakediscord: encoding interaction: " + err.Error())
	}
	return b
}

func (it *interactionState) export(body []byte) Interaction {
	return Interaction{ID: it.id, Token: it.token, Body: body, CreatedAt: it.created}
}

// Command builds the interaction Discord sends when user runs an
// application command in channel (type 2). data is the application command
// data object, e.g. {"name":"cipp","type":1,"options":[...]}; when it has
// no "id", the ID of the registered command of that name (guild commands
// first, then global) is filled in, or a fresh snowflake. In a guild
// channel the payload carries guild_id and member; in a DM channel (ID
// starting "dm") it carries user instead, and that DM channel is opened.
// Command does not check that user can see channel.
func (s *Server) Command(channel, user string, data json.RawMessage) Interaction {
	s.mu.Lock()
	defer s.mu.Unlock()
	it := s.newInteractionLocked(interactionCommand, channel, user)
	var obj object
	if err := json.Unmarshal(data, &obj); err == nil && obj != nil {
		it.commandName, _ = str(obj["name"])
		if _, ok := obj["id"]; !ok {
			typ := intOf(obj["type"])
			if typ == 0 {
				typ = 1
			}
			id := s.commandIDs[commandKey(it.guildID, typ, it.commandName)]
			if id == "" {
				id = s.commandIDs[commandKey("", typ, it.commandName)]
			}
			if id == "" {
				id = s.newSnowflakeLocked()
			}
			obj["id"], _ = json.Marshal(id)
			data, _ = json.Marshal(obj)
		}
	}
	if data != nil {
		data = compact(data)
	}
	return it.export(s.payloadLocked(it, data, nil))
}

// Click builds the interaction Discord sends when user clicks the button
// with customID on msg (type 3, data {"custom_id":...,"component_type":2},
// with the message as the server now has it). It fails if the server does
// not have msg in channel, if msg was deleted, if user cannot see it (not
// a member of the channel, or an ephemeral for someone else), or if msg no
// longer shows an enabled button with that custom_id.
func (s *Server) Click(channel, user string, msg Message, customID string) (Interaction, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.msgIndex[msg.ID]
	switch {
	case m == nil || m.ChannelID != channel:
		return Interaction{}, fmt.Errorf("fakediscord: no message %s in channel %s", msg.ID, channel)
	case m.Deleted:
		return Interaction{}, fmt.Errorf("fakediscord: message %s was deleted", msg.ID)
	case !s.canSeeLocked(user, m):
		return Interaction{}, fmt.Errorf("fakediscord: user %s cannot see message %s", user, msg.ID)
	}
	var comps any
	_ = json.Unmarshal(m.Components, &comps)
	found, disabled := findButton(comps, customID)
	if !found {
		return Interaction{}, fmt.Errorf("fakediscord: message %s has no button %q", msg.ID, customID)
	}
	if disabled {
		return Interaction{}, fmt.Errorf("fakediscord: button %q on message %s is disabled", customID, msg.ID)
	}
	it := s.newInteractionLocked(interactionComponent, channel, user)
	it.componentMsg = m
	data, _ := json.Marshal(map[string]any{"custom_id": customID, "component_type": 2})
	return it.export(s.payloadLocked(it, data, m)), nil
}

// canSeeLocked reports whether user can see m.
func (s *Server) canSeeLocked(user string, m *message) bool {
	if m.Ephemeral || m.For != "" {
		return m.For == user
	}
	ch := s.channels[m.ChannelID]
	return ch == nil || len(ch.members) == 0 || ch.members[user]
}

// findButton looks through a components tree for a button (type 2) with
// customID.
func findButton(v any, customID string) (found, disabled bool) {
	switch t := v.(type) {
	case []any:
		for _, e := range t {
			if f, d := findButton(e, customID); f {
				return f, d
			}
		}
	case map[string]any:
		if typ, _ := t["type"].(float64); typ == 2 {
			if id, _ := t["custom_id"].(string); id == customID {
				d, _ := t["disabled"].(bool)
				return true, d
			}
		}
		for _, k := range []string{"components", "accessory"} {
			if f, d := findButton(t[k], customID); f {
				return f, d
			}
		}
	}
	return false, false
}

// Ping builds the PING interaction (type 1) Discord sends to check an
// endpoint; the app must answer it inline with {"type":1}.
func (s *Server) Ping() Interaction {
	s.mu.Lock()
	defer s.mu.Unlock()
	it := s.newInteractionLocked(interactionPing, "", "")
	return it.export(s.payloadLocked(it, nil, nil))
}

// Deliver signs in.Body with the current time (Options.Now) and POSTs it to
// target, as Discord does; see DeliverAt.
func (s *Server) Deliver(target string, in Interaction) (*http.Response, error) {
	return s.DeliverAt(target, in, s.opts.Now())
}

// DeliverAt POSTs in.Body to target signed with timestamp ts, as Discord
// POSTs interactions to an app's interactions endpoint, and records the
// exchange (see Deliveries). The returned response's body has been read
// and can be read again.
//
// A 200 response is the app's initial response given inline: its body is
// applied exactly as a POST to the callback route would be (same deadline,
// same checks). If it is rejected, DeliverAt returns the response together
// with an error describing Discord's answer. Any other status (202 meaning
// "I will call back", or an error such as 401 for a bad signature) is only
// recorded. The error is also non-nil if the request fails.
func (s *Server) DeliverAt(target string, in Interaction, ts time.Time) (*http.Response, error) {
	req, err := http.NewRequest(http.MethodPost, target, bytes.NewReader(in.Body))
	if err != nil {
		return nil, err
	}
	for k, v := range s.Sign(in.Body, ts) {
		req.Header[k] = v
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", deliverAgent)
	resp, err := s.client.Do(req)
	if err != nil {
		s.recordDelivery(Delivery{InteractionID: in.ID, Target: target, Error: err.Error()})
		return nil, err
	}
	body, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(body))
	d := Delivery{InteractionID: in.ID, Target: target, Status: resp.StatusCode, Response: body}
	if err != nil {
		d.Error = err.Error()
		s.recordDelivery(d)
		return resp, err
	}
	var applyErr error
	if resp.StatusCode == http.StatusOK {
		s.mu.Lock()
		it := s.interactions[in.ID]
		rp := errUnknownInteraction()
		if it != nil && it.token == in.Token {
			rp = s.callbackLocked(it, body, true)
		}
		s.mu.Unlock()
		if rp.status >= 300 {
			applyErr = fmt.Errorf("fakediscord: inline interaction response rejected: HTTP %d %s", rp.status, rp.body)
			d.Error = applyErr.Error()
		}
	}
	s.recordDelivery(d)
	return resp, applyErr
}

func (s *Server) recordDelivery(d Delivery) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d.At = s.opts.Now()
	s.deliveries = append(s.deliveries, d)
	s.notifyLocked()
}

// callbackRouteLocked is POST /interactions/{id}/{token}/callback.
func (s *Server) callbackRouteLocked(id, token string, body []byte) reply {
	it := s.interactions[id]
	if it == nil || it.token != token {
		return errUnknownInteraction()
	}
	return s.callbackLocked(it, body, false)
}

// callbackLocked applies an initial response to it.
func (s *Server) callbackLocked(it *interactionState, body []byte, inline bool) reply {
	if s.opts.Now().Sub(it.created) > CallbackDeadline {
		return errUnknownInteraction()
	}
	if it.acked {
		return errAcknowledged()
	}
	obj, ok := parseObject(body)
	if !ok || obj == nil {
		return errBadJSON()
	}
	var p problems
	typ := intOf(obj["type"])
	fromComponent := it.componentMsg != nil
	if !callbackAllowed(it.kind, typ) || (it.kind == interactionModalSubmit && (typ == 6 || typ == 7) && !fromComponent) {
		p.add([]string{"type"}, "INTERACTION_RESPONSE_TYPE_INVALID", "Interaction response type %d is not valid for interaction type %d", typ, it.kind)
		return p.reply()
	}
	var data object
	if raw := obj["data"]; !isNull(raw) {
		if err := json.Unmarshal(raw, &data); err != nil {
			p.add([]string{"data"}, "MODEL_TYPE_CONVERT", "Only dictionaries may be used in a ModelType")
			return p.reply()
		}
	}
	dp := []string{"data"}
	switch typ {
	case 4:
		b := parseMsgBody(data, &p, dp)
		if !p.empty() {
			return p.reply()
		}
		if b.content == "" && b.components == nil && b.embeds == nil {
			return errEmptyMessage()
		}
		it.original = s.addMessageLocked(it.channelID, b, b.flags&(createFlags|FlagEphemeral), ViaCallback, it)
	case 5:
		flags := intOf(data["flags"])&FlagEphemeral | FlagLoading
		it.original = s.addMessageLocked(it.channelID, msgBody{}, flags, ViaCallback, it)
	case 6:
		it.original = it.componentMsg
	case 7:
		m := it.componentMsg
		if m == nil || m.Deleted {
			return errUnknownMessage()
		}
		b := parseMsgBody(data, &p, dp)
		if !p.empty() {
			return p.reply()
		}
		if rp, ok := s.editLocked(m, b, false, ViaCallback); !ok {
			return rp
		}
		it.original = m
	case 9:
		checkModal(data, &p, dp)
		if !p.empty() {
			return p.reply()
		}
		s.addModalLocked(it, obj["data"])
	}
	it.acked, it.ackType = true, typ
	if it.modal != nil {
		// Discord closes a modal once its submission is answered.
		it.modal.Closed = true
	}
	cb := Callback{InteractionID: it.id, Type: typ, Inline: inline, At: s.opts.Now()}
	if raw := obj["data"]; !isNull(raw) {
		cb.Data = compact(raw)
	}
	s.callbacks = append(s.callbacks, cb)
	s.notifyLocked()
	return noContent()
}
