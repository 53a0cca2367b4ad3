package m365

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"time"

	khttp "github.com/microsoft/kiota-http-go"

	"github.com/cippbot/cippbot/actions"
)

// Microsoft Entra ID's documented write quota per application and tenant:
// 3,000 write requests (POST, PATCH, PUT, DELETE; each a write cost of 1)
// per 2 minutes and 30 seconds, counted in a token bucket
// (https://learn.microsoft.com/en-us/graph/throttling-limits#identity-and-access-service-limits).
// Requests inside a $batch are evaluated against the limits one by one
// (https://learn.microsoft.com/en-us/graph/throttling#throttling-and-batching).
const (
	DefaultWriteLimit  = 3000
	DefaultWriteWindow = 150 * time.Second
)

// Clock is the time source of write pacing; tests replace it to run a
// long paced bulk in simulated time.
type Clock interface {
	Now() time.Time
	// Sleep waits d or until ctx ends, returning ctx's error then.
	Sleep(ctx context.Context, d time.Duration) error
}

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

func (realClock) Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// writeBucket paces one tenant's Graph writes to the write quota: a token
// bucket of limit tokens, full at first, refilled at limit per window.
// A write takes a token, waiting for it if there is none, so a bulk run
// keeps under the quota instead of being throttled by it. A nil bucket
// does not pace.
type writeBucket struct {
	clock Clock
	limit float64
	rate  float64 // tokens per second

	mu     sync.Mutex
	tokens float64
	last   time.Time
}

func newWriteBucket(p RetryPolicy) *writeBucket {
	if p.WriteLimit < 0 {
		return nil
	}
	limit, window := p.WriteLimit, p.WriteWindow
	if limit == 0 {
		limit = DefaultWriteLimit
	}
	if window <= 0 {
		window = DefaultWriteWindow
	}
	clock := p.Clock
	if clock == nil {
		clock = realClock{}
	}
	return &writeBucket{clock: clock, limit: float64(limit), rate: float64(limit) / window.Seconds(),
		tokens: float64(limit), last: clock.Now()}
}

// take takes n tokens, waiting until the bucket has them; it reports
// whether it had to wait. Tokens are reserved at once, so concurrent
// callers queue in the order they asked.
func (b *writeBucket) take(ctx context.Context, n int) (bool, error) {
	if b == nil || n <= 0 {
		return false, nil
	}
	b.mu.Lock()
	now := b.clock.Now()
	if el := now.Sub(b.last).Seconds(); el > 0 {
		b.tokens = min(b.limit, b.tokens+el*b.rate)
		b.last = now
	}
	b.tokens -= float64(n)
	var wait time.Duration
	if b.tokens < 0 {
		// Rounded up to the millisecond, and one more, so the token is
		// surely back when the write arrives.
		wait = time.Duration(-b.tokens/b.rate*float64(time.Second)).Truncate(time.Millisecond) + 2*time.Millisecond
	}
	b.mu.Unlock()
	if wait <= 0 {
		return false, nil
	}
	actions.TraceFrom(ctx).Pace()
	if err := b.clock.Sleep(ctx, wait); err != nil {
		b.give(n)
		return true, err
	}
	return true, nil
}

// clock returns the clock of the tenant's pacing and $batch retries.
func (d *Directory) clock() Clock {
	if d.writes != nil {
		return d.writes.clock
	}
	if d.retryClock != nil {
		return d.retryClock
	}
	return realClock{}
}

// throttled tells the bucket the service refused a write for its write
// quota: the service's bucket is emptier than this one thinks (another
// process of the same app, a run before a restart, a bucket that began
// counting later), so this one is emptied too and writes wait for new
// tokens.
func (b *writeBucket) throttled() {
	if b == nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.clock.Now()
	if now.After(b.last) {
		b.tokens = min(b.limit, b.tokens+now.Sub(b.last).Seconds()*b.rate)
		b.last = now
	}
	b.tokens = min(b.tokens, 0)
}

// writeQuotaHit reports whether a 429's headers blame the write quota:
// x-ms-throttle-information WriteLimitExceeded, or an
// x-ms-throttle-scope whose limit is Write
// (https://learn.microsoft.com/en-us/graph/throttling-limits#identity-and-access-service-limits).
// Other throttling (a busy service) says nothing about the bucket.
func writeQuotaHit(h map[string]string) bool {
	for k, v := range h {
		switch {
		case strings.EqualFold(k, "x-ms-throttle-information") && strings.Contains(v, "WriteLimitExceeded"):
			return true
		case strings.EqualFold(k, "x-ms-throttle-scope"):
			if parts := strings.Split(v, "/"); len(parts) > 1 && strings.EqualFold(parts[1], "Write") {
				return true
			}
		}
	}
	return false
}

// give returns n tokens taken for writes that were never sent.
func (b *writeBucket) give(n int) {
	if b == nil {
		return
	}
	b.mu.Lock()
	b.tokens = min(b.limit, b.tokens+float64(n))
	b.mu.Unlock()
}

// isWrite reports whether a Graph request method is a write.
func isWrite(method string) bool {
	switch strings.ToUpper(method) {
	case http.MethodPost, http.MethodPatch, http.MethodPut, http.MethodDelete:
		return true
	}
	return false
}

// writePacer takes a token of the tenant's bucket for each single Graph
// write; a $batch is paced item by item where it is built (runBatch).
type writePacer struct{ b *writeBucket }

// Intercept implements khttp.Middleware.
func (w writePacer) Intercept(p khttp.Pipeline, i int, req *http.Request) (*http.Response, error) {
	if w.b != nil && isWrite(req.Method) && !strings.HasSuffix(req.URL.Path, "/$batch") {
		if _, err := w.b.take(req.Context(), 1); err != nil {
			return nil, err
		}
	}
	return p.Next(req, i)
}
