package zones

import (
	"encoding/binary"

	"github.com/miekg/dns"
	"github.com/smartdns/smartdns/zones/zonefile"
)

// The linking stage of the compiler: once the zone checks out, derived
// pointers are filled (wildcards, additional data for NS, MX and SRV
// targets) so that answering follows pointers instead of searching.

// link fills the derived pointers: wildcard children and additional data.
func (z *Zone) link() {
	for name, n := range z.nodes {
		if len(name) > 2 && name[0] == 1 && name[1] == '*' {
			if p := z.nodes[name[2:]]; p != nil {
				p.Wild = n
			}
		}
	}
	for _, n := range z.nodes {
		for i := range n.Sets {
			s := &n.Sets[i]
			switch s.Type {
			case dns.TypeNS, dns.TypeMX, dns.TypeSRV:
			default:
				continue
			}
			for _, rd := range s.Data {
				target := lowerWireString(targetOf(s.Type, rd))
				if target == "" || !isBelow(target, z.Apex) {
					continue
				}
				t := z.nodes[target]
				if t == nil {
					continue
				}
				glue := s.Type == dns.TypeNS && n.Cut && isBelow(target, n.Name)
				if !glue && z.occluded(target) {
					continue
				}
				e := Extra{Name: target, Glue: glue}
				for _, typ := range []uint16{dns.TypeA, dns.TypeAAAA} {
					if as := t.Set(typ); as != nil {
						e.Sets = append(e.Sets, as)
					}
				}
				if len(e.Sets) > 0 {
					s.Extra = append(s.Extra, e)
				}
			}
		}
	}
}

// occluded reports whether name lies strictly below a delegation or DNAME.
func (z *Zone) occluded(name string) bool {
	if !z.hasCuts {
		return false
	}
	for p, ok := parentOf(name); ok && len(p) >= len(z.Apex); p, ok = parentOf(p) {
		if a := z.nodes[p]; a != nil && (a.Cut || a.DNAME) { // the apex is never a Cut
			return true
		}
	}
	return false
}

// targetOf returns the wire-form name an NS, MX, SRV, CNAME or DNAME RDATA
// points to.
func targetOf(t uint16, rd []byte) string {
	switch t {
	case dns.TypeNS, dns.TypeCNAME, dns.TypeDNAME, dns.TypePTR:
		return string(rd)
	case dns.TypeMX:
		if len(rd) > 2 {
			return string(rd[2:])
		}
	case dns.TypeSRV:
		if len(rd) > 6 {
			return string(rd[6:])
		}
	}
	return ""
}

// lowerWireString lower-cases a wire-form name held in a string.
func lowerWireString(s string) string {
	for i := 0; i < len(s); i++ {
		if 'A' <= s[i] && s[i] <= 'Z' {
			b := []byte(s)
			zonefile.LowerWire(b)
			return string(b)
		}
	}
	return s
}

// uint16At reads a big-endian uint16.
func uint16At(b []byte, off int) uint16 { return binary.BigEndian.Uint16(b[off:]) }
