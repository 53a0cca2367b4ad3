package store_test

import (
	"context"
	"errors"
	"testing"

	"github.com/cippbot/cippbot/bot"
	"github.com/google/go-cmp/cmp"
)

func TestGrants(t *testing.T) {
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
