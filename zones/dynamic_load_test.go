package zones

import (
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/smartdns/smartdns/pool"
	"github.com/smartdns/smartdns/zones/octodns"
	"github.com/smartdns/smartdns/zones/zonefile"
)

const leastLoadedZone = `---
www:
  type: A
  values: [192.0.2.9]
  dynamic:
    pools:
      all:
        values:
          - {value: 192.0.2.1, status: up}
          - {value: 192.0.2.2, status: up}
    rules:
      - pool: all
  octodns:
    smartdns:
      policy: least-loaded
      shed: {high: 0.95, low: 0.7}
      slow_start: 45s
`

// policy least-loaded with its watermarks and slow start.
func TestLeastLoadedSettings(t *testing.T) {
	recs, probs := octodns.Parse("ll.yaml", "example.com.", []byte(leastLoadedZone))
	if probs.HasErrors() {
		t.Fatal(probs)
	}
	z, probs := Compile("example.com.", "ll.yaml", recs, CompileOptions{Nameservers: []string{"ns1.example.com."}})
	if probs.HasErrors() {
		t.Fatal(probs)
	}
	d := z.Node(mustWire(t, "www.example.com.")).Set(dns.TypeA).Dynamic
	if d.Policy != pool.LeastLoaded || d.ShedHigh != 0.95 || d.ShedLow != 0.7 || d.SlowStart != 45*time.Second {
		t.Fatalf("got policy %s shed %g/%g slow_start %v", d.Policy, d.ShedHigh, d.ShedLow, d.SlowStart)
	}
	for _, tc := range []struct{ from, to, want string }{
		{"{high: 0.95, low: 0.7}", "{high: 0.7, low: 0.9}", "ll.yaml:16:30: octodns.smartdns shed low (0.9) must not be above high (0.7)"},
		{"{high: 0.95, low: 0.7}", "{high: 1.5, low: 0.7}", "ll.yaml:16:20: octodns.smartdns shed high must be a number above 0 and at most 1"},
		{"{high: 0.95, low: 0.7}", "{high: 0.95, lo: 0.7}", `ll.yaml:16:26: unknown key "lo" in octodns.smartdns.shed`},
		{"slow_start: 45s", "slow_start: soon", "ll.yaml:17:19: octodns.smartdns slow_start must be a duration"},
	} {
		src := strings.Replace(leastLoadedZone, tc.from, tc.to, 1)
		recs, probs := octodns.Parse("ll.yaml", "example.com.", []byte(src))
		if !probs.HasErrors() {
			_, probs = Compile("example.com.", "ll.yaml", recs, CompileOptions{Nameservers: []string{"ns1.example.com."}})
		}
		if !strings.Contains(probs.Error(), tc.want) {
			t.Errorf("%s: got\n%s\nwant %s", tc.to, probs.Error(), tc.want)
		}
	}
}

func mustWire(t *testing.T, name string) string {
	t.Helper()
	w, err := zonefile.WireName(name)
	if err != nil {
		t.Fatal(err)
	}
	return w
}
