package faketeams

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Activity is an incoming activity as Teams sends it (bot-docs
// rest-api/bot-framework-rest-connector-api-reference.md, Activity object;
// msteams-docs conversation-messages.md).
type Activity = map[string]any

// MessageActivity is a message from u in conv. mention, if true, makes it
// a channel message that @mentions the bot, as Teams sends those
// (msteams-docs create-a-bot-commands-menu.md: "<at>" in text plus a
// mention entity).
func (s *Server) MessageActivity(u User, conv, text string, mention bool) Activity {
	a := s.base("message", u, conv)
	if mention {
		at := "<at>cippbot</at>"
		a["text"] = at + " " + text
		a["entities"] = []any{map[string]any{"type": "mention", "text": at,
			"mentioned": map[string]any{"id": "28:" + s.AppID, "name": "cippbot"}}}
	} else {
		a["text"] = text
	}
	return a
}

// InvokeActivity is an Action.Execute click by u on the card replyTo in
// conv: an "adaptiveCard/action" invoke (msteams-docs Universal-actions…/
// User-Specific-Views.md). trigger is "manual" or "automatic" (a refresh).
func (s *Server) InvokeActivity(u User, conv, replyTo, verb string, data map[string]any, trigger string) Activity {
	a := s.base("invoke", u, conv)
	a["name"] = "adaptiveCard/action"
	a["replyToId"] = replyTo
	a["value"] = map[string]any{"action": map[string]any{"type": "Action.Execute", "verb": verb, "data": data}, "trigger": trigger}
	return a
}

// InstallActivity is the conversationUpdate a bot gets when u adds it in
// their personal scope.
func (s *Server) InstallActivity(u User, conv string) Activity {
	a := s.base("conversationUpdate", u, conv)
	a["membersAdded"] = []any{map[string]any{"id": "28:" + s.AppID}}
	return a
}

func (s *Server) base(typ string, u User, conv string) Activity {
	s.mu.Lock()
	c := s.convs[conv]
	s.mu.Unlock()
	ctype := "channel"
	if c != nil && c.personal {
		ctype = "personal"
	}
	return Activity{"type": typ, "id": "f:" + randHex(10), "timestamp": time.Now().UTC().Format(time.RFC3339Nano),
		"serviceUrl": s.ServiceURL(), "channelId": "msteams",
		"from":         map[string]any{"id": u.MRI, "name": u.Name, "aadObjectId": u.AAD},
		"conversation": map[string]any{"id": conv, "conversationType": ctype, "tenantId": s.TenantID},
		"recipient":    map[string]any{"id": "28:" + s.AppID, "name": "cippbot"},
		"channelData":  map[string]any{"tenant": map[string]any{"id": s.TenantID}}}
}

// Deliver posts a to the bot's endpoint with a token signed by the main
// key, as the Bot Framework does, and returns the status and body.
func (s *Server) Deliver(endpoint string, a Activity) (int, string, error) {
	sv, _ := a["serviceUrl"].(string)
	return s.DeliverWith(endpoint, a, "Bearer "+Sign(s.MainKey(), s.Claims(sv)))
}

// DeliverWith posts a with the given Authorization header. The answer is
// recorded, so that invoke responses, which only the clicker sees, are in
// the log.
func (s *Server) DeliverWith(endpoint string, a Activity, auth string) (int, string, error) {
	body, err := json.Marshal(a)
	if err != nil {
		return 0, "", err
	}
	req, err := http.NewRequest(http.MethodPost, endpoint, bytes.NewReader(body))
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Content-Type", "application/json")
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	s.record(Request{Method: "DELIVER", Path: endpoint, Header: req.Header.Clone(), Body: string(body), Response: string(out), Status: resp.StatusCode})
	return resp.StatusCode, string(out), nil
}

// ClaimsWith returns Claims(serviceURL) with some claims replaced; a nil
// value removes the claim.
func (s *Server) ClaimsWith(serviceURL string, set map[string]any) jwt.MapClaims {
	c := s.Claims(serviceURL)
	for k, v := range set {
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
	}
	return c
}

// String describes a message for test failures.
func (m Message) String() string {
	b, _ := json.Marshal(m.Activity)
	return fmt.Sprintf("%s/%s (%d updates): %s", m.Conversation, m.ID, m.Updates, b)
}
