package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"github.com/cippbot/cippbot/actions/m365"
	"github.com/cippbot/cippbot/bot"
	"github.com/cippbot/cippbot/store"
)

// gdapCacheName is the sealed blob that holds the delegated mode's token
// cache.
const gdapCacheName = "gdap/msal-cache"

// gdapSettings is the delegated mode's configuration. The partner app and
// tenant come from AZURE_CLIENT_ID, AZURE_CLIENT_SECRET (or _FILE) and
// AZURE_TENANT_ID, or, when those are unset, from the names a CIPP
// installation already uses: ApplicationID, ApplicationSecret (or
// ApplicationSecret_FILE), TenantID, and RefreshToken (or
// RefreshToken_FILE), the partner service account's refresh token.
type gdapSettings struct {
	StoreKey     string // CIPPBOT_STORE_KEY or CIPPBOT_STORE_KEY_FILE
	TenantID     string
	ClientID     string
	ClientSecret string
	RefreshToken string

	// source hands out delegated credentials in serve; nil elsewhere.
	source *gdapSource
}

// storeKeyEnv reads CIPPBOT_STORE_KEY (or CIPPBOT_STORE_KEY_FILE), the key
// of what the store keeps sealed: the delegated mode's token cache, and
// what Discord holds for a Reveal click on any replica.
func storeKeyEnv(getenv func(string) string) (string, error) {
	k, err := secretEnv(getenv, "CIPPBOT_STORE_KEY")
	if err != nil {
		return "", usageError{err.Error()}
	}
	if k != "" && len(k) < store.MinSealKey {
		return "", usageError{fmt.Sprintf("CIPPBOT_STORE_KEY: shorter than %d characters; use a random one, e.g. openssl rand -hex 32", store.MinSealKey)}
	}
	return k, nil
}

// loadGDAPSettings reads the delegated mode's settings.
func loadGDAPSettings(cfg Config, getenv func(string) string) (gdapSettings, error) {
	var s gdapSettings
	var err error
	if s.StoreKey, err = storeKeyEnv(getenv); err != nil {
		return s, err
	}
	s.TenantID, s.ClientID, s.ClientSecret = cfg.TenantID, cfg.ClientID, cfg.ClientSecret
	if s.TenantID == "" {
		s.TenantID = getenv("TenantID")
	}
	if s.ClientID == "" {
		s.ClientID = getenv("ApplicationID")
	}
	if s.ClientSecret == "" {
		if s.ClientSecret, err = secretEnv(getenv, "ApplicationSecret"); err != nil {
			return s, usageError{err.Error()}
		}
	}
	if s.RefreshToken, err = secretEnv(getenv, "RefreshToken"); err != nil {
		return s, usageError{err.Error()}
	}
	return s, nil
}

// sealedTokenCache is the delegated mode's token cache in the store.
type sealedTokenCache struct{ s *store.Sealed }

func (c sealedTokenCache) Get(ctx context.Context) ([]byte, error) {
	return c.s.Get(ctx, gdapCacheName)
}
func (c sealedTokenCache) Put(ctx context.Context, b []byte) error {
	return c.s.Put(ctx, gdapCacheName, b)
}

// gdapConfig returns the token layer's configuration over db.
func gdapConfig(cfg Config, gs gdapSettings, db anyStore, hc *http.Client, log *slog.Logger) (m365.GDAPConfig, error) {
	if gs.StoreKey == "" {
		return m365.GDAPConfig{}, usageError{"delegated (GDAP) mode needs CIPPBOT_STORE_KEY (or CIPPBOT_STORE_KEY_FILE): the refresh token is kept only encrypted"}
	}
	if gs.TenantID == "" || gs.ClientID == "" {
		return m365.GDAPConfig{}, usageError{"delegated (GDAP) mode needs the partner tenant and app: AZURE_TENANT_ID and AZURE_CLIENT_ID (or CIPP's TenantID and ApplicationID)"}
	}
	sealed, err := store.NewSealed(db, []byte(gs.StoreKey))
	if err != nil {
		return m365.GDAPConfig{}, usageError{err.Error()}
	}
	gc := m365.GDAPConfig{
		AuthorityHost: cfg.AuthorityHost, PartnerTenantID: gs.TenantID,
		ClientID: gs.ClientID, ClientSecret: gs.ClientSecret, CertificatePassword: cfg.CertificatePassword,
		Store: sealedTokenCache{sealed}, HTTPClient: hc, Logger: log,
	}
	if gc.AuthorityHost == "" {
		if cl, err := m365.CloudByName(cfg.Cloud); err == nil {
			gc.AuthorityHost = cl.AuthorityHost
		}
	}
	if cfg.CertificatePath != "" {
		b, err := os.ReadFile(cfg.CertificatePath)
		if err != nil {
			return m365.GDAPConfig{}, usageError{fmt.Sprintf("AZURE_CLIENT_CERTIFICATE_PATH: %v", err)}
		}
		gc.ClientCertificate = b
	}
	return gc, nil
}

// runLogin signs the partner service account in for delegated (GDAP)
// mode and stores its token cache sealed. With CIPP's RefreshToken set it
// imports that token; otherwise it runs Microsoft's device code flow,
// which needs the partner app to allow public client flows. hc, if
// non-nil, carries the token requests (tests).
func runLogin(ctx context.Context, cfg Config, args []string, getenv func(string) string, stdout io.Writer, hc *http.Client, log *slog.Logger) error {
	if len(args) > 0 {
		return usageError{"usage: cippbot login (device code sign-in, or RefreshToken set: import CIPP's refresh token)"}
	}
	gs, err := loadGDAPSettings(cfg, getenv)
	if err != nil {
		return err
	}
	db, err := openPlainStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	gc, err := gdapConfig(cfg, gs, db, hc, log)
	if err != nil {
		return err
	}
	var user string
	if gs.RefreshToken != "" {
		if gc.ClientSecret == "" && len(gc.ClientCertificate) == 0 {
			return usageError{"importing CIPP's refresh token needs the partner app's secret: AZURE_CLIENT_SECRET or ApplicationSecret (or _FILE)"}
		}
		g, err := m365.NewGDAP(gc)
		if err != nil {
			return err
		}
		if user, err = g.ImportRefreshToken(ctx, gs.RefreshToken); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "Imported CIPP's refresh token for %s.\n", user)
	} else {
		gc.ClientSecret, gc.ClientCertificate = "", nil // device code sign-in is a public client flow
		user, err = m365.LoginDeviceCode(ctx, gc, func(p m365.DeviceCodePrompt) {
			fmt.Fprintln(stdout, p.Message)
			fmt.Fprintln(stdout, "Sign in as the partner service account (the member of your GDAP security groups). Waiting…")
		})
		if err != nil {
			var ge *m365.GDAPError
			if errors.As(err, &ge) {
				return err
			}
			return fmt.Errorf("login: %w", err)
		}
		fmt.Fprintf(stdout, "Signed in as %s.\n", user)
	}
	fmt.Fprintln(stdout, "The token cache is stored encrypted in the database; run serve with CIPPBOT_AUTH=gdap and the same CIPPBOT_STORE_KEY.")
	log.Info("delegated sign-in stored", "account", user)
	return nil
}

// gdapSource gives the connector each tenant's delegated credential. The
// connector is built before serve opens the store, so the token layer is
// set once the store is open (startGDAP). A nil *gdapSource is app-only
// mode.
type gdapSource struct {
	mu sync.Mutex
	g  *m365.GDAP
	// tell, if non-nil, tells the admins in chat that the mode stopped
	// working (err) or works again (nil); told says they know it
	// stopped, so that one degradation is told once, however many
	// requests fail while it lasts.
	tell func(err error)
	told bool
}

// degradedChanged is the token layer's OnDegraded.
func (s *gdapSource) degradedChanged(err error) {
	s.mu.Lock()
	tell := s.tell
	change := tell != nil && (err != nil) != s.told
	if change {
		s.told = err != nil
	}
	s.mu.Unlock()
	if change {
		tell(err)
	}
}

// setTell makes tell the way admins hear of the mode's health, telling
// them at once if it is degraded already (no sign-in yet). A nil source
// (app-only mode) ignores it.
func (s *gdapSource) setTell(tell func(err error)) {
	if s == nil {
		return
	}
	s.mu.Lock()
	s.tell = tell
	g := s.g
	s.mu.Unlock()
	if g != nil {
		if err := g.Degraded(); err != nil {
			s.degradedChanged(err)
		}
	}
}

// Credential returns tenantID's delegated credential.
func (s *gdapSource) Credential(tenantID string) azcore.TokenCredential {
	return gdapSourceCredential{s: s, tenantID: tenantID}
}

// Degraded reports why delegated access fails for every tenant; nil in
// app-only mode or while it works.
func (s *gdapSource) Degraded() error {
	if s == nil {
		return nil
	}
	s.mu.Lock()
	g := s.g
	s.mu.Unlock()
	if g == nil {
		return errors.New("delegated (GDAP) mode is not started")
	}
	return g.Degraded()
}

type gdapSourceCredential struct {
	s        *gdapSource
	tenantID string
}

func (c gdapSourceCredential) GetToken(ctx context.Context, opts policy.TokenRequestOptions) (azcore.AccessToken, error) {
	c.s.mu.Lock()
	g := c.s.g
	c.s.mu.Unlock()
	if g == nil {
		return azcore.AccessToken{}, errors.New("delegated (GDAP) mode is not started")
	}
	return g.Token(ctx, c.tenantID, opts.Scopes)
}

// startGDAP starts the delegated token layer over serve's store, in
// delegated mode. Without a stored sign-in it imports CIPP's RefreshToken
// when that is set; otherwise serve runs degraded until cippbot login.
func startGDAP(ctx context.Context, cfg Config, db anyStore, hc *http.Client, log *slog.Logger) error {
	src := cfg.GDAP.source
	if src == nil {
		return nil
	}
	gc, err := gdapConfig(cfg, cfg.GDAP, db, hc, log.With("component", "gdap"))
	if err != nil {
		return err
	}
	gc.OnDegraded = src.degradedChanged
	g, err := m365.NewGDAP(gc)
	if err != nil {
		return usageError{err.Error()}
	}
	blob, err := gc.Store.Get(ctx)
	if err != nil {
		return err // the wrong CIPPBOT_STORE_KEY says so here, at start
	}
	if blob == nil && cfg.GDAP.RefreshToken != "" {
		user, err := g.ImportRefreshToken(ctx, cfg.GDAP.RefreshToken)
		if err != nil {
			return err
		}
		log.Info("imported CIPP's refresh token", "account", user)
	}
	if err := g.Check(ctx); errors.Is(err, m365.ErrNotSignedIn) {
		log.Warn("delegated (GDAP) mode has no sign-in yet: run cippbot login; until then every tenant is refused")
	} else if err != nil {
		return err
	}
	src.mu.Lock()
	src.g = g
	src.mu.Unlock()
	return nil
}

// useGDAP, in delegated mode, starts the token layer over db and points
// the connector built from cfg at it (tenants sync and add, check).
func useGDAP(ctx context.Context, cfg *Config, db anyStore, hc *http.Client, log *slog.Logger) error {
	if cfg.Auth != "gdap" {
		return nil
	}
	if cfg.GDAP.StoreKey == "" {
		return usageError{"CIPPBOT_AUTH=gdap needs CIPPBOT_STORE_KEY (or CIPPBOT_STORE_KEY_FILE), the key the refresh token is sealed with"}
	}
	cfg.GDAP.source = &gdapSource{}
	return startGDAP(ctx, *cfg, db, hc, log)
}

// adminNoticeTimeout bounds telling the admins about the mode's health.
const adminNoticeTimeout = 30 * time.Second

// tellAdminsGDAP returns how serve tells the admins in chat that the
// delegated mode stopped working, with the one-line reason and fix, or
// works again. It does not wait for the chat platforms: it is called from
// the token request that noticed.
func tellAdminsGDAP(b *bot.Bot) func(err error) {
	return func(err error) {
		m := bot.Message{Title: "cippbot's GDAP sign-in works again: customer tenants are reachable", Tone: bot.ToneOK}
		if err != nil {
			reason := err.Error()
			var ge *m365.GDAPError
			if errors.As(err, &ge) {
				reason = ge.Reason
			}
			m = bot.Message{Title: "cippbot cannot reach any customer tenant (delegated GDAP access)", Tone: bot.ToneError,
				Lines: []string{reason}}
		}
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), adminNoticeTimeout)
			defer cancel()
			b.TellAdmins(ctx, m)
		}()
	}
}
