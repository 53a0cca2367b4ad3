package fakegraph_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/cippbot/cippbot/internal/fakegraph"
)

func TestTemporaryAccessPass(t *testing.T) {
	t.Parallel()
	clock := &fixedClock{t: time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)}
	g := newGraph(t, fakegraph.Options{Now: clock.Now})
	path := "/v1.0/users/" + fakegraph.ContosoIsaiahID + "/authentication/temporaryAccessPassMethods"
	res := g.do(http.MethodPost, path, map[string]any{})
	if res.status != http.StatusCreated {
		t.Fatalf("create: %d %s", res.status, res.raw)
	}
	pass, _ := res.json["temporaryAccessPass"].(string)
	if len(pass) != 8 || res.json["lifetimeInMinutes"] != float64(60) || res.json["isUsableOnce"] != false ||
		res.json["isUsable"] != true || res.json["methodUsabilityReason"] != "EnabledByPolicy" ||
		res.json["@odata.type"] != "#microsoft.graph.temporaryAccessPassAuthenticationMethod" {
		t.Fatalf("TAP = %s", res.raw)
	}
	u, _ := g.s.User(fakegraph.ContosoTenantID, fakegraph.ContosoIsaiahID)
	if u.TAP != pass || u.TAPLifetimeMinutes != 60 || u.AccountEnabled {
		t.Errorf("snapshot = %+v", u)
	}

	res = g.do(http.MethodPost, path, map[string]any{"lifetimeInMinutes": 480, "isUsableOnce": true})
	second, _ := res.json["temporaryAccessPass"].(string)
	if res.status != http.StatusCreated || second == pass {
		t.Fatalf("second TAP: %d %s", res.status, res.raw)
	}
	u, _ = g.s.User(fakegraph.ContosoTenantID, fakegraph.ContosoIsaiahID)
	if u.TAP != second || u.TAPLifetimeMinutes != 480 || !u.TAPUsableOnce {
		t.Errorf("TAP not replaced: %+v", u)
	}

	for _, lifetime := range []int{9, 43201, -1} {
		res := g.do(http.MethodPost, path, map[string]any{"lifetimeInMinutes": lifetime})
		wantError(t, res, http.StatusBadRequest, "BadRequest", "lifetimeInMinutes must be between 10 and 43200")
	}
	for _, lifetime := range []int{10, 43200} {
		if res := g.do(http.MethodPost, path, map[string]any{"lifetimeInMinutes": lifetime}); res.status != http.StatusCreated {
			t.Errorf("lifetime %d rejected: %s", lifetime, res.raw)
		}
	}

	methods := values(t, g.do(http.MethodGet, "/v1.0/users/"+fakegraph.ContosoIsaiahID+"/authentication/methods", nil))
	var tap map[string]any
	for _, m := range methods {
		if m["@odata.type"] == "#microsoft.graph.temporaryAccessPassAuthenticationMethod" {
			tap = m
		}
	}
	if tap == nil {
		t.Fatalf("no TAP among %v", methods)
	}
	if v, ok := tap["temporaryAccessPass"]; !ok || v != nil {
		t.Errorf("GET reveals the pass: %v", tap)
	}
	clock.Set(clock.Now().Add(31 * 24 * time.Hour))
	g.tok = token(t, g.s)
	res = g.do(http.MethodGet, "/v1.0/users/"+fakegraph.ContosoIsaiahID+"/authentication/temporaryAccessPassMethods/"+tap["id"].(string), nil)
	if res.json["isUsable"] != false || res.json["methodUsabilityReason"] != "Expired" {
		t.Errorf("expired TAP = %s", res.raw)
	}
}

func TestAuthenticationMethods(t *testing.T) {
	t.Parallel()
	g := newGraph(t, fakegraph.Options{})
	methods := values(t, g.do(http.MethodGet, "/v1.0/users/admin@contoso.com/authentication/methods", nil))
	types := map[string]map[string]any{}
	for _, m := range methods {
		types[m["@odata.type"].(string)] = m
	}
	pw := types["#microsoft.graph.passwordAuthenticationMethod"]
	if pw == nil || pw["id"] != "28c10230-6103-485e-b985-444c60001490" {
		t.Errorf("password method = %v", pw)
	}
	app := types["#microsoft.graph.microsoftAuthenticatorAuthenticationMethod"]
	if app == nil || app["displayName"] == "" || app["deviceTag"] == nil || app["phoneAppVersion"] == nil {
		t.Errorf("authenticator = %v", app)
	}
	phone := types["#microsoft.graph.phoneAuthenticationMethod"]
	if phone == nil || phone["phoneType"] != "mobile" || phone["phoneNumber"] == nil {
		t.Fatalf("phone = %v", phone)
	}
	del := "/v1.0/users/admin@contoso.com/authentication/phoneMethods/" + phone["id"].(string)
	if res := g.do(http.MethodDelete, del, nil); res.status != http.StatusNoContent {
		t.Fatalf("delete phone: %d %s", res.status, res.raw)
	}
	if u, _ := g.s.User(fakegraph.ContosoTenantID, fakegraph.ContosoAdminID); len(u.AuthMethods) != 1 {
		t.Errorf("methods after delete = %+v", u.AuthMethods)
	}
}

// TestTemporaryAccessPassPolicy: a tenant whose policy allows one-time
// passes only makes a pass that does not say one-time, and refuses a
// reusable one.
func TestTemporaryAccessPassPolicy(t *testing.T) {
	t.Parallel()
	g := newGraph(t, fakegraph.Options{})
	g.s.SetTAPUsableOnce(fakegraph.ContosoTenantID, true)
	path := "/v1.0/users/" + fakegraph.ContosoIsaiahID + "/authentication/temporaryAccessPassMethods"
	res := g.do(http.MethodPost, path, map[string]any{"lifetimeInMinutes": 60})
	if res.status != http.StatusCreated || res.json["isUsableOnce"] != true {
		t.Fatalf("create under a one-time policy: %d %s", res.status, res.raw)
	}
	res = g.do(http.MethodPost, path, map[string]any{"isUsableOnce": false})
	wantError(t, res, http.StatusBadRequest, "BadRequest", "one-time use passes only")
}
