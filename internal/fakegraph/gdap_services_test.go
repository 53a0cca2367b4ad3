package fakegraph_test

import (
	"net/http"
	"testing"

	"github.com/cippbot/cippbot/internal/fakegraph"
)

// gdapPartner starts a server with the partner tenant, whose relationship
// with contoso grants roles, and returns it with the service account's
// delegated token for scope in contoso.
func gdapPartner(t *testing.T, scope string, roles ...string) (*fakegraph.Server, string) {
	t.Helper()
	s := start(t, fakegraph.Options{})
	seed := fakegraph.PartnerSeed()
	seed.Relationships[0].Roles = roles
	// The service account's group gets every role of the relationship.
	seed.Relationships[0].AccessAssignments = []fakegraph.AccessAssignment{{GroupID: fakegraph.PartnerServiceDeskGroupID, Roles: seed.Relationships[0].Roles}}
	if err := s.AddTenant(seed); err != nil {
		t.Fatal(err)
	}
	rt, err := s.IssueRefreshToken(fakegraph.PartnerTenantID, serviceAccount)
	if err != nil {
		t.Fatal(err)
	}
	r := tokenForm(t, s, fakegraph.ContosoTenantID, refreshForm(rt, scope))
	if r.status != http.StatusOK {
		t.Fatalf("delegated token: %d %s", r.status, r.raw)
	}
	return s, r.json["access_token"].(string)
}

// TestCSOMRequestPersonalSitesGDAP: the partner's service account,
// reaching contoso through GDAP with the SharePoint Administrator role
// and licensed in its own tenant, may request personal sites, as CIPP
// does; without the role the admin site refuses it.
func TestCSOMRequestPersonalSitesGDAP(t *testing.T) {
	t.Parallel()
	t.Run("OK", func(t *testing.T) {
		s, tok := gdapPartner(t, contosoAdminScope, "User Administrator", "SharePoint Administrator")
		s.SetPermissions(fakegraph.ContosoTenantID, noSharePoint()) // an app permission plays no part
		r := processQuery(t, s, tok, personalSitesXML("IsaiahL@contoso.com"))
		if r.status != http.StatusOK || r.errorInfo(t) != nil || r.result(t, 6)["IsComplete"] != true {
			t.Fatalf("%d %s", r.status, r.raw)
		}
		if !s.OneDrive(fakegraph.ContosoTenantID, fakegraph.ContosoIsaiahID) {
			t.Error("Isaiah not provisioned")
		}
	})
	t.Run("ErrNoSharePointRole", func(t *testing.T) {
		s, tok := gdapPartner(t, contosoAdminScope, "User Administrator", "Exchange Administrator")
		r := processQuery(t, s, tok, personalSitesXML("IsaiahL@contoso.com"))
		if r.status != http.StatusForbidden || r.errorInfo(t)["ErrorTypeName"] != "System.UnauthorizedAccessException" {
			t.Errorf("%d %s", r.status, r.raw)
		}
		if s.OneDrive(fakegraph.ContosoTenantID, fakegraph.ContosoIsaiahID) {
			t.Error("provisioned without the role")
		}
	})
}

// TestExchangeGDAP: Exchange Online runs cmdlets for the partner's
// service account with a delegated token carrying Exchange.Manage, as
// its GDAP roles allow, whatever the app's own Exchange permission.
// A role the account lacks is a 403 (gdaproles.go says why), a token
// without Exchange.Manage a 401.
func TestExchangeGDAP(t *testing.T) {
	t.Parallel()
	const exoScope = "https://outlook.office365.com/.default"
	t.Run("OK", func(t *testing.T) {
		s, tok := gdapPartner(t, exoScope, "Exchange Administrator")
		s.SetPermissions(fakegraph.ContosoTenantID, noSharePoint()) // no Exchange.ManageAsApp
		x := &exo{t: t, s: s, tok: tok, tenant: fakegraph.ContosoTenantID}
		x.ok("Set-Mailbox", map[string]any{"Identity": "AdeleV@contoso.com", "Type": "Shared"})
		if u := x.user(fakegraph.ContosoAdeleID); u.MailboxType != "SharedMailbox" {
			t.Errorf("mailbox type = %q", u.MailboxType)
		}
	})
	t.Run("ErrReaderWrites", func(t *testing.T) {
		s, tok := gdapPartner(t, exoScope, "Global Reader")
		x := &exo{t: t, s: s, tok: tok, tenant: fakegraph.ContosoTenantID}
		x.ok("Get-Mailbox", map[string]any{"Identity": "AdeleV@contoso.com"})
		wantRequestError(t, x.invoke("Set-Mailbox", map[string]any{"Identity": "AdeleV@contoso.com", "Type": "Shared"}),
			http.StatusForbidden, "Forbidden", "not allowed to call Set-Mailbox")
	})
	t.Run("ErrNoExchangeRole", func(t *testing.T) {
		s, tok := gdapPartner(t, exoScope, "User Administrator")
		x := &exo{t: t, s: s, tok: tok, tenant: fakegraph.ContosoTenantID}
		wantRequestError(t, x.invoke("Get-Mailbox", map[string]any{"Identity": "AdeleV@contoso.com"}),
			http.StatusForbidden, "Forbidden", "not allowed to call Get-Mailbox")
	})
}
