package fakegraph

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"
)

// Exchange Online's admin API, as the ExchangeOnlineManagement module
// calls it: POST /adminapi/beta/{tenant id}/InvokeCommand with an
// Exchange token and a JSON body naming one cmdlet and its parameters.
const (
	// exoContentType is the Content-Type of the admin API's answers.
	exoContentType = "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8"
	// exoAnchorMailbox is the system mailbox app-only calls are routed
	// by, named in X-AnchorMailbox as "APP:<it>@<tenant id>".
	exoAnchorMailbox = "SystemMailbox{bb558c35-97f1-4cb9-8ff7-d53741dc928c}"
	// exoAppID is the application id of Office 365 Exchange Online.
	exoAppID = "00000002-0000-0ff1-ce00-000000000000"
	// exoServer names the directory server in not-found messages.
	exoServer = "NAMPR05A003DC012.NAMPR05A003.PROD.OUTLOOK.COM"
	// exoODataException is the innererror type of every admin API error.
	exoODataException = "Microsoft.Exchange.Admin.OData.Core.ODataServiceException"
	// exoInvokeException is the internal exception of a failed cmdlet.
	exoInvokeException = "Microsoft.Exchange.Management.PSDirectInvoke.DirectInvokeCmdletExecutionException"
)

// Exception types of cmdlet errors.
const (
	exNotFound       = "Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException"
	exBinding        = "System.Management.Automation.ParameterBindingException"
	exCommand        = "System.Management.Automation.CommandNotFoundException"
	exRecipientTask  = "Microsoft.Exchange.Management.Tasks.RecipientTaskException"
	exDataValidation = "Microsoft.Exchange.Data.DataValidationException"
	exMemberExists   = "Microsoft.Exchange.Management.Tasks.MemberAlreadyExistsException"
	exMemberMissing  = "Microsoft.Exchange.Management.Tasks.MemberNotFoundException"
)

// exoFailure is an Exchange admin API error before it is rendered.
type exoFailure struct {
	status  int
	code    string
	message string
	// detail is "ExID|Exception.Type|text" for a cmdlet that failed,
	// rendered in error.details; "" for errors of the request itself.
	detail     string
	detailCode string
	header     http.Header
}

// exoReply is the outcome of one InvokeCommand.
type exoReply struct {
	values   []obj
	warnings []string
	err      *exoFailure
	// unhandled marks a cmdlet the server does not run
	// (Request.Unhandled).
	unhandled bool
}

// exoRequestError is an error of the request itself (URL, headers,
// token, body), before any cmdlet runs.
func exoRequestError(status int, code, message string) *exoFailure {
	return &exoFailure{status: status, code: code, message: message}
}

// cmdletError is the error of a cmdlet that ran and failed: 404
// NotFound for a missing object, 400 BadRequest otherwise, with the
// exception text in error.details.
func cmdletError(status int, exType, format string, args ...any) *exoFailure {
	f := &exoFailure{status: status, code: "BadRequest", message: "Error executing cmdlet", detailCode: "Context",
		detail: exErrorID(exType) + "|" + exType + "|" + fmt.Sprintf(format, args...)}
	if status == http.StatusNotFound {
		f.code, f.detailCode = "NotFound", "Client"
	}
	return f
}

// exErrorID returns the "Ex" error id Exchange prefixes an exception's
// text with; PowerShell's own exceptions have none.
func exErrorID(exType string) string {
	switch exType {
	case exNotFound:
		return "Ex6F9304"
	case exBinding, exCommand:
		return ""
	}
	sum := sha256.Sum256([]byte(exType))
	return "Ex" + strings.ToUpper(hex.EncodeToString(sum[:3]))
}

// objectNotFound is Exchange's answer for an Identity that names no
// object of the cmdlet's kind.
func objectNotFound(identity string) *exoFailure {
	return cmdletError(http.StatusNotFound, exNotFound,
		"The operation couldn't be performed because object '%s' couldn't be found on '%s'.", identity, exoServer)
}

// recipientNotFound is Exchange's answer for a parameter naming an
// unknown recipient.
func recipientNotFound(identity string) *exoFailure {
	return cmdletError(http.StatusNotFound, exNotFound,
		"Couldn't find object \"%s\". Please make sure that it was spelled correctly or specify a different object.", identity)
}

// bindingError is PowerShell's answer for parameters it cannot bind.
func bindingError(format string, args ...any) *exoFailure {
	return cmdletError(http.StatusBadRequest, exBinding, format, args...)
}

// exoUnauthorized is a 401 with the challenge Exchange sends.
func exoUnauthorized(diag int, category, reason string) *exoFailure {
	f := exoRequestError(http.StatusUnauthorized, "Unauthorized", reason)
	f.header = http.Header{
		"WWW-Authenticate": {`Bearer client_id="` + exoAppID + `", trusted_issuers="00000001-0000-0000-c000-000000000000@*", token_types="app_asserted_user_v1 service_asserted_app_v1", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", error="invalid_token"`},
		"X-Ms-Diagnostics": {fmt.Sprintf(`%d;reason="%s";error_category="%s"`, diag, reason, category)},
	}
	return f
}

// isExchangePath reports whether segs address the Exchange admin API.
func isExchangePath(segs []string) bool {
	return len(segs) > 0 && strings.EqualFold(segs[0], "adminapi")
}

// serveExchange answers /adminapi/...: InvokeCommand runs one cmdlet
// against the tenant of the request's Exchange token.
func (s *Server) serveExchange(w http.ResponseWriter, r *http.Request, segs []string, raw []byte, rec *Request) {
	body, decErr := decodeBody(r.Header.Get("Content-Encoding"), raw)
	rec.Body = body
	s.mu.Lock()
	lat := s.latency
	s.mu.Unlock()
	if lat > 0 {
		timer := time.NewTimer(lat)
		select {
		case <-timer.C:
		case <-r.Context().Done():
			timer.Stop()
			s.writeExchange(w, "", &exoReply{err: exoRequestError(499, "RequestCanceled", "The client canceled the request.")})
			return
		}
	}
	if len(segs) != 4 || !strings.EqualFold(segs[1], "beta") || !strings.EqualFold(segs[3], "InvokeCommand") {
		rec.Unhandled = true
		s.writeExchange(w, "", &exoReply{err: exoRequestError(http.StatusNotFound, "NotFound",
			fmt.Sprintf("The resource '%s' was not found. The admin API serves POST /adminapi/beta/{tenantId}/InvokeCommand.", r.URL.Path))})
		return
	}
	urlTenant := segs[2]
	ctx := "https://outlook.office365.com/adminapi/beta/" + urlTenant + "/$metadata#Collection(Exchange.GenericHashTable)"
	if r.Method != http.MethodPost {
		rec.Unhandled = true
		rep := &exoReply{err: exoRequestError(http.StatusMethodNotAllowed, "MethodNotAllowed",
			fmt.Sprintf("The HTTP method '%s' is not allowed for InvokeCommand; use POST.", r.Method))}
		rep.err.header = http.Header{"Allow": {http.MethodPost}}
		s.writeExchange(w, ctx, rep)
		return
	}
	s.mu.Lock()
	rep := s.invokeCommand(r, urlTenant, body, decErr, "/"+strings.Join(segs, "/"))
	s.mu.Unlock()
	rec.Unhandled = rep.unhandled
	s.writeExchange(w, ctx, rep)
}

// invokeCommand checks an InvokeCommand request and runs its cmdlet;
// s.mu must be held.
func (s *Server) invokeCommand(r *http.Request, urlTenant string, body []byte, decErr *reply, path string) *exoReply {
	now := s.now()
	t, f := s.exchangeToken(r.Header.Get("Authorization"), now)
	if f != nil {
		return &exoReply{err: f}
	}
	if !isGUID(urlTenant) {
		return &exoReply{err: exoRequestError(http.StatusBadRequest, "BadRequest",
			fmt.Sprintf("The tenant '%s' in the request URL is not a tenant id. InvokeCommand takes the tenant's id (a GUID), not a domain name.", urlTenant))}
	}
	if !strings.EqualFold(urlTenant, t.id) {
		return &exoReply{err: exoUnauthorized(2000001, "invalid_resource",
			fmt.Sprintf("The access token was issued for tenant '%s', not for tenant '%s' in the request URL.", t.id, urlTenant))}
	}
	if f := checkAnchor(r.Header.Get("X-AnchorMailbox"), t); f != nil {
		return &exoReply{err: f}
	}
	if fault := s.matchFault(r.Method, path); fault != nil {
		return &exoReply{err: exoFault(fault)}
	}
	if decErr != nil {
		return &exoReply{err: exoRequestError(decErr.status, decErr.err.code, decErr.err.message)}
	}
	c, f := parseInvoke(body)
	if f != nil {
		return &exoReply{err: f}
	}
	c.t, c.now, c.anchor = t, now, strings.TrimSpace(r.Header.Get("X-AnchorMailbox"))
	if g := s.exchangeGDAPCaller(r.Header.Get("Authorization"), t); g != nil { // delegated through GDAP (gdaproles.go)
		if f := s.exchangeGDAPDenied(g, t, c.cmdletName); f != nil {
			return &exoReply{err: f}
		}
		return s.runCmdlet(c)
	}
	if !hasPermission(t.permissions, PermExchangeManageAsApp) {
		f := exoRequestError(http.StatusUnauthorized, "Unauthorized", "User is not allowed to call "+c.cmdletName+".")
		f.header = http.Header{"X-Ms-Diagnostics": {`2000008;reason="The application has no Exchange.ManageAsApp role in this tenant.";error_category="insufficient_claims"`}}
		return &exoReply{err: f}
	}
	if f := s.exchangeRoleDenied(t, c.cmdletName); f != nil { // app-only Entra roles (approles.go)
		return &exoReply{err: f}
	}
	return s.runCmdlet(c)
}

// exchangeToken resolves a bearer token that must have been issued for
// Exchange Online; s.mu must be held.
func (s *Server) exchangeToken(header string, now time.Time) (*tenant, *exoFailure) {
	scheme, tok, _ := strings.Cut(strings.TrimSpace(header), " ")
	tok = strings.TrimSpace(tok)
	if strings.TrimSpace(header) == "" {
		return nil, exoUnauthorized(2000000, "invalid_token", "The request has no access token.")
	}
	g, ok := s.tokens[tok]
	if !strings.EqualFold(scheme, "Bearer") || tok == "" || !ok {
		return nil, exoUnauthorized(2000001, "invalid_token", "The access token is not valid.")
	}
	if !now.Before(g.expires) {
		return nil, exoUnauthorized(2000007, "invalid_token", "The access token has expired.")
	}
	if !containsFold(exchangeResources(), strings.TrimSuffix(g.scope, "/.default")) {
		return nil, exoUnauthorized(2000003, "invalid_resource",
			"The audience claim value is invalid for current resource. Audience claim is '"+graphAudience+"', request url is for Exchange Online.")
	}
	t, ok := s.tenants[g.tenantID]
	if !ok {
		return nil, exoUnauthorized(2000001, "invalid_token", "The access token's tenant does not exist.")
	}
	return t, nil
}

// checkAnchor validates X-AnchorMailbox: "APP:" (or "UPN:") and the
// system mailbox at the tenant's id (or one of its domains), or "UPN:"
// and an address in one of the tenant's domains, the routing hint of a
// cmdlet about that mailbox (see exchange_anchor.go).
func checkAnchor(anchor string, t *tenant) *exoFailure {
	want := "APP:" + exoAnchorMailbox + "@" + t.id
	if strings.TrimSpace(anchor) == "" {
		return exoRequestError(http.StatusBadRequest, "BadRequest",
			"The X-AnchorMailbox header is missing; app-only InvokeCommand requests are routed by '"+want+"'.")
	}
	kind, addr, _ := strings.Cut(strings.TrimSpace(anchor), ":")
	at := strings.LastIndex(addr, "@")
	system := at >= 0 && strings.EqualFold(addr[:at], exoAnchorMailbox) && (strings.EqualFold(addr[at+1:], t.id) || t.hasDomain(addr[at+1:]))
	switch {
	case strings.EqualFold(kind, "APP") && system:
	case strings.EqualFold(kind, "UPN") && (system || at > 0 && t.hasDomain(addr[at+1:])):
	default:
		return exoRequestError(http.StatusBadRequest, "BadRequest",
			fmt.Sprintf("The X-AnchorMailbox header '%s' names neither this tenant's system mailbox nor a mailbox of its domains; expected '%s' or 'UPN:' and a user of the tenant.", anchor, want))
	}
	return nil
}

// exoFault renders an injected fault as Exchange would answer.
func exoFault(f *Fault) *exoFailure {
	code, msg := f.Code, f.Message
	if f.defaultCode || f.defaultMessage {
		dc, dm := exoDefaultFault(f.Status)
		if f.defaultCode {
			code = dc
		}
		if f.defaultMessage {
			msg = dm
		}
	}
	out := exoRequestError(f.Status, code, msg)
	if f.RetryAfter != "" {
		out.header = http.Header{"Retry-After": {f.RetryAfter}}
	}
	return out
}

// exoDefaultFault returns the code and message Exchange uses for status.
func exoDefaultFault(status int) (string, string) {
	switch status {
	case http.StatusTooManyRequests:
		return "TooManyRequests", "The request was throttled: too many requests for this tenant. Retry after the time in the Retry-After header."
	case http.StatusInternalServerError:
		return "InternalServerError", "An internal server error occurred. The operation failed."
	case http.StatusServiceUnavailable:
		return "ServiceUnavailable", "The service is temporarily unavailable. Please retry later."
	case http.StatusGatewayTimeout:
		return "GatewayTimeout", "The request timed out."
	}
	code, msg := defaultFault(status)
	return code, msg
}

// exoCall is one cmdlet being run.
type exoCall struct {
	t   *tenant
	now time.Time
	// cmdletName is the cmdlet as the request spelled it.
	cmdletName string
	// params holds the parameters by lowercase name.
	params   map[string]exoParam
	warnings []string
	// anchor is the request's X-AnchorMailbox; target is the mailbox
	// the cmdlet addressed, nil for an organization-level cmdlet (see
	// exchange_anchor.go).
	anchor string
	target *User
}

// exoParam is one cmdlet parameter as sent.
type exoParam struct {
	name string
	raw  json.RawMessage
}

// parseInvoke reads {"CmdletInput":{"CmdletName":…,"Parameters":{…}}}.
func parseInvoke(body []byte) (*exoCall, *exoFailure) {
	bad := func(msg string) (*exoCall, *exoFailure) {
		return nil, exoRequestError(http.StatusBadRequest, "BadRequest", msg)
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return bad("The request body is empty; expected {\"CmdletInput\":{\"CmdletName\":...,\"Parameters\":{...}}}.")
	}
	var in struct {
		CmdletInput *struct {
			CmdletName string                     `json:"CmdletName"`
			Parameters map[string]json.RawMessage `json:"Parameters"`
		} `json:"CmdletInput"`
	}
	if err := json.Unmarshal(body, &in); err != nil {
		return bad("The request body is not valid JSON: " + err.Error() + ".")
	}
	if in.CmdletInput == nil || strings.TrimSpace(in.CmdletInput.CmdletName) == "" {
		return bad("The request body has no CmdletInput.CmdletName.")
	}
	c := &exoCall{cmdletName: strings.TrimSpace(in.CmdletInput.CmdletName), params: map[string]exoParam{}}
	for k, v := range in.CmdletInput.Parameters {
		lk := strings.ToLower(k)
		if _, dup := c.params[lk]; dup {
			return nil, bindingError("Cannot bind parameter because parameter '%s' is specified more than once. To provide multiple values to parameters that can accept multiple values, use the array syntax.", k)
		}
		c.params[lk] = exoParam{name: k, raw: v}
	}
	return c, nil
}

// has reports whether the parameter was sent.
func (c *exoCall) has(name string) bool {
	_, ok := c.params[strings.ToLower(name)]
	return ok
}

// str reads a string parameter; null reads as "" with null set.
func (c *exoCall) str(name string) (val string, present, null bool, f *exoFailure) {
	p, ok := c.params[strings.ToLower(name)]
	if !ok {
		return "", false, false, nil
	}
	if isNull(p.raw) {
		return "", true, true, nil
	}
	if err := json.Unmarshal(p.raw, &val); err != nil {
		return "", true, false, bindingError("Cannot bind parameter '%s'. Cannot convert the value %s to type \"System.String\".", name, strings.TrimSpace(string(p.raw)))
	}
	return val, true, false, nil
}

// flag reads a Boolean or switch parameter; "true"/"false" strings are
// accepted as PowerShell converts them.
func (c *exoCall) flag(name string) (val, present bool, f *exoFailure) {
	p, ok := c.params[strings.ToLower(name)]
	if !ok {
		return false, false, nil
	}
	if json.Unmarshal(p.raw, &val) == nil {
		return val, true, nil
	}
	var s string
	if json.Unmarshal(p.raw, &s) == nil {
		switch strings.ToLower(strings.TrimPrefix(strings.TrimSpace(s), "$")) {
		case "true":
			return true, true, nil
		case "false":
			return false, true, nil
		}
	}
	return false, true, bindingError("Cannot process argument transformation on parameter '%s'. Cannot convert value \"%s\" to type \"System.Boolean\". Boolean parameters accept only Boolean values and numbers, such as $True, $False, 1 or 0.",
		name, strings.Trim(strings.TrimSpace(string(p.raw)), `"`))
}

// required reads a mandatory string parameter.
func (c *exoCall) required(name string) (string, *exoFailure) {
	v, present, null, f := c.str(name)
	switch {
	case f != nil:
		return "", f
	case !present:
		return "", bindingError("Cannot process command because of one or more missing mandatory parameters: %s.", name)
	case null || strings.TrimSpace(v) == "":
		return "", bindingError("Cannot bind argument to parameter '%s' because it is an empty string.", name)
	}
	return strings.TrimSpace(v), nil
}

// mailbox resolves the Identity parameter to a user with a mailbox.
func (c *exoCall) mailbox() (*User, *exoFailure) {
	id, f := c.required("Identity")
	if f != nil {
		return nil, f
	}
	u := c.t.exoMailbox(id)
	if u == nil {
		return nil, objectNotFound(id)
	}
	c.target = u
	return u, nil
}

// warnUnchanged adds the warning Exchange gives when a Set cmdlet
// changes nothing.
func (c *exoCall) warnUnchanged(identity string) {
	c.warnings = append(c.warnings, fmt.Sprintf("The command completed successfully but no settings of '%s' have been modified.", identity))
}

// commonParameters are accepted by every cmdlet and ignored.
func commonParameters() []string {
	return []string{"Confirm", "ErrorAction", "WarningAction", "Verbose"}
}

// run checks the parameters against the cmdlet's and runs it.
func (c *exoCall) run() *exoReply {
	var cmd *exoCmdlet
	for _, k := range exoCmdlets() {
		if strings.EqualFold(k.name, c.cmdletName) {
			cmd = &k
			break
		}
	}
	if cmd == nil {
		return &exoReply{unhandled: true, err: cmdletError(http.StatusBadRequest, exCommand,
			"The term '%s' is not recognized as a name of a cmdlet, function, script file, or executable program. Check the spelling of the name, or if a path was included, verify that the path is correct and try again.", c.cmdletName)}
	}
	allowed := slices.Concat(cmd.params, commonParameters())
	for _, p := range c.params {
		if !containsFold(allowed, p.name) {
			return &exoReply{err: bindingError("A parameter cannot be found that matches parameter name '%s'.", p.name)}
		}
	}
	values, f := cmd.run(c)
	if f != nil {
		return &exoReply{err: f}
	}
	return &exoReply{values: values, warnings: c.warnings}
}

// writeExchange writes rep with the admin API's headers; ctx is the
// @odata.context of a successful answer.
func (s *Server) writeExchange(w http.ResponseWriter, ctx string, rep *exoReply) {
	h := w.Header()
	h.Set("Request-Id", newGUID())
	h.Set("Date", s.now().Format(http.TimeFormat))
	h.Set("Cache-Control", "no-cache")
	h.Set("Content-Type", exoContentType)
	var body obj
	status := http.StatusOK
	if f := rep.err; f != nil {
		status = f.status
		for k, v := range f.header {
			h[k] = v
		}
		e := obj{{"code", f.code}, {"message", f.message}}
		inner := obj{{"message", f.message}, {"type", exoODataException}}
		if f.detail != "" {
			e = append(e, field{"details", []obj{{{"code", f.detailCode}, {"target", ""}, {"message", f.detail}}}})
			inner = append(inner, field{"internalexception", obj{
				{"message", "Exception of type '" + exoInvokeException + "' was thrown."},
				{"type", exoInvokeException},
			}})
		}
		e = append(e, field{"innererror", inner})
		body = obj{{"error", e}}
		if f.detail != "" {
			body = append(body, field{"adminapi.warnings@odata.type", "#Collection(String)"}, field{"@adminapi.warnings", []string{}})
		}
	} else {
		h.Set("OData-Version", "4.0")
		warnings := rep.warnings
		if warnings == nil {
			warnings = []string{}
		}
		values := rep.values
		if values == nil {
			values = []obj{}
		}
		body = obj{
			{"@odata.context", ctx},
			{"adminapi.warnings@odata.type", "#Collection(String)"},
			{"@adminapi.warnings", warnings},
			{"value", values},
		}
	}
	b, err := json.Marshal(body)
	if err != nil {
		status = http.StatusInternalServerError
		b = []byte(`{"error":{"code":"InternalServerError","message":"response: ` + strings.ReplaceAll(err.Error(), `"`, `'`) + `"}}`)
	}
	w.WriteHeader(status)
	_, _ = w.Write(b)
}
