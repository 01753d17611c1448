package dns

import (
	"net/netip"
	"testing"

	mdns "github.com/miekg/dns"

	"github.com/smartdns/smartdns/zones"
	"github.com/smartdns/smartdns/zones/masterfile"
	"github.com/smartdns/smartdns/zones/zonefile"
)

// fakeAlias is an AliasResolver with fixed answers, keyed by wire name and
// type; a missing key is "never resolved".
type fakeAlias map[string]fakeAnswer

type fakeAnswer struct {
	data [][]byte
	ttl  uint32
}

func (f fakeAlias) AliasAddrs(name string, qtype uint16) ([][]byte, uint32, bool) {
	a, ok := f[name+string(rune(qtype))]
	return a.data, a.ttl, ok
}

func key(name string, qtype uint16) string {
	w, _ := zonefile.WireName(name)
	return w + string(rune(qtype))
}

func addr(s string) []byte { return netip.MustParseAddr(s).AsSlice() }

// aliasHandler serves example.com (apex ALIAS to target, TTL 300) and
// example.net (served, with a CNAME leaving the served zones).
func aliasHandler(t testing.TB, target string, res AliasResolver) *Handler {
	t.Helper()
	var zs []*zones.Zone
	for origin, src := range map[string]string{
		"example.com.": "$TTL 300\n@ SOA ns1.example.com. h.example.com. 1 7200 3600 1209600 60\n@ NS ns1.example.com.\n@ ALIAS " + target + "\n",
		"example.net.": "$TTL 3600\n@ SOA ns1.example.com. h.example.com. 1 7200 3600 1209600 60\n@ NS ns1.example.com.\nout CNAME cdn.provider.test.\n",
	} {
		recs, probs := masterfile.Parse(origin+"zone", origin, []byte(src))
		if probs.HasErrors() {
			t.Fatal(probs)
		}
		z, probs := zones.Compile(origin, origin+"zone", recs, zones.CompileOptions{})
		if probs.HasErrors() {
			t.Fatal(probs)
		}
		zs = append(zs, z)
	}
	h := &Handler{Alias: res}
	h.SetSnapshot(zones.NewSnapshot(1, zs))
	return h
}

// An apex ALIAS whose target lies outside the served zones is answered
// from the resolver cache: the owner is the apex, the TTL the cache's
// capped at the ALIAS record's; a negative answer is NODATA with the SOA,
// nothing known is SERVFAIL.
func TestAliasOutside(t *testing.T) {
	res := fakeAlias{
		key("cdn.provider.test.", mdns.TypeA):    {data: [][]byte{addr("192.0.2.1"), addr("192.0.2.2")}, ttl: 42},
		key("cdn.provider.test.", mdns.TypeAAAA): {data: [][]byte{addr("2001:db8::1")}, ttl: 3600},
		key("gone.provider.test.", mdns.TypeA):   {},
	}
	for _, tc := range []struct {
		name, target string
		qtype        uint16
		res          AliasResolver
		rcode        int
		answer, auth string
	}{
		{name: "A, the cache's TTL", target: "cdn.provider.test.", qtype: mdns.TypeA, res: res,
			answer: "example.com.\t42\tIN\tA\t192.0.2.1\nexample.com.\t42\tIN\tA\t192.0.2.2\n"},
		{name: "AAAA, capped at the ALIAS TTL", target: "cdn.provider.test.", qtype: mdns.TypeAAAA, res: res,
			answer: "example.com.\t300\tIN\tAAAA\t2001:db8::1\n"},
		{name: "through a served CNAME leaving the zones", target: "out.example.net.", qtype: mdns.TypeA, res: res,
			answer: "example.com.\t42\tIN\tA\t192.0.2.1\nexample.com.\t42\tIN\tA\t192.0.2.2\n"},
		{name: "negative: NODATA", target: "gone.provider.test.", qtype: mdns.TypeA, res: res,
			auth: "example.com.\t60\tIN\tSOA\tns1.example.com. h.example.com. 1 7200 3600 1209600 60\n"},
		{name: "never resolved: SERVFAIL", target: "new.provider.test.", qtype: mdns.TypeA, res: res, rcode: mdns.RcodeServerFailure},
		{name: "no resolver: NODATA as before", target: "cdn.provider.test.", qtype: mdns.TypeA, res: nil,
			auth: "example.com.\t60\tIN\tSOA\tns1.example.com. h.example.com. 1 7200 3600 1209600 60\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := aliasHandler(t, tc.target, tc.res)
			m := new(mdns.Msg)
			m.SetQuestion("example.com.", tc.qtype)
			r := query(t, h, m, false)
			if r.Rcode != tc.rcode {
				t.Fatalf("rcode %s, want %s", mdns.RcodeToString[r.Rcode], mdns.RcodeToString[tc.rcode])
			}
			if got := rrStrings(r.Answer); got != tc.answer {
				t.Errorf("answer:\n%s\nwant:\n%s", got, tc.answer)
			}
			if got := rrStrings(r.Ns); got != tc.auth {
				t.Errorf("authority:\n%s\nwant:\n%s", got, tc.auth)
			}
			if r.Authoritative != (tc.rcode == mdns.RcodeSuccess) {
				t.Errorf("AA = %v", r.Authoritative)
			}
		})
	}
}

// A warm ALIAS answer from the resolver cache allocates no more than a
// static answer.
func TestAliasOutsideAllocs(t *testing.T) {
	h := aliasHandler(t, "cdn.provider.test.", fakeAlias{key("cdn.provider.test.", mdns.TypeA): {data: [][]byte{addr("192.0.2.1")}, ttl: 42}})
	m := new(mdns.Msg)
	m.SetQuestion("example.com.", mdns.TypeA)
	pkt, err := m.Pack()
	if err != nil {
		t.Fatal(err)
	}
	out := make([]byte, 65535)
	if n := testing.AllocsPerRun(1000, func() { h.ServeDNS(pkt, out, false) }); n > 0 {
		t.Errorf("an ALIAS answer from the resolver cache allocates %.1f times", n)
	}
}
