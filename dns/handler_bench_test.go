package dns

import (
	"testing"

	mdns "github.com/miekg/dns"
)

// The allocation budget of the query path: a static A answer allocates at
// most 2 times (the bar); the benchmarks report allocs/op.
func benchQuery(b *testing.B, name string, qtype uint16, edns bool) {
	h := testHandler(b, "example.com")
	m := new(mdns.Msg)
	m.SetQuestion(name, qtype)
	if edns {
		m.SetEdns0(1232, false)
	}
	pkt, _ := m.Pack()
	out := make([]byte, 65535)
	if h.ServeDNS(pkt, out, false) == nil {
		b.Fatal("no answer")
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		h.ServeDNS(pkt, out, false)
	}
}

func BenchmarkHandlerStaticA(b *testing.B)      { benchQuery(b, "www.example.com.", mdns.TypeA, false) }
func BenchmarkHandlerStaticAEDNS(b *testing.B)  { benchQuery(b, "www.example.com.", mdns.TypeA, true) }
func BenchmarkHandlerMXAdditional(b *testing.B) { benchQuery(b, "example.com.", mdns.TypeMX, true) }
func BenchmarkHandlerCNAMEChain(b *testing.B)   { benchQuery(b, "alias.example.com.", mdns.TypeA, true) }
func BenchmarkHandlerWildcard(b *testing.B)     { benchQuery(b, "x.wild.example.com.", mdns.TypeA, true) }
func BenchmarkHandlerNXDOMAIN(b *testing.B)     { benchQuery(b, "nope.example.com.", mdns.TypeA, true) }
func BenchmarkHandlerReferral(b *testing.B)     { benchQuery(b, "www.sub.example.com.", mdns.TypeA, true) }
func BenchmarkHandlerDNAME(b *testing.B)        { benchQuery(b, "x.dn.example.com.", mdns.TypeA, true) }

// TestStaticAnswerAllocations keeps the allocation budget from creeping:
// it fails if a static A answer allocates more than the budget.
func TestStaticAnswerAllocations(t *testing.T) {
	h := testHandler(t, "example.com")
	m := new(mdns.Msg)
	m.SetQuestion("www.example.com.", mdns.TypeA)
	m.SetEdns0(1232, false)
	pkt, _ := m.Pack()
	out := make([]byte, 65535)
	allocs := testing.AllocsPerRun(1000, func() { h.ServeDNS(pkt, out, false) })
	if allocs > 2 {
		t.Errorf("a static A answer allocates %.1f times, budget 2", allocs)
	}
}
