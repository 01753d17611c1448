package querylog

import (
	"errors"
	"io/fs"
	"net/netip"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/smartdns/smartdns/internal/config"
)

// TestOpenDisabled: no output means a nil Logger whose methods all work.
func TestOpenDisabled(t *testing.T) {
	l, err := Open(config.QueryLog{}, "v", nil)
	if err != nil || l != nil {
		t.Fatalf("Open(zero) = %v, %v; want nil, nil", l, err)
	}
	l.Log(netip.AddrPort{}, netip.AddrPort{}, false, []byte{1}, nil, time.Now())
	if s := l.Stats(); s != (Stats{}) {
		t.Errorf("nil Stats = %+v", s)
	}
	if err := l.Close(); err != nil {
		t.Errorf("nil Close = %v", err)
	}
	if _, err := Open(config.QueryLog{Sample: 3}, "v", nil); err == nil {
		t.Error("Open with an invalid config and no output: want the validation error")
	}
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "no", "such", "dir", "q")
	tests := []struct {
		name string
		c    config.QueryLog
		want string
	}{
		{name: "json in a missing folder", c: config.QueryLog{JSON: missing}, want: "query_log.json: open " + missing},
		{name: "dnstap file in a missing folder", c: config.QueryLog{Dnstap: config.Dnstap{File: missing}}, want: "query_log.dnstap.file: open " + missing},
		{name: "json is a folder", c: config.QueryLog{JSON: dir}, want: "query_log.json: open " + dir},
		{name: "invalid", c: config.QueryLog{JSON: filepath.Join(dir, "q"), Sample: 7}, want: "query_log.sample"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l, err := Open(tc.c, "v", nil)
			if err == nil {
				l.Close()
				t.Fatalf("Open succeeded, want error %q", tc.want)
			}
			if !strings.HasPrefix(err.Error(), tc.want) {
				t.Errorf("Open error %q, want it to start with %q", err, tc.want)
			}
			if strings.Contains(tc.name, "missing") && !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("error %v does not unwrap to not-exist", err)
			}
		})
	}
}

// TestOpenMissingSocket: a dnstap socket that is not there is no error.
func TestOpenMissingSocket(t *testing.T) {
	path := filepath.Join(t.TempDir(), "later.sock")
	l, err := Open(config.QueryLog{Dnstap: config.Dnstap{Socket: path}}, "v", nil)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	q := pack(t, newQuery("a.example.", dns.TypeA))
	l.Log(netip.MustParseAddrPort("192.0.2.1:1"), netip.MustParseAddrPort("192.0.2.53:53"), false, q, q, t0)
	if err := l.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if s := l.Stats(); s != (Stats{Dropped: 1}) {
		t.Errorf("Stats = %+v, want the one query dropped", s)
	}
}

// TestSampling logs 100000 queries at several rates and checks the count
// of sampled ones (logged plus dropped) against the rate.
func TestSampling(t *testing.T) {
	const n = 100000
	tests := []struct {
		sample    float64
		want, tol uint64
	}{
		{sample: 0, want: n},
		{sample: 1, want: n},
		// sd = sqrt(n p (1-p)) ≈ 137; the tolerance is over 7 sd.
		{sample: 0.25, want: n / 4, tol: 1000},
		{sample: 0.01, want: n / 100, tol: 250},
	}
	q := pack(t, newQuery("a.example.", dns.TypeA))
	client, server := netip.MustParseAddrPort("192.0.2.1:1"), netip.MustParseAddrPort("192.0.2.53:53")
	for _, tc := range tests {
		var written atomic.Uint64
		hook := newHook(func(*entry) error { written.Add(1); return nil })
		l := mustOpen(t, config.QueryLog{Sample: tc.sample, Buffer: n}, fastOptions(hook))
		for range n {
			l.Log(client, server, false, q, q, t0)
		}
		if err := l.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		s := l.Stats()
		got := s.Logged + s.Dropped
		if got+tc.tol < tc.want || got > tc.want+tc.tol {
			t.Errorf("sample %v: %d of %d sampled, want %d ± %d", tc.sample, got, n, tc.want, tc.tol)
		}
		if s.Logged != written.Load() || s.Errors != 0 {
			t.Errorf("sample %v: Stats %+v, %d written", tc.sample, s, written.Load())
		}
	}
}

// TestLogNeverBlocks: with an output that blocks until Close gives up,
// Log keeps returning at once and counts drops; Close returns an error
// after its bound and aborts the output.
func TestLogNeverBlocks(t *testing.T) {
	var hook *hookOutput
	hook = newHook(func(*entry) error { <-hook.aborted; return errHook })
	o := fastOptions(hook)
	o.closeTimeout = 300 * time.Millisecond
	const buffer = 8
	l, err := open(config.QueryLog{Buffer: buffer}, "v", nil, o)
	if err != nil {
		t.Fatal(err)
	}
	q := pack(t, newQuery("a.example.", dns.TypeA))
	client, server := netip.MustParseAddrPort("192.0.2.1:1"), netip.MustParseAddrPort("192.0.2.53:53")

	const n = 10000
	start := time.Now()
	for range n {
		l.Log(client, server, false, q, q, t0)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("%d Log calls with a stuck writer took %s", n, d)
	}
	// At most the queue and the entry in the writer's hands are kept.
	if s := l.Stats(); s.Dropped < n-buffer-1 {
		t.Errorf("Stats = %+v, want at least %d dropped", s, n-buffer-1)
	}
	start = time.Now()
	if err := l.Close(); err == nil || !strings.Contains(err.Error(), "gave up") {
		t.Errorf("Close = %v, want the gave-up error", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Close took %s with a 300ms bound", d)
	}
	if !hook.isAborted() {
		t.Error("the stuck output was not aborted")
	}
	s := l.Stats()
	if s.Logged+s.Dropped+s.Errors != n {
		t.Errorf("Stats %+v do not add up to the %d queries", s, n)
	}
	// Log after Close is ignored.
	l.Log(client, server, false, q, q, t0)
	if l.Stats() != s {
		t.Error("Log after Close changed the stats")
	}
}

// TestErrorsCounted: a failing output counts errors, not logged queries.
func TestErrorsCounted(t *testing.T) {
	fail := newHook(func(*entry) error { return errHook })
	l := mustOpen(t, config.QueryLog{}, fastOptions(discard(), fail))
	q := pack(t, newQuery("a.example.", dns.TypeA))
	for range 5 {
		l.Log(netip.MustParseAddrPort("192.0.2.1:1"), netip.MustParseAddrPort("192.0.2.53:53"), false, q, q, t0)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if s := l.Stats(); s != (Stats{Errors: 5}) {
		t.Errorf("Stats = %+v, want 5 errors", s)
	}
}

// TestLogCopies: the caller reuses its buffers as soon as Log returns.
func TestLogCopies(t *testing.T) {
	got := make(chan string, 1)
	hook := newHook(func(e *entry) error { got <- string(e.query()) + "|" + string(e.response()); return nil })
	l := mustOpen(t, config.QueryLog{}, fastOptions(hook))
	q, r := []byte("query"), []byte("response")
	l.Log(netip.MustParseAddrPort("192.0.2.1:1"), netip.MustParseAddrPort("192.0.2.53:53"), false, q, r, t0)
	copy(q, "XXXXX")
	copy(r, "YYYYYYYY")
	if s := <-got; s != "query|response" {
		t.Errorf("output saw %q, want the packets as they were when logged", s)
	}
}

// queryLogger is how the DNS server sees a Logger.
type queryLogger interface {
	Log(client, server netip.AddrPort, tcp bool, query, response []byte, received time.Time)
}

// TestNotSampledAllocs fails if the path of a query that is not sampled
// (or of a nil Logger) allocates, called directly or through an interface.
func TestNotSampledAllocs(t *testing.T) {
	l := mustOpen(t, config.QueryLog{Sample: 1e-15}, fastOptions(discard()))
	var nilLogger *Logger
	q := pack(t, newQuery("a.example.", dns.TypeA))
	client, server := netip.MustParseAddrPort("192.0.2.1:1"), netip.MustParseAddrPort("192.0.2.53:53")
	now := time.Now()
	for name, ql := range map[string]queryLogger{"not sampled": l, "nil": nilLogger} {
		if a := testing.AllocsPerRun(1000, func() { ql.Log(client, server, false, q, q, now) }); a != 0 {
			t.Errorf("%s: %v allocations per Log, want 0", name, a)
		}
	}
	if a := testing.AllocsPerRun(1000, func() { l.Log(client, server, true, q, q, now) }); a != 0 {
		t.Errorf("direct call: %v allocations per Log, want 0", a)
	}
	if s := l.Stats(); s.Logged+s.Dropped > 1 {
		t.Errorf("Stats = %+v with a sample of 1e-15", s)
	}
}

func BenchmarkLogNotSampled(b *testing.B) {
	l := mustOpen(b, config.QueryLog{Sample: 1e-15}, fastOptions(discard()))
	benchmarkLog(b, l)
}

func BenchmarkLogSampled(b *testing.B) {
	l := mustOpen(b, config.QueryLog{Sample: 1}, fastOptions(discard()))
	benchmarkLog(b, l)
	s := l.Stats()
	b.ReportMetric(float64(s.Dropped)/float64(b.N), "dropped/op")
}

func benchmarkLog(b *testing.B, l *Logger) {
	a := newQuery("www.example.com.", dns.TypeA)
	q := pack(b, a)
	r := pack(b, newAnswer(b, a, dns.RcodeSuccess, "www.example.com. 300 IN A 192.0.2.80"))
	client, server := netip.MustParseAddrPort("192.0.2.1:53000"), netip.MustParseAddrPort("198.51.100.53:53")
	now := time.Now()
	b.ReportAllocs()
	for b.Loop() {
		l.Log(client, server, false, q, r, now)
	}
}

// TestBufferBytes: with a stuck writer, large entries fill the byte bound
// long before the entry bound; the queued bytes never exceed it, the rest
// is dropped, and the bytes are given back as entries are written.
func TestBufferBytes(t *testing.T) {
	release := make(chan struct{})
	var written atomic.Int64
	hook := newHook(func(*entry) error { <-release; written.Add(1); return nil })
	const bound = config.MinQueryLogBufferBytes
	l := mustOpen(t, config.QueryLog{Buffer: 1000, BufferBytes: bound}, fastOptions(hook))
	big := make([]byte, 20000) // a query and an answer of 20000 bytes: 40000 a entry
	client, server := netip.MustParseAddrPort("192.0.2.1:1"), netip.MustParseAddrPort("192.0.2.53:53")

	const n, fit = 100, bound / 40000 // 3 entries fit: one written, two queued
	for i := range n {
		l.Log(client, server, true, big, big, t0)
		if q := l.queued.Load(); q > bound {
			t.Fatalf("after %d entries: %d bytes queued, bound %d", i+1, q, bound)
		}
	}
	if s := l.Stats(); s.Dropped != n-fit {
		t.Errorf("Stats = %+v, want %d dropped (%d entries of 40000 bytes fit in %d)", s, n-fit, fit, bound)
	}
	close(release)
	deadline := time.Now().Add(5 * time.Second)
	for written.Load() < fit || l.queued.Load() != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("written %d, queued %d bytes: want %d written and none queued", written.Load(), l.queued.Load(), fit)
		}
		time.Sleep(time.Millisecond)
	}
	// Room again: the next entry is taken.
	l.Log(client, server, true, big, big, t0)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if s := l.Stats(); s.Logged != fit+1 || s.Dropped != n-fit {
		t.Errorf("Stats = %+v, want %d logged and %d dropped", s, fit+1, n-fit)
	}
}
