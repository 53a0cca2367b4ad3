package store_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/cippbot/cippbot/bot"
	"github.com/cippbot/cippbot/store"
	"github.com/google/go-cmp/cmp"
)

func TestGrants(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	admin := bot.Grant{Actor: "slack:U1", Role: bot.RoleAdmin, GrantedBy: "config", GrantedAt: t0}
	viewerA := bot.Grant{Actor: "slack:U2", Role: bot.RoleViewer, Tenant: "tenant-a", GrantedBy: "slack:U1", GrantedAt: t0}
	helpdeskAll := bot.Grant{Actor: "slack:U2", Role: bot.RoleHelpdesk, GrantedBy: "slack:U1", GrantedAt: t0}
	discord := bot.Grant{Actor: "discord:1", Role: bot.RoleApprover, Tenant: "tenant-b", GrantedBy: "slack:U1", GrantedAt: t0}

	t.Run("OK", func(t *testing.T) {
		db := MustOpenDB(t)
		for _, g := range []bot.Grant{viewerA, admin, helpdeskAll, discord} {
			if err := db.PutGrant(ctx, g); err != nil {
				t.Fatal(err)
			}
		}
		got, err := db.Grants(ctx)
		if err != nil {
			t.Fatal(err)
		}
		want := []bot.Grant{discord, admin, helpdeskAll, viewerA}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("Grants (-want +got):\n%s", diff)
		}
	})

	t.Run("Replace", func(t *testing.T) {
		db := MustOpenDB(t)
		if err := db.PutGrant(ctx, viewerA); err != nil {
			t.Fatal(err)
		}
		promoted := viewerA
		promoted.Role = bot.RoleApprover
		if err := db.PutGrant(ctx, promoted); err != nil {
			t.Fatal(err)
		}
		got, err := db.Grants(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]bot.Grant{promoted}, got); diff != "" {
			t.Errorf("Grants (-want +got):\n%s", diff)
		}
	})

	t.Run("Delete", func(t *testing.T) {
		db := MustOpenDB(t)
		for _, g := range []bot.Grant{viewerA, helpdeskAll} {
			if err := db.PutGrant(ctx, g); err != nil {
				t.Fatal(err)
			}
		}
		if err := db.DeleteGrant(ctx, "slack:U2", ""); err != nil {
			t.Fatal(err)
		}
		got, err := db.Grants(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]bot.Grant{viewerA}, got); diff != "" {
			t.Errorf("Grants after delete (-want +got):\n%s", diff)
		}
	})

	t.Run("ErrNotFound", func(t *testing.T) {
		db := MustOpenDB(t)
		if err := db.PutGrant(ctx, viewerA); err != nil {
			t.Fatal(err)
		}
		if err := db.DeleteGrant(ctx, "slack:U2", "tenant-b"); !errors.Is(err, bot.ErrNotFound) {
			t.Errorf("error = %v, want ErrNotFound", err)
		}
		if err := db.DeleteGrant(ctx, "slack:U9", ""); !errors.Is(err, bot.ErrNotFound) {
			t.Errorf("error = %v, want ErrNotFound", err)
		}
	})

	t.Run("ErrInvalid", func(t *testing.T) {
		db := MustOpenDB(t)
		for name, g := range map[string]bot.Grant{
			"EmptyActor": {Role: bot.RoleViewer},
			"RoleNone":   {Actor: "slack:U1", Role: bot.RoleNone},
			"RoleTooBig": {Actor: "slack:U1", Role: bot.RoleAdmin + 1},
			"NULActor":   {Actor: "slack:U1\x00x", Role: bot.RoleViewer},
			"NULTenant":  {Actor: "slack:U1", Role: bot.RoleViewer, Tenant: "\x00"},
		} {
			if err := db.PutGrant(ctx, g); err == nil {
				t.Errorf("%s: PutGrant succeeded", name)
			}
		}
		if got, err := db.Grants(ctx); err != nil || len(got) != 0 {
			t.Errorf("Grants = %v, %v; want none", got, err)
		}
	})
}

func TestTenants(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	contoso := bot.Tenant{ID: "t-contoso", Name: "Contoso", DefaultDomain: "contoso.com", Domains: []string{"contoso.com", "Contoso.onmicrosoft.com"}}
	fabrikam := bot.Tenant{ID: "t-fabrikam", Name: "Fabrikam", DefaultDomain: "Fabrikam.com", Domains: []string{"fabrikam.com"}}
	adatum := bot.Tenant{ID: "t-adatum", Name: "Adatum", DefaultDomain: "adatum.com"} // no Domains list

	db := MustOpenDB(t)
	for _, x := range []bot.Tenant{fabrikam, contoso, adatum} {
		if err := db.PutTenant(ctx, x); err != nil {
			t.Fatal(err)
		}
	}

	t.Run("List", func(t *testing.T) {
		got, err := db.Tenants(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]bot.Tenant{adatum, contoso, fabrikam}, got); diff != "" {
			t.Errorf("Tenants (-want +got):\n%s", diff)
		}
	})

	t.Run("ByDomain", func(t *testing.T) {
		for domain, want := range map[string]bot.Tenant{
			"contoso.com":             contoso,
			"CONTOSO.COM":             contoso,
			"contoso.onmicrosoft.com": contoso,
			"fabrikam.com":            fabrikam,
			"ADATUM.com":              adatum,
		} {
			got, err := db.TenantByDomain(ctx, domain)
			if err != nil {
				t.Errorf("%s: %v", domain, err)
				continue
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("%s (-want +got):\n%s", domain, diff)
			}
		}
	})

	t.Run("ErrNotFound", func(t *testing.T) {
		for _, domain := range []string{"northwind.com", "", "contoso"} {
			if _, err := db.TenantByDomain(ctx, domain); !errors.Is(err, bot.ErrNotFound) {
				t.Errorf("%q: error = %v, want ErrNotFound", domain, err)
			}
		}
	})

	t.Run("Replace", func(t *testing.T) {
		db := MustOpenDB(t)
		if err := db.PutTenant(ctx, contoso); err != nil {
			t.Fatal(err)
		}
		renamed := contoso
		renamed.DefaultDomain = "contoso.net"
		renamed.Domains = []string{"contoso.net"}
		if err := db.PutTenant(ctx, renamed); err != nil {
			t.Fatal(err)
		}
		if _, err := db.TenantByDomain(ctx, "contoso.com"); !errors.Is(err, bot.ErrNotFound) {
			t.Errorf("old domain: error = %v, want ErrNotFound", err)
		}
		got, err := db.Tenants(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]bot.Tenant{renamed}, got); diff != "" {
			t.Errorf("Tenants (-want +got):\n%s", diff)
		}
	})

	t.Run("ErrAmbiguous", func(t *testing.T) {
		db := MustOpenDB(t)
		other := bot.Tenant{ID: "t-other", DefaultDomain: "other.com", Domains: []string{"other.com", "CONTOSO.com"}}
		for _, x := range []bot.Tenant{contoso, other} {
			if err := db.PutTenant(ctx, x); err != nil {
				t.Fatal(err)
			}
		}
		_, err := db.TenantByDomain(ctx, "contoso.com")
		if err == nil || errors.Is(err, bot.ErrNotFound) {
			t.Errorf("error = %v, want an error about a domain claimed twice", err)
		}
		if _, err := db.TenantByDomain(ctx, "other.com"); err != nil {
			t.Errorf("other.com: %v", err)
		}
	})

	t.Run("ErrEmptyID", func(t *testing.T) {
		if err := db.PutTenant(ctx, bot.Tenant{DefaultDomain: "x.com"}); err == nil {
			t.Error("PutTenant with an empty ID succeeded")
		}
	})
}

func TestTenantByName(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	contoso := bot.Tenant{ID: "6b1a0c3e-0000-4000-8000-000000000001", Name: "Contoso", DefaultDomain: "contoso.com", Domains: []string{"contoso.com", "contoso.onmicrosoft.com"}, Source: "gdap"}
	fabrikam := bot.Tenant{ID: "t-fabrikam", Name: "Fabrikam", DefaultDomain: "Fabrikam.com", Domains: []string{"fabrikam.com", "fabrikam-eu.com"}, Alias: "fab", Source: "manual"}
	northwind := bot.Tenant{ID: "t-northwind", DefaultDomain: "northwind.co.uk"}
	// Two tenants whose derived aliases are both "adatum".
	adatumUS := bot.Tenant{ID: "t-adatum-us", DefaultDomain: "adatum.com"}
	adatumUK := bot.Tenant{ID: "t-adatum-uk", DefaultDomain: "adatum.co.uk"}
	// An explicit alias replaces the derived one: "tailspin" is this
	// tenant's domain label but not its alias.
	tailspin := bot.Tenant{ID: "t-tailspin", DefaultDomain: "tailspin.com", Alias: "wingtip"}

	db := MustOpenDB(t)
	for _, x := range []bot.Tenant{contoso, fabrikam, northwind, adatumUS, adatumUK, tailspin} {
		if err := db.PutTenant(ctx, x); err != nil {
			t.Fatal(err)
		}
	}

	t.Run("OK", func(t *testing.T) {
		for _, tt := range []struct {
			name string
			want bot.Tenant
		}{
			{"6B1A0C3E-0000-4000-8000-000000000001", contoso}, // ID
			{"t-fabrikam", fabrikam},                          // ID
			{"FAB", fabrikam},                                 // explicit alias
			{"contoso", contoso},                              // derived alias
			{"Northwind", northwind},                          // derived alias of a multi-label domain
			{"wingtip", tailspin},                             // explicit alias
			{"Contoso.com", contoso},                          // default domain
			{"fabrikam.com", fabrikam},                        // default domain, stored in another case
			{"contoso.onmicrosoft.com", contoso},              // another domain
			{"FABRIKAM-EU.com", fabrikam},                     // another domain
			{"adatum.com", adatumUS},                          // a domain disambiguates
			{"tailspin.com", tailspin},                        // the domain still works
		} {
			got, err := db.TenantByName(ctx, tt.name)
			if err != nil {
				t.Errorf("%q: %v", tt.name, err)
				continue
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("%q (-want +got):\n%s", tt.name, diff)
			}
		}
	})

	t.Run("ErrAmbiguous", func(t *testing.T) {
		_, err := db.TenantByName(ctx, "Adatum")
		if err == nil || errors.Is(err, bot.ErrNotFound) {
			t.Fatalf("error = %v, want an ambiguity error", err)
		}
		if got, want := err.Error(), `"Adatum" matches 2 tenants: adatum.co.uk, adatum.com; use the domain`; got != want {
			t.Errorf("error = %q, want %q", got, want)
		}
	})

	t.Run("ErrNotFound", func(t *testing.T) {
		for _, name := range []string{"", "tailspin", "contoso.net", "onmicrosoft", "co", "fabrikam"} {
			if got, err := db.TenantByName(ctx, name); !errors.Is(err, bot.ErrNotFound) {
				t.Errorf("%q: TenantByName = %+v, %v; want ErrNotFound", name, got, err)
			}
		}
	})
}

func TestDeleteTenant(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := MustOpenDB(t)
	contoso := bot.Tenant{ID: "t-contoso", DefaultDomain: "contoso.com"}
	fabrikam := bot.Tenant{ID: "t-fabrikam", DefaultDomain: "fabrikam.com"}
	for _, x := range []bot.Tenant{contoso, fabrikam} {
		if err := db.PutTenant(ctx, x); err != nil {
			t.Fatal(err)
		}
	}
	keep := bot.Binding{Platform: "slack", Channel: "C2", TenantID: "t-fabrikam", BoundBy: "slack:U1", BoundAt: t0}
	for _, b := range []bot.Binding{
		{Platform: "slack", Channel: "C1", TenantID: "t-contoso", BoundBy: "slack:U1", BoundAt: t0},
		keep,
		{Platform: "discord", Channel: "1234", TenantID: "t-contoso", BoundBy: "discord:9", BoundAt: t0},
	} {
		if err := db.PutBinding(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
	grant := bot.Grant{Actor: "slack:U2", Role: bot.RoleViewer, Tenant: "t-contoso", GrantedBy: "slack:U1", GrantedAt: t0}
	if err := db.PutGrant(ctx, grant); err != nil {
		t.Fatal(err)
	}

	if err := db.DeleteTenant(ctx, "t-contoso"); err != nil {
		t.Fatal(err)
	}
	if got, err := db.Tenants(ctx); err != nil || !cmp.Equal(got, []bot.Tenant{fabrikam}) {
		t.Errorf("Tenants = %+v, %v; want only fabrikam", got, err)
	}
	if _, err := db.TenantByName(ctx, "contoso"); !errors.Is(err, bot.ErrNotFound) {
		t.Errorf("TenantByName after delete: %v", err)
	}
	if got, err := db.Bindings(ctx); err != nil || !cmp.Equal(got, []bot.Binding{keep}) {
		t.Errorf("Bindings = %+v, %v; want only %+v", got, err, keep)
	}
	if _, err := db.Binding(ctx, "slack", "C1"); !errors.Is(err, bot.ErrNotFound) {
		t.Errorf("Binding of the deleted tenant's channel: %v", err)
	}
	// Grants are not bindings; they stay.
	if got, err := db.Grants(ctx); err != nil || !cmp.Equal(got, []bot.Grant{grant}) {
		t.Errorf("Grants = %+v, %v; want %+v", got, err, grant)
	}

	for _, id := range []string{"t-contoso", "t-nowhere", ""} {
		if err := db.DeleteTenant(ctx, id); !errors.Is(err, bot.ErrNotFound) {
			t.Errorf("DeleteTenant(%q): error = %v, want ErrNotFound", id, err)
		}
	}
}

func TestBindings(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	contoso := bot.Tenant{ID: "t-contoso", DefaultDomain: "contoso.com"}
	fabrikam := bot.Tenant{ID: "t-fabrikam", DefaultDomain: "fabrikam.com"}
	slackC1 := bot.Binding{Platform: "slack", Channel: "C1", TenantID: "t-contoso", BoundBy: "slack:U1", BoundAt: t0}
	slackC0 := bot.Binding{Platform: "slack", Channel: "C0", TenantID: "t-fabrikam", BoundBy: "slack:U1", BoundAt: t0.Add(time.Hour)}
	discord := bot.Binding{Platform: "discord", Channel: "80351110224678912", TenantID: "t-contoso", BoundBy: "discord:9", BoundAt: t0}
	newDB := func(t *testing.T) *store.DB {
		db := MustOpenDB(t)
		for _, x := range []bot.Tenant{contoso, fabrikam} {
			if err := db.PutTenant(ctx, x); err != nil {
				t.Fatal(err)
			}
		}
		return db
	}

	t.Run("CRUD", func(t *testing.T) {
		db := newDB(t)
		for _, b := range []bot.Binding{slackC1, discord, slackC0} {
			if err := db.PutBinding(ctx, b); err != nil {
				t.Fatal(err)
			}
		}
		got, err := db.Binding(ctx, "slack", "C1")
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(slackC1, got); diff != "" {
			t.Errorf("Binding (-want +got):\n%s", diff)
		}
		list, err := db.Bindings(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]bot.Binding{discord, slackC0, slackC1}, list); diff != "" {
			t.Errorf("Bindings (-want +got):\n%s", diff)
		}

		// Rebinding a channel replaces its binding.
		rebound := slackC1
		rebound.TenantID, rebound.BoundBy = "t-fabrikam", "slack:U2"
		if err := db.PutBinding(ctx, rebound); err != nil {
			t.Fatal(err)
		}
		if got, err := db.Binding(ctx, "slack", "C1"); err != nil || !cmp.Equal(got, rebound) {
			t.Errorf("Binding after rebind = %+v, %v; want %+v", got, err, rebound)
		}

		if err := db.DeleteBinding(ctx, "slack", "C1"); err != nil {
			t.Fatal(err)
		}
		if _, err := db.Binding(ctx, "slack", "C1"); !errors.Is(err, bot.ErrNotFound) {
			t.Errorf("Binding after delete: %v", err)
		}
		if err := db.DeleteBinding(ctx, "slack", "C1"); !errors.Is(err, bot.ErrNotFound) {
			t.Errorf("second DeleteBinding: %v", err)
		}
		list, err = db.Bindings(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]bot.Binding{discord, slackC0}, list); diff != "" {
			t.Errorf("Bindings after delete (-want +got):\n%s", diff)
		}
		// The binding is keyed by platform and channel, both exactly.
		for _, pc := range [][2]string{{"discord", "C0"}, {"Slack", "C0"}, {"slack", "c0"}, {"", ""}, {"slack", ""}} {
			if _, err := db.Binding(ctx, pc[0], pc[1]); !errors.Is(err, bot.ErrNotFound) {
				t.Errorf("Binding(%q, %q): %v", pc[0], pc[1], err)
			}
		}
		MustReopen(t, db)
		if got, err := db.Binding(ctx, "discord", discord.Channel); err != nil || !cmp.Equal(got, discord) {
			t.Errorf("Binding after reopen = %+v, %v", got, err)
		}
	})

	t.Run("ErrUnknownTenant", func(t *testing.T) {
		db := newDB(t)
		b := slackC1
		b.TenantID = "t-nowhere"
		err := db.PutBinding(ctx, b)
		if err == nil || !strings.Contains(err.Error(), `tenant "t-nowhere" is not in the directory`) {
			t.Errorf("error = %v, want it to say the tenant is unknown", err)
		}
		if !errors.Is(err, bot.ErrNotFound) {
			t.Errorf("error = %v, want it to wrap ErrNotFound", err)
		}
		if list, err := db.Bindings(ctx); err != nil || len(list) != 0 {
			t.Errorf("Bindings = %+v, %v; want none", list, err)
		}
	})

	t.Run("ErrInvalid", func(t *testing.T) {
		db := newDB(t)
		for name, b := range map[string]bot.Binding{
			"EmptyPlatform": {Channel: "C1", TenantID: "t-contoso"},
			"EmptyChannel":  {Platform: "slack", TenantID: "t-contoso"},
			"EmptyTenant":   {Platform: "slack", Channel: "C1"},
			"NULPlatform":   {Platform: "sl\x00ack", Channel: "C1", TenantID: "t-contoso"},
			"NULChannel":    {Platform: "slack", Channel: "\x00C1", TenantID: "t-contoso"},
		} {
			if err := db.PutBinding(ctx, b); err == nil {
				t.Errorf("%s: PutBinding succeeded", name)
			}
		}
		if list, err := db.Bindings(ctx); err != nil || len(list) != 0 {
			t.Errorf("Bindings = %+v, %v; want none", list, err)
		}
	})
}
