package dns

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"os"
	"testing"
	"time"

	mdns "github.com/miekg/dns"
)

// tcpServer serves example.com on 127.0.0.1 with the given limits and
// returns its address.
func tcpServer(t *testing.T, max, perClient int) string {
	t.Helper()
	return startTCPServer(t, max, perClient).LocalAddrs()[0]
}

func startTCPServer(t *testing.T, max, perClient int) *Server {
	t.Helper()
	s := &Server{Handler: testHandler(t, "example.com"), Addrs: []string{"127.0.0.1:0"}, MaxTCPConns: max, MaxTCPConnsPerClient: perClient, UDPWorkers: 1}
	if err := s.Listen(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { s.Serve(); close(done) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		s.Shutdown(ctx)
		<-done
	})
	return s
}

// dialFrom opens a TCP connection to addr from the loopback address from.
func dialFrom(t *testing.T, from, addr string) net.Conn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}, Timeout: 2 * time.Second}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// ask sends one query on c and returns the answer, or the error.
func ask(c net.Conn) (*mdns.Msg, error) {
	m := new(mdns.Msg)
	m.SetQuestion("www.example.com.", mdns.TypeA)
	wire, _ := m.Pack()
	c.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := c.Write(append(binary.BigEndian.AppendUint16(nil, uint16(len(wire))), wire...)); err != nil {
		return nil, err
	}
	var l [2]byte
	if _, err := io.ReadFull(c, l[:]); err != nil {
		return nil, err
	}
	buf := make([]byte, binary.BigEndian.Uint16(l[:]))
	if _, err := io.ReadFull(c, buf); err != nil {
		return nil, err
	}
	r := new(mdns.Msg)
	return r, r.Unpack(buf)
}

// closedWithin says whether the server closed c within d (a read ends in
// EOF or a reset rather than the deadline).
func closedWithin(c net.Conn, d time.Duration) bool {
	c.SetReadDeadline(time.Now().Add(d))
	_, err := c.Read(make([]byte, 1))
	return err != nil && !errors.Is(err, os.ErrDeadlineExceeded)
}

// At the connection limit, a new client gets its answer: the longest-idle
// connection is closed for it, the others stay.
func TestTCPLimitEvictsLongestIdle(t *testing.T) {
	addr := tcpServer(t, 4, 0)
	var idle []net.Conn
	for i := 0; i < 4; i++ {
		idle = append(idle, dialFrom(t, "127.0.0.1", addr))
	}
	// The first has asked once: its idle time starts after the answer,
	// later than the second's, which becomes the longest-idle.
	if _, err := ask(idle[0]); err != nil {
		t.Fatal(err)
	}
	r, err := ask(dialFrom(t, "127.0.0.2", addr))
	if err != nil || len(r.Answer) != 1 {
		t.Fatalf("the fifth client got no answer: %v %v", r, err)
	}
	if !closedWithin(idle[1], 2*time.Second) {
		t.Error("the longest-idle connection is still open")
	}
	for _, i := range []int{0, 2, 3} {
		if closedWithin(idle[i], 50*time.Millisecond) {
			t.Errorf("connection %d was closed; only the longest-idle should be", i)
		}
	}
}

// Above TCPPressurePercent of the limit, a new connection closes the
// longest-idle one if it has been idle TCPPressureIdleTimeout, though the
// limit is not reached.
func TestTCPPressureClosesOldIdle(t *testing.T) {
	s := startTCPServer(t, 4, 0) // pressure from 3 connections
	addr := s.LocalAddrs()[0]
	var idle []net.Conn
	for i := 0; i < 3; i++ {
		c := dialFrom(t, "127.0.0.1", addr)
		if _, err := ask(c); err != nil {
			t.Fatal(err)
		}
		idle = append(idle, c)
	}
	// Make the second look idle for longer than the pressure timeout
	// (rather than wait for it).
	s.mu.Lock()
	for c, tc := range s.conns {
		if c.RemoteAddr().String() == idle[1].LocalAddr().String() {
			tc.idleSince.Store(time.Now().Add(-TCPPressureIdleTimeout - time.Second).UnixNano())
		}
	}
	s.mu.Unlock()
	if _, err := ask(dialFrom(t, "127.0.0.2", addr)); err != nil {
		t.Fatal(err)
	}
	if !closedWithin(idle[1], 2*time.Second) {
		t.Error("the connection idle past the pressure timeout is still open")
	}
	for _, i := range []int{0, 2} {
		if closedWithin(idle[i], 50*time.Millisecond) {
			t.Errorf("connection %d, idle for less than %v, was closed", i, TCPPressureIdleTimeout)
		}
	}
}

// One client address gets at most MaxTCPConnsPerClient connections;
// another address still gets in.
func TestTCPPerClientCap(t *testing.T) {
	addr := tcpServer(t, 100, 2)
	a, b := dialFrom(t, "127.0.0.1", addr), dialFrom(t, "127.0.0.1", addr)
	third := dialFrom(t, "127.0.0.1", addr)
	if !closedWithin(third, 2*time.Second) {
		t.Error("a third connection from 127.0.0.1 was kept (cap 2)")
	}
	for _, c := range []net.Conn{a, b, dialFrom(t, "127.0.0.2", addr)} {
		if r, err := ask(c); err != nil || len(r.Answer) != 1 {
			t.Errorf("%s: no answer within the cap: %v", c.LocalAddr(), err)
		}
	}
	// A connection that ends gives its place back.
	a.Close()
	deadline := time.Now().Add(2 * time.Second)
	for {
		c := dialFrom(t, "127.0.0.1", addr)
		if _, err := ask(c); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("a closed connection's place was not given back")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// A query begun must be complete within TCPMessageTimeout, however long
// the idle timeout: a sender trickling a byte every 300ms is cut.
func TestTCPMessageTimeout(t *testing.T) {
	for _, tc := range []struct {
		name  string
		first []byte // sent at once
	}{
		{"after the length prefix", []byte{0, 30}},
		{"after one byte of the prefix", []byte{0}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			addr := tcpServer(t, 0, 0)
			c := dialFrom(t, "127.0.0.1", addr)
			start := time.Now()
			if _, err := c.Write(tc.first); err != nil {
				t.Fatal(err)
			}
			var cut time.Duration
			for i := 0; i < 30 && cut == 0; i++ {
				if closedWithin(c, 300*time.Millisecond) {
					cut = time.Since(start)
				} else if _, err := c.Write([]byte{1}); err != nil {
					cut = time.Since(start)
				}
			}
			if cut == 0 || cut > TCPMessageTimeout+500*time.Millisecond {
				t.Fatalf("the trickling sender was cut after %v (0: never); want within %v", cut, TCPMessageTimeout)
			}
		})
	}
}

func TestClientKey(t *testing.T) {
	for _, tc := range []struct{ addr, want string }{
		{"192.0.2.7", "192.0.2.7"},
		{"::ffff:192.0.2.7", "192.0.2.7"},
		{"2001:db8:1:2:aaaa::1", "2001:db8:1:2::"},
		{"2001:db8:1:2:bbbb::9", "2001:db8:1:2::"},
		{"fe80::1%eth0", "fe80::"},
	} {
		a := &net.TCPAddr{IP: net.ParseIP(tc.addr), Port: 53}
		if ip, zone, ok := splitZone(tc.addr); ok {
			a = &net.TCPAddr{IP: net.ParseIP(ip), Zone: zone, Port: 53}
		}
		if got := clientKey(a).String(); got != tc.want {
			t.Errorf("clientKey(%s) = %s, want %s", tc.addr, got, tc.want)
		}
	}
}

func splitZone(s string) (string, string, bool) {
	for i := range s {
		if s[i] == '%' {
			return s[:i], s[i+1:], true
		}
	}
	return "", "", false
}
