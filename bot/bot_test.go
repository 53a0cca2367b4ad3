package bot_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cippbot/cippbot/actions"
	"github.com/cippbot/cippbot/bot"
	"github.com/cippbot/cippbot/internal/mock"
	"github.com/cippbot/cippbot/store"
)

const tenantID = "11111111-2222-3333-4444-555555555555"

var (
	riley  = bot.Actor{ID: "console:riley", Name: "riley"}
	sam    = bot.Actor{ID: "console:sam", Name: "sam"}
	alex   = bot.Actor{ID: "console:alex", Name: "alex"}
	viewer = bot.Actor{ID: "console:vic", Name: "vic"}
	admin  = bot.Actor{ID: "slack:UADMIN", Name: "ada"}
)

// fixedPasswords hands out known passwords so tests can search for them.
type fixedPasswords struct{ n atomic.Int64 }

func (f *fixedPasswords) Password() (actions.Secret, error) {
	return actions.NewSecret("password", fmt.Sprintf("Zq7$Secret-%03d", f.n.Add(1))), nil
}

type harness struct {
	t     testing.TB
	bot   *bot.Bot
	db    *store.DB
	dir   *mock.Directory
	chat  *mock.Chat
	clock *clock
	pw    *fixedPasswords
	ids   atomic.Int64
}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func newHarness(t testing.TB) *harness {
	t.Helper()
	db := store.NewDB(t.TempDir() + "/bot.db")
	db.NoSync = true // the file dies with the test
	if err := db.Open(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	h := &harness{t: t, db: db, dir: &mock.Directory{}, chat: &mock.Chat{}, pw: &fixedPasswords{},
		clock: &clock{t: time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)}}
	h.dir.Put(actions.User{ID: "u-adele", UPN: "AdeleV@contoso.com", DisplayName: "Adele Vance", Enabled: true})
	h.dir.Put(actions.User{ID: "u-alex", UPN: "AlexW@contoso.com", DisplayName: "Alex Wilber", Enabled: true})
	h.dir.Put(actions.User{ID: "u-grady", UPN: "GradyA@contoso.com", DisplayName: "Grady Archie", Enabled: true, Synced: true, ImmutableID: "abc=="})
	h.dir.PutGroup(actions.Group{ID: "g-sales", DisplayName: "Sales and Marketing", Unified: true, MailEnabled: true})
	h.dir.PutGroup(actions.Group{ID: "g-news", DisplayName: "Contoso Newsletter", MailEnabled: true})
	ctx := context.Background()
	must(t, db.PutTenant(ctx, bot.Tenant{ID: tenantID, Name: "Contoso", DefaultDomain: "contoso.com", Domains: []string{"contoso.com"}}))
	for actor, role := range map[string]bot.Role{riley.ID: bot.RoleHelpdesk, sam.ID: bot.RoleApprover, alex.ID: bot.RoleApprover, viewer.ID: bot.RoleViewer} {
		must(t, db.PutGrant(ctx, bot.Grant{Actor: actor, Role: role, GrantedBy: "test"}))
	}
	h.bot = h.newBot()
	return h
}

func (h *harness) newBot() *bot.Bot {
	return &bot.Bot{
		Catalogue: actions.Default(),
		Runner:    &actions.Service{Connector: h.dir, Env: actions.Env{Passwords: h.pw}},
		Store:     h.db,
		Chats:     map[string]bot.Chat{"console": h.chat},
		Admins:    []string{admin.ID},
		// Most tests are about other things; TestReasonAsked turns it on.
		ReasonOptional: []string{"all"},
		Now:            h.clock.Now,
		NewID:          func() string { return fmt.Sprintf("a%05d", h.ids.Add(1)) },
	}
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// do runs one command as actor and returns what was sent meanwhile.
func (h *harness) do(actor bot.Actor, text string) []mock.Sent {
	h.t.Helper()
	before := len(h.chat.Sent())
	h.bot.Handle(context.Background(), bot.Event{Platform: "console", Channel: "ops", Actor: actor, Text: text}, h.chat.For(actor))
	return h.chat.Sent()[before:]
}

func text(m bot.Message) string {
	return m.Title + "\n" + strings.Join(m.Lines, "\n")
}

// only returns the single message sent, failing otherwise.
func only(t *testing.T, sent []mock.Sent) mock.Sent {
	t.Helper()
	if len(sent) != 1 {
		t.Fatalf("sent %d messages, want 1: %+v", len(sent), sent)
	}
	return sent[0]
}

func cardID(t *testing.T, sent []mock.Sent) string {
	t.Helper()
	for _, s := range sent {
		for _, b := range s.Message.Buttons {
			if v, ok := strings.CutPrefix(b.Value, "approve "); ok {
				if s.To != "" {
					t.Fatalf("approval card was private")
				}
				return v
			}
		}
	}
	t.Fatalf("no approval card in %+v", sent)
	return ""
}

func auditKinds(t *testing.T, db *store.DB) []string {
	t.Helper()
	recs, err := db.Audit(context.Background(), bot.AuditFilter{})
	must(t, err)
	var k []string
	for _, r := range recs {
		k = append(k, r.Kind+":"+r.Outcome)
	}
	return k
}

func TestResetPasswordWithApproval(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	sent := h.do(riley, `reset-password AdeleV@contoso.com --must-change reason="locked out"`)
	id := cardID(t, sent)
	card := text(sent[0].Message)
	for _, want := range []string{"AdeleV@contoso.com", "contoso.com", "locked out", "must-change", "riley"} {
		if !strings.Contains(card, want) {
			t.Errorf("card lacks %q:\n%s", want, card)
		}
	}
	if h.dir.Calls.Load() != 0 {
		t.Fatal("tenant changed before approval")
	}

	got := only(t, h.do(riley, "approve "+id))
	if got.To != riley.ID || !strings.Contains(got.Message.Title, "own request") {
		t.Fatalf("own approval: got %+v", got)
	}
	if h.dir.Calls.Load() != 0 {
		t.Fatal("own approval ran the action")
	}

	sent = h.do(sam, "approve "+id)
	u, _ := h.dir.Get("u-adele")
	if u.Password != "Zq7$Secret-001" || !u.ForceChange {
		t.Fatalf("tenant password = %q force=%v", u.Password, u.ForceChange)
	}
	var toRiley []bot.Message
	for _, s := range sent {
		if s.To == riley.ID {
			toRiley = append(toRiley, s.Message)
		}
		if s.To == "" && len(s.Message.Secrets) > 0 {
			t.Fatalf("public message holds a secret: %+v", s)
		}
		if s.To != riley.ID && strings.Contains(fmt.Sprintf("%+v", s), "Zq7$Secret") {
			t.Fatalf("secret reached %q: %+v", s.To, s)
		}
	}
	if len(toRiley) != 1 || len(toRiley[0].Secrets) != 1 || toRiley[0].Secrets[0].Reveal() != "Zq7$Secret-001" {
		t.Fatalf("riley got %+v", toRiley)
	}
	var updated bool
	for _, s := range sent {
		if s.Update && strings.Contains(text(s.Message), "approved by sam") {
			updated = true
		}
	}
	if !updated {
		t.Errorf("card not updated with the decision: %+v", sent)
	}
	ap, err := h.db.Approval(context.Background(), id)
	must(t, err)
	if ap.State != bot.StateDone || ap.DecidedBy == nil || ap.DecidedBy.ID != sam.ID {
		t.Errorf("approval = %+v", ap)
	}
	wantKinds := "request:pending refused:refused decision:approved intent:running outcome:ok"
	if got := strings.Join(auditKinds(t, h.db), " "); got != wantKinds {
		t.Errorf("audit kinds = %s, want %s", got, wantKinds)
	}
	if _, err := h.db.VerifyAudit(context.Background()); err != nil {
		t.Fatal(err)
	}

	// A late second click does nothing more.
	got = only(t, h.do(alex, "approve "+id))
	if !strings.Contains(got.Message.Title, "already approved by sam") {
		t.Errorf("second approval: %q", got.Message.Title)
	}
	if n := h.dir.Calls.Load(); n != 1 {
		t.Errorf("tenant called %d times, want 1", n)
	}
}

func TestApprovalExpires(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	id := cardID(t, h.do(riley, "block-signin AdeleV@contoso.com"))
	h.clock.Add(16 * time.Minute)
	sent := h.do(sam, "approve "+id)
	var told, card bool
	for _, s := range sent {
		if s.To == sam.ID && strings.Contains(s.Message.Title, "expired") {
			told = true
		}
		if s.Update && strings.HasPrefix(s.Message.Title, "Expired") {
			card = true
		}
	}
	if !told || !card {
		t.Fatalf("expiry not reported (told=%v card=%v): %+v", told, card, sent)
	}
	if h.dir.Calls.Load() != 0 {
		t.Fatal("expired approval ran")
	}
	u, _ := h.dir.Get("u-adele")
	if !u.Enabled {
		t.Fatal("user blocked by an expired approval")
	}
}

func TestSweepExpires(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	id := cardID(t, h.do(riley, "block-signin AdeleV@contoso.com"))
	h.clock.Add(10 * time.Minute)
	must(t, h.bot.Sweep(context.Background()))
	ap, _ := h.db.Approval(context.Background(), id)
	if ap.State != bot.StatePending {
		t.Fatalf("swept too early: %s", ap.State)
	}
	h.clock.Add(6 * time.Minute)
	must(t, h.bot.Sweep(context.Background()))
	ap, _ = h.db.Approval(context.Background(), id)
	if ap.State != bot.StateExpired {
		t.Fatalf("state = %s, want expired", ap.State)
	}
}

func TestDeny(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	id := cardID(t, h.do(riley, "delete-user AdeleV@contoso.com"))
	sent := h.do(sam, "deny "+id)
	var notified bool
	for _, s := range sent {
		if s.To == riley.ID && strings.Contains(s.Message.Title, "denied") {
			notified = true
		}
	}
	if !notified {
		t.Errorf("requester not told: %+v", sent)
	}
	if h.dir.Calls.Load() != 0 {
		t.Fatal("denied request ran")
	}
	got := only(t, h.do(alex, "approve "+id))
	if !strings.Contains(got.Message.Title, "already denied by sam") {
		t.Errorf("approve after deny: %q", got.Message.Title)
	}
}

func TestConcurrentApprovalsRunOnce(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.do(riley, "revoke-sessions AdeleV@contoso.com") // change: runs at once
	if h.dir.Calls.Load() != 1 {
		t.Fatalf("change action should run at once")
	}
	id := cardID(t, h.do(riley, "reset-password AdeleV@contoso.com"))
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			who := sam
			if i%2 == 1 {
				who = alex
			}
			h.bot.Handle(context.Background(), bot.Event{Platform: "console", Channel: "ops", Actor: who, Text: "approve " + id}, h.chat.For(who))
		}()
	}
	wg.Wait()
	if n := h.dir.Calls.Load(); n != 2 {
		t.Fatalf("tenant changed %d times after 20 approvals, want once", n-1)
	}
	var secrets int
	for _, s := range h.chat.Sent() {
		secrets += len(s.Message.Secrets)
	}
	if secrets != 1 {
		t.Errorf("%d secrets delivered, want 1", secrets)
	}
}

func TestPendingApprovalSurvivesRestart(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	id := cardID(t, h.do(riley, "block-signin AdeleV@contoso.com"))
	path := h.db.Path
	must(t, h.db.Close())
	h.db = store.NewDB(path)
	must(t, h.db.Open())
	t.Cleanup(func() { h.db.Close() })
	h.bot = h.newBot()
	must(t, h.bot.Recover(context.Background()))
	h.do(sam, "approve "+id)
	u, _ := h.dir.Get("u-adele")
	if u.Enabled {
		t.Fatal("approval after restart did not run")
	}
}

func TestRecoverMarksRunningUnknown(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	id := cardID(t, h.do(riley, "block-signin AdeleV@contoso.com"))
	_, err := h.db.UpdateApproval(context.Background(), id, func(a *bot.Approval) error { a.State = bot.StateRunning; return nil })
	must(t, err)
	must(t, h.bot.Recover(context.Background()))
	ap, _ := h.db.Approval(context.Background(), id)
	if ap.State != bot.StateUnknown {
		t.Fatalf("state = %s, want unknown", ap.State)
	}
	if h.dir.Calls.Load() != 0 {
		t.Fatal("recover re-ran the action")
	}
	got := only(t, h.do(sam, "approve "+id))
	if !strings.Contains(got.Message.Title, "unknown") {
		t.Errorf("approve of unknown: %q", got.Message.Title)
	}
}

func TestRefusals(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		actor bot.Actor
		text  string
		want  string
	}{
		{"UnknownUser", riley, "block-signin nobody@contoso.com", "nobody@contoso.com does not exist in contoso.com"},
		{"UnknownTenant", riley, "block-signin AdeleV@contoso.co", "no onboarded tenant has the domain contoso.co"},
		{"UnknownAction", riley, "reset-pasword AdeleV@contoso.com", "Did you mean reset-password?"},
		{"MissingRole", viewer, "block-signin AdeleV@contoso.com", "needs the helpdesk role in contoso.com; you have viewer"},
		{"NoRole", bot.Actor{ID: "console:eve"}, "user AdeleV@contoso.com", "needs the viewer role"},
		{"SyncedBlock", riley, "block-signin GradyA@contoso.com", "synced from on-premises AD"},
		{"NoImmutableID", riley, "clear-immutable-id AdeleV@contoso.com", "nothing to clear"},
		{"BadParam", riley, "create-tap AdeleV@contoso.com lifetime=5", "lifetime must be between 10 and 43200"},
		{"UnknownOption", riley, "block-signin AdeleV@contoso.com --force", "has no option --force"},
		{"NoTarget", riley, "block-signin", "needs a user as user@domain"},
		{"TwoTenants", riley, "revoke-sessions AdeleV@contoso.com x@fabrikam.com", "fabrikam.com"},
		{"NotBulk", riley, "create-tap AdeleV@contoso.com AlexW@contoso.com", "one user at a time"},
		{"DistributionList", riley, `add-to-group AdeleV@contoso.com "Contoso Newsletter"`, "distribution list"},
		{"OpenQuote", riley, `block-signin "AdeleV@contoso.com`, "not closed"},
		{"ApproveUnknown", sam, "approve ffffff", "There is no request ffffff"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			got := only(t, h.do(tt.actor, tt.text))
			if got.To != tt.actor.ID {
				t.Errorf("refusal went to %q, want %q only", got.To, tt.actor.ID)
			}
			if !strings.Contains(text(got.Message), tt.want) {
				t.Errorf("%q: got %q, want it to contain %q", tt.text, text(got.Message), tt.want)
			}
			if h.dir.Calls.Load() != 0 {
				t.Error("a refused request changed the tenant")
			}
		})
	}
}

func TestRefusalIsAudited(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.do(viewer, "block-signin AdeleV@contoso.com")
	recs, err := h.db.Audit(context.Background(), bot.AuditFilter{})
	must(t, err)
	if len(recs) != 1 || recs[0].Kind != bot.KindRefused || recs[0].Actor.ID != viewer.ID || recs[0].Action != "block-signin" {
		t.Fatalf("audit = %+v", recs)
	}
}

func TestApproverRole(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	id := cardID(t, h.do(riley, "block-signin AdeleV@contoso.com"))
	must(t, h.db.PutGrant(context.Background(), bot.Grant{Actor: "console:hd2", Role: bot.RoleHelpdesk}))
	got := only(t, h.do(bot.Actor{ID: "console:hd2"}, "approve "+id))
	if !strings.Contains(got.Message.Title, "Only an approver") {
		t.Errorf("helpdesk approval: %q", got.Message.Title)
	}
	if h.dir.Calls.Load() != 0 {
		t.Fatal("helpdesk approval ran the action")
	}
}

func TestChangeActionRunsAtOnce(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	sent := h.do(riley, `add-to-group AdeleV@contoso.com AlexW@contoso.com "Sales and Marketing"`)
	if !h.dir.IsMember("g-sales", "u-adele") || !h.dir.IsMember("g-sales", "u-alex") {
		t.Fatal("not added")
	}
	m := only(t, sent)
	if m.To != "" || !strings.Contains(text(m.Message), "added to Sales and Marketing") {
		t.Errorf("result: %+v", m)
	}
	m = only(t, h.do(riley, `add-to-group AdeleV@contoso.com "Sales and Marketing"`))
	if !strings.Contains(m.Message.Title, "already in") {
		t.Errorf("re-add: %q", m.Message.Title)
	}
}

func TestPartialFailure(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.dir.Fail = actions.Errorf(actions.EUNAVAILABLE, "Microsoft 365 is throttling this tenant; try again in a minute")
	m := only(t, h.do(riley, "revoke-sessions AdeleV@contoso.com AlexW@contoso.com"))
	if m.Message.Tone != bot.ToneError || !strings.Contains(text(m.Message), "throttling") {
		t.Errorf("got %+v", m.Message)
	}
	// One outcome record per target, each with its error, then a summary.
	recs, _ := h.db.Audit(context.Background(), bot.AuditFilter{})
	last := recs[len(recs)-1]
	if last.Kind != bot.KindOutcome || last.Outcome != "failed" || last.Params["failed"] != "2" || last.Params["targets"] != "2" {
		t.Errorf("summary record = %+v", last)
	}
	for _, rec := range recs[len(recs)-3 : len(recs)-1] {
		if rec.Kind != bot.KindOutcome || rec.Outcome != "failed" || len(rec.Targets) != 1 || !strings.Contains(rec.Error, "throttling") {
			t.Errorf("per-target record = %+v", rec)
		}
	}
}

func TestAccess(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	got := only(t, h.do(riley, "access grant console:newbie helpdesk"))
	if !strings.Contains(got.Message.Title, "Only an admin") {
		t.Errorf("non-admin grant: %q", got.Message.Title)
	}
	got = only(t, h.do(admin, "access grant console:newbie helpdesk contoso.com"))
	if !strings.Contains(got.Message.Title, "console:newbie is now helpdesk in contoso.com") {
		t.Errorf("grant: %q", got.Message.Title)
	}
	h.do(bot.Actor{ID: "console:newbie"}, "revoke-sessions AdeleV@contoso.com")
	if h.dir.Calls.Load() != 1 {
		t.Error("granted role did not allow the action")
	}
	got = only(t, h.do(admin, "access list"))
	if !strings.Contains(text(got.Message), "console:newbie: helpdesk in contoso.com") {
		t.Errorf("list: %s", text(got.Message))
	}
	got = only(t, h.do(admin, "access revoke console:newbie contoso.com"))
	if !strings.Contains(got.Message.Title, "no longer") {
		t.Errorf("revoke: %q", got.Message.Title)
	}
	var access int
	recs, _ := h.db.Audit(context.Background(), bot.AuditFilter{})
	for _, r := range recs {
		if r.Kind == bot.KindAccess {
			access++
		}
	}
	if access != 2 {
		t.Errorf("%d access records, want 2", access)
	}
}

func TestHelp(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	m := only(t, h.do(riley, "help"))
	for _, a := range actions.Default().All() {
		if !strings.Contains(text(m.Message), a.Name) {
			t.Errorf("help lacks %s", a.Name)
		}
	}
	m = only(t, h.do(riley, "help create-tap"))
	if !strings.Contains(text(m.Message), "lifetime") || !strings.Contains(text(m.Message), "another approver") {
		t.Errorf("help create-tap: %s", text(m.Message))
	}
}

func TestAuditCommand(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	id := cardID(t, h.do(riley, "block-signin AdeleV@contoso.com"))
	h.do(sam, "approve "+id)
	m := only(t, h.do(sam, "audit AdeleV@contoso.com"))
	if len(m.Message.Lines) != 4 || !strings.Contains(m.Message.Lines[0], "outcome block-signin") {
		t.Errorf("audit: %s", text(m.Message))
	}
}

func TestAuditUnavailableRunsNothing(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.bot.Store = failingAudit{h.db}
	m := only(t, h.do(riley, "revoke-sessions AdeleV@contoso.com"))
	if !strings.Contains(m.Message.Title, "audit trail is unavailable") {
		t.Errorf("got %q", m.Message.Title)
	}
	if h.dir.Calls.Load() != 0 {
		t.Fatal("ran without an audit record")
	}
}

type failingAudit struct{ *store.DB }

func (failingAudit) Append(context.Context, bot.AuditRecord) (bot.AuditRecord, error) {
	return bot.AuditRecord{}, errors.New("disk full")
}

// BenchmarkHandleChange measures one immediate change action end to end
// through the engine with an in-memory tenant and a real bbolt store (two
// audit appends, each an fsync): the work done after a chat ack.
func BenchmarkHandleChange(b *testing.B) {
	h := newHarness(b)
	ev := bot.Event{Platform: "console", Channel: "ops", Actor: riley, Text: "revoke-sessions AdeleV@contoso.com"}
	r := h.chat.For(riley)
	b.ReportAllocs()
	for b.Loop() {
		h.bot.Handle(context.Background(), ev, r)
	}
}

// BenchmarkParseCommand measures the grammar, which runs before any ack
// could be sent by an adapter that validates first.
func BenchmarkParseCommand(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		bot.ParseCommand(`reset-password AdeleV@contoso.com AlexW@contoso.com --must-change reason="left the company"`)
	}
}

func TestAuditPages(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	for range 12 {
		h.do(riley, "revoke-sessions AdeleV@contoso.com") // two records each
	}
	first := only(t, h.do(sam, "audit"))
	if len(first.Message.Lines) != 10 || len(first.Message.Buttons) != 1 || first.Message.Buttons[0].Value != "audit page=2" {
		t.Fatalf("page 1: %d lines, buttons %+v", len(first.Message.Lines), first.Message.Buttons)
	}
	third := only(t, h.do(sam, "audit page=3"))
	if len(third.Message.Lines) != 4 || len(third.Message.Buttons) != 0 || !strings.HasPrefix(third.Message.Lines[3], "#1 ") {
		t.Fatalf("page 3: %q, buttons %+v", third.Message.Lines, third.Message.Buttons)
	}
}

func TestBindAndBareNames(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	got := only(t, h.do(riley, "block-signin adelev"))
	if !strings.Contains(got.Message.Title, "not user@domain") || !strings.Contains(got.Message.Title, "/cipp bind") {
		t.Errorf("unbound bare name: %q", got.Message.Title)
	}
	got = only(t, h.do(riley, "bind contoso"))
	if !strings.Contains(got.Message.Title, "needs the approver role") {
		t.Errorf("helpdesk bind: %q", got.Message.Title)
	}
	got = only(t, h.do(sam, "bind contoso"))
	if got.To != "" || !strings.Contains(got.Message.Title, "now bound to contoso.com") {
		t.Fatalf("bind: %+v", got)
	}
	sent := h.do(riley, "revoke-sessions adelev alexw")
	if u, _ := h.dir.Get("u-adele"); u.Revoked != 1 {
		t.Fatalf("bare names did not resolve: %+v", sent)
	}
	if u, _ := h.dir.Get("u-alex"); u.Revoked != 1 {
		t.Fatal("second bare name did not resolve")
	}
	got = only(t, h.do(riley, "revoke-sessions a"))
	if !strings.Contains(got.Message.Title, "matches several users") || !strings.Contains(got.Message.Title, "AdeleV@contoso.com") {
		t.Errorf("ambiguous: %q", got.Message.Title)
	}
	got = only(t, h.do(riley, "revoke-sessions zed"))
	if !strings.Contains(got.Message.Title, "no user in contoso.com is called zed") {
		t.Errorf("unknown bare name: %q", got.Message.Title)
	}
	// A bare name and a positional parameter together.
	h.do(riley, `add-to-group adelev "Sales and Marketing"`)
	if !h.dir.IsMember("g-sales", "u-adele") {
		t.Error("add-to-group with a bare name failed")
	}
	got = only(t, h.do(sam, "unbind"))
	if !strings.Contains(got.Message.Title, "no longer bound") {
		t.Errorf("unbind: %q", got.Message.Title)
	}
	var bindings int
	recs, _ := h.db.Audit(context.Background(), bot.AuditFilter{})
	for _, r := range recs {
		if r.Kind == bot.KindBinding {
			bindings++
		}
	}
	if bindings != 2 {
		t.Errorf("%d binding records, want 2", bindings)
	}
}

func TestCheck(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.dir.Perms = []string{"User.ReadWrite.All", "GroupMember.ReadWrite.All"}
	got := only(t, h.do(riley, "check contoso.com"))
	if !strings.Contains(got.Message.Title, "Only an admin") {
		t.Errorf("non-admin check: %q", got.Message.Title)
	}
	got = only(t, h.do(admin, "check contoso.com"))
	if !strings.Contains(got.Message.Title, "17 of 30 actions will work") || !strings.Contains(text(got.Message), "create-tap needs UserAuthenticationMethod.ReadWrite.All") {
		t.Errorf("check: %s", text(got.Message))
	}
}

func TestBulkShowsProgressThenResult(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	var upns []string
	for i := range 12 {
		id := fmt.Sprintf("u-bulk%02d", i)
		upn := fmt.Sprintf("bulk%02d@contoso.com", i)
		h.dir.Put(actions.User{ID: id, UPN: upn, Enabled: true})
		upns = append(upns, upn)
	}
	sent := h.do(riley, "revoke-sessions "+strings.Join(upns, " "))
	if len(sent) < 2 || !strings.HasPrefix(sent[0].Message.Title, "Running revoke-sessions: 0 of 12") {
		t.Fatalf("no progress message first: %+v", sent)
	}
	final := sent[len(sent)-1]
	if !final.Update || final.Ref != sent[0].Ref || !strings.Contains(text(final.Message), "12 done, 0 failed") {
		t.Errorf("final result did not replace the progress message: %+v", final)
	}
	recs, _ := h.db.Audit(context.Background(), bot.AuditFilter{})
	var perTarget int
	for _, r := range recs {
		if r.Kind == bot.KindOutcome && len(r.Targets) == 1 {
			perTarget++
		}
	}
	if perTarget != 12 {
		t.Errorf("%d per-target outcome records, want 12", perTarget)
	}
}
