package e2e

import (
	wire "encoding/binary"
	"fmt"
	"io"
	"math/rand"
	"net"
	"testing"
	"time"

	mdns "github.com/miekg/dns"
)

// What the server may do with a packet.
const (
	wantFormErr  = "FORMERR"
	wantNotImp   = "NOTIMP"
	wantDrop     = "drop"
	wantErrOrNot = "an error or drop" // FORMERR, NOTIMP or nothing
)

// hdr builds a 12-byte header: id 0x4242, the given flags and counts.
func rawHeader(flags uint16, qd, an, ns, ar uint16) []byte {
	b := make([]byte, 12)
	wire.BigEndian.PutUint16(b, 0x4242)
	wire.BigEndian.PutUint16(b[2:], flags)
	wire.BigEndian.PutUint16(b[4:], qd)
	wire.BigEndian.PutUint16(b[6:], an)
	wire.BigEndian.PutUint16(b[8:], ns)
	wire.BigEndian.PutUint16(b[10:], ar)
	return b
}

func joinBytes(parts ...[]byte) []byte {
	var out []byte
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

var (
	qWWW    = []byte("\x03www\x07example\x03com\x00\x00\x01\x00\x01") // www.example.com A IN
	optRR   = []byte("\x00\x00\x29\x04\xd0\x00\x00\x00\x00\x00\x00")  // OPT, 1232, v0, no options
	optBadL = []byte("\x00\x00\x29\x04\xd0\x00\x00\x00\x00\x00\x04\x00\x0a\x00\x08")
)

// malformedCases are packets a server meets on the Internet. A query it
// cannot parse gets FORMERR (RFC 1035 §4.1.1, RFC 6891 §6.1.1); what is
// not a query at all (too short to have a header, or a response: QR set)
// gets nothing, so the server is no reflector. Never a crash.
var malformedCases = []struct {
	name string
	pkt  []byte
	want string
}{
	{"empty", []byte{}, wantDrop},
	{"shorter than a header", []byte{0x42, 0x42, 0x01, 0x00, 0x00}, wantDrop},
	{"a response (QR set)", joinBytes(rawHeader(0x8400, 1, 0, 0, 0), qWWW), wantDrop},
	{"a response with garbage", joinBytes(rawHeader(0x8000, 7, 7, 7, 7), []byte("garbage")), wantDrop},
	{"no question", rawHeader(0x0000, 0, 0, 0, 0), wantFormErr},
	{"two questions", joinBytes(rawHeader(0x0000, 2, 0, 0, 0), qWWW, qWWW), wantFormErr},
	{"QDCOUNT 2, one question", joinBytes(rawHeader(0x0000, 2, 0, 0, 0), qWWW), wantFormErr},
	{"QDCOUNT 65535", joinBytes(rawHeader(0x0000, 0xffff, 0, 0, 0), qWWW), wantFormErr},
	{"question name cut", joinBytes(rawHeader(0x0000, 1, 0, 0, 0), []byte("\x03www\x07exa")), wantFormErr},
	{"question without type and class", joinBytes(rawHeader(0x0000, 1, 0, 0, 0), []byte("\x03www\x07example\x03com\x00")), wantFormErr},
	{"question with half the class", joinBytes(rawHeader(0x0000, 1, 0, 0, 0), []byte("\x03www\x07example\x03com\x00\x00\x01\x00")), wantFormErr},
	{"compression pointer in the question", joinBytes(rawHeader(0x0000, 1, 0, 0, 0), []byte("\x03www\xc0\x0c\x00\x01\x00\x01")), wantFormErr},
	{"pointer loop in the question", joinBytes(rawHeader(0x0000, 1, 0, 0, 0), []byte("\xc0\x0c\x00\x01\x00\x01")), wantFormErr},
	{"reserved label type", joinBytes(rawHeader(0x0000, 1, 0, 0, 0), []byte("\x43www\x00\x00\x01\x00\x01")), wantFormErr},
	{"name longer than 255", joinBytes(rawHeader(0x0000, 1, 0, 0, 0), longName(), []byte("\x00\x01\x00\x01")), wantFormErr},
	{"trailing garbage", joinBytes(rawHeader(0x0000, 1, 0, 0, 0), qWWW, []byte("junk")), wantFormErr},
	{"ANCOUNT without records", joinBytes(rawHeader(0x0000, 1, 1, 0, 0), qWWW), wantFormErr},
	{"ARCOUNT 65535 without records", joinBytes(rawHeader(0x0000, 1, 0, 0, 0xffff), qWWW), wantFormErr},
	{"additional record cut", joinBytes(rawHeader(0x0000, 1, 0, 0, 1), qWWW, optRR[:7]), wantFormErr},
	{"two OPT records", joinBytes(rawHeader(0x0000, 1, 0, 0, 2), qWWW, optRR, optRR), wantFormErr},
	{"OPT option longer than its RDATA", joinBytes(rawHeader(0x0000, 1, 0, 0, 1), qWWW, optBadL), wantFormErr},
	{"OPT not at the root", joinBytes(rawHeader(0x0000, 1, 0, 0, 1), qWWW, []byte("\x01a\x00\x00\x29\x04\xd0\x00\x00\x00\x00\x00\x00")), wantFormErr},
	{"qtype OPT", joinBytes(rawHeader(0x0000, 1, 0, 0, 0), []byte("\x03www\x07example\x03com\x00\x00\x29\x00\x01")), wantFormErr},
	{"opcode UPDATE", joinBytes(rawHeader(5<<11, 1, 0, 0, 0), qWWW), wantNotImp},
	{"opcode 15", joinBytes(rawHeader(15<<11, 1, 0, 0, 0), qWWW), wantNotImp},
	{"opcode NOTIFY, garbage after the header", joinBytes(rawHeader(4<<11, 1, 3, 0, 0), []byte("\xff\xff\xff")), wantNotImp},
	{"all ones but QR", []byte("\x42\x42\x7f\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff"), wantNotImp},
	{"all ones but QR and opcode", []byte("\x42\x42\x07\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff"), wantFormErr},
	{"ASCII garbage", []byte("GET / HTTP/1.1\r\nHost: example.com\r\n\r\n"), wantErrOrNot},
}

func longName() []byte {
	var b []byte
	for i := 0; i < 5; i++ {
		b = append(b, 63)
		for j := 0; j < 63; j++ {
			b = append(b, 'a')
		}
	}
	return append(b, 0)
}

// checkReply checks a reply (nil: none) against what the case wants.
func checkReply(t *testing.T, name string, pkt, reply []byte, want string) {
	t.Helper()
	if reply == nil {
		if want != wantDrop && want != wantErrOrNot {
			t.Errorf("%s: no reply, want %s", name, want)
		}
		return
	}
	if want == wantDrop {
		t.Errorf("%s: reply % x, want none", name, reply)
		return
	}
	if len(reply) < 12 {
		t.Errorf("%s: reply shorter than a header: % x", name, reply)
		return
	}
	flags := wire.BigEndian.Uint16(reply[2:])
	rcode := mdns.RcodeToString[int(flags&0xf)]
	wantRcode := want
	if want == wantErrOrNot && rcode == wantNotImp {
		wantRcode = wantNotImp
	} else if want == wantErrOrNot {
		wantRcode = wantFormErr
	}
	if flags&0x8000 == 0 || rcode != wantRcode {
		t.Errorf("%s: reply flags %#04x (%s), want QR and %s", name, flags, rcode, wantRcode)
	}
	if len(pkt) >= 2 && (reply[0] != pkt[0] || reply[1] != pkt[1]) {
		t.Errorf("%s: reply id % x, want the query's % x", name, reply[:2], pkt[:2])
	}
	if flags&0x0400 != 0 {
		t.Errorf("%s: AA on an error", name)
	}
	// The reply must itself be a well-formed message.
	m := new(mdns.Msg)
	if err := m.Unpack(reply); err != nil {
		t.Errorf("%s: reply does not parse: %v (% x)", name, err, reply)
	}
}

// udpExchange sends pkt, then a good query with ID 0x7777 on the same
// socket, and returns the reply to pkt if one came before the good
// query's answer or shortly after it. The server answers in order of
// arrival per worker, so a reply to pkt is not missed.
func udpExchange(t *testing.T, port int, pkt []byte) []byte {
	t.Helper()
	c, err := net.Dial("udp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write(pkt); err != nil {
		t.Fatal(err)
	}
	probe := new(mdns.Msg)
	probe.SetQuestion("www.example.com.", mdns.TypeA)
	probe.Id = 0x7777
	pb, _ := probe.Pack()
	if _, err := c.Write(pb); err != nil {
		t.Fatal(err)
	}
	var reply []byte
	gotProbe := false
	buf := make([]byte, 65535)
	c.SetReadDeadline(time.Now().Add(3 * time.Second))
	for {
		n, err := c.Read(buf)
		if err != nil {
			if !gotProbe {
				t.Fatalf("no answer to a good query sent after the bad packet: %v", err)
			}
			return reply
		}
		if n >= 2 && buf[0] == 0x77 && buf[1] == 0x77 {
			gotProbe = true
			if reply != nil {
				return reply
			}
			// A reply to pkt would have been sent before; allow a
			// little for a second worker to have been slower.
			c.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
			continue
		}
		if reply != nil {
			t.Fatalf("two replies to one packet")
		}
		reply = append([]byte(nil), buf[:n]...)
	}
}

// TestMalformedUDP: each malformed packet over UDP gets FORMERR (or
// NOTIMP, or nothing, as the case says), and the server keeps answering.
func TestMalformedUDP(t *testing.T) {
	s := Start(t, Options{ZonesFrom: answerZones})
	for _, c := range malformedCases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			checkReply(t, c.name, c.pkt, udpExchange(t, s.Port, c.pkt), c.want)
		})
	}
	t.Cleanup(func() { stillServes(t, s) })
}

// TestMalformedTCP: the same packets over TCP, each on its own
// connection: FORMERR or NOTIMP on the connection, or the connection
// closed for what deserves no answer. Also broken framing: a zero length,
// a length longer than what follows, a connection closed mid-message.
func TestMalformedTCP(t *testing.T) {
	s := Start(t, Options{ZonesFrom: answerZones})
	for _, c := range malformedCases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			conn := dialTCP(t, s.Port)
			conn.SetDeadline(time.Now().Add(3 * time.Second))
			framed := append(wire.BigEndian.AppendUint16(nil, uint16(len(c.pkt))), c.pkt...)
			if _, err := conn.Write(framed); err != nil {
				t.Fatal(err)
			}
			var l [2]byte
			var reply []byte
			if _, err := io.ReadFull(conn, l[:]); err == nil {
				reply = make([]byte, wire.BigEndian.Uint16(l[:]))
				if _, err := io.ReadFull(conn, reply); err != nil {
					t.Fatalf("reply cut: %v", err)
				}
			} else if err != io.EOF && !isReset(err) {
				t.Fatalf("neither a reply nor a close: %v", err)
			}
			checkReply(t, c.name, c.pkt, reply, c.want)
			if reply != nil {
				// The connection stays usable after an error reply.
				if r, err := exchangeTCP(conn, "www.example.com.", mdns.TypeA); err != nil || len(r.Answer) != 1 {
					t.Errorf("query after the error reply: %v %v", r, err)
				}
			}
		})
	}
	t.Run("framing", func(t *testing.T) {
		frames := map[string][]byte{
			"zero length":             {0, 0},
			"length longer than data": joinBytes([]byte{0x01, 0x00}, rawHeader(0, 1, 0, 0, 0), qWWW),
			"one byte of the length":  {0x00},
		}
		for name, f := range frames {
			conn := dialTCP(t, s.Port)
			if _, err := conn.Write(f); err != nil {
				t.Fatal(err)
			}
			if tc, ok := conn.(*net.TCPConn); ok {
				tc.CloseWrite() // the client is done: the server must not wait for more
			}
			if d, closed := waitClosed(t, conn, 3*time.Second); !closed {
				t.Errorf("%s: connection still open after %v", name, d)
			}
		}
	})
	t.Cleanup(func() { stillServes(t, s) })
}

// TestRandomPackets: thousands of random mutations of good queries, sent
// without waiting, never crash the server; it answers dig afterwards.
func TestRandomPackets(t *testing.T) {
	s := Start(t, Options{ZonesFrom: answerZones})
	rng := rand.New(rand.NewSource(1))
	seeds := [][]byte{}
	for _, q := range []struct {
		name string
		t    uint16
	}{{"www.example.com.", mdns.TypeA}, {"x.dn.example.com.", mdns.TypeA}, {"a.wild.example.com.", mdns.TypeTXT}, {"example.com.", mdns.TypeANY}} {
		m := new(mdns.Msg)
		m.SetQuestion(q.name, q.t)
		m.SetEdns0(1232, true)
		b, _ := m.Pack()
		seeds = append(seeds, b)
	}
	u, err := net.Dial("udp", fmt.Sprintf("127.0.0.1:%d", s.Port))
	if err != nil {
		t.Fatal(err)
	}
	defer u.Close()
	tc := dialTCP(t, s.Port)
	// Read and discard whatever comes back, so no buffer fills.
	go io.Copy(io.Discard, u)
	go io.Copy(io.Discard, tc)
	for i := 0; i < 3000; i++ {
		p := append([]byte(nil), seeds[rng.Intn(len(seeds))]...)
		switch rng.Intn(4) {
		case 0: // flip bytes
			for j := 0; j < 1+rng.Intn(4); j++ {
				p[rng.Intn(len(p))] = byte(rng.Intn(256))
			}
		case 1: // cut
			p = p[:rng.Intn(len(p))]
		case 2: // random counts, QR cleared
			for j := 4; j < 12; j++ {
				p[j] = byte(rng.Intn(256))
			}
			p[2] &^= 0x80
		case 3: // pure noise
			p = make([]byte, rng.Intn(600))
			rng.Read(p)
		}
		u.Write(p)
		if i%10 == 0 {
			// Over TCP too; a dropped connection is fine, redial.
			if _, err := tc.Write(append(wire.BigEndian.AppendUint16(nil, uint16(len(p))), p...)); err != nil {
				tc = dialTCP(t, s.Port)
				go io.Copy(io.Discard, tc)
			}
		}
	}
	stillServes(t, s)
}

// stillServes checks the process is alive and answers dig over UDP and TCP.
func stillServes(t *testing.T, s *Server) {
	t.Helper()
	if s.Exited() {
		t.Fatalf("the server exited:\n%s", s.Log())
	}
	for _, tr := range []string{"+notcp", "+tcp"} {
		a := s.Dig("www.example.com", "A", tr)
		if a.Status != "NOERROR" || len(a.Answer) != 1 {
			t.Fatalf("%s after malformed packets:\n%s", tr, a.Raw)
		}
	}
}
