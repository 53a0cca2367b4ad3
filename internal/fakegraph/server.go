// Package fakegraph simulates Microsoft 365 tenants for tests and demos.
//
// A Server speaks the Microsoft Graph v1.0 and beta JSON wire format over
// HTTPS and also plays the Microsoft Entra token endpoint, so the real
// Graph SDK and the real Azure identity client can talk to it unchanged:
// point the credential's authority host at URL()+"/" (with instance
// discovery disabled) and the Graph client's base URL at URL()+"/v1.0".
//
// New seeds the "contoso" sample tenant (see ContosoSeed); more tenants
// are added with AddTenant, e.g. an MSP's own tenant holding GDAP
// relationships (PartnerSeed) and a second customer (FabrikamSeed). The
// tenant is chosen at the token endpoint
// ("/{tenant id or domain}/oauth2/v2.0/token") and every Graph request
// sees only the tenant its token was issued for. The server keeps all state in memory per instance,
// records every request it sees (Requests), and can be told to misbehave
// (Inject, SetLatency, SetTokenError, SetPermissions) so that retry,
// consent and error paths can be exercised. Anything it does not
// implement is answered with a Graph-shaped error rather than silently
// accepted (what the demo wants); a server made by NewTest also fails
// the test on such a request, naming it, and Hold keeps one chosen
// request in flight while a test acts.
//
// Access tokens look like Microsoft Entra app-only tokens: JWTs whose
// payload carries tid, appid, roles (the tenant's consented application
// permissions) and the usual timestamps, with a random signature. The
// server accepts only tokens it issued, and authorizes each Graph
// request, and each $batch item on its own, against the tenant's
// current permissions, answering 403 Authorization_RequestDenied when
// none of the acceptable ones is granted:
//
//	GET users, users/{id}, memberOf, manager, directReports,
//	    licenseDetails, directory/deletedItems   User.Read.All
//	PATCH users/{id} setting only passwordProfile
//	                     User-PasswordProfile.ReadWrite.All or User.ReadWrite.All
//	other writes under users/{id}, deletedItems  User.ReadWrite.All
//	    (revokeSignInSessions also accepts User.RevokeSessions.All,
//	    assignLicense LicenseAssignment.ReadWrite.All)
//	GET users/{id}/authentication/...            UserAuthenticationMethod.Read.All
//	TAP POST, method DELETE                      UserAuthenticationMethod.ReadWrite.All
//	beta users/{id}/authentication/requirements  Policy.ReadWrite.AuthenticationMethod
//	GET groups, groups/{id}, members             GroupMember.Read.All
//	groups/{id}/members/$ref (POST, DELETE)      GroupMember.ReadWrite.All
//	directoryRoles                               RoleManagement.Read.Directory
//	auditLogs/signIns                            AuditLog.Read.All
//	auditLogs/directoryAudits                    AuditLog.Read.All and
//	                                             Directory.Read.All (both)
//	organization, subscribedSkus                 Organization.Read.All
//	domains                                      Domain.Read.All
//	tenantRelationships/delegatedAdminRelationships
//	                                             DelegatedAdminRelationship.Read.All
//	groups/{id}/members/$ref of a role-assignable group
//	                     also RoleManagement.ReadWrite.Directory
//
// These routes accept exactly the application permissions their pages
// list, none implied by another:
//
//	GET users/{id}/transitiveMemberOf[/microsoft.graph.group
//	    or /microsoft.graph.directoryRole]
//	                     User.Read.All, GroupMember.Read.All, Group.Read.All,
//	                     Directory.Read.All, Directory.ReadWrite.All
//	GET roleManagement/directory/roleAssignments[/{id}]
//	                     RoleManagement.Read.Directory, RoleManagement.Read.All,
//	                     Directory.Read.All, RoleManagement.ReadWrite.Directory,
//	                     Directory.ReadWrite.All
//	GET roleManagement/directory/roleDefinitions[/{id}]
//	                     RoleManagement.Read.Directory, Directory.Read.All,
//	                     RoleManagement.ReadWrite.Directory, Directory.ReadWrite.All
//	GET roleManagement/directory/roleEligibilityScheduleInstances[/{id}]
//	                     RoleEligibilitySchedule.Read.Directory,
//	                     RoleEligibilitySchedule.ReadWrite.Directory,
//	                     RoleManagement.Read.All, RoleManagement.Read.Directory,
//	                     RoleManagement.ReadWrite.Directory
//	GET identity/conditionalAccess/policies[/{id}]  Policy.Read.All
//
// A permission includes others: "X.ReadWrite.Y" includes "X.Read.Y";
// Directory.Read.All includes User.Read.All, Group.Read.All,
// GroupMember.Read.All, Organization.Read.All, Domain.Read.All and
// RoleManagement.Read.Directory; Directory.ReadWrite.All also includes
// User.ReadWrite.All, Group.ReadWrite.All and GroupMember.ReadWrite.All;
// Group.Read(Write).All includes GroupMember.Read(Write).All. A tenant
// whose seed leaves Permissions nil grants DefaultPermissions(), which
// covers everything above.
//
// The same server plays Exchange Online's admin API, which the
// ExchangeOnlineManagement module uses to run cmdlets over REST:
//
//	POST /adminapi/beta/{tenant id}/InvokeCommand
//	Authorization: Bearer <token for https://outlook.office365.com/.default>
//	X-AnchorMailbox: APP:SystemMailbox{bb558c35-97f1-4cb9-8ff7-d53741dc928c}@{tenant id}
//	{"CmdletInput":{"CmdletName":"Set-Mailbox","Parameters":{...}}}
//
// Tokens for Exchange carry aud "https://outlook.office365.com" and the
// tenant's Exchange permissions (Exchange.ManageAsApp), Graph tokens the
// Graph ones; each is refused (401) by the other service. The tenant in
// the URL must be the token's tenant, given as its id; InvokeCommand
// needs Exchange.ManageAsApp (else 401). It runs Get-Mailbox,
// Get-MailboxStatistics, Set-Mailbox, Enable-Mailbox,
// Get-/Set-MailboxAutoReplyConfiguration and Add-/Remove-
// DistributionGroupMember against the users' mailbox state (see User),
// answering {"@odata.context":…,"@adminapi.warnings":[…],"value":[…]},
// or Exchange's error shape: a failed cmdlet is 404 (object not found)
// or 400 with error.message "Error executing cmdlet" and the exception
// as "ExID|Exception.Type|text" in error.details[0].message.
//
// Directory roles follow Graph's unified role management: a tenant holds
// role assignments (built-in roles at the tenant scope "/", given to
// users and to role-assignable groups, see User.Roles, Group.Roles and
// AssignRole), PIM eligibilities (User.EligibleRoles,
// Group.EligibleRoles) and the built-in role definitions; every
// assignment also activates the legacy directoryRole and makes the
// principal its member, so /directoryRoles and memberOf agree.
// transitiveMemberOf follows nested groups (Group.MemberGroups) and lists
// the directory roles held through role-assignable groups. Conditional
// Access policies come from TenantSeed.ConditionalAccessPolicies.
//
// Every tenant also holds the app's own service principal, and app-only
// requests are judged, as Microsoft Entra judges them, by the directory
// roles assigned to it as well as by the permissions: password changes,
// sensitive changes to admins, Exchange cmdlets and SharePoint's
// RequestPersonalSites (see approles.go, TenantSeed.AppRoles and
// SetAppRoles).
//
// Every v1.0 request, each $batch item on its own, is held to Microsoft's
// published v1.0 schema (schema/graph-v1.0.csdl, embedded): its path
// segments, the properties its $select, $filter, $orderby and $expand
// name, and the properties of its body must exist on the types they
// address, and what breaks the schema is answered as Graph answers it,
// 400 BadRequest. The server's own v1.0 answers are held to the schema
// too (see schema_check.go). Beta requests are not checked.
//
// Writes are held to Microsoft Entra ID's write quota per application and
// tenant, 3,000 per 2 minutes 30 seconds in a token bucket, each $batch
// item counted on its own; a write over it is answered 429 with
// Retry-After (see write_limit.go, Options.WriteLimit, SetWriteLimit).
//
// Delegated tokens (delegated.go) act for a signed-in user: the partner's
// service account reaching a customer through GDAP holds the roles of
// its home tenant's active relationships with that customer. An admin's
// password reset through the password method and its long-running
// operation (writeback.go) take delegated tokens only, as Microsoft
// allows; SharePoint's RequestPersonalSites takes a SharePoint
// Administrator's, and Exchange Online runs cmdlets for a delegated token
// with Exchange.Manage as the admin's roles allow (approles.go).
//
// Like real Graph, GET /v1.0/users returns only the default property set
// (id, businessPhones, displayName, givenName, jobTitle, mail, mobilePhone,
// officeLocation, preferredLanguage, surname, userPrincipalName) unless
// $select asks for more; the beta endpoint returns every property.
package fakegraph

import (
	"crypto/x509"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/cippbot/cippbot/internal/selfsigned"
	"github.com/cippbot/cippbot/internal/unhandled"
)

// Default credentials accepted by the token endpoint.
const (
	// DefaultClientID is the application (client) id accepted when
	// Options.ClientID is empty.
	DefaultClientID = "cippbot-demo"
	// DefaultClientSecret is the client secret accepted when
	// Options.ClientSecret is empty.
	DefaultClientSecret = "demo-secret"
)

// maxBody bounds the size of a request body, before and after
// decompression.
const maxBody = 4 << 20

// Options configures a Server.
type Options struct {
	// ClientID and ClientSecret are the only credentials the token
	// endpoint accepts; they default to DefaultClientID and
	// DefaultClientSecret.
	ClientID, ClientSecret string
	// Latency is added to every Graph and Exchange request (not to token
	// requests).
	Latency time.Duration
	// Now is the server's clock; nil means time.Now.
	Now func() time.Time
	// Unhandled, if non-nil, is called with the method and path of every
	// request the server has no route for (see Request.Unhandled), after
	// it has been answered; nil leaves the answer to speak for itself, as
	// the demo wants. NewTest sets it to fail the test.
	Unhandled func(method, path string)
	// WriteLimit writes per WriteWindow are accepted per application and
	// tenant (write_limit.go); 0 means Microsoft Entra's documented 3,000
	// per 2 min 30 s, a negative WriteLimit no limit.
	WriteLimit  int
	WriteWindow time.Duration
}

// Request is one HTTP request as the server saw it.
type Request struct {
	// Method is the HTTP method.
	Method string
	// Path is the decoded URL path, e.g. "/v1.0/groups/{id}/members/$ref".
	Path string
	// RawQuery is the query string as sent, without the '?'.
	RawQuery string
	// Header is a copy of the request headers.
	Header http.Header
	// Body is the request body after gzip decoding (the raw bytes when
	// decoding failed). Client secrets in token requests are redacted.
	Body []byte
	// Status is the status code the server answered with.
	Status int
	// ContentEncoding is the request's Content-Encoding header.
	ContentEncoding string
	// Time is when the request arrived, by the server's clock.
	Time time.Time
	// BatchItemID is the item id for a request that arrived inside a
	// $batch; such items are recorded right after their batch.
	BatchItemID string
	// Unhandled reports a request the server has no route for: an unknown
	// path or method, a path Microsoft's v1.0 schema does not have, or an
	// Exchange cmdlet it does not run. It was answered as the real service
	// answers one, and a server made by NewTest fails the test.
	Unhandled bool
}

// grant is an issued access token.
type grant struct {
	tenantID string
	clientID string
	scope    string
	expires  time.Time
	// user is the signed-in user's id of a delegated token, "" for an
	// app-only one (approles.go).
	user string
}

// Server is a simulated Microsoft 365 tenant host. Create it with New.
type Server struct {
	clientID     string
	clientSecret string
	nowFn        func() time.Time
	unhandled    func(method, path string)
	strict       *unhandled.Checker // set by NewTest

	mu      sync.Mutex
	latency time.Duration
	// exoSyncDelay, when exoSyncSet, replaces DefaultExchangeSyncDelay.
	exoSyncDelay time.Duration
	exoSyncSet   bool
	tenants      map[string]*tenant
	tokens       map[string]grant
	issued       int
	requests     []Request
	exoCalls     []ExchangeCall
	faults       []*Fault
	holds        []*Hold
	ts           *httptest.Server
	sp           sharePointState
	// the write quota (write_limit.go)
	writeLimit      int
	writeWindow     time.Duration
	writeBuckets    map[string]*writeBucket
	writesThrottled int
	// del is the delegated grants' state (delegated.go), nil until used.
	del *delegatedState
	// wb is the password reset operations' state (writeback.go), nil
	// until used.
	wb *writebackState
}

// New returns a server seeded with the contoso tenant. It is not listening
// until Start is called; Handler can be used without starting it.
func New(opts Options) *Server {
	s := &Server{
		clientID:     opts.ClientID,
		clientSecret: opts.ClientSecret,
		nowFn:        opts.Now,
		unhandled:    opts.Unhandled,
		latency:      opts.Latency,
		writeLimit:   opts.WriteLimit,
		writeWindow:  opts.WriteWindow,
		tenants:      make(map[string]*tenant),
		tokens:       make(map[string]grant),
	}
	if s.clientID == "" {
		s.clientID = DefaultClientID
	}
	if s.clientSecret == "" {
		s.clientSecret = DefaultClientSecret
	}
	if s.nowFn == nil {
		s.nowFn = time.Now
	}
	if err := s.AddTenant(ContosoSeed()); err != nil {
		panic(fmt.Errorf("fakegraph: contoso seed: %w", err))
	}
	return s
}

// AddTenant adds a tenant built from seed. Users whose Password is empty
// get a random one, and a short sign-in history is generated per user.
func (s *Server) AddTenant(seed TenantSeed) error {
	t, err := buildTenant(seed, s.now())
	if err != nil {
		return err
	}
	t.now = s.now
	if err := s.seedApp(t, seed.AppRoles); err != nil { // the app's own service principal (approles.go)
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.tenants[t.id]; ok {
		return fmt.Errorf("tenant: %s already exists", t.id)
	}
	for _, other := range s.tenants {
		for _, d := range t.domains {
			if other.hasDomain(d.name) {
				return fmt.Errorf("tenant: domain %s already belongs to %s", d.name, other.id)
			}
		}
	}
	s.tenants[t.id] = t
	return nil
}

// Start starts serving HTTPS on 127.0.0.1 with a self-signed certificate.
// Calling it again has no effect.
func (s *Server) Start() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ts != nil {
		return
	}
	s.ts = httptest.NewUnstartedServer(s)
	selfsigned.StartTLS(s.ts)
}

// Close stops the server and waits for outstanding requests.
func (s *Server) Close() {
	s.mu.Lock()
	ts := s.ts
	s.mu.Unlock()
	if ts != nil {
		ts.Close()
	}
}

// URL returns the server's base URL, "https://127.0.0.1:PORT", without a
// trailing slash; it is "" before Start.
func (s *Server) URL() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ts == nil {
		return ""
	}
	return s.ts.URL
}

// Client returns an HTTP client that trusts the server's certificate; it
// is nil before Start.
func (s *Server) Client() *http.Client {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ts == nil {
		return nil
	}
	return s.ts.Client()
}

// Certificate returns the server's self-signed certificate, for callers
// that build their own transport; it is nil before Start.
func (s *Server) Certificate() *x509.Certificate {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ts == nil {
		return nil
	}
	return s.ts.Certificate()
}

// Handler returns the server as an http.Handler for in-process use.
func (s *Server) Handler() http.Handler {
	return s
}

// SetLatency changes the delay added to every Graph and Exchange
// request.
func (s *Server) SetLatency(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.latency = d
}

// TokensIssued returns the number of access tokens handed out.
func (s *Server) TokensIssued() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.issued
}

// TokensIssuedFor returns the number of access tokens handed out for one
// tenant (id or domain); 0 if there is no such tenant.
func (s *Server) TokensIssuedFor(tenantIDOrDomain string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tenant(tenantIDOrDomain)
	if t == nil {
		return 0
	}
	return t.issued
}

// Requests returns a copy of every request recorded so far, oldest first.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Request, len(s.requests))
	for i, r := range s.requests {
		r.Header = r.Header.Clone()
		r.Body = slices.Clone(r.Body)
		out[i] = r
	}
	return out
}

// ResetRequests forgets the recorded requests.
func (s *Server) ResetRequests() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = nil
}

// User returns a snapshot of the user with the given id or user principal
// name (case-insensitive) in the given tenant (id or domain). Soft-deleted
// users are returned too, with Deleted set.
func (s *Server) User(tenantID, idOrUPN string) (User, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tenant(tenantID)
	if t == nil {
		return User{}, false
	}
	u := t.findUser(idOrUPN, true)
	if u == nil {
		return User{}, false
	}
	return t.snapshot(u), true
}

// Users returns snapshots of every user of a tenant (id or domain),
// including soft-deleted ones, in seed order.
func (s *Server) Users(tenantID string) []User {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tenant(tenantID)
	if t == nil {
		return nil
	}
	out := make([]User, 0, len(t.users))
	for _, u := range t.users {
		out = append(out, t.snapshot(u))
	}
	return out
}

// Group returns a snapshot of the group with the given id or display name
// (case-insensitive) in the given tenant (id or domain), with the roles
// assigned to it and those it is eligible for.
func (s *Server) Group(tenantID, idOrName string) (Group, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tenant(tenantID)
	if t == nil {
		return Group{}, false
	}
	for _, g := range t.groups {
		if strings.EqualFold(g.ID, idOrName) || strings.EqualFold(g.DisplayName, idOrName) {
			return t.groupSnapshot(g), true
		}
	}
	return Group{}, false
}

// now returns the server's current time in UTC.
func (s *Server) now() time.Time {
	return s.nowFn().UTC()
}

// tenant finds a tenant by id or verified domain; s.mu must be held.
func (s *Server) tenant(idOrDomain string) *tenant {
	if t, ok := s.tenants[strings.ToLower(idOrDomain)]; ok {
		return t
	}
	for _, t := range s.tenants {
		if t.hasDomain(idOrDomain) {
			return t
		}
	}
	return nil
}

// record appends r to the request log.
func (s *Server) record(r ...Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = append(s.requests, r...)
}

// statusWriter remembers the status code written.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rec := Request{
		Method:          r.Method,
		Path:            r.URL.Path,
		RawQuery:        r.URL.RawQuery,
		Header:          r.Header.Clone(),
		ContentEncoding: r.Header.Get("Content-Encoding"),
		Time:            s.now(),
	}
	sw := &statusWriter{ResponseWriter: w}
	raw, err := io.ReadAll(http.MaxBytesReader(sw, r.Body, maxBody))
	segs := splitPath(r.URL)
	var items []Request
	switch {
	case err != nil:
		rec.Body = raw
		s.writeGraph(sw, r, graphErr(http.StatusRequestEntityTooLarge, "RequestEntityTooLarge", "The request body is too large."))
	case len(segs) > 0 && isVersion(segs[0]):
		if h := s.takeHold(r); h != nil {
			defer close(h.done)
			if !h.wait(r) {
				rec.Body = raw
				s.writeGraph(sw, r, graphErr(499, "RequestCanceled", "The client canceled the request."))
				break
			}
		}
		items = s.serveGraph(sw, r, segs, raw, &rec)
	case isExchangePath(segs):
		s.serveExchange(sw, r, segs, raw, &rec)
	case isSharePointPath(segs):
		s.serveSharePoint(sw, r, segs, raw, &rec)
	case isMFAConnectorPath(segs):
		s.serveMFAConnector(sw, r, segs, raw, &rec)
	default:
		s.serveIdentity(sw, r, segs, raw, &rec)
	}
	rec.Status = sw.status
	all := append([]Request{rec}, items...)
	s.record(all...)
	if s.unhandled != nil {
		for _, q := range all {
			if q.Unhandled {
				s.unhandled(q.Method, q.Path)
			}
		}
	}
}

// isVersion reports whether seg is a Graph API version segment.
func isVersion(seg string) bool {
	return strings.EqualFold(seg, "v1.0") || strings.EqualFold(seg, "beta")
}

// splitPath returns the decoded, non-empty path segments of u.
func splitPath(u *url.URL) []string {
	return splitEscaped(u.EscapedPath())
}

// splitEscaped splits an escaped path into decoded non-empty segments.
func splitEscaped(p string) []string {
	var out []string
	for _, seg := range strings.Split(p, "/") {
		if seg == "" {
			continue
		}
		if d, err := url.PathUnescape(seg); err == nil {
			seg = d
		}
		out = append(out, seg)
	}
	return out
}

// baseURL returns the scheme and host the client used to reach us.
func baseURL(r *http.Request) string {
	return "https://" + r.Host
}
