package masterfile

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/miekg/dns"

	"github.com/smartdns/smartdns/zones/zonefile"
)

// FuzzParseMaster feeds arbitrary bytes to the master-file reader. It must
// never panic or hang, and whatever it returns must hold the invariants
// the compiler relies on. $INCLUDE is served from memory so that fuzzing
// never reads the real file system.
func FuzzParseMaster(f *testing.F) {
	paths, _ := filepath.Glob(filepath.Join("testdata", "rfc1035", "*"))
	for _, p := range paths {
		if strings.HasSuffix(p, ".md") || strings.Contains(p, "LICENSE") {
			continue
		}
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		if len(data) > 8192 { // example.com: its head has the variety, the rest is 20,000 A records
			data = data[:8192]
		}
		f.Add(data)
	}
	for _, s := range []string{
		"$TTL 60\n@ SOA ns hm ( 1 2 ; c ( \" \n 3 4 5 )\n\tNS ns\n",
		"a TXT \"x;y(\" \"\\\"\" ; z\n\tTXT ( \"p\"\n \"q\" )\n",
		"$ORIGIN sub\n$TTL 1h\n@ A 192.0.2.1\n$INCLUDE a.zone x\n$INCLUDE self.zone\n",
		"$GENERATE 1-20/3 h${1,4,x} 30 IN A 10.0.0.$\n$GENERATE 0-65535 g A 10.0.0.1\n",
		"a ALIAS b\na ALIAS c\nb CH TXT x\nc.example.net. A 1.1.1.1\n",
		"a TXT \"open\nb A 1.2.3.4 )\nc ( A\n",
		"\\065\\.b A 1.2.3.4\nu TYPE1 \\# 4 01020304\nv TYPE999 \\# 0\n",
		"$GENERATE 1-2 $ A \\# 4 0102030$\n",
		"$GENERATE 0-300/7 ${0,6,n}.${-1,2,N}.$$x\\$ PTR h${0,0,X}\n$GENERATE 1-2 ${1 A 1.2.3.4\n",
		"@ WKS 192.0.2.1 TCP ( smtp ftp 25\n\t1023 )\nn NSAP 0x47.0005.80\n",
		"g GPOS \"-32.6\" \"116.8\" \"10\"\nx X25 \"311061700956\"\nw WALLET \"a\" b\n",
		"l LOC 52 22 N 4 E 0m\nk DNSKEY 256 3 ED25519 AA==\ns SVCB 1 . key00997=\"q\" tls-supported-groups=29,23 ipv6hint=::ffff:192.0.2.1\n",
		"n NSEC a. TXT A MX A\nt TXT (\n\"col0\"\n1 )\nq SOA a b (\n1 2 3\n4 5 )\n",
	} {
		f.Add([]byte(s))
	}

	includes := map[string]string{
		"inc/a.zone":    "$TTL 5\nx A 192.0.2.9\n\tTXT \"in a\"\n$INCLUDE b.zone\n",
		"inc/b.zone":    "y CNAME x\n$INCLUDE a.zone\n",
		"inc/self.zone": "$INCLUDE self.zone\n",
	}
	read := func(path string) ([]byte, error) {
		if d, ok := includes[filepath.ToSlash(path)]; ok {
			return []byte(d), nil
		}
		return nil, fs.ErrNotExist
	}

	f.Fuzz(func(t *testing.T, data []byte) {
		p := newParser("example.com.", read)
		p.maxGen = 1 << 12
		recs, probs := p.parse("inc/fuzz.zone", data)

		lines := strings.Count(string(data), "\n") + 1
		for _, pr := range probs {
			if pr.Pos.Line < 1 || pr.Pos.Col < 1 || pr.Msg == "" {
				t.Fatalf("problem without a position or text: %+v", pr)
			}
			if pr.Pos.File == "inc/fuzz.zone" && pr.Pos.Line > lines {
				t.Fatalf("problem past the end of the file (%d lines): %v", lines, pr)
			}
		}
		seen := map[key]bool{}
		buf := make([]byte, 1<<16)
		for _, r := range recs {
			k := key{r.Name, r.Type}
			if seen[k] {
				t.Fatalf("two records for %s %d", r.Name, r.Type)
			}
			seen[k] = true
			if r.Name != canonName(r.Name) || !dns.IsSubDomain("example.com.", r.Name) {
				t.Fatalf("bad owner %q", r.Name)
			}
			if r.Pos.Line < 1 || r.Pos.File == "" {
				t.Fatalf("record without a position: %+v", r)
			}
			if r.Type == zonefile.TypeALIAS {
				if r.Target == "" || len(r.RRs) != 0 {
					t.Fatalf("bad ALIAS %+v", r)
				}
				continue
			}
			if len(r.RRs) == 0 {
				t.Fatalf("record %s %d without RRs", r.Name, r.Type)
			}
			for _, rr := range r.RRs {
				h := rr.Header()
				if h.Name != r.Name || h.Rrtype != r.Type || h.Class != dns.ClassINET {
					t.Fatalf("RR header %v in record %s %d", h, r.Name, r.Type)
				}
				if h.Ttl != r.TTL && r.Type != dns.TypeRRSIG {
					t.Fatalf("RR TTL %d in record with TTL %d", h.Ttl, r.TTL)
				}
				_ = rr.String()
				_, _ = dns.PackRR(rr, buf, 0, nil, false)
			}
		}
	})
}
