package main

import (
	"bytes"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/smartdns/smartdns/loadreport"
)

// The limits of the HTTP listener, in one place (docs/security.md, "The
// HTTP listener", explains each). They are not configurable: they bound
// what an unauthenticated client can take from the process, and the
// defaults leave room for every legitimate use (a few scrapers, browsers
// and reporting sites).
const (
	// HTTPMaxConns is how many connections the listener holds open at
	// once; beyond it, a new connection is closed as soon as it is
	// accepted. It keeps file descriptors for DNS over TCP and probes.
	HTTPMaxConns = 256
	// HTTPMaxConnsPerAddr is how many of those one client IP address may
	// hold, so that one client cannot take them all.
	HTTPMaxConnsPerAddr = 32
	// HTTPMaxHeaderBytes bounds a request's header block.
	HTTPMaxHeaderBytes = 16 << 10
	// HTTPReadHeaderTimeout is how long a new (or idle kept-alive)
	// connection has to send a request's headers.
	HTTPReadHeaderTimeout = 5 * time.Second
	// HTTPReadTimeout and HTTPWriteTimeout bound reading a whole request
	// and writing its response.
	HTTPReadTimeout  = 10 * time.Second
	HTTPWriteTimeout = 10 * time.Second
	// HTTPIdleTimeout is how long a kept-alive connection may wait for
	// its next request.
	HTTPIdleTimeout = 30 * time.Second
	// HTTPMaxBody bounds the body of every request but a load report
	// (loadreport.MaxBody): the API's writes are a few bytes, and the PUT
	// handler refuses more than 4 KiB itself (413, its own message), so
	// this is above that, to leave its answer as it is.
	HTTPMaxBody = 8 << 10
	// HTTPRenderInterval is how long a rendered status page, API read or
	// metrics scrape is served from memory before it is rendered again.
	HTTPRenderInterval = time.Second
	// HTTPCacheEntries and HTTPCacheBytes bound that memory: distinct
	// URLs cached, and the bytes of their bodies.
	HTTPCacheEntries = 128
	HTTPCacheBytes   = 32 << 20
)

// limitListener closes, as soon as they are accepted, the connections
// beyond max open ones or beyond perAddr open ones from one IP address.
// Closing (rather than not accepting) keeps the kernel's backlog from
// filling, so a client over the limit learns it at once.
type limitListener struct {
	net.Listener
	max, perAddr int

	mu     sync.Mutex
	open   int
	byAddr map[string]int
	// refused counts the connections closed at accept (for tests and logs).
	refused atomic.Int64
}

func newLimitListener(ln net.Listener, max, perAddr int) *limitListener {
	return &limitListener{Listener: ln, max: max, perAddr: perAddr, byAddr: map[string]int{}}
}

// Accept returns the next connection within the limits; the others are
// closed here and never reach the server.
func (l *limitListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		addr := remoteIP(c)
		l.mu.Lock()
		ok := l.open < l.max && l.byAddr[addr] < l.perAddr
		if ok {
			l.open++
			l.byAddr[addr]++
		}
		l.mu.Unlock()
		if !ok {
			l.refused.Add(1)
			c.Close()
			continue
		}
		return &limitConn{Conn: c, l: l, addr: addr}, nil
	}
}

func (l *limitListener) release(addr string) {
	l.mu.Lock()
	l.open--
	if l.byAddr[addr]--; l.byAddr[addr] <= 0 {
		delete(l.byAddr, addr)
	}
	l.mu.Unlock()
}

// remoteIP is the connection's client address without its port.
func remoteIP(c net.Conn) string {
	a := c.RemoteAddr().String()
	if host, _, err := net.SplitHostPort(a); err == nil {
		return host
	}
	return a
}

// limitConn gives its place back when closed (once, however often Close
// is called).
type limitConn struct {
	net.Conn
	l    *limitListener
	addr string
	once sync.Once
}

func (c *limitConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() { c.l.release(c.addr) })
	return err
}

// limitBodies bounds every request body: a load report's to
// loadreport.MaxBody, any other to HTTPMaxBody. The handler reading it
// answers the error as it does today; one that reads no body has the
// connection closed instead of the rest drained.
func limitBodies(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		limit := int64(HTTPMaxBody)
		if r.URL.Path == loadreport.Path {
			limit = loadreport.MaxBody
		}
		r.Body = http.MaxBytesReader(w, r.Body, limit)
		next.ServeHTTP(w, r)
	})
}

// renderCache serves the status page, the API's reads and /metrics from
// memory for up to ttl after rendering them, so that a flood of requests
// costs one rendering per interval, not one per request. Concurrent
// requests for one URL wait for a single rendering. A successful write
// (any other method, answered 2xx) drops everything cached, so an
// override set is seen by the next read. /healthz and /readyz, and every
// other path, are never cached.
type renderCache struct {
	ttl        time.Duration
	maxEntries int
	maxBytes   int
	now        func() time.Time

	mu      sync.Mutex
	gen     uint64
	bytes   int
	entries map[string]*cacheEntry
	// renders counts the renderings (for tests).
	renders atomic.Int64
}

type cacheEntry struct {
	key     string
	mu      sync.Mutex // held while rendering: later requests wait for it
	gen     uint64
	expires time.Time
	resp    *cachedResponse
}

type cachedResponse struct {
	code   int
	header http.Header
	body   []byte
}

func newRenderCache(ttl time.Duration, maxEntries, maxBytes int) *renderCache {
	return &renderCache{ttl: ttl, maxEntries: maxEntries, maxBytes: maxBytes, now: time.Now, entries: map[string]*cacheEntry{}}
}

// cacheKey is the key a request is cached under, or "" if it is not
// cached. The page and /metrics ignore the query (so a flood of distinct
// queries is one entry); /metrics varies with the format and compression
// asked for.
func cacheKey(r *http.Request) string {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return ""
	}
	switch p := r.URL.Path; {
	case p == "/":
		return "/"
	case p == "/metrics":
		return "/metrics\x00" + r.Header.Get("Accept") + "\x00" + r.Header.Get("Accept-Encoding")
	case strings.HasPrefix(p, "/api/v1/"):
		return r.URL.RequestURI()
	}
	return ""
}

func (c *renderCache) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key := cacheKey(r)
		if key == "" {
			if r.Method == http.MethodGet || r.Method == http.MethodHead {
				next.ServeHTTP(w, r)
				return
			}
			rec := &statusRecorder{ResponseWriter: w}
			next.ServeHTTP(rec, r)
			if rec.code == 0 || rec.code/100 == 2 {
				c.invalidate()
			}
			return
		}
		c.serve(w, r, key, next)
	})
}

// invalidate drops every response cached, and makes renderings under way
// store nothing.
func (c *renderCache) invalidate() {
	c.mu.Lock()
	c.gen++
	c.entries = map[string]*cacheEntry{}
	c.bytes = 0
	c.mu.Unlock()
}

func (c *renderCache) serve(w http.ResponseWriter, r *http.Request, key string, next http.Handler) {
	c.mu.Lock()
	e := c.entries[key]
	if e == nil {
		e = &cacheEntry{key: key}
		if len(c.entries) >= c.maxEntries {
			c.evictLocked()
		}
		if len(c.entries) < c.maxEntries {
			c.entries[key] = e
		}
	}
	gen := c.gen
	c.mu.Unlock()

	resp := c.fill(e, gen, r, next)
	h := w.Header()
	for k, v := range resp.header {
		h[k] = append([]string(nil), v...) // the cached slices stay unshared
	}
	w.WriteHeader(resp.code)
	if r.Method != http.MethodHead {
		w.Write(resp.body)
	}
}

// fill returns e's response, rendering it if it is absent, expired or from
// before the last write.
func (c *renderCache) fill(e *cacheEntry, gen uint64, r *http.Request, next http.Handler) *cachedResponse {
	e.mu.Lock()
	defer e.mu.Unlock()
	now := c.now()
	if e.resp != nil && e.gen == gen && now.Before(e.expires) {
		return e.resp
	}
	// Render as a GET, so a HEAD is answered with the headers of the
	// body a GET would be sent, from the same cached rendering.
	gr := r
	if r.Method == http.MethodHead {
		gr = r.Clone(r.Context())
		gr.Method = http.MethodGet
	}
	rec := &bufferWriter{header: http.Header{}}
	next.ServeHTTP(rec, gr)
	c.renders.Add(1)
	if rec.code == 0 {
		rec.code = http.StatusOK
	}
	resp := &cachedResponse{code: rec.code, header: rec.header, body: rec.buf.Bytes()}

	c.mu.Lock()
	old := 0
	if e.resp != nil {
		old = len(e.resp.body)
	}
	if c.bytes-old+len(resp.body) > c.maxBytes {
		c.evictExpiredLocked()
	}
	if c.gen == gen && c.entries[e.key] == e && c.bytes-old+len(resp.body) <= c.maxBytes {
		c.bytes += len(resp.body) - old
		e.resp, e.gen, e.expires = resp, gen, now.Add(c.ttl)
	}
	c.mu.Unlock()
	return resp
}

// evictLocked drops the expired entries, or if none is, one entry
// (c.mu held).
func (c *renderCache) evictLocked() {
	c.evictExpiredLocked()
	if len(c.entries) < c.maxEntries {
		return
	}
	for k, e := range c.entries {
		if e.mu.TryLock() {
			if e.resp != nil {
				c.bytes -= len(e.resp.body)
			}
			delete(c.entries, k)
			e.mu.Unlock()
			return
		}
	}
}

// evictExpiredLocked drops the entries expired or never filled that no
// request is rendering (c.mu held; an entry being rendered is skipped, not
// waited for).
func (c *renderCache) evictExpiredLocked() {
	now := c.now()
	for k, e := range c.entries {
		if e.mu.TryLock() {
			if e.resp == nil || !now.Before(e.expires) {
				if e.resp != nil {
					c.bytes -= len(e.resp.body)
				}
				delete(c.entries, k)
			}
			e.mu.Unlock()
		}
	}
}

// bufferWriter records a response to be cached.
type bufferWriter struct {
	header http.Header
	code   int
	buf    bytes.Buffer
}

func (b *bufferWriter) Header() http.Header { return b.header }
func (b *bufferWriter) WriteHeader(code int) {
	if b.code == 0 {
		b.code = code
	}
}
func (b *bufferWriter) Write(p []byte) (int, error) {
	if b.code == 0 {
		b.code = http.StatusOK
	}
	return b.buf.Write(p)
}

// statusRecorder notes the status a write was answered with.
type statusRecorder struct {
	http.ResponseWriter
	code int
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.code == 0 {
		s.code = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(p []byte) (int, error) {
	if s.code == 0 {
		s.code = http.StatusOK
	}
	return s.ResponseWriter.Write(p)
}
