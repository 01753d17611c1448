package dns

import (
	"strings"
	"testing"

	mdns "github.com/miekg/dns"
)

// ednsOpt returns the response's option of code, nil if none.
func ednsOpt(r *mdns.Msg, code uint16) mdns.EDNS0 {
	if o := r.IsEdns0(); o != nil {
		for _, e := range o.Option {
			if e.Option() == code {
				return e
			}
		}
	}
	return nil
}

// NSID (RFC 5001) is returned only when asked for and configured, over UDP
// and TCP, and the answer is unchanged otherwise.
func TestNSID(t *testing.T) {
	for _, tc := range []struct {
		name      string
		ident     *Identity
		edns, ask bool
		want      string // the NSID data, "" for no option
	}{
		{name: "asked, configured", ident: NewIdentity("ns1.example.net", "", ""), edns: true, ask: true, want: "ns1.example.net"},
		{name: "not asked", ident: NewIdentity("ns1.example.net", "", ""), edns: true},
		{name: "not configured", ident: nil, edns: true, ask: true},
		{name: "only CHAOS configured", ident: NewIdentity("", "v1", ""), edns: true, ask: true},
		{name: "no EDNS", ident: NewIdentity("ns1.example.net", "", "")},
	} {
		for _, tcp := range []bool{false, true} {
			h := testHandler(t, "example.com")
			h.Identity = tc.ident
			m := new(mdns.Msg)
			m.SetQuestion("www.example.com.", mdns.TypeA)
			if tc.edns {
				m.SetEdns0(1232, false)
				if tc.ask {
					o := m.IsEdns0()
					o.Option = append(o.Option, &mdns.EDNS0_NSID{Code: mdns.EDNS0NSID})
				}
			}
			r := query(t, h, m, tcp)
			if r.Rcode != mdns.RcodeSuccess || len(r.Answer) == 0 {
				t.Errorf("%s (tcp %v): the answer changed: %v", tc.name, tcp, r)
			}
			got := ""
			if o, ok := ednsOpt(r, mdns.EDNS0NSID).(*mdns.EDNS0_NSID); ok {
				got = o.Nsid // hex
			}
			if want := hexOf(tc.want); got != want {
				t.Errorf("%s (tcp %v): NSID %q, want %q", tc.name, tcp, got, want)
			}
		}
	}
}

func hexOf(s string) string {
	const digits = "0123456789abcdef"
	var b []byte
	for i := 0; i < len(s); i++ {
		b = append(b, digits[s[i]>>4], digits[s[i]&0xF])
	}
	return string(b)
}

// The CHAOS TXT names answer the configured strings, AA with one TXT;
// unconfigured ones and other CHAOS names are REFUSED.
func TestChaosIdentity(t *testing.T) {
	full := NewIdentity("", "smartdns 1.2", "ns1")
	onlyVersion := NewIdentity("", "smartdns 1.2", "")
	for _, tc := range []struct {
		name  string
		ident *Identity
		qname string
		qtype uint16
		rcode int
		txt   string // "" for no answer
	}{
		{"version.bind", full, "version.bind.", mdns.TypeTXT, mdns.RcodeSuccess, "smartdns 1.2"},
		{"version.server", full, "VERSION.server.", mdns.TypeTXT, mdns.RcodeSuccess, "smartdns 1.2"},
		{"id.server", full, "id.server.", mdns.TypeTXT, mdns.RcodeSuccess, "ns1"},
		{"hostname.bind", full, "hostname.bind.", mdns.TypeTXT, mdns.RcodeSuccess, "ns1"},
		{"ANY", full, "id.server.", mdns.TypeANY, mdns.RcodeSuccess, "ns1"},
		{"A: NODATA", full, "id.server.", mdns.TypeA, mdns.RcodeSuccess, ""},
		{"id not configured", onlyVersion, "id.server.", mdns.TypeTXT, mdns.RcodeRefused, ""},
		{"hostname.bind not configured", onlyVersion, "hostname.bind.", mdns.TypeTXT, mdns.RcodeRefused, ""},
		{"version configured", onlyVersion, "version.bind.", mdns.TypeTXT, mdns.RcodeSuccess, "smartdns 1.2"},
		{"nothing configured", nil, "version.bind.", mdns.TypeTXT, mdns.RcodeRefused, ""},
		{"another CHAOS name", full, "authors.bind.", mdns.TypeTXT, mdns.RcodeRefused, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := testHandler(t, "example.com")
			h.Identity = tc.ident
			m := new(mdns.Msg)
			m.SetQuestion(tc.qname, tc.qtype)
			m.Question[0].Qclass = mdns.ClassCHAOS
			r := query(t, h, m, false)
			if r.Rcode != tc.rcode || len(r.Question) != 1 {
				t.Fatalf("rcode %s, want %s: %v", mdns.RcodeToString[r.Rcode], mdns.RcodeToString[tc.rcode], r)
			}
			if r.Authoritative != (tc.rcode == mdns.RcodeSuccess) {
				t.Errorf("AA = %v", r.Authoritative)
			}
			if tc.txt == "" {
				if len(r.Answer) != 0 {
					t.Errorf("answer %v, want none", r.Answer)
				}
				return
			}
			if len(r.Answer) != 1 {
				t.Fatalf("answer %v, want one TXT", r.Answer)
			}
			txt, ok := r.Answer[0].(*mdns.TXT)
			if !ok || txt.Hdr.Class != mdns.ClassCHAOS || len(txt.Txt) != 1 || txt.Txt[0] != tc.txt || txt.Hdr.Name != tc.qname {
				t.Errorf("answer %v, want %s CH TXT %q", r.Answer[0], tc.qname, tc.txt)
			}
		})
	}
}

// Extended DNS Errors (RFC 8914) go with REFUSED and the SERVFAIL of an
// unresolved ALIAS target, only to EDNS queries.
func TestExtendedErrors(t *testing.T) {
	served := testHandler(t, "example.com")
	unresolved := aliasHandler(t, "new.provider.test.", fakeAlias{})
	for _, tc := range []struct {
		name   string
		h      *Handler
		qname  string
		qclass uint16
		edns   bool
		rcode  int
		ede    int // -1 for none
	}{
		{"outside the zones", served, "www.example.org.", mdns.ClassINET, true, mdns.RcodeRefused, int(mdns.ExtendedErrorCodeNotAuthoritative)},
		{"outside the zones, no EDNS", served, "www.example.org.", mdns.ClassINET, false, mdns.RcodeRefused, -1},
		{"class HESIOD", served, "www.example.com.", mdns.ClassHESIOD, true, mdns.RcodeRefused, int(mdns.ExtendedErrorCodeNotAuthoritative)},
		{"CHAOS unconfigured", served, "version.bind.", mdns.ClassCHAOS, true, mdns.RcodeRefused, int(mdns.ExtendedErrorCodeNotAuthoritative)},
		{"served: none", served, "www.example.com.", mdns.ClassINET, true, mdns.RcodeSuccess, -1},
		{"ALIAS never resolved", unresolved, "example.com.", mdns.ClassINET, true, mdns.RcodeServerFailure, int(mdns.ExtendedErrorCodeNoReachableAuthority)},
		{"ALIAS never resolved, no EDNS", unresolved, "example.com.", mdns.ClassINET, false, mdns.RcodeServerFailure, -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := new(mdns.Msg)
			m.SetQuestion(tc.qname, mdns.TypeA)
			m.Question[0].Qclass = tc.qclass
			if tc.edns {
				m.SetEdns0(1232, false)
			}
			r := query(t, tc.h, m, false)
			if r.Rcode != tc.rcode {
				t.Fatalf("rcode %s, want %s", mdns.RcodeToString[r.Rcode], mdns.RcodeToString[tc.rcode])
			}
			if (r.IsEdns0() != nil) != tc.edns {
				t.Fatalf("OPT present %v, want %v", r.IsEdns0() != nil, tc.edns)
			}
			got := -1
			if e, ok := ednsOpt(r, mdns.EDNS0EDE).(*mdns.EDNS0_EDE); ok {
				got = int(e.InfoCode)
				if e.ExtraText != "" {
					t.Errorf("extra text %q", e.ExtraText)
				}
			}
			if got != tc.ede {
				t.Errorf("EDE %d, want %d", got, tc.ede)
			}
		})
	}
}

// The identity answers allocate nothing, like static answers.
func TestIdentityAllocs(t *testing.T) {
	h := testHandler(t, "example.com")
	h.Identity = NewIdentity("ns1.example.net", "v", "ns1")
	for _, m := range []*mdns.Msg{
		func() *mdns.Msg {
			m := new(mdns.Msg)
			m.SetQuestion("www.example.com.", mdns.TypeA)
			m.SetEdns0(1232, false)
			o := m.IsEdns0()
			o.Option = append(o.Option, &mdns.EDNS0_NSID{Code: mdns.EDNS0NSID})
			return m
		}(),
		func() *mdns.Msg {
			m := new(mdns.Msg)
			m.SetQuestion("version.bind.", mdns.TypeTXT)
			m.Question[0].Qclass = mdns.ClassCHAOS
			return m
		}(),
		func() *mdns.Msg {
			m := new(mdns.Msg)
			m.SetQuestion("www.example.org.", mdns.TypeA)
			m.SetEdns0(1232, false)
			return m
		}(),
	} {
		pkt, err := m.Pack()
		if err != nil {
			t.Fatal(err)
		}
		out := make([]byte, 65535)
		if n := testing.AllocsPerRun(1000, func() { h.ServeDNS(pkt, out, false) }); n > 0 {
			t.Errorf("%s allocates %.1f times", m.Question[0].Name, n)
		}
	}
}

// The NSID's room is held back like the OPT's: with a 255-byte NSID, an
// answer filling the client's buffer still fits it (truncated, or with
// fewer records), and the NSID is there.
func TestNSIDFitsTheLimit(t *testing.T) {
	long := strings.Repeat("n", 255)
	for _, size := range []uint16{512, 1232} {
		for _, qname := range []string{"big.example.com.", "mx.example.com.", "x.wide.example.com."} {
			h := sizedHandler(t, 1232)
			h.Identity = NewIdentity(long, "", "")
			m := new(mdns.Msg)
			m.SetQuestion(qname, mdns.TypeANY)
			m.SetEdns0(size, false)
			o := m.IsEdns0()
			o.Option = append(o.Option, &mdns.EDNS0_NSID{Code: mdns.EDNS0NSID})
			raw, r := serveRaw(t, h, m, false)
			if len(raw) > int(size) {
				t.Errorf("%s, buffer %d: %d bytes", qname, size, len(raw))
			}
			if e, ok := ednsOpt(r, mdns.EDNS0NSID).(*mdns.EDNS0_NSID); !ok || e.Nsid != hexOf(long) {
				t.Errorf("%s, buffer %d: NSID missing", qname, size)
			}
		}
	}
}
