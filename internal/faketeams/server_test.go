package faketeams

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

func postForm(t *testing.T, c *http.Client, u string, f url.Values) (int, map[string]any) {
	t.Helper()
	resp, err := c.PostForm(u, f)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

func goodForm(s *Server) url.Values {
	return url.Values{"grant_type": {"client_credentials"}, "client_id": {s.AppID}, "client_secret": {s.AppPassword}, "scope": {Scope}}
}

func TestToken(t *testing.T) {
	s := NewTest(t)
	defer s.Close()
	tests := []struct {
		name   string
		url    string
		mod    func(url.Values)
		status int
		want   string
	}{
		{"OK", s.TokenURL(), nil, 200, ""},
		{"MultiTenantAuthority", s.URL() + "/botframework.com/oauth2/v2.0/token", nil, 400, "AADSTS700016"},
		{"WrongSecret", s.TokenURL(), func(f url.Values) { f.Set("client_secret", "nope") }, 401, "AADSTS7000215"},
		{"WrongClient", s.TokenURL(), func(f url.Values) { f.Set("client_id", "other") }, 400, "AADSTS700016"},
		{"OtherResource", s.TokenURL(), func(f url.Values) { f.Set("scope", "https://graph.microsoft.com/.default") }, 400, "AADSTS500011"},
		{"NotDefaultScope", s.TokenURL(), func(f url.Values) { f.Set("scope", "https://api.botframework.com/Chat.Send") }, 400, "AADSTS1002012"},
		{"NoScope", s.TokenURL(), func(f url.Values) { f.Del("scope") }, 400, "AADSTS90014"},
		{"NoSecret", s.TokenURL(), func(f url.Values) { f.Del("client_secret") }, 401, "AADSTS7000218"},
		{"UnknownTenant", s.URL() + "/0000aaaa-0000-0000-0000-000000000000/oauth2/v2.0/token", nil, 400, "AADSTS90002"},
		{"WrongGrant", s.TokenURL(), func(f url.Values) { f.Set("grant_type", "password") }, 400, "AADSTS70003"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := goodForm(s)
			if tt.mod != nil {
				tt.mod(f)
			}
			status, out := postForm(t, s.Client(), tt.url, f)
			if status != tt.status {
				t.Fatalf("status %d (%v), want %d", status, out, tt.status)
			}
			if desc, _ := out["error_description"].(string); !strings.Contains(desc, tt.want) {
				t.Errorf("error_description %q, want %q", desc, tt.want)
			}
			if tt.status == 200 && out["access_token"] == "" {
				t.Error("no access token")
			}
		})
	}
}

func TestToken_needsTLS(t *testing.T) {
	s := NewTest(t)
	defer s.Close()
	plain := strings.Replace(s.TokenURL(), "https://", "http://", 1)
	resp, err := http.PostForm(plain, goodForm(s))
	if err == nil {
		defer resp.Body.Close()
		if resp.StatusCode == 200 {
			t.Fatal("token issued over plain HTTP")
		}
	}
}

func connectorCall(t *testing.T, s *Server, method, path, token, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, s.ServiceURL()+"v3/conversations"+path, strings.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := s.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestConnector(t *testing.T) {
	s := NewTest(t)
	defer s.Close()
	_, out := postForm(t, s.Client(), s.TokenURL(), goodForm(s))
	tok := out["access_token"].(string)
	s.AddUser(User{MRI: "29:a", AAD: "a", Name: "A"}, true)
	s.AddUser(User{MRI: "29:b", AAD: "b", Name: "B"}, false)
	s.AddChannel("19:c@thread.tacv2", "29:a", "29:b")
	card := `{"type":"message","attachments":[{"contentType":"application/vnd.microsoft.card.adaptive","content":{"type":"AdaptiveCard","version":"%s","body":[],"actions":[{"type":"Action.Execute","verb":"x"}]}}]}`
	conv := "/" + url.PathEscape("19:c@thread.tacv2") + "/activities"
	dm := func(user string) string {
		return `{"isGroup":false,"bot":{"id":"28:` + s.AppID + `"},"members":[{"id":"` + user + `"}],"tenantId":"` + s.TenantID + `"}`
	}
	tests := []struct {
		name, method, path, token, body string
		status                          int
	}{
		{"NoToken", "POST", conv, "", strings.Replace(card, "%s", "1.5", 1), 401},
		{"ForeignToken", "POST", conv, "eyJ.forged", strings.Replace(card, "%s", "1.5", 1), 401},
		{"Post", "POST", conv, tok, strings.Replace(card, "%s", "1.5", 1), 201},
		{"ExecuteOnOldCard", "POST", conv, tok, strings.Replace(card, "%s", "1.2", 1), 400},
		{"UnknownConversation", "POST", "/19:nope/activities", tok, `{"type":"message","text":"hi"}`, 404},
		{"UpdateMissing", "PUT", conv + "/999", tok, `{"type":"message","text":"hi"}`, 404},
		{"CreateChat", "POST", "", tok, dm("29:a"), 201},
		{"CreateChatNotInstalled", "POST", "", tok, dm("29:b"), 403},
		{"CreateChatWrongBot", "POST", "", tok, strings.Replace(dm("29:a"), "28:", "28:x", 1), 400},
		{"Member", "GET", "/" + url.PathEscape("19:c@thread.tacv2") + "/members/29:a", tok, "", 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := connectorCall(t, s, tt.method, tt.path, tt.token, tt.body)
			if status != tt.status {
				t.Errorf("status %d (%s), want %d", status, body, tt.status)
			}
		})
	}
	s.Throttle(1)
	if status, _ := connectorCall(t, s, "POST", conv, tok, `{"type":"message","text":"hi"}`); status != 429 {
		t.Errorf("throttled call answered %d", status)
	}
	// Text and a card together are split: no ID comes back.
	both := `{"type":"message","text":"hi","attachments":[{"contentType":"application/vnd.microsoft.card.adaptive","content":{"type":"AdaptiveCard","version":"1.5","body":[]}}]}`
	if _, body := connectorCall(t, s, "POST", conv, tok, both); strings.Contains(body, `"id"`) {
		t.Errorf("text+card answered %s, want no id", body)
	}
}

func TestToken_clientAssertion(t *testing.T) {
	s := NewTest(t)
	defer s.Close()
	cert, key, _ := NewCertificate()
	s.RegisterCertificate(cert)
	sum := sha1.Sum(cert.Raw)
	x5t := base64.RawURLEncoding.EncodeToString(sum[:])
	assertion := func(set map[string]any, alg jwt.SigningMethod, signer any) string {
		c := jwt.MapClaims{"aud": s.TokenURL(), "iss": s.AppID, "sub": s.AppID, "jti": "j1",
			"nbf": time.Now().Unix(), "exp": time.Now().Add(10 * time.Minute).Unix()}
		for k, v := range set {
			c[k] = v
		}
		tok := jwt.NewWithClaims(alg, c)
		tok.Header["x5t"] = x5t
		out, err := tok.SignedString(signer)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	other, _ := rsa.GenerateKey(rand.Reader, 2048)
	tests := []struct {
		name      string
		assertion string
		status    int
	}{
		{"OK", assertion(nil, jwt.SigningMethodRS256, key), 200},
		{"Expired", assertion(map[string]any{"exp": time.Now().Add(-time.Hour).Unix()}, jwt.SigningMethodRS256, key), 401},
		{"WrongAudience", assertion(map[string]any{"aud": "https://login.microsoftonline.com/x/oauth2/v2.0/token"}, jwt.SigningMethodRS256, key), 401},
		{"WrongIssuer", assertion(map[string]any{"iss": "other-app"}, jwt.SigningMethodRS256, key), 401},
		{"OtherKey", assertion(nil, jwt.SigningMethodRS256, other), 401},
		{"NoJTI", assertion(map[string]any{"jti": nil}, jwt.SigningMethodRS256, key), 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := url.Values{"grant_type": {"client_credentials"}, "client_id": {s.AppID}, "scope": {Scope},
				"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"}, "client_assertion": {tt.assertion}}
			status, out := postForm(t, s.Client(), s.TokenURL(), f)
			if status != tt.status {
				t.Errorf("status %d (%v), want %d", status, out, tt.status)
			}
		})
	}
}

// TestNewKey_distinct shows that the keys one Server makes are different
// RSA keys under different IDs, though Servers share the process's keys.
func TestNewKey_distinct(t *testing.T) {
	s := NewTest(t)
	defer s.Close()
	a, b := s.MainKey(), s.NewKey("msteams")
	if a.ID == b.ID || a.Private.Equal(b.Private) {
		t.Fatalf("two keys of one server: IDs %s and %s, same key %v", a.ID, b.ID, a.Private.Equal(b.Private))
	}
	other := NewTest(t)
	defer other.Close()
	if other.MainKey().ID == a.ID {
		t.Fatal("two servers published the same key ID")
	}
}
