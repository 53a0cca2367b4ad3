package teams

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Scope is what the bot's tokens for the Bot Connector are asked for
// (bot-docs …-connector-authentication.md, "Bot to connector").
const Scope = "https://api.botframework.com/.default"

// DefaultServiceHosts are the Connector hosts Teams sends in serviceUrl
// (commercial and GCC, msteams-docs send-proactive-messages.md). The
// bot's token goes to no other host.
var DefaultServiceHosts = []string{"smba.trafficmanager.net", "smba.infra.gcc.teams.microsoft.com"}

// Credential gets the bot's access tokens. It is the bot's single-tenant
// app signing in to its own tenant with the client-credentials grant
// (since 31 July 2025 new Azure Bots are single-tenant; TEAMS.md A0); cmd
// builds it with azidentity, which caches and refreshes the token.
type Credential interface {
	// Token returns a bearer token for scope. Its error names no secret.
	Token(ctx context.Context, scope string) (string, error)
}

// connector calls the Bot Connector REST API.
type connector struct {
	cred   Credential
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
		tok, err := c.cred.Token(ctx, Scope)
		if err != nil {
			return fmt.Errorf("bot token: %w", err)
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

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}
