package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// An octoDNS split zone (a folder named after the zone, with its trailing
// dot, holding one YAML file per record) is served as one zone; its
// dynamic records answer per client; a change to one of its files is
// picked up by itself.
func TestSplitZone(t *testing.T) {
	s := Start(t, Options{ZonesFrom: "testdata/split"})
	if strings.Contains(s.Log(), "level=ERROR") {
		t.Fatalf("split zone did not load cleanly:\n%s", s.Log())
	}
	// GB goes to the lax pool (4.4.4.4) by the first rule.
	a := s.Dig("a.dynamic.tests", "A", "+subnet=81.2.69.0/24")
	if got := Datas(a.Answer, "A"); len(got) != 1 || got[0] != "4.4.4.4" || !a.Flags["aa"] {
		t.Fatalf("a.dynamic.tests from GB: %v\n%s", got, a.Raw)
	}
	for _, name := range []string{"aaaa.dynamic.tests AAAA", "cname.dynamic.tests CNAME", "real-ish-a.dynamic.tests A", "simple-weighted.dynamic.tests CNAME"} {
		f := strings.Fields(name)
		if a := s.Dig(f[0], f[1]); a.Status != "NOERROR" || len(a.Answer) == 0 {
			t.Errorf("%s: %s", name, a.Raw)
		}
	}
	// Edit one file of the folder: the zone reloads.
	p := filepath.Join(s.Zones, "dynamic.tests.", "extra.yaml")
	if err := os.WriteFile(p, []byte("---\nextra:\n  type: TXT\n  value: added\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if a := s.Dig("extra.dynamic.tests", "TXT"); len(a.Answer) == 1 {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("a file added to the split zone was not picked up:\n%s", s.Log())
}
