package m365_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/cippbot/cippbot/actions"
	"github.com/cippbot/cippbot/actions/m365"
	"github.com/cippbot/cippbot/internal/fakegraph"
)

// TestGDAPAccessAssignments: the partner's customers come with their
// access assignments in both modes; the service account's groups are
// read only with its delegated token.
func TestGDAPAccessAssignments(t *testing.T) {
	t.Parallel()
	sim := gdapSim(t, nil)
	g := newGDAP(t, gdapConfig(sim, &memCacheStore{}))
	importCIPP(t, sim, g)
	delegated, err := m365.New(m365.Config{GraphURL: sim.URL(), AuthorityHost: sim.URL() + "/",
		ClientID: fakegraph.DefaultClientID, ClientSecret: fakegraph.DefaultClientSecret, HTTPClient: sim.Client(),
		Credential: g.Credential})
	if err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]*m365.Connector{"app": connector(t, sim), "gdap": delegated} {
		t.Run(name, func(t *testing.T) {
			adm, err := c.Admin(context.Background(), fakegraph.PartnerTenantID)
			if err != nil {
				t.Fatal(err)
			}
			custs, err := adm.Customers(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			var fab actions.Customer
			for _, c := range custs {
				if c.TenantID == fakegraph.FabrikamTenantID {
					fab = c
				}
			}
			if fab.AccessErr != nil || len(fab.Access) != 2 {
				t.Fatalf("fabrikam access = %+v, %v", fab.Access, fab.AccessErr)
			}
			groups, signed, err := adm.SignedInGroups(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if name == "app" {
				if signed || groups != nil {
					t.Errorf("app-only SignedInGroups = %v, %v", groups, signed)
				}
				return
			}
			if !signed || !slices.Equal(groups, []string{fakegraph.PartnerServiceDeskGroupID}) {
				t.Fatalf("service account's groups = %v, %v", groups, signed)
			}
			var held []string
			for _, a := range fab.Access {
				if slices.Contains(groups, a.GroupID) {
					for _, id := range a.RoleIDs {
						held = append(held, actions.RoleName(id))
					}
				}
			}
			slices.Sort(held)
			if want := sim.GDAPRoles(fakegraph.PartnerTenantID, gdapAccount, fakegraph.FabrikamTenantID); !slices.Equal(held, want) {
				t.Errorf("roles from the assignments = %v, the tenant's = %v", held, want)
			}
		})
	}
}

// TestGDAP_CachedTokenKeepsDegraded: after the refresh token is revoked,
// a tenant whose access token is still cached keeps working, but that
// does not count as the sign-in working again, so that one revocation
// is reported once however requests interleave.
func TestGDAP_CachedTokenKeepsDegraded(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	var mu sync.Mutex
	now := time.Now()
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	sim := gdapSim(t, clock)
	var calls []error
	cfg := gdapConfig(sim, &memCacheStore{})
	cfg.OnDegraded = func(err error) { calls = append(calls, err) }
	g := newGDAP(t, cfg)
	importCIPP(t, sim, g)
	if _, err := g.Token(ctx, fakegraph.ContosoTenantID, graphScope); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	now = now.Add(time.Second)
	mu.Unlock()
	sim.RevokeRefreshTokens(fakegraph.PartnerTenantID, gdapAccount)
	for range 3 {
		if _, err := g.Token(ctx, fakegraph.FabrikamTenantID, graphScope); err == nil {
			t.Fatal("fabrikam token after revocation")
		}
		if _, err := g.Token(ctx, fakegraph.ContosoTenantID, graphScope); err != nil {
			t.Fatalf("contoso's cached token: %v", err)
		}
	}
	if g.Degraded() == nil || len(calls) != 1 {
		t.Errorf("Degraded = %v, OnDegraded calls = %v; want degraded, told once", g.Degraded(), calls)
	}
}
