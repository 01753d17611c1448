package zones

import (
	"fmt"
	"strings"
	"testing"

	"github.com/miekg/dns"

	"github.com/smartdns/smartdns/zones/masterfile"
	"github.com/smartdns/smartdns/zones/zonefile"
)

func benchZone(b *testing.B, n int) *Zone {
	var sb strings.Builder
	sb.WriteString("$ORIGIN bench.example.\n@ 3600 IN SOA ns1 h 1 7200 3600 1209600 300\n@ NS ns1\nns1 A 192.0.2.1\n*.wild A 192.0.2.2\nsub NS ns.sub\nns.sub A 192.0.2.3\n")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&sb, "host%d A 10.%d.%d.%d\n", i, i>>16&255, i>>8&255, i&255)
	}
	recs, probs := masterfile.Parse("bench.zone", "bench.example.", []byte(sb.String()))
	if probs.HasErrors() {
		b.Fatal(probs)
	}
	z, probs := Compile("bench.example.", "bench.zone", recs, CompileOptions{})
	if probs.HasErrors() {
		b.Fatal(probs)
	}
	return z
}

func benchLookup(b *testing.B, name string, qtype uint16, want Kind) {
	z := benchZone(b, 10000)
	q, _ := zonefile.WireName(name)
	if r := z.Lookup(q, qtype); r.Kind != want {
		b.Fatalf("%s: kind %d, want %d", name, r.Kind, want)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		z.Lookup(q, qtype)
	}
}

func BenchmarkLookupExact(b *testing.B) {
	benchLookup(b, "host4242.bench.example.", dns.TypeA, Success)
}
func BenchmarkLookupWildcard(b *testing.B) {
	benchLookup(b, "a.b.wild.bench.example.", dns.TypeA, Success)
}
func BenchmarkLookupNXDOMAIN(b *testing.B) {
	benchLookup(b, "nothere.bench.example.", dns.TypeA, NameError)
}
func BenchmarkLookupReferral(b *testing.B) {
	benchLookup(b, "www.sub.bench.example.", dns.TypeA, Delegation)
}
