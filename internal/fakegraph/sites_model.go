package fakegraph

import (
	"crypto/sha256"
	"encoding/base32"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// SharePoint and OneDrive state. Every tenant gets, the first time
// anything touches its SharePoint side (a Graph /sites or
// /users/{id}/drive request, the admin CSOM endpoint, or one of the
// accessors below), a deterministic set of sites:
//
//	https://{name}.sharepoint.com                "Communication site", the root site
//	https://{name}.sharepoint.com/sites/Sales    "Sales", whose Documents library
//	                                             holds the folders Proposals and
//	                                             Proposals/2026
//	https://{name}.sharepoint.com/sites/HR       "HR", with an empty library
//
// where {name} is the part of the tenant's initial (onmicrosoft.com)
// domain before the first dot. At the same moment every user whose
// licenses include Exchange Online gets a provisioned OneDrive, except
// contoso's Isaiah Langer and Joni Sherman. Ids are derived from the
// tenant id, so they are the same on every run.

// spQuota is the storage of every library and OneDrive, 1 TB.
const spQuota = 1 << 40

// sharePointState is the SharePoint side of a Server; its zero value is
// ready to use and it is guarded by the Server's mu.
type sharePointState struct {
	tenants map[string]*spTenant
}

// spTenant is the SharePoint side of one tenant.
type spTenant struct {
	tenantID string
	// name is the SharePoint tenant name, e.g. "contoso".
	name  string
	sites []*spSite
	// oneDrives holds the provisioned personal sites by user id.
	oneDrives map[string]*spSite
	// requests are the e-mail addresses sent to RequestPersonalSites,
	// in order.
	requests []string
}

// spSite is a site collection with its default document library.
type spSite struct {
	host string
	// path is the server-relative path, "" for the root site.
	path        string
	name        string
	displayName string
	description string
	siteID      string
	webID       string
	created     time.Time
	// owner is the user of a personal site (OneDrive), nil otherwise.
	owner *User
	lib   *spLibrary
}

// spLibrary is a document library (a drive).
type spLibrary struct {
	site      *spSite
	listID    string
	driveID   string
	driveName string
	// urlName is the library's folder in URLs, e.g. "Shared Documents".
	urlName   string
	driveType string
	created   time.Time
	// items holds every item, the root folder first.
	items      []*spItem
	nextItemID int
}

// spItem is a folder (or a shortcut) in a library.
type spItem struct {
	lib        *spLibrary
	id         string
	name       string
	parent     *spItem
	listItemID int
	uniqueID   string
	created    time.Time
	modified   time.Time
	// createdBy is the display name of the creator.
	createdBy string
	// remote is the target of a shortcut ("Add shortcut to My files").
	remote *spItem
}

// siteURL returns the site's absolute URL.
func (st *spSite) siteURL() string {
	return "https://" + st.host + st.path
}

// graphID returns the site id Graph uses: "{host},{site id},{web id}".
func (st *spSite) graphID() string {
	return st.host + "," + st.siteID + "," + st.webID
}

// lastModified returns the time of the newest change in the site.
func (st *spSite) lastModified() time.Time {
	t0 := st.created
	for _, it := range st.lib.items {
		if it.modified.After(t0) {
			t0 = it.modified
		}
	}
	return t0
}

// root returns the library's root folder.
func (l *spLibrary) root() *spItem {
	return l.items[0]
}

// webURL returns the library's URL.
func (l *spLibrary) webURL() string {
	return l.site.siteURL() + "/" + url.PathEscape(l.urlName)
}

// children returns the direct children of it, in creation order.
func (l *spLibrary) children(it *spItem) []*spItem {
	var out []*spItem
	for _, x := range l.items {
		if x.parent == it {
			out = append(out, x)
		}
	}
	return out
}

// child finds a child of it by name, ignoring case.
func (l *spLibrary) child(it *spItem, name string) *spItem {
	for _, x := range l.items {
		if x.parent == it && strings.EqualFold(x.name, name) {
			return x
		}
	}
	return nil
}

// find looks an item up by its driveItem id, ignoring case; "root" is
// the root folder.
func (l *spLibrary) find(id string) *spItem {
	if strings.EqualFold(id, "root") {
		return l.root()
	}
	for _, x := range l.items {
		if strings.EqualFold(x.id, id) {
			return x
		}
	}
	return nil
}

// resolve walks a "/"-separated path from the root, ignoring case; a
// shortcut can end the path but not be walked through.
func (l *spLibrary) resolve(p string) *spItem {
	it := l.root()
	for _, seg := range strings.Split(p, "/") {
		if seg == "" {
			continue
		}
		if it.remote != nil {
			return nil
		}
		if it = l.child(it, seg); it == nil {
			return nil
		}
	}
	return it
}

// add creates a folder (or, with remote set, a shortcut) under parent.
func (l *spLibrary) add(parent *spItem, name string, remote *spItem, when time.Time, by string) *spItem {
	l.nextItemID++
	unique := stableGUID(l.driveID, "item", strconv.Itoa(l.nextItemID))
	it := &spItem{lib: l, id: spDriveItemID(l.driveID, unique), name: name, parent: parent, listItemID: l.nextItemID,
		uniqueID: unique, created: when, modified: when, createdBy: by, remote: remote}
	l.items = append(l.items, it)
	return it
}

// remove deletes it and everything below it.
func (l *spLibrary) remove(it *spItem) {
	l.items = slices.DeleteFunc(l.items, func(x *spItem) bool {
		for p := x; p != nil; p = p.parent {
			if p == it {
				return true
			}
		}
		return false
	})
}

// path returns the item's path below the library root, "" for the root.
func (it *spItem) path() string {
	if it.parent == nil {
		return ""
	}
	return it.parent.path() + "/" + it.name
}

// webURL returns the item's URL.
func (it *spItem) webURL() string {
	u := it.lib.webURL()
	for _, seg := range strings.Split(strings.TrimPrefix(it.path(), "/"), "/") {
		if seg != "" {
			u += "/" + url.PathEscape(seg)
		}
	}
	return u
}

// spDriveItemID makes a driveItem id of SharePoint's shape: "01" and 32
// base32 characters.
func spDriveItemID(driveID, uniqueID string) string {
	sum := sha256.Sum256([]byte(driveID + "\x00" + uniqueID))
	return "01" + base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(sum[:20])
}

// spDriveID makes a drive id of SharePoint's shape: "b!" and the
// site, web and list ids, base64url-encoded.
func spDriveID(siteID, webID, listID string) string {
	var raw []byte
	for _, g := range []string{siteID, webID, listID} {
		b, _ := hex.DecodeString(strings.ReplaceAll(g, "-", ""))
		raw = append(raw, b...)
	}
	return "b!" + base64.RawURLEncoding.EncodeToString(raw)
}

// spTenantName returns the tenant's SharePoint name: the initial
// domain up to its first dot ("contoso" for contoso.onmicrosoft.com).
func spTenantName(t *tenant) string {
	d := t.domains[0].name
	for _, x := range t.domains {
		if x.isInitial {
			d = x.name
			break
		}
	}
	name, _, _ := strings.Cut(d, ".")
	return strings.ToLower(name)
}

// rootHost, myHost and adminHost are the tenant's SharePoint hosts.
func (sp *spTenant) rootHost() string  { return sp.name + ".sharepoint.com" }
func (sp *spTenant) myHost() string    { return sp.name + "-my.sharepoint.com" }
func (sp *spTenant) adminHost() string { return sp.name + "-admin.sharepoint.com" }

// spState returns t's SharePoint state, seeding it on first use;
// s.mu must be held.
func (s *Server) spState(t *tenant) *spTenant {
	if s.sp.tenants == nil {
		s.sp.tenants = map[string]*spTenant{}
	}
	if sp, ok := s.sp.tenants[t.id]; ok {
		return sp
	}
	sp := spSeed(t)
	s.sp.tenants[t.id] = sp
	return sp
}

// spSeed builds a tenant's sites and OneDrives.
func spSeed(t *tenant) *spTenant {
	sp := &spTenant{tenantID: t.id, name: spTenantName(t), oneDrives: map[string]*spSite{}}
	created := t.created
	root := sp.newSite(sp.rootHost(), "", "", "Communication site", "", created)
	sales := sp.newSite(sp.rootHost(), "/sites/Sales", "Sales", "Sales", "Proposals, price lists and the sales pipeline", created.Add(30*24*time.Hour))
	hr := sp.newSite(sp.rootHost(), "/sites/HR", "HR", "HR", "Policies, forms and onboarding", created.Add(31*24*time.Hour))
	sp.sites = []*spSite{root, sales, hr}
	proposals := sales.lib.add(sales.lib.root(), "Proposals", nil, sales.created.Add(time.Hour), "System Account")
	sales.lib.add(proposals, "2026", nil, sales.created.Add(2*time.Hour), "System Account")
	for _, u := range t.users {
		if u.ID == ContosoIsaiahID || u.ID == ContosoJoniID || t.exchangeQuotaGB(u) <= 0 {
			continue
		}
		sp.provision(u, u.CreatedDateTime.Add(time.Hour))
	}
	return sp
}

// newSite makes a site with an empty Documents library.
func (sp *spTenant) newSite(host, path, name, displayName, description string, created time.Time) *spSite {
	st := &spSite{
		host: host, path: path, name: name, displayName: displayName, description: description, created: created,
		siteID: stableGUID(sp.tenantID, "sharepoint", "site", strings.ToLower(host+path)),
		webID:  stableGUID(sp.tenantID, "sharepoint", "web", strings.ToLower(host+path)),
	}
	st.lib = spNewLibrary(st, stableGUID(sp.tenantID, "sharepoint", "list", strings.ToLower(host+path)),
		"Documents", "Shared Documents", "documentLibrary", created)
	return st
}

// spNewLibrary makes a library with its root folder.
func spNewLibrary(st *spSite, listID, driveName, urlName, driveType string, created time.Time) *spLibrary {
	l := &spLibrary{site: st, listID: listID, driveID: spDriveID(st.siteID, st.webID, listID),
		driveName: driveName, urlName: urlName, driveType: driveType, created: created}
	unique := stableGUID(l.driveID, "root")
	l.items = []*spItem{{lib: l, id: spDriveItemID(l.driveID, unique), name: "root", uniqueID: unique,
		created: created, modified: created, createdBy: "System Account"}}
	return l
}

// spPersonalPath returns the server-relative path of u's OneDrive:
// "/personal/" and the lowercased user principal name with every
// character other than a letter, digit or '-' replaced by '_'.
func spPersonalPath(upn string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(upn) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	return "/personal/" + b.String()
}

// provision creates u's OneDrive unless it exists and returns it.
func (sp *spTenant) provision(u *User, when time.Time) *spSite {
	if st, ok := sp.oneDrives[u.ID]; ok {
		return st
	}
	path := spPersonalPath(u.UserPrincipalName)
	st := &spSite{
		host: sp.myHost(), path: path, name: strings.TrimPrefix(path, "/personal/"), displayName: u.DisplayName,
		created: when, owner: u,
		siteID: stableGUID(sp.tenantID, "sharepoint", "mysite", u.ID),
		webID:  stableGUID(sp.tenantID, "sharepoint", "myweb", u.ID),
	}
	st.lib = spNewLibrary(st, stableGUID(sp.tenantID, "sharepoint", "mylist", u.ID), "OneDrive", "Documents", "business", when)
	sp.oneDrives[u.ID] = st
	return st
}

// siteByPath finds a site by host and server-relative path, ignoring
// case and a trailing slash.
func (sp *spTenant) siteByPath(host, path string) *spSite {
	path = strings.TrimRight(path, "/")
	for _, st := range sp.allSites() {
		if strings.EqualFold(st.host, host) && strings.EqualFold(st.path, path) {
			return st
		}
	}
	return nil
}

// siteByIDs finds a site by its site collection and web ids.
func (sp *spTenant) siteByIDs(siteID, webID string) *spSite {
	for _, st := range sp.allSites() {
		if strings.EqualFold(st.siteID, siteID) && (webID == "" || strings.EqualFold(st.webID, webID)) {
			return st
		}
	}
	return nil
}

// allSites returns the team sites and then the OneDrives, the latter
// in user order.
func (sp *spTenant) allSites() []*spSite {
	out := slices.Clone(sp.sites)
	ids := make([]string, 0, len(sp.oneDrives))
	for id := range sp.oneDrives {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		out = append(out, sp.oneDrives[id])
	}
	return out
}

// spLicensed reports whether one of u's licenses includes SharePoint
// Online (and so OneDrive).
func (t *tenant) spLicensed(u *User) bool {
	for _, id := range t.effectiveLicenses(u) {
		sku := t.sku(id)
		if sku == nil {
			continue
		}
		switch strings.ToUpper(sku.SkuPartNumber) {
		case "ENTERPRISEPACK", "ENTERPRISEPREMIUM", "ENTERPRISEPREMIUM_NOPSTNCONF", "SPE_E3", "SPE_E5", "DEVELOPERPACK_E5",
			"STANDARDPACK", "O365_BUSINESS_PREMIUM", "SPB", "O365_BUSINESS_ESSENTIALS", "SMB_BUSINESS_ESSENTIALS",
			"SMB_BUSINESS_PREMIUM", "O365_BUSINESS", "OFFICESUBSCRIPTION", "SPE_F1", "DESKLESSPACK",
			"SHAREPOINTSTANDARD", "SHAREPOINTENTERPRISE", "WACONEDRIVESTANDARD", "WACONEDRIVEENTERPRISE":
			return true
		}
	}
	return false
}

// spLookup returns the SharePoint state of a tenant (id or domain) and
// the user (id or UPN), panicking with the accessor's name when either
// does not exist; s.mu must be held.
func (s *Server) spLookup(fn, tenantIDOrDomain, idOrUPN string) (*spTenant, *User) {
	t := s.tenant(tenantIDOrDomain)
	if t == nil {
		panic(fmt.Sprintf("fakegraph: %s: no tenant %q", fn, tenantIDOrDomain))
	}
	sp := s.spState(t)
	if idOrUPN == "" {
		return sp, nil
	}
	u := t.findUser(idOrUPN, true)
	if u == nil {
		panic(fmt.Sprintf("fakegraph: %s: no user %q in %s", fn, idOrUPN, t.id))
	}
	return sp, u
}

// OneDrive reports whether the user (id or user principal name) of a
// tenant (id or domain) has a provisioned OneDrive; false when the
// tenant or user does not exist.
func (s *Server) OneDrive(tenantIDOrDomain, idOrUPN string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tenant(tenantIDOrDomain)
	if t == nil {
		return false
	}
	u := t.findUser(idOrUPN, true)
	if u == nil {
		return false
	}
	_, ok := s.spState(t).oneDrives[u.ID]
	return ok
}

// SetOneDrive provisions (with an empty drive) or removes, with
// everything in it, the OneDrive of a user (id or user principal name)
// of a tenant (id or domain), regardless of licenses. It panics if the
// tenant or user does not exist.
func (s *Server) SetOneDrive(tenantIDOrDomain, idOrUPN string, provisioned bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sp, u := s.spLookup("SetOneDrive", tenantIDOrDomain, idOrUPN)
	if provisioned {
		sp.provision(u, s.now())
		return
	}
	delete(sp.oneDrives, u.ID)
}

// DriveShortcuts returns the names of the shortcuts ("Add shortcut to
// My files") at the root of a user's OneDrive, in creation order; nil
// when the tenant or user does not exist or has no OneDrive.
func (s *Server) DriveShortcuts(tenantIDOrDomain, idOrUPN string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tenant(tenantIDOrDomain)
	if t == nil {
		return nil
	}
	u := t.findUser(idOrUPN, true)
	if u == nil {
		return nil
	}
	st, ok := s.spState(t).oneDrives[u.ID]
	if !ok {
		return nil
	}
	var out []string
	for _, it := range st.lib.children(st.lib.root()) {
		if it.remote != nil {
			out = append(out, it.name)
		}
	}
	return out
}

// PersonalSiteRequests returns every e-mail address sent to the admin
// CSOM method RequestPersonalSites for a tenant (id or domain), in
// order and as sent, including ones that named no licensed user; nil if
// there is no such tenant.
func (s *Server) PersonalSiteRequests(tenantIDOrDomain string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tenant(tenantIDOrDomain)
	if t == nil {
		return nil
	}
	return slices.Clone(s.spState(t).requests)
}

// SharePointSite describes a team site of a tenant, as Graph shows it.
type SharePointSite struct {
	// ID is the Graph site id, "{host},{site collection id},{web id}".
	ID string
	// WebURL is the site's address, e.g.
	// "https://contoso.sharepoint.com/sites/Sales".
	WebURL      string
	Name        string
	DisplayName string
	// DriveID and ListID identify the site's Documents library.
	DriveID string
	ListID  string
	// Folders are the paths of the library's folders below its root,
	// e.g. "Proposals/2026".
	Folders []string
}

// SharePointSites returns the team sites (not the OneDrives) of a tenant
// (id or domain), the root site first; nil if there is no such tenant.
func (s *Server) SharePointSites(tenantIDOrDomain string) []SharePointSite {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tenant(tenantIDOrDomain)
	if t == nil {
		return nil
	}
	var out []SharePointSite
	for _, st := range s.spState(t).sites {
		site := SharePointSite{ID: st.graphID(), WebURL: st.siteURL(), Name: st.name, DisplayName: st.displayName,
			DriveID: st.lib.driveID, ListID: st.lib.listID}
		for _, it := range st.lib.items[1:] {
			if it.remote == nil {
				site.Folders = append(site.Folders, strings.TrimPrefix(it.path(), "/"))
			}
		}
		out = append(out, site)
	}
	return out
}
