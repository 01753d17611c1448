package dns

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	mdns "github.com/miekg/dns"

	"github.com/smartdns/smartdns/zones"
)

// testHandler serves the zone files in testdata/ named by origins.
func testHandler(t testing.TB, origins ...string) *Handler {
	t.Helper()
	var zs []*zones.Zone
	for _, o := range origins {
		path := filepath.Join("testdata", o+".zone")
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		recs, probs := zones.ParseMaster(path, o+".", data)
		if probs.HasErrors() {
			t.Fatalf("%s: %v", path, probs)
		}
		z, probs := zones.Compile(o+".", path, recs, zones.CompileOptions{Nameservers: []string{"ns1.example.com."}, SOA: zones.SOADefaults{TTL: 3600, Minimum: 300}})
		if probs.HasErrors() {
			t.Fatalf("%s: %v", path, probs)
		}
		zs = append(zs, z)
	}
	h := &Handler{MaxUDPSize: 1232}
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
