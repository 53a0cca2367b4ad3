package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/cippbot/cippbot/bot"
	"github.com/cippbot/cippbot/internal/fakediscord"
	"github.com/cippbot/cippbot/internal/fakegraph"
	"github.com/cippbot/cippbot/internal/fakeslack"
	"github.com/cippbot/cippbot/store"
)

// The insider tests: each finding of the authorization review, tried as
// an insider would, through serve with signed platform requests against
// the simulated tenant. People are named by their part; each platform
// maps them to its own IDs.
const (
	pHelpdesk  = "helpdesk"  // helpdesk in every tenant
	pApprover  = "approver"  // approver in every tenant
	pApprover2 = "approver2" // a second approver in every tenant
	pAdmin     = "admin"     // admin in every tenant (by grant)
	pFabAdmin  = "fabadmin"  // admin of fabrikam.com only
	pNobody    = "nobody"    // no role anywhere
)

// insiderChat drives one platform.
type insiderChat interface {
	id(person string) string // platform-qualified actor ID
	// send sends a command as typed after /cipp.
	send(t *testing.T, person, text string)
	// private waits for a private message to person containing s and
	// returns its text.
	private(t *testing.T, person, s string) string
	// card waits for an approval card containing s and returns a handle
	// for approve and the card's text.
	card(t *testing.T, s string) (any, string)
	approve(t *testing.T, person string, card any)
	// cardText waits until the card's text contains s.
	cardText(t *testing.T, card any, s string) string
	sim() *fakegraph.Server
	// stop stops serve, so that the store can be opened.
	stop(t *testing.T)
	dbPath() string
}

// insiderSetup is the store and tenant every insider test starts from:
// contoso.com and fabrikam.com onboarded, roles per person, Microsoft's
// role data in the simulated tenant.
func insiderSetup(ids func(string) string) func(ctx context.Context, db *store.DB, sim *fakegraph.Server) {
	return func(ctx context.Context, db *store.DB, sim *fakegraph.Server) {
		if err := sim.AddTenant(fakegraph.FabrikamSeed()); err != nil {
			panic(err)
		}
		put := func(err error) {
			if err != nil {
				panic(err)
			}
		}
		put(db.PutTenant(ctx, bot.Tenant{ID: fakegraph.FabrikamTenantID, Name: "Fabrikam", DefaultDomain: fakegraph.FabrikamDomain,
			Domains: []string{fakegraph.FabrikamDomain}}))
		for person, g := range map[string]bot.Grant{
			pHelpdesk:  {Role: bot.RoleHelpdesk},
			pApprover:  {Role: bot.RoleApprover},
			pApprover2: {Role: bot.RoleApprover},
			pAdmin:     {Role: bot.RoleAdmin},
			pFabAdmin:  {Role: bot.RoleAdmin, Tenant: fakegraph.FabrikamTenantID},
		} {
			g.Actor, g.GrantedBy = ids(person), "test"
			put(db.PutGrant(ctx, g))
		}
	}
}

// testInsider runs every finding against one platform.
func testInsider(t *testing.T, c insiderChat) {
	sim := c.sim()
	adele := "AdeleV@contoso.com"

	// 1. A tenant-scoped admin stays in their tenant.
	t.Run("tenant admin", func(t *testing.T) {
		c.send(t, pFabAdmin, "access grant "+c.id(pFabAdmin)+" admin")
		c.private(t, pFabAdmin, "Only a global admin may grant roles in all tenants")
		c.send(t, pFabAdmin, "access revoke "+c.id(pApprover))
		c.private(t, pFabAdmin, "Only a global admin may revoke roles in all tenants")
		c.send(t, pFabAdmin, "access grant "+c.id(pNobody)+" approver contoso.com")
		c.private(t, pFabAdmin, "Only an admin of contoso.com may grant roles there.")
		c.send(t, pHelpdesk, "block-signin "+adele+` reason="leaver, ticket 1"`)
		card, _ := c.card(t, "block-signin "+adele)
		c.approve(t, pFabAdmin, card)
		c.private(t, pFabAdmin, "Only an approver for contoso.com may approve")
		if u, _ := sim.User(fakegraph.ContosoTenantID, adele); !u.AccountEnabled {
			t.Fatal("fabrikam's admin approved a contoso.com block")
		}
		c.approve(t, pApprover, card) // the request itself was fine
		c.cardText(t, card, "sign-in blocked")
		c.send(t, pFabAdmin, "whoami")
		if s := c.private(t, pFabAdmin, "fabrikam.com: admin"); strings.Contains(s, "All tenants") {
			t.Fatalf("whoami of a tenant admin: %s", s)
		}

	})
	// 2. A role past the first page of memberships is still found: Allan
	// holds Helpdesk Administrator and joins 150 groups.
	t.Run("role on page 2", func(t *testing.T) {
		allan := "AllanD@contoso.com"
		for i := range 150 {
			must(t, sim.AddGroup(fakegraph.ContosoTenantID, fakegraph.Group{ID: fmt.Sprintf("00000000-0000-4000-8000-%012d", i),
				DisplayName: fmt.Sprintf("Project %03d", i), SecurityEnabled: true, Members: []string{allanID}}))
		}
		c.send(t, pHelpdesk, "reset-password "+allan+` reason="locked out"`)
		c.private(t, pHelpdesk, "AllanD@contoso.com is Helpdesk Administrator")
		// And a role held through a role-assignable group that comes after
		// those 150 groups, on the second page of transitiveMemberOf.
		must(t, sim.AddGroup(fakegraph.ContosoTenantID, fakegraph.Group{ID: "00000000-0000-4000-8000-999999999999",
			DisplayName: "Night Shift Admins", SecurityEnabled: true, IsAssignableToRole: true, Members: []string{allanID},
			Roles: []string{"Password Administrator"}}))
		c.send(t, pHelpdesk, "block-signin "+allan+` reason="leaver"`)
		c.private(t, pHelpdesk, "AllanD@contoso.com is Helpdesk Administrator, Helpdesk Administrator (through Helpdesk Operators), Password Administrator (through Night Shift Admins)")

	})
	// 3. A role held through a role-assignable group.
	t.Run("role through group", func(t *testing.T) {
		c.send(t, pHelpdesk, "reset-password "+fakegraph.ContosoGroupHelpdeskUPN+` reason="locked out"`)
		c.private(t, pHelpdesk, fakegraph.ContosoGroupHelpdeskUPN+" is Helpdesk Administrator (through Helpdesk Operators):")

	})
	// 4. Helpdesk cannot make anyone Global Administrator by group.
	t.Run("privileged group", func(t *testing.T) {
		sim.ResetRequests()
		c.send(t, pHelpdesk, `add-to-group `+adele+` "Tier 0 Admins"`)
		c.private(t, pHelpdesk, "Tier 0 Admins holds Global Administrator")
		for _, r := range sim.Requests() {
			if r.Method == "POST" && strings.Contains(r.Path, "/members") {
				t.Fatalf("a member was added: %s %s", r.Method, r.Path)
			}
		}
		if g, _ := sim.Group(fakegraph.ContosoTenantID, "Tier 0 Admins"); contains(g.Members, fakegraph.ContosoAdeleID) {
			t.Fatal("Adele is in Tier 0 Admins")
		}
		// An admin may ask; two approvers other than the admin must agree.
		c.send(t, pAdmin, `add-to-group `+adele+` "Tier 0 Admins" reason="new admin, ticket 2"`)
		card, text := c.card(t, "add-to-group "+adele)
		if !strings.Contains(text, "Tier 0 Admins holds Global Administrator") || !strings.Contains(text, "0 of 2") {
			t.Fatalf("card does not say why two must approve:\n%s", text)
		}
		c.approve(t, pAdmin, card)
		c.private(t, pAdmin, "own request")
		c.approve(t, pApprover, card)
		c.cardText(t, card, "1 of 2")
		if g, _ := sim.Group(fakegraph.ContosoTenantID, "Tier 0 Admins"); contains(g.Members, fakegraph.ContosoAdeleID) {
			t.Fatal("added after one approval")
		}
		c.approve(t, pApprover2, card)
		c.cardText(t, card, "added to Tier 0 Admins")
		if g, _ := sim.Group(fakegraph.ContosoTenantID, "Tier 0 Admins"); !contains(g.Members, fakegraph.ContosoAdeleID) {
			t.Fatal("not added after two approvals")
		}

	})
	// 5. A zero-width space is no reason.
	t.Run("invisible reason", func(t *testing.T) {
		c.send(t, pHelpdesk, "delete-user MeganB@contoso.com reason=\"\u200b\"")
		c.private(t, pHelpdesk, "A reason needs letters or digits")

	})
	// A PIM-eligible admin is an admin: she can activate the role at will.
	t.Run("eligible role", func(t *testing.T) {
		c.send(t, pHelpdesk, "reset-password "+fakegraph.ContosoEligiblePRAUPN+` reason="locked out"`)
		c.private(t, pHelpdesk, fakegraph.ContosoEligiblePRAUPN+" is Privileged Role Administrator (eligible):")
	})
	// A group that Conditional Access leaves out is privilege too.
	t.Run("conditional access exclusion", func(t *testing.T) {
		c.send(t, pHelpdesk, `add-to-group MeganB@contoso.com "Break Glass Exclusions"`)
		c.private(t, pHelpdesk, "Break Glass Exclusions is excluded from Conditional Access policy Require MFA for all users")
		if g, _ := sim.Group(fakegraph.ContosoTenantID, "Break Glass Exclusions"); contains(g.Members, fakegraph.ContosoMeganID) {
			t.Fatal("Megan was added")
		}
	})
	// 6. Someone with no role cannot grow the store: 30 refused commands
	t.Run("refusal flood", func(t *testing.T) {
		// of 8 KB and 134 targets each.
		var targets []string
		for i := range 134 {
			targets = append(targets, fmt.Sprintf("user%03d-%s@contoso.com", i, strings.Repeat("x", 40)))
		}
		flood := "block-signin " + strings.Join(targets, " ")
		for i := range 30 {
			c.send(t, pNobody, flood)
			if i == 0 {
				c.private(t, pNobody, "needs the helpdesk role")
			}
		}
		c.stop(t) // the last refusals are written after the ack, before serve stops
		db := store.NewDB(c.dbPath())
		must(t, db.Open())
		defer db.Close()
		recs, err := db.Audit(context.Background(), bot.AuditFilter{})
		must(t, err)
		var n, size int
		for _, r := range recs {
			if r.Actor.ID != c.id(pNobody) {
				continue
			}
			n++
			b, _ := json.Marshal(r)
			size += len(b)
			if len(r.Targets) > 3 {
				t.Errorf("a refusal keeps %d targets", len(r.Targets))
			}
		}
		if n > 10 || size > 10*2048 {
			t.Fatalf("30 refusals wrote %d records of %d bytes", n, size)
		}
		if _, err := db.VerifyAudit(context.Background()); err != nil {
			t.Fatalf("audit chain: %v", err)
		}
	})
}

func contains(xs []string, x string) bool {
	for _, v := range xs {
		if strings.EqualFold(v, x) {
			return true
		}
	}
	return false
}

const allanID = "e19e18b0-8ea6-4cc8-bff5-e19fd804c726"

// slackInsider drives Slack.
type slackInsider struct{ r *slackRun }

var slackPeople = map[string]string{pHelpdesk: "UHD", pApprover: "USAM", pApprover2: "UAPP2", pAdmin: "UADMIN", pFabAdmin: "UFAB", pNobody: "UNOBODY"}

func (s slackInsider) id(p string) string { return "slack:" + slackPeople[p] }
func (s slackInsider) send(t *testing.T, p, text string) {
	t.Helper()
	s.r.slash(t, "COPS", slackPeople[p], text)
}
func (s slackInsider) private(t *testing.T, p, want string) string {
	t.Helper()
	m := s.r.wait(t, fmt.Sprintf("%q to %s", want, p), func(m fakeslack.Message) bool {
		return m.Ephemeral && m.User == slackPeople[p] && strings.Contains(strings.Join(texts(t, m.Blocks), "\n")+m.Text, want)
	})
	return strings.Join(texts(t, m.Blocks), "\n")
}
func (s slackInsider) card(t *testing.T, want string) (any, string) {
	t.Helper()
	m := s.r.wait(t, "card "+want, func(m fakeslack.Message) bool { return isCard(m) && strings.Contains(m.Text, want) })
	return m, strings.Join(texts(t, m.Blocks), "\n")
}
func (s slackInsider) approve(t *testing.T, p string, card any) {
	t.Helper()
	m := card.(fakeslack.Message)
	val := approveValue.FindStringSubmatch(string(m.Blocks))
	if val == nil {
		t.Fatalf("card has no approve button: %s", m.Blocks)
	}
	s.r.click(t, m, val[1], slackPeople[p])
}
func (s slackInsider) cardText(t *testing.T, card any, want string) string {
	t.Helper()
	ts := card.(fakeslack.Message).TS
	m := s.r.wait(t, "card with "+want, func(m fakeslack.Message) bool {
		return m.TS == ts && strings.Contains(strings.Join(texts(t, m.Blocks), "\n"), want)
	})
	return strings.Join(texts(t, m.Blocks), "\n")
}
func (s slackInsider) sim() *fakegraph.Server { return s.r.sim }
func (s slackInsider) stop(t *testing.T)      { s.r.stop(t) }
func (s slackInsider) dbPath() string         { return s.r.path }

func TestSlackInsider(t *testing.T) {
	t.Parallel()
	s := slackInsider{}
	ids := func(p string) string { return s.id(p) }
	s.r = startSlack(t, false, slackOpts{reasonRequired: true, setup: insiderSetup(ids)})
	var members []string
	for _, u := range slackPeople {
		members = append(members, u)
	}
	s.r.fs.AddChannel("COPS", "ops", members...)
	testInsider(t, s)
}

// discordInsider drives Discord through /cipp run.
type discordInsider struct{ r *discordRun }

var discordPeople = map[string]string{pHelpdesk: "3000000000000000011", pApprover: "3000000000000000012", pApprover2: "3000000000000000013",
	pAdmin: "3000000000000000014", pFabAdmin: "3000000000000000015", pNobody: "3000000000000000016"}

func (d discordInsider) id(p string) string { return "discord:" + discordPeople[p] }
func (d discordInsider) send(t *testing.T, p, text string) {
	t.Helper()
	d.r.deliver(t, d.r.fd.Command(dChan, discordPeople[p], command("run", opt("command", 3, text))))
}
func (d discordInsider) private(t *testing.T, p, want string) string {
	t.Helper()
	m := d.r.wait(t, fmt.Sprintf("%q to %s", want, p), func(m fakediscord.Message) bool {
		return m.Ephemeral && m.For == discordPeople[p] && strings.Contains(m.Content, want)
	})
	return m.Content
}
func (d discordInsider) card(t *testing.T, want string) (any, string) {
	t.Helper()
	m := d.r.wait(t, "card "+want, func(m fakediscord.Message) bool {
		return m.Via == fakediscord.ViaChannel && strings.Contains(m.Content, "Approval needed") && strings.Contains(m.Content, want)
	})
	return m, m.Content
}
func (d discordInsider) approve(t *testing.T, p string, card any) {
	t.Helper()
	m := card.(fakediscord.Message)
	val := customApprove.FindStringSubmatch(string(m.Components))
	if val == nil {
		t.Fatalf("card has no approve button: %s", m.Components)
	}
	click, err := d.r.fd.Click(dChan, discordPeople[p], m, val[1])
	must(t, err)
	d.r.deliver(t, click)
}
func (d discordInsider) cardText(t *testing.T, card any, want string) string {
	t.Helper()
	id := card.(fakediscord.Message).ID
	return d.r.wait(t, "card with "+want, func(m fakediscord.Message) bool { return m.ID == id && strings.Contains(m.Content, want) }).Content
}
func (d discordInsider) sim() *fakegraph.Server { return d.r.sim }
func (d discordInsider) stop(t *testing.T)      { d.r.stop(t) }
func (d discordInsider) dbPath() string         { return d.r.path }

func TestDiscordInsider(t *testing.T) {
	t.Parallel()
	d := discordInsider{}
	ids := func(p string) string { return d.id(p) }
	d.r = startDiscordOpts(t, discordOpts{reasonRequired: true, setup: insiderSetup(ids)})
	var members []string
	for _, u := range discordPeople {
		members = append(members, u)
	}
	d.r.fd.AddChannel(dChan, guild, members...)
	testInsider(t, d)
}
