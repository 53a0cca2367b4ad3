package bot

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/cippbot/cippbot/actions"
)

// A rehearsal (/cipp check contoso.com rehearse alice@contoso.com, or
// cippbot check --rehearse alice@contoso.com) runs the read-only part of
// every action against one user and changes nothing; see
// actions.Service.Rehearse. It is audited as one check record.

// KindCheck is the audit kind of a rehearsal.
const KindCheck = "check"

// rehearser is what a Runner offers to rehearse; *actions.Service does.
type rehearser interface {
	Rehearse(ctx context.Context, tenantID string, c *actions.Catalogue, upn string) (actions.RehearsalReport, error)
}

var _ rehearser = (*actions.Service)(nil)

// splitRehearse takes a rehearsal's words out of a check command: the
// word "rehearse" (or --rehearse, or rehearse=user) and the user after
// it. It returns the command left, with the user's domain as its tenant
// when none is named, and the user; upn is "" when cmd is a plain check.
func splitRehearse(cmd Command) (Command, string, error) {
	named := cmd.Named["rehearse"]
	word := slices.IndexFunc(cmd.Positional, func(w string) bool { return strings.EqualFold(w, "rehearse") })
	flag := slices.Contains(cmd.Flags, "rehearse")
	if named == "" && word < 0 && !flag {
		return cmd, "", nil
	}
	rest := cmd
	rest.Named, rest.Flags = map[string]string{}, nil
	rest.Positional = slices.Clone(cmd.Positional)
	if word >= 0 {
		rest.Positional = slices.Delete(rest.Positional, word, word+1)
	}
	upn := named
	switch {
	case upn == "" && len(cmd.Targets) == 1:
		upn, rest.Targets = cmd.Targets[0], nil
	case upn == "" || len(cmd.Targets) > 0:
		return cmd, "", fmt.Errorf("rehearse takes one user@domain: /cipp check contoso.com rehearse alice@contoso.com")
	}
	_, domain, ok := strings.Cut(upn, "@")
	if !ok || domain == "" {
		return cmd, "", fmt.Errorf("rehearse takes one user@domain, not %q", upn)
	}
	if len(rest.Positional) == 0 {
		rest.Positional = []string{domain}
	}
	return rest, upn, nil
}

// Rehearse runs a rehearsal of every action against the user upn in the
// tenant named tenant (its domain or alias; "" means the user's domain)
// for "cippbot check --rehearse", on behalf of ev's actor, and records it
// as one check record. The error is for a tenant it cannot find.
func (b *Bot) Rehearse(ctx context.Context, ev Event, tenant, upn string) (Message, error) {
	if tenant == "" {
		_, tenant, _ = strings.Cut(upn, "@")
	}
	t, err := b.lookupTenant(ctx, tenant)
	if err != nil {
		return Message{}, err
	}
	return b.rehearse(ctx, ev, t, upn), nil
}

// rehearse runs the rehearsal in t, records it and renders it: the
// failures first, then the count of ready actions.
func (b *Bot) rehearse(ctx context.Context, ev Event, t Tenant, upn string) Message {
	rec := AuditRecord{Kind: KindCheck, Action: "check", TenantID: t.ID, Tenant: t.DefaultDomain,
		Targets: []Target{{UPN: upn}}, Params: map[string]string{"rehearse": upn}}
	r, ok := b.Runner.(rehearser)
	if !ok {
		rec.Outcome, rec.Error = "failed", "this runner cannot rehearse"
		b.record(ctx, ev, rec)
		return errorMessage("This cippbot cannot rehearse.")
	}
	ctx, trace := actions.WithTrace(ctx)
	start := b.now()
	rep, err := r.Rehearse(ctx, t.ID, b.Catalogue, upn)
	rec.RequestIDs, rec.DurationMS = trace.IDs(), b.now().Sub(start).Milliseconds()
	if err != nil {
		rec.Outcome, rec.Error = "failed", err.Error()
		b.record(ctx, ev, rec)
		return Message{Title: fmt.Sprintf("%s: rehearsal on %s could not run", t.DefaultDomain, upn), Tone: ToneError,
			Lines: []string{b.userError(ctx, err)}}
	}
	rec.Targets = []Target{{ID: rep.User.ID, UPN: rep.User.UPN}}
	rec.Params["ready"] = fmt.Sprintf("%d of %d", rep.Ready(), len(rep.Actions))
	rec.Outcome = "ok"
	if bad := rep.NotReady(); len(bad) > 0 {
		rec.Outcome = "partial"
		rec.Error = rep.Summary()
	}
	if err := b.record(ctx, ev, rec); err != nil {
		return errorMessage("The rehearsal ran but could not be audited: " + b.userError(ctx, err))
	}
	m := Message{Title: fmt.Sprintf("%s: rehearsal on %s, nothing changed", t.DefaultDomain, rep.User.UPN),
		Lines: rep.Lines(), Tone: ToneOK}
	if len(rep.NotReady()) > 0 {
		m.Tone = ToneWarn
	}
	return m
}
