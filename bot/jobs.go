package bot

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cippbot/cippbot/actions"
)

// jobSchedule is when, after a job is kept, it is tried: the writes left
// for later wait on Exchange Online learning of a new user, which
// typically takes minutes.
var jobSchedule = []time.Duration{5 * time.Minute, 15 * time.Minute, 30 * time.Minute}

// keepLater stores what a run left for later (Outcome.Later) as jobs.
func (b *Bot) keepLater(ctx context.Context, a *actions.Action, ap Approval, results []actions.Result) {
	now := b.now()
	for _, x := range results {
		if x.Err != nil {
			continue
		}
		for _, l := range x.Outcome.Later {
			j := Job{ID: randomHex() + randomHex(), Action: a.Name, ApprovalID: ap.ID, TenantID: ap.TenantID, TenantDomain: ap.TenantDomain,
				Target: Target{ID: x.Target.ID, UPN: x.Target.UPN}, What: l.What, Op: l.Op, Requester: ap.Requester,
				Platform: ap.Platform, Workspace: ap.Workspace, Channel: ap.Channel, CreatedAt: now, NextAt: now.Add(jobSchedule[0])}
			if err := b.Store.PutJob(ctx, j); err != nil {
				b.log().ErrorContext(ctx, "could not keep a job for later", LogAction, a.Name, "what", l.What, "err", err)
				b.notify(ctx, ap, errorMessage(fmt.Sprintf("%s: %s was not done and could not be kept for later; do it by hand.", x.Target.UPN, l.What)))
			}
		}
	}
}

// RunJobs tries the jobs that are due: one that succeeds, or fails its
// last try, is recorded in the audit, reported to its requester and
// removed. Sweep calls it.
func (b *Bot) RunJobs(ctx context.Context) error {
	jobs, err := b.Store.Jobs(ctx)
	if err != nil {
		return err
	}
	for _, j := range jobs {
		if b.now().Before(j.NextAt) {
			continue
		}
		b.runJob(ctx, j)
	}
	return nil
}

func (b *Bot) runJob(ctx context.Context, j Job) {
	ap := Approval{ID: j.ApprovalID, Requester: j.Requester, Platform: j.Platform, Workspace: j.Workspace, Channel: j.Channel}
	err := b.Runner.ApplyLater(ctx, j.TenantID, []actions.Op{j.Op})[0]
	j.Attempts++
	if err != nil && j.Attempts < len(jobSchedule) {
		j.NextAt, j.LastError = j.CreatedAt.Add(jobSchedule[j.Attempts]), errorDetail(err)
		if perr := b.Store.PutJob(ctx, j); perr != nil {
			b.log().ErrorContext(ctx, "could not keep a job for its next try", "job", j.ID, "err", perr)
		}
		return
	}
	if derr := b.Store.DeleteJob(ctx, j.ID); derr != nil && !errors.Is(derr, ErrNotFound) {
		b.log().ErrorContext(ctx, "could not remove a finished job; it may run again", "job", j.ID, "err", derr)
	}
	rec := AuditRecord{Kind: KindOutcome, Actor: j.Requester, Action: j.Action, TenantID: j.TenantID, Tenant: j.TenantDomain,
		Targets: []Target{j.Target}, Params: map[string]string{"later": j.What, "tries": fmt.Sprint(j.Attempts)},
		ApprovalID: j.ApprovalID, Outcome: "ok"}
	m := Message{Title: fmt.Sprintf("%s: done later: %s", j.Target.UPN, j.What), Tone: ToneOK}
	if err != nil {
		rec.Outcome, rec.Error = "failed", errorDetail(err)
		m = errorMessage(fmt.Sprintf("%s: %s failed after %d tries; do it by hand", j.Target.UPN, j.What, j.Attempts),
			b.userError(ctx, err))
	}
	b.recordAt(ctx, ap, rec)
	b.notify(ctx, ap, m)
}
