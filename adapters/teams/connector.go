package teams

import (
	"bytes"
	"context"
	"crypto"
	"crypto/sha1"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// connectorScope is the scope of tokens for the Bot Connector (bot-docs
// …-connector-authentication.md, "Bot to connector").
const connectorScope = "https://api.botframework.com/.default"

// DefaultServiceHosts are the Connector hosts Teams sends in serviceUrl
// (commercial and GCC, msteams-docs send-proactive-messages.md). The
// bot's token goes to no other host.
var DefaultServiceHosts = []string{"smba.trafficmanager.net", "smba.infra.gcc.teams.microsoft.com"}

// tokenSource gets and caches the bot's Connector token with the
// client-credentials grant from its own tenant (single-tenant bots),
// proving the app with its password or, if cert is set, a client
// assertion signed with its certificate's key.
type tokenSource struct {
	url, appID, password string
	cert                 *x509.Certificate
	key                  crypto.Signer
	client               *http.Client
	now                  func() time.Time

	mu  sync.Mutex
	tok string
	exp time.Time
}

func (ts *tokenSource) token(ctx context.Context) (string, error) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if ts.tok != "" && ts.now().Before(ts.exp) {
		return ts.tok, nil
	}
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {ts.appID}, "scope": {connectorScope}}
	if ts.cert != nil {
		assertion, err := ts.assertion()
		if err != nil {
			return "", fmt.Errorf("bot token: client assertion: %w", err)
		}
		form.Set("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
		form.Set("client_assertion", assertion)
	} else {
		form.Set("client_secret", ts.password)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, ts.url, strings.NewReader(form.Encode()))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := ts.client.Do(req)
	if err != nil {
		return "", fmt.Errorf("bot token: %w", err)
	}
	defer resp.Body.Close()
	var out struct {
		AccessToken string `json:"access_token"`
		ExpiresIn   int    `json:"expires_in"`
		Error       string `json:"error"`
		Desc        string `json:"error_description"`
	}
	json.NewDecoder(io.LimitReader(resp.Body, 1<<16)).Decode(&out)
	if resp.StatusCode != http.StatusOK || out.AccessToken == "" {
		// The description names the AADSTS code, never the secret.
		return "", fmt.Errorf("bot token: %s: %s %s", resp.Status, out.Error, firstLine(out.Desc))
	}
	ts.tok = out.AccessToken
	ts.exp = ts.now().Add(time.Duration(max(out.ExpiresIn-300, 60)) * time.Second)
	return ts.tok, nil
}

// assertion is a client assertion for the token endpoint: a JWT from the
// app to the endpoint, naming the certificate by its SHA-1 thumbprint
// (learn.microsoft.com/entra/identity-platform/certificate-credentials).
func (ts *tokenSource) assertion() (string, error) {
	now := ts.now()
	t := jwt.NewWithClaims(jwt.SigningMethodRS256, jwt.MapClaims{"aud": ts.url, "iss": ts.appID, "sub": ts.appID,
		"jti": newNonce(), "nbf": now.Unix(), "iat": now.Unix(), "exp": now.Add(10 * time.Minute).Unix()})
	sum := sha1.Sum(ts.cert.Raw)
	t.Header["x5t"] = base64.RawURLEncoding.EncodeToString(sum[:])
	return t.SignedString(ts.key)
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}

// connector calls the Bot Connector REST API.
type connector struct {
	tokens *tokenSource
	client *http.Client
	hosts  []string
}

// apiError is an error answer of the Connector.
type apiError struct {
	Status int
	Code   string
	Msg    string
}

func (e *apiError) Error() string {
	return fmt.Sprintf("teams connector: %d %s: %s", e.Status, e.Code, e.Msg)
}

func statusOf(err error) int {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae.Status
	}
	return 0
}

// trusted reports whether serviceURL is an https URL on an allowed host.
func (c *connector) trusted(serviceURL string) bool {
	u, err := url.Parse(serviceURL)
	if err != nil || u.Scheme != "https" {
		return false
	}
	return slices.Contains(c.hosts, strings.ToLower(u.Host)) || slices.Contains(c.hosts, strings.ToLower(u.Hostname()))
}

// do sends one call, retrying a 429 after its Retry-After (up to three
// times). out, if non-nil, receives the JSON answer.
func (c *connector) do(ctx context.Context, method, serviceURL, path string, in, out any) error {
	if !c.trusted(serviceURL) {
		return fmt.Errorf("teams: service URL host not allowed: %s", serviceURL)
	}
	body, err := json.Marshal(in)
	if err != nil {
		return err
	}
	u := strings.TrimRight(serviceURL, "/") + path
	for attempt := 0; ; attempt++ {
		tok, err := c.tokens.token(ctx)
		if err != nil {
			return err
		}
		var rd io.Reader
		if in != nil {
			rd = bytes.NewReader(body)
		}
		req, err := http.NewRequestWithContext(ctx, method, u, rd)
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", "Bearer "+tok)
		if in != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := c.client.Do(req)
		if err != nil {
			return fmt.Errorf("teams connector: %w", err)
		}
		data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
		if resp.StatusCode == http.StatusTooManyRequests && attempt < 3 {
			wait := time.Second << attempt
			if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s >= 0 && s <= 60 {
				wait = time.Duration(s) * time.Second
			}
			select {
			case <-time.After(wait):
				continue
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		if resp.StatusCode/100 != 2 {
			var e struct {
				Error struct{ Code, Message string } `json:"error"`
			}
			json.Unmarshal(data, &e)
			return &apiError{Status: resp.StatusCode, Code: e.Error.Code, Msg: firstLine(e.Error.Message)}
		}
		if out != nil && len(data) > 0 {
			return json.Unmarshal(data, out)
		}
		return nil
	}
}

// post sends an activity to a conversation and returns its ID.
func (c *connector) post(ctx context.Context, serviceURL, conv string, act activity) (string, error) {
	var out struct {
		ID string `json:"id"`
	}
	if err := c.do(ctx, http.MethodPost, serviceURL, "/v3/conversations/"+url.PathEscape(conv)+"/activities", act, &out); err != nil {
		return "", err
	}
	if out.ID == "" {
		return "", errors.New("teams connector: no activity id came back")
	}
	return out.ID, nil
}

// update replaces an activity (PUT).
func (c *connector) update(ctx context.Context, serviceURL, conv, id string, act activity) error {
	act.ID = id
	return c.do(ctx, http.MethodPut, serviceURL, "/v3/conversations/"+url.PathEscape(conv)+"/activities/"+url.PathEscape(id), act, nil)
}

// createPersonal opens (or finds) the one-to-one chat with user.
func (c *connector) createPersonal(ctx context.Context, serviceURL, botID, userMRI, tenant string) (string, error) {
	in := map[string]any{"isGroup": false, "bot": map[string]string{"id": botID},
		"members": []map[string]string{{"id": userMRI}}, "tenantId": tenant,
		"channelData": map[string]any{"tenant": map[string]string{"id": tenant}}}
	var out struct {
		ID string `json:"id"`
	}
	if err := c.do(ctx, http.MethodPost, serviceURL, "/v3/conversations", in, &out); err != nil {
		return "", err
	}
	if out.ID == "" {
		return "", errors.New("teams connector: no conversation id came back")
	}
	return out.ID, nil
}
