package masterfile

import (
	"strings"
	"testing"
)

// TestParseMasterMessages: every refusal says what is wrong. miekg/dns
// returns some SVCB errors with an empty reason ("dns: : \"port=x\""); a
// corpus of bad inputs must yield problems that all carry a message.
func TestParseMasterMessages(t *testing.T) {
	bad := []string{
		"a SVCB 1 . port=x",
		"a SVCB 1 . port=70000",
		"a SVCB 1 . ipv4hint=::1",
		"a SVCB 1 . ipv6hint=192.0.2.1",
		"a SVCB 1 . ech=!!!",
		"a SVCB 1 . no-default-alpn=x",
		"a SVCB x .",
		"a SVCB 1 bad..name",
		"a A 192.0.2.300",
		"a AAAA ::g",
		"a MX x y",
		"a TXT \"unterminated",
		"a CAA 0 issue",
		"a LOC 91 N 0 E 0m",
		"a LOC x",
		"a WKS 1.2.3.4",
		"a NSAP 0x",
		"a GPOS 1 2",
		"a X25 1",
		"a DNSKEY 256 3 FOO AA==",
		"a NSEC b. NOSUCHTYPE",
		"a TYPE99999 \\# 1 00",
		"a TYPE99 \\# 2 00",
		"a NAPTR 1 1 x",
		"a NAPTR 1 1 s \"\" \"\" bad..name",
		"a ATMA +6a",
		"a ATMA 0xyz",
		"a A6 129 .",
		"a A6 64 ::1",
		"a A6 64 192.0.2.1 x.",
		"a SINK 1 0",
		"a SINK 1 0 0 !!!",
		"a DSYNC FOO NOTIFY 53 .",
		"a DSYNC CDS BAD 53 .",
		"a DSYNC CDS NOTIFY 70000 .",
		"a HHIT",
		"a URI 1 2",
		"a DOA 1 2 3",
		"a DOA 1 2 300 \"\" -",
		"a SRV 1 1 x y",
		"a APL 1:192.0.2.0/33",
		"a SOA a b c d e f g",
		"$GENERATE 1-2 ${x} A 10.0.0.1",
		"$GENERATE 1-2 x A $.0.0.300",
		"$GENERATE a-b x A 10.0.0.1",
		"$INCLUDE",
		"$ORIGIN",
		"$TTL -1",
	}
	for _, z := range bad {
		_, probs := Parse("t.zone", "example.com.", []byte("$TTL 60\n"+z+"\n"))
		if len(probs.Errors()) == 0 {
			t.Errorf("%q: no error", z)
		}
		for _, p := range probs {
			m := p.Msg
			if strings.TrimSpace(m) == "" || strings.HasPrefix(m, ":") || strings.Contains(m, ": :") || strings.HasPrefix(m, "\"") {
				t.Errorf("%q: problem without a message: %q", z, p.Error())
			}
		}
	}
}
