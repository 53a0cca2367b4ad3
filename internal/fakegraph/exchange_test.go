package fakegraph_test

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cippbot/cippbot/internal/fakegraph"
)

// exoAnchor is the X-AnchorMailbox of app-only InvokeCommand calls,
// without the tenant.
const exoAnchor = "APP:SystemMailbox{bb558c35-97f1-4cb9-8ff7-d53741dc928c}@"

// exoScope is the token scope for Exchange Online.
const exoScope = "https://outlook.office365.com/.default"

// exoToken obtains an Exchange Online token for a tenant.
func exoToken(t *testing.T, s *fakegraph.Server, tenant string) string {
	t.Helper()
	form := clientCredentials()
	form.Set("scope", exoScope)
	res := tokenForm(t, s, tenant, form)
	if res.status != http.StatusOK {
		t.Fatalf("exchange token for %s: %d %s", tenant, res.status, res.raw)
	}
	return res.json["access_token"].(string)
}

// exo is an Exchange admin API client for tests.
type exo struct {
	t      *testing.T
	s      *fakegraph.Server
	tok    string
	tenant string
}

// newExo starts a server and returns a client for contoso.
func newExo(t *testing.T) *exo {
	s := start(t, fakegraph.Options{})
	return &exo{t: t, s: s, tok: exoToken(t, s, fakegraph.ContosoTenantID), tenant: fakegraph.ContosoTenantID}
}

// headers returns the headers of a well-formed InvokeCommand request.
func (x *exo) headers() http.Header {
	return http.Header{
		"Authorization":   {"Bearer " + x.tok},
		"Content-Type":    {"application/json"},
		"X-Anchormailbox": {exoAnchor + x.tenant},
	}
}

// body marshals an InvokeCommand body.
func (x *exo) body(cmdlet string, params map[string]any) []byte {
	b, err := json.Marshal(map[string]any{"CmdletInput": map[string]any{"CmdletName": cmdlet, "Parameters": params}})
	if err != nil {
		x.t.Fatal(err)
	}
	return b
}

// invoke runs one cmdlet.
func (x *exo) invoke(cmdlet string, params map[string]any) response {
	x.t.Helper()
	return send(x.t, x.s, http.MethodPost, "/adminapi/beta/"+x.tenant+"/InvokeCommand", x.headers(), bytes.NewReader(x.body(cmdlet, params)))
}

// ok runs a cmdlet that must succeed and returns its value array.
func (x *exo) ok(cmdlet string, params map[string]any) []map[string]any {
	x.t.Helper()
	res := x.invoke(cmdlet, params)
	if res.status != http.StatusOK {
		x.t.Fatalf("%s %v: %d %s", cmdlet, params, res.status, res.raw)
	}
	return values(x.t, res)
}

// user returns the contoso user's snapshot.
func (x *exo) user(id string) fakegraph.User {
	x.t.Helper()
	u, ok := x.s.User(fakegraph.ContosoTenantID, id)
	if !ok {
		x.t.Fatalf("no user %s", id)
	}
	return u
}

// wantCmdletError checks a failed cmdlet: status, error.code, the
// generic message, and the exception and text in error.details.
func wantCmdletError(t *testing.T, r response, status int, code, exception, textPart string) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status = %d, want %d: %s", r.status, status, r.raw)
	}
	e, _ := r.json["error"].(map[string]any)
	if e["code"] != code || e["message"] != "Error executing cmdlet" {
		t.Errorf("error = %v", e)
	}
	details, _ := e["details"].([]any)
	if len(details) != 1 {
		t.Fatalf("details = %v", e["details"])
	}
	d := details[0].(map[string]any)
	msg, _ := d["message"].(string)
	parts := strings.SplitN(msg, "|", 3)
	if len(parts) != 3 || parts[1] != exception || !strings.Contains(parts[2], textPart) {
		t.Errorf("details message = %q, want %s and %q", msg, exception, textPart)
	}
	inner, _ := e["innererror"].(map[string]any)
	if inner["type"] != "Microsoft.Exchange.Admin.OData.Core.ODataServiceException" {
		t.Errorf("innererror = %v", inner)
	}
	if w, ok := r.json["@adminapi.warnings"].([]any); !ok || len(w) != 0 {
		t.Errorf("@adminapi.warnings = %v", r.json["@adminapi.warnings"])
	}
}

// wantRequestError checks an error of the request itself.
func wantRequestError(t *testing.T, r response, status int, code, msgPart string) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status = %d, want %d: %s", r.status, status, r.raw)
	}
	e, _ := r.json["error"].(map[string]any)
	msg, _ := e["message"].(string)
	if e["code"] != code || !strings.Contains(msg, msgPart) {
		t.Errorf("error = %v, want %s containing %q", e, code, msgPart)
	}
}

func TestExchangeTokens(t *testing.T) {
	t.Parallel()
	s := start(t, fakegraph.Options{})
	for _, scope := range []string{exoScope, "https://outlook.office365.com//.default", "00000002-0000-0ff1-ce00-000000000000/.default"} {
		form := clientCredentials()
		form.Set("scope", scope)
		res := tokenForm(t, s, fakegraph.ContosoDomain, form)
		if res.status != http.StatusOK {
			t.Fatalf("%s: %d %s", scope, res.status, res.raw)
		}
		_, claims := jwtParts(t, res.json["access_token"].(string))
		if claims["aud"] != "https://outlook.office365.com" || claims["tid"] != fakegraph.ContosoTenantID {
			t.Errorf("%s: claims = %v", scope, claims)
		}
		if got := roles(claims); !slices.Equal(got, []string{fakegraph.PermExchangeManageAsApp}) {
			t.Errorf("%s: roles = %v", scope, got)
		}
	}
	_, graphClaims := jwtParts(t, token(t, s))
	if slices.Contains(roles(graphClaims), fakegraph.PermExchangeManageAsApp) || graphClaims["aud"] != "https://graph.microsoft.com" {
		t.Errorf("graph claims = %v", graphClaims)
	}
	if !slices.Contains(fakegraph.DefaultPermissions(), fakegraph.PermExchangeManageAsApp) {
		t.Error("DefaultPermissions lacks Exchange.ManageAsApp")
	}

	// Each service refuses the other's token.
	x := &exo{t: t, s: s, tok: exoToken(t, s, fakegraph.ContosoTenantID), tenant: fakegraph.ContosoTenantID}
	g := &graph{t: t, s: s, tok: x.tok}
	wantError(t, g.do(http.MethodGet, "/v1.0/users", nil), http.StatusUnauthorized, "InvalidAuthenticationToken", "Invalid audience")
	x.tok = token(t, s)
	res := x.invoke("Get-Mailbox", map[string]any{"Identity": "AdeleV@contoso.com"})
	wantRequestError(t, res, http.StatusUnauthorized, "Unauthorized", "audience")
	if !strings.Contains(res.header.Get("WWW-Authenticate"), `error="invalid_token"`) || res.header.Get("X-Ms-Diagnostics") == "" {
		t.Errorf("401 headers = %v", res.header)
	}

	// Without the Exchange permission the token has no roles and
	// InvokeCommand is refused; granting it again lets the same token in.
	s.SetPermissions(fakegraph.ContosoTenantID, []string{fakegraph.PermUserReadWriteAll})
	x.tok = exoToken(t, s, fakegraph.ContosoTenantID)
	if _, c := jwtParts(t, x.tok); c["roles"] != nil {
		t.Errorf("roles without Exchange.ManageAsApp = %v", c["roles"])
	}
	wantRequestError(t, x.invoke("Get-Mailbox", map[string]any{"Identity": "AdeleV"}), http.StatusUnauthorized, "Unauthorized",
		"User is not allowed to call Get-Mailbox")
	s.SetPermissions(fakegraph.ContosoTenantID, nil)
	x.ok("Get-Mailbox", map[string]any{"Identity": "AdeleV"})

	// Other resources are still unknown.
	form := clientCredentials()
	form.Set("scope", "https://outlook.office.com/.default")
	if res := tokenForm(t, s, fakegraph.ContosoTenantID, form); res.status != http.StatusBadRequest || !strings.Contains(string(res.raw), "AADSTS500011") {
		t.Errorf("outlook.office.com: %d %s", res.status, res.raw)
	}
}

func TestInvokeCommandRequestChecks(t *testing.T) {
	t.Parallel()
	x := newExo(t)
	if err := x.s.AddTenant(fakegraph.FabrikamSeed()); err != nil {
		t.Fatal(err)
	}
	body := x.body("Get-Mailbox", map[string]any{"Identity": "AdeleV@contoso.com"})
	post := func(path string, hdr http.Header) response {
		return send(t, x.s, http.MethodPost, path, hdr, bytes.NewReader(body))
	}
	path := "/adminapi/beta/" + fakegraph.ContosoTenantID + "/InvokeCommand"
	with := func(k, v string) http.Header {
		h := x.headers()
		if v == "" {
			h.Del(k)
		} else {
			h.Set(k, v)
		}
		return h
	}

	// The tenant must be a GUID, the token's.
	wantRequestError(t, post("/adminapi/beta/contoso.com/InvokeCommand", x.headers()), http.StatusBadRequest, "BadRequest", "not a tenant id")
	wantRequestError(t, post("/adminapi/beta/contoso.onmicrosoft.com/InvokeCommand", x.headers()), http.StatusBadRequest, "BadRequest", "GUID")
	wantRequestError(t, post("/adminapi/beta/"+fakegraph.FabrikamTenantID+"/InvokeCommand", with("X-AnchorMailbox", exoAnchor+fakegraph.FabrikamTenantID)),
		http.StatusUnauthorized, "Unauthorized", "issued for tenant")

	// The anchor mailbox must be there and name this tenant.
	wantRequestError(t, post(path, with("X-AnchorMailbox", "")), http.StatusBadRequest, "BadRequest", "X-AnchorMailbox header is missing")
	wantRequestError(t, post(path, with("X-AnchorMailbox", exoAnchor+fakegraph.FabrikamTenantID)), http.StatusBadRequest, "BadRequest", "names neither")
	wantRequestError(t, post(path, with("X-AnchorMailbox", "APP:AdeleV@"+fakegraph.ContosoTenantID)), http.StatusBadRequest, "BadRequest", "names neither")
	wantRequestError(t, post(path, with("X-AnchorMailbox", "UPN:AdeleV@fabrikam.com")), http.StatusBadRequest, "BadRequest", "names neither")
	wantRequestError(t, post(path, with("X-AnchorMailbox", "UPN:AdeleV")), http.StatusBadRequest, "BadRequest", "names neither")
	for _, ok := range []string{exoAnchor + fakegraph.ContosoTenantID, strings.ToLower(exoAnchor) + fakegraph.ContosoTenantID,
		"UPN:SystemMailbox{bb558c35-97f1-4cb9-8ff7-d53741dc928c}@contoso.onmicrosoft.com", "UPN:AdeleV@contoso.com"} {
		if res := post(path, with("X-AnchorMailbox", ok)); res.status != http.StatusOK {
			t.Errorf("anchor %q: %d %s", ok, res.status, res.raw)
		}
	}

	// Tokens.
	res := post(path, with("Authorization", ""))
	wantRequestError(t, res, http.StatusUnauthorized, "Unauthorized", "no access token")
	if !strings.Contains(res.header.Get("WWW-Authenticate"), "00000002-0000-0ff1-ce00-000000000000") {
		t.Errorf("WWW-Authenticate = %q", res.header.Get("WWW-Authenticate"))
	}
	wantRequestError(t, post(path, with("Authorization", "Bearer forged")), http.StatusUnauthorized, "Unauthorized", "not valid")

	// Method, path and body.
	x.s.ExpectUnhandled(http.MethodGet, path)
	x.s.ExpectUnhandled(http.MethodPost, "/adminapi/v1.0/"+fakegraph.ContosoTenantID+"/InvokeCommand")
	x.s.ExpectUnhandled(http.MethodPost, "/adminapi/beta/"+fakegraph.ContosoTenantID+"/Mailbox")
	wantRequestError(t, send(t, x.s, http.MethodGet, path, x.headers(), nil), http.StatusMethodNotAllowed, "MethodNotAllowed", "POST")
	wantRequestError(t, post("/adminapi/v1.0/"+fakegraph.ContosoTenantID+"/InvokeCommand", x.headers()), http.StatusNotFound, "NotFound", "InvokeCommand")
	wantRequestError(t, post("/adminapi/beta/"+fakegraph.ContosoTenantID+"/Mailbox", x.headers()), http.StatusNotFound, "NotFound", "InvokeCommand")
	for _, bad := range []string{"", "{", `{"CmdletInput":{}}`, `{"Cmdlet":"Get-Mailbox"}`} {
		res := send(t, x.s, http.MethodPost, path, x.headers(), strings.NewReader(bad))
		wantRequestError(t, res, http.StatusBadRequest, "BadRequest", "")
	}
	// Parameter names are case-insensitive, once each.
	res = send(t, x.s, http.MethodPost, path, x.headers(),
		strings.NewReader(`{"CmdletInput":{"CmdletName":"Get-Mailbox","Parameters":{"Identity":"AdeleV","identity":"AlexW"}}}`))
	wantCmdletError(t, res, http.StatusBadRequest, "BadRequest", "System.Management.Automation.ParameterBindingException", "more than once")
	// Cmdlet names are case-insensitive too.
	if v := x.ok("get-mailbox", map[string]any{"identity": "AdeleV"}); len(v) != 1 {
		t.Errorf("get-mailbox = %v", v)
	}
	wantCmdletError(t, x.invoke("Get-Mailbox", map[string]any{"Identity": 42}), http.StatusBadRequest, "BadRequest",
		"System.Management.Automation.ParameterBindingException", "Cannot bind parameter 'Identity'")
}

func TestGetMailbox(t *testing.T) {
	t.Parallel()
	x := newExo(t)
	for _, id := range []string{"AdeleV@contoso.com", "adelev@CONTOSO.COM", fakegraph.ContosoAdeleID, "AdeleV", "AdeleV@contoso.onmicrosoft.com", "SMTP:AdeleV@contoso.com"} {
		v := x.ok("Get-Mailbox", map[string]any{"Identity": id})
		if len(v) != 1 {
			t.Fatalf("%s: %v", id, v)
		}
		m := v[0]
		for k, want := range map[string]any{
			"Identity":                      "AdeleV",
			"UserPrincipalName":             "AdeleV@contoso.com",
			"PrimarySmtpAddress":            "AdeleV@contoso.com",
			"RecipientTypeDetails":          "UserMailbox",
			"ArchiveStatus":                 "None",
			"ForwardingSmtpAddress":         nil,
			"ForwardingAddress":             nil,
			"DeliverToMailboxAndForward":    false,
			"HiddenFromAddressListsEnabled": false,
			"ExternalDirectoryObjectId":     fakegraph.ContosoAdeleID,
			"ProhibitSendReceiveQuota":      "100 GB (107,374,182,400 bytes)",
			"ProhibitSendQuota":             "99 GB (106,300,440,576 bytes)",
		} {
			if m[k] != want {
				t.Errorf("%s: %s = %#v, want %#v", id, k, m[k], want)
			}
		}
	}
	alex := x.ok("Get-Mailbox", map[string]any{"Identity": "AlexW@contoso.com"})[0]
	if alex["ForwardingSmtpAddress"] != fakegraph.ContosoAlexForwarding || alex["DeliverToMailboxAndForward"] != true {
		t.Errorf("alex = %v", alex)
	}
	lynne := x.ok("Get-Mailbox", map[string]any{"Identity": fakegraph.ContosoLynneID})[0]
	if lynne["ProhibitSendReceiveQuota"] != "50 GB (53,687,091,200 bytes)" || lynne["ProhibitSendQuota"] != "49.5 GB (53,150,220,288 bytes)" {
		t.Errorf("lynne quotas = %v %v", lynne["ProhibitSendReceiveQuota"], lynne["ProhibitSendQuota"])
	}

	// No mailbox, or no such user: 404 ManagementObjectNotFoundException.
	for _, id := range []string{"JoniS@contoso.com", "nobody@contoso.com", fakegraph.ContosoJoniID} {
		wantCmdletError(t, x.invoke("Get-Mailbox", map[string]any{"Identity": id}), http.StatusNotFound, "NotFound",
			"Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException", "The operation couldn't be performed because object '"+id+"' couldn't be found on '")
	}
	res := x.invoke("Get-Mailbox", map[string]any{"Identity": "JoniS@contoso.com"})
	details := res.json["error"].(map[string]any)["details"].([]any)[0].(map[string]any)
	if !strings.HasPrefix(details["message"].(string), "Ex6F9304|") || details["code"] != "Client" {
		t.Errorf("details = %v", details)
	}

	// Without Identity: every mailbox, up to ResultSize.
	all := x.ok("Get-Mailbox", map[string]any{"ResultSize": "Unlimited"})
	if len(all) != 22 {
		t.Errorf("%d mailboxes, want 22 (every licensed persona)", len(all))
	}
	res = x.invoke("Get-Mailbox", map[string]any{"ResultSize": 3})
	if v := values(t, res); len(v) != 3 {
		t.Errorf("ResultSize 3: %d", len(v))
	}
	if w, _ := res.json["@adminapi.warnings"].([]any); len(w) != 1 || !strings.Contains(w[0].(string), "more results available") {
		t.Errorf("warnings = %v", res.json["@adminapi.warnings"])
	}
	wantCmdletError(t, x.invoke("Get-Mailbox", map[string]any{"ResultSize": "lots"}), http.StatusBadRequest, "BadRequest",
		"System.Management.Automation.ParameterBindingException", "ResultSize")
}

func TestGetMailboxStatistics(t *testing.T) {
	t.Parallel()
	x := newExo(t)
	st := x.ok("Get-MailboxStatistics", map[string]any{"Identity": "LynneR@contoso.com"})
	if len(st) != 1 {
		t.Fatalf("stats = %v", st)
	}
	if st[0]["TotalItemSize"] != "48.7 GB (52,291,226,829 bytes)" || st[0]["DisplayName"] != "Lynne Robbins" {
		t.Errorf("stats = %v", st[0])
	}
	if n, _ := st[0]["ItemCount"].(float64); n < 100000 {
		t.Errorf("ItemCount = %v", st[0]["ItemCount"])
	}
	if u := x.user(fakegraph.ContosoLynneID); u.MailboxSizeGB != fakegraph.ContosoLynneMailboxGB {
		t.Errorf("MailboxSizeGB = %v", u.MailboxSizeGB)
	}
	// Every other mailbox has a plausible size.
	for _, u := range x.s.Users(fakegraph.ContosoTenantID) {
		if u.MailboxType != "" && (u.MailboxSizeGB <= 0 || u.MailboxSizeGB > 49) {
			t.Errorf("%s: %v GB", u.UserPrincipalName, u.MailboxSizeGB)
		}
	}
	wantCmdletError(t, x.invoke("Get-MailboxStatistics", map[string]any{"Identity": "JoniS@contoso.com"}), http.StatusNotFound, "NotFound",
		"Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException", "JoniS@contoso.com")
	wantCmdletError(t, x.invoke("Get-MailboxStatistics", nil), http.StatusBadRequest, "BadRequest",
		"System.Management.Automation.ParameterBindingException", "missing mandatory parameters: Identity")
}

func TestSetMailbox(t *testing.T) {
	t.Parallel()
	x := newExo(t)
	// The success body, exactly.
	res := x.invoke("Set-Mailbox", map[string]any{"Identity": "AdeleV@contoso.com", "Type": "Shared"})
	want := `{"@odata.context":"https://outlook.office365.com/adminapi/beta/` + fakegraph.ContosoTenantID +
		`/$metadata#Collection(Exchange.GenericHashTable)","adminapi.warnings@odata.type":"#Collection(String)","@adminapi.warnings":[],"value":[]}`
	if res.status != http.StatusOK || string(res.raw) != want {
		t.Fatalf("Set-Mailbox: %d %s", res.status, res.raw)
	}
	if u := x.user("AdeleV@contoso.com"); u.MailboxType != fakegraph.MailboxShared {
		t.Errorf("MailboxType = %q", u.MailboxType)
	}
	if m := x.ok("Get-Mailbox", map[string]any{"Identity": "AdeleV"})[0]; m["RecipientTypeDetails"] != "SharedMailbox" || m["IsShared"] != true {
		t.Errorf("after conversion: %v %v", m["RecipientTypeDetails"], m["IsShared"])
	}
	x.ok("Set-Mailbox", map[string]any{"Identity": fakegraph.ContosoAdeleID, "Type": "regular"})
	if u := x.user("AdeleV@contoso.com"); u.MailboxType != fakegraph.MailboxUser {
		t.Errorf("MailboxType = %q", u.MailboxType)
	}

	// Clearing forwarding, as the bot does.
	x.ok("Set-Mailbox", map[string]any{"Identity": "AlexW@contoso.com", "ForwardingSMTPAddress": nil, "ForwardingAddress": nil, "DeliverToMailboxAndForward": false})
	if u := x.user(fakegraph.ContosoAlexID); u.ForwardingSMTPAddress != "" || u.ForwardingAddress != "" || u.DeliverToMailboxAndForward {
		t.Errorf("forwarding left: %+v", u)
	}
	// Setting it, bare or prefixed; and to an internal recipient.
	x.ok("Set-Mailbox", map[string]any{"Identity": "AlexW", "ForwardingSMTPAddress": "alex@example.org", "DeliverToMailboxAndForward": true})
	if u := x.user(fakegraph.ContosoAlexID); u.ForwardingSMTPAddress != "smtp:alex@example.org" || !u.DeliverToMailboxAndForward {
		t.Errorf("forwarding = %q %v", u.ForwardingSMTPAddress, u.DeliverToMailboxAndForward)
	}
	x.ok("Set-Mailbox", map[string]any{"Identity": "AlexW", "ForwardingAddress": "MeganB@contoso.com"})
	if u := x.user(fakegraph.ContosoAlexID); u.ForwardingAddress != "MeganB@contoso.com" {
		t.Errorf("ForwardingAddress = %q", u.ForwardingAddress)
	}
	if m := x.ok("Get-Mailbox", map[string]any{"Identity": "AlexW"})[0]; m["ForwardingAddress"] != "MeganB" || m["ForwardingSmtpAddress"] != "smtp:alex@example.org" {
		t.Errorf("forwarding = %v %v", m["ForwardingAddress"], m["ForwardingSmtpAddress"])
	}
	wantCmdletError(t, x.invoke("Set-Mailbox", map[string]any{"Identity": "AlexW", "ForwardingAddress": "ghost@contoso.com"}),
		http.StatusNotFound, "NotFound", "Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException", `Couldn't find object "ghost@contoso.com"`)
	wantCmdletError(t, x.invoke("Set-Mailbox", map[string]any{"Identity": "AlexW", "ForwardingSmtpAddress": "not an address"}),
		http.StatusBadRequest, "BadRequest", "System.Management.Automation.ParameterBindingException", "isn't a valid SMTP address")

	// Address lists; not for a directory-synchronized user.
	x.ok("Set-Mailbox", map[string]any{"Identity": "MeganB@contoso.com", "HiddenFromAddressListsEnabled": true})
	if u := x.user(fakegraph.ContosoMeganID); !u.HiddenFromAddressLists {
		t.Error("not hidden")
	}
	wantCmdletError(t, x.invoke("Set-Mailbox", map[string]any{"Identity": fakegraph.ContosoGradyID, "HiddenFromAddressListsEnabled": true}),
		http.StatusBadRequest, "BadRequest", "Microsoft.Exchange.Management.Tasks.RecipientTaskException", "synchronized from your on-premises organization")

	// Nothing changed: success with Exchange's warning.
	res = x.invoke("Set-Mailbox", map[string]any{"Identity": "MeganB@contoso.com", "HiddenFromAddressListsEnabled": true, "Confirm": false})
	if w, _ := res.json["@adminapi.warnings"].([]any); res.status != http.StatusOK || len(w) != 1 || !strings.Contains(w[0].(string), "no settings of 'MeganB' have been modified") {
		t.Errorf("no-op: %d %s", res.status, res.raw)
	}

	// Bad parameters change nothing.
	wantCmdletError(t, x.invoke("Set-Mailbox", map[string]any{"Identity": "MeganB", "Type": "Shared", "Colour": "blue"}),
		http.StatusBadRequest, "BadRequest", "System.Management.Automation.ParameterBindingException", "A parameter cannot be found that matches parameter name 'Colour'.")
	wantCmdletError(t, x.invoke("Set-Mailbox", map[string]any{"Identity": "MeganB", "Type": "Personal"}),
		http.StatusBadRequest, "BadRequest", "System.Management.Automation.ParameterBindingException", "Regular, Room, Equipment, Shared, Workspace")
	wantCmdletError(t, x.invoke("Set-Mailbox", map[string]any{"Identity": "MeganB", "Type": "Shared", "DeliverToMailboxAndForward": "maybe"}),
		http.StatusBadRequest, "BadRequest", "System.Management.Automation.ParameterBindingException", "System.Boolean")
	if u := x.user(fakegraph.ContosoMeganID); u.MailboxType != fakegraph.MailboxUser {
		t.Errorf("a failed Set-Mailbox changed the type: %q", u.MailboxType)
	}
	wantCmdletError(t, x.invoke("Set-Mailbox", map[string]any{"Identity": "JoniS@contoso.com", "Type": "Shared"}),
		http.StatusNotFound, "NotFound", "Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException", "JoniS@contoso.com")
	wantCmdletError(t, x.invoke("Set-Mailbox", map[string]any{"Type": "Shared"}),
		http.StatusBadRequest, "BadRequest", "System.Management.Automation.ParameterBindingException", "Identity")
}

func TestEnableMailboxArchive(t *testing.T) {
	t.Parallel()
	x := newExo(t)
	wantCmdletError(t, x.invoke("Enable-Mailbox", map[string]any{"Identity": "LynneR@contoso.com", "AutoExpandingArchive": true}),
		http.StatusBadRequest, "BadRequest", "Microsoft.Exchange.Management.Tasks.RecipientTaskException", "has no archive")
	v := x.ok("Enable-Mailbox", map[string]any{"Identity": "LynneR@contoso.com", "Archive": true})
	if len(v) != 1 || v[0]["ArchiveStatus"] != "Active" || v[0]["ArchiveGuid"] == "00000000-0000-0000-0000-000000000000" {
		t.Errorf("Enable-Mailbox -Archive = %v", v)
	}
	if u := x.user(fakegraph.ContosoLynneID); !u.ArchiveEnabled || u.AutoExpandingArchive {
		t.Errorf("archive = %v auto = %v", u.ArchiveEnabled, u.AutoExpandingArchive)
	}
	wantCmdletError(t, x.invoke("Enable-Mailbox", map[string]any{"Identity": "LynneR@contoso.com", "Archive": true}),
		http.StatusBadRequest, "BadRequest", "Microsoft.Exchange.Management.Tasks.RecipientTaskException", "already has an archive")
	v = x.ok("Enable-Mailbox", map[string]any{"Identity": "LynneR@contoso.com", "AutoExpandingArchive": true})
	if v[0]["AutoExpandingArchiveEnabled"] != true {
		t.Errorf("auto-expanding = %v", v[0]["AutoExpandingArchiveEnabled"])
	}
	if u := x.user(fakegraph.ContosoLynneID); !u.AutoExpandingArchive {
		t.Error("AutoExpandingArchive not set")
	}
	for _, p := range []map[string]any{
		{"Identity": "AdeleV", "Archive": true, "AutoExpandingArchive": true},
		{"Identity": "AdeleV"},
		{"Identity": "AdeleV", "Archive": false},
	} {
		wantCmdletError(t, x.invoke("Enable-Mailbox", p), http.StatusBadRequest, "BadRequest",
			"System.Management.Automation.ParameterBindingException", "Parameter set cannot be resolved")
	}
	wantCmdletError(t, x.invoke("Enable-Mailbox", map[string]any{"Identity": fakegraph.ContosoJoniID, "Archive": true}),
		http.StatusNotFound, "NotFound", "Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException", fakegraph.ContosoJoniID)
}

func TestAutoReplyConfiguration(t *testing.T) {
	t.Parallel()
	x := newExo(t)
	v := x.ok("Get-MailboxAutoReplyConfiguration", map[string]any{"Identity": "AdeleV@contoso.com"})
	if v[0]["AutoReplyState"] != "Disabled" || v[0]["ExternalAudience"] != "All" || v[0]["StartTime"] != nil {
		t.Errorf("defaults = %v", v[0])
	}
	base := func(extra map[string]any) map[string]any {
		p := map[string]any{"Identity": "AdeleV@contoso.com", "AutoReplyState": "Scheduled", "InternalMessage": "Away", "ExternalMessage": "Away (ext)", "ExternalAudience": "Known"}
		for k, v := range extra {
			p[k] = v
		}
		return p
	}
	wantCmdletError(t, x.invoke("Set-MailboxAutoReplyConfiguration", base(nil)), http.StatusBadRequest, "BadRequest",
		"Microsoft.Exchange.Data.DataValidationException", "need both StartTime and EndTime")
	wantCmdletError(t, x.invoke("Set-MailboxAutoReplyConfiguration", base(map[string]any{"StartTime": "2026-12-24T00:00:00Z"})), http.StatusBadRequest, "BadRequest",
		"Microsoft.Exchange.Data.DataValidationException", "need both StartTime and EndTime")
	wantCmdletError(t, x.invoke("Set-MailboxAutoReplyConfiguration", base(map[string]any{"StartTime": "2026-12-28T00:00:00Z", "EndTime": "2026-12-24T00:00:00Z"})),
		http.StatusBadRequest, "BadRequest", "Microsoft.Exchange.Data.DataValidationException", "end time must be later than the start time")
	wantCmdletError(t, x.invoke("Set-MailboxAutoReplyConfiguration", base(map[string]any{"StartTime": "Christmas", "EndTime": "2026-12-24"})),
		http.StatusBadRequest, "BadRequest", "System.Management.Automation.ParameterBindingException", "not recognized as a valid DateTime")
	wantCmdletError(t, x.invoke("Set-MailboxAutoReplyConfiguration", base(map[string]any{"ExternalAudience": "Everyone"})),
		http.StatusBadRequest, "BadRequest", "System.Management.Automation.ParameterBindingException", "None, Known, All")
	if u := x.user(fakegraph.ContosoAdeleID); u.AutoReplyState != "Disabled" || u.InternalMessage != "" {
		t.Errorf("a failed call changed the state: %+v", u)
	}

	x.ok("Set-MailboxAutoReplyConfiguration", base(map[string]any{"StartTime": "2026-12-24T08:00:00-05:00", "EndTime": "2026-12-28"}))
	u := x.user(fakegraph.ContosoAdeleID)
	if u.AutoReplyState != fakegraph.AutoReplyScheduled || u.InternalMessage != "Away" || u.ExternalMessage != "Away (ext)" || u.ExternalAudience != "Known" ||
		!u.AutoReplyStart.Equal(time.Date(2026, 12, 24, 13, 0, 0, 0, time.UTC)) || !u.AutoReplyEnd.Equal(time.Date(2026, 12, 28, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("auto reply = %+v", u)
	}
	v = x.ok("Get-MailboxAutoReplyConfiguration", map[string]any{"Identity": fakegraph.ContosoAdeleID})
	if v[0]["AutoReplyState"] != "Scheduled" || v[0]["StartTime"] != "2026-12-24T13:00:00.0000000+00:00" || v[0]["EndTime"] != "2026-12-28T00:00:00.0000000+00:00" ||
		v[0]["InternalMessage"] != "Away" || v[0]["ExternalAudience"] != "Known" {
		t.Errorf("Get = %v", v[0])
	}
	// Scheduled again later reuses the stored window.
	x.ok("Set-MailboxAutoReplyConfiguration", map[string]any{"Identity": "AdeleV", "AutoReplyState": "Disabled"})
	x.ok("Set-MailboxAutoReplyConfiguration", map[string]any{"Identity": "AdeleV", "AutoReplyState": "scheduled"})
	x.ok("Set-MailboxAutoReplyConfiguration", map[string]any{"Identity": "AdeleV", "AutoReplyState": "Enabled", "InternalMessage": nil})
	if u := x.user(fakegraph.ContosoAdeleID); u.AutoReplyState != "Enabled" || u.InternalMessage != "" || u.ExternalMessage != "Away (ext)" {
		t.Errorf("after enable = %+v", u)
	}
	wantCmdletError(t, x.invoke("Get-MailboxAutoReplyConfiguration", map[string]any{"Identity": "JoniS@contoso.com"}), http.StatusNotFound, "NotFound",
		"Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException", "JoniS")
}

func TestDistributionGroupMembers(t *testing.T) {
	t.Parallel()
	x := newExo(t)
	g := &graph{t: t, s: x.s, tok: token(t, x.s)}
	members := func(group string) []string {
		gr, _ := x.s.Group(fakegraph.ContosoTenantID, group)
		return gr.Members
	}
	add := map[string]any{"Identity": "newsletter@contoso.com", "Member": "AdeleV@contoso.com", "BypassSecurityGroupManagerCheck": true}
	x.ok("Add-DistributionGroupMember", add)
	if !slices.Contains(members(fakegraph.ContosoNewsletterID), fakegraph.ContosoAdeleID) {
		t.Error("Adele not added")
	}
	// Graph sees it too.
	if v := values(t, g.do(http.MethodGet, "/v1.0/groups/"+fakegraph.ContosoNewsletterID+"/members", nil)); len(v) != 4 {
		t.Errorf("graph members = %d", len(v))
	}
	wantCmdletError(t, x.invoke("Add-DistributionGroupMember", add), http.StatusBadRequest, "BadRequest",
		"Microsoft.Exchange.Management.Tasks.MemberAlreadyExistsException", `The recipient "AdeleV@contoso.com" is already a member of the group "Contoso Newsletter".`)
	// By display name, id or alias; mail-enabled security groups too.
	x.ok("Add-DistributionGroupMember", map[string]any{"Identity": "IT Mail-Enabled Security", "Member": fakegraph.ContosoMeganID})
	x.ok("Remove-DistributionGroupMember", map[string]any{"Identity": fakegraph.ContosoITMailSecurityID, "Member": "MeganB", "Confirm": false})
	x.ok("Remove-DistributionGroupMember", map[string]any{"Identity": "newsletter", "Member": "AdeleV@contoso.com", "BypassSecurityGroupManagerCheck": true})
	if slices.Contains(members(fakegraph.ContosoNewsletterID), fakegraph.ContosoAdeleID) || slices.Contains(members(fakegraph.ContosoITMailSecurityID), fakegraph.ContosoMeganID) {
		t.Error("members not removed")
	}
	wantCmdletError(t, x.invoke("Remove-DistributionGroupMember", map[string]any{"Identity": "newsletter", "Member": "AdeleV@contoso.com"}),
		http.StatusBadRequest, "BadRequest", "Microsoft.Exchange.Management.Tasks.MemberNotFoundException", "isn't a member of the group")
	// Microsoft 365 groups and plain security groups are no distribution
	// groups; a user without a mailbox is no recipient.
	for _, group := range []string{"Sales and Marketing", fakegraph.ContosoFinanceSecurityID, "nosuchgroup@contoso.com"} {
		wantCmdletError(t, x.invoke("Add-DistributionGroupMember", map[string]any{"Identity": group, "Member": "AdeleV@contoso.com"}),
			http.StatusNotFound, "NotFound", "Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException", "object '"+group+"'")
	}
	wantCmdletError(t, x.invoke("Add-DistributionGroupMember", map[string]any{"Identity": "newsletter", "Member": "JoniS@contoso.com"}),
		http.StatusNotFound, "NotFound", "Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException", `Couldn't find object "JoniS@contoso.com"`)
	wantCmdletError(t, x.invoke("Add-DistributionGroupMember", map[string]any{"Identity": "newsletter"}),
		http.StatusBadRequest, "BadRequest", "System.Management.Automation.ParameterBindingException", "Member")
}

func TestUnknownCmdlet(t *testing.T) {
	t.Parallel()
	x := newExo(t)
	x.s.ExpectUnhandled(http.MethodPost, "/adminapi/beta/"+x.tenant+"/InvokeCommand") // a cmdlet the server does not run
	wantCmdletError(t, x.invoke("Remove-Mailbox", map[string]any{"Identity": "AdeleV"}), http.StatusBadRequest, "BadRequest",
		"System.Management.Automation.CommandNotFoundException", "The term 'Remove-Mailbox' is not recognized")
	if u := x.user(fakegraph.ContosoAdeleID); u.MailboxType == "" {
		t.Error("mailbox removed")
	}
}

func TestInvokeCommandGzipAndRecording(t *testing.T) {
	t.Parallel()
	x := newExo(t)
	x.s.ResetRequests()
	plain := x.body("Set-Mailbox", map[string]any{"Identity": "AdeleV@contoso.com", "Type": "Shared"})
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(plain)
	zw.Close()
	hdr := x.headers()
	hdr.Set("Content-Encoding", "gzip")
	res := send(t, x.s, http.MethodPost, "/adminapi/beta/"+fakegraph.ContosoTenantID+"/InvokeCommand", hdr, &buf)
	if res.status != http.StatusOK {
		t.Fatalf("gzip: %d %s", res.status, res.raw)
	}
	if u := x.user(fakegraph.ContosoAdeleID); u.MailboxType != fakegraph.MailboxShared {
		t.Errorf("MailboxType = %q", u.MailboxType)
	}
	reqs := x.s.Requests()
	if len(reqs) != 1 {
		t.Fatalf("requests = %d", len(reqs))
	}
	r := reqs[0]
	if r.Method != http.MethodPost || r.Path != "/adminapi/beta/"+fakegraph.ContosoTenantID+"/InvokeCommand" || r.Status != http.StatusOK ||
		r.ContentEncoding != "gzip" || !bytes.Equal(r.Body, plain) || r.Header.Get("X-AnchorMailbox") != exoAnchor+fakegraph.ContosoTenantID {
		t.Errorf("recorded = %+v (body %s)", r, r.Body)
	}
	// A body labelled gzip that is not.
	hdr.Set("Content-Encoding", "gzip")
	res = send(t, x.s, http.MethodPost, "/adminapi/beta/"+fakegraph.ContosoTenantID+"/InvokeCommand", hdr, bytes.NewReader(plain))
	wantRequestError(t, res, http.StatusBadRequest, "BadRequest", "could not be decompressed")
	hdr.Set("Content-Encoding", "br")
	res = send(t, x.s, http.MethodPost, "/adminapi/beta/"+fakegraph.ContosoTenantID+"/InvokeCommand", hdr, bytes.NewReader(plain))
	wantRequestError(t, res, http.StatusUnsupportedMediaType, "UnsupportedMediaType", "br")
}

func TestInvokeCommandFaults(t *testing.T) {
	t.Parallel()
	x := newExo(t)
	g := &graph{t: t, s: x.s, tok: token(t, x.s)}
	x.s.Inject(fakegraph.Fault{PathContains: "InvokeCommand", Status: http.StatusTooManyRequests, RetryAfter: "2", Times: 2})
	for range 2 {
		res := x.invoke("Set-Mailbox", map[string]any{"Identity": "AdeleV", "Type": "Shared"})
		wantRequestError(t, res, http.StatusTooManyRequests, "TooManyRequests", "throttled")
		if res.header.Get("Retry-After") != "2" {
			t.Errorf("Retry-After = %q", res.header.Get("Retry-After"))
		}
	}
	if u := x.user(fakegraph.ContosoAdeleID); u.MailboxType != fakegraph.MailboxUser {
		t.Error("a throttled call changed the mailbox")
	}
	if res := g.do(http.MethodGet, "/v1.0/users/AdeleV@contoso.com", nil); res.status != http.StatusOK {
		t.Errorf("graph faulted: %d", res.status)
	}
	x.ok("Set-Mailbox", map[string]any{"Identity": "AdeleV", "Type": "Shared"})
	// A fault with its own code and message keeps them.
	x.s.Inject(fakegraph.Fault{PathContains: "/adminapi/", Status: http.StatusServiceUnavailable, Code: "ServerBusy", Message: "Try later."})
	wantRequestError(t, x.invoke("Get-Mailbox", map[string]any{"Identity": "AdeleV"}), http.StatusServiceUnavailable, "ServerBusy", "Try later.")
	// Graph faults do not reach Exchange.
	x.s.Inject(fakegraph.Fault{PathContains: "/users", Status: http.StatusInternalServerError})
	x.ok("Get-Mailbox", map[string]any{"Identity": "AdeleV"})
	x.s.ClearFaults()
}

func TestMailboxSeedAndProvisioning(t *testing.T) {
	t.Parallel()
	s := mspServer(t, fakegraph.Options{})
	joni, _ := s.User(fakegraph.ContosoTenantID, fakegraph.ContosoJoniID)
	if joni.MailboxType != "" || joni.MailboxSizeGB != 0 || len(joni.Licenses) != 0 {
		t.Errorf("joni = %+v", joni)
	}
	alex, _ := s.User(fakegraph.ContosoTenantID, fakegraph.ContosoAlexID)
	if alex.ForwardingSMTPAddress != fakegraph.ContosoAlexForwarding || !alex.DeliverToMailboxAndForward {
		t.Errorf("alex = %q %v", alex.ForwardingSMTPAddress, alex.DeliverToMailboxAndForward)
	}
	for _, tenant := range []string{fakegraph.ContosoTenantID, fakegraph.FabrikamTenantID, fakegraph.PartnerTenantID} {
		for _, u := range s.Users(tenant) {
			if (len(u.Licenses) > 0) != (u.MailboxType == fakegraph.MailboxUser) || (u.MailboxType != "" && (u.AutoReplyState != "Disabled" || u.ExternalAudience != "All")) {
				t.Errorf("%s: licenses %v, mailbox %q %q %q", u.UserPrincipalName, u.Licenses, u.MailboxType, u.AutoReplyState, u.ExternalAudience)
			}
		}
	}

	// Licensing a user for Exchange provisions a mailbox.
	g := tenantGraph(t, s, fakegraph.ContosoTenantID)
	if res := g.do(http.MethodPatch, "/v1.0/users/"+fakegraph.ContosoJoniID, map[string]any{"usageLocation": "US"}); res.status != http.StatusNoContent {
		t.Fatalf("patch: %d %s", res.status, res.raw)
	}
	res := g.do(http.MethodPost, "/v1.0/users/"+fakegraph.ContosoJoniID+"/assignLicense",
		map[string]any{"addLicenses": []any{map[string]any{"skuId": fakegraph.SkuEnterprisePack}}, "removeLicenses": []string{}})
	if res.status != http.StatusOK {
		t.Fatalf("assignLicense: %d %s", res.status, res.raw)
	}
	joni, _ = s.User(fakegraph.ContosoTenantID, fakegraph.ContosoJoniID)
	if joni.MailboxType != fakegraph.MailboxUser || joni.AutoReplyState != "Disabled" {
		t.Errorf("after licensing: %q %q", joni.MailboxType, joni.AutoReplyState)
	}
	x := &exo{t: t, s: s, tok: exoToken(t, s, fakegraph.ContosoTenantID), tenant: fakegraph.ContosoTenantID}
	if st := x.ok("Get-MailboxStatistics", map[string]any{"Identity": "JoniS@contoso.com"}); st[0]["TotalItemSize"] != "0 B (0 bytes)" {
		t.Errorf("new mailbox size = %v", st[0]["TotalItemSize"])
	}

	// Each tenant's mailboxes are its own.
	fx := &exo{t: t, s: s, tok: exoToken(t, s, fakegraph.FabrikamDomain), tenant: fakegraph.FabrikamTenantID}
	if m := fx.ok("Get-Mailbox", map[string]any{"Identity": "AlexW@fabrikam.com"})[0]; m["ExternalDirectoryObjectId"] != fakegraph.FabrikamAlexWID {
		t.Errorf("fabrikam alex = %v", m["ExternalDirectoryObjectId"])
	}
	wantCmdletError(t, fx.invoke("Get-Mailbox", map[string]any{"Identity": "AdeleV@contoso.com"}), http.StatusNotFound, "NotFound",
		"Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException", "AdeleV@contoso.com")
}

func TestSetMailboxHelper(t *testing.T) {
	t.Parallel()
	s := fakegraph.NewTest(t, fakegraph.Options{})
	s.SetMailbox(fakegraph.ContosoDomain, "JoniS@contoso.com", func(u *fakegraph.User) {
		u.MailboxType = fakegraph.MailboxShared
		u.MailboxSizeGB = 12.5
		u.ForwardingSMTPAddress = "joni@example.org"
		u.DisplayName = "ignored"
	})
	u, _ := s.User(fakegraph.ContosoTenantID, fakegraph.ContosoJoniID)
	if u.MailboxType != fakegraph.MailboxShared || u.MailboxSizeGB != 12.5 || u.ForwardingSMTPAddress != "smtp:joni@example.org" ||
		u.ExternalAudience != "All" || u.AutoReplyState != "Disabled" || u.DisplayName != "Joni Sherman" {
		t.Errorf("after SetMailbox: %+v", u)
	}
	s.SetMailbox(fakegraph.ContosoTenantID, fakegraph.ContosoJoniID, func(u *fakegraph.User) { u.MailboxType = "" })
	if u, _ := s.User(fakegraph.ContosoTenantID, fakegraph.ContosoJoniID); u.MailboxType != "" || u.ForwardingSMTPAddress != "" || u.MailboxSizeGB != 0 {
		t.Errorf("after removing the mailbox: %+v", u)
	}
	for name, fn := range map[string]func(*fakegraph.User){
		"auto-expanding without archive": func(u *fakegraph.User) { u.AutoExpandingArchive = true },
		"scheduled without times":        func(u *fakegraph.User) { u.AutoReplyState = "Scheduled" },
		"bad type":                       func(u *fakegraph.User) { u.MailboxType = "RoomMailbox" },
		"bad forwarding":                 func(u *fakegraph.User) { u.ForwardingSMTPAddress = "nowhere" },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", name)
				}
			}()
			s.SetMailbox(fakegraph.ContosoTenantID, "AdeleV@contoso.com", fn)
		}()
	}
	if u, _ := s.User(fakegraph.ContosoTenantID, "AdeleV@contoso.com"); u.AutoExpandingArchive || u.AutoReplyState != "Disabled" || u.MailboxType != fakegraph.MailboxUser {
		t.Errorf("a rejected SetMailbox changed the user: %+v", u)
	}
	// Seeds are checked the same way.
	seed := fakegraph.TenantSeed{ID: "22222222-3333-4444-8555-666666666666", Domains: []string{"bad.example"},
		Users: []fakegraph.User{{ID: "22222222-3333-4444-8555-666666666667", UserPrincipalName: "a@bad.example", ForwardingSMTPAddress: "x@example.org"}}}
	if err := s.AddTenant(seed); err == nil || !strings.Contains(err.Error(), "without a mailbox") {
		t.Errorf("forwarding without a mailbox: %v", err)
	}
}

func TestExchangeLatency(t *testing.T) {
	t.Parallel()
	x := newExo(t)
	x.s.SetLatency(30 * time.Millisecond)
	start := time.Now()
	x.ok("Get-Mailbox", map[string]any{"Identity": "AdeleV"})
	if time.Since(start) < 30*time.Millisecond {
		t.Error("no latency")
	}
}
