package m365_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/cippbot/cippbot/actions"
	"github.com/cippbot/cippbot/actions/m365"
	"github.com/cippbot/cippbot/internal/fakegraph"
)

// rehearsalService connects to sim with every side (Exchange,
// SharePoint, MFA) pointed at it.
func rehearsalService(t testing.TB, sim *fakegraph.Server) *actions.Service {
	t.Helper()
	c, err := m365.New(m365.Config{
		GraphURL: sim.URL(), AuthorityHost: sim.URL() + "/",
		ClientID: fakegraph.DefaultClientID, ClientSecret: fakegraph.DefaultClientSecret, HTTPClient: sim.Client(),
		SharePointAdminURL: sim.URL(), MFAConnectorURL: sim.URL(), ExchangeURL: sim.URL(),
	})
	if err != nil {
		t.Fatal(err)
	}
	return &actions.Service{Connector: c}
}

// writes returns the requests in log that could change something: any
// but a GET, a token request, a $batch whose items are all GETs (its
// items are logged after it, each on its own), or an Exchange
// InvokeCommand running a Get-* cmdlet.
func writes(log []fakegraph.Request) []string {
	var out []string
	for _, r := range log {
		switch {
		case r.Method == http.MethodGet:
		case r.Method == http.MethodPost && r.BatchItemID == "" &&
			(strings.HasSuffix(r.Path, "/oauth2/v2.0/token") || strings.HasSuffix(r.Path, "/oauth2/token")):
		case r.Method == http.MethodPost && r.BatchItemID == "" && strings.HasSuffix(r.Path, "/$batch"):
			// its items follow, checked on their own
		case r.Method == http.MethodPost && strings.HasSuffix(r.Path, "/InvokeCommand"):
			var in struct {
				CmdletInput struct{ CmdletName string }
			}
			if json.Unmarshal(r.Body, &in) != nil || !strings.HasPrefix(in.CmdletInput.CmdletName, "Get-") {
				out = append(out, r.Method+" "+r.Path+" "+in.CmdletInput.CmdletName)
			}
		default:
			out = append(out, r.Method+" "+r.Path)
		}
	}
	return out
}

func TestWritesCatchesWrites(t *testing.T) {
	t.Parallel()
	log := []fakegraph.Request{
		{Method: "GET", Path: "/v1.0/users/a"},
		{Method: "POST", Path: "/v1.0/$batch"},
		{Method: "PATCH", Path: "/v1.0/users/a", BatchItemID: "1"},
		{Method: "POST", Path: "/adminapi/beta/t/InvokeCommand", Body: []byte(`{"CmdletInput":{"CmdletName":"Set-Mailbox"}}`)},
		{Method: "POST", Path: "/adminapi/beta/t/InvokeCommand", Body: []byte(`{"CmdletInput":{"CmdletName":"Get-Mailbox"}}`)},
		{Method: "POST", Path: "/v1.0/servicePrincipals"},
		{Method: "POST", Path: "/t/oauth2/v2.0/token"},
	}
	got := writes(log)
	if len(got) != 3 {
		t.Errorf("writes = %q, want the PATCH in the batch, Set-Mailbox and the POST", got)
	}
}

// TestRehearse_SendsNoWrite rehearses every action of the catalogue
// against a user of the simulated tenant and proves from its request log
// that nothing but reads and token requests went out.
func TestRehearse_SendsNoWrite(t *testing.T) {
	t.Parallel()
	sim := newSim(t)
	svc := rehearsalService(t, sim)
	// The MFA service app missing: a real push would add it.
	sim.RemoveServicePrincipal(tenant, fakegraph.MFAAppID)
	sim.ResetRequests()

	rep, err := svc.Rehearse(ctx(), tenant, actions.Default(), "AdeleV@contoso.com")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range rep.Lines() {
		t.Log(l)
	}
	log := sim.Requests()
	t.Logf("%d requests", len(log))
	if len(log) == 0 {
		t.Fatal("the rehearsal sent no request")
	}
	if w := writes(log); len(w) > 0 {
		t.Errorf("the rehearsal sent %d requests that may write:\n%s", len(w), strings.Join(w, "\n"))
	}
	var sawExchange, sawAdminToken, sawPolicy bool
	for _, r := range log {
		sawExchange = sawExchange || strings.HasSuffix(r.Path, "/InvokeCommand")
		sawAdminToken = sawAdminToken || strings.Contains(string(r.Body), "-admin.")
		sawPolicy = sawPolicy || strings.HasSuffix(r.Path, "/policies/defaultAppManagementPolicy")
	}
	if !sawExchange || !sawAdminToken || !sawPolicy {
		t.Errorf("rehearsal skipped a read: Exchange %v, SharePoint admin token %v, app management policy %v", sawExchange, sawAdminToken, sawPolicy)
	}
	if len(rep.Actions) != len(actions.Default().All()) {
		t.Errorf("%d lines for %d actions", len(rep.Actions), len(actions.Default().All()))
	}
	got := map[string]actions.Rehearsal{}
	for _, a := range rep.Actions {
		got[a.Action] = a
	}
	if a := got["send-mfa-push"]; !a.Ready || !strings.Contains(a.Note, "not in the tenant yet; the first push adds it") {
		t.Errorf("send-mfa-push = %+v, want ready, noting that the MFA service app is missing", a)
	}
	for _, sp := range sim.ServicePrincipals(tenant) {
		if sp.AppID == fakegraph.MFAAppID {
			t.Error("the rehearsal added the MFA service app")
		}
	}
	if a := got["provision-onedrive"]; a.Ready || !strings.Contains(a.Reason, "delegated") {
		t.Errorf("provision-onedrive = %+v, want not ready: delegated only", a)
	}
	for _, name := range []string{"user", "reset-password", "convert-mailbox", "research-compromise", "add-license"} {
		if a := got[name]; !a.Ready {
			t.Errorf("%s not ready: %s", name, a.Reason)
		}
	}
	if _, ok := sim.User(tenant, "AdeleV@contoso.com"); !ok {
		t.Error("the user is gone")
	}
}

// TestRehearse_Reasons checks that each kind of trouble is named on the
// action it stops, with what to do.
func TestRehearse_Reasons(t *testing.T) {
	t.Parallel()
	sim := newSim(t)
	svc := rehearsalService(t, sim)
	sim.SetPasswordAdditionRestricted(tenant, true, time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC))
	perms := fakegraph.DefaultPermissions()
	var kept []string
	for _, p := range perms {
		if p != "AuditLog.Read.All" {
			kept = append(kept, p)
		}
	}
	sim.SetPermissions(tenant, kept)
	sim.ResetRequests()

	rep, err := svc.Rehearse(ctx(), tenant, actions.Default(), "AdeleV@contoso.com")
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]actions.Rehearsal{}
	for _, a := range rep.Actions {
		got[a.Action] = a
	}
	if a := got["send-mfa-push"]; a.Ready || !strings.Contains(a.Reason, "forbids app secrets (passwordAddition for apps added after 2025-01-01)") {
		t.Errorf("send-mfa-push = %+v, want the app management policy named", a)
	}
	if a := got["research-compromise"]; a.Ready || a.Reason != "missing permission: grant AuditLog.Read.All" {
		t.Errorf("research-compromise = %+v, want not ready: AuditLog.Read.All missing", a)
	}
	if a := got["reset-password"]; !a.Ready {
		t.Errorf("reset-password not ready: %s", a.Reason)
	}
	lines := rep.Lines()
	failures := len(rep.NotReady())
	if failures == 0 || len(lines) <= failures || lines[failures] != fmt.Sprintf("✓ %d of %d actions ready", rep.Ready(), len(rep.Actions)) {
		t.Errorf("Lines = %q, want %d failures first, then the ready count", lines, failures)
	}
	for _, l := range lines[:failures] {
		if !strings.HasPrefix(l, "✗ ") {
			t.Errorf("line %q among the failures", l)
		}
	}
	if w := writes(sim.Requests()); len(w) > 0 {
		t.Errorf("writes: %q", w)
	}
}

// TestRehearse_ServiceRefusals: a tenant without Entra ID P1 refuses its
// sign-in logs, and Exchange Online that does not know the app refuses
// every cmdlet; the rehearsal names both on the actions they stop.
func TestRehearse_ServiceRefusals(t *testing.T) {
	t.Parallel()
	sim := newSim(t)
	svc := rehearsalService(t, sim)
	// Graph's answer to a sign-in log read in a tenant without P1
	// (https://learn.microsoft.com/en-us/entra/identity/monitoring-health/howto-access-activity-logs).
	sim.Inject(fakegraph.Fault{Method: "GET", PathContains: "/auditLogs/signIns", Times: -1, Status: 403,
		Code: "Authentication_RequestFromNonPremiumTenantOrB2CTenant", Message: "Neither tenant is B2C or tenant doesn't have premium license"})
	sim.Inject(fakegraph.Fault{Method: "POST", PathContains: "/InvokeCommand", Times: -1, Status: 401})
	sim.SetPasswordAdditionRestricted(tenant, true, time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC))

	rep, err := svc.Rehearse(ctx(), tenant, actions.Default(), "AdeleV@contoso.com")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range rep.Lines() {
		t.Log(l)
	}
	got := map[string]actions.Rehearsal{}
	for _, a := range rep.Actions {
		got[a.Action] = a
	}
	if a := got["research-compromise"]; a.Ready || !strings.Contains(a.Reason, "sign-in logs need an Entra ID P1") {
		t.Errorf("research-compromise = %+v, want not ready: sign-in logs need P1", a)
	}
	if a := got["user"]; !a.Ready {
		t.Errorf("user not ready (it shows less without sign-ins, but works): %s", a.Reason)
	}
	for _, name := range []string{"convert-mailbox", "set-ooo", "disable-forwarding", "remove-inbox-rules"} {
		if a := got[name]; a.Ready || !strings.Contains(a.Reason, "Exchange.ManageAsApp") {
			t.Errorf("%s = %+v, want not ready: Exchange refuses the app", name, a)
		}
	}
	if a := got["reset-password"]; !a.Ready {
		t.Errorf("reset-password not ready: %s", a.Reason)
	}
	if a := got["add-to-group"]; !a.Ready || !strings.Contains(a.Note, "distribution lists will fail: ") {
		t.Errorf("add-to-group = %+v, want ready with a note that distribution lists fail", a)
	}
}

// TestRehearse_MissingRole names the Entra role the app lacks on the
// actions that need it, and the tenant's refusal when it cannot sign in.
func TestRehearse_MissingRole(t *testing.T) {
	t.Parallel()
	sim := newSim(t)
	svc := rehearsalService(t, sim)
	if err := sim.SetAppRoles(tenant, "Exchange Administrator"); err != nil {
		t.Fatal(err)
	}
	rep, err := svc.Rehearse(ctx(), tenant, actions.Default(), "AdeleV@contoso.com")
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]actions.Rehearsal{}
	for _, a := range rep.Actions {
		got[a.Action] = a
	}
	if a := got["reset-password"]; a.Ready || a.Reason != "missing Entra role: assign the User Administrator role to cippbot's app" {
		t.Errorf("reset-password = %+v, want the User Administrator role named", a)
	}
	if a := got["convert-mailbox"]; !a.Ready {
		t.Errorf("convert-mailbox not ready with Exchange Administrator: %s", a.Reason)
	}

	sim.SetTokenError(tenant, "7000229")
	_, err = rehearsalService(t, sim).Rehearse(ctx(), tenant, actions.Default(), "AdeleV@contoso.com")
	if err == nil || !strings.Contains(actions.ErrorMessage(err), "AADSTS7000229") {
		t.Errorf("err = %v, want the sign-in refusal", err)
	}
}

// TestRehearse_NoFreeLicence notes, on the actions that hand out
// licences, a tenant whose subscriptions are all used up: they still
// work (add-user without a licence), so it is a note.
func TestRehearse_NoFreeLicence(t *testing.T) {
	t.Parallel()
	sim := newSim(t)
	seed := fakegraph.PartnerSeed()
	seed.SKUs[0].Enabled = len(seed.Users) // every one assigned
	if err := sim.AddTenant(seed); err != nil {
		t.Fatal(err)
	}
	rep, err := rehearsalService(t, sim).Rehearse(ctx(), fakegraph.PartnerTenantID, actions.Default(), seed.Users[1].UserPrincipalName)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range rep.Actions {
		switch a.Action {
		case "add-user", "bulk-add", "add-license":
			if !a.Ready || a.Note != "no subscription has a free licence" {
				t.Errorf("%s = %+v, want ready with a note", a.Action, a)
			}
		case "send-mfa-push":
			if !a.Ready || a.Note != "" {
				t.Errorf("%s = %+v, want ready: the user has an authenticator", a.Action, a)
			}
		}
	}
}

// TestRehearse_MFAAppDisabled: a disabled MFA client app gets no token,
// so send-mfa-push is not ready, and says where to enable it.
func TestRehearse_MFAAppDisabled(t *testing.T) {
	t.Parallel()
	sim := newSim(t)
	seed := fakegraph.PartnerSeed()
	seed.ServicePrincipals = fakegraph.DefaultServicePrincipals()
	for i := range seed.ServicePrincipals {
		if seed.ServicePrincipals[i].AppID == fakegraph.MFAAppID {
			seed.ServicePrincipals[i].Disabled = true
		}
	}
	if err := sim.AddTenant(seed); err != nil {
		t.Fatal(err)
	}
	rep, err := rehearsalService(t, sim).Rehearse(ctx(), fakegraph.PartnerTenantID, actions.Default(), seed.Users[1].UserPrincipalName)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range rep.Actions {
		if a.Action == "send-mfa-push" && (a.Ready || !strings.Contains(a.Reason, "Multi-Factor Auth Client app is disabled")) {
			t.Errorf("send-mfa-push = %+v, want not ready: the app is disabled", a)
		}
	}
}

// TestRehearse_UnknownUser fails as a whole: there is no one to rehearse on.
func TestRehearse_UnknownUser(t *testing.T) {
	t.Parallel()
	sim := newSim(t)
	svc := rehearsalService(t, sim)
	_, err := svc.Rehearse(ctx(), tenant, actions.Default(), "nobody@contoso.com")
	if actions.ErrorCode(err) != actions.ENOTFOUND {
		t.Errorf("err = %v, want not found", err)
	}
}

// TestRehearse_GDAPSyncedUser: judged by GDAP roles that give Password
// Administrator alone, reset-password is ready for a cloud user and not
// for a synced one, whose reset writes the password back and needs
// Authentication Administrator.
func TestRehearse_GDAPSyncedUser(t *testing.T) {
	t.Parallel()
	sim := newSim(t)
	svc := rehearsalService(t, sim)
	svc.Judge = func(_ context.Context, _ string, rep actions.CheckReport, c *actions.Catalogue) actions.CheckReport {
		return actions.CheckGDAP(rep, c, []string{"Password Administrator", "User Administrator"})
	}
	for upn, want := range map[string]string{
		"AdeleV@contoso.com": "",
		"GradyA@contoso.com": "missing GDAP role for this user: give the service account's group the Authentication Administrator role in an access assignment of the tenant's relationship",
	} {
		rep, err := svc.Rehearse(ctx(), tenant, actions.Default(), upn)
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range rep.Actions {
			if a.Action == "reset-password" && a.Reason != want {
				t.Errorf("reset-password of %s: %q, want %q", upn, a.Reason, want)
			}
		}
	}
}

// BenchmarkRehearse times a rehearsal of every action against one user,
// with the simulated tenant answering each request after 50 ms, as a
// nearby Microsoft 365 tenant does; it reports the requests made.
func BenchmarkRehearse(b *testing.B) {
	sim := fakegraph.NewTest(b, fakegraph.Options{})
	sim.Start()
	b.Cleanup(sim.Close)
	svc := rehearsalService(b, sim)
	if _, err := svc.Rehearse(ctx(), tenant, actions.Default(), "AdeleV@contoso.com"); err != nil {
		b.Fatal(err) // tokens cached before the clock starts
	}
	sim.SetLatency(50 * time.Millisecond)
	sim.ResetRequests()
	b.ResetTimer()
	for range b.N {
		if _, err := svc.Rehearse(ctx(), tenant, actions.Default(), "AdeleV@contoso.com"); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(sim.Requests()))/float64(b.N), "requests/op")
}
