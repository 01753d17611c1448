package e2e

import (
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/smartdns/smartdns/probes"
)

// Health checks of dynamic records, end to end: the real binary probes
// HTTP(S), TCP, ICMP and DNS targets that the test runs on loopback
// addresses (127.0.0.11, 127.0.0.12, ...; the whole of 127/8 is local),
// and dig sees values leave and come back. Every value of these zones is
// a loopback address whose server the test starts, or has a fixed
// status; backup values sit on 127.0.0.99, where a sentinel fails the
// test if anything probes them.
//
// Every record probes with interval 1s, timeout 300ms, rise 2 and fall 2
// (1s is the shortest interval the zone validator accepts), so a value
// leaves the answers within interval × fall + timeout = 2.3s of its server
// stopping, and comes back within interval × rise + timeout = 2.3s of it
// coming back. The deadlines below add hcSlack for dig and scheduling.

const (
	hcInterval = time.Second
	hcTimeout  = 300 * time.Millisecond
	hcRise     = 2
	hcFall     = 2
	// hcSlack is what a deadline allows beyond the documented bound.
	hcSlack = 1500 * time.Millisecond
	// hcBackup is every record's backup value: never probed.
	hcBackup = "127.0.0.99"
)

var (
	hcDownWithin = hcInterval*hcFall + hcTimeout + hcSlack
	hcUpWithin   = hcInterval*hcRise + hcTimeout + hcSlack
)

// hcZone is example.com with static names and the given records.
func hcZone(records ...string) string {
	return "---\n'':\n  type: A\n  value: 127.0.0.1\nwww:\n  type: A\n  value: 127.0.0.1\n" + strings.Join(records, "")
}

// hcRecord is a dynamic A record with ttl 300, one pool of values (each
// the inside of a flow mapping after `value: `, such as `127.0.0.12,
// status: up`), a catch-all rule, the backup value hcBackup, `answers`
// values per answer, octoDNS's healthcheck keys hc (flow mapping body)
// and smartdns's healthcheck keys beyond the test's timing (smart, ""
// or starting with ", ").
func hcRecord(name string, values []string, answers int, hc, smart string) string {
	var vals []string
	for _, v := range values {
		vals = append(vals, "{value: "+v+"}")
	}
	return fmt.Sprintf(`%s:
  type: A
  ttl: 300
  values: [%s]
  dynamic:
    pools:
      main:
        values: [%s]
    rules:
      - pool: main
  octodns:
    healthcheck: {%s}
    smartdns:
      answers: %d
      healthcheck: {interval: %v, timeout: %v, rise: %d, fall: %d%s}
`, name, hcBackup, strings.Join(vals, ", "), hc, answers, hcInterval, hcTimeout, hcRise, hcFall, smart)
}

// startHealth starts smartdns with probing on and the zone, and checks
// that it loaded without a warning or an error.
func startHealth(t *testing.T, zone string) *Server {
	t.Helper()
	s := Start(t, Options{Probes: true, Files: map[string]string{"example.com.yaml": zone}})
	if l := s.Log(); strings.Contains(l, "level=ERROR") || strings.Contains(l, "level=WARN") {
		t.Fatalf("the zone did not load cleanly:\n%s", l)
	}
	return s
}

// sharedPort returns a port that is free on every ip, with a TCP listener
// on each ip:port (the health check's port is per record, so one record's
// values must listen on the same port).
func sharedPort(t *testing.T, ips ...string) (int, map[string]net.Listener) {
	t.Helper()
	for range 50 {
		first, err := net.Listen("tcp", net.JoinHostPort(ips[0], "0"))
		if err != nil {
			t.Fatal(err)
		}
		port := first.Addr().(*net.TCPAddr).Port
		ls := map[string]net.Listener{ips[0]: first}
		ok := true
		for _, ip := range ips[1:] {
			l, err := net.Listen("tcp", net.JoinHostPort(ip, strconv.Itoa(port)))
			if err != nil {
				ok = false
				break
			}
			ls[ip] = l
		}
		if ok {
			return port, ls
		}
		for _, l := range ls {
			l.Close()
		}
	}
	t.Fatalf("no port free on all of %v", ips)
	return 0, nil
}

// sentinel counts every TCP connection to l (and, with udp, every UDP
// datagram to the same address): an address that must never be probed.
// The test fails at its end if anything came.
func sentinel(t *testing.T, l net.Listener, udp bool) {
	t.Helper()
	var hits atomic.Int64
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			hits.Add(1)
			c.Close()
		}
	}()
	var pc net.PacketConn
	if udp {
		var err error
		pc, err = net.ListenPacket("udp", l.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		go func() {
			buf := make([]byte, 2048)
			for {
				if _, _, err := pc.ReadFrom(buf); err != nil {
					return
				}
				hits.Add(1)
			}
		}()
	}
	addr := l.Addr().String()
	t.Cleanup(func() {
		l.Close()
		if pc != nil {
			pc.Close()
		}
		if n := hits.Load(); n > 0 {
			t.Errorf("%s must never be probed, and was contacted %d times", addr, n)
		}
	})
}

// httpTarget is an HTTP(S) server on a fixed ip:port that can stop and
// come back on the same address. It counts the requests it gets.
type httpTarget struct {
	t       *testing.T
	addr    string
	tls     bool
	handler func(n int64, w http.ResponseWriter, r *http.Request) // n: this request's number, from 1
	hits    atomic.Int64

	mu  sync.Mutex
	srv *httptest.Server
}

// ok200 answers every request with 200 "ok".
func ok200(_ int64, w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok") }

// newHTTPTarget serves on l (plain HTTP, or HTTPS with httptest's
// self-signed certificate) until the test ends.
func newHTTPTarget(t *testing.T, l net.Listener, tls bool, handler func(n int64, w http.ResponseWriter, r *http.Request)) *httpTarget {
	h := &httpTarget{t: t, addr: l.Addr().String(), tls: tls, handler: handler}
	h.serve(l)
	t.Cleanup(h.Stop)
	return h
}

func (h *httpTarget) serve(l net.Listener) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.handler(h.hits.Add(1), w, r)
	}))
	srv.Listener.Close()
	srv.Listener = l
	// A check with tls_verify aborts the handshake; that is expected.
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	if h.tls {
		srv.StartTLS()
	} else {
		srv.Start()
	}
	h.mu.Lock()
	h.srv = srv
	h.mu.Unlock()
}

// Stop closes the server: its port refuses connections.
func (h *httpTarget) Stop() {
	h.mu.Lock()
	srv := h.srv
	h.srv = nil
	h.mu.Unlock()
	if srv != nil {
		srv.Close()
	}
}

// Start serves again on the same ip:port.
func (h *httpTarget) Start() {
	h.t.Helper()
	l, err := net.Listen("tcp", h.addr)
	if err != nil {
		h.t.Fatalf("listening again on %s: %v", h.addr, err)
	}
	h.serve(l)
}

// hcTarget is how the server names a target in its logs (probes'
// describe): protocol, address[:port], then host and path for HTTP(S) or
// the query name for DNS.
func hcTarget(proto, ip string, port int, rest string) string {
	s := proto + " " + ip
	if port > 0 {
		s += ":" + strconv.Itoa(port)
	}
	if rest != "" {
		s += " " + rest
	}
	return s
}

// healthRE matches the log line of target's change to state to ("up" or
// "down").
func healthRE(target, to string) string {
	return fmt.Sprintf(`msg="health changed" target="%s" from=\w+ to=%s`, regexp.QuoteMeta(target), to)
}

// waitDig digs name A until cond holds, and fails the test when it does
// not within `within` of since. It returns the answer and the time from
// since.
func waitDig(t *testing.T, s *Server, name string, since time.Time, within time.Duration, what string, cond func(*Answer) bool) (*Answer, time.Duration) {
	t.Helper()
	deadline := since.Add(within)
	for {
		a := s.Dig(name, "A")
		if cond(a) {
			return a, time.Since(since)
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v; last answer:\n%s\nlog:\n%s", what, within, a.Raw, s.Log())
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// exactly holds when the answer is NOERROR with exactly the A values
// want, in any order.
func exactly(want ...string) func(*Answer) bool {
	w := slices.Clone(want)
	slices.Sort(w)
	return func(a *Answer) bool {
		return a.Status == "NOERROR" && slices.Equal(sortedData(a, "A"), w)
	}
}

// checkTTL fails unless every answer record has a TTL of at most max
// (and at least min).
func checkTTL(t *testing.T, a *Answer, min, max uint32, why string) {
	t.Helper()
	if len(a.Answer) == 0 {
		t.Fatalf("%s: no answer\n%s", why, a.Raw)
	}
	for _, rr := range a.Answer {
		if rr.TTL < min || rr.TTL > max {
			t.Fatalf("%s: TTL %d, want %d..%d\n%s", why, rr.TTL, min, max, a.Raw)
		}
	}
}

// waitHits waits until h has had at least n requests.
func waitHits(t *testing.T, h *httpTarget, n int64, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for h.hits.Load() < n {
		if time.Now().After(deadline) {
			t.Fatalf("%s: %d requests after %v, want %d", h.addr, h.hits.Load(), within, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// The scenario: one pool of two HTTP servers on 127.0.0.11:P and
// 127.0.0.12:P, answers: 2. Verified: both are served while healthy with
// the record's TTL; a stopped server leaves the answers within interval ×
// fall + timeout, and while it is down the TTL is at most the interval;
// started again on the same address it comes back within interval × rise
// + timeout (and the TTL with it); with both stopped the backup value is
// served (TTL capped too), and the backup is never probed.
func TestHealthHTTPFailover(t *testing.T) {
	port, ls := sharedPort(t, "127.0.0.11", "127.0.0.12", hcBackup)
	a := newHTTPTarget(t, ls["127.0.0.11"], false, ok200)
	b := newHTTPTarget(t, ls["127.0.0.12"], false, ok200)
	sentinel(t, ls[hcBackup], false)
	hc := fmt.Sprintf("protocol: HTTP, port: %d, path: /health", port)
	s := startHealth(t, hcZone(hcRecord("pool", []string{"127.0.0.11", "127.0.0.12"}, 2, hc, "")))
	const q = "pool.example.com"
	both := exactly("127.0.0.11", "127.0.0.12")

	// The first checks run at once, not an interval after the start.
	waitHits(t, a, 1, hcInterval/2)
	waitHits(t, b, 1, hcInterval/2)
	// Both checked and up.
	for _, ip := range []string{"127.0.0.11", "127.0.0.12"} {
		s.WaitLog(healthRE(hcTarget("HTTP", ip, port, "host pool.example.com /health"), "up"), hcUpWithin)
	}
	ans, _ := waitDig(t, s, q, time.Now(), time.Second, "both values served", both)
	checkTTL(t, ans, 300, 300, "all healthy")

	// One stops: it leaves within interval × fall + timeout.
	stopped := time.Now()
	a.Stop()
	ans, took := waitDig(t, s, q, stopped, hcDownWithin, "127.0.0.11 leaves the answers", exactly("127.0.0.12"))
	t.Logf("127.0.0.11 left the answers %v after its server stopped (bound %v)", took.Round(time.Millisecond), hcInterval*hcFall+hcTimeout)
	checkTTL(t, ans, 0, uint32(hcInterval/time.Second), "one value down")
	// It stays out while down (several answers, one random pick each).
	for range 5 {
		if ans := s.Dig(q, "A"); !exactly("127.0.0.12")(ans) {
			t.Fatalf("a down value was served:\n%s", ans.Raw)
		}
	}

	// It comes back on the same address within interval × rise + timeout.
	started := time.Now()
	a.Start()
	ans, took = waitDig(t, s, q, started, hcUpWithin, "127.0.0.11 comes back", both)
	t.Logf("127.0.0.11 came back %v after its server restarted (bound %v)", took.Round(time.Millisecond), hcInterval*hcRise+hcTimeout)
	checkTTL(t, ans, 300, 300, "all healthy again")

	// Both stop: the backup is served, with the TTL capped.
	stopped = time.Now()
	a.Stop()
	b.Stop()
	ans, took = waitDig(t, s, q, stopped, hcDownWithin, "the backup is served", exactly(hcBackup))
	t.Logf("the backup was served %v after both servers stopped", took.Round(time.Millisecond))
	checkTTL(t, ans, 0, uint32(hcInterval/time.Second), "every value down, backup")
}

// A flapping target, whose checks alternate 200 and 500, does not make the
// answers flap with rise = fall = 2: whether its first check succeeds
// (unknown → up at once) or fails (unknown stays unknown, which counts as
// up, then up), alternating results never make 2 failures in a row. Over
// at least 5 checks of each, every answer holds the value (never the
// backup) and no "to=down" is logged.
func TestHealthFlappingStaysUp(t *testing.T) {
	port, ls := sharedPort(t, "127.0.0.11", "127.0.0.12", hcBackup)
	alternate := func(firstOK bool) func(int64, http.ResponseWriter, *http.Request) {
		return func(n int64, w http.ResponseWriter, _ *http.Request) {
			if (n%2 == 1) != firstOK {
				w.WriteHeader(http.StatusInternalServerError)
			}
			io.WriteString(w, "flap")
		}
	}
	okFirst := newHTTPTarget(t, ls["127.0.0.11"], false, alternate(true))
	failFirst := newHTTPTarget(t, ls["127.0.0.12"], false, alternate(false))
	sentinel(t, ls[hcBackup], false)
	hc := fmt.Sprintf("protocol: HTTP, port: %d", port)
	s := startHealth(t, hcZone(
		hcRecord("flap1", []string{"127.0.0.11"}, 1, hc, ""),
		hcRecord("flap2", []string{"127.0.0.12"}, 1, hc, ""),
	))
	deadline := time.Now().Add(5*hcInterval + hcSlack)
	for okFirst.hits.Load() < 5 || failFirst.hits.Load() < 5 {
		if time.Now().After(deadline) {
			t.Fatalf("checks: %d and %d after %v, want 5 each", okFirst.hits.Load(), failFirst.hits.Load(), 5*hcInterval+hcSlack)
		}
		for name, want := range map[string]string{"flap1.example.com": "127.0.0.11", "flap2.example.com": "127.0.0.12"} {
			if ans := s.Dig(name, "A"); !exactly(want)(ans) {
				t.Fatalf("%s: the flapping value left the answers after %d/%d checks:\n%s\nlog:\n%s",
					name, okFirst.hits.Load(), failFirst.hits.Load(), ans.Raw, s.Log())
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	if regexp.MustCompile(`msg="health changed".* to=down`).MatchString(s.Log()) {
		t.Fatalf("a flapping target went down:\n%s", s.Log())
	}
	// Both did become up (the one that failed first on its second check).
	for ip, host := range map[string]string{"127.0.0.11": "flap1.example.com", "127.0.0.12": "flap2.example.com"} {
		s.WaitLog(healthRE(hcTarget("HTTP", ip, port, "host "+host+" /_dns"), "up"), time.Second)
	}
}

// Restarting smartdns while a value is down: its saved state (younger than
// 10 intervals) is restored before the server answers, so the very first
// answers after the ready line already leave the value out, with the
// TTL capped.
func TestHealthRestartKeepsDown(t *testing.T) {
	port, ls := sharedPort(t, "127.0.0.11", "127.0.0.12", hcBackup)
	a := newHTTPTarget(t, ls["127.0.0.11"], false, ok200)
	newHTTPTarget(t, ls["127.0.0.12"], false, ok200)
	sentinel(t, ls[hcBackup], false)
	hc := fmt.Sprintf("protocol: HTTP, port: %d, path: /health", port)
	s := startHealth(t, hcZone(hcRecord("pool", []string{"127.0.0.11", "127.0.0.12"}, 2, hc, "")))
	const q = "pool.example.com"
	waitDig(t, s, q, time.Now(), time.Second, "both values served", exactly("127.0.0.11", "127.0.0.12"))

	stopped := time.Now()
	a.Stop()
	waitDig(t, s, q, stopped, hcDownWithin, "127.0.0.11 leaves the answers", exactly("127.0.0.12"))

	s.Restart()
	// The first answers, right after the ready line.
	for i := range 5 {
		ans := s.Dig(q, "A")
		if !exactly("127.0.0.12")(ans) {
			t.Fatalf("answer %d after the restart serves the down value:\n%s\nlog:\n%s", i+1, ans.Raw, s.Log())
		}
		checkTTL(t, ans, 0, uint32(hcInterval/time.Second), "down after the restart")
	}
	if !strings.Contains(s.Log(), "restored=2") {
		t.Errorf("the restart did not restore both targets' states:\n%s", s.Log())
	}
}

// HTTPS with httptest's self-signed certificate: with tls_verify: false the
// check succeeds (logged up, value served); with tls_verify true (the
// default) it fails on the certificate and the value leaves the answers,
// while the pool's other value (status: up, never probed) keeps it off
// the backup.
func TestHealthHTTPSVerify(t *testing.T) {
	port, ls := sharedPort(t, "127.0.0.11", "127.0.0.12", hcBackup)
	h := newHTTPTarget(t, ls["127.0.0.11"], true, ok200)
	sentinel(t, ls["127.0.0.12"], false)
	sentinel(t, ls[hcBackup], false)
	hc := fmt.Sprintf("protocol: HTTPS, port: %d", port)
	s := startHealth(t, hcZone(
		hcRecord("insecure", []string{"127.0.0.11"}, 1, hc, ", tls_verify: false"),
		hcRecord("verified", []string{"127.0.0.11", "127.0.0.12, status: up"}, 2, hc, ""),
	))
	start := time.Now()
	s.WaitLog(healthRE(hcTarget("HTTPS", "127.0.0.11", port, "host insecure.example.com /_dns"), "up"), hcUpWithin)
	if ans := s.Dig("insecure.example.com", "A"); !exactly("127.0.0.11")(ans) {
		t.Fatalf("tls_verify false: the healthy value is not served:\n%s", ans.Raw)
	}
	_, took := waitDig(t, s, "verified.example.com", start, hcDownWithin, "tls_verify true: the self-signed server leaves the answers", exactly("127.0.0.12"))
	t.Logf("tls_verify true: down %v after start", took.Round(time.Millisecond))
	s.WaitLog(healthRE(hcTarget("HTTPS", "127.0.0.11", port, "host verified.example.com /_dns"), "down")+` reason="2 checks in a row failed" err=.*certificate`, time.Second)
	if h.hits.Load() == 0 {
		t.Errorf("tls_verify false: the server saw no request")
	}
}

// expect_body: a 200 whose body lacks the text is a failure (the value
// leaves the answers, the backup is served); once the body holds it, the
// value comes back; a body that holds it all along is up.
func TestHealthExpectBody(t *testing.T) {
	port, ls := sharedPort(t, "127.0.0.11", hcBackup)
	var fixed atomic.Bool
	newHTTPTarget(t, ls["127.0.0.11"], false, func(_ int64, w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/good" || fixed.Load() {
			io.WriteString(w, "status: healthy-marker\n")
			return
		}
		io.WriteString(w, "status: degraded\n")
	})
	sentinel(t, ls[hcBackup], false)
	smart := ", expect_body: healthy-marker"
	s := startHealth(t, hcZone(
		hcRecord("good", []string{"127.0.0.11"}, 1, fmt.Sprintf("protocol: HTTP, port: %d, path: /good", port), smart),
		hcRecord("bad", []string{"127.0.0.11"}, 1, fmt.Sprintf("protocol: HTTP, port: %d, path: /bad", port), smart),
	))
	start := time.Now()
	waitDig(t, s, "bad.example.com", start, hcDownWithin, "a body without the text: down", exactly(hcBackup))
	s.WaitLog(healthRE(hcTarget("HTTP", "127.0.0.11", port, "host bad.example.com /bad"), "down")+`.*does not contain \\"healthy-marker\\"`, time.Second)
	s.WaitLog(healthRE(hcTarget("HTTP", "127.0.0.11", port, "host good.example.com /good"), "up"), time.Second)
	if ans := s.Dig("good.example.com", "A"); !exactly("127.0.0.11")(ans) {
		t.Fatalf("a body with the text: not served:\n%s", ans.Raw)
	}
	fixed.Store(true)
	_, took := waitDig(t, s, "bad.example.com", time.Now(), hcUpWithin, "the body now holds the text: up", exactly("127.0.0.11"))
	t.Logf("expect_body: back up %v after the body was fixed", took.Round(time.Millisecond))
}

// TCP: a listener that accepts is up (logged, served); once it is closed
// the connection is refused and the value leaves the answers.
func TestHealthTCP(t *testing.T) {
	port, ls := sharedPort(t, "127.0.0.11", hcBackup)
	l := ls["127.0.0.11"]
	var conns atomic.Int64
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			conns.Add(1)
			c.Close()
		}
	}()
	t.Cleanup(func() { l.Close() })
	sentinel(t, ls[hcBackup], false)
	s := startHealth(t, hcZone(hcRecord("tcp", []string{"127.0.0.11"}, 1, fmt.Sprintf("protocol: TCP, port: %d", port), "")))
	s.WaitLog(healthRE(hcTarget("TCP", "127.0.0.11", port, ""), "up"), hcUpWithin)
	if ans := s.Dig("tcp.example.com", "A"); !exactly("127.0.0.11")(ans) {
		t.Fatalf("an open TCP port: not served:\n%s", ans.Raw)
	}
	closed := time.Now()
	l.Close()
	_, took := waitDig(t, s, "tcp.example.com", closed, hcDownWithin, "a closed TCP port: down", exactly(hcBackup))
	t.Logf("TCP: down %v after the listener closed", took.Round(time.Millisecond))
	if conns.Load() == 0 {
		t.Errorf("the TCP listener saw no connection")
	}
}

// ICMP against 127.0.0.1, where this process may send pings (a ping socket
// or a raw socket): the value is up (logged) and served.
func TestHealthICMP(t *testing.T) {
	if err := probes.CheckICMP(); err != nil {
		t.Skip(err)
	}
	s := startHealth(t, hcZone(hcRecord("ping", []string{"127.0.0.1"}, 1, "protocol: ICMP", "")))
	s.WaitLog(healthRE(hcTarget("ICMP", "127.0.0.1", 0, ""), "up"), hcUpWithin)
	if ans := s.Dig("ping.example.com", "A"); !exactly("127.0.0.1")(ans) {
		t.Fatalf("a pingable value: not served:\n%s", ans.Raw)
	}
}

// DNS probes against smartdns itself (127.0.0.1 on its own port, records
// added by a reload since the port is known only once it runs): a
// query_name the server answers (www.example.com A) is up; one that is
// NXDOMAIN is down, and the backup is served.
func TestHealthDNS(t *testing.T) {
	s := startHealth(t, hcZone())
	bl, err := net.Listen("tcp", net.JoinHostPort(hcBackup, strconv.Itoa(s.Port)))
	if err != nil {
		t.Fatal(err)
	}
	sentinel(t, bl, true)
	hc := fmt.Sprintf("protocol: DNS, port: %d", s.Port)
	start := time.Now()
	s.WriteZone("example.com.yaml", hcZone(
		hcRecord("dns-ok", []string{"127.0.0.1"}, 1, hc, ", query_name: www.example.com"),
		hcRecord("dns-nx", []string{"127.0.0.1"}, 1, hc, ", query_name: nothing.example.com., query_type: A"),
	))
	s.WaitLog(healthRE(hcTarget("DNS", "127.0.0.1", s.Port, "www.example.com."), "up"), 2*time.Second+hcUpWithin)
	if ans := s.Dig("dns-ok.example.com", "A"); !exactly("127.0.0.1")(ans) {
		t.Fatalf("a DNS server answering the query: not served:\n%s", ans.Raw)
	}
	_, took := waitDig(t, s, "dns-nx.example.com", start, 2*time.Second+hcDownWithin, "a NXDOMAIN query_name: down", exactly(hcBackup))
	t.Logf("DNS NXDOMAIN: down %v after the zone was written", took.Round(time.Millisecond))
	s.WaitLog(healthRE(hcTarget("DNS", "127.0.0.1", s.Port, "nothing.example.com."), "down")+`.*NXDOMAIN`, time.Second)
	if l := s.Log(); strings.Contains(l, "level=ERROR") || strings.Contains(l, "level=WARN") {
		t.Fatalf("the reloaded zone did not load cleanly:\n%s", l)
	}
}

// A target no longer used stops being probed after a reload: once the
// record is gone from the zone file (and the reload logged removed=1),
// its server sees no new request over 2 intervals, while the record that
// stays is still probed all along.
func TestHealthReloadStopsProbing(t *testing.T) {
	port, ls := sharedPort(t, "127.0.0.11", "127.0.0.12", hcBackup)
	stays := newHTTPTarget(t, ls["127.0.0.11"], false, ok200)
	gone := newHTTPTarget(t, ls["127.0.0.12"], false, ok200)
	sentinel(t, ls[hcBackup], false)
	hc := fmt.Sprintf("protocol: HTTP, port: %d", port)
	stayRec := hcRecord("stays", []string{"127.0.0.11"}, 1, hc, "")
	s := startHealth(t, hcZone(stayRec, hcRecord("gone", []string{"127.0.0.12"}, 1, hc, "")))
	waitHits(t, gone, 2, 2*hcInterval+hcSlack)

	s.WriteZone("example.com.yaml", hcZone(stayRec))
	s.WaitLog(`msg="health-check targets set" targets=1 added=0 removed=1`, 5*time.Second)
	if ans := s.Dig("gone.example.com", "A"); ans.Status != "NXDOMAIN" {
		t.Fatalf("the removed record is still served:\n%s", ans.Raw)
	}
	// A check already running when the target was removed may still
	// land: count from the next check of the target that stays, which
	// comes after any such check has ended.
	waitHits(t, stays, stays.hits.Load()+1, hcInterval+hcSlack)
	before, from := gone.hits.Load(), stays.hits.Load()
	waitHits(t, stays, from+2, 2*hcInterval+hcSlack)
	if after := gone.hits.Load(); after != before {
		t.Fatalf("the removed target was probed %d more times over 2 intervals", after-before)
	}
}

// Values with a fixed status are never probed: `status: up` and `status:
// down` servers see no request while the pool's `obey` value is checked
// several times; `down` is never served, `up` always is (also once the
// obey value is down, so the pool is not exhausted and the backup is not
// served).
func TestHealthFixedStatusNotProbed(t *testing.T) {
	port, ls := sharedPort(t, "127.0.0.11", "127.0.0.12", "127.0.0.13", hcBackup)
	up := newHTTPTarget(t, ls["127.0.0.11"], false, ok200)
	down := newHTTPTarget(t, ls["127.0.0.12"], false, ok200)
	obey := newHTTPTarget(t, ls["127.0.0.13"], false, ok200)
	sentinel(t, ls[hcBackup], false)
	hc := fmt.Sprintf("protocol: HTTP, port: %d", port)
	s := startHealth(t, hcZone(hcRecord("fixed",
		[]string{"127.0.0.11, status: up", "127.0.0.12, status: down", "127.0.0.13"}, 3, hc, "")))
	const q = "fixed.example.com"
	deadline := time.Now().Add(2*hcInterval + hcSlack)
	for obey.hits.Load() < 3 {
		if time.Now().After(deadline) {
			t.Fatalf("the obey value was checked %d times, want 3", obey.hits.Load())
		}
		if ans := s.Dig(q, "A"); !exactly("127.0.0.11", "127.0.0.13")(ans) {
			t.Fatalf("want the up and the obey value:\n%s", ans.Raw)
		}
		time.Sleep(50 * time.Millisecond)
	}
	stopped := time.Now()
	obey.Stop()
	waitDig(t, s, q, stopped, hcDownWithin, "the obey value leaves, the up value stays", exactly("127.0.0.11"))
	if n, m := up.hits.Load(), down.hits.Load(); n != 0 || m != 0 {
		t.Fatalf("status up was probed %d times, status down %d times", n, m)
	}
	if regexp.MustCompile(`target="HTTP 127\.0\.0\.1[12]:`).MatchString(s.Log()) {
		t.Fatalf("a value with a fixed status is a target:\n%s", s.Log())
	}
}
