package main

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// dialFrom connects to addr from the loopback address src (any of
// 127.0.0.0/8 routes on Linux's lo).
func dialFrom(t *testing.T, src, addr string) net.Conn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}, Timeout: 2 * time.Second}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatalf("dial from %s: %v", src, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// closedByPeer reports whether the server closed c without a byte (a read
// ends in EOF or a reset, not the timeout).
func closedByPeer(c net.Conn) bool {
	c.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
	_, err := c.Read(make([]byte, 1))
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		return false
	}
	return err != nil
}

func TestLimitListener(t *testing.T) {
	tests := []struct {
		name         string
		max, perAddr int
		// from lists the source address of each connection in order;
		// refused marks which the listener must close.
		from    []string
		refused []bool
	}{
		{"total: the N+1th is closed", 3, 10,
			[]string{"127.0.0.1", "127.0.0.2", "127.0.0.3", "127.0.0.4"},
			[]bool{false, false, false, true}},
		{"per address: the cap+1th from one address is closed, another address is not", 10, 2,
			[]string{"127.0.0.1", "127.0.0.1", "127.0.0.1", "127.0.0.2"},
			[]bool{false, false, true, false}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inner, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			ln := newLimitListener(inner, tt.max, tt.perAddr)
			defer ln.Close()
			accepted := make(chan net.Conn, len(tt.from))
			go func() {
				for {
					c, err := ln.Accept()
					if err != nil {
						return
					}
					accepted <- c
				}
			}()
			var held []net.Conn
			for i, src := range tt.from {
				c := dialFrom(t, src, inner.Addr().String())
				if got := closedByPeer(c); got != tt.refused[i] {
					t.Fatalf("connection %d from %s: closed %v, want %v", i+1, src, got, tt.refused[i])
				}
				if !tt.refused[i] {
					held = append(held, <-accepted)
				}
			}
			// Closing an accepted connection gives its place back.
			held[0].Close()
			held[0].Close() // twice: released once
			c := dialFrom(t, tt.from[0], inner.Addr().String())
			if closedByPeer(c) {
				t.Fatalf("after a close, a new connection from %s was refused", tt.from[0])
			}
			<-accepted
			ln.mu.Lock()
			open := ln.open
			ln.mu.Unlock()
			if want := len(held); open != want {
				t.Errorf("open = %d, want %d", open, want)
			}
		})
	}
}

// fakeClock is a settable now for the cache.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (f *fakeClock) now() time.Time { f.mu.Lock(); defer f.mu.Unlock(); return f.t }
func (f *fakeClock) add(d time.Duration) {
	f.mu.Lock()
	f.t = f.t.Add(d)
	f.mu.Unlock()
}

func TestRenderCache(t *testing.T) {
	var mu sync.Mutex
	renders := map[string]int{}
	state := "up"
	mux := http.NewServeMux()
	count := func(name string) {
		mu.Lock()
		renders[name]++
		mu.Unlock()
	}
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		count("page")
		w.Header().Set("Cache-Control", "no-store")
		io.WriteString(w, "page "+state)
	})
	mux.HandleFunc("GET /metrics", func(w http.ResponseWriter, r *http.Request) {
		count("metrics")
		io.WriteString(w, "metrics "+r.Header.Get("Accept-Encoding"))
	})
	mux.HandleFunc("GET /api/v1/explain", func(w http.ResponseWriter, r *http.Request) {
		count("explain")
		io.WriteString(w, "explain "+r.URL.Query().Get("name"))
	})
	mux.HandleFunc("PUT /api/v1/values/{a}/status", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") == "" {
			http.Error(w, "no", http.StatusUnauthorized)
			return
		}
		state = "down"
		io.WriteString(w, "ok")
	})
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		count("healthz")
		io.WriteString(w, "ok")
	})
	clock := &fakeClock{t: time.Unix(1e9, 0)}
	c := newRenderCache(time.Second, 8, 1<<20)
	c.now = clock.now
	h := c.wrap(mux)

	type step struct {
		method, url, header string
		advance             time.Duration
		wantBody            string
		wantRenders         map[string]int // after this step
	}
	steps := []step{
		{method: "GET", url: "/", wantBody: "page up", wantRenders: map[string]int{"page": 1}},
		{method: "GET", url: "/", wantBody: "page up", wantRenders: map[string]int{"page": 1}},
		{method: "GET", url: "/?x=1", wantBody: "page up", wantRenders: map[string]int{"page": 1}},
		{method: "HEAD", url: "/", wantBody: "", wantRenders: map[string]int{"page": 1}},
		{method: "GET", url: "/", advance: 1500 * time.Millisecond, wantBody: "page up", wantRenders: map[string]int{"page": 2}},
		{method: "GET", url: "/healthz", wantBody: "ok", wantRenders: map[string]int{"page": 2, "healthz": 1}},
		{method: "GET", url: "/healthz", wantBody: "ok", wantRenders: map[string]int{"page": 2, "healthz": 2}},
		{method: "GET", url: "/metrics", wantBody: "metrics ", wantRenders: map[string]int{"page": 2, "healthz": 2, "metrics": 1}},
		{method: "GET", url: "/metrics", header: "gzip", wantBody: "metrics gzip", wantRenders: map[string]int{"page": 2, "healthz": 2, "metrics": 2}},
		{method: "GET", url: "/metrics", header: "gzip", wantBody: "metrics gzip", wantRenders: map[string]int{"page": 2, "healthz": 2, "metrics": 2}},
		{method: "GET", url: "/api/v1/explain?name=a", wantBody: "explain a", wantRenders: map[string]int{"page": 2, "healthz": 2, "metrics": 2, "explain": 1}},
		{method: "GET", url: "/api/v1/explain?name=b", wantBody: "explain b", wantRenders: map[string]int{"page": 2, "healthz": 2, "metrics": 2, "explain": 2}},
		{method: "GET", url: "/api/v1/explain?name=a", wantBody: "explain a", wantRenders: map[string]int{"page": 2, "healthz": 2, "metrics": 2, "explain": 2}},
		// A refused write changes nothing: the page stays cached.
		{method: "PUT", url: "/api/v1/values/x/status", wantBody: "no\n", wantRenders: map[string]int{"page": 2, "healthz": 2, "metrics": 2, "explain": 2}},
		{method: "GET", url: "/", wantBody: "page up", wantRenders: map[string]int{"page": 2, "healthz": 2, "metrics": 2, "explain": 2}},
		// A write that succeeds is seen by the next read.
		{method: "PUT", url: "/api/v1/values/x/status", header: "auth", wantBody: "ok", wantRenders: map[string]int{"page": 2, "healthz": 2, "metrics": 2, "explain": 2}},
		{method: "GET", url: "/", wantBody: "page down", wantRenders: map[string]int{"page": 3, "healthz": 2, "metrics": 2, "explain": 2}},
	}
	for i, s := range steps {
		clock.add(s.advance)
		req := httptest.NewRequest(s.method, s.url, strings.NewReader(""))
		switch s.header {
		case "gzip":
			req.Header.Set("Accept-Encoding", "gzip")
		case "auth":
			req.Header.Set("Authorization", "Bearer x")
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if got := rec.Body.String(); got != s.wantBody {
			t.Errorf("step %d %s %s: body %q, want %q", i, s.method, s.url, got, s.wantBody)
		}
		mu.Lock()
		for k, want := range s.wantRenders {
			if renders[k] != want {
				t.Errorf("step %d %s %s: %s rendered %d times, want %d", i, s.method, s.url, k, renders[k], want)
			}
		}
		mu.Unlock()
		if s.url == "/" && s.method == "GET" && rec.Header().Get("Cache-Control") != "no-store" {
			t.Errorf("step %d: the handler's headers are not kept: %v", i, rec.Header())
		}
	}
}

// TestRenderCacheFlood: many concurrent requests for one URL cost one
// rendering; the cache holds no more than its entries and bytes.
func TestRenderCacheFlood(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(10 * time.Millisecond) // a slow rendering: the others wait for it
		io.WriteString(w, strings.Repeat("x", 100))
	})
	c := newRenderCache(time.Hour, 8, 450)
	wrapped := c.wrap(h)
	var wg sync.WaitGroup
	for range 200 {
		wg.Go(func() {
			rec := httptest.NewRecorder()
			wrapped.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
			if rec.Body.Len() != 100 {
				t.Errorf("body %d bytes", rec.Body.Len())
			}
		})
	}
	wg.Wait()
	if n := c.renders.Load(); n != 1 {
		t.Errorf("200 concurrent requests rendered %d times, want 1", n)
	}
	for i := range 50 {
		rec := httptest.NewRecorder()
		wrapped.ServeHTTP(rec, httptest.NewRequest("GET", "/api/v1/explain?n="+string(rune('a'+i%26))+string(rune('a'+i/26)), nil))
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.entries) > 8 || c.bytes > 450 {
		t.Errorf("cache holds %d entries, %d bytes; bounds 8, 450", len(c.entries), c.bytes)
	}
}

func TestLimitBodies(t *testing.T) {
	h := limitBodies(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := io.ReadAll(r.Body); err != nil {
			http.Error(w, err.Error(), http.StatusRequestEntityTooLarge)
			return
		}
		io.WriteString(w, "ok")
	}))
	tests := []struct {
		name string
		size int
		want int
	}{
		{"small", 18, 200},
		{"at the limit", HTTPMaxBody, 200},
		{"over", HTTPMaxBody + 1, http.StatusRequestEntityTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest("PUT", "/api/v1/values/x/status", strings.NewReader(strings.Repeat("x", tt.size))))
			if rec.Code != tt.want {
				t.Errorf("%d bytes: %d, want %d", tt.size, rec.Code, tt.want)
			}
		})
	}
}

// TestRenderCacheBytes: a rendering that does not fit the byte budget
// makes room by dropping expired entries, and is then cached.
func TestRenderCacheBytes(t *testing.T) {
	clock := &fakeClock{t: time.Unix(1e9, 0)}
	c := newRenderCache(time.Second, 8, 150)
	c.now = clock.now
	h := c.wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, strings.Repeat("x", 100))
	}))
	get := func(url string) {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", url, nil))
	}
	get("/api/v1/a")
	clock.add(2 * time.Second) // a expires
	get("/api/v1/b")
	get("/api/v1/b")
	if n := c.renders.Load(); n != 2 {
		t.Errorf("rendered %d times, want 2 (b cached once a expired)", n)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.bytes != 100 || len(c.entries) != 1 {
		t.Errorf("cache: %d bytes in %d entries, want 100 in 1", c.bytes, len(c.entries))
	}
}
