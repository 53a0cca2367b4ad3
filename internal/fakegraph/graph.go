package fakegraph

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Content types of Graph responses.
const (
	odataJSON = "application/json; odata.metadata=minimal; odata.streaming=true; IEEE754Compatible=false; charset=utf-8"
	plainJSON = "application/json"
)

// graphHost is the host Graph writes into @odata.context annotations.
const graphHost = "https://graph.microsoft.com/"

// gerr is a Graph error before it is given its innerError.
type gerr struct {
	code    string
	message string
}

// reply is the outcome of one Graph call, rendered either as an HTTP
// response or as a $batch item.
type reply struct {
	status int
	header http.Header
	// body is marshalled as JSON; nil means no body.
	body any
	// err, when set, replaces body with a Graph error.
	err *gerr
	// unhandled marks the answer to a request the server has no route
	// for (Request.Unhandled).
	unhandled bool
}

// call is one Graph request being served.
type call struct {
	t        *tenant
	version  string
	method   string
	segs     []string
	rawQuery string
	query    url.Values
	body     []byte
	header   http.Header
	// base is the scheme and host the client used, for next links.
	base    string
	now     time.Time
	inBatch bool
	// app is the application (client) ID of the call's token.
	app string
	// caller is who a delegated token acts for, nil for an app-only one.
	caller *DelegatedAccess
	// gdap, if non-nil, is the partner user of a delegated token used in
	// a customer tenant (gdaproles.go).
	gdap *gdapCaller
	// recorded collects the requests of $batch items.
	recorded []Request
}

// path returns the call's path with its version, e.g. "/v1.0/users/x".
func (c *call) path() string {
	return "/" + c.version + "/" + strings.Join(c.segs, "/")
}

// seg returns segment i in lowercase, or "" when there is none.
func (c *call) seg(i int) string {
	if i < len(c.segs) {
		return strings.ToLower(c.segs[i])
	}
	return ""
}

// context returns an @odata.context value for the fragment.
func (c *call) context(fragment string) string {
	return graphHost + c.version + "/$metadata#" + fragment
}

// graphErr returns an error reply.
func graphErr(status int, code, message string) *reply {
	return &reply{status: status, err: &gerr{code, message}}
}

// okReply returns a 200 reply with body.
func okReply(body any) *reply {
	return &reply{status: http.StatusOK, body: body}
}

// noContent returns a 204 reply.
func noContent() *reply {
	return &reply{status: http.StatusNoContent}
}

// notFound is Graph's answer for a missing directory object.
func notFound(id string) *reply {
	return graphErr(http.StatusNotFound, "Request_ResourceNotFound",
		fmt.Sprintf("Resource '%s' does not exist or one of its queried reference-property objects are not present.", id))
}

// segmentNotFound is Graph's answer for an unknown path segment.
func segmentNotFound(seg string) *reply {
	rep := graphErr(http.StatusBadRequest, "BadRequest", fmt.Sprintf("Resource not found for the segment '%s'.", seg))
	rep.unhandled = true
	return rep
}

// methodNotAllowed is Graph's answer for a known path with a method it
// does not support.
func methodNotAllowed() *reply {
	rep := graphErr(http.StatusMethodNotAllowed, "Request_BadRequest", "Specified HTTP method is not allowed for the request target.")
	rep.unhandled = true
	return rep
}

// badRequest returns a 400 with the directory's Request_BadRequest code.
func badRequest(format string, args ...any) *reply {
	return graphErr(http.StatusBadRequest, "Request_BadRequest", fmt.Sprintf(format, args...))
}

// invalidPayload is Graph's answer for a body that is not JSON.
func invalidPayload() *reply {
	return graphErr(http.StatusBadRequest, "BadRequest", "Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format.")
}

// decodeBody undoes the request's Content-Encoding.
func decodeBody(encoding string, raw []byte) ([]byte, *reply) {
	switch strings.ToLower(strings.TrimSpace(encoding)) {
	case "", "identity":
		return raw, nil
	case "gzip", "x-gzip":
		zr, err := gzip.NewReader(bytes.NewReader(raw))
		if err != nil {
			return raw, graphErr(http.StatusBadRequest, "BadRequest", "The request body is labelled 'Content-Encoding: gzip' but could not be decompressed: "+err.Error()+".")
		}
		defer zr.Close()
		out, err := io.ReadAll(io.LimitReader(zr, maxBody+1))
		if err == nil && len(out) > maxBody {
			err = errors.New("body too large")
		}
		if err != nil {
			return raw, graphErr(http.StatusBadRequest, "BadRequest", "The request body is labelled 'Content-Encoding: gzip' but could not be decompressed: "+err.Error()+".")
		}
		return out, nil
	default:
		return raw, graphErr(http.StatusUnsupportedMediaType, "UnsupportedMediaType", fmt.Sprintf("Content-Encoding '%s' is not supported.", encoding))
	}
}

// serveGraph answers a /v1.0 or /beta request and returns the records of
// any $batch items it ran.
func (s *Server) serveGraph(w http.ResponseWriter, r *http.Request, segs []string, raw []byte, rec *Request) []Request {
	s.mu.Lock()
	lat := s.latency
	s.mu.Unlock()
	if lat > 0 {
		timer := time.NewTimer(lat)
		select {
		case <-timer.C:
		case <-r.Context().Done():
			timer.Stop()
			rec.Body = raw
			s.writeGraph(w, r, graphErr(499, "RequestCanceled", "The client canceled the request."))
			return nil
		}
	}
	body, decErr := decodeBody(r.Header.Get("Content-Encoding"), raw)
	rec.Body = body
	c := &call{
		version:  strings.ToLower(segs[0]),
		method:   r.Method,
		segs:     segs[1:],
		rawQuery: r.URL.RawQuery,
		body:     body,
		header:   r.Header,
		base:     baseURL(r),
	}
	s.mu.Lock()
	c.now = s.now()
	rep := s.authorize(r.Header.Get("Authorization"), c)
	if rep == nil {
		rep = s.takeFault(c.method, c.path())
	}
	if rep == nil && !c.inBatch {
		rep = s.throttleWrite(c)
	}
	if rep == nil && decErr != nil {
		rep = decErr
	}
	if rep == nil {
		rep = s.exec(c)
	}
	s.mu.Unlock()
	rec.Unhandled = rep.unhandled
	s.writeGraph(w, r, rep)
	return c.recorded
}

// authorize resolves the bearer token to a tenant; s.mu must be held.
func (s *Server) authorize(header string, c *call) *reply {
	fail := func(msg string) *reply {
		rep := graphErr(http.StatusUnauthorized, "InvalidAuthenticationToken", msg)
		rep.header = http.Header{"WWW-Authenticate": {`Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", client_id="00000003-0000-0000-c000-000000000000"`}}
		return rep
	}
	if strings.TrimSpace(header) == "" {
		return fail("Access token is empty.")
	}
	scheme, tok, _ := strings.Cut(strings.TrimSpace(header), " ")
	tok = strings.TrimSpace(tok)
	if !strings.EqualFold(scheme, "Bearer") || tok == "" {
		return fail("Access token validation failure. Invalid token.")
	}
	g, ok := s.tokens[tok]
	if !ok {
		return fail("Access token validation failure. Invalid token.")
	}
	if !c.now.Before(g.expires) {
		return fail("Lifetime validation failed, the token is expired.")
	}
	if res := strings.TrimSuffix(g.scope, "/.default"); !containsFold(graphResources(), res) {
		return fail("Access token validation failure. Invalid audience.")
	}
	t, ok := s.tenants[g.tenantID]
	if !ok {
		return fail("Access token validation failure. Invalid tenant.")
	}
	c.t = t
	c.app = g.clientID
	c.caller = s.callerOf(tok) // delegated tokens (writeback.go)
	c.gdap = s.gdapCallerOf(tok, t)
	return nil
}

// exec validates the body and query of an authorized call and routes it;
// s.mu must be held.
func (s *Server) exec(c *call) *reply {
	if len(bytes.TrimSpace(c.body)) > 0 && !json.Valid(c.body) {
		return invalidPayload()
	}
	q, err := url.ParseQuery(c.rawQuery)
	if err != nil {
		return graphErr(http.StatusBadRequest, "BadRequest", "The query specified in the URI is not valid.")
	}
	c.query = url.Values{}
	for k, v := range q {
		name := strings.ToLower(k)
		if !strings.HasPrefix(name, "$") && isQueryOption("$"+name) {
			name = "$" + name
		}
		if strings.HasPrefix(name, "$") {
			if !isQueryOption(name) {
				return graphErr(http.StatusBadRequest, "BadRequest", fmt.Sprintf("Query option '%s' is not supported.", k))
			}
			if _, dup := c.query[name]; dup || len(v) > 1 {
				return graphErr(http.StatusBadRequest, "BadRequest", fmt.Sprintf("Query option '%s' was specified more than once, but it must be specified at most once.", k))
			}
		}
		c.query[name] = v
	}
	if _, ok := c.query["$skip"]; ok && !skipAllowed(c) {
		return graphErr(http.StatusBadRequest, "BadRequest", "Query option '$skip' is not supported.")
	}
	tgt, rep := checkV1Request(c)
	if rep != nil {
		return rep
	}
	if c.gdap != nil { // delegated through GDAP (gdaproles.go)
		if rep := s.permitGDAP(c); rep != nil {
			return rep
		}
		return checkV1Response(c, tgt, s.route(c))
	}
	if rep := s.permit(c); rep != nil {
		return rep
	}
	if rep := s.permitAppRoles(c); rep != nil { // app-only Entra role rules (approles.go)
		return rep
	}
	return checkV1Response(c, tgt, s.route(c))
}

// isQueryOption reports whether name is an OData system query option
// the server understands.
func isQueryOption(name string) bool {
	switch name {
	case "$select", "$expand", "$filter", "$top", "$count", "$orderby", "$skiptoken", "$skip":
		return true
	}
	return false
}

// route dispatches a call to its handler; s.mu must be held.
func (s *Server) route(c *call) *reply {
	if len(c.segs) == 0 {
		if c.method != http.MethodGet {
			return methodNotAllowed()
		}
		var sets []any
		for _, n := range []string{"users", "groups", "directoryRoles", "domains", "organization", "subscribedSkus", "auditLogs", "directory", "tenantRelationships"} {
			sets = append(sets, obj{{"name", n}, {"kind", "EntitySet"}, {"url", n}})
		}
		return okReply(obj{{"@odata.context", graphHost + c.version + "/$metadata"}, {"value", sets}})
	}
	switch c.seg(0) {
	case "users":
		return s.routeUsers(c)
	case "me":
		return graphErr(http.StatusBadRequest, "BadRequest", "/me request is only valid with delegated authentication flow.")
	case "groups":
		return s.routeGroups(c)
	case "auditlogs":
		return s.routeAuditLogs(c)
	case "subscribedskus":
		return s.routeSKUs(c)
	case "organization":
		return s.routeOrganization(c)
	case "domains":
		return s.routeDomains(c)
	case "directoryroles":
		return s.routeDirectoryRoles(c)
	case "directory":
		return s.routeDirectory(c)
	case "tenantrelationships":
		return s.routeTenantRelationships(c)
	case "sites":
		return s.routeSites(c)
	case "serviceprincipals":
		return s.routeServicePrincipals(c)
	case "rolemanagement":
		return s.routeRoleManagement(c)
	case "identity":
		return s.routeIdentity(c)
	case "policies":
		return s.routePolicies(c)
	case "$batch":
		if len(c.segs) > 1 {
			return segmentNotFound(c.segs[1])
		}
		if c.inBatch {
			return graphErr(http.StatusBadRequest, "BadRequest", "A $batch request cannot be nested inside another $batch request.")
		}
		if c.method != http.MethodPost {
			return methodNotAllowed()
		}
		return s.batch(c)
	}
	return segmentNotFound(c.segs[0])
}

// errorBody renders a Graph error with its innerError.
func errorBody(e *gerr, requestID, clientRequestID string, now time.Time) obj {
	return obj{{"error", obj{
		{"code", e.code},
		{"message", e.message},
		{"innerError", obj{
			{"date", now.Format("2006-01-02T15:04:05")},
			{"request-id", requestID},
			{"client-request-id", clientRequestID},
		}},
	}}}
}

// writeGraph writes rep as an HTTP response with Graph's headers.
func (s *Server) writeGraph(w http.ResponseWriter, r *http.Request, rep *reply) {
	now := s.now()
	requestID := newGUID()
	clientRequestID := r.Header.Get("client-request-id")
	if clientRequestID == "" {
		clientRequestID = newGUID()
	}
	h := w.Header()
	h.Set("request-id", requestID)
	h.Set("client-request-id", clientRequestID)
	h.Set("Date", now.Format(http.TimeFormat))
	h.Set("Cache-Control", "no-cache")
	h.Set("x-ms-ags-diagnostic", `{"ServerInfo":{"DataCenter":"Local","Slice":"E","Ring":"0","ScaleUnit":"000","RoleInstance":"FAKEGRAPH"}}`)
	for k, v := range rep.header {
		h[k] = v
	}
	var body []byte
	switch {
	case rep.err != nil:
		h.Set("Content-Type", plainJSON)
		body, _ = json.Marshal(errorBody(rep.err, requestID, clientRequestID, now))
	case rep.body != nil:
		b, err := json.Marshal(rep.body)
		if err != nil {
			rep = graphErr(http.StatusInternalServerError, "generalException", "response: "+err.Error())
			h.Set("Content-Type", plainJSON)
			body, _ = json.Marshal(errorBody(rep.err, requestID, clientRequestID, now))
			break
		}
		h.Set("Content-Type", odataJSON)
		h.Set("OData-Version", "4.0")
		body = b
	}
	w.WriteHeader(rep.status)
	if len(body) > 0 {
		_, _ = w.Write(body)
	}
}

// decodeObject parses the call body as a JSON object of raw members.
func decodeObject(body []byte) (map[string]json.RawMessage, *reply) {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, graphErr(http.StatusBadRequest, "BadRequest", "Empty Payload. JSON content expected.")
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(body, &m); err != nil || m == nil {
		return nil, invalidPayload()
	}
	return m, nil
}

// isNull reports whether a raw JSON value is null.
func isNull(v json.RawMessage) bool {
	return bytes.Equal(bytes.TrimSpace(v), []byte("null"))
}

// rawString decodes a JSON string (or null, as "") for property prop.
func rawString(v json.RawMessage, prop, entity string) (string, bool, *reply) {
	if isNull(v) {
		return "", true, nil
	}
	var out string
	if err := json.Unmarshal(v, &out); err != nil {
		return "", false, invalidValue(prop, entity)
	}
	return out, false, nil
}

// rawBool decodes a JSON boolean for property prop.
func rawBool(v json.RawMessage, prop, entity string) (bool, *reply) {
	var out bool
	if isNull(v) || json.Unmarshal(v, &out) != nil {
		return false, invalidValue(prop, entity)
	}
	return out, nil
}

// invalidValue is the directory's answer for a value of the wrong type.
func invalidValue(prop, entity string) *reply {
	return badRequest("Invalid value specified for property '%s' of resource '%s'.", prop, entity)
}

// formatTime renders a time the way Graph renders DateTimeOffset values;
// the zero time becomes null.
func formatTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC().Format("2006-01-02T15:04:05Z")
}

// nullString renders "" as null.
func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}
