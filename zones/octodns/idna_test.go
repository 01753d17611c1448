package octodns

import (
	"strings"
	"testing"
)

// The xn-- forms below are those Python's idna package (which octoDNS's
// idna_encode uses) gives for the same labels.
func TestPunycode(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"bücher", "bcher-kva"},
		{"münchen", "mnchen-3ya"},
		{"ñandú", "and-6ma2c"},
		{"例え", "r8jz45g"},
		{"ü-x", "-x-wka"},
	} {
		if got := punycode([]rune(tc.in)); got != tc.want {
			t.Errorf("punycode(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// UTF-8 names load as octoDNS 1.x loads them: lower cased and converted
// label by label to their xn-- form, in record names and in names inside
// values. (Seen in DNS-as-code repositories of IDN domains, where octoDNS's
// own YamlProvider writes record names in UTF-8.)
func TestOctoDNSInternationalizedNames(t *testing.T) {
	for _, tc := range []struct {
		name, zone string
		want       []string // lines of the dump, in order
	}{
		{
			name: "record name",
			zone: "bücher:\n  type: A\n  value: 192.0.2.1\n",
			want: []string{"xn--bcher-kva.example.com.\t3600\tIN\tA\t192.0.2.1"},
		},
		{
			name: "mixed labels, upper case",
			zone: "_dmarc.BÜCHER:\n  type: TXT\n  value: v=DMARC1\\; p=none\n",
			want: []string{"_dmarc.xn--bcher-kva.example.com.\t3600\tIN\tTXT\t\"v=DMARC1; p=none\""},
		},
		{
			name: "CNAME target",
			zone: "www:\n  type: CNAME\n  value: www.München.example.\n",
			want: []string{"www.example.com.\t3600\tIN\tCNAME\twww.xn--mnchen-3ya.example."},
		},
		{
			name: "ASCII target keeps its case",
			zone: "www:\n  type: CNAME\n  value: WWW.Example.NET.\n",
			want: []string{"www.example.com.\t3600\tIN\tCNAME\tWWW.Example.NET."},
		},
		{
			name: "MX, SRV, NS, PTR",
			zone: "'':\n  - type: MX\n    value: {exchange: mx.bücher.example., preference: 10}\n  - type: NS\n    value: ns.bücher.example.\n" +
				"_sip._tcp:\n  type: SRV\n  value: {priority: 1, weight: 2, port: 5060, target: sip.bücher.example.}\nptr:\n  type: PTR\n  value: h.例え.example.\n",
			want: []string{
				"example.com.\t3600\tIN\tMX\t10 mx.xn--bcher-kva.example.",
				"example.com.\t3600\tIN\tNS\tns.xn--bcher-kva.example.",
				"_sip._tcp.example.com.\t3600\tIN\tSRV\t1 2 5060 sip.xn--bcher-kva.example.",
				"ptr.example.com.\t3600\tIN\tPTR\th.xn--r8jz45g.example.",
			},
		},
		{
			name: "ALIAS target",
			zone: "'':\n  type: ALIAS\n  value: lb.bücher.example.\n",
			want: []string{"example.com.\t3600\tIN\tALIAS\tlb.xn--bcher-kva.example."},
		},
		{
			name: "UTF-8 and xn-- spellings of one name are one name",
			zone: "bücher:\n  type: A\n  value: 192.0.2.1\nxn--bcher-kva:\n  type: AAAA\n  value: 2001:db8::1\n",
			want: []string{
				"xn--bcher-kva.example.com.\t3600\tIN\tA\t192.0.2.1",
				`t.yaml:4:1: duplicate name "xn--bcher-kva" (first at line 1)`,
			},
		},
		{
			name: "symbol refused",
			zone: "a☃b:\n  type: A\n  value: 192.0.2.1\n",
			want: []string{`t.yaml:1:1: invalid name "a☃b": has label "a☃b", which is not a valid internationalized label: U+2603 '☃' is not allowed in names (only letters, marks, digits and hyphens)`},
		},
		{
			name: "leading combining mark refused",
			zone: "www:\n  type: CNAME\n  value: \"\\u0301x.example.\"\n",
			want: []string{`t.yaml:3:10: CNAME value: "́x.example." has label "́x", which is not a valid internationalized label: it starts with the combining mark U+0301`},
		},
		{
			name: "hyphens in 3rd and 4th position refused",
			zone: "üb--x:\n  type: A\n  value: 192.0.2.1\n",
			want: []string{`t.yaml:1:1: invalid name "üb--x": has label "üb--x", which is not a valid internationalized label: it has hyphens in the 3rd and 4th position`},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			recs, probs := Parse("t.yaml", "example.com.", []byte(tc.zone))
			got := strings.TrimSuffix(dump(recs, probs), "\n")
			if want := strings.Join(tc.want, "\n"); got != want {
				t.Errorf("got\n%s\nwant\n%s", got, want)
			}
		})
	}
}
