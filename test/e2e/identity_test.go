package e2e

import (
	"strings"
	"testing"
)

const identityZone = `$ORIGIN example.com.
$TTL 3600
@ IN SOA ns1 hostmaster 1 7200 3600 1209600 300
@ NS ns1
ns1 A 192.0.2.1
www A 192.0.2.10
`

// TestIdentity: with `identity:` set, dig +nsid shows our NSID over UDP
// and TCP, and the CHAOS TXT names answer the configured strings; without
// it, no NSID and CHAOS is REFUSED with EDE 20, as is a name outside our
// zones (and no EDE without EDNS).
func TestIdentity(t *testing.T) {
	s := Start(t, Options{Files: map[string]string{"example.com.zone": identityZone},
		Extra: "identity: {nsid: ns1.example.net, version: \"smartdns test\", id: ns1-test}\n"})
	for _, tr := range []string{"+notcp", "+tcp"} {
		a := s.Dig("www.example.com", "A", "+nsid", tr)
		if a.Status != "NOERROR" || len(a.Answer) != 1 || !strings.Contains(a.Raw, `; NSID: 6e 73 31 2e 65 78 61 6d 70 6c 65 2e 6e 65 74 ("ns1.example.net")`) {
			t.Errorf("%s: +nsid: want the NSID ns1.example.net:\n%s", tr, a.Raw)
		}
		if a := s.Dig("www.example.com", "A", tr); strings.Contains(a.Raw, "NSID") {
			t.Errorf("%s: NSID sent unasked:\n%s", tr, a.Raw)
		}
	}
	for _, c := range []struct{ name, want string }{
		{"version.bind", "smartdns test"}, {"version.server", "smartdns test"},
		{"id.server", "ns1-test"}, {"hostname.bind", "ns1-test"},
	} {
		a := s.Dig("-c", "CH", "-t", "TXT", "-q", c.name)
		if a.Status != "NOERROR" || !a.Flags["aa"] || len(a.Answer) != 1 || a.Answer[0].Class != "CH" || a.Answer[0].Data != `"`+c.want+`"` {
			t.Errorf("%s CH TXT: want AA and one TXT %q:\n%s", c.name, c.want, a.Raw)
		}
	}
	if a := s.Dig("-c", "CH", "-t", "TXT", "-q", "authors.bind"); a.Status != "REFUSED" || !strings.Contains(a.Raw, "EDE: 20 (Not Authoritative)") {
		t.Errorf("authors.bind CH TXT: want REFUSED with EDE 20:\n%s", a.Raw)
	}

	bare := Start(t, Options{Files: map[string]string{"example.com.zone": identityZone}})
	if a := bare.Dig("www.example.com", "A", "+nsid"); a.Status != "NOERROR" || strings.Contains(a.Raw, "NSID") {
		t.Errorf("no identity: NSID sent:\n%s", a.Raw)
	}
	if a := bare.Dig("-c", "CH", "-t", "TXT", "-q", "version.bind"); a.Status != "REFUSED" || len(a.Answer) != 0 || !strings.Contains(a.Raw, "EDE: 20 (Not Authoritative)") {
		t.Errorf("no identity: version.bind CH TXT: want REFUSED with EDE 20:\n%s", a.Raw)
	}
	if a := bare.Dig("www.example.org", "A"); a.Status != "REFUSED" || !strings.Contains(a.Raw, "EDE: 20 (Not Authoritative)") {
		t.Errorf("outside the zones: want REFUSED with EDE 20:\n%s", a.Raw)
	}
	if a := bare.Dig("www.example.org", "A", "+noedns"); a.Status != "REFUSED" || a.EDNS || strings.Contains(a.Raw, "EDE") {
		t.Errorf("outside the zones without EDNS: want REFUSED, no OPT:\n%s", a.Raw)
	}
}
