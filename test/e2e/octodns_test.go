package e2e

import (
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// octoDNS's own fixtures load unchanged and answer: every type with a wire
// form, TXT with `\;`, the nested delegation, records with `dynamic:`
// loading (their answers are tested in dynamic_test.go), and the apex ALIAS.
func TestOctoDNSFixtures(t *testing.T) {
	files := map[string]string{}
	for _, f := range []string{"unit.tests.yaml", "subzone.unit.tests.yaml", "dynamic.tests.yaml"} {
		files[f] = readFile(t, filepath.Join("testdata", "octodns", f))
	}
	// An apex ALIAS whose target is in a served zone.
	files["alias.tests.yaml"] = "---\n'':\n  - type: ALIAS\n    value: www.target.tests.\n  - type: TXT\n    value: apex\n"
	files["target.tests.yaml"] = "---\nwww:\n  - type: A\n    values: [192.0.2.7, 192.0.2.8]\n  - type: AAAA\n    value: 2001:db8::7\n"
	s := Start(t, Options{Files: files})
	if strings.Contains(s.Log(), "level=ERROR") {
		t.Fatalf("fixtures did not load cleanly:\n%s", s.Log())
	}
	for _, tc := range []struct {
		q, typ string
		want   []string // sorted RDATA of the answer section for that type
	}{
		{"unit.tests", "A", []string{"1.2.3.4", "1.2.3.5"}},
		{"aaaa.unit.tests", "AAAA", []string{"2601:644:500:e210:62f8:1dff:feb8:947a"}},
		{"unit.tests", "CAA", []string{`0 issue "ca.unit.tests"`}},
		{"cname.unit.tests", "CNAME", []string{"unit.tests."}},
		{"mx.unit.tests", "MX", []string{"10 smtp-4.unit.tests.", "20 smtp-2.unit.tests.", "30 smtp-3.unit.tests.", "40 smtp-1.unit.tests."}},
		{"_srv._tcp.unit.tests", "SRV", []string{"10 20 30 foo-1.unit.tests.", "12 20 30 foo-2.unit.tests."}},
		{"ptr.unit.tests", "PTR", []string{"foo.bar.com."}},
		{"spf.unit.tests", "SPF", []string{`"v=spf1 ip4:192.168.0.1/16-all"`}},
		{"naptr.unit.tests", "NAPTR", []string{`10 100 "S" "SIP+D2U" "!^.*$!sip:info@bar.example.com!" .`, `100 100 "U" "SIP+D2U" "!^.*$!sip:info@bar.example.com!" .`}},
		{"dname.unit.tests", "DNAME", []string{"unit.tests."}},
		{"test.subzone.unit.tests", "A", []string{"4.4.4.4"}},
		{"12.subzone.unit.tests", "A", []string{"12.4.4.4"}},
		{"alias.tests", "A", []string{"192.0.2.7", "192.0.2.8"}},
		{"alias.tests", "AAAA", []string{"2001:db8::7"}},
		{"alias.tests", "TXT", []string{`"apex"`}},
	} {
		a := s.Dig(tc.q, tc.typ)
		got := Datas(a.Answer, tc.typ)
		sort.Strings(got)
		if a.Status != "NOERROR" || !a.Flags["aa"] || strings.Join(got, "|") != strings.Join(tc.want, "|") {
			t.Errorf("%s %s: got %q, want %q\n%s", tc.q, tc.typ, got, tc.want, a.Raw)
		}
	}
	// TXT keeps `\;` as a literal semicolon.
	a := s.Dig("txt.unit.tests", "TXT")
	if !strings.Contains(strings.Join(Datas(a.Answer, "TXT"), " "), `"v=DKIM1;k=rsa;s=email;h=sha256;p=A/kinda+of/long/string+with+numb3rs"`) {
		t.Errorf("TXT with \\; not served as written:\n%s", a.Raw)
	}
	// The ALIAS owner is the apex, not the target.
	a = s.Dig("alias.tests", "A")
	for _, rr := range a.Answer {
		if rr.Name != "alias.tests." {
			t.Errorf("ALIAS answer owned by %s, want alias.tests.", rr.Name)
		}
	}
	// The delegated subzone is served by the child zone, not as a referral.
	if a := s.Dig("subzone.unit.tests", "NS"); !a.Flags["aa"] {
		t.Errorf("subzone.unit.tests NS should come from the served child zone:\n%s", a.Raw)
	}
}

// An ALIAS whose target is not in a served zone is a check error, and the
// zone is not served.
func TestAliasOutsideServedZones(t *testing.T) {
	s := Start(t, Options{Files: map[string]string{
		"alias.tests.yaml": "---\n'':\n  type: ALIAS\n  value: www.elsewhere.example.\n",
	}})
	if a := s.Dig("alias.tests", "A"); a.Status != "REFUSED" {
		t.Errorf("zone with an unanswerable ALIAS served:\n%s", a.Raw)
	}
	out := checkOutput(t, s)
	if !strings.Contains(out, "alias.tests.yaml:") || !strings.Contains(out, "ALIAS target www.elsewhere.example.") {
		t.Errorf("check does not report the ALIAS:\n%s", out)
	}
}

func checkOutput(t *testing.T, s *Server) string {
	t.Helper()
	out, _ := runBinary("check", "--config", s.Config)
	return out
}
