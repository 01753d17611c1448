package probes

import (
	"context"
	"crypto/tls"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/smartdns/smartdns/pool"
)

// listen binds a TCP listener on ip, port 0.
func listen(t testing.TB, ip string) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
	if err != nil {
		t.Fatalf("listening on %s: %v", ip, err)
	}
	return ln
}

func portOf(addr net.Addr) int { return addr.(*net.TCPAddr).Port }

// startHTTP serves h on ip until the test ends, with TLS (httptest's
// self-signed certificate) when tlsConf is not nil.
func startHTTP(t testing.TB, ip string, tlsConf *tls.Config, h http.Handler) (*httptest.Server, int) {
	t.Helper()
	s := httptest.NewUnstartedServer(h)
	s.Listener.Close()
	s.Listener = listen(t, ip)
	s.Config.ErrorLog = log.New(io.Discard, "", 0) // refused handshakes are expected
	if tlsConf != nil {
		s.TLS = tlsConf
		s.StartTLS()
	} else {
		s.Start()
	}
	t.Cleanup(s.Close)
	return s, portOf(s.Listener.Addr())
}

// seen records what the last request to a test server looked like.
type seen struct {
	mu     sync.Mutex
	host   string
	sni    string
	path   string
	header http.Header
}

func (s *seen) get() seen {
	s.mu.Lock()
	defer s.mu.Unlock()
	return seen{host: s.host, sni: s.sni, path: s.path, header: s.header}
}

func TestHTTPChecks(t *testing.T) {
	var got seen
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got.mu.Lock()
		got.host, got.path, got.header = r.Host, r.URL.Path, r.Header.Clone()
		if r.TLS != nil {
			got.sni = r.TLS.ServerName
		}
		got.mu.Unlock()
		switch r.URL.Path {
		case "/_dns":
			io.WriteString(w, "smartdns says OK\n")
		case "/teapot":
			w.WriteHeader(http.StatusTeapot)
		case "/big":
			// The marker lies past the 64 KiB that are read.
			io.WriteString(w, strings.Repeat("x", maxBody)+"MARKER")
		case "/moved":
			http.Redirect(w, r, "/_dns", http.StatusFound)
		default:
			http.NotFound(w, r)
		}
	})
	_, httpPort := startHTTP(t, "127.0.0.11", nil, h)
	// Record the SNI the client sent, even when the handshake fails.
	var sniMu sync.Mutex
	var lastSNI string
	_, httpsPort := startHTTP(t, "127.0.0.12", &tls.Config{
		GetConfigForClient: func(hello *tls.ClientHelloInfo) (*tls.Config, error) {
			sniMu.Lock()
			lastSNI = hello.ServerName
			sniMu.Unlock()
			return nil, nil
		},
	}, h)
	local := listen(t, "127.0.0.1")
	defer local.Close()

	closed := listen(t, "127.0.0.13")
	closedPort := portOf(closed.Addr())
	closed.Close()

	tests := []struct {
		name  string
		check pool.Check
		ok    bool
		want  string // in the error when !ok
		host  string // Host header that must arrive
		sni   string // TLS server name that must arrive
		hdr   map[string]string
	}{
		{name: "http ok", check: pool.Check{Protocol: "HTTP", Address: "127.0.0.11", Port: httpPort, Path: "/_dns"},
			ok: true, host: "127.0.0.11:" + strconv.Itoa(httpPort)},
		{name: "http host and headers", check: pool.Check{Protocol: "HTTP", Address: "127.0.0.11", Port: httpPort, Path: "/_dns",
			Host: "www.example.com", Headers: map[string]string{"X-Probe": "smartdns", "Authorization": "Bearer t"}},
			ok: true, host: "www.example.com:" + strconv.Itoa(httpPort), hdr: map[string]string{"X-Probe": "smartdns", "Authorization": "Bearer t"}},
		{name: "http host with port", check: pool.Check{Protocol: "HTTP", Address: "127.0.0.11", Port: httpPort, Path: "/_dns",
			Host: "www.example.com:80"}, ok: true, host: "www.example.com:80"},
		{name: "http 404", check: pool.Check{Protocol: "HTTP", Address: "127.0.0.11", Port: httpPort, Path: "/nope"},
			want: "HTTP status 404, want 200"},
		{name: "http expect status", check: pool.Check{Protocol: "HTTP", Address: "127.0.0.11", Port: httpPort, Path: "/teapot",
			ExpectStatus: []int{200, 418}}, ok: true},
		{name: "http redirect not followed", check: pool.Check{Protocol: "HTTP", Address: "127.0.0.11", Port: httpPort, Path: "/moved"},
			want: "HTTP status 302"},
		{name: "http expect body", check: pool.Check{Protocol: "HTTP", Address: "127.0.0.11", Port: httpPort, Path: "/_dns",
			ExpectBody: "says OK"}, ok: true},
		{name: "http body mismatch", check: pool.Check{Protocol: "HTTP", Address: "127.0.0.11", Port: httpPort, Path: "/_dns",
			ExpectBody: "all good"}, want: `does not contain "all good"`},
		{name: "http body past 64 KiB", check: pool.Check{Protocol: "HTTP", Address: "127.0.0.11", Port: httpPort, Path: "/big",
			ExpectBody: "MARKER"}, want: "does not contain"},
		{name: "http refused", check: pool.Check{Protocol: "HTTP", Address: "127.0.0.13", Port: closedPort},
			want: "connection refused"},
		{name: "https no verify, SNI is Host", check: pool.Check{Protocol: "HTTPS", Address: "127.0.0.12", Port: httpsPort, Path: "/_dns",
			Host: "www.example.com"}, ok: true, host: "www.example.com:" + strconv.Itoa(httpsPort), sni: "www.example.com"},
		{name: "https verify fails on self-signed", check: pool.Check{Protocol: "HTTPS", Address: "127.0.0.12", Port: httpsPort, Path: "/_dns",
			Host: "www.example.com", TLSVerify: true}, want: "certificate", sni: "www.example.com"},
		{name: "https no host sends no SNI for an IP", check: pool.Check{Protocol: "HTTPS", Address: "127.0.0.12", Port: httpsPort, Path: "/_dns"},
			ok: true, host: "127.0.0.12:" + strconv.Itoa(httpsPort), sni: ""},
		{name: "https expect body", check: pool.Check{Protocol: "HTTPS", Address: "127.0.0.12", Port: httpsPort, Path: "/_dns",
			ExpectBody: "smartdns"}, ok: true},
		{name: "tcp open", check: pool.Check{Protocol: "TCP", Address: "127.0.0.11", Port: httpPort}, ok: true},
		{name: "tcp closed", check: pool.Check{Protocol: "TCP", Address: "127.0.0.13", Port: closedPort}, want: "connection refused"},
		// A host name (a CNAME value) is resolved at check time.
		{name: "tcp by name", check: pool.Check{Protocol: "TCP", Address: "localhost", Port: portOf(local.Addr())}, ok: true},
		{name: "unknown protocol", check: pool.Check{Protocol: "GOPHER", Address: "127.0.0.11", Port: 70}, want: "unknown health-check protocol"},
	}
	k := newChecker(nil)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			err := k.check(ctx, &tc.check)
			if tc.ok && err != nil {
				t.Fatalf("want healthy, got %v", err)
			}
			if !tc.ok {
				if err == nil {
					t.Fatal("want unhealthy, got healthy")
				}
				if !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("error %q does not mention %q", err, tc.want)
				}
			}
			if tc.host != "" {
				if h := got.get().host; h != tc.host {
					t.Errorf("Host header %q, want %q", h, tc.host)
				}
			}
			for name, v := range tc.hdr {
				if h := got.get().header.Get(name); h != v {
					t.Errorf("header %s: %q, want %q", name, h, v)
				}
			}
			if tc.check.Protocol == "HTTPS" {
				sniMu.Lock()
				sni := lastSNI
				sniMu.Unlock()
				if sni != tc.sni {
					t.Errorf("SNI %q, want %q", sni, tc.sni)
				}
			}
		})
	}
}

func TestHTTPCheckIPv6(t *testing.T) {
	ln, err := net.Listen("tcp", "[::1]:0")
	if err != nil {
		t.Skipf("no IPv6 loopback: %v", err)
	}
	var got seen
	s := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got.mu.Lock()
		got.host = r.Host
		got.mu.Unlock()
	}))
	s.Listener.Close()
	s.Listener = ln
	s.Start()
	defer s.Close()
	port := portOf(ln.Addr())
	k := newChecker(nil)
	for _, addr := range []string{"::1", "[::1]"} {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		err := k.check(ctx, &pool.Check{Protocol: "HTTP", Address: addr, Port: port, Path: "/_dns"})
		cancel()
		if err != nil {
			t.Fatalf("%s: %v", addr, err)
		}
		if want := "[::1]:" + strconv.Itoa(port); got.get().host != want {
			t.Errorf("%s: Host %q, want %q", addr, got.get().host, want)
		}
	}
}

// startDNS serves a small zone on 127.0.0.1 over UDP and TCP (same port).
func startDNS(t *testing.T) int {
	t.Helper()
	var pc net.PacketConn
	var ln net.Listener
	for range 20 {
		var err error
		pc, err = net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ln, err = net.Listen("tcp", pc.LocalAddr().String())
		if err == nil {
			break
		}
		pc.Close()
		pc = nil
	}
	if pc == nil {
		t.Fatal("no port free for UDP and TCP")
	}
	h := dns.HandlerFunc(func(w dns.ResponseWriter, q *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(q)
		name := strings.ToLower(q.Question[0].Name)
		_, tcp := w.RemoteAddr().(*net.TCPAddr)
		switch name {
		case "up.example.":
			rr, _ := dns.NewRR("up.example. 60 IN A 192.0.2.1")
			m.Answer = append(m.Answer, rr)
		case "empty.example.":
		case "tc.example.":
			if !tcp {
				m.Truncated = true
			} else {
				rr, _ := dns.NewRR("tc.example. 60 IN A 192.0.2.2")
				m.Answer = append(m.Answer, rr)
			}
		default:
			m.Rcode = dns.RcodeNameError
		}
		w.WriteMsg(m)
	})
	udp := &dns.Server{PacketConn: pc, Handler: h}
	tcp := &dns.Server{Listener: ln, Handler: h}
	go udp.ActivateAndServe()
	go tcp.ActivateAndServe()
	t.Cleanup(func() {
		udp.Shutdown()
		tcp.Shutdown()
	})
	return ln.Addr().(*net.TCPAddr).Port
}

func TestDNSChecks(t *testing.T) {
	port := startDNS(t)
	tests := []struct {
		name  string
		qname string
		qtype uint16
		want  string // "" for healthy
	}{
		{"answer", "up.example", 0, ""},
		{"answer, type given", "up.example.", dns.TypeA, ""},
		{"no answer", "empty.example.", dns.TypeA, "no answer"},
		{"nxdomain", "gone.example.", dns.TypeA, "NXDOMAIN"},
		{"truncated retried over TCP", "tc.example.", dns.TypeA, ""},
		{"no name", "", dns.TypeA, "without a name"},
	}
	k := newChecker(nil)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			err := k.check(ctx, &pool.Check{Protocol: "DNS", Address: "127.0.0.1", Port: port, DNSName: tc.qname, DNSType: tc.qtype})
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("want healthy, got %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("want an error with %q, got %v", tc.want, err)
			}
		})
	}
	t.Run("no server", func(t *testing.T) {
		pc, err := net.ListenPacket("udp", "127.0.0.14:0")
		if err != nil {
			t.Fatal(err)
		}
		defer pc.Close() // bound but never answers
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		err = k.check(ctx, &pool.Check{Protocol: "DNS", Address: "127.0.0.14", Port: pc.LocalAddr().(*net.UDPAddr).Port, DNSName: "up.example."})
		if err == nil {
			t.Fatal("a silent server is healthy")
		}
	})
}

func TestICMPCheck(t *testing.T) {
	k := newChecker(nil)
	for _, tc := range []struct {
		addr  string
		avail func() error
	}{
		{"127.0.0.1", CheckICMP},
		{"::1", CheckICMPv6},
	} {
		t.Run(tc.addr, func(t *testing.T) {
			if err := tc.avail(); err != nil {
				t.Skipf("ICMP not permitted here: %v", err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			if err := k.check(ctx, &pool.Check{Protocol: "ICMP", Address: tc.addr}); err != nil {
				if tc.addr == "::1" && strings.Contains(err.Error(), "cannot assign") {
					t.Skipf("no IPv6 loopback: %v", err)
				}
				t.Fatalf("ping %s: %v", tc.addr, err)
			}
		})
	}
	t.Run("many at once", func(t *testing.T) {
		if err := CheckICMP(); err != nil {
			t.Skipf("ICMP not permitted here: %v", err)
		}
		// Concurrent pings on raw sockets each see every reply; each
		// must find its own.
		var wg sync.WaitGroup
		errs := make(chan error, 20)
		for i := range 20 {
			wg.Go(func() {
				ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
				defer cancel()
				errs <- k.check(ctx, &pool.Check{Protocol: "ICMP", Address: "127.0.0." + strconv.Itoa(30+i)})
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Error(err)
			}
		}
	})
}
