package probes

import (
	"bytes"
	"context"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/smartdns/smartdns/pool"
)

// udpServer answers every datagram on ip with reply(datagram); a nil
// reply (not an empty one) answers nothing. It records what it got.
type udpServer struct {
	pc   net.PacketConn
	port int

	mu  sync.Mutex
	got [][]byte
}

func startUDP(t *testing.T, ip string, reply func([]byte) []byte) *udpServer {
	t.Helper()
	pc, err := net.ListenPacket("udp", net.JoinHostPort(ip, "0"))
	if err != nil {
		t.Fatalf("listening on %s: %v", ip, err)
	}
	s := &udpServer{pc: pc, port: pc.LocalAddr().(*net.UDPAddr).Port}
	t.Cleanup(func() { pc.Close() })
	go func() {
		buf := make([]byte, maxDatagram)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			d := bytes.Clone(buf[:n])
			s.mu.Lock()
			s.got = append(s.got, d)
			s.mu.Unlock()
			if r := reply(d); r != nil {
				pc.WriteTo(r, from)
			}
		}
	}()
	return s
}

func (s *udpServer) last() ([]byte, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.got) == 0 {
		return nil, false
	}
	return s.got[len(s.got)-1], true
}

func echo(d []byte) []byte { return d }

func TestUDPChecks(t *testing.T) {
	echoSrv := startUDP(t, "127.0.0.1", echo)
	status := startUDP(t, "127.0.0.1", func(d []byte) []byte {
		if string(d) == "status\n" {
			return []byte("ok: serving\n")
		}
		return []byte("? unknown command\n")
	})
	silent := startUDP(t, "127.0.0.1", func([]byte) []byte { return nil })
	local := startUDP(t, "127.0.0.1", echo)
	// A port nothing listens on: the kernel answers port unreachable.
	closed := startUDP(t, "127.0.0.1", echo)
	closedPort := closed.port
	closed.pc.Close()

	tests := []struct {
		name    string
		check   pool.Check
		timeout time.Duration // of the context; 2s when 0
		want    string        // "" for healthy, else in the error
		sent    *udpServer    // when set, must have received the payload
	}{
		{name: "echo", check: pool.Check{Protocol: "UDP", Address: "127.0.0.1", Port: echoSrv.port, Payload: "ping"}, sent: echoSrv},
		{name: "empty datagram", check: pool.Check{Protocol: "UDP", Address: "127.0.0.1", Port: echoSrv.port}, sent: echoSrv},
		{name: "binary payload", check: pool.Check{Protocol: "UDP", Address: "127.0.0.1", Port: echoSrv.port, Payload: "\x00\xff\x01",
			ExpectReply: "\xff"}, sent: echoSrv},
		{name: "expect matches", check: pool.Check{Protocol: "UDP", Address: "127.0.0.1", Port: status.port, Payload: "status\n",
			ExpectReply: "ok: serving"}, sent: status},
		{name: "expect does not match", check: pool.Check{Protocol: "UDP", Address: "127.0.0.1", Port: status.port, Payload: "stats\n",
			ExpectReply: "ok: serving"}, want: `UDP reply (18 bytes) does not contain "ok: serving"`},
		{name: "any reply without expect", check: pool.Check{Protocol: "UDP", Address: "127.0.0.1", Port: status.port, Payload: "stats\n"}},
		{name: "closed port", check: pool.Check{Protocol: "UDP", Address: "127.0.0.1", Port: closedPort, Payload: "ping"},
			want: "port unreachable (connection refused)"},
		{name: "no answer", check: pool.Check{Protocol: "UDP", Address: "127.0.0.1", Port: silent.port, Payload: "ping"},
			timeout: 200 * time.Millisecond, want: "no UDP reply from 127.0.0.1:"},
		// A host name (a CNAME value) is resolved at check time.
		{name: "by name", check: pool.Check{Protocol: "UDP", Address: "localhost", Port: local.port, Payload: "hi"}, sent: local},
		{name: "no port", check: pool.Check{Protocol: "UDP", Address: "127.0.0.1"}, want: "without a port"},
	}
	k := newChecker(nil)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			timeout := tc.timeout
			if timeout == 0 {
				timeout = 2 * time.Second
			}
			ctx, cancel := context.WithTimeout(context.Background(), timeout)
			defer cancel()
			start := time.Now()
			err := k.check(ctx, &tc.check)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("want healthy, got %v", err)
			case tc.want != "" && err == nil:
				t.Fatal("want unhealthy, got healthy")
			case tc.want != "" && !strings.Contains(err.Error(), tc.want):
				t.Fatalf("error %q does not mention %q", err, tc.want)
			}
			// Port unreachable is known at once, not at the timeout.
			if strings.Contains(tc.want, "unreachable") && time.Since(start) > timeout/2 {
				t.Errorf("a closed port took %v to be found down", time.Since(start))
			}
			if tc.sent != nil {
				got, ok := tc.sent.last()
				if !ok || string(got) != tc.check.Payload {
					t.Errorf("the server received %q (any: %v), want %q", got, ok, tc.check.Payload)
				}
			}
		})
	}
}

// The UDP settings are part of a target's identity, and leave the keys
// of other checks (which name their saved states) as they were.
func TestUDPKey(t *testing.T) {
	base := pool.Check{Protocol: "UDP", Address: "192.0.2.1", Port: 5000, Interval: 10 * time.Second, Timeout: 2 * time.Second, Rise: 2, Fall: 3}
	keys := map[string]string{}
	for name, c := range map[string]pool.Check{
		"none":           base,
		"payload":        func() pool.Check { c := base; c.Payload = "ping"; return c }(),
		"expect":         func() pool.Check { c := base; c.ExpectReply = "ping"; return c }(),
		"both":           func() pool.Check { c := base; c.Payload, c.ExpectReply = "ping", "pong"; return c }(),
		"payload quoted": func() pool.Check { c := base; c.Payload = `ping","pong`; return c }(),
	} {
		k := c.Key()
		if other, dup := keys[k]; dup {
			t.Errorf("%s and %s have the same key %q", name, other, k)
		}
		keys[k] = name
	}
	tcp := pool.Check{Protocol: "TCP", Address: "192.0.2.1", Port: 443, Interval: 10 * time.Second, Timeout: 2 * time.Second, Rise: 2, Fall: 3}
	if got, want := tcp.Key(), `TCP|192.0.2.1|443|||10s|2s|2|3|[]|""|false||0`; got != want {
		t.Errorf("TCP key %q, want %q as before UDP checks", got, want)
	}
}
