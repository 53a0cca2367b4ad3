package m365_test

import (
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cippbot/cippbot/actions"
	"github.com/cippbot/cippbot/internal/fakegraph"
)

func TestSecurity_SignIns(t *testing.T) {
	t.Parallel()
	sim := newSim(t)
	d, _ := connectSides(t, sim)
	t.Run("OK", func(t *testing.T) {
		since := time.Now().Add(-30 * 24 * time.Hour)
		got, err := d.SignIns(ctx(), fakegraph.ContosoIsaiahID, since, 1000)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) < 8 || !slices.IsSortedFunc(got, func(a, b actions.SignIn) int { return b.Time.Compare(a.Time) }) {
			t.Fatalf("%d sign-ins, want the week's and the month's, newest first: %+v", len(got), got)
		}
		var foreign *actions.SignIn
		for i, s := range got {
			if s.Time.Before(since) {
				t.Errorf("sign-in from before since: %+v", s)
			}
			if s.Country == "NG" && s.OK {
				foreign = &got[i]
			}
		}
		if foreign == nil || foreign.Risk != "high" || !foreign.Interactive || foreign.IP != fakegraph.ContosoIsaiahAttackIP ||
			time.Since(foreign.Time) > 2*24*time.Hour {
			t.Errorf("foreign sign-in = %+v", foreign)
		}
		r := requestsTo(sim, "GET", "/auditLogs/signIns")
		q, _ := url.ParseQuery(r[len(r)-1].RawQuery)
		if f := q.Get("$filter"); !strings.Contains(f, "userId eq '"+fakegraph.ContosoIsaiahID+"'") || !strings.Contains(f, "createdDateTime ge "+since.UTC().Format(time.RFC3339)) {
			t.Errorf("$filter = %q", f)
		}
	})
	t.Run("Max", func(t *testing.T) {
		got, err := d.SignIns(ctx(), fakegraph.ContosoIsaiahID, time.Time{}, 3)
		if err != nil || len(got) != 3 {
			t.Errorf("SignIns(max 3) = %d, %v", len(got), err)
		}
	})
	t.Run("ErrForbidden", func(t *testing.T) {
		sim.SetPermissions(tenant, []string{"User.Read.All"})
		defer sim.SetPermissions(tenant, nil)
		_, err := d.SignIns(ctx(), fakegraph.ContosoIsaiahID, time.Now().Add(-time.Hour), 10)
		if actions.ErrorCode(err) != actions.EFORBIDDEN {
			t.Errorf("err = %v, want forbidden", err)
		}
	})
}

func TestSecurity_InboxRules(t *testing.T) {
	t.Parallel()
	sim := newSim(t)
	d, _ := connectSides(t, sim)
	t.Run("OK", func(t *testing.T) {
		rules, err := d.InboxRules(ctx(), "IsaiahL@contoso.com")
		if err != nil {
			t.Fatal(err)
		}
		byName := map[string]actions.InboxRule{}
		for _, r := range rules {
			byName[r.Name] = r
		}
		fwd, hide, hidden := byName["."], byName[".."], byName["..."]
		if len(rules) != 3 || !fwd.Enabled || !slices.Equal(fwd.ForwardTo, []string{fakegraph.ContosoIsaiahForward}) || fwd.Delete {
			t.Errorf("forwarding rule = %+v (of %d)", fwd, len(rules))
		}
		if hide.MoveTo != "RSS Feeds" || !hide.MarkRead {
			t.Errorf("hiding rule = %+v", hide)
		}
		// The hidden rule, which Graph's messageRules leave out.
		if !hidden.Enabled || !hidden.Delete || !slices.Equal(hidden.ForwardTo, []string{fakegraph.ContosoIsaiahHiddenForward}) ||
			!strings.HasPrefix(hidden.ID, `IsaiahL\`) {
			t.Errorf("hidden rule = %+v", hidden)
		}
		adele, err := d.InboxRules(ctx(), fakegraph.ContosoAdeleID)
		if err != nil || len(adele) != 1 || adele[0].MoveTo != "Newsletters" {
			t.Errorf("Adele's rules = %+v, %v (want one moving to her own folder, by name)", adele, err)
		}
		// Get-InboxRule -Mailbox <user> -IncludeHidden, routed by the
		// mailbox, whether the user is given by name or object ID.
		var n int
		for _, c := range sim.ExchangeCalls() {
			if c.Cmdlet == "Get-InboxRule" {
				n++
				if c.Misrouted || (c.Anchor != "UPN:IsaiahL@contoso.com" && c.Anchor != "UPN:AdeleV@contoso.com") {
					t.Errorf("call = %+v", c)
				}
			}
		}
		body := string(requestsTo(sim, "POST", "/InvokeCommand")[0].Body)
		if n != 2 || !strings.Contains(body, `"IncludeHidden":true`) || !strings.Contains(body, `"Mailbox":"IsaiahL@contoso.com"`) {
			t.Errorf("%d Get-InboxRule calls; first body %s", n, body)
		}
	})
	t.Run("ErrNoMailbox", func(t *testing.T) {
		_, err := d.InboxRules(ctx(), fakegraph.ContosoJoniID)
		if actions.ErrorCode(err) != actions.ENOTFOUND || !strings.Contains(actions.ErrorMessage(err), "has no Exchange mailbox") {
			t.Errorf("err = %v, want not found (no mailbox)", err)
		}
	})
	t.Run("ErrForbidden", func(t *testing.T) {
		sim.SetPermissions(tenant, []string{"User.Read.All"})
		defer sim.SetPermissions(tenant, nil)
		_, err := d.InboxRules(ctx(), fakegraph.ContosoIsaiahID)
		if actions.ErrorCode(err) != actions.EFORBIDDEN {
			t.Errorf("err = %v, want forbidden", err)
		}
	})
	hiddenID := func() string {
		rules, err := d.InboxRules(ctx(), "IsaiahL@contoso.com")
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rules {
			if r.Name == "..." {
				return r.ID
			}
		}
		t.Fatal("no hidden rule")
		return ""
	}
	t.Run("Disable", func(t *testing.T) {
		if err := d.DisableInboxRule(ctx(), "IsaiahL@contoso.com", hiddenID()); err != nil {
			t.Fatal(err)
		}
		rules := sim.InboxRules(tenant, fakegraph.ContosoIsaiahID)
		if len(rules) != 3 || rules[2].ID != fakegraph.ContosoIsaiahHiddenRuleID || !rules[2].Disabled {
			t.Errorf("after disable: %+v", rules)
		}
	})
	t.Run("Delete", func(t *testing.T) {
		id := hiddenID()
		if err := d.DeleteInboxRule(ctx(), "IsaiahL@contoso.com", id); err != nil {
			t.Fatal(err)
		}
		for _, r := range sim.InboxRules(tenant, fakegraph.ContosoIsaiahID) {
			if r.ID == fakegraph.ContosoIsaiahHiddenRuleID {
				t.Error("rule still there")
			}
		}
		err := d.DeleteInboxRule(ctx(), "IsaiahL@contoso.com", id)
		if actions.ErrorCode(err) != actions.ENOTFOUND || !strings.Contains(actions.ErrorMessage(err), "is gone") {
			t.Errorf("second delete: %v, want not found", err)
		}
		for _, c := range sim.ExchangeCalls() {
			if c.Misrouted {
				t.Errorf("misrouted: %+v", c)
			}
		}
	})
}

func TestSecurity_NewApps(t *testing.T) {
	t.Parallel()
	sim := newSim(t)
	d, _ := connectSides(t, sim)
	t.Run("OK", func(t *testing.T) {
		apps, err := d.NewApps(ctx(), time.Now().Add(-7*24*time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		if len(apps) != 1 {
			t.Fatalf("NewApps = %+v, want only the app added two days ago", apps)
		}
		a := apps[0]
		if a.AppID != fakegraph.ContosoSuspiciousAppID || a.Name != "Mail Backup Pro" || !a.Foreign || a.Publisher != "" ||
			time.Since(a.Created) < 24*time.Hour || time.Since(a.Created) > 3*24*time.Hour {
			t.Errorf("app = %+v", a)
		}
		// From the directory audit log: v1.0's servicePrincipal has no
		// createdDateTime to filter on.
		if r := requestsTo(sim, "GET", "/v1.0/auditLogs/directoryAudits"); len(r) != 1 || !strings.Contains(r[0].RawQuery, "activityDateTime%20ge%20") ||
			!strings.Contains(r[0].RawQuery, "Add%20service%20principal") || !strings.Contains(r[0].RawQuery, "Consent%20to%20application") {
			t.Errorf("directoryAudits requests: %+v", r)
		}
		if r := requestsTo(sim, "GET", "/v1.0/servicePrincipals"); len(r) != 0 {
			t.Errorf("servicePrincipals listed: %+v", r)
		}

		// Apps added since, by the tenant, by Microsoft and too long ago
		// for the log.
		const own, microsoft, old = "0b7e6f3a-2c1d-4e5f-8a9b-1c2d3e4f5a6b", "2d9a8b5c-4e3f-4a7b-8c1d-3e4f5a6b7c8d", "1c8f7a4b-3d2e-4f6a-9b0c-2d3e4f5a6b7c"
		for _, sp := range []fakegraph.ServicePrincipal{
			{AppID: own, DisplayName: "Contoso Expenses", AppOwnerOrganizationID: fakegraph.ContosoTenantID, CreatedAgo: time.Hour},
			{AppID: microsoft, DisplayName: "Microsoft Stream Service", AppOwnerOrganizationID: fakegraph.MicrosoftTenantID,
				VerifiedPublisher: "Microsoft Corporation", CreatedAgo: 24 * time.Hour},
			{AppID: old, DisplayName: "Old Tool", AppOwnerOrganizationID: fakegraph.ContosoSuspiciousAppOwner, CreatedAgo: 40 * 24 * time.Hour},
		} {
			if err := sim.AddServicePrincipal(tenant, sp); err != nil {
				t.Fatal(err)
			}
		}
		all, err := d.NewApps(ctx(), time.Now().Add(-10*365*24*time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, a := range all {
			got = append(got, a.Name)
			if a.Foreign != (a.AppID == fakegraph.ContosoSuspiciousAppID) {
				t.Errorf("%s (%s): foreign = %v", a.Name, a.AppID, a.Foreign)
			}
		}
		if !slices.Equal(got, []string{"Contoso Expenses", "Microsoft Stream Service", "Mail Backup Pro"}) {
			t.Errorf("NewApps(10 years) = %v, want the apps of the log's 30 days, newest first", got)
		}
		if len(all) == 3 && all[1].Publisher != "Microsoft Corporation" {
			t.Errorf("publisher = %q", all[1].Publisher)
		}
	})
	t.Run("ErrForbidden", func(t *testing.T) {
		// The log needs AuditLog.Read.All and Directory.Read.All.
		for _, perms := range [][]string{{"User.Read.All"}, {"AuditLog.Read.All"}} {
			sim.SetPermissions(tenant, perms)
			_, err := d.NewApps(ctx(), time.Now().Add(-time.Hour))
			if actions.ErrorCode(err) != actions.EFORBIDDEN {
				t.Errorf("%v: err = %v, want forbidden", perms, err)
			}
		}
		sim.SetPermissions(tenant, nil)
	})
}

func TestAuthMethods_Created(t *testing.T) {
	t.Parallel()
	sim := newSim(t)
	d, _ := connectSides(t, sim)
	methods, err := d.AuthMethods(ctx(), fakegraph.ContosoIsaiahID)
	if err != nil {
		t.Fatal(err)
	}
	var found bool
	for _, m := range methods {
		if m.Kind == "microsoftAuthenticator" {
			found = true
			if age := time.Since(m.Created); age < 12*time.Hour || age > 2*24*time.Hour {
				t.Errorf("authenticator created %v ago, want about 19 hours", age)
			}
		}
		if m.Kind == "phone" && !m.Created.IsZero() {
			t.Errorf("a phone method has no creation time in Graph, got %v", m.Created)
		}
	}
	if !found {
		t.Errorf("no authenticator among %+v", methods)
	}
}
