package octodns

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/miekg/dns"

	"github.com/smartdns/smartdns/zones/zonefile"
)

// FuzzParseOctoDNS feeds arbitrary bytes to the octoDNS reader. It must
// never panic, and whatever it accepts must be servable: every RR packs,
// and carries the header of its record.
func FuzzParseOctoDNS(f *testing.F) {
	for _, pat := range []string{"*.yaml", "*/*.yaml", "*/*/*.yaml"} {
		files, _ := filepath.Glob(filepath.Join("testdata", "octodns", pat))
		for _, file := range files {
			if data, err := os.ReadFile(file); err == nil {
				f.Add(data)
			}
		}
	}
	for _, s := range []string{
		"",
		"? ''\n: - type: A\n    value: 1.2.3.4\n",
		"a: &x {type: A, value: 1.2.3.4}\nb: *x\nc:\n  <<: *x\n  ttl: 5\n",
		"t:\n  type: TXT\n  value: 'a\\;b\\\\c\"d'\n",
		"h:\n  type: HTTPS\n  value: {svcpriority: 1, targetname: ., svcparams: {alpn: [h2], key65000: x, mandatory: [alpn]}}\n",
		"x: !include testdata/octodns/include/apex-values.yaml\n",
		"l:\n  type: LOC\n  value: {lat_degrees: 1, lat_minutes: 2, lat_seconds: 3, lat_direction: N, long_degrees: 4, long_minutes: 5, long_seconds: 6, long_direction: W, altitude: 7, size: 8, precision_horz: 9, precision_vert: 10}\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		recs, probs := Parse("fuzz.yaml", "example.com.", data)
		for _, p := range probs {
			if p.Pos.File == "" || p.Msg == "" {
				t.Fatalf("problem without file or message: %#v", p)
			}
		}
		_ = probs.Error()
		for _, r := range recs {
			if !strings.HasSuffix(r.Name, "example.com.") || r.Name != strings.ToLower(r.Name) {
				t.Fatalf("record name %q", r.Name)
			}
			if r.Type == zonefile.TypeALIAS {
				if r.Target == "" || len(r.RRs) != 0 {
					t.Fatalf("bad ALIAS %+v", r)
				}
				continue
			}
			if len(r.RRs) == 0 {
				t.Fatalf("record %s %d without RRs", r.Name, r.Type)
			}
			for _, rr := range r.RRs {
				h := rr.Header()
				if h.Name != r.Name || h.Rrtype != r.Type || h.Class != dns.ClassINET || h.Ttl != r.TTL {
					t.Fatalf("header %v does not match record %s", h, r.Name)
				}
				buf := make([]byte, dns.Len(rr)+64)
				if _, err := dns.PackRR(rr, buf, 0, nil, false); err != nil {
					t.Fatalf("accepted RR does not pack: %s: %v", rr, err)
				}
				_ = rr.String()
			}
		}
	})
}
