package e2e

import (
	wire "encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	mdns "github.com/miekg/dns"
)

// sizesZone has RRsets of known wire sizes: "mid" (11 TXT of 100 bytes,
// about 1.3 KB with the headers: more than 1232, less than 1400) and "big"
// (60 TXT of 100 bytes, about 6.8 KB).
func sizesZone() string {
	var b strings.Builder
	b.WriteString(`$ORIGIN example.com.
$TTL 3600
@ IN SOA ns1 hostmaster 1 7200 3600 1209600 300
@ NS ns1
ns1 A 192.0.2.1
www A 192.0.2.10
`)
	for i := 0; i < 60; i++ {
		fmt.Fprintf(&b, "big TXT \"%02d%s\"\n", i, strings.Repeat("x", 97))
		if i < 11 {
			fmt.Fprintf(&b, "mid TXT \"%02d%s\"\n", i, strings.Repeat("y", 97))
		}
	}
	return b.String()
}

func startSizes(t *testing.T, extra string) *Server {
	return Start(t, Options{Files: map[string]string{"example.com.zone": sizesZone()}, Extra: extra})
}

// TestEDNS: a query with OPT gets an OPT back with version 0 and our
// buffer size, 1232 by default (RFC 6891 §6.1.1, §6.2.3; DNS flag day
// 2020); no OPT without EDNS (§7); BADVERS for a version we do not speak,
// with an OPT of version 0 (§6.1.3); DO copied (RFC 3225 §3).
func TestEDNS(t *testing.T) {
	s := startSizes(t, "")
	for _, tr := range []string{"+notcp", "+tcp"} {
		a := s.Dig("www.example.com", "A", tr)
		if a.Status != "NOERROR" || !a.EDNS || a.EDNSVer != 0 || a.UDPSize != 1232 || strings.Contains(a.EDNSFlags, "do") {
			t.Errorf("%s: EDNS query: want OPT version 0, udp 1232, no do:\n%s", tr, a.Raw)
		}
		a = s.Dig("www.example.com", "A", "+noedns", tr)
		if a.Status != "NOERROR" || a.EDNS || len(a.Answer) != 1 {
			t.Errorf("%s: query without EDNS got an OPT:\n%s", tr, a.Raw)
		}
		a = s.Dig("www.example.com", "A", "+dnssec", tr)
		if a.Status != "NOERROR" || !a.EDNS || !strings.Contains(a.EDNSFlags, "do") {
			t.Errorf("%s: +dnssec: DO not copied:\n%s", tr, a.Raw)
		}
		// +noednsnegotiation keeps dig from retrying with version 0.
		a = s.Dig("www.example.com", "A", "+edns=1", "+noednsnegotiation", tr)
		if a.Status != "BADVERS" || !a.EDNS || a.EDNSVer != 0 || len(a.Answer) != 0 || a.Flags["aa"] {
			t.Errorf("%s: +edns=1: want BADVERS with an OPT of version 0:\n%s", tr, a.Raw)
		}
		// With negotiation dig retries with version 0 and gets the answer.
		a = s.Dig("www.example.com", "A", "+edns=1", tr)
		if a.Status != "NOERROR" || a.EDNSVer != 0 || len(a.Answer) != 1 {
			t.Errorf("%s: +edns=1 with negotiation:\n%s", tr, a.Raw)
		}
	}
}

// TestMaxUDPSizeConfig: max_udp_size is the size advertised in our OPT
// and the largest UDP answer sent, whatever larger size the client offers.
func TestMaxUDPSizeConfig(t *testing.T) {
	def := startSizes(t, "")
	big := startSizes(t, "max_udp_size: 1400\n")
	a := big.Dig("www.example.com", "A")
	if !a.EDNS || a.UDPSize != 1400 {
		t.Fatalf("max_udp_size 1400: advertised %d:\n%s", a.UDPSize, a.Raw)
	}
	// "mid" (about 1.3 KB) fits in 1400 but not in 1232, even for a
	// client offering 4096.
	a = big.Dig("mid.example.com", "TXT", "+bufsize=4096", "+ignore")
	if a.Flags["tc"] || len(a.Answer) != 11 || a.Size > 1400 || a.Transport != "UDP" {
		t.Errorf("max_udp_size 1400, 1.3 KB answer: want it whole over UDP:\n%s", a.Raw)
	}
	a = def.Dig("mid.example.com", "TXT", "+bufsize=4096", "+ignore")
	if !a.Flags["tc"] || a.Size > 1232 || a.UDPSize != 1232 {
		t.Errorf("max_udp_size 1232, 1.3 KB answer: want TC within 1232 bytes:\n%s", a.Raw)
	}
}

// TestTruncation: an answer larger than the client's buffer (512 without
// EDNS, RFC 1035 §4.2.1; the EDNS size otherwise, capped by ours) comes
// back with TC (RFC 2181 §9), and whole over TCP (RFC 7766 §5).
func TestTruncation(t *testing.T) {
	s := startSizes(t, "")
	cases := []struct {
		args  []string
		limit int
	}{
		{[]string{"+bufsize=512"}, 512},
		{[]string{"+bufsize=1232"}, 1232},
		{[]string{"+bufsize=4096"}, 1232}, // our 1232 caps it
		{[]string{"+noedns"}, 512},
		{[]string{"+bufsize=100"}, 512}, // below 512 counts as 512 (RFC 6891 §6.2.5)
	}
	for _, c := range cases {
		a := s.Dig(append([]string{"big.example.com", "TXT", "+notcp", "+ignore"}, c.args...)...)
		if a.Status != "NOERROR" || !a.Flags["tc"] || a.Size > c.limit || a.Transport != "UDP" {
			t.Errorf("%v: want TC within %d bytes:\n%s", c.args, c.limit, a.Raw)
		}
		if a.Question != "big.example.com. IN TXT" {
			t.Errorf("%v: a truncated answer keeps the question, got %q", c.args, a.Question)
		}
		// A small answer is not truncated.
		a = s.Dig(append([]string{"www.example.com", "A", "+notcp", "+ignore"}, c.args...)...)
		if a.Flags["tc"] || len(a.Answer) != 1 {
			t.Errorf("%v: small answer:\n%s", c.args, a.Raw)
		}
	}
	a := s.Dig("big.example.com", "TXT", "+tcp")
	if a.Status != "NOERROR" || a.Flags["tc"] || len(a.Answer) != 60 || a.Transport != "TCP" {
		t.Errorf("over TCP: want all 60 TXT:\n%s", a.Raw)
	}
	// Without +ignore dig retries a truncated answer over TCP, as
	// resolvers do.
	a = s.Dig("big.example.com", "TXT", "+notcp", "+bufsize=1232")
	if a.Flags["tc"] || len(a.Answer) != 60 || a.Transport != "TCP" {
		t.Errorf("TC then retry over TCP: want all 60 TXT over TCP:\n%s", a.Raw)
	}
}

// TestNotImp: opcodes other than QUERY get NOTIMP (RFC 1035 §4.1.1), with
// an OPT when the request had one (RFC 6891 §7).
func TestNotImp(t *testing.T) {
	s := startSizes(t, "")
	for _, op := range []string{"notify", "status", "update"} {
		for _, tr := range []string{"+notcp", "+tcp"} {
			a := s.Dig("+opcode="+op, "example.com", "SOA", tr)
			if a.Status != "NOTIMP" || len(a.Answer) != 0 || a.Flags["aa"] {
				t.Errorf("opcode %s %s: want NOTIMP:\n%s", op, tr, a.Raw)
			}
			if !a.EDNS || a.EDNSVer != 0 {
				t.Errorf("opcode %s %s: NOTIMP without the OPT the query had:\n%s", op, tr, a.Raw)
			}
			a = s.Dig("+opcode="+op, "example.com", "SOA", "+noedns", tr)
			if a.Status != "NOTIMP" || a.EDNS {
				t.Errorf("opcode %s %s +noedns: want NOTIMP without OPT:\n%s", op, tr, a.Raw)
			}
		}
	}
	// The server still answers queries.
	if a := s.Dig("www.example.com", "A"); a.Status != "NOERROR" || len(a.Answer) != 1 {
		t.Errorf("after NOTIMP:\n%s", a.Raw)
	}
}

// tcpQuery packs m with the two-byte length prefix of RFC 1035 §4.2.2.
func tcpQuery(t testing.TB, m *mdns.Msg) []byte {
	t.Helper()
	b, err := m.Pack()
	if err != nil {
		t.Fatal(err)
	}
	return append(wire.BigEndian.AppendUint16(nil, uint16(len(b))), b...)
}

// readTCPMsg reads one length-prefixed message.
func readTCPMsg(c net.Conn) (*mdns.Msg, error) {
	var l [2]byte
	if _, err := io.ReadFull(c, l[:]); err != nil {
		return nil, err
	}
	buf := make([]byte, wire.BigEndian.Uint16(l[:]))
	if _, err := io.ReadFull(c, buf); err != nil {
		return nil, err
	}
	m := new(mdns.Msg)
	return m, m.Unpack(buf)
}

func dialTCP(t testing.TB, port int) net.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// exchangeTCP sends one query on c and reads its answer.
func exchangeTCP(c net.Conn, name string, qtype uint16) (*mdns.Msg, error) {
	m := new(mdns.Msg)
	m.SetQuestion(name, qtype)
	b, err := m.Pack()
	if err != nil {
		return nil, err
	}
	c.SetDeadline(time.Now().Add(2 * time.Second))
	defer c.SetDeadline(time.Time{})
	if _, err := c.Write(append(wire.BigEndian.AppendUint16(nil, uint16(len(b))), b...)); err != nil {
		return nil, err
	}
	r, err := readTCPMsg(c)
	if err != nil {
		return nil, err
	}
	if r.Id != m.Id {
		return nil, fmt.Errorf("answer id %d, query id %d", r.Id, m.Id)
	}
	return r, nil
}

// TestTCPPipelining: a client may send several queries on one connection
// without waiting (RFC 7766 §6.2.1.1); each gets its answer, matched by
// ID, on the same connection.
func TestTCPPipelining(t *testing.T) {
	s := startSizes(t, "")
	c := dialTCP(t, s.Port)
	names := []string{"www.example.com.", "big.example.com.", "nope.example.com.", "example.com.", "mid.example.com."}
	types := []uint16{mdns.TypeA, mdns.TypeTXT, mdns.TypeA, mdns.TypeSOA, mdns.TypeTXT}
	want := map[uint16]struct {
		name  string
		rcode int
		n     int
	}{}
	var all []byte
	for i := 0; i < 20; i++ {
		m := new(mdns.Msg)
		m.SetQuestion(names[i%len(names)], types[i%len(types)])
		m.Id = uint16(1000 + i*7)
		rcode, n := mdns.RcodeSuccess, map[int]int{0: 1, 1: 60, 2: 0, 3: 1, 4: 11}[i%len(names)]
		if i%len(names) == 2 {
			rcode = mdns.RcodeNameError
		}
		want[m.Id] = struct {
			name  string
			rcode int
			n     int
		}{names[i%len(names)], rcode, n}
		all = append(all, tcpQuery(t, m)...)
	}
	c.SetDeadline(time.Now().Add(5 * time.Second))
	// All 20 queries back to back, in one write.
	if _, err := c.Write(all); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 20; i++ {
		r, err := readTCPMsg(c)
		if err != nil {
			t.Fatalf("answer %d: %v", i, err)
		}
		w, ok := want[r.Id]
		if !ok {
			t.Fatalf("answer %d: unknown or repeated id %d", i, r.Id)
		}
		delete(want, r.Id)
		if len(r.Question) != 1 || r.Question[0].Name != w.name || r.Rcode != w.rcode || len(r.Answer) != w.n || r.Truncated {
			t.Errorf("answer %d (id %d): want %s rcode %d with %d RRs, got\n%v", i, r.Id, w.name, w.rcode, w.n, r)
		}
	}
	// The connection is still usable afterwards.
	if r, err := exchangeTCP(c, "www.example.com.", mdns.TypeA); err != nil || len(r.Answer) != 1 {
		t.Errorf("query after the pipelined ones: %v %v", r, err)
	}
}

// waitClosed reads from c until the peer closes it or the deadline passes,
// and returns how long that took.
func waitClosed(t *testing.T, c net.Conn, within time.Duration) (time.Duration, bool) {
	t.Helper()
	start := time.Now()
	c.SetReadDeadline(start.Add(within))
	buf := make([]byte, 512)
	for {
		_, err := c.Read(buf)
		if err == nil {
			continue
		}
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return time.Since(start), false
		}
		// EOF or a reset: closed by the server.
		return time.Since(start), errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, net.ErrClosed) || isReset(err)
	}
}

func isReset(err error) bool {
	var se *os.SyscallError
	return errors.As(err, &se) && errors.Is(se.Err, syscall.ECONNRESET)
}

// TestTCPIdleTimeout: the server closes a connection that stays idle
// longer than tcp.idle_timeout (RFC 7766 §6.2.3), both before the first
// query and between queries.
func TestTCPIdleTimeout(t *testing.T) {
	s := startSizes(t, "tcp: {idle_timeout: 1s}\n")
	var wg sync.WaitGroup
	for _, first := range []bool{false, true} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := dialTCP(t, s.Port)
			if first {
				if r, err := exchangeTCP(c, "www.example.com.", mdns.TypeA); err != nil || len(r.Answer) != 1 {
					t.Errorf("query before idling: %v %v", r, err)
					return
				}
			}
			d, closed := waitClosed(t, c, 4*time.Second)
			if !closed {
				t.Errorf("query first=%v: connection still open after %v idle", first, d)
			} else if d < 500*time.Millisecond || d > 3*time.Second {
				t.Errorf("query first=%v: closed after %v idle, want about 1s", first, d)
			}
		}()
	}
	wg.Wait()
}

// TestTCPMaxConnections: with tcp.max_connections 3, a 4th concurrent
// connection is served, the longest-idle of the 3 closed to make room
// (RFC 7766 §6.2.3), the other two still served.
func TestTCPMaxConnections(t *testing.T) {
	s := startSizes(t, "tcp: {max_connections: 3}\n")
	var held []net.Conn
	for i := 0; i < 3; i++ {
		c := dialTCP(t, s.Port)
		// A query answered proves the server holds the connection.
		if r, err := exchangeTCP(c, "www.example.com.", mdns.TypeA); err != nil || len(r.Answer) != 1 {
			t.Fatalf("connection %d: %v %v", i+1, r, err)
		}
		held = append(held, c)
	}
	fourth := dialTCP(t, s.Port)
	if r, err := exchangeTCP(fourth, "www.example.com.", mdns.TypeA); err != nil || len(r.Answer) != 1 {
		t.Fatalf("4th connection at the limit not served: %v %v", r, err)
	}
	if _, closed := waitClosed(t, held[0], 2*time.Second); !closed {
		t.Fatal("the longest-idle connection was not closed for the 4th")
	}
	for i, c := range append(held[1:], fourth) {
		if r, err := exchangeTCP(c, "www.example.com.", mdns.TypeA); err != nil || len(r.Answer) != 1 {
			t.Fatalf("connection %d after the 4th came in: %v %v", i+2, r, err)
		}
	}
}
