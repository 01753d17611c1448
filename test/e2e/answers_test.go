package e2e

import (
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"
)

// answerZones are the zones of the answer-rule cases, one set shared with
// the handler's unit tests (dns/handler_test.go), which check the same
// rules without the binary:
//
//	example.com.      the main zone: data, CNAMEs, wildcards, DNAMEs, delegations
//	sub.example.com.  nested in example.com (which delegates it), both served
//	example.net.      where chains lead; SOA TTL 60 < minimum 600
//	example.          the wildcard example zone of RFC 4592 §2.2.1
//	example.org.      an octoDNS YAML zone (SOA and NS from the config)
//	example.info.     a DNAME at the apex
//	nodeleg.example.com.  served, with no delegation in example.com
//
// Negative answers carry the SOA with TTL min(SOA TTL, SOA minimum)
// (RFC 2308 §5): 300 for example.com. and example., 60 for example.net.,
// 120 for sub.example.com.
const answerZones = "../../dns/testdata/rules"

const (
	soaCom = "example.com. 300 SOA ns1.example.com. hostmaster.example.com. 2024010101 7200 3600 1209600 300"
	soaNet = "example.net. 60 SOA ns1.example.com. hostmaster.example.com. 3 7200 3600 1209600 600"
	soaSub = "sub.example.com. 120 SOA ns.sub.example.com. hostmaster.example.com. 7 7200 3600 1209600 120"
	soaEx  = "example. 300 SOA ns.example.com. ns.example.net. 1 7200 3600 1209600 300"
	soaNdl = "nodeleg.example.com. 240 SOA ns1.example.com. hostmaster.example.com. 9 7200 3600 1209600 240"
	soaInf = "example.info. 300 SOA ns1.example.com. hostmaster.example.com. 5 7200 3600 1209600 300"
	dsDel  = "deleg.example.com. 3600 DS 12345 13 2 0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF"
	dsSub  = "sub.example.com. 3600 DS 54321 13 2 FEDCBA9876543210FEDCBA9876543210FEDCBA9876543210FEDCBA9876543210"
)

var (
	longLabel   = strings.Repeat("b", 40)
	dlongTarget = strings.Repeat(strings.Repeat("a", 60)+".", 3) + "example.net."
)

// digCase is one query and the whole answer expected. Records are written
// "owner TTL TYPE RDATA" (class IN is implied); owners are compared
// exactly, so they also check the case of the names.
type digCase struct {
	name   string   // the rule shown
	q      []string // dig's name, type and options
	status string
	aa     bool
	answer []string // in order
	auth   []string // in any order
	add    []string // in any order
}

// answerCases are the answer rules of RFC 1034 §4.3.2 with RFC 2181, 2308,
// 4592, 6604, 6672 and 8482, as Knot and NSD answer them.
var answerCases = []digCase{
	// Authoritative data: AA set (RFC 1035 §4.1.1), no authority section.
	{name: "A", q: []string{"www.example.com", "A"}, status: "NOERROR", aa: true,
		answer: []string{"www.example.com. 3600 A 192.0.2.10"}},
	{name: "AAAA", q: []string{"www.example.com", "AAAA"}, status: "NOERROR", aa: true,
		answer: []string{"www.example.com. 3600 AAAA 2001:db8::10"}},
	{name: "SOA at the apex", q: []string{"example.com", "SOA"}, status: "NOERROR", aa: true,
		answer: []string{"example.com. 3600 SOA ns1.example.com. hostmaster.example.com. 2024010101 7200 3600 1209600 300"}},

	// A name in no zone we serve: REFUSED without AA (what Knot and NSD
	// answer), also for names above our zones.
	{name: "REFUSED outside our zones", q: []string{"www.example.invalid", "A"}, status: "REFUSED"},
	{name: "REFUSED above our zones", q: []string{"com", "NS"}, status: "REFUSED"},
	{name: "REFUSED root", q: []string{".", "SOA"}, status: "REFUSED"},

	// Nested zones: the most specific zone answers (RFC 1034 §4.3.2 step 2).
	{name: "nested: child data", q: []string{"www.sub.example.com", "A"}, status: "NOERROR", aa: true,
		answer: []string{"www.sub.example.com. 3600 A 192.0.2.100"}},
	{name: "nested: child apex SOA", q: []string{"sub.example.com", "SOA"}, status: "NOERROR", aa: true,
		answer: []string{"sub.example.com. 3600 SOA ns.sub.example.com. hostmaster.example.com. 7 7200 3600 1209600 120"}},
	{name: "nested: child apex NS is an answer, not a referral", q: []string{"sub.example.com", "NS"}, status: "NOERROR", aa: true,
		answer: []string{"sub.example.com. 3600 NS ns.sub.example.com."},
		add:    []string{"ns.sub.example.com. 3600 A 192.0.2.53"}},
	{name: "nested: child NXDOMAIN has the child SOA", q: []string{"nope.sub.example.com", "A"}, status: "NXDOMAIN", aa: true,
		auth: []string{soaSub}},
	{name: "nested: parent data", q: []string{"mail.example.com", "A"}, status: "NOERROR", aa: true,
		answer: []string{"mail.example.com. 3600 A 192.0.2.20"}},

	// Negative answers (RFC 2308 §2.1, §2.2, §5): SOA in authority with
	// TTL min(SOA TTL, minimum).
	{name: "NXDOMAIN", q: []string{"nothere.example.com", "A"}, status: "NXDOMAIN", aa: true,
		auth: []string{soaCom}},
	{name: "NODATA", q: []string{"www.example.com", "MX"}, status: "NOERROR", aa: true,
		auth: []string{soaCom}},
	{name: "NXDOMAIN, SOA TTL below minimum", q: []string{"nothere.example.net", "A"}, status: "NXDOMAIN", aa: true,
		auth: []string{soaNet}},
	{name: "NODATA, SOA TTL below minimum", q: []string{"www.example.net", "TXT"}, status: "NOERROR", aa: true,
		auth: []string{soaNet}},
	// An empty non-terminal exists: NODATA, not NXDOMAIN (RFC 4592 §2.2.2, RFC 8020).
	{name: "empty non-terminal", q: []string{"c.example.com", "TXT"}, status: "NOERROR", aa: true,
		auth: []string{soaCom}},
	{name: "empty non-terminal, deeper", q: []string{"b.c.example.com", "A"}, status: "NOERROR", aa: true,
		auth: []string{soaCom}},
	{name: "below an empty non-terminal", q: []string{"x.b.c.example.com", "TXT"}, status: "NXDOMAIN", aa: true,
		auth: []string{soaCom}},
	{name: "data below empty non-terminals", q: []string{"a.b.c.example.com", "TXT"}, status: "NOERROR", aa: true,
		answer: []string{`a.b.c.example.com. 3600 TXT "deep"`}},

	// Wildcards (RFC 4592 §2.2.1 and §3.3.1): the synthesized owner is
	// the qname.
	{name: "wildcard", q: []string{"foo.wild.example.com", "A"}, status: "NOERROR", aa: true,
		answer: []string{"foo.wild.example.com. 3600 A 192.0.2.30"}},
	{name: "wildcard, several labels", q: []string{"a.b.wild.example.com", "TXT"}, status: "NOERROR", aa: true,
		answer: []string{`a.b.wild.example.com. 3600 TXT "wild"`}},
	{name: "wildcard, NODATA", q: []string{"foo.wild.example.com", "MX"}, status: "NOERROR", aa: true,
		auth: []string{soaCom}},
	{name: "wildcard does not match an existing name", q: []string{"exists.wild.example.com", "TXT"}, status: "NOERROR", aa: true,
		auth: []string{soaCom}},
	{name: "wildcard does not match below an existing name", q: []string{"x.exists.wild.example.com", "A"}, status: "NXDOMAIN", aa: true,
		auth: []string{soaCom}},
	{name: "the wildcard owner itself", q: []string{"*.wild.example.com", "A"}, status: "NOERROR", aa: true,
		answer: []string{"*.wild.example.com. 3600 A 192.0.2.30"}},
	{name: "wildcard CNAME", q: []string{"x.wildcname.example.com", "A"}, status: "NOERROR", aa: true,
		answer: []string{"x.wildcname.example.com. 3600 CNAME www.example.com.", "www.example.com. 3600 A 192.0.2.10"}},
	{name: "wildcard CNAME, qtype CNAME", q: []string{"x.wildcname.example.com", "CNAME"}, status: "NOERROR", aa: true,
		answer: []string{"x.wildcname.example.com. 3600 CNAME www.example.com."}},
	// The examples of RFC 4592 §2.2.1.
	{name: "RFC 4592: host3 MX synthesized", q: []string{"host3.example", "MX"}, status: "NOERROR", aa: true,
		answer: []string{"host3.example. 3600 MX 10 host1.example."},
		add:    []string{"host1.example. 3600 A 192.0.2.1"}},
	{name: "RFC 4592: host3 A NODATA", q: []string{"host3.example", "A"}, status: "NOERROR", aa: true,
		auth: []string{soaEx}},
	{name: "RFC 4592: foo.bar TXT synthesized", q: []string{"foo.bar.example", "TXT"}, status: "NOERROR", aa: true,
		answer: []string{`foo.bar.example. 3600 TXT "this is a wildcard"`}},
	{name: "RFC 4592: host1 MX not synthesized", q: []string{"host1.example", "MX"}, status: "NOERROR", aa: true,
		auth: []string{soaEx}},
	{name: "RFC 4592: sub.* MX not synthesized", q: []string{"sub.*.example", "MX"}, status: "NOERROR", aa: true,
		auth: []string{soaEx}},
	{name: "RFC 4592: _telnet._tcp.host1 NXDOMAIN", q: []string{"_telnet._tcp.host1.example", "SRV"}, status: "NXDOMAIN", aa: true,
		auth: []string{soaEx}},
	{name: "RFC 4592: below a delegation", q: []string{"host.subdel.example", "A"}, status: "NOERROR",
		auth: []string{"subdel.example. 3600 NS ns.example.com.", "subdel.example. 3600 NS ns.example.net."}},
	{name: "RFC 4592: ghost.* NXDOMAIN", q: []string{"ghost.*.example", "MX"}, status: "NXDOMAIN", aa: true,
		auth: []string{soaEx}},
	{name: "RFC 4592: ENT host2 not synthesized", q: []string{"host2.example", "TXT"}, status: "NOERROR", aa: true,
		auth: []string{soaEx}},
	{name: "RFC 4592: below ENT host2 NXDOMAIN", q: []string{"_foo.host2.example", "TXT"}, status: "NXDOMAIN", aa: true,
		auth: []string{soaEx}},

	// CNAME (RFC 1034 §3.6.2, §4.3.2 step 3a; RFC 6604).
	{name: "CNAME followed", q: []string{"alias.example.com", "A"}, status: "NOERROR", aa: true,
		answer: []string{"alias.example.com. 3600 CNAME www.example.com.", "www.example.com. 3600 A 192.0.2.10"}},
	{name: "CNAME chain", q: []string{"alias-chain.example.com", "AAAA"}, status: "NOERROR", aa: true,
		answer: []string{"alias-chain.example.com. 3600 CNAME alias.example.com.", "alias.example.com. 3600 CNAME www.example.com.", "www.example.com. 3600 AAAA 2001:db8::10"}},
	{name: "CNAME into a second served zone", q: []string{"alias-net.example.com", "A"}, status: "NOERROR", aa: true,
		answer: []string{"alias-net.example.com. 3600 CNAME www.example.net.", "www.example.net. 3600 A 198.51.100.10"}},
	{name: "CNAME to NXDOMAIN: target zone's SOA", q: []string{"alias-nx.example.com", "A"}, status: "NXDOMAIN", aa: true,
		answer: []string{"alias-nx.example.com. 3600 CNAME nothere.example.net."},
		auth:   []string{soaNet}},
	{name: "CNAME to NODATA", q: []string{"alias.example.com", "MX"}, status: "NOERROR", aa: true,
		answer: []string{"alias.example.com. 3600 CNAME www.example.com."},
		auth:   []string{soaCom}},
	{name: "CNAME out of our zones ends the chain", q: []string{"alias-ext.example.com", "A"}, status: "NOERROR", aa: true,
		answer: []string{"alias-ext.example.com. 3600 CNAME www.elsewhere.test."}},
	// A chain that reaches a delegation ends in a referral; the CNAME
	// itself is ours, so AA stays.
	{name: "CNAME into a delegation", q: []string{"alias-deleg.example.com", "A"}, status: "NOERROR", aa: true,
		answer: []string{"alias-deleg.example.com. 3600 CNAME www.deleg.example.com."},
		auth:   []string{"deleg.example.com. 3600 NS ns.deleg.example.com.", "deleg.example.com. 3600 NS ns.example.net."},
		add:    []string{"ns.deleg.example.com. 3600 A 192.0.2.54", "ns.deleg.example.com. 3600 AAAA 2001:db8::54"}},
	{name: "CNAME loop is cut", q: []string{"loop1.example.com", "A"}, status: "NOERROR", aa: true,
		answer: []string{"loop1.example.com. 3600 CNAME loop2.example.com.", "loop2.example.com. 3600 CNAME loop1.example.com."}},
	{name: "CNAME to itself", q: []string{"self.example.com", "A"}, status: "NOERROR", aa: true,
		answer: []string{"self.example.com. 3600 CNAME self.example.com."}},
	{name: "qtype CNAME gives the CNAME", q: []string{"alias-chain.example.com", "CNAME"}, status: "NOERROR", aa: true,
		answer: []string{"alias-chain.example.com. 3600 CNAME alias.example.com."}},
	{name: "CNAME to an MX owner: the MX targets in additional", q: []string{"mxalias.example.com", "MX"}, status: "NOERROR", aa: true,
		answer: []string{"mxalias.example.com. 3600 CNAME example.com.", "example.com. 3600 MX 10 mail.example.com.", "example.com. 3600 MX 20 mx.example.net."},
		add:    []string{"mail.example.com. 3600 A 192.0.2.20", "mail.example.com. 3600 AAAA 2001:db8::20"}},

	// DNAME (RFC 6672 §2.3, §3): the DNAME, a CNAME synthesized with the
	// qname as owner and the DNAME's TTL, then the target's answer.
	{name: "DNAME into a served zone", q: []string{"x.dn.example.com", "A"}, status: "NOERROR", aa: true,
		answer: []string{"dn.example.com. 1200 DNAME example.net.", "x.dn.example.com. 1200 CNAME x.example.net.", "x.example.net. 3600 A 198.51.100.20"}},
	{name: "DNAME, several labels", q: []string{"a.b.dn.example.com", "A"}, status: "NXDOMAIN", aa: true,
		answer: []string{"dn.example.com. 1200 DNAME example.net.", "a.b.dn.example.com. 1200 CNAME a.b.example.net."},
		auth:   []string{soaNet}},
	{name: "DNAME out of our zones", q: []string{"y.dnx.example.com", "A"}, status: "NOERROR", aa: true,
		answer: []string{"dnx.example.com. 3600 DNAME elsewhere.test.", "y.dnx.example.com. 3600 CNAME y.elsewhere.test."}},
	{name: "DNAME owner, type DNAME", q: []string{"dn.example.com", "DNAME"}, status: "NOERROR", aa: true,
		answer: []string{"dn.example.com. 1200 DNAME example.net."}},
	{name: "DNAME owner, other data", q: []string{"dn.example.com", "A"}, status: "NOERROR", aa: true,
		answer: []string{"dn.example.com. 3600 A 192.0.2.99"}},
	{name: "DNAME owner, NODATA", q: []string{"dn.example.com", "TXT"}, status: "NOERROR", aa: true,
		auth: []string{soaCom}},
	{name: "DNAME at the apex redirects below it", q: []string{"www.example.info", "A"}, status: "NOERROR", aa: true,
		answer: []string{"example.info. 3600 DNAME example.net.", "www.example.info. 3600 CNAME www.example.net.", "www.example.net. 3600 A 198.51.100.10"}},
	{name: "DNAME at the apex, the apex's own data", q: []string{"example.info", "TXT"}, status: "NOERROR", aa: true,
		answer: []string{`example.info. 3600 TXT "apex data"`}},
	{name: "DNAME at the apex, NODATA at the apex", q: []string{"example.info", "A"}, status: "NOERROR", aa: true,
		auth: []string{soaInf}},
	// A substitution longer than 255 octets: YXDOMAIN with the DNAME
	// (RFC 6672 §2.2, §3.1 step 3c).
	{name: "DNAME substitution too long", q: []string{longLabel + "." + longLabel + ".dlong.example.com", "A"}, status: "YXDOMAIN", aa: true,
		answer: []string{"dlong.example.com. 3600 DNAME " + dlongTarget}},

	// Referrals (RFC 1034 §4.3.2 step 3b, RFC 9471): no AA, the cut's NS
	// in authority, in-zone glue in additional.
	{name: "referral below a delegation", q: []string{"www.deleg.example.com", "A"}, status: "NOERROR",
		auth: []string{"deleg.example.com. 3600 NS ns.deleg.example.com.", "deleg.example.com. 3600 NS ns.example.net."},
		add:  []string{"ns.deleg.example.com. 3600 A 192.0.2.54", "ns.deleg.example.com. 3600 AAAA 2001:db8::54"}},
	{name: "referral for the delegation name", q: []string{"deleg.example.com", "A"}, status: "NOERROR",
		auth: []string{"deleg.example.com. 3600 NS ns.deleg.example.com.", "deleg.example.com. 3600 NS ns.example.net."},
		add:  []string{"ns.deleg.example.com. 3600 A 192.0.2.54", "ns.deleg.example.com. 3600 AAAA 2001:db8::54"}},
	{name: "referral for NS at the delegation name", q: []string{"deleg.example.com", "NS"}, status: "NOERROR",
		auth: []string{"deleg.example.com. 3600 NS ns.deleg.example.com.", "deleg.example.com. 3600 NS ns.example.net."},
		add:  []string{"ns.deleg.example.com. 3600 A 192.0.2.54", "ns.deleg.example.com. 3600 AAAA 2001:db8::54"}},
	{name: "referral with no glue", q: []string{"a.nods.example.com", "A"}, status: "NOERROR",
		auth: []string{"nods.example.com. 3600 NS ns1.example.net."}},
	{name: "referral for the glue name itself", q: []string{"ns.deleg.example.com", "A"}, status: "NOERROR",
		auth: []string{"deleg.example.com. 3600 NS ns.deleg.example.com.", "deleg.example.com. 3600 NS ns.example.net."},
		add:  []string{"ns.deleg.example.com. 3600 A 192.0.2.54", "ns.deleg.example.com. 3600 AAAA 2001:db8::54"}},
	// DS belongs to the parent side of the cut (RFC 4035 §3.1.4.1).
	{name: "DS at a delegation", q: []string{"deleg.example.com", "DS"}, status: "NOERROR", aa: true,
		answer: []string{dsDel}},
	{name: "DS at a delegation without DS", q: []string{"nods.example.com", "DS"}, status: "NOERROR", aa: true,
		auth: []string{soaCom}},
	{name: "DS below a delegation is a referral", q: []string{"x.deleg.example.com", "DS"}, status: "NOERROR",
		auth: []string{"deleg.example.com. 3600 NS ns.deleg.example.com.", "deleg.example.com. 3600 NS ns.example.net."},
		add:  []string{"ns.deleg.example.com. 3600 A 192.0.2.54", "ns.deleg.example.com. 3600 AAAA 2001:db8::54"}},
	{name: "DS at a served child's apex: from the parent", q: []string{"sub.example.com", "DS"}, status: "NOERROR", aa: true,
		answer: []string{dsSub}},
	// A served zone the parent does not delegate: the parent has no such
	// name, and NXDOMAIN would deny the whole child (RFC 8020), so the
	// child answers NODATA.
	{name: "DS at a served child's apex, no delegation", q: []string{"nodeleg.example.com", "DS"}, status: "NOERROR", aa: true,
		auth: []string{soaNdl}},
	{name: "served child without delegation: data", q: []string{"www.nodeleg.example.com", "A"}, status: "NOERROR", aa: true,
		answer: []string{"www.nodeleg.example.com. 3600 A 192.0.2.150"}},
	{name: "DS at a top zone's apex: NODATA from the zone", q: []string{"example.com", "DS"}, status: "NOERROR", aa: true,
		auth: []string{soaCom}},

	// Additional section processing (RFC 1035 §3.3.9, §3.3.11, RFC 2782):
	// addresses of in-zone targets only.
	{name: "MX additional", q: []string{"example.com", "MX"}, status: "NOERROR", aa: true,
		answer: []string{"example.com. 3600 MX 10 mail.example.com.", "example.com. 3600 MX 20 mx.example.net."},
		add:    []string{"mail.example.com. 3600 A 192.0.2.20", "mail.example.com. 3600 AAAA 2001:db8::20"}},
	{name: "SRV additional", q: []string{"_sip._udp.example.com", "SRV"}, status: "NOERROR", aa: true,
		answer: []string{"_sip._udp.example.com. 3600 SRV 10 5 5060 sip.example.com."},
		add:    []string{"sip.example.com. 3600 A 192.0.2.40"}},
	{name: "NS additional", q: []string{"example.com", "NS"}, status: "NOERROR", aa: true,
		answer: []string{"example.com. 3600 NS ns1.example.com.", "example.com. 3600 NS ns2.example.com."},
		add:    []string{"ns1.example.com. 3600 A 192.0.2.1", "ns1.example.com. 3600 AAAA 2001:db8::1", "ns2.example.com. 3600 A 192.0.2.2"}},
	// A host named twice has its addresses once (RFC 2181 §5).
	{name: "SRV additional, one host twice", q: []string{"_xmpp._tcp.example.com", "SRV"}, status: "NOERROR", aa: true,
		answer: []string{"_xmpp._tcp.example.com. 3600 SRV 10 0 5222 mail.example.com.", "_xmpp._tcp.example.com. 3600 SRV 20 0 5223 mail.example.com."},
		add:    []string{"mail.example.com. 3600 A 192.0.2.20", "mail.example.com. 3600 AAAA 2001:db8::20"}},

	// An octoDNS YAML zone answers by the same rules; its SOA and NS come
	// from the config (SOA TTL 3600, minimum 300).
	{name: "YAML: CNAME to the apex", q: []string{"www.example.org", "A"}, status: "NOERROR", aa: true,
		answer: []string{"www.example.org. 3600 CNAME example.org.", "example.org. 3600 A 203.0.113.1"}},
	{name: "YAML: MX additional", q: []string{"example.org", "MX"}, status: "NOERROR", aa: true,
		answer: []string{"example.org. 3600 MX 10 mail.example.org."},
		add:    []string{"mail.example.org. 3600 A 203.0.113.25"}},
	{name: "YAML: NS from the config", q: []string{"example.org", "NS"}, status: "NOERROR", aa: true,
		answer: []string{"example.org. 3600 NS ns1.example.com.", "example.org. 3600 NS ns2.example.com."}},
}

// TestAnswers runs every answer rule over UDP and over TCP against a real
// server: the status, the AA flag and each section must match exactly.
func TestAnswers(t *testing.T) {
	s := Start(t, Options{ZonesFrom: answerZones})
	for _, tr := range []string{"+notcp", "+tcp"} {
		t.Run(tr, func(t *testing.T) {
			for _, c := range answerCases {
				t.Run(c.name, func(t *testing.T) {
					t.Parallel()
					a := s.Dig(append(append([]string{}, c.q...), tr, "+nosplit")...)
					checkAnswer(t, c, a)
				})
			}
		})
	}
}

// TestAnswersYAMLSOA: the synthesized SOA of the YAML zone is in the
// negative answers with TTL min(3600, 300) (RFC 2308 §5); its serial is
// the server's, so only the fixed fields are checked.
func TestAnswersYAMLSOA(t *testing.T) {
	s := Start(t, Options{ZonesFrom: answerZones})
	for _, q := range [][]string{{"nope.example.org", "A"}, {"example.org", "TXT"}} {
		a := s.Dig(q...)
		want := map[string]string{"nope.example.org": "NXDOMAIN", "example.org": "NOERROR"}[q[0]]
		if a.Status != want || !a.Flags["aa"] || len(a.Answer) != 0 || len(a.Authority) != 1 {
			t.Fatalf("%v: want %s with one SOA:\n%s", q, want, a.Raw)
		}
		soa := a.Authority[0]
		f := strings.Fields(soa.Data)
		if soa.Name != "example.org." || soa.Type != "SOA" || soa.TTL != 300 || len(f) != 7 ||
			f[0] != "ns1.example.com." || f[1] != "hostmaster.example.com." || f[6] != "300" {
			t.Errorf("%v: SOA %v", q, soa)
		}
	}
}

// TestQnameCase: the question and the owners of the answer keep the case
// the client sent (RFC 4343 §4; what 0x20-randomizing resolvers check),
// also for wildcard, CNAME-chain, DNAME, referral and negative answers.
func TestQnameCase(t *testing.T) {
	s := Start(t, Options{ZonesFrom: answerZones})
	cases := []struct {
		q      []string
		owners []string // the answer's owners, exactly
		auth   string   // the authority's first owner, exactly, if any
	}{
		{q: []string{"wWw.ExAmPlE.CoM", "A"}, owners: []string{"wWw.ExAmPlE.CoM."}},
		{q: []string{"FoO.wIlD.example.COM", "TXT"}, owners: []string{"FoO.wIlD.example.COM."}},
		{q: []string{"HOST3.EXAMPLE", "MX"}, owners: []string{"HOST3.EXAMPLE."}},
		{q: []string{"X.WildCname.Example.Com", "A"}, owners: []string{"X.WildCname.Example.Com.", "www.example.com."}},
		// The later owners of a chain are the CNAME targets as the zone
		// writes them: RDATA keeps its case (RFC 4343 §4.1).
		{q: []string{"Alias-Chain.EXAMPLE.com", "A"}, owners: []string{"Alias-Chain.EXAMPLE.com.", "alias.example.com.", "www.example.com."}},
		{q: []string{"X.Dn.Example.COM", "A"}, owners: []string{"Dn.Example.COM.", "X.Dn.Example.COM.", "x.example.net."}},
		{q: []string{"NoThere.Example.COM", "A"}, auth: "Example.COM."},
		{q: []string{"WWW.DELEG.example.com", "A"}, auth: "DELEG.example.com."},
	}
	for _, c := range cases {
		for _, tr := range []string{"+notcp", "+tcp"} {
			a := s.Dig(append(append([]string{}, c.q...), tr)...)
			if wantQ := c.q[0] + ". IN " + c.q[1]; a.Question != wantQ {
				t.Errorf("%v %s: question %q, want %q", c.q, tr, a.Question, wantQ)
			}
			var owners []string
			for _, rr := range a.Answer {
				owners = append(owners, rr.Name)
			}
			if fmt.Sprint(owners) != fmt.Sprint(c.owners) {
				t.Errorf("%v %s: answer owners %v, want %v\n%s", c.q, tr, owners, c.owners, a.Raw)
			}
			if c.auth != "" && (len(a.Authority) == 0 || a.Authority[0].Name != c.auth) {
				t.Errorf("%v %s: authority owner, want %q\n%s", c.q, tr, c.auth, a.Raw)
			}
		}
	}
}

// TestAnyRFC8482: ANY over UDP answers exactly one RRset, never the whole
// node (RFC 8482 §4.1); over TCP the whole node is given (§4.1 allows
// it: TCP is no amplification vector). dig uses TCP for ANY unless told
// +notcp.
func TestAnyRFC8482(t *testing.T) {
	s := Start(t, Options{ZonesFrom: answerZones})
	cases := []struct {
		name     string
		allTypes []string // the node's types, sorted
	}{
		{"www.example.com", []string{"A", "AAAA", "TXT"}},
		{"example.com", []string{"MX", "NS", "SOA"}},
		{"mail.example.com", []string{"A", "AAAA"}},
		{"foo.wild.example.com", []string{"A", "TXT"}}, // synthesized from the wildcard
		{"host3.example", []string{"MX", "TXT"}},
	}
	for _, c := range cases {
		a := s.Dig(c.name, "ANY", "+notcp")
		if a.Status != "NOERROR" || !a.Flags["aa"] || a.Transport != "UDP" || a.Flags["tc"] {
			t.Fatalf("%s ANY over UDP:\n%s", c.name, a.Raw)
		}
		types := map[string]bool{}
		for _, rr := range a.Answer {
			types[rr.Type] = true
			if !strings.EqualFold(rr.Name, c.name+".") {
				t.Errorf("%s ANY: owner %s", c.name, rr.Name)
			}
		}
		if len(types) != 1 {
			t.Errorf("%s ANY over UDP: %d RRsets (%v), want exactly 1\n%s", c.name, len(types), Types(a.Answer), a.Raw)
		}
		a = s.Dig(c.name, "ANY", "+tcp")
		if a.Status != "NOERROR" || !a.Flags["aa"] || a.Transport != "TCP" {
			t.Fatalf("%s ANY over TCP:\n%s", c.name, a.Raw)
		}
		if got := uniqueSorted(Types(a.Answer)); fmt.Sprint(got) != fmt.Sprint(c.allTypes) {
			t.Errorf("%s ANY over TCP: types %v, want the whole node %v\n%s", c.name, got, c.allTypes, a.Raw)
		}
	}
	// Over TCP, two RRsets naming one host add its addresses once.
	a := s.Dig("multi.example.com", "ANY", "+tcp")
	if got := rrLines(a.Additional, true); fmt.Sprint(got) != fmt.Sprint([]string{"mail.example.com. 3600 A 192.0.2.20", "mail.example.com. 3600 AAAA 2001:db8::20"}) {
		t.Errorf("ANY at a node with MX and SRV to one host: additional %v\n%s", got, a.Raw)
	}
	// ANY at a CNAME gives the CNAME; at an ENT or a missing name, the
	// usual negative answers.
	a = s.Dig("alias.example.com", "ANY", "+notcp")
	if a.Status != "NOERROR" || len(a.Answer) != 1 || a.Answer[0].Type != "CNAME" {
		t.Errorf("ANY at a CNAME:\n%s", a.Raw)
	}
	a = s.Dig("c.example.com", "ANY", "+notcp")
	if a.Status != "NOERROR" || len(a.Answer) != 0 || len(a.Authority) != 1 || a.Authority[0].Type != "SOA" {
		t.Errorf("ANY at an empty non-terminal:\n%s", a.Raw)
	}
	a = s.Dig("nope.example.com", "ANY", "+notcp")
	if a.Status != "NXDOMAIN" || len(a.Authority) != 1 || a.Authority[0].Type != "SOA" {
		t.Errorf("ANY at a missing name:\n%s", a.Raw)
	}
}

// TestChainLoopEndsPromptly: a CNAME loop ends the answer at once (no
// hang, no SERVFAIL after a timeout), as NSD and Knot do.
func TestChainLoopEndsPromptly(t *testing.T) {
	s := Start(t, Options{ZonesFrom: answerZones})
	start := time.Now()
	for i := 0; i < 20; i++ {
		a := s.Dig("loop2.example.com", "A", "+notcp")
		if a.Status != "NOERROR" || len(a.Answer) != 2 {
			t.Fatalf("loop:\n%s", a.Raw)
		}
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("20 loop queries took %v", d)
	}
}

func uniqueSorted(in []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range in {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	sort.Strings(out)
	return out
}

// rrLine renders a parsed RR as "owner TTL TYPE RDATA".
func rrLine(r RR) string {
	return fmt.Sprintf("%s %d %s %s", r.Name, r.TTL, r.Type, r.Data)
}

func rrLines(rrs []RR, sorted bool) []string {
	out := []string{}
	for _, r := range rrs {
		if r.Type == "OPT" {
			continue
		}
		out = append(out, rrLine(r))
	}
	if sorted {
		sort.Strings(out)
	}
	return out
}

func sortedCopy(in []string) []string {
	out := append([]string{}, in...)
	sort.Strings(out)
	return out
}

func checkAnswer(t *testing.T, c digCase, a *Answer) {
	t.Helper()
	var errs []string
	if a.Status != c.status {
		errs = append(errs, fmt.Sprintf("status %s, want %s", a.Status, c.status))
	}
	if a.Flags["aa"] != c.aa {
		errs = append(errs, fmt.Sprintf("aa=%v, want %v", a.Flags["aa"], c.aa))
	}
	if a.Flags["tc"] {
		errs = append(errs, "tc set")
	}
	if got, want := rrLines(a.Answer, false), append([]string{}, c.answer...); strings.Join(got, "\n") != strings.Join(want, "\n") {
		errs = append(errs, fmt.Sprintf("answer:\n\t%s\nwant:\n\t%s", strings.Join(got, "\n\t"), strings.Join(want, "\n\t")))
	}
	if got, want := rrLines(a.Authority, true), sortedCopy(c.auth); strings.Join(got, "\n") != strings.Join(want, "\n") {
		errs = append(errs, fmt.Sprintf("authority:\n\t%s\nwant:\n\t%s", strings.Join(got, "\n\t"), strings.Join(want, "\n\t")))
	}
	if got, want := rrLines(a.Additional, true), sortedCopy(c.add); strings.Join(got, "\n") != strings.Join(want, "\n") {
		errs = append(errs, fmt.Sprintf("additional:\n\t%s\nwant:\n\t%s", strings.Join(got, "\n\t"), strings.Join(want, "\n\t")))
	}
	if len(errs) > 0 {
		t.Errorf("dig %s:\n%s\n%s", strings.Join(c.q, " "), strings.Join(errs, "\n"), a.Raw)
	}
}
