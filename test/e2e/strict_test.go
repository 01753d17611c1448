package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	mdns "github.com/miekg/dns"
)

// TestErrorAnswersCarryOPT: dig sees an OPT (version 0, our 1232, DO
// copied) in every error answer to an EDNS query, so it never concludes
// the server lacks EDNS (RFC 6891 §7); a version we do not speak is
// BADVERS whatever the opcode (§6.1.3).
func TestErrorAnswersCarryOPT(t *testing.T) {
	s := Start(t, Options{ZonesFrom: answerZones})
	cases := []struct {
		name   string
		args   []string
		status string
		do     bool
	}{
		{"FORMERR: no question (+header-only)", []string{"www.example.com", "A", "+header-only"}, "FORMERR", false},
		{"FORMERR: no question, DO copied", []string{"www.example.com", "A", "+header-only", "+dnssec"}, "FORMERR", true},
		{"NOTIMP: NOTIFY", []string{"example.com", "SOA", "+opcode=notify"}, "NOTIMP", false},
		{"NOTIMP: opcode 15, DO copied", []string{"www.example.com", "A", "+opcode=15", "+dnssec"}, "NOTIMP", true},
		{"NOTIMP: MAILA", []string{"www.example.com", "MAILA"}, "NOTIMP", false},
		{"REFUSED: a zone not served", []string{"www.example.invalid", "A", "+dnssec"}, "REFUSED", true},
		// +noednsnegotiation keeps dig from retrying with version 0.
		{"BADVERS", []string{"www.example.com", "A", "+edns=1", "+noednsnegotiation"}, "BADVERS", false},
		{"BADVERS, not NOTIMP: opcode 15", []string{"www.example.com", "A", "+opcode=15", "+edns=1", "+noednsnegotiation"}, "BADVERS", false},
		{"BADVERS, not NOTIMP: NOTIFY, DO copied", []string{"example.com", "SOA", "+opcode=notify", "+edns=1", "+noednsnegotiation", "+dnssec"}, "BADVERS", true},
	}
	for _, c := range cases {
		for _, tr := range []string{"+notcp", "+tcp"} {
			a := s.Dig(append(c.args, tr)...)
			if a.Status != c.status || !a.EDNS || a.EDNSVer != 0 || a.UDPSize != 1232 || hasDO(a) != c.do || a.Flags["aa"] || len(a.Answer) != 0 {
				t.Errorf("%s %s: want %s with an OPT of version 0, udp 1232, do %v, no AA:\n%s", c.name, tr, c.status, c.do, a.Raw)
			}
		}
	}
	// Without EDNS, no OPT comes back (RFC 6891 §7).
	if a := s.Dig("www.example.com", "A", "+opcode=15", "+noedns"); a.Status != "NOTIMP" || a.EDNS {
		t.Errorf("+noedns NOTIMP: want no OPT:\n%s", a.Raw)
	}
}

func hasDO(a *Answer) bool {
	for _, f := range strings.Fields(a.EDNSFlags) {
		if f == "do" {
			return true
		}
	}
	return false
}

// TestMisplacedOPT: an OPT in the answer or authority section is FORMERR
// (RFC 6891 §6.1.1), not skipped; the OPT in the additional section, when
// there is one, is answered with ours. dig cannot send such a query, so
// it is built here.
func TestMisplacedOPT(t *testing.T) {
	s := Start(t, Options{ZonesFrom: answerZones})
	opt := func() *mdns.OPT {
		return &mdns.OPT{Hdr: mdns.RR_Header{Name: ".", Rrtype: mdns.TypeOPT, Class: 4096}}
	}
	cases := []struct {
		name    string
		section string // "answer" or "authority"
		edns    bool   // an OPT in the additional section too
	}{
		{"in the answer section", "answer", false},
		{"in the authority section", "authority", false},
		{"in the answer section, one in the additional", "answer", true},
		{"in the authority section, one in the additional", "authority", true},
	}
	for _, c := range cases {
		for _, netw := range []string{"udp", "tcp"} {
			m := new(mdns.Msg)
			m.SetQuestion("www.example.com.", mdns.TypeA)
			m.RecursionDesired = false
			if c.section == "answer" {
				m.Answer = append(m.Answer, opt())
			} else {
				m.Ns = append(m.Ns, opt())
			}
			if c.edns {
				m.SetEdns0(4096, true)
			}
			cl := &mdns.Client{Net: netw, Timeout: 3 * time.Second}
			r, _, err := cl.Exchange(m, fmt.Sprintf("127.0.0.1:%d", s.Port))
			if err != nil {
				t.Fatalf("%s over %s: %v", c.name, netw, err)
			}
			o := r.IsEdns0()
			if r.Rcode != mdns.RcodeFormatError || r.Authoritative || len(r.Answer) != 0 || (o != nil) != c.edns {
				t.Errorf("%s over %s: want FORMERR, OPT %v:\n%v", c.name, netw, c.edns, r)
			}
			if o != nil && (o.Version() != 0 || o.UDPSize() != 1232 || !o.Do()) {
				t.Errorf("%s over %s: OPT version %d udp %d do %v, want 0 1232 true", c.name, netw, o.Version(), o.UDPSize(), o.Do())
			}
		}
	}
	stillServes(t, s)
}
