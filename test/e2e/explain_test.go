package e2e

import (
	"regexp"
	"strings"
	"testing"
)

// `smartdns explain` on the dynamic zones of testdata/dynamic with the test
// databases: the rule that matched and why, the pools and their values,
// the answer, the ECS scope and the TTL; and static, missing and unserved
// names. Where the answer is deterministic, the running server is asked
// too, and must agree with explain.
func TestExplain(t *testing.T) {
	s := dynamicServer(t, nil, "")
	cases := []struct {
		why    string
		client string
		name   string
		typ    string
		want   []string // regexps, each matching a line of the output
		dig    string   // when set, what the server answers this client (one value)
	}{
		// country rule: the fourth rule, numbered from 1 as in the zone's
		// problems; the rules before it are shown not matching, the
		// chosen value, the City network's /31 as scope, the default TTL.
		{"country", "81.2.69.142", "geo.example.com", "A", []string{
			`^name: +geo\.example\.com\. A \(zone example\.com\.\)$`,
			`^record: +dynamic A, policy weighted, answers 1, exhausted backup$`,
			`^client: +81\.2\.69\.142/32: EU/GB/ENG \(database network /31\)$`,
			`^rule 1: +203\.0\.113\.0/24, 2001:db8:5::/48 -> pool office +no match`,
			`^rule 4: +EU-GB -> pool gb => client in EU-GB-ENG, which EU-GB covers$`,
			`^rule 5: .*\(not tried\)$`,
			`^pool gb: answered$`,
			`^  192\.0\.2\.14 +weight 1 +status up +up  <- chosen$`,
			`^answer: +192\.0\.2\.14$`,
			`^scope: +/31$`,
			`^ttl: +60$`,
		}, "192.0.2.14"},
		// subnet rule, client given as a prefix: the rule's /24.
		{"subnet", "203.0.113.0/24", "geo.example.com", "A", []string{
			`^rule 1: +203\.0\.113\.0/24, 2001:db8:5::/48 -> pool office => the client 203\.0\.113\.0 is in 203\.0\.113\.0/24$`,
			`^answer: +192\.0\.2\.11$`,
			`^scope: +/24$`,
		}, "192.0.2.11"},
		// ASN rule: the client's AS is shown.
		{"asn", "89.160.20.112", "geo.example.com", "A", []string{
			`^client: +89\.160\.20\.112/32: EU/SE/E \(database network /28\), AS29518$`,
			`^rule 2: +AS29518 -> pool bredband => the client is in AS29518$`,
			`^answer: +192\.0\.2\.12$`,
			`^scope: +/24$`,
		}, "192.0.2.12"},
		// subdivision rule.
		{"subdivision", "216.160.83.56", "geo.example.com", "A", []string{
			`^rule 3: +NA-US-WA, NA-US-CA -> pool west => client in NA-US-WA, which NA-US-WA covers$`,
			`^answer: +192\.0\.2\.13$`,
			`^scope: +/29$`,
		}, "192.0.2.13"},
		// IPv6 client, continent rule.
		{"continent-v6", "2001:218::1", "geo.example.com", "A", []string{
			`^rule 6: +AS -> pool asia => client in AS-JP, which AS covers$`,
			`^answer: +192\.0\.2\.16$`,
			`^scope: +/48$`,
		}, "192.0.2.16"},
		// an IPv4-mapped client is the IPv4 client.
		{"mapped", "::ffff:81.2.69.142", "geo.example.com", "A", []string{
			`^client: +81\.2\.69\.142/32: EU/GB/ENG`,
			`^rule 4: +EU-GB -> pool gb =>`,
			`^answer: +192\.0\.2\.14$`,
		}, ""},
		// the catch-all, for a client no database knows.
		{"catch-all", "127.0.0.1", "geo.example.com", "A", []string{
			`^rule 7: +catch-all -> pool world => the catch-all matches every client$`,
			`^answer: +192\.0\.2\.17$`,
		}, "192.0.2.17"},
		// a chain exhausted: each pool with its down values, the backup
		// answer, the explicit ttl.
		{"chain", "81.2.69.142", "chain.example.com", "A", []string{
			`^pool first: no value up, falling back, fallback second$`,
			`^  192\.0\.2\.24 +weight 1 +status down down$`,
			`^pool second: no value up, falling back, fallback third$`,
			`^pool third: no value up, falling back$`,
			`^answer: +192\.0\.2\.250 192\.0\.2\.251 \(the record's backup values`,
			`^scope: +/0$`,
			`^ttl: +300$`,
		}, ""},
		// fallback to a pool with a value up.
		{"fallback", "81.2.69.142", "fallback.example.com", "A", []string{
			`^pool primary: no value up, falling back, fallback secondary$`,
			`^pool secondary: answered$`,
			`^answer: +192\.0\.2\.23$`,
		}, "192.0.2.23"},
		{"nodata", "81.2.69.142", "nodata.example.com", "A", []string{
			`^record: +dynamic A, policy weighted, answers 1, exhausted nodata$`,
			`^answer: +NODATA`,
		}, ""},
		{"all", "81.2.69.142", "all.example.com", "A", []string{
			`^answer: +192\.0\.2\.31 192\.0\.2\.32 \(every value of the pool, ignoring health; exhausted: all\)$`,
		}, ""},
		{"priority", "81.2.69.142", "priority.example.com", "A", []string{
			`^record: +dynamic A, policy priority,`,
			`^  192\.0\.2\.51 +weight 1 +status down down$`,
			`^  192\.0\.2\.52 +weight 1 +status up +up  <- chosen$`,
			`^  192\.0\.2\.53 +weight 100 status up +up$`,
			`^answer: +192\.0\.2\.52$`,
		}, "192.0.2.52"},
		// sticky: scope /24; the value is the server's for that client
		// (checked against dig below).
		{"sticky", "81.2.69.142", "sticky.example.com", "A", []string{
			`^record: +dynamic A, policy sticky,`,
			`^scope: +/24$`,
		}, "sticky"},
		// closest: Melbourne gets the value located in Sydney.
		{"closest", "214.0.1.1", "closest.example.com", "A", []string{
			`^record: +dynamic A, policy closest,`,
			`^answer: +192\.0\.2\.72$`,
			`^scope: +/24$`,
		}, "192.0.2.72"},
		// a static name: the RRset, scope /0.
		{"static", "81.2.69.142", "www.example.com", "A", []string{
			`^record: +static A, TTL 3600$`,
			`^answer: +www\.example\.com\.\t3600\tIN\tA\t192\.0\.2\.80$`,
			`^scope: +/0 `,
		}, "192.0.2.80"},
		// a name that does not exist.
		{"nxdomain", "81.2.69.142", "nothere.example.com", "A", []string{
			`^answer: +NXDOMAIN`,
		}, ""},
		// the type defaults to A.
		{"default-type", "81.2.69.142", "geo.example.com", "", []string{
			`^name: +geo\.example\.com\. A `,
			`^answer: +192\.0\.2\.14$`,
		}, ""},
	}
	for _, c := range cases {
		t.Run(c.why, func(t *testing.T) {
			args := []string{"explain", "--config", s.Config, "--client", c.client, c.name}
			if c.typ != "" {
				args = append(args, c.typ)
			}
			out, code := runBinary(args...)
			if code != 0 {
				t.Fatalf("exit %d:\n%s", code, out)
			}
			for _, re := range c.want {
				if !regexp.MustCompile(`(?m)` + re).MatchString(out) {
					t.Errorf("no line matches %s in:\n%s", re, out)
				}
			}
			if c.dig == "" {
				return
			}
			subnet := c.client
			if !strings.Contains(subnet, "/") {
				subnet += map[bool]string{true: "/128", false: "/32"}[strings.Contains(subnet, ":")]
			}
			a := s.Dig(query(c.name, "A", subnet)...)
			got := Datas(a.Answer, "A")
			want := c.dig
			if want == "sticky" {
				m := regexp.MustCompile(`(?m)^answer: +(\S+)$`).FindStringSubmatch(out)
				if m == nil {
					t.Fatalf("no answer line:\n%s", out)
				}
				want = m[1]
			}
			if len(got) != 1 || got[0] != want {
				t.Errorf("the server answers %v for %s, explain says %s:\n%s\n%s", got, subnet, want, a.Raw, out)
			}
		})
	}
}

// explain's errors: a name in no zone served, a bad client, bad usage.
func TestExplainErrors(t *testing.T) {
	s := dynamicServer(t, nil, "")
	cases := []struct {
		why  string
		args []string
		code int
		want string
	}{
		{"not-served", []string{"--client", "81.2.69.142", "www.example.org"}, 1, "is in no zone smartdns serves: REFUSED"},
		{"bad-client", []string{"--client", "81.2.69.300", "www.example.com"}, 2, "--client"},
		{"bad-type", []string{"--client", "81.2.69.142", "www.example.com", "NOPE"}, 2, `unknown type "NOPE"`},
		{"no-client", []string{"www.example.com"}, 2, "usage: smartdns explain"},
	}
	for _, c := range cases {
		t.Run(c.why, func(t *testing.T) {
			out, code := runBinary(append([]string{"explain", "--config", s.Config}, c.args...)...)
			if code != c.code || !strings.Contains(out, c.want) {
				t.Errorf("exit %d, want %d with %q:\n%s", code, c.code, c.want, out)
			}
		})
	}
}
