package e2e

import (
	"fmt"
	"net"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	mdns "github.com/miekg/dns"
)

// Dynamic records (octoDNS `dynamic:` with smartdns's extensions) answered
// per client, end to end: the zones are testdata/dynamic/zones, the GeoIP
// data MaxMind's test databases copied into testdata/dynamic (never read
// from anywhere else at run time). Client addresses are sent as EDNS Client
// Subnet with dig's +subnet; without one the client is 127.0.0.1, which no
// database knows.

// dynamicData is the folder of this file's zones and databases.
const dynamicData = "testdata/dynamic"

// geoipConfig is the `geoip:` config of the MaxMind test City and ASN
// databases, by absolute path.
func geoipConfig(t testing.TB) string {
	t.Helper()
	city, err := filepath.Abs(filepath.Join(dynamicData, "GeoIP2-City-Test.mmdb"))
	if err != nil {
		t.Fatal(err)
	}
	asn, err := filepath.Abs(filepath.Join(dynamicData, "GeoLite2-ASN-Test.mmdb"))
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("geoip:\n  city: %q\n  asn: %q\n", city, asn)
}

// dynamicServer serves testdata/dynamic/zones (plus files) with the test
// databases and extra config, and checks that everything loaded cleanly.
func dynamicServer(t testing.TB, files map[string]string, extra string) *Server {
	t.Helper()
	s := Start(t, Options{ZonesFrom: filepath.Join(dynamicData, "zones"), Files: files, Extra: geoipConfig(t) + extra})
	if log := s.Log(); strings.Contains(log, "level=ERROR") || strings.Contains(log, "level=WARN") {
		t.Fatalf("the dynamic zones did not load cleanly:\n%s", log)
	}
	return s
}

// digEach sends the queries with one dig process (far faster than one dig
// per query) and returns their answers in order. Each query is dig's
// arguments for it: name, type and per-query options such as +subnet=.
func digEach(t testing.TB, s *Server, queries ...[]string) []*Answer {
	t.Helper()
	var args []string
	for _, q := range queries {
		args = append(args, q...)
	}
	raw := s.Dig(args...).Raw
	parts := strings.Split(raw, ";; Got answer:")[1:]
	if len(parts) != len(queries) {
		t.Fatalf("%d queries, %d answers:\n%s", len(queries), len(parts), raw)
	}
	out := make([]*Answer, len(parts))
	for i, p := range parts {
		a, err := ParseDig(p)
		if err != nil {
			t.Fatalf("answer %d: %v\n%s", i+1, err, p)
		}
		out[i] = a
	}
	return out
}

// query is one dig query's arguments: +subnet=subnet unless it is "".
func query(name, typ, subnet string) []string {
	q := []string{name, typ}
	if subnet != "" {
		q = append(q, "+subnet="+subnet)
	}
	return q
}

// repeat is n copies of q.
func repeat(n int, q []string) [][]string {
	out := make([][]string, n)
	for i := range out {
		out[i] = q
	}
	return out
}

// sortedData is the sorted RDATA of the answer section's records of typ.
func sortedData(a *Answer, typ string) []string {
	d := Datas(a.Answer, typ)
	slices.Sort(d)
	return d
}

// Each kind of rule picks its pool, for IPv4 and IPv6 clients, and the
// answer carries the ECS option back with the widest scope over which it
// holds: the GeoIP network's prefix for a geo decision (widened by the
// subnet rule tried before it, 203.0.113.0/24 or 2001:db8:5::/48 in the
// client's family), the rule's prefix for a subnet decision, 0 for a
// static name.
func TestDynamicRules(t *testing.T) {
	s := dynamicServer(t, nil, "")
	cases := []struct {
		why    string // what the row verifies
		q, typ string
		subnet string   // the client subnet sent; "" for none (client 127.0.0.1)
		want   []string // the answer's RDATA, sorted
		ecs    string   // the CLIENT-SUBNET dig prints; "" for no option
	}{
		// subnet rule, IPv4: the decision holds over the rule's /24.
		{"subnet-v4", "geo.example.com", "A", "203.0.113.9/32", []string{"192.0.2.11"}, "203.0.113.9/32/24"},
		// subnet rule, IPv6: the rule's /48.
		{"subnet-v6", "geo.example.com", "A", "2001:db8:5::1/128", []string{"192.0.2.11"}, "2001:db8:5::1/128/48"},
		// ASN rule: 89.160.20.112 is AS29518 (in the ASN database's
		// 89.160.0.0/17), in Sweden; scope max(/24 of the subnet rule, /17).
		{"asn", "geo.example.com", "A", "89.160.20.112/32", []string{"192.0.2.12"}, "89.160.20.112/32/24"},
		// subdivision rule NA-US-WA: Milton, WA, City network /29.
		{"subdivision-v4", "geo.example.com", "A", "216.160.83.56/32", []string{"192.0.2.13"}, "216.160.83.56/32/29"},
		// subdivision rule NA-US-CA, IPv6 client: San Diego, network /48.
		{"subdivision-v6", "geo.example.com", "A", "2001:480:10::1/128", []string{"192.0.2.13"}, "2001:480:10::1/128/48"},
		// country rule EU-GB: London, network /31.
		{"country-v4", "geo.example.com", "A", "81.2.69.142/32", []string{"192.0.2.14"}, "81.2.69.142/32/31"},
		// country rule EU-GB, IPv6 client (network /29, the subnet rule's
		// /48 is wider).
		{"country-v6", "geo.example.com", "A", "2a02:d3c0::1/128", []string{"192.0.2.14"}, "2a02:d3c0::1/128/48"},
		// IPv4-mapped IPv6 ECS is the IPv4 client; the scope is said in the
		// option's family (/31 + 96).
		{"mapped", "geo.example.com", "A", "::ffff:81.2.69.142/128", []string{"192.0.2.14"}, "::ffff:81.2.69.142/128/127"},
		// continent rule EU: 2.3.3.1 is known only by its continent (/24).
		{"continent-v4", "geo.example.com", "A", "2.3.3.1/32", []string{"192.0.2.15"}, "2.3.3.1/32/24"},
		// continent rule EU, IPv6 client in Gibraltar.
		{"continent-v6", "geo.example.com", "A", "2a02:ffc0::1/128", []string{"192.0.2.15"}, "2a02:ffc0::1/128/48"},
		// continent rule AS: China, network /24.
		{"continent-as-v4", "geo.example.com", "A", "175.16.199.1/32", []string{"192.0.2.16"}, "175.16.199.1/32/24"},
		// a /24 client subnet is located by its network address.
		{"source-24", "geo.example.com", "A", "175.16.199.0/24", []string{"192.0.2.16"}, "175.16.199.0/24/24"},
		// continent rule AS, IPv6 client in Japan (network /32).
		{"continent-as-v6", "geo.example.com", "A", "2001:218::1/128", []string{"192.0.2.16"}, "2001:218::1/128/48"},
		// an IPv6 client subnet shorter than the address.
		{"source-v6-48", "geo.example.com", "A", "2001:218::/48", []string{"192.0.2.16"}, "2001:218::/48/48"},
		// catch-all: Melbourne matches no geo rule.
		{"catch-all-located", "geo.example.com", "A", "214.0.1.1/32", []string{"192.0.2.17"}, "214.0.1.1/32/24"},
		// catch-all: 8.8.8.8 is in no test database.
		{"catch-all-unknown", "geo.example.com", "A", "8.8.8.8/32", []string{"192.0.2.17"}, "8.8.8.8/32/24"},
		// no ECS: the client is the source address, 127.0.0.1, in no
		// database: the catch-all; no option in the answer.
		{"no-ecs", "geo.example.com", "A", "", []string{"192.0.2.17"}, ""},
		// SOURCE PREFIX-LENGTH 0 means "use the source address" (RFC 7871
		// §7.1.2): 127.0.0.1 again, echoed with scope 0.
		{"source-0", "geo.example.com", "A", "0.0.0.0/0", []string{"192.0.2.17"}, "0.0.0.0/0/0"},
		// AAAA dynamic record, geo rule: the scope is the City network's
		// (no subnet rule in this record).
		{"aaaa-eu", "geo6.example.com", "AAAA", "81.2.69.142/32", []string{"2001:db8::e"}, "81.2.69.142/32/31"},
		{"aaaa-as-v6", "geo6.example.com", "AAAA", "2001:218::1/128", []string{"2001:db8::a"}, "2001:218::1/128/32"},
		{"aaaa-catch-all", "geo6.example.com", "AAAA", "", []string{"2001:db8::1"}, ""},
		// static records: the same for everyone, scope 0.
		{"static-v4", "www.example.com", "A", "81.2.69.142/32", []string{"192.0.2.80"}, "81.2.69.142/32/0"},
		{"static-v6", "www.example.com", "A", "2001:218::1/128", []string{"192.0.2.80"}, "2001:218::1/128/0"},
		// a dynamic record answers NODATA for another type, scope 0.
		{"other-type", "geo.example.com", "AAAA", "81.2.69.142/32", nil, "81.2.69.142/32/0"},
	}
	var qs [][]string
	for _, c := range cases {
		qs = append(qs, query(c.q, c.typ, c.subnet))
	}
	answers := digEach(t, s, qs...)
	for i, c := range cases {
		a := answers[i]
		t.Run(c.why, func(t *testing.T) {
			got := sortedData(a, c.typ)
			if a.Status != "NOERROR" || !a.Flags["aa"] || !slices.Equal(got, c.want) || a.ECS != c.ecs {
				t.Errorf("%s %s from %q: got %s %v ECS %q, want NOERROR aa %v ECS %q\n%s", c.q, c.typ, c.subnet, a.Status, got, a.ECS, c.want, c.ecs, a.Raw)
			}
		})
	}
}

// Health and exhaustion: values that are down are never served, a pool
// with none up falls back along its chain, and a chain that is exhausted
// ends as `exhausted` says. Each row is queried several times, so that a
// random pick of a down value would show.
func TestDynamicFallbackAndExhausted(t *testing.T) {
	s := dynamicServer(t, nil, "")
	const n = 10
	cases := []struct {
		why  string
		q    string
		want []string // sorted; nil for NODATA
		ttl  uint32
	}{
		// status: down values are left out while another value is up.
		{"down-skipped", "mixed.example.com", []string{"192.0.2.42"}, 60},
		// a pool whose values are all down falls back to its fallback pool.
		{"fallback", "fallback.example.com", []string{"192.0.2.23"}, 60},
		// a chain of three pools all down, default exhausted (backup): the
		// record's own values, all of them, with the record's ttl.
		{"chain-to-backup", "chain.example.com", []string{"192.0.2.250", "192.0.2.251"}, 300},
		// exhausted: backup, written out.
		{"exhausted-backup", "backup.example.com", []string{"192.0.2.252"}, 60},
		// exhausted: all: every value of the rule's pool, ignoring health
		// (not the fallback pool's, not the backup values).
		{"exhausted-all", "all.example.com", []string{"192.0.2.31", "192.0.2.32"}, 60},
		// exhausted: nodata: NOERROR, no answer, the SOA (checked below).
		{"exhausted-nodata", "nodata.example.com", nil, 0},
	}
	var qs [][]string
	for _, c := range cases {
		qs = append(qs, repeat(n, query(c.q, "A", "81.2.69.142/32"))...)
	}
	answers := digEach(t, s, qs...)
	for i, c := range cases {
		t.Run(c.why, func(t *testing.T) {
			for _, a := range answers[i*n : (i+1)*n] {
				got := sortedData(a, "A")
				if a.Status != "NOERROR" || !a.Flags["aa"] || !slices.Equal(got, c.want) {
					t.Fatalf("%s: got %s %v, want NOERROR %v\n%s", c.q, a.Status, got, c.want, a.Raw)
				}
				for _, rr := range a.Answer {
					if rr.TTL != c.ttl {
						t.Fatalf("%s: TTL %d, want %d\n%s", c.q, rr.TTL, c.ttl, a.Raw)
					}
				}
				// A decision that does not depend on the client: scope 0.
				if a.ECS != "81.2.69.142/32/0" {
					t.Fatalf("%s: ECS %q, want scope 0\n%s", c.q, a.ECS, a.Raw)
				}
				if c.want == nil && (len(a.Answer) != 0 || len(a.Authority) != 1 || a.Authority[0].Type != "SOA" || a.Authority[0].Name != "example.com.") {
					t.Fatalf("%s: NODATA should carry the zone's SOA only\n%s", c.q, a.Raw)
				}
			}
		})
	}
}

// A dynamic record's TTL is 60 unless the file sets one; static records
// keep theirs.
func TestDynamicTTL(t *testing.T) {
	s := dynamicServer(t, nil, "")
	cases := []struct {
		why string
		q   string
		ttl uint32
	}{
		// no ttl: the dynamic default.
		{"dynamic-default", "geo.example.com", 60},
		// ttl: 300 in the file (here answered from the backup values).
		{"dynamic-explicit", "chain.example.com", 300},
		// a static record keeps octoDNS's default, 3600.
		{"static", "www.example.com", 3600},
	}
	var qs [][]string
	for _, c := range cases {
		qs = append(qs, query(c.q, "A", "81.2.69.142/32"))
	}
	answers := digEach(t, s, qs...)
	for i, c := range cases {
		t.Run(c.why, func(t *testing.T) {
			a := answers[i]
			if len(a.Answer) == 0 {
				t.Fatalf("%s: no answer\n%s", c.q, a.Raw)
			}
			for _, rr := range a.Answer {
				if rr.TTL != c.ttl {
					t.Fatalf("%s: TTL %d, want %d\n%s", c.q, rr.TTL, c.ttl, a.Raw)
				}
			}
		})
	}
}

// The policies of octodns.smartdns: priority, sticky, closest, and the
// weighted default.
func TestDynamicPolicies(t *testing.T) {
	s := dynamicServer(t, nil, "")

	// priority: the first value that is up in listed order (192.0.2.51 is
	// down), whatever the weights (192.0.2.53 has weight 100).
	t.Run("priority", func(t *testing.T) {
		for _, a := range digEach(t, s, repeat(20, query("priority.example.com", "A", ""))...) {
			if got := sortedData(a, "A"); !slices.Equal(got, []string{"192.0.2.52"}) {
				t.Fatalf("got %v, want [192.0.2.52]\n%s", got, a.Raw)
			}
		}
	})

	// sticky: 20 clients of one /24 get one value, scope /24; 20 /56s of
	// IPv6 likewise with scope /56; different /24s spread over the
	// values; and another server gives the same /24 the same value (the
	// hash is not seeded per process).
	t.Run("sticky", func(t *testing.T) {
		var qs [][]string
		for i := 1; i <= 20; i++ {
			qs = append(qs, query("sticky.example.com", "A", fmt.Sprintf("81.2.69.%d/32", i*12)))
		}
		first := stickyValue(t, digEach(t, s, qs...), 24)

		qs = nil
		for i := 0; i < 20; i++ {
			qs = append(qs, query("sticky.example.com", "A", fmt.Sprintf("2001:db8:aa:bb%02x::1/128", i*12)))
		}
		stickyValue(t, digEach(t, s, qs...), 56)

		qs = nil
		for i := 0; i < 20; i++ {
			qs = append(qs, query("sticky.example.com", "A", fmt.Sprintf("10.%d.%d.1/32", i, i*7)))
		}
		seen := map[string]bool{}
		for _, a := range digEach(t, s, qs...) {
			seen[strings.Join(sortedData(a, "A"), " ")] = true
		}
		if len(seen) < 2 {
			t.Errorf("20 different /24s all got %v: sticky does not spread clients", seen)
		}

		other := dynamicServer(t, nil, "")
		a := Dig(t, other.Port, query("sticky.example.com", "A", "81.2.69.200/32")...)
		if got := strings.Join(sortedData(a, "A"), " "); got != first {
			t.Errorf("another server gave 81.2.69.200 %q, the first gave its /24 %q", got, first)
		}
	})

	// closest: the value nearest the client's City coordinates: London ->
	// Frankfurt, Melbourne -> Sydney, Milton WA -> New York, Japan (IPv6)
	// -> Sydney; the scope is the City network's prefix.
	t.Run("closest", func(t *testing.T) {
		cases := []struct {
			why, subnet, want, ecs string
		}{
			{"london", "81.2.69.142/32", "192.0.2.71", "81.2.69.142/32/31"},
			{"melbourne", "214.0.1.1/32", "192.0.2.72", "214.0.1.1/32/24"},
			{"milton-wa", "216.160.83.56/32", "192.0.2.73", "216.160.83.56/32/29"},
			{"japan-v6", "2001:218::1/128", "192.0.2.72", "2001:218::1/128/32"},
		}
		var qs [][]string
		for _, c := range cases {
			qs = append(qs, query("closest.example.com", "A", c.subnet))
		}
		answers := digEach(t, s, qs...)
		for i, c := range cases {
			a := answers[i]
			if got := sortedData(a, "A"); !slices.Equal(got, []string{c.want}) || a.ECS != c.ecs {
				t.Errorf("%s: got %v ECS %q, want [%s] ECS %q\n%s", c.why, got, a.ECS, c.want, c.ecs, a.Raw)
			}
		}
	})

	// closest for a client the database has no coordinates for (2.3.3.1
	// is known only by its continent): some value, weighted; the scope
	// is still the database network's (/24), so that a resolver does not
	// hand this answer to clients whose coordinates are known.
	t.Run("closest-without-coordinates", func(t *testing.T) {
		a := s.Dig(query("closest.example.com", "A", "2.3.3.1/32")...)
		got := sortedData(a, "A")
		if len(got) != 1 || !slices.Contains([]string{"192.0.2.71", "192.0.2.72", "192.0.2.73"}, got[0]) || a.ECS != "2.3.3.1/32/24" {
			t.Errorf("got %v ECS %q, want one of the three values, ECS 2.3.3.1/32/24\n%s", got, a.ECS, a.Raw)
		}
	})

	// weighted (the default): a light check only, the statistics are
	// pool's unit tests'. Over 200 queries, weight 99 against weight 1
	// (expected 198 to 2), the heavy value wins most of the time.
	t.Run("weighted", func(t *testing.T) {
		count := map[string]int{}
		for _, a := range digEach(t, s, repeat(200, query("weighted.example.com", "A", ""))...) {
			got := sortedData(a, "A")
			if len(got) != 1 {
				t.Fatalf("want one value:\n%s", a.Raw)
			}
			count[got[0]]++
		}
		if count["192.0.2.92"] < 170 || count["192.0.2.91"]+count["192.0.2.92"] != 200 {
			t.Errorf("200 weighted picks gave %v; want mostly 192.0.2.92 (weight 99)", count)
		}
	})
}

// stickyValue checks that every answer has the same single value and the
// ECS scope bits, and returns the value.
func stickyValue(t *testing.T, answers []*Answer, bits int) string {
	t.Helper()
	var first string
	for i, a := range answers {
		got := strings.Join(sortedData(a, "A"), " ")
		if len(a.Answer) != 1 {
			t.Fatalf("want one value:\n%s", a.Raw)
		}
		if i == 0 {
			first = got
		} else if got != first {
			t.Fatalf("answer %d is %s, the first was %s: not sticky\n%s", i+1, got, first, a.Raw)
		}
		if !strings.HasSuffix(a.ECS, "/"+strconv.Itoa(bits)) {
			t.Fatalf("ECS %q, want scope /%d\n%s", a.ECS, bits, a.Raw)
		}
	}
	return first
}

// answers: N gives up to N distinct values that are up.
func TestDynamicAnswersN(t *testing.T) {
	s := dynamicServer(t, nil, "")
	up := []string{"192.0.2.81", "192.0.2.82", "192.0.2.83", "192.0.2.84", "192.0.2.85"}
	seen := map[string]bool{}
	// answers: 3 out of five values up (and one down): three distinct up
	// values each time, and over 20 answers more than three in all (a
	// weighted shuffle, not a fixed set).
	for _, a := range digEach(t, s, repeat(20, query("answers.example.com", "A", ""))...) {
		got := sortedData(a, "A")
		if len(got) != 3 || len(slices.Compact(slices.Clone(got))) != 3 {
			t.Fatalf("want 3 distinct values:\n%s", a.Raw)
		}
		for _, v := range got {
			if !slices.Contains(up, v) {
				t.Fatalf("%s is not a value that is up:\n%s", v, a.Raw)
			}
			seen[v] = true
		}
	}
	if len(seen) <= 3 {
		t.Errorf("20 answers of 3 values used only %v", seen)
	}
	// answers: 8 with two values up: both, once each.
	for _, a := range digEach(t, s, repeat(5, query("answers-few.example.com", "A", ""))...) {
		if got := sortedData(a, "A"); !slices.Equal(got, []string{"192.0.2.87", "192.0.2.88"}) {
			t.Fatalf("got %v, want the two values that are up\n%s", got, a.Raw)
		}
	}
}

// With `ecs: false` the option is ignored: answers go by the source
// address (127.0.0.1: the catch-all) and carry no ECS option, and a
// malformed option is not an error.
func TestDynamicECSOff(t *testing.T) {
	s := dynamicServer(t, nil, "ecs: false\n")
	for _, a := range digEach(t, s,
		query("geo.example.com", "A", "81.2.69.142/32"),
		query("geo.example.com", "A", "2001:218::1/128"),
		query("www.example.com", "A", "81.2.69.142/32"),
	) {
		if a.Status != "NOERROR" || a.ECS != "" || !a.EDNS {
			t.Errorf("want NOERROR with EDNS and no ECS option:\n%s", a.Raw)
		}
		if got := sortedData(a, "A"); !slices.Equal(got, []string{"192.0.2.17"}) && !slices.Equal(got, []string{"192.0.2.80"}) {
			t.Errorf("got %v: the client subnet was not ignored\n%s", got, a.Raw)
		}
	}
	r := exchangeECS(t, s.Port, "geo.example.com.", ecsOption(1, 32, 8, 81, 2, 69, 142))
	if r.Rcode != mdns.RcodeSuccess || len(r.Answer) != 1 || r.Answer[0].(*mdns.A).A.String() != "192.0.2.17" {
		t.Errorf("a malformed ECS option with ecs: false: want the source address's answer:\n%v", r)
	}
	if o := r.IsEdns0(); o == nil || len(o.Option) != 0 {
		t.Errorf("with ecs: false no ECS option is sent back:\n%v", r)
	}
}

// ecsOption is the body of an ECS option (RFC 7871 §6).
func ecsOption(family uint16, source, scope uint8, addr ...byte) []byte {
	return append([]byte{byte(family >> 8), byte(family), source, scope}, addr...)
}

// exchangeECS sends an A query for name with the given raw EDNS options
// (each an ECS body) over UDP and returns the answer.
func exchangeECS(t testing.TB, port int, name string, options ...[]byte) *mdns.Msg {
	t.Helper()
	m := new(mdns.Msg)
	m.SetQuestion(name, mdns.TypeA)
	m.RecursionDesired = false
	o := &mdns.OPT{Hdr: mdns.RR_Header{Name: ".", Rrtype: mdns.TypeOPT}}
	o.SetUDPSize(1232)
	for _, b := range options {
		o.Option = append(o.Option, &mdns.EDNS0_LOCAL{Code: mdns.EDNS0SUBNET, Data: b})
	}
	m.Extra = append(m.Extra, o)
	c := &mdns.Client{Net: "udp", Timeout: 3 * time.Second}
	r, _, err := c.Exchange(m, net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		t.Fatalf("query %s with options %x: %v", name, options, err)
	}
	return r
}

// A malformed ECS option is answered FORMERR (RFC 7871 §7.1.1), for static
// and dynamic names alike; well-formed edge cases are answered.
func TestDynamicECSMalformed(t *testing.T) {
	s := dynamicServer(t, nil, "")
	v6 := make([]byte, 17)
	cases := []struct {
		why  string
		opts [][]byte
	}{
		// SCOPE PREFIX-LENGTH must be 0 in a query.
		{"scope-not-zero", [][]byte{ecsOption(1, 32, 8, 81, 2, 69, 142)}},
		// four address bytes for a /24: one more than the prefix needs.
		{"address-too-long", [][]byte{ecsOption(1, 24, 0, 81, 2, 69, 0)}},
		// three address bytes for a /32: one short.
		{"address-too-short", [][]byte{ecsOption(1, 32, 0, 81, 2, 69)}},
		// 81.2.69.0/23 has bit 24 set (69 is odd).
		{"bits-beyond-prefix", [][]byte{ecsOption(1, 23, 0, 81, 2, 69)}},
		// FAMILY 3 is not IPv4 (1) or IPv6 (2).
		{"unknown-family", [][]byte{ecsOption(3, 8, 0, 81)}},
		// an IPv4 source prefix longer than 32.
		{"v4-prefix-over-32", [][]byte{ecsOption(1, 33, 0, 81, 2, 69, 142, 0)}},
		// an IPv6 source prefix longer than 128.
		{"v6-prefix-over-128", [][]byte{ecsOption(2, 129, 0, v6...)}},
		// shorter than FAMILY and the two prefix lengths.
		{"truncated", [][]byte{{0, 1, 32}}},
		// two ECS options in one query.
		{"two-options", [][]byte{ecsOption(1, 24, 0, 81, 2, 69), ecsOption(1, 24, 0, 81, 2, 69)}},
	}
	for _, c := range cases {
		t.Run(c.why, func(t *testing.T) {
			for _, name := range []string{"geo.example.com.", "www.example.com."} {
				r := exchangeECS(t, s.Port, name, c.opts...)
				if r.Rcode != mdns.RcodeFormatError || len(r.Answer) != 0 {
					t.Errorf("%s: want FORMERR without answers, got\n%v", name, r)
				}
			}
		})
	}

	// Well formed, answered, echoed with the scope.
	ok := []struct {
		why    string
		name   string
		opt    []byte
		family uint16
		source uint8
		scope  uint8
		want   string
	}{
		// a /24 in three bytes, answered for the static name with scope 0.
		{"v4-24", "www.example.com.", ecsOption(1, 24, 0, 81, 2, 69), 1, 24, 0, "192.0.2.80"},
		// a /31 whose last byte has only its first 7 bits used: London.
		{"v4-31", "geo.example.com.", ecsOption(1, 31, 0, 81, 2, 69, 142), 1, 31, 31, "192.0.2.14"},
		// IPv6 with SOURCE PREFIX-LENGTH 0 and no address: the source
		// address decides (127.0.0.1: the catch-all).
		{"v6-0", "geo.example.com.", ecsOption(2, 0, 0), 2, 0, 0, "192.0.2.17"},
	}
	for _, c := range ok {
		t.Run(c.why, func(t *testing.T) {
			r := exchangeECS(t, s.Port, c.name, c.opt)
			if r.Rcode != mdns.RcodeSuccess || len(r.Answer) != 1 || r.Answer[0].(*mdns.A).A.String() != c.want {
				t.Fatalf("want NOERROR %s, got\n%v", c.want, r)
			}
			o := r.IsEdns0()
			if o == nil || len(o.Option) != 1 {
				t.Fatalf("want the ECS option back:\n%v", r)
			}
			e, isECS := o.Option[0].(*mdns.EDNS0_SUBNET)
			if !isECS || e.Family != c.family || e.SourceNetmask != c.source || e.SourceScope != c.scope {
				t.Fatalf("ECS back %v, want family %d source %d scope %d", o.Option[0], c.family, c.source, c.scope)
			}
		})
	}
}

// Without geoip in the config the built-in country database locates
// clients: continent and country rules work (81.2.69.142 is in GB,
// 8.8.8.8 and 2001:4860:4860::8888 in the US); the scope is the built-in
// network's prefix. asns rules and policy closest need databases it
// does not have: such a zone is refused and says why.
func TestDynamicBuiltinGeo(t *testing.T) {
	zone := `---
geo:
  type: A
  values: [192.0.2.254]
  dynamic:
    pools:
      gb:
        values:
          - {value: 192.0.2.1, status: up}
      na:
        values:
          - {value: 192.0.2.2, status: up}
      world:
        values:
          - {value: 192.0.2.3, status: up}
    rules:
      - geos: [EU-GB]
        pool: gb
      - geos: [NA]
        pool: na
      - pool: world
`
	bad := `---
asn:
  type: A
  values: [192.0.2.254]
  dynamic:
    pools:
      cdn:
        values:
          - {value: 192.0.2.1, status: up}
      world:
        values:
          - {value: 192.0.2.3, status: up}
    rules:
      - asns: [15169]
        pool: cdn
      - pool: world
near:
  type: A
  values: [192.0.2.254]
  dynamic:
    pools:
      world:
        values:
          - {value: 192.0.2.3, status: up}
    rules:
      - pool: world
  octodns:
    smartdns:
      policy: closest
      locations:
        192.0.2.3: [0, 0]
`
	s := Start(t, Options{Files: map[string]string{"example.net.yaml": zone, "example.org.yaml": bad}})
	cases := []struct {
		why, subnet, want string
	}{
		// country rule from the built-in data.
		{"gb", "81.2.69.142/32", "192.0.2.1"},
		// continent rule (from the country) for IPv4 and IPv6.
		{"us-v4", "8.8.8.8/32", "192.0.2.2"},
		{"us-v6", "2001:4860:4860::8888/128", "192.0.2.2"},
		// documentation space is in no database: the catch-all.
		{"unknown", "192.0.2.7/32", "192.0.2.3"},
		// no ECS: 127.0.0.1, the catch-all.
		{"no-ecs", "", "192.0.2.3"},
	}
	var qs [][]string
	for _, c := range cases {
		qs = append(qs, query("geo.example.net", "A", c.subnet))
	}
	answers := digEach(t, s, qs...)
	scopeRE := regexp.MustCompile(`/(\d+)$`)
	for i, c := range cases {
		a := answers[i]
		if got := sortedData(a, "A"); !slices.Equal(got, []string{c.want}) {
			t.Errorf("%s: got %v, want %s\n%s", c.why, got, c.want, a.Raw)
		}
		if c.why == "gb" || strings.HasPrefix(c.why, "us") {
			m := scopeRE.FindStringSubmatch(a.ECS)
			if m == nil || m[1] == "0" {
				t.Errorf("%s: ECS %q, want a geo scope (the built-in network's prefix)\n%s", c.why, a.ECS, a.Raw)
			}
		}
	}
	if a := s.Dig("asn.example.org", "A"); a.Status != "REFUSED" {
		t.Errorf("a zone with asns rules and no ASN database should not be served:\n%s", a.Raw)
	}
	s.WaitLog(`asns rules need an ASN database`, 5*time.Second)
	s.WaitLog(`policy closest needs client coordinates`, 5*time.Second)
}

// octoDNS's own dynamic fixture (testdata/octodns/dynamic.tests.yaml, MIT,
// see its README) answers per client with the City test database.
//
// Its values carry no status (obey) and are public addresses. That is
// acceptable only because nothing probes values yet: the issue that adds
// health probing must switch probing off for this test (or the server
// would probe 1.1.1.1, 4.4.4.4, ... from the test).
func TestDynamicOctoDNSFixture(t *testing.T) {
	s := Start(t, Options{
		Files: map[string]string{"dynamic.tests.yaml": readFile(t, filepath.Join("testdata", "octodns", "dynamic.tests.yaml"))},
		Extra: geoipConfig(t),
	})
	if log := s.Log(); strings.Contains(log, "level=ERROR") || strings.Contains(log, "level=WARN") {
		t.Fatalf("the fixture did not load cleanly:\n%s", log)
	}
	cases := []struct {
		why, q, typ, subnet string
		oneOf               []string // the answer is one of these (exactly one record)
		ttl                 uint32
	}{
		// EU-GB comes before EU: London gets pool lax; obey counts as up.
		{"gb-a", "a.dynamic.tests", "A", "81.2.69.142/32", []string{"4.4.4.4"}, 60},
		// Sweden: EU, pool ams.
		{"se-a", "a.dynamic.tests", "A", "89.160.20.112/32", []string{"1.1.1.1"}, 60},
		// Milton, WA: pool sea, one of its two values.
		{"wa-a", "a.dynamic.tests", "A", "216.160.83.56/32", []string{"5.5.5.5", "6.6.6.6"}, 60},
		// San Diego, CA, an IPv6 client: pool sea.
		{"ca-v6-a", "a.dynamic.tests", "A", "2001:480:10::1/128", []string{"5.5.5.5", "6.6.6.6"}, 60},
		// no ECS (127.0.0.1): the catch-all, pool iad: one of its values
		// (not both: one answer).
		{"catch-all-a", "a.dynamic.tests", "A", "", []string{"2.2.2.2", "3.3.3.3"}, 60},
		{"gb-aaaa", "aaaa.dynamic.tests", "AAAA", "81.2.69.142/32", []string{"2601:642:500:e210:62f8:1dff:feb8:9474"}, 60},
		{"gb-cname", "cname.dynamic.tests", "CNAME", "81.2.69.142/32", []string{"target-lax.unit.tests."}, 60},
		{"jp-cname", "cname.dynamic.tests", "CNAME", "2001:218::1/128", []string{"target-iad.unit.tests."}, 60},
		// A pool reached only as a fallback; the record's ttl: 300.
		{"us-fallback-pool", "pool-only-in-fallback.dynamic.tests", "A", "216.160.83.56/32", []string{"1.1.1.1"}, 300},
		// AS-CN: pool ap-southeast-1.
		{"cn-realish", "real-ish-a.dynamic.tests", "A", "175.16.199.1/32", []string{"1.4.1.1", "1.4.1.2", "1.4.2.1", "1.4.2.2", "1.4.3.1", "1.4.3.2"}, 60},
		// EU: pool eu-central-1.
		{"se-realish", "real-ish-a.dynamic.tests", "A", "89.160.20.112/32", []string{"1.3.1.1", "1.3.1.2", "1.3.2.1", "1.3.2.2", "1.3.3.1", "1.3.3.2"}, 60},
		// Australia: the catch-all, pool us-east-1.
		{"au-realish", "real-ish-a.dynamic.tests", "A", "214.0.1.1/32", []string{"1.1.1.1", "1.1.1.2", "1.1.2.1", "1.1.2.2", "1.1.3.1", "1.1.3.2"}, 60},
		{"simple-weighted", "simple-weighted.dynamic.tests", "CNAME", "", []string{"one.unit.tests.", "two.unit.tests."}, 60},
	}
	var qs [][]string
	for _, c := range cases {
		qs = append(qs, query(c.q, c.typ, c.subnet))
	}
	answers := digEach(t, s, qs...)
	for i, c := range cases {
		t.Run(c.why, func(t *testing.T) {
			a := answers[i]
			got := Datas(a.Answer, c.typ)
			if a.Status != "NOERROR" || len(got) != 1 || !slices.Contains(c.oneOf, got[0]) || a.Answer[0].TTL != c.ttl {
				t.Errorf("%s %s from %q: got %s %v, want one of %v with TTL %d\n%s", c.q, c.typ, c.subnet, a.Status, got, c.oneOf, c.ttl, a.Raw)
			}
		})
	}
}
