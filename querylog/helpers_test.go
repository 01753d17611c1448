package querylog

import (
	"errors"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	dnstap "github.com/dnstap/golang-dnstap"
	"github.com/miekg/dns"

	"github.com/smartdns/smartdns/internal/config"
)

// t0 is the fixed time the tests' queries are received at.
var t0 = time.Date(2026, 3, 14, 15, 9, 26, 535897932, time.UTC)

// newQuery builds a query with a fixed ID and RD set.
func newQuery(name string, qtype uint16) *dns.Msg {
	m := new(dns.Msg)
	m.SetQuestion(name, qtype)
	m.Id = 0x1234
	return m
}

// newAnswer answers q with rcode and the given records (zone-file text).
func newAnswer(t testing.TB, q *dns.Msg, rcode int, rrs ...string) *dns.Msg {
	t.Helper()
	r := new(dns.Msg)
	r.SetRcode(q, rcode)
	r.Authoritative = true
	for _, s := range rrs {
		rr, err := dns.NewRR(s)
		if err != nil {
			t.Fatalf("NewRR(%q): %v", s, err)
		}
		r.Answer = append(r.Answer, rr)
	}
	return r
}

func pack(t testing.TB, m *dns.Msg) []byte {
	t.Helper()
	b, err := m.Pack()
	if err != nil {
		t.Fatalf("pack: %v", err)
	}
	return b
}

// withECS adds an OPT record carrying a client subnet to m.
func withECS(m *dns.Msg, family uint16, addr string, bits uint8) *dns.Msg {
	m.SetEdns0(1232, false)
	a := netip.MustParseAddr(addr)
	m.IsEdns0().Option = append(m.IsEdns0().Option, &dns.EDNS0_SUBNET{
		Code:          dns.EDNS0SUBNET,
		Family:        family,
		SourceNetmask: bits,
		Address:       a.AsSlice(),
	})
	return m
}

// fakeClock is the response time Log reads; the tests set it before each
// Log from the same goroutine.
type fakeClock struct{ t atomic.Int64 }

func (c *fakeClock) set(t time.Time)      { c.t.Store(t.UnixNano()) }
func (c *fakeClock) now() time.Time       { return time.Unix(0, c.t.Load()).UTC() }
func newFakeClock(t time.Time) *fakeClock { c := new(fakeClock); c.set(t); return c }

// hookOutput is an output whose write runs a test's function.
type hookOutput struct {
	onWrite   func(e *entry) error
	aborted   chan struct{}
	abortOnce sync.Once
}

func newHook(onWrite func(e *entry) error) *hookOutput {
	return &hookOutput{onWrite: onWrite, aborted: make(chan struct{})}
}

func (h *hookOutput) name() string          { return "hook" }
func (h *hookOutput) write(e *entry) error  { return h.onWrite(e) }
func (h *hookOutput) flush() error          { return nil }
func (h *hookOutput) close(time.Time) error { return nil }
func (h *hookOutput) abort()                { h.abortOnce.Do(func() { close(h.aborted) }) }

func (h *hookOutput) isAborted() bool {
	select {
	case <-h.aborted:
		return true
	default:
		return false
	}
}

// discard is an output that accepts everything.
func discard() *hookOutput { return newHook(func(*entry) error { return nil }) }

// fastOptions shortens every wait so that tests of reconnection and of
// Close's bound run in milliseconds.
func fastOptions(extra ...output) options {
	return options{
		closeTimeout: 2 * time.Second,
		ioTimeout:    500 * time.Millisecond,
		retryMin:     10 * time.Millisecond,
		retryMax:     50 * time.Millisecond,
		extra:        extra,
	}
}

// mustOpen opens a Logger with version "smartdns-test", closed when the
// test ends.
func mustOpen(t testing.TB, c config.QueryLog, o options) *Logger {
	t.Helper()
	l, err := open(c, "smartdns-test", nil, o)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

// collector is a dnstap collector on a unix socket: it does the
// bidirectional handshake on every connection and passes each frame on.
// With stall set it does the handshake and then never reads.
type collector struct {
	ln     net.Listener
	frames chan []byte
	stall  bool
	done   chan struct{}
	wg     sync.WaitGroup
	mu     sync.Mutex
	conns  []net.Conn
}

func startCollector(t testing.TB, path string, stall bool) *collector {
	t.Helper()
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	c := &collector{ln: ln, frames: make(chan []byte, 1024), stall: stall, done: make(chan struct{})}
	c.wg.Go(c.accept)
	t.Cleanup(c.stop)
	return c
}

func (c *collector) accept() {
	for {
		conn, err := c.ln.Accept()
		if err != nil {
			return
		}
		c.mu.Lock()
		c.conns = append(c.conns, conn)
		c.mu.Unlock()
		c.wg.Go(func() { c.serve(conn) })
	}
}

func (c *collector) serve(conn net.Conn) {
	r, err := dnstap.NewReader(conn, &dnstap.ReaderOptions{Bidirectional: true, Timeout: 5 * time.Second})
	if err != nil {
		return
	}
	if c.stall {
		<-c.done
		return
	}
	buf := make([]byte, 1<<16)
	for {
		n, err := r.ReadFrame(buf)
		if err != nil {
			return
		}
		select {
		case c.frames <- append([]byte(nil), buf[:n]...):
		case <-c.done:
			return
		}
	}
}

// stop closes the listener (removing the socket file) and every
// connection, and waits for the collector's goroutines.
func (c *collector) stop() {
	select {
	case <-c.done:
		return
	default:
	}
	close(c.done)
	c.ln.Close()
	c.mu.Lock()
	for _, conn := range c.conns {
		conn.Close()
	}
	c.mu.Unlock()
	c.wg.Wait()
}

var errHook = errors.New("hook failure")
