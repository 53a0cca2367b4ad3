package m365

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	abs "github.com/microsoft/kiota-abstractions-go"

	"github.com/cippbot/cippbot/actions"
)

var _ actions.OneDrive = (*Directory)(nil)

// csomMaxUsers is how many addresses one RequestPersonalSites call takes.
const csomMaxUsers = 200

// sharePointName returns the tenant's SharePoint name, "contoso" for
// contoso.sharepoint.com, from GET /sites/root.
func (d *Directory) sharePointName(ctx context.Context) (string, error) {
	var root struct {
		WebURL         string `json:"webUrl"`
		SiteCollection *struct {
			Hostname string `json:"hostname"`
		} `json:"siteCollection"`
	}
	if err := d.send(ctx, abs.GET, d.v1("/sites/root", "$select", "siteCollection,webUrl"), nil, &root); err != nil {
		return "", mapError(err, "the tenant's root SharePoint site")
	}
	host := ""
	if root.SiteCollection != nil {
		host = root.SiteCollection.Hostname
	}
	if host == "" {
		host = hostOf(root.WebURL)
	}
	name, _, _ := strings.Cut(host, ".")
	if name == "" {
		return "", actions.Errorf(actions.EINTERNAL, "Graph did not say the tenant's SharePoint address")
	}
	return name, nil
}

// ProvisionOneDrive implements actions.OneDrive with SharePoint's CSOM
// RequestPersonalSites, at most 200 addresses per call:
// POST {admin site}/_vti_bin/client.svc/ProcessQuery.
func (d *Directory) ProvisionOneDrive(ctx context.Context, upns []string) error {
	if len(upns) == 0 {
		return nil
	}
	name, err := d.sharePointName(ctx)
	if err != nil {
		return err
	}
	admin := "https://" + name + "-admin." + d.spSuffix
	root := d.spAdminURL
	if root == "" {
		root = admin
	}
	tok, err := d.cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{admin + "/.default"}})
	if err != nil {
		err = mapError(err, "SharePoint admin token")
		var ae *actions.Error
		if errors.As(err, &ae) && strings.Contains(ae.Message, "AADSTS500011") {
			ae.Message = "Entra ID knows no SharePoint admin site " + admin + " in this tenant (AADSTS500011): does it have SharePoint Online?"
		}
		return err
	}
	for chunk := range slices.Chunk(upns, csomMaxUsers) {
		if err := d.requestPersonalSites(ctx, root, tok.Token, chunk); err != nil {
			return err
		}
	}
	return nil
}

// requestPersonalSites sends one CSOM RequestPersonalSites call.
func (d *Directory) requestPersonalSites(ctx context.Context, root, token string, upns []string) error {
	var b strings.Builder
	b.WriteString(`<Request AddExpandoFieldTypeSuffix="true" SchemaVersion="15.0.0.0" LibraryVersion="16.0.0.0" ApplicationName="cippbot" xmlns="http://schemas.microsoft.com/sharepoint/clientquery/2009">`)
	b.WriteString(`<Actions><ObjectPath Id="4" ObjectPathId="3" /><Query Id="5" ObjectPathId="3"><Query SelectAllProperties="true"><Properties /></Query></Query>`)
	b.WriteString(`<Method Name="RequestPersonalSites" Id="6" ObjectPathId="3"><Parameters><Parameter Type="Array">`)
	for _, u := range upns {
		b.WriteString(`<Object Type="String">` + xmlEscape(u) + `</Object>`)
	}
	b.WriteString(`</Parameter></Parameters></Method></Actions>`)
	b.WriteString(`<ObjectPaths><Constructor Id="3" TypeId="{268004ae-ef6b-4e9b-8425-127220d84719}" /></ObjectPaths></Request>`)
	body := []byte(b.String())

	req, err := http.NewRequestWithContext(ctx, http.MethodPost, root+"/_vti_bin/client.svc/ProcessQuery", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "text/xml")
	req.Header.Set("Accept", "application/json")
	resp, err := d.spClient.Do(req)
	if err != nil {
		return mapError(err, "SharePoint")
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return mapError(err, "SharePoint")
	}
	return csomError(resp.StatusCode, raw)
}

// csomError explains a CSOM answer: HTTP 200 with a JSON array whose first
// element carries ErrorInfo (null on success), or an HTTP failure.
func csomError(status int, raw []byte) error {
	detail := fmt.Sprintf("sharepoint %d: %s", status, firstLine(string(raw), 300))
	switch {
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		msg := "SharePoint refused cippbot: its app needs SharePoint's Sites.FullControl.All application permission in this tenant"
		if strings.Contains(string(raw), "Unsupported app only token") {
			msg += ", and SharePoint accepts app-only tokens only from a certificate credential, not a client secret"
		}
		return &actions.Error{Code: actions.EFORBIDDEN, Message: msg, Detail: detail}
	case status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable:
		return &actions.Error{Code: actions.EUNAVAILABLE, Message: "SharePoint is throttling this tenant; try again in a minute", Detail: detail}
	case status == http.StatusNotFound:
		return &actions.Error{Code: actions.EUNAVAILABLE, Message: "the tenant's SharePoint admin site did not answer; is SharePoint Online part of its subscription?", Detail: detail}
	case status >= 300:
		return &actions.Error{Code: actions.EUNAVAILABLE, Message: fmt.Sprintf("SharePoint failed (HTTP %d); try again later", status), Detail: detail}
	}
	var parts []json.RawMessage
	var head struct {
		ErrorInfo *struct {
			ErrorMessage       string `json:"ErrorMessage"`
			ErrorTypeName      string `json:"ErrorTypeName"`
			TraceCorrelationID string `json:"TraceCorrelationId"`
		} `json:"ErrorInfo"`
	}
	if err := json.Unmarshal(raw, &parts); err != nil || len(parts) == 0 || json.Unmarshal(parts[0], &head) != nil {
		return &actions.Error{Code: actions.EINTERNAL, Message: "SharePoint sent an answer cippbot cannot read", Detail: detail}
	}
	ei := head.ErrorInfo
	if ei == nil {
		return nil
	}
	e := &actions.Error{Detail: fmt.Sprintf("sharepoint %s: %s (correlation %s)", ei.ErrorTypeName, ei.ErrorMessage, ei.TraceCorrelationID)}
	if strings.Contains(ei.ErrorMessage, "Attempted to perform an unauthorized operation") {
		// RequestPersonalSites refuses app-only callers: it needs a
		// signed-in SharePoint admin with a licence (Request-SPOPersonalSite).
		e.Code = actions.EFORBIDDEN
		e.Message = "SharePoint refused: creating OneDrives needs a signed-in SharePoint admin (delegated access), which cippbot's app-only access cannot do"
		return e
	}
	if strings.Contains(ei.ErrorTypeName, "UnauthorizedAccess") || strings.Contains(ei.ErrorTypeName, "AccessDenied") {
		e.Code = actions.EFORBIDDEN
		e.Message = "SharePoint refused: " + trimDot(ei.ErrorMessage) + " (the app needs SharePoint's Sites.FullControl.All)"
	} else {
		e.Code = actions.EINVALID
		e.Message = "SharePoint refused to create the OneDrives: " + trimDot(ei.ErrorMessage)
	}
	return e
}

// OneDriveURL implements actions.OneDrive: GET /users/{id}/drive?$select=webUrl.
func (d *Directory) OneDriveURL(ctx context.Context, userID string) (string, error) {
	var drv struct {
		WebURL string `json:"webUrl"`
	}
	err := d.send(ctx, abs.GET, d.v1("/users/"+url.PathEscape(userID)+"/drive", "$select", "webUrl"), nil, &drv)
	if err != nil {
		return "", noOneDrive(mapError(err, "OneDrive of "+userID), userID)
	}
	return drv.WebURL, nil
}

// noOneDrive explains Graph's 404 for a user's drive: SharePoint has not
// created the personal site yet ("User's mysite not found.").
func noOneDrive(err error, userID string) error {
	return retell(err, actions.ENOTFOUND, userID+" has no OneDrive yet: provision-onedrive creates it")
}

// sharePointIDs are the SharePoint identifiers of a library or item.
type sharePointIDs struct {
	ListID           string `json:"listId"`
	ListItemUniqueID string `json:"listItemUniqueId"`
	SiteID           string `json:"siteId"`
	SiteURL          string `json:"siteUrl"`
	WebID            string `json:"webId"`
}

// spDrive is a document library. Graph spells its identifiers
// sharePointIds, a driveItem's sharepointIds.
type spDrive struct {
	ID     string        `json:"id"`
	Name   string        `json:"name"`
	WebURL string        `json:"webUrl"`
	IDs    sharePointIDs `json:"sharePointIds"`
}

// sharePointTarget is a SharePoint address taken apart.
type sharePointTarget struct {
	host string   // contoso.sharepoint.com
	kind string   // "sites" or "teams"
	site string   // Sales
	rest []string // library and folders, decoded: ["Shared Documents", "Proposals"]
}

func (t sharePointTarget) siteURL() string { return "https://" + t.host + "/" + t.kind + "/" + t.site }

// parseSharePointURL takes apart https://{host}/sites/{site}[/{library}/{folder…}].
// An address copied from the browser's library view (…/Forms/AllItems.aspx
// with the folder in ?id=) is understood too.
func parseSharePointURL(raw string) (sharePointTarget, error) {
	bad := actions.Errorf(actions.EINVALID, "%q is not a SharePoint site or folder address like https://contoso.sharepoint.com/sites/Sales or https://contoso.sharepoint.com/sites/Sales/Shared%%20Documents/Proposals", raw)
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || u.Scheme != "https" || u.Hostname() == "" {
		return sharePointTarget{}, bad
	}
	segs := splitSegments(u.Path)
	if len(segs) < 2 || !strings.EqualFold(segs[0], "sites") && !strings.EqualFold(segs[0], "teams") {
		return sharePointTarget{}, bad
	}
	t := sharePointTarget{host: u.Hostname(), kind: strings.ToLower(segs[0]), site: segs[1], rest: segs[2:]}
	if i := slices.IndexFunc(t.rest, func(s string) bool { return strings.EqualFold(s, "Forms") }); i >= 0 {
		t.rest = t.rest[:i]
		if id := splitSegments(u.Query().Get("id")); len(id) > 2 && strings.EqualFold(id[1], t.site) {
			t.rest = id[2:]
		}
	}
	if len(t.rest) > 0 && (strings.EqualFold(t.rest[0], "SitePages") || strings.EqualFold(t.rest[0], "_layouts")) {
		t.rest = nil
	}
	return t, nil
}

// splitSegments returns the non-empty segments of a decoded path.
func splitSegments(p string) []string {
	return slices.DeleteFunc(strings.Split(p, "/"), func(s string) bool { return s == "" })
}

// escapeSegments escapes each segment of a path for a URL.
func escapeSegments(segs []string) string {
	esc := make([]string, len(segs))
	for i, s := range segs {
		esc[i] = url.PathEscape(s)
	}
	return strings.Join(esc, "/")
}

// hasPrefixFold reports whether segs starts with prefix, ignoring case.
func hasPrefixFold(segs, prefix []string) bool {
	if len(prefix) > len(segs) {
		return false
	}
	for i := range prefix {
		if !strings.EqualFold(segs[i], prefix[i]) {
			return false
		}
	}
	return true
}

// AddShortcut implements actions.OneDrive: the site from
// GET /sites/{host}:/sites/{site}, its library from GET /sites/{id}/drive
// (or /drives for another library), the folder from
// GET …/drive/root:/{path}, then POST /users/{id}/drive/root/children
// with a remoteItem carrying their sharepointIds.
func (d *Directory) AddShortcut(ctx context.Context, userID, targetURL string) (string, error) {
	t, err := parseSharePointURL(targetURL)
	if err != nil {
		return "", err
	}
	var site struct {
		ID          string `json:"id"`
		DisplayName string `json:"displayName"`
		Name        string `json:"name"`
	}
	siteURL := d.graphURL + "/v1.0/sites/" + t.host + ":/" + t.kind + "/" + url.PathEscape(t.site) + odataQuery("$select", "id,displayName,name,webUrl")
	if err := d.send(ctx, abs.GET, siteURL, nil, &site); err != nil {
		return "", retell(mapError(err, "site "+t.siteURL()), actions.ENOTFOUND, "there is no site "+t.siteURL())
	}
	siteName := site.DisplayName
	if siteName == "" {
		siteName = orDefault(site.Name, t.site)
	}
	// A site ID is "{host},{site collection id},{web id}"; Graph writes
	// its commas as they are.
	sitePath := "/sites/" + strings.ReplaceAll(url.PathEscape(site.ID), "%2C", ",")
	var lib spDrive
	if err := d.send(ctx, abs.GET, d.v1(sitePath+"/drive", "$select", "id,name,webUrl,sharePointIds"), nil, &lib); err != nil {
		return "", mapError(err, "document library of "+t.siteURL())
	}
	name := siteName
	itemBase := sitePath + "/drive"
	folder := t.rest
	if len(t.rest) > 0 {
		if libSegs := librarySegments(lib.WebURL); hasPrefixFold(t.rest, libSegs) {
			folder = t.rest[len(libSegs):]
		} else {
			// Not the default library: find the one the address is in.
			found := false
			err := pages(ctx, d, d.v1(sitePath+"/drives", "$select", "id,name,webUrl,sharePointIds"), func(dr spDrive) bool {
				if libSegs := librarySegments(dr.WebURL); len(libSegs) > 0 && hasPrefixFold(t.rest, libSegs) {
					lib, folder, found = dr, t.rest[len(libSegs):], true
					return false
				}
				return true
			})
			if err != nil {
				return "", mapError(err, "document libraries of "+t.siteURL())
			}
			if !found {
				return "", actions.Errorf(actions.ENOTFOUND, "there is no document library %q in %s", t.rest[0], t.siteURL())
			}
			itemBase = "/drives/" + url.PathEscape(lib.ID)
			name = siteName + " - " + lib.Name
		}
	}
	ids := lib.IDs
	ids.ListItemUniqueID = "root"
	if len(folder) > 0 {
		var item struct {
			Name   string          `json:"name"`
			IDs    sharePointIDs   `json:"sharepointIds"`
			Folder json.RawMessage `json:"folder"`
		}
		itemURL := d.v1(itemBase+"/root:/"+escapeSegments(folder), "$select", "id,name,sharepointIds,folder")
		if err := d.send(ctx, abs.GET, itemURL, nil, &item); err != nil {
			return "", retell(mapError(err, "folder "+strings.Join(folder, "/")), actions.ENOTFOUND,
				fmt.Sprintf("there is no folder %q in %s", strings.Join(folder, "/"), t.siteURL()))
		}
		if len(item.Folder) == 0 || string(item.Folder) == "null" {
			return "", actions.Errorf(actions.EINVALID, "%q is a file: a shortcut points at a folder or a library", strings.Join(folder, "/"))
		}
		ids = mergeIDs(item.IDs, lib.IDs)
		name = orDefault(item.Name, folder[len(folder)-1])
	}
	name = itemName(name)
	body := map[string]any{
		"name": name,
		"remoteItem": map[string]any{"sharepointIds": map[string]string{
			"listId": ids.ListID, "listItemUniqueId": ids.ListItemUniqueID, "siteId": ids.SiteID,
			"siteUrl": ids.SiteURL, "webId": ids.WebID,
		}},
		"@microsoft.graph.conflictBehavior": "rename",
	}
	var created struct {
		Name string `json:"name"`
	}
	if err := d.send(ctx, abs.POST, d.v1("/users/"+url.PathEscape(userID)+"/drive/root/children"), body, &created); err != nil {
		return "", noOneDrive(mapError(err, "OneDrive of "+userID), userID)
	}
	return orDefault(created.Name, name), nil
}

// itemName makes name fit for a OneDrive item: none of " * : < > ? / \ |,
// no surrounding spaces, no trailing period.
func itemName(name string) string {
	name = strings.Map(func(r rune) rune {
		if strings.ContainsRune(`"*:<>?/\|`, r) {
			return '-'
		}
		return r
	}, name)
	name = strings.TrimRight(strings.TrimSpace(name), ". ")
	if name == "" {
		return "Shortcut"
	}
	return name
}

// librarySegments returns the path of a library's web address below its
// site: ["Shared Documents"] for …/sites/Sales/Shared%20Documents.
func librarySegments(webURL string) []string {
	u, err := url.Parse(webURL)
	if err != nil {
		return nil
	}
	segs := splitSegments(u.Path)
	if len(segs) < 2 {
		return nil
	}
	return segs[2:]
}

// mergeIDs fills the blanks of an item's identifiers from its library's.
func mergeIDs(item, lib sharePointIDs) sharePointIDs {
	item.ListID = orDefault(item.ListID, lib.ListID)
	item.SiteID = orDefault(item.SiteID, lib.SiteID)
	item.SiteURL = orDefault(item.SiteURL, lib.SiteURL)
	item.WebID = orDefault(item.WebID, lib.WebID)
	return item
}

func orDefault(s, otherwise string) string {
	if s == "" {
		return otherwise
	}
	return s
}

// xmlEscape escapes s for XML text.
func xmlEscape(s string) string {
	var b strings.Builder
	xml.EscapeText(&b, []byte(s))
	return b.String()
}

// firstLine returns s up to its first line break, at most n bytes.
func firstLine(s string, n int) string {
	if i := strings.IndexAny(s, "\r\n"); i >= 0 {
		s = s[:i]
	}
	if len(s) > n {
		s = s[:n] + "…"
	}
	return s
}
