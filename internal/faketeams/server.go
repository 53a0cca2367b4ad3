// Package faketeams is a simulated Microsoft Teams for tests: the Bot
// Framework token service (OpenID metadata, signing keys with
// endorsements, RS256 tokens for activities), the bot tenant's Microsoft
// Entra ID authority as azidentity asks it (tenant discovery, the
// client-credentials grant; authority.go) and the Bot Connector REST API (post, update and delete
// activities, create a one-to-one conversation, members, 429). It also
// plays the Teams client: it delivers signed activities to a bot's
// messaging endpoint and keeps the invoke responses.
//
// It speaks the wire format of the real service and refuses what the real
// service refuses; each rule cites its source. Every request is recorded,
// with who can see each message. It imports no project types.
package faketeams

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/cippbot/cippbot/internal/selfsigned"
	"github.com/cippbot/cippbot/internal/unhandled"
	"github.com/golang-jwt/jwt/v5"
)

// Defaults the server is created with.
const (
	DefaultAppID       = "9f3c2a51-7d7e-4c1b-9d77-2c0b1e6f4a10"
	DefaultAppPassword = "fake-teams-app-password"
	DefaultTenantID    = "72f988bf-86f1-41af-91ab-2d7cd011db47"
	// Issuer is the issuer of tokens the Bot Framework sends to bots
	// (bot-docs rest-api/bot-framework-rest-connector-authentication.md,
	// "Connector to bot", step 4).
	Issuer = "https://api.botframework.com"
	// Scope is what a bot asks the token endpoint for to call the
	// Connector (same doc, "Bot to connector").
	Scope = "https://api.botframework.com/.default"
)

// User is a Teams user as a bot sees them: a per-bot MRI ("29:…") and the
// stable Entra object ID.
type User struct {
	MRI  string
	AAD  string
	Name string
}

// Key is a signing key the metadata publishes.
type Key struct {
	ID           string
	Private      *rsa.PrivateKey
	Endorsements []string
}

// Request is one recorded request, in either direction.
type Request struct {
	Method, Path string
	Header       http.Header
	Body         string
	// Response is what was answered (invoke responses included).
	Response string
	Status   int
}

// Message is one activity the bot posted or updated, with who can see it.
type Message struct {
	Conversation string
	ID           string
	Activity     map[string]any
	Visible      []string // MRIs of who can see it; nil for everyone in a channel
	Updates      int
	Deleted      bool
}

type conversation struct {
	id       string
	personal bool
	tenant   string
	members  []string // MRIs
}

// Server is a simulated Teams. Create it with New.
type Server struct {
	AppID, AppPassword, TenantID string

	srv  *httptest.Server
	mu   sync.Mutex
	keys []Key // published keys
	// signing keys, published or not, by kid
	all       map[string]Key
	keysMade  int                  // keys made, the next one's index in rsaKeys
	strict    *unhandled.Checker   // NewTest's; nil for New
	tokens    map[string]time.Time // issued connector tokens → expiry
	convs     map[string]*conversation
	users     map[string]User // by MRI
	installed map[string]bool // MRI → the bot is installed in their personal scope
	msgs      []*Message
	log       []Request
	certs     []*x509.Certificate // registered certificate credentials
	throttle  int                 // connector calls still to answer 429
	nextID    int
	keyGets   int
	// tokens issued by the token endpoint
	tokenGrants int
}

// New starts a TLS server (the token endpoint must be HTTPS) with one
// signing key endorsed for msteams. Close it when done.
func New() *Server {
	s := &Server{AppID: DefaultAppID, AppPassword: DefaultAppPassword, TenantID: DefaultTenantID,
		all: map[string]Key{}, tokens: map[string]time.Time{}, convs: map[string]*conversation{},
		users: map[string]User{}, installed: map[string]bool{}}
	s.srv = httptest.NewUnstartedServer(http.HandlerFunc(s.serve))
	selfsigned.StartTLS(s.srv)
	k := s.NewKey("msteams")
	s.Publish(k)
	return s
}

// Close stops the server.
func (s *Server) Close() { s.srv.Close() }

// URL is the server's root.
func (s *Server) URL() string { return s.srv.URL }

// Client returns an HTTP client that trusts the server's certificate.
func (s *Server) Client() *http.Client { return s.srv.Client() }

// Certificate returns the server's TLS certificate, for callers that
// build their own transport.
func (s *Server) Certificate() *x509.Certificate { return s.srv.Certificate() }

// OpenIDURL is the Bot Framework OpenID metadata document.
func (s *Server) OpenIDURL() string { return s.srv.URL + "/v1/.well-known/openidconfiguration" }

// AuthorityHost is the simulated Microsoft Entra ID login host, for
// azidentity's authority host (with instance discovery off: the host is
// not Microsoft's).
func (s *Server) AuthorityHost() string { return s.srv.URL + "/" }

// TokenURL is the bot's tenant's token endpoint.
func (s *Server) TokenURL() string { return s.srv.URL + "/" + s.TenantID + "/oauth2/v2.0/token" }

// ServiceURL is the Connector's base URL, as activities carry it.
func (s *Server) ServiceURL() string { return s.srv.URL + "/amer/" }

// NewKey makes a signing key with the given endorsements; it is not
// published until Publish.
// Every key a Server makes is a different RSA key (from rsaKeys).
func (s *Server) NewKey(endorsements ...string) Key {
	s.mu.Lock()
	n := s.keysMade
	s.keysMade++
	s.mu.Unlock()
	k := Key{ID: randHex(8), Private: rsaKey(n), Endorsements: endorsements}
	s.mu.Lock()
	s.all[k.ID] = k
	s.mu.Unlock()
	return k
}

// rsaKeys are RSA 2048 keys shared by the Servers of one process, made as
// they are first needed. Bot Framework signs with RS256, so the fake's keys
// are RSA, and making one is a prime search costing 50–300 ms of CPU; a
// test binary starts dozens of fakes. A Server takes the keys in order, so
// its own keys all differ; two Servers may hold the same key under
// different random key IDs, and a token is checked against the key its ID
// names, so one fake's tokens still fail against another.
var rsaKeys struct {
	sync.Mutex
	keys []*rsa.PrivateKey
}

// rsaKey returns the process's i-th key, making the missing ones.
func rsaKey(i int) *rsa.PrivateKey {
	rsaKeys.Lock()
	defer rsaKeys.Unlock()
	for len(rsaKeys.keys) <= i {
		pk, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		rsaKeys.keys = append(rsaKeys.keys, pk)
	}
	return rsaKeys.keys[i]
}

// Publish adds k to the keys document.
func (s *Server) Publish(k Key) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keys = append(s.keys, k)
}

// MainKey is the first published key.
func (s *Server) MainKey() Key {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.keys[0]
}

// KeyFetches says how often the keys document was read.
func (s *Server) KeyFetches() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.keyGets
}

// AddUser registers a user; installed says whether the bot is installed
// in their personal scope (else no one-to-one chat can be created).
func (s *Server) AddUser(u User, installed bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.users[u.MRI] = u
	s.installed[u.MRI] = installed
}

// Install installs the bot in u's personal scope and returns the
// one-to-one conversation's ID.
func (s *Server) Install(mri string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.installed[mri] = true
	return s.personalLocked(mri).id
}

func (s *Server) personalLocked(mri string) *conversation {
	for _, c := range s.convs {
		if c.personal && c.members[0] == mri {
			return c
		}
	}
	c := &conversation{id: "a:1" + randHex(12), personal: true, tenant: s.TenantID, members: []string{mri}}
	s.convs[c.id] = c
	return c
}

// Uninstall removes the bot from u's personal scope: posts to their chat
// then fail with 403 and no chat can be created.
func (s *Server) Uninstall(mri string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.installed[mri] = false
}

// AddChannel registers a channel conversation with its members.
func (s *Server) AddChannel(id string, members ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.convs[id] = &conversation{id: id, tenant: s.TenantID, members: members}
}

// Throttle makes the next n Connector calls answer 429.
func (s *Server) Throttle(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.throttle = n
}

// Requests returns every recorded request.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.log)
}

// Messages returns the activities the bot posted, with their updates.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Message, len(s.msgs))
	for i, m := range s.msgs {
		out[i] = *m
	}
	return out
}

// Message returns the activity id in conversation conv.
func (s *Server) Message(conv, id string) (Message, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, m := range s.msgs {
		if m.Conversation == conv && m.ID == id {
			return *m, true
		}
	}
	return Message{}, false
}

func (s *Server) record(r Request) {
	s.mu.Lock()
	s.log = append(s.log, r)
	s.mu.Unlock()
}

func randHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	rw := &recorder{ResponseWriter: w, status: 200}
	defer func() {
		s.record(Request{Method: r.Method, Path: r.URL.RequestURI(), Header: r.Header.Clone(), Body: string(body),
			Response: rw.body.String(), Status: rw.status})
	}()
	p := r.URL.EscapedPath()
	switch {
	case p == "/v1/.well-known/openidconfiguration" && r.Method == http.MethodGet:
		s.openID(rw)
	case p == "/v1/.well-known/keys" && r.Method == http.MethodGet:
		s.jwks(rw)
	case isAuthorityPath(p):
		s.authority(rw, r, p, body)
	case strings.HasPrefix(p, "/amer/v3/conversations"):
		s.connector(rw, r, strings.TrimPrefix(p, "/amer/v3/conversations"), body)
	default:
		// Unhandled routes fail loudly, so a test notices.
		s.unhandled(r.Method, p)
		writeJSON(rw, http.StatusNotFound, map[string]any{"error": map[string]any{"code": "NotFound", "message": "faketeams: no route " + r.Method + " " + p}})
	}
}

type recorder struct {
	http.ResponseWriter
	status int
	body   strings.Builder
}

func (r *recorder) WriteHeader(c int) { r.status = c; r.ResponseWriter.WriteHeader(c) }
func (r *recorder) Write(b []byte) (int, error) {
	r.body.Write(b)
	return r.ResponseWriter.Write(b)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// openID serves the metadata document: issuer, jwks_uri and RS256
// (bot-docs …-connector-authentication.md, "Connector to bot", step 2).
func (s *Server) openID(w http.ResponseWriter) {
	writeJSON(w, 200, map[string]any{
		"issuer":                                Issuer,
		"authorization_endpoint":                "https://invalid.botframework.com",
		"jwks_uri":                              s.srv.URL + "/v1/.well-known/keys",
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"token_endpoint_auth_methods_supported": []string{"private_key_jwt"},
	})
}

// jwks serves the keys, each with its endorsements, the channels it may
// sign for (same doc, step 3: "endorsements").
func (s *Server) jwks(w http.ResponseWriter) {
	s.mu.Lock()
	s.keyGets++
	var keys []any
	for _, k := range s.keys {
		pub := k.Private.PublicKey
		keys = append(keys, map[string]any{
			"kty": "RSA", "use": "sig", "kid": k.ID,
			"n":            base64.RawURLEncoding.EncodeToString(pub.N.Bytes()),
			"e":            base64.RawURLEncoding.EncodeToString(big.NewInt(int64(pub.E)).Bytes()),
			"endorsements": k.Endorsements,
		})
	}
	s.mu.Unlock()
	writeJSON(w, 200, map[string]any{"keys": keys})
}

// Claims returns the claims the Bot Framework puts in a token it sends
// with an activity for serviceURL, valid from now for an hour.
func (s *Server) Claims(serviceURL string) jwt.MapClaims {
	now := time.Now()
	return jwt.MapClaims{"iss": Issuer, "aud": s.AppID, "serviceurl": serviceURL,
		"nbf": now.Add(-time.Minute).Unix(), "iat": now.Unix(), "exp": now.Add(time.Hour).Unix()}
}

// Sign signs claims with k, RS256, naming k in the header.
func Sign(k Key, claims jwt.MapClaims) string {
	t := jwt.NewWithClaims(jwt.SigningMethodRS256, claims)
	t.Header["kid"] = k.ID
	out, err := t.SignedString(k.Private)
	if err != nil {
		panic(err)
	}
	return out
}

func (s *Server) bearerOK(r *http.Request) bool {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	exp, ok := s.tokens[tok]
	return ok && time.Now().Before(exp)
}

func connErr(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, map[string]any{"error": map[string]any{"code": code, "message": msg}})
}

// connector serves /v3/conversations…
// (bot-docs rest-api/bot-framework-rest-connector-api-reference.md).
func (s *Server) connector(w http.ResponseWriter, r *http.Request, rest string, body []byte) {
	// Calls without a token from the bot's tenant are refused with 401
	// "Authorization has been denied for this request" (TEAMS.md A6,
	// msteams-docs#11153).
	if !s.bearerOK(r) {
		connErr(w, http.StatusUnauthorized, "Unauthorized", "Authorization has been denied for this request.")
		return
	}
	s.mu.Lock()
	if s.throttle > 0 {
		// Throttled calls answer 429 (msteams-docs bots/how-to/rate-limit.md).
		s.throttle--
		s.mu.Unlock()
		w.Header().Set("Retry-After", "1")
		connErr(w, http.StatusTooManyRequests, "Throttled", "Too many requests")
		return
	}
	s.mu.Unlock()
	parts := strings.Split(strings.Trim(rest, "/"), "/")
	switch {
	case rest == "" && r.Method == http.MethodPost:
		s.createConversation(w, body)
	case len(parts) == 2 && parts[1] == "activities" && r.Method == http.MethodPost:
		s.post(w, unescape(parts[0]), body)
	case len(parts) == 3 && parts[1] == "activities" && r.Method == http.MethodPut:
		s.update(w, unescape(parts[0]), unescape(parts[2]), body)
	case len(parts) == 3 && parts[1] == "activities" && r.Method == http.MethodDelete:
		s.delete(w, unescape(parts[0]), unescape(parts[2]))
	case len(parts) == 3 && parts[1] == "members" && r.Method == http.MethodGet:
		s.member(w, unescape(parts[0]), unescape(parts[2]))
	default:
		s.unhandled(r.Method, r.URL.EscapedPath())
		connErr(w, http.StatusNotFound, "NotFound", "faketeams: no connector route "+r.Method+" "+rest)
	}
}

func unescape(s string) string {
	v, err := url.PathUnescape(s)
	if err != nil {
		return s
	}
	return v
}

// createConversation opens a one-to-one chat: isGroup false, the bot as
// "28:<appId>", one member, the tenant (bot-docs send-and-receive-messages.md;
// api-reference ConversationParameters). It fails with 403 when the bot is
// not installed for the user (msteams-docs send-proactive-messages.md).
func (s *Server) createConversation(w http.ResponseWriter, body []byte) {
	var p struct {
		IsGroup bool `json:"isGroup"`
		Bot     struct {
			ID string `json:"id"`
		} `json:"bot"`
		Members []struct {
			ID string `json:"id"`
		} `json:"members"`
		TenantID    string `json:"tenantId"`
		ChannelData struct {
			Tenant struct {
				ID string `json:"id"`
			} `json:"tenant"`
		} `json:"channelData"`
	}
	if err := json.Unmarshal(body, &p); err != nil {
		connErr(w, 400, "BadSyntax", "Invalid JSON")
		return
	}
	switch {
	case p.IsGroup || len(p.Members) != 1:
		connErr(w, 400, "BadArgument", "Conversations with more than one member must be created as group chats in Teams")
		return
	case p.Bot.ID != "28:"+s.AppID:
		connErr(w, 400, "BadArgument", "Bot ID does not match the bot's app ID")
		return
	case p.TenantID != s.TenantID && p.ChannelData.Tenant.ID != s.TenantID:
		connErr(w, 400, "BadArgument", "Tenant ID is required")
		return
	}
	mri := p.Members[0].ID
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.users[mri]; !ok {
		connErr(w, 404, "NotFound", "User not found")
		return
	}
	if !s.installed[mri] {
		connErr(w, 403, "Forbidden", "The bot is not part of the conversation roster.")
		return
	}
	writeJSON(w, 201, map[string]any{"id": s.personalLocked(mri).id})
}

// checkActivity applies the rules of an outgoing activity: a bot sends
// message activities with text or attachments (bot-docs
// rest-api/bot-framework-rest-connector-api-reference.md, Activity object;
// msteams-docs bots/how-to/conversations/conversation-messages.md).
func checkActivity(a map[string]any) (status int, code, msg string) {
	if a["type"] != "message" {
		return 400, "BadArgument", "Unknown activity type"
	}
	atts, _ := a["attachments"].([]any)
	for _, at := range atts {
		m, _ := at.(map[string]any)
		if m["contentType"] != "application/vnd.microsoft.card.adaptive" {
			continue
		}
		c, _ := m["content"].(map[string]any)
		if c["type"] != "AdaptiveCard" {
			return 400, "BadArgument", "Unknown attachment type"
		}
		// Action.Execute needs a card of version 1.4 or later, or
		// clients don't render it (msteams-docs Universal-actions…/
		// Work-with-universal-actions-for-adaptive-cards.md).
		if v, _ := c["version"].(string); !atLeast14(v) && strings.Contains(fmt.Sprint(c["actions"]), "Action.Execute") {
			return 400, "BadArgument", "Action.Execute needs card version 1.4 or later"
		}
		// At most 60 user-specific views (msteams-docs User-Specific-Views.md).
		if rf, ok := c["refresh"].(map[string]any); ok {
			if ids, _ := rf["userIds"].([]any); len(ids) > 60 {
				return 400, "BadArgument", "refresh.userIds holds more than 60 users"
			}
		}
	}
	if a["text"] == nil && len(atts) == 0 {
		return 400, "BadArgument", "Activity has neither text nor attachments"
	}
	return 0, "", ""
}

// atLeast14 reports whether a card version is 1.4 or later.
func atLeast14(v string) bool {
	var major, minor int
	if _, err := fmt.Sscanf(v, "%d.%d", &major, &minor); err != nil {
		return false
	}
	return major > 1 || major == 1 && minor >= 4
}

func (s *Server) post(w http.ResponseWriter, conv string, body []byte) {
	var a map[string]any
	if err := json.Unmarshal(body, &a); err != nil {
		connErr(w, 400, "BadSyntax", "Invalid JSON")
		return
	}
	if st, code, msg := checkActivity(a); st != 0 {
		connErr(w, st, code, msg)
		return
	}
	base, _, _ := strings.Cut(conv, ";messageid=")
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.convs[base]
	if c == nil {
		// A conversation the bot is not in cannot be written to
		// (api-reference: 404 "The requested resource was not found").
		connErr(w, 404, "ConversationNotFound", "Conversation not found.")
		return
	}
	if c.personal && !s.installed[c.members[0]] {
		// A user who blocked or removed the bot (send-proactive-messages.md).
		connErr(w, 403, "Forbidden", `{"subCode":"MessageWritesBlocked"}`)
		return
	}
	s.nextID++
	id := fmt.Sprintf("1%012d", s.nextID)
	m := &Message{Conversation: conv, ID: id, Activity: a}
	if c.personal {
		m.Visible = slices.Clone(c.members)
	}
	s.msgs = append(s.msgs, m)
	// Text and an attachment in one activity are split into two messages
	// and no ID comes back (msteams-docs conversation-messages.md,
	// "Message splitting").
	if a["text"] != nil && a["text"] != "" && a["attachments"] != nil {
		writeJSON(w, 201, map[string]any{})
		return
	}
	writeJSON(w, 201, map[string]any{"id": id})
}

func (s *Server) find(conv, id string) *Message {
	for _, m := range s.msgs {
		if m.Conversation == conv && m.ID == id {
			return m
		}
	}
	return nil
}

func (s *Server) update(w http.ResponseWriter, conv, id string, body []byte) {
	var a map[string]any
	if err := json.Unmarshal(body, &a); err != nil {
		connErr(w, 400, "BadSyntax", "Invalid JSON")
		return
	}
	if st, code, msg := checkActivity(a); st != 0 {
		connErr(w, st, code, msg)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.find(conv, id)
	// Only an existing activity of this conversation can be replaced
	// (api-reference, "Update activity").
	if m == nil || m.Deleted {
		connErr(w, 404, "ActivityNotFound", "Activity not found.")
		return
	}
	m.Activity, m.Updates = a, m.Updates+1
	writeJSON(w, 200, map[string]any{"id": id})
}

func (s *Server) delete(w http.ResponseWriter, conv, id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.find(conv, id)
	if m == nil || m.Deleted {
		connErr(w, 404, "ActivityNotFound", "Activity not found.")
		return
	}
	m.Deleted = true
	w.WriteHeader(200)
}

func (s *Server) member(w http.ResponseWriter, conv, mri string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	base, _, _ := strings.Cut(conv, ";messageid=")
	c := s.convs[base]
	u, ok := s.users[mri]
	// Only members of the conversation are found (api-reference, "Get
	// conversation member").
	if c == nil || !ok || !slices.Contains(c.members, mri) {
		connErr(w, 404, "MemberNotFoundInConversation", "The member was not found in the conversation.")
		return
	}
	writeJSON(w, 200, map[string]any{"id": u.MRI, "name": u.Name, "aadObjectId": u.AAD, "tenantId": s.TenantID})
}
