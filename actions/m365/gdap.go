package m365

// Delegated mode (GDAP, Microsoft's Secure Application Model, the way CIPP
// reaches customer tenants): one multi-tenant partner app plus a partner
// service account whose GDAP group memberships give it roles in each
// customer tenant. cippbot holds that account's refresh token and asks
// each customer tenant's authority for a delegated token with the partner
// app's credentials.
//
// The token protocol is MSAL for Go's
// (github.com/AzureAD/microsoft-authentication-library-for-go):
//
//   - confidential.Client with the partner app's secret or certificate,
//     AcquireTokenSilent(scopes, WithSilentAccount, WithTenantID(customer)):
//     MSAL finds the account's refresh token in its cache (refresh tokens
//     are not tied to a tenant), redeems it at the customer tenant's
//     authority, caches the access token per tenant (realm) and the new
//     refresh token per account.
//   - The cache goes through cache.ExportReplace. Export keeps only what
//     must survive a restart — the refresh token, the account and the app
//     metadata, never an access token — sealed in the store; Replace loads
//     the stored cache when it changed (a new login), so access tokens stay
//     in memory.
//   - MSAL Go has no AcquireTokenByRefreshToken (MSAL.NET's
//     IByRefreshToken and MSAL Python's acquire_token_by_refresh_token are
//     its migration paths). A refresh token from CIPP is imported by
//     writing it into the cache in MSAL's cross-language cache schema
//     (RefreshToken, Account and AppMetadata entries under a placeholder
//     account), redeeming it once at the partner tenant with
//     AcquireTokenSilent, which stores the new refresh token under the
//     real account (client_info uid.utid), and removing the placeholder.
//   - Device code sign-in (cippbot login) is a public client flow:
//     public.Client.AcquireTokenByDeviceCode. The partner app must allow
//     public client flows. The refresh token it stores is read by the
//     confidential client of the same app from the same cache.

import (
	"context"
	"crypto"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/cache"
	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/confidential"
	msalerrors "github.com/AzureAD/microsoft-authentication-library-for-go/apps/errors"
	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/public"

	"github.com/cippbot/cippbot/actions"
)

// TokenCacheStore keeps the delegated mode's token cache, sealed. Get
// returns nil and no error when nothing was stored yet. Both may be
// called concurrently.
type TokenCacheStore interface {
	Get(ctx context.Context) ([]byte, error)
	Put(ctx context.Context, blob []byte) error
}

// GDAPConfig configures delegated access.
type GDAPConfig struct {
	// AuthorityHost is the Entra ID login host; "" means the global
	// cloud's. Instance discovery is off for a host not Microsoft's.
	AuthorityHost string
	// PartnerTenantID is the partner's tenant, where the service account
	// lives and signs in.
	PartnerTenantID string
	// ClientID is the partner app; it authenticates with ClientSecret or
	// ClientCertificate (PEM or PKCS#12 with its key) and
	// CertificatePassword.
	ClientID            string
	ClientSecret        string
	ClientCertificate   []byte
	CertificatePassword string
	// Store keeps the sealed token cache; required.
	Store TokenCacheStore
	// HTTPClient, if non-nil, carries the token requests.
	HTTPClient *http.Client
	// Logger, if non-nil, receives one line per change of health.
	Logger *slog.Logger
	// OnDegraded, if non-nil, is called once when the delegated mode
	// stops working for every tenant (the error says why and what to do)
	// and once with nil when it works again.
	OnDegraded func(err error)
}

// gdapCacheVersion is the version of the stored cache envelope.
const gdapCacheVersion = 1

// gdapEnvelope is what the store holds (sealed): MSAL's cache without
// access or ID tokens, and the account to use.
type gdapEnvelope struct {
	Version int             `json:"version"`
	Account string          `json:"home_account_id"`
	MSAL    json.RawMessage `json:"msal"`
}

// ErrNotSignedIn is returned when no service account has signed in yet.
var ErrNotSignedIn = &GDAPError{Relogin: true, Reason: "no partner service account has signed in: run `cippbot login` (or import CIPP's refresh token)"}

// GDAPError is a delegated token request Microsoft refused, explained in
// one line. It never holds a token or a secret.
type GDAPError struct {
	// Code is the AADSTS code, 0 if there was none.
	Code int
	// TenantID is the tenant the token was for.
	TenantID string
	// Relogin reports whether the service account must sign in again:
	// the failure concerns every tenant, not this one.
	Relogin bool
	// Reason is the one-line explanation with the fix.
	Reason string
}

func (e *GDAPError) Error() string { return "gdap: " + e.Reason }

// As lets errors.As find the catalogue's *actions.Error in a GDAPError, so
// that a refused token reaches the technician as its one-line reason: a
// failure of the sign-in itself is EUNAVAILABLE (every tenant, until
// cippbot login), one tenant's refusal EFORBIDDEN.
func (e *GDAPError) As(target any) bool {
	t, ok := target.(**actions.Error)
	if !ok {
		return false
	}
	code := actions.EFORBIDDEN
	if e.Relogin {
		code = actions.EUNAVAILABLE
	}
	*t = &actions.Error{Code: code, Message: "delegated access: " + e.Reason, Detail: e.Error()}
	return true
}

// GDAP hands out delegated tokens for the partner service account in any
// customer tenant. It is safe for concurrent use.
type GDAP struct {
	cfg       GDAPConfig
	authority string
	env       string // the authority's host[:port], MSAL's "environment"
	client    confidential.Client
	cache     *gdapCache
	log       *slog.Logger

	mu       sync.Mutex
	degraded error
}

// NewGDAP returns delegated access for cfg. It reads nothing yet: the
// first token request loads the stored cache.
func NewGDAP(cfg GDAPConfig) (*GDAP, error) {
	if cfg.Store == nil {
		return nil, errors.New("gdap: no token store")
	}
	if cfg.ClientID == "" || cfg.PartnerTenantID == "" {
		return nil, errors.New("gdap: the partner app's client id and the partner tenant id are required")
	}
	if cfg.AuthorityHost == "" {
		cfg.AuthorityHost = DefaultAuthorityHost
	}
	cfg.AuthorityHost = strings.TrimSuffix(cfg.AuthorityHost, "/") + "/"
	u, err := url.Parse(cfg.AuthorityHost)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("gdap: authority host %q is not a URL", cfg.AuthorityHost)
	}
	var cred confidential.Credential
	if len(cfg.ClientCertificate) > 0 {
		var certs []*x509.Certificate
		var key crypto.PrivateKey
		certs, key, err = azidentity.ParseCertificates(cfg.ClientCertificate, []byte(cfg.CertificatePassword))
		if err != nil {
			return nil, fmt.Errorf("gdap: client certificate: %w", err)
		}
		cred, err = confidential.NewCredFromCert(certs, key)
	} else {
		if cfg.ClientSecret == "" {
			return nil, errors.New("gdap: the partner app needs a client secret or certificate")
		}
		cred, err = confidential.NewCredFromSecret(cfg.ClientSecret)
	}
	if err != nil {
		return nil, errors.New("gdap: the partner app's credential is not usable")
	}
	g := &GDAP{
		cfg:       cfg,
		authority: cfg.AuthorityHost + cfg.PartnerTenantID,
		env:       u.Host,
		cache:     &gdapCache{store: cfg.Store},
		log:       cfg.Logger,
	}
	if g.log == nil {
		g.log = slog.New(slog.DiscardHandler)
	}
	opts := []confidential.Option{
		confidential.WithCache(g.cache),
		confidential.WithInstanceDiscovery(isMicrosoftHost(u.Hostname())),
	}
	if cfg.HTTPClient != nil {
		opts = append(opts, confidential.WithHTTPClient(cfg.HTTPClient))
	}
	g.client, err = confidential.New(g.authority, cfg.ClientID, cred, opts...)
	if err != nil {
		return nil, fmt.Errorf("gdap: %w", err)
	}
	return g, nil
}

// Token returns a delegated access token for the service account in
// tenantID for scopes (one resource's, e.g. "https://graph.microsoft.com/.default").
// Errors are *GDAPError, ErrNotSignedIn or a store error.
func (g *GDAP) Token(ctx context.Context, tenantID string, scopes []string) (azcore.AccessToken, error) {
	account, err := g.cache.account(ctx)
	if err != nil {
		return azcore.AccessToken{}, err
	}
	if account == "" {
		g.setDegraded(ErrNotSignedIn)
		return azcore.AccessToken{}, ErrNotSignedIn
	}
	res, err := g.client.AcquireTokenSilent(ctx, scopes,
		confidential.WithSilentAccount(confidential.Account{HomeAccountID: account}),
		confidential.WithTenantID(tenantID))
	if err != nil {
		if e := g.cache.storeErr(); e != nil {
			return azcore.AccessToken{}, e
		}
		ge := explainTokenError(err, tenantID)
		if ge.Relogin {
			g.setDegraded(ge)
		}
		return azcore.AccessToken{}, ge
	}
	if res.Metadata.TokenSource == confidential.TokenSourceIdentityProvider {
		// Only a token the authority just issued says the sign-in
		// works: a cached one outlives a revoked refresh token, and
		// would make one degradation look like many.
		g.setDegraded(nil)
	}
	return azcore.AccessToken{Token: res.AccessToken, ExpiresOn: res.ExpiresOn}, nil
}

// Check loads the stored sign-in without any request to Microsoft; with
// none it marks the mode degraded and returns ErrNotSignedIn.
func (g *GDAP) Check(ctx context.Context) error {
	account, err := g.cache.account(ctx)
	if err != nil {
		return err
	}
	if account == "" {
		g.setDegraded(ErrNotSignedIn)
		return ErrNotSignedIn
	}
	return nil
}

// Degraded returns why delegated access fails for every tenant, or nil
// while it works (or has not been tried).
func (g *GDAP) Degraded() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.degraded
}

// setDegraded records the mode's health and reports a change once.
func (g *GDAP) setDegraded(err error) {
	g.mu.Lock()
	was := g.degraded
	g.degraded = err
	g.mu.Unlock()
	if (was == nil) == (err == nil) {
		return
	}
	if err != nil {
		g.log.Error("delegated access degraded", "err", err)
	} else {
		g.log.Info("delegated access works again")
	}
	if g.cfg.OnDegraded != nil {
		g.cfg.OnDegraded(err)
	}
}

// Credential returns an azcore.TokenCredential for one customer tenant,
// for Graph, Exchange and SharePoint alike (the scope names the resource).
func (g *GDAP) Credential(tenantID string) azcore.TokenCredential {
	return gdapCredential{g: g, tenantID: tenantID}
}

// gdapCredential is GDAP bound to a tenant.
type gdapCredential struct {
	g        *GDAP
	tenantID string
}

func (c gdapCredential) GetToken(ctx context.Context, opts policy.TokenRequestOptions) (azcore.AccessToken, error) {
	return c.g.Token(ctx, c.tenantID, opts.Scopes)
}

// seedAccountPrefix is the placeholder account a CIPP refresh token is
// imported under, before Microsoft names the real one.
const seedAccountPrefix = "cipp-import."

// ImportRefreshToken takes a refresh token issued to the partner app for
// the service account (CIPP's RefreshToken secret), redeems it once at the
// partner tenant and stores the cache. MSAL Go cannot redeem a refresh
// token it did not issue, so the token is written into the cache in MSAL's
// schema first (see the package comment). It returns the account's user
// name.
func (g *GDAP) ImportRefreshToken(ctx context.Context, refreshToken string) (string, error) {
	refreshToken = strings.TrimSpace(refreshToken)
	if refreshToken == "" {
		return "", errors.New("gdap: the refresh token is empty")
	}
	seed := seedAccountPrefix + g.cfg.PartnerTenantID
	blob, err := seedCache(seed, g.env, g.cfg.PartnerTenantID, g.cfg.ClientID, refreshToken)
	if err != nil {
		return "", err
	}
	g.cache.load(blob, seed)
	res, err := g.client.AcquireTokenSilent(ctx, []string{"https://graph.microsoft.com/.default"},
		confidential.WithSilentAccount(confidential.Account{HomeAccountID: seed}),
		confidential.WithTenantID(g.cfg.PartnerTenantID))
	if err != nil {
		g.cache.load(nil, "")
		if e := g.cache.storeErr(); e != nil {
			return "", e
		}
		return "", explainTokenError(err, g.cfg.PartnerTenantID)
	}
	if res.Account.HomeAccountID == "" || res.Account.HomeAccountID == seed {
		g.cache.load(nil, "")
		return "", errors.New("gdap: the authority did not say which account the refresh token belongs to")
	}
	g.cache.setAccount(res.Account.HomeAccountID)
	if err := g.client.RemoveAccount(ctx, confidential.Account{HomeAccountID: seed, Environment: g.env}); err != nil {
		return "", fmt.Errorf("gdap: drop the imported token: %w", err)
	}
	if e := g.cache.storeErr(); e != nil {
		return "", e
	}
	g.setDegraded(nil)
	return res.Account.PreferredUsername, nil
}

// seedCache returns an MSAL cache holding one refresh token, in MSAL's
// cross-language cache schema (the keys are lowercase, "-"-joined).
func seedCache(homeID, env, realm, clientID, rt string) ([]byte, error) {
	key := func(parts ...string) string { return strings.ToLower(strings.Join(parts, "-")) }
	c := map[string]map[string]map[string]string{
		"RefreshToken": {key(homeID, env, "refreshtoken", clientID): {
			"home_account_id": homeID, "environment": env, "credential_type": "RefreshToken", "client_id": clientID, "secret": rt,
		}},
		"Account": {key(homeID, env, realm): {
			"home_account_id": homeID, "environment": env, "realm": realm, "local_account_id": homeID, "authority_type": "MSSTS",
		}},
		"AppMetadata": {key("appmetadata", env, clientID): {"client_id": clientID, "environment": env}},
	}
	b, err := json.Marshal(c)
	if err != nil {
		return nil, fmt.Errorf("gdap: seed cache: %w", err)
	}
	return b, nil
}

// DeviceCodePrompt is what the user must do to sign in.
type DeviceCodePrompt struct {
	// Message is Microsoft's sentence naming the URL and the code.
	Message         string
	UserCode        string
	VerificationURL string
}

// LoginDeviceCode signs the service account in with the device code flow
// of the partner app as a public client (the app must allow public client
// flows), calls prompt with the code to show, waits for the sign-in and
// stores the cache. It returns the signed-in account's user name.
func LoginDeviceCode(ctx context.Context, cfg GDAPConfig, prompt func(DeviceCodePrompt)) (string, error) {
	if cfg.Store == nil {
		return "", errors.New("gdap: no token store")
	}
	host := cfg.AuthorityHost
	if host == "" {
		host = DefaultAuthorityHost
	}
	host = strings.TrimSuffix(host, "/") + "/"
	u, err := url.Parse(host)
	if err != nil || u.Host == "" {
		return "", fmt.Errorf("gdap: authority host %q is not a URL", host)
	}
	c := &gdapCache{store: cfg.Store}
	c.load(nil, "") // a new sign-in starts from an empty cache
	opts := []public.Option{
		public.WithAuthority(host + cfg.PartnerTenantID),
		public.WithCache(c),
		public.WithInstanceDiscovery(isMicrosoftHost(u.Hostname())),
	}
	if cfg.HTTPClient != nil {
		opts = append(opts, public.WithHTTPClient(cfg.HTTPClient))
	}
	pc, err := public.New(cfg.ClientID, opts...)
	if err != nil {
		return "", fmt.Errorf("gdap: %w", err)
	}
	dc, err := pc.AcquireTokenByDeviceCode(ctx, []string{"https://graph.microsoft.com/.default"})
	if err != nil {
		return "", explainTokenError(err, cfg.PartnerTenantID)
	}
	prompt(DeviceCodePrompt{Message: dc.Result.Message, UserCode: dc.Result.UserCode, VerificationURL: dc.Result.VerificationURL})
	res, err := dc.AuthenticationResult(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return "", fmt.Errorf("gdap: sign-in not completed: %w", ctx.Err())
		}
		return "", explainTokenError(err, cfg.PartnerTenantID)
	}
	c.setAccount(res.Account.HomeAccountID)
	if e := c.storeErr(); e != nil {
		return "", e
	}
	return res.Account.PreferredUsername, nil
}

// gdapCache is MSAL's cache.ExportReplace over the sealed store. MSAL
// keeps its cache in memory; Export seals the part worth keeping, and
// Replace brings in a cache someone else stored (a new login).
type gdapCache struct {
	store TokenCacheStore

	mu        sync.Mutex
	loaded    bool
	fresh     []byte // a cache to hand to MSAL at the next Replace
	accountID string
	lastBlob  []byte // the sealed envelope as last read or written
	err       error  // the last store error, returned by the next call
	held      []byte // the cache Export held back until the account is known
}

var _ cache.ExportReplace = (*gdapCache)(nil)

// load makes blob (MSAL's JSON; nil for empty) the cache at the next
// Replace, for account.
func (c *gdapCache) load(blob []byte, account string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if blob == nil {
		blob = []byte("{}")
	}
	c.fresh, c.accountID, c.loaded = blob, account, true
}

// account returns the account to use, loading the store the first time.
func (c *gdapCache) account(ctx context.Context) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.refreshLocked(ctx); err != nil {
		return "", err
	}
	return c.accountID, nil
}

// refreshLocked reads the store and, if it holds something new, queues
// it for MSAL; c.mu must be held.
func (c *gdapCache) refreshLocked(ctx context.Context) error {
	blob, err := c.store.Get(ctx)
	if err != nil {
		return fmt.Errorf("gdap: read the token cache: %w", err)
	}
	if c.loaded && string(blob) == string(c.lastBlob) {
		return nil
	}
	c.loaded, c.lastBlob = true, blob
	if blob == nil {
		c.fresh, c.accountID = []byte("{}"), ""
		return nil
	}
	var env gdapEnvelope
	if err := json.Unmarshal(blob, &env); err != nil || env.Version != gdapCacheVersion {
		return errors.New("gdap: the stored token cache is not readable: run `cippbot login` again")
	}
	c.fresh, c.accountID = env.MSAL, env.Account
	return nil
}

// setAccount names the signed-in account and writes a held cache.
func (c *gdapCache) setAccount(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.accountID = id
	if c.held != nil {
		c.saveLocked(context.Background(), c.held)
		c.held = nil
	}
}

// storeErr returns and clears the last store error.
func (c *gdapCache) storeErr() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	err := c.err
	c.err = nil
	return err
}

// Replace implements cache.ExportReplace.
func (c *gdapCache) Replace(ctx context.Context, u cache.Unmarshaler, _ cache.ReplaceHints) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.loaded {
		if err := c.refreshLocked(ctx); err != nil {
			return err
		}
	}
	if c.fresh == nil {
		return nil
	}
	blob := c.fresh
	c.fresh = nil
	return u.Unmarshal(blob)
}

// Export implements cache.ExportReplace.
func (c *gdapCache) Export(ctx context.Context, m cache.Marshaler, _ cache.ExportHints) error {
	b, err := m.Marshal()
	if err != nil {
		return fmt.Errorf("gdap: token cache: %w", err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.accountID == "" {
		c.held = b
		return nil
	}
	return c.saveLocked(ctx, b)
}

// saveLocked seals MSAL's cache b without its access and ID tokens;
// c.mu must be held.
func (c *gdapCache) saveLocked(ctx context.Context, b []byte) error {
	var all map[string]json.RawMessage
	if err := json.Unmarshal(b, &all); err != nil {
		return fmt.Errorf("gdap: token cache: %w", err)
	}
	delete(all, "AccessToken")
	delete(all, "IdToken")
	kept, err := json.Marshal(all)
	if err != nil {
		return fmt.Errorf("gdap: token cache: %w", err)
	}
	blob, err := json.Marshal(gdapEnvelope{Version: gdapCacheVersion, Account: c.accountID, MSAL: kept})
	if err != nil {
		return fmt.Errorf("gdap: token cache: %w", err)
	}
	if string(blob) == string(c.lastBlob) {
		return nil
	}
	if err := c.store.Put(ctx, blob); err != nil {
		c.err = fmt.Errorf("gdap: store the token cache: %w", err)
		return c.err
	}
	c.lastBlob = blob
	return nil
}

// tokenErrorBody is the part of an Entra error answer that explains it.
type tokenErrorBody struct {
	Error       string `json:"error"`
	Description string `json:"error_description"`
	Codes       []int  `json:"error_codes"`
}

// explainTokenError turns MSAL's error into a one-line *GDAPError. It
// never carries MSAL's error along: its verbose form prints the request,
// refresh token and client secret included.
func explainTokenError(err error, tenantID string) *GDAPError {
	var body tokenErrorBody
	var ce msalerrors.CallErr
	if errors.As(err, &ce) && ce.Resp != nil && ce.Resp.Body != nil {
		raw, _ := io.ReadAll(io.LimitReader(ce.Resp.Body, 64<<10))
		_ = json.Unmarshal(raw, &body)
		if len(body.Codes) == 0 && ce.Err != nil {
			// MSAL's device code poll reads the body itself; its error
			// message carries the body after the first line.
			if _, rest, ok := strings.Cut(ce.Err.Error(), "\n"); ok {
				_ = json.Unmarshal([]byte(rest), &body)
			}
		}
	}
	code := 0
	if len(body.Codes) > 0 {
		code = body.Codes[0]
	}
	e := &GDAPError{Code: code, TenantID: tenantID}
	relogin := func(why string) *GDAPError {
		e.Relogin = true
		e.Reason = fmt.Sprintf("AADSTS%d: %s: run `cippbot login` again", code, why)
		return e
	}
	switch code {
	case 700082:
		return relogin("the partner service account's refresh token expired after 90 days unused")
	case 50173, 50133:
		return relogin("the partner service account's sessions were revoked (password change or revoked sign-in sessions)")
	case 50076, 50079, 50158:
		return relogin("Microsoft requires the partner service account to complete multi-factor authentication again")
	case 70043:
		return relogin("a Conditional Access sign-in frequency policy ended the service account's session (or exclude the account from that policy)")
	case 50057:
		return relogin("the partner service account is disabled: enable it in the partner tenant")
	case 9002313, 70000, 70008:
		if body.Error == "authorization_declined" {
			e.Reason = "AADSTS70000: the sign-in was declined: run `cippbot login` again and accept"
			return e
		}
		return relogin("the stored refresh token is not valid")
	case 7000218:
		e.Reason = "AADSTS7000218: the partner app does not allow public client flows, which device code sign-in needs: turn on \"Allow public client flows\" in its Authentication settings"
	case 7000215, 7000222:
		e.Reason = fmt.Sprintf("AADSTS%d: the partner app's client secret is wrong or expired: set a current one in AZURE_CLIENT_SECRET", code)
	case 50020, 50034:
		e.Reason = fmt.Sprintf("AADSTS%d: the partner service account has no access to tenant %s: check its GDAP relationship and security groups", code, tenantID)
	case 70019:
		e.Reason = "AADSTS70019: the sign-in code expired before anyone used it: run `cippbot login` again and sign in within 15 minutes"
	case 65001:
		e.Reason = fmt.Sprintf("AADSTS65001: the partner app is not consented in tenant %s", tenantID)
	default:
		if code != 0 {
			line, _, _ := strings.Cut(body.Description, "\r\n")
			line, _, _ = strings.Cut(line, "\n")
			e.Reason = fmt.Sprintf("delegated token for tenant %s refused: %s", tenantID, line)
		} else if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			e.Reason = fmt.Sprintf("delegated token for tenant %s: the request was cancelled or timed out", tenantID)
		} else {
			e.Reason = fmt.Sprintf("delegated token for tenant %s: the authority could not be reached or answered unexpectedly", tenantID)
		}
	}
	return e
}
