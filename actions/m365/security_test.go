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
	sim := newSim(t)
	d, _ := connectSides(t, sim)
	t.Run("OK", func(t *testing.T) {
		rules, err := d.InboxRules(ctx(), fakegraph.ContosoIsaiahID)
		if err != nil {
			t.Fatal(err)
		}
		byID := map[string]actions.InboxRule{}
		for _, r := range rules {
			byID[r.ID] = r
		}
		fwd, hide := byID[fakegraph.ContosoIsaiahForwardRuleID], byID[fakegraph.ContosoIsaiahHideRuleID]
		if fwd.Name != "." || !fwd.Enabled || !slices.Equal(fwd.ForwardTo, []string{fakegraph.ContosoIsaiahForward}) || fwd.Delete {
			t.Errorf("forwarding rule = %+v", fwd)
		}
		if hide.Name != ".." || hide.MoveTo != "RSS Feeds" || !hide.MarkRead {
			t.Errorf("hiding rule = %+v", hide)
		}
		adele, err := d.InboxRules(ctx(), fakegraph.ContosoAdeleID)
		if err != nil || len(adele) != 1 || adele[0].MoveTo != "Newsletters" {
			t.Errorf("Adele's rules = %+v, %v (want one moving to her own folder, by name)", adele, err)
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
	t.Run("Delete", func(t *testing.T) {
		if err := d.DeleteInboxRule(ctx(), fakegraph.ContosoIsaiahID, fakegraph.ContosoIsaiahForwardRuleID); err != nil {
			t.Fatal(err)
		}
		for _, r := range sim.InboxRules(tenant, fakegraph.ContosoIsaiahID) {
			if r.ID == fakegraph.ContosoIsaiahForwardRuleID {
				t.Error("rule still there")
			}
		}
		err := d.DeleteInboxRule(ctx(), fakegraph.ContosoIsaiahID, fakegraph.ContosoIsaiahForwardRuleID)
		if actions.ErrorCode(err) != actions.ENOTFOUND {
			t.Errorf("second delete: %v, want not found", err)
		}
	})
}

func TestSecurity_NewApps(t *testing.T) {
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
		if r := requestsTo(sim, "GET", "/v1.0/servicePrincipals"); len(r) != 1 || !strings.Contains(r[0].RawQuery, "createdDateTime%20ge%20") {
			t.Errorf("servicePrincipals requests: %+v", r)
		}
		all, err := d.NewApps(ctx(), time.Now().Add(-10*365*24*time.Hour))
		if err != nil || len(all) < 4 {
			t.Fatalf("NewApps(10 years) = %+v, %v", all, err)
		}
		for _, a := range all {
			if a.Foreign != (a.AppID == fakegraph.ContosoSuspiciousAppID) {
				t.Errorf("%s (%s): foreign = %v", a.Name, a.AppID, a.Foreign)
			}
		}
	})
	t.Run("ErrForbidden", func(t *testing.T) {
		sim.SetPermissions(tenant, []string{"User.Read.All"})
		defer sim.SetPermissions(tenant, nil)
		_, err := d.NewApps(ctx(), time.Now().Add(-time.Hour))
		if actions.ErrorCode(err) != actions.EFORBIDDEN {
			t.Errorf("err = %v, want forbidden", err)
		}
	})
}

func TestAuthMethods_Created(t *testing.T) {
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
