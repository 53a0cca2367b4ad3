// Package bot is cippbot's platform-neutral engine: the command grammar,
// routing, authorization, the approval lifecycle, the reply model and the
// rules for delivering secrets. Chat adapters translate platform events into
// Events and render Messages; the actions runner talks to Microsoft 365; the
// store keeps approvals, grants, tenants and the audit trail.
package bot

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/cippbot/cippbot/actions"
)

// Log keys, in one place.
const (
	LogPlatform = "platform"
	LogActor    = "actor"
	LogAction   = "action"
	LogTenant   = "tenant"
	LogApproval = "approval"
	LogRef      = "ref"
)

// Runner runs actions against tenants; *actions.Service satisfies it.
type Runner interface {
	LookupUsers(ctx context.Context, tenantID string, ids []string) ([]actions.User, []error)
	LookupTargets(ctx context.Context, tenantID string, a *actions.Action, ids []string) ([]actions.User, []error)
	Prepare(ctx context.Context, tenantID string, a *actions.Action, targets []actions.User, p actions.Params) (actions.Params, error)
	Run(ctx context.Context, tenantID string, a *actions.Action, targetIDs []string, p actions.Params, progress actions.Progress) []actions.Result
	FindUsers(ctx context.Context, tenantID, name string, max int) ([]actions.User, error)
	Check(ctx context.Context, tenantID string, c *actions.Catalogue) (actions.CheckReport, error)
	DirectoryRoles(ctx context.Context, tenantID string, userIDs []string) ([][]actions.RoleHeld, []error)
	GroupPrivileges(ctx context.Context, tenantID string, a *actions.Action, targets []actions.User, p actions.Params) ([]actions.GroupPrivilege, error)
	ApplyLater(ctx context.Context, tenantID string, ops []actions.Op) []error
}

var _ Runner = (*actions.Service)(nil)

// Metrics receives counts and timings; cmd exports them to Prometheus.
// Implementations are safe for concurrent use.
type Metrics interface {
	// Request counts one handled request by platform, action and outcome
	// (ok, failed, partial, pending, refused, void…).
	Request(platform, action, outcome string)
	// ApprovalWait observes how long a request waited for its decision.
	ApprovalWait(d time.Duration)
	// AuditRecord counts one audit record written, by kind.
	AuditRecord(kind string)
}

type noMetrics struct{}

func (noMetrics) Request(string, string, string) {}
func (noMetrics) ApprovalWait(time.Duration)     {}
func (noMetrics) AuditRecord(string)             {}

func (b *Bot) metrics() Metrics {
	if b.Metrics == nil {
		return noMetrics{}
	}
	return b.Metrics
}

// Bot is the engine. Fields are set before the first call and not changed
// after; Handle is safe for concurrent use.
type Bot struct {
	Catalogue *actions.Catalogue
	Runner    Runner
	Store     Store
	// Chats holds the Chat of each platform, by Event.Platform.
	Chats map[string]Chat
	// Admins are actor IDs that are admins by configuration.
	Admins []string
	// Delegated reports that tenants are reached through GDAP with the
	// partner service account (CIPPBOT_AUTH=gdap): requests and checks
	// are judged by the roles the tenant's GDAP access assignments give
	// the account (gdap.go).
	Delegated bool
	// ApprovalTTL is how long an approval waits; 0 means 15 minutes.
	ApprovalTTL time.Duration
	// ApprovalRetention is how long decided approvals are kept after they
	// were asked for; Sweep removes older ones (the audit trail keeps
	// their records). 0 means 90 days; negative keeps them for ever.
	ApprovalRetention time.Duration
	// Quota bounds destructive requests per technician and tenant.
	Quota Quota
	// ReasonOptional lists destructive actions that may go without a
	// reason; every other destructive request must give one, and is
	// asked for it if it did not. "all" makes reasons optional.
	ReasonOptional []string
	// Metrics, if non-nil, is told about requests, approvals and audit
	// records.
	Metrics Metrics
	// ActionTimeout bounds one command's work; 0 means 2 minutes.
	ActionTimeout time.Duration
	// Now, if non-nil, replaces time.Now.
	Now func() time.Time
	// NewID, if non-nil, replaces the random approval ID generator.
	NewID func() string
	// ReplicaID names this process among replicas sharing a store
	// (replicas.go); "" for one process alone.
	ReplicaID string
	// Logger, if non-nil, receives logs; nil discards them.
	Logger *slog.Logger

	// SecretHold is how long a secret that could not be delivered is
	// held while delivery is retried and its Reveal button works; 0
	// means 15 minutes. SecretRetry is the first wait between attempts,
	// doubled after each up to a minute; 0 means 10 s.
	SecretHold, SecretRetry time.Duration
	// Held, if non-nil, keeps the secrets waiting for delivery, so that
	// a Reveal click on any replica sharing it finds them, once. Give it
	// a Transient that seals (store.SealedTransient), never a plain
	// store. nil means this process's memory: Reveal then works only
	// here, and the secret dies with the process.
	Held Transient

	wg       sync.WaitGroup
	refusals refusalLimiter
	held     heldSecrets // secrets waiting for delivery
	// posting holds, by approval ID, a channel closed once the approval's
	// card is posted and its reference kept (askApproval), for a click
	// that comes sooner (decide).
	posting sync.Map
}

func (b *Bot) now() time.Time {
	if b.Now != nil {
		return b.Now().UTC()
	}
	return time.Now().UTC()
}

func (b *Bot) log() *slog.Logger {
	if b.Logger != nil {
		return b.Logger
	}
	return slog.New(slog.DiscardHandler)
}

func (b *Bot) ttl() time.Duration {
	if b.ApprovalTTL > 0 {
		return b.ApprovalTTL
	}
	return 15 * time.Minute
}

// DefaultApprovalRetention is how long decided approvals are kept when
// Bot.ApprovalRetention is 0.
const DefaultApprovalRetention = 90 * 24 * time.Hour

func (b *Bot) retention() time.Duration {
	if b.ApprovalRetention == 0 {
		return DefaultApprovalRetention
	}
	return b.ApprovalRetention
}

func (b *Bot) newID() string {
	if b.NewID != nil {
		return b.NewID()
	}
	return randomHex()
}

// randomHex returns six random hex digits.
func randomHex() string {
	var buf [3]byte
	if _, err := rand.Read(buf[:]); err != nil {
		panic("bot: crypto/rand failed: " + err.Error())
	}
	return hex.EncodeToString(buf[:])
}

// Wait blocks until work started by Handle in the background is done.
func (b *Bot) Wait() { b.wg.Wait() }

// Handle handles one event and answers through r. It returns when the reply
// has been sent; adapters that must acknowledge quickly call it in a
// goroutine after acknowledging.
func (b *Bot) Handle(ctx context.Context, ev Event, r Responder) {
	timeout := b.ActionTimeout
	if timeout <= 0 {
		timeout = 2 * time.Minute
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	// An event's steps may share reads (its targets' roles read with the
	// targets; their state read beside the re-check before an approved
	// run); nothing outlives the event.
	ctx = actions.WithPrefetch(ctx)
	b.wg.Add(1)
	defer b.wg.Done()

	cmd, err := ParseCommand(ev.Text)
	if err != nil {
		b.private(ctx, r, errorMessage(fmt.Sprintf("I could not read that: %v. Try /cipp help", err)))
		return
	}
	switch cmd.Verb {
	case "help", "?":
		b.help(ctx, ev, r, cmd)
	case "approve", "deny":
		b.decide(ctx, ev, r, cmd)
	case "audit":
		b.audit(ctx, ev, r, cmd)
	case "access":
		b.access(ctx, ev, r, cmd)
	case "tenants":
		b.tenants(ctx, ev, r, cmd)
	case "bind", "unbind":
		b.bind(ctx, ev, r, cmd)
	case "check":
		b.check(ctx, ev, r, cmd)
	case "whoami":
		b.whoami(ctx, ev, r)
	case revealVerb:
		b.reveal(ctx, ev, r, cmd)
	default:
		a := b.Catalogue.Lookup(cmd.Verb)
		if a == nil {
			b.unknownVerb(ctx, r, cmd.Verb)
			return
		}
		b.request(ctx, ev, r, a, cmd)
	}
}

var builtins = []string{"help", "approve", "deny", "audit", "access", "tenants", "bind", "unbind", "check", "whoami"}

func (b *Bot) unknownVerb(ctx context.Context, r Responder, verb string) {
	msg := fmt.Sprintf("There is no action %q.", verb)
	if s := closest(verb, append(b.Catalogue.Names(), builtins...)); s != "" {
		msg = fmt.Sprintf("There is no action %q. Did you mean %s?", verb, s)
	}
	b.private(ctx, r, Message{Title: msg, Lines: []string{"/cipp help lists every action."}, Tone: ToneError})
}

// private sends a private reply and logs a failure to deliver it.
func (b *Bot) private(ctx context.Context, r Responder, m Message) {
	if err := r.Private(ctx, m); err != nil {
		b.log().WarnContext(ctx, "private reply failed", "err", err)
	}
}

// public posts to the channel. It refuses a message holding a secret, which
// would be a bug.
func (b *Bot) public(ctx context.Context, r Responder, m Message) (string, error) {
	if len(m.Secrets) > 0 {
		b.log().ErrorContext(ctx, "refused to post a secret publicly")
		return "", errors.New("bot: refused to post a secret publicly")
	}
	ref, err := r.Public(ctx, m)
	if err != nil {
		b.log().WarnContext(ctx, "public reply failed", "err", err)
	}
	return ref, err
}

func errorMessage(title string, lines ...string) Message {
	return Message{Title: title, Lines: lines, Tone: ToneError}
}

// userError turns an error into chat text: the message of an
// *actions.Error, or "internal error (ref …)" with the full error logged.
func (b *Bot) userError(ctx context.Context, err error) string {
	if actions.ErrorCode(err) != actions.EINTERNAL {
		return actions.ErrorMessage(err)
	}
	ref := randomHex()
	b.log().ErrorContext(ctx, "internal error", LogRef, ref, "err", err)
	return "internal error (ref " + ref + ")"
}

// errorDetail is the full error text for the audit record.
func errorDetail(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// record appends to the audit trail on behalf of ev: where rec names no
// place or actor, ev's are written.
func (b *Bot) record(ctx context.Context, ev Event, rec AuditRecord) error {
	if rec.Platform == "" {
		rec.Platform, rec.Workspace, rec.Channel = ev.Platform, ev.Workspace, ev.Channel
	}
	if rec.Actor.ID == "" {
		rec.Actor = ev.Actor
	}
	return b.appendRecord(ctx, rec)
}

// recordAt appends rec as written in ap's channel. It is for what happens
// to an approval without anyone typing or clicking (Sweep finds it
// expired, Recover finds it interrupted, a job left for later ends), so
// there is no chat event to take the place from; rec names its actor.
func (b *Bot) recordAt(ctx context.Context, ap Approval, rec AuditRecord) error {
	rec.Platform, rec.Workspace, rec.Channel = ap.Platform, ap.Workspace, ap.Channel
	return b.appendRecord(ctx, rec)
}

// appendRecord stamps rec with the time and appends it to the audit trail
// as it is; a failure is logged here and returned for the caller to act on.
func (b *Bot) appendRecord(ctx context.Context, rec AuditRecord) error {
	rec.Time = b.now()
	_, err := b.Store.Append(ctx, rec)
	if err != nil {
		b.log().ErrorContext(ctx, "audit append failed", "kind", rec.Kind, "err", err)
		return err
	}
	b.metrics().AuditRecord(rec.Kind)
	// One log line per request: runs log in execute; refusals and
	// requests waiting for approval here.
	switch {
	case rec.Kind == KindRefused:
		b.log().InfoContext(ctx, "request refused", LogAction, rec.Action, LogTenant, rec.Tenant, LogActor, rec.Actor.ID,
			"outcome", rec.Outcome, "why", rec.Error)
	case rec.Kind == KindRequest && rec.Outcome == "pending":
		b.log().InfoContext(ctx, "approval requested", LogAction, rec.Action, LogTenant, rec.Tenant, LogActor, rec.Actor.ID,
			LogApproval, rec.ApprovalID, "outcome", rec.Outcome)
	}
	if rec.Kind == KindRefused || rec.Kind == KindDecision && rec.Outcome != "approved" && !strings.HasPrefix(rec.Outcome, "approved ") {
		b.metrics().Request(rec.Platform, rec.Action, rec.Outcome) // refused, denied, expired
	}
	return nil
}

// requiredRole is the role needed to run (or, for destructive actions,
// request) an action of the given risk.
func requiredRole(r actions.Risk) Role {
	if r == actions.RiskRead {
		return RoleViewer
	}
	return RoleHelpdesk
}

// needsApproval reports whether a second technician must approve.
func needsApproval(a *actions.Action) bool { return a.Risk == actions.RiskDestructive }

// resolveTenant finds the tenant of a set of user@domain targets; all must
// be in the same tenant.
func (b *Bot) resolveTenant(ctx context.Context, targets []string) (Tenant, error) {
	var t Tenant
	for i, target := range targets {
		_, domain, ok := strings.Cut(target, "@")
		if !ok || domain == "" || strings.Contains(domain, "@") {
			return Tenant{}, actions.Errorf(actions.EINVALID, "%q is not user@domain", target)
		}
		tt, err := b.Store.TenantByDomain(ctx, domain)
		if errors.Is(err, ErrNotFound) {
			return Tenant{}, actions.Errorf(actions.ENOTFOUND,
				"no onboarded tenant has the domain %s: check the spelling, or /cipp tenants lists them", domain)
		} else if err != nil {
			return Tenant{}, err
		}
		if i > 0 && tt.ID != t.ID {
			return Tenant{}, actions.Errorf(actions.EINVALID, "%s and %s are in different tenants: one tenant per request", targets[0], target)
		}
		t = tt
	}
	return t, nil
}
