package octodns

import (
	"encoding/binary"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/miekg/dns"

	"github.com/smartdns/smartdns/internal/diag"
	"github.com/smartdns/smartdns/zones/zonefile"
)

// The -update flag rewrites golden files. It is defined only if another
// test file in the package has not defined it already.
func init() {
	if flag.Lookup("update") == nil {
		flag.Bool("update", false, "rewrite golden files under testdata/")
	}
}

func updating() bool {
	f := flag.Lookup("update")
	return f != nil && f.Value.String() == "true"
}

// dump renders records and problems one per line: RRs as rr.String(),
// an ALIAS as "name ttl IN ALIAS target", a record with a dynamic block
// followed by a "; dynamic" note.
func dump(recs []zonefile.Record, probs diag.Problems) string {
	var b strings.Builder
	for _, r := range recs {
		if r.Type == zonefile.TypeALIAS {
			fmt.Fprintf(&b, "%s\t%d\tIN\tALIAS\t%s\n", r.Name, r.TTL, r.Target)
		}
		for _, rr := range r.RRs {
			b.WriteString(rr.String())
			b.WriteByte('\n')
		}
		if r.Dynamic != nil {
			fmt.Fprintf(&b, "; %s %s is dynamic: %d pools, %d rules\n", r.Name, dns.TypeToString[r.Type], len(r.Dynamic.Record.Pools), len(r.Dynamic.Record.Rules))
		}
	}
	for _, p := range probs {
		b.WriteString(p.Error())
		b.WriteByte('\n')
	}
	return b.String()
}

func checkGolden(t *testing.T, golden, got string) {
	t.Helper()
	if updating() {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs (run go test -update to accept):\n--- got\n%s--- want\n%s", golden, got, want)
	}
}

func TestOctoDNSGolden(t *testing.T) {
	for _, tc := range []struct{ file, origin string }{
		{"unit.tests.yaml", "unit.tests."},
		{"subzone.unit.tests.yaml", "subzone.unit.tests."},
		{"dynamic.tests.yaml", "dynamic.tests."},
		{"all-types.yaml", "example.com."},
		{"include/zone.yaml", "example.com."},
		{"include/bad.yaml", "example.com."},
	} {
		t.Run(tc.file, func(t *testing.T) {
			path := filepath.Join("testdata", "octodns", tc.file)
			recs, probs := ParseFile(path, tc.origin)
			checkGolden(t, strings.TrimSuffix(path, ".yaml")+".golden", dump(recs, probs))
		})
	}
}

// rrStrings maps "name TYPE" to the rr.String() of each RR.
func rrStrings(recs []zonefile.Record) map[string][]string {
	m := map[string][]string{}
	for _, r := range recs {
		k := r.Name + " " + dns.TypeToString[r.Type]
		if r.Type == zonefile.TypeALIAS {
			k = r.Name + " ALIAS"
		}
		for _, rr := range r.RRs {
			m[k] = append(m[k], rr.String())
		}
	}
	return m
}

func TestOctoDNSUnitTests(t *testing.T) {
	path := filepath.Join("testdata", "octodns", "unit.tests.yaml")
	recs, probs := ParseFile(path, "unit.tests.")
	if probs.HasErrors() {
		t.Fatalf("errors:\n%v", probs.Errors())
	}
	wantWarn := []string{
		path + `:3:5: warning: legacy "geo" key ignored: smartdns serves the record's values to every client (octoDNS's "dynamic" replaces "geo")`,
		path + `:184:9: warning: type "URLFWD" has no DNS wire form; smartdns ignores records of this type`,
	}
	var gotWarn []string
	for _, p := range probs {
		gotWarn = append(gotWarn, p.Error())
	}
	if !reflect.DeepEqual(gotWarn, wantWarn) {
		t.Errorf("warnings:\n%s\nwant:\n%s", strings.Join(gotWarn, "\n"), strings.Join(wantWarn, "\n"))
	}

	got := rrStrings(recs)
	for key, want := range map[string][]string{
		"unit.tests. A": {
			"unit.tests.\t300\tIN\tA\t1.2.3.4",
			"unit.tests.\t300\tIN\tA\t1.2.3.5",
		},
		"unit.tests. NS": {
			"unit.tests.\t3600\tIN\tNS\t6.2.3.4.",
			"unit.tests.\t3600\tIN\tNS\t7.2.3.4.",
		},
		"unit.tests. CAA":   {"unit.tests.\t3600\tIN\tCAA\t0 issue \"ca.unit.tests\""},
		"unit.tests. SSHFP": {"unit.tests.\t3600\tIN\tSSHFP\t1 1 BF6B6825D2977C511A475BBEFB88AAD54A92AC73", "unit.tests.\t3600\tIN\tSSHFP\t1 1 7491973E5F8B39D5327CD4E08BC81B05F7710B49"},
		"txt.unit.tests. TXT": {
			"txt.unit.tests.\t600\tIN\tTXT\t\"Bah bah black sheep\"",
			"txt.unit.tests.\t600\tIN\tTXT\t\"have you any wool.\"",
			"txt.unit.tests.\t600\tIN\tTXT\t\"v=DKIM1;k=rsa;s=email;h=sha256;p=A/kinda+of/long/string+with+numb3rs\"",
		},
		"spf.unit.tests. SPF": {"spf.unit.tests.\t600\tIN\tSPF\t\"v=spf1 ip4:192.168.0.1/16-all\""},
		"loc.unit.tests. LOC": {
			"loc.unit.tests.\t300\tIN\tLOC\t31 58 52.100 S 115 49 11.700 E 20m 10m 10m 2m",
			"loc.unit.tests.\t300\tIN\tLOC\t53 13 10.000 N 02 18 26.000 W 20m 10m 1000m 2m",
		},
		"mx.unit.tests. MX": {
			"mx.unit.tests.\t300\tIN\tMX\t40 smtp-1.unit.tests.",
			"mx.unit.tests.\t300\tIN\tMX\t20 smtp-2.unit.tests.",
			"mx.unit.tests.\t300\tIN\tMX\t30 smtp-3.unit.tests.",
			"mx.unit.tests.\t300\tIN\tMX\t10 smtp-4.unit.tests.", // legacy priority + value
		},
		"naptr.unit.tests. NAPTR": {
			"naptr.unit.tests.\t600\tIN\tNAPTR\t100 100 \"U\" \"SIP+D2U\" \"!^.*$!sip:info@bar.example.com!\" .",
			"naptr.unit.tests.\t600\tIN\tNAPTR\t10 100 \"S\" \"SIP+D2U\" \"!^.*$!sip:info@bar.example.com!\" .",
		},
		"_srv._tcp.unit.tests. SRV": {
			"_srv._tcp.unit.tests.\t600\tIN\tSRV\t12 20 30 foo-2.unit.tests.",
			"_srv._tcp.unit.tests.\t600\tIN\tSRV\t10 20 30 foo-1.unit.tests.",
		},
		"_imap._tcp.unit.tests. SRV": {"_imap._tcp.unit.tests.\t600\tIN\tSRV\t0 0 0 ."},
		"aaaa.unit.tests. AAAA":      {"aaaa.unit.tests.\t600\tIN\tAAAA\t2601:644:500:e210:62f8:1dff:feb8:947a"},
		"cname.unit.tests. CNAME":    {"cname.unit.tests.\t300\tIN\tCNAME\tunit.tests."},
		"dname.unit.tests. DNAME":    {"dname.unit.tests.\t300\tIN\tDNAME\tunit.tests."},
		"ptr.unit.tests. PTR":        {"ptr.unit.tests.\t300\tIN\tPTR\tfoo.bar.com."},
		"sub.txt.unit.tests. NS":     {"sub.txt.unit.tests.\t3600\tIN\tNS\tns1.test.", "sub.txt.unit.tests.\t3600\tIN\tNS\tns2.test."},
		"www.sub.unit.tests. A":      {"www.sub.unit.tests.\t300\tIN\tA\t2.2.3.6"},
	} {
		if !reflect.DeepEqual(got[key], want) {
			t.Errorf("%s:\n got %q\nwant %q", key, got[key], want)
		}
	}
	if _, ok := got["ignored.unit.tests. A"]; ok {
		t.Error("the record with octodns.ignored: true was loaded")
	}
	if _, ok := got["urlfwd.unit.tests. URLFWD"]; ok {
		t.Error("URLFWD was loaded")
	}

	byName := map[string]zonefile.Record{}
	for _, r := range recs {
		byName[r.Name+" "+dns.TypeToString[r.Type]] = r
	}
	// The TXT strings hold the exact bytes: "\;" is a literal ";".
	dkim := byName["txt.unit.tests. TXT"].RRs[2].(*dns.TXT)
	if want := []string{"v=DKIM1;k=rsa;s=email;h=sha256;p=A/kinda+of/long/string+with+numb3rs"}; !reflect.DeepEqual(dkim.Txt, want) {
		t.Errorf("DKIM Txt = %q, want %q", dkim.Txt, want)
	}
	if _, ok := byName["excluded.unit.tests. CNAME"]; !ok {
		t.Error("excluded: a record with an octodns block (excluded providers) was not loaded")
	}
	www := byName["www.unit.tests. A"]
	if want := (diag.Pos{File: path, Line: 196, Col: 1}); www.Pos != want {
		t.Errorf("www Pos = %v, want %v", www.Pos, want)
	}
	apex := byName["unit.tests. SSHFP"]
	if want := (diag.Pos{File: path, Line: 21, Col: 5}); apex.Pos != want {
		t.Errorf("apex SSHFP Pos = %v, want %v", apex.Pos, want)
	}
	for _, r := range recs {
		for _, rr := range r.RRs {
			h := rr.Header()
			if h.Name != r.Name || h.Rrtype != r.Type || h.Class != dns.ClassINET || h.Ttl != r.TTL {
				t.Errorf("%s: header %v does not match record %s %d %d", rr, h, r.Name, r.Type, r.TTL)
			}
		}
	}
}

func TestOctoDNSSubzone(t *testing.T) {
	recs, probs := ParseFile(filepath.Join("testdata", "octodns", "subzone.unit.tests.yaml"), "subzone.unit.tests.")
	if len(probs) != 0 {
		t.Fatalf("problems:\n%v", probs)
	}
	want := []string{
		"2.subzone.unit.tests.\t3600\tIN\tA\t2.4.4.4", // YAML int key 2 is the name "2"
		"12.subzone.unit.tests.\t3600\tIN\tA\t12.4.4.4",
		"test.subzone.unit.tests.\t3600\tIN\tA\t4.4.4.4",
	}
	var got []string
	for _, r := range recs {
		for _, rr := range r.RRs {
			got = append(got, rr.String())
		}
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %q\nwant %q", got, want)
	}
}

// rdatas returns the rdata text of each RR of each record, by "name TYPE".
func rdatas(recs []zonefile.Record) map[string][]string {
	m := map[string][]string{}
	for _, r := range recs {
		for _, rr := range r.RRs {
			h := rr.Header().String()
			k := r.Name + " " + dns.TypeToString[r.Type]
			m[k] = append(m[k], strings.TrimPrefix(rr.String(), h))
		}
	}
	return m
}

func TestOctoDNSDynamic(t *testing.T) {
	realish := []string{"1.1.1.1", "1.1.1.2", "1.1.2.1", "1.1.2.2", "1.1.3.1", "1.1.3.2"}
	for _, tc := range []struct {
		file   string
		values map[string][]string
	}{
		{"dynamic.tests.yaml", map[string][]string{
			"a.dynamic.tests. A":                     {"2.2.2.2", "3.3.3.3"},
			"aaaa.dynamic.tests. AAAA":               {"2601:642:500:e210:62f8:1dff:feb8:947a", "2601:644:500:e210:62f8:1dff:feb8:947a"},
			"cname.dynamic.tests. CNAME":             {"target.unit.tests."},
			"pool-only-in-fallback.dynamic.tests. A": {"4.4.4.4"},
			"real-ish-a.dynamic.tests. A":            realish,
			"simple-weighted.dynamic.tests. CNAME":   {"default.unit.tests."},
		}},
		{"split/dynamic.tests.tst/a.yaml", map[string][]string{"a.dynamic.tests. A": {"2.2.2.2", "3.3.3.3"}}},
		{"split/dynamic.tests.tst/aaaa.yaml", map[string][]string{"aaaa.dynamic.tests. AAAA": {"2601:642:500:e210:62f8:1dff:feb8:947a", "2601:644:500:e210:62f8:1dff:feb8:947a"}}},
		{"split/dynamic.tests.tst/cname.yaml", map[string][]string{"cname.dynamic.tests. CNAME": {"target.unit.tests."}}},
		{"split/dynamic.tests.tst/real-ish-a.yaml", map[string][]string{"real-ish-a.dynamic.tests. A": realish}},
		{"split/dynamic.tests.tst/simple-weighted.yaml", map[string][]string{"simple-weighted.dynamic.tests. CNAME": {"default.unit.tests."}}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			recs, probs := ParseFile(filepath.Join("testdata", "octodns", tc.file), "dynamic.tests.")
			if len(probs) != 0 {
				t.Fatalf("problems:\n%v", probs)
			}
			if got := rdatas(recs); !reflect.DeepEqual(got, tc.values) {
				t.Errorf("values:\n got %q\nwant %q", got, tc.values)
			}
			for _, r := range recs {
				d := r.Dynamic
				if d == nil || len(d.Record.Pools) == 0 || len(d.Record.Rules) == 0 {
					t.Errorf("%s: no dynamic pools and rules read: %+v", r.Name, d)
				}
			}
		})
	}
}

func TestOctoDNSErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   string
		want []string
	}{
		{"typo key", "www:\n  type: A\n  vaule: 1.2.3.4\n", []string{
			`zone.yaml:3:3: unknown key "vaule" in record (known: type, ttl, value, values, octodns, dynamic)`,
			`zone.yaml:1:1: A record has no "value" or "values"`,
		}},
		{"missing MX exchange", "mx:\n  type: MX\n  value:\n    preference: 10\n", []string{
			`zone.yaml:4:5: MX value: missing "exchange"`,
		}},
		{"missing value", "www:\n  type: A\n  value:\n", []string{
			`zone.yaml:3:9: A value: missing`,
		}},
		{"bad IPv4", "www:\n  type: A\n  value: 1.2.3.999\n", []string{
			`zone.yaml:3:10: A value: "1.2.3.999" is not an IPv4 address`,
		}},
		{"IPv6 in A, IPv4 in AAAA", "www:\n  type: A\n  value: ::1\nv6:\n  type: AAAA\n  values: [1.2.3.4, 'fe80::1%eth0']\n", []string{
			`zone.yaml:3:10: A value: "::1" is an IPv6 address; it belongs in an AAAA record`,
			`zone.yaml:6:12: AAAA value: "1.2.3.4" is an IPv4 address; it belongs in an A record`,
			`zone.yaml:6:21: AAAA value: "fe80::1%eth0" is not an IPv6 address`,
		}},
		{"relative CNAME", "www:\n  type: CNAME\n  value: foo.example.com\n", []string{
			`zone.yaml:3:10: warning: "foo.example.com" has no trailing dot: read as the fully qualified foo.example.com., as octoDNS 1.x reads it (write the dot to silence this warning)`,
		}},
		{"CNAME at apex", "'':\n  type: CNAME\n  value: foo.example.com.\n", []string{
			`zone.yaml:1:1: CNAME is not allowed at the zone apex (octoDNS's ALIAS is)`,
		}},
		{"CNAME with others", "www:\n- type: CNAME\n  value: x.example.com.\n- type: A\n  value: 1.2.3.4\n", []string{
			`zone.yaml:2:3: a CNAME must be the only record at its name; "www" also has A at line 4`,
		}},
		{"CNAME two values", "www:\n  type: CNAME\n  values: [a.example., b.example.]\n", []string{
			`zone.yaml:3:11: CNAME takes a single value, got 2`,
		}},
		{"ALIAS not at apex", "www:\n  type: ALIAS\n  value: x.example.com.\n", []string{
			`zone.yaml:1:1: ALIAS is only allowed at the zone apex (use CNAME elsewhere)`,
		}},
		{"ttl not a number", "www:\n  type: A\n  ttl: five\n  value: 1.2.3.4\n", []string{
			`zone.yaml:3:8: ttl must be an integer 0..2147483647, got "five"`,
		}},
		{"ttl out of range", "www:\n  type: A\n  ttl: 2147483648\n  value: 1.2.3.4\n", []string{
			`zone.yaml:3:8: ttl must be an integer 0..2147483647, got "2147483648"`,
		}},
		{"duplicate type", "www:\n- type: A\n  value: 1.2.3.4\n- type: A\n  value: 1.2.3.5\n", []string{
			`zone.yaml:4:3: duplicate A record at name "www" (first at line 2)`,
		}},
		{"duplicate name", "www:\n  type: A\n  value: 1.2.3.4\nWWW:\n  type: AAAA\n  value: ::1\n", []string{
			`zone.yaml:4:1: duplicate name "WWW" (first at line 1)`,
		}},
		{"duplicate key", "www:\n  type: A\n  type: AAAA\n  value: 1.2.3.4\n", []string{
			`zone.yaml:3:3: duplicate key "type" in record (first at line 2)`,
		}},
		{"unknown type", "www:\n  type: FOO\n  value: x\n", []string{
			`zone.yaml:2:9: unknown record type "FOO" (octoDNS types: A, AAAA, ALIAS, CAA, CNAME, DNAME, DS, HTTPS, LOC, MX, NAPTR, NS, OPENPGPKEY, PTR, SPF, SRV, SSHFP, SVCB, TLSA, TXT, URI, URLFWD)`,
		}},
		{"lower-case type", "www:\n  type: a\n  value: 1.2.3.4\n", []string{
			`zone.yaml:2:9: unknown record type "a" (types are upper case: "A")`,
		}},
		{"missing type", "www:\n  value: 1.2.3.4\n", []string{
			`zone.yaml:1:1: record has no "type" (e.g. type: A)`,
		}},
		{"include missing", "www: !include nope.yaml\n", []string{
			`zone.yaml:1:6: !include "nope.yaml": cannot read nope.yaml: no such file`,
		}},
		{"YAML syntax error", "www:\n  type: A\n  value: [1.2.3.4\nfoo: bar\n", []string{
			`zone.yaml:2:1: YAML syntax error: did not find expected ',' or ']'`,
		}},
		{"YAML syntax error on line 1", "a: b: c\n", []string{
			`zone.yaml:1:1: YAML syntax error: mapping values are not allowed in this context`,
		}},
		{"two documents", "a:\n  type: A\n  value: 1.2.3.4\n---\nb: 1\n", []string{
			`zone.yaml:4:1: a zone file holds one YAML document; another one starts here`,
		}},
		{"top level list", "- a\n- b\n", []string{
			`zone.yaml:1:1: a zone file must be a mapping of record names to records, got a list`,
		}},
		{"bad names", "a..b:\n  type: A\n  value: 1.2.3.4\nx.*:\n  type: A\n  value: 1.2.3.4\n'@':\n  type: A\n  value: 1.2.3.4\nfoo.:\n  type: A\n  value: 1.2.3.4\n'a b':\n  type: A\n  value: 1.2.3.4\n" + strings.Repeat("x", 64) + ":\n  type: A\n  value: 1.2.3.4\n", []string{
			`zone.yaml:1:1: invalid name "a..b": has an empty label ("..", or a leading ".")`,
			`zone.yaml:4:1: invalid name "x.*": "*" is only allowed as the leftmost label`,
			`zone.yaml:7:1: invalid name "@": write '' for the zone apex, not "@"`,
			`zone.yaml:10:1: invalid name "foo.": names are relative to the zone; drop the trailing "."`,
			`zone.yaml:13:1: invalid name "a b": contains whitespace`,
			`zone.yaml:16:1: invalid name "` + strings.Repeat("x", 64) + `": label "` + strings.Repeat("x", 64) + `" is longer than 63 bytes`,
		}},
		{"name too long", strings.Repeat("abcdefghi.", 25) + "x:\n  type: A\n  value: 1.2.3.4\n", []string{
			`zone.yaml:1:1: invalid name "` + strings.Repeat("abcdefghi.", 25) + `x": longer than 255 bytes with the zone name`,
		}},
		{"null name", "~:\n  type: A\n  value: 1.2.3.4\n", []string{
			`zone.yaml:1:1: record name must be a string ('' is the zone apex)`,
		}},
		{"name without record", "www:\nw2: 1\n", []string{
			`zone.yaml:1:5: name "www" needs a record (a mapping with "type" and "value" or "values") or a list of them, got nothing`,
			`zone.yaml:2:5: name "w2" needs a record (a mapping with "type" and "value" or "values") or a list of them, got "1"`,
		}},
		{"empty values, value and values", "www:\n  type: A\n  values: []\nw2:\n  type: A\n  value: 1.2.3.4\n  values: [1.2.3.5]\n", []string{
			`zone.yaml:3:11: "values" is an empty list`,
			`zone.yaml:7:3: give "value" or "values", not both`,
		}},
		{"TXT semicolons", "txt:\n  type: TXT\n  values:\n  - v=DKIM1;k=rsa\n  - 'a\\\\;b'\n", []string{
			`zone.yaml:4:5: TXT value: unescaped ";" in "v=DKIM1;k=rsa"; octoDNS needs "\;" (or octodns: {lenient: true} on the record)`,
			`zone.yaml:5:5: TXT value: double-escaped ";" ("\\;") in "a\\;b"; write "\;"`,
		}},
		{"ignored record is not checked", "ign:\n  octodns:\n    ignored: true\n  type: BOGUS\n  vaule: 1\n", nil},
		{"unknown tag", "www: !foo bar\n", []string{
			`zone.yaml:1:6: unsupported YAML tag "!foo" (octoDNS knows only !include)`,
		}},
		// A UDP check's payload is bounded (one unfragmented datagram);
		// a bad port is an error, not also "without a port".
		{"UDP payload too long", udpRecord("{protocol: UDP, port: 5000}", "{payload: "+strings.Repeat("x", 1233)+"}"), []string{
			`zone.yaml:10:30: octodns.smartdns.healthcheck payload must be at most 1232 bytes, got 1233`,
		}},
		{"UDP payload_hex too long", udpRecord("{protocol: UDP, port: 5000}", "{payload_hex: "+strings.Repeat("00", 1233)+"}"), []string{
			`zone.yaml:10:34: octodns.smartdns.healthcheck payload_hex must be at most 1232 bytes, got 1233`,
		}},
		{"UDP payload at the limit", udpRecord("{protocol: UDP, port: 5000}", "{payload: "+strings.Repeat("x", 1232)+"}"), nil},
		{"UDP and HTTP with a bad port", udpRecord("{protocol: UDP, port: 0}", "{}") + strings.Replace(udpRecord("{protocol: HTTP, port: x}", "{}"), "u:", "h:", 1), []string{
			`zone.yaml:8:40: octodns.healthcheck port must be an integer 1..65535, got "0"`,
			`zone.yaml:18:41: octodns.healthcheck port must be an integer 1..65535, got "x"`,
		}},
		{"dynamic not a mapping, geo", "www:\n  type: A\n  value: 1.2.3.4\n  dynamic: 1\n  geo: {}\n", []string{
			`zone.yaml:5:3: warning: legacy "geo" key ignored: smartdns serves the record's values to every client (octoDNS's "dynamic" replaces "geo")`,
			`zone.yaml:4:12: "dynamic" must be a mapping with "pools" and "rules", got "1"`,
		}},
		{"ignored types warn once per type", "u:\n  type: URLFWD\n  value: {}\nv:\n  type: URLFWD\n  value: {}\np:\n  type: Route53Provider/ALIAS\n  values: []\n", []string{
			`zone.yaml:2:9: warning: type "URLFWD" has no DNS wire form; smartdns ignores records of this type`,
			`zone.yaml:8:9: warning: provider-specific type "Route53Provider/ALIAS" ignored; smartdns serves only standard types`,
		}},
		{"duplicate value", "www:\n  type: A\n  values: [1.2.3.4, 1.2.3.4]\n", []string{
			`zone.yaml:3:21: warning: A value: same as the value at line 3; the duplicate is ignored`,
		}},
		{"SVCB", "h:\n  type: HTTPS\n  values:\n  - svcpriority: 0\n    targetname: .\n    svcparams:\n      alpn: [h2]\n  - svcpriority: 1\n    targetname: x\n    svcparams:\n      alpn: h2\n      foo: 1\n      mandatory: [port]\n      no-default-alpn: 1\n      key3: x\n", []string{
			`zone.yaml:7:7: HTTPS value: svcparams are not allowed when svcpriority is 0 (AliasMode)`,
			`zone.yaml:9:17: warning: "x" has no trailing dot: read as the fully qualified x., as octoDNS 1.x reads it (write the dot to silence this warning)`,
			`zone.yaml:11:13: HTTPS value: svcparams "alpn" must be a list, got "h2"`,
			`zone.yaml:12:7: HTTPS value: unknown svcparams key "foo" (known: mandatory, alpn, no-default-alpn, port, ipv4hint, ech, ipv6hint, keyNNNNN)`,
			`zone.yaml:14:24: HTTPS value: no-default-alpn takes no value, got "1"`,
			`zone.yaml:15:7: HTTPS value: write svcparams key "key3" as "port"`,
			`zone.yaml:13:18: HTTPS value: mandatory lists port, which svcparams does not set`,
		}},
		{"mapping values", "c:\n  type: CAA\n  value: {tag: 'is sue', value: x, flag: 0}\nd:\n  type: DS\n  value: {key_tag: 1, algorithm: 8, digest_type: 2, digest: xyz}\ns:\n  type: SRV\n  value: 10 5 443 x.example.\n", []string{
			`zone.yaml:3:36: CAA value: unknown key "flag" (known: flags, tag, value)`,
			`zone.yaml:3:16: CAA value: "tag" must be letters and digits (e.g. issue, issuewild, iodef), got "is sue"`,
			`zone.yaml:6:61: DS value: "digest" must be hexadecimal (an even number of 0-9a-f digits), got "xyz"`,
			`zone.yaml:9:10: SRV value: must be a mapping with "priority", "weight", "port", "target", got "10 5 443 x.example."`,
		}},
		{"MX both spellings", "mx:\n  type: MX\n  value: {preference: 1, priority: 2, exchange: a.example.}\n", []string{
			`zone.yaml:3:10: MX value: give "preference" or the older "priority", not both`,
		}},
		{"LOC ranges", "loc:\n  type: LOC\n  value:\n    lat_degrees: 91\n    lat_minutes: 0\n    lat_seconds: 0\n    lat_direction: X\n    long_degrees: 0\n    long_minutes: 0\n    long_seconds: 60\n    long_direction: E\n    altitude: 0\n    size: 0\n    precision_horz: 0\n    precision_vert: 0\n", []string{
			`zone.yaml:4:18: LOC value: "lat_degrees" must be an integer 0..90, got "91"`,
			`zone.yaml:7:20: LOC value: "lat_direction" must be N or S, got "X"`,
			`zone.yaml:10:19: LOC value: "long_seconds" must be a number 0..59.999, got "60"`,
		}},
		{"TXT too long", "txt:\n  type: TXT\n  value: " + strings.Repeat("a", 70000) + "\n", []string{
			`zone.yaml:3:10: TXT value: too long: 70275 bytes of record data, at most 65535`,
		}},
		{"several errors in one file", "" +
			"'':\n" +
			"  - type: CNAME\n" +
			"    value: x.example.com.\n" +
			"  - type: NS\n" +
			"    values: [ns1.example.com, ns2.example.com.]\n" +
			"www:\n" +
			"  type: A\n" +
			"  ttl: -5\n" +
			"  values: [192.0.2.1, 192.0.2.256]\n" +
			"mail:\n" +
			"  type: MX\n" +
			"  value: {exchange: mail.example.com.}\n" +
			"typo:\n" +
			"  tpye: A\n" +
			"  value: 192.0.2.1\n", []string{
			`zone.yaml:2:5: CNAME is not allowed at the zone apex (octoDNS's ALIAS is)`,
			`zone.yaml:5:14: warning: "ns1.example.com" has no trailing dot: read as the fully qualified ns1.example.com., as octoDNS 1.x reads it (write the dot to silence this warning)`,
			`zone.yaml:8:8: ttl must be an integer 0..2147483647, got "-5"`,
			`zone.yaml:9:23: A value: "192.0.2.256" is not an IPv4 address`,
			`zone.yaml:12:10: MX value: missing "preference"`,
			`zone.yaml:14:3: unknown key "tpye" in record (known: type, ttl, value, values, octodns, dynamic)`,
			`zone.yaml:13:1: record has no "type" (e.g. type: A)`,
			`zone.yaml:2:5: a CNAME must be the only record at its name; "" also has NS at line 4`,
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, probs := Parse("zone.yaml", "example.com.", []byte(tc.in))
			var got []string
			for _, p := range probs {
				got = append(got, p.Error())
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
}

func TestOctoDNSEmpty(t *testing.T) {
	for _, in := range []string{"", "---\n", "# only a comment\n", "~\n", "--- {}\n"} {
		recs, probs := Parse("zone.yaml", "example.com.", []byte(in))
		if len(recs) != 0 || len(probs) != 0 {
			t.Errorf("%q: got %d records, problems %v", in, len(recs), probs)
		}
	}
}

func TestOctoDNSFileMissing(t *testing.T) {
	_, probs := ParseFile(filepath.Join("testdata", "octodns", "no-such.yaml"), "example.com.")
	want := filepath.Join("testdata", "octodns", "no-such.yaml") + ":1:1: cannot read zone file: no such file"
	if probs.Error() != want {
		t.Errorf("got %q, want %q", probs.Error(), want)
	}
}

// Owners are lower-cased; names inside RDATA keep their case (RFC 4343),
// but an ALIAS target, which is looked up, is lower-cased.
func TestOctoDNSApexAndCase(t *testing.T) {
	in := "" +
		"'':\n  type: ALIAS\n  value: LB.Example.NET.\n" +
		"WWW.Sub:\n  type: MX\n  value: {preference: 5, exchange: MAIL.Example.COM.}\n" +
		"'*':\n  type: CNAME\n  value: www.example.com.\n"
	recs, probs := Parse("zone.yaml", "example.com.", []byte(in))
	if len(probs) != 0 {
		t.Fatalf("problems:\n%v", probs)
	}
	if len(recs) != 3 {
		t.Fatalf("got %d records", len(recs))
	}
	alias := recs[0]
	if alias.Name != "example.com." || alias.Type != zonefile.TypeALIAS || alias.Target != "lb.example.net." || len(alias.RRs) != 0 || alias.TTL != 3600 {
		t.Errorf("ALIAS record: %+v", alias)
	}
	if got := recs[1].RRs[0].String(); got != "www.sub.example.com.\t3600\tIN\tMX\t5 MAIL.Example.COM." {
		t.Errorf("MX: %s", got)
	}
	if got := recs[2].RRs[0].String(); got != "*.example.com.\t3600\tIN\tCNAME\twww.example.com." {
		t.Errorf("wildcard: %s", got)
	}
}

// rdataBytes packs rr and returns its RDATA.
func rdataBytes(t *testing.T, rr dns.RR) []byte {
	t.Helper()
	buf := make([]byte, dns.Len(rr)+64)
	off, err := dns.PackRR(rr, buf, 0, nil, false)
	if err != nil {
		t.Fatalf("pack %s: %v", rr, err)
	}
	hdr := dns.Len(&dns.ANY{Hdr: *rr.Header()})
	if n := int(binary.BigEndian.Uint16(buf[hdr-2:])); n != off-hdr {
		t.Fatalf("rdlength %d, rdata %d bytes", n, off-hdr)
	}
	return buf[hdr:off]
}

// characterStrings splits TXT RDATA into its character-strings.
func characterStrings(t *testing.T, rdata []byte) []string {
	t.Helper()
	var out []string
	for len(rdata) > 0 {
		n := int(rdata[0])
		if 1+n > len(rdata) {
			t.Fatalf("bad TXT rdata")
		}
		out = append(out, string(rdata[1:1+n]))
		rdata = rdata[1+n:]
	}
	return out
}

func TestOctoDNSTXTChunks(t *testing.T) {
	long := strings.Repeat("0123456789", 60) // 600 bytes
	// "\;" at bytes 253..254 of the YAML is one ";" at byte 253 of the value.
	semi := strings.Repeat("a", 253) + `\;` + strings.Repeat("b", 10)
	in := "" +
		"long:\n  type: TXT\n  value: " + long + "\n" +
		"semi:\n  type: TXT\n  value: '" + semi + "'\n" +
		"odd:\n  type: TXT\n  value: 'a \"quoted\" back\\slash'\n" +
		"spf:\n  type: SPF\n  value: " + long + "\n"
	recs, probs := Parse("zone.yaml", "example.com.", []byte(in))
	if len(probs) != 0 {
		t.Fatalf("problems:\n%v", probs)
	}
	for i, want := range [][]string{
		{long[:255], long[255:510], long[510:]},
		{strings.Repeat("a", 253) + ";b", strings.Repeat("b", 9)},
		{`a "quoted" back\slash`},
		{long[:255], long[255:510], long[510:]},
	} {
		rr := recs[i].RRs[0]
		if got := characterStrings(t, rdataBytes(t, rr)); !reflect.DeepEqual(got, want) {
			t.Errorf("%s: wire strings %q, want %q", rr.Header().Name, got, want)
		}
	}
	if got := recs[0].RRs[0].(*dns.TXT).Txt; !reflect.DeepEqual(got, []string{long[:255], long[255:510], long[510:]}) {
		t.Errorf("Txt = %q", got)
	}
	if got, want := recs[2].RRs[0].String(), "odd.example.com.\t3600\tIN\tTXT\t\"a \\\"quoted\\\" back\\\\slash\""; got != want {
		t.Errorf("String() = %s, want %s", got, want)
	}
}

// TestOctoDNSRawStrings checks that CAA, NAPTR and URI strings reach the
// wire byte for byte, backslashes and quotes included.
func TestOctoDNSRawStrings(t *testing.T) {
	in := "" +
		"naptr:\n  type: NAPTR\n  value: {order: 1, preference: 2, flags: u, service: E2U+sip, regexp: '!^\\+1(.*)$!sip:\\1@\"x\".example!', replacement: .}\n" +
		"caa:\n  type: CAA\n  value: {tag: iodef, value: 'mailto:\"a\\b\"@example.com'}\n"
	recs, probs := Parse("zone.yaml", "example.com.", []byte(in))
	if len(probs) != 0 {
		t.Fatalf("problems:\n%v", probs)
	}
	naptr := rdataBytes(t, recs[0].RRs[0])
	if want := `!^\+1(.*)$!sip:\1@"x".example!`; !strings.Contains(string(naptr), string(rune(len(want)))+want) {
		t.Errorf("NAPTR rdata %q lacks regexp %q", naptr, want)
	}
	caa := rdataBytes(t, recs[1].RRs[0])
	if want := `mailto:"a\b"@example.com`; !strings.HasSuffix(string(caa), want) {
		t.Errorf("CAA rdata %q does not end in %q", caa, want)
	}
	// String() must still be valid presentation format: parse it back.
	for _, r := range recs {
		back, err := dns.NewRR(r.RRs[0].String())
		if err != nil {
			t.Errorf("%s does not read back: %v", r.RRs[0], err)
			continue
		}
		if got, want := rdataBytes(t, back), rdataBytes(t, r.RRs[0]); string(got) != string(want) {
			t.Errorf("%s reads back as rdata %q, want %q", r.RRs[0], got, want)
		}
	}
}

func TestOctoDNSInclude(t *testing.T) {
	path := filepath.Join("testdata", "octodns", "include", "zone.yaml")
	recs, probs := ParseFile(path, "example.com.")
	if len(probs) != 0 {
		t.Fatalf("problems:\n%v", probs)
	}
	want := map[string][]string{
		"example.com. A":         {"192.0.2.1", "192.0.2.2"},
		"mail.example.com. MX":   {"10 MX.Example.com."},
		"www.example.com. A":     {"192.0.2.10"},
		"www.example.com. AAAA":  {"2001:db8::10"},
		"ftp.example.com. CNAME": {"www.example.com."},
		"nested.example.com. A":  {"192.0.2.1", "192.0.2.2"},
	}
	got := map[string][]string{}
	pos := map[string]diag.Pos{}
	for _, r := range recs {
		k := r.Name + " " + dns.TypeToString[r.Type]
		pos[k] = r.Pos
		for _, rr := range r.RRs {
			got[k] = append(got[k], strings.TrimPrefix(rr.String(), rr.Header().String()))
		}
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %q\nwant %q", got, want)
	}
	// A record read from an included file has its position there.
	if p, want := pos["www.example.com. AAAA"], (diag.Pos{File: filepath.Join("testdata", "octodns", "include", "www-records.yaml"), Line: 5, Col: 3}); p != want {
		t.Errorf("www AAAA Pos = %v, want %v", p, want)
	}

	// Bytes already read: includes resolve against path's folder.
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	recs2, probs2 := Parse(path, "example.com.", data)
	if len(probs2) != 0 || dump(recs2, nil) != dump(recs, nil) {
		t.Errorf("Parse differs from ParseFile: %v", probs2)
	}

	bad := filepath.Join("testdata", "octodns", "include")
	_, probs = ParseFile(filepath.Join(bad, "bad.yaml"), "example.com.")
	in := func(name string) string { return filepath.Join(bad, name) }
	wantProbs := []string{
		in("bad-values.yaml") + `:3:3: A value: "192.0.2.300" is not an IPv4 address`,
		in("loop-b.yaml") + `:2:1: !include "loop-a.yaml": include loop: ` + in("loop-a.yaml") + ` -> ` + in("loop-b.yaml") + ` -> ` + in("loop-a.yaml"),
		in("bad.yaml") + `:6:7: !include "missing.yaml": cannot read ` + in("missing.yaml") + `: no such file`,
		in("broken.yaml") + `:2:1: YAML syntax error: did not find expected ',' or ']'`,
	}
	var gotProbs []string
	for _, p := range probs {
		gotProbs = append(gotProbs, p.Error())
	}
	if !reflect.DeepEqual(gotProbs, wantProbs) {
		t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(gotProbs, "\n"), strings.Join(wantProbs, "\n"))
	}
}

func TestOctoDNSIncludeSelfAndDevices(t *testing.T) {
	dir := t.TempDir()
	self := filepath.Join(dir, "self.yaml")
	if err := os.WriteFile(self, []byte("www: !include self.yaml\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, probs := ParseFile(self, "example.com.")
	want := self + `:1:6: !include "self.yaml": include loop: ` + self + ` -> ` + self
	if probs.Error() != want {
		t.Errorf("got %q\nwant %q", probs.Error(), want)
	}
	if _, err := os.Stat("/dev/zero"); err == nil {
		_, probs = Parse(self, "example.com.", []byte("www: !include /dev/zero\n"))
		want := self + `:1:6: !include "/dev/zero": cannot read /dev/zero: not a regular file`
		if probs.Error() != want {
			t.Errorf("got %q\nwant %q", probs.Error(), want)
		}
	}
}

func TestOctoDNSMergeKeys(t *testing.T) {
	in := "" +
		"base: &base\n  type: A\n  ttl: 60\n  value: 192.0.2.1\n" +
		"copy:\n  <<: *base\n  value: 192.0.2.2\n" +
		"list:\n  - <<: [*base]\n    ttl: 30\n"
	recs, probs := Parse("zone.yaml", "example.com.", []byte(in))
	if len(probs) != 0 {
		t.Fatalf("problems:\n%v", probs)
	}
	var got []string
	for _, r := range recs {
		got = append(got, r.RRs[0].String())
	}
	want := []string{
		"base.example.com.\t60\tIN\tA\t192.0.2.1",
		"copy.example.com.\t60\tIN\tA\t192.0.2.2",
		"list.example.com.\t30\tIN\tA\t192.0.2.1",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %q\nwant %q", got, want)
	}
}

// TestOctoDNSAliasBomb makes sure nested aliases cannot make the walk take
// exponential time.
func TestOctoDNSAliasBomb(t *testing.T) {
	var b strings.Builder
	b.WriteString("a: &a [1.2.3.4, 1.2.3.4]\n")
	prev := "a"
	for i := 0; i < 30; i++ {
		name := fmt.Sprintf("m%d", i)
		fmt.Fprintf(&b, "%s: &%s\n  <<: [*%s, *%s]\n  type: A\n", name, name, prev, prev)
		if i == 0 {
			fmt.Fprintf(&b, "  value: 1.2.3.4\n")
		}
		prev = name
	}
	_, probs := Parse("zone.yaml", "example.com.", []byte(b.String()))
	if !strings.Contains(probs.Error(), "too many aliases, merges or includes to expand") {
		t.Errorf("no expansion limit problem:\n%v", probs)
	}
}

// TestOctoDNSWireRoundTrip packs every RR read from the fixtures and reads
// it back, so nothing accepted here fails when answered.
func TestOctoDNSWireRoundTrip(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("testdata", "octodns", "*.yaml"))
	more, _ := filepath.Glob(filepath.Join("testdata", "octodns", "*", "*.yaml"))
	files = append(files, more...)
	n := 0
	for _, f := range files {
		recs, _ := ParseFile(f, "example.com.")
		for _, r := range recs {
			for _, rr := range r.RRs {
				buf := make([]byte, dns.Len(rr)+64)
				off, err := dns.PackRR(rr, buf, 0, nil, false)
				if err != nil {
					t.Errorf("%s: pack %s: %v", f, rr, err)
					continue
				}
				back, _, err := dns.UnpackRR(buf[:off], 0)
				if err != nil {
					t.Errorf("%s: unpack %s: %v", f, rr, err)
					continue
				}
				if got, want := rdataBytes(t, back), rdataBytes(t, rr); string(got) != string(want) {
					t.Errorf("%s: round trip %s -> %s", f, rr, back)
				}
				if !strings.EqualFold(back.String(), rr.String()) {
					t.Errorf("%s: round trip %s -> %s", f, rr, back)
				}
				n++
			}
		}
	}
	if n < 50 {
		t.Errorf("only %d RRs checked", n)
	}
}

// TestOctoDNSLarge loads a large zone, plain and with every record merging
// an anchor, to make sure the expansion limit never stops a real zone.
func TestOctoDNSLarge(t *testing.T) {
	const n = 100000
	var plain, merged strings.Builder
	merged.WriteString("defaults: &d\n  type: A\n  ttl: 60\n  value: 192.0.2.1\n")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&plain, "host%d:\n  type: A\n  values: [192.0.2.%d, 192.0.2.%d]\n", i, i%256, (i+1)%256)
		fmt.Fprintf(&merged, "h%d: {<<: *d}\n", i)
	}
	for _, tc := range []struct {
		name, in string
		want     int
	}{
		{"plain", plain.String(), n},
		{"merged", merged.String(), n + 1}, // and "defaults" itself
	} {
		recs, probs := Parse("zone.yaml", "example.com.", []byte(tc.in))
		if len(probs) != 0 {
			t.Fatalf("%s: %d problems, first: %v", tc.name, len(probs), probs[0])
		}
		if len(recs) != tc.want {
			t.Errorf("%s: %d records, want %d", tc.name, len(recs), tc.want)
		}
	}
}

func BenchmarkParseOctoDNSUnitTests(b *testing.B) {
	data, err := os.ReadFile(filepath.Join("testdata", "octodns", "unit.tests.yaml"))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		Parse("unit.tests.yaml", "unit.tests.", data)
	}
}

// Names in values without their trailing dot are read as fully qualified,
// as octoDNS 1.x reads them, with one warning per file.
func TestDotlessNamesAreFullyQualified(t *testing.T) {
	in := "---\nwww:\n  type: CNAME\n  value: web.example.net\nmail:\n  type: MX\n  value: {preference: 10, exchange: mx.example.net}\n'':\n  type: ALIAS\n  value: lb.example.net\n"
	recs, probs := Parse("zone.yaml", "example.com.", []byte(in))
	if probs.HasErrors() || len(probs) != 1 || !probs[0].Warning {
		t.Fatalf("want exactly one warning, got %v", probs)
	}
	if want := `zone.yaml:4:10: warning: "web.example.net" has no trailing dot`; !strings.HasPrefix(probs[0].Error(), want) {
		t.Errorf("warning %q, want it to start with %q", probs[0].Error(), want)
	}
	got := map[string]string{}
	for _, r := range recs {
		if r.Type == zonefile.TypeALIAS {
			got["ALIAS"] = r.Target
		}
		for _, rr := range r.RRs {
			switch rr := rr.(type) {
			case *dns.CNAME:
				got["CNAME"] = rr.Target
			case *dns.MX:
				got["MX"] = rr.Mx
			}
		}
	}
	want := map[string]string{"CNAME": "web.example.net.", "MX": "mx.example.net.", "ALIAS": "lb.example.net."}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("targets %v, want %v", got, want)
	}
}

// udpRecord is a dynamic A record "u" with the octoDNS healthcheck hc and
// smartdns healthcheck smart (flow mappings).
func udpRecord(hc, smart string) string {
	return "u:\n  type: A\n  value: 192.0.2.1\n  dynamic:\n" +
		"    pools: {p: {values: [{value: 192.0.2.2}]}}\n    rules: [{pool: p}]\n" +
		"  octodns:\n" +
		"    healthcheck: " + hc + "\n" +
		"    smartdns:\n" +
		"      healthcheck: " + smart + "\n"
}
