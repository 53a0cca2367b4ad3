package fakegraph

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// maxBatchItems is Graph's limit on requests per $batch.
const maxBatchItems = 20

// batchItem is one request of a JSON $batch payload.
type batchItem struct {
	ID        string          `json:"id"`
	Method    string          `json:"method"`
	URL       string          `json:"url"`
	Headers   map[string]any  `json:"headers"`
	Body      json.RawMessage `json:"body"`
	DependsOn []string        `json:"dependsOn"`
}

// batch serves POST /$batch. Items run in order through the same router
// and tenant as the batch itself; faults apply per item.
func (s *Server) batch(c *call) *reply {
	var payload struct {
		Requests []batchItem `json:"requests"`
	}
	if len(bytes.TrimSpace(c.body)) == 0 || json.Unmarshal(c.body, &payload) != nil || payload.Requests == nil {
		return graphErr(http.StatusBadRequest, "BadRequest", "Invalid batch payload format.")
	}
	if len(payload.Requests) == 0 {
		return graphErr(http.StatusBadRequest, "BadRequest", "The batch request must contain at least one request.")
	}
	if len(payload.Requests) > maxBatchItems {
		return graphErr(http.StatusBadRequest, "BadRequest",
			fmt.Sprintf("Too many requests in the batch: %d. The maximum number of requests in a batch is %d.", len(payload.Requests), maxBatchItems))
	}
	seen := map[string]bool{}
	for _, it := range payload.Requests {
		switch {
		case it.ID == "" || it.Method == "" || it.URL == "":
			return graphErr(http.StatusBadRequest, "BadRequest", "Invalid batch payload format: every request needs an id, a method and a url.")
		case seen[it.ID]:
			return graphErr(http.StatusBadRequest, "BadRequest", fmt.Sprintf("Batch request ids must be unique; '%s' is used more than once.", it.ID))
		}
		switch strings.ToUpper(it.Method) {
		case http.MethodGet, http.MethodPost, http.MethodPatch, http.MethodPut, http.MethodDelete:
		default:
			return graphErr(http.StatusBadRequest, "BadRequest", fmt.Sprintf("Invalid HTTP method '%s' in request '%s'.", it.Method, it.ID))
		}
		for _, d := range it.DependsOn {
			if !seen[d] {
				return graphErr(http.StatusBadRequest, "BadRequest",
					fmt.Sprintf("Request '%s' depends on '%s', which is not an earlier request in the batch.", it.ID, d))
			}
		}
		seen[it.ID] = true
	}
	statuses := map[string]int{}
	responses := make([]obj, 0, len(payload.Requests))
	for _, it := range payload.Requests {
		sub, rep := c.batchCall(it)
		failed := slices.ContainsFunc(it.DependsOn, func(d string) bool { return statuses[d] >= 400 })
		switch {
		case failed:
			rep = graphErr(http.StatusFailedDependency, "FailedDependency", "The request was not run because a request it depends on failed.")
		case rep == nil:
			if rep = s.takeFault(sub.method, sub.path()); rep == nil {
				rep = s.throttleWrite(sub) // each item on its own (write_limit.go)
			}
			if rep == nil {
				rep = s.exec(sub)
			}
		}
		statuses[it.ID] = rep.status
		responses = append(responses, s.batchResponse(it, sub, rep))
		rec := Request{
			Method:      sub.method,
			Path:        sub.path(),
			RawQuery:    sub.rawQuery,
			Header:      sub.header,
			Body:        sub.body,
			Status:      rep.status,
			Time:        c.now,
			BatchItemID: it.ID,
			Unhandled:   rep.unhandled,
		}
		c.recorded = append(c.recorded, rec)
	}
	return okReply(obj{{"responses", responses}})
}

// batchCall turns a batch item into a call sharing c's tenant; a non-nil
// reply reports a malformed item.
func (c *call) batchCall(it batchItem) (*call, *reply) {
	sub := &call{
		t:       c.t,
		version: c.version,
		method:  strings.ToUpper(it.Method),
		header:  http.Header{},
		base:    c.base,
		now:     c.now,
		inBatch: true,
		app:     c.app,
		caller:  c.caller,
		gdap:    c.gdap,
	}
	for k, v := range it.Headers {
		sub.header.Set(k, fmt.Sprint(v))
	}
	if sub.header.Get("Authorization") == "" {
		sub.header.Set("Authorization", c.header.Get("Authorization"))
	}
	if sub.header.Get("client-request-id") == "" && c.header.Get("client-request-id") != "" {
		sub.header.Set("client-request-id", c.header.Get("client-request-id"))
	}
	if len(it.Body) > 0 && !isNull(it.Body) {
		sub.body = it.Body
	}
	raw := it.URL
	if strings.Contains(raw, "://") {
		u, err := url.Parse(raw)
		if err != nil {
			return sub, graphErr(http.StatusBadRequest, "BadRequest", fmt.Sprintf("Invalid request URL '%s'.", it.URL))
		}
		raw = u.EscapedPath()
		if u.RawQuery != "" {
			raw += "?" + u.RawQuery
		}
	}
	p, q, _ := strings.Cut(raw, "?")
	sub.rawQuery = q
	sub.segs = splitEscaped(p)
	if len(sub.segs) > 0 && isVersion(sub.segs[0]) {
		sub.version = strings.ToLower(sub.segs[0])
		sub.segs = sub.segs[1:]
	}
	return sub, nil
}

// batchResponse renders one item of a $batch response.
func (s *Server) batchResponse(it batchItem, sub *call, rep *reply) obj {
	headers := obj{}
	for k, v := range rep.header {
		headers = append(headers, field{k, strings.Join(v, ", ")})
	}
	slices.SortFunc(headers, func(a, b field) int { return strings.Compare(a.k, b.k) })
	out := obj{{"id", it.ID}, {"status", rep.status}}
	switch {
	case rep.err != nil:
		clientID := sub.header.Get("client-request-id")
		if clientID == "" {
			clientID = newGUID()
		}
		headers = append(headers, field{"Content-Type", plainJSON})
		out = append(out, field{"headers", headers}, field{"body", errorBody(rep.err, newGUID(), clientID, sub.now)})
	case rep.body != nil:
		headers = append(headers, field{"Content-Type", odataJSON}, field{"OData-Version", "4.0"})
		out = append(out, field{"headers", headers}, field{"body", rep.body})
	default:
		out = append(out, field{"headers", headers})
	}
	return out
}
