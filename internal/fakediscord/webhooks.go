package fakediscord

import "net/http"

// webhookLocked resolves an interaction webhook: unknown application or
// token is 404 Unknown Webhook; a token older than TokenLifetime is 401
// Invalid Webhook Token.
func (s *Server) webhookLocked(app, token string) (*interactionState, reply, bool) {
	it := s.byToken[token]
	if app != s.opts.AppID || it == nil || it.kind == interactionPing {
		return nil, errUnknownWebhook(), false
	}
	if s.opts.Now().Sub(it.created) > TokenLifetime {
		return nil, errInvalidToken(), false
	}
	return it, reply{}, true
}

// followupLocked is POST /webhooks/{app}/{token}: a follow-up message. It
// answers the message with 200 when wait is set, else 204.
//
// As on Discord, a follow-up is refused with Unknown Webhook until the
// interaction has been answered, and the first follow-up after a deferred
// response (type 5) whose message is still loading fills that message in,
// keeping its visibility, instead of creating a new one.
func (s *Server) followupLocked(app, token string, wait bool, body []byte) reply {
	it, rp, ok := s.webhookLocked(app, token)
	if !ok {
		return rp
	}
	if !it.acked {
		return errUnknownWebhook()
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
	if b.content == "" && b.components == nil && b.embeds == nil && isNull(obj["poll"]) {
		return errEmptyMessage()
	}
	var m *message
	if o := it.original; o != nil && o.Flags&FlagLoading != 0 && !o.Deleted && o.ixn == it {
		// The deferred "thinking" message becomes the follow-up.
		fill := b
		fill.hasContent, fill.hasComponents, fill.hasEmbeds = true, true, true
		fill.nullComponents = false
		fill.hasFlags = true
		if rp, ok := s.editLocked(o, fill, true, ViaFollowup); !ok {
			return rp
		}
		m = o
	} else {
		m = s.addMessageLocked(it.channelID, b, b.flags&(createFlags|FlagEphemeral), ViaFollowup, it)
	}
	s.notifyLocked()
	if !wait {
		return noContent()
	}
	return jsonReply(http.StatusOK, s.renderLocked(m))
}

// webhookMessageLocked is GET, PATCH and DELETE of
// /webhooks/{app}/{token}/messages/{id}, where id is "@original" or the ID
// of a message of this interaction (its response or a follow-up).
// @original before any response is Unknown Message. Edits keep an
// ephemeral ephemeral; a components field of null is ignored.
func (s *Server) webhookMessageLocked(method, app, token, msgID string, body []byte) reply {
	it, rp, ok := s.webhookLocked(app, token)
	if !ok {
		return rp
	}
	var m *message
	via := ViaFollowup
	if msgID == "@original" {
		m, via = it.original, ViaOriginal
	} else if c := s.msgIndex[msgID]; c != nil && (c.ixn == it || c == it.original) {
		m = c
		if c == it.original {
			via = ViaOriginal
		}
	}
	if m == nil || m.Deleted {
		return errUnknownMessage()
	}
	switch method {
	case http.MethodDelete:
		m.Deleted = true
		s.notifyLocked()
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
		if rp, ok := s.editLocked(m, b, false, via); !ok {
			return rp
		}
		s.notifyLocked()
	}
	return jsonReply(http.StatusOK, s.renderLocked(m))
}
