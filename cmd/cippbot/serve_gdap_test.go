package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/cippbot/cippbot/actions/m365"
	"github.com/cippbot/cippbot/internal/fakegraph"
	"github.com/cippbot/cippbot/internal/fakeslack"
	"github.com/cippbot/cippbot/store"
)

func TestServe_GDAPNeedsStoreKey(t *testing.T) {
	t.Parallel()
	cfg := DefaultConfig()
	cfg.Auth = "gdap"
	err := runServe(context.Background(), cfg, nil, nil, slog.New(slog.DiscardHandler))
	var ue usageError
	if !errors.As(err, &ue) || !strings.Contains(err.Error(), "CIPPBOT_STORE_KEY") {
		t.Fatalf("serve in gdap mode without a store key: %v", err)
	}
	if _, err := LoadConfig(func(k string) string { return map[string]string{"CIPPBOT_AUTH": "delegated"}[k] }); err == nil {
		t.Error("CIPPBOT_AUTH=delegated accepted")
	}
}

// gdapServe starts serve in delegated mode after importing a CIPP refresh
// token for the partner's service account into its store. more, if given,
// adjust the configuration further.
func gdapServe(t *testing.T, more ...func(*Config)) *slackRun {
	t.Helper()
	return startSlack(t, false, slackOpts{
		setup: func(ctx context.Context, db *store.DB, sim *fakegraph.Server) {
			must(t, sim.AddTenant(fakegraph.PartnerSeed()))
			must(t, sim.AddTenant(fakegraph.FabrikamSeed()))
			signInServiceAccount(t, ctx, db, sim)
		},
		config: func(c *Config) {
			gdapMode(c)
			for _, f := range more {
				f(c)
			}
		},
	})
}

// signInServiceAccount stores in db, sealed, the partner service
// account's sign-in, as importing CIPP's refresh token does.
func signInServiceAccount(t *testing.T, ctx context.Context, db *store.DB, sim *fakegraph.Server) {
	t.Helper()
	rt, err := sim.IssueRefreshToken(fakegraph.PartnerTenantID, loginAccount)
	must(t, err)
	cfg := DefaultConfig()
	cfg.AuthorityHost = sim.URL() + "/"
	gc, err := gdapConfig(cfg, gdapSettings{StoreKey: loginStoreKey, TenantID: fakegraph.PartnerTenantID,
		ClientID: fakegraph.DefaultClientID, ClientSecret: fakegraph.DefaultClientSecret}, db, sim.Client(), nil)
	must(t, err)
	g, err := m365.NewGDAP(gc)
	must(t, err)
	_, err = g.ImportRefreshToken(ctx, rt)
	must(t, err)
}

// gdapMode configures serve for delegated access through the simulated
// partner's service account.
func gdapMode(c *Config) {
	c.Auth = "gdap"
	c.TenantID = fakegraph.PartnerTenantID
	c.GDAP = gdapSettings{StoreKey: loginStoreKey, TenantID: fakegraph.PartnerTenantID,
		ClientID: fakegraph.DefaultClientID, ClientSecret: fakegraph.DefaultClientSecret}
}

// waitSynced waits for serve's first tenant sync, which records each
// customer's GDAP access.
func waitSynced(t *testing.T, r *slackRun) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(r.logs.String(), `"msg":"tenants synced"`) {
		if time.Now().After(deadline) {
			t.Fatalf("no tenant sync:\n%s", r.logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestServe_GDAPLacksRole: fabrikam's GDAP relationship gives the service
// account's group no Exchange role, so a mailbox action there is refused
// before anyone is asked to approve, naming the role, and Exchange is
// never called.
func TestServe_GDAPLacksRole(t *testing.T) {
	t.Parallel()
	r := gdapServe(t)
	waitSynced(t, r)
	before := len(r.sim.Requests())
	r.slash(t, "COPS", "URILEY", `convert-mailbox AlexW@fabrikam.com shared reason="left the company"`)
	m := r.wait(t, "refusal naming the role", func(m fakeslack.Message) bool {
		return strings.Contains(m.Text, "Exchange Administrator")
	})
	if !strings.Contains(m.Text, "fabrikam.com") || !strings.Contains(m.Text, "GDAP") {
		t.Errorf("refusal = %q", m.Text)
	}
	for _, msg := range r.fs.Messages() {
		if isCard(msg) {
			t.Errorf("an approval card was posted: %q", msg.Text)
		}
	}
	for _, req := range r.sim.Requests()[before:] {
		if strings.Contains(req.Path, "InvokeCommand") {
			t.Errorf("Exchange was called: %s %s", req.Method, req.Path)
		}
	}
	// The same request in contoso, whose relationship gives the group
	// Exchange Administrator, goes on to approval.
	r.slash(t, "COPS", "URILEY", `convert-mailbox AdeleV@contoso.com shared reason="left the company"`)
	r.wait(t, "approval card for contoso", isCard)
}

func TestServe_GDAPResetPassword(t *testing.T) {
	t.Parallel()
	r := gdapServe(t)
	r.slash(t, "COPS", "URILEY", `reset-password AdeleV@contoso.com reason="locked out"`)
	card := r.wait(t, "approval card", isCard)
	val := approveValue.FindStringSubmatch(string(card.Blocks))
	if val == nil {
		t.Fatalf("card has no approve button: %s", card.Blocks)
	}
	r.click(t, card, val[1], "USAM")
	secretMsg := r.wait(t, "secret to riley", func(m fakeslack.Message) bool {
		return m.Ephemeral && m.User == "URILEY" && strings.Contains(m.Text, "Only you can see this")
	})
	secret := secretIn(t, secretMsg.Blocks)
	u, _ := r.sim.User(fakegraph.ContosoTenantID, "AdeleV@contoso.com")
	if u.Password != secret {
		t.Fatal("the tenant's password is not the one delivered")
	}
	// Every Graph call went out with the service account's delegated token.
	var graphCalls int
	var accessTokens []string
	for _, req := range r.sim.Requests() {
		if !strings.HasPrefix(req.Path, "/v1.0/") && !strings.HasPrefix(req.Path, "/beta/") {
			continue
		}
		graphCalls++
		tok := strings.TrimPrefix(req.Header.Get("Authorization"), "Bearer ")
		accessTokens = append(accessTokens, tok)
		a, ok := r.sim.Delegated(tok)
		if !ok || a.UPN != loginAccount {
			t.Errorf("%s %s: not a delegated token for the service account (%+v)", req.Method, req.Path, a)
		}
		if strings.HasSuffix(req.Path, "/organization") {
			continue // tenant sync reads each customer's, fabrikam's too
		}
		// The partner's own calls (the GDAP relationships and their
		// access assignments, the service account's groups) go to the
		// partner tenant, the rest to the customer.
		want := fakegraph.ContosoTenantID
		if strings.Contains(req.Path, "tenantRelationships") || strings.Contains(req.Path, "/users/"+a.UserID+"/transitiveMemberOf") {
			want = fakegraph.PartnerTenantID
		}
		if a.TenantID != want {
			t.Errorf("%s %s: token for tenant %s, want %s", req.Method, req.Path, a.TenantID, want)
		}
	}
	if graphCalls == 0 {
		t.Fatal("no Graph call recorded")
	}
	res, err := http.Get(r.base + "/readyz")
	must(t, err)
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Errorf("/readyz = %d %s", res.StatusCode, body)
	}
	r.stop(t)
	raw, err := os.ReadFile(r.path)
	must(t, err)
	db, err := openStore(r.path)
	must(t, err)
	var export bytes.Buffer
	must(t, db.ExportAudit(context.Background(), &export, "jsonl", time.Time{}))
	must(t, db.Close())
	if export.Len() == 0 {
		t.Fatal("empty audit export")
	}
	secrets := append(r.sim.RefreshTokens(), accessTokens...)
	for _, s := range append(secrets, fakegraph.DefaultClientSecret, loginStoreKey) {
		if bytes.Contains(raw, []byte(s)) || strings.Contains(r.logs.String(), s) || bytes.Contains(export.Bytes(), []byte(s)) {
			t.Errorf("a secret (%.8s…) is in the bbolt file, the logs or the audit export", s)
		}
	}
}

func TestServe_GDAPRevokedDegrades(t *testing.T) {
	t.Parallel()
	// No tenant sync (no AZURE_TENANT_ID): no access token is cached
	// before the revocation, so every request needs the refresh token.
	r := gdapServe(t, func(c *Config) { c.Admins = []string{"slack:UHD"}; c.TenantID = "" })
	r.sim.RevokeRefreshTokens(fakegraph.PartnerTenantID, loginAccount)
	isNotice := func(m fakeslack.Message) bool {
		return m.User == "UHD" && strings.Contains(m.Text, "cannot reach any customer tenant")
	}
	for range 2 {
		r.slash(t, "COPS", "URILEY", `reset-password AdeleV@contoso.com reason="locked out"`)
	}
	refusal := r.wait(t, "refusal naming the fix", func(m fakeslack.Message) bool {
		return m.User == "URILEY" && strings.Contains(m.Text, "AADSTS50173") && strings.Contains(m.Text, "cippbot login")
	})
	if strings.Count(refusal.Text, "\n") > 1 {
		t.Errorf("refusal is not one line: %q", refusal.Text)
	}
	notice := r.wait(t, "the admin told", isNotice)
	if body := notice.Text + string(notice.Blocks); !strings.Contains(body, "AADSTS50173") || !strings.Contains(body, "cippbot login") {
		t.Errorf("admin notice = %q %s", notice.Text, notice.Blocks)
	}
	// A third request, once both refusals are out: still one notice.
	r.slash(t, "COPS", "URILEY", `reset-password AdeleV@contoso.com reason="locked out"`)
	deadline := time.Now().Add(5 * time.Second)
	for refusals := 0; refusals < 3 && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		refusals = 0
		for _, m := range r.fs.Messages() {
			if m.User == "URILEY" && strings.Contains(m.Text, "AADSTS50173") {
				refusals++
			}
		}
	}
	time.Sleep(200 * time.Millisecond)
	notices := 0
	for _, m := range r.fs.Messages() {
		if isNotice(m) {
			notices++
		}
	}
	if notices != 1 {
		t.Errorf("the admin was told %d times, want once", notices)
	}
	res, err := http.Get(r.base + "/readyz")
	must(t, err)
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(body), "AADSTS50173") {
		t.Errorf("/readyz = %d %s; want degraded with AADSTS50173", res.StatusCode, body)
	}
	for _, s := range r.sim.RefreshTokens() {
		if strings.Contains(r.logs.String(), s) {
			t.Error("a refresh token is in the logs")
		}
	}
}
