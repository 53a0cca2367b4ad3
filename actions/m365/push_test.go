package m365_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cippbot/cippbot/actions"
	"github.com/cippbot/cippbot/actions/m365"
	"github.com/cippbot/cippbot/internal/fakegraph"
)

// secretSpy is a transport that notes every secretText Graph hands out
// and can refuse the first token requests of the MFA app as Entra does
// while a new secret propagates.
type secretSpy struct {
	base http.RoundTripper

	mu        sync.Mutex
	secrets   []string
	refuse    int // token requests still to refuse with AADSTS7000215
	tokenReqs int
}

func (s *secretSpy) RoundTrip(r *http.Request) (*http.Response, error) {
	if strings.HasSuffix(r.URL.Path, "/oauth2/token") {
		s.mu.Lock()
		s.tokenReqs++
		refuse := s.refuse > 0
		if refuse {
			s.refuse--
		}
		s.mu.Unlock()
		if refuse {
			body := `{"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID.\r\nTrace ID: 1","error_codes":[7000215]}`
			return &http.Response{StatusCode: 401, Header: http.Header{"Content-Type": {"application/json"}},
				Body: io.NopCloser(strings.NewReader(body)), Request: r}, nil
		}
	}
	resp, err := s.base.RoundTrip(r)
	if err != nil || !strings.HasSuffix(r.URL.Path, "/addPassword") {
		return resp, err
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body = io.NopCloser(bytes.NewReader(b))
	var cred struct {
		SecretText string `json:"secretText"`
	}
	if json.Unmarshal(b, &cred) == nil && cred.SecretText != "" {
		s.mu.Lock()
		s.secrets = append(s.secrets, cred.SecretText)
		s.mu.Unlock()
	}
	return resp, nil
}

func (s *secretSpy) seen() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.secrets...)
}

// connectPush connects to contoso through a secretSpy.
func connectPush(t *testing.T, sim *fakegraph.Server) (actions.MFAPush, *secretSpy, *logBuffer) {
	t.Helper()
	spy := &secretSpy{base: sim.Client().Transport}
	logs := &logBuffer{}
	c, err := m365.New(m365.Config{
		GraphURL: sim.URL(), AuthorityHost: sim.URL() + "/",
		ClientID: fakegraph.DefaultClientID, ClientSecret: fakegraph.DefaultClientSecret, HTTPClient: &http.Client{Transport: spy},
		MFAConnectorURL: sim.URL(), MFASecretRetry: 5 * time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	if err != nil {
		t.Fatal(err)
	}
	d, err := c.Directory(ctx(), tenant)
	if err != nil {
		t.Fatal(err)
	}
	return d, spy, logs
}

// checkNoLeak fails the test if a secret the spy saw is in the logs or in
// err, and if the MFA app still holds a live secret.
func checkNoLeak(t *testing.T, sim *fakegraph.Server, spy *secretSpy, logs *logBuffer, err error) {
	t.Helper()
	if n := sim.ServicePrincipalSecrets(tenant, fakegraph.MFAAppID); n != 0 {
		t.Errorf("the MFA app still holds %d secrets", n)
	}
	secrets := spy.seen()
	if len(secrets) == 0 {
		t.Fatal("no secret was added")
	}
	for _, s := range secrets {
		if strings.Contains(logs.String(), s) {
			t.Errorf("the secret is in the logs:\n%s", logs)
		}
		if err != nil && strings.Contains(err.Error(), s) {
			t.Errorf("the secret is in the error: %v", err)
		}
	}
}

func TestMFAPush_Answers(t *testing.T) {
	t.Parallel()
	const upn = "IsaiahL@contoso.com"
	tests := []struct {
		name   string
		answer fakegraph.PushAnswer
		want   actions.PushResult
	}{
		{"Approve", fakegraph.PushApprove, actions.PushApproved},
		{"Deny", fakegraph.PushDeny, actions.PushDenied},
		{"Fraud", fakegraph.PushFraud, actions.PushFraud},
		{"NoAnswer", fakegraph.PushNoAnswer, actions.PushTimeout},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sim := newSim(t)
			sim.SetPushAnswer(tenant, upn, tt.answer)
			sim.SetPushTimeout(50 * time.Millisecond)
			d, spy, logs := connectPush(t, sim)
			got, err := d.SendMFAPush(ctx(), upn)
			if err != nil || got != tt.want {
				t.Errorf("SendMFAPush = %q, %v; want %q", got, err, tt.want)
			}
			if n := sim.PushesSent(tenant, upn); n != 1 {
				t.Errorf("%d pushes sent", n)
			}
			checkNoLeak(t, sim, spy, logs, err)
			r := requestsTo(sim, "POST", "/StrongAuthenticationService.svc/Connector//BeginTwoWayAuthentication")
			if len(r) != 1 || r[0].Header.Get("Content-Type") != "application/xml" ||
				!strings.Contains(string(r[0].Body), "<UserPrincipalName>"+upn+"</UserPrincipalName>") {
				t.Errorf("push requests: %+v", r)
			}
		})
	}
}

func TestMFAPush_NoAuthenticator(t *testing.T) {
	t.Parallel()
	sim := newSim(t)
	d, spy, logs := connectPush(t, sim)
	_, err := d.SendMFAPush(ctx(), "AdeleV@contoso.com")
	if actions.ErrorCode(err) != actions.EINVALID || !strings.Contains(actions.ErrorMessage(err), "Microsoft Authenticator") ||
		!strings.Contains(actions.ErrorMessage(err), "NoDefaultAuthenticationMethodIsConfigured") {
		t.Errorf("err = %v, want invalid asking about the authenticator", err)
	}
	checkNoLeak(t, sim, spy, logs, err)
}

// TestMFAPush_SecretPropagation: Entra refuses a brand-new secret for a
// moment; the token request is tried again.
func TestMFAPush_SecretPropagation(t *testing.T) {
	t.Parallel()
	sim := newSim(t)
	d, spy, logs := connectPush(t, sim)
	spy.refuse = 2
	got, err := d.SendMFAPush(ctx(), "IsaiahL@contoso.com")
	if err != nil || got != actions.PushApproved || spy.tokenReqs < 3 {
		t.Errorf("SendMFAPush = %q, %v after %d token requests", got, err, spy.tokenReqs)
	}
	checkNoLeak(t, sim, spy, logs, err)

	spy.refuse = 100
	_, err = d.SendMFAPush(ctx(), "IsaiahL@contoso.com")
	if actions.ErrorCode(err) != actions.EFORBIDDEN || !strings.Contains(actions.ErrorMessage(err), "AADSTS7000215") {
		t.Errorf("err = %v, want forbidden naming AADSTS7000215", err)
	}
	checkNoLeak(t, sim, spy, logs, err)
}

// TestMFAPush_RemovedWhenCancelled: the secret goes even when the
// caller gives up while the push waits.
func TestMFAPush_RemovedWhenCancelled(t *testing.T) {
	t.Parallel()
	sim := newSim(t)
	sim.SetPushAnswer(tenant, "IsaiahL@contoso.com", fakegraph.PushNoAnswer)
	sim.SetPushTimeout(5 * time.Second)
	d, spy, logs := connectPush(t, sim)
	// The caller gives up once the secret is added (a fixed deadline
	// could end before that on a slow machine), while the push waits.
	c, cancel := context.WithCancel(ctx())
	defer cancel()
	go func() {
		for c.Err() == nil {
			for _, r := range sim.Requests() {
				if strings.HasSuffix(r.Path, "/addPassword") && r.Status == http.StatusOK {
					time.Sleep(100 * time.Millisecond)
					cancel()
				}
			}
			time.Sleep(10 * time.Millisecond)
		}
	}()
	_, err := d.SendMFAPush(c, "IsaiahL@contoso.com")
	if actions.ErrorCode(err) != actions.EUNAVAILABLE {
		t.Errorf("err = %v, want unavailable (cancelled)", err)
	}
	checkNoLeak(t, sim, spy, logs, err)
}

// TestMFAPush_RemovalFails: a secret that cannot be removed is logged as
// a warning, without the secret.
func TestMFAPush_RemovalFails(t *testing.T) {
	t.Parallel()
	sim := newSim(t)
	d, spy, logs := connectPush(t, sim)
	sim.Inject(fakegraph.Fault{Method: "POST", PathContains: "/removePassword", Status: 500})
	got, err := d.SendMFAPush(ctx(), "IsaiahL@contoso.com")
	if err != nil || got != actions.PushApproved {
		t.Fatalf("SendMFAPush = %q, %v", got, err)
	}
	if !strings.Contains(logs.String(), "level=WARN") || !strings.Contains(logs.String(), "not removed") {
		t.Errorf("no warning logged:\n%s", logs)
	}
	for _, s := range spy.seen() {
		if strings.Contains(logs.String(), s) {
			t.Errorf("the secret is in the logs:\n%s", logs)
		}
	}
	if n := sim.ServicePrincipalSecrets(tenant, fakegraph.MFAAppID); n != 1 {
		t.Errorf("%d live secrets, want the one that could not be removed", n)
	}
}

func TestMFAPush_Errors(t *testing.T) {
	t.Parallel()
	t.Run("ErrForbidden", func(t *testing.T) {
		sim := newSim(t)
		sim.SetPermissions(tenant, []string{"Application.Read.All"})
		d, _, _ := connectPush(t, sim)
		_, err := d.SendMFAPush(ctx(), "IsaiahL@contoso.com")
		if actions.ErrorCode(err) != actions.EFORBIDDEN {
			t.Errorf("err = %v, want forbidden", err)
		}
		if n := sim.ServicePrincipalSecrets(tenant, fakegraph.MFAAppID); n != 0 {
			t.Errorf("%d secrets", n)
		}
	})
	t.Run("ErrPolicyForbidsSecrets", func(t *testing.T) {
		sim := newSim(t)
		sim.SetPasswordAdditionRestricted(tenant, true, time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC))
		d, _, _ := connectPush(t, sim)
		_, err := d.SendMFAPush(ctx(), "IsaiahL@contoso.com")
		if actions.ErrorCode(err) != actions.ECONFLICT || !strings.Contains(actions.ErrorMessage(err), "app management policy forbids adding secrets") {
			t.Errorf("err = %v, want the app management policy explained", err)
		}
	})
	t.Run("ErrConnectorDisabled", func(t *testing.T) {
		sim := newSim(t)
		sim.SetMFAConnectorDisabled(tenant, true)
		d, spy, logs := connectPush(t, sim)
		_, err := d.SendMFAPush(ctx(), "IsaiahL@contoso.com")
		if !strings.Contains(actions.ErrorMessage(err), "MFA notification service is disabled in this tenant (AADSTS500014)") {
			t.Errorf("err = %v, want AADSTS500014 explained", err)
		}
		checkNoLeak(t, sim, spy, logs, err)
	})
}

// TestMFAPush_AddsMissingApp: a tenant without the MFA client's service
// principal gets one, as the reference does, and the push goes out.
func TestMFAPush_AddsMissingApp(t *testing.T) {
	t.Parallel()
	const upn = "IsaiahL@contoso.com"
	sim := newSim(t)
	sim.RemoveServicePrincipal(tenant, fakegraph.MFAAppID)
	sim.SetPushAnswer(tenant, upn, fakegraph.PushApprove)
	d, spy, logs := connectPush(t, sim)
	got, err := d.SendMFAPush(ctx(), upn)
	if err != nil || got != actions.PushApproved {
		t.Fatalf("SendMFAPush = %q, %v", got, err)
	}
	if r := requestsTo(sim, "POST", "/v1.0/servicePrincipals"); len(r) != 1 || !strings.Contains(string(r[0].Body), fakegraph.MFAAppID) {
		t.Errorf("service principal requests: %+v", r)
	}
	checkNoLeak(t, sim, spy, logs, err)
}
