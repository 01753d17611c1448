package querylog

import (
	"bytes"
	"encoding/json"
	"flag"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/smartdns/smartdns/internal/config"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// logCase is one query given to Log in the JSON and dnstap tests.
type logCase struct {
	name           string
	client, server string // AddrPort text
	tcp            bool
	query          []byte
	response       []byte // nil: dropped
	latency        time.Duration
}

// goldenCases covers the JSON fields: plain and mixed-case names, unknown
// type and class, ECS in both families, an extended rcode, a dropped
// query, and packets that do not parse.
func goldenCases(t testing.TB) []logCase {
	a := newQuery("www.example.com.", dns.TypeA)
	aaaa := newQuery("WwW.ExAmple.COM.", dns.TypeAAAA)
	unknown := newQuery("odd.example.com.", 65280)
	chaos := newQuery("version.bind.", dns.TypeTXT)
	chaos.Question[0].Qclass = dns.ClassCHAOS
	class := newQuery("x.example.com.", dns.TypeA)
	class.Question[0].Qclass = 1234
	ecs4 := withECS(newQuery("geo.example.com.", dns.TypeA), 1, "203.0.113.77", 24)
	ecs6 := withECS(newQuery("geo.example.com.", dns.TypeAAAA), 2, "2001:db8:1234:5678::1", 48)
	badvers := newQuery("www.example.com.", dns.TypeA)
	badvers.SetEdns0(1232, false)
	badvers.IsEdns0().SetVersion(1)
	badversResp := newAnswer(t, badvers, dns.RcodeBadVers)
	badversResp.SetEdns0(1232, false)
	formerr := []byte{0x12, 0x34, 0x81, 0x01, 0, 0, 0, 0, 0, 0, 0, 0} // header only: qr rd, FORMERR
	good := pack(t, newAnswer(t, a, dns.RcodeSuccess, "www.example.com. 300 IN A 192.0.2.80"))

	return []logCase{
		{
			name: "A answered", client: "192.0.2.1:53000", server: "198.51.100.53:53",
			query:    pack(t, a),
			response: pack(t, newAnswer(t, a, dns.RcodeSuccess, "www.example.com. 300 IN A 192.0.2.80", "www.example.com. 300 IN A 192.0.2.81")),
			latency:  250 * time.Microsecond,
		},
		{
			name: "case kept, NXDOMAIN over TCP v6", client: "[2001:db8::1]:40000", server: "[2001:db8::53]:53", tcp: true,
			query:    pack(t, aaaa),
			response: pack(t, newAnswer(t, aaaa, dns.RcodeNameError)),
			latency:  1500 * time.Microsecond,
		},
		{
			name: "unknown type", client: "192.0.2.2:1234", server: "198.51.100.53:53",
			query:    pack(t, unknown),
			response: pack(t, newAnswer(t, unknown, dns.RcodeSuccess)),
		},
		{
			name: "chaos class", client: "192.0.2.2:1235", server: "198.51.100.53:53",
			query:    pack(t, chaos),
			response: pack(t, newAnswer(t, chaos, dns.RcodeRefused)),
			latency:  3 * time.Microsecond,
		},
		{
			name: "unknown class", client: "192.0.2.2:1236", server: "198.51.100.53:53",
			query:    pack(t, class),
			response: pack(t, newAnswer(t, class, dns.RcodeNotImplemented)),
		},
		{
			name: "ECS v4", client: "192.0.2.3:5353", server: "198.51.100.53:53",
			query:    pack(t, ecs4),
			response: pack(t, newAnswer(t, ecs4, dns.RcodeSuccess, "geo.example.com. 60 IN A 192.0.2.90")),
			latency:  42 * time.Microsecond,
		},
		{
			name: "ECS v6 over TCP", client: "[2001:db8::7]:5353", server: "[2001:db8::53]:53", tcp: true,
			query:    pack(t, ecs6),
			response: pack(t, newAnswer(t, ecs6, dns.RcodeSuccess)),
			latency:  42 * time.Microsecond,
		},
		{
			name: "extended rcode BADVERS", client: "192.0.2.4:1000", server: "198.51.100.53:53",
			query:    pack(t, badvers),
			response: pack(t, badversResp),
		},
		{
			name: "dropped without answer", client: "192.0.2.5:2000", server: "198.51.100.53:53",
			query:   pack(t, a),
			latency: 7 * time.Microsecond,
		},
		{
			name: "malformed query answered FORMERR", client: "192.0.2.6:3000", server: "198.51.100.53:53",
			query:    []byte{0x12, 0x34, 0x01},
			response: formerr,
		},
		{
			name: "truncated response", client: "192.0.2.7:4000", server: "198.51.100.53:53",
			query:    pack(t, a),
			response: good[:20],
		},
		{
			name: "empty query dropped", client: "192.0.2.8:5000", server: "198.51.100.53:53",
		},
		{
			name: "v4-mapped client", client: "[::ffff:192.0.2.9]:6000", server: "[::ffff:198.51.100.53]:53",
			query:    pack(t, a),
			response: good,
			latency:  time.Second,
		},
	}
}

// logAll logs every case, received one millisecond apart from t0.
func logAll(l *Logger, clock *fakeClock, cases []logCase) {
	for i, c := range cases {
		received := t0.Add(time.Duration(i) * time.Millisecond)
		clock.set(received.Add(c.latency))
		l.Log(netip.MustParseAddrPort(c.client), netip.MustParseAddrPort(c.server), c.tcp, c.query, c.response, received)
	}
}

// TestJSONGolden runs the cases through Open, Log and Close into a file
// and compares it with testdata/querylog.golden.jsonl (-update rewrites it).
func TestJSONGolden(t *testing.T) {
	path := filepath.Join(t.TempDir(), "queries.jsonl")
	clock := newFakeClock(t0)
	o := fastOptions()
	o.now = clock.now
	l := mustOpen(t, config.QueryLog{JSON: path}, o)
	cases := goldenCases(t)
	logAll(l, clock, cases)
	if err := l.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if s := l.Stats(); s != (Stats{Logged: uint64(len(cases))}) {
		t.Errorf("Stats = %+v, want %d logged", s, len(cases))
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "querylog.golden.jsonl")
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	gotLines, wantLines := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
	if len(gotLines) != len(wantLines) {
		t.Fatalf("got %d lines, want %d:\n%s", len(gotLines), len(wantLines), got)
	}
	for i := range gotLines {
		if gotLines[i] != wantLines[i] {
			t.Errorf("line %d (%s):\n got: %s\nwant: %s", i+1, cases[min(i, len(cases)-1)].name, gotLines[i], wantLines[i])
		}
	}
	for i, line := range bytes.Split(bytes.TrimSuffix(got, []byte("\n")), []byte("\n")) {
		if !json.Valid(line) {
			t.Errorf("line %d is not valid JSON: %s", i+1, line)
		}
	}
}

// TestJSONFileAppends checks that a second Open appends to the file and
// that a new file is created 0640.
func TestJSONFileAppends(t *testing.T) {
	path := filepath.Join(t.TempDir(), "queries.jsonl")
	q := pack(t, newQuery("a.example.", dns.TypeA))
	for range 2 {
		l := mustOpen(t, config.QueryLog{JSON: path}, fastOptions())
		l.Log(netip.MustParseAddrPort("192.0.2.1:1"), netip.MustParseAddrPort("192.0.2.53:53"), false, q, nil, t0)
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if n := bytes.Count(b, []byte("\n")); n != 2 {
		t.Errorf("%d lines after two opens, want 2:\n%s", n, b)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm&^0o640 != 0 {
		t.Errorf("mode %v, want at most 0640", perm)
	}
}

// TestJSONFields decodes lines and checks the fields that matter most to
// a reader, including those left out.
func TestJSONFields(t *testing.T) {
	a := newQuery("www.example.com.", dns.TypeA)
	tests := []struct {
		name     string
		query    []byte
		response []byte
		want     map[string]any
		absent   []string
	}{
		{
			name:     "answered",
			query:    pack(t, a),
			response: pack(t, newAnswer(t, a, dns.RcodeSuccess, "www.example.com. 1 IN A 192.0.2.1")),
			want: map[string]any{"id": 4660.0, "name": "www.example.com.", "type": "A", "class": "IN",
				"rcode": "NOERROR", "flags": "qr aa rd", "answers": 1.0},
			absent: []string{"dropped", "error", "ecs"},
		},
		{
			name:   "dropped",
			query:  pack(t, a),
			want:   map[string]any{"dropped": true, "size": 0.0, "flags": "rd", "name": "www.example.com."},
			absent: []string{"rcode", "answers", "error"},
		},
		{
			name:     "garbage both",
			query:    []byte{0xff},
			response: []byte{0xde, 0xad, 0xbe, 0xef, 0x00},
			want:     map[string]any{"id": float64(0xdead), "size": 5.0, "client": "192.0.2.1", "port": 53000.0},
			absent:   []string{"name", "rcode", "flags", "answers", "dropped"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := testEntry("192.0.2.1:53000", false, tc.query, tc.response, t0, t0)
			line := appendJSONLine(nil, e)
			var got map[string]any
			if err := json.Unmarshal(line, &got); err != nil {
				t.Fatalf("%v: %s", err, line)
			}
			for k, v := range tc.want {
				if got[k] != v {
					t.Errorf("%s = %#v, want %#v (line %s)", k, got[k], v, line)
				}
			}
			for _, k := range tc.absent {
				if _, ok := got[k]; ok {
					t.Errorf("%s present, want it left out (line %s)", k, line)
				}
			}
			if _, ok := got["error"]; ok != (tc.name == "garbage both") {
				t.Errorf("error present = %v (line %s)", ok, line)
			}
		})
	}
}

// testEntry builds an entry the way Log does, with its own buffer.
func testEntry(client string, tcp bool, query, response []byte, received, responded time.Time) *entry {
	b := append(append([]byte(nil), query...), response...)
	return &entry{
		client:    netip.MustParseAddrPort(client),
		server:    netip.MustParseAddrPort("198.51.100.53:53"),
		received:  received,
		responded: responded,
		buf:       &b,
		qlen:      len(query),
		tcp:       tcp,
		dropped:   len(response) == 0,
	}
}

func TestAppendJSONString(t *testing.T) {
	for _, s := range []string{"", "plain", `q"uote\back`, "tab\tnl\ncr\r", "\x00\x1f\x7f", "caf\xc3\xa9", "bad\xffutf8\xc3", "\u2028"} {
		got := appendJSONString(nil, s)
		var back, want string
		if err := json.Unmarshal(got, &back); err != nil {
			t.Errorf("%q: %s is not a JSON string: %v", s, got, err)
			continue
		}
		std, _ := json.Marshal(s)
		json.Unmarshal(std, &want)
		if back != want {
			t.Errorf("%q: decodes to %q, encoding/json gives %q", s, back, want)
		}
	}
}

// FuzzJSONLine feeds arbitrary packets through the JSON encoder: every
// line must be one valid JSON object ending in a newline.
func FuzzJSONLine(f *testing.F) {
	for _, c := range goldenCases(f) {
		f.Add(c.query, c.response, c.tcp)
	}
	f.Fuzz(func(t *testing.T, query, response []byte, tcp bool) {
		e := testEntry("[2001:db8::1]:53", tcp, query, response, t0, t0.Add(time.Millisecond))
		line := appendJSONLine(nil, e)
		if bytes.IndexByte(line, '\n') != len(line)-1 {
			t.Fatalf("line does not end in its only newline: %q", line)
		}
		var m map[string]any
		if err := json.Unmarshal(line, &m); err != nil {
			t.Fatalf("invalid JSON %v: %s", err, line)
		}
		if m["time"] != "2026-03-14T15:09:26.535897932Z" || m["latency_us"] != 1000.0 {
			t.Fatalf("time or latency wrong: %s", line)
		}
	})
}
