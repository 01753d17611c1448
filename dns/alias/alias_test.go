package alias

import (
	"context"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// standIn is a DNS server on 127.0.0.1 playing the recursive resolver:
// answer builds each reply (nil: no reply, as a resolver that is down).
type standIn struct {
	addr    string
	queries atomic.Int64
	mu      sync.Mutex
	answer  func(q *dns.Msg) *dns.Msg
	srv     *dns.Server
}

func startStandIn(t *testing.T, answer func(q *dns.Msg) *dns.Msg) *standIn {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &standIn{addr: pc.LocalAddr().String(), answer: answer}
	started := make(chan struct{})
	s.srv = &dns.Server{PacketConn: pc, NotifyStartedFunc: func() { close(started) }, Handler: dns.HandlerFunc(func(w dns.ResponseWriter, q *dns.Msg) {
		s.queries.Add(1)
		s.mu.Lock()
		f := s.answer
		s.mu.Unlock()
		if r := f(q); r != nil {
			w.WriteMsg(r)
		}
	})}
	go s.srv.ActivateAndServe()
	<-started
	t.Cleanup(func() { s.srv.Shutdown() })
	return s
}

func (s *standIn) set(answer func(q *dns.Msg) *dns.Msg) {
	s.mu.Lock()
	s.answer = answer
	s.mu.Unlock()
}

// addrs answers A and AAAA questions with the given addresses and TTL,
// through a CNAME when via is set; other names get NXDOMAIN with an SOA.
func addrs(ttl uint32, via string, ips ...string) func(q *dns.Msg) *dns.Msg {
	return func(q *dns.Msg) *dns.Msg {
		r := new(dns.Msg)
		r.SetReply(q)
		qn := q.Question[0]
		owner := qn.Name
		if via != "" {
			r.Answer = append(r.Answer, &dns.CNAME{Hdr: dns.RR_Header{Name: owner, Rrtype: dns.TypeCNAME, Class: dns.ClassINET, Ttl: ttl * 10}, Target: via})
			owner = via
		}
		for _, s := range ips {
			ip := netip.MustParseAddr(s)
			h := dns.RR_Header{Name: owner, Class: dns.ClassINET, Ttl: ttl}
			switch {
			case ip.Is4() && qn.Qtype == dns.TypeA:
				h.Rrtype = dns.TypeA
				r.Answer = append(r.Answer, &dns.A{Hdr: h, A: ip.AsSlice()})
			case ip.Is6() && qn.Qtype == dns.TypeAAAA:
				h.Rrtype = dns.TypeAAAA
				r.Answer = append(r.Answer, &dns.AAAA{Hdr: h, AAAA: ip.AsSlice()})
			}
		}
		return r
	}
}

// negative answers with rcode and an SOA whose negative TTL is min(ttl, minimum).
func negative(rcode int, ttl, minimum uint32) func(q *dns.Msg) *dns.Msg {
	return func(q *dns.Msg) *dns.Msg {
		r := new(dns.Msg)
		r.SetRcode(q, rcode)
		r.Ns = []dns.RR{&dns.SOA{Hdr: dns.RR_Header{Name: "provider.test.", Rrtype: dns.TypeSOA, Class: dns.ClassINET, Ttl: ttl},
			Ns: "ns.provider.test.", Mbox: "h.provider.test.", Serial: 1, Refresh: 1, Retry: 1, Expire: 1, Minttl: minimum}}
		return r
	}
}

func silent(*dns.Msg) *dns.Msg { return nil }

const cdn = "\x03cdn\x08provider\x04test\x00" // cdn.provider.test.

func newCache(t *testing.T, s *standIn, maxTTL, stale time.Duration) *Cache {
	t.Helper()
	c := New(Config{Resolvers: []string{s.addr}, Timeout: 300 * time.Millisecond, MaxTTL: maxTTL, ServeStale: stale})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { c.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return c
}

// waitFor polls cond (a condition, not a bare sleep) for up to d.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func ips(data [][]byte) []string {
	var out []string
	for _, d := range data {
		a, _ := netip.AddrFromSlice(d)
		out = append(out, a.String())
	}
	return out
}

// The TTL cached is the answer's (the lowest of its RRs and the CNAMEs
// followed), capped by max_ttl; a query gets the time left.
func TestTTL(t *testing.T) {
	for _, tc := range []struct {
		name    string
		answer  func(*dns.Msg) *dns.Msg
		maxTTL  time.Duration
		qtype   uint16
		want    []string
		wantTTL uint32
	}{
		{"A, own TTL", addrs(120, "", "192.0.2.1", "192.0.2.2"), 300 * time.Second, dns.TypeA, []string{"192.0.2.1", "192.0.2.2"}, 120},
		{"A, capped", addrs(3600, "", "192.0.2.1"), 300 * time.Second, dns.TypeA, []string{"192.0.2.1"}, 300},
		{"AAAA through a CNAME", addrs(60, "edge.cdn.test.", "2001:db8::1"), 300 * time.Second, dns.TypeAAAA, []string{"2001:db8::1"}, 60},
		{"the CNAME's TTL is lower", func(q *dns.Msg) *dns.Msg {
			r := addrs(600, "edge.cdn.test.", "192.0.2.9")(q)
			r.Answer[0].Header().Ttl = 45
			return r
		}, 300 * time.Second, dns.TypeA, []string{"192.0.2.9"}, 45},
		{"NODATA, no SOA", addrs(60, ""), 300 * time.Second, dns.TypeAAAA, nil, noSOATTL},
		{"NODATA, SOA minimum", negative(dns.RcodeSuccess, 600, 40), 300 * time.Second, dns.TypeAAAA, nil, 40},
		{"NXDOMAIN, SOA TTL", negative(dns.RcodeNameError, 20, 600), 300 * time.Second, dns.TypeA, nil, 20},
		{"NXDOMAIN, negative TTL capped", negative(dns.RcodeNameError, 900, 600), 100 * time.Second, dns.TypeA, nil, 100},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := startStandIn(t, tc.answer)
			c := newCache(t, s, tc.maxTTL, time.Hour)
			c.SetTargets([]string{cdn})
			data, ttl, ok := c.AliasAddrs(cdn, tc.qtype)
			if !ok {
				t.Fatal("nothing cached after SetTargets")
			}
			if got := ips(data); len(got) != len(tc.want) || len(got) > 0 && got[0] != tc.want[0] {
				t.Fatalf("addresses %v, want %v", got, tc.want)
			}
			if ttl != tc.wantTTL && ttl != tc.wantTTL-1 {
				t.Fatalf("TTL %d, want %d", ttl, tc.wantTTL)
			}
		})
	}
}

// A negative answer is cached like a positive one: no second question
// before its TTL ends.
func TestNegativeCached(t *testing.T) {
	s := startStandIn(t, negative(dns.RcodeNameError, 60, 60))
	c := newCache(t, s, 300*time.Second, time.Hour)
	c.SetTargets([]string{cdn})
	asked := s.queries.Load() // A and AAAA
	for i := 0; i < 100; i++ {
		if data, _, ok := c.AliasAddrs(cdn, dns.TypeA); !ok || len(data) != 0 {
			t.Fatalf("AliasAddrs = %v, %v; want a cached negative answer", data, ok)
		}
	}
	if asked != 2 || s.queries.Load() != asked {
		t.Fatalf("the stand-in was asked %d then %d times; want 2 (A, AAAA) and no more", asked, s.queries.Load())
	}
}

// An entry is refreshed before it expires, by the refresher: queries keep
// getting an unexpired answer and never wait.
func TestRefreshBeforeExpiry(t *testing.T) {
	s := startStandIn(t, addrs(2, "", "192.0.2.1"))
	c := newCache(t, s, 300*time.Second, time.Hour)
	c.SetTargets([]string{cdn})
	first := time.Now()
	s.set(addrs(2, "", "192.0.2.2"))
	var seen time.Time
	waitFor(t, 3*time.Second, "the refreshed answer", func() bool {
		start := time.Now()
		data, ttl, ok := c.AliasAddrs(cdn, dns.TypeA)
		if took := time.Since(start); took > 50*time.Millisecond {
			t.Fatalf("a query took %v", took)
		}
		if !ok || ttl == 0 {
			t.Fatalf("no answer while refreshing (ok %v, ttl %d)", ok, ttl)
		}
		if ips(data)[0] == "192.0.2.2" {
			seen = time.Now()
			return true
		}
		return false
	})
	if seen.Sub(first) >= 2*time.Second {
		t.Fatalf("refreshed %v after the first answer, at or after its expiry (2s)", seen.Sub(first))
	}
}

// When the resolver stops answering, the last answer is served stale (TTL
// 30, RFC 8767) up to serve_stale; past that, nothing.
func TestServeStale(t *testing.T) {
	s := startStandIn(t, addrs(1, "", "192.0.2.7"))
	c := newCache(t, s, 300*time.Second, 2*time.Second)
	c.SetTargets([]string{cdn})
	s.set(silent)
	asked := s.queries.Load()
	waitFor(t, 3*time.Second, "a failed refresh", func() bool { return c.Resolutions(ResultError) > 0 })
	if s.queries.Load() <= asked {
		t.Fatal("the refresher did not ask again")
	}
	waitFor(t, 3*time.Second, "expiry", func() bool { return time.Now().UnixNano() > expires(c) })
	data, ttl, ok := c.AliasAddrs(cdn, dns.TypeA)
	if !ok || len(data) != 1 || ips(data)[0] != "192.0.2.7" || ttl != staleTTL {
		t.Fatalf("AliasAddrs = %v, %d, %v past expiry; want the stale answer", ips(data), ttl, ok)
	}
	waitFor(t, 4*time.Second, "the end of serve_stale", func() bool {
		_, _, ok := c.AliasAddrs(cdn, dns.TypeA)
		return !ok
	})
}

// expires is when the cached A entry of the target expires.
func expires(c *Cache) int64 { return (*c.targets.Load())[cdn].rr[0].cur.Load().expires }

// A target never resolved gets nothing (the handler answers SERVFAIL), at
// once; so does a name that is not a target, and a type other than A/AAAA.
func TestNeverResolved(t *testing.T) {
	s := startStandIn(t, silent)
	c := newCache(t, s, 300*time.Second, time.Hour)
	start := time.Now()
	c.SetTargets([]string{cdn})
	if took := time.Since(start); took > 2*time.Second {
		t.Fatalf("SetTargets waited %v, more than the timeout", took)
	}
	for _, q := range []struct {
		name  string
		qtype uint16
	}{{cdn, dns.TypeA}, {cdn, dns.TypeAAAA}, {"\x05other\x04test\x00", dns.TypeA}, {cdn, dns.TypeMX}} {
		if _, _, ok := c.AliasAddrs(q.name, q.qtype); ok {
			t.Errorf("AliasAddrs(%q, %d) answered", q.name, q.qtype)
		}
	}
	waitFor(t, 2*time.Second, "the failures counted", func() bool { return c.Resolutions(ResultError) >= 2 })
}

// Resolvers are tried in order: a silent first one falls through to the
// second.
func TestResolversInOrder(t *testing.T) {
	down := startStandIn(t, silent)
	up := startStandIn(t, addrs(60, "", "192.0.2.3"))
	c := New(Config{Resolvers: []string{down.addr, up.addr}, Timeout: 200 * time.Millisecond, MaxTTL: time.Hour, ServeStale: time.Hour})
	c.SetTargets([]string{cdn})
	waitFor(t, 2*time.Second, "an answer", func() bool {
		data, _, ok := c.AliasAddrs(cdn, dns.TypeA)
		return ok && ips(data)[0] == "192.0.2.3"
	})
	if down.queries.Load() == 0 {
		t.Fatal("the first resolver was not asked")
	}
}

// SetTargets keeps the entries of names still named and drops the others.
func TestSetTargetsDrops(t *testing.T) {
	s := startStandIn(t, addrs(60, "", "192.0.2.1"))
	c := newCache(t, s, 300*time.Second, time.Hour)
	other := "\x05other\x04test\x00"
	c.SetTargets([]string{cdn, other})
	asked := s.queries.Load()
	c.SetTargets([]string{other})
	if s.queries.Load() != asked {
		t.Fatal("a kept target was resolved again")
	}
	if _, _, ok := c.AliasAddrs(cdn, dns.TypeA); ok {
		t.Fatal("a dropped target still answers")
	}
	if _, _, ok := c.AliasAddrs(other, dns.TypeA); !ok {
		t.Fatal("a kept target lost its entry")
	}
}

// A warm lookup allocates nothing.
func TestLookupAllocs(t *testing.T) {
	s := startStandIn(t, addrs(60, "", "192.0.2.1"))
	c := newCache(t, s, 300*time.Second, time.Hour)
	c.SetTargets([]string{cdn})
	if n := testing.AllocsPerRun(100, func() { c.AliasAddrs(cdn, dns.TypeA) }); n != 0 {
		t.Fatalf("%v allocations per lookup", n)
	}
}
