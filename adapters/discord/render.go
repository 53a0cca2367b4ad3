package discord

import (
	"strings"

	"github.com/bwmarrin/discordgo"

	"github.com/cippbot/cippbot/bot"
)

// Discord's limits on a message.
const (
	maxContent  = 2000
	maxCustomID = 100
	maxLabel    = 80
	maxButtons  = 5
)

var toneEmoji = [...]string{bot.ToneInfo: "ℹ️", bot.ToneOK: "✅", bot.ToneWarn: "⚠️", bot.ToneError: "❌"}

// render turns m into message content and buttons, phone first: the title
// in bold, short lines, buttons in one row. Secrets are included only when
// private is true.
func render(m bot.Message, private bool) (string, []discordgo.MessageComponent) {
	var b strings.Builder
	if m.Title != "" {
		b.WriteString("**" + toneEmoji[m.Tone] + " " + escape(m.Title) + "**")
	}
	for _, l := range m.Lines {
		b.WriteString("\n" + escape(l))
	}
	var secrets strings.Builder
	if private {
		for _, s := range m.Secrets {
			// The pool has no backticks, so a code span shows it exactly.
			secrets.WriteString("\n**" + escape(s.Label()) + "**: `" + s.Reveal() + "`")
		}
	}
	content := b.String()
	// Never cut a secret: trim the lines instead.
	if room := maxContent - len(secrets.String()); len(content) > room {
		content = content[:max(0, room-len("…"))] + "…"
		content = strings.ToValidUTF8(content, "")
	}
	content += secrets.String()

	var buttons []discordgo.MessageComponent
	for _, bt := range m.Buttons {
		if len(buttons) == maxButtons || len(bt.Value) > maxCustomID {
			continue
		}
		style := discordgo.PrimaryButton
		if bt.Danger {
			style = discordgo.DangerButton
		}
		label := bt.Label
		if len(label) > maxLabel {
			label = label[:maxLabel]
		}
		buttons = append(buttons, discordgo.Button{Label: label, Style: style, CustomID: bt.Value})
	}
	if len(buttons) == 0 {
		return content, []discordgo.MessageComponent{}
	}
	return content, []discordgo.MessageComponent{discordgo.ActionsRow{Components: buttons}}
}

// escape stops Discord markdown in text that came from chat or a tenant.
// Mentions are defused by sending empty allowed_mentions, not here, so a
// UPN copied from the message stays exact.
func escape(s string) string {
	return strings.NewReplacer(`\`, `\\`, "*", `\*`, "_", `\_`, "`", "\\`", "~", `\~`, "|", `\|`).Replace(s)
}

// split cuts a private message too long for one Discord message into
// several, at line breaks, so that nothing is lost to the 2,000-character
// limit: each part repeats the title (marked as continued), the buttons end
// the last. A message with secrets is never split (render keeps its
// secrets whole).
func split(m bot.Message) []bot.Message {
	title := func(t string) int {
		if t == "" {
			return 0
		}
		return len("**" + toneEmoji[m.Tone] + " " + escape(t) + "**")
	}
	size := title(m.Title)
	for _, l := range m.Lines {
		size += len("\n" + escape(l))
	}
	if len(m.Secrets) > 0 || size <= maxContent {
		return []bot.Message{m}
	}
	more := m.Title + " (continued)"
	var out []bot.Message
	cur := bot.Message{Title: m.Title, Tone: m.Tone}
	size = title(cur.Title)
	for _, l := range m.Lines {
		n := len("\n" + escape(l))
		if size+n > maxContent && len(cur.Lines) > 0 {
			out = append(out, cur)
			cur = bot.Message{Title: more, Tone: m.Tone}
			size = title(more)
		}
		cur.Lines = append(cur.Lines, l)
		size += n
	}
	cur.Buttons = m.Buttons
	return append(out, cur)
}
