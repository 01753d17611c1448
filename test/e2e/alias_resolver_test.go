package e2e

import (
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// providerStandIn is a DNS server on 127.0.0.1 in the test process,
// playing the recursive resolver alias.resolvers points at: it answers
// cdn.provider.test. through a CNAME to an edge name, with a short TTL.
type providerStandIn struct {
	addr    string
	srv     *dns.Server
	queries atomic.Int64
}

func startProviderStandIn(t *testing.T, ttl uint32) *providerStandIn {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &providerStandIn{addr: pc.LocalAddr().String()}
	started := make(chan struct{})
	p.srv = &dns.Server{PacketConn: pc, NotifyStartedFunc: func() { close(started) }, Handler: dns.HandlerFunc(func(w dns.ResponseWriter, q *dns.Msg) {
		p.queries.Add(1)
		r := new(dns.Msg)
		r.SetReply(q)
		r.RecursionAvailable = true
		qn := q.Question[0]
		if !strings.EqualFold(qn.Name, "cdn.provider.test.") {
			r.Rcode = dns.RcodeNameError
			w.WriteMsg(r)
			return
		}
		edge := "edge7.provider.test."
		r.Answer = append(r.Answer, &dns.CNAME{Hdr: dns.RR_Header{Name: qn.Name, Rrtype: dns.TypeCNAME, Class: dns.ClassINET, Ttl: 600}, Target: edge})
		h := dns.RR_Header{Name: edge, Rrtype: qn.Qtype, Class: dns.ClassINET, Ttl: ttl}
		switch qn.Qtype {
		case dns.TypeA:
			r.Answer = append(r.Answer,
				&dns.A{Hdr: h, A: netip.MustParseAddr("192.0.2.80").AsSlice()},
				&dns.A{Hdr: h, A: netip.MustParseAddr("192.0.2.81").AsSlice()})
		case dns.TypeAAAA:
			r.Answer = append(r.Answer, &dns.AAAA{Hdr: h, AAAA: netip.MustParseAddr("2001:db8::80").AsSlice()})
		}
		w.WriteMsg(r)
	})}
	go p.srv.ActivateAndServe()
	<-started
	t.Cleanup(func() { p.srv.Shutdown() })
	return p
}

// An apex ALIAS to a name outside the served zones (a CDN) is answered
// with the addresses the configured resolver gives, owned by the apex,
// with the upstream TTL; when the resolver stops answering, the last
// answer is still served (stale, TTL 30).
func TestAliasResolvers(t *testing.T) {
	p := startProviderStandIn(t, 2)
	s := Start(t, Options{
		Files: map[string]string{"example.com.zone": "$TTL 3600\n@ ALIAS cdn.provider.test.\nwww A 192.0.2.1\n"},
		Extra: fmt.Sprintf("alias:\n  resolvers: [%q]\n  timeout: 500ms\n  max_ttl: 300s\n  serve_stale: 1h\n", p.addr),
	})
	a := s.Dig("example.com", "A")
	if a.Status != "NOERROR" || !a.Flags["aa"] {
		t.Fatalf("apex A:\n%s", a.Raw)
	}
	if got := strings.Join(Datas(a.Answer, "A"), " "); got != "192.0.2.80 192.0.2.81" {
		t.Fatalf("apex A = %q, want the stand-in's addresses:\n%s", got, a.Raw)
	}
	for _, rr := range a.Answer {
		if rr.Name != "example.com." || rr.TTL < 1 || rr.TTL > 2 {
			t.Errorf("answer RR %s: want owner example.com. and TTL 1..2 (the upstream's)", rr)
		}
	}
	a = s.Dig("example.com", "AAAA")
	if got := Datas(a.Answer, "AAAA"); a.Status != "NOERROR" || len(got) != 1 || got[0] != "2001:db8::80" || a.Answer[0].TTL > 2 {
		t.Fatalf("apex AAAA:\n%s", a.Raw)
	}
	// The zone's other names are served as usual.
	if got := Datas(s.Dig("www.example.com", "A").Answer, "A"); len(got) != 1 || got[0] != "192.0.2.1" {
		t.Fatalf("www A = %v", got)
	}

	// The stand-in stops answering: the refresh fails (logged), and once
	// the 2s TTL has run out the last answer is served stale with TTL 30.
	p.srv.Shutdown()
	s.WaitLog(`cannot resolve ALIAS target; the last answer is served`, 10*time.Second)
	deadline := time.Now().Add(10 * time.Second)
	for {
		a = s.Dig("example.com", "A")
		if a.Status != "NOERROR" || strings.Join(Datas(a.Answer, "A"), " ") != "192.0.2.80 192.0.2.81" {
			t.Fatalf("apex A while the resolver is down:\n%s", a.Raw)
		}
		if a.Answer[0].TTL == 30 {
			break // stale
		}
		if time.Now().After(deadline) {
			t.Fatalf("no stale answer (TTL 30) within 10s:\n%s", a.Raw)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if a = s.Dig("example.com", "AAAA"); a.Status != "NOERROR" || len(a.Answer) != 1 {
		t.Fatalf("stale apex AAAA:\n%s", a.Raw)
	}
}

// Without alias.resolvers such a zone is refused, by check and by serve,
// with the record's position; with them, check accepts it. A target that
// is served but whose CNAME leaves the served zones is told apart.
func TestAliasResolversCheck(t *testing.T) {
	s := Start(t, Options{Files: map[string]string{
		"example.com.zone": "$TTL 3600\n@ ALIAS cdn.provider.test.\n",
		"example.net.zone": "$TTL 3600\n@ ALIAS out.example.org.\n",
		"example.org.zone": "$TTL 3600\nout CNAME cdn.provider.test.\n",
	}})
	out, code := runBinary("check", "--config", s.Config)
	for _, want := range []string{
		"example.com.zone:2:1: ALIAS target cdn.provider.test. is in a zone smartdns does not serve",
		"example.net.zone:2:1: ALIAS target out.example.org. is in a served zone, but its CNAME chain leaves the served zones at cdn.provider.test.",
		"set alias.resolvers",
	} {
		if code != 1 || !strings.Contains(out, want) {
			t.Errorf("check (exit %d) lacks %q:\n%s", code, want, out)
		}
	}
	if a := s.Dig("example.com", "A"); a.Status != "REFUSED" {
		t.Errorf("the refused zone is served:\n%s", a.Raw)
	}
	// The same zones with a resolver configured: they load.
	with := Start(t, Options{Files: map[string]string{
		"example.com.zone": "$TTL 3600\n@ ALIAS cdn.provider.test.\n",
	}, Extra: "alias:\n  resolvers: [\"127.0.0.1:9\"]\n  timeout: 100ms\n"})
	if out, code := runBinary("check", "--config", with.Config); code != 0 {
		t.Errorf("check with alias.resolvers (exit %d):\n%s", code, out)
	}
	// Nothing ever resolved (the port answers nothing): SERVFAIL.
	if a := with.Dig("example.com", "A"); a.Status != "SERVFAIL" {
		t.Errorf("never resolved: want SERVFAIL:\n%s", a.Raw)
	}
}
