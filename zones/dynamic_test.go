package zones

import (
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/smartdns/smartdns/geo"
	"github.com/smartdns/smartdns/internal/diag"
	"github.com/smartdns/smartdns/pool"
	"github.com/smartdns/smartdns/zones/octodns"
	"github.com/smartdns/smartdns/zones/zonefile"
)

// dynCompile reads and compiles one octoDNS file, returning the zone (nil
// on errors) and every problem of both steps.
func dynCompile(t *testing.T, file, origin string, opt CompileOptions) (*Zone, diag.Problems) {
	t.Helper()
	if opt.Nameservers == nil {
		opt.Nameservers = []string{"ns1.example.com."}
	}
	recs, probs := octodns.ParseFile(file, origin)
	if probs.HasErrors() {
		return nil, probs
	}
	z, cprobs := Compile(origin, file, recs, opt)
	return z, append(probs, cprobs...)
}

// dynSet returns the RRset of type t at name (presentation form).
func dynSet(t *testing.T, z *Zone, name string, typ uint16) *RRset {
	t.Helper()
	w, err := zonefile.WireName(name)
	if err != nil {
		t.Fatal(err)
	}
	n := z.Node(w)
	if n == nil || n.Set(typ) == nil {
		t.Fatalf("%s %s: no such RRset", name, dns.TypeToString[typ])
	}
	return n.Set(typ)
}

func dynPoolNames(r *pool.Record) []string {
	var out []string
	for _, p := range r.Pools {
		out = append(out, p.Name)
	}
	return out
}

func dynTexts(vs []pool.Value) []string {
	var out []string
	for _, v := range vs {
		out = append(out, v.Text)
	}
	return out
}

func dynWeights(vs []pool.Value) []uint32 {
	var out []uint32
	for _, v := range vs {
		out = append(out, v.Weight)
	}
	return out
}

// dynRuleDesc renders a rule as "pool:GEO,GEO|SUBNET|ASN" for comparison.
func dynRuleDesc(r *pool.Record) []string {
	var out []string
	for _, ru := range r.Rules {
		var parts []string
		for _, g := range ru.Geos {
			parts = append(parts, g.String())
		}
		for _, s := range ru.Subnets {
			parts = append(parts, s.String())
		}
		for _, a := range ru.ASNs {
			parts = append(parts, "AS"+strconv.FormatUint(uint64(a), 10))
		}
		out = append(out, r.Pools[ru.Pool].Name+":"+strings.Join(parts, ","))
	}
	return out
}

// octoDNS's own dynamic fixtures load with no problem at all, and compile
// to the pools, weights, fallbacks and rules they describe.
func TestDynamicOctoDNSFixtures(t *testing.T) {
	files, _ := filepath.Glob("octodns/testdata/octodns/split/dynamic.tests.tst/*.yaml")
	files = append(files, "octodns/testdata/octodns/dynamic.tests.yaml")
	if len(files) != 6 {
		t.Fatalf("found %d fixture files, want 6", len(files))
	}
	a := dynCheck{
		name: "a.dynamic.tests.", typ: dns.TypeA,
		pools:   []string{"ams", "iad", "lax", "sea"},
		rules:   []string{"lax:EU-GB", "ams:EU", "sea:NA-US-CA,NA-US-NC,NA-US-OR,NA-US-WA", "iad:"},
		values:  map[string][]string{"iad": {"2.2.2.2", "3.3.3.3"}},
		backup:  []string{"2.2.2.2", "3.3.3.3"},
		ttl:     octodns.DynamicTTL,
		weights: map[string][]uint32{"iad": {1, 1}},
	}
	checks := map[string][]dynCheck{
		"a.yaml": {withWeights(a, "sea", []uint32{15, 10}, []string{"5.5.5.5", "6.6.6.6"})},
		"aaaa.yaml": {{
			name: "aaaa.dynamic.tests.", typ: dns.TypeAAAA,
			pools:   []string{"ams", "iad", "lax", "sea"},
			rules:   []string{"lax:EU-GB", "ams:EU", "sea:NA-US-CA,NA-US-NC,NA-US-OR,NA-US-WA", "iad:"},
			weights: map[string][]uint32{"sea": {1, 2}},
			values:  map[string][]string{"sea": {"2601:642:500:e210:62f8:1dff:feb8:9475", "2601:642:500:e210:62f8:1dff:feb8:9476"}},
			backup:  []string{"2601:642:500:e210:62f8:1dff:feb8:947a", "2601:644:500:e210:62f8:1dff:feb8:947a"},
			ttl:     octodns.DynamicTTL,
		}},
		"cname.yaml": {{
			name: "cname.dynamic.tests.", typ: dns.TypeCNAME,
			pools:   []string{"ams", "iad", "lax", "sea"},
			rules:   []string{"lax:EU-GB", "ams:EU", "sea:NA-US-CA,NA-US-NC,NA-US-OR,NA-US-WA", "iad:"},
			weights: map[string][]uint32{"sea": {10, 14}},
			values:  map[string][]string{"sea": {"target-sea-1.unit.tests.", "target-sea-2.unit.tests."}},
			backup:  []string{"target.unit.tests."},
			ttl:     octodns.DynamicTTL,
		}},
		"real-ish-a.yaml": {{
			name: "real-ish-a.dynamic.tests.", typ: dns.TypeA,
			pools:   []string{"ap-southeast-1", "eu-central-1", "us-east-1", "us-west-2"},
			rules:   []string{"us-west-2:NA-US-CA,NA-US-NC,NA-US-OR,NA-US-WA", "ap-southeast-1:AS-CN", "eu-central-1:AF,EU", "us-east-1:"},
			weights: map[string][]uint32{"ap-southeast-1": {2, 2, 1, 1, 1, 1}},
			backup:  []string{"1.1.1.1", "1.1.1.2", "1.1.2.1", "1.1.2.2", "1.1.3.1", "1.1.3.2"},
			ttl:     octodns.DynamicTTL,
		}},
		"simple-weighted.yaml": {{
			name: "simple-weighted.dynamic.tests.", typ: dns.TypeCNAME,
			pools:   []string{"default"},
			rules:   []string{"default:"},
			weights: map[string][]uint32{"default": {3, 2}},
			values:  map[string][]string{"default": {"one.unit.tests.", "two.unit.tests."}},
			backup:  []string{"default.unit.tests."},
			ttl:     octodns.DynamicTTL,
		}},
		"dynamic.tests.yaml": {
			withWeights(a, "sea", []uint32{10, 15}, []string{"6.6.6.6", "5.5.5.5"}),
			{
				name: "pool-only-in-fallback.dynamic.tests.", typ: dns.TypeA,
				pools:  []string{"one", "three", "two"},
				rules:  []string{"one:NA-US", "three:AS-SG", "one:"},
				backup: []string{"4.4.4.4"},
				ttl:    300,
			},
		},
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			z, probs := dynCompile(t, f, "dynamic.tests.", CompileOptions{})
			if len(probs) > 0 || z == nil {
				t.Fatalf("problems:\n%v", probs)
			}
			for _, c := range checks[filepath.Base(f)] {
				set := dynSet(t, z, c.name, c.typ)
				d := set.Dynamic
				if d == nil {
					t.Fatalf("%s: not compiled as dynamic", c.name)
				}
				if d.Type != c.typ || d.TTL != c.ttl || set.TTL != c.ttl {
					t.Errorf("%s: type %d ttl %d (RRset %d), want %d %d", c.name, d.Type, d.TTL, set.TTL, c.typ, c.ttl)
				}
				if got := dynPoolNames(d); !reflect.DeepEqual(got, c.pools) {
					t.Errorf("%s: pools %v, want %v", c.name, got, c.pools)
				}
				if got := dynRuleDesc(d); !reflect.DeepEqual(got, c.rules) {
					t.Errorf("%s: rules %v, want %v", c.name, got, c.rules)
				}
				for _, p := range d.Pools {
					if w, ok := c.weights[p.Name]; ok && !reflect.DeepEqual(dynWeights(p.Values), w) {
						t.Errorf("%s pool %s: weights %v, want %v", c.name, p.Name, dynWeights(p.Values), w)
					}
					if v, ok := c.values[p.Name]; ok && !reflect.DeepEqual(dynTexts(p.Values), v) {
						t.Errorf("%s pool %s: values %v, want %v", c.name, p.Name, dynTexts(p.Values), v)
					}
					for _, v := range p.Values {
						if v.Status != pool.Obey || v.Member != -1 {
							t.Errorf("%s %s: status %v member %d, want obey -1", c.name, v.Text, v.Status, v.Member)
						}
					}
				}
				if got := dynTexts(d.Backup); !reflect.DeepEqual(got, c.backup) {
					t.Errorf("%s: backup %v, want %v", c.name, got, c.backup)
				}
				for i, b := range d.Backup {
					if string(b.Rdata) != string(set.Data[i]) || b.Status != pool.Up || b.Weight != 1 || b.Member != -1 {
						t.Errorf("%s: backup value %d = %+v, want the record's own RDATA, up, weight 1, member -1", c.name, i, b)
					}
				}
				if d.Answers != 1 || d.Policy != pool.Weighted || d.Exhausted != pool.ExhaustBackup {
					t.Errorf("%s: answers %d policy %v exhausted %v, want octoDNS's 1 weighted backup", c.name, d.Answers, d.Policy, d.Exhausted)
				}
			}
		})
	}

	// Fallbacks: pool-only-in-fallback's pool one falls back to two.
	z, _ := dynCompile(t, "octodns/testdata/octodns/dynamic.tests.yaml", "dynamic.tests.", CompileOptions{})
	d := dynSet(t, z, "pool-only-in-fallback.dynamic.tests.", dns.TypeA).Dynamic
	if d.Pools[0].Fallback != 2 || d.Pools[1].Fallback != -1 || d.Pools[2].Fallback != -1 {
		t.Errorf("fallbacks %d %d %d, want 2 -1 -1", d.Pools[0].Fallback, d.Pools[1].Fallback, d.Pools[2].Fallback)
	}
	// CNAME values are encoded as the record's own value is: the wire name.
	d = dynSet(t, z, "cname.dynamic.tests.", dns.TypeCNAME).Dynamic
	if w, _ := zonefile.WireName("target-ams.unit.tests."); string(d.Pools[0].Values[0].Rdata) != w {
		t.Errorf("CNAME RDATA %q, want %q", d.Pools[0].Values[0].Rdata, w)
	}
}

type dynCheck struct {
	name    string
	typ     uint16
	pools   []string
	rules   []string
	weights map[string][]uint32 // pool -> weights in file order
	values  map[string][]string // pool -> values in file order
	backup  []string
	ttl     uint32
}

func withWeights(c dynCheck, p string, w []uint32, v []string) dynCheck {
	c.weights = map[string][]uint32{p: w, "iad": {1, 1}}
	c.values = map[string][]string{p: v, "iad": {"2.2.2.2", "3.3.3.3"}}
	return c
}

// Every bad input is reported at the line and column of the node at
// fault, and a file with several problems has all of them reported.
func TestDynamicErrors(t *testing.T) {
	geoAll := CompileOptions{GeoASN: true, GeoCoords: true}
	for _, tc := range []struct {
		file string
		opt  CompileOptions
		want []string
	}{
		{"unknown-pool.yaml", geoAll, []string{
			`unknown-pool.yaml:12:15: rule 1: pool "europe" is not defined (pools: eu)`,
		}},
		{"fallback-loop.yaml", geoAll, []string{
			`fallback-loop.yaml:8:19: fallback loop: a -> b -> a`,
			`fallback-loop.yaml:16:19: pool "c": fallback "missing" is not a pool (pools: a, b, c)`,
		}},
		{"no-catchall.yaml", geoAll, []string{
			`no-catchall.yaml:16:9: the last rule must be a catch-all (a rule with only a pool, such as "- pool: eu"), which answers the clients no other rule matches (as in octoDNS)`,
		}},
		{"catchall-not-last.yaml", geoAll, []string{
			`catchall-not-last.yaml:14:9: rule 1 matches every client (it has no geos, subnets or asns), so it must be the last rule: the rules after it could never match`,
		}},
		{"repeated-geo.yaml", geoAll, []string{
			`repeated-geo.yaml:19:20: rule 2: geo EU-FR is already in rule 1 (line 17), so it could never match here`,
			`repeated-geo.yaml:19:27: rule 2: geo EU is listed twice`,
		}},
		{"child-after-parent.yaml", geoAll, []string{
			`child-after-parent.yaml:19:16: rule 2: geo NA-US-CA is inside NA-US of rule 1 (line 17), which comes first, so it could never match here: put it in an earlier rule`,
		}},
		{"bad-geo.yaml", geoAll, []string{
			`bad-geo.yaml:15:13: geo code "EU-US": US is in NA, not EU`,
			`bad-geo.yaml:16:13: geo code "XX": unknown continent "XX" (want one of AF AN AS EU NA OC SA)`,
			`bad-geo.yaml:17:13: geo code "Europe": unknown continent "Europe" (want one of AF AN AS EU NA OC SA)`,
		}},
		{"bad-subnet.yaml", geoAll, []string{
			`bad-subnet.yaml:15:13: rule 1: "10.0.0.0/33" is not a subnet (want an address and a prefix length, such as 192.0.2.0/24 or 2001:db8::/32)`,
			`bad-subnet.yaml:16:13: rule 1: subnet "10.1.2.3" has no prefix length (write 10.1.2.3/32)`,
			`bad-subnet.yaml:17:13: rule 1: subnet 10.1.2.3/16 has host bits set; write 10.1.0.0/16`,
			`bad-subnet.yaml:18:13: rule 1: subnet 2001:db8::1/32 has host bits set; write 2001:db8::/32`,
		}},
		{"weights.yaml", geoAll, []string{
			`weights.yaml:10:21: pool "one" value 1: weight must be an integer 1..100, got "0"`,
			`weights.yaml:12:21: pool "one" value 2: weight must be an integer 1..100, got "101"`,
			`weights.yaml:14:21: pool "one" value 3: weight must be an integer 1..100, got "heavy"`,
			`weights.yaml:18:21: pool "single" has a single value, so its weight must be 1 (as in octoDNS), got 5`,
		}},
		{"bad-status.yaml", geoAll, []string{
			`bad-status.yaml:10:21: pool "one" value 1: status must be up, down or obey, got "maybe"`,
		}},
		{"duplicate-value.yaml", geoAll, []string{
			`duplicate-value.yaml:10:20: pool "one": duplicate value "2001:db8::10" (first at line 9)`,
			`duplicate-value.yaml:11:20: AAAA value: "192.0.2.1" is an IPv4 address; it belongs in an A record`,
		}},
		{"dynamic-mx.yaml", geoAll, []string{
			`dynamic-mx.yaml:2:1: MX record: "dynamic" is supported only for A, AAAA and CNAME records (as in octoDNS)`,
		}},
		{"unknown-keys.yaml", geoAll, []string{
			`unknown-keys.yaml:6:5: unknown key "pool" in dynamic (known: pools, rules)`,
			`unknown-keys.yaml:10:9: unknown key "fallbak" in pool "one" (known: values, fallback)`,
			`unknown-keys.yaml:13:13: unknown key "wieght" in pool "one" value 1 (known: value, weight, status)`,
			`unknown-keys.yaml:16:20: warning: "two.example.net" has no trailing dot: read as the fully qualified two.example.net., as octoDNS 1.x reads it (write the dot to silence this warning)`,
			`unknown-keys.yaml:19:9: unknown key "geo" in rule 1 (known: pool, geos, subnets, asns)`,
			`unknown-keys.yaml:25:7: unknown key "answer" in octodns.smartdns (known: answers, policy, exhausted, locations, healthcheck, shed, slow_start)`,
			`unknown-keys.yaml:27:9: "path" goes under octodns.healthcheck, not octodns.smartdns.healthcheck`,
		}},
		{"smartdns-bad.yaml", geoAll, []string{
			`smartdns-bad.yaml:15:16: octodns.smartdns answers must be an integer 1..16, got "0"`,
			`smartdns-bad.yaml:16:15: octodns.smartdns policy must be weighted, priority, sticky, closest or least-loaded, got "random"`,
			`smartdns-bad.yaml:17:18: octodns.smartdns exhausted must be backup, nodata or all, got "fail"`,
			`smartdns-bad.yaml:19:22: location of "192.0.2.10": latitude must be a number -90..90, got "91"`,
			`smartdns-bad.yaml:20:9: octodns.smartdns locations: "192.0.2.99" is not a value of any pool`,
			`smartdns-bad.yaml:21:26: location of "192.0.2.11": longitude must be a number -180..180, got "-181"`,
		}},
		{"answers-big.yaml", geoAll, []string{
			`answers-big.yaml:14:16: octodns.smartdns answers must be an integer 1..16, got "17"`,
		}},
		{"closest.yaml", geoAll, []string{
			`closest.yaml:10:20: value 192.0.2.11 of pool "eu" has no location, which policy closest needs: add it under octodns.smartdns.locations`,
			`closest.yaml:13:20: value 198.51.100.10 of pool "na" has no location, which policy closest needs: add it under octodns.smartdns.locations`,
		}},
		// What the server lacks is checked once the file's own errors
		// are fixed (the reader's errors come first).
		{"closest.yaml", CompileOptions{}, []string{
			`closest.yaml:10:20: value 192.0.2.11 of pool "eu" has no location, which policy closest needs: add it under octodns.smartdns.locations`,
			`closest.yaml:13:20: value 198.51.100.10 of pool "na" has no location, which policy closest needs: add it under octodns.smartdns.locations`,
		}},
		{"closest-located.yaml", CompileOptions{}, []string{
			`closest-located.yaml:21:15: policy closest needs client coordinates: set geoip.city in the config (a Country database has none)`,
		}},
		{"asns.yaml", CompileOptions{}, []string{
			`asns.yaml:14:9: asns rules need an ASN database: set geoip.asn in the config`,
		}},
		{"asns-bad.yaml", geoAll, []string{
			`asns-bad.yaml:17:23: rule 1: an ASN must be an integer 1..4294967295 (13335, not AS13335), got "AS15169"`,
			`asns-bad.yaml:17:32: rule 1: an ASN must be an integer 1..4294967295 (13335, not AS13335), got "0"`,
			`asns-bad.yaml:19:16: rule 2: ASN 13335 is already in rule 1 (line 17), so it could never match here`,
		}},
		{"ordering.yaml", geoAll, []string{
			`ordering.yaml:22:7: pool "spare" is not used: no rule and no fallback names it (as in octoDNS)`,
			`ordering.yaml:28:9: rule 2 has subnets and geos, so it must come before every rule with only geos or asns (rule 1); rules go subnets only, then subnets with geos, then geos, then the catch-all`,
			`ordering.yaml:31:9: rule 3 has only subnets, so it must come before every rule with geos or asns (rule 1); rules go subnets only, then subnets with geos, then geos, then the catch-all`,
			`ordering.yaml:31:19: rule 3: subnet 10.1.0.0/16 is inside 10.0.0.0/8 of rule 2 (line 28), which comes first, so it could never match here: put it in an earlier rule`,
			`ordering.yaml:33:9: rule 4 has only subnets, so it must come before every rule with geos or asns (rule 1); rules go subnets only, then subnets with geos, then geos, then the catch-all`,
			`ordering.yaml:33:19: rule 4: subnet 10.0.0.0/8 is already in rule 2 (line 28), so it could never match here`,
			`ordering.yaml:36:15: rule 5: pool "eu" is already used by rule 1; only the catch-all rule may reuse a pool (as in octoDNS)`,
		}},
		{"structure.yaml", geoAll, []string{
			`structure.yaml:6:12: "pools" is empty: give at least one pool`,
			`structure.yaml:7:12: "rules" is empty: give at least a catch-all rule ("- pool: NAME")`,
			`structure.yaml:12:5: dynamic has no "pools"`,
			`structure.yaml:13:15: rule 1: pool "x" is not defined (pools: there are none)`,
			`structure.yaml:19:7: pool "one" has no "values"`,
			`structure.yaml:21:12: pool "two" must be a mapping with "values" (and optionally "fallback"), got a list`,
			`structure.yaml:23:17: pool "three" "values" is empty: give at least one value`,
			`structure.yaml:24:7: pool "four" is not used: no rule and no fallback names it (as in octoDNS)`,
			`structure.yaml:26:13: pool "four" value 1 must be a mapping with "value" (and optionally "weight", "status"), got "192.0.2.4"`,
			`structure.yaml:27:13: pool "four" value 2 has no "value"`,
			`structure.yaml:29:9: rule 1 must be a mapping with "pool" (and optionally "geos", "subnets", "asns"), got "one"`,
			`structure.yaml:30:9: the last rule must be a catch-all (a rule with only a pool, such as "- pool: one"), which answers the clients no other rule matches (as in octoDNS)`,
			`structure.yaml:30:15: rule 2 geos must be a list, got "EU"`,
		}},
		{"many.yaml", CompileOptions{}, []string{
			`many.yaml:8:19: fallback loop: eu -> world -> eu`,
			`many.yaml:11:21: pool "eu" value 1: weight must be an integer 1..100, got "0"`,
			`many.yaml:12:20: A value: "192.0.2.300" is not an IPv4 address`,
			`many.yaml:17:21: pool "world" value 1: status must be up, down or obey, got "sideways"`,
			`many.yaml:19:20: geo code "NA-XX": unknown country "XX" (want an ISO 3166-1 alpha-2 code such as US or GB)`,
			`many.yaml:20:19: rule 1: subnet 192.0.2.1/24 has host bits set; write 192.0.2.0/24`,
			`many.yaml:22:9: the last rule must be a catch-all (a rule with only a pool, such as "- pool: eu"), which answers the clients no other rule matches (as in octoDNS)`,
			`many.yaml:22:16: rule 2: geo EU-GB is inside EU of rule 1 (line 19), which comes first, so it could never match here: put it in an earlier rule`,
			`many.yaml:23:15: rule 2: pool "nowhere" is not defined (pools: eu, world)`,
			`many.yaml:24:1: MX record: "dynamic" is supported only for A, AAAA and CNAME records (as in octoDNS)`,
		}},
		// Health checks: every key of both mappings, and what applies to
		// which protocol.
		{"healthcheck-bad.yaml", geoAll, []string{
			`healthcheck-bad.yaml:14:17: octodns.healthcheck protocol must be HTTP, HTTPS, TCP, UDP, ICMP or DNS, got "https" (protocols are upper case: HTTPS)`,
			`healthcheck-bad.yaml:15:13: octodns.healthcheck port must be an integer 1..65535, got "0"`,
			`healthcheck-bad.yaml:16:13: octodns.healthcheck path must start with /, got "health"`,
			`healthcheck-bad.yaml:17:13: octodns.healthcheck host must be a host name such as www.example.com (or null for the value itself), got "a b"`,
			`healthcheck-bad.yaml:18:7: "interval" goes under octodns.smartdns.healthcheck, not octodns.healthcheck`,
			`healthcheck-bad.yaml:19:7: unknown key "method" in octodns.healthcheck (known: protocol, port, path, host)`,
			`healthcheck-bad.yaml:25:40: octodns.healthcheck port must be an integer 1..65535, got "65536"`,
			`healthcheck-bad.yaml:25:47: warning: octodns.healthcheck path is not used by protocol UDP (octoDNS ignores it too)`,
			`healthcheck-bad.yaml:25:53: octodns.healthcheck path must not hold spaces or control characters (write a space as %20), got "/a b"`,
			`healthcheck-bad.yaml:25:61: warning: octodns.healthcheck host is not used by protocol UDP (octoDNS ignores it too)`,
			`healthcheck-bad.yaml:25:67: octodns.healthcheck host must be a host name such as www.example.com (or null for the value itself), got a list`,
			`healthcheck-bad.yaml:33:19: octodns.smartdns.healthcheck interval must be a duration such as 10s or 500ms, got "10"`,
			`healthcheck-bad.yaml:34:18: octodns.smartdns.healthcheck timeout must be a duration such as 10s or 500ms, got "-1s"`,
			`healthcheck-bad.yaml:35:15: octodns.smartdns.healthcheck rise must be an integer 1..100, got "0"`,
			`healthcheck-bad.yaml:36:15: octodns.smartdns.healthcheck fall must be an integer 1..100, got "101"`,
			`healthcheck-bad.yaml:37:30: octodns.smartdns.healthcheck expect_status: a status code must be an integer 100..599, got "99"`,
			`healthcheck-bad.yaml:37:34: octodns.smartdns.healthcheck expect_status: a status code must be an integer 100..599, got "600"`,
			`healthcheck-bad.yaml:37:39: octodns.smartdns.healthcheck expect_status: a status code must be an integer 100..599, got "abc"`,
			`healthcheck-bad.yaml:37:44: octodns.smartdns.healthcheck expect_status: 200 is listed twice`,
			`healthcheck-bad.yaml:38:22: octodns.smartdns.healthcheck expect_body must be a string, got a list`,
			`healthcheck-bad.yaml:39:21: octodns.smartdns.healthcheck tls_verify must be true or false, got "maybe"`,
			`healthcheck-bad.yaml:40:19: octodns.smartdns.healthcheck headers: set the Host header with octodns.healthcheck host`,
			"healthcheck-bad.yaml:40:28: octodns.smartdns.healthcheck headers: \"bad name\" is not a header name (letters, digits and !#$%&'*+-.^_`|~ only)",
			`healthcheck-bad.yaml:40:48: octodns.smartdns.healthcheck headers: the value of X-A must be a string, got a list`,
			`healthcheck-bad.yaml:40:53: octodns.smartdns.healthcheck headers: "x-a" is the same header as the one at line 40 (header names ignore case)`,
			`healthcheck-bad.yaml:40:68: octodns.smartdns.healthcheck headers: the value of X-B must not hold line breaks or control characters`,
			`healthcheck-bad.yaml:41:9: "protocol" goes under octodns.healthcheck, not octodns.smartdns.healthcheck`,
			`healthcheck-bad.yaml:42:9: unknown key "retries" in octodns.smartdns.healthcheck (known: interval, timeout, rise, fall, expect_status, expect_body, tls_verify, headers, query_name, query_type, payload, payload_hex, expect)`,
			`healthcheck-bad.yaml:49:31: octodns.smartdns.healthcheck interval must be longer than the timeout (2s, the default), got 1s`,
			`healthcheck-bad.yaml:56:44: octodns.smartdns.healthcheck timeout must be shorter than the interval (5s), got 5s`,
			`healthcheck-bad.yaml:63:31: octodns.smartdns.healthcheck interval must be 1s..1h, got "500ms"`,
			`healthcheck-bad.yaml:63:47: octodns.smartdns.healthcheck timeout must be shorter than the interval (10s), got 2h`,
			`healthcheck-bad.yaml:63:57: octodns.smartdns.healthcheck rise must be an integer 1..100, got "1.5"`,
			`healthcheck-bad.yaml:63:68: octodns.smartdns.healthcheck fall must be an integer 1..100, got ""`,
			`healthcheck-bad.yaml:63:87: octodns.smartdns.healthcheck expect_status is empty: give at least one status code (default [200])`,
			`healthcheck-bad.yaml:71:21: octodns.smartdns.healthcheck expect_status applies only to protocols HTTP and HTTPS, and this record's protocol is TCP`,
			`healthcheck-bad.yaml:71:43: octodns.smartdns.healthcheck tls_verify applies only to protocol HTTPS, and this record's protocol is TCP`,
			`healthcheck-bad.yaml:71:62: octodns.smartdns.healthcheck query_name applies only to protocol DNS, and this record's protocol is TCP`,
			`healthcheck-bad.yaml:71:91: octodns.smartdns.healthcheck headers applies only to protocols HTTP and HTTPS, and this record's protocol is TCP`,
			`healthcheck-bad.yaml:79:21: octodns.smartdns.healthcheck tls_verify applies only to protocol HTTPS, and this record's protocol is HTTP`,
			`healthcheck-bad.yaml:79:39: octodns.smartdns.healthcheck query_type applies only to protocol DNS, and this record's protocol is HTTP`,
			`healthcheck-bad.yaml:87:33: octodns.smartdns.healthcheck query_name must be a domain name such as www.example.com, got "bad..name"`,
			`healthcheck-bad.yaml:87:58: octodns.smartdns.healthcheck query_type must be a record type such as A, AAAA or SOA, got "ANY"`,
			`healthcheck-bad.yaml:87:63: octodns.smartdns.healthcheck expect_body applies only to protocols HTTP and HTTPS, and this record's protocol is DNS`,
			`healthcheck-bad.yaml:95:33: octodns.smartdns.healthcheck query_name must be a domain name such as www.example.com, got a list`,
			`healthcheck-bad.yaml:95:50: octodns.smartdns.healthcheck query_type must be a record type such as A, AAAA or SOA, got "BOGUS"`,
			`healthcheck-bad.yaml:101:18: octodns.healthcheck must be a mapping (with protocol, port, path, host), got a list`,
			`healthcheck-bad.yaml:103:20: octodns.smartdns.healthcheck must be a mapping (with interval, timeout, rise, fall, expect_status, expect_body, tls_verify, headers, query_name, query_type, payload, payload_hex, expect), got "yes"`,
			`healthcheck-bad.yaml:109:29: octodns.healthcheck protocol must be HTTP, HTTPS, TCP, UDP, ICMP or DNS, got nothing`,
			`healthcheck-bad.yaml:111:30: octodns.smartdns.healthcheck headers must be a mapping of header names to values, got a list`,
			`healthcheck-bad.yaml:111:50: octodns.smartdns.healthcheck expect_status must be a list, got "200"`,
			`healthcheck-bad.yaml:119:49: octodns.smartdns.healthcheck: give payload or payload_hex, not both`,
			`healthcheck-bad.yaml:119:55: unknown key "expected" in octodns.smartdns.healthcheck (known: interval, timeout, rise, fall, expect_status, expect_body, tls_verify, headers, query_name, query_type, payload, payload_hex, expect)`,
			`healthcheck-bad.yaml:119:79: octodns.smartdns.healthcheck expect must be a string, got a list`,
			`healthcheck-bad.yaml:119:87: octodns.smartdns.healthcheck expect_body applies only to protocols HTTP and HTTPS, and this record's protocol is UDP`,
			`healthcheck-bad.yaml:127:34: octodns.smartdns.healthcheck payload_hex must be bytes in hex such as "0a ff 00", got "zz 0"`,
			`healthcheck-bad.yaml:135:30: octodns.smartdns.healthcheck payload must be a string, got a list`,
			`healthcheck-bad.yaml:143:21: octodns.smartdns.healthcheck payload applies only to protocol UDP, and this record's protocol is HTTP`,
			`healthcheck-bad.yaml:143:36: octodns.smartdns.healthcheck expect applies only to protocol UDP, and this record's protocol is HTTP`,
			`healthcheck-bad.yaml:143:50: octodns.smartdns.healthcheck payload_hex applies only to protocol UDP, and this record's protocol is HTTP`,
			`healthcheck-bad.yaml:143:63: octodns.smartdns.healthcheck: give payload or payload_hex, not both`,
		}},
		// Problems in an !included dynamic block are reported in that file.
		{"include.yaml", geoAll, []string{
			`include/dynamic.yaml:6:16: A value: "192.0.2.256" is not an IPv4 address`,
		}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			dir := filepath.Join("testdata", "dynamic")
			z, probs := dynCompile(t, filepath.Join(dir, tc.file), "example.com.", tc.opt)
			if z != nil {
				t.Errorf("the zone compiled despite its errors")
			}
			var got []string
			for _, p := range probs {
				got = append(got, strings.TrimPrefix(p.Error(), dir+string(filepath.Separator)))
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
}

// A dynamic record without a ttl gets 60 s, for its pool answers and its
// backup values; an explicit ttl is kept; static records keep 3600.
func TestDynamicTTL(t *testing.T) {
	z, probs := dynCompile(t, "testdata/dynamic/ttl.yaml", "example.com.", CompileOptions{})
	if z == nil || len(probs) > 0 {
		t.Fatal(probs)
	}
	for _, tc := range []struct {
		name string
		ttl  uint32
	}{{"default.example.com.", 60}, {"explicit.example.com.", 300}, {"static.example.com.", 3600}} {
		s := dynSet(t, z, tc.name, dns.TypeA)
		if s.TTL != tc.ttl {
			t.Errorf("%s: RRset TTL %d, want %d", tc.name, s.TTL, tc.ttl)
		}
		if s.Dynamic != nil && s.Dynamic.TTL != tc.ttl {
			t.Errorf("%s: dynamic TTL %d, want %d", tc.name, s.Dynamic.TTL, tc.ttl)
		}
	}
	// The reader says whether ttl was given.
	recs, _ := octodns.ParseFile("testdata/dynamic/ttl.yaml", "example.com.")
	for _, r := range recs {
		if want := r.Name == "explicit.example.com."; r.TTLSet != want {
			t.Errorf("%s: TTLSet %v, want %v", r.Name, r.TTLSet, want)
		}
	}
}

// The smartdns extensions under octodns.smartdns, and the octoDNS features
// around them, compile to the pool.Record the answer code uses.
func TestDynamicExtensions(t *testing.T) {
	z, probs := dynCompile(t, "testdata/dynamic/extensions.yaml", "example.com.", CompileOptions{GeoASN: true, GeoCoords: true})
	if z == nil || len(probs) > 0 {
		t.Fatal(probs)
	}
	d := dynSet(t, z, "www.example.com.", dns.TypeA).Dynamic
	if d.Answers != 2 || d.Policy != pool.Closest || d.Exhausted != pool.ExhaustNoData || d.TTL != 60 {
		t.Errorf("answers %d policy %v exhausted %v ttl %d, want 2 closest nodata 60", d.Answers, d.Policy, d.Exhausted, d.TTL)
	}
	if got, want := dynPoolNames(d), []string{"office", "cdn", "eu", "us", "world"}; !reflect.DeepEqual(got, want) {
		t.Errorf("pools %v, want %v", got, want)
	}
	if got, want := dynRuleDesc(d), []string{"office:10.0.0.0/8,2001:db8:1::/48", "cdn:AS64496", "eu:EU-GB,EU-FR", "us:NA", "world:"}; !reflect.DeepEqual(got, want) {
		t.Errorf("rules %v, want %v", got, want)
	}
	var fb []int
	for _, p := range d.Pools {
		fb = append(fb, p.Fallback)
	}
	if want := []int{-1, 2, 4, -1, -1}; !reflect.DeepEqual(fb, want) {
		t.Errorf("fallbacks %v, want %v", fb, want)
	}
	eu := d.Pools[2].Values
	if eu[0].Weight != 3 || eu[0].Status != pool.Obey || eu[1].Weight != 1 || eu[1].Status != pool.Down {
		t.Errorf("eu values %+v", eu)
	}
	if v := d.Pools[1].Values[0]; v.Status != pool.Up {
		t.Errorf("cdn status %v, want up", v.Status)
	}
	us := d.Pools[3].Values
	if us[0].Weight != 2 || us[1].Status != pool.Obey || us[1].Weight != 1 {
		t.Errorf("us values %+v", us)
	}
	if v := eu[0]; !v.HasLocation || v.Lat != 50.1109 || v.Lon != 8.6821 {
		t.Errorf("192.0.2.10 location %v %v %v", v.HasLocation, v.Lat, v.Lon)
	}
	for _, p := range d.Pools {
		for _, v := range p.Values {
			if !v.HasLocation {
				t.Errorf("%s has no location", v.Text)
			}
		}
	}
	if got := dynTexts(d.Backup); !reflect.DeepEqual(got, []string{"192.0.2.1", "192.0.2.2"}) {
		t.Errorf("backup %v", got)
	}
	if want := (geo.Code{Continent: "EU", Country: "GB"}); d.Rules[2].Geos[0] != want {
		t.Errorf("geo %+v, want %+v", d.Rules[2].Geos[0], want)
	}

	// The compiled record answers: a client in 10/8 is sent to the office
	// pool whatever its location, with the rule's /8 as the ECS scope.
	var a pool.Answer
	d.Pick(pool.Client{Addr: netip.MustParseAddr("10.1.2.3"), Bits: 32}, nil, nil, time.Now(), &a)
	if a.Pool != 0 || a.N != 1 || a.Values[0].Text != "10.0.0.1" || a.Scope != 8 {
		t.Errorf("pick for 10.1.2.3: pool %d, %d values, scope %d", a.Pool, a.N, a.Scope)
	}
}

// Each policy and exhausted mode, the defaults, YAML aliases, and CNAME
// values kept lower case as the record's own value is.
func TestDynamicModes(t *testing.T) {
	z, probs := dynCompile(t, "testdata/dynamic/modes.yaml", "example.com.", CompileOptions{})
	if z == nil || len(probs) > 0 {
		t.Fatal(probs)
	}
	for _, tc := range []struct {
		name    string
		policy  pool.Policy
		exhaust pool.Exhausted
		answers int
	}{
		{"weighted", pool.Weighted, pool.ExhaustBackup, 1},
		{"priority", pool.Priority, pool.ExhaustAll, 1},
		{"sticky", pool.Sticky, pool.ExhaustBackup, 16},
		{"none", pool.Weighted, pool.ExhaustBackup, 1},
	} {
		d := dynSet(t, z, tc.name+".example.com.", dns.TypeA).Dynamic
		if d.Policy != tc.policy || d.Exhausted != tc.exhaust || d.Answers != tc.answers {
			t.Errorf("%s: policy %v exhausted %v answers %d, want %v %v %d", tc.name, d.Policy, d.Exhausted, d.Answers, tc.policy, tc.exhaust, tc.answers)
		}
		if got := dynTexts(d.Pools[0].Values); !reflect.DeepEqual(got, []string{"192.0.2.10"}) {
			t.Errorf("%s: values %v", tc.name, got)
		}
	}
	s := dynSet(t, z, "cname.example.com.", dns.TypeCNAME)
	d := s.Dynamic
	if v := d.Pools[0].Values[0]; v.Text != "web.example.net." || string(v.Rdata) != "\x03web\x07example\x03net\x00" {
		t.Errorf("CNAME value %q %q", v.Text, v.Rdata)
	}
	if b := d.Backup[0]; b.Text != "backup.example.net." || string(b.Rdata) != string(s.Data[0]) {
		t.Errorf("CNAME backup %q %q", b.Text, b.Rdata)
	}
}

// The reader reports the errors of a dynamic block itself, at the record's
// file: check and the docs test catch them without compiling.
func TestDynamicErrorsFromReader(t *testing.T) {
	_, probs := octodns.Parse("zone.yaml", "example.com.", []byte("www:\n  type: A\n  value: 192.0.2.1\n  dynamic:\n    pools: {}\n    rules: [{pool: a}]\n"))
	want := []string{
		`zone.yaml:5:12: "pools" is empty: give at least one pool`,
		`zone.yaml:6:20: rule 1: pool "a" is not defined (pools: there are none)`,
	}
	var got []string
	for _, p := range probs {
		got = append(got, p.Error())
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

// Every YAML example of dynamic records in docs/zone-format.md compiles
// without a single problem (test/docs only parses them).
func TestDynamicDocExamples(t *testing.T) {
	data, err := os.ReadFile("../docs/zone-format.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks := regexp.MustCompile("(?s)```yaml\n(.*?)```").FindAllStringSubmatch(string(data), -1)
	n := 0
	for i, m := range blocks {
		if !strings.Contains(m[1], "dynamic:") {
			continue
		}
		n++
		name := "zone-format.md#" + strconv.Itoa(i+1)
		recs, probs := octodns.Parse(name, "example.com.", []byte(m[1]))
		_, cprobs := Compile("example.com.", name, recs, CompileOptions{Nameservers: []string{"ns1.example.com."}, GeoASN: true, GeoCoords: true, Members: &pool.Members{}})
		if probs = append(probs, cprobs...); len(probs) > 0 {
			t.Errorf("%s:\n%v", name, probs)
		}
	}
	if n == 0 {
		t.Fatal("no dynamic examples found in docs/zone-format.md")
	}
}

// FuzzDynamic compiles arbitrary dynamic records: it must never panic, and
// what compiles must be consistent.
func FuzzDynamic(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "dynamic", "*.yaml"))
	more, _ := filepath.Glob(filepath.Join("octodns", "testdata", "octodns", "*dynamic*.yaml"))
	for _, file := range append(files, more...) {
		if data, err := os.ReadFile(file); err == nil {
			f.Add(data)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		recs, _ := octodns.Parse("fuzz.yaml", "example.com.", data)
		z, probs := Compile("example.com.", "fuzz.yaml", recs, CompileOptions{Nameservers: []string{"ns1.example.com."}, GeoASN: true, GeoCoords: true, Members: &pool.Members{}})
		for _, p := range probs {
			if p.Pos.File == "" || p.Msg == "" {
				t.Fatalf("problem without file or message: %#v", p)
			}
		}
		if z == nil {
			return
		}
		for name, n := range z.nodes {
			for _, s := range n.Sets {
				d := s.Dynamic
				if d == nil {
					continue
				}
				if len(d.Pools) == 0 || len(d.Rules) == 0 || !d.Rules[len(d.Rules)-1].CatchAll() || d.TTL != s.TTL {
					t.Fatalf("inconsistent dynamic record at %s: %+v", zonefile.PresentName(name), d)
				}
				for _, p := range d.Pools {
					if len(p.Values) == 0 || p.Fallback >= len(d.Pools) {
						t.Fatalf("bad pool %+v", p)
					}
					for _, v := range p.Values {
						if (v.Status == pool.Obey) != (v.Check != nil && v.Member >= 0) {
							t.Fatalf("value %s, status %v: member %d check %+v", v.Text, v.Status, v.Member, v.Check)
						}
						if c := v.Check; c != nil && (c.Timeout <= 0 || c.Timeout >= c.Interval || c.Rise < 1 || c.Fall < 1 || c.Address == "") {
							t.Fatalf("value %s: bad check %+v", v.Text, c)
						}
					}
				}
				var a pool.Answer
				d.Pick(pool.Client{Addr: netip.MustParseAddr("192.0.2.1"), Bits: 32}, nil, nil, time.Now(), &a)
			}
		}
	})
}

// dynHealthDown is a view with every member down (the registries of
// these tests hold far fewer than 1024).
func dynHealthDown() *pool.View {
	states := make([]pool.State, 1024)
	for i := range states {
		states[i] = pool.Unhealthy
	}
	var t pool.HealthTable
	t.Publish(states)
	return t.View()
}

// dynFind finds value text in pool p of a dynamic record.
func dynFind(t *testing.T, d *pool.Record, p int, text string) *pool.Value {
	t.Helper()
	for i := range d.Pools[p].Values {
		if v := &d.Pools[p].Values[i]; v.Text == text {
			return v
		}
	}
	t.Fatalf("pool %d has no value %s", p, text)
	return nil
}

// Every obey value gets its check: octoDNS's defaults and keys, smartdns's
// settings, resolved per protocol; status up and down values and the
// backup are never probed; equal checks are one member.
func TestDynamicHealthChecks(t *testing.T) {
	m := &pool.Members{}
	z, probs := dynCompile(t, "testdata/dynamic/healthcheck.yaml", "example.com.", CompileOptions{Members: m})
	if z == nil || len(probs) > 0 {
		t.Fatal(probs)
	}
	rec := func(name string, typ uint16) *pool.Record { return dynSet(t, z, name+".example.com.", typ).Dynamic }
	want := func(v *pool.Value, c pool.Check) {
		t.Helper()
		if v.Check == nil || v.Member < 0 {
			t.Fatalf("%s: not probed (member %d)", v.Text, v.Member)
		}
		if !reflect.DeepEqual(*v.Check, c) {
			t.Errorf("%s: check\n%+v, want\n%+v", v.Text, *v.Check, c)
		}
		if m.Check(v.Member) != v.Check {
			t.Errorf("%s: member %d is not the value's check", v.Text, v.Member)
		}
	}
	notProbed := func(v *pool.Value) {
		t.Helper()
		if v.Check != nil || v.Member != -1 {
			t.Errorf("%s (status %v): probed as member %d, %+v", v.Text, v.Status, v.Member, v.Check)
		}
	}
	base := pool.Check{Protocol: "HTTPS", Port: 443, Path: "/_dns", Interval: 10 * time.Second, Timeout: 2 * time.Second,
		Rise: 2, Fall: 3, ExpectStatus: []int{200}, TLSVerify: true}

	// octoDNS's defaults: HTTPS, port 443, /_dns, Host the record's name.
	d := rec("defaults", dns.TypeA)
	c := base
	c.Address, c.Host = "192.0.2.10", "defaults.example.com"
	want(dynFind(t, d, 0, "192.0.2.10"), c)
	c.Address = "192.0.2.13" // status: obey, written
	want(dynFind(t, d, 0, "192.0.2.13"), c)
	notProbed(dynFind(t, d, 0, "192.0.2.11")) // up
	notProbed(dynFind(t, d, 0, "192.0.2.12")) // down
	for i := range d.Backup {
		notProbed(&d.Backup[i])
	}

	// host: null sends the value itself; AAAA values as netip prints them.
	c = base
	c.Address, c.Host, c.Path = "2001:db8::10", "", "/ping"
	want(&rec("host-null", dns.TypeAAAA).Pools[0].Values[0], c)

	// Every key of both mappings.
	http := pool.Check{Protocol: "HTTP", Address: "192.0.2.20", Port: 8080, Host: "www.example.com", Path: "/health",
		Interval: 5 * time.Second, Timeout: 1500 * time.Millisecond, Rise: 1, Fall: 5, ExpectStatus: []int{200, 204},
		ExpectBody: "OK", Headers: map[string]string{"X-Probe": "smartdns", "Authorization": "Bearer t0ken"}}
	d = rec("http", dns.TypeA)
	a20, b20 := dynFind(t, d, 0, "192.0.2.20"), dynFind(t, d, 1, "192.0.2.20")
	want(a20, http)
	http.Address = "192.0.2.21"
	want(dynFind(t, d, 0, "192.0.2.21"), http)
	// The same target in two pools, and in another record with the same
	// settings, is one member.
	same := dynFind(t, rec("same", dns.TypeA), 1, "192.0.2.20")
	if a20.Member != b20.Member || a20.Member != same.Member || a20.Check != same.Check {
		t.Errorf("192.0.2.20: members %d %d %d, want one", a20.Member, b20.Member, same.Member)
	}
	if dynFind(t, d, 0, "192.0.2.21").Member == a20.Member {
		t.Errorf("two targets share member %d", a20.Member)
	}

	// host: "" is host: null (octoDNS: `or value`); tls_verify.
	c = base
	c.Address, c.Host, c.TLSVerify, c.ExpectStatus, c.Rise = "192.0.2.20", "", false, []int{200, 301}, 3
	want(dynFind(t, rec("https", dns.TypeA), 0, "192.0.2.20"), c)

	// DNS: port 53, the record's name, type A; or as given.
	dnsCheck := pool.Check{Protocol: "DNS", Address: "192.0.2.53", Port: 53, Interval: 10 * time.Second, Timeout: 2 * time.Second,
		Rise: 2, Fall: 3, DNSName: "dns.example.com.", DNSType: dns.TypeA}
	want(&rec("dns", dns.TypeA).Pools[0].Values[0], dnsCheck)
	dnsCheck.Port, dnsCheck.DNSName, dnsCheck.DNSType = 5353, "probe.example.net.", dns.TypeAAAA
	want(&rec("dns-set", dns.TypeA).Pools[0].Values[0], dnsCheck)

	// TCP: octoDNS's port 443; ICMP: no port. Neither keeps HTTP settings.
	want(&rec("tcp", dns.TypeA).Pools[0].Values[0], pool.Check{Protocol: "TCP", Address: "192.0.2.30", Port: 443,
		Interval: 30 * time.Second, Timeout: 3 * time.Second, Rise: 2, Fall: 3})
	want(&rec("icmp", dns.TypeA).Pools[0].Values[0], pool.Check{Protocol: "ICMP", Address: "192.0.2.40",
		Interval: 10 * time.Second, Timeout: 2 * time.Second, Rise: 2, Fall: 3})

	// UDP: the payload (text, or bytes from hex) and the expected reply;
	// an empty datagram and any reply by default. Equal addresses with
	// other payloads are other targets.
	udpCheck := pool.Check{Protocol: "UDP", Address: "192.0.2.60", Port: 5000, Interval: 10 * time.Second, Timeout: 2 * time.Second,
		Rise: 2, Fall: 3, Payload: "status\n", ExpectReply: "ok"}
	udp := &rec("udp", dns.TypeA).Pools[0].Values[0]
	want(udp, udpCheck)
	udpCheck.Payload, udpCheck.ExpectReply = "\xff\xff\x00\n", ""
	udpHex := &rec("udp-hex", dns.TypeA).Pools[0].Values[0]
	want(udpHex, udpCheck)
	udpCheck.Payload = ""
	udpDefaults := &rec("udp-defaults", dns.TypeA).Pools[0].Values[0]
	want(udpDefaults, udpCheck)
	if udp.Member == udpHex.Member || udp.Member == udpDefaults.Member || udpHex.Member == udpDefaults.Member {
		t.Errorf("UDP checks with other payloads share a member: %d %d %d", udp.Member, udpHex.Member, udpDefaults.Member)
	}

	// CNAME values are host names, probed without the trailing dot.
	c = base
	c.Address, c.Host = "web.example.net", "cname.example.com"
	want(&rec("cname", dns.TypeCNAME).Pools[0].Values[0], c)

	// Prepare collected the probed members: while they are down, answers
	// carry no more than the probe interval as TTL.
	for _, tc := range []struct {
		name string
		ttl  uint32
	}{{"defaults", 10}, {"http", 5}, {"tcp", 30}} {
		d := rec(tc.name, dns.TypeA)
		if got := d.TTLCap(dynHealthDown()); got != tc.ttl {
			t.Errorf("%s: TTL cap %d while down, want %d", tc.name, got, tc.ttl)
		}
		if got := d.TTLCap(nil); got != octodns.DynamicTTL {
			t.Errorf("%s: TTL cap %d without health, want %d", tc.name, got, octodns.DynamicTTL)
		}
	}

	// A reload with the same registry keeps every id.
	z2, probs := dynCompile(t, "testdata/dynamic/healthcheck.yaml", "example.com.", CompileOptions{Members: m})
	if z2 == nil || len(probs) > 0 {
		t.Fatal(probs)
	}
	for _, name := range []string{"defaults", "http", "dns", "dns-set", "tcp", "icmp"} {
		v1, v2 := rec(name, dns.TypeA).Pools[0].Values[0], dynSet(t, z2, name+".example.com.", dns.TypeA).Dynamic.Pools[0].Values[0]
		if v1.Member != v2.Member {
			t.Errorf("%s: member %d after a reload, was %d", name, v2.Member, v1.Member)
		}
	}
}

// Without a Members registry probing is off: nothing gets a check, and
// obey values are served whatever a Health says.
func TestDynamicHealthChecksOff(t *testing.T) {
	for _, f := range []string{"healthcheck.yaml", "healthcheck-icmp.yaml"} {
		z, probs := dynCompile(t, "testdata/dynamic/"+f, "example.com.", CompileOptions{
			ProbeICMP: func() error { t.Error("ProbeICMP asked with probing off"); return nil },
		})
		if z == nil || len(probs) > 0 {
			t.Fatal(probs)
		}
		for _, n := range z.nodes {
			for _, s := range n.Sets {
				d := s.Dynamic
				if d == nil {
					continue
				}
				for _, p := range d.Pools {
					for _, v := range p.Values {
						if v.Member != -1 || v.Check != nil {
							t.Errorf("%s: member %d check %+v with probing off", v.Text, v.Member, v.Check)
						}
					}
				}
				var a pool.Answer
				d.Pick(pool.Client{Addr: netip.MustParseAddr("192.0.2.1"), Bits: 32}, nil, dynHealthDown(), time.Now(), &a)
				if a.Backup || a.NoData || a.N == 0 {
					t.Errorf("%s: answered %+v, want a pool value", zonefile.PresentName(n.Name), a)
				}
				if d.TTLCap(dynHealthDown()) != d.TTL {
					t.Errorf("%s: TTL capped with nothing probed", zonefile.PresentName(n.Name))
				}
			}
		}
	}
}

// When ICMP probes cannot run, a record that would need them is refused
// at its protocol, with ProbeICMP's text; one with nothing to probe is not.
func TestDynamicHealthCheckICMP(t *testing.T) {
	const msg = "ICMP probes need unprivileged ping sockets (net.ipv4.ping_group_range) or root: socket: permission denied"
	asked := 0
	refuse := func() error { asked++; return errors.New(msg) }
	z, probs := dynCompile(t, "testdata/dynamic/healthcheck-icmp.yaml", "example.com.", CompileOptions{Members: &pool.Members{}, ProbeICMP: refuse})
	var got []string
	for _, p := range probs {
		got = append(got, p.Error())
	}
	if want := []string{"testdata/dynamic/healthcheck-icmp.yaml:16:17: " + msg}; z != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
	if asked != 1 {
		t.Errorf("ProbeICMP asked %d times, want 1", asked)
	}
	for _, probe := range []func() error{nil, func() error { return nil }} {
		z, probs := dynCompile(t, "testdata/dynamic/healthcheck-icmp.yaml", "example.com.", CompileOptions{Members: &pool.Members{}, ProbeICMP: probe})
		if z == nil || len(probs) > 0 {
			t.Fatal(probs)
		}
		if v := dynSet(t, z, "ping.example.com.", dns.TypeA).Dynamic.Pools[0].Values[0]; v.Check == nil || v.Check.Protocol != "ICMP" {
			t.Errorf("ping: check %+v", v.Check)
		}
	}
}

// octoDNS's keys that the protocol does not use are ignored, as octoDNS
// ignores them, with a warning; so is HTTP or UDP on octoDNS's port 443.
func TestDynamicHealthCheckWarnings(t *testing.T) {
	z, probs := dynCompile(t, "testdata/dynamic/healthcheck-warn.yaml", "example.com.", CompileOptions{Members: &pool.Members{}})
	if z == nil {
		t.Fatal(probs)
	}
	var got []string
	for _, p := range probs {
		got = append(got, strings.TrimPrefix(p.Error(), "testdata/dynamic/"))
	}
	want := []string{
		`healthcheck-warn.yaml:15:34: warning: octodns.healthcheck path is not used by protocol TCP (octoDNS ignores it too)`,
		`healthcheck-warn.yaml:15:49: warning: octodns.healthcheck host is not used by protocol TCP (octoDNS ignores it too)`,
		`healthcheck-warn.yaml:21:35: warning: octodns.healthcheck port is not used by protocol ICMP (octoDNS ignores it too)`,
		`healthcheck-warn.yaml:27:29: warning: octodns.healthcheck protocol HTTP without a port probes port 443, as octoDNS does: give port: 80 if the service listens there`,
		`healthcheck-warn.yaml:33:29: warning: octodns.healthcheck protocol UDP without a port probes port 443, as octoDNS does: give the port the service listens on`,
		`healthcheck-warn.yaml:33:34: warning: octodns.healthcheck path is not used by protocol UDP (octoDNS ignores it too)`,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	tcp := dynSet(t, z, "tcp.example.com.", dns.TypeA).Dynamic.Pools[0].Values[0].Check
	if tcp.Port != 22 || tcp.Host != "" || tcp.Path != "" {
		t.Errorf("tcp check %+v, want port 22 without host or path", tcp)
	}
	if icmp := dynSet(t, z, "icmp.example.com.", dns.TypeA).Dynamic.Pools[0].Values[0].Check; icmp.Port != 0 {
		t.Errorf("icmp check %+v, want no port", icmp)
	}
	if http := dynSet(t, z, "http.example.com.", dns.TypeA).Dynamic.Pools[0].Values[0].Check; http.Port != 443 || http.Host != "http.example.com" {
		t.Errorf("http check %+v, want port 443, host http.example.com", http)
	}
	if udp := dynSet(t, z, "udp.example.com.", dns.TypeA).Dynamic.Pools[0].Values[0].Check; udp.Port != 443 || udp.Path != "" {
		t.Errorf("udp check %+v, want port 443 without a path", udp)
	}
}

// A 100-value pool compiles cleanly and every one of its values is
// answered (pools were silently cut to their first 64 values).
func TestDynamicLargePoolAnswersEveryValue(t *testing.T) {
	var b strings.Builder
	b.WriteString("---\nbig:\n  type: A\n  values: [192.0.2.1]\n  dynamic:\n    pools:\n      p:\n        values:\n")
	for i := 0; i < 100; i++ {
		b.WriteString("          - {value: 10.0.0." + strconv.Itoa(i+1) + "}\n")
	}
	b.WriteString("    rules:\n      - pool: p\n")
	file := filepath.Join(t.TempDir(), "big.example.yaml")
	if err := os.WriteFile(file, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	z, probs := dynCompile(t, file, "big.example.", CompileOptions{})
	if len(probs) > 0 {
		t.Fatalf("problems: %v", probs)
	}
	d := dynSet(t, z, "big.big.example.", dns.TypeA).Dynamic
	seen := map[string]bool{}
	var a pool.Answer
	now := time.Now()
	for i := 0; i < 5000; i++ {
		d.Pick(pool.Client{Addr: netip.MustParseAddr("198.51.100.7"), Bits: 32}, nil, nil, now, &a)
		seen[a.Values[0].Text] = true
	}
	if len(seen) != 100 {
		t.Fatalf("%d of 100 values answered", len(seen))
	}
}
