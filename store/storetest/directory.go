package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cippbot/cippbot/actions"
	"github.com/cippbot/cippbot/bot"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func testGrants(t *testing.T, h Harness) {
	s := fresh(t, h).handle(nil)
	if list, err := s.Grants(ctx()); err != nil || len(list) != 0 {
		t.Fatalf("Grants of an empty store = %v, %v", list, err)
	}
	grants := []bot.Grant{
		{Actor: "slack:U2", Role: bot.RoleHelpdesk, Tenant: "t1", GrantedBy: "config", GrantedAt: t0},
		{Actor: "slack:U1", Role: bot.RoleApprover, GrantedBy: "slack:U9", GrantedAt: t0.Add(time.Second)},
		{Actor: "slack:U2", Role: bot.RoleViewer, GrantedBy: "config", GrantedAt: t0},
		{Actor: "slack:U1", Role: bot.RoleAdmin, Tenant: "t2", GrantedBy: "config", GrantedAt: t0},
	}
	for _, g := range grants {
		if err := s.PutGrant(ctx(), g); err != nil {
			t.Fatal(err)
		}
	}
	// Replacing: same actor and tenant.
	grants[0].Role = bot.RoleApprover
	if err := s.PutGrant(ctx(), grants[0]); err != nil {
		t.Fatal(err)
	}
	got, err := s.Grants(ctx())
	if err != nil {
		t.Fatal(err)
	}
	want := []bot.Grant{grants[1], grants[3], grants[2], grants[0]}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Grants (by actor, then tenant) (-want +got):\n%s", diff)
	}
	// GrantsOf: one actor's, by tenant, and not those of an actor whose
	// ID begins with it.
	if err := s.PutGrant(ctx(), bot.Grant{Actor: "slack:U10", Role: bot.RoleAdmin, GrantedBy: "config", GrantedAt: t0}); err != nil {
		t.Fatal(err)
	}
	for actor, want := range map[string][]bot.Grant{
		"slack:U1": {grants[1], grants[3]}, "slack:U2": {grants[2], grants[0]}, "slack:U": nil, "slack:U9": nil, "slack:U1\x00": nil,
	} {
		got, err := s.GrantsOf(ctx(), actor)
		if err != nil {
			t.Errorf("GrantsOf(%q): %v", actor, err)
		}
		if diff := cmp.Diff(want, got, cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("GrantsOf(%q) (-want +got):\n%s", actor, diff)
		}
	}
	if err := s.DeleteGrant(ctx(), "slack:U10", ""); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteGrant(ctx(), "slack:U2", "t1"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteGrant(ctx(), "slack:U2", "t1"); !errors.Is(err, bot.ErrNotFound) {
		t.Errorf("deleting a deleted grant = %v, want ErrNotFound", err)
	}
	if err := s.DeleteGrant(ctx(), "slack:U1", "t1"); !errors.Is(err, bot.ErrNotFound) {
		t.Errorf("deleting a grant in another tenant = %v, want ErrNotFound", err)
	}
	if got, _ := s.Grants(ctx()); len(got) != 3 {
		t.Errorf("%d grants after a delete, want 3", len(got))
	}
	for _, bad := range []bot.Grant{
		{Actor: "", Role: bot.RoleViewer},
		{Actor: "slack:U3", Role: bot.RoleNone},
		{Actor: "slack:U3", Role: bot.RoleAdmin + 1},
		{Actor: "slack:U3\x00", Role: bot.RoleViewer},
	} {
		if err := s.PutGrant(ctx(), bad); err == nil {
			t.Errorf("PutGrant(%+v) succeeded", bad)
		}
	}
}

func tenant(id, domain string, more ...string) bot.Tenant {
	return bot.Tenant{ID: id, Name: strings.ToUpper(domain), DefaultDomain: domain, Domains: append([]string{domain}, more...), Source: "manual"}
}

func testTenants(t *testing.T, h Harness) {
	s := fresh(t, h).handle(nil)
	contoso := tenant("id-contoso", "contoso.com", "contoso.onmicrosoft.com")
	fabrikam := tenant("id-fabrikam", "Fabrikam.com", "shared.example")
	adatum := tenant("id-adatum", "adatum.com", "SHARED.example")
	adatum.Alias = "ad"
	// What tenants sync records of the partner's GDAP access is kept as
	// it was read.
	contoso.GDAP = &bot.GDAPAccess{
		Assignments: []actions.AccessAssignment{{Relationship: "rel-1", GroupID: "g-desk",
			RoleIDs: []string{"fe930be7-5e62-47db-91af-98c3a49a38b1", "29232cdf-9323-42fd-ade2-1d097af3e4de"}}},
		Signed: true, ServiceAccountGroups: []string{"g-desk"}, SyncedAt: time.Date(2026, 12, 6, 11, 0, 0, 0, time.UTC),
	}
	for _, tn := range []bot.Tenant{fabrikam, contoso, adatum} {
		if err := s.PutTenant(ctx(), tn); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.PutTenant(ctx(), bot.Tenant{DefaultDomain: "x.com"}); err == nil {
		t.Error("PutTenant with an empty ID succeeded")
	}
	list, err := s.Tenants(ctx())
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]bot.Tenant{adatum, contoso, fabrikam}, list); diff != "" {
		t.Errorf("Tenants (by default domain, ignoring case) (-want +got):\n%s", diff)
	}
	byDomain := func(domain, want string) {
		t.Helper()
		got, err := s.TenantByDomain(ctx(), domain)
		if err != nil || got.ID != want {
			t.Errorf("TenantByDomain(%q) = %q, %v; want %q", domain, got.ID, err, want)
		}
	}
	byDomain("CONTOSO.com", "id-contoso")
	byDomain("contoso.onmicrosoft.com", "id-contoso")
	byDomain("fabrikam.COM", "id-fabrikam")
	if _, err := s.TenantByDomain(ctx(), "nowhere.com"); !errors.Is(err, bot.ErrNotFound) {
		t.Errorf("TenantByDomain(unknown) = %v, want ErrNotFound", err)
	}
	if _, err := s.TenantByDomain(ctx(), ""); !errors.Is(err, bot.ErrNotFound) {
		t.Errorf("TenantByDomain(\"\") = %v, want ErrNotFound", err)
	}
	if _, err := s.TenantByDomain(ctx(), "shared.example"); err == nil || errors.Is(err, bot.ErrNotFound) {
		t.Errorf("TenantByDomain(claimed twice) = %v, want an error that is not ErrNotFound", err)
	}
	byName := func(name, want string) {
		t.Helper()
		got, err := s.TenantByName(ctx(), name)
		if err != nil || got.ID != want {
			t.Errorf("TenantByName(%q) = %q, %v; want %q", name, got.ID, err, want)
		}
	}
	byName("ID-CONTOSO", "id-contoso")
	byName("Contoso", "id-contoso") // first label of the default domain
	byName("ad", "id-adatum")       // explicit alias
	byName("fabrikam.com", "id-fabrikam")
	if _, err := s.TenantByName(ctx(), "adatum"); !errors.Is(err, bot.ErrNotFound) {
		t.Errorf("TenantByName(label of a tenant with an alias) = %v, want ErrNotFound", err)
	}
	if _, err := s.TenantByName(ctx(), "shared.example"); err == nil || errors.Is(err, bot.ErrNotFound) || !strings.Contains(err.Error(), "adatum.com") {
		t.Errorf("TenantByName(claimed twice) = %v, want an error naming the candidates", err)
	}

	// Replacing, then deleting with the bindings to it.
	contoso.Name = "Contoso Ltd"
	if err := s.PutTenant(ctx(), contoso); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.TenantByDomain(ctx(), "contoso.com"); got.Name != "Contoso Ltd" {
		t.Errorf("after replacing, name %q", got.Name)
	}
	for _, b := range []bot.Binding{
		{Platform: "slack", Channel: "C1", TenantID: "id-contoso", BoundBy: "slack:U1", BoundAt: t0},
		{Platform: "discord", Channel: "42", TenantID: "id-contoso", BoundBy: "discord:1", BoundAt: t0},
		{Platform: "slack", Channel: "C2", TenantID: "id-fabrikam", BoundBy: "slack:U1", BoundAt: t0},
	} {
		if err := s.PutBinding(ctx(), b); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.PutGrant(ctx(), bot.Grant{Actor: "slack:U1", Role: bot.RoleHelpdesk, Tenant: "id-contoso", GrantedBy: "config", GrantedAt: t0}); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteTenant(ctx(), "id-contoso"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteTenant(ctx(), "id-contoso"); !errors.Is(err, bot.ErrNotFound) {
		t.Errorf("deleting a deleted tenant = %v, want ErrNotFound", err)
	}
	if err := s.DeleteTenant(ctx(), ""); !errors.Is(err, bot.ErrNotFound) {
		t.Errorf("DeleteTenant(\"\") = %v, want ErrNotFound", err)
	}
	if _, err := s.TenantByDomain(ctx(), "contoso.com"); !errors.Is(err, bot.ErrNotFound) {
		t.Errorf("deleted tenant still found: %v", err)
	}
	bs, err := s.Bindings(ctx())
	if err != nil {
		t.Fatal(err)
	}
	if len(bs) != 1 || bs[0].Channel != "C2" {
		t.Errorf("bindings after deleting the tenant: %+v, want only C2's", bs)
	}
	if gs, _ := s.Grants(ctx()); len(gs) != 1 || gs[0].Tenant != "id-contoso" {
		t.Errorf("grants after deleting the tenant: %+v, want the grant scoped to it kept", gs)
	}
}

func testBindings(t *testing.T, h Harness) {
	s := fresh(t, h).handle(nil)
	b := bot.Binding{Platform: "slack", Channel: "C1", TenantID: "id-contoso", BoundBy: "slack:U1", BoundAt: t0}
	if err := s.PutBinding(ctx(), b); !errors.Is(err, bot.ErrNotFound) {
		t.Errorf("binding to a tenant not in the directory = %v, want ErrNotFound", err)
	}
	for _, tn := range []bot.Tenant{tenant("id-contoso", "contoso.com"), tenant("id-fabrikam", "fabrikam.com")} {
		if err := s.PutTenant(ctx(), tn); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Binding(ctx(), "slack", "C1"); !errors.Is(err, bot.ErrNotFound) {
		t.Errorf("Binding(unbound) = %v, want ErrNotFound", err)
	}
	others := []bot.Binding{
		{Platform: "slack", Channel: "C0", TenantID: "id-fabrikam", BoundBy: "slack:U1", BoundAt: t0},
		{Platform: "discord", Channel: "9", TenantID: "id-fabrikam", BoundBy: "discord:1", BoundAt: t0},
	}
	for _, x := range append([]bot.Binding{b}, others...) {
		if err := s.PutBinding(ctx(), x); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.Binding(ctx(), "slack", "C1")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(b, got); diff != "" {
		t.Errorf("Binding (-want +got):\n%s", diff)
	}
	b.TenantID = "id-fabrikam"
	if err := s.PutBinding(ctx(), b); err != nil {
		t.Fatal(err)
	}
	list, err := s.Bindings(ctx())
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]bot.Binding{others[1], others[0], b}, list); diff != "" {
		t.Errorf("Bindings (by platform, then channel) (-want +got):\n%s", diff)
	}
	if err := s.DeleteBinding(ctx(), "slack", "C1"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteBinding(ctx(), "slack", "C1"); !errors.Is(err, bot.ErrNotFound) {
		t.Errorf("deleting a deleted binding = %v, want ErrNotFound", err)
	}
	if _, err := s.Binding(ctx(), "slack", ""); !errors.Is(err, bot.ErrNotFound) {
		t.Errorf("Binding with an empty channel = %v, want ErrNotFound", err)
	}
	for _, bad := range []bot.Binding{
		{Platform: "", Channel: "C1", TenantID: "id-contoso"},
		{Platform: "slack", Channel: "", TenantID: "id-contoso"},
		{Platform: "slack", Channel: "C1", TenantID: ""},
		{Platform: "slack", Channel: "C\x001", TenantID: "id-contoso"},
	} {
		if err := s.PutBinding(ctx(), bad); err == nil {
			t.Errorf("PutBinding(%+v) succeeded", bad)
		}
	}
}

func testJobs(t *testing.T, h Harness) {
	s := fresh(t, h).handle(nil)
	if list, err := s.Jobs(ctx()); err != nil || len(list) != 0 {
		t.Fatalf("Jobs of an empty store = %v, %v", list, err)
	}
	job := func(id string) bot.Job {
		return bot.Job{ID: id, Action: "add-to-group", TenantID: "id-contoso", TenantDomain: "contoso.com",
			Target: bot.Target{ID: "obj-1", UPN: "new@contoso.com"}, What: "add to Sales DL",
			Op:        actions.Op{Kind: actions.OpAddGroupMember, GroupID: "g1", UserID: "obj-1"},
			Requester: bot.Actor{ID: "slack:U1"}, Platform: "slack", Channel: "C1",
			CreatedAt: t0, NextAt: t0.Add(time.Minute)}
	}
	for _, id := range []string{"j2", "j1", "j3"} {
		if err := s.PutJob(ctx(), job(id)); err != nil {
			t.Fatal(err)
		}
	}
	j1 := job("j1")
	j1.Attempts, j1.LastError, j1.NextAt = 2, "mailbox not ready", t0.Add(5*time.Minute)
	if err := s.PutJob(ctx(), j1); err != nil {
		t.Fatal(err)
	}
	list, err := s.Jobs(ctx())
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]bot.Job{j1, job("j2"), job("j3")}, list); diff != "" {
		t.Errorf("Jobs (by ID) (-want +got):\n%s", diff)
	}
	if err := s.DeleteJob(ctx(), "j2"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteJob(ctx(), "j2"); !errors.Is(err, bot.ErrNotFound) {
		t.Errorf("deleting a deleted job = %v, want ErrNotFound", err)
	}
	if err := s.PutJob(ctx(), bot.Job{}); err == nil {
		t.Error("PutJob with an empty ID succeeded")
	}
	if list, _ := s.Jobs(ctx()); len(list) != 2 {
		t.Errorf("%d jobs left, want 2", len(list))
	}
}

func testDeliveries(t *testing.T, h Harness) {
	t.Run("Once", func(t *testing.T) {
		s := fresh(t, h).handle(nil)
		first := func(key string, ttl time.Duration, want bool) {
			t.Helper()
			got, err := s.FirstDelivery(ctx(), key, ttl)
			if err != nil || got != want {
				t.Errorf("FirstDelivery(%q, %v) = %v, %v; want %v", key, ttl, got, err, want)
			}
		}
		first("slack:trigger:1", time.Hour, true)
		first("slack:trigger:1", time.Hour, false)
		first("slack:trigger:2", time.Hour, true)
		first("slack:trigger:1", time.Hour, false)
		if _, err := s.FirstDelivery(ctx(), "", time.Hour); err == nil {
			t.Error("FirstDelivery with an empty key succeeded")
		}
		for _, ttl := range []time.Duration{0, -time.Second} {
			if _, err := s.FirstDelivery(ctx(), "k", ttl); err == nil {
				t.Errorf("FirstDelivery with ttl %v succeeded", ttl)
			}
		}
	})
	t.Run("Expires", func(t *testing.T) {
		s := fresh(t, h).handle(nil)
		const ttl = 400 * time.Millisecond
		if ok, err := s.FirstDelivery(ctx(), "k", ttl); !ok || err != nil {
			t.Fatalf("first = %v, %v", ok, err)
		}
		if ok, err := s.FirstDelivery(ctx(), "k", ttl); ok || err != nil {
			t.Fatalf("repeat within the ttl = %v, %v; want false", ok, err)
		}
		time.Sleep(ttl + 200*time.Millisecond)
		if ok, err := s.FirstDelivery(ctx(), "k", ttl); !ok || err != nil {
			t.Fatalf("after the ttl = %v, %v; want true", ok, err)
		}
		if ok, err := s.FirstDelivery(ctx(), "k", ttl); ok || err != nil {
			t.Fatalf("repeat after recording afresh = %v, %v; want false", ok, err)
		}
		// A longer ttl asked later keeps a key the short one would drop.
		time.Sleep(ttl + 200*time.Millisecond)
		if ok, err := s.FirstDelivery(ctx(), "k", time.Hour); ok || err != nil {
			t.Fatalf("repeat within a longer ttl = %v, %v; want false", ok, err)
		}
	})
	t.Run("TwoHandles", func(t *testing.T) {
		d := fresh(t, h)
		s1 := d.handle(nil)
		s2 := d.second(s1, nil)
		for round := range 3 {
			key := fmt.Sprintf("discord:interaction:%d", round)
			const n = 40
			var (
				wg     sync.WaitGroup
				mu     sync.Mutex
				firsts int
				start  = make(chan struct{})
			)
			for i := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					s := s1
					if i%2 == 1 {
						s = s2
					}
					<-start
					ok, err := s.FirstDelivery(ctx(), key, time.Hour)
					if err != nil {
						t.Errorf("FirstDelivery: %v", err)
						return
					}
					if ok {
						mu.Lock()
						firsts++
						mu.Unlock()
					}
				}()
			}
			close(start)
			wg.Wait()
			if firsts != 1 {
				t.Errorf("round %d: %d of %d concurrent deliveries on two handles were first, want 1", round, firsts, n)
			}
		}
	})
}

func testClosed(t *testing.T, h Harness) {
	d := fresh(t, h)
	s := d.handle(nil)
	cancelled, cancel := context.WithCancel(ctx())
	cancel()
	if _, err := s.Approval(cancelled, "x"); !errors.Is(err, context.Canceled) {
		t.Errorf("Approval with a cancelled context = %v, want context.Canceled", err)
	}
	if _, err := s.Append(cancelled, record(1)); !errors.Is(err, context.Canceled) {
		t.Errorf("Append with a cancelled context = %v, want context.Canceled", err)
	}
	if _, err := s.FirstDelivery(cancelled, "k", time.Hour); !errors.Is(err, context.Canceled) {
		t.Errorf("FirstDelivery with a cancelled context = %v, want context.Canceled", err)
	}
	if head, err := s.AuditHead(ctx()); err != nil || head.Seq != 0 {
		t.Errorf("after cancelled calls the head is %+v, %v; want nothing appended", head, err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("closing twice: %v", err)
	}
	calls := map[string]error{}
	_, calls["Approval"] = s.Approval(ctx(), "x")
	calls["CreateApproval"] = s.CreateApproval(ctx(), approval("x", t0))
	_, calls["Append"] = s.Append(ctx(), record(1))
	_, calls["Grants"] = s.Grants(ctx())
	_, calls["GrantsOf"] = s.GrantsOf(ctx(), "slack:U1")
	_, calls["FirstDelivery"] = s.FirstDelivery(ctx(), "k", time.Hour)
	_, calls["VerifyAudit"] = s.VerifyAudit(ctx())
	for _, name := range slices.Sorted(mapsKeys(calls)) {
		if calls[name] == nil {
			t.Errorf("%s on a closed store succeeded", name)
		}
	}
}

func mapsKeys(m map[string]error) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}
