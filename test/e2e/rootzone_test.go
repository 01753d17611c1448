package e2e

import (
	"strings"
	"testing"
)

// The root zone, from a file named ".zone" in the zones folder, is served
// (a delegation to a TLD with glue), and `smartdns check` names the entries
// of the folder it skips, with the reason.
func TestRootZone(t *testing.T) {
	s := Start(t, Options{Files: map[string]string{
		".zone": `$TTL 86400
.	IN SOA a.root-servers.test. nstld.example. 2026120800 1800 900 604800 86400
.	IN NS a.root-servers.test.
a.root-servers.test.	IN A 127.0.0.4
example.	172800 IN NS ns1.example.
ns1.example.	172800 IN A 127.0.0.53
`,
		"README.md": "the zones of this server\n",
	}})
	soa := s.Dig(".", "SOA")
	if soa.Status != "NOERROR" || !soa.Flags["aa"] || len(soa.Answer) != 1 || soa.Answer[0].Type != "SOA" {
		t.Fatalf("root SOA: %+v", soa)
	}
	ref := s.Dig("www.example.", "A")
	if ref.Status != "NOERROR" || ref.Flags["aa"] || len(ref.Authority) != 1 || ref.Authority[0].Data != "ns1.example." {
		t.Fatalf("referral from the root: %+v", ref)
	}
	if got := Datas(ref.Additional, "A"); len(got) != 1 || got[0] != "127.0.0.53" {
		t.Errorf("glue %v", got)
	}
	out, code := runBinary("check", "--config", s.Config)
	if code != 0 || !strings.Contains(out, "ok: 1 zone(s)") {
		t.Fatalf("check (exit %d):\n%s", code, out)
	}
	if !strings.Contains(out, "README.md: skipped: not a zone file") {
		t.Errorf("check does not name the skipped README.md:\n%s", out)
	}
}
