package bot

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/cippbot/cippbot/actions"
)

// pendingCard is the approval card: what, where, who, why, until when.
func pendingCard(a *actions.Action, ap Approval) Message {
	m := Message{
		Title: fmt.Sprintf("Approval needed: %s %s", a.Name, targetList(ap.Targets)),
		Tone:  ToneWarn,
		Buttons: []Button{
			{Label: "Approve", Value: "approve " + ap.ID},
			{Label: "Deny", Value: "deny " + ap.ID, Danger: true},
		},
	}
	m.Lines = append(m.Lines, "Tenant: "+ap.TenantDomain)
	if p := paramText(a, ap.Params); p != "" {
		m.Lines = append(m.Lines, "Options: "+p)
	}
	reason := ap.Reason
	if reason == "" {
		reason = "(none given)"
	}
	m.Lines = append(m.Lines, "Reason: "+reason)
	if a.Secret {
		m.Lines = append(m.Lines, "The secret goes privately to "+ap.Requester.String()+".")
	}
	for _, w := range ap.Why {
		m.Lines = append(m.Lines, "⚠ "+w)
	}
	if n := ap.needed(); n > 1 {
		got := make([]string, len(ap.Approvers))
		for i, p := range ap.Approvers {
			got[i] = p.String()
		}
		line := fmt.Sprintf("Approvals: %d of %d", len(got), n)
		if len(got) > 0 {
			line += " (" + strings.Join(got, ", ") + ")"
		}
		m.Lines = append(m.Lines, line)
	}
	m.Lines = append(m.Lines, fmt.Sprintf("Asked by %s · expires %s · id %s", ap.Requester, ap.ExpiresAt.UTC().Format("15:04Z"), ap.ID))
	return m
}

// targetList names up to three targets, then counts the rest.
func targetList(ts []Target) string {
	const shown = 3
	s := make([]string, 0, shown)
	for _, t := range ts[:min(shown, len(ts))] {
		s = append(s, t.UPN)
	}
	if len(ts) <= shown {
		return strings.Join(s, ", ")
	}
	return fmt.Sprintf("%s and %d more (%d users)", strings.Join(s, ", "), len(ts)-shown, len(ts))
}

// paramText shows the declared parameters that were given, in declaration
// order; a false flag is left out.
func paramText(a *actions.Action, p map[string]string) string {
	var parts []string
	for _, prm := range a.Params {
		v, ok := p[prm.Name]
		if !ok {
			continue
		}
		if prm.Kind == actions.ParamBool {
			if v == "true" {
				parts = append(parts, prm.Name)
			}
			continue
		}
		parts = append(parts, prm.Name+"="+v)
	}
	return strings.Join(parts, ", ")
}

// decidedCard is a card after the decision: no buttons, who and what.
func decidedCard(a *actions.Action, ap Approval, title string, tone Tone) Message {
	m := Message{Title: title, Tone: tone}
	m.Lines = append(m.Lines, "Tenant: "+ap.TenantDomain)
	if p := paramText(a, ap.Params); p != "" {
		m.Lines = append(m.Lines, "Options: "+p)
	}
	if ap.Reason != "" {
		m.Lines = append(m.Lines, "Reason: "+ap.Reason)
	}
	m.Lines = append(m.Lines, fmt.Sprintf("Asked by %s · id %s", ap.Requester, ap.ID))
	return m
}

// updateCard updates the approval's card in place; it reports whether it did.
func (b *Bot) updateCard(ctx context.Context, ap Approval, m Message) bool {
	chat := b.Chats[ap.Platform]
	if chat == nil || ap.Card == "" {
		return false
	}
	if len(m.Secrets) > 0 {
		b.log().ErrorContext(ctx, "refused to put a secret on a card")
		return false
	}
	if err := chat.Update(ctx, ap.Channel, ap.Card, m); err != nil {
		b.log().WarnContext(ctx, "card update failed", LogApproval, ap.ID, "err", err)
		return false
	}
	return true
}

// timeOr formats t, or returns "-" for the zero time.
func timeOr(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format("01-02 15:04Z")
}
