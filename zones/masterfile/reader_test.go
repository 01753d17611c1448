package masterfile

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/smartdns/smartdns/internal/diag"
	"github.com/smartdns/smartdns/zones/zonefile"
)

var updateGolden = flag.Bool("update", false, "rewrite the golden files under testdata/")

// renderMaster prints records and problems one per line, for exact
// comparisons: "line:col RR" for each RR (or "line:col name TTL ALIAS
// target"), then each problem as `check` would print it.
func renderMaster(recs []zonefile.Record, probs diag.Problems, skip func(zonefile.Record) bool) string {
	var b strings.Builder
	for _, r := range recs {
		if skip != nil && skip(r) {
			continue
		}
		if r.Type == zonefile.TypeALIAS {
			fmt.Fprintf(&b, "%d:%d %s\t%d\tIN\tALIAS\t%s\n", r.Pos.Line, r.Pos.Col, r.Name, r.TTL, r.Target)
			continue
		}
		for _, rr := range r.RRs {
			fmt.Fprintf(&b, "%d:%d %s\n", r.Pos.Line, r.Pos.Col, rr)
		}
	}
	for _, p := range probs {
		b.WriteString(p.Error())
		b.WriteByte('\n')
	}
	return b.String()
}

func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", "rfc1035-golden", name)
	if *updateGolden {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./zones/ -run %s -update)", err, t.Name())
	}
	if got != string(want) {
		t.Errorf("%s differs from the golden file %s:\n%s", name, path, lineDiff(string(want), got))
	}
}

// lineDiff shows the first few lines that differ.
func lineDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	n := 0
	for i := 0; i < max(len(w), len(g)) && n < 10; i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			fmt.Fprintf(&b, "line %d:\n  want %q\n  got  %q\n", i+1, wl, gl)
			n++
		}
	}
	return b.String()
}

func countRRs(recs []zonefile.Record) int {
	n := 0
	for _, r := range recs {
		n += len(r.RRs)
	}
	return n
}

func findRecord(recs []zonefile.Record, name string, typ uint16) *zonefile.Record {
	for i := range recs {
		if recs[i].Name == name && recs[i].Type == typ {
			return &recs[i]
		}
	}
	return nil
}

func isHostN(r zonefile.Record) bool {
	rest, ok := strings.CutPrefix(r.Name, "host-")
	if !ok || r.Type != dns.TypeA {
		return false
	}
	digits, _, _ := strings.Cut(rest, ".")
	return digits != "" && strings.Trim(digits, "0123456789") == ""
}

// TestParseMasterZones loads the copied PowerDNS and octoDNS zones and
// compares them with golden renderings.
func TestParseMasterZones(t *testing.T) {
	// example.com has three lines miekg/dns v1.1.73 cannot parse alone
	// (PowerDNS accepts them): the SVCB key tls-supported-groups (IANA
	// key 9), keyNNNNN with leading zeros, and the WALLET type (262). The
	// reader rewrites them, so the whole zone loads.
	var exampleErrors []string
	tests := []struct {
		file, origin string
		records, rrs int
		errors       []string
		warnings     int
	}{
		{"example.com", "example.com.", 20079, 20168, exampleErrors, 1},
		{"test.com", "test.com.", 37, 43, nil, 0},
		{"wtest.com", "wtest.com.", 11, 13, nil, 0},
		{"dnssec-parent.com", "dnssec-parent.com.", 17, 20, nil, 0},
		{"delegated.dnssec-parent.com", "delegated.dnssec-parent.com.", 7, 8, nil, 0},
		{"minimal.com", "minimal.com.", 2, 3, nil, 0},
		{"unit.tests.tst", "unit.tests.", 21, 35, nil, 0},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			path := filepath.Join("testdata", "rfc1035", tt.file)
			recs, probs := ParseFile(path, tt.origin)
			var errs []string
			for _, p := range probs.Errors() {
				errs = append(errs, p.Error())
			}
			if strings.Join(errs, "\n") != strings.Join(tt.errors, "\n") {
				t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(errs, "\n"), strings.Join(tt.errors, "\n"))
			}
			if n := len(probs.Warnings()); n != tt.warnings {
				t.Errorf("%d warnings, want %d: %v", n, tt.warnings, probs.Warnings())
			}
			if len(recs) != tt.records || countRRs(recs) != tt.rrs {
				t.Errorf("%d records with %d RRs, want %d with %d", len(recs), countRRs(recs), tt.records, tt.rrs)
			}
			for _, r := range recs {
				if len(r.RRs) == 0 && r.Type != zonefile.TypeALIAS {
					t.Errorf("%s %s: no RRs", r.Name, dns.Type(r.Type))
				}
				for _, rr := range r.RRs {
					h := rr.Header()
					if h.Name != r.Name || h.Rrtype != r.Type || h.Class != dns.ClassINET || h.Ttl != r.TTL {
						t.Errorf("%s %s: RR header %v does not match", r.Name, dns.Type(r.Type), h)
					}
				}
			}
			if data, err := os.ReadFile(path); err != nil {
				t.Fatal(err)
			} else if recs2, probs2 := Parse(path, tt.origin, data); renderMaster(recs2, probs2, nil) != renderMaster(recs, probs, nil) {
				t.Error("Parse and ParseFile disagree")
			}
			checkGolden(t, tt.file+".txt", renderMaster(recs, probs, isHostN))
		})
	}
}

// TestParseMasterSpotChecks looks at individual RRs the golden files
// would also catch, so that a failure says what broke.
func TestParseMasterSpotChecks(t *testing.T) {
	recs, _ := ParseFile("testdata/rfc1035/example.com", "example.com.")
	hosts := 0
	for _, r := range recs {
		if isHostN(r) {
			hosts += len(r.RRs)
		}
	}
	if hosts != 20000 { // host-0 .. host-19999
		t.Errorf("%d host-N A RRs, want 20000", hosts)
	}
	if r := findRecord(recs, "host-19999.example.com.", dns.TypeA); r == nil || r.RRs[0].(*dns.A).A.String() != "192.168.1.31" || r.Pos.Line != 20188 {
		t.Errorf("host-19999 A = %+v", r)
	}
	r := findRecord(recs, "hightype.example.com.", 65534)
	if r == nil {
		t.Fatal("no TYPE65534 at hightype.example.com.")
	}
	if u, ok := r.RRs[0].(*dns.RFC3597); !ok || u.Rdata != "07ED260001" && u.Rdata != "07ed260001" {
		t.Errorf("TYPE65534 = %v", r.RRs[0])
	}
	if r := findRecord(recs, "location.example.com.", dns.TypeLOC); r == nil || len(r.RRs) != 4 || r.Pos.Line != 28 {
		t.Errorf("LOC RRset (one owner, three continuation lines) = %+v", r)
	}
	if r := findRecord(recs, "google-alias.example.com.", zonefile.TypeALIAS); r == nil || r.Target != "google-public-dns-a.google.com." || r.TTL != 120 {
		t.Errorf("ALIAS = %+v", r)
	}
	if r := findRecord(recs, "largettl.example.com.", dns.TypeTXT); r == nil || r.TTL != 1073741724 {
		t.Errorf("largettl TXT = %+v", r)
	}
	if r := findRecord(recs, "example.com.", dns.TypeSOA); r == nil || r.TTL != 100000 || r.RRs[0].(*dns.SOA).Serial != 2847484148 || r.RRs[0].(*dns.SOA).Minttl != 86400 {
		t.Errorf("SOA = %+v", r)
	}

	recs, _ = ParseFile("testdata/rfc1035/test.com", "test.com.")
	if r := findRecord(recs, "d.test.com.", dns.TypeDNAME); r == nil || r.RRs[0].(*dns.DNAME).Target != "d2.test2.com." {
		t.Errorf("DNAME = %+v", r)
	}
	if r := findRecord(recs, "naptr.test.com.", dns.TypeNAPTR); r == nil || len(r.RRs) != 3 || r.RRs[1].(*dns.NAPTR).Replacement != "_double._tcp.dc.test.com." {
		t.Errorf("NAPTR = %+v", r)
	}
	if r := findRecord(recs, "urc65226.test.com.", 65226); r == nil || r.RRs[0].(*dns.RFC3597).Rdata != "414243" {
		t.Errorf("TYPE65226 = %+v", r)
	}
	if r := findRecord(recs, "server1.test.com.", dns.TypeRP); r == nil || r.Pos.Line != 19 || r.Pos.Col != 4 {
		t.Errorf("RP continuing server1 = %+v", r)
	}
	if r := findRecord(recs, "interrupted-rrset.test.com.", dns.TypeA); r == nil || len(r.RRs) != 2 || r.Pos.Line != 46 {
		t.Errorf("interrupted A RRset = %+v", r)
	}
	if r := findRecord(recs, "toroot.test.com.", dns.TypeCNAME); r == nil || r.RRs[0].(*dns.CNAME).Target != "." {
		t.Errorf("CNAME to root = %+v", r)
	}
	if r := findRecord(recs, "test.com.", dns.TypeSOA); r == nil || r.TTL != 3600 || r.RRs[0].(*dns.SOA).Refresh != 8*3600 {
		t.Errorf("SOA = %+v", r)
	}
}

// TestParseMasterSyntax covers the syntax the entry splitter and the
// directives handle, with exact renderings of the result.
func TestParseMasterSyntax(t *testing.T) {
	tests := []struct {
		name, zone, want string
	}{
		{
			name: "multi-line SOA with comments holding parentheses and quotes",
			zone: `$TTL 300
@ IN SOA ns1 Host\.Master ( ; the "primary" (really)
	2024010101 ; serial (yyyymmddnn)
	2h 1h   ; refresh, retry ")"
	2w
	5m )
@ NS ns1
`,
			want: `2:1 example.com.	300	IN	SOA	ns1.example.com. Host\.Master.example.com. 2024010101 7200 3600 1209600 300
7:1 example.com.	300	IN	NS	ns1.example.com.
`,
		},
		{
			name: "semicolon, parentheses and escaped quote inside a quoted TXT",
			zone: `txt 60 IN TXT "v=spf1; a (mx) -all" "say \"hi\"; (bye"
	TXT ( "one;"
	  "two)" ) ; trailing
`,
			want: `1:1 txt.example.com.	60	IN	TXT	"v=spf1; a (mx) -all" "say \"hi\"; (bye"
1:1 txt.example.com.	60	IN	TXT	"one;" "two)"
`,
		},
		{
			name: "blank owner continues the previous owner, across comments and blank lines",
			zone: `$TTL 60
www A 192.0.2.1

; a comment
	A 192.0.2.2
  600 IN AAAA 2001:db8::1
mail MX 10 www
`,
			want: `2:1 www.example.com.	60	IN	A	192.0.2.1
2:1 www.example.com.	60	IN	A	192.0.2.2
6:3 www.example.com.	600	IN	AAAA	2001:db8::1
7:1 mail.example.com.	60	IN	MX	10 www.example.com.
`,
		},
		{
			name: "$ORIGIN absolute and relative, @ and upper case",
			zone: `$TTL 60
$ORIGIN Sub.Example.COM.
@ A 192.0.2.1
WWW CNAME @
$ORIGIN deeper
x NS NS1.Example.Com.
$ORIGIN example.com.
y PTR Y.sub
`,
			want: `3:1 sub.example.com.	60	IN	A	192.0.2.1
4:1 www.sub.example.com.	60	IN	CNAME	sub.example.com.
6:1 x.deeper.sub.example.com.	60	IN	NS	NS1.Example.Com.
8:1 y.example.com.	60	IN	PTR	Y.sub.example.com.
`,
		},
		{
			name: "$TTL wins over earlier explicit TTLs; without $TTL the previous TTL is inherited",
			zone: `a 100 A 192.0.2.1
b A 192.0.2.2
$TTL 1h
c 200 A 192.0.2.3
d A 192.0.2.4
e 1d2h A 192.0.2.5
`,
			want: `1:1 a.example.com.	100	IN	A	192.0.2.1
2:1 b.example.com.	100	IN	A	192.0.2.2
4:1 c.example.com.	200	IN	A	192.0.2.3
5:1 d.example.com.	3600	IN	A	192.0.2.4
6:1 e.example.com.	93600	IN	A	192.0.2.5
`,
		},
		{
			name: "no TTL anywhere: the SOA minimum, then inherited",
			zone: `@ IN SOA ns1 hm 1 2 3 4 900
@ NS ns1
`,
			want: `1:1 example.com.	900	IN	SOA	ns1.example.com. hm.example.com. 1 2 3 4 900
2:1 example.com.	900	IN	NS	ns1.example.com.
t.zone:1:1: warning: no TTL, no $TTL and no earlier RR: using the SOA minimum, 900 (RFC 2308 §4)
`,
		},
		{
			name: "$GENERATE uses the origin and $TTL",
			zone: `$ORIGIN example.com.
$TTL 120
$GENERATE 1-3 host-$ A 10.0.0.$
$GENERATE 10-12/2 ${0,3,d}.rev 300 PTR host-$
`,
			want: `3:1 host-1.example.com.	120	IN	A	10.0.0.1
3:1 host-2.example.com.	120	IN	A	10.0.0.2
3:1 host-3.example.com.	120	IN	A	10.0.0.3
4:1 010.rev.example.com.	300	IN	PTR	host-10.example.com.
4:1 012.rev.example.com.	300	IN	PTR	host-12.example.com.
`,
		},
		{
			name: "RRsets group by owner and type in first-seen order; TTLs unify to the minimum",
			zone: `a 300 A 192.0.2.1
b 300 A 192.0.2.9
A 60 A 192.0.2.2
a 300 TXT "x"
`,
			want: `1:1 a.example.com.	60	IN	A	192.0.2.1
1:1 a.example.com.	60	IN	A	192.0.2.2
2:1 b.example.com.	300	IN	A	192.0.2.9
4:1 a.example.com.	300	IN	TXT	"x"
t.zone:3:1: warning: TTL 60 differs from TTL 300 of the a.example.com. A RRset at t.zone:1:1; the RRset gets the lowest (RFC 2181 §5.2)
`,
		},
		{
			name: "duplicates are dropped with a warning, also when only case or TTL differs",
			zone: `$TTL 60
a A 192.0.2.1
a A 192.0.2.1
a CNAME x
a 90 CNAME X
`,
			want: `2:1 a.example.com.	60	IN	A	192.0.2.1
4:1 a.example.com.	60	IN	CNAME	x.example.com.
t.zone:3:1: warning: duplicate a.example.com. A RR ignored
t.zone:5:1: warning: duplicate a.example.com. CNAME RR ignored
`,
		},
		{
			name: "out-of-zone owners and class CH are errors; the rest loads",
			zone: `$TTL 60
www.example.net. A 192.0.2.1
	TXT "still out"
example.com. A 192.0.2.2
version CH TXT "1.0"
ok IN A 192.0.2.3
xexample.com. A 192.0.2.4
`,
			want: `4:1 example.com.	60	IN	A	192.0.2.2
6:1 ok.example.com.	60	IN	A	192.0.2.3
t.zone:2:1: www.example.net. is out of zone example.com.
t.zone:3:2: www.example.net. is out of zone example.com.
t.zone:5:1: class CH is not served; only IN
t.zone:7:1: xexample.com. is out of zone example.com.
`,
		},
		{
			name: "ALIAS, rdata names keep their case (RFC 4343), RFC 3597 form",
			zone: `$TTL 60
@ ALIAS Target.Example.NET.
@ MX 10 MAIL
_sip._tcp SRV 0 5 5060 SIP.Example.com.
u TYPE65000 \# 2 ABCD
k A \# 4 C0000201
`,
			want: `2:1 example.com.	60	IN	ALIAS	target.example.net.
3:1 example.com.	60	IN	MX	10 MAIL.example.com.
4:1 _sip._tcp.example.com.	60	IN	SRV	0 5 5060 SIP.Example.com.
5:1 u.example.com.	60	CLASS1	TYPE65000	\# 2 ABCD
6:1 k.example.com.	60	IN	A	192.0.2.1
`,
		},
		{
			name: "lexical errors: unclosed quote, stray and unclosed parentheses, unknown directive, missing rdata",
			zone: `$TTL 60
a TXT "no end
b A 192.0.2.1 )
c A 192.0.2.2
$FOO bar
d A
e TXT ( "x
   "y" )
f A 192.0.2.3
g SOA ( ns hm 1 2 3 4 5
`,
			want: `4:1 c.example.com.	60	IN	A	192.0.2.2
9:1 f.example.com.	60	IN	A	192.0.2.3
t.zone:2:7: quoted string not closed before end of line
t.zone:3:15: ")" without an opening "("
t.zone:5:1: unknown directive "$FOO"
t.zone:6:3: missing rdata after "A"
t.zone:7:9: quoted string not closed before end of line
t.zone:10:7: "(" not closed before end of file
`,
		},
		{
			name: "directive errors",
			zone: `$TTL
$TTL 1x
$ORIGIN a b
$ORIGIN bad..name
$GENERATE 1-2 x
$GENERATE 5-1 x A 10.0.0.$
$GENERATE 1-3 x-$ 60 A
`,
			want: `t.zone:1:1: $TTL takes one TTL
t.zone:2:6: bad $TTL value "1x"
t.zone:3:1: $ORIGIN takes one domain name
t.zone:4:9: bad $ORIGIN name "bad..name"
t.zone:5:1: $GENERATE takes a range, an owner, optionally a TTL and class, a type and rdata
t.zone:6:11: bad $GENERATE range "5-1": start is above stop
t.zone:7:22: missing rdata after "A"
`,
		},
		{
			name: "a bad owner's continuations are dropped quietly; a blank first entry is an error",
			zone: `	A 192.0.2.1
	A 192.0.2.2
bad..owner A 192.0.2.3
	A 192.0.2.4
good A 192.0.2.5
	A 192.0.2.6
`,
			want: `5:1 good.example.com.	3600	IN	A	192.0.2.5
5:1 good.example.com.	3600	IN	A	192.0.2.6
t.zone:1:2: entry starts with a blank (same owner as the previous entry) but there is no previous owner
t.zone:3:1: bad owner name: "bad..owner"
t.zone:5:1: warning: no TTL, no $TTL and no earlier RR: using 3600
`,
		},
		{
			name: "CRLF line ends and an entry without a final newline",
			zone: "$TTL 60\r\na A 192.0.2.1\r\nb TXT ( \"x\"\r\n \"y\" )\r\nc A 192.0.2.2",
			want: `2:1 a.example.com.	60	IN	A	192.0.2.1
3:1 b.example.com.	60	IN	TXT	"x" "y"
5:1 c.example.com.	60	IN	A	192.0.2.2
`,
		},
		{
			name: "escapes in owner names compare like their wire form",
			zone: `$TTL 60
\065bc A 192.0.2.1
aBC A 192.0.2.2
a\.b TXT "dot"
`,
			want: `2:1 abc.example.com.	60	IN	A	192.0.2.1
2:1 abc.example.com.	60	IN	A	192.0.2.2
4:1 a\.b.example.com.	60	IN	TXT	"dot"
`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			recs, probs := Parse("t.zone", "example.com.", []byte(tt.zone))
			if got := renderMaster(recs, probs, nil); got != tt.want {
				t.Errorf("got:\n%s\nwant:\n%s\n%s", got, tt.want, lineDiff(tt.want, got))
			}
		})
	}
}

// TestParseMasterThreeErrors is the `check` use case: every syntax error
// of a file, each with its exact position, and the good RRs still parsed.
func TestParseMasterThreeErrors(t *testing.T) {
	zone := `$TTL 300
@ IN SOA ns1 hostmaster 1 7200 3600 1209600 300
www IN A 192.0.2.300
; comment
mail IN MX 10 mx1
mx1 IN A 192.0.2.1
v6 IN AAAA 2001:db8::g
txt IN TXT "one"
multi IN SOA ns1 hostmaster (
	2024010101  ; serial
	7200        ; refresh
	1hour       ; retry: bad unit
	1209600 300 )
last IN A 192.0.2.2
`
	recs, probs := Parse("zones/example.com.zone", "example.com.", []byte(zone))
	want := []string{
		`zones/example.com.zone:3:10: bad A A: "192.0.2.300"`,
		`zones/example.com.zone:7:12: bad AAAA AAAA: "2001:db8::g"`,
		`zones/example.com.zone:12:2: bad SOA zone parameter: "1hour"`,
	}
	var got []string
	for _, p := range probs {
		got = append(got, p.Error())
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	var names []string
	for _, r := range recs {
		names = append(names, fmt.Sprintf("%s %s @%d", r.Name, dns.Type(r.Type), r.Pos.Line))
	}
	wantNames := "example.com. SOA @2, mail.example.com. MX @5, mx1.example.com. A @6, txt.example.com. TXT @8, last.example.com. A @14"
	if strings.Join(names, ", ") != wantNames {
		t.Errorf("records: %s\nwant:    %s", strings.Join(names, ", "), wantNames)
	}
}

func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, data := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestParseMasterInclude(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"main.zone": `$TTL 60
@ NS ns1
$INCLUDE hosts.inc
after A 192.0.2.9
	TXT "owner is after, not the include's last"
$INCLUDE sub/child.inc sub
$INCLUDE missing.inc
$INCLUDE loop-a.inc
`,
		"hosts.inc": `ns1 A 192.0.2.1
$TTL 5
$ORIGIN elsewhere.example.com.
h2 A 192.0.2.2
`,
		"sub/child.inc": `@ A 192.0.2.3
$INCLUDE grand.inc
`,
		"sub/grand.inc": `grand 99 A 192.0.2.4
`,
		"loop-a.inc": `la A 192.0.2.5
$INCLUDE loop-b.inc
`,
		"loop-b.inc": `lb A 192.0.2.6
$INCLUDE loop-a.inc
`,
	})
	main := filepath.Join(dir, "main.zone")
	recs, probs := ParseFile(main, "example.com.")
	j := func(s ...string) string { return filepath.Join(append([]string{dir}, s...)...) }
	want := fmt.Sprintf(`2:1 example.com.	60	IN	NS	ns1.example.com.
1:1 ns1.example.com.	60	IN	A	192.0.2.1
4:1 h2.elsewhere.example.com.	5	IN	A	192.0.2.2
4:1 after.example.com.	60	IN	A	192.0.2.9
5:2 after.example.com.	60	IN	TXT	"owner is after, not the include's last"
1:1 sub.example.com.	60	IN	A	192.0.2.3
1:1 grand.sub.example.com.	99	IN	A	192.0.2.4
1:1 la.example.com.	60	IN	A	192.0.2.5
1:1 lb.example.com.	60	IN	A	192.0.2.6
%s:7:1: $INCLUDE "missing.inc": stat %s: no such file or directory
%s:2:1: $INCLUDE loop: %s -> %s -> %s
`, main, j("missing.inc"), j("loop-b.inc"), j("loop-a.inc"), j("loop-b.inc"), j("loop-a.inc"))
	if got := renderMaster(recs, probs, nil); got != want {
		t.Errorf("got:\n%s\nwant:\n%s\n%s", got, want, lineDiff(want, got))
	}
	if r := findRecord(recs, "grand.sub.example.com.", dns.TypeA); r == nil || r.Pos.File != j("sub", "grand.inc") {
		t.Errorf("record from a nested include has Pos %+v", r)
	}

	// A file including itself.
	writeFiles(t, dir, map[string]string{"self.zone": "a A 192.0.2.1\n$INCLUDE self.zone\n"})
	_, probs = ParseFile(j("self.zone"), "example.com.")
	if errs := probs.Errors(); len(errs) != 1 || !strings.Contains(errs[0].Msg, "$INCLUDE loop") || errs[0].Pos.Line != 2 {
		t.Errorf("self include: %v", probs)
	}
}

func TestParseMasterFileMissing(t *testing.T) {
	_, probs := ParseFile("testdata/rfc1035/nope.zone", "example.com.")
	if len(probs) != 1 || !strings.HasPrefix(probs[0].Error(), "testdata/rfc1035/nope.zone:1:1: stat ") {
		t.Errorf("problems = %v", probs)
	}
}

// TestParseMasterLimits checks the guards against runaway input: the
// problem list is capped with a summary, $GENERATE output is bounded.
func TestParseMasterLimits(t *testing.T) {
	zone := strings.Repeat("x A 192.0.2.256\n", maxProblems+500)
	_, probs := Parse("t.zone", "example.com.", []byte(zone))
	if len(probs) != maxProblems+1 || probs[maxProblems].Msg != "500 more problems not shown" || probs[maxProblems].Warning {
		t.Errorf("%d problems, last %v", len(probs), probs[len(probs)-1])
	}

	p := newParser("example.com.", readFile)
	p.maxGen = 100
	recs, probs := p.parse("t.zone", []byte("$TTL 60\n$GENERATE 1-80 a$ A 10.0.0.1\n$GENERATE 1-80 b$ A 10.0.0.1\n"))
	if len(recs) != 100 || len(probs) != 1 || probs[0].Error() != "t.zone:3:1: $GENERATE: more than 100 generated RRs in the zone" {
		t.Errorf("%d records, problems %v", len(recs), probs)
	}
}

// genZone writes a zone of n `hostN IN A` lines.
func genZone(n int) []byte {
	var b bytes.Buffer
	b.Grow(n * 32)
	b.WriteString("$TTL 300\n@ IN SOA ns1 hostmaster 1 7200 3600 1209600 300\n@ IN NS ns1\n")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "host%d IN A 10.%d.%d.%d\n", i, i>>16&255, i>>8&255, i&255)
	}
	return b.Bytes()
}

// TestParseMasterLarge guards against quadratic behaviour: 200,000 lines
// take about a second; a quadratic step would take minutes.
func TestParseMasterLarge(t *testing.T) {
	if testing.Short() {
		t.Skip("large zone")
	}
	const n = 200000
	data := genZone(n)
	start := time.Now()
	recs, probs := Parse("big.zone", "example.com.", data)
	t.Logf("%d lines in %v", n, time.Since(start))
	if len(probs) != 0 || len(recs) != n+2 {
		t.Fatalf("%d records, problems %v", len(recs), probs)
	}
}

func BenchmarkParseMaster200k(b *testing.B) {
	data := genZone(200000)
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	for b.Loop() {
		Parse("big.zone", "example.com.", data)
	}
}
