package zones

import (
	"fmt"
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

// TestCompileChecksAsNamedCheckzone: what BIND's checkzone test zones
// refuse beyond syntax (bad-ds-2, bad-cds, bad-cdnskey, bad-svcb-*,
// bad-_dns-svcb*, bad-nsec3-*) is refused here too, each at its record;
// the well-formed forms load.
func TestCompileChecksAsNamedCheckzone(t *testing.T) {
	key := &dns.DNSKEY{Hdr: dns.RR_Header{Name: "example.com.", Rrtype: dns.TypeDNSKEY, Class: dns.ClassINET}, Flags: 257, Protocol: 3, Algorithm: dns.ECDSAP256SHA256,
		PublicKey: "mdsswUyr3DPW132mOi8V9xESWE8jTo0dxCjjnopKl+GqJxpVXckHAeF+KkxLbxILfDLUT0rAK9iUzy1L53eKGQ=="}
	ds := key.ToDS(dns.SHA256)
	keyLine := "@ DNSKEY " + strings.TrimPrefix(key.String(), key.Hdr.String()) + "\n"
	tests := []struct{ zone, want string }{
		{"foo DS 1 8 2 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n",
			"t.zone:2:1: foo.example.com.: a DS without NS records: a DS belongs at a delegation (RFC 4035 §2.4)"},
		{keyLine + fmt.Sprintf("@ CDS %d 13 2 %s\n", ds.KeyTag+1, ds.Digest),
			fmt.Sprintf("t.zone:3:1: example.com. CDS: %d 13 2 matches no DNSKEY of the zone (RFC 7344 §4.1)", ds.KeyTag+1)},
		{keyLine + "@ CDNSKEY 257 3 13 " + strings.Replace(key.PublicKey, "md", "MD", 1) + "\n",
			"t.zone:3:1: example.com. CDNSKEY: 257 3 13 (key tag 40866) matches no DNSKEY of the zone (RFC 7344 §4.1)"},
		{"s SVCB 0 . mandatory=alpn\n",
			"t.zone:2:1: s.example.com. SVCB: SvcParams in AliasMode (priority 0) are not allowed (RFC 9460 §2.4.2)"},
		{"s HTTPS 1 . mandatory=port alpn=h2\n",
			"t.zone:2:1: s.example.com. HTTPS: mandatory lists port, which the record does not set (RFC 9460 §8)"},
		{"_dns SVCB 1 ns dohpath=/{?dns}\n",
			"t.zone:2:1: _dns.example.com. SVCB: an SVCB record for a DNS server needs an alpn (RFC 9461 §4.1)"},
		{"_443._dns SVCB 1 ns alpn=h2\n",
			"t.zone:2:1: _443._dns.example.com. SVCB: alpn h2 is DNS over HTTPS, which needs a dohpath (RFC 9461 §5)"},
		{"CPNMU=== NSEC3 1 1 12 aabbccdd CPNMU A\n",
			`t.zone:2:1: cpnmu===.example.com. NSEC3: owner label "cpnmu===" is not a hash in base32hex without padding (RFC 5155 §3.3)`},
		{"I7A7A184GGMI35K1E3IR650LKO7NOB5R NSEC3 1 0 10 76931F IMQ912BREQP1POLAH3RMONG A RRSIG\n",
			"t.zone:2:1: i7a7a184ggmi35k1e3ir650lko7nob5r.example.com. NSEC3: the next hashed owner is 14 bytes, the owner's hash 20 (RFC 5155 §3.3)"},
	}
	for _, tt := range tests {
		z, errs := compileMaster(t, tt.zone)
		if z != nil || strings.Join(errs, "\n") != tt.want {
			t.Errorf("%q:\n got %q\nwant %q", tt.zone, errs, tt.want)
		}
	}
	z, errs := compileMaster(t, keyLine+fmt.Sprintf("@ CDS %d 13 2 %s\n", ds.KeyTag, ds.Digest)+
		"@ CDNSKEY "+strings.TrimPrefix(key.String(), key.Hdr.String())+"\n"+
		`sub NS ns.sub
sub DS 1 8 2 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
s SVCB 0 svc.example.net.
_dns SVCB 1 ns alpn=h2,dot dohpath=/dns-query{?dns}
_853._dns SVCB 1 ns alpn=dot
I7A7A184GGMI35K1E3IR650LKO7NOB5R NSEC3 1 0 10 76931F I7A7A184GGMI35K1E3IR650LKO7NOB5S A RRSIG
`)
	if z == nil {
		t.Errorf("well-formed DNSSEC and SVCB data refused: %v", errs)
	}
	// CDS and CDNSKEY in a file without keys speak of a signer's keys,
	// and the delete forms (RFC 8078 §4) match nothing by design.
	if z, errs := compileMaster(t, "@ CDS 1 13 2 "+ds.Digest+"\n@ CDNSKEY 0 3 0 AA==\n"); z == nil {
		t.Errorf("CDS without DNSKEY refused: %v", errs)
	}
	if z, errs := compileMaster(t, keyLine+"@ CDS 0 0 0 00\n"); z == nil {
		t.Errorf("the CDS delete form refused: %v", errs)
	}
}
