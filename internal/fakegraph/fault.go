package fakegraph

import (
	"net/http"
	"strings"
)

// Fault makes the server fail Graph and Exchange requests on purpose.
// Graph requests (including individual $batch items, and the $batch
// request itself) and Exchange InvokeCommand requests whose method
// equals Method ("" matches any) and whose path (e.g. "/v1.0/users/{id}"
// or "/adminapi/beta/{tenant}/InvokeCommand") contains PathContains are
// matched; by default the next Times of them fail, and with Every set
// only every Every-th one does. A failing request gets Status with a
// Graph error body, or an Exchange one for InvokeCommand (inside a
// $batch, the item gets them, with RetryAfter in the item's headers,
// while the other items run normally). Token requests are never faulted.
type Fault struct {
	// Method is the HTTP method to match; "" matches any.
	Method string
	// PathContains must occur in the request path; "" matches any.
	PathContains string
	// Times is how many requests fail in total; a negative value means
	// no limit (until ClearFaults). 0 means 1, or no limit when Every is
	// set.
	Times int
	// Every, when positive, fails only every Every-th matching request
	// (the Every-th, the 2*Every-th, ...), so Every: 10 fails 10% of
	// them, deterministically; the others pass on to later faults and
	// then to the handler.
	Every int
	// Status defaults to 500.
	Status int
	// Code and Message default to what Graph sends for Status, e.g.
	// "TooManyRequests" / "Please retry again later." for 429 (and to
	// what Exchange sends, for InvokeCommand).
	Code string
	// Message is the error message; see Code for the default.
	Message string
	// RetryAfter, when set, is sent verbatim as the Retry-After header.
	RetryAfter string

	// seen counts the matching requests so far, for Every.
	seen int
	// defaultCode and defaultMessage record that Code and Message were
	// filled in by Inject, so Exchange can use its own.
	defaultCode, defaultMessage bool
}

// Inject queues a fault; faults are matched in the order they were
// injected.
func (s *Server) Inject(f Fault) {
	f.seen = 0
	switch {
	case f.Times == 0 && f.Every > 0:
		f.Times = -1
	case f.Times == 0:
		f.Times = 1
	}
	if f.Status == 0 {
		f.Status = http.StatusInternalServerError
	}
	f.defaultCode, f.defaultMessage = f.Code == "", f.Message == ""
	if f.Code == "" || f.Message == "" {
		code, msg := defaultFault(f.Status)
		if f.Code == "" {
			f.Code = code
		}
		if f.Message == "" {
			f.Message = msg
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, &f)
}

// ClearFaults drops every queued fault.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = nil
}

// defaultFault returns the error code and message Graph uses for status.
func defaultFault(status int) (string, string) {
	switch status {
	case http.StatusBadRequest:
		return "BadRequest", "Bad request."
	case http.StatusUnauthorized:
		return "InvalidAuthenticationToken", "Access token validation failure."
	case http.StatusForbidden:
		return "Authorization_RequestDenied", "Insufficient privileges to complete the operation."
	case http.StatusNotFound:
		return "Request_ResourceNotFound", "Resource not found."
	case http.StatusConflict:
		return "Conflict", "The request conflicts with the current state of the resource."
	case http.StatusTooManyRequests:
		return "TooManyRequests", "Please retry again later."
	case http.StatusInternalServerError:
		return "generalException", "General exception while processing."
	case http.StatusBadGateway:
		return "BadGateway", "Bad gateway."
	case http.StatusServiceUnavailable:
		return "serviceNotAvailable", "The service is temporarily unavailable. Please retry later."
	case http.StatusGatewayTimeout:
		return "GatewayTimeout", "The gateway timed out."
	}
	return "UnknownError", http.StatusText(status)
}

// takeFault returns the first queued fault matching method and path as
// a Graph error and uses up one of its occurrences; s.mu must be held.
func (s *Server) takeFault(method, path string) *reply {
	f := s.matchFault(method, path)
	if f == nil {
		return nil
	}
	rep := graphErr(f.Status, f.Code, f.Message)
	if f.RetryAfter != "" {
		rep.header = http.Header{"Retry-After": {f.RetryAfter}}
	}
	return rep
}

// matchFault finds the first queued fault matching method and path, uses
// up one of its occurrences and returns a copy of it, or nil; s.mu must
// be held.
func (s *Server) matchFault(method, path string) *Fault {
	for i, f := range s.faults {
		if f.Method != "" && !strings.EqualFold(f.Method, method) {
			continue
		}
		if !strings.Contains(path, f.PathContains) {
			continue
		}
		f.seen++
		if f.Every > 0 && f.seen%f.Every != 0 {
			continue
		}
		if f.Times > 0 {
			f.Times--
			if f.Times == 0 {
				s.faults = append(s.faults[:i:i], s.faults[i+1:]...)
			}
		}
		c := *f
		return &c
	}
	return nil
}
