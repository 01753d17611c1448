package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// PowerDNS's authoritative regression cases (regression-tests/tests/ of
// github.com/PowerDNS/pdns, see testdata/pdns/README.md) run against
// smartdns. Each case folder holds `command` (one or more `cleandig QNAME
// QTYPE [dnssec] [tcp] [showflags]` lines), `description` and
// `expected_result`, the output of PowerDNS's sdig piped through
// `LC_ALL=C sort`: one line per RR, `section\tname\tttl\tIN\ttype\trdata`
// (section 0 answer, 1 authority, 2 additional), then the rcode/flags line
// and the question line. The test sends the same query with dig, prints
// the answer the way sdig does, sorts it the same way and compares.
//
// smartdns does not sign zones, so RRSIG, NSEC, NSEC3, NSEC3PARAM and
// DNSKEY lines are dropped from the expected results. The cases where
// PowerDNS made a choice of its own (not an RFC requirement) are listed in
// pdnsChoices; for those the test asserts smartdns's own answer, given in
// smartdnsAnswers (docs/pdns-regression.md explains each one).

// pdnsChoices: case -> why smartdns answers differently from PowerDNS.
var pdnsChoices = map[string]string{
	"cname-loop-breakout": "PowerDNS answers a CNAME loop with SERVFAIL; smartdns, like BIND, Knot and NSD, " +
		"returns the chain up to the point where it loops, with NOERROR: RFC 1034 §4.3.2 step 3a copies each CNAME " +
		"and restarts, defining no error for a loop; the resolver following the chain signals it (§3.6.2)",
	"cname-and-wildcard-trump": "the zone has a CNAME and an A at *.mixed-wc; PowerDNS serves it and lets the CNAME win, " +
		"smartdns (like BIND, Knot and NSD) refuses to load a zone with a CNAME beside other data (RFC 1034 §3.6.2, " +
		"RFC 2181 §10.1), so the test serves example.com without that A record",
}

// smartdnsAnswers: for each case of pdnsChoices, smartdns's answer in the
// expected_result format.
var smartdnsAnswers = map[string]string{
	"cname-loop-breakout": `0	loop1.example.com.	120	IN	CNAME	loop2.example.com.
0	loop2.example.com.	120	IN	CNAME	loop3.example.com.
0	loop3.example.com.	120	IN	CNAME	loop1.example.com.
Rcode: 0 (No Error), RD: 0, QR: 1, TC: 0, AA: 1, opcode: 0
Reply to question for qname='loop1.example.com.', qtype=A
`,
	// Same as PowerDNS once the A record is gone; the choice itself (the
	// zone as PowerDNS has it is refused) is checked by pdnsChoiceChecks.
	"cname-and-wildcard-trump": `0	outpost.example.com.	120	IN	A	192.168.2.1
0	test.mixed-wc.example.com.	120	IN	CNAME	outpost.example.com.
Rcode: 0 (No Error), RD: 0, QR: 1, TC: 0, AA: 1, opcode: 0
Reply to question for qname='test.mixed-wc.example.com.', qtype=A
`,
}

// pdnsSkipped are cleandig lines not run, with the reason; their block
// of expected_result is skipped too.
var pdnsSkipped = map[string]string{
	"www.cryptokeys.org": "cryptokeys.org is not among the zones copied from PowerDNS (README.md)",
}

// pdnsZoneEdits are lines of the copied zones that smartdns cannot load,
// each commented out (line numbers are kept) before the zones are served;
// without the edits the whole zone is refused. Only cname-and-wildcard-trump
// asks for one of them.
var pdnsZoneEdits = []struct{ file, line, why string }{
	{"example.com.zone", "google-alias\t\tIN \tALIAS \tgoogle-public-dns-a.google.com.",
		"smartdns allows ALIAS only at a zone apex, and the target is in no zone it serves"},
	{"example.com.zone", "*.mixed-wc\t\t\tIN\tA\t192.168.1.1",
		"a CNAME cannot coexist with other data (RFC 1034 §3.6.2); see cname-and-wildcard-trump"},
	{"delegated.dnssec-parent.com.zone", "@\t\t\tIN\tDS\t44030 8 2 D4C3D5552B8679FAEEBC317E5F048B614B2E5F607DC57F1553182D49AB2179F7",
		"a DS at the zone apex belongs in the parent (RFC 4035 §2.4; BIND refuses it too); dnssec-parent.com has it"},
}

// pdnsDir holds the copied zones and cases.
var pdnsDir = filepath.Join("testdata", "pdns")

func TestPDNS(t *testing.T) {
	zonesDir := filepath.Join(pdnsDir, "zones")
	s := Start(t, Options{ZonesFrom: zonesDir, Files: pdnsEditedZones(t, zonesDir)})
	for _, z := range []string{"example.com", "test.com", "wtest.com", "dnssec-parent.com", "delegated.dnssec-parent.com", "minimal.com"} {
		if a := s.Dig(z, "SOA"); a.Status != "NOERROR" || !a.Flags["aa"] || len(a.Answer) != 1 {
			t.Fatalf("zone %s is not served:\n%s\nserver log:\n%s", z, a.Raw, s.Log())
		}
	}

	entries, err := os.ReadDir(filepath.Join(pdnsDir, "tests"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		if e.IsDir() {
			names = append(names, e.Name())
		}
	}
	if len(names) != 46 {
		t.Fatalf("found %d case folders, want 46", len(names))
	}
	for name := range pdnsChoices {
		if _, ok := smartdnsAnswers[name]; !ok {
			t.Errorf("pdnsChoices[%s] has no smartdnsAnswers entry", name)
		}
	}
	ran := map[string]bool{} // case -> passed
	for _, name := range names {
		ok := t.Run(name, func(t *testing.T) {
			ran[name] = false
			dir := filepath.Join(pdnsDir, "tests", name)
			queries := pdnsCommands(t, filepath.Join(dir, "command"))
			blocks := pdnsBlocks(pdnsReadFile(t, filepath.Join(dir, "expected_result")))
			if len(blocks) != len(queries) {
				t.Fatalf("%d queries in command but %d answers in expected_result", len(queries), len(blocks))
			}
			var want, got []string
			for i, q := range queries {
				if why, skip := pdnsSkipped[strings.TrimSuffix(q.qname, ".")]; skip {
					t.Logf("not run: cleandig %s %s: %s", q.qname, q.qtype, why)
					continue
				}
				want = append(want, pdnsNormalize(blocks[i])...)
				got = append(got, pdnsSdigOutput(s.Dig(q.digArgs()...))...)
			}
			wantText, gotText := strings.Join(want, "\n")+"\n", strings.Join(got, "\n")+"\n"
			reason, choice := pdnsChoices[name]
			if !choice {
				if gotText != wantText {
					t.Errorf("answer differs from PowerDNS's\n--- want (PowerDNS)\n%s--- got (smartdns)\n%s", wantText, gotText)
				}
				return
			}
			own := strings.Join(pdnsNormalize(strings.Split(strings.TrimSuffix(smartdnsAnswers[name], "\n"), "\n")), "\n") + "\n"
			if gotText != own {
				t.Errorf("smartdns's own answer changed (PowerDNS differs by choice: %s)\n--- want (smartdns)\n%s--- got\n%s", reason, own, gotText)
			}
			if check := pdnsChoiceChecks[name]; check != nil {
				check(t)
			} else if gotText == wantText {
				t.Errorf("smartdns now answers as PowerDNS does; remove %s from pdnsChoices and docs/pdns-regression.md", name)
			}
		})
		if _, run := ran[name]; run {
			ran[name] = ok
		}
	}
	asPDNS, byChoice, failed := 0, 0, 0
	for name, ok := range ran {
		_, choice := pdnsChoices[name]
		switch {
		case !ok:
			failed++
		case choice:
			byChoice++
		default:
			asPDNS++
		}
	}
	t.Logf("%d of %d pass as PowerDNS answers; %d differ by choice; %d fail", asPDNS, len(ran), byChoice, failed)
}

// pdnsChoiceChecks assert the choice of a pdnsChoices case whose answer is
// PowerDNS's once the zone data smartdns refuses is left out.
var pdnsChoiceChecks = map[string]func(*testing.T){
	"cname-and-wildcard-trump": pdnsCheckMixedCNAME,
}

// pdnsEditedZones returns the zone files named in pdnsZoneEdits with
// those lines commented out.
func pdnsEditedZones(t *testing.T, dir string) map[string]string {
	t.Helper()
	files := map[string][]string{}
	for _, e := range pdnsZoneEdits {
		lines, ok := files[e.file]
		if !ok {
			lines = strings.Split(pdnsReadFile(t, filepath.Join(dir, e.file)), "\n")
			files[e.file] = lines
		}
		n := 0
		for i, l := range lines {
			if strings.TrimRight(l, " \t") == e.line {
				lines[i] = ";" + l
				n++
				t.Logf("%s:%d not served: %s", e.file, i+1, e.why)
			}
		}
		if n != 1 {
			t.Fatalf("%s: the line %q to comment out occurs %d times", e.file, e.line, n)
		}
	}
	out := map[string]string{}
	for f, lines := range files {
		out[f] = strings.Join(lines, "\n")
	}
	return out
}

// pdnsCheckMixedCNAME asserts smartdns's side of cname-and-wildcard-trump:
// the records as PowerDNS has them make `smartdns check` fail.
func pdnsCheckMixedCNAME(t *testing.T) {
	t.Helper()
	dir := t.TempDir()
	zones := filepath.Join(dir, "zones")
	if err := os.MkdirAll(zones, 0o755); err != nil {
		t.Fatal(err)
	}
	zone := "$TTL 120\n$ORIGIN example.com.\n@ IN SOA ns1 ahu 1 8H 2H 1W 1D\n@ IN NS ns1\nns1 IN A 192.168.1.1\n" +
		"*.mixed-wc IN A 192.168.1.1\n*.mixed-wc IN CNAME outpost\noutpost IN A 192.168.2.1\n"
	if err := os.WriteFile(filepath.Join(zones, "example.com.zone"), []byte(zone), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "smartdns.yaml")
	if err := os.WriteFile(cfg, []byte("listen: [127.0.0.1:0]\nzones: zones\ndata: smartdns.db\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(binary, "check", "--config", cfg).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "cannot coexist") {
		t.Errorf("smartdns check accepted a CNAME beside an A at *.mixed-wc (err %v):\n%s", err, out)
	}
}

// pdnsQuery is one cleandig line.
type pdnsQuery struct {
	qname, qtype string
	dnssec, tcp  bool
	bufsize      int // SDIGBUFSIZE, 0 if unset
}

// digArgs mirrors sdig: no RD; EDNS only with dnssec (DO set, buffer 2800)
// or SDIGBUFSIZE; UDP unless tcp, and a truncated answer is shown as it
// is, not retried over TCP.
func (q pdnsQuery) digArgs() []string {
	args := []string{q.qname, q.qtype}
	switch {
	case q.dnssec || q.bufsize > 0:
		size := 2800
		if q.bufsize > 0 {
			size = q.bufsize
		}
		if size > 65535 {
			size = 65535
		}
		args = append(args, "+edns=0", "+bufsize="+strconv.Itoa(size))
		if q.dnssec {
			args = append(args, "+dnssec")
		} else {
			args = append(args, "+nodnssec")
		}
	default:
		args = append(args, "+noedns")
	}
	if q.tcp {
		args = append(args, "+tcp")
	} else {
		args = append(args, "+notcp", "+ignore")
	}
	return args
}

// pdnsCommands parses a case's command script: each line that runs
// cleandig, with an optional SDIGBUFSIZE=N prefix.
func pdnsCommands(t *testing.T, path string) []pdnsQuery {
	t.Helper()
	var qs []pdnsQuery
	for _, line := range strings.Split(pdnsReadFile(t, path), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || strings.HasPrefix(f[0], "#") {
			continue
		}
		var q pdnsQuery
		for len(f) > 0 && strings.Contains(f[0], "=") {
			k, v, _ := strings.Cut(f[0], "=")
			if k != "SDIGBUFSIZE" {
				t.Fatalf("%s: unknown variable %s", path, k)
			}
			q.bufsize, _ = strconv.Atoi(v)
			f = f[1:]
		}
		if len(f) < 3 || f[0] != "cleandig" {
			t.Fatalf("%s: cannot translate %q", path, line)
		}
		q.qname, q.qtype = f[1], strings.ToUpper(f[2])
		for _, o := range f[3:] {
			switch o {
			case "dnssec":
				q.dnssec = true
			case "tcp":
				q.tcp = true
			case "showflags", "hidesoadetails":
				// Only change how NSEC3 and SOA are printed; neither matters here.
			default:
				t.Fatalf("%s: unknown cleandig option %q", path, o)
			}
		}
		qs = append(qs, q)
	}
	return qs
}

// pdnsBlocks cuts expected_result into one block per query; sort puts the
// "Reply to question" line last in each.
func pdnsBlocks(text string) [][]string {
	var blocks [][]string
	var cur []string
	for _, l := range strings.Split(text, "\n") {
		if l == "" {
			continue
		}
		cur = append(cur, l)
		if strings.HasPrefix(l, "Reply to question") {
			blocks = append(blocks, cur)
			cur = nil
		}
	}
	if len(cur) > 0 {
		blocks = append(blocks, cur)
	}
	return blocks
}

// pdnsDNSSECTypes are the record types of a signed zone, which smartdns never
// serves.
var pdnsDNSSECTypes = map[string]bool{"RRSIG": true, "NSEC": true, "NSEC3": true, "NSEC3PARAM": true, "DNSKEY": true}

// pdnsNormalize drops the DNSSEC records, puts RR lines written by older
// sdig versions (`name\tIN\ttype\tttl`) in the current column order, and
// sorts as cleandig does.
func pdnsNormalize(lines []string) []string {
	var out []string
	for _, l := range lines {
		f := strings.Split(l, "\t")
		if len(f) >= 5 && f[2] == "IN" {
			if _, err := strconv.ParseUint(f[4], 10, 32); err == nil {
				f[2], f[3], f[4] = f[4], "IN", f[3]
				l = strings.Join(f, "\t")
			}
		}
		if len(f) >= 5 && pdnsDNSSECTypes[f[4]] {
			continue
		}
		out = append(out, l)
	}
	sort.Strings(out)
	return out
}

// pdnsRcodes are sdig's names of the rcodes (PowerDNS's RCode::to_s).
var pdnsRcodes = map[string]string{
	"NOERROR":  "0 (No Error)",
	"FORMERR":  "1 (Form Error)",
	"SERVFAIL": "2 (Server Failure)",
	"NXDOMAIN": "3 (Non-Existent domain)",
	"NOTIMP":   "4 (Not Implemented)",
	"REFUSED":  "5 (Query Refused)",
	"YXDOMAIN": "6 (Name Exists when it should not)",
}

// pdnsSdigOutput prints dig's parsed answer as sdig does, sorted as cleandig
// sorts it. sdig prints the OPT record's TTL field, which is the EDNS
// flags word: 32768 when DO is set; smartdns's UDP size (not printed by
// sdig) does not matter.
func pdnsSdigOutput(a *Answer) []string {
	var out []string
	for i, sec := range [][]RR{a.Answer, a.Authority, a.Additional} {
		for _, r := range sec {
			if pdnsDNSSECTypes[r.Type] {
				continue
			}
			out = append(out, fmt.Sprintf("%d\t%s\t%d\t%s\t%s\t%s", i, r.Name, r.TTL, r.Class, r.Type, r.Data))
		}
	}
	if a.EDNS {
		flags := 0
		for _, f := range strings.Fields(a.EDNSFlags) {
			if f == "do" {
				flags |= 0x8000
			}
		}
		out = append(out, fmt.Sprintf("2\t.\t%d\tIN\tOPT\t", flags))
	}
	rcode, ok := pdnsRcodes[a.Status]
	if !ok {
		rcode = a.Status
	}
	out = append(out, fmt.Sprintf("Rcode: %s, RD: %d, QR: %d, TC: %d, AA: %d, opcode: 0",
		rcode, pdnsBit(a.Flags["rd"]), pdnsBit(a.Flags["qr"]), pdnsBit(a.Flags["tc"]), pdnsBit(a.Flags["aa"])))
	q := strings.Fields(a.Question) // name, class, type
	if len(q) == 3 {
		out = append(out, fmt.Sprintf("Reply to question for qname='%s', qtype=%s", q[0], q[2]))
	}
	sort.Strings(out)
	return out
}

func pdnsBit(b bool) int {
	if b {
		return 1
	}
	return 0
}

func pdnsReadFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
