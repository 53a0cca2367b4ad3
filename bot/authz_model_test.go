package bot_test

// A model-based test of the authorization rules: random sequences of grants,
// revokes, requests, approvals, denials, expiry and changes to the targets'
// admin roles are run against the bot and against a small reference model
// kept here, and after every step the two are compared, together with
// invariants read from the store alone (no self-approval, privileged runs
// have two approvers, each approval runs at most once, the audit chain
// verifies). A failure prints every step so far; a seed replays the same
// steps (two clicks at the same moment may take effect in either order,
// and the log says in which).

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
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

// amRoot is the one admin by configuration.
const amRoot = "slack:ROOT"

// amActors act in the model: the same user ID on two platforms is two
// actors.
var amActors = []string{"slack:U1", "discord:U1", "slack:U2", "slack:U3", "discord:U4", "slack:U5", amRoot}

// amTenants are the tenants of the model, each with its own user domain.
// The third takes the two-approvers policy for privileged targets; the
// others are strict (one by default, one explicitly).
var amTenants = []struct{ id, domain, policy string }{
	{"c0c0c0c0-0000-4000-8000-000000000001", "contoso.com", ""},
	{"fabfab00-0000-4000-8000-000000000002", "fabrikam.com", bot.PolicyStrict},
	{"7a117a11-0000-4000-8000-000000000003", "tailspin.com", bot.PolicyTwoApprovers},
}

// amActions are the actions requested: two changes, two destructive ones.
var amActions = []string{"revoke-sessions", "unblock-signin", "block-signin", "reset-password"}

// amAdminRoles are what the setroles step gives a user ("" for none).
var amAdminRoles = []string{"", "", "Global Administrator", "User Administrator"}

// amQuota is small, so that over-quota requests (an admin must approve)
// happen in a few hundred steps.
var amQuota = bot.Quota{PerTechnician: 6, PerTenant: 15}

const amTTL = 15 * time.Minute

type amClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *amClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *amClock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type amPasswords struct{ n atomic.Int64 }

func (p *amPasswords) Password() (actions.Secret, error) {
	return actions.NewSecret("password", fmt.Sprintf("Model$Pw-%04d", p.n.Add(1))), nil
}

// amKey is a grant's key: actor and tenant ID ("" for all tenants).
type amKey struct{ actor, tenant string }

type amGrant struct {
	role      bot.Role
	grantedBy string
}

// amUser is a user of the model's directory.
type amUser struct {
	id, upn, tenant string
	adminRole       string // directory role, "" for none
	enabled         bool
	revoked         int
	resets          int    // password resets the model ran
	lastPassword    string // as last seen in the directory
	seenResets      int    // times the password was seen to change
}

// amApproval is the model of one stored approval.
type amApproval struct {
	id, action, requester, tenant string
	user                          *amUser
	pinnedRole                    string // the target's directory role when asked
	needed                        int
	adminNeeded                   bool
	adminApproved                 bool
	approvers                     []string
	rolesAtApproval               []bot.Role // each approver's role when they approved
	state                         bot.ApprovalState
	createdAt, expiresAt          time.Time
	ranAtOnce                     bool
	intents                       int
}

// amWindow is the model of the refusal limiter's window for one actor.
type amWindow struct {
	start                time.Time
	recorded, suppressed int
}

type amWorld struct {
	t     testing.TB
	input string // what the steps were drawn from, for the failure message
	steps int
	rng   *rand.Rand
	ctx   context.Context

	bot    *bot.Bot
	db     *store.DB
	dir    *mock.Directory
	chat   *mock.Chat
	clock  *amClock
	nextID atomic.Int64

	log []string

	// The model.
	grants    map[amKey]amGrant
	approvals map[string]*amApproval
	order     []string // approval IDs, oldest first
	users     []*amUser
	limiter   map[string]*amWindow
	calls     int64

	// What the step expects to be appended to the audit trail.
	want    []string
	trail   []bot.AuditRecord // every record, as read step by step
	intents map[string]int    // intent records by approval ID

	lastApprove struct{ actor, id string }
	stats       map[string]int
}

func TestAuthzModel(t *testing.T) {
	t.Parallel()
	for _, seed := range []uint64{1, 2, 3} {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			t.Parallel()
			w := runAuthzModel(t, rand.NewPCG(seed, seed^0x9e3779b97f4a7c15), fmt.Sprint("seed ", seed), 300)
			keys := make([]string, 0, len(w.stats))
			for k := range w.stats {
				keys = append(keys, k)
			}
			slices.Sort(keys)
			var b strings.Builder
			for _, k := range keys {
				fmt.Fprintf(&b, " %s=%d", k, w.stats[k])
			}
			t.Logf("seed %d, %d commands and events:%s", seed, len(w.log), b.String())
		})
	}
}

func FuzzAuthzModel(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte("grant, ask, approve twice"))
	f.Fuzz(func(t *testing.T, data []byte) {
		what := fmt.Sprintf("fuzz input %x", data)
		if len(data) > 64 {
			what = fmt.Sprintf("fuzz input of %d bytes %x…", len(data), data[:64])
		}
		runAuthzModel(t, &amBytes{data: data, rest: rand.NewPCG(uint64(len(data)), 1)}, what, 100)
	})
}

// amBytes is a random source that draws each value from one byte of the
// fuzzer's input, so that a mutated byte changes one choice, and when the
// input is used up, from a generator seeded by its length.
type amBytes struct {
	data []byte
	i    int
	rest rand.Source
}

func (b *amBytes) Uint64() uint64 {
	if b.i >= len(b.data) {
		return b.rest.Uint64()
	}
	// splitmix64 of the byte and its position spreads it over 64 bits.
	z := uint64(b.data[b.i]) | uint64(b.i)<<8
	b.i++
	z += 0x9e3779b97f4a7c15
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	return z ^ z>>31
}

// runAuthzModel runs steps random steps drawn from src, checking after
// each.
func runAuthzModel(t testing.TB, src rand.Source, input string, steps int) *amWorld {
	t.Helper()
	w := newAMWorld(t, src, input, steps)
	w.check()
	for i := 1; i <= steps; i++ {
		w.step()
		w.check()
		if i%50 == 0 {
			if _, err := w.db.VerifyAudit(w.ctx); err != nil {
				w.fail("audit chain does not verify: %v", err)
			}
		}
	}
	w.checkTrail()
	return w
}

func newAMWorld(t testing.TB, src rand.Source, input string, steps int) *amWorld {
	t.Helper()
	db := store.NewDB(t.TempDir() + "/model.db")
	db.NoSync = true // the file dies with the test
	if err := db.Open(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	w := &amWorld{
		t: t, input: input, steps: steps, ctx: context.Background(),
		rng:   rand.New(src),
		db:    db,
		dir:   &mock.Directory{},
		chat:  &mock.Chat{},
		clock: &amClock{t: time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)},

		grants:    map[amKey]amGrant{},
		approvals: map[string]*amApproval{},
		limiter:   map[string]*amWindow{},
		intents:   map[string]int{},
		stats:     map[string]int{},
	}
	for _, tn := range amTenants {
		name, _, _ := strings.Cut(tn.domain, ".")
		if err := db.PutTenant(w.ctx, bot.Tenant{ID: tn.id, Name: name, DefaultDomain: tn.domain,
			Domains: []string{tn.domain}, PrivilegedPolicy: tn.policy}); err != nil {
			t.Fatal(err)
		}
		for _, nick := range []string{"user1", "user2", "admin"} {
			u := &amUser{id: "u-" + name + "-" + nick, upn: nick + "@" + tn.domain, tenant: tn.id, enabled: true}
			w.dir.Put(actions.User{ID: u.id, UPN: u.upn, DisplayName: name + " " + nick, Enabled: true})
			if nick == "admin" {
				u.adminRole = "Global Administrator"
				w.dir.SetRoles(u.id, u.adminRole)
			}
			w.users = append(w.users, u)
		}
	}
	w.bot = &bot.Bot{
		Catalogue:   actions.Default(),
		Runner:      &actions.Service{Connector: w.dir, Env: actions.Env{Passwords: &amPasswords{}}},
		Store:       db,
		Chats:       map[string]bot.Chat{"slack": w.chat, "discord": w.chat},
		Admins:      []string{amRoot},
		ApprovalTTL: amTTL,
		Quota:       amQuota,
		Now:         w.clock.Now,
		NewID: func() string {
			return fmt.Sprintf("m%05d", w.nextID.Add(1))
		},
	}
	return w
}

// fail stops the test with the input and every step so far.
func (w *amWorld) fail(format string, args ...any) {
	w.t.Helper()
	w.t.Fatalf("%s (%d steps), after step %d: %s\nsteps:\n%s", w.input, w.steps, len(w.log),
		fmt.Sprintf(format, args...), strings.Join(w.log, "\n"))
}

// ---- the model's rules ----

func (w *amWorld) roleIn(actor, tenant string) bot.Role {
	r := bot.RoleNone
	if actor == amRoot {
		r = bot.RoleAdmin
	}
	r = max(r, w.grants[amKey{actor, ""}].role)
	if tenant != "" {
		r = max(r, w.grants[amKey{actor, tenant}].role)
	}
	return r
}

func (w *amWorld) highest(actor string) bot.Role {
	r := bot.RoleNone
	if actor == amRoot {
		r = bot.RoleAdmin
	}
	for k, g := range w.grants {
		if k.actor == actor {
			r = max(r, g.role)
		}
	}
	return r
}

func (w *amWorld) tenantOf(id string) (domain, policy string) {
	for _, tn := range amTenants {
		if tn.id == id {
			return tn.domain, tn.policy
		}
	}
	return "", ""
}

// expect adds a record the step should append; see recSig.
func (w *amWorld) expect(kind, outcome, actor, approval, extra string) {
	w.want = append(w.want, strings.Join([]string{kind, outcome, actor, approval, extra}, "|"))
}

// recSig is what of a record the model predicts.
func recSig(r bot.AuditRecord) string {
	extra := ""
	switch {
	case r.Kind == bot.KindAccess:
		extra = r.Params["actor"] + "@" + r.TenantID
		if r.Outcome == "granted" {
			extra += "=" + r.Params["role"]
		}
	case r.Kind == bot.KindDecision && r.Approver != nil:
		extra = "by " + r.Approver.ID
	case r.Kind == bot.KindRefused && r.Params["refused"] != "":
		extra = "summary " + r.Params["refused"]
	}
	return strings.Join([]string{r.Kind, r.Outcome, r.Actor.ID, r.ApprovalID, extra}, "|")
}

// refuse models a refusal: recorded, unless the actor has no role at all
// and is over the limit for the minute, when it is counted instead.
func (w *amWorld) refuse(actor, approval string) {
	w.stats["refused"]++
	if w.highest(actor) > bot.RoleNone {
		w.expect(bot.KindRefused, "refused", actor, approval, "")
		return
	}
	now := w.clock.Now()
	c := w.limiter[actor]
	if c != nil && now.Sub(c.start) >= time.Minute {
		if c.suppressed > 0 {
			w.expect(bot.KindRefused, "refused", actor, "", fmt.Sprint("summary ", c.suppressed))
			w.stats["refusal summaries"]++
		}
		c = nil
	}
	if c == nil {
		c = &amWindow{start: now}
		w.limiter[actor] = c
	}
	if c.recorded < 10 {
		c.recorded++
		w.expect(bot.KindRefused, "refused", actor, approval, "")
		return
	}
	c.suppressed++
	w.stats["refusals counted"]++
}

// flushRefusals models Sweep's summaries of finished windows.
func (w *amWorld) flushRefusals() {
	now := w.clock.Now()
	for actor, c := range w.limiter {
		if now.Sub(c.start) < time.Minute {
			continue
		}
		if c.suppressed > 0 {
			w.expect(bot.KindRefused, "refused", actor, "", fmt.Sprint("summary ", c.suppressed))
			w.stats["refusal summaries"]++
		}
		delete(w.limiter, actor)
	}
}

// run models the action's effect on the directory.
func (w *amWorld) run(action string, u *amUser) {
	switch action {
	case "block-signin":
		if u.enabled {
			u.enabled = false
			w.calls++
		}
	case "unblock-signin":
		if !u.enabled {
			u.enabled = true
			w.calls++
		}
	case "revoke-sessions":
		u.revoked++
		w.calls++
	case "reset-password":
		u.resets++
		w.calls++
	}
}

// overQuota models the hourly quota of destructive requests.
func (w *amWorld) overQuota(requester, tenant string) bool {
	since := w.clock.Now().Add(-time.Hour)
	var mine, inTenant int
	for _, id := range w.order {
		x := w.approvals[id]
		if x.createdAt.Before(since) || (x.action != "block-signin" && x.action != "reset-password") {
			continue
		}
		if x.requester == requester {
			mine++
		}
		if x.tenant == tenant {
			inTenant++
		}
	}
	return mine >= amQuota.PerTechnician || inTenant >= amQuota.PerTenant
}

// ---- steps ----

func (w *amWorld) do(actor, text string) {
	w.log = append(w.log, fmt.Sprintf("%3d %s  %s: %s", len(w.log)+1, w.clock.Now().Format("15:04:05"), actor, text))
	if p := w.handle(actor, text); p != "" {
		w.fail("%s", p)
	}
}

// handle runs one command and returns what it panicked with, if it did;
// it is safe to call concurrently.
func (w *amWorld) handle(actor, text string) (panicked string) {
	defer func() {
		if r := recover(); r != nil {
			panicked = fmt.Sprintf("%s: %s panicked: %v", actor, text, r)
		}
	}()
	platform, _, _ := strings.Cut(actor, ":")
	w.bot.Handle(w.ctx, bot.Event{Platform: platform, Channel: "ops", Actor: bot.Actor{ID: actor}, Text: text}, w.chat.For(bot.Actor{ID: actor}))
	return ""
}

func (w *amWorld) note(text string) {
	w.log = append(w.log, fmt.Sprintf("%3d %s  %s", len(w.log)+1, w.clock.Now().Format("15:04:05"), text))
}

func (w *amWorld) pick(xs []string) string { return xs[w.rng.IntN(len(xs))] }

// actorWith picks, most of the time, an actor holding at least role in
// tenant (or anywhere, for tenant "*"), else anyone.
func (w *amWorld) actorWith(role bot.Role, tenant string, p float64) string {
	if w.rng.Float64() < p {
		var ok []string
		for _, a := range amActors {
			if (tenant == "*" && w.highest(a) >= role) || (tenant != "*" && w.roleIn(a, tenant) >= role) {
				ok = append(ok, a)
			}
		}
		if len(ok) > 0 {
			return w.pick(ok)
		}
	}
	return w.pick(amActors)
}

func (w *amWorld) step() {
	w.want = nil
	before := w.dirState()
	switch n := w.rng.IntN(100); {
	case n < 15:
		w.stepGrant()
	case n < 21:
		w.stepRevoke()
	case n < 46:
		w.stepRequest()
	case n < 73:
		w.stepDecide("approve")
	case n < 78:
		w.stepDecide("deny")
	case n < 91:
		d := time.Duration(1+w.rng.IntN(90)) * time.Second
		w.clock.Add(d)
		w.note(fmt.Sprintf("clock +%s", d))
	case n < 93:
		w.clock.Add(amTTL + time.Minute)
		w.note("clock +16m, sweep")
		w.sweep()
	case n < 95:
		w.note("sweep")
		w.sweep()
	case n < 97:
		w.stepRace()
	case n < 98:
		w.stepBurst()
	default:
		w.stepSetRoles()
	}
	w.checkStep(before)
}

func (w *amWorld) stepGrant() {
	w.stepGrantBy(w.actorWith(bot.RoleAdmin, "*", 0.8))
}

func (w *amWorld) stepGrantBy(granter string) {
	grantee := w.pick(amActors[:len(amActors)-1])
	if w.rng.IntN(20) == 0 {
		grantee = amRoot
	}
	role := []bot.Role{bot.RoleViewer, bot.RoleHelpdesk, bot.RoleHelpdesk, bot.RoleApprover, bot.RoleApprover,
		bot.RoleApprover, bot.RoleAdmin, bot.RoleAdmin}[w.rng.IntN(8)]
	tenant, suffix := "", ""
	if w.rng.IntN(4) > 0 {
		tn := amTenants[w.rng.IntN(len(amTenants))]
		tenant, suffix = tn.id, " "+tn.domain
	}
	w.do(granter, fmt.Sprintf("access grant %s %s%s", grantee, role, suffix))
	if w.roleIn(granter, tenant) < bot.RoleAdmin {
		w.refuse(granter, "")
		return
	}
	w.grants[amKey{grantee, tenant}] = amGrant{role: role, grantedBy: granter}
	w.expect(bot.KindAccess, "granted", granter, "", grantee+"@"+tenant+"="+role.String())
	w.stats["granted"]++
}

func (w *amWorld) stepRevoke() {
	revoker := w.actorWith(bot.RoleAdmin, "*", 0.6)
	var grantee, tenant, suffix string
	if len(w.grants) > 0 && w.rng.IntN(4) > 0 {
		// Mostly a grant that exists.
		keys := make([]amKey, 0, len(w.grants))
		for k := range w.grants {
			keys = append(keys, k)
		}
		slices.SortFunc(keys, func(a, b amKey) int { return strings.Compare(a.actor+"\x00"+a.tenant, b.actor+"\x00"+b.tenant) })
		k := keys[w.rng.IntN(len(keys))]
		grantee, tenant = k.actor, k.tenant
	} else {
		grantee = w.pick(amActors)
		if w.rng.IntN(4) > 0 {
			tenant = amTenants[w.rng.IntN(len(amTenants))].id
		}
	}
	if tenant != "" {
		d, _ := w.tenantOf(tenant)
		suffix = " " + d
	}
	w.do(revoker, fmt.Sprintf("access revoke %s%s", grantee, suffix))
	if w.roleIn(revoker, tenant) < bot.RoleAdmin {
		w.refuse(revoker, "")
		return
	}
	if _, ok := w.grants[amKey{grantee, tenant}]; !ok {
		return // nothing to revoke: said privately, nothing recorded
	}
	delete(w.grants, amKey{grantee, tenant})
	w.expect(bot.KindAccess, "revoked", revoker, "", grantee+"@"+tenant)
	w.stats["revoked"]++
}

func (w *amWorld) stepRequest() {
	u := w.users[w.rng.IntN(len(w.users))]
	actor := w.actorWith(bot.RoleHelpdesk, u.tenant, 0.8)
	if u.adminRole != "" && w.rng.IntN(2) == 0 {
		actor = w.actorWith(bot.RoleAdmin, u.tenant, 0.8)
	}
	w.request(actor, u, w.pick(amActions))
}

// request asks for action on u as actor, and models it.
func (w *amWorld) request(actor string, u *amUser, action string) {
	text := fmt.Sprintf(`%s %s reason="r"`, action, u.upn)
	if action == "reset-password" && w.rng.IntN(2) == 0 {
		text += " --must-change"
	}
	known := slices.Clone(w.order)
	w.do(actor, text)

	role := w.roleIn(actor, u.tenant)
	_, policy := w.tenantOf(u.tenant)
	priv := u.adminRole != ""
	destructive := action == "block-signin" || action == "reset-password"
	if role < bot.RoleHelpdesk || (priv && policy != bot.PolicyTwoApprovers && role < bot.RoleAdmin) {
		w.refuse(actor, "")
		w.expectNoNewApproval(known)
		return
	}
	ap := &amApproval{action: action, requester: actor, tenant: u.tenant, user: u, pinnedRole: u.adminRole,
		needed: 1, createdAt: w.clock.Now(), state: bot.StatePending}
	if priv {
		ap.needed = 2
	}
	if destructive || ap.needed > 1 {
		ap.adminNeeded = w.overQuota(actor, u.tenant)
	}
	ap.id = w.newApprovalID(known)
	w.approvals[ap.id] = ap
	w.order = append(w.order, ap.id)
	if !destructive && ap.needed == 1 && !ap.adminNeeded {
		ap.ranAtOnce, ap.state = true, bot.StateDone
		w.expect(bot.KindRequest, "running", actor, "", "")
		w.run(action, u)
		w.expect(bot.KindOutcome, "ok", actor, "", "")
		w.stats["ran at once"]++
		return
	}
	ap.expiresAt = ap.createdAt.Add(amTTL)
	w.expect(bot.KindRequest, "pending", actor, ap.id, "")
	w.stats["asked"]++
	if priv {
		w.stats["asked privileged"]++
	}
	if ap.adminNeeded {
		w.stats["asked over quota"]++
	}
}

// newApprovalID returns the one approval the step stored.
func (w *amWorld) newApprovalID(known []string) string {
	all, err := w.db.Approvals(w.ctx)
	if err != nil {
		w.fail("approvals: %v", err)
	}
	var fresh []string
	for _, a := range all {
		if !slices.Contains(known, a.ID) {
			fresh = append(fresh, a.ID)
		}
	}
	if len(fresh) != 1 {
		w.fail("the request should have stored one approval; new approvals: %v", fresh)
	}
	return fresh[0]
}

func (w *amWorld) expectNoNewApproval(known []string) {
	all, err := w.db.Approvals(w.ctx)
	if err != nil {
		w.fail("approvals: %v", err)
	}
	for _, a := range all {
		if !slices.Contains(known, a.ID) {
			w.fail("a refused request stored approval %s (%s by %s, state %s)", a.ID, a.Action, a.Requester.ID, a.State)
		}
	}
}

func (w *amWorld) stepDecide(verb string) {
	if len(w.order) == 0 {
		w.stepRequest()
		return
	}
	var pending []string
	for _, x := range w.order {
		if w.approvals[x].state == bot.StatePending {
			pending = append(pending, x)
		}
	}
	var id, actor string
	switch n := w.rng.IntN(100); {
	case verb == "approve" && w.lastApprove.id != "" && n < 12:
		// A second click by the same person.
		id, actor = w.lastApprove.id, w.lastApprove.actor
	case len(pending) > 0 && n < 60:
		// Someone who may decide: an approver in the tenant, not the
		// requester, not one who approved already.
		id = w.pick(pending)
		ap := w.approvals[id]
		var may []string
		for _, a := range amActors {
			if a != ap.requester && !slices.Contains(ap.approvers, a) && w.roleIn(a, ap.tenant) >= bot.RoleApprover {
				may = append(may, a)
			}
		}
		if len(may) > 0 {
			actor = w.pick(may)
			break
		}
		actor = w.pick(amActors)
	default:
		if len(pending) > 0 && w.rng.IntN(2) == 0 {
			id = w.pick(pending)
		} else {
			id = w.pick(w.order)
		}
		if w.rng.IntN(6) == 0 {
			actor = w.approvals[id].requester
		} else {
			actor = w.pick(amActors)
		}
	}
	ap := w.approvals[id]
	w.do(actor, verb+" "+id)
	if verb == "approve" {
		w.lastApprove.id, w.lastApprove.actor = id, actor
	}
	w.decide(verb, actor, ap)
}

// stepRace clicks approve twice at the same moment: the same approver
// twice, or two approvers. The model replays the clicks in the order the
// store shows they took effect.
func (w *amWorld) stepRace() {
	now := w.clock.Now()
	var open []*amApproval
	for _, id := range w.order {
		ap := w.approvals[id]
		if ap.state == bot.StatePending && !now.After(ap.expiresAt) && !ap.adminNeeded {
			open = append(open, ap)
		}
	}
	if len(open) == 0 {
		w.stepDecide("approve")
		return
	}
	ap := open[w.rng.IntN(len(open))]
	var may []string
	for _, a := range amActors {
		if a != ap.requester && !slices.Contains(ap.approvers, a) && w.roleIn(a, ap.tenant) >= bot.RoleApprover {
			may = append(may, a)
		}
	}
	if len(may) == 0 {
		w.stepDecide("approve")
		return
	}
	first, second := w.pick(may), ""
	if len(may) > 1 && w.rng.IntN(2) == 0 {
		for second = first; second == first; {
			second = w.pick(may)
		}
	} else {
		second = first
	}
	text := "approve " + ap.id
	w.note(fmt.Sprintf("at once: %s: %s | %s: %s", first, text, second, text))
	var wg sync.WaitGroup
	panics := make([]string, 2)
	for i, a := range []string{first, second} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			panics[i] = w.handle(a, text)
		}()
	}
	wg.Wait()
	for _, p := range panics {
		if p != "" {
			w.fail("%s", p)
		}
	}
	w.stats["races"]++
	order := []string{first, second}
	if first != second {
		got, err := w.db.Approval(w.ctx, ap.id)
		if err != nil {
			w.fail("approval %s: %v", ap.id, err)
		}
		order = nil
		for _, p := range got.Approvers[min(len(ap.approvers), len(got.Approvers)):] {
			order = append(order, p.ID)
		}
		for _, a := range []string{first, second} {
			if !slices.Contains(order, a) {
				order = append(order, a)
			}
		}
		w.note(fmt.Sprintf("(took effect in the order %s)", strings.Join(order, ", ")))
	}
	for _, a := range order {
		w.decide("approve", a, ap)
	}
}

// stepBurst sends a run of commands from one actor within seconds, most
// of them refused, to cross the refusal limit of actors with no role.
func (w *amWorld) stepBurst() {
	actor := w.pick(amActors[:len(amActors)-1])
	n := 4 + w.rng.IntN(12)
	for range n {
		switch w.rng.IntN(3) {
		case 0:
			w.stepGrantBy(actor)
		case 1:
			u := w.users[w.rng.IntN(len(w.users))]
			w.request(actor, u, w.pick(amActions))
		default:
			if len(w.order) == 0 {
				w.stepGrantBy(actor)
				continue
			}
			ap := w.approvals[w.pick(w.order)]
			w.do(actor, "approve "+ap.id)
			w.decide("approve", actor, ap)
		}
		w.clock.Add(time.Duration(w.rng.IntN(4)) * time.Second)
	}
}

// decide models "approve <id>" and "deny <id>".
func (w *amWorld) decide(verb, actor string, ap *amApproval) {
	own := actor == ap.requester
	if own && verb == "approve" {
		w.refuse(actor, ap.id)
		return
	}
	role := bot.RoleNone
	if !own {
		role = w.roleIn(actor, ap.tenant)
		if role < bot.RoleApprover {
			w.refuse(actor, ap.id)
			return
		}
	}
	if ap.state != bot.StatePending {
		w.stats["late clicks"]++
		return // already decided: said privately
	}
	now := w.clock.Now()
	if now.After(ap.expiresAt) {
		ap.state = bot.StateExpired
		w.expect(bot.KindDecision, "expired", "cippbot", ap.id, "")
		return
	}
	if verb == "deny" {
		ap.state = bot.StateDenied
		w.expect(bot.KindDecision, "denied", actor, ap.id, "by "+actor)
		w.stats["denied"]++
		return
	}
	if slices.Contains(ap.approvers, actor) {
		w.refuse(actor, ap.id)
		return
	}
	if ap.adminNeeded && role < bot.RoleAdmin && len(ap.approvers)+1 == ap.needed && !ap.adminApproved {
		w.refuse(actor, ap.id)
		w.stats["admin needed refusals"]++
		return
	}
	ap.approvers = append(ap.approvers, actor)
	ap.rolesAtApproval = append(ap.rolesAtApproval, role)
	if role >= bot.RoleAdmin {
		ap.adminApproved = true
	}
	if len(ap.approvers) < ap.needed {
		w.expect(bot.KindDecision, fmt.Sprintf("approved %d of %d", len(ap.approvers), ap.needed), actor, ap.id, "by "+actor)
		return
	}
	ap.state = bot.StateRunning
	w.expect(bot.KindDecision, "approved", actor, ap.id, "by "+actor)
	if ap.user.adminRole != ap.pinnedRole {
		ap.state = bot.StateFailed
		w.expect(bot.KindOutcome, "void", ap.requester, ap.id, "")
		w.stats["void"]++
		return
	}
	ap.intents++
	w.expect(bot.KindIntent, "running", ap.requester, ap.id, "")
	w.run(ap.action, ap.user)
	w.expect(bot.KindOutcome, "ok", ap.requester, ap.id, "")
	ap.state = bot.StateDone
	w.stats["ran approved"]++
	if ap.pinnedRole != "" {
		w.stats["ran privileged"]++
	}
}

func (w *amWorld) sweep() {
	if err := w.bot.Sweep(w.ctx); err != nil {
		w.fail("sweep: %v", err)
	}
	w.flushRefusals()
	now := w.clock.Now()
	for _, id := range w.order {
		ap := w.approvals[id]
		if ap.state == bot.StatePending && now.After(ap.expiresAt) {
			ap.state = bot.StateExpired
			w.expect(bot.KindDecision, "expired", "cippbot", ap.id, "")
			w.stats["expired"]++
		}
	}
}

func (w *amWorld) stepSetRoles() {
	u := w.users[w.rng.IntN(len(w.users))]
	role := w.pick(amAdminRoles)
	w.note(fmt.Sprintf("directory: %s now has role %q", u.upn, role))
	u.adminRole = role
	if role == "" {
		w.dir.SetRoles(u.id)
	} else {
		w.dir.SetRoles(u.id, role)
	}
}

// ---- checks ----

// userState is what the directory holds for one user.
type amUserState struct {
	enabled  bool
	revoked  int
	password string
}

func (w *amWorld) dirState() map[string]amUserState {
	m := map[string]amUserState{}
	for _, u := range w.users {
		mu, ok := w.dir.Get(u.id)
		if !ok {
			w.fail("user %s vanished from the directory", u.upn)
		}
		m[u.id] = amUserState{enabled: mu.Enabled, revoked: mu.Revoked, password: mu.Password}
	}
	return m
}

// newRecords returns the records appended since the last call, read from
// the end of the trail, and keeps them in w.trail.
func (w *amWorld) newRecords() []bot.AuditRecord {
	last := uint64(len(w.trail))
	for limit := 8; ; limit *= 4 { // a step appends a few records at most
		recs, err := w.db.Audit(w.ctx, bot.AuditFilter{Limit: limit})
		if err != nil {
			w.fail("audit: %v", err)
		}
		if len(recs) < limit || (len(recs) > 0 && recs[0].Seq <= last+1) {
			var fresh []bot.AuditRecord
			for _, r := range recs {
				if r.Seq > last {
					fresh = append(fresh, r)
				}
			}
			for i, r := range fresh {
				if r.Seq != last+uint64(i)+1 {
					w.fail("audit record #%d follows #%d", r.Seq, last+uint64(i))
				}
			}
			w.trail = append(w.trail, fresh...)
			return fresh
		}
	}
}

// checkStep checks what the step appended to the audit trail: first the
// invariants, then that the directory changed only where a run was
// recorded in this step, then that the records are those the model
// expects.
func (w *amWorld) checkStep(before map[string]amUserState) {
	fresh := w.newRecords()
	w.checkRecords(fresh)

	// The directory changes only where this step recorded a run of the
	// change: an intent (after approval) or a request that ran at once;
	// a privileged user only after two approvers.
	after := w.dirState()
	for _, u := range w.users {
		if before[u.id] == after[u.id] {
			continue
		}
		var by *bot.AuditRecord
		for i, r := range fresh {
			if (r.Kind == bot.KindIntent || r.Kind == bot.KindRequest && r.Outcome == "running") &&
				slices.ContainsFunc(r.Targets, func(t bot.Target) bool { return t.ID == u.id }) {
				by = &fresh[i]
			}
		}
		if by == nil {
			w.fail("%s changed in the directory (%+v → %+v) with no run recorded in this step", u.upn, before[u.id], after[u.id])
		}
		if u.adminRole != "" {
			if by.Kind != bot.KindIntent {
				w.fail("privileged %s (%s) changed by a request that ran at once, without approval", u.upn, u.adminRole)
			}
			ap, err := w.db.Approval(w.ctx, by.ApprovalID)
			if err != nil {
				w.fail("approval %s of the run on %s: %v", by.ApprovalID, u.upn, err)
			}
			if n := distinctApprovers(ap); n < 2 {
				w.fail("privileged %s changed through %s with %d approver(s) other than the requester", u.upn, ap.ID, n)
			}
		}
	}

	// Then the records the model expects, in any order: each accepted
	// grant, revoke and decision is recorded, and each refusal (or it is
	// counted, for an actor with no role over the limit).
	got := make([]string, len(fresh))
	for i, r := range fresh {
		got[i] = recSig(r)
	}
	want := slices.Clone(w.want)
	sort.Strings(got)
	sort.Strings(want)
	if !slices.Equal(got, want) {
		w.fail("audit records of the step (kind|outcome|actor|approval|extra)\n got: %q\nwant: %q", got, want)
	}
}

// checkRecords checks new records against the invariants of the trail:
// an approval runs (has an intent) at most once, a privileged one only
// after two approvers, and nobody's approval of their own request is
// recorded.
func (w *amWorld) checkRecords(fresh []bot.AuditRecord) {
	for _, r := range fresh {
		switch r.Kind {
		case bot.KindIntent:
			w.intents[r.ApprovalID]++
			if w.intents[r.ApprovalID] > 1 {
				w.fail("approval %s ran twice: a second intent record #%d", r.ApprovalID, r.Seq)
			}
			ap, err := w.db.Approval(w.ctx, r.ApprovalID)
			if err != nil {
				w.fail("intent #%d names approval %q: %v", r.Seq, r.ApprovalID, err)
			}
			priv := slices.ContainsFunc(ap.Targets, func(t bot.Target) bool { return len(t.Roles) > 0 })
			if priv && distinctApprovers(ap) < 2 {
				w.fail("intent #%d runs privileged approval %s with approvers %v", r.Seq, ap.ID, ap.Approvers)
			}
		case bot.KindDecision:
			if r.Approver == nil || (r.Outcome != "approved" && !strings.HasPrefix(r.Outcome, "approved ")) {
				continue
			}
			ap, err := w.db.Approval(w.ctx, r.ApprovalID)
			if err != nil {
				w.fail("decision #%d names approval %q: %v", r.Seq, r.ApprovalID, err)
			}
			if r.Approver.ID == ap.Requester.ID {
				w.fail("decision #%d: %s approved their own request %s", r.Seq, r.Approver.ID, ap.ID)
			}
			if r.Actor.ID != r.Approver.ID {
				w.fail("decision #%d: actor %s, approver %s", r.Seq, r.Actor.ID, r.Approver.ID)
			}
		}
	}
	for id, m := range w.approvals {
		if w.intents[id] != m.intents {
			w.fail("approval %s has %d intent records, model says %d", id, w.intents[id], m.intents)
		}
	}
}

// checkTrail reads the whole trail once more: it must be what was read
// step by step, and its hash chain must verify.
func (w *amWorld) checkTrail() {
	recs, err := w.db.Audit(w.ctx, bot.AuditFilter{})
	if err != nil {
		w.fail("audit: %v", err)
	}
	if len(recs) != len(w.trail) {
		w.fail("the trail has %d records, %d were read step by step", len(recs), len(w.trail))
	}
	for i := range recs {
		if recs[i].Hash != w.trail[i].Hash {
			w.fail("audit record #%d changed after it was written", recs[i].Seq)
		}
	}
	if _, err := w.db.VerifyAudit(w.ctx); err != nil {
		w.fail("audit chain does not verify: %v", err)
	}
}

func distinctApprovers(ap bot.Approval) int {
	var seen []string
	for _, p := range ap.Approvers {
		if p.ID != ap.Requester.ID && !slices.Contains(seen, p.ID) {
			seen = append(seen, p.ID)
		}
	}
	return len(seen)
}

// check compares the store and the directory with the model, and checks
// the invariants that need no model.
func (w *amWorld) check() {
	w.checkGrants()
	w.checkApprovals()
	w.checkDirectory()
}

func (w *amWorld) checkGrants() {
	grants, err := w.db.Grants(w.ctx)
	if err != nil {
		w.fail("grants: %v", err)
	}
	got := map[amKey]amGrant{}
	for _, g := range grants {
		k := amKey{g.Actor, g.Tenant}
		if _, dup := got[k]; dup {
			w.fail("two grants for %s in %q", g.Actor, g.Tenant)
		}
		got[k] = amGrant{role: g.Role, grantedBy: g.GrantedBy}
	}
	for k, g := range w.grants {
		if got[k] != g {
			w.fail("grant of %s in %q: store has %+v, model %+v", k.actor, k.tenant, got[k], g)
		}
	}
	for k, g := range got {
		if _, ok := w.grants[k]; !ok {
			w.fail("store holds a grant the model did not allow: %s is %s in %q (granted by %s)", k.actor, g.role, k.tenant, g.grantedBy)
		}
	}
	scopes := []string{""}
	for _, tn := range amTenants {
		scopes = append(scopes, tn.id)
	}
	for _, a := range amActors {
		for _, tn := range scopes {
			r, err := w.bot.RoleIn(w.ctx, a, tn)
			if err != nil {
				w.fail("RoleIn(%s, %q): %v", a, tn, err)
			}
			if want := w.roleIn(a, tn); r != want {
				w.fail("RoleIn(%s, %q) = %s, model says %s", a, tn, r, want)
			}
		}
	}
}

func (w *amWorld) checkApprovals() {
	all, err := w.db.Approvals(w.ctx)
	if err != nil {
		w.fail("approvals: %v", err)
	}
	if len(all) != len(w.order) {
		ids := make([]string, len(all))
		for i, a := range all {
			ids[i] = a.ID
		}
		w.fail("store has approvals %v, model %v", ids, w.order)
	}
	for _, ap := range all {
		m := w.approvals[ap.ID]
		if m == nil {
			w.fail("store has approval %s the model does not know", ap.ID)
		}
		var approvers []string
		for _, p := range ap.Approvers {
			approvers = append(approvers, p.ID)
		}
		switch {
		case ap.State != m.state:
			w.fail("approval %s is %s, model says %s", ap.ID, ap.State, m.state)
		case ap.Requester.ID != m.requester || ap.TenantID != m.tenant || ap.Action != m.action:
			w.fail("approval %s is %s by %s in %s, model says %s by %s in %s", ap.ID, ap.Action, ap.Requester.ID, ap.TenantID,
				m.action, m.requester, m.tenant)
		case len(ap.Targets) != 1 || ap.Targets[0].ID != m.user.id:
			w.fail("approval %s targets %+v, model says %s", ap.ID, ap.Targets, m.user.id)
		case !slices.Equal(approvers, m.approvers):
			w.fail("approval %s has approvers %v, model says %v", ap.ID, approvers, m.approvers)
		case max(1, ap.Needed) != m.needed:
			w.fail("approval %s needs %d approvers, model says %d", ap.ID, max(1, ap.Needed), m.needed)
		case ap.AdminNeeded != m.adminNeeded || ap.AdminApproved != m.adminApproved:
			w.fail("approval %s admin needed/approved %v/%v, model says %v/%v", ap.ID, ap.AdminNeeded, ap.AdminApproved,
				m.adminNeeded, m.adminApproved)
		}
		pinned := ap.Targets[0].Roles
		if (len(pinned) > 0) != (m.pinnedRole != "") || (m.pinnedRole != "" && !slices.Equal(pinned, []string{m.pinnedRole})) {
			w.fail("approval %s pins roles %v, model says %q", ap.ID, pinned, m.pinnedRole)
		}

		// 2: nobody approves their own request.
		if slices.ContainsFunc(ap.Approvers, func(p bot.Actor) bool { return p.ID == ap.Requester.ID }) {
			w.fail("approval %s has its requester %s among its approvers %v", ap.ID, ap.Requester.ID, approvers)
		}
		// 3: a privileged target is changed only after two approvers,
		// each an approver or more in the tenant when they approved.
		ran := ap.State == bot.StateRunning || ap.State == bot.StateDone || ap.State == bot.StateFailed
		if ran && len(pinned) > 0 {
			if n := distinctApprovers(ap); n < 2 {
				w.fail("approval %s for privileged %s (%v) is %s with %d approver(s) other than the requester",
					ap.ID, ap.Targets[0].UPN, pinned, ap.State, n)
			}
			for i, r := range m.rolesAtApproval {
				if r < bot.RoleApprover {
					w.fail("approval %s: %s approved with role %s", ap.ID, m.approvers[i], r)
				}
			}
		}
		if ran && !m.ranAtOnce {
			if len(ap.Approvers) < max(1, ap.Needed) {
				w.fail("approval %s is %s with %d of %d approvals", ap.ID, ap.State, len(ap.Approvers), max(1, ap.Needed))
			}
			if ap.AdminNeeded && !ap.AdminApproved {
				w.fail("approval %s needed an admin and is %s without one", ap.ID, ap.State)
			}
		}
	}
}

func (w *amWorld) checkDirectory() {
	if got := w.dir.Calls.Load(); got != w.calls {
		w.fail("directory changed %d times, model says %d", got, w.calls)
	}
	for _, u := range w.users {
		mu, _ := w.dir.Get(u.id)
		if mu.Enabled != u.enabled || mu.Revoked != u.revoked {
			w.fail("%s: enabled=%v revoked=%d, model says enabled=%v revoked=%d", u.upn, mu.Enabled, mu.Revoked, u.enabled, u.revoked)
		}
		if mu.Password != u.lastPassword {
			u.seenResets++
			u.lastPassword = mu.Password
		}
		if u.seenResets != u.resets {
			w.fail("%s: the password changed %d times, model says %d resets", u.upn, u.seenResets, u.resets)
		}
	}
}
