package e2e

import (
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// udpTarget answers every datagram on a fixed ip:port with "pong " and
// the datagram, until stopped; started again it serves the same address.
// It counts the datagrams it gets and remembers the last.
type udpTarget struct {
	t    *testing.T
	addr string
	hits atomic.Int64

	mu   sync.Mutex
	pc   net.PacketConn
	last string
}

func newUDPTarget(t *testing.T, addr string) *udpTarget {
	u := &udpTarget{t: t, addr: addr}
	u.Start()
	t.Cleanup(u.Stop)
	return u
}

// Start serves on the target's address.
func (u *udpTarget) Start() {
	u.t.Helper()
	pc, err := net.ListenPacket("udp", u.addr)
	if err != nil {
		u.t.Fatalf("listening on udp %s: %v", u.addr, err)
	}
	u.mu.Lock()
	u.pc = pc
	u.mu.Unlock()
	go func() {
		buf := make([]byte, 2048)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			u.hits.Add(1)
			u.mu.Lock()
			u.last = string(buf[:n])
			u.mu.Unlock()
			pc.WriteTo(append([]byte("pong "), buf[:n]...), from)
		}
	}()
}

// Stop closes the socket: the port answers ICMP port unreachable.
func (u *udpTarget) Stop() {
	u.mu.Lock()
	pc := u.pc
	u.pc = nil
	u.mu.Unlock()
	if pc != nil {
		pc.Close()
	}
}

func (u *udpTarget) lastDatagram() string {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.last
}

// UDP checks (octoDNS's `protocol: UDP`): a responder that replies with
// the expected text is up and served; a record that expects a text the
// reply lacks is down (the backup is served); once the responder stops,
// the port is unreachable and the value leaves the answers within
// interval × fall + timeout; started again it comes back.
func TestHealthUDP(t *testing.T) {
	port, ls := sharedPort(t, "127.0.0.11", hcBackup)
	ls["127.0.0.11"].Close() // the port is probed over UDP: the TCP listener only reserved it
	addr := net.JoinHostPort("127.0.0.11", fmt.Sprint(port))
	u := newUDPTarget(t, addr)
	sentinel(t, ls[hcBackup], true)
	hc := fmt.Sprintf("protocol: UDP, port: %d", port)
	s := startHealth(t, hcZone(
		hcRecord("udp", []string{"127.0.0.11"}, 1, hc, `, payload: "ping\n", expect: pong`),
		hcRecord("miss", []string{"127.0.0.11"}, 1, hc, ", payload: ping, expect: all-good"),
	))
	target := hcTarget("UDP", "127.0.0.11", port, "")

	s.WaitLog(healthRE(target, "up"), hcUpWithin)
	if ans := s.Dig("udp.example.com", "A"); !exactly("127.0.0.11")(ans) {
		t.Fatalf("a UDP service that replies: not served:\n%s", ans.Raw)
	}
	waitDig(t, s, "miss.example.com", time.Now(), hcDownWithin, "a reply without the expected text: down", exactly(hcBackup))
	s.WaitLog(healthRE(target, "down")+`.*does not contain \\"all-good\\"`, time.Second)

	stopped := time.Now()
	u.Stop()
	_, took := waitDig(t, s, "udp.example.com", stopped, hcDownWithin, "a stopped UDP service leaves the answers", exactly(hcBackup))
	t.Logf("UDP: down %v after the responder stopped (bound %v)", took.Round(time.Millisecond), hcInterval*hcFall+hcTimeout)
	s.WaitLog(healthRE(target, "down")+`.*port unreachable \(connection refused\)`, time.Second)

	started := time.Now()
	u.Start()
	_, took = waitDig(t, s, "udp.example.com", started, hcUpWithin, "the UDP service comes back", exactly("127.0.0.11"))
	t.Logf("UDP: back %v after the responder restarted", took.Round(time.Millisecond))
	if got := u.lastDatagram(); !strings.HasPrefix(got, "ping") {
		t.Errorf("the responder's last datagram is %q, want a payload", got)
	}
}
