package fakegraph

import (
	"fmt"
	"math"
	"net/http"
	"time"
)

// Microsoft Entra ID (the identity and access service behind users,
// groups, directory objects, roles and applications) throttles writes per
// application and tenant pair: 3,000 write requests per 2 minutes and 30
// seconds, counted in a token bucket in which POST, PATCH, PUT and DELETE
// each cost 1 and GET costs 0; a request over the limit is answered 429
// Too Many Requests, and only the requests exceeding the limit are
// throttled. Throttled answers carry x-ms-throttle-scope
// ("Tenant_Application/Write/{appId}/{tenantId}") and
// x-ms-throttle-information ("WriteLimitExceeded")
// (https://learn.microsoft.com/en-us/graph/throttling-limits#identity-and-access-service-limits).
// A 429 carries Retry-After, the seconds to wait
// (https://learn.microsoft.com/en-us/graph/throttling#best-practices-to-handle-throttling),
// and the requests of a $batch are evaluated against the limits
// individually, a throttled one failing with status 429 inside the batch
// (https://learn.microsoft.com/en-us/graph/throttling#throttling-and-batching).
// The other documented limits (resource units, per application, per
// tenant) are higher than one app's writes to one tenant can reach here
// and are not modelled.
const (
	entraWriteLimit  = 3000
	entraWriteWindow = 150 * time.Second
)

// writeBucket is one application and tenant pair's write bucket.
type writeBucket struct {
	tokens float64
	last   time.Time
}

// identitySets are the Graph entity sets served by the identity and access
// service whose writes count against its write quota.
var identitySets = []string{"users", "groups", "directory", "directoryobjects", "directoryroles", "serviceprincipals",
	"applications", "rolemanagement", "domains", "organization", "policies", "identity", "invitations"}

// notIdentity are segments under users/{id} served by other services
// (mail, files), whose writes the identity quota does not count.
var notIdentity = []string{"mailfolders", "messages", "drive", "drives", "calendar", "events", "onenote"}

// countsAsWrite reports whether c is a write the identity write quota
// counts.
func (c *call) countsAsWrite() bool {
	switch c.method {
	case http.MethodPost, http.MethodPatch, http.MethodPut, http.MethodDelete:
	default:
		return false
	}
	if !containsFold(identitySets, c.seg(0)) {
		return false
	}
	for i := 1; i < len(c.segs); i++ {
		if containsFold(notIdentity, c.seg(i)) {
			return false
		}
	}
	return true
}

// writeLimits returns the write quota in force; the zero Options give
// Entra's documented one, a negative WriteLimit none.
func (s *Server) writeLimits() (limit float64, window time.Duration, on bool) {
	if s.writeLimit < 0 {
		return 0, 0, false
	}
	limit, window = entraWriteLimit, entraWriteWindow
	if s.writeLimit > 0 {
		limit = float64(s.writeLimit)
	}
	if s.writeWindow > 0 {
		window = s.writeWindow
	}
	return limit, window, true
}

// throttleWrite takes a token of the call's application and tenant write
// bucket, or answers 429 when there is none; s.mu must be held.
func (s *Server) throttleWrite(c *call) *reply {
	if c.t == nil || !c.countsAsWrite() {
		return nil
	}
	limit, window, on := s.writeLimits()
	if !on {
		return nil
	}
	rate := limit / window.Seconds()
	key := c.app + "/" + c.t.id
	if s.writeBuckets == nil {
		s.writeBuckets = map[string]*writeBucket{}
	}
	b := s.writeBuckets[key]
	if b == nil {
		b = &writeBucket{tokens: limit, last: c.now}
		s.writeBuckets[key] = b
	}
	if el := c.now.Sub(b.last).Seconds(); el > 0 {
		b.tokens = math.Min(limit, b.tokens+el*rate)
		b.last = c.now
	}
	if b.tokens >= 1-1e-6 { // a token, give or take floating-point error
		b.tokens--
		return nil
	}
	s.writesThrottled++
	wait := math.Max(1, math.Ceil((1-b.tokens)/rate))
	rep := graphErr(http.StatusTooManyRequests, "TooManyRequests", "Please retry again later.")
	rep.header = http.Header{
		"Retry-After":               {fmt.Sprint(int(wait))},
		"X-Ms-Throttle-Scope":       {"Tenant_Application/Write/" + c.app + "/" + c.t.id},
		"X-Ms-Throttle-Information": {"WriteLimitExceeded"},
	}
	return rep
}

// WritesThrottled returns how many writes the write quota refused.
func (s *Server) WritesThrottled() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.writesThrottled
}

// SetWriteLimit changes the write quota per application and tenant:
// limit writes per window; 0 restores Entra's documented 3,000 per
// 2 min 30 s, a negative limit turns it off. Buckets start full again.
func (s *Server) SetWriteLimit(limit int, window time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.writeLimit, s.writeWindow = limit, window
	s.writeBuckets = nil
}
