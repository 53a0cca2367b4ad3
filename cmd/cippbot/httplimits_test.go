package main

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/cippbot/cippbot/internal/fakeslack"
)

// slowClients is how many trickling connections TestSlowClients opens.
const slowClients = 3000

// fdsFor makes room for n loopback connections (both ends live in this
// process): it raises the soft limit on open files to the hard one if
// needed, and returns how many connections fit.
func fdsFor(t *testing.T, n int) int {
	t.Helper()
	const reserve = 512
	var r syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &r); err != nil {
		t.Fatal(err)
	}
	if need := uint64(2*n + reserve); r.Cur < need {
		old := r.Cur
		r.Cur = min(need, r.Max)
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &r); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { r.Cur = old; syscall.Setrlimit(syscall.RLIMIT_NOFILE, &r) })
	}
	if fit := (int(r.Cur) - reserve) / 2; fit < n {
		t.Logf("the open-file limit (%d) fits %d slow clients, not %d", r.Cur, fit, n)
		return fit
	}
	return n
}

// TestSlowClients opens 3,000 loopback connections that each send a
// request's headers and then one byte of body every 2 s (a slow-loris), and
// shows that a signed Slack command and /healthz still answer at once, that
// the server cuts every trickling connection off by its read timeout, and
// that it never holds more connections than its cap.
func TestSlowClients(t *testing.T) {
	if testing.Short() {
		t.Skip("opens thousands of connections")
	}
	t.Parallel()
	n := fdsFor(t, slowClients)
	r := startSlack(t, false, slackOpts{config: func(c *Config) {
		c.http.ReadHeader, c.http.Read = time.Second, 1500*time.Millisecond
		c.http.MaxConns = n / 3 // the cap is reached: the oldest give way
	}})
	addr := strings.TrimPrefix(r.base, "http://")

	const (
		tick = 2 * time.Second // one byte per tick, longer than the read timeout
		// A client stops by itself after life, which only bounds a failing
		// test: the server cuts them all off within Read and a tick.
		life = 15 * time.Second
	)
	var connected, cutOff, survived, dialFailed atomic.Int64
	var dialed, done sync.WaitGroup
	dialed.Add(n)
	done.Add(n)
	start := time.Now()
	for i := range n {
		go func() {
			defer done.Done()
			c, err := net.DialTimeout("tcp", addr, 10*time.Second)
			if err != nil {
				dialFailed.Add(1)
				dialed.Done()
				return
			}
			defer c.Close()
			fmt.Fprintf(c, "POST /slack/commands HTTP/1.1\r\nHost: %s\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 4096\r\nX-Client: %d\r\n\r\n", addr, i)
			connected.Add(1)
			dialed.Done()
			buf := make([]byte, 512)
			for time.Since(start) < life {
				if _, err := c.Write([]byte("a")); err != nil {
					cutOff.Add(1)
					return
				}
				c.SetReadDeadline(time.Now().Add(tick))
				if _, err := c.Read(buf); err != nil {
					if ne, ok := err.(net.Error); ok && ne.Timeout() {
						continue // still open: trickle on
					}
					cutOff.Add(1) // the server answered or closed
					return
				}
				io.Copy(io.Discard, c) // an answer: read it to the close
				cutOff.Add(1)
				return
			}
			survived.Add(1)
		}()
	}
	dialed.Wait()
	t.Logf("%d slow clients connected in %v (%d dials failed)", connected.Load(), time.Since(start).Round(time.Millisecond), dialFailed.Load())

	// With every slow client attached, the real requests answer at once.
	hc := &http.Client{Timeout: 10 * time.Second}
	t0 := time.Now()
	resp, err := hc.Get(r.base + "/healthz")
	if err != nil {
		t.Fatalf("/healthz with %d slow clients: %v", n, err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("/healthz: HTTP %d", resp.StatusCode)
	}
	t1 := time.Now()
	resp, err = r.fs.SlashCommand(r.base+"/slack/commands", "/cipp", "whoami", "COPS", "URILEY")
	if err != nil {
		t.Fatalf("signed command with %d slow clients: %v", n, err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("signed command: HTTP %d", resp.StatusCode)
	}
	if d := time.Since(t1); d > 5*time.Second || t1.Sub(t0) > 5*time.Second {
		t.Errorf("answers were slow: /healthz %v, command %v", t1.Sub(t0), d)
	}
	r.wait(t, "whoami answer", func(m fakeslack.Message) bool { return m.User == "URILEY" && strings.Contains(m.Text, "slack:URILEY") })

	done.Wait()
	t.Logf("after %v: %d cut off by the server, %d still open when they stopped", time.Since(start).Round(time.Millisecond), cutOff.Load(), survived.Load())
	if survived.Load() > 0 {
		t.Errorf("%d of %d trickling connections were still open after %v: no read timeout", survived.Load(), connected.Load(), life)
	}
}

// TestConnLimiter shows the cap: connections beyond it take the place of
// the oldest, so the server never holds more, and a request still answers.
func TestConnLimiter(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	cl := newConnLimiter(ln, 10)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "ok") }),
		ReadHeaderTimeout: time.Minute}
	srv.ConnState = cl.state
	go srv.Serve(cl)
	defer srv.Close()
	var idle []net.Conn
	for range 50 {
		c, err := net.Dial("tcp", ln.Addr().String())
		must(t, err)
		idle = append(idle, c)
		c.Write([]byte("GET / HTTP/1.1\r\n")) // and never the rest
	}
	defer func() {
		for _, c := range idle {
			c.Close()
		}
	}()
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Get("http://" + ln.Addr().String() + "/")
	if err != nil {
		t.Fatalf("request with the cap full: %v", err)
	}
	resp.Body.Close()
	if _, peak := cl.open(); peak > 10 {
		t.Errorf("%d connections open at once, cap 10", peak)
	}
}

// TestHTTPLimitsSet keeps every limit of the listener set, from a
// configuration that sets none, and keeps those a test sets.
func TestHTTPLimitsSet(t *testing.T) {
	t.Parallel()
	srv := newHTTPServer(http.NewServeMux(), DefaultConfig().http)
	if srv.ReadHeaderTimeout <= 0 || srv.ReadTimeout <= 0 || srv.WriteTimeout <= 0 || srv.IdleTimeout <= 0 || srv.MaxHeaderBytes <= 0 || srv.MaxHeaderBytes > 1<<20 {
		t.Errorf("limits not all set: %+v", srv)
	}
	if srv := newHTTPServer(http.NewServeMux(), httpLimits{Read: time.Second}); srv.ReadTimeout != time.Second || srv.ReadHeaderTimeout != defaultHTTPLimits.ReadHeader {
		t.Errorf("a set limit: read %v, read header %v", srv.ReadTimeout, srv.ReadHeaderTimeout)
	}
	if n := maxConnsDefault(); n < 64 || n >= fileLimit() && fileLimit() > 128 {
		t.Errorf("default cap %d with a file limit of %d", n, fileLimit())
	}
}
