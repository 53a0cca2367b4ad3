package fakegraph_test

import (
	"context"
	"encoding/xml"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/cippbot/cippbot/internal/fakegraph"
)

// connectorPath is the path the reference posts to, double slash
// included.
const connectorPath = "/StrongAuthenticationService.svc/Connector//BeginTwoWayAuthentication"

// pushBody is a BeginTwoWayAuthentication request for upn.
func pushBody(upn string) string {
	return `<BeginTwoWayAuthenticationRequest><Version>1.0</Version><UserPrincipalName>` + upn + `</UserPrincipalName>` +
		`<Lcid>en-us</Lcid><AuthenticationMethodId>PhoneAppNotification</AuthenticationMethodId>` +
		`<AuthenticationMethodProperties xmlns:a="http://schemas.microsoft.com/2003/10/Serialization/Arrays">` +
		`<a:KeyValueOfstringstring><a:Key>OverrideVoiceOtp</a:Key><a:Value>false</a:Value></a:KeyValueOfstringstring>` +
		`</AuthenticationMethodProperties><ContextId>6f0a6fd1-3bb5-4d53-9b5c-0c9a3b1f6c11</ContextId><SyncCall>true</SyncCall>` +
		`<RequireUserMatch>true</RequireUserMatch><CallerName>radius</CallerName><CallerIP>UNKNOWN:</CallerIP>` +
		`</BeginTwoWayAuthenticationRequest>`
}

// pushReply is the decoded answer of the MFA service.
type pushReply struct {
	status int
	raw    string
	Result struct {
		Value string `xml:"Value"`
		Retry string `xml:"Retry"`
	} `xml:"Result"`
	SessionID            string `xml:"SessionId"`
	UserPrincipalName    string `xml:"UserPrincipalName"`
	AuthenticationResult string `xml:"AuthenticationResult"`
	Method               string `xml:"AuthenticationMethodId"`
}

// mfaClient holds a token for the MFA service of contoso.
type mfaClient struct {
	t   *testing.T
	s   *fakegraph.Server
	tok string
}

// newMFAClient starts a server and gets an MFA service token the way
// the reference does: a secret on the MFA app, then a v1 token.
func newMFAClient(t *testing.T) *mfaClient {
	t.Helper()
	g := newGraph(t, fakegraph.Options{})
	secret, _ := g.addMFASecret(time.Now().Add(-5*time.Minute), time.Now().Add(10*time.Minute))
	res := v1Token(t, g.s, mfaForm(secret))
	if res.status != http.StatusOK {
		t.Fatalf("MFA token: %d %s", res.status, res.raw)
	}
	return &mfaClient{t: t, s: g.s, tok: res.json["access_token"].(string)}
}

// post sends body to the connector with the client's token.
func (m *mfaClient) post(ctx context.Context, tok, contentType, body string) (pushReply, error) {
	m.t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, m.s.URL()+connectorPath, strings.NewReader(body))
	if err != nil {
		m.t.Fatal(err)
	}
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	req.Header.Set("Content-Type", contentType)
	res, err := m.s.Client().Do(req)
	if err != nil {
		return pushReply{}, err
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	out := pushReply{status: res.StatusCode, raw: string(raw)}
	if res.StatusCode == http.StatusOK {
		if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/xml") {
			m.t.Errorf("Content-Type = %q", ct)
		}
		if err := xml.Unmarshal(raw, &out); err != nil {
			m.t.Fatalf("answer is not XML: %v\n%s", err, raw)
		}
	}
	return out, nil
}

// push sends a push to upn and returns the answer.
func (m *mfaClient) push(upn string) pushReply {
	m.t.Helper()
	r, err := m.post(context.Background(), m.tok, "application/xml", pushBody(upn))
	if err != nil {
		m.t.Fatal(err)
	}
	return r
}

func TestMFAPush(t *testing.T) {
	t.Parallel()
	m := newMFAClient(t)
	const megan = "MeganB@contoso.com"
	begin := time.Now()
	r := m.push(megan)
	if r.status != http.StatusOK || r.Result.Value != "Success" || r.AuthenticationResult != "true" || r.UserPrincipalName != megan ||
		r.Method != "PhoneAppNotification" || r.SessionID == "" || r.Result.Retry != "false" {
		t.Fatalf("approve: %d %s", r.status, r.raw)
	}
	if time.Since(begin) < 15*time.Millisecond {
		t.Errorf("answered in %v, before the user could", time.Since(begin))
	}
	if !strings.HasPrefix(r.raw, `<BeginTwoWayAuthenticationResponse xmlns:i="http://www.w3.org/2001/XMLSchema-instance"><Result><Value>Success</Value><Message i:nil="true"/>`) {
		t.Errorf("raw = %s", r.raw)
	}
	for _, tc := range []struct {
		answer fakegraph.PushAnswer
		value  string
	}{{fakegraph.PushDeny, "PhoneAppDenied"}, {fakegraph.PushFraud, "PhoneAppFraud"}, {fakegraph.PushNoAnswer, "PhoneAppNoResponse"}} {
		m.s.SetPushAnswer(fakegraph.ContosoDomain, "meganb@contoso.com", tc.answer)
		if r := m.push(megan); r.Result.Value != tc.value || r.AuthenticationResult != "false" {
			t.Errorf("%s: %s", tc.value, r.raw)
		}
	}
	m.s.SetPushTimeout(80 * time.Millisecond)
	begin = time.Now()
	m.push(megan)
	if d := time.Since(begin); d < 80*time.Millisecond {
		t.Errorf("no answer came after %v", d)
	}
	if n := m.s.PushesSent(fakegraph.ContosoTenantID, megan); n != 5 {
		t.Errorf("PushesSent = %d", n)
	}

	// No Authenticator (Adele has a phone only, Joni nothing), no user.
	for upn, want := range map[string]string{"AdeleV@contoso.com": "NoDefaultAuthenticationMethodIsConfigured",
		"JoniS@contoso.com": "NoDefaultAuthenticationMethodIsConfigured", "nobody@contoso.com": "UserNotFound"} {
		if r := m.push(upn); r.status != http.StatusOK || r.Result.Value != want || r.AuthenticationResult != "false" {
			t.Errorf("%s: %d %s", upn, r.status, r.raw)
		}
		if n := m.s.PushesSent(fakegraph.ContosoTenantID, upn); n != 0 {
			t.Errorf("%s: %d pushes sent", upn, n)
		}
	}
	logged := 0
	for _, r := range m.s.Requests() {
		if r.Method == http.MethodPost && r.Path == connectorPath && r.Status == http.StatusOK && strings.Contains(string(r.Body), "<UserPrincipalName>") {
			logged++
		}
	}
	if logged != 8 {
		t.Errorf("%d pushes in the request log, want 8", logged)
	}
}

func TestMFAPushRejects(t *testing.T) {
	t.Parallel()
	m := newMFAClient(t)
	ctx := context.Background()
	graphTok := token(t, m.s)
	for name, tc := range map[string]struct {
		tok, ct, body string
		status        int
	}{
		"no token":          {"", "application/xml", pushBody("MeganB@contoso.com"), http.StatusUnauthorized},
		"graph token":       {graphTok, "application/xml", pushBody("MeganB@contoso.com"), http.StatusUnauthorized},
		"not XML":           {m.tok, "application/xml", "{}", http.StatusBadRequest},
		"other root":        {m.tok, "application/xml", "<Hello><UserPrincipalName>MeganB@contoso.com</UserPrincipalName></Hello>", http.StatusBadRequest},
		"no UPN":            {m.tok, "text/xml; charset=utf-8", strings.Replace(pushBody(""), "<UserPrincipalName></UserPrincipalName>", "", 1), http.StatusBadRequest},
		"json content type": {m.tok, "application/json", pushBody("MeganB@contoso.com"), http.StatusUnsupportedMediaType},
	} {
		r, err := m.post(ctx, tc.tok, tc.ct, tc.body)
		if err != nil || r.status != tc.status {
			t.Errorf("%s: %d %v %s", name, r.status, err, r.raw)
		}
	}
	// The v1 token of the app the server plays is not the MFA client's.
	app := v1Token(t, m.s, map[string][]string{"grant_type": {"client_credentials"}, "client_id": {fakegraph.DefaultClientID},
		"client_secret": {fakegraph.DefaultClientSecret}, "resource": {"https://graph.microsoft.com"}})
	if r, _ := m.post(ctx, app.json["access_token"].(string), "application/xml", pushBody("MeganB@contoso.com")); r.status != http.StatusUnauthorized {
		t.Errorf("app token: %d", r.status)
	}
	if n := m.s.PushesSent(fakegraph.ContosoTenantID, "MeganB@contoso.com"); n != 0 {
		t.Errorf("%d pushes sent by rejected requests", n)
	}
	m.s.ExpectUnhandled(http.MethodGet, connectorPath)
	req, _ := http.NewRequest(http.MethodGet, m.s.URL()+connectorPath, nil)
	req.Header.Set("Authorization", "Bearer "+m.tok)
	if res, err := m.s.Client().Do(req); err != nil || res.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET: %v %v", res, err)
	} else {
		res.Body.Close()
	}

	// Faults and latency apply as to Graph.
	m.s.Inject(fakegraph.Fault{PathContains: "BeginTwoWayAuthentication", Status: http.StatusServiceUnavailable, RetryAfter: "1"})
	if r, _ := m.post(ctx, m.tok, "application/xml", pushBody("MeganB@contoso.com")); r.status != http.StatusServiceUnavailable {
		t.Errorf("fault: %d", r.status)
	}
	m.s.SetLatency(60 * time.Millisecond)
	begin := time.Now()
	if r := m.push("MeganB@contoso.com"); r.Result.Value != "Success" || time.Since(begin) < 80*time.Millisecond {
		t.Errorf("latency: %v %s", time.Since(begin), r.raw)
	}
}

func TestMFAPushCancel(t *testing.T) {
	t.Parallel()
	m := newMFAClient(t)
	m.s.SetPushAnswer(fakegraph.ContosoTenantID, "MeganB@contoso.com", fakegraph.PushNoAnswer)
	m.s.SetPushTimeout(10 * time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	begin := time.Now()
	_, err := m.post(ctx, m.tok, "application/xml", pushBody("MeganB@contoso.com"))
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v", err)
	}
	// The handler returns when the client goes away and is logged.
	deadline := time.Now().Add(2 * time.Second)
	for {
		rs := m.s.Requests()
		if last := rs[len(rs)-1]; last.Path == connectorPath {
			if last.Status != 499 {
				t.Errorf("status logged = %d", last.Status)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("push still running %v after the client left", time.Since(begin))
		}
		time.Sleep(10 * time.Millisecond)
	}
	if m.s.PushesSent(fakegraph.ContosoTenantID, "MeganB@contoso.com") != 1 {
		t.Error("push not counted")
	}
}
