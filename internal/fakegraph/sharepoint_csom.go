package fakegraph

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// SharePoint's admin CSOM endpoint, as the SharePoint Online Management
// Shell and CIPP call it:
//
//	POST https://{name}-admin.sharepoint.com/_vti_bin/client.svc/ProcessQuery
//	Authorization: Bearer <token for https://{name}-admin.sharepoint.com/.default>
//	Content-Type: text/xml
//	<Request xmlns="http://schemas.microsoft.com/sharepoint/clientquery/2009" ...>
//
// The fake serves it on its single host at /_vti_bin/client.svc/ProcessQuery
// and tells tenants apart by the token. It understands the Tenant object
// (Constructor TypeId {268004ae-ef6b-4e9b-8425-127220d84719}), queries of
// it, and its RequestPersonalSites method, called either as a Method
// action or as a Method object path that is then instantiated or queried.
// RequestPersonalSites records the e-mail addresses (PersonalSiteRequests)
// and provisions, at once, the OneDrive of each one that names a user of
// the tenant (by user principal name, mail or proxy address) whose
// licenses include SharePoint; other addresses are accepted and ignored,
// as SharePoint queues them silently. It returns an SpoOperation with
// IsComplete true.
//
// CSOM answers 200 with a JSON array: a header object whose ErrorInfo is
// null, then for each action that yields something its Id and value.
// A request it cannot run gets the header alone with ErrorInfo set, still
// with status 200. Without Sites.FullControl.All the answer is 403 with an
// ErrorInfo of System.UnauthorizedAccessException; a missing, unknown or
// expired token, or one for another audience, gets 401 with
// x-ms-diagnostics and a WWW-Authenticate challenge.

// CSOM protocol constants.
const (
	csomNamespace      = "http://schemas.microsoft.com/sharepoint/clientquery/2009"
	csomSchemaVersion  = "15.0.0.0"
	csomLibraryVersion = "16.0.26002.12004"
	csomTenantTypeID   = "{268004ae-ef6b-4e9b-8425-127220d84719}"
	csomTenantType     = "Microsoft.Online.SharePoint.TenantAdministration.Tenant"
	csomOperationType  = "Microsoft.Online.SharePoint.TenantAdministration.SpoOperation"
	// csomIdentityPrefix is the fixed part of tenant object identities.
	csomIdentityPrefix = "908bed80-a04a-4433-b4a0-883d9847d110"
	// spAppID is the application id of Office 365 SharePoint
	// Online.
	spAppID = "00000003-0000-0ff1-ce00-000000000000"
	// csomMaxPersonalSites is the most addresses RequestPersonalSites
	// takes in one call.
	csomMaxPersonalSites = 200
	// csomPermission is the SharePoint application permission the admin
	// endpoint requires.
	csomPermission = "Sites.FullControl.All"
)

// csomError is a CSOM ErrorInfo.
type csomError struct {
	message  string
	typeName string
	code     int
}

// csomArgumentError is .NET's ArgumentException as CSOM reports it.
func csomArgumentError(msg string) *csomError {
	return &csomError{msg, "System.ArgumentException", -2147024809}
}

// csomInvalidQuery is CSOM's answer for a request it cannot interpret.
func csomInvalidQuery(format string, args ...any) *csomError {
	return &csomError{fmt.Sprintf(format, args...), "Microsoft.SharePoint.Client.InvalidClientQueryException", -2146233088}
}

// csomRequest is the XML body of ProcessQuery.
type csomRequest struct {
	XMLName     xml.Name
	Actions     csomNodes `xml:"Actions"`
	ObjectPaths csomNodes `xml:"ObjectPaths"`
}

// csomNodes holds the children of Actions or ObjectPaths.
type csomNodes struct {
	Items []csomNode `xml:",any"`
}

// csomNode is one action or object path.
type csomNode struct {
	XMLName      xml.Name
	ID           string      `xml:"Id,attr"`
	ObjectPathID string      `xml:"ObjectPathId,attr"`
	ParentID     string      `xml:"ParentId,attr"`
	TypeID       string      `xml:"TypeId,attr"`
	Name         string      `xml:"Name,attr"`
	Query        *csomQuery  `xml:"Query"`
	Parameters   *csomParams `xml:"Parameters"`
}

// csomQuery is the selection of a Query action.
type csomQuery struct {
	SelectAllProperties string `xml:"SelectAllProperties,attr"`
	Properties          []struct {
		Name string `xml:"Name,attr"`
	} `xml:"Properties>Property"`
}

// csomParams are the parameters of a method.
type csomParams struct {
	Items []csomParam `xml:"Parameter"`
}

// csomParam is one parameter; arrays hold Object elements.
type csomParam struct {
	Type    string `xml:"Type,attr"`
	Text    string `xml:",chardata"`
	Objects []struct {
		Type string `xml:"Type,attr"`
		Text string `xml:",chardata"`
	} `xml:"Object"`
}

// csomObject is a server object a request reached.
type csomObject struct {
	typeName string
	identity string
	props    obj
}

// csomRun executes one ProcessQuery request; s.mu is held throughout.
type csomRun struct {
	s  *Server
	t  *tenant
	sp *spTenant
	// user is the signed-in admin of a delegated token, nil for app-only;
	// userTenant the tenant the admin belongs to.
	user       *User
	userTenant *tenant
	now        time.Time
	trace      string
	paths      map[string]csomNode
	objs       map[string]*csomObject
	out        []any
}

// serveSharePoint answers the SharePoint admin CSOM endpoint.
func (s *Server) serveSharePoint(w http.ResponseWriter, r *http.Request, segs []string, raw []byte, rec *Request) {
	body, decErr := decodeBody(r.Header.Get("Content-Encoding"), raw)
	rec.Body = body
	s.mu.Lock()
	lat := s.latency
	s.mu.Unlock()
	trace := newGUID()
	if lat > 0 {
		timer := time.NewTimer(lat)
		select {
		case <-timer.C:
		case <-r.Context().Done():
			timer.Stop()
			s.csomWrite(w, trace, 499, nil, nil, &csomError{"The client canceled the request.", "System.OperationCanceledException", -2146233029})
			return
		}
	}
	if len(segs) != 3 || !strings.EqualFold(segs[1], "client.svc") || !strings.EqualFold(segs[2], "ProcessQuery") {
		rec.Unhandled = true
		s.spWriteText(w, trace, http.StatusNotFound, nil, "404 NOT FOUND")
		return
	}
	s.mu.Lock()
	write := s.processQuery(r, segs, body, decErr, trace)
	s.mu.Unlock()
	write(w)
}

// processQuery checks and runs a ProcessQuery request and returns how
// to answer it; s.mu must be held.
func (s *Server) processQuery(r *http.Request, segs []string, body []byte, decErr *reply, trace string) func(http.ResponseWriter) {
	now := s.now()
	t, fail := s.spAdminToken(r.Header.Get("Authorization"), now)
	if fail != nil {
		return func(w http.ResponseWriter) { s.spWriteUnauthorized(w, trace, fail) }
	}
	if r.Method != http.MethodPost {
		msg := fmt.Sprintf("The HTTP method '%s' is not allowed; ProcessQuery accepts POST.", r.Method)
		return func(w http.ResponseWriter) {
			s.spWriteText(w, trace, http.StatusMethodNotAllowed, http.Header{"Allow": {http.MethodPost}}, msg)
		}
	}
	answer := func(status int, hdr http.Header, e *csomError) func(http.ResponseWriter) {
		return func(w http.ResponseWriter) { s.csomWrite(w, trace, status, hdr, nil, e) }
	}
	user, userTenant, denied := s.csomCaller(r.Header.Get("Authorization"), t) // delegated callers (approles.go)
	if denied != nil {
		return answer(http.StatusForbidden, nil, denied)
	}
	if f := s.matchFault(r.Method, "/"+strings.Join(segs, "/")); f != nil {
		var h http.Header
		if f.RetryAfter != "" {
			h = http.Header{"Retry-After": {f.RetryAfter}}
		}
		return answer(f.Status, h, &csomError{f.Message, f.Code, -1})
	}
	if user == nil && !hasPermission(t.permissions, csomPermission) {
		return answer(http.StatusForbidden, nil, &csomError{
			"Access denied. You do not have permission to perform this action or access this resource.",
			"System.UnauthorizedAccessException", -2147024891})
	}
	if decErr != nil {
		return answer(decErr.status, nil, csomInvalidQuery("%s", decErr.err.message))
	}
	run := &csomRun{s: s, t: t, sp: s.spState(t), now: now, trace: trace, user: user, userTenant: userTenant,
		paths: map[string]csomNode{}, objs: map[string]*csomObject{}}
	if e := run.process(body); e != nil {
		return answer(http.StatusOK, nil, e)
	}
	return func(w http.ResponseWriter) { s.csomWrite(w, trace, http.StatusOK, nil, run.out, nil) }
}

// spAuthFailure is a 401 of SharePoint's bearer authentication.
type spAuthFailure struct {
	realm  string
	diag   int
	reason string
}

// spAdminToken resolves a bearer token that must have been issued
// for the admin host of its tenant, i.e. with scope
// "https://{name}-admin.sharepoint.com/.default"; s.mu must be held.
func (s *Server) spAdminToken(header string, now time.Time) (*tenant, *spAuthFailure) {
	scheme, tok, _ := strings.Cut(strings.TrimSpace(header), " ")
	tok = strings.TrimSpace(tok)
	if strings.TrimSpace(header) == "" {
		return nil, &spAuthFailure{diag: 3000006, reason: "Token is missing."}
	}
	g, ok := s.tokens[tok]
	if !strings.EqualFold(scheme, "Bearer") || tok == "" || !ok {
		return nil, &spAuthFailure{diag: 3000006, reason: "Token contains invalid signature."}
	}
	t, ok := s.tenants[g.tenantID]
	if !ok {
		return nil, &spAuthFailure{diag: 3000006, reason: "Invalid issuer or signature."}
	}
	if !now.Before(g.expires) {
		return nil, &spAuthFailure{realm: t.id, diag: 3000006, reason: "Token expired."}
	}
	want := "https://" + s.spState(t).adminHost() + "/.default"
	if !strings.EqualFold(g.scope, want) {
		return nil, &spAuthFailure{realm: t.id, diag: 3000003,
			reason: fmt.Sprintf("Invalid audience Uri '%s'.", strings.TrimSuffix(g.scope, "/.default"))}
	}
	return t, nil
}

// spHeaders sets the headers SharePoint always sends.
func (s *Server) spHeaders(w http.ResponseWriter, trace string) {
	h := w.Header()
	h.Set("SPRequestGuid", trace)
	h.Set("request-id", trace)
	h.Set("Date", s.now().Format(http.TimeFormat))
	h.Set("Cache-Control", "private, max-age=0")
	h.Set("X-SharePointHealthScore", "1")
	h.Set("MicrosoftSharePointTeamServices", "16.0.0.26002")
	h.Set("X-Content-Type-Options", "nosniff")
}

// spWriteUnauthorized writes SharePoint's 401.
func (s *Server) spWriteUnauthorized(w http.ResponseWriter, trace string, f *spAuthFailure) {
	s.spHeaders(w, trace)
	h := w.Header()
	h.Set("WWW-Authenticate", `Bearer realm="`+f.realm+`",client_id="`+spAppID+`",trusted_issuers="00000001-0000-0000-c000-000000000000@*,https://sts.windows.net/*/,https://login.microsoftonline.com/*/v2.0",authorization_uri="https://login.windows.net/common/oauth2/authorize"`)
	h.Set("x-ms-diagnostics", fmt.Sprintf(`%d;reason="%s";category="invalid_client"`, f.diag, f.reason))
	h.Set("Content-Type", "application/json; charset=utf-8")
	b, _ := json.Marshal(obj{{"error_description", f.reason}})
	w.WriteHeader(http.StatusUnauthorized)
	_, _ = w.Write(b)
}

// spWriteText writes a plain-text answer.
func (s *Server) spWriteText(w http.ResponseWriter, trace string, status int, hdr http.Header, text string) {
	s.spHeaders(w, trace)
	for k, v := range hdr {
		w.Header()[k] = v
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(text))
}

// csomWrite writes a CSOM answer: the header object (with e as its
// ErrorInfo) followed, on success, by results.
func (s *Server) csomWrite(w http.ResponseWriter, trace string, status int, hdr http.Header, results []any, e *csomError) {
	s.spHeaders(w, trace)
	for k, v := range hdr {
		w.Header()[k] = v
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("SPClientServiceRequestDuration", "23")
	var info any
	if e != nil {
		info = obj{{"ErrorMessage", e.message}, {"ErrorValue", nil}, {"TraceCorrelationId", trace},
			{"ErrorCode", e.code}, {"ErrorTypeName", e.typeName}}
		results = nil
	}
	out := append([]any{obj{{"SchemaVersion", csomSchemaVersion}, {"LibraryVersion", csomLibraryVersion},
		{"ErrorInfo", info}, {"TraceCorrelationId", trace}}}, results...)
	b, err := json.Marshal(out)
	if err != nil {
		status = http.StatusInternalServerError
		b = []byte(`[{"SchemaVersion":"` + csomSchemaVersion + `","ErrorInfo":{"ErrorMessage":"response encoding failed"}}]`)
	}
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// process parses and runs a request body.
func (run *csomRun) process(body []byte) *csomError {
	var req csomRequest
	if err := xml.Unmarshal(body, &req); err != nil {
		return csomInvalidQuery("The request XML is invalid: %v.", err)
	}
	if req.XMLName.Local != "Request" || req.XMLName.Space != csomNamespace {
		return csomInvalidQuery("The root element must be Request in the namespace %s.", csomNamespace)
	}
	for _, p := range req.ObjectPaths.Items {
		if p.ID == "" {
			return csomInvalidQuery("The object path %s has no Id.", p.XMLName.Local)
		}
		run.paths[p.ID] = p
	}
	for _, a := range req.Actions.Items {
		id, err := strconv.Atoi(a.ID)
		if err != nil {
			return csomInvalidQuery("The action %s has an invalid Id '%s'.", a.XMLName.Local, a.ID)
		}
		switch a.XMLName.Local {
		case "ObjectPath":
			if _, e := run.eval(a.ObjectPathID); e != nil {
				return e
			}
			run.out = append(run.out, id, obj{{"IsNull", false}})
		case "Query":
			o, e := run.eval(a.ObjectPathID)
			if e != nil {
				return e
			}
			v, e := o.render(a.Query)
			if e != nil {
				return e
			}
			run.out = append(run.out, id, v)
		case "Method":
			o, e := run.eval(a.ObjectPathID)
			if e != nil {
				return e
			}
			res, e := run.invoke(o, a.Name, a.Parameters)
			if e != nil {
				return e
			}
			if res != nil {
				v, _ := res.render(nil)
				run.out = append(run.out, id, v)
			}
		default:
			return csomInvalidQuery("The action '%s' is not supported by this server.", a.XMLName.Local)
		}
	}
	return nil
}

// eval instantiates an object path, once per request.
func (run *csomRun) eval(id string) (*csomObject, *csomError) {
	if o, ok := run.objs[id]; ok {
		return o, nil
	}
	p, ok := run.paths[id]
	if !ok {
		return nil, csomInvalidQuery("The object path '%s' is not defined in the request's ObjectPaths.", id)
	}
	var o *csomObject
	switch p.XMLName.Local {
	case "Constructor":
		if !strings.EqualFold(p.TypeID, csomTenantTypeID) {
			return nil, &csomError{fmt.Sprintf("Cannot find stub for type with id \"%s\". The specified server may not support APIs used in this request.", p.TypeID),
				"Microsoft.SharePoint.Client.InvalidClientQueryException", -1}
		}
		o = run.tenantObject()
	case "Method":
		parent, e := run.eval(p.ParentID)
		if e != nil {
			return nil, e
		}
		res, e := run.invoke(parent, p.Name, p.Parameters)
		if e != nil {
			return nil, e
		}
		if res == nil {
			return nil, csomInvalidQuery("The method '%s' returns no object.", p.Name)
		}
		o = res
	default:
		return nil, csomInvalidQuery("The object path type '%s' is not supported by this server.", p.XMLName.Local)
	}
	run.objs[id] = o
	return o, nil
}

// tenantObject is the Tenant object of the request's tenant.
func (run *csomRun) tenantObject() *csomObject {
	return &csomObject{
		typeName: csomTenantType,
		identity: run.trace + "|" + csomIdentityPrefix + ":" + run.t.id + "\nTenant",
		props: obj{
			{"AllowDownloadingNonWebViewableFiles", true},
			{"CompatibilityRange", "15,15"},
			{"OneDriveStorageQuota", 1048576},
			{"ResourceQuota", 5300},
			{"RootSiteUrl", "https://" + run.sp.rootHost()},
			{"SharingCapability", 1},
			{"StorageQuota", 1048576},
		},
	}
}

// render serializes o for a Query: every property, or the listed ones.
func (o *csomObject) render(q *csomQuery) (obj, *csomError) {
	out := obj{{"_ObjectType_", o.typeName}, {"_ObjectIdentity_", o.identity}}
	if q == nil || strings.EqualFold(q.SelectAllProperties, "true") {
		return append(out, o.props...), nil
	}
	for _, p := range q.Properties {
		v, ok := o.props.get(p.Name)
		if !ok {
			return nil, csomInvalidQuery("The property '%s' does not exist on type '%s'.", p.Name, o.typeName)
		}
		out = append(out, field{p.Name, v})
	}
	return out, nil
}

// invoke runs a method of o and returns its result, nil for void.
func (run *csomRun) invoke(o *csomObject, name string, params *csomParams) (*csomObject, *csomError) {
	if o.typeName == csomTenantType && name == "RequestPersonalSites" {
		return run.requestPersonalSites(params)
	}
	return nil, csomInvalidQuery("Method \"%s\" does not exist on type '%s'.", name, o.typeName)
}

// requestPersonalSites runs Tenant.RequestPersonalSites(string[]).
func (run *csomRun) requestPersonalSites(params *csomParams) (*csomObject, *csomError) {
	if e := run.personalSitesDenied(); e != nil {
		return nil, e
	}
	bad := csomArgumentError("Value does not fall within the expected range.")
	if params == nil || len(params.Items) != 1 || !strings.EqualFold(params.Items[0].Type, "Array") {
		return nil, bad
	}
	var emails []string
	for _, o := range params.Items[0].Objects {
		v := strings.TrimSpace(o.Text)
		if !strings.EqualFold(o.Type, "String") || v == "" {
			return nil, bad
		}
		emails = append(emails, v)
	}
	if len(emails) == 0 {
		return nil, csomArgumentError("The list of users is empty.\r\nParameter name: emailIDs")
	}
	if len(emails) > csomMaxPersonalSites {
		return nil, csomArgumentError(fmt.Sprintf("At most %d users can be requested at a time; %d were given.\r\nParameter name: emailIDs", csomMaxPersonalSites, len(emails)))
	}
	run.sp.requests = append(run.sp.requests, emails...)
	for _, e := range emails {
		u := run.t.spUserByAddress(e)
		if u != nil && run.t.spLicensed(u) {
			run.sp.provision(u, run.now)
		}
	}
	return &csomObject{
		typeName: csomOperationType,
		identity: run.trace + "|" + csomIdentityPrefix + ":" + run.t.id + "\nSpoOperation\nRequestPersonalSites\n" + run.now.Format("2006-01-02T15:04:05Z"),
		props:    obj{{"HasTimedout", false}, {"IsComplete", true}, {"PollingInterval", 15000}},
	}, nil
}

// spUserByAddress finds a live user by user principal name, mail or SMTP
// proxy address, ignoring case.
func (t *tenant) spUserByAddress(addr string) *User {
	for _, u := range t.users {
		if u.Deleted {
			continue
		}
		if strings.EqualFold(u.UserPrincipalName, addr) || strings.EqualFold(u.Mail, addr) {
			return u
		}
		for _, p := range u.ProxyAddresses {
			if kind, a, ok := strings.Cut(p, ":"); ok && strings.EqualFold(kind, "smtp") && strings.EqualFold(a, addr) {
				return u
			}
		}
	}
	return nil
}
