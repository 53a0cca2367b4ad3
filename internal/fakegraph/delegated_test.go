package fakegraph_test

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/cippbot/cippbot/internal/fakegraph"
)

// serviceAccount is the partner's GDAP service account in the tests.
const serviceAccount = "SamR@" + fakegraph.PartnerDomain

// deviceCodeForm posts to the device code endpoint.
func deviceCodeForm(t *testing.T, s *fakegraph.Server, tenant string, form url.Values) response {
	t.Helper()
	hdr := http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}
	return send(t, s, http.MethodPost, "/"+tenant+"/oauth2/v2.0/devicecode", hdr, strings.NewReader(form.Encode()))
}

// refreshForm is a confidential client's refresh token request.
func refreshForm(rt, scope string) url.Values {
	return url.Values{
		"grant_type":    {"refresh_token"},
		"client_id":     {fakegraph.DefaultClientID},
		"client_secret": {fakegraph.DefaultClientSecret},
		"refresh_token": {rt},
		"scope":         {scope + " openid profile offline_access"},
		"client_info":   {"1"},
	}
}

// wantAADSTS checks an identity error's OAuth code and AADSTS number.
func wantAADSTS(t *testing.T, r response, code string, aadsts int) {
	t.Helper()
	if r.status != http.StatusBadRequest && r.status != http.StatusUnauthorized {
		t.Fatalf("status %d, want an error: %s", r.status, r.raw)
	}
	if got, _ := r.json["error"].(string); got != code {
		t.Errorf("error = %q, want %q (%s)", got, code, r.raw)
	}
	codes, _ := r.json["error_codes"].([]any)
	if len(codes) != 1 || int(codes[0].(float64)) != aadsts {
		t.Errorf("error_codes = %v, want [%d]", codes, aadsts)
	}
}

// claims decodes a JWT's payload.
func claims(t *testing.T, tok string) map[string]any {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("token %q is not a JWT", tok)
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatalf("payload: %v", err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("payload: %v", err)
	}
	return m
}

func TestDelegated_DeviceCode(t *testing.T) {
	t.Parallel()
	clock := &fixedClock{t: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}
	s := mspServer(t, fakegraph.Options{Now: clock.Now})
	start := url.Values{"client_id": {fakegraph.DefaultClientID}, "scope": {"https://graph.microsoft.com/.default openid profile offline_access"}}
	poll := func(code string) response {
		return tokenForm(t, s, fakegraph.PartnerTenantID, url.Values{
			"grant_type": {"urn:ietf:params:oauth:grant-type:device_code"}, "client_id": {fakegraph.DefaultClientID},
			"device_code": {code}, "client_info": {"1"},
		})
	}

	t.Run("OK", func(t *testing.T) {
		s.SetPublicClientFlows(true)
		r := deviceCodeForm(t, s, fakegraph.PartnerTenantID, start)
		if r.status != http.StatusOK {
			t.Fatalf("devicecode: %d %s", r.status, r.raw)
		}
		code, _ := r.json["device_code"].(string)
		userCode, _ := r.json["user_code"].(string)
		if r.json["verification_uri"] != fakegraph.DeviceLoginURL || r.json["expires_in"] != 900.0 || r.json["interval"] != 5.0 ||
			!strings.Contains(r.json["message"].(string), userCode) {
			t.Errorf("devicecode answer = %s", r.raw)
		}
		wantAADSTS(t, poll(code), "authorization_pending", 70016)
		if err := s.SignInDeviceCode(userCode, "nobody@"+fakegraph.PartnerDomain); err == nil {
			t.Error("SignInDeviceCode of an unknown user succeeded")
		}
		if err := s.SignInDeviceCode(userCode, serviceAccount); err != nil {
			t.Fatal(err)
		}
		r = poll(code)
		if r.status != http.StatusOK {
			t.Fatalf("poll: %d %s", r.status, r.raw)
		}
		for _, k := range []string{"access_token", "refresh_token", "id_token", "client_info"} {
			if v, _ := r.json[k].(string); v == "" {
				t.Errorf("no %s in %s", k, r.raw)
			}
		}
		ci, _ := base64.RawURLEncoding.DecodeString(r.json["client_info"].(string))
		if !strings.Contains(string(ci), fakegraph.PartnerTenantID) {
			t.Errorf("client_info = %s, want utid %s", ci, fakegraph.PartnerTenantID)
		}
		c := claims(t, r.json["access_token"].(string))
		if c["upn"] != serviceAccount || c["idtyp"] != "user" || !strings.Contains(c["scp"].(string), "User.ReadWrite.All") {
			t.Errorf("access token claims = %v", c)
		}
		// A device code is redeemed once.
		wantAADSTS(t, poll(code), "bad_verification_code", 70000)
	})

	t.Run("ErrExpired", func(t *testing.T) {
		s.SetPublicClientFlows(true)
		r := deviceCodeForm(t, s, fakegraph.PartnerTenantID, start)
		clock.Set(clock.Now().Add(901 * time.Second))
		wantAADSTS(t, poll(r.json["device_code"].(string)), "expired_token", 70019)
	})

	t.Run("ErrDeclined", func(t *testing.T) {
		s.SetPublicClientFlows(true)
		r := deviceCodeForm(t, s, fakegraph.PartnerTenantID, start)
		if err := s.DeclineDeviceCode(r.json["user_code"].(string)); err != nil {
			t.Fatal(err)
		}
		wantAADSTS(t, poll(r.json["device_code"].(string)), "authorization_declined", 70000)
	})

	t.Run("ErrPublicClientFlowsOff", func(t *testing.T) {
		s.SetPublicClientFlows(false)
		r := deviceCodeForm(t, s, fakegraph.PartnerTenantID, start)
		wantAADSTS(t, poll(r.json["device_code"].(string)), "invalid_client", 7000218)
	})

	t.Run("ErrUnknownClient", func(t *testing.T) {
		f := url.Values{"client_id": {"someone-else"}, "scope": start["scope"]}
		wantAADSTS(t, deviceCodeForm(t, s, fakegraph.PartnerTenantID, f), "unauthorized_client", 700016)
	})
}

func TestDelegated_RefreshToken(t *testing.T) {
	t.Parallel()
	clock := &fixedClock{t: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}
	s := mspServer(t, fakegraph.Options{Now: clock.Now})
	litware := fakegraph.TenantSeed{ID: "6f1d2c3b-4a59-4e8d-9c7b-0a1b2c3d4e5f", DisplayName: "Litware",
		Domains: []string{"litware.com", "litware.onmicrosoft.com"}}
	if err := s.AddTenant(litware); err != nil {
		t.Fatal(err)
	}
	issue := func(t *testing.T) string {
		t.Helper()
		rt, err := s.IssueRefreshToken(fakegraph.PartnerTenantID, serviceAccount)
		if err != nil {
			t.Fatal(err)
		}
		return rt
	}

	t.Run("OK", func(t *testing.T) {
		rt := issue(t)
		for _, tc := range []struct{ scope, aud, scp string }{
			{"https://graph.microsoft.com/.default", "https://graph.microsoft.com", "Directory.AccessAsUser.All"},
			{"https://outlook.office365.com/.default", "https://outlook.office365.com", "Exchange.Manage"},
			{"https://contoso-admin.sharepoint.com/.default", "https://contoso-admin.sharepoint.com", "AllSites.FullControl"},
		} {
			r := tokenForm(t, s, fakegraph.ContosoTenantID, refreshForm(rt, tc.scope))
			if r.status != http.StatusOK {
				t.Fatalf("%s: %d %s", tc.scope, r.status, r.raw)
			}
			tok := r.json["access_token"].(string)
			c := claims(t, tok)
			if c["aud"] != tc.aud || c["tid"] != fakegraph.ContosoTenantID || c["upn"] != serviceAccount ||
				c["idp"] != "https://sts.windows.net/"+fakegraph.PartnerTenantID+"/" || !strings.Contains(c["scp"].(string), tc.scp) {
				t.Errorf("%s: claims = %v", tc.scope, c)
			}
			if !strings.Contains(r.json["scope"].(string), tc.aud+"/.default") {
				t.Errorf("%s: scope = %v", tc.scope, r.json["scope"])
			}
			a, ok := s.Delegated(tok)
			if !ok || a.UPN != serviceAccount || a.TenantID != fakegraph.ContosoTenantID || a.HomeTenantID != fakegraph.PartnerTenantID {
				t.Errorf("Delegated = %+v, %v", a, ok)
			}
			next, _ := r.json["refresh_token"].(string)
			if next == "" || next == rt {
				t.Fatalf("refresh token not rotated: %q", next)
			}
			// Microsoft does not revoke the used refresh token: both work.
			for _, tok := range []string{rt, next} {
				if r := tokenForm(t, s, fakegraph.FabrikamTenantID, refreshForm(tok, "https://graph.microsoft.com/.default")); r.status != http.StatusOK {
					t.Errorf("redeem after rotation: %d %s", r.status, r.raw)
				}
			}
			rt = next
		}
		// Graph accepts the delegated token.
		r := tokenForm(t, s, fakegraph.ContosoTenantID, refreshForm(rt, "https://graph.microsoft.com/.default"))
		g := &graph{t: t, s: s, tok: r.json["access_token"].(string)}
		if res := g.do(http.MethodGet, "/v1.0/users?$top=1", nil); res.status != http.StatusOK {
			t.Errorf("Graph with a delegated token: %d %s", res.status, res.raw)
		}
	})

	t.Run("ErrNoRelationship", func(t *testing.T) {
		r := tokenForm(t, s, litware.ID, refreshForm(issue(t), "https://graph.microsoft.com/.default"))
		wantAADSTS(t, r, "invalid_grant", 50020)
	})

	t.Run("ErrUnknownToken", func(t *testing.T) {
		wantAADSTS(t, tokenForm(t, s, fakegraph.ContosoTenantID, refreshForm("0.Anot-a-token", "https://graph.microsoft.com/.default")), "invalid_grant", 9002313)
	})

	t.Run("ErrWrongSecret", func(t *testing.T) {
		f := refreshForm(issue(t), "https://graph.microsoft.com/.default")
		f.Set("client_secret", "wrong")
		wantAADSTS(t, tokenForm(t, s, fakegraph.ContosoTenantID, f), "invalid_client", 7000215)
	})

	t.Run("ErrInteraction", func(t *testing.T) {
		rt := issue(t)
		for _, code := range []int{50076, 70043} {
			s.RequireInteraction(fakegraph.PartnerTenantID, serviceAccount, code)
			wantAADSTS(t, tokenForm(t, s, fakegraph.ContosoTenantID, refreshForm(rt, "https://graph.microsoft.com/.default")), "invalid_grant", code)
		}
		s.RequireInteraction(fakegraph.PartnerTenantID, serviceAccount, 0)
		if r := tokenForm(t, s, fakegraph.ContosoTenantID, refreshForm(rt, "https://graph.microsoft.com/.default")); r.status != http.StatusOK {
			t.Errorf("after the interaction cleared: %d %s", r.status, r.raw)
		}
	})

	t.Run("ErrInactive", func(t *testing.T) {
		rt := issue(t)
		clock.Set(clock.Now().Add(91 * 24 * time.Hour))
		wantAADSTS(t, tokenForm(t, s, fakegraph.ContosoTenantID, refreshForm(rt, "https://graph.microsoft.com/.default")), "invalid_grant", 700082)
	})

	t.Run("ErrRevoked", func(t *testing.T) {
		rt := issue(t)
		r := tokenForm(t, s, fakegraph.ContosoTenantID, refreshForm(rt, "https://graph.microsoft.com/.default"))
		next := r.json["refresh_token"].(string)
		clock.Set(clock.Now().Add(time.Second))
		s.RevokeRefreshTokens(fakegraph.PartnerTenantID, serviceAccount)
		for _, tok := range []string{rt, next} {
			wantAADSTS(t, tokenForm(t, s, fakegraph.ContosoTenantID, refreshForm(tok, "https://graph.microsoft.com/.default")), "invalid_grant", 50173)
		}
		clock.Set(clock.Now().Add(time.Second))
		if r := tokenForm(t, s, fakegraph.ContosoTenantID, refreshForm(issue(t), "https://graph.microsoft.com/.default")); r.status != http.StatusOK {
			t.Errorf("a token issued after the revocation: %d %s", r.status, r.raw)
		}
	})

	t.Run("ErrDisabled", func(t *testing.T) {
		const priya = "PriyaP@" + fakegraph.PartnerDomain
		rt, err := s.IssueRefreshToken(fakegraph.PartnerTenantID, priya)
		if err != nil {
			t.Fatal(err)
		}
		g := tenantGraph(t, s, fakegraph.PartnerTenantID)
		if r := g.do(http.MethodPatch, "/v1.0/users/"+priya, map[string]any{"accountEnabled": false}); r.status != http.StatusNoContent {
			t.Fatalf("block %s: %d %s", priya, r.status, r.raw)
		}
		wantAADSTS(t, tokenForm(t, s, fakegraph.ContosoTenantID, refreshForm(rt, "https://graph.microsoft.com/.default")), "invalid_grant", 50057)
	})

	t.Run("SecretsRedactedInLog", func(t *testing.T) {
		rt := issue(t)
		s.ResetRequests()
		tokenForm(t, s, fakegraph.ContosoTenantID, refreshForm(rt, "https://graph.microsoft.com/.default"))
		for _, req := range s.Requests() {
			if strings.Contains(string(req.Body), rt) || strings.Contains(string(req.Body), fakegraph.DefaultClientSecret) {
				t.Errorf("request log holds a secret: %s", req.Body)
			}
		}
	})
}
