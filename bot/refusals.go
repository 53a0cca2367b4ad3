package bot

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"
)

// Limits on what one refusal may add to the audit trail, and on how many
// refusals of someone with no role are recorded one by one.
const (
	refusalTargets   = 3   // targets named; the rest are counted
	refusalText      = 256 // the command, the reason
	refusalError     = 512 // the error text
	refusalTargetLen = 128 // one target as typed
	// refusalsPerWindow refusals of an actor with no role are recorded
	// one by one in refusalWindow; the rest are counted and summed up in
	// one record when the window is over.
	refusalsPerWindow = 10
	refusalWindow     = time.Minute
)

// refused records a refusal compactly: the verb, the first few targets
// and their count, the command cut short. Refusals of someone with no
// role at all are rate-limited, so that nobody outside cippbot's roles
// can grow the store at will.
func (b *Bot) refused(ctx context.Context, ev Event, rec AuditRecord) {
	rec.Kind, rec.Outcome = KindRefused, "refused"
	rec = compactRefusal(ev, rec)
	if rs, err := b.roles(ctx, ev.Actor.ID); err == nil && rs.Highest() > RoleNone {
		b.record(ctx, ev, rec)
		return
	}
	summary, admit := b.refusals.admit(ev, b.now())
	if summary != nil {
		b.record(ctx, summary.ev, summary.record())
	}
	if admit {
		b.record(ctx, ev, rec)
	}
}

// compactRefusal bounds a refusal record whatever was typed.
func compactRefusal(ev Event, rec AuditRecord) AuditRecord {
	params := map[string]string{}
	for k, v := range rec.Params {
		params[k] = cut(v, refusalText)
	}
	if n := len(rec.Targets); n > refusalTargets {
		params["targets"] = strconv.Itoa(n)
		rec.Targets = rec.Targets[:refusalTargets]
	}
	targets := make([]Target, len(rec.Targets))
	for i, t := range rec.Targets {
		targets[i] = Target{ID: cut(t.ID, refusalTargetLen), UPN: cut(t.UPN, refusalTargetLen), Roles: t.Roles}
	}
	rec.Targets = targets
	if ev.Text != "" {
		params["command"] = cut(ev.Text, refusalText)
	}
	rec.Params = params
	rec.Reason = cut(rec.Reason, refusalText)
	rec.Error = cut(rec.Error, refusalError)
	return rec
}

// cut shortens s to at most n bytes on a rune boundary, marking the cut.
func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	i := n - len("…")
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i] + "…"
}

// refusalLimiter counts the refusals of actors with no role, per actor
// and window. It keeps only windows with something to report.
type refusalLimiter struct {
	mu sync.Mutex
	by map[string]*refusalCount
}

type refusalCount struct {
	start      time.Time
	recorded   int
	suppressed int
	ev         Event // where the last suppressed refusal came from
}

// refusalSummary stands for the refusals of one window that were counted,
// not recorded.
type refusalSummary struct {
	ev         Event
	start, end time.Time
	n          int
}

func (s *refusalSummary) record() AuditRecord {
	return AuditRecord{Kind: KindRefused, Actor: s.ev.Actor, Outcome: "refused",
		Params: map[string]string{"refused": strconv.Itoa(s.n), "from": s.start.Format(time.RFC3339), "until": s.end.Format(time.RFC3339)},
		Error: fmt.Sprintf("%d more refused requests from someone with no role between %s and %s, counted here instead of recorded one by one (over %d a minute)",
			s.n, s.start.Format("15:04:05Z"), s.end.Format("15:04:05Z"), refusalsPerWindow)}
}

// admit reports whether this refusal may be recorded, and returns the
// summary of the actor's previous window if it ended with refusals left
// unrecorded.
func (l *refusalLimiter) admit(ev Event, now time.Time) (*refusalSummary, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.by == nil {
		l.by = map[string]*refusalCount{}
	}
	var summary *refusalSummary
	c := l.by[ev.Actor.ID]
	if c != nil && now.Sub(c.start) >= refusalWindow {
		summary = c.summary()
		c = nil
	}
	if c == nil {
		l.prune(now)
		c = &refusalCount{start: now}
		l.by[ev.Actor.ID] = c
	}
	if c.recorded < refusalsPerWindow {
		c.recorded++
		return summary, true
	}
	c.suppressed++
	c.ev = ev
	return summary, false
}

func (c *refusalCount) summary() *refusalSummary {
	if c.suppressed == 0 {
		return nil
	}
	return &refusalSummary{ev: c.ev, start: c.start, end: c.start.Add(refusalWindow), n: c.suppressed}
}

// prune forgets windows that are over and have nothing to report.
func (l *refusalLimiter) prune(now time.Time) {
	for id, c := range l.by {
		if now.Sub(c.start) >= refusalWindow && c.suppressed == 0 {
			delete(l.by, id)
		}
	}
}

// flush returns the summaries of windows that are over, and forgets them.
func (l *refusalLimiter) flush(now time.Time) []*refusalSummary {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []*refusalSummary
	for id, c := range l.by {
		if now.Sub(c.start) < refusalWindow {
			continue
		}
		if s := c.summary(); s != nil {
			out = append(out, s)
		}
		delete(l.by, id)
	}
	return out
}

// flushRefusals writes the summaries of finished windows; Sweep calls it.
func (b *Bot) flushRefusals(ctx context.Context) {
	for _, s := range b.refusals.flush(b.now()) {
		b.record(ctx, s.ev, s.record())
	}
}

// visibleReason reports whether a reason says something: letters or digits
// left after removing spaces, zero-width, format and control characters.
func visibleReason(s string) bool {
	for _, r := range s {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			return true
		}
	}
	return false
}
