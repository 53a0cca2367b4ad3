package fakegraph_test

import (
	"net/http"
	"slices"
	"testing"

	"github.com/cippbot/cippbot/internal/fakegraph"
)

// names returns the displayName of every item.
func names(items []map[string]any) []string {
	var out []string
	for _, it := range items {
		n, _ := it["displayName"].(string)
		out = append(out, n)
	}
	return out
}

func TestMailFolders(t *testing.T) {
	t.Parallel()
	g := newGraph(t, fakegraph.Options{})
	base := "/v1.0/users/" + fakegraph.ContosoIsaiahID + "/mailFolders"
	res := g.do(http.MethodGet, base+"?includeHiddenFolders=true&$top=250", nil)
	top := values(t, res)
	for _, want := range []string{"Inbox", "Archive", "Deleted Items", "Junk Email", "RSS Feeds", "Conversation History", "Sent Items"} {
		if !slices.Contains(names(top), want) {
			t.Errorf("no %q in %v", want, names(top))
		}
	}
	if res.json["@odata.context"] != "https://graph.microsoft.com/v1.0/$metadata#users('"+fakegraph.ContosoIsaiahID+"')/mailFolders" {
		t.Errorf("context = %v", res.json["@odata.context"])
	}
	for _, f := range top {
		for _, k := range []string{"id", "parentFolderId", "childFolderCount", "unreadItemCount", "totalItemCount", "isHidden"} {
			if _, ok := f[k]; !ok {
				t.Errorf("folder %v lacks %s", f["displayName"], k)
			}
		}
		if _, ok := f["sizeInBytes"]; ok {
			t.Errorf("folder %v has beta's sizeInBytes", f["displayName"])
		}
	}
	// Default page size is 10, like Exchange's.
	if page := g.do(http.MethodGet, base+"?$top=3", nil); len(values(t, page)) != 3 || page.json["@odata.nextLink"] == nil {
		t.Errorf("paging: %s", page.raw)
	}

	inbox := g.do(http.MethodGet, base+"/inbox", nil)
	if inbox.status != http.StatusOK || inbox.json["displayName"] != "Inbox" {
		t.Fatalf("inbox: %s", inbox.raw)
	}
	byID := g.do(http.MethodGet, base+"/"+inbox.json["id"].(string)+"?$select=id,displayName", nil)
	if byID.json["displayName"] != "Inbox" || byID.json["totalItemCount"] != nil {
		t.Errorf("by id with $select: %s", byID.raw)
	}
	wantError(t, g.do(http.MethodGet, base+"/AAMkAGnope=", nil), http.StatusNotFound, "ErrorItemNotFound", "The specified object was not found in the store.")

	// Adele's own folder is a top-level one, so the list has a second
	// page by default.
	adele := "/v1.0/users/AdeleV@contoso.com/mailFolders"
	first := g.do(http.MethodGet, adele, nil)
	if len(values(t, first)) != 10 || first.json["@odata.nextLink"] == nil {
		t.Errorf("first page: %s", first.raw)
	}
	if all, _ := g.allPages(adele); !slices.Contains(names(all), "Newsletters") || len(all) != 11 {
		t.Errorf("Adele's folders: %v", names(all))
	}
	if kids := values(t, g.do(http.MethodGet, adele+"/inbox/childFolders", nil)); len(kids) != 0 {
		t.Errorf("Adele's inbox children: %v", names(kids))
	}
	if in := g.do(http.MethodGet, adele+"/inbox", nil); in.json["childFolderCount"] != float64(0) {
		t.Errorf("childFolderCount = %v", in.json["childFolderCount"])
	}

	// No mailbox, no such user.
	wantError(t, g.do(http.MethodGet, "/v1.0/users/"+fakegraph.ContosoJoniID+"/mailFolders", nil), http.StatusNotFound,
		"MailboxNotEnabledForRESTAPI", "The mailbox is either inactive, soft-deleted, or is hosted on-premise.")
	wantError(t, g.do(http.MethodGet, "/v1.0/users/nobody@contoso.com/mailFolders/inbox/messageRules", nil), http.StatusNotFound,
		"ErrorInvalidUser", "The requested user 'nobody@contoso.com' is invalid.")
}

func TestInboxRules(t *testing.T) {
	t.Parallel()
	g := newGraph(t, fakegraph.Options{})
	base := "/v1.0/users/" + fakegraph.ContosoIsaiahID + "/mailFolders/inbox/messageRules"
	res := g.do(http.MethodGet, base, nil)
	rules := values(t, res)
	if res.json["@odata.context"] != "https://graph.microsoft.com/v1.0/$metadata#users('"+fakegraph.ContosoIsaiahID+"')/mailFolders('inbox')/messageRules" {
		t.Errorf("context = %v", res.json["@odata.context"])
	}
	if len(rules) != 2 {
		t.Fatalf("rules = %s", res.raw)
	}
	fwd, hide := rules[0], rules[1]
	if fwd["id"] != fakegraph.ContosoIsaiahForwardRuleID || fwd["displayName"] != "." || fwd["sequence"] != float64(1) ||
		fwd["isEnabled"] != true || fwd["hasError"] != false || fwd["isReadOnly"] != false {
		t.Errorf("forward rule = %v", fwd)
	}
	to := fwd["actions"].(map[string]any)["forwardTo"].([]any)[0].(map[string]any)["emailAddress"].(map[string]any)
	if to["address"] != fakegraph.ContosoIsaiahForward || to["name"] != fakegraph.ContosoIsaiahForward {
		t.Errorf("forwardTo = %v", to)
	}
	act := hide["actions"].(map[string]any)
	cond := hide["conditions"].(map[string]any)
	if hide["id"] != fakegraph.ContosoIsaiahHideRuleID || act["markAsRead"] != true || act["stopProcessingRules"] != true ||
		!slices.Equal(cond["bodyOrSubjectContains"].([]any), []any{"invoice", "payment"}) {
		t.Errorf("hide rule = %v", hide)
	}
	folder := g.do(http.MethodGet, "/v1.0/users/"+fakegraph.ContosoIsaiahID+"/mailFolders/"+act["moveToFolder"].(string), nil)
	if folder.json["displayName"] != "RSS Feeds" {
		t.Errorf("moveToFolder names %s", folder.raw)
	}
	if name := g.s.MailFolderName(fakegraph.ContosoTenantID, fakegraph.ContosoIsaiahID, act["moveToFolder"].(string)); name != "RSS Feeds" {
		t.Errorf("MailFolderName = %q", name)
	}
	one := g.do(http.MethodGet, base+"/"+fakegraph.ContosoIsaiahHideRuleID, nil)
	if one.json["displayName"] != ".." {
		t.Errorf("GET one: %s", one.raw)
	}

	if r := g.do(http.MethodDelete, base+"/"+fakegraph.ContosoIsaiahForwardRuleID, nil); r.status != http.StatusNoContent {
		t.Fatalf("delete: %d %s", r.status, r.raw)
	}
	wantError(t, g.do(http.MethodDelete, base+"/"+fakegraph.ContosoIsaiahForwardRuleID, nil), http.StatusNotFound, "ErrorItemNotFound", "not found")
	// The hidden rule is not Graph's to show, read or delete.
	wantError(t, g.do(http.MethodGet, base+"/"+fakegraph.ContosoIsaiahHiddenRuleID, nil), http.StatusNotFound, "ErrorItemNotFound", "not found")
	wantError(t, g.do(http.MethodDelete, base+"/"+fakegraph.ContosoIsaiahHiddenRuleID, nil), http.StatusNotFound, "ErrorItemNotFound", "not found")
	left := g.s.InboxRules(fakegraph.ContosoTenantID, "IsaiahL@contoso.com")
	if len(left) != 2 || left[0].ID != fakegraph.ContosoIsaiahHideRuleID || left[0].MoveToFolder != act["moveToFolder"] ||
		left[1].ID != fakegraph.ContosoIsaiahHiddenRuleID || !left[1].Hidden {
		t.Errorf("InboxRules = %+v", left)
	}
	last := g.s.Requests()[len(g.s.Requests())-1]
	if last.Method != http.MethodDelete || last.Status != http.StatusNotFound {
		t.Errorf("request log: %+v", last)
	}

	// Rules live on the inbox only; Joni has no mailbox.
	wantError(t, g.do(http.MethodGet, "/v1.0/users/"+fakegraph.ContosoIsaiahID+"/mailFolders/archive/messageRules", nil),
		http.StatusBadRequest, "ErrorInvalidRequest", "Inbox")
	wantError(t, g.do(http.MethodGet, "/v1.0/users/"+fakegraph.ContosoJoniID+"/mailFolders/inbox/messageRules", nil),
		http.StatusNotFound, "MailboxNotEnabledForRESTAPI", "hosted on-premise")
	if g.s.InboxRules(fakegraph.ContosoTenantID, fakegraph.ContosoJoniID) != nil {
		t.Error("rules for a user without a mailbox")
	}

	// Rules can be added at run time; a new folder name becomes a folder.
	id, err := g.s.AddInboxRule(fakegraph.ContosoTenantID, "MeganB@contoso.com", fakegraph.InboxRule{
		DisplayName: "x", SubjectContains: []string{"urgent"}, MoveToFolder: "Conversation History", RedirectTo: []string{"AdeleV@contoso.com"}})
	if err != nil || id == "" {
		t.Fatalf("AddInboxRule: %q %v", id, err)
	}
	added := values(t, g.do(http.MethodGet, "/v1.0/users/MeganB@contoso.com/mailFolders/inbox/messageRules", nil))
	if len(added) != 1 || added[0]["id"] != id {
		t.Fatalf("added = %v", added)
	}
	redirect := added[0]["actions"].(map[string]any)["redirectTo"].([]any)[0].(map[string]any)["emailAddress"].(map[string]any)
	if redirect["name"] != "Adele Vance" {
		t.Errorf("internal recipient name = %v", redirect["name"])
	}
	if _, err := g.s.AddInboxRule(fakegraph.ContosoTenantID, "MeganB@contoso.com", fakegraph.InboxRule{DisplayName: "y", MoveToFolder: "zz"}); err != nil {
		t.Fatal(err)
	}
	if top := values(t, g.do(http.MethodGet, "/v1.0/users/MeganB@contoso.com/mailFolders?$top=50", nil)); !slices.Contains(names(top), "zz") {
		t.Errorf("folder a rule points at is not listed: %v", names(top))
	}
	if _, err := g.s.AddInboxRule(fakegraph.ContosoTenantID, fakegraph.ContosoJoniID, fakegraph.InboxRule{DisplayName: "x"}); err == nil {
		t.Error("rule added to a user without a mailbox")
	}
}

func TestInboxRulePermissions(t *testing.T) {
	t.Parallel()
	g := newGraph(t, fakegraph.Options{})
	rules := "/v1.0/users/" + fakegraph.ContosoIsaiahID + "/mailFolders/inbox/messageRules"
	folders := "/v1.0/users/" + fakegraph.ContosoIsaiahID + "/mailFolders"
	const denied = "Access is denied. Check credentials and try again."

	g.s.SetPermissions(fakegraph.ContosoTenantID, []string{"User.ReadWrite.All", "Directory.ReadWrite.All", "Mail.ReadBasic.All"})
	wantError(t, g.do(http.MethodGet, rules, nil), http.StatusForbidden, "ErrorAccessDenied", denied)
	if r := g.do(http.MethodGet, folders, nil); r.status != http.StatusOK {
		t.Errorf("folders with Mail.ReadBasic.All: %d %s", r.status, r.raw)
	}

	g.s.SetPermissions(fakegraph.ContosoTenantID, []string{"MailboxSettings.Read"})
	if r := g.do(http.MethodGet, rules, nil); r.status != http.StatusOK {
		t.Errorf("rules with MailboxSettings.Read: %d %s", r.status, r.raw)
	}
	wantError(t, g.do(http.MethodDelete, rules+"/"+fakegraph.ContosoIsaiahForwardRuleID, nil), http.StatusForbidden, "ErrorAccessDenied", denied)
	wantError(t, g.do(http.MethodGet, folders, nil), http.StatusForbidden, "ErrorAccessDenied", denied)

	g.s.SetPermissions(fakegraph.ContosoTenantID, []string{"MailboxSettings.ReadWrite", "Mail.Read"})
	if r := g.do(http.MethodGet, folders+"/inbox", nil); r.status != http.StatusOK {
		t.Errorf("folder with Mail.Read: %d %s", r.status, r.raw)
	}
	if r := g.do(http.MethodDelete, rules+"/"+fakegraph.ContosoIsaiahForwardRuleID, nil); r.status != http.StatusNoContent {
		t.Errorf("delete with MailboxSettings.ReadWrite: %d %s", r.status, r.raw)
	}

	// In a $batch, each item is checked on its own.
	g.s.SetPermissions(fakegraph.ContosoTenantID, []string{"MailboxSettings.Read"})
	items := batchResponses(t, g.do(http.MethodPost, "/v1.0/$batch", map[string]any{"requests": []any{
		map[string]any{"id": "rules", "method": "GET", "url": "/users/" + fakegraph.ContosoIsaiahID + "/mailFolders/inbox/messageRules"},
		map[string]any{"id": "folders", "method": "GET", "url": "/users/" + fakegraph.ContosoIsaiahID + "/mailFolders"},
	}}))
	if items["rules"]["status"] != float64(200) || items["folders"]["status"] != float64(403) {
		t.Errorf("batch: %v", items)
	}
}
