package teams

import (
	"context"
	"crypto/x509"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/cippbot/cippbot/bot"
	"github.com/cippbot/cippbot/internal/faketeams"
)

// recordingHandler records the events it is given and runs fn, if set.
type recordingHandler struct {
	mu     sync.Mutex
	events []bot.Event
	fn     func(ctx context.Context, ev bot.Event, r bot.Responder)
}

func (h *recordingHandler) Handle(ctx context.Context, ev bot.Event, r bot.Responder) {
	h.mu.Lock()
	h.events = append(h.events, ev)
	h.mu.Unlock()
	if h.fn != nil {
		h.fn(ctx, ev, r)
	}
}

func (h *recordingHandler) got() []bot.Event {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]bot.Event(nil), h.events...)
}

type testEnv struct {
	ft       *faketeams.Server
	a        *Adapter
	h        *recordingHandler
	endpoint string
	riley    faketeams.User
	sam      faketeams.User
}

const channel = "19:abc123@thread.tacv2"

func newTestEnv(t *testing.T, tweak func(*Config)) *testEnv {
	t.Helper()
	ft := faketeams.NewTest(t)
	t.Cleanup(ft.Close)
	u, _ := url.Parse(ft.URL())
	h := &recordingHandler{}
	cfg := Config{AppID: ft.AppID, Credential: secretCredential(t, ft, ft.TenantID, ft.AppPassword), TenantID: ft.TenantID,
		OpenIDURL: ft.OpenIDURL(), ServiceHosts: []string{u.Host}, HTTPClient: ft.Client()}
	if tweak != nil {
		tweak(&cfg)
	}
	a, err := New(cfg, h)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	a.Routes(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	t.Cleanup(func() { a.Close(context.Background()) })
	e := &testEnv{ft: ft, a: a, h: h, endpoint: srv.URL + Route,
		riley: faketeams.User{MRI: "29:1riley", AAD: "aad-riley", Name: "Riley"},
		sam:   faketeams.User{MRI: "29:1sam", AAD: "aad-sam", Name: "Sam"}}
	ft.AddUser(e.riley, true)
	ft.AddUser(e.sam, true)
	ft.AddChannel(channel, e.riley.MRI, e.sam.MRI)
	return e
}

func TestServeHTTP_tokenChecks(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, nil)
	sv := e.ft.ServiceURL()
	main := e.ft.MainKey()
	stray := faketeams.Key{ID: "unpublished", Private: e.ft.NewKey("msteams").Private}
	skype := e.ft.NewKey("skype")
	e.ft.Publish(skype)
	webchat := e.ft.NewKey("webchat", "directline")
	e.ft.Publish(webchat)
	pubDER, _ := x509.MarshalPKIXPublicKey(&main.Private.PublicKey)
	now := time.Now()
	hs := jwt.NewWithClaims(jwt.SigningMethodHS256, e.ft.Claims(sv))
	hs.Header["kid"] = main.ID
	hsTok, _ := hs.SignedString(pubDER)
	none := jwt.NewWithClaims(jwt.SigningMethodNone, e.ft.Claims(sv))
	none.Header["kid"] = main.ID
	noneTok, _ := none.SignedString(jwt.UnsafeAllowNoneSignatureType)

	rs384 := jwt.NewWithClaims(jwt.SigningMethodRS384, e.ft.Claims(sv))
	rs384.Header["kid"] = main.ID
	rs384Tok, _ := rs384.SignedString(main.Private)
	bearer := func(k faketeams.Key, set map[string]any) string {
		return "Bearer " + faketeams.Sign(k, e.ft.ClaimsWith(sv, set))
	}
	tests := []struct {
		name   string
		auth   string
		mod    func(faketeams.Activity)
		status int
	}{
		{"OK", bearer(main, nil), nil, 200},
		{"AudienceAPI", bearer(main, map[string]any{"aud": "api://" + e.ft.AppID}), nil, 200},
		{"AudienceBotID", bearer(main, map[string]any{"aud": "api://botid-" + e.ft.AppID}), nil, 200},
		{"ExpiredWithinSkew", bearer(main, map[string]any{"exp": now.Add(-4 * time.Minute).Unix()}), nil, 200},
		{"ServiceURLNoSlash", bearer(main, map[string]any{"serviceurl": strings.TrimSuffix(sv, "/")}), nil, 200},
		{"NoHeader", "", nil, 401},
		{"NotBearer", "Basic " + faketeams.Sign(main, e.ft.Claims(sv)), nil, 401},
		{"WrongIssuer", bearer(main, map[string]any{"iss": "https://sts.windows.net/x/"}), nil, 401},
		{"WrongAudience", bearer(main, map[string]any{"aud": "another-app"}), nil, 401},
		{"Expired", bearer(main, map[string]any{"exp": now.Add(-6 * time.Minute).Unix()}), nil, 401},
		{"NoExpiry", bearer(main, map[string]any{"exp": nil}), nil, 401},
		{"NotYetValid", bearer(main, map[string]any{"nbf": now.Add(10 * time.Minute).Unix()}), nil, 401},
		{"UnknownKey", bearer(stray, nil), nil, 401},
		{"AlgNone", "Bearer " + noneTok, nil, 401},
		{"HS256WithPublicKey", "Bearer " + hsTok, nil, 401},
		{"RS384", "Bearer " + rs384Tok, nil, 401},
		{"Tampered", bearer(main, nil)[:40] + "x" + bearer(main, nil)[41:], nil, 401},
		{"NoServiceURLClaim", bearer(main, map[string]any{"serviceurl": nil}), nil, 401},
		{"ServiceURLMismatch", bearer(main, map[string]any{"serviceurl": "https://smba.trafficmanager.net/emea/"}), nil, 401},
		{"KeyNotEndorsedForTeams", bearer(skype, nil), nil, 401},
		{"WebChat", bearer(webchat, nil), func(a faketeams.Activity) { a["channelId"] = "webchat" }, 403},
		{"ForeignTenant", bearer(main, nil), func(a faketeams.Activity) {
			a["channelData"] = map[string]any{"tenant": map[string]any{"id": "0000aaaa-0000-0000-0000-000000000000"}}
			a["conversation"].(map[string]any)["tenantId"] = "0000aaaa-0000-0000-0000-000000000000"
		}, 403},
		{"TenantsDisagree", bearer(main, nil), func(a faketeams.Activity) {
			a["channelData"] = map[string]any{"tenant": map[string]any{"id": "0000aaaa-0000-0000-0000-000000000000"}}
		}, 403},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(e.h.got())
			act := e.ft.MessageActivity(e.riley, channel, "whoami", true)
			if tt.mod != nil {
				tt.mod(act)
			}
			status, body, err := e.ft.DeliverWith(e.endpoint, act, tt.auth)
			if err != nil {
				t.Fatal(err)
			}
			e.a.Wait()
			if status != tt.status {
				t.Fatalf("status = %d (%s), want %d", status, body, tt.status)
			}
			after := len(e.h.got())
			if tt.status == 200 && after != before+1 {
				t.Errorf("handler called %d times, want once", after-before)
			}
			if tt.status != 200 && after != before {
				t.Errorf("refused activity reached the handler")
			}
		})
	}
}

func TestServeHTTP_serviceHostNotAllowed(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, func(c *Config) { c.ServiceHosts = []string{"smba.trafficmanager.net"} })
	status, _, err := e.ft.Deliver(e.endpoint, e.ft.MessageActivity(e.riley, channel, "whoami", true))
	if err != nil {
		t.Fatal(err)
	}
	if status != 403 || len(e.h.got()) != 0 {
		t.Errorf("status %d, %d events; want 403 and none", status, len(e.h.got()))
	}
}

func TestKeys_refresh(t *testing.T) {
	t.Parallel()
	now := time.Now()
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	e := newTestEnv(t, func(c *Config) { c.Now = clock })
	deliver := func(k faketeams.Key) int {
		act := e.ft.MessageActivity(e.riley, channel, "whoami", true)
		c := e.ft.Claims(e.ft.ServiceURL())
		c["exp"] = clock().Add(time.Hour).Unix()
		c["nbf"] = clock().Add(-time.Minute).Unix()
		status, _, err := e.ft.DeliverWith(e.endpoint, act, "Bearer "+faketeams.Sign(k, c))
		if err != nil {
			t.Fatal(err)
		}
		return status
	}
	if s := deliver(e.ft.MainKey()); s != 200 {
		t.Fatalf("first: %d", s)
	}
	if s := deliver(e.ft.MainKey()); s != 200 || e.ft.KeyFetches() != 1 {
		t.Fatalf("second: %d, %d key fetches; want 200 from the cache", s, e.ft.KeyFetches())
	}
	// A key published after the keys were read is found by a refetch.
	rotated := e.ft.NewKey("msteams")
	e.ft.Publish(rotated)
	mu.Lock()
	now = now.Add(2 * time.Minute)
	mu.Unlock()
	if s := deliver(rotated); s != 200 || e.ft.KeyFetches() != 2 {
		t.Fatalf("rotated: %d, %d key fetches; want 200 after a refetch", s, e.ft.KeyFetches())
	}
	// Unknown kids don't make it fetch again within a minute.
	stray := e.ft.NewKey("msteams")
	deliver(stray)
	deliver(stray)
	if e.ft.KeyFetches() != 2 {
		t.Errorf("%d key fetches after unknown kids; want no more than 2", e.ft.KeyFetches())
	}
	// A day later the keys are read again.
	mu.Lock()
	now = now.Add(25 * time.Hour)
	mu.Unlock()
	if s := deliver(e.ft.MainKey()); s != 200 || e.ft.KeyFetches() != 3 {
		t.Errorf("next day: %d, %d key fetches; want 200 and a refetch", s, e.ft.KeyFetches())
	}
}
