package m365_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cippbot/cippbot/actions/m365"
	"github.com/cippbot/cippbot/internal/fakegraph"
)

// gdapAccount is the partner's GDAP service account in these tests.
const gdapAccount = "SamR@" + fakegraph.PartnerDomain

var (
	graphScope    = []string{"https://graph.microsoft.com/.default"}
	exchangeScope = []string{"https://outlook.office365.com/.default"}
)

// memCacheStore is a TokenCacheStore in memory that remembers every blob
// written, for secret sweeps.
type memCacheStore struct {
	mu     sync.Mutex
	blob   []byte
	writes [][]byte
}

func (m *memCacheStore) Get(context.Context) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.blob, nil
}

func (m *memCacheStore) Put(_ context.Context, b []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.blob = append([]byte(nil), b...)
	m.writes = append(m.writes, m.blob)
	return nil
}

// gdapSim starts a simulated cloud with the partner and its customers.
func gdapSim(t *testing.T, now func() time.Time) *fakegraph.Server {
	t.Helper()
	sim := fakegraph.NewTest(t, fakegraph.Options{Now: now})
	for _, seed := range []fakegraph.TenantSeed{fakegraph.FabrikamSeed(), fakegraph.PartnerSeed(),
		{ID: "6f1d2c3b-4a59-4e8d-9c7b-0a1b2c3d4e5f", DisplayName: "Litware", Domains: []string{"litware.com", "litware.onmicrosoft.com"}}} {
		if err := sim.AddTenant(seed); err != nil {
			t.Fatal(err)
		}
	}
	sim.Start()
	t.Cleanup(sim.Close)
	return sim
}

func gdapConfig(sim *fakegraph.Server, st m365.TokenCacheStore) m365.GDAPConfig {
	return m365.GDAPConfig{
		AuthorityHost: sim.URL(), PartnerTenantID: fakegraph.PartnerTenantID,
		ClientID: fakegraph.DefaultClientID, ClientSecret: fakegraph.DefaultClientSecret,
		Store: st, HTTPClient: sim.Client(),
	}
}

func newGDAP(t *testing.T, cfg m365.GDAPConfig) *m365.GDAP {
	t.Helper()
	g, err := m365.NewGDAP(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// importCIPP imports a refresh token the way a CIPP installation holds it
// and returns it.
func importCIPP(t *testing.T, sim *fakegraph.Server, g *m365.GDAP) string {
	t.Helper()
	rt, err := sim.IssueRefreshToken(fakegraph.PartnerTenantID, gdapAccount)
	if err != nil {
		t.Fatal(err)
	}
	user, err := g.ImportRefreshToken(context.Background(), rt)
	if err != nil {
		t.Fatalf("ImportRefreshToken: %v", err)
	}
	if !strings.EqualFold(user, gdapAccount) {
		t.Errorf("ImportRefreshToken signed in %q, want %s", user, gdapAccount)
	}
	return rt
}

// jwtClaims decodes a JWT's payload.
func jwtClaims(t *testing.T, tok string) map[string]any {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT")
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestGDAP_Tokens(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	sim := gdapSim(t, nil)
	st := &memCacheStore{}
	g := newGDAP(t, gdapConfig(sim, st))
	imported := importCIPP(t, sim, g)

	var tokens []string
	for _, tc := range []struct {
		tenant string
		scopes []string
		aud    string
	}{
		{fakegraph.ContosoTenantID, graphScope, "https://graph.microsoft.com"},
		{fakegraph.ContosoTenantID, exchangeScope, "https://outlook.office365.com"},
		{fakegraph.ContosoTenantID, []string{"https://contoso-admin.sharepoint.com/.default"}, "https://contoso-admin.sharepoint.com"},
		{fakegraph.FabrikamTenantID, graphScope, "https://graph.microsoft.com"},
	} {
		tok, err := g.Token(ctx, tc.tenant, tc.scopes)
		if err != nil {
			t.Fatalf("Token(%s, %v): %v", tc.tenant, tc.scopes, err)
		}
		c := jwtClaims(t, tok.Token)
		if c["tid"] != tc.tenant || c["aud"] != tc.aud || c["upn"] != gdapAccount || c["scp"] == nil {
			t.Errorf("Token(%s, %v) claims = %v", tc.tenant, tc.scopes, c)
		}
		if !tok.ExpiresOn.After(time.Now()) {
			t.Errorf("ExpiresOn = %v", tok.ExpiresOn)
		}
		tokens = append(tokens, tok.Token)
	}

	t.Run("AccessTokensCachedPerTenant", func(t *testing.T) {
		before := sim.TokensIssuedFor(fakegraph.ContosoTenantID)
		tok, err := g.Token(ctx, fakegraph.ContosoTenantID, graphScope)
		if err != nil || tok.Token != tokens[0] {
			t.Fatalf("second Token = %v; want the cached token", err)
		}
		if n := sim.TokensIssuedFor(fakegraph.ContosoTenantID); n != before {
			t.Errorf("a cached token went to the authority: %d -> %d", before, n)
		}
	})

	t.Run("StoreHoldsNoAccessToken", func(t *testing.T) {
		st.mu.Lock()
		defer st.mu.Unlock()
		if len(st.writes) == 0 {
			t.Fatal("nothing stored")
		}
		for _, w := range st.writes {
			for _, tok := range tokens {
				if strings.Contains(string(w), tok) {
					t.Fatal("an access token reached the store")
				}
			}
			if strings.Contains(string(w), "AccessToken") || strings.Contains(string(w), fakegraph.DefaultClientSecret) {
				t.Errorf("stored cache holds access tokens or the client secret: %s", w)
			}
		}
		if strings.Contains(string(st.blob), imported) {
			t.Error("the imported refresh token is still stored after it was exchanged")
		}
		if !strings.Contains(string(st.blob), `"RefreshToken"`) {
			t.Error("the stored cache has no refresh token")
		}
	})

	t.Run("Restart", func(t *testing.T) {
		g2 := newGDAP(t, gdapConfig(sim, st))
		tok, err := g2.Token(ctx, fakegraph.FabrikamTenantID, exchangeScope)
		if err != nil {
			t.Fatalf("Token after restart: %v", err)
		}
		if jwtClaims(t, tok.Token)["upn"] != gdapAccount {
			t.Error("wrong account after restart")
		}
	})

	t.Run("Concurrent", func(t *testing.T) {
		g2 := newGDAP(t, gdapConfig(sim, st))
		var wg sync.WaitGroup
		errs := make(chan error, 40)
		for i := range 40 {
			wg.Go(func() {
				tenant := []string{fakegraph.ContosoTenantID, fakegraph.FabrikamTenantID}[i%2]
				scope := [][]string{graphScope, exchangeScope}[i/2%2]
				if _, err := g2.Token(ctx, tenant, scope); err != nil {
					errs <- err
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
	})

	t.Run("NewSignInPickedUp", func(t *testing.T) {
		// Another process (cippbot login, another replica) stores a new
		// sign-in: the running token layer uses it from the next request.
		shared := &memCacheStore{}
		running := newGDAP(t, gdapConfig(sim, shared))
		importCIPP(t, sim, running)
		if _, err := running.Token(ctx, fakegraph.ContosoTenantID, graphScope); err != nil {
			t.Fatal(err)
		}
		const nadia = "NadiaH@" + fakegraph.PartnerDomain
		rt, err := sim.IssueRefreshToken(fakegraph.PartnerTenantID, nadia)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := newGDAP(t, gdapConfig(sim, shared)).ImportRefreshToken(ctx, rt); err != nil {
			t.Fatal(err)
		}
		tok, err := running.Token(ctx, fakegraph.ContosoTenantID, graphScope)
		if err != nil {
			t.Fatal(err)
		}
		if upn := jwtClaims(t, tok.Token)["upn"]; upn != nadia {
			t.Errorf("token for %v after the new sign-in, want %s", upn, nadia)
		}
	})

	t.Run("ErrNoRelationship", func(t *testing.T) {
		_, err := g.Token(ctx, "6f1d2c3b-4a59-4e8d-9c7b-0a1b2c3d4e5f", graphScope)
		var ge *m365.GDAPError
		if !errors.As(err, &ge) || ge.Code != 50020 || ge.Relogin {
			t.Fatalf("err = %v, want a tenant-only 50020", err)
		}
		if g.Degraded() != nil {
			t.Errorf("one tenant's failure degraded the mode: %v", g.Degraded())
		}
	})
}

func TestGDAP_Failures(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	var clockMu sync.Mutex
	now := time.Now()
	clock := func() time.Time { clockMu.Lock(); defer clockMu.Unlock(); return now }
	sim := gdapSim(t, clock)

	tests := []struct {
		name    string
		code    int
		breakIt func()
		heal    func()
	}{
		{"Revoked", 50173, func() {
			clockMu.Lock()
			now = now.Add(time.Second)
			clockMu.Unlock()
			sim.RevokeRefreshTokens(fakegraph.PartnerTenantID, gdapAccount)
		}, nil},
		{"MFA", 50076, func() { sim.RequireInteraction(fakegraph.PartnerTenantID, gdapAccount, 50076) },
			func() { sim.RequireInteraction(fakegraph.PartnerTenantID, gdapAccount, 0) }},
		{"SignInFrequency", 70043, func() { sim.RequireInteraction(fakegraph.PartnerTenantID, gdapAccount, 70043) },
			func() { sim.RequireInteraction(fakegraph.PartnerTenantID, gdapAccount, 0) }},
		{"Inactive", 700082, func() { clockMu.Lock(); now = now.Add(91 * 24 * time.Hour); clockMu.Unlock() }, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clockMu.Lock()
			now = now.Add(time.Second)
			clockMu.Unlock()
			var calls []error
			cfg := gdapConfig(sim, &memCacheStore{})
			cfg.OnDegraded = func(err error) { calls = append(calls, err) }
			g := newGDAP(t, cfg)
			rt := importCIPP(t, sim, g)
			tt.breakIt()
			if tt.heal != nil {
				t.Cleanup(tt.heal)
			}
			for range 2 {
				_, err := g.Token(ctx, fakegraph.FabrikamTenantID, graphScope)
				var ge *m365.GDAPError
				if !errors.As(err, &ge) || ge.Code != tt.code || !ge.Relogin {
					t.Fatalf("err = %v, want AADSTS%d needing a new login", err, tt.code)
				}
				msg := err.Error()
				if !strings.Contains(msg, "cippbot login") || strings.Contains(msg, "\n") {
					t.Errorf("error %q is not one line naming the fix", msg)
				}
				for _, secret := range []string{rt, fakegraph.DefaultClientSecret} {
					if strings.Contains(msg, secret) {
						t.Errorf("error holds a secret: %q", msg)
					}
				}
			}
			if g.Degraded() == nil || len(calls) != 1 || calls[0] == nil {
				t.Errorf("Degraded = %v, OnDegraded calls = %v; want degraded, told once", g.Degraded(), calls)
			}
		})
	}

	t.Run("ErrNotSignedIn", func(t *testing.T) {
		g := newGDAP(t, gdapConfig(sim, &memCacheStore{}))
		if _, err := g.Token(ctx, fakegraph.ContosoTenantID, graphScope); !errors.Is(err, m365.ErrNotSignedIn) {
			t.Fatalf("err = %v, want ErrNotSignedIn", err)
		}
	})

	t.Run("ErrBadImport", func(t *testing.T) {
		g := newGDAP(t, gdapConfig(sim, &memCacheStore{}))
		_, err := g.ImportRefreshToken(ctx, "0.Anot-a-refresh-token")
		var ge *m365.GDAPError
		if !errors.As(err, &ge) || !ge.Relogin || strings.Contains(err.Error(), "0.Anot") {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestGDAP_LoginDeviceCode(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	sim := gdapSim(t, nil)
	st := &memCacheStore{}
	cfg := gdapConfig(sim, st)
	cfg.ClientSecret = "" // login is a public client flow

	t.Run("ErrPublicClientFlowsOff", func(t *testing.T) {
		_, err := m365.LoginDeviceCode(ctx, cfg, func(p m365.DeviceCodePrompt) {
			if err := sim.SignInDeviceCode(p.UserCode, gdapAccount); err != nil {
				t.Error(err)
			}
		})
		var ge *m365.GDAPError
		if !errors.As(err, &ge) || ge.Code != 7000218 || !strings.Contains(err.Error(), "Allow public client flows") {
			t.Fatalf("err = %v, want 7000218 explained", err)
		}
	})

	t.Run("ErrDeclined", func(t *testing.T) {
		sim.SetPublicClientFlows(true)
		_, err := m365.LoginDeviceCode(ctx, cfg, func(p m365.DeviceCodePrompt) {
			if err := sim.DeclineDeviceCode(p.UserCode); err != nil {
				t.Error(err)
			}
		})
		var ge *m365.GDAPError
		if !errors.As(err, &ge) || !strings.Contains(err.Error(), "declined") {
			t.Fatalf("err = %v, want the sign-in declined", err)
		}
	})

	t.Run("OK", func(t *testing.T) {
		sim.SetPublicClientFlows(true)
		var prompt m365.DeviceCodePrompt
		user, err := m365.LoginDeviceCode(ctx, cfg, func(p m365.DeviceCodePrompt) {
			prompt = p
			if err := sim.SignInDeviceCode(p.UserCode, gdapAccount); err != nil {
				t.Error(err)
			}
		})
		if err != nil {
			t.Fatalf("LoginDeviceCode: %v", err)
		}
		if !strings.EqualFold(user, gdapAccount) || prompt.VerificationURL != fakegraph.DeviceLoginURL || !strings.Contains(prompt.Message, prompt.UserCode) {
			t.Errorf("user %q, prompt %+v", user, prompt)
		}
		g := newGDAP(t, gdapConfig(sim, st)) // serve: the confidential client
		tok, err := g.Token(ctx, fakegraph.ContosoTenantID, exchangeScope)
		if err != nil {
			t.Fatalf("Token after login: %v", err)
		}
		if c := jwtClaims(t, tok.Token); c["upn"] != gdapAccount || c["tid"] != fakegraph.ContosoTenantID {
			t.Errorf("claims = %v", c)
		}
	})
}
