package bot

import (
	"bytes"
	"context"
	"encoding/csv"
	"regexp"
	"slices"
	"strings"

	"github.com/cippbot/cippbot/actions"
)

// newUserRowsFromFiles reads bulk-add's CSV: a header of add-user's field
// names, one user per row. It returns the users' addresses and the rows
// to pin to the approval.
func newUserRowsFromFiles(files []File) ([]string, string, error) {
	if len(files) != 1 {
		return nil, "", actions.Errorf(actions.EINVALID, "attach one CSV of the users to create")
	}
	f := files[0]
	if len(f.Data) > MaxFileSize {
		return nil, "", actions.Errorf(actions.EINVALID, "%s is larger than %d KiB", f.Name, MaxFileSize/1024)
	}
	data := bytes.TrimPrefix(f.Data, []byte("\ufeff"))
	r := csv.NewReader(bytes.NewReader(data))
	r.FieldsPerRecord = -1
	r.Comment = '#'
	r.TrimLeadingSpace = true
	if bytes.Count(data, []byte(";")) > bytes.Count(data, []byte(",")) {
		r.Comma = ';'
	}
	all, err := r.ReadAll()
	if err != nil {
		return nil, "", actions.Errorf(actions.EINVALID, "%s is not a readable CSV: %v", f.Name, err)
	}
	if len(all) < 2 {
		return nil, "", actions.Errorf(actions.EINVALID, "%s needs a header line (displayName,mailNickname,primDomain,…) and a line per user", f.Name)
	}
	for i, h := range all[0] {
		if !fieldName.MatchString(strings.TrimSpace(h)) {
			return nil, "", actions.Errorf(actions.EINVALID,
				"%s column %d of the header is not one of add-user's field names (displayName, mailNickname, primDomain, …); its contents are not shown", f.Name, i+1)
		}
	}
	upns, rows, err := actions.NewUserRows(all[0], all[1:])
	if err != nil {
		return nil, "", err
	}
	if len(upns) > maxTargets {
		return nil, "", actions.Errorf(actions.EINVALID, "at most %d users per request", maxTargets)
	}
	return upns, rows, nil
}

// fieldName is the shape of a bulk-add header cell; anything else is not
// quoted back.
var fieldName = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]{0,39}$`)

// formNeeded reports whether a request to create a user lacks what the
// form requires (an address may stand in for mailNickname and primDomain).
func formNeeded(a *actions.Action, p actions.Params, haveTarget bool) bool {
	if !haveTarget {
		return true
	}
	for _, k := range a.FormRequired {
		if k == "mailnickname" || k == "primdomain" {
			continue
		}
		if strings.TrimSpace(p[k]) == "" {
			return true
		}
	}
	return false
}

// newUserForm is the private message that asks for a new user's fields
// as a form, prefilled with what was typed; the domain of a bound
// channel's tenant is filled in.
func (b *Bot) newUserForm(ctx context.Context, a *actions.Action, p actions.Params, cmd Command, tenantID string) Message {
	if p["primdomain"] == "" && tenantID != "" {
		if t, err := b.lookupTenant(ctx, tenantID); err == nil {
			p = p.Clone()
			p["primdomain"] = t.DefaultDomain
		}
	}
	if len(cmd.Targets) == 1 {
		nick, dom, _ := strings.Cut(cmd.Targets[0], "@")
		p = p.Clone()
		p["mailnickname"], p["primdomain"] = nick, dom
	}
	ask := &Ask{Title: "New user", Command: rebuild(a, nil, withoutKeys(p, a.Form), cmd.Reason, "", "")}
	for _, k := range a.Form {
		prm := a.Param(k)
		if prm == nil {
			continue
		}
		ask.Fields = append(ask.Fields, AskField{Key: k, Label: fieldLabel(prm), Value: p[k],
			Required: slices.Contains(a.FormRequired, k), Long: k == "addedaliasses"})
	}
	return Message{
		Title: "Fill in the new user's details",
		Lines: []string{"Or type them: /cipp " + a.Name + ` displayName="Jane Doe" mailNickname=jane primDomain=contoso.com`},
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
