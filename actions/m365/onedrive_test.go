package m365_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/cippbot/cippbot/actions"
	"github.com/cippbot/cippbot/internal/fakegraph"
)

func TestOneDrive_URL(t *testing.T) {
	t.Parallel()
	sim := newSim(t)
	d, _ := connectSides(t, sim)
	t.Run("OK", func(t *testing.T) {
		web, err := d.OneDriveURL(ctx(), fakegraph.ContosoAdeleID)
		if err != nil || !strings.HasPrefix(web, "https://contoso-my.sharepoint.com/personal/adelev_contoso_com") {
			t.Errorf("OneDriveURL = %q, %v", web, err)
		}
	})
	t.Run("ErrNotFound", func(t *testing.T) {
		_, err := d.OneDriveURL(ctx(), fakegraph.ContosoIsaiahID)
		if actions.ErrorCode(err) != actions.ENOTFOUND || !strings.Contains(actions.ErrorMessage(err), "provision-onedrive") {
			t.Errorf("err = %v, want not found pointing at provision-onedrive", err)
		}
	})
}

// TestOneDrive_Provision: SharePoint refuses RequestPersonalSites to
// app-only callers (it needs a signed-in SharePoint admin), and the
// client says so; the request it sends is the one a signed-in admin's
// would be (the simulated tenant runs it for a delegated token, see
// internal/fakegraph's CSOM tests).
func TestOneDrive_Provision(t *testing.T) {
	t.Parallel()
	sim := newSim(t)
	d, _ := connectSides(t, sim)
	t.Run("ErrAppOnly", func(t *testing.T) {
		err := d.ProvisionOneDrive(ctx(), []string{"IsaiahL@contoso.com"})
		if actions.ErrorCode(err) != actions.EFORBIDDEN || !strings.Contains(actions.ErrorMessage(err), "signed-in SharePoint admin (delegated access)") {
			t.Errorf("err = %v, want forbidden naming delegated access", err)
		}
		if sim.OneDrive(tenant, fakegraph.ContosoIsaiahID) {
			t.Error("provisioned app-only")
		}
		r := requestsTo(sim, "POST", "/_vti_bin/client.svc/ProcessQuery")
		if len(r) != 1 || r[0].Header.Get("Content-Type") != "text/xml" ||
			!strings.Contains(string(r[0].Body), `<Method Name="RequestPersonalSites" Id="6" ObjectPathId="3">`) {
			t.Errorf("CSOM requests: %+v", r)
		}
	})
	t.Run("Chunked", func(t *testing.T) {
		sim.ResetRequests()
		var upns []string
		for i := range 201 {
			upns = append(upns, fmt.Sprintf("nobody%d@contoso.com", i))
		}
		upns[200] = "a&b<c>@contoso.com"
		// The first chunk of 200 is refused, and the rest is not sent.
		if err := d.ProvisionOneDrive(ctx(), upns); actions.ErrorCode(err) != actions.EFORBIDDEN {
			t.Fatalf("err = %v", err)
		}
		r := requestsTo(sim, "POST", "/ProcessQuery")
		if len(r) != 1 || strings.Count(string(r[0].Body), "<Object Type=\"String\">") != 200 {
			t.Errorf("%d CSOM calls for 201 addresses, want 1 of 200", len(r))
		}
	})
	t.Run("Escaped", func(t *testing.T) {
		sim.ResetRequests()
		d.ProvisionOneDrive(ctx(), []string{"a&b<c>@contoso.com"})
		if r := requestsTo(sim, "POST", "/ProcessQuery"); len(r) != 1 || !strings.Contains(string(r[0].Body), ">a&amp;b&lt;c&gt;@contoso.com<") {
			t.Errorf("the address was not escaped: %+v", r)
		}
	})
	t.Run("ErrForbidden", func(t *testing.T) {
		sim.SetPermissions(tenant, []string{"Sites.Read.All"})
		defer sim.SetPermissions(tenant, nil)
		err := d.ProvisionOneDrive(ctx(), []string{"JoniS@contoso.com"})
		if actions.ErrorCode(err) != actions.EFORBIDDEN || !strings.Contains(actions.ErrorMessage(err), "Sites.FullControl.All") {
			t.Errorf("err = %v, want forbidden naming Sites.FullControl.All", err)
		}
	})
}

func TestOneDrive_AddShortcut(t *testing.T) {
	t.Parallel()
	sim := newSim(t)
	d, _ := connectSides(t, sim)
	tests := []struct {
		name, url, want string
	}{
		{"Library", "https://contoso.sharepoint.com/sites/Sales", "Sales"},
		{"Folder", "https://contoso.sharepoint.com/sites/Sales/Shared%20Documents/Proposals", "Proposals"},
		{"SubfolderFromBrowser", "https://contoso.sharepoint.com/sites/Sales/Shared%20Documents/Forms/AllItems.aspx?id=%2Fsites%2FSales%2FShared%20Documents%2FProposals%2F2026", "2026"},
		{"Again", "https://contoso.sharepoint.com/sites/sales/Shared Documents/Proposals", "Proposals 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			name, err := d.AddShortcut(ctx(), fakegraph.ContosoAdeleID, tt.url)
			if err != nil {
				t.Fatal(err)
			}
			if name != tt.want || !slices.Contains(sim.DriveShortcuts(tenant, fakegraph.ContosoAdeleID), name) {
				t.Errorf("AddShortcut(%s) = %q, want %q; shortcuts %q", tt.url, name, tt.want, sim.DriveShortcuts(tenant, fakegraph.ContosoAdeleID))
			}
		})
	}
	errs := []struct {
		name, user, url, code, want string
	}{
		{"ErrBadURL", fakegraph.ContosoAdeleID, "contoso.sharepoint.com/Sales", actions.EINVALID, "https://contoso.sharepoint.com/sites/Sales"},
		{"ErrNoSite", fakegraph.ContosoAdeleID, "https://contoso.sharepoint.com/sites/Nowhere", actions.ENOTFOUND, "/sites/Nowhere"},
		{"ErrNoFolder", fakegraph.ContosoAdeleID, "https://contoso.sharepoint.com/sites/Sales/Shared Documents/Invoices", actions.ENOTFOUND, `"Invoices"`},
		{"ErrNoLibrary", fakegraph.ContosoAdeleID, "https://contoso.sharepoint.com/sites/Sales/Site Assets/x", actions.ENOTFOUND, `"Site Assets"`},
		{"ErrNoOneDrive", fakegraph.ContosoIsaiahID, "https://contoso.sharepoint.com/sites/Sales", actions.ENOTFOUND, "provision-onedrive"},
	}
	for _, tt := range errs {
		t.Run(tt.name, func(t *testing.T) {
			_, err := d.AddShortcut(ctx(), tt.user, tt.url)
			if actions.ErrorCode(err) != tt.code || !strings.Contains(actions.ErrorMessage(err), tt.want) {
				t.Errorf("AddShortcut(%s) = %v, want %s containing %q", tt.url, err, tt.code, tt.want)
			}
		})
	}
	t.Run("ErrForbidden", func(t *testing.T) {
		sim.SetPermissions(tenant, []string{"User.Read.All"})
		defer sim.SetPermissions(tenant, nil)
		_, err := d.AddShortcut(ctx(), fakegraph.ContosoAdeleID, "https://contoso.sharepoint.com/sites/Sales")
		if actions.ErrorCode(err) != actions.EFORBIDDEN {
			t.Errorf("err = %v, want forbidden", err)
		}
	})
}
