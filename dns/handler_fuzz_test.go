package dns

import (
	"encoding/binary"
	"testing"

	mdns "github.com/miekg/dns"
)

// FuzzHandler feeds arbitrary packets to the handler: it must never panic,
// and every answer it gives must be a well-formed response to the packet's
// ID that fits the transport's limit.
func FuzzHandler(f *testing.F) {
	for _, q := range []struct {
		name string
		t    uint16
		edns bool
	}{
		{"www.example.com.", mdns.TypeA, false},
		{"WwW.ExAmPlE.cOm.", mdns.TypeA, true},
		{"example.com.", mdns.TypeANY, true},
		{"example.com.", mdns.TypeMX, false},
		{"x.wild.example.com.", mdns.TypeTXT, true},
		{"x.dn.example.com.", mdns.TypeA, true},
		{"www.sub.example.com.", mdns.TypeA, true},
		{"loop1.example.com.", mdns.TypeA, false},
		{"nope.example.com.", mdns.TypeAAAA, true},
		{"example.org.", mdns.TypeA, false},
	} {
		m := new(mdns.Msg)
		m.SetQuestion(q.name, q.t)
		if q.edns {
			m.SetEdns0(4096, true)
		}
		pkt, _ := m.Pack()
		f.Add(pkt, false)
		f.Add(pkt, true)
		f.Add(pkt[:len(pkt)-3], false)
	}
	f.Add([]byte{0, 1, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0}, false)
	f.Add([]byte{}, false)
	h := testHandler(f, "example.com")
	out := make([]byte, 65535)
	f.Fuzz(func(t *testing.T, pkt []byte, tcp bool) {
		resp := h.ServeDNS(pkt, out, tcp)
		if resp == nil {
			return
		}
		limit := 65535
		if !tcp {
			limit = 1232
		}
		if len(resp) > limit {
			t.Fatalf("answer of %d bytes over the %d limit", len(resp), limit)
		}
		if len(pkt) < 2 || binary.BigEndian.Uint16(resp) != binary.BigEndian.Uint16(pkt) {
			t.Fatalf("answer ID does not match the query")
		}
		var m mdns.Msg
		if err := m.Unpack(resp); err != nil {
			t.Fatalf("answer does not unpack: %v\n% x", err, resp)
		}
		if !m.Response {
			t.Fatalf("answer without QR")
		}
	})
}
