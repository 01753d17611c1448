package querylog

import (
	"errors"
	"io/fs"
	"math"
	"net/netip"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miekg/dns"
)

func TestValidate(t *testing.T) {
	long := "/" + strings.Repeat("s", maxSocketPath)
	tests := []struct {
		name string
		c    Config
		want []string // substrings, one per expected problem; none: valid
	}{
		{name: "zero is off and valid", c: Config{}},
		{name: "json only", c: Config{JSON: "/var/log/q.jsonl"}},
		{name: "socket and json, sampled", c: Config{Sample: 0.01, JSON: "/q.jsonl", Dnstap: DnstapConfig{Socket: "/run/dnstap.sock"}, Buffer: 100}},
		{name: "sample one", c: Config{Sample: 1, JSON: "/q"}},
		{name: "sample too big", c: Config{Sample: 1.5, JSON: "/q"}, want: []string{"query_log.sample: must be in (0, 1], got 1.5"}},
		{name: "sample negative", c: Config{Sample: -0.1, JSON: "/q"}, want: []string{"query_log.sample: must be in (0, 1], got -0.1"}},
		{name: "sample NaN", c: Config{Sample: math.NaN(), JSON: "/q"}, want: []string{"query_log.sample: must be in (0, 1], got NaN"}},
		{name: "buffer negative", c: Config{Buffer: -1, JSON: "/q"}, want: []string{"query_log.buffer: must be between 0 (meaning 10000) and 1000000, got -1"}},
		{name: "buffer huge", c: Config{Buffer: 1 << 30, JSON: "/q"}, want: []string{"query_log.buffer:"}},
		{name: "socket and file", c: Config{Dnstap: DnstapConfig{Socket: "/s", File: "/f"}}, want: []string{"query_log.dnstap: give socket or file, not both"}},
		{name: "socket path too long", c: Config{Dnstap: DnstapConfig{Socket: long}}, want: []string{"query_log.dnstap.socket: the path is 108 bytes"}},
		{name: "same file twice", c: Config{JSON: "/var/log/q", Dnstap: DnstapConfig{File: "/var/log/./q"}}, want: []string{"query_log.json and query_log.dnstap.file: both name"}},
		{name: "settings without output", c: Config{Sample: 0.5, Dnstap: DnstapConfig{Identity: "ns1"}}, want: []string{"query_log: no output; set json, dnstap.socket or dnstap.file"}},
		{
			name: "every problem reported",
			c:    Config{Sample: 2, Buffer: -5, Dnstap: DnstapConfig{Socket: "/s", File: "/f"}},
			want: []string{"query_log.sample:", "query_log.buffer:", "query_log.dnstap: give socket or file"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.c.Validate()
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate() = nil, want %q", tc.want)
			}
			lines := strings.Split(err.Error(), "\n")
			if len(lines) != len(tc.want) {
				t.Fatalf("Validate() = %q, want %d problems", err, len(tc.want))
			}
			for i, w := range tc.want {
				if !strings.HasPrefix(lines[i], w) {
					t.Errorf("problem %d = %q, want it to start with %q", i, lines[i], w)
				}
			}
		})
	}
}

func TestEnabled(t *testing.T) {
	for c, want := range map[Config]bool{
		{}:                                   false,
		{Sample: 0.5, Buffer: 10}:            false,
		{JSON: "/q"}:                         true,
		{Dnstap: DnstapConfig{Socket: "/s"}}: true,
		{Dnstap: DnstapConfig{File: "/f"}}:   true,
	} {
		if got := c.Enabled(); got != want {
			t.Errorf("%+v.Enabled() = %v, want %v", c, got, want)
		}
	}
}

// TestOpenDisabled: no output means a nil Logger whose methods all work.
func TestOpenDisabled(t *testing.T) {
	l, err := Open(Config{}, "v", nil)
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
	if _, err := Open(Config{Sample: 3}, "v", nil); err == nil {
		t.Error("Open with an invalid config and no output: want the validation error")
	}
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "no", "such", "dir", "q")
	tests := []struct {
		name string
		c    Config
		want string
	}{
		{name: "json in a missing folder", c: Config{JSON: missing}, want: "query_log.json: open " + missing},
		{name: "dnstap file in a missing folder", c: Config{Dnstap: DnstapConfig{File: missing}}, want: "query_log.dnstap.file: open " + missing},
		{name: "json is a folder", c: Config{JSON: dir}, want: "query_log.json: open " + dir},
		{name: "invalid", c: Config{JSON: filepath.Join(dir, "q"), Sample: 7}, want: "query_log.sample"},
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
	l, err := Open(Config{Dnstap: DnstapConfig{Socket: path}}, "v", nil)
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
		l := mustOpen(t, Config{Sample: tc.sample, Buffer: n}, fastOptions(hook))
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
	l, err := open(Config{Buffer: buffer}, "v", nil, o)
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
	l := mustOpen(t, Config{}, fastOptions(discard(), fail))
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
	l := mustOpen(t, Config{}, fastOptions(hook))
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
	l := mustOpen(t, Config{Sample: 1e-15}, fastOptions(discard()))
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
	l := mustOpen(b, Config{Sample: 1e-15}, fastOptions(discard()))
	benchmarkLog(b, l)
}

func BenchmarkLogSampled(b *testing.B) {
	l := mustOpen(b, Config{Sample: 1}, fastOptions(discard()))
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
