package fakegraph_test

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/cippbot/cippbot/internal/fakegraph"
)

// spGraph returns a Graph client for contoso with the SharePoint
// permissions added to the default ones.
func spGraph(t *testing.T, extra ...string) *graph {
	t.Helper()
	g := newGraph(t, fakegraph.Options{})
	if extra == nil {
		extra = []string{"Sites.ReadWrite.All", "Files.ReadWrite.All"}
	}
	g.s.SetPermissions(fakegraph.ContosoTenantID, append(noSharePoint(), extra...))
	return g
}

// noSharePoint returns the default permissions without any Sites.* or
// Files.* one.
func noSharePoint() []string {
	return slices.DeleteFunc(fakegraph.DefaultPermissions(), func(p string) bool {
		return strings.HasPrefix(p, "Sites.") || strings.HasPrefix(p, "Files.")
	})
}

// objAt returns member k of m as an object.
func objAt(t *testing.T, m map[string]any, k string) map[string]any {
	t.Helper()
	v, ok := m[k].(map[string]any)
	if !ok {
		t.Fatalf("no object %q in %v", k, m)
	}
	return v
}

// salesSite returns the seeded Sales site.
func salesSite(t *testing.T, s *fakegraph.Server) fakegraph.SharePointSite {
	t.Helper()
	for _, st := range s.SharePointSites(fakegraph.ContosoTenantID) {
		if st.Name == "Sales" {
			return st
		}
	}
	t.Fatal("no Sales site")
	return fakegraph.SharePointSite{}
}

func TestSitesRoot(t *testing.T) {
	t.Parallel()
	g := spGraph(t)
	r := g.do(http.MethodGet, "/v1.0/sites/root", nil)
	if r.status != http.StatusOK {
		t.Fatalf("status %d: %s", r.status, r.raw)
	}
	id, _ := r.json["id"].(string)
	parts := strings.Split(id, ",")
	if len(parts) != 3 || parts[0] != "contoso.sharepoint.com" || len(parts[1]) != 36 || len(parts[2]) != 36 {
		t.Errorf("id = %q", id)
	}
	if r.json["webUrl"] != "https://contoso.sharepoint.com" || r.json["displayName"] != "Communication site" || r.json["name"] != "" {
		t.Errorf("root site = %s", r.raw)
	}
	if objAt(t, r.json, "siteCollection")["hostname"] != "contoso.sharepoint.com" {
		t.Errorf("siteCollection: %s", r.raw)
	}
	if r.json["@odata.context"] != "https://graph.microsoft.com/v1.0/$metadata#sites/$entity" {
		t.Errorf("context = %v", r.json["@odata.context"])
	}
	// The same site by hostname and by id; $select trims it.
	if r2 := g.do(http.MethodGet, "/v1.0/sites/contoso.sharepoint.com", nil); r2.json["id"] != id {
		t.Errorf("by host: %s", r2.raw)
	}
	r3 := g.do(http.MethodGet, "/v1.0/sites/"+url.PathEscape(id)+"?$select=webUrl", nil)
	if r3.json["id"] != id || r3.json["webUrl"] != "https://contoso.sharepoint.com" || r3.json["displayName"] != nil {
		t.Errorf("by id with $select: %s", r3.raw)
	}
	g.s.ExpectUnhandled(http.MethodPatch, "/v1.0/sites/root")
	wantError(t, g.do(http.MethodPatch, "/v1.0/sites/root", map[string]any{"displayName": "x"}), http.StatusMethodNotAllowed, "Request_BadRequest", "")
	// Beta, and inside $batch.
	if r4 := g.do(http.MethodGet, "/beta/sites/root", nil); r4.json["id"] != id {
		t.Errorf("beta: %s", r4.raw)
	}
	b := g.do(http.MethodPost, "/v1.0/$batch", map[string]any{"requests": []any{
		map[string]any{"id": "1", "method": "GET", "url": "/sites/root?$select=id"},
	}})
	if !strings.Contains(string(b.raw), id) {
		t.Errorf("batch: %s", b.raw)
	}
}

func TestSitesByPath(t *testing.T) {
	t.Parallel()
	g := spGraph(t, "Sites.Read.All")
	sales := salesSite(t, g.s)
	for _, p := range []string{
		"/v1.0/sites/contoso.sharepoint.com:/sites/Sales",
		"/v1.0/sites/contoso.sharepoint.com:/sites/sales/",
		"/v1.0/sites/contoso.sharepoint.com%3A%2Fsites%2FSales",
		"/v1.0/sites/contoso.sharepoint.com:/sites/Sales:",
		"/v1.0/sites/" + sales.ID,
	} {
		r := g.do(http.MethodGet, p, nil)
		if r.status != http.StatusOK || r.json["id"] != sales.ID || r.json["displayName"] != "Sales" ||
			r.json["webUrl"] != "https://contoso.sharepoint.com/sites/Sales" {
			t.Errorf("%s: %d %s", p, r.status, r.raw)
		}
	}
	hr := g.do(http.MethodGet, "/v1.0/sites/contoso.sharepoint.com:/sites/HR", nil)
	if hr.json["name"] != "HR" || hr.json["webUrl"] != "https://contoso.sharepoint.com/sites/HR" {
		t.Errorf("HR: %s", hr.raw)
	}
	wantError(t, g.do(http.MethodGet, "/v1.0/sites/contoso.sharepoint.com:/sites/Nowhere", nil),
		http.StatusNotFound, "itemNotFound", "Requested site could not be found")
	wantError(t, g.do(http.MethodGet, "/v1.0/sites/contoso.sharepoint.com:/sites/Sales/drive", nil),
		http.StatusNotFound, "itemNotFound", "Requested site could not be found")
	wantError(t, g.do(http.MethodGet, "/v1.0/sites/fabrikam.sharepoint.com:/sites/Sales", nil),
		http.StatusBadRequest, "invalidRequest", "Invalid hostname for this tenancy")
	wantError(t, g.do(http.MethodGet, "/v1.0/sites/contoso.sharepoint.com,not-a-guid,x", nil),
		http.StatusBadRequest, "invalidRequest", "malformed")
	other := strings.Replace(sales.ID, sales.ID[len(sales.ID)-4:], "0000", 1)
	wantError(t, g.do(http.MethodGet, "/v1.0/sites/"+other, nil), http.StatusNotFound, "itemNotFound", "site could not be found")
	wantError(t, g.do(http.MethodPatch, "/v1.0/sites/root", map[string]any{"displayName": "x"}), http.StatusForbidden, "accessDenied", "")

	list := values(t, g.do(http.MethodGet, "/v1.0/sites?search=sales", nil))
	if len(list) != 1 || list[0]["id"] != sales.ID {
		t.Errorf("search: %v", list)
	}
	if all := values(t, g.do(http.MethodGet, "/v1.0/sites?search=*", nil)); len(all) != 3 {
		t.Errorf("all sites: %v", all)
	}
}

func TestSiteDrive(t *testing.T) {
	t.Parallel()
	g := spGraph(t, "Sites.Read.All")
	sales := salesSite(t, g.s)
	r := g.do(http.MethodGet, "/v1.0/sites/"+sales.ID+"/drive", nil)
	if r.status != http.StatusOK {
		t.Fatalf("drive: %d %s", r.status, r.raw)
	}
	if r.json["id"] != sales.DriveID || r.json["name"] != "Documents" || r.json["driveType"] != "documentLibrary" ||
		r.json["webUrl"] != "https://contoso.sharepoint.com/sites/Sales/Shared%20Documents" {
		t.Errorf("drive = %s", r.raw)
	}
	if _, ok := r.json["sharePointIds"]; ok {
		t.Errorf("sharePointIds returned without $select: %s", r.raw)
	}
	if !strings.HasPrefix(sales.DriveID, "b!") || len(sales.DriveID) != 66 {
		t.Errorf("drive id = %q", sales.DriveID)
	}
	sel := g.do(http.MethodGet, "/v1.0/sites/contoso.sharepoint.com:/sites/Sales:/drive?$select=sharepointIds", nil)
	ids := objAt(t, sel.json, "sharePointIds")
	parts := strings.Split(sales.ID, ",")
	if ids["listId"] != sales.ListID || ids["siteId"] != parts[1] || ids["webId"] != parts[2] ||
		ids["siteUrl"] != "https://contoso.sharepoint.com/sites/Sales" || ids["tenantId"] != fakegraph.ContosoTenantID {
		t.Errorf("sharePointIds = %v", ids)
	}
	if sel.json["name"] != nil {
		t.Errorf("$select kept name: %s", sel.raw)
	}
	if drives := values(t, g.do(http.MethodGet, "/v1.0/sites/"+sales.ID+"/drives", nil)); len(drives) != 1 || drives[0]["id"] != sales.DriveID {
		t.Errorf("drives = %v", drives)
	}
	wantError(t, g.do(http.MethodGet, "/v1.0/sites/"+sales.ID+"/drive?$select=nope", nil), http.StatusBadRequest, "BadRequest", "nope")
	if got := sales.Folders; !slices.Equal(got, []string{"Proposals", "Proposals/2026"}) {
		t.Errorf("folders = %v", got)
	}
}

func TestSiteFolders(t *testing.T) {
	t.Parallel()
	g := spGraph(t, "Files.Read.All")
	sales := salesSite(t, g.s)
	base := "/v1.0/sites/" + sales.ID + "/drive"
	r := g.do(http.MethodGet, base+"/root:/Proposals", nil)
	if r.status != http.StatusOK {
		t.Fatalf("folder: %d %s", r.status, r.raw)
	}
	if r.json["name"] != "Proposals" || r.json["webUrl"] != "https://contoso.sharepoint.com/sites/Sales/Shared%20Documents/Proposals" {
		t.Errorf("folder = %s", r.raw)
	}
	if objAt(t, r.json, "folder")["childCount"] != float64(1) {
		t.Errorf("childCount: %s", r.raw)
	}
	parent := objAt(t, r.json, "parentReference")
	if parent["driveId"] != sales.DriveID || parent["driveType"] != "documentLibrary" || parent["siteId"] != sales.ID ||
		parent["path"] != "/drives/"+sales.DriveID+"/root:" {
		t.Errorf("parentReference = %v", parent)
	}
	if _, ok := r.json["sharepointIds"]; ok {
		t.Errorf("sharepointIds without $select: %s", r.raw)
	}
	id, _ := r.json["id"].(string)
	if !strings.HasPrefix(id, "01") || len(id) != 34 {
		t.Errorf("item id = %q", id)
	}

	sub := g.do(http.MethodGet, base+"/root:/Proposals/2026?$select=id,name,sharepointIds,folder", nil)
	ids := objAt(t, sub.json, "sharepointIds")
	if sub.json["name"] != "2026" || objAt(t, sub.json, "folder")["childCount"] != float64(0) || ids["listId"] != sales.ListID ||
		ids["listItemId"] != "2" || len(ids["listItemUniqueId"].(string)) != 36 || ids["siteUrl"] != "https://contoso.sharepoint.com/sites/Sales" {
		t.Errorf("2026 = %s", sub.raw)
	}
	for _, p := range []string{base + "/root%3A%2FProposals%2F2026", base + "/root:/proposals/2026:", base + "/items/" + sub.json["id"].(string)} {
		if x := g.do(http.MethodGet, p, nil); x.json["id"] != sub.json["id"] {
			t.Errorf("%s: %d %s", p, x.status, x.raw)
		}
	}
	for _, p := range []string{
		"/v1.0/sites/contoso.sharepoint.com:/sites/Sales:/drive/root:/Proposals/2026",
		"/v1.0/sites/contoso.sharepoint.com:/sites/Sales:/drives/" + sales.DriveID + "/root:/Proposals/2026:",
	} {
		if x := g.do(http.MethodGet, p, nil); x.json["id"] != sub.json["id"] {
			t.Errorf("%s: %d %s", p, x.status, x.raw)
		}
	}
	kids := values(t, g.do(http.MethodGet, base+"/root:/Proposals:/children", nil))
	if len(kids) != 1 || kids[0]["name"] != "2026" {
		t.Errorf("children = %v", kids)
	}
	root := g.do(http.MethodGet, base+"/root?$expand=children", nil)
	if root.json["name"] != "root" || root.json["webUrl"] != "https://contoso.sharepoint.com/sites/Sales/Shared%20Documents" {
		t.Errorf("root = %s", root.raw)
	}
	if c, _ := root.json["children"].([]any); len(c) != 1 {
		t.Errorf("expanded children: %s", root.raw)
	}
	wantError(t, g.do(http.MethodGet, base+"/root:/Shared Documents/Proposals", nil), http.StatusNotFound, "itemNotFound", "The resource could not be found.")
	wantError(t, g.do(http.MethodGet, base+"/root:/Missing", nil), http.StatusNotFound, "itemNotFound", "The resource could not be found.")
	wantError(t, g.do(http.MethodGet, base+"/items/01NOPE", nil), http.StatusNotFound, "itemNotFound", "")
	g.s.ExpectUnhandled(http.MethodGet, base+"/bogus")
	wantError(t, g.do(http.MethodGet, base+"/bogus", nil), http.StatusBadRequest, "BadRequest", "bogus")
	// Files.Read.All does not allow creating folders.
	wantError(t, g.do(http.MethodPost, base+"/root/children", map[string]any{"name": "New", "folder": map[string]any{}}),
		http.StatusForbidden, "accessDenied", "Access denied")
}

func TestSitesPermissions(t *testing.T) {
	t.Parallel()
	g := newGraph(t, fakegraph.Options{})
	g.s.SetPermissions(fakegraph.ContosoTenantID, noSharePoint())
	wantError(t, g.do(http.MethodGet, "/v1.0/sites/root", nil), http.StatusForbidden, "accessDenied", "Access denied")
	wantError(t, g.do(http.MethodGet, "/v1.0/users/"+fakegraph.ContosoAdeleID+"/drive", nil), http.StatusForbidden, "accessDenied", "Access denied")
	for _, p := range []string{"Sites.Read.All", "sites.readwrite.all", "Files.Read.All", "Sites.FullControl.All"} {
		g.s.SetPermissions(fakegraph.ContosoTenantID, append(noSharePoint(), p))
		if r := g.do(http.MethodGet, "/v1.0/sites/root", nil); r.status != http.StatusOK {
			t.Errorf("%s: %d %s", p, r.status, r.raw)
		}
	}
}

func TestOneDriveSeed(t *testing.T) {
	t.Parallel()
	g := spGraph(t)
	s := g.s
	for _, c := range []struct {
		id   string
		want bool
	}{{fakegraph.ContosoAdeleID, true}, {fakegraph.ContosoAdminID, true}, {fakegraph.ContosoLynneID, true},
		{fakegraph.ContosoIsaiahID, false}, {fakegraph.ContosoJoniID, false}} {
		if got := s.OneDrive(fakegraph.ContosoTenantID, c.id); got != c.want {
			t.Errorf("OneDrive(%s) = %v, want %v", c.id, got, c.want)
		}
	}
	if !s.OneDrive(fakegraph.ContosoDomain, "AdeleV@contoso.com") || s.OneDrive("nowhere.example", "x") {
		t.Error("OneDrive by domain and UPN")
	}
	r := g.do(http.MethodGet, "/v1.0/users/AdeleV@contoso.com/drive", nil)
	if r.status != http.StatusOK {
		t.Fatalf("drive: %d %s", r.status, r.raw)
	}
	if r.json["driveType"] != "business" || r.json["name"] != "OneDrive" ||
		r.json["webUrl"] != "https://contoso-my.sharepoint.com/personal/adelev_contoso_com/Documents" {
		t.Errorf("drive = %s", r.raw)
	}
	owner := objAt(t, objAt(t, r.json, "owner"), "user")
	if owner["id"] != fakegraph.ContosoAdeleID || owner["displayName"] != "Adele Vance" || owner["email"] != "AdeleV@contoso.com" {
		t.Errorf("owner = %v", owner)
	}
	wantError(t, g.do(http.MethodGet, "/v1.0/users/"+fakegraph.ContosoIsaiahID+"/drive", nil),
		http.StatusNotFound, "ResourceNotFound", "User's mysite not found.")
	wantError(t, g.do(http.MethodGet, "/v1.0/users/"+fakegraph.ContosoJoniID+"/drive/root/children", nil),
		http.StatusNotFound, "ResourceNotFound", "User's mysite not found.")
	wantError(t, g.do(http.MethodGet, "/v1.0/users/nobody@contoso.com/drive", nil), http.StatusNotFound, "Request_ResourceNotFound", "")

	s.SetOneDrive(fakegraph.ContosoTenantID, "IsaiahL@contoso.com", true)
	if !s.OneDrive(fakegraph.ContosoTenantID, fakegraph.ContosoIsaiahID) {
		t.Error("SetOneDrive(true) did not provision")
	}
	if r := g.do(http.MethodGet, "/v1.0/users/"+fakegraph.ContosoIsaiahID+"/drive/root", nil); r.status != http.StatusOK || r.json["name"] != "root" {
		t.Errorf("provisioned root: %d %s", r.status, r.raw)
	}
	s.SetOneDrive(fakegraph.ContosoTenantID, fakegraph.ContosoAdeleID, false)
	wantError(t, g.do(http.MethodGet, "/v1.0/users/"+fakegraph.ContosoAdeleID+"/drive", nil), http.StatusNotFound, "ResourceNotFound", "mysite")

	// Other tenants follow the same rule with their own name.
	if err := s.AddTenant(fakegraph.FabrikamSeed()); err != nil {
		t.Fatal(err)
	}
	sites := s.SharePointSites(fakegraph.FabrikamTenantID)
	if len(sites) != 3 || !strings.HasPrefix(sites[0].ID, "fabrikam.sharepoint.com,") || sites[1].WebURL != "https://fabrikam.sharepoint.com/sites/Sales" {
		t.Errorf("fabrikam sites = %+v", sites)
	}
	if !s.OneDrive(fakegraph.FabrikamTenantID, fakegraph.FabrikamAdminID) {
		t.Error("fabrikam admin has no OneDrive")
	}
}

// shortcutBody is a shortcut request for a folder of the Sales site.
func shortcutBody(sales fakegraph.SharePointSite, name, unique, behavior string) map[string]any {
	parts := strings.Split(sales.ID, ",")
	b := map[string]any{
		"name": name,
		"remoteItem": map[string]any{"sharepointIds": map[string]any{
			"listId": sales.ListID, "listItemUniqueId": unique, "siteId": parts[1], "siteUrl": sales.WebURL, "webId": parts[2],
		}},
	}
	if behavior != "" {
		b["@microsoft.graph.conflictBehavior"] = behavior
	}
	return b
}

func TestDriveShortcuts(t *testing.T) {
	t.Parallel()
	g := spGraph(t)
	s := g.s
	sales := salesSite(t, s)
	adele := "/v1.0/users/" + fakegraph.ContosoAdeleID + "/drive/root/children"

	r := g.do(http.MethodPost, adele, shortcutBody(sales, "Sales", "root", "rename"))
	if r.status != http.StatusCreated {
		t.Fatalf("create: %d %s", r.status, r.raw)
	}
	remote := objAt(t, r.json, "remoteItem")
	if r.json["name"] != "Sales" || remote["webUrl"] != "https://contoso.sharepoint.com/sites/Sales/Shared%20Documents" ||
		objAt(t, remote, "parentReference")["driveId"] != sales.DriveID || r.json["createdDateTime"] == nil ||
		r.json["webUrl"] != "https://contoso-my.sharepoint.com/personal/adelev_contoso_com/Documents/Sales" {
		t.Errorf("shortcut = %s", r.raw)
	}
	if !strings.Contains(r.json["@odata.context"].(string), "users('"+fakegraph.ContosoAdeleID+"')/drive/root/children/$entity") {
		t.Errorf("context = %v", r.json["@odata.context"])
	}
	if r2 := g.do(http.MethodPost, adele, shortcutBody(sales, "sales", "root", "rename")); r2.status != http.StatusCreated || r2.json["name"] != "sales 1" {
		t.Errorf("rename: %d %s", r2.status, r2.raw)
	}
	wantError(t, g.do(http.MethodPost, adele, shortcutBody(sales, "Sales", "root", "fail")), http.StatusConflict, "nameAlreadyExists", "already exists")
	wantError(t, g.do(http.MethodPost, adele, shortcutBody(sales, "Sales", "root", "")), http.StatusConflict, "nameAlreadyExists", "")

	// A folder, by its listItemUniqueId.
	sel := g.do(http.MethodGet, "/v1.0/sites/"+sales.ID+"/drive/root:/Proposals?$select=sharepointIds", nil)
	unique := objAt(t, sel.json, "sharepointIds")["listItemUniqueId"].(string)
	if r3 := g.do(http.MethodPost, adele, shortcutBody(sales, "Proposals", unique, "rename")); r3.status != http.StatusCreated ||
		objAt(t, r3.json, "remoteItem")["name"] != "Proposals" {
		t.Errorf("folder shortcut: %d %s", r3.status, r3.raw)
	}
	if got := s.DriveShortcuts(fakegraph.ContosoTenantID, "AdeleV@contoso.com"); !slices.Equal(got, []string{"Sales", "sales 1", "Proposals"}) {
		t.Errorf("DriveShortcuts = %v", got)
	}
	kids := values(t, g.do(http.MethodGet, adele, nil))
	if len(kids) != 3 || kids[2]["remoteItem"] == nil {
		t.Errorf("children = %v", kids)
	}

	// Targets that do not exist, and malformed ones.
	bad := shortcutBody(sales, "X", newGUIDForTest(), "rename")
	wantError(t, g.do(http.MethodPost, adele, bad), http.StatusNotFound, "itemNotFound", "")
	bad = shortcutBody(sales, "X", "root", "rename")
	bad["remoteItem"].(map[string]any)["sharepointIds"].(map[string]any)["listId"] = newGUIDForTest()
	wantError(t, g.do(http.MethodPost, adele, bad), http.StatusNotFound, "itemNotFound", "")
	bad = shortcutBody(sales, "X", "root", "rename")
	bad["remoteItem"].(map[string]any)["sharepointIds"].(map[string]any)["siteId"] = newGUIDForTest()
	wantError(t, g.do(http.MethodPost, adele, bad), http.StatusNotFound, "itemNotFound", "")
	bad = shortcutBody(sales, "X", "root", "rename")
	bad["remoteItem"].(map[string]any)["sharepointIds"].(map[string]any)["siteUrl"] = "https://contoso.sharepoint.com/sites/HR"
	wantError(t, g.do(http.MethodPost, adele, bad), http.StatusNotFound, "itemNotFound", "")
	bad = shortcutBody(sales, "X", "root", "rename")
	bad["remoteItem"].(map[string]any)["sharepointIds"].(map[string]any)["siteId"] = "nope"
	wantError(t, g.do(http.MethodPost, adele, bad), http.StatusBadRequest, "invalidRequest", "")
	wantError(t, g.do(http.MethodPost, adele, map[string]any{"name": "X", "remoteItem": map[string]any{}}), http.StatusBadRequest, "invalidRequest", "sharepointIds")
	wantError(t, g.do(http.MethodPost, adele, shortcutBody(sales, "", "root", "rename")), http.StatusBadRequest, "invalidRequest", "name")
	wantError(t, g.do(http.MethodPost, adele, shortcutBody(sales, "a:b", "root", "rename")), http.StatusBadRequest, "invalidRequest", "")
	wantError(t, g.do(http.MethodPost, adele, shortcutBody(sales, "Y", "root", "merge")), http.StatusBadRequest, "invalidRequest", "conflictBehavior")
	wantError(t, g.do(http.MethodPost, adele, map[string]any{"name": "Z"}), http.StatusBadRequest, "invalidRequest", "")
	wantError(t, g.do(http.MethodPost, adele, map[string]any{"name": "Z", "folder": map[string]any{}, "colour": "red"}), http.StatusBadRequest, "BadRequest", "colour")

	// Plain folders work too; no OneDrive means mysite not found.
	if f := g.do(http.MethodPost, adele, map[string]any{"name": "Notes", "folder": map[string]any{}}); f.status != http.StatusCreated || f.json["folder"] == nil {
		t.Errorf("folder: %d %s", f.status, f.raw)
	}
	if got := s.DriveShortcuts(fakegraph.ContosoTenantID, fakegraph.ContosoAdeleID); len(got) != 3 {
		t.Errorf("folders counted as shortcuts: %v", got)
	}
	wantError(t, g.do(http.MethodPost, "/v1.0/users/"+fakegraph.ContosoIsaiahID+"/drive/root/children", shortcutBody(sales, "Sales", "root", "rename")),
		http.StatusNotFound, "ResourceNotFound", "User's mysite not found.")
	if s.DriveShortcuts(fakegraph.ContosoTenantID, fakegraph.ContosoIsaiahID) != nil {
		t.Error("shortcuts for a user without OneDrive")
	}

	// Writing needs Files.ReadWrite.All (or Sites.ReadWrite.All).
	s.SetPermissions(fakegraph.ContosoTenantID, append(noSharePoint(), "Files.Read.All"))
	wantError(t, g.do(http.MethodPost, adele, shortcutBody(sales, "Sales", "root", "rename")), http.StatusForbidden, "accessDenied", "Access denied")
	s.SetPermissions(fakegraph.ContosoTenantID, append(noSharePoint(), "Files.ReadWrite.All"))
	if r := g.do(http.MethodPost, adele, shortcutBody(sales, "Sales", "root", "replace")); r.status != http.StatusCreated || r.json["name"] != "Sales" {
		t.Errorf("replace: %d %s", r.status, r.raw)
	}
	if got := s.DriveShortcuts(fakegraph.ContosoTenantID, fakegraph.ContosoAdeleID); !slices.Equal(got, []string{"sales 1", "Proposals", "Sales"}) {
		t.Errorf("after replace: %v", got)
	}
}

// newGUIDForTest returns a GUID no seeded object uses.
func newGUIDForTest() string {
	return "0badc0de-0000-4000-8000-000000000000"
}
