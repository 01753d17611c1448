package dns

import (
	"net"
	"os"
	"testing"

	mdns "github.com/miekg/dns"

	"github.com/smartdns/smartdns/geo"
	"github.com/smartdns/smartdns/internal/qstats"
	"github.com/smartdns/smartdns/pool"
	"github.com/smartdns/smartdns/zones"
	"github.com/smartdns/smartdns/zones/octodns"
)

// dynHandler serves testdata/dyn.example.yaml (a geo-targeted dynamic
// record) with the built-in country database, and a health table with
// loads and an override published, as a server with reports runs: the
// benchmarks go through the view.
func dynHandler(tb testing.TB) *Handler {
	tb.Helper()
	data, err := os.ReadFile("testdata/dyn.example.yaml")
	if err != nil {
		tb.Fatal(err)
	}
	stats := &qstats.Registry{}
	recs, probs := octodns.Parse("testdata/dyn.example.yaml", "dyn.example.", data)
	if probs.HasErrors() {
		tb.Fatal(probs)
	}
	z, probs := zones.Compile("dyn.example.", "dyn.example.yaml", recs, zones.CompileOptions{Nameservers: []string{"ns1.example.com."}, SOA: zones.SOADefaults{TTL: 3600, Minimum: 300}, Stats: stats, Tally: &pool.Tally{}})
	if probs.HasErrors() {
		tb.Fatal(probs)
	}
	g, err := geo.Open(geo.Config{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { g.Close() })
	health := &pool.HealthTable{}
	health.PublishLoads(map[string]pool.Load{"192.0.2.1": {Fresh: true, Smoothed: 0.3, Site: "fra"}, "192.0.2.2": {Fresh: true, Smoothed: 0.5, Site: "fra"}})
	health.PublishOverrides(map[string]pool.Status{"198.51.100.1": pool.Up})
	h := &Handler{MaxUDPSize: 1232, Geo: g, Stats: stats, Health: health}
	h.SetSnapshot(zones.NewSnapshot(1, []*zones.Zone{z}))
	return h
}

func ecsQuery(name, subnet string, bits uint8) []byte {
	m := new(mdns.Msg)
	m.SetQuestion(name, mdns.TypeA)
	o := &mdns.OPT{Hdr: mdns.RR_Header{Name: ".", Rrtype: mdns.TypeOPT, Class: 1232}}
	o.Option = append(o.Option, &mdns.EDNS0_SUBNET{Code: mdns.EDNS0SUBNET, Family: 1, SourceNetmask: bits, Address: net.ParseIP(subnet).To4()})
	m.Extra = append(m.Extra, o)
	pkt, _ := m.Pack()
	return pkt
}

// A client in GB (81.2.69.0/24) is answered from the EU pool, with the
// ECS scope of the database network.
func TestDynamicGeoECS(t *testing.T) {
	h := dynHandler(t)
	out := make([]byte, 65535)
	resp := h.ServeDNS(ecsQuery("geo.dyn.example.", "81.2.69.0", 24), out, false)
	var m mdns.Msg
	if err := m.Unpack(resp); err != nil {
		t.Fatal(err)
	}
	if len(m.Answer) != 1 {
		t.Fatalf("answer: %v", m.String())
	}
	a := m.Answer[0].(*mdns.A).A.String()
	if a != "192.0.2.1" && a != "192.0.2.2" {
		t.Fatalf("GB client answered %s, want the EU pool", a)
	}
	if m.Answer[0].Header().Ttl != 60 {
		t.Errorf("TTL %d, want the record's 60", m.Answer[0].Header().Ttl)
	}
	ecs := m.IsEdns0().Option[0].(*mdns.EDNS0_SUBNET)
	if ecs.SourceScope == 0 || ecs.SourceScope > 24 {
		t.Errorf("scope %d: want the country database network's prefix", ecs.SourceScope)
	}
}

// The handler answers from the published view: an override down and a
// draining site take values out; with the whole pool out the chain is
// exhausted and the backup value answers.
func TestDynamicAnswersFromView(t *testing.T) {
	h := dynHandler(t)
	out := make([]byte, 65535)
	answer := func() string {
		resp := h.ServeDNS(ecsQuery("geo.dyn.example.", "81.2.69.0", 24), out, false)
		var m mdns.Msg
		if err := m.Unpack(resp); err != nil || len(m.Answer) != 1 {
			t.Fatalf("answer %v (%v)", m.String(), err)
		}
		return m.Answer[0].(*mdns.A).A.String()
	}
	h.Health.PublishOverrides(map[string]pool.Status{"192.0.2.1": pool.Down})
	for range 50 {
		if a := answer(); a != "192.0.2.2" {
			t.Fatalf("192.0.2.1 overridden down: answered %s", a)
		}
	}
	h.Health.PublishLoads(map[string]pool.Load{"192.0.2.2": {Fresh: true, Draining: true}})
	if a := answer(); a != "192.0.2.100" {
		t.Fatalf("the EU pool out: answered %s, want the backup", a)
	}
}

// The allocation budget of a geo-targeted dynamic answer with ECS: at most
// 6 (the bar).
func TestDynamicAnswerAllocations(t *testing.T) {
	h := dynHandler(t)
	pkt := ecsQuery("geo.dyn.example.", "81.2.69.0", 24)
	out := make([]byte, 65535)
	allocs := testing.AllocsPerRun(1000, func() { h.ServeDNS(pkt, out, false) })
	if allocs > 6 {
		t.Errorf("a dynamic geo answer allocates %.1f times, budget 6", allocs)
	}
}

func BenchmarkHandlerDynamicGeoECS(b *testing.B) {
	h := dynHandler(b)
	pkt := ecsQuery("geo.dyn.example.", "81.2.69.0", 24)
	out := make([]byte, 65535)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		h.ServeDNS(pkt, out, false)
	}
}
