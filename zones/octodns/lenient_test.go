package octodns

import (
	"strings"
	"testing"
)

// A record with octodns: {lenient: true} loads in octoDNS despite an
// unescaped ";" in a TXT or SPF value (with a warning), and its providers
// send the ";" as written. (Seen in the test zones of octoDNS providers:
// DKIM values "v=DKIM1;k=rsa;..." written with unescaped semicolons.)
func TestOctoDNSLenientSemicolons(t *testing.T) {
	for _, tc := range []struct {
		name, zone string
		want       []string
	}{
		{
			name: "lenient TXT",
			zone: "dkim:\n  type: TXT\n  value: v=DKIM1;k=rsa\n  octodns:\n    lenient: true\n",
			want: []string{
				"dkim.example.com.\t3600\tIN\tTXT\t\"v=DKIM1;k=rsa\"",
				`t.yaml:3:10: warning: TXT value: unescaped ";" in "v=DKIM1;k=rsa" read as a literal ";" (the record is lenient); write "\;"`,
			},
		},
		{
			name: "lenient SPF, escaped and unescaped",
			zone: "'':\n  type: SPF\n  values: ['v=spf1 a\\; b', v=spf1;x]\n  octodns: {lenient: yes, cloudflare: {proxied: false}}\n",
			want: []string{
				"example.com.\t3600\tIN\tSPF\t\"v=spf1 a; b\"",
				"example.com.\t3600\tIN\tSPF\t\"v=spf1;x\"",
				`t.yaml:3:28: warning: SPF value: unescaped ";" in "v=spf1;x" read as a literal ";" (the record is lenient); write "\;"`,
			},
		},
		{
			name: "lenient false",
			zone: "dkim:\n  type: TXT\n  value: v=DKIM1;k=rsa\n  octodns: {lenient: false}\n",
			want: []string{`t.yaml:3:10: TXT value: unescaped ";" in "v=DKIM1;k=rsa"; octoDNS needs "\;" (or octodns: {lenient: true} on the record)`},
		},
		{
			name: "lenient not a boolean",
			zone: "dkim:\n  type: TXT\n  value: v=DKIM1\n  octodns: {lenient: maybe}\n",
			want: []string{
				"dkim.example.com.\t3600\tIN\tTXT\t\"v=DKIM1\"",
				`t.yaml:4:22: octodns "lenient" must be true or false, got "maybe"`,
			},
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
