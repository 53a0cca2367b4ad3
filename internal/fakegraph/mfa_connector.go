package fakegraph

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"mime"
	"net/http"
	"slices"
	"strings"
	"time"
)

// The legacy MFA notification service, as the NPS extension and CIPP use
// it to send a Microsoft Authenticator push:
//
//	POST /StrongAuthenticationService.svc/Connector//BeginTwoWayAuthentication
//	Authorization: Bearer <v1 token of the Azure Multi-Factor Auth Client for MFAResource>
//	Content-Type: application/xml
//	<BeginTwoWayAuthenticationRequest>...<UserPrincipalName>...</UserPrincipalName>...
//	  <AuthenticationMethodId>PhoneAppNotification</AuthenticationMethodId>...
//	  <SyncCall>true</SyncCall>...</BeginTwoWayAuthenticationRequest>
//
// With SyncCall true the call answers when the simulated user has (see
// SetPushAnswer), or when the client goes away; the answer is 200 with
// a BeginTwoWayAuthenticationResponse whose Result/Value says what
// happened (Success, PhoneAppDenied, PhoneAppFraud, PhoneAppNoResponse,
// NoDefaultAuthenticationMethodIsConfigured, UserNotFound) and whose
// AuthenticationResult is true only for an approval. With SyncCall
// false it answers at once with Success and AuthenticationResult false.
// A missing or wrong token is 401, a body that is not such a request
// 400. The server's latency and injected faults apply as to Graph.

// PushAnswer is how the simulated user answers an MFA push.
type PushAnswer int

// The answers SetPushAnswer accepts.
const (
	// PushApprove approves the sign-in (the default): Value Success,
	// AuthenticationResult true.
	PushApprove PushAnswer = iota
	// PushDeny denies it: PhoneAppDenied.
	PushDeny
	// PushFraud denies it and reports fraud: PhoneAppFraud.
	PushFraud
	// PushNoAnswer ignores it until the push times out (SetPushTimeout):
	// PhoneAppNoResponse.
	PushNoAnswer
)

// Timing of simulated answers.
const (
	// pushAnswerDelay is how long the simulated user takes to answer.
	pushAnswerDelay = 20 * time.Millisecond
	// defaultPushTimeout is how long an unanswered push waits by
	// default; the real service waits about a minute.
	defaultPushTimeout = 200 * time.Millisecond
)

// pushState is a tenant's MFA push configuration and counters, keyed by
// lowercase user principal name.
type pushState struct {
	answers map[string]PushAnswer
	sent    map[string]int
	// timeout is how long an unanswered push waits; 0 means
	// defaultPushTimeout.
	timeout time.Duration
}

// SetPushAnswer sets how the user with user principal name upn in a
// tenant (id or domain) answers every later MFA push. It panics if the
// tenant does not exist.
func (s *Server) SetPushAnswer(tenantIDOrDomain, upn string, a PushAnswer) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tenant(tenantIDOrDomain)
	if t == nil {
		panic(fmt.Sprintf("fakegraph: SetPushAnswer: no tenant %q", tenantIDOrDomain))
	}
	if t.push.answers == nil {
		t.push.answers = map[string]PushAnswer{}
	}
	t.push.answers[strings.ToLower(upn)] = a
}

// SetPushTimeout sets how long an unanswered push (PushNoAnswer) waits
// before the service gives up with PhoneAppNoResponse, in every tenant
// the server holds now; 0 restores the default (200 ms).
func (s *Server) SetPushTimeout(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, t := range s.tenants {
		t.push.timeout = d
	}
}

// PushesSent returns how many MFA pushes were sent to the user with user
// principal name upn in a tenant (id or domain).
func (s *Server) PushesSent(tenantIDOrDomain, upn string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tenant(tenantIDOrDomain)
	if t == nil {
		return 0
	}
	return t.push.sent[strings.ToLower(upn)]
}

// isMFAConnectorPath reports whether segs address the legacy MFA
// notification service (/StrongAuthenticationService.svc/Connector/...).
func isMFAConnectorPath(segs []string) bool {
	return len(segs) > 0 && strings.EqualFold(segs[0], "StrongAuthenticationService.svc")
}

// twoWayRequest is the body of BeginTwoWayAuthentication.
type twoWayRequest struct {
	XMLName                xml.Name `xml:"BeginTwoWayAuthenticationRequest"`
	Version                string   `xml:"Version"`
	UserPrincipalName      string   `xml:"UserPrincipalName"`
	Lcid                   string   `xml:"Lcid"`
	AuthenticationMethodID string   `xml:"AuthenticationMethodId"`
	ContextID              string   `xml:"ContextId"`
	SyncCall               string   `xml:"SyncCall"`
	RequireUserMatch       string   `xml:"RequireUserMatch"`
	CallerName             string   `xml:"CallerName"`
	CallerIP               string   `xml:"CallerIP"`
}

// twoWayResult is the outcome of one push.
type twoWayResult struct {
	value  string
	ok     bool
	method string
}

// writeConnector writes a plain-text answer of the MFA service.
func (s *Server) writeConnector(w http.ResponseWriter, status int, header http.Header, text string) {
	for k, v := range header {
		w.Header()[k] = v
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Date", s.now().Format(http.TimeFormat))
	w.WriteHeader(status)
	_, _ = w.Write([]byte(text))
}

// serveMFAConnector answers the legacy MFA notification service.
func (s *Server) serveMFAConnector(w http.ResponseWriter, r *http.Request, segs []string, raw []byte, rec *Request) {
	rec.Body = raw
	s.mu.Lock()
	lat := s.latency
	s.mu.Unlock()
	if lat > 0 && !sleepCtx(r, lat) {
		s.writeConnector(w, 499, nil, "The client canceled the request.")
		return
	}
	if len(segs) != 3 || !strings.EqualFold(segs[1], "Connector") || !strings.EqualFold(segs[2], "BeginTwoWayAuthentication") {
		rec.Unhandled = true
		s.writeConnector(w, http.StatusNotFound, nil, "Endpoint not found.")
		return
	}
	if r.Method != http.MethodPost {
		rec.Unhandled = true
		s.writeConnector(w, http.StatusMethodNotAllowed, http.Header{"Allow": {"POST"}}, "Method not allowed.")
		return
	}
	s.mu.Lock()
	t, fail := s.mfaTenant(r.Header.Get("Authorization"))
	var f *Fault
	if fail == "" {
		f = s.matchFault(r.Method, r.URL.Path)
	}
	s.mu.Unlock()
	switch {
	case fail != "":
		s.writeConnector(w, http.StatusUnauthorized, http.Header{"WWW-Authenticate": {`Bearer error="invalid_token"`}}, fail)
		return
	case f != nil:
		h := http.Header{}
		if f.RetryAfter != "" {
			h.Set("Retry-After", f.RetryAfter)
		}
		s.writeConnector(w, f.Status, h, f.Message)
		return
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || (mt != "application/xml" && mt != "text/xml") {
		s.writeConnector(w, http.StatusUnsupportedMediaType, nil, "The request's Content-Type must be application/xml.")
		return
	}
	var req twoWayRequest
	if err := xml.Unmarshal(bytes.TrimSpace(raw), &req); err != nil {
		s.writeConnector(w, http.StatusBadRequest, nil, "The request body is not a valid BeginTwoWayAuthenticationRequest: "+err.Error())
		return
	}
	upn := strings.TrimSpace(req.UserPrincipalName)
	if upn == "" {
		s.writeConnector(w, http.StatusBadRequest, nil, "The request has no UserPrincipalName.")
		return
	}
	res, wait := s.sendPush(t, upn, req)
	if wait > 0 && strings.EqualFold(strings.TrimSpace(req.SyncCall), "true") {
		if !sleepCtx(r, wait) {
			s.writeConnector(w, 499, nil, "The client canceled the request.")
			return
		}
	} else if wait > 0 {
		res = twoWayResult{value: "Success", method: res.method}
	}
	s.writeTwoWay(w, upn, res)
}

// mfaTenant resolves a bearer token for the MFA service to its tenant,
// or says why it is refused; s.mu must be held.
func (s *Server) mfaTenant(header string) (*tenant, string) {
	scheme, tok, _ := strings.Cut(strings.TrimSpace(header), " ")
	g, ok := s.tokens[strings.TrimSpace(tok)]
	switch {
	case !strings.EqualFold(scheme, "Bearer") || !ok:
		return nil, "The access token is missing or invalid."
	case !s.now().Before(g.expires):
		return nil, "The access token has expired."
	case !strings.EqualFold(strings.TrimSuffix(g.scope, "/.default"), MFAResource):
		return nil, "The access token is not for the MFA notification service."
	case !strings.EqualFold(g.clientID, MFAAppID):
		return nil, "The access token was not issued to the Azure Multi-Factor Auth Client."
	}
	t := s.tenants[g.tenantID]
	if t == nil {
		return nil, "The access token's tenant does not exist."
	}
	return t, ""
}

// sendPush looks the user up and, when a push can be sent, counts it and
// returns the user's answer and how long it takes.
func (s *Server) sendPush(t *tenant, upn string, req twoWayRequest) (twoWayResult, time.Duration) {
	method := strings.TrimSpace(req.AuthenticationMethodID)
	if method == "" {
		method = "PhoneAppNotification"
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	u := t.findUser(upn, false)
	switch {
	case u == nil || !strings.EqualFold(u.UserPrincipalName, upn):
		return twoWayResult{value: "UserNotFound", method: method}, 0
	case !strings.EqualFold(method, "PhoneAppNotification"):
		return twoWayResult{value: "AuthenticationMethodNotSupported", method: method}, 0
	case !slices.ContainsFunc(u.AuthMethods, func(m AuthMethod) bool { return m.Type == AuthMethodAuthenticator }):
		return twoWayResult{value: "NoDefaultAuthenticationMethodIsConfigured", method: method}, 0
	}
	key := strings.ToLower(u.UserPrincipalName)
	if t.push.sent == nil {
		t.push.sent = map[string]int{}
	}
	t.push.sent[key]++
	switch t.push.answers[key] {
	case PushDeny:
		return twoWayResult{value: "PhoneAppDenied", method: method}, pushAnswerDelay
	case PushFraud:
		return twoWayResult{value: "PhoneAppFraud", method: method}, pushAnswerDelay
	case PushNoAnswer:
		d := t.push.timeout
		if d <= 0 {
			d = defaultPushTimeout
		}
		return twoWayResult{value: "PhoneAppNoResponse", method: method}, d
	}
	return twoWayResult{value: "Success", ok: true, method: method}, pushAnswerDelay
}

// sleepCtx waits for d or until the client goes away, reporting whether
// the wait completed.
func sleepCtx(r *http.Request, d time.Duration) bool {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return true
	case <-r.Context().Done():
		return false
	}
}

// xmlText escapes s for XML character data.
func xmlText(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}

// writeTwoWay writes a BeginTwoWayAuthenticationResponse.
func (s *Server) writeTwoWay(w http.ResponseWriter, upn string, res twoWayResult) {
	body := `<BeginTwoWayAuthenticationResponse xmlns:i="http://www.w3.org/2001/XMLSchema-instance">` +
		`<Result><Value>` + xmlText(res.value) + `</Value><Message i:nil="true"/><Retry>false</Retry><Exception i:nil="true"/></Result>` +
		`<SessionId>` + newGUID() + `</SessionId>` +
		`<UserPrincipalName>` + xmlText(upn) + `</UserPrincipalName>` +
		fmt.Sprintf(`<AuthenticationResult>%t</AuthenticationResult>`, res.ok) +
		`<AuthenticationMethodId>` + xmlText(res.method) + `</AuthenticationMethodId>` +
		`</BeginTwoWayAuthenticationResponse>`
	w.Header().Set("Content-Type", "application/xml; charset=utf-8")
	w.Header().Set("Date", s.now().Format(http.TimeFormat))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write([]byte(body))
}
