package teams

import (
	"strings"

	"github.com/cippbot/cippbot/bot"
)

// activity is the part of a Bot Framework Activity the adapter reads or
// writes (bot-docs rest-api/bot-framework-rest-connector-api-reference.md).
type activity struct {
	Type           string        `json:"type"`
	ID             string        `json:"id,omitempty"`
	Name           string        `json:"name,omitempty"`
	ServiceURL     string        `json:"serviceUrl,omitempty"`
	ChannelID      string        `json:"channelId,omitempty"`
	From           *account      `json:"from,omitempty"`
	Recipient      *account      `json:"recipient,omitempty"`
	Conversation   *conversation `json:"conversation,omitempty"`
	ReplyToID      string        `json:"replyToId,omitempty"`
	Text           string        `json:"text,omitempty"`
	TextFormat     string        `json:"textFormat,omitempty"`
	Entities       []entity      `json:"entities,omitempty"`
	Attachments    []attachment  `json:"attachments,omitempty"`
	MembersAdded   []account     `json:"membersAdded,omitempty"`
	MembersRemoved []account     `json:"membersRemoved,omitempty"`
	Value          *invokeValue  `json:"value,omitempty"`
	ChannelData    *channelData  `json:"channelData,omitempty"`
}

type account struct {
	ID          string `json:"id"`
	Name        string `json:"name,omitempty"`
	AADObjectID string `json:"aadObjectId,omitempty"`
}

type conversation struct {
	ID               string `json:"id"`
	ConversationType string `json:"conversationType,omitempty"`
	TenantID         string `json:"tenantId,omitempty"`
}

type entity struct {
	Type      string   `json:"type"`
	Text      string   `json:"text,omitempty"`
	Mentioned *account `json:"mentioned,omitempty"`
}

type attachment struct {
	ContentType string `json:"contentType"`
	Content     card   `json:"content"`
}

type channelData struct {
	Tenant *struct {
		ID string `json:"id"`
	} `json:"tenant,omitempty"`
}

type invokeValue struct {
	Action struct {
		Type string         `json:"type"`
		Verb string         `json:"verb"`
		Data map[string]any `json:"data"`
	} `json:"action"`
	Trigger string `json:"trigger"`
}

// tenant returns the activity's tenant: channelData.tenant.id, which must
// agree with conversation.tenantId when both are present.
func (a *activity) tenant() (string, bool) {
	var cd, conv string
	if a.ChannelData != nil && a.ChannelData.Tenant != nil {
		cd = a.ChannelData.Tenant.ID
	}
	if a.Conversation != nil {
		conv = a.Conversation.TenantID
	}
	switch {
	case cd == "" && conv == "":
		return "", false
	case cd != "" && conv != "" && !strings.EqualFold(cd, conv):
		return "", false
	case cd != "":
		return strings.ToLower(cd), true
	}
	return strings.ToLower(conv), true
}

// card is an Adaptive Card (adaptivecards.io schema, version 1.5).
type card struct {
	Type    string    `json:"type"`
	Version string    `json:"version"`
	Schema  string    `json:"$schema,omitempty"`
	Refresh *refresh  `json:"refresh,omitempty"`
	Body    []element `json:"body"`
	Actions []action  `json:"actions,omitempty"`
}

type refresh struct {
	Action  action   `json:"action"`
	UserIDs []string `json:"userIds"`
}

type element struct {
	Type        string `json:"type"`
	Text        string `json:"text,omitempty"`
	Weight      string `json:"weight,omitempty"`
	Color       string `json:"color,omitempty"`
	Wrap        bool   `json:"wrap,omitempty"`
	FontType    string `json:"fontType,omitempty"`
	IsSubtle    bool   `json:"isSubtle,omitempty"`
	ID          string `json:"id,omitempty"`
	Label       string `json:"label,omitempty"`
	IsMultiline bool   `json:"isMultiline,omitempty"`
	IsRequired  bool   `json:"isRequired,omitempty"`
	Value       string `json:"value,omitempty"`
}

type action struct {
	Type  string         `json:"type"`
	Title string         `json:"title,omitempty"`
	Verb  string         `json:"verb"`
	Style string         `json:"style,omitempty"`
	Data  map[string]any `json:"data,omitempty"`
}

// Verbs of the card actions.
const (
	verbApprove = "cipp.approve"
	verbDeny    = "cipp.deny"
	verbCommand = "cipp.cmd"
	verbView    = "cipp.view" // the requester's refresh
	verbReveal  = "cipp.reveal"
	verbAsk     = "cipp.ask"
)

const cardType = "application/vnd.microsoft.card.adaptive"

func toneColor(t bot.Tone) string {
	switch t {
	case bot.ToneOK:
		return "Good"
	case bot.ToneWarn:
		return "Warning"
	case bot.ToneError:
		return "Attention"
	}
	return "Default"
}

// render turns m into a card. Secrets are rendered only when private is
// set (the Reveal invoke response); buttons become Action.Execute.
func render(m bot.Message, private bool) card {
	c := card{Type: "AdaptiveCard", Version: "1.5", Schema: "http://adaptivecards.io/schemas/adaptive-card.json"}
	if m.Title != "" {
		c.Body = append(c.Body, element{Type: "TextBlock", Text: m.Title, Weight: "Bolder", Wrap: true, Color: toneColor(m.Tone)})
	}
	for _, l := range m.Lines {
		c.Body = append(c.Body, element{Type: "TextBlock", Text: l, Wrap: true})
	}
	if private {
		for _, s := range m.Secrets {
			c.Body = append(c.Body, element{Type: "TextBlock", Text: s.Label(), IsSubtle: true, Wrap: true},
				element{Type: "TextBlock", Text: s.Reveal(), FontType: "Monospace", Weight: "Bolder", Wrap: true})
		}
	}
	if len(c.Body) == 0 {
		c.Body = []element{{Type: "TextBlock", Text: " "}}
	}
	for _, b := range m.Buttons {
		c.Actions = append(c.Actions, buttonAction(b))
	}
	return c
}

func buttonAction(b bot.Button) action {
	a := action{Type: "Action.Execute", Title: b.Label, Verb: verbCommand, Data: map[string]any{"cmd": b.Value}}
	switch {
	case strings.HasPrefix(b.Value, "approve "):
		a.Verb, a.Style = verbApprove, "positive"
	case strings.HasPrefix(b.Value, "deny "):
		a.Verb, a.Style = verbDeny, "destructive"
	case b.Danger:
		a.Style = "destructive"
	}
	return a
}

// requesterView is c as its requester sees it: no Approve, a word on why.
func requesterView(c card) card {
	out := c
	out.Body = append(append([]element(nil), c.Body...),
		element{Type: "TextBlock", Text: "Waiting for an approver: you can't approve your own request.", Wrap: true, IsSubtle: true})
	out.Actions = nil
	for _, a := range c.Actions {
		switch a.Verb {
		case verbApprove:
			continue
		case verbDeny:
			a.Title = "Withdraw"
		}
		out.Actions = append(out.Actions, a)
	}
	return out
}

func cardActivity(c card) activity {
	return activity{Type: "message", Attachments: []attachment{{ContentType: cardType, Content: c}}}
}

// plain is the text of m, for short notices.
func plain(m bot.Message) string {
	parts := append([]string{m.Title}, m.Lines...)
	return strings.Join(parts, "\n")
}
