package m365_test

import (
	"context"
	"encoding/json"

	"strings"
	"testing"
	"time"

	"github.com/cippbot/cippbot/actions"
	"github.com/cippbot/cippbot/actions/m365"
	"github.com/cippbot/cippbot/internal/fakegraph"
)

const tenant = fakegraph.ContosoTenantID

func newSim(t *testing.T) *fakegraph.Server {
	t.Helper()
	sim := fakegraph.NewTest(t, fakegraph.Options{})
	sim.Start()
	t.Cleanup(sim.Close)
	return sim
}

func connect(t *testing.T, sim *fakegraph.Server, secret string) *m365.Directory {
	t.Helper()
	c, err := m365.New(m365.Config{
		GraphURL: sim.URL(), AuthorityHost: sim.URL() + "/",
		ClientID: fakegraph.DefaultClientID, ClientSecret: secret, HTTPClient: sim.Client(),
	})
	if err != nil {
		t.Fatal(err)
	}
	d, err := c.Directory(context.Background(), tenant)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func ctx() context.Context { return context.Background() }

func TestDirectory_User(t *testing.T) {
	t.Parallel()
	sim := newSim(t)
	d := connect(t, sim, fakegraph.DefaultClientSecret)
	t.Run("OK", func(t *testing.T) {
		u, err := d.User(ctx(), "adelev@contoso.com")
		if err != nil {
			t.Fatal(err)
		}
		if u.UPN != "AdeleV@contoso.com" || u.DisplayName != "Adele Vance" || !u.Enabled || u.Synced {
			t.Errorf("User = %+v", u)
		}
		g, _ := d.User(ctx(), "GradyA@contoso.com")
		if !g.Synced || g.ImmutableID == "" {
			t.Errorf("synced user = %+v", g)
		}
	})
	t.Run("ErrNotFound", func(t *testing.T) {
		_, err := d.User(ctx(), "nobody@contoso.com")
		if actions.ErrorCode(err) != actions.ENOTFOUND || actions.RequestID(err) == "" {
			t.Errorf("err = %v (request-id %q), want not_found with a request-id", err, actions.RequestID(err))
		}
	})
	t.Run("ErrForbidden", func(t *testing.T) {
		sim.Inject(fakegraph.Fault{Method: "GET", PathContains: "/users/", Status: 403, Code: "Authorization_RequestDenied",
			Message: "Insufficient privileges to complete the operation."})
		_, err := d.User(ctx(), "AdeleV@contoso.com")
		if actions.ErrorCode(err) != actions.EFORBIDDEN || !strings.Contains(actions.ErrorMessage(err), "Insufficient privileges") {
			t.Errorf("err = %v, want forbidden naming the privilege problem", err)
		}
	})
}

func TestDirectory_BadSecret(t *testing.T) {
	t.Parallel()
	sim := newSim(t)
	d := connect(t, sim, "wrong")
	_, err := d.User(ctx(), "AdeleV@contoso.com")
	if actions.ErrorCode(err) != actions.EFORBIDDEN || !strings.Contains(actions.ErrorMessage(err), "AADSTS7000215") {
		t.Fatalf("err = %v, want forbidden naming AADSTS7000215", err)
	}
}

func TestDirectory_ResetPassword(t *testing.T) {
	t.Parallel()
	sim := newSim(t)
	d := connect(t, sim, fakegraph.DefaultClientSecret)
	u, _ := d.User(ctx(), "AdeleV@contoso.com")
	pw := actions.NewSecret("pw", "Xk4$mnP7#rstUv")
	c, trace := actions.WithTrace(ctx())
	if err := d.UpdateUser(c, u.ID, actions.UserUpdate{Password: &pw, ForceChange: true}); err != nil {
		t.Fatal(err)
	}
	got, _ := sim.User(tenant, u.ID)
	if got.Password != "Xk4$mnP7#rstUv" || !got.ForceChangePasswordNextSignIn {
		t.Errorf("tenant holds password %q force=%v", got.Password, got.ForceChangePasswordNextSignIn)
	}
	if len(trace.IDs()) != 1 {
		t.Errorf("trace = %v, want one request-id", trace.IDs())
	}
}

// TestThrottledPatchOnFreshClients throttles the first PATCH of many new
// connectors. kiota-http-go's default middleware order differs per client;
// with retry outside compression the retry goes out as plain JSON labelled
// gzip, which Graph (and the simulated tenant) reject. Every client must
// succeed, and every PATCH on the wire must be valid gzip.
func TestThrottledPatchOnFreshClients(t *testing.T) {
	t.Parallel()
	sim := newSim(t)
	const clients = 25
	for i := range clients {
		d := connect(t, sim, fakegraph.DefaultClientSecret)
		sim.Inject(fakegraph.Fault{Method: "PATCH", PathContains: "/users/", Status: 429, RetryAfter: "0"})
		enabled := i%2 == 0
		if err := d.UpdateUser(ctx(), "AlexW@contoso.com", actions.UserUpdate{AccountEnabled: &enabled}); err != nil {
			t.Fatalf("client %d: %v", i, err)
		}
		u, _ := sim.User(tenant, "AlexW@contoso.com")
		if u.AccountEnabled != enabled {
			t.Fatalf("client %d: accountEnabled = %v, want %v", i, u.AccountEnabled, enabled)
		}
	}
	var patches, throttled int
	for _, r := range sim.Requests() {
		if r.Method != "PATCH" {
			continue
		}
		patches++
		if r.Status == 429 {
			throttled++
		}
		if r.ContentEncoding != "gzip" || !json.Valid(r.Body) {
			t.Errorf("PATCH %d sent %q body %q", patches, r.ContentEncoding, r.Body)
		}
	}
	if patches != 2*clients || throttled != clients {
		t.Errorf("%d PATCHes (%d throttled), want %d (%d)", patches, throttled, 2*clients, clients)
	}
}

func TestDirectory_ThrottledTooLong(t *testing.T) {
	t.Parallel()
	sim := newSim(t)
	d := connect(t, sim, fakegraph.DefaultClientSecret)
	sim.Inject(fakegraph.Fault{Method: "POST", PathContains: "revokeSignInSessions", Status: 429, RetryAfter: "0", Times: 10})
	err := d.RevokeSessions(ctx(), "AdeleV@contoso.com")
	if actions.ErrorCode(err) != actions.EUNAVAILABLE || !strings.Contains(actions.ErrorMessage(err), "throttling") {
		t.Fatalf("err = %v, want unavailable (throttling)", err)
	}
}

func TestDirectory_Changes(t *testing.T) {
	t.Parallel()
	sim := newSim(t)
	d := connect(t, sim, fakegraph.DefaultClientSecret)
	t.Run("SyncedBlockRefused", func(t *testing.T) {
		f := false
		err := d.UpdateUser(ctx(), "GradyA@contoso.com", actions.UserUpdate{AccountEnabled: &f})
		if actions.ErrorCode(err) != actions.ECONFLICT || !strings.Contains(actions.ErrorMessage(err), "on-premises") {
			t.Fatalf("err = %v, want conflict (on-premises)", err)
		}
		if u, _ := sim.User(tenant, "GradyA@contoso.com"); !u.AccountEnabled {
			t.Fatal("synced user was disabled")
		}
	})
	t.Run("ClearImmutableID", func(t *testing.T) {
		if err := d.UpdateUser(ctx(), "LeeG@contoso.com", actions.UserUpdate{ClearImmutableID: true}); err != nil {
			t.Fatal(err)
		}
		if u, _ := sim.User(tenant, "LeeG@contoso.com"); u.OnPremisesImmutableID != "" {
			t.Fatalf("immutable ID still %q", u.OnPremisesImmutableID)
		}
	})
	t.Run("PasswordPolicies", func(t *testing.T) {
		p := "DisablePasswordExpiration"
		if err := d.UpdateUser(ctx(), "AlexW@contoso.com", actions.UserUpdate{PasswordPolicies: &p}); err != nil {
			t.Fatal(err)
		}
		u, _ := d.User(ctx(), "AlexW@contoso.com")
		if u.PasswordPolicies != p {
			t.Fatalf("policies = %q", u.PasswordPolicies)
		}
	})
	t.Run("TAP", func(t *testing.T) {
		tap, err := d.CreateTAP(ctx(), "AlexW@contoso.com", actions.TAPOptions{LifetimeMinutes: 60, UsableOnce: true})
		if err != nil {
			t.Fatal(err)
		}
		u, _ := sim.User(tenant, "AlexW@contoso.com")
		if tap.Pass.Reveal() == "" || tap.Pass.Reveal() != u.TAP || tap.LifetimeMinutes != 60 || !tap.UsableOnce {
			t.Fatalf("tap = %+v (tenant %q)", tap, u.TAP)
		}
	})
	t.Run("TAPPolicy", func(t *testing.T) {
		// Without --once the tenant's policy decides: a tenant that
		// allows one-time passes only must not be sent isUsableOnce=false.
		sim.SetTAPUsableOnce(tenant, true)
		defer sim.SetTAPUsableOnce(tenant, false)
		tap, err := d.CreateTAP(ctx(), "AlexW@contoso.com", actions.TAPOptions{LifetimeMinutes: 60})
		if err != nil || !tap.UsableOnce {
			t.Fatalf("tap under a one-time policy: %+v, %v", tap, err)
		}
	})
	t.Run("Revoke", func(t *testing.T) {
		// Seeded users have sessions valid from their last password change.
		before, _ := sim.User(tenant, "AdeleV@contoso.com")
		if err := d.RevokeSessions(ctx(), "AdeleV@contoso.com"); err != nil {
			t.Fatal(err)
		}
		if u, _ := sim.User(tenant, "AdeleV@contoso.com"); !u.SignInSessionsValidFrom.After(before.SignInSessionsValidFrom) {
			t.Fatal("sessions not revoked")
		}
	})
	t.Run("Groups", func(t *testing.T) {
		gs, err := d.FindGroups(ctx(), "Finance Security")
		if err != nil || len(gs) != 1 || gs[0].Kind() != "security" {
			t.Fatalf("FindGroups = %+v, %v", gs, err)
		}
		byID, err := d.FindGroups(ctx(), gs[0].ID)
		if err != nil || len(byID) != 1 || byID[0].DisplayName != "Finance Security" {
			t.Fatalf("FindGroups(id) = %+v, %v", byID, err)
		}
		u, _ := d.User(ctx(), "AdeleV@contoso.com")
		if err := d.AddGroupMember(ctx(), gs[0].ID, u.ID); err != nil {
			t.Fatal(err)
		}
		err = d.AddGroupMember(ctx(), gs[0].ID, u.ID)
		if actions.ErrorCode(err) != actions.ECONFLICT {
			t.Fatalf("second add: %v, want conflict", err)
		}
		none, err := d.FindGroups(ctx(), "No Such Group")
		if err != nil || len(none) != 0 {
			t.Fatalf("FindGroups(missing) = %+v, %v", none, err)
		}
	})
	t.Run("Delete", func(t *testing.T) {
		if err := d.DeleteUser(ctx(), "PattiF@contoso.com"); err != nil {
			t.Fatal(err)
		}
		if _, err := d.User(ctx(), "PattiF@contoso.com"); actions.ErrorCode(err) != actions.ENOTFOUND {
			t.Fatalf("deleted user still there: %v", err)
		}
	})
}

func TestDirectory_UserDetails(t *testing.T) {
	t.Parallel()
	sim := newSim(t)
	d := connect(t, sim, fakegraph.DefaultClientSecret)
	u, _ := d.User(ctx(), "admin@contoso.com")
	det, err := d.UserDetails(ctx(), u.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(det.Roles) == 0 || det.Roles[0] != "Global Administrator" {
		t.Errorf("roles = %v", det.Roles)
	}
	if det.MFAState != "enforced" {
		t.Errorf("per-user MFA = %q, want the seed's enforced", det.MFAState)
	}
	a, _ := d.User(ctx(), "AdeleV@contoso.com")
	det, err = d.UserDetails(ctx(), a.ID)
	if err != nil {
		t.Fatal(err)
	}
	if det.Manager == "" || len(det.Licenses) == 0 || strings.Contains(det.Licenses[0], "-") || len(det.Groups) == 0 {
		t.Errorf("details = %+v", det)
	}
	var batches int
	for _, r := range sim.Requests() {
		if strings.HasSuffix(r.Path, "$batch") {
			batches++
		}
	}
	if batches != 2 {
		t.Errorf("%d $batch calls, want one per UserDetails", batches)
	}
}

// TestFractionalRetryAfter: Graph's "Retry-After: 0.4" means 400 ms, not
// the zero that kiota's own handler makes of it.
func TestFractionalRetryAfter(t *testing.T) {
	t.Parallel()
	sim := newSim(t)
	d := connect(t, sim, fakegraph.DefaultClientSecret)
	sim.Inject(fakegraph.Fault{Method: "POST", PathContains: "revokeSignInSessions", Status: 429, RetryAfter: "0.4"})
	c, trace := actions.WithTrace(ctx())
	start := time.Now()
	if err := d.RevokeSessions(c, "AdeleV@contoso.com"); err != nil {
		t.Fatal(err)
	}
	if waited := time.Since(start); waited < 350*time.Millisecond {
		t.Errorf("retried after %v, want at least the 400 ms asked for", waited)
	}
	if trace.Throttled() != 1 {
		t.Errorf("throttled = %d, want 1", trace.Throttled())
	}
}

func TestBulkApplyAndUsers(t *testing.T) {
	t.Parallel()
	sim := newSim(t)
	d := connect(t, sim, fakegraph.DefaultClientSecret)
	var ids []string
	for _, u := range sim.Users(tenant) {
		if !u.OnPremisesSyncEnabled && u.AccountEnabled {
			ids = append(ids, u.ID)
		}
	}
	ids = append(ids, "00000000-0000-0000-0000-00000000dead")
	users, errs := d.Users(ctx(), ids)
	for i := range ids[:len(ids)-1] {
		if errs[i] != nil || users[i].ID != ids[i] {
			t.Fatalf("Users[%d] = %+v, %v", i, users[i], errs[i])
		}
	}
	if actions.ErrorCode(errs[len(ids)-1]) != actions.ENOTFOUND {
		t.Errorf("missing user: %v", errs[len(ids)-1])
	}
	ops := make([]actions.Op, len(ids))
	f := false
	for i, id := range ids {
		ops[i] = actions.Op{Kind: actions.OpUpdateUser, UserID: id, Update: actions.UserUpdate{AccountEnabled: &f}}
	}
	var last int
	errs = d.Apply(ctx(), ops, func(done int) { last = max(last, done) })
	for i, id := range ids[:len(ids)-1] {
		if errs[i] != nil {
			t.Errorf("op %d: %v", i, errs[i])
		}
		if u, _ := sim.User(tenant, id); u.AccountEnabled {
			t.Errorf("%s still enabled", u.UserPrincipalName)
		}
	}
	if actions.ErrorCode(errs[len(ids)-1]) != actions.ENOTFOUND || last != len(ids) {
		t.Errorf("missing op: %v, progress reached %d of %d", errs[len(ids)-1], last, len(ids))
	}
	var batches, patches int
	for _, r := range sim.Requests() {
		switch {
		case strings.HasSuffix(r.Path, "$batch"):
			batches++
		case r.Method == "PATCH" && r.BatchItemID == "":
			patches++
		}
	}
	if patches != 0 || batches < 2 {
		t.Errorf("%d plain PATCHes and %d $batch calls; want every write batched", patches, batches)
	}
}
