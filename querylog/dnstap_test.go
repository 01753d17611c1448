package querylog

import (
	"errors"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	dnstap "github.com/dnstap/golang-dnstap"
	"github.com/miekg/dns"
	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/proto"

	"github.com/smartdns/smartdns/internal/config"
)

// dnstapCases are logged in order, received a millisecond apart from t0
// (see logAll), and wantDnstap gives the frame each must become.
func dnstapCases(t testing.TB) []logCase {
	a := newQuery("www.example.com.", dns.TypeA)
	aaaa := newQuery("WwW.Example.COM.", dns.TypeAAAA)
	return []logCase{
		{
			name: "udp v4", client: "192.0.2.1:53000", server: "198.51.100.53:53",
			query:    pack(t, a),
			response: pack(t, newAnswer(t, a, dns.RcodeSuccess, "www.example.com. 300 IN A 192.0.2.80")),
			latency:  250 * time.Microsecond,
		},
		{
			name: "tcp v6", client: "[2001:db8::1]:40000", server: "[2001:db8::53]:5353", tcp: true,
			query:    pack(t, aaaa),
			response: pack(t, newAnswer(t, aaaa, dns.RcodeNameError)),
			latency:  2 * time.Millisecond,
		},
		{
			name: "dropped", client: "192.0.2.2:1234", server: "198.51.100.53:53",
			query: pack(t, a),
		},
		{
			name: "v4-mapped", client: "[::ffff:192.0.2.9]:6000", server: "[::ffff:198.51.100.53]:53",
			query:    []byte{1, 2, 3}, // carried verbatim, parsed or not
			response: []byte{4, 5, 6, 7},
		},
	}
}

func wantDnstap(c logCase, i int, identity, version string) *dnstap.Dnstap {
	received := t0.Add(time.Duration(i) * time.Millisecond)
	client := netip.MustParseAddrPort(c.client)
	server := netip.MustParseAddrPort(c.server)
	family, proto4 := dnstap.SocketFamily_INET6, false
	if client.Addr().Unmap().Is4() {
		family, proto4 = dnstap.SocketFamily_INET, true
	}
	addr := func(a netip.Addr) []byte {
		if proto4 {
			v := a.Unmap().As4()
			return v[:]
		}
		v := a.As16()
		return v[:]
	}
	protocol := dnstap.SocketProtocol_UDP
	if c.tcp {
		protocol = dnstap.SocketProtocol_TCP
	}
	m := &dnstap.Message{
		Type:            dnstap.Message_AUTH_RESPONSE.Enum(),
		SocketFamily:    family.Enum(),
		SocketProtocol:  protocol.Enum(),
		QueryAddress:    addr(client.Addr()),
		QueryPort:       proto.Uint32(uint32(client.Port())),
		ResponseAddress: addr(server.Addr()),
		ResponsePort:    proto.Uint32(uint32(server.Port())),
		QueryTimeSec:    proto.Uint64(uint64(received.Unix())),
		QueryTimeNsec:   proto.Uint32(uint32(received.Nanosecond())),
		QueryMessage:    c.query,
	}
	if c.response == nil {
		m.Type = dnstap.Message_AUTH_QUERY.Enum()
	} else {
		responded := received.Add(c.latency)
		m.ResponseTimeSec = proto.Uint64(uint64(responded.Unix()))
		m.ResponseTimeNsec = proto.Uint32(uint32(responded.Nanosecond()))
		m.ResponseMessage = c.response
	}
	return &dnstap.Dnstap{
		Identity: []byte(identity),
		Version:  []byte(version),
		Type:     dnstap.Dnstap_MESSAGE.Enum(),
		Message:  m,
	}
}

// checkFrame unmarshals frame and compares every field with want.
func checkFrame(t *testing.T, name string, frame []byte, want *dnstap.Dnstap) {
	t.Helper()
	got := new(dnstap.Dnstap)
	if err := proto.Unmarshal(frame, got); err != nil {
		t.Fatalf("%s: unmarshal: %v", name, err)
	}
	if !proto.Equal(got, want) {
		t.Errorf("%s: frame\n%s\nwant\n%s", name, prototext.Format(got), prototext.Format(want))
	}
}

// readFrames reads a frame-stream file to its STOP frame.
func readFrames(t *testing.T, path string) [][]byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := dnstap.NewReader(f, nil)
	if err != nil {
		t.Fatalf("reader (content type %q expected): %v", dnstap.FSContentType, err)
	}
	var frames [][]byte
	buf := make([]byte, 1<<16)
	for {
		n, err := r.ReadFrame(buf)
		if errors.Is(err, io.EOF) {
			return frames
		}
		if err != nil {
			t.Fatalf("frame %d: %v", len(frames), err)
		}
		frames = append(frames, append([]byte(nil), buf[:n]...))
	}
}

func TestDnstapFile(t *testing.T) {
	tests := []struct {
		name, identity, wantIdentity string
	}{
		{name: "configured identity", identity: "ns1.example.net", wantIdentity: "ns1.example.net"},
		{name: "host name by default", wantIdentity: "testhost"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "queries.dnstap")
			// A file left from before is replaced, not appended to.
			if err := os.WriteFile(path, []byte("old contents"), 0o640); err != nil {
				t.Fatal(err)
			}
			clock := newFakeClock(t0)
			o := fastOptions()
			o.now = clock.now
			o.hostname = func() (string, error) { return "testhost", nil }
			l := mustOpen(t, config.QueryLog{Dnstap: config.Dnstap{File: path, Identity: tc.identity}}, o)
			cases := dnstapCases(t)
			logAll(l, clock, cases)
			if err := l.Close(); err != nil {
				t.Fatalf("Close: %v", err)
			}
			if s := l.Stats(); s != (Stats{Logged: uint64(len(cases))}) {
				t.Errorf("Stats = %+v, want %d logged", s, len(cases))
			}
			frames := readFrames(t, path)
			if len(frames) != len(cases) {
				t.Fatalf("%d frames, want %d", len(frames), len(cases))
			}
			for i, c := range cases {
				checkFrame(t, c.name, frames[i], wantDnstap(c, i, tc.wantIdentity, "smartdns-test"))
			}
		})
	}
}

// waitFrame returns the next frame from c, or fails after d.
func waitFrame(t *testing.T, c *collector, d time.Duration) []byte {
	t.Helper()
	select {
	case f := <-c.frames:
		return f
	case <-time.After(d):
		t.Fatalf("no frame within %s", d)
		return nil
	}
}

// TestDnstapSocket logs to a collector that is there from the start: every
// frame arrives, and Close ends the stream with STOP/FINISH.
func TestDnstapSocket(t *testing.T) {
	path := filepath.Join(t.TempDir(), "dnstap.sock")
	col := startCollector(t, path, false)
	clock := newFakeClock(t0)
	o := fastOptions()
	o.now = clock.now
	l := mustOpen(t, config.QueryLog{Dnstap: config.Dnstap{Socket: path, Identity: "ns1"}}, o)
	cases := dnstapCases(t)
	logAll(l, clock, cases)
	for i, c := range cases {
		checkFrame(t, c.name, waitFrame(t, col, 10*time.Second), wantDnstap(c, i, "ns1", "smartdns-test"))
	}
	if err := l.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if s := l.Stats(); s != (Stats{Logged: uint64(len(cases))}) {
		t.Errorf("Stats = %+v, want %d logged", s, len(cases))
	}
}

// TestDnstapSocketReconnect opens before the collector exists, then has
// the collector go away and come back: Open does not fail, queries are
// dropped while no collector listens, and frames arrive once one does.
func TestDnstapSocketReconnect(t *testing.T) {
	path := filepath.Join(t.TempDir(), "dnstap.sock")
	l := mustOpen(t, config.QueryLog{Dnstap: config.Dnstap{Socket: path}}, fastOptions())
	q := pack(t, newQuery("www.example.com.", dns.TypeA))
	client, server := netip.MustParseAddrPort("192.0.2.1:53000"), netip.MustParseAddrPort("198.51.100.53:53")

	l.Log(client, server, false, q, q, t0)
	waitStats(t, l, func(s Stats) bool { return s.Dropped == 1 })
	// untilFrame logs until col passes a frame on.
	untilFrame := func(col *collector) {
		t.Helper()
		deadline := time.After(10 * time.Second)
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-col.frames:
				return
			case <-tick.C:
				l.Log(client, server, false, q, q, t0)
			case <-deadline:
				t.Fatalf("no frame after 10s; stats %+v", l.Stats())
			}
		}
	}

	first := startCollector(t, path, false)
	untilFrame(first)
	first.stop()

	second := startCollector(t, path, false)
	untilFrame(second)
	if err := l.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
}

// waitStats waits until ok(l.Stats()) holds, for at most 10s.
func waitStats(t *testing.T, l *Logger, ok func(Stats) bool) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for !ok(l.Stats()) {
		select {
		case <-tick.C:
		case <-deadline:
			t.Fatalf("stats still %+v after 10s", l.Stats())
		}
	}
}

// TestDnstapStalledCollector: a collector that completes the handshake and
// then never reads must not slow Log down; the queue fills and queries
// are dropped, and Close still returns in bounded time.
func TestDnstapStalledCollector(t *testing.T) {
	path := filepath.Join(t.TempDir(), "dnstap.sock")
	startCollector(t, path, true)
	o := fastOptions()
	o.ioTimeout = 200 * time.Millisecond
	l := mustOpen(t, config.QueryLog{Dnstap: config.Dnstap{Socket: path}, Buffer: 64}, o)
	q := pack(t, newQuery("www.example.com.", dns.TypeA))
	resp := make([]byte, 1024)
	client, server := netip.MustParseAddrPort("192.0.2.1:53000"), netip.MustParseAddrPort("198.51.100.53:53")

	const n = 50000
	start := time.Now()
	for range n {
		l.Log(client, server, false, q, resp, t0)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("%d Log calls took %s", n, d)
	}
	if s := l.Stats(); s.Dropped == 0 {
		t.Errorf("Stats = %+v: want drops with a collector that never reads", s)
	}
	start = time.Now()
	l.Close()
	if d := time.Since(start); d > 4*time.Second {
		t.Errorf("Close took %s", d)
	}
}
