package e2e

import (
	"strings"
	"testing"
)

// formsZone holds master-file forms BIND and NSD load (issue 10): each is
// served as written.
const formsZone = `$TTL 300
@ SOA ns1.example.com. hostmaster.example.com. 1 7200 3600 1209600 300
@ NS ns1.example.com.
@ MX 10 MaiL
MaiL A 192.0.2.1
www CNAME WwW2
www2 A 192.0.2.2
@ WKS 192.0.2.1 TCP ( smtp ftp 25 )
nsap NSAP 0x47.0005.80.005a00.0000.0001.e133.ffffff000162.00
gpos GPOS "-32.6882" "116.8652" "10.0"
x25 X25 "311061700956"
loc LOC 52 22 N 4 53 E 0m
key DNSKEY 256 3 ECDSAP256SHA256 AwEAAQ==
svc SVCB 1 . key00997="q" tls-supported-groups=29,23
v6 SVCB 1 . ipv6hint=::ffff:192.0.2.1
nsec NSEC www.forms.example. TXT A RRSIG NSEC
txt TXT ( "one"
"two" )
$GENERATE 26-27 ${0,2,n}.rev PTR host-${0,3,x}
inc A 192.0.2.9
$INCLUDE forms.inc
atma ATMA +61.2.0000.0000
a6 A6 64 ::1:2:3:4 pfx.forms.example.
naptr NAPTR 100 10 s SIP+D2U !^.*$!sip:x@example.com! _sip._udp
dsync DSYNC CDS NOTIFY 5359 ns1.example.com.
uinfo UINFO \# 1 01
`

// formsInclude starts with a blank: the owner is the one before $INCLUDE.
const formsInclude = "\tTXT \"included\"\n"

func TestZoneFileForms(t *testing.T) {
	s := Start(t, Options{Files: map[string]string{"forms.example.zone": formsZone, "forms.inc": formsInclude}})
	cases := []digCase{
		{name: "MX target keeps its case, additional A found", q: []string{"forms.example", "MX"}, status: "NOERROR", aa: true,
			answer: []string{"forms.example. 300 MX 10 MaiL.forms.example."},
			add:    []string{"MaiL.forms.example. 300 A 192.0.2.1"}},
		{name: "CNAME to a mixed-case target is followed", q: []string{"www.forms.example", "A"}, status: "NOERROR", aa: true,
			answer: []string{"www.forms.example. 300 CNAME WwW2.forms.example.", "WwW2.forms.example. 300 A 192.0.2.2"}},
		{name: "WKS", q: []string{"forms.example", "WKS"}, status: "NOERROR", aa: true,
			answer: []string{"forms.example. 300 WKS 192.0.2.1 6 21 25"}},
		{name: "NSAP", q: []string{"nsap.forms.example", "NSAP"}, status: "NOERROR", aa: true,
			answer: []string{"nsap.forms.example. 300 NSAP 0x47000580005a0000000001e133ffffff00016200"}},
		{name: "GPOS quoted", q: []string{"gpos.forms.example", "GPOS"}, status: "NOERROR", aa: true,
			answer: []string{`gpos.forms.example. 300 GPOS "-32.6882" "116.8652" "10.0"`}},
		{name: "X25 quoted", q: []string{"x25.forms.example", "X25"}, status: "NOERROR", aa: true,
			answer: []string{`x25.forms.example. 300 X25 "311061700956"`}},
		{name: "LOC shorthand", q: []string{"loc.forms.example", "LOC"}, status: "NOERROR", aa: true,
			answer: []string{"loc.forms.example. 300 LOC 52 22 0.000 N 4 53 0.000 E 0.00m 1m 10000m 10m"}},
		{name: "DNSKEY algorithm mnemonic", q: []string{"key.forms.example", "DNSKEY"}, status: "NOERROR", aa: true,
			answer: []string{"key.forms.example. 300 DNSKEY 256 3 13 AwEAAQ=="}},
		{name: "SVCB keyNNNNN and tls-supported-groups", q: []string{"svc.forms.example", "SVCB"}, status: "NOERROR", aa: true,
			answer: []string{`svc.forms.example. 300 SVCB 1 . key9="\000\029\000\023" key997="q"`}},
		{name: "SVCB IPv4-mapped ipv6hint", q: []string{"v6.forms.example", "SVCB"}, status: "NOERROR", aa: true,
			answer: []string{"v6.forms.example. 300 SVCB 1 . ipv6hint=::ffff:192.0.2.1"}},
		{name: "NSEC bitmap given out of order", q: []string{"nsec.forms.example", "NSEC"}, status: "NOERROR", aa: true,
			answer: []string{"nsec.forms.example. 300 NSEC www.forms.example. A TXT RRSIG NSEC"}},
		{name: "continuation in column 0", q: []string{"txt.forms.example", "TXT"}, status: "NOERROR", aa: true,
			answer: []string{`txt.forms.example. 300 TXT "one" "two"`}},
		{name: "$GENERATE nibbles", q: []string{"a.1.rev.forms.example", "PTR"}, status: "NOERROR", aa: true,
			answer: []string{"a.1.rev.forms.example. 300 PTR host-01a.forms.example."}},
		{name: "$INCLUDE inherits the owner", q: []string{"inc.forms.example", "TXT"}, status: "NOERROR", aa: true,
			answer: []string{`inc.forms.example. 300 TXT "included"`}},
		// Types of BIND's all-types test zone that miekg/dns cannot read:
		// dig (BIND's own client) shows them as BIND's zone writes them.
		{name: "ATMA", q: []string{"atma.forms.example", "ATMA"}, status: "NOERROR", aa: true,
			answer: []string{"atma.forms.example. 300 ATMA +61200000000"}},
		{name: "A6", q: []string{"a6.forms.example", "A6"}, status: "NOERROR", aa: true,
			answer: []string{"a6.forms.example. 300 A6 64 ::1:2:3:4 pfx.forms.example."}},
		{name: "NAPTR unquoted", q: []string{"naptr.forms.example", "NAPTR"}, status: "NOERROR", aa: true,
			answer: []string{`naptr.forms.example. 300 NAPTR 100 10 "s" "SIP+D2U" "!^.*$!sip:x@example.com!" _sip._udp.forms.example.`}},
		{name: "DSYNC", q: []string{"dsync.forms.example", "DSYNC"}, status: "NOERROR", aa: true,
			answer: []string{"dsync.forms.example. 300 DSYNC CDS NOTIFY 5359 ns1.example.com."}},
		{name: "UINFO kept as RFC 3597 data", q: []string{"uinfo.forms.example", "UINFO"}, status: "NOERROR", aa: true,
			answer: []string{`uinfo.forms.example. 300 UINFO \# 1 01`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			checkAnswer(t, c, s.Dig(append(append([]string{}, c.q...), "+nosplit")...))
		})
	}
}

// TestZoneFileRefusals: `smartdns check` refuses what BIND refuses, each
// at its record, and the zone is not served.
func TestZoneFileRefusals(t *testing.T) {
	zone := `$TTL 300
@ NS ns1.example.com.
@ DS 60485 5 1 2BB183AF5F22588179A53B0A98631FAD1A292118
s SSHFP 1 1 0123456789abcdef
_443._tcp TLSA 3 1 1 0123
foo DS 1 8 2 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
svc SVCB 0 . alpn=h2
_dns SVCB 1 ns.bad.example. alpn=h2
`
	s := Start(t, Options{Files: map[string]string{"bad.example.zone": zone}})
	if a := s.Dig("bad.example", "SOA"); a.Status != "REFUSED" {
		t.Errorf("a refused zone is served:\n%s", a.Raw)
	}
	out := checkOutput(t, s)
	for _, want := range []string{
		"bad.example.zone:3:1: DS at the zone apex bad.example.: a DS belongs in the parent zone",
		"bad.example.zone:4:1: s.bad.example. SSHFP: fingerprint type 1 needs 20 bytes, got 8",
		"bad.example.zone:5:1: _443._tcp.bad.example. TLSA: matching type 1 needs 32 bytes, got 2",
		"bad.example.zone:6:1: foo.bad.example.: a DS without NS records: a DS belongs at a delegation",
		"bad.example.zone:7:1: svc.bad.example. SVCB: SvcParams in AliasMode (priority 0) are not allowed",
		"bad.example.zone:8:1: _dns.bad.example. SVCB: alpn h2 is DNS over HTTPS, which needs a dohpath",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("check output lacks %q:\n%s", want, out)
		}
	}
}
