package main

import (
	"net"
	"net/http"
	"sync"
	"time"
)

// httpLimits bound what one client can hold of the listener: how long it
// may take to send a request's headers and body, to read the answer and to
// keep an idle connection, how large the headers may be, and how many
// connections may be open at once. Slack and Discord send small requests at
// once; a client that trickles bytes is cut off. A zero field means its
// default (defaultHTTPLimits, and maxConnsDefault for MaxConns); only tests
// set others, through Config.
type httpLimits struct {
	ReadHeader, Read, Write, Idle time.Duration
	MaxHeaderBytes                int
	MaxConns                      int
}

var defaultHTTPLimits = httpLimits{
	ReadHeader:     5 * time.Second,
	Read:           15 * time.Second,
	Write:          30 * time.Second,
	Idle:           60 * time.Second,
	MaxHeaderBytes: 64 << 10,
}

// orDefault fills l's zero fields with the defaults.
func (l httpLimits) orDefault() httpLimits {
	d := defaultHTTPLimits
	pick := func(v, def time.Duration) time.Duration {
		if v > 0 {
			return v
		}
		return def
	}
	l.ReadHeader, l.Read, l.Write, l.Idle = pick(l.ReadHeader, d.ReadHeader), pick(l.Read, d.Read), pick(l.Write, d.Write), pick(l.Idle, d.Idle)
	if l.MaxHeaderBytes <= 0 {
		l.MaxHeaderBytes = d.MaxHeaderBytes
	}
	if l.MaxConns <= 0 {
		l.MaxConns = maxConnsDefault()
	}
	return l
}

// newHTTPServer returns the server for the listener, with l's limits.
func newHTTPServer(h http.Handler, l httpLimits) *http.Server {
	l = l.orDefault()
	return &http.Server{Handler: h,
		ReadHeaderTimeout: l.ReadHeader, ReadTimeout: l.Read,
		WriteTimeout: l.Write, IdleTimeout: l.Idle,
		MaxHeaderBytes: l.MaxHeaderBytes}
}

// maxConnsDefault leaves a quarter of the process's file descriptors (at
// least 64) for the store and outgoing calls to Microsoft 365 and the chat
// platforms.
func maxConnsDefault() int {
	n := fileLimit()
	return max(64, min(n-max(64, n/4), 16384))
}

// serveLimited serves srv on ln with at most l.MaxConns open connections
// (0: maxConnsDefault).
func serveLimited(srv *http.Server, ln net.Listener, l httpLimits) error {
	cl := newConnLimiter(ln, l.orDefault().MaxConns)
	prev := srv.ConnState
	srv.ConnState = func(c net.Conn, s http.ConnState) {
		cl.state(c, s)
		if prev != nil {
			prev(c, s)
		}
	}
	return srv.Serve(cl)
}

// connLimiter caps the open connections of a listener. When it is full, a
// new connection is still accepted, so that a correctly made request always
// gets in, and the connection that has held a place longest without
// finishing a request (an idle keep-alive first) is closed to make room.
// Connections that trickle their bytes therefore cannot fill the process's
// file descriptors, nor lock out Slack, Discord or a health check.
type connLimiter struct {
	net.Listener
	max int

	mu    sync.Mutex
	conns map[*limitedConn]struct{}
	peak  int
}

type limitedConn struct {
	net.Conn
	l        *connLimiter
	accepted time.Time
	idle     bool
	once     sync.Once
}

func newConnLimiter(ln net.Listener, max int) *connLimiter {
	return &connLimiter{Listener: ln, max: max, conns: map[*limitedConn]struct{}{}}
}

// Accept implements net.Listener.
func (l *connLimiter) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	lc := &limitedConn{Conn: c, l: l, accepted: time.Now()}
	var victim *limitedConn
	l.mu.Lock()
	if len(l.conns) >= l.max {
		for v := range l.conns {
			if victim == nil || v.idle && !victim.idle || v.idle == victim.idle && v.accepted.Before(victim.accepted) {
				victim = v
			}
		}
		delete(l.conns, victim)
	}
	l.conns[lc] = struct{}{}
	l.peak = max(l.peak, len(l.conns))
	l.mu.Unlock()
	if victim != nil {
		victim.Conn.Close()
	}
	return lc, nil
}

// state follows the server's view of a connection.
func (l *connLimiter) state(c net.Conn, s http.ConnState) {
	lc, ok := c.(*limitedConn)
	if !ok {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	switch s {
	case http.StateIdle:
		lc.idle = true
	case http.StateActive:
		lc.idle = false
	case http.StateHijacked, http.StateClosed:
		delete(l.conns, lc)
	}
}

// open returns the connections open now and the most open at once.
func (l *connLimiter) open() (now, peak int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.conns), l.peak
}

// Close implements net.Conn, freeing the connection's place.
func (c *limitedConn) Close() error {
	c.once.Do(func() {
		c.l.mu.Lock()
		delete(c.l.conns, c)
		c.l.mu.Unlock()
	})
	return c.Conn.Close()
}
