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
// token for the partner's service account into its store.
// gdapServe starts serve in gdap mode with the service account signed
// in; with revoked, an admin has revoked its refresh tokens before serve
// starts. Revoking later would race serve's first token requests: access
// tokens already issued live on until they expire, as Entra's do.
func gdapServe(t *testing.T, revoked bool) *slackRun {
	t.Helper()
	return startSlack(t, false, slackOpts{
		setup: func(ctx context.Context, db *store.DB, sim *fakegraph.Server) {
			must(t, sim.AddTenant(fakegraph.PartnerSeed()))
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
			if revoked {
				sim.RevokeRefreshTokens(fakegraph.PartnerTenantID, loginAccount)
			}
		},
		config: func(c *Config) {
			c.Auth = "gdap"
			c.TenantID = fakegraph.PartnerTenantID
			c.GDAP = gdapSettings{StoreKey: loginStoreKey, TenantID: fakegraph.PartnerTenantID,
				ClientID: fakegraph.DefaultClientID, ClientSecret: fakegraph.DefaultClientSecret}
		},
	})
}

func TestServe_GDAPResetPassword(t *testing.T) {
	r := gdapServe(t, false)
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
		// The partner's own calls (the GDAP relationships) go to the
		// partner tenant, the rest to the customer.
		want := fakegraph.ContosoTenantID
		if strings.Contains(req.Path, "tenantRelationships") {
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
	r := gdapServe(t, true)
	r.slash(t, "COPS", "URILEY", `reset-password AdeleV@contoso.com reason="locked out"`)
	r.wait(t, "refusal naming the fix", func(m fakeslack.Message) bool {
		return strings.Contains(m.Text, "AADSTS50173") && strings.Contains(m.Text, "cippbot login")
	})
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
