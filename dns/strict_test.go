package dns

import (
	"encoding/binary"
	"net"
	"testing"

	mdns "github.com/miekg/dns"
)

// TestErrorAnswersCarryOPT: every error answer to a query with a readable
// OPT carries an OPT (RFC 6891 §7) with our UDP size, version 0, DO copied
// and the upper bits of the rcode (§6.1.3); an OPT outside the additional
// section is FORMERR (§6.1.1); a version we do not speak is BADVERS before
// the opcode is looked at (§6.1.3).
func TestErrorAnswersCarryOPT(t *testing.T) {
	// edns adds an OPT (client size 4096) with this version and DO to the
	// additional section of m.
	edns := func(m *mdns.Msg, version uint8, do bool) *mdns.OPT {
		m.SetEdns0(4096, do)
		o := m.IsEdns0()
		o.SetVersion(version)
		return o
	}
	q := func(name string, qtype uint16) *mdns.Msg {
		m := new(mdns.Msg)
		m.SetQuestion(name, qtype)
		m.RecursionDesired = false
		return m
	}
	bareOPT := func(version uint8) *mdns.OPT {
		o := &mdns.OPT{Hdr: mdns.RR_Header{Name: ".", Rrtype: mdns.TypeOPT, Class: 4096}}
		o.SetVersion(version)
		return o
	}
	cases := []struct {
		name  string
		h     string // "rules" (the default) or "alias" (SERVFAIL)
		build func() *mdns.Msg
		rcode int
		opt   bool // an OPT expected in the answer
		do    bool // DO expected set in it
	}{
		{name: "FORMERR: no question", build: func() *mdns.Msg {
			m := q("www.example.com.", mdns.TypeA)
			m.Question = nil
			edns(m, 0, false)
			return m
		}, rcode: mdns.RcodeFormatError, opt: true},
		{name: "FORMERR: two questions, DO copied", build: func() *mdns.Msg {
			m := q("www.example.com.", mdns.TypeA)
			m.Question = append(m.Question, m.Question[0])
			edns(m, 0, true)
			return m
		}, rcode: mdns.RcodeFormatError, opt: true, do: true},
		{name: "FORMERR: qtype OPT", build: func() *mdns.Msg {
			m := q("www.example.com.", mdns.TypeOPT)
			edns(m, 0, false)
			return m
		}, rcode: mdns.RcodeFormatError, opt: true},
		{name: "FORMERR: two OPTs", build: func() *mdns.Msg {
			m := q("www.example.com.", mdns.TypeA)
			edns(m, 0, false)
			m.Extra = append(m.Extra, bareOPT(0))
			return m
		}, rcode: mdns.RcodeFormatError, opt: true},
		{name: "FORMERR: malformed ECS", build: func() *mdns.Msg {
			m := q("www.example.com.", mdns.TypeA)
			o := edns(m, 0, false)
			o.Option = append(o.Option, &mdns.EDNS0_SUBNET{Code: mdns.EDNS0SUBNET, Family: 1, SourceNetmask: 24, SourceScope: 8, Address: net.IPv4(192, 0, 2, 0)})
			return m
		}, rcode: mdns.RcodeFormatError, opt: true},
		{name: "FORMERR: OPT in the answer section, none in the additional", build: func() *mdns.Msg {
			m := q("www.example.com.", mdns.TypeA)
			m.Answer = append(m.Answer, bareOPT(0))
			return m
		}, rcode: mdns.RcodeFormatError, opt: false},
		{name: "FORMERR: OPT in the answer section and one in the additional", build: func() *mdns.Msg {
			m := q("www.example.com.", mdns.TypeA)
			m.Answer = append(m.Answer, bareOPT(0))
			edns(m, 0, true)
			return m
		}, rcode: mdns.RcodeFormatError, opt: true, do: true},
		{name: "FORMERR: OPT in the authority section and one in the additional", build: func() *mdns.Msg {
			m := q("www.example.com.", mdns.TypeA)
			m.Ns = append(m.Ns, bareOPT(0))
			edns(m, 0, false)
			return m
		}, rcode: mdns.RcodeFormatError, opt: true},
		{name: "FORMERR, not BADVERS: a misplaced OPT and a version 1 one", build: func() *mdns.Msg {
			m := q("www.example.com.", mdns.TypeA)
			m.Ns = append(m.Ns, bareOPT(0))
			edns(m, 1, false)
			return m
		}, rcode: mdns.RcodeFormatError, opt: true},
		{name: "NOTIMP: NOTIFY", build: func() *mdns.Msg {
			m := q("example.com.", mdns.TypeSOA)
			m.Opcode = mdns.OpcodeNotify
			edns(m, 0, true)
			return m
		}, rcode: mdns.RcodeNotImplemented, opt: true, do: true},
		{name: "NOTIMP: opcode 15", build: func() *mdns.Msg {
			m := q("www.example.com.", mdns.TypeA)
			m.Opcode = 15
			edns(m, 0, false)
			return m
		}, rcode: mdns.RcodeNotImplemented, opt: true},
		{name: "NOTIMP: MAILA", build: func() *mdns.Msg {
			m := q("www.example.com.", mdns.TypeMAILA)
			edns(m, 0, false)
			return m
		}, rcode: mdns.RcodeNotImplemented, opt: true},
		{name: "BADVERS: version 1", build: func() *mdns.Msg {
			m := q("www.example.com.", mdns.TypeA)
			edns(m, 1, false)
			return m
		}, rcode: mdns.RcodeBadVers, opt: true},
		{name: "BADVERS, not NOTIMP: version 1, opcode 15", build: func() *mdns.Msg {
			m := q("www.example.com.", mdns.TypeA)
			m.Opcode = 15
			edns(m, 1, false)
			return m
		}, rcode: mdns.RcodeBadVers, opt: true},
		{name: "BADVERS, not NOTIMP: version 1, NOTIFY, DO copied", build: func() *mdns.Msg {
			m := q("example.com.", mdns.TypeSOA)
			m.Opcode = mdns.OpcodeNotify
			edns(m, 1, true)
			return m
		}, rcode: mdns.RcodeBadVers, opt: true, do: true},
		{name: "BADVERS: version 255, no question", build: func() *mdns.Msg {
			m := q("www.example.com.", mdns.TypeA)
			m.Question = nil
			edns(m, 255, false)
			return m
		}, rcode: mdns.RcodeBadVers, opt: true},
		{name: "BADVERS: version 1 with a malformed ECS (options unread)", build: func() *mdns.Msg {
			m := q("www.example.com.", mdns.TypeA)
			o := edns(m, 1, false)
			o.Option = append(o.Option, &mdns.EDNS0_SUBNET{Code: mdns.EDNS0SUBNET, Family: 1, SourceNetmask: 24, SourceScope: 8, Address: net.IPv4(192, 0, 2, 0)})
			return m
		}, rcode: mdns.RcodeBadVers, opt: true},
		{name: "REFUSED: a zone not served", build: func() *mdns.Msg {
			m := q("www.example.invalid.", mdns.TypeA)
			edns(m, 0, true)
			return m
		}, rcode: mdns.RcodeRefused, opt: true, do: true},
		{name: "REFUSED: AXFR", build: func() *mdns.Msg {
			m := q("example.com.", mdns.TypeAXFR)
			edns(m, 0, false)
			return m
		}, rcode: mdns.RcodeRefused, opt: true},
		{name: "SERVFAIL: ALIAS target never resolved", h: "alias", build: func() *mdns.Msg {
			m := q("example.com.", mdns.TypeA)
			edns(m, 0, true)
			return m
		}, rcode: mdns.RcodeServerFailure, opt: true, do: true},
		{name: "no EDNS: NOTIMP without OPT", build: func() *mdns.Msg {
			m := q("www.example.com.", mdns.TypeA)
			m.Opcode = 15
			return m
		}, rcode: mdns.RcodeNotImplemented, opt: false},
	}
	const ours = 1400 // not the client's 4096 nor the default
	handlers := map[string]*Handler{"rules": rulesHandler(t), "alias": aliasHandler(t, "cdn.provider.test.", fakeAlias{})}
	for _, h := range handlers {
		h.MaxUDPSize = ours
	}
	for _, c := range cases {
		for _, tcp := range []bool{false, true} {
			h := handlers["rules"]
			if c.h != "" {
				h = handlers[c.h]
			}
			m := c.build()
			pkt, err := m.Pack()
			if err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
			out := make([]byte, 65535)
			wire := h.ServeDNS(pkt, out, tcp)
			if wire == nil {
				t.Errorf("%s tcp=%v: no answer", c.name, tcp)
				continue
			}
			r := new(mdns.Msg)
			if err := r.Unpack(wire); err != nil {
				t.Errorf("%s tcp=%v: answer does not parse: %v", c.name, tcp, err)
				continue
			}
			// miekg/dns folds the OPT's upper rcode bits into Rcode; the
			// header must carry the lower four.
			if r.Rcode != c.rcode || int(binary.BigEndian.Uint16(wire[2:])&0xF) != c.rcode&0xF || r.Id != m.Id || !r.Response {
				t.Errorf("%s tcp=%v: rcode %s, want %s:\n%v", c.name, tcp, rcodeName(r.Rcode), rcodeName(c.rcode), r)
			}
			if r.Authoritative || len(r.Answer) != 0 {
				t.Errorf("%s tcp=%v: AA or answers on an error:\n%v", c.name, tcp, r)
			}
			o := r.IsEdns0()
			switch {
			case !c.opt && o != nil:
				t.Errorf("%s tcp=%v: an OPT, want none:\n%v", c.name, tcp, r)
			case c.opt && o == nil:
				t.Errorf("%s tcp=%v: no OPT:\n%v", c.name, tcp, r)
			case o != nil:
				if o.UDPSize() != ours || o.Version() != 0 || o.Do() != c.do || o.ExtendedRcode() != c.rcode&^0xF {
					t.Errorf("%s tcp=%v: OPT udp %d version %d do %v extended rcode %d; want %d 0 %v %d", c.name, tcp, o.UDPSize(), o.Version(), o.Do(), o.ExtendedRcode(), ours, c.do, c.rcode&^0xF)
				}
				if len(wire) > ours && !tcp {
					t.Errorf("%s: %d bytes over UDP, more than our %d", c.name, len(wire), ours)
				}
			}
		}
	}
}

// rcodeName names an rcode; miekg/dns calls 16 BADSIG, which in a query
// answer is BADVERS.
func rcodeName(rc int) string {
	if rc == mdns.RcodeBadVers {
		return "BADVERS"
	}
	return mdns.RcodeToString[rc]
}
