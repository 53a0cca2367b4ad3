// Package m365 implements a tenant's capabilities (actions.Tenant) over
// Microsoft Graph with
// msgraph-sdk-go and azidentity: one app registration, a token per customer
// tenant, and an HTTP pipeline whose middleware order is fixed (see
// Middlewares).
package m365

import (
	"bytes"
	"context"
	"crypto/rsa"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	khttp "github.com/microsoft/kiota-http-go"
	msgraphgocore "github.com/microsoftgraph/msgraph-sdk-go-core"
	auth "github.com/microsoftgraph/msgraph-sdk-go-core/authentication"

	"github.com/cippbot/cippbot/actions"
)

// Defaults for the global (commercial) cloud.
const (
	DefaultGraphURL      = "https://graph.microsoft.com"
	DefaultAuthorityHost = "https://login.microsoftonline.com/"
	// DefaultMFAConnectorURL is the legacy MFA notification service.
	DefaultMFAConnectorURL = "https://adnotifications.windowsazure.com"
)

// Config configures the connection to Microsoft 365.
type Config struct {
	// Cloud names the Microsoft cloud (see CloudByName); "" is global.
	Cloud string
	// GraphURL is the Graph service root without a version; "" means the
	// cloud's. The Connector adds /v1.0.
	GraphURL string
	// GraphScope is the token scope for Graph; "" means GraphURL's host
	// (for Microsoft's clouds) or https://graph.microsoft.com otherwise,
	// plus "/.default".
	GraphScope string
	// ExchangeURL is the Exchange Online root for REST cmdlets; "" means
	// the cloud's (https://outlook.office365.com).
	ExchangeURL string
	// AuthorityHost is the Entra ID login host; "" means the cloud's.
	// Instance discovery is turned off for a host that is not one of
	// Microsoft's.
	AuthorityHost string
	// ClientID identifies the multi-tenant app registration; it signs in
	// with ClientSecret or, if set, ClientCertificate (PEM or PKCS#12,
	// with the private key) and its CertificatePassword.
	ClientID            string
	ClientSecret        string
	ClientCertificate   []byte
	CertificatePassword string
	// HTTPClient, if non-nil, carries every request (token and Graph). Its
	// Transport is wrapped by the Graph middleware; nil means
	// http.DefaultTransport.
	HTTPClient *http.Client
	// Retry sets the Graph retry policy; zero values take the defaults.
	Retry RetryPolicy
	// Logger, if non-nil, receives debug logs.
	Logger *slog.Logger
	// Observe, if non-nil, is called after every Graph HTTP exchange
	// (each retry too) with the tenant, the status (0 for a transport
	// error) and the time it took; for metrics.
	Observe func(tenantID string, status int, d time.Duration)
	// SharePointAdminURL, if non-empty, is the root every tenant's
	// SharePoint admin calls go to (a proxy or the simulated tenant); ""
	// means each tenant's own https://{name}-admin.{cloud's SharePoint
	// suffix}. The token is always for the tenant's real admin site.
	SharePointAdminURL string
	// MFAConnectorURL is the root of the legacy MFA notification service
	// that sends pushes; "" means https://adnotifications.windowsazure.com.
	MFAConnectorURL string
	// Credential, if non-nil, gives each customer tenant's credential for
	// Graph, Exchange and SharePoint instead of the app-only one built
	// from ClientID and its secret or certificate: delegated (GDAP) mode
	// passes GDAP.Credential.
	Credential func(tenantID string) azcore.TokenCredential
	// MFASecretRetry is the wait before trying again to get a token with
	// the MFA service app's new secret, which Entra ID takes a few seconds
	// to accept; 0 means 2 s (it doubles, up to 5 attempts).
	MFASecretRetry time.Duration
}

// RetryPolicy bounds retries of throttled (429) or unavailable (503, 504)
// Graph calls. Graph's Retry-After is honoured, fractions included.
type RetryPolicy struct {
	MaxRetries int           // 0 means 4
	MaxWait    time.Duration // total wait per request; 0 means 2 minutes
	Base       time.Duration // back-off base without Retry-After; 0 means 2 s
	// Concurrency bounds requests in flight per tenant; 0 means 4.
	Concurrency int
	// WriteLimit writes per WriteWindow are sent to one tenant at most,
	// paced by a token bucket (each $batch item counts); 0 means
	// Microsoft Entra's documented write quota per app and tenant, 3,000
	// per 2 min 30 s (DefaultWriteLimit, DefaultWriteWindow). A negative
	// WriteLimit turns pacing off.
	WriteLimit  int
	WriteWindow time.Duration
	// Clock, if non-nil, is the clock of write pacing (for tests).
	Clock Clock
}

// Connector hands out a Directory per customer tenant, each with its own
// credential and token cache. It is safe for concurrent use.
type Connector struct {
	cfg      Config
	cloud    Cloud
	graphURL *url.URL
	scope    string
	log      *slog.Logger

	mu   sync.Mutex
	dirs map[string]*Directory
}

var _ actions.Connector = (*Connector)(nil)

// New returns a Connector for cfg.
func New(cfg Config) (*Connector, error) {
	cl, err := CloudByName(cfg.Cloud)
	if err != nil {
		return nil, fmt.Errorf("m365: %w", err)
	}
	if cfg.GraphURL == "" {
		cfg.GraphURL = cl.GraphURL
	}
	if cfg.AuthorityHost == "" {
		cfg.AuthorityHost = cl.AuthorityHost
	}
	if cfg.ExchangeURL == "" {
		cfg.ExchangeURL = cl.ExchangeURL
	}
	cfg.ExchangeURL = strings.TrimSuffix(cfg.ExchangeURL, "/")
	if !strings.HasSuffix(cfg.AuthorityHost, "/") {
		cfg.AuthorityHost += "/"
	}
	if cfg.ClientID == "" || (cfg.ClientSecret == "" && len(cfg.ClientCertificate) == 0) {
		return nil, fmt.Errorf("m365: a client ID and a client secret or certificate are required")
	}
	if len(cfg.ClientCertificate) > 0 {
		_, key, err := azidentity.ParseCertificates(cfg.ClientCertificate, []byte(cfg.CertificatePassword))
		if err != nil {
			return nil, fmt.Errorf("m365: client certificate: %w", err)
		}
		if _, ok := key.(*rsa.PrivateKey); !ok {
			return nil, fmt.Errorf("m365: client certificate: Entra ID needs an RSA key, this one is %T", key)
		}
	}
	u, err := url.Parse(strings.TrimSuffix(cfg.GraphURL, "/"))
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("m365: bad Graph URL %q", cfg.GraphURL)
	}
	if u.Scheme != "https" {
		return nil, fmt.Errorf("m365: Graph URL %q must use https", cfg.GraphURL)
	}
	scope := cfg.GraphScope
	if scope == "" {
		scope = "https://graph.microsoft.com/.default"
		if isMicrosoftHost(u.Hostname()) {
			scope = "https://" + u.Host + "/.default"
		}
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Connector{cfg: cfg, cloud: cl, graphURL: u, scope: scope, log: log, dirs: map[string]*Directory{}}, nil
}

// isMicrosoftHost reports whether host belongs to one of Microsoft's clouds,
// where instance discovery works.
func isMicrosoftHost(host string) bool {
	for _, s := range []string{".microsoft.com", ".microsoft.us", ".microsoftonline.com", ".microsoftonline.us",
		".chinacloudapi.cn", ".partner.microsoftonline.cn", ".microsoftonline.cn"} {
		if strings.HasSuffix(host, s) {
			return true
		}
	}
	return false
}

// Directory returns the directory of the tenant with the given ID, building
// its credential and Graph client on first use.
func (c *Connector) Directory(ctx context.Context, tenantID string) (*Directory, error) {
	return c.directory(tenantID)
}

// Tenant implements actions.Connector: every capability of the tenant's
// directory.
func (c *Connector) Tenant(ctx context.Context, tenantID string) (actions.Tenant, error) {
	d, err := c.directory(tenantID)
	if err != nil {
		return actions.Tenant{}, err
	}
	return d.Tenant(), nil
}

// Admin implements actions.Connector: the tenant's directory.
func (c *Connector) Admin(ctx context.Context, tenantID string) (actions.Admin, error) {
	d, err := c.directory(tenantID)
	if err != nil {
		return nil, err
	}
	return d, nil
}

func (c *Connector) directory(tenantID string) (*Directory, error) {
	if tenantID == "" {
		return nil, actions.Errorf(actions.EINVALID, "no tenant given")
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if d, ok := c.dirs[tenantID]; ok {
		return d, nil
	}
	d, err := c.newDirectory(tenantID)
	if err != nil {
		return nil, err
	}
	c.dirs[tenantID] = d
	return d, nil
}

func (c *Connector) newDirectory(tenantID string) (*Directory, error) {
	parent := http.DefaultTransport
	if c.cfg.HTTPClient != nil && c.cfg.HTTPClient.Transport != nil {
		parent = c.cfg.HTTPClient.Transport
	}
	credClient := c.cfg.HTTPClient
	if credClient == nil {
		credClient = &http.Client{Transport: parent}
	}
	opts := azcore.ClientOptions{
		Cloud:     cloud.Configuration{ActiveDirectoryAuthorityHost: c.cfg.AuthorityHost},
		Transport: credClient,
	}
	noDiscovery := !isMicrosoftHost(hostOf(c.cfg.AuthorityHost))
	var cred azcore.TokenCredential
	var err error
	if c.cfg.Credential != nil {
		cred = c.cfg.Credential(tenantID)
	} else if len(c.cfg.ClientCertificate) > 0 {
		certs, key, perr := azidentity.ParseCertificates(c.cfg.ClientCertificate, []byte(c.cfg.CertificatePassword))
		if perr != nil {
			return nil, fmt.Errorf("m365: client certificate: %w", perr)
		}
		cred, err = azidentity.NewClientCertificateCredential(tenantID, c.cfg.ClientID, certs, key,
			&azidentity.ClientCertificateCredentialOptions{ClientOptions: opts, DisableInstanceDiscovery: noDiscovery, SendCertificateChain: true})
	} else {
		cred, err = azidentity.NewClientSecretCredential(tenantID, c.cfg.ClientID, c.cfg.ClientSecret,
			&azidentity.ClientSecretCredentialOptions{ClientOptions: opts, DisableInstanceDiscovery: noDiscovery})
	}
	if err != nil {
		return nil, fmt.Errorf("m365: credential for tenant %s: %w", tenantID, err)
	}
	ap, err := auth.NewAzureIdentityAuthenticationProviderWithScopesAndValidHosts(cred,
		[]string{c.scope}, []string{c.graphURL.Hostname()})
	if err != nil {
		return nil, fmt.Errorf("m365: auth provider: %w", err)
	}
	writes := newWriteBucket(c.cfg.Retry)
	hc := &http.Client{
		Transport: khttp.NewCustomTransportWithParentTransport(parent, append(middlewares(c.cfg.Retry, writes), observer{tenantID, c.cfg.Observe})...),
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse // the redirect middleware follows redirects
		},
	}
	if c.cfg.HTTPClient != nil && c.cfg.HTTPClient.Timeout != 0 {
		hc.Timeout = c.cfg.HTTPClient.Timeout
	}
	// The client options only matter when the SDK builds its own HTTP
	// client; hc is ours, with the pipeline of Middlewares.
	adapter, err := msgraphgocore.NewGraphRequestAdapterBaseWithParseNodeFactoryAndSerializationWriterFactoryAndHttpClient(ap,
		msgraphgocore.GraphClientOptions{}, nil, nil, hc)
	if err != nil {
		return nil, fmt.Errorf("m365: request adapter: %w", err)
	}
	// The base URL must be set before the client is built: the client
	// copies it into every request builder, $batch items included.
	adapter.SetBaseUrl(c.graphURL.String() + "/v1.0")
	exoScope := "https://outlook.office365.com/.default"
	// A national cloud's Exchange is its own resource; a proxy or the
	// simulated tenant stands in for the global one.
	if h := hostOf(c.cfg.ExchangeURL); strings.HasSuffix(h, ".office365.com") || strings.HasSuffix(h, ".office365.us") ||
		strings.HasSuffix(h, ".apps.mil") || strings.HasSuffix(h, ".outlook.cn") {
		exoScope = strings.TrimSuffix(c.cfg.ExchangeURL, "/") + "/.default"
	}
	exoMW := []khttp.Middleware{
		retryMiddleware{maxRetries: 4, maxWait: 2 * time.Minute, base: 2 * time.Second},
		requestIDRecorder{},
		observer{tenantID, c.cfg.Observe},
	}
	spMW := []khttp.Middleware{
		retryMiddleware{maxRetries: 4, maxWait: 2 * time.Minute, base: 2 * time.Second},
		requestIDRecorder{},
		observer{tenantID, c.cfg.Observe},
	}
	mfaURL := strings.TrimSuffix(c.cfg.MFAConnectorURL, "/")
	if mfaURL == "" {
		mfaURL = DefaultMFAConnectorURL
	}
	mfaRetry := c.cfg.MFASecretRetry
	if mfaRetry <= 0 {
		mfaRetry = 2 * time.Second
	}
	d := &Directory{
		exoURL:    c.cfg.ExchangeURL,
		exoScope:  exoScope,
		exoClient: &http.Client{Timeout: 2 * time.Minute, Transport: khttp.NewCustomTransportWithParentTransport(parent, exoMW...)},
		cred:      cred,
		scope:     c.scope,
		tenantID:  tenantID,
		graphURL:  c.graphURL.String(),
		adapter:   adapter,
		client:    newGraphClient(adapter),
		log:       c.log.With("tenant", tenantID),
		writes:    writes,
	}
	d.retryClock = c.cfg.Retry.Clock
	d.authority = c.cfg.AuthorityHost
	d.baseClient = &http.Client{Transport: parent}
	d.spAdminURL = strings.TrimSuffix(c.cfg.SharePointAdminURL, "/")
	d.spSuffix = c.cloud.SharePointSuffix
	d.spClient = &http.Client{Timeout: 2 * time.Minute, Transport: khttp.NewCustomTransportWithParentTransport(parent, spMW...)}
	d.mfaURL, d.mfaRetry, d.now = mfaURL, mfaRetry, time.Now
	d.delegated = c.cfg.Credential != nil
	return d, nil
}

func hostOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	return u.Hostname()
}

// Middlewares returns the Graph HTTP pipeline in a fixed order, outermost
// first. kiota-http-go's own default list comes out of a Go map, in a
// different order per client; with retry outside compression, a retried
// PATCH is resent as plain JSON still labelled gzip. Here compression runs
// once, outside retry, and retry resends the same compressed bytes. The
// retry is cippbot's own: kiota's truncates a fractional Retry-After. The
// per-tenant limit sits inside retry, so waiting holds no slot; so does
// the pacing of single writes to the tenant's write quota.
func Middlewares(p RetryPolicy) []khttp.Middleware {
	return middlewares(p, newWriteBucket(p))
}

func middlewares(p RetryPolicy, writes *writeBucket) []khttp.Middleware {
	if p.MaxRetries <= 0 {
		p.MaxRetries = 4
	}
	if p.MaxWait <= 0 {
		p.MaxWait = 2 * time.Minute
	}
	if p.Base <= 0 {
		p.Base = 2 * time.Second
	}
	if p.Concurrency <= 0 {
		p.Concurrency = 4
	}
	return []khttp.Middleware{
		msgraphgocore.NewGraphTelemetryHandler(&msgraphgocore.GraphClientOptions{}),
		khttp.NewUrlReplaceHandler(true, msgraphgocore.ReplacementPairs),
		khttp.NewParametersNameDecodingHandler(),
		khttp.NewUserAgentHandler(),
		khttp.NewHeadersInspectionHandler(),
		khttp.NewCompressionHandler(),
		retryMiddleware{maxRetries: p.MaxRetries, maxWait: p.MaxWait, base: p.Base},
		writePacer{writes},
		make(limiter, p.Concurrency),
		khttp.NewRedirectHandler(),
		requestIDRecorder{},
		replayableBody{},
	}
}

// requestIDRecorder adds the request-id of every Graph response to the
// actions.Trace of the request's context, for the audit record.
type requestIDRecorder struct{}

// Intercept implements khttp.Middleware.
func (requestIDRecorder) Intercept(p khttp.Pipeline, i int, req *http.Request) (*http.Response, error) {
	resp, err := p.Next(req, i)
	if resp != nil {
		actions.TraceFrom(req.Context()).Add(resp.Header.Get("request-id"))
	}
	return resp, err
}

// replayableBody gives every request body a GetBody, so that net/http can
// resend it itself when a kept-alive connection turns out to be closed;
// without it such a PATCH fails with "ContentLength=N with Body length 0".
type replayableBody struct{}

// Intercept implements khttp.Middleware.
func (replayableBody) Intercept(p khttp.Pipeline, i int, req *http.Request) (*http.Response, error) {
	if req.Body != nil && req.Body != http.NoBody && req.GetBody == nil {
		b, err := io.ReadAll(req.Body)
		if err != nil {
			return nil, fmt.Errorf("read request body: %w", err)
		}
		// The reader the retry middleware seeks must stay the same object,
		// so put the original back at its start for the next attempt.
		if s, ok := req.Body.(io.Seeker); ok {
			s.Seek(0, io.SeekStart)
		}
		req = req.Clone(req.Context())
		req.Body = io.NopCloser(bytes.NewReader(b))
		req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }
		req.ContentLength = int64(len(b))
	}
	return p.Next(req, i)
}

// observer reports each HTTP exchange with Graph to a callback.
type observer struct {
	tenantID string
	fn       func(tenantID string, status int, d time.Duration)
}

// Intercept implements khttp.Middleware.
func (o observer) Intercept(p khttp.Pipeline, i int, req *http.Request) (*http.Response, error) {
	start := time.Now()
	resp, err := p.Next(req, i)
	if o.fn != nil {
		status := 0
		if resp != nil {
			status = resp.StatusCode
		}
		o.fn(o.tenantID, status, time.Since(start))
	}
	return resp, err
}
