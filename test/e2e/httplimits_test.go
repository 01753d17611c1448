package e2e

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The HTTP listener's connection limits end to end (docs/security.md, "The
// HTTP listener"). The test opens 2,000 idle TCP connections to the HTTP
// port, first all from 127.0.0.1 (one client: its 32 are held, the rest
// closed at once), then from 100 loopback addresses (many clients: 256
// are held). Each time the server holds no more file descriptors than the
// limits allow, DNS over TCP still answers, and /healthz answers from a
// new connection: from another address at once in the first case; in
// the second once the idle connections time out (5 s to send headers).

// idleConns is how many idle connections each phase opens.
const idleConns = 2000

func TestHTTPListenerLimits(t *testing.T) {
	raiseNoFile(t, 2*idleConns+256)
	s := Start(t, Options{ZonesFrom: "../../examples/zones", Extra: "http: 127.0.0.1:0\n"})
	waitReady(t, s, "http://"+s.HTTP+"/")
	base := serverFDs(t, s)

	healthz := func(src string) error {
		d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}, Timeout: 2 * time.Second}
		c := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DialContext: d.DialContext, DisableKeepAlives: true}}
		resp, err := c.Get("http://" + s.HTTP + "/healthz")
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			return fmt.Errorf("/healthz: %d", resp.StatusCode)
		}
		return nil
	}
	digTCP := func() {
		t.Helper()
		a := s.Dig("+tcp", "api.example.com", "A")
		if a.Status != "NOERROR" || len(Datas(a.Answer, "A")) != 1 {
			t.Fatalf("dig +tcp api.example.com A with the HTTP port flooded: %s %v", a.Status, a.Answer)
		}
	}

	phases := []struct {
		name    string
		src     func(i int) string
		maxHeld int // connections the server may hold (HTTPMaxConns...)
		// healthzFrom is a client outside the flood; wait says /healthz
		// answers only once the idle connections time out.
		healthzFrom string
		wait        bool
	}{
		{"one address", func(int) string { return "127.0.0.1" }, 32, "127.0.0.2", false},
		{"100 addresses", func(i int) string { return fmt.Sprintf("127.0.1.%d", 10+i%100) }, 256, "127.0.0.2", true},
	}
	for _, ph := range phases {
		t.Run(ph.name, func(t *testing.T) {
			conns := make([]net.Conn, 0, idleConns)
			defer func() {
				for _, c := range conns {
					c.Close()
				}
			}()
			for i := range idleConns {
				d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ph.src(i))}, Timeout: 2 * time.Second}
				c, err := d.Dial("tcp", s.HTTP)
				if err != nil {
					t.Fatalf("connection %d: %v", i, err)
				}
				conns = append(conns, c)
			}
			// The server closes the connections over the limits as it
			// accepts them: wait until it has caught up (its fds settle
			// under the bound), or fail with what it holds.
			bound := base + ph.maxHeld + 8 // 8: DNS over TCP and the like in flight
			deadline := time.Now().Add(4 * time.Second)
			for n := serverFDs(t, s); n > bound; n = serverFDs(t, s) {
				if time.Now().After(deadline) {
					t.Fatalf("with %d idle connections open the server holds %d file descriptors, more than %d (%d before + %d held)", idleConns, n, bound, base, ph.maxHeld)
				}
				time.Sleep(50 * time.Millisecond)
			}
			digTCP()
			if !ph.wait {
				if err := healthz(ph.healthzFrom); err != nil {
					t.Fatalf("/healthz from %s with %d idle connections from others: %v", ph.healthzFrom, idleConns, err)
				}
				return
			}
			deadline = time.Now().Add(15 * time.Second)
			for err := healthz(ph.healthzFrom); err != nil; err = healthz(ph.healthzFrom) {
				if time.Now().After(deadline) {
					t.Fatalf("/healthz never answered once the idle connections should have timed out: %v", err)
				}
				time.Sleep(100 * time.Millisecond)
			}
			digTCP()
		})
	}
}

// raiseNoFile lifts the test process's open-file limit to at least n (up
// to the hard limit), or skips.
func raiseNoFile(t *testing.T, n uint64) {
	t.Helper()
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	if lim.Cur >= n {
		return
	}
	if lim.Max < n {
		t.Skipf("RLIMIT_NOFILE hard limit %d < %d: cannot open the connections", lim.Max, n)
	}
	old := lim
	lim.Cur = n
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Setrlimit(syscall.RLIMIT_NOFILE, &old) })
}

// serverFDs counts the server's open file descriptors.
func serverFDs(t *testing.T, s *Server) int {
	t.Helper()
	ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", s.cmd.Process.Pid))
	if err != nil {
		if strings.Contains(err.Error(), "no such file") {
			t.Fatalf("the server exited:\n%s", s.Log())
		}
		t.Fatal(err)
	}
	return len(ents)
}

// TestHTTPListenerHeaderLimit: a header block over 16 KiB (plus the 4 KiB
// Go allows over) is refused with 431 rather than buffered (Go's default
// is 1 MB per connection).
func TestHTTPListenerHeaderLimit(t *testing.T) {
	s := Start(t, Options{ZonesFrom: "../../examples/zones", Extra: "http: 127.0.0.1:0\n"})
	waitReady(t, s, "http://"+s.HTTP+"/")
	for _, tt := range []struct {
		size int
		want string
	}{
		{1 << 10, "HTTP/1.1 200"},
		{64 << 10, "HTTP/1.1 431"},
	} {
		c, err := net.DialTimeout("tcp", s.HTTP, 2*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(5 * time.Second))
		fmt.Fprintf(c, "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: %s\r\nConnection: close\r\n\r\n", strings.Repeat("a", tt.size))
		line := make([]byte, 12)
		_, err = io.ReadFull(c, line)
		c.Close()
		if err != nil || string(line) != tt.want {
			t.Errorf("a %d-byte header: %q (%v), want %q", tt.size, line, err, tt.want)
		}
	}
}
