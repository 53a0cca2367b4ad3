package bot

import (
	"context"
	"slices"
	"strings"

	"github.com/cippbot/cippbot/actions"
)

// formNeeded reports whether the request lacks what its action's form
// requires, so that the form is offered instead of a refusal. A typed
// address stands in for the address fields; a request read from a file
// has said all it will.
func (in *intake) formNeeded() bool {
	f := in.a.Form
	if f == nil || in.fromFile {
		return false
	}
	if len(in.cmd.Targets) == 0 {
		return true
	}
	for _, k := range f.Required {
		if k == f.User || k == f.Domain {
			continue
		}
		if strings.TrimSpace(in.params[k]) == "" {
			return true
		}
	}
	return false
}

// form is the private message that offers the action's form, prefilled
// with what was typed; a typed address fills the address fields, and a
// bound channel's tenant the domain.
func (b *Bot) form(ctx context.Context, in *intake) Message {
	a, f, p := in.a, in.a.Form, in.params
	if p[f.Domain] == "" && in.binding.TenantID != "" {
		if t, err := b.lookupTenant(ctx, in.binding.TenantID); err == nil {
			p = p.Clone()
			p[f.Domain] = t.DefaultDomain
		}
	}
	if len(in.cmd.Targets) == 1 {
		user, domain, _ := strings.Cut(in.cmd.Targets[0], "@")
		p = p.Clone()
		p[f.User], p[f.Domain] = user, domain
	}
	ask := &Ask{Title: f.Title, Command: rebuild(a, nil, withoutKeys(p, f.Fields), in.cmd.Reason, "", "")}
	for _, k := range f.Fields {
		prm := a.Param(k)
		if prm == nil {
			continue
		}
		ask.Fields = append(ask.Fields, AskField{Key: k, Label: fieldLabel(prm), Value: p[k],
			Required: slices.Contains(f.Required, k), Long: slices.Contains(f.Long, k)})
	}
	return Message{
		Title: f.Heading,
		Lines: []string{"Or type them: /cipp " + a.Name + " " + f.Typed},
		Tone:  ToneInfo,
		Ask:   ask,
	}
}

// fieldLabel capitalizes a parameter's summary for a form.
func fieldLabel(p *actions.Param) string {
	s := p.Summary
	if s == "" {
		s = p.Name
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

func withoutKeys(p actions.Params, keys []string) actions.Params {
	q := p.Clone()
	for _, k := range keys {
		delete(q, k)
	}
	return q
}
