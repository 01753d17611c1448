package e2e

import "testing"

// TestSmoke: the binary starts, answers an A query over UDP and TCP with AA,
// and keeps the client's case in the answer's owner.
func TestSmoke(t *testing.T) {
	s := Start(t, Options{Files: map[string]string{"example.com.zone": `$ORIGIN example.com.
@ 3600 IN SOA ns1 hostmaster 1 7200 3600 1209600 300
@ NS ns1
ns1 A 192.0.2.1
www A 192.0.2.10
`}})
	for _, tr := range []string{"+notcp", "+tcp"} {
		a := s.Dig("WwW.ExAmple.com", "A", tr)
		if a.Status != "NOERROR" || !a.Flags["aa"] || len(a.Answer) != 1 {
			t.Fatalf("%s: %s", tr, a.Raw)
		}
		if a.Answer[0].Name != "WwW.ExAmple.com." || a.Answer[0].Data != "192.0.2.10" {
			t.Errorf("%s: answer %v", tr, a.Answer[0])
		}
	}
}
