package dns

import (
	"encoding/binary"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	mdns "github.com/miekg/dns"

	"github.com/smartdns/smartdns/internal/qstats"
	"github.com/smartdns/smartdns/zones"
	"github.com/smartdns/smartdns/zones/masterfile"
)

// testHandler serves the zone files in testdata/ named by origins.
func testHandler(t testing.TB, origins ...string) *Handler {
	t.Helper()
	// Counters on, as the server runs: the tests and benchmarks go
	// through the counting path.
	stats := &qstats.Registry{}
	var zs []*zones.Zone
	for _, o := range origins {
		path := filepath.Join("testdata", o+".zone")
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		recs, probs := masterfile.Parse(path, o+".", data)
		if probs.HasErrors() {
			t.Fatalf("%s: %v", path, probs)
		}
		z, probs := zones.Compile(o+".", path, recs, zones.CompileOptions{Nameservers: []string{"ns1.example.com."}, SOA: zones.SOADefaults{TTL: 3600, Minimum: 300}, Stats: stats})
		if probs.HasErrors() {
			t.Fatalf("%s: %v", path, probs)
		}
		zs = append(zs, z)
	}
	h := &Handler{MaxUDPSize: 1232, Stats: stats}
	h.SetSnapshot(zones.NewSnapshot(1, zs))
	return h
}

func query(t testing.TB, h *Handler, m *mdns.Msg, tcp bool) *mdns.Msg {
	t.Helper()
	pkt, err := m.Pack()
	if err != nil {
		t.Fatal(err)
	}
	out := make([]byte, 65535)
	resp := h.ServeDNS(pkt, out, tcp)
	if resp == nil {
		return nil
	}
	r := new(mdns.Msg)
	if err := r.Unpack(resp); err != nil {
		t.Fatalf("unpacking response: %v", err)
	}
	return r
}

func TestAnyOverUDPGivesOneRRset(t *testing.T) {
	h := testHandler(t, "example.com")
	m := new(mdns.Msg)
	m.SetQuestion("example.com.", mdns.TypeANY)
	r := query(t, h, m, false)
	types := map[uint16]bool{}
	for _, rr := range r.Answer {
		types[rr.Header().Rrtype] = true
	}
	if len(types) != 1 {
		t.Errorf("UDP ANY answered %d RRsets, want 1:\n%v", len(types), r)
	}
	r = query(t, h, m, true)
	if len(r.Answer) < 4 {
		t.Errorf("TCP ANY answered %d RRs, want the whole node", len(r.Answer))
	}
}

func rrStrings(rrs []mdns.RR) string {
	var b strings.Builder
	for _, rr := range rrs {
		b.WriteString(rr.String())
		b.WriteByte('\n')
	}
	return b.String()
}

var update = flag.Bool("update", false, "rewrite testdata/rules.golden from the answers given")

// rulesHandler serves every zone file of testdata/rules (RFC 1035 and
// octoDNS YAML), compiled with the same defaults as testHandler.
func rulesHandler(t testing.TB) *Handler {
	t.Helper()
	dir := filepath.Join("testdata", "rules")
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var zs []*zones.Zone
	for _, e := range entries {
		origin, ok := zones.ZoneFile(e.Name())
		if !ok {
			continue
		}
		path := filepath.Join(dir, e.Name())
		recs, probs := zones.ParseFile(path, origin)
		if probs.HasErrors() {
			t.Fatalf("%s: %v", path, probs)
		}
		z, probs := zones.Compile(origin, path, recs, zones.CompileOptions{
			Nameservers: []string{"ns1.example.com.", "ns2.example.com."},
			SOA:         zones.SOADefaults{Rname: "hostmaster.example.com.", TTL: 3600, Refresh: 7200, Retry: 3600, Expire: 1209600, Minimum: 300},
		})
		if probs.HasErrors() {
			t.Fatalf("%s: %v", path, probs)
		}
		zs = append(zs, z)
	}
	h := &Handler{MaxUDPSize: 1232}
	h.SetSnapshot(zones.NewSnapshot(1, zs))
	return h
}

// ruleCase is one query of the golden table.
type ruleCase struct {
	name  string // the rule shown; the golden file's key
	qname string
	qtype uint16
	tcp   bool
	edns  int // EDNS buffer size offered; 0: no EDNS
}

var (
	longLabel   = strings.Repeat("b", 40)
	dlongTarget = strings.Repeat(strings.Repeat("a", 60)+".", 3) + "example.net."
)

// ruleCases are the answer rules of RFC 1034 §4.3.2 with RFC 2181, 2308,
// 4592, 6604, 6672 and 8482, as Knot and NSD answer them. The expected
// answers, as zone-file text, are in testdata/rules.golden (go test
// -update rewrites it; review the diff). The zones are those of the e2e
// answer tests, whose table states the same expectations record by record.
var ruleCases = []ruleCase{
	// AA on authoritative data; the qname's case kept in the question and
	// in the owners (RFC 4343 §4).
	{name: "A", qname: "www.example.com.", qtype: mdns.TypeA},
	{name: "A, mixed case", qname: "wWw.ExAmPlE.CoM.", qtype: mdns.TypeA},
	{name: "SOA at the apex", qname: "example.com.", qtype: mdns.TypeSOA},
	// REFUSED for names in no zone we serve, no AA.
	{name: "REFUSED outside our zones", qname: "www.example.invalid.", qtype: mdns.TypeA},
	{name: "REFUSED above our zones", qname: "com.", qtype: mdns.TypeNS},
	// Nested zones: the most specific answers.
	{name: "nested: child data", qname: "www.sub.example.com.", qtype: mdns.TypeA},
	{name: "nested: child apex NS", qname: "sub.example.com.", qtype: mdns.TypeNS},
	{name: "nested: child NXDOMAIN", qname: "nope.sub.example.com.", qtype: mdns.TypeA},
	// Negative answers: SOA with TTL min(SOA TTL, minimum) (RFC 2308 §5).
	{name: "NXDOMAIN", qname: "nothere.example.com.", qtype: mdns.TypeA},
	{name: "NODATA", qname: "www.example.com.", qtype: mdns.TypeMX},
	{name: "NXDOMAIN, SOA TTL below minimum", qname: "nothere.example.net.", qtype: mdns.TypeA},
	{name: "NODATA, SOA TTL below minimum", qname: "www.example.net.", qtype: mdns.TypeTXT},
	{name: "empty non-terminal", qname: "c.example.com.", qtype: mdns.TypeTXT},
	{name: "below an empty non-terminal", qname: "x.b.c.example.com.", qtype: mdns.TypeTXT},
	// Wildcards (RFC 4592).
	{name: "wildcard", qname: "Foo.Wild.example.com.", qtype: mdns.TypeA},
	{name: "wildcard, several labels", qname: "a.b.wild.example.com.", qtype: mdns.TypeTXT},
	{name: "wildcard, NODATA", qname: "foo.wild.example.com.", qtype: mdns.TypeMX},
	{name: "wildcard vs an existing name", qname: "exists.wild.example.com.", qtype: mdns.TypeTXT},
	{name: "wildcard vs below an existing name", qname: "x.exists.wild.example.com.", qtype: mdns.TypeA},
	{name: "wildcard CNAME", qname: "X.WildCname.example.com.", qtype: mdns.TypeA},
	{name: "RFC 4592: host3 MX", qname: "host3.example.", qtype: mdns.TypeMX},
	{name: "RFC 4592: host3 A", qname: "host3.example.", qtype: mdns.TypeA},
	{name: "RFC 4592: foo.bar TXT", qname: "foo.bar.example.", qtype: mdns.TypeTXT},
	{name: "RFC 4592: host1 MX", qname: "host1.example.", qtype: mdns.TypeMX},
	{name: "RFC 4592: sub.* MX", qname: "sub.*.example.", qtype: mdns.TypeMX},
	{name: "RFC 4592: _telnet._tcp.host1 SRV", qname: "_telnet._tcp.host1.example.", qtype: mdns.TypeSRV},
	{name: "RFC 4592: host.subdel A", qname: "host.subdel.example.", qtype: mdns.TypeA},
	{name: "RFC 4592: ghost.* MX", qname: "ghost.*.example.", qtype: mdns.TypeMX},
	{name: "RFC 4592: ENT host2", qname: "host2.example.", qtype: mdns.TypeTXT},
	// CNAME (RFC 1034 §4.3.2, RFC 6604).
	{name: "CNAME followed", qname: "alias.example.com.", qtype: mdns.TypeA},
	{name: "CNAME chain, mixed case", qname: "Alias-Chain.EXAMPLE.com.", qtype: mdns.TypeAAAA},
	{name: "CNAME into a second zone", qname: "alias-net.example.com.", qtype: mdns.TypeA},
	{name: "CNAME to NXDOMAIN", qname: "alias-nx.example.com.", qtype: mdns.TypeA},
	{name: "CNAME to NODATA", qname: "alias.example.com.", qtype: mdns.TypeMX},
	{name: "CNAME out of our zones", qname: "alias-ext.example.com.", qtype: mdns.TypeA},
	{name: "CNAME into a delegation", qname: "alias-deleg.example.com.", qtype: mdns.TypeA},
	{name: "CNAME loop", qname: "loop1.example.com.", qtype: mdns.TypeA},
	{name: "CNAME to itself", qname: "self.example.com.", qtype: mdns.TypeA},
	{name: "qtype CNAME", qname: "alias-chain.example.com.", qtype: mdns.TypeCNAME},
	{name: "CNAME to MX owner", qname: "mxalias.example.com.", qtype: mdns.TypeMX},
	// DNAME (RFC 6672).
	{name: "DNAME", qname: "X.DN.example.com.", qtype: mdns.TypeA},
	{name: "DNAME to NXDOMAIN", qname: "a.b.dn.example.com.", qtype: mdns.TypeA},
	{name: "DNAME out of our zones", qname: "y.dnx.example.com.", qtype: mdns.TypeA},
	{name: "DNAME owner, type DNAME", qname: "dn.example.com.", qtype: mdns.TypeDNAME},
	{name: "DNAME owner, other data", qname: "dn.example.com.", qtype: mdns.TypeA},
	{name: "DNAME at the apex", qname: "www.example.info.", qtype: mdns.TypeA},
	{name: "DNAME at the apex, apex data", qname: "example.info.", qtype: mdns.TypeTXT},
	{name: "DNAME substitution too long", qname: longLabel + "." + longLabel + ".dlong.example.com.", qtype: mdns.TypeA},
	// Referrals and DS (RFC 1034 §4.3.2 step 3b, RFC 4035 §3.1.4.1, RFC 9471).
	{name: "referral", qname: "www.deleg.example.com.", qtype: mdns.TypeA},
	{name: "referral at the delegation name", qname: "deleg.example.com.", qtype: mdns.TypeNS},
	{name: "referral without glue", qname: "a.nods.example.com.", qtype: mdns.TypeA},
	{name: "DS at a delegation", qname: "deleg.example.com.", qtype: mdns.TypeDS},
	{name: "DS at a delegation without DS", qname: "nods.example.com.", qtype: mdns.TypeDS},
	{name: "DS at a served child's apex", qname: "sub.example.com.", qtype: mdns.TypeDS},
	{name: "DS at an undelegated served child's apex", qname: "nodeleg.example.com.", qtype: mdns.TypeDS},
	{name: "DS at a top zone's apex", qname: "example.com.", qtype: mdns.TypeDS},
	// Additional section processing.
	{name: "MX additional", qname: "example.com.", qtype: mdns.TypeMX},
	{name: "SRV additional", qname: "_sip._udp.example.com.", qtype: mdns.TypeSRV},
	{name: "NS additional", qname: "example.com.", qtype: mdns.TypeNS},
	{name: "SRV additional, one host twice", qname: "_xmpp._tcp.example.com.", qtype: mdns.TypeSRV},
	{name: "ANY over TCP, one host for two RRsets", qname: "multi.example.com.", qtype: mdns.TypeANY, tcp: true},
	// ANY (RFC 8482): one RRset over UDP, the node over TCP.
	{name: "ANY over UDP", qname: "www.example.com.", qtype: mdns.TypeANY},
	{name: "ANY over TCP", qname: "www.example.com.", qtype: mdns.TypeANY, tcp: true},
	{name: "ANY at a wildcard over TCP", qname: "foo.wild.example.com.", qtype: mdns.TypeANY, tcp: true},
	// The octoDNS YAML zone (SOA and NS from the defaults; serial 0 as no
	// loader assigns one here).
	{name: "YAML: CNAME to the apex", qname: "www.example.org.", qtype: mdns.TypeA},
	{name: "YAML: NXDOMAIN", qname: "nope.example.org.", qtype: mdns.TypeA},
	// EDNS: OPT echoed with version 0 and our size.
	{name: "EDNS", qname: "www.example.com.", qtype: mdns.TypeA, edns: 4096},
}

// renderResponse writes a response as the golden file holds it.
func renderResponse(c ruleCase, r *mdns.Msg) string {
	var b strings.Builder
	tr := "udp"
	if c.tcp {
		tr = "tcp"
	}
	fmt.Fprintf(&b, "== %s\n;; query %s %s %s", c.name, c.qname, mdns.TypeToString[c.qtype], tr)
	if c.edns > 0 {
		fmt.Fprintf(&b, " edns=%d", c.edns)
	}
	b.WriteString("\n")
	if r == nil {
		b.WriteString(";; no response\n")
		return b.String()
	}
	var flags []string
	for _, f := range []struct {
		on   bool
		name string
	}{{r.Response, "qr"}, {r.Authoritative, "aa"}, {r.Truncated, "tc"}, {r.RecursionDesired, "rd"}} {
		if f.on {
			flags = append(flags, f.name)
		}
	}
	fmt.Fprintf(&b, ";; %s flags: %s\n", mdns.RcodeToString[r.Rcode], strings.Join(flags, " "))
	for _, q := range r.Question {
		fmt.Fprintf(&b, ";; question %s %s\n", q.Name, mdns.TypeToString[q.Qtype])
	}
	if o := r.IsEdns0(); o != nil {
		fmt.Fprintf(&b, ";; edns version %d udp %d do %v\n", o.Version(), o.UDPSize(), o.Do())
	}
	section := func(title string, rrs []mdns.RR) {
		fmt.Fprintf(&b, ";; %s\n", title)
		for _, rr := range rrs {
			if rr.Header().Rrtype == mdns.TypeOPT {
				continue
			}
			b.WriteString(rr.String())
			b.WriteByte('\n')
		}
	}
	section("ANSWER", r.Answer)
	section("AUTHORITY", r.Ns)
	section("ADDITIONAL", r.Extra)
	return b.String()
}

// TestAnswerRules answers every case of ruleCases (the RFC 1034 §4.3.2
// answer rules; see ruleCases for the RFC of each group) and compares each
// response with its block in testdata/rules.golden.
func TestAnswerRules(t *testing.T) {
	h := rulesHandler(t)
	golden := filepath.Join("testdata", "rules.golden")
	var all strings.Builder
	all.WriteString("; Answers of dns.Handler to the queries of ruleCases (handler_test.go),\n; as zone-file text. Regenerate with: go test ./dns -run TestAnswerRules -update\n\n")
	got := map[string]string{}
	for _, c := range ruleCases {
		m := new(mdns.Msg)
		m.SetQuestion(c.qname, c.qtype)
		m.RecursionDesired = false
		if c.edns > 0 {
			m.SetEdns0(uint16(c.edns), false)
		}
		if _, dup := got[c.name]; dup {
			t.Fatalf("two cases named %q", c.name)
		}
		got[c.name] = renderResponse(c, query(t, h, m, c.tcp))
		all.WriteString(got[c.name])
		all.WriteString("\n")
	}
	if *update {
		if err := os.WriteFile(golden, []byte(all.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	data, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	want := map[string]string{}
	for _, block := range strings.Split(string(data), "\n== ")[1:] {
		block = "== " + strings.TrimRight(block, "\n") + "\n"
		name := strings.TrimPrefix(block[:strings.IndexByte(block, '\n')], "== ")
		want[name] = block
	}
	for _, c := range ruleCases {
		w, ok := want[c.name]
		if !ok {
			t.Errorf("%s: not in %s (run with -update)", c.name, golden)
			continue
		}
		if got[c.name] != w {
			t.Errorf("%s:\ngot:\n%s\nwant:\n%s", c.name, got[c.name], w)
		}
	}
}

// sizedHandler serves example.com with RRsets of known sizes: "mid", 11
// TXT of 100 bytes (about 1.3 KB answered); "big", 60 of them (6.8 KB);
// "mx", 20 MX whose targets have addresses; and "wide", a delegation to
// 20 in-bailiwick servers with A and AAAA glue.
func sizedHandler(t testing.TB, maxUDP int) *Handler {
	t.Helper()
	var b strings.Builder
	b.WriteString("$ORIGIN example.com.\n$TTL 3600\n@ SOA ns1 hostmaster 1 7200 3600 1209600 300\n@ NS ns1\nns1 A 192.0.2.1\nwww A 192.0.2.10\n")
	for i := 0; i < 60; i++ {
		fmt.Fprintf(&b, "big TXT \"%02d%s\"\n", i, strings.Repeat("x", 97))
		if i < 11 {
			fmt.Fprintf(&b, "mid TXT \"%02d%s\"\n", i, strings.Repeat("y", 97))
		}
		if i < 20 {
			fmt.Fprintf(&b, "mx MX 10 mx%02d\nmx%02d A 192.0.2.%d\n", i, i, 100+i)
			fmt.Fprintf(&b, "wide NS ns%02d.wide\nns%02d.wide A 198.51.100.%d\nns%02d.wide AAAA 2001:db8::%d\n", i, i, i, i, i)
		}
	}
	recs, probs := masterfile.Parse("sized.zone", "example.com.", []byte(b.String()))
	if probs.HasErrors() {
		t.Fatal(probs)
	}
	z, probs := zones.Compile("example.com.", "sized.zone", recs, zones.CompileOptions{SOA: zones.SOADefaults{TTL: 3600, Minimum: 300}})
	if probs.HasErrors() {
		t.Fatal(probs)
	}
	h := &Handler{MaxUDPSize: maxUDP}
	h.SetSnapshot(zones.NewSnapshot(1, []*zones.Zone{z}))
	return h
}

// serveRaw runs ServeDNS on m and returns the wire answer and its parse.
func serveRaw(t testing.TB, h *Handler, m *mdns.Msg, tcp bool) ([]byte, *mdns.Msg) {
	t.Helper()
	pkt, err := m.Pack()
	if err != nil {
		t.Fatal(err)
	}
	out := make([]byte, 65535)
	resp := h.ServeDNS(pkt, out, tcp)
	if resp == nil {
		t.Fatal("no response")
	}
	r := new(mdns.Msg)
	if err := r.Unpack(resp); err != nil {
		t.Fatalf("unpacking response: %v", err)
	}
	return resp, r
}

// TestEDNSResponses: OPT echoed with version 0 and our buffer size (RFC
// 6891 §6.1.1, §6.2.3), configurable; none without EDNS (§7); BADVERS for
// version 1 (§6.1.3); DO copied (RFC 3225 §3).
func TestEDNSResponses(t *testing.T) {
	cases := []struct {
		name    string
		maxUDP  int
		edns    uint16 // 0: no OPT
		version uint8
		do      bool
		rcode   int
		answers int
		wantUDP uint16 // 0: no OPT expected
	}{
		{name: "no EDNS", maxUDP: 1232, rcode: mdns.RcodeSuccess, answers: 1},
		{name: "EDNS 4096", maxUDP: 1232, edns: 4096, rcode: mdns.RcodeSuccess, answers: 1, wantUDP: 1232},
		{name: "EDNS 512", maxUDP: 1232, edns: 512, rcode: mdns.RcodeSuccess, answers: 1, wantUDP: 1232},
		{name: "max_udp_size 1400", maxUDP: 1400, edns: 4096, rcode: mdns.RcodeSuccess, answers: 1, wantUDP: 1400},
		{name: "unset MaxUDPSize defaults to 1232", maxUDP: 0, edns: 4096, rcode: mdns.RcodeSuccess, answers: 1, wantUDP: 1232},
		{name: "DO copied", maxUDP: 1232, edns: 1232, do: true, rcode: mdns.RcodeSuccess, answers: 1, wantUDP: 1232},
		{name: "version 1: BADVERS", maxUDP: 1232, edns: 1232, version: 1, rcode: mdns.RcodeBadVers, wantUDP: 1232},
		{name: "version 1 with DO: BADVERS, DO copied", maxUDP: 1232, edns: 1232, version: 1, do: true, rcode: mdns.RcodeBadVers, wantUDP: 1232},
	}
	for _, c := range cases {
		for _, tcp := range []bool{false, true} {
			h := sizedHandler(t, c.maxUDP)
			m := new(mdns.Msg)
			m.SetQuestion("www.example.com.", mdns.TypeA)
			if c.edns > 0 {
				m.SetEdns0(c.edns, c.do)
				m.IsEdns0().SetVersion(c.version)
			}
			_, r := serveRaw(t, h, m, tcp)
			if r.Rcode != c.rcode || len(r.Answer) != c.answers || r.Id != m.Id || len(r.Question) != 1 {
				t.Errorf("%s tcp=%v: rcode %s with %d answers, want %s with %d:\n%v", c.name, tcp, mdns.RcodeToString[r.Rcode], len(r.Answer), mdns.RcodeToString[c.rcode], c.answers, r)
			}
			o := r.IsEdns0()
			switch {
			case c.wantUDP == 0 && o != nil:
				t.Errorf("%s tcp=%v: OPT in the answer to a query without one", c.name, tcp)
			case c.wantUDP != 0 && o == nil:
				t.Errorf("%s tcp=%v: no OPT", c.name, tcp)
			case o != nil && (o.Version() != 0 || o.UDPSize() != c.wantUDP || o.Do() != c.do):
				t.Errorf("%s tcp=%v: OPT version %d udp %d do %v, want 0 %d %v", c.name, tcp, o.Version(), o.UDPSize(), o.Do(), c.wantUDP, c.do)
			}
			if c.rcode == mdns.RcodeBadVers && r.Authoritative {
				t.Errorf("%s: AA on BADVERS", c.name)
			}
		}
	}
}

// TestTruncation: an answer that does not fit the client's buffer (512
// without EDNS, RFC 1035 §4.2.1; its EDNS size capped by ours otherwise)
// is sent with TC and the question (RFC 2181 §9); TCP gets it whole.
// Additional data that does not fit is left out without TC, except glue
// (RFC 9471).
func TestTruncation(t *testing.T) {
	cases := []struct {
		name    string
		qname   string
		qtype   uint16
		maxUDP  int
		edns    uint16
		tcp     bool
		limit   int
		tc      bool
		answers int // -1: not checked
	}{
		{"big, no EDNS", "big.example.com.", mdns.TypeTXT, 1232, 0, false, 512, true, 0},
		{"big, EDNS 512", "big.example.com.", mdns.TypeTXT, 1232, 512, false, 512, true, 0},
		{"big, EDNS 100 counts as 512", "big.example.com.", mdns.TypeTXT, 1232, 100, false, 512, true, 0},
		{"big, EDNS 1232", "big.example.com.", mdns.TypeTXT, 1232, 1232, false, 1232, true, 0},
		{"big, EDNS 65000 capped at ours", "big.example.com.", mdns.TypeTXT, 1232, 65000, false, 1232, true, 0},
		{"big over TCP", "big.example.com.", mdns.TypeTXT, 1232, 0, true, 65535, false, 60},
		{"big over TCP with EDNS", "big.example.com.", mdns.TypeTXT, 1232, 1232, true, 65535, false, 60},
		{"mid, EDNS 4096, ours 1232", "mid.example.com.", mdns.TypeTXT, 1232, 4096, false, 1232, true, 0},
		{"mid, EDNS 4096, ours 1400", "mid.example.com.", mdns.TypeTXT, 1400, 4096, false, 1400, false, 11},
		{"mid, EDNS 1232, ours 1400", "mid.example.com.", mdns.TypeTXT, 1400, 1232, false, 1232, true, 0},
		{"small, no EDNS", "www.example.com.", mdns.TypeA, 1232, 0, false, 512, false, 1},
		{"additional left out, no TC", "mx.example.com.", mdns.TypeMX, 1232, 0, false, 512, false, 20},
		{"glue left out: TC", "x.wide.example.com.", mdns.TypeA, 1232, 0, false, 512, true, -1},
		{"glue fits over TCP", "x.wide.example.com.", mdns.TypeA, 1232, 0, true, 65535, false, -1},
	}
	for _, c := range cases {
		h := sizedHandler(t, c.maxUDP)
		m := new(mdns.Msg)
		m.SetQuestion(c.qname, c.qtype)
		if c.edns > 0 {
			m.SetEdns0(c.edns, false)
		}
		wire, r := serveRaw(t, h, m, c.tcp)
		if len(wire) > c.limit {
			t.Errorf("%s: %d bytes, limit %d", c.name, len(wire), c.limit)
		}
		if r.Truncated != c.tc || (c.answers >= 0 && len(r.Answer) != c.answers) {
			t.Errorf("%s: tc=%v with %d answers, want tc=%v with %d", c.name, r.Truncated, len(r.Answer), c.tc, c.answers)
		}
		if len(r.Question) != 1 || r.Question[0].Name != c.qname || r.Rcode != mdns.RcodeSuccess {
			t.Errorf("%s: question %v rcode %d", c.name, r.Question, r.Rcode)
		}
		if (c.edns > 0) != (r.IsEdns0() != nil) {
			t.Errorf("%s: OPT present %v, want %v", c.name, r.IsEdns0() != nil, c.edns > 0)
		}
		if strings.HasPrefix(c.name, "glue") {
			// The referral itself is kept: all 20 NS, no AA.
			if len(r.Ns) != 20 || r.Authoritative {
				t.Errorf("%s: %d NS in authority, aa=%v; want the 20 NS without AA", c.name, len(r.Ns), r.Authoritative)
			}
			if !c.tc && len(r.Extra) < 40 {
				t.Errorf("%s: %d glue records, want 40", c.name, len(r.Extra))
			}
		}
	}
}

// rawHeader builds a header with id 0x4242.
func rawHeader(flags, qd, an, ns, ar uint16) []byte {
	b := make([]byte, 12)
	binary.BigEndian.PutUint16(b, 0x4242)
	binary.BigEndian.PutUint16(b[2:], flags)
	binary.BigEndian.PutUint16(b[4:], qd)
	binary.BigEndian.PutUint16(b[6:], an)
	binary.BigEndian.PutUint16(b[8:], ns)
	binary.BigEndian.PutUint16(b[10:], ar)
	return b
}

// TestMalformedQueries: what cannot be parsed as one query gets FORMERR
// (RFC 1035 §4.1.1, RFC 6891 §6.1.1), other opcodes NOTIMP (with the OPT
// the request had, RFC 6891 §7), and what is no query at all (no header,
// or QR set) no answer.
func TestMalformedQueries(t *testing.T) {
	h := rulesHandler(t)
	q := []byte("\x03www\x07example\x03com\x00\x00\x01\x00\x01")
	opt := []byte("\x00\x00\x29\x04\xd0\x00\x00\x00\x00\x00\x00")
	j := func(parts ...[]byte) []byte {
		var out []byte
		for _, p := range parts {
			out = append(out, p...)
		}
		return out
	}
	cases := []struct {
		name  string
		pkt   []byte
		rcode int // -1: no answer
		opt   bool
	}{
		{"empty", nil, -1, false},
		{"short", []byte{1, 2, 3}, -1, false},
		{"a response", j(rawHeader(0x8000, 1, 0, 0, 0), q), -1, false},
		{"no question", rawHeader(0, 0, 0, 0, 0), mdns.RcodeFormatError, false},
		{"two questions", j(rawHeader(0, 2, 0, 0, 0), q, q), mdns.RcodeFormatError, false},
		{"question cut", j(rawHeader(0, 1, 0, 0, 0), q[:8]), mdns.RcodeFormatError, false},
		{"pointer in the question", j(rawHeader(0, 1, 0, 0, 0), []byte("\xc0\x0c\x00\x01\x00\x01")), mdns.RcodeFormatError, false},
		{"trailing garbage", j(rawHeader(0, 1, 0, 0, 0), q, []byte{0}), mdns.RcodeFormatError, false},
		{"missing additional", j(rawHeader(0, 1, 0, 0, 1), q), mdns.RcodeFormatError, false},
		{"two OPTs", j(rawHeader(0, 1, 0, 0, 2), q, opt, opt), mdns.RcodeFormatError, true},
		{"qtype OPT", j(rawHeader(0, 1, 0, 0, 0), []byte("\x00\x00\x29\x00\x01")), mdns.RcodeFormatError, false},
		{"NOTIFY", j(rawHeader(4<<11, 1, 0, 0, 0), q), mdns.RcodeNotImplemented, false},
		{"NOTIFY with OPT", j(rawHeader(4<<11, 1, 0, 0, 1), q, opt), mdns.RcodeNotImplemented, true},
		{"UPDATE with OPT", j(rawHeader(5<<11, 1, 0, 0, 1), q, opt), mdns.RcodeNotImplemented, true},
		{"STATUS", j(rawHeader(2<<11, 1, 0, 0, 0), q), mdns.RcodeNotImplemented, false},
		{"good, for reference", j(rawHeader(0, 1, 0, 0, 1), q, opt), mdns.RcodeSuccess, true},
	}
	for _, c := range cases {
		for _, tcp := range []bool{false, true} {
			out := make([]byte, 65535)
			resp := h.ServeDNS(c.pkt, out, tcp)
			if c.rcode < 0 {
				if resp != nil {
					t.Errorf("%s: answered % x, want no answer", c.name, resp)
				}
				continue
			}
			r := new(mdns.Msg)
			if err := r.Unpack(resp); err != nil {
				t.Errorf("%s: response does not parse: %v", c.name, err)
				continue
			}
			if r.Id != 0x4242 || !r.Response || r.Rcode != c.rcode || (r.IsEdns0() != nil) != c.opt {
				t.Errorf("%s: id %#x qr %v rcode %s opt %v; want rcode %s opt %v", c.name, r.Id, r.Response, mdns.RcodeToString[r.Rcode], r.IsEdns0() != nil, mdns.RcodeToString[c.rcode], c.opt)
			}
			if c.rcode != mdns.RcodeSuccess && (r.Authoritative || len(r.Answer) != 0) {
				t.Errorf("%s: an error with AA or answers: %v", c.name, r)
			}
		}
	}
}

// TestRefusals: no snapshot, another class, zone transfers: REFUSED
// without AA; MAILA/MAILB: NOTIMP.
func TestRefusals(t *testing.T) {
	h := rulesHandler(t)
	cases := []struct {
		name   string
		h      *Handler
		qtype  uint16
		qclass uint16
		rcode  int
	}{
		{"no snapshot yet", &Handler{}, mdns.TypeA, mdns.ClassINET, mdns.RcodeRefused},
		{"class CHAOS", h, mdns.TypeTXT, mdns.ClassCHAOS, mdns.RcodeRefused},
		{"AXFR", h, mdns.TypeAXFR, mdns.ClassINET, mdns.RcodeRefused},
		{"IXFR", h, mdns.TypeIXFR, mdns.ClassINET, mdns.RcodeRefused},
		{"MAILA", h, mdns.TypeMAILA, mdns.ClassINET, mdns.RcodeNotImplemented},
		{"class ANY is IN", h, mdns.TypeA, mdns.ClassANY, mdns.RcodeSuccess},
	}
	for _, c := range cases {
		m := new(mdns.Msg)
		m.SetQuestion("www.example.com.", c.qtype)
		m.Question[0].Qclass = c.qclass
		r := query(t, h, m, false)
		if c.h != h {
			r = query(t, c.h, m, false)
		}
		if r.Rcode != c.rcode || (c.rcode != mdns.RcodeSuccess && (r.Authoritative || len(r.Answer) > 0)) || len(r.Question) != 1 {
			t.Errorf("%s: %v", c.name, r)
		}
	}
}

// TestApexDNAMEOccludes: a DNAME at the apex redirects every name below
// it (RFC 6672 §2.3), so data below it is never served: compiling warns,
// the query is redirected, and the apex MX does not add its occluded
// target's address.
func TestApexDNAMEOccludes(t *testing.T) {
	src := `$ORIGIN example.info.
$TTL 3600
@    SOA   ns1.example.com. hostmaster.example.com. 1 7200 3600 1209600 300
@    NS    ns1.example.com.
@    DNAME example.net.
@    MX    10 mail
mail A     192.0.2.25
`
	recs, probs := masterfile.Parse("apex.zone", "example.info.", []byte(src))
	if probs.HasErrors() {
		t.Fatal(probs)
	}
	z, probs := zones.Compile("example.info.", "apex.zone", recs, zones.CompileOptions{})
	if probs.HasErrors() {
		t.Fatal(probs)
	}
	if !strings.Contains(fmt.Sprint(probs), "mail.example.info. A is below the delegation or DNAME at example.info.") {
		t.Errorf("no warning for data below the apex DNAME: %v", probs)
	}
	h := &Handler{}
	h.SetSnapshot(zones.NewSnapshot(1, []*zones.Zone{z}))
	m := new(mdns.Msg)
	m.SetQuestion("mail.example.info.", mdns.TypeA)
	r := query(t, h, m, false)
	want := "example.info.\t3600\tIN\tDNAME\texample.net.\nmail.example.info.\t3600\tIN\tCNAME\tmail.example.net.\n"
	if got := rrStrings(r.Answer); got != want || r.Rcode != mdns.RcodeSuccess || !r.Authoritative {
		t.Errorf("mail.example.info. A:\n%s\nwant:\n%s", got, want)
	}
	m.SetQuestion("example.info.", mdns.TypeMX)
	r = query(t, h, m, false)
	if len(r.Answer) != 1 || len(r.Extra) != 0 {
		t.Errorf("apex MX: want the MX without the occluded address:\n%v", r)
	}
}

// Every query is counted once, under its zone (or none), type, rcode and
// transport, with its ECS outcome.
func TestQueryCounters(t *testing.T) {
	h := testHandler(t, "example.com")
	ask := func(name string, qtype uint16, tcp bool, ecs string) {
		m := new(mdns.Msg)
		m.SetQuestion(name, qtype)
		if ecs != "" {
			o := &mdns.OPT{Hdr: mdns.RR_Header{Name: ".", Rrtype: mdns.TypeOPT}}
			o.SetUDPSize(1232)
			p := netip.MustParsePrefix(ecs)
			o.Option = append(o.Option, &mdns.EDNS0_SUBNET{Code: mdns.EDNS0SUBNET, Family: 1, SourceNetmask: uint8(p.Bits()), Address: p.Addr().AsSlice()})
			m.Extra = append(m.Extra, o)
		}
		query(t, h, m, tcp)
	}
	ask("www.example.com.", mdns.TypeA, false, "")
	ask("www.example.com.", mdns.TypeA, false, "")
	ask("www.example.com.", mdns.TypeA, true, "198.51.100.0/24")
	ask("nope.example.com.", mdns.TypeAAAA, false, "")
	ask("www.example.org.", mdns.TypeTXT, false, "")
	ask("www.example.com.", mdns.TypeAFSDB, false, "")
	got := map[string]uint64{}
	h.Stats.Zone("example.com.").Each(func(q, rc, tr string, n uint64) { got["example.com. "+q+" "+rc+" "+tr] = n })
	h.Stats.NoZone.Each(func(q, rc, tr string, n uint64) { got["- "+q+" "+rc+" "+tr] = n })
	want := map[string]uint64{
		"example.com. A NOERROR udp":     2,
		"example.com. A NOERROR tcp":     1,
		"example.com. AAAA NXDOMAIN udp": 1,
		"example.com. other NOERROR udp": 1,
		"- TXT REFUSED udp":              1,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("counters %v, want %v", got, want)
	}
	if n := h.Stats.ECSCount(qstats.ECSUsed) + h.Stats.ECSCount(qstats.ECSScoped); n != 1 {
		t.Errorf("ECS queries honoured: %d, want 1", n)
	}
	if n := h.Stats.ECSCount(qstats.ECSNone); n != 5 {
		t.Errorf("queries without ECS: %d, want 5", n)
	}
}
