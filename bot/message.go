package bot

import (
	"context"
	"strings"

	"github.com/cippbot/cippbot/actions"
)

// Secret is a password or temporary access pass; see actions.Secret.
type Secret = actions.Secret

// Tone colours a message: adapters may show it as an emoji or a colour.
type Tone int

// Tones.
const (
	ToneInfo Tone = iota
	ToneOK
	ToneWarn
	ToneError
)

// Button is a clickable choice. Value is the command text a click stands
// for ("approve 7f3a1c"); an adapter that has no buttons shows it to type.
type Button struct {
	Label  string
	Value  string
	Danger bool
}

// Message is a platform-neutral reply, phone first: Title is the most
// important fact, Lines are short, and choices are Buttons. Secrets are
// only ever put in private messages, and only adapters reveal them.
type Message struct {
	Title   string
	Lines   []string
	Buttons []Button
	Tone    Tone
	Secrets []Secret
	// Ask, if non-nil, puts a question to the reader (a private message
	// only); adapters show a form (a modal, a prompt) and send the
	// completed command back as a new event.
	Ask *Ask
}

// Ask is a question whose answers complete a command: each answer is
// added to Command as key="answer". A one-question Ask sets Label and
// Field; a form (add-user's) sets Fields instead.
type Ask struct {
	Title   string // what is asked, e.g. "Why block AdeleV@contoso.com?"
	Label   string // the field's label, e.g. "Reason"
	Field   string // the command's key, e.g. "reason"
	Command string // the command text the answers complete
	// Fields, if set, make the question a form of several inputs, in
	// order, required ones first. Adapters that cap a form's inputs
	// (Discord: 5) show the first ones.
	Fields []AskField
}

// AskField is one input of a form.
type AskField struct {
	Key      string // the command's key, e.g. "displayName"
	Label    string // e.g. "Display name"
	Value    string // prefilled answer
	Required bool
	Long     bool // several lines (aliases, one per line)
}

// Inputs returns the question's inputs: Fields, or the one Label/Field.
func (a Ask) Inputs() []AskField {
	if len(a.Fields) > 0 {
		return a.Fields
	}
	return []AskField{{Key: a.Field, Label: a.Label, Required: true, Long: true}}
}

// Button returns the label of the button that opens the form.
func (a Ask) Button() string {
	if len(a.Fields) > 0 {
		return "Fill in the form"
	}
	return "Give a " + strings.ToLower(a.Label)
}

// Complete returns the command with the one answer added.
func (a Ask) Complete(answer string) string {
	return a.CompleteForm(map[string]string{a.Inputs()[0].Key: answer})
}

// CompleteForm returns the command with the answers added, by key, in the
// order of Inputs; blank answers are left out.
func (a Ask) CompleteForm(answers map[string]string) string {
	out := a.Command
	for _, f := range a.Inputs() {
		v := strings.TrimSpace(answers[f.Key])
		if v == "" {
			continue
		}
		out += " " + f.Key + "=" + Quote(v)
	}
	return out
}

// Responder answers one incoming event. Adapters implement it per event.
type Responder interface {
	// Private sends m to the event's actor alone (ephemeral).
	Private(ctx context.Context, m Message) error
	// Public posts m to the event's channel and returns a reference that
	// Chat.Update accepts. m never holds secrets.
	Public(ctx context.Context, m Message) (ref string, err error)
}

// Chat is what the bot needs from a chat platform outside of answering an
// event: updating an earlier card, and writing privately to someone other
// than the current actor (the requester, when someone else approved).
type Chat interface {
	// Update replaces the message ref in channel with m. m never holds
	// secrets.
	Update(ctx context.Context, channel, ref string, m Message) error
	// Notify sends m privately to user, in or near channel.
	Notify(ctx context.Context, channel string, user Actor, m Message) error
}

// Event is one thing a person did in chat: typed a command or clicked a
// button (whose Value then arrives as Text).
type Event struct {
	Platform  string // "console", "slack", "discord"
	Workspace string // Slack team or Discord guild
	Channel   string
	Actor     Actor
	Text      string
	// Files are attachments sent with the command: lists of users for a
	// bulk action (CSV with a userPrincipalName/UPN/mail column, or one
	// user per line).
	Files []File
}

// File is an attachment's name and contents.
type File struct {
	Name string
	Data []byte
}

// MaxFileSize bounds an attachment adapters accept.
const MaxFileSize = 1 << 20

// Action and Param are the action declarations, re-exported so that chat
// adapters can register commands from them without importing actions.
type (
	Action = actions.Action
	Param  = actions.Param
)

// Parameter kinds, re-exported for adapters.
const (
	ParamString = actions.ParamString
	ParamBool   = actions.ParamBool
	ParamInt    = actions.ParamInt
	ParamEnum   = actions.ParamEnum
)

// Risks, re-exported for adapters.
const (
	RiskRead        = actions.RiskRead
	RiskChange      = actions.RiskChange
	RiskDestructive = actions.RiskDestructive
)
