package main

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/cippbot/cippbot/actions"
	"github.com/cippbot/cippbot/internal/fakegraph"
	"github.com/cippbot/cippbot/internal/fakeslack"
	"github.com/cippbot/cippbot/store"
)

// modeServe starts serve in app-only mode or, with gdap, in delegated
// mode through the partner's service account, whose GDAP relationship
// with contoso grants what the actions below need. Exchange and the
// SharePoint admin site are the simulated cloud's.
func modeServe(t *testing.T, gdap bool) *slackRun {
	t.Helper()
	if gdap {
		return rolesServe(t, []string{"User Administrator", "Privileged Authentication Administrator",
			"Exchange Administrator", "SharePoint Administrator"})
	}
	return rolesServe(t, nil)
}

// rolesServe starts serve in app-only mode or, with roles non-nil, in
// delegated mode through a GDAP relationship whose access assignment gives
// the service account's group those roles.
func rolesServe(t *testing.T, roles []string) *slackRun {
	t.Helper()
	opts := slackOpts{config: func(c *Config) {
		c.ExchangeURL, c.SharePointAdminURL = c.GraphURL, c.GraphURL
	}}
	if roles != nil {
		opts.setup = func(ctx context.Context, db *store.DB, sim *fakegraph.Server) {
			seed := fakegraph.PartnerSeed()
			seed.Relationships[0].Roles = roles
			// The service account's group gets every role of the relationship.
			seed.Relationships[0].AccessAssignments = []fakegraph.AccessAssignment{{GroupID: fakegraph.PartnerServiceDeskGroupID, Roles: seed.Relationships[0].Roles}}
			must(t, sim.AddTenant(seed))
			signInServiceAccount(t, ctx, db, sim)
		}
		opts.config = func(c *Config) {
			c.ExchangeURL, c.SharePointAdminURL = c.GraphURL, c.GraphURL
			gdapMode(c)
		}
	}
	r := startSlack(t, false, opts)
	r.sim.SetResetRetryAfter(0)
	return r
}

// ask has riley ask for command and sam approve the card that names
// target; it returns the card.
func (r *slackRun) ask(t *testing.T, command, target string) fakeslack.Message {
	t.Helper()
	r.slash(t, "COPS", "URILEY", command+` reason="ticket 42"`)
	card := r.wait(t, "approval card for "+command, func(m fakeslack.Message) bool {
		return isCard(m) && m.Updated == 0 && strings.Contains(string(m.Blocks), target) &&
			strings.Contains(string(m.Blocks), strings.Fields(command)[0])
	})
	val := approveValue.FindStringSubmatch(string(card.Blocks))
	if val == nil {
		t.Fatalf("card has no approve button: %s", card.Blocks)
	}
	r.click(t, card, val[1], "USAM")
	return card
}

// refused waits for riley's private refusal of command, which must come
// before anyone is asked to approve.
func (r *slackRun) refused(t *testing.T, command, target, want string) {
	t.Helper()
	r.slash(t, "COPS", "URILEY", command+` reason="ticket 42"`)
	r.wait(t, "refusal of "+command, func(m fakeslack.Message) bool {
		return m.User == "URILEY" && strings.Contains(m.Text, want)
	})
	for _, m := range r.fs.Messages() {
		if isCard(m) && strings.Contains(string(m.Blocks), target) && strings.Contains(string(m.Blocks), strings.Fields(command)[0]) {
			t.Errorf("%s reached approval", command)
		}
	}
}

// secretFor waits for the secret delivered to riley about upn.
func (r *slackRun) secretFor(t *testing.T, upn string) string {
	t.Helper()
	m := r.wait(t, "secret for "+upn, func(m fakeslack.Message) bool {
		return m.Ephemeral && m.User == "URILEY" && strings.Contains(m.Text, "Only you can see this") &&
			strings.Contains(string(m.Blocks), upn)
	})
	return secretIn(t, m.Blocks)
}

// eventually waits until cond holds.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("never: %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestServe_ActionsInBothModes runs, through serve and Slack, the actions
// GDAP mode changes, in app-only and in GDAP mode: reset-password of a
// cloud and of a synced user, block-signin, convert-mailbox and
// provision-onedrive. What app-only cannot do is refused before approval
// with a pointer to GDAP mode; GDAP mode does it. Then no secret — the
// refresh tokens, the access tokens, the new passwords — is in the logs,
// the audit export, the store file or a channel message.
func TestServe_ActionsInBothModes(t *testing.T) {
	t.Parallel()
	const (
		adele  = "AdeleV@contoso.com"  // cloud user
		grady  = "GradyA@contoso.com"  // synced from on-premises
		alex   = "AlexW@contoso.com"   // block-signin
		megan  = "MeganB@contoso.com"  // convert-mailbox
		isaiah = "IsaiahL@contoso.com" // provision-onedrive
	)
	for _, mode := range []string{"app", "gdap"} {
		t.Run(mode, func(t *testing.T) {
			gdap := mode == "gdap"
			r := modeServe(t, gdap)
			r.sim.SetPasswordWriteback(fakegraph.ContosoTenantID, fakegraph.WritebackOn)
			var secrets []string

			// reset-password, cloud user: both modes, PATCH passwordProfile.
			r.ask(t, "reset-password "+adele+" --must-change", adele)
			pw := r.secretFor(t, adele)
			secrets = append(secrets, pw)
			if u, _ := r.sim.User(fakegraph.ContosoTenantID, adele); u.Password != pw || !u.ForceChangePasswordNextSignIn {
				t.Error("cloud user: the tenant's password is not the one delivered")
			}

			// reset-password, synced user: writeback in GDAP mode only.
			if gdap {
				r.ask(t, "reset-password "+grady, grady)
				pw := r.secretFor(t, grady)
				secrets = append(secrets, pw)
				if u, _ := r.sim.User(fakegraph.ContosoTenantID, grady); u.Password != pw {
					t.Error("synced user: the tenant's password is not the one delivered")
				}
				if ops := r.sim.ResetOperations(); len(ops) != 1 || ops[0].Status != "succeeded" {
					t.Errorf("reset operations = %+v", ops)
				}
			} else {
				r.refused(t, "reset-password "+grady, grady, actions.GDAPPointer)
			}

			// block-signin: both modes.
			r.ask(t, "block-signin "+alex, alex)
			eventually(t, "AlexW blocked", func() bool {
				u, _ := r.sim.User(fakegraph.ContosoTenantID, alex)
				return !u.AccountEnabled
			})

			// convert-mailbox: Exchange Online, app-only or delegated.
			r.ask(t, "convert-mailbox "+megan+" shared", megan)
			eventually(t, "MeganB's mailbox shared", func() bool {
				u, _ := r.sim.User(fakegraph.ContosoTenantID, megan)
				return u.MailboxType == fakegraph.MailboxShared
			})

			// provision-onedrive: a signed-in SharePoint admin only.
			if gdap {
				// A change the helpdesk may make without a second pair
				// of eyes: it runs at once.
				r.slash(t, "COPS", "URILEY", "provision-onedrive "+isaiah+` reason="ticket 42"`)
				r.wait(t, "OneDrive created", func(m fakeslack.Message) bool {
					return strings.Contains(m.Text, isaiah+": OneDrive created")
				})
				eventually(t, "Isaiah's OneDrive", func() bool { return r.sim.OneDrive(fakegraph.ContosoTenantID, isaiah) })
			} else {
				r.refused(t, "provision-onedrive "+isaiah, isaiah, actions.GDAPPointer)
				if r.sim.OneDrive(fakegraph.ContosoTenantID, isaiah) {
					t.Error("app-only provisioned a OneDrive")
				}
			}

			// In GDAP mode every call used the service account's token.
			var accessTokens []string
			for _, req := range r.sim.Requests() {
				tok := strings.TrimPrefix(req.Header.Get("Authorization"), "Bearer ")
				if tok == "" || req.Header.Get("Authorization") == "" {
					continue
				}
				accessTokens = append(accessTokens, tok)
				if _, ok := r.sim.Delegated(tok); ok != gdap && !strings.Contains(req.Path, "/oauth2/") {
					t.Errorf("%s %s: delegated token %v in mode %s", req.Method, req.Path, ok, mode)
				}
			}

			r.stop(t)
			raw, err := os.ReadFile(r.path)
			must(t, err)
			db, err := openStore(r.path)
			must(t, err)
			var export bytes.Buffer
			must(t, db.ExportAudit(context.Background(), &export, "jsonl", time.Time{}))
			must(t, db.Close())
			var public strings.Builder
			for _, m := range r.fs.Messages() {
				if !m.Ephemeral && !m.DM {
					public.WriteString(m.Text)
					public.Write(m.Blocks)
				}
			}
			all := append(append(secrets, r.sim.RefreshTokens()...), accessTokens...)
			if gdap && len(r.sim.RefreshTokens()) == 0 {
				t.Error("no refresh token to look for")
			}
			for _, s := range append(all, fakegraph.DefaultClientSecret, loginStoreKey) {
				for where, in := range map[string]string{"logs": r.logs.String(), "audit export": export.String(),
					"store file": string(raw), "channel messages": public.String()} {
					if strings.Contains(in, s) {
						t.Errorf("a secret (%.6s…) is in the %s", s, where)
					}
				}
			}
		})
	}
}

// TestServe_GDAPSyncedResetNeedsAuthAdmin: with a relationship that gives
// Password Administrator alone, a cloud user's reset goes to approval, and
// a synced user's, which writes the password back and needs Authentication
// Administrator, is refused before anyone is asked, naming the role.
func TestServe_GDAPSyncedResetNeedsAuthAdmin(t *testing.T) {
	t.Parallel()
	r := rolesServe(t, []string{"Password Administrator"})
	waitSynced(t, r) // the first tenant sync records the relationship's roles
	r.refused(t, "reset-password GradyA@contoso.com", "GradyA@contoso.com",
		"reset-password of GradyA@contoso.com (it is synced from on-premises AD, so its new password is written back) needs the Authentication Administrator role in contoso.com")
	r.ask(t, "reset-password AdeleV@contoso.com", "AdeleV@contoso.com")
	r.secretFor(t, "AdeleV@contoso.com")
	if ops := r.sim.ResetOperations(); len(ops) != 0 {
		t.Errorf("a writeback reset was sent: %+v", ops)
	}
}

// TestServe_GDAPWritebackFails: when the tenant does not write the
// password back, the reset is reported failed and no password is
// delivered.
func TestServe_GDAPWritebackFails(t *testing.T) {
	t.Parallel()
	r := modeServe(t, true)
	r.ask(t, "reset-password GradyA@contoso.com", "GradyA@contoso.com")
	r.wait(t, "failure naming the cause", func(m fakeslack.Message) bool {
		return strings.Contains(string(m.Blocks), "GradyA@contoso.com: Microsoft 365 did not reset the password: Password writeback is not enabled")
	})
	time.Sleep(200 * time.Millisecond)
	for _, m := range r.fs.Messages() {
		if strings.Contains(m.Text, "Only you can see this") {
			t.Errorf("a secret was delivered for a failed reset: %q", m.Text)
		}
	}
	if ops := r.sim.ResetOperations(); len(ops) != 1 || ops[0].Status != "failed" {
		t.Errorf("reset operations = %+v", ops)
	}
}
