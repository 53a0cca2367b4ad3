package main

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cippbot/cippbot/internal/fakegraph"
)

func TestAddUser(t *testing.T) {
	t.Parallel()
	r := newRun(t)
	adele, _ := r.sim.User(fakegraph.ContosoTenantID, "AdeleV@contoso.com")

	// With no fields, the technician gets a form.
	out := r.session(t, "/cipp add-user")
	if !strings.Contains(out, "Fill in the new user's details") || !strings.Contains(out, "displayname*") {
		t.Fatalf("no form:\n%s", out)
	}

	// The form's answers complete the command, which needs approval.
	out = r.session(t, "/cipp add-user",
		`displayName="Jane Doe" mailNickname=jane primDomain=contoso.com usageLocation=US licenses=ENTERPRISEPACK addedAliasses="jane.doe@contoso.com" copyfrom=AdeleV@contoso.com jobTitle=Buyer --mustchangepass`,
		"/as sam", "approve 1")
	if !strings.Contains(out, "Approval needed: add-user") || !strings.Contains(out, "jane@contoso.com: created") {
		t.Fatalf("add-user:\n%s", out)
	}
	jane, ok := r.sim.User(fakegraph.ContosoTenantID, "jane@contoso.com")
	if !ok {
		t.Fatal("jane was not created")
	}
	if jane.DisplayName != "Jane Doe" || jane.JobTitle != "Buyer" || jane.UsageLocation != "US" || !jane.AccountEnabled {
		t.Errorf("jane = %+v", jane)
	}
	if !slices.Contains(jane.Licenses, fakegraph.SkuEnterprisePack) {
		t.Errorf("licences = %v", jane.Licenses)
	}
	if !slices.ContainsFunc(jane.ProxyAddresses, func(a string) bool { return strings.EqualFold(a, "smtp:jane.doe@contoso.com") }) ||
		!slices.Contains(jane.ProxyAddresses, "SMTP:jane@contoso.com") {
		t.Errorf("proxy addresses = %v", jane.ProxyAddresses)
	}
	for _, g := range adele.Groups {
		if !slices.Contains(jane.Groups, g) {
			t.Errorf("group %s of Adele not copied: %v", g, jane.Groups)
		}
	}
	if !jane.ForceChangePasswordNextSignIn {
		t.Error("must change password not set")
	}
	pw := secrets(t, out, "riley")
	if len(pw) != 1 || jane.Password != pw[0] {
		t.Fatalf("secret %v, password in tenant %q", pw, jane.Password)
	}
	r.assertNowhere(t, pw[0])
	if a := r.lastAudit(t); !strings.Contains(a, `"action":"add-user"`) || !strings.Contains(a, `"outcome":"ok"`) {
		t.Errorf("audit: %s", a)
	}

	// Licences without a usage location take the tenant's (US).
	out = r.session(t, `/cipp add-user bob@contoso.com displayName=Bob licenses=ENTERPRISEPACK`, "/as sam", "approve 2")
	if bob, ok := r.sim.User(fakegraph.ContosoTenantID, "bob@contoso.com"); !ok || bob.UsageLocation != "US" ||
		!slices.Contains(bob.Licenses, fakegraph.SkuEnterprisePack) {
		t.Errorf("bob = %+v:\n%s", bob, out)
	}

	// Failures are caught before anyone is asked to approve.
	for _, tc := range []struct{ cmd, want string }{
		{`/cipp add-user AdeleV@contoso.com displayName="Adele Again"`, "already exists"},
		{`/cipp add-user cy@contoso.com displayName=Cy usageLocation=US licenses=NOSUCHSKU`, "has no NOSUCHSKU licences"},
		{`/cipp add-user cy@contoso.com displayName=Cy usageLocation=USA`, "two-letter country code"},
		{`/cipp add-user cy@contoso.com displayName=Cy copyfrom=nobody@contoso.com`, "nobody@contoso.com does not exist"},
		{`/cipp add-user cy@fabrikam.example displayName=Cy`, "fabrikam.example"},
	} {
		out := r.session(t, tc.cmd)
		if !strings.Contains(out, tc.want) || strings.Contains(out, "Approval needed") {
			t.Errorf("%s:\n%s", tc.cmd, out)
		}
	}
}

func TestBulkAdd(t *testing.T) {
	// Not parallel: t.Chdir.
	r := newRun(t)
	t.Chdir(t.TempDir()) // the console attaches files of the working directory
	csv := "hires.csv"
	os.WriteFile(csv, []byte("displayName,mailNickname,primDomain,usageLocation,licenses,jobTitle\n"+
		"Ann Lee,ann.lee,contoso.com,US,ENTERPRISEPACK,Buyer\n"+
		"Ben Ode,ben.ode,contoso.com,GB,,Clerk\n"+
		"Cy Vale,cy.vale,contoso.com,US,,\n"), 0o600)
	out := r.session(t, "/cipp bulk-add file="+csv, "/as sam", "approve 1")
	if strings.Count(out, "Approval needed: bulk-add") != 1 || !strings.Contains(out, "3 done, 0 failed") {
		t.Fatalf("bulk-add:\n%s", out)
	}
	pw := secrets(t, out, "riley")
	if len(pw) != 3 {
		t.Fatalf("%d secrets, want 3 in one private message:\n%s", len(pw), out)
	}
	for i, upn := range []string{"ann.lee@contoso.com", "ben.ode@contoso.com", "cy.vale@contoso.com"} {
		u, ok := r.sim.User(fakegraph.ContosoTenantID, upn)
		if !ok {
			t.Fatalf("%s not created", upn)
		}
		if !slices.Contains(pw, u.Password) {
			t.Errorf("%s's password was not handed over", upn)
		}
		if i == 0 && !slices.Contains(u.Licenses, fakegraph.SkuEnterprisePack) {
			t.Errorf("ann's licences = %v", u.Licenses)
		}
		if i == 1 && (u.JobTitle != "Clerk" || u.UsageLocation != "GB") {
			t.Errorf("ben = %+v", u)
		}
	}
	for _, p := range pw {
		r.assertNowhere(t, p)
	}

	// A file that names a user twice, or a column add-user does not
	// know, is refused before approval.
	os.WriteFile(csv, []byte("displayName,mailNickname,primDomain,shoeSize\nX Y,xy,contoso.com,9\n"), 0o600)
	if out := r.session(t, "/cipp bulk-add file="+csv); !strings.Contains(out, `unknown column "shoeSize"`) {
		t.Errorf("unknown column:\n%s", out)
	}
}

func TestRestoreUser(t *testing.T) {
	t.Parallel()
	r := newRun(t)
	out := r.session(t, "/cipp delete-user LynneR@contoso.com", "/as sam", "approve 1")
	if !strings.Contains(out, "Restorable for 30 days") {
		t.Fatalf("delete:\n%s", out)
	}
	out = r.session(t, "/cipp restore-user LynneR@contoso.com")
	if !strings.Contains(out, "LynneR@contoso.com: restored") {
		t.Fatalf("restore:\n%s", out)
	}
	if u, ok := r.sim.User(fakegraph.ContosoTenantID, "LynneR@contoso.com"); !ok || u.Deleted {
		t.Errorf("not restored: %+v", u)
	}
	if a := r.lastAudit(t); !strings.Contains(a, `"action":"restore-user"`) || !strings.Contains(a, `"outcome":"ok"`) {
		t.Errorf("audit: %s", a)
	}
	out = r.session(t, "/cipp restore-user AdeleV@contoso.com")
	if !strings.Contains(out, "not in the recycle bin") {
		t.Errorf("not deleted:\n%s", out)
	}
}

func TestLicenses(t *testing.T) {
	t.Parallel()
	r := newRun(t)
	out := r.session(t, "/cipp add-license AdeleV@contoso.com SPE_E5")
	if !strings.Contains(out, "AdeleV@contoso.com: licensed") {
		t.Fatalf("add-license:\n%s", out)
	}
	u, _ := r.sim.User(fakegraph.ContosoTenantID, "AdeleV@contoso.com")
	if !slices.Contains(u.Licenses, fakegraph.SkuSPEE5) {
		t.Errorf("licences = %v", u.Licenses)
	}
	out = r.session(t, "/cipp remove-license AdeleV@contoso.com SPE_E5", "/as sam", "approve 2")
	if !strings.Contains(out, "AdeleV@contoso.com: removed SPE_E5") {
		t.Fatalf("remove-license:\n%s", out)
	}
	u, _ = r.sim.User(fakegraph.ContosoTenantID, "AdeleV@contoso.com")
	if slices.Contains(u.Licenses, fakegraph.SkuSPEE5) {
		t.Errorf("licence not removed: %v", u.Licenses)
	}
	if a := r.lastAudit(t); !strings.Contains(a, `"action":"remove-license"`) || !strings.Contains(a, `"approver"`) || !strings.Contains(a, `"outcome":"ok"`) {
		t.Errorf("audit: %s", a)
	}
	if out := r.session(t, "/cipp add-license AdeleV@contoso.com GOLD"); !strings.Contains(out, "has no GOLD licences") {
		t.Errorf("unknown SKU:\n%s", out)
	}
	// Joni has no usage location: the answer says what to set.
	if out := r.session(t, "/cipp add-license JoniS@contoso.com ENTERPRISEPACK"); !strings.Contains(out, "usageLocation") {
		t.Errorf("no usage location:\n%s", out)
	}
}

func TestDistributionListMembership(t *testing.T) {
	t.Parallel()
	r := newRun(t)
	out := r.session(t, `/cipp add-to-group AdeleV@contoso.com "Contoso Newsletter"`)
	if !strings.Contains(out, "AdeleV@contoso.com: added to Contoso Newsletter") {
		t.Fatalf("add to DL:\n%s", out)
	}
	g, _ := r.sim.Group(fakegraph.ContosoTenantID, "Contoso Newsletter")
	if !slices.Contains(g.Members, fakegraph.ContosoAdeleID) {
		t.Errorf("members = %v", g.Members)
	}
	if !slices.ContainsFunc(r.sim.Requests(), func(q fakegraph.Request) bool {
		return strings.Contains(string(q.Body), "Add-DistributionGroupMember")
	}) {
		t.Error("not added through Exchange")
	}
	out = r.session(t, `/cipp add-to-group AdeleV@contoso.com "Contoso Newsletter"`)
	if !strings.Contains(out, "already in Contoso Newsletter") {
		t.Errorf("again:\n%s", out)
	}
	out = r.session(t, `/cipp remove-from-group AdeleV@contoso.com "Contoso Newsletter"`)
	if !strings.Contains(out, "AdeleV@contoso.com: removed from Contoso Newsletter") {
		t.Errorf("remove from DL:\n%s", out)
	}
	if g, _ := r.sim.Group(fakegraph.ContosoTenantID, "Contoso Newsletter"); slices.Contains(g.Members, fakegraph.ContosoAdeleID) {
		t.Error("still a member")
	}
	if out := r.session(t, `/cipp add-to-group AdeleV@contoso.com "No Such Group"`); !strings.Contains(out, `no group is named "No Such Group"`) {
		t.Errorf("unknown group:\n%s", out)
	}
}

func TestResearchCompromise(t *testing.T) {
	t.Parallel()
	r := newRun(t)
	isaiah, _ := r.sim.User(fakegraph.ContosoTenantID, fakegraph.ContosoIsaiahID)
	out := r.session(t, "/cipp research-compromise "+isaiah.UserPrincipalName)
	for _, want := range []string{"Likely compromised: " + isaiah.UserPrincipalName, "forwards to", "new country", "MFA method added"} {
		if !strings.Contains(out, want) {
			t.Errorf("research lacks %q:\n%s", want, out)
		}
	}
	if !strings.Contains(out, "Remove rules") || !strings.Contains(out, "Reset password") {
		t.Errorf("no remediation buttons:\n%s", out)
	}
	out = r.session(t, "/cipp research-compromise AdeleV@contoso.com")
	if !strings.Contains(out, "Nothing suspicious: AdeleV@contoso.com") {
		t.Errorf("clean user:\n%s", out)
	}
	// The button's command runs under the approval rules; it turns the
	// rules off, and they stay evidence.
	out = r.session(t, "/cipp remove-inbox-rules "+isaiah.UserPrincipalName, "/as sam", "approve 1")
	if !strings.Contains(out, "Approval needed: remove-inbox-rules") || !strings.Contains(out, "inbox rules turned off") {
		t.Fatalf("remove rules:\n%s", out)
	}
	out = r.session(t, "/cipp research-compromise "+isaiah.UserPrincipalName)
	if !strings.Contains(out, "(disabled)") || strings.Contains(out, "Remove rules") {
		t.Errorf("turned-off rules not reported as such:\n%s", out)
	}
	// Joni has no mailbox: the research says so and goes on.
	out = r.session(t, "/cipp research-compromise JoniS@contoso.com")
	if !strings.Contains(out, "Could not read inbox rules") || !strings.Contains(out, "JoniS@contoso.com") {
		t.Errorf("no mailbox:\n%s", out)
	}
}

func TestOffboard(t *testing.T) {
	t.Parallel()
	r := newRun(t)
	upn := "DiegoS@contoso.com"
	before, _ := r.sim.User(fakegraph.ContosoTenantID, upn)
	// Revoking sessions fails once: the other steps still run.
	r.sim.Inject(fakegraph.Fault{Method: "POST", PathContains: "revokeSignInSessions", Status: 403, Times: 1})
	out := r.session(t, `/cipp offboard `+upn+` ooo="Diego has left; write to hr@contoso.com"`, "/as sam", "approve 1")
	if strings.Count(out, "Approval needed: offboard") != 1 {
		t.Fatalf("one approval for the plan:\n%s", out)
	}
	for _, want := range []string{"offboarded, but 1 of 12 steps failed", "✗ Revoke sessions", "✓ Block sign-in", "✓ Convert to shared mailbox", "✓ Remove licences"} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
	if !strings.Contains(out, "steps…") {
		t.Errorf("no report in place:\n%s", out)
	}
	u, _ := r.sim.User(fakegraph.ContosoTenantID, upn)
	switch {
	case u.AccountEnabled:
		t.Error("still enabled")
	case u.Password == before.Password:
		t.Error("password unchanged")
	case !u.HiddenFromAddressLists:
		t.Error("not hidden")
	case u.MailboxType != "SharedMailbox":
		t.Errorf("mailbox %q", u.MailboxType)
	case len(u.Licenses) != 0:
		t.Errorf("licences %v", u.Licenses)
	case len(u.Groups) != 0:
		t.Errorf("groups %v", u.Groups)
	case u.AutoReplyState != "Enabled":
		t.Errorf("auto reply %q", u.AutoReplyState)
	case slices.ContainsFunc(u.AuthMethods, func(m fakegraph.AuthMethod) bool { return m.Type != "password" }):
		t.Errorf("methods %v", u.AuthMethods)
	}
	pw := secrets(t, out, "riley")
	if len(pw) != 1 || pw[0] != u.Password {
		t.Fatalf("password not handed over: %v", pw)
	}
	r.assertNowhere(t, pw[0])
	if a := r.lastAudit(t); !strings.Contains(a, `"action":"offboard"`) || !strings.Contains(a, `"outcome":"partial"`) {
		t.Errorf("audit: %s", a)
	}
	if out := r.session(t, "/cipp offboard AdeleV@contoso.com steps=shared,delete"); !strings.Contains(out, "leave out delete or shared") {
		t.Errorf("delete after shared:\n%s", out)
	}
	if out := r.session(t, "/cipp offboard AdeleV@contoso.com steps=revoke,teleport"); !strings.Contains(out, `no step "teleport"`) {
		t.Errorf("unknown step:\n%s", out)
	}
}

func TestSendMFAPush(t *testing.T) {
	t.Parallel()
	r := newRun(t)
	out := r.session(t, "/cipp send-mfa-push MeganB@contoso.com")
	if !strings.Contains(out, "waiting for the answer") || !strings.Contains(out, "MeganB@contoso.com: push approved") {
		t.Fatalf("push:\n%s", out)
	}
	r.sim.SetPushAnswer(fakegraph.ContosoTenantID, "MeganB@contoso.com", fakegraph.PushDeny)
	if out := r.session(t, "/cipp send-mfa-push MeganB@contoso.com"); !strings.Contains(out, "push denied") {
		t.Errorf("deny:\n%s", out)
	}
	if out := r.session(t, "/cipp send-mfa-push JoniS@contoso.com"); !strings.Contains(out, "Authenticator") {
		t.Errorf("no authenticator:\n%s", out)
	}
	if n := r.sim.ServicePrincipalSecrets(fakegraph.ContosoTenantID, "981f26a1-7f43-403b-a875-f8b09b8cd720"); n != 0 {
		t.Errorf("%d temporary secrets left on the MFA app", n)
	}
	if a := r.lastAudit(t); !strings.Contains(a, `"action":"send-mfa-push"`) {
		t.Errorf("audit: %s", a)
	}
}

// TestOneDrive: provision-onedrive is refused before anyone is asked to
// approve, since SharePoint's RequestPersonalSites needs a signed-in
// admin and cippbot runs app-only (the simulated tenant refuses app-only
// calls the same way, see internal/fakegraph's CSOM tests); shortcuts
// work app-only.
func TestOneDrive(t *testing.T) {
	t.Parallel()
	r := newRun(t)
	isaiah, _ := r.sim.User(fakegraph.ContosoTenantID, fakegraph.ContosoIsaiahID)
	out := r.session(t, "/cipp provision-onedrive "+isaiah.UserPrincipalName)
	if !strings.Contains(out, "provision-onedrive needs a signed-in admin (delegated access), which cippbot's app-only access cannot do") ||
		strings.Contains(out, "Approval needed") {
		t.Fatalf("provision:\n%s", out)
	}
	if r.sim.OneDrive(fakegraph.ContosoTenantID, isaiah.UserPrincipalName) {
		t.Error("provisioned app-only")
	}
	for _, req := range r.sim.Requests() {
		if strings.Contains(req.Path, "ProcessQuery") {
			t.Errorf("SharePoint was called: %s %s", req.Method, req.Path)
		}
	}
	if a := r.lastAudit(t); !strings.Contains(a, `"action":"provision-onedrive"`) || !strings.Contains(a, "delegated access") {
		t.Errorf("audit: %s", a)
	}
	out = r.session(t, "/cipp onedrive-shortcut AdeleV@contoso.com https://contoso.sharepoint.com/sites/Sales")
	if !strings.Contains(out, "added to OneDrive") {
		t.Fatalf("shortcut:\n%s", out)
	}
	if got := r.sim.DriveShortcuts(fakegraph.ContosoTenantID, "AdeleV@contoso.com"); len(got) != 1 {
		t.Errorf("shortcuts = %v", got)
	}
	if a := r.lastAudit(t); !strings.Contains(a, `"action":"onedrive-shortcut"`) || !strings.Contains(a, `"outcome":"ok"`) {
		t.Errorf("audit: %s", a)
	}
	if out := r.session(t, "/cipp onedrive-shortcut AdeleV@contoso.com https://example.com/x"); !strings.Contains(out, "is not a SharePoint site") {
		t.Errorf("bad address:\n%s", out)
	}
	if out := r.session(t, "/cipp onedrive-shortcut AdeleV@contoso.com https://contoso.sharepoint.com/sites/Nowhere"); !strings.Contains(out, "Nowhere") {
		t.Errorf("missing site:\n%s", out)
	}
}

// TestAddUserCustomerID: CIPP's customerId= (the tenant's ID or a domain)
// names the tenant, so that mailNickname alone makes the address.
func TestAddUserCustomerID(t *testing.T) {
	t.Parallel()
	r := newRun(t)
	out := r.session(t, `/cipp add-user customerId=`+fakegraph.ContosoTenantID+` displayName="Jane Doe" mailNickname=jane reason="new hire"`,
		"/as sam", "approve 1")
	if !strings.Contains(out, "Approval needed: add-user jane@contoso.com") || !strings.Contains(out, "jane@contoso.com: created") {
		t.Fatalf("customerId=<tenant ID>:\n%s", out)
	}
	out = r.session(t, `/cipp add-user customerId=nosuch.example displayName="Jo Doe" mailNickname=jo`)
	if !strings.Contains(out, "no onboarded tenant is called nosuch.example") {
		t.Fatalf("unknown customerId:\n%s", out)
	}
}

// TestGroupBasedLicensing: a licence a group assigns cannot be removed
// from the user (Graph refuses the whole assignLicense call), so
// remove-license names the group and offboard leaves licence groups for
// its licences step, after the mailbox is shared.
func TestGroupBasedLicensing(t *testing.T) {
	t.Parallel()
	r := newRun(t)
	const emily = "8b1d7c7a-4605-4a8f-a82a-84475981d820"
	upn := "EmilyB@contoso.com"
	must(t, r.sim.AddGroup(fakegraph.ContosoTenantID, fakegraph.Group{DisplayName: "Licensing EMS", SecurityEnabled: true,
		Licenses: []string{fakegraph.SkuEMS}, Members: []string{emily}}))
	must(t, r.sim.AddGroup(fakegraph.ContosoTenantID, fakegraph.Group{DisplayName: "Licensing E3", SecurityEnabled: true,
		Licenses: []string{fakegraph.SkuEnterprisePack}, Members: []string{emily}}))

	out := r.session(t, `/cipp remove-license `+upn+` EMS reason="moved to group licensing"`, "/as sam", "approve 1")
	if !strings.Contains(out, upn+": nothing removed; licensed through a group") || !strings.Contains(out, "EMS comes from group Licensing EMS") {
		t.Fatalf("remove-license of a group licence:\n%s", out)
	}

	out = r.session(t, `/cipp offboard `+upn+` reason="leaver"`, "/as sam", "approve 2")
	for _, want := range []string{"✓ Remove from groups", "licence group(s) left for the licences step", "✓ Convert to shared mailbox",
		"✓ Remove licences", "left licence group(s) Licensing E3, Licensing EMS"} {
		if !strings.Contains(out, want) {
			t.Errorf("offboard report lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "failed") {
		t.Errorf("a step failed:\n%s", out)
	}
	u, _ := r.sim.User(fakegraph.ContosoTenantID, upn)
	if len(u.Licenses) != 0 || len(u.Groups) != 0 || u.MailboxType != "SharedMailbox" {
		t.Fatalf("after offboard: licences %v, groups %v, mailbox %q", u.Licenses, u.Groups, u.MailboxType)
	}
}

// testClock is a clock a test moves.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *testClock) Add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// sweep starts cippbot on the run's store with its clock at now, runs
// one sweep (expiry, jobs left for later) and returns the new output.
func (r *run) sweep(t *testing.T, now func() time.Time) string {
	t.Helper()
	before := r.out.Len()
	d := r.start(t)
	defer d.Close()
	d.bot.Now = now
	must(t, d.bot.Sweep(context.Background()))
	return r.out.String()[before:]
}

// TestAddUserDistributionListLater: Exchange does not know a new user for
// minutes, so copying a distribution list is kept as a job, tried after 5
// and 15 minutes (and 30), across a restart, and the requester is told.
func TestAddUserDistributionListLater(t *testing.T) {
	t.Parallel()
	clock := &testClock{t: time.Now().UTC()}
	r := &run{sim: fakegraph.NewTest(t, fakegraph.Options{Now: clock.Now}), path: filepath.Join(t.TempDir(), "cippbot.db"), reasonOptional: []string{"all"}}
	r.sim.Start()
	t.Cleanup(r.sim.Close)
	newsletter := func(upn string) bool {
		u, _ := r.sim.User(fakegraph.ContosoTenantID, upn)
		g, _ := r.sim.Group(fakegraph.ContosoTenantID, "Contoso Newsletter")
		return u.ID != "" && slices.Contains(g.Members, u.ID)
	}

	out := r.session(t, `/cipp add-user displayName="Jane Doe" mailNickname=jane primDomain=contoso.com usageLocation=US licenses=ENTERPRISEPACK copyfrom=MeganB@contoso.com`,
		"/as sam", "approve 1")
	if !strings.Contains(out, "jane@contoso.com: created") || !strings.Contains(out, "1 distribution list(s) follow in 5 to 15 minutes") {
		t.Fatalf("add-user:\n%s", out)
	}
	if newsletter("jane@contoso.com") {
		t.Fatal("added to the distribution list before Exchange knew the user")
	}
	clock.Add(time.Minute)
	if out := r.sweep(t, clock.Now); strings.Contains(out, "done later") || newsletter("jane@contoso.com") {
		t.Fatalf("job ran before its time:\n%s", out)
	}
	clock.Add(5 * time.Minute) // Exchange has known her for two minutes
	out = r.sweep(t, clock.Now)
	if !strings.Contains(out, "(only riley sees this) jane@contoso.com: done later: add to Contoso Newsletter") || !newsletter("jane@contoso.com") {
		t.Fatalf("job at 6 minutes:\n%s", out)
	}
	if a := r.lastAudit(t); !strings.Contains(a, `"later":"add to Contoso Newsletter"`) || !strings.Contains(a, `"outcome":"ok"`) {
		t.Errorf("audit: %s", a)
	}

	// Exchange that takes longer than every try: the requester is told
	// to do it by hand.
	r.sim.SetExchangeSyncDelay(2 * time.Hour)
	out = r.session(t, `/cipp add-user displayName="Jo Doe" mailNickname=jo primDomain=contoso.com usageLocation=US licenses=ENTERPRISEPACK copyfrom=MeganB@contoso.com`,
		"/as sam", "approve 2")
	if !strings.Contains(out, "jo@contoso.com: created") {
		t.Fatalf("add-user jo:\n%s", out)
	}
	for _, d := range []time.Duration{6 * time.Minute, 10 * time.Minute, 15 * time.Minute} {
		clock.Add(d)
		out = r.sweep(t, clock.Now)
	}
	if !strings.Contains(out, "jo@contoso.com: add to Contoso Newsletter failed after 3 tries; do it by hand") || newsletter("jo@contoso.com") {
		t.Fatalf("job after its last try:\n%s", out)
	}
}
