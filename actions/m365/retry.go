package m365

import (
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"

	khttp "github.com/microsoft/kiota-http-go"

	"github.com/cippbot/cippbot/actions"
)

// retryMiddleware retries throttled (429) and unavailable (503, 504)
// requests, honouring Retry-After to the millisecond (kiota's own handler
// cuts "0.5" to zero), with bounded attempts and total wait. It sits inside
// compression, so the same compressed bytes are resent.
type retryMiddleware struct {
	maxRetries int
	maxWait    time.Duration // total wait across retries
	base       time.Duration // back-off without Retry-After
}

func retriable(status int) bool {
	return status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable || status == http.StatusGatewayTimeout
}

// retryAfter reads Retry-After as seconds (fractions allowed) or an HTTP
// date; ok is false when there is none.
func retryAfter(h http.Header, now time.Time) (time.Duration, bool) {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0, false
	}
	if f, err := strconv.ParseFloat(v, 64); err == nil && f >= 0 {
		return time.Duration(f * float64(time.Second)), true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(0, t.Sub(now)), true
	}
	return 0, false
}

// backoff is the wait before retry n (1-based) when the service gave no
// Retry-After: exponential with jitter.
func (m retryMiddleware) backoff(n int) time.Duration {
	d := m.base << (n - 1)
	return d + time.Duration(rand.Int64N(int64(d)/2+1))
}

// Intercept implements khttp.Middleware.
func (m retryMiddleware) Intercept(p khttp.Pipeline, i int, req *http.Request) (*http.Response, error) {
	var waited time.Duration
	for attempt := 1; ; attempt++ {
		resp, err := p.Next(req, i)
		if err != nil || !retriable(resp.StatusCode) {
			return resp, err
		}
		if resp.StatusCode == http.StatusTooManyRequests {
			actions.TraceFrom(req.Context()).Throttle()
		}
		delay, ok := retryAfter(resp.Header, time.Now())
		if !ok {
			delay = m.backoff(attempt)
		}
		if attempt > m.maxRetries || waited+delay > m.maxWait || !rewind(req) {
			return resp, nil
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		waited += delay
		t := time.NewTimer(delay)
		select {
		case <-req.Context().Done():
			t.Stop()
			return nil, req.Context().Err()
		case <-t.C:
		}
		req.Header.Set("Retry-Attempt", strconv.Itoa(attempt))
	}
}

// rewind resets the request body for a resend; it reports whether it can.
func rewind(req *http.Request) bool {
	if req.Body == nil || req.Body == http.NoBody {
		return true
	}
	if s, ok := req.Body.(io.Seeker); ok {
		_, err := s.Seek(0, io.SeekStart)
		return err == nil
	}
	if req.GetBody != nil {
		b, err := req.GetBody()
		if err != nil {
			return false
		}
		req.Body = b
		return true
	}
	return false
}

// limiter bounds concurrent requests to one tenant, so a bulk run does not
// bring throttling on itself.
type limiter chan struct{}

// Intercept implements khttp.Middleware.
func (l limiter) Intercept(p khttp.Pipeline, i int, req *http.Request) (*http.Response, error) {
	select {
	case l <- struct{}{}:
	case <-req.Context().Done():
		return nil, req.Context().Err()
	}
	defer func() { <-l }()
	return p.Next(req, i)
}
