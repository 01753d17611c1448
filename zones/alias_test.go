package zones

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/miekg/dns"

	"github.com/smartdns/smartdns/zones/zonefile"
)

// aliasZones are the zones every case loads besides its own example.com:
// example.net (served) with names that end inside, leave by CNAME, are
// delegated, or have no address.
var aliasZones = map[string]string{
	"example.net.zone": `$TTL 300
@      NS  ns1.example.com.
www    A   198.51.100.10
www    AAAA 2001:db8::10
v6     AAAA 2001:db8::6
txt    TXT "no address"
out    CNAME cdn.provider.test.
in     CNAME www
sub    NS  ns.elsewhere.test.
`,
}

// The ALIAS check says where the chain went: a target in no served zone,
// a served target whose CNAME chain leaves the served zones, a delegated
// one, a missing one; with alias.resolvers the ones leaving load, and the
// snapshot records the name the resolver must be asked.
func TestLoaderAliasCheck(t *testing.T) {
	for _, tc := range []struct {
		name      string
		target    string
		resolvers bool
		err       string // "" when the zone loads
		exit      string // AliasExit of the target, "" when answered locally
	}{
		{name: "served, with A", target: "www.example.net."},
		{name: "served, AAAA only", target: "v6.example.net."},
		{name: "served, through a CNAME", target: "in.example.net."},
		{name: "outside", target: "cdn.provider.test.",
			err: "example.com.zone:2:1: ALIAS target cdn.provider.test. is in a zone smartdns does not serve, so smartdns cannot answer the ALIAS from its zones; set alias.resolvers"},
		{name: "outside, resolvers", target: "cdn.provider.test.", resolvers: true, exit: "cdn.provider.test."},
		{name: "CNAME leaves", target: "out.example.net.",
			err: "example.com.zone:2:1: ALIAS target out.example.net. is in a served zone, but its CNAME chain leaves the served zones at cdn.provider.test., so smartdns cannot answer"},
		{name: "CNAME leaves, resolvers", target: "out.example.net.", resolvers: true, exit: "cdn.provider.test."},
		{name: "delegated", target: "host.sub.example.net.",
			err: "example.com.zone:2:1: ALIAS target host.sub.example.net. is delegated away from zone example.net., so"},
		{name: "delegated, resolvers", target: "host.sub.example.net.", resolvers: true, exit: "host.sub.example.net."},
		{name: "no address", target: "txt.example.net.", resolvers: true,
			err: "example.com.zone:2:1: ALIAS target txt.example.net. has no A or AAAA record"},
		{name: "missing", target: "nothere.example.net.", resolvers: true,
			err: "example.com.zone:2:1: ALIAS target nothere.example.net. does not exist in zone example.net."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			for name, body := range aliasZones {
				if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			body := "$TTL 300\n@ ALIAS " + tc.target + "\n"
			if err := os.WriteFile(filepath.Join(dir, "example.com.zone"), []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
			l := &Loader{Dir: dir, Options: CompileOptions{Nameservers: []string{"ns1.example.com."}, AliasResolvers: tc.resolvers}}
			snap, rep := l.Load(true)
			var errs []string
			for _, z := range rep.Zones {
				for _, p := range z.Problems.Errors() {
					errs = append(errs, strings.TrimPrefix(p.Error(), dir+string(filepath.Separator)))
				}
			}
			if tc.err == "" {
				if len(errs) > 0 {
					t.Fatalf("refused: %v", errs)
				}
			} else if len(errs) != 1 || !strings.HasPrefix(errs[0], tc.err) {
				t.Fatalf("problems %q, want one starting %q", errs, tc.err)
			}
			if tc.err != "" {
				if snap.Zone("example.com.") != nil {
					t.Fatal("the refused zone is served")
				}
				return
			}
			target, _ := zonefile.WireName(tc.target)
			exit, ok := snap.AliasExit(target)
			if tc.exit == "" {
				if ok {
					t.Fatalf("AliasExit = %s, want none (answered from the zones)", zonefile.PresentName(exit))
				}
				if set, ok := snap.ResolveAddrs(target, dns.TypeA); !ok || set == nil && !strings.HasPrefix(tc.target, "v6") {
					t.Fatalf("ResolveAddrs(%s) = %v, %v", tc.target, set, ok)
				}
				return
			}
			if !ok || zonefile.PresentName(exit) != tc.exit {
				t.Fatalf("AliasExit = %q, %v; want %s", zonefile.PresentName(exit), ok, tc.exit)
			}
			if got := snap.AliasTargets(); len(got) != 1 || zonefile.PresentName(got[0]) != tc.exit {
				t.Fatalf("AliasTargets = %q", got)
			}
			if apex := snap.Zone("example.com.").Node(snap.Zone("example.com.").Apex); apex.AliasTTL != 300 {
				t.Fatalf("AliasTTL = %d, want 300", apex.AliasTTL)
			}
		})
	}
}
