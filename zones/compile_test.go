package zones

import (
	"strings"
	"testing"

	"github.com/miekg/dns"

	"github.com/smartdns/smartdns/zones/masterfile"
	"github.com/smartdns/smartdns/zones/zonefile"
)

var testCompileOpts = CompileOptions{Nameservers: []string{"ns1.example.com."}}

func compileMaster(t *testing.T, zone string) (*Zone, []string) {
	t.Helper()
	recs, probs := masterfile.Parse("t.zone", "example.com.", []byte("$TTL 60\n"+zone))
	if probs.HasErrors() {
		t.Fatalf("reader: %v", probs)
	}
	z, cprobs := Compile("example.com.", "t.zone", recs, testCompileOpts)
	var errs []string
	for _, p := range cprobs.Errors() {
		errs = append(errs, p.Error())
	}
	return z, errs
}

// TestCompileRefusesMalformed: rdata its RFC calls malformed, and data
// that belongs to the parent, are refused by `check` (the compiler, so
// that octoDNS YAML gets the same checks), each at its record.
func TestCompileRefusesMalformed(t *testing.T) {
	tests := []struct{ zone, want string }{
		{"@ DS 60485 5 1 2BB183AF5F22588179A53B0A98631FAD1A292118\n",
			"t.zone:2:1: DS at the zone apex example.com.: a DS belongs in the parent zone, at the delegation (RFC 4035 §2.4)"},
		{"s SSHFP 1 1 0123456789abcdef0123456789abcdef\n",
			"t.zone:2:1: s.example.com. SSHFP: fingerprint type 1 needs 20 bytes, got 16 (RFC 4255 §3.1, RFC 6594 §3)"},
		{"s SSHFP 4 2 0123456789abcdef0123456789abcdef01234567\n",
			"t.zone:2:1: s.example.com. SSHFP: fingerprint type 2 needs 32 bytes, got 20 (RFC 4255 §3.1, RFC 6594 §3)"},
		{"sub NS ns.sub\nsub DS 1 8 2 0123456789abcdef0123456789abcdef01234567\n",
			"t.zone:3:1: sub.example.com. DS: digest type 2 needs 32 bytes, got 20 (RFC 4034 §5.1.4, RFC 4509, RFC 6605)"},
		{"sub NS ns.sub\nsub DS 1 8 4 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n",
			"t.zone:3:1: sub.example.com. DS: digest type 4 needs 48 bytes, got 32 (RFC 4034 §5.1.4, RFC 4509, RFC 6605)"},
		{"_443._tcp TLSA 3 1 1 0123456789abcdef\n",
			"t.zone:2:1: _443._tcp.example.com. TLSA: matching type 1 needs 32 bytes, got 8 (RFC 6698 §2.1.3)"},
		{"_443._tcp TLSA 3 1 2 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n",
			"t.zone:2:1: _443._tcp.example.com. TLSA: matching type 2 needs 64 bytes, got 32 (RFC 6698 §2.1.3)"},
		{"c CAA 0 is-sue \"ca.example.net\"\n",
			`t.zone:2:1: c.example.com. CAA: tag "is-sue" may hold only letters and digits (RFC 8659 §4.1)`},
	}
	for _, tt := range tests {
		z, errs := compileMaster(t, tt.zone)
		if z != nil || strings.Join(errs, "\n") != tt.want {
			t.Errorf("%q:\n got %q\nwant %q", tt.zone, errs, tt.want)
		}
	}
	// What is well formed loads: unknown fingerprint and matching types
	// take any length, DS below the apex is where it belongs.
	z, errs := compileMaster(t, `s SSHFP 1 1 0123456789abcdef0123456789abcdef01234567
s SSHFP 9 9 01
sub NS ns.sub
sub DS 1 8 2 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
_443._tcp TLSA 3 1 0 0123
c CAA 0 issue "ca.example.net"
`)
	if z == nil {
		t.Errorf("well-formed rdata refused: %v", errs)
	}
}

// TestCompileOctoDNSApexDS: the checks hold for records the octoDNS
// reader builds too (it gives no line; the master-file reader refuses an
// empty CAA tag itself).
func TestCompileOctoDNSApexDS(t *testing.T) {
	caa := []zonefile.Record{{Name: "c.example.com.", Type: dns.TypeCAA, TTL: 60, RRs: []dns.RR{
		&dns.CAA{Hdr: dns.RR_Header{Name: "c.example.com.", Rrtype: dns.TypeCAA, Class: dns.ClassINET, Ttl: 60}, Tag: "", Value: "ca.example.net"},
	}}}
	if z, probs := Compile("example.com.", "t.yaml", caa, testCompileOpts); z != nil || len(probs.Errors()) != 1 || probs.Errors()[0].Msg != "c.example.com. CAA: the tag is empty (RFC 8659 §4.1)" {
		t.Errorf("empty CAA tag: %v", probs)
	}
	recs := []zonefile.Record{{Name: "example.com.", Type: dns.TypeDS, TTL: 60, RRs: []dns.RR{
		&dns.DS{Hdr: dns.RR_Header{Name: "example.com.", Rrtype: dns.TypeDS, Class: dns.ClassINET, Ttl: 60}, KeyTag: 1, Algorithm: 8, DigestType: 2, Digest: strings.Repeat("ab", 32)},
	}}}
	if z, probs := Compile("example.com.", "t.yaml", recs, testCompileOpts); z != nil || len(probs.Errors()) != 1 || !strings.Contains(probs.Errors()[0].Msg, "DS at the zone apex") {
		t.Errorf("apex DS: %v", probs)
	}
}

// TestCompileKeepsRdataCase: names in rdata are served as written (RFC
// 4343 §4.1) while lookups through them ignore case, and RRs differing
// only in a name's case are one RR.
func TestCompileKeepsRdataCase(t *testing.T) {
	z, errs := compileMaster(t, `@ MX 10 MaiL
MaiL A 192.0.2.1
www CNAME WwW2.Example.COM.
www2 A 192.0.2.2
sub NS NS.Sub
NS.sub A 192.0.2.3
`)
	if z == nil {
		t.Fatal(errs)
	}
	mx := z.Node(z.Apex).Set(dns.TypeMX)
	if mx == nil || !strings.Contains(string(mx.Data[0]), "MaiL") {
		t.Fatalf("MX rdata %q lost its case", mx.Data)
	}
	if len(mx.Extra) != 1 || len(mx.Extra[0].Sets) != 1 {
		t.Errorf("MX target MaiL found no A for the additional section: %+v", mx.Extra)
	}
	ns := z.Node(mustWire(t, "sub.example.com.")).Set(dns.TypeNS)
	if ns == nil || !strings.Contains(string(ns.Data[0]), "NS\x03Sub") || len(ns.Extra) != 1 || !ns.Extra[0].Glue {
		t.Errorf("NS rdata %q, glue %+v", ns.Data, ns.Extra)
	}
	snap := NewSnapshot(1, []*Zone{z})
	set, ok := snap.ResolveAddrs(mustWire(t, "www.example.com."), dns.TypeA)
	if !ok || set == nil {
		t.Errorf("CNAME to WwW2.Example.COM. does not resolve")
	}

	// Equal but for case: one RR, the first; the hash sees the case.
	mk := func(target string) []zonefile.Record {
		var rrs []dns.RR
		for _, tg := range strings.Split(target, " ") {
			rrs = append(rrs, &dns.MX{Hdr: dns.RR_Header{Name: "example.com.", Rrtype: dns.TypeMX, Class: dns.ClassINET, Ttl: 60}, Preference: 10, Mx: tg})
		}
		return []zonefile.Record{{Name: "example.com.", Type: dns.TypeMX, TTL: 60, RRs: rrs}}
	}
	z1, _ := Compile("example.com.", "t", mk("MaiL.x. mail.x."), testCompileOpts)
	if d := z1.Node(z1.Apex).Set(dns.TypeMX).Data; len(d) != 1 || !strings.Contains(string(d[0]), "MaiL") {
		t.Errorf("MaiL.x. and mail.x.: %q, want the first only", d)
	}
	z2, _ := Compile("example.com.", "t", mk("mail.x."), testCompileOpts)
	if z1.Hash == z2.Hash {
		t.Error("the content hash does not see the case of rdata names")
	}
}
