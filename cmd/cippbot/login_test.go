package main

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cippbot/cippbot/actions/m365"
	"github.com/cippbot/cippbot/internal/fakegraph"
	"github.com/cippbot/cippbot/store"
)

const (
	loginStoreKey = "a store key of at least thirty-two characters"
	loginAccount  = "SamR@" + fakegraph.PartnerDomain
)

// loginEnv starts a simulated partner with its customers and returns it,
// a configuration and an environment for login.
func loginEnv(t *testing.T) (*fakegraph.Server, Config, map[string]string) {
	t.Helper()
	sim := fakegraph.NewTest(t, fakegraph.Options{})
	for _, seed := range []fakegraph.TenantSeed{fakegraph.FabrikamSeed(), fakegraph.PartnerSeed()} {
		must(t, sim.AddTenant(seed))
	}
	sim.Start()
	t.Cleanup(sim.Close)
	cfg := DefaultConfig()
	cfg.DataPath = filepath.Join(t.TempDir(), "cippbot.db")
	cfg.AuthorityHost = sim.URL() + "/"
	env := map[string]string{
		"AZURE_TENANT_ID":     fakegraph.PartnerTenantID,
		"AZURE_CLIENT_ID":     fakegraph.DefaultClientID,
		"AZURE_CLIENT_SECRET": fakegraph.DefaultClientSecret,
		"CIPPBOT_STORE_KEY":   loginStoreKey,
	}
	return sim, cfg, env
}

// login runs cippbot login and returns what it printed and logged.
func login(t *testing.T, ctx context.Context, sim *fakegraph.Server, cfg Config, env map[string]string) (string, string, error) {
	t.Helper()
	var out, logs bytes.Buffer
	getenv := func(k string) string { return env[k] }
	c, err := LoadConfig(getenv)
	must(t, err)
	c.DataPath, c.AuthorityHost = cfg.DataPath, cfg.AuthorityHost
	err = runLogin(ctx, c, nil, getenv, &out, sim.Client(), slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	return out.String(), logs.String(), err
}

// delegatedToken opens the stored cache the way serve does and gets a
// token for a customer tenant.
func delegatedToken(t *testing.T, sim *fakegraph.Server, cfg Config, key string) (string, error) {
	t.Helper()
	db, err := openStore(cfg.DataPath)
	must(t, err)
	defer db.Close()
	gc, err := gdapConfig(cfg, gdapSettings{StoreKey: key, TenantID: fakegraph.PartnerTenantID,
		ClientID: fakegraph.DefaultClientID, ClientSecret: fakegraph.DefaultClientSecret}, db, sim.Client(), nil)
	must(t, err)
	g, err := m365.NewGDAP(gc)
	must(t, err)
	tok, err := g.Token(context.Background(), fakegraph.ContosoTenantID, []string{"https://outlook.office365.com/.default"})
	return tok.Token, err
}

// sweepSecrets fails the test if any secret appears in the database file or in
// the given texts.
func sweepSecrets(t *testing.T, sim *fakegraph.Server, path string, texts ...string) {
	t.Helper()
	raw, err := os.ReadFile(path)
	must(t, err)
	secrets := append(sim.RefreshTokens(), fakegraph.DefaultClientSecret, loginStoreKey)
	for _, s := range secrets {
		if bytes.Contains(raw, []byte(s)) {
			t.Errorf("the database file holds a secret in plaintext (%.8s…)", s)
		}
		for _, text := range texts {
			if strings.Contains(text, s) {
				t.Errorf("output or logs hold a secret (%.8s…):\n%s", s, text)
			}
		}
	}
}

func TestLogin_DeviceCode(t *testing.T) {
	t.Parallel()
	sim, cfg, env := loginEnv(t)
	sim.SetPublicClientFlows(true)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// The technician: waits for the code cippbot shows, then signs in.
	go func() {
		for ctx.Err() == nil {
			if codes := sim.DeviceCodes(); len(codes) > 0 {
				if err := sim.SignInDeviceCode(codes[0], loginAccount); err != nil {
					t.Error(err)
				}
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	}()
	out, logs, err := login(t, ctx, sim, cfg, env)
	if err != nil {
		t.Fatalf("login: %v\n%s", err, out)
	}
	for _, want := range []string{fakegraph.DeviceLoginURL, "Signed in as " + loginAccount} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	tok, err := delegatedToken(t, sim, cfg, loginStoreKey)
	if err != nil {
		t.Fatalf("token after login: %v", err)
	}
	a, ok := sim.Delegated(tok)
	if !ok || a.UPN != loginAccount || a.TenantID != fakegraph.ContosoTenantID {
		t.Errorf("Delegated = %+v, %v", a, ok)
	}
	sweepSecrets(t, sim, cfg.DataPath, out, logs, tok)

	t.Run("ErrWrongKey", func(t *testing.T) {
		_, err := delegatedToken(t, sim, cfg, "a different store key, also long enough")
		if !errors.Is(err, store.ErrWrongKey) || !strings.Contains(err.Error(), "CIPPBOT_STORE_KEY") {
			t.Fatalf("err = %v, want ErrWrongKey naming CIPPBOT_STORE_KEY", err)
		}
	})
}

func TestLogin_ImportCIPP(t *testing.T) {
	t.Parallel()
	sim, cfg, _ := loginEnv(t)
	rt, err := sim.IssueRefreshToken(fakegraph.PartnerTenantID, loginAccount)
	must(t, err)
	secretFile := filepath.Join(t.TempDir(), "secret")
	must(t, os.WriteFile(secretFile, []byte(fakegraph.DefaultClientSecret+"\n"), 0o600))
	// CIPP's names, as its function app holds them.
	env := map[string]string{
		"TenantID":               fakegraph.PartnerTenantID,
		"ApplicationID":          fakegraph.DefaultClientID,
		"ApplicationSecret_FILE": secretFile,
		"RefreshToken":           rt,
		"CIPPBOT_STORE_KEY":      loginStoreKey,
	}
	out, logs, err := login(t, context.Background(), sim, cfg, env)
	if err != nil {
		t.Fatalf("login: %v", err)
	}
	if !strings.Contains(out, "Imported CIPP's refresh token for "+loginAccount) {
		t.Errorf("output:\n%s", out)
	}
	tok, err := delegatedToken(t, sim, cfg, loginStoreKey)
	if err != nil {
		t.Fatalf("token after import: %v", err)
	}
	sweepSecrets(t, sim, cfg.DataPath, out, logs, tok)

	t.Run("ErrRevoked", func(t *testing.T) {
		sim.RevokeRefreshTokens(fakegraph.PartnerTenantID, loginAccount)
		_, err := delegatedToken(t, sim, cfg, loginStoreKey)
		var ge *m365.GDAPError
		if !errors.As(err, &ge) || ge.Code != 50173 || !strings.Contains(err.Error(), "cippbot login") {
			t.Fatalf("err = %v", err)
		}
		sweepSecrets(t, sim, cfg.DataPath, err.Error())
	})
}

func TestLogin_ErrNoStoreKey(t *testing.T) {
	t.Parallel()
	sim, cfg, env := loginEnv(t)
	delete(env, "CIPPBOT_STORE_KEY")
	_, _, err := login(t, context.Background(), sim, cfg, env)
	var ue usageError
	if !errors.As(err, &ue) || !strings.Contains(err.Error(), "CIPPBOT_STORE_KEY") {
		t.Fatalf("err = %v, want a usage error naming CIPPBOT_STORE_KEY", err)
	}
}

func TestLogin_TenantsSyncDelegated(t *testing.T) {
	t.Parallel()
	sim, cfg, env := loginEnv(t)
	rt, err := sim.IssueRefreshToken(fakegraph.PartnerTenantID, loginAccount)
	must(t, err)
	env["RefreshToken"] = rt
	if _, _, err := login(t, context.Background(), sim, cfg, env); err != nil {
		t.Fatal(err)
	}
	delete(env, "RefreshToken")
	env["CIPPBOT_AUTH"] = "gdap"
	c, err := LoadConfig(func(k string) string { return env[k] })
	must(t, err)
	c.DataPath, c.AuthorityHost, c.GraphURL = cfg.DataPath, cfg.AuthorityHost, sim.URL()
	sim.ResetRequests()
	var out bytes.Buffer
	if err := runTenants(context.Background(), c, []string{"sync"}, &out, sim.Client(), slog.New(slog.DiscardHandler)); err != nil {
		t.Fatalf("tenants sync: %v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "2 added") {
		t.Errorf("sync: %s", out.String())
	}
	for _, req := range sim.Requests() {
		if !strings.HasPrefix(req.Path, "/v1.0/") {
			continue
		}
		tok := strings.TrimPrefix(req.Header.Get("Authorization"), "Bearer ")
		if a, ok := sim.Delegated(tok); !ok || a.UPN != loginAccount {
			t.Errorf("%s %s: not the service account's delegated token", req.Method, req.Path)
		}
	}

	// check judges each tenant by the roles its GDAP access assignments
	// give the service account's group: fabrikam's give no Exchange nor
	// Authentication Administrator (that one goes to the admin agents).
	var check bytes.Buffer
	err = runCheck(context.Background(), c, &check, sim.Client(), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("check: %v\n%s", err, check.String())
	}
	fab := check.String()[strings.Index(check.String(), "fabrikam.com:"):]
	for _, want := range []string{
		"✗ convert-mailbox needs the Exchange Administrator role through GDAP",
		"✗ create-tap needs the Authentication Administrator role through GDAP",
		"GDAP roles of the service account: Helpdesk Administrator, User Administrator",
		"On users synced from on-premises AD, reset-password is refused without the Authentication Administrator role through GDAP",
	} {
		if !strings.Contains(fab, want) {
			t.Errorf("fabrikam's check lacks %q:\n%s", want, check.String())
		}
	}
	if strings.Contains(fab, "reset-password needs") || strings.Contains(check.String(), "app-only mode cannot do") {
		t.Errorf("check:\n%s", check.String())
	}
	con := check.String()[:strings.Index(check.String(), "fabrikam.com:")]
	if strings.Contains(con, "convert-mailbox needs") || !strings.Contains(con, "Exchange Administrator") {
		t.Errorf("contoso's check:\n%s", con)
	}

	// The rehearsal, with the delegated token too, says the same.
	var reh bytes.Buffer
	if err := runRehearse(context.Background(), c, []string{"--rehearse", "GarthF@fabrikam.com"}, &reh, sim.Client(), slog.New(slog.DiscardHandler)); err != nil {
		t.Fatalf("rehearse: %v\n%s", err, reh.String())
	}
	if !strings.Contains(reh.String(), "missing GDAP role: give the service account's group the Exchange Administrator role") {
		t.Errorf("rehearsal:\n%s", reh.String())
	}
}
