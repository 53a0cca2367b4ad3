package slack

import (
	"strings"

	slackapi "github.com/slack-go/slack"

	"github.com/cippbot/cippbot/bot"
)

// Slack allows 3000 characters in a section's text; stay well under.
const maxSection = 2800

var toneEmoji = [...]string{bot.ToneInfo: "ℹ️", bot.ToneOK: "✅", bot.ToneWarn: "⚠️", bot.ToneError: "❌"}

// escape escapes the three characters Slack's mrkdwn treats as control
// characters.
func escape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

// actionIDPrefix marks cippbot's buttons; the rest of the action ID is the
// verb ("cipp_approve"), and the button's value is the command it stands
// for ("approve 7f3a1c").
const actionIDPrefix = "cipp_"

// blocks renders m as Block Kit, phone first: the title in bold, then the
// lines as one short section, then buttons. Secrets are rendered only when
// private is true.
func blocks(m bot.Message, private bool) []slackapi.Block {
	var out []slackapi.Block
	title := "*" + toneEmoji[m.Tone] + " " + escape(m.Title) + "*"
	out = append(out, section(title))
	var chunk strings.Builder
	for _, l := range m.Lines {
		l = escape(l)
		if chunk.Len()+len(l)+1 > maxSection && chunk.Len() > 0 {
			out = append(out, section(chunk.String()))
			chunk.Reset()
		}
		if chunk.Len() > 0 {
			chunk.WriteByte('\n')
		}
		chunk.WriteString(l)
	}
	if chunk.Len() > 0 {
		out = append(out, section(chunk.String()))
	}
	if private {
		for _, s := range m.Secrets {
			out = append(out, section("*"+escape(s.Label())+"*\n`"+escape(s.Reveal())+"`"))
		}
	}
	if len(m.Buttons) > 0 {
		els := make([]slackapi.BlockElement, 0, len(m.Buttons))
		for _, b := range m.Buttons {
			verb, _, _ := strings.Cut(b.Value, " ")
			btn := slackapi.NewButtonBlockElement(actionIDPrefix+verb, b.Value,
				slackapi.NewTextBlockObject(slackapi.PlainTextType, b.Label, false, false))
			if b.Danger {
				btn = btn.WithStyle(slackapi.StyleDanger)
			} else {
				btn = btn.WithStyle(slackapi.StylePrimary)
			}
			els = append(els, btn)
		}
		out = append(out, slackapi.NewActionBlock("cipp_buttons", els...))
	}
	return out
}

func section(mrkdwn string) *slackapi.SectionBlock {
	return slackapi.NewSectionBlock(slackapi.NewTextBlockObject(slackapi.MarkdownType, mrkdwn, false, false), nil, nil)
}

// fallback is the notification text of a message: its title only, never a
// secret.
func fallback(m bot.Message) string { return m.Title }
