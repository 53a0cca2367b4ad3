package m365_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/cippbot/cippbot/actions"
	"github.com/cippbot/cippbot/internal/fakegraph"
)

func TestDirectory_AppRoles(t *testing.T) {
	t.Parallel()
	sim := newSim(t)
	d := connect(t, sim, fakegraph.DefaultClientSecret)
	want := fakegraph.DefaultAppRoles()
	slices.Sort(want)
	t.Run("OK", func(t *testing.T) {
		got, err := d.AppRoles(ctx())
		if err != nil || !slices.Equal(got, want) {
			t.Fatalf("AppRoles = %v, %v; want %v", got, err, want)
		}
		if r := requestsTo(sim, "GET", "/v1.0/servicePrincipals"); len(r) != 1 || !strings.Contains(r[0].RawQuery, "appId%20eq%20%27"+fakegraph.DefaultClientID+"%27") {
			t.Errorf("service principal lookup: %+v", r)
		}
	})
	t.Run("None", func(t *testing.T) {
		if err := sim.SetAppRoles(tenant); err != nil {
			t.Fatal(err)
		}
		defer sim.SetAppRoles(tenant, fakegraph.DefaultAppRoles()...)
		if got, err := d.AppRoles(ctx()); err != nil || len(got) != 0 {
			t.Errorf("AppRoles = %v, %v", got, err)
		}
	})
	t.Run("WithoutApplicationRead", func(t *testing.T) {
		// The service principal cannot be looked up: the token's oid
		// names it.
		sim.SetPermissions(tenant, []string{"User.ReadWrite.All", "RoleManagement.Read.Directory"})
		defer sim.SetPermissions(tenant, nil)
		if got, err := d.AppRoles(ctx()); err != nil || !slices.Equal(got, want) {
			t.Errorf("AppRoles = %v, %v; want %v", got, err, want)
		}
	})
	t.Run("ErrForbidden", func(t *testing.T) {
		sim.SetPermissions(tenant, []string{"User.ReadWrite.All"})
		defer sim.SetPermissions(tenant, nil)
		if _, err := d.AppRoles(ctx()); actions.ErrorCode(err) != actions.EFORBIDDEN {
			t.Errorf("err = %v, want forbidden", err)
		}
	})
}
