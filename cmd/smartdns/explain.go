package main

import (
	"flag"
	"fmt"
	"io"
	"net/netip"
	"os"
	"runtime/debug"
	"strings"

	mdns "github.com/miekg/dns"

	"github.com/smartdns/smartdns/geo"
	"github.com/smartdns/smartdns/internal/config"
	"github.com/smartdns/smartdns/pool"
	"github.com/smartdns/smartdns/zones"
)

// cmdExplain prints how NAME TYPE is answered for a client: the rule that
// matched and why, the pools, each candidate value with weight and state,
// the answer, the ECS scope and the TTL.
func cmdExplain(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("explain", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("config", "", "config file (YAML)")
	clientArg := fs.String("client", "", "client address, IP or IP/PREFIX (as an EDNS Client Subnet)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	rest := fs.Args()
	if *path == "" || *clientArg == "" || len(rest) < 1 || len(rest) > 2 {
		fmt.Fprintln(stderr, "usage: smartdns explain --config FILE --client IP[/PREFIX] NAME [TYPE]")
		return 2
	}
	client, err := parseClient(*clientArg)
	if err != nil {
		fmt.Fprintf(stderr, "smartdns explain: --client: %v\n", err)
		return 2
	}
	qtype := mdns.TypeA
	if len(rest) == 2 {
		t, ok := mdns.StringToType[strings.ToUpper(rest[1])]
		if !ok {
			fmt.Fprintf(stderr, "smartdns explain: unknown type %q\n", rest[1])
			return 2
		}
		qtype = t
	}
	cfg, snap, code := loadForTool(*path, stdout, stderr)
	if snap == nil {
		return code
	}
	g, err := geo.Open(geo.Config{City: cfg.GeoIP.City, Country: cfg.GeoIP.Country, ASN: cfg.GeoIP.ASN})
	if err != nil {
		fmt.Fprintf(stderr, "smartdns explain: %v\n", err)
		return 1
	}
	defer g.Close()
	return explain(stdout, snap, g, client, mdns.Fqdn(rest[0]), qtype)
}

func parseClient(s string) (pool.Client, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return pool.Client{}, err
		}
		p = p.Masked()
		return pool.Client{Addr: p.Addr().Unmap(), Bits: p.Bits()}, nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return pool.Client{}, err
	}
	a = a.Unmap()
	return pool.Client{Addr: a, Bits: a.BitLen()}, nil
}

// loadForTool loads the config and every zone for a command that does not
// serve, printing problems as check does.
func loadForTool(path string, stdout, stderr io.Writer) (*config.Config, *zones.Snapshot, int) {
	cfg, probs := config.Load(path)
	if cfg == nil {
		for _, p := range probs {
			fmt.Fprintln(stderr, p.Error())
		}
		return nil, nil, 1
	}
	snap, rep := loadZones(cfg)
	for _, z := range rep.Zones {
		for _, p := range z.Problems.Errors() {
			fmt.Fprintln(stderr, p.Error())
		}
	}
	if snap == nil {
		return cfg, nil, 1
	}
	return cfg, snap, 0
}

func explain(w io.Writer, snap *zones.Snapshot, loc pool.Locator, c pool.Client, name string, qtype uint16) int {
	wire, err := zones.WireName(name)
	if err != nil {
		fmt.Fprintf(w, "%v\n", err)
		return 2
	}
	z := snap.Find(wire)
	if z == nil {
		fmt.Fprintf(w, "%s is in no zone smartdns serves: REFUSED\n", name)
		return 1
	}
	res := z.Lookup(wire, qtype)
	fmt.Fprintf(w, "name:    %s %s (zone %s)\n", name, mdns.TypeToString[qtype], z.Origin)
	switch res.Kind {
	case zones.NameError:
		fmt.Fprintf(w, "answer:  NXDOMAIN (static: the same for every client; ECS scope /0)\n")
		return 0
	case zones.NoData:
		fmt.Fprintf(w, "answer:  NODATA (static: the same for every client; ECS scope /0)\n")
		return 0
	case zones.Delegation:
		fmt.Fprintf(w, "answer:  referral to %s (static; ECS scope /0)\n", zones.PresentName(res.Node.Name))
		return 0
	case zones.Success, zones.CNAMEAlias:
	default:
		fmt.Fprintf(w, "answer:  static (ECS scope /0); dig shows it\n")
		return 0
	}
	set := res.Set
	if set.Dynamic == nil {
		fmt.Fprintf(w, "record:  static %s, TTL %d\n", mdns.TypeToString[set.Type], set.TTL)
		for _, rr := range set.RRs(name) {
			fmt.Fprintf(w, "answer:  %s\n", rr.String())
		}
		fmt.Fprintf(w, "scope:   /0 (a static answer does not depend on the client)\n")
		return 0
	}
	e := set.Dynamic.Explain(c, loc, nil)
	fmt.Fprintf(w, "record:  dynamic %s, policy %s, answers %d, exhausted %s\n", mdns.TypeToString[set.Type], e.Policy, e.Answers, e.Exhausted)
	where := "location unknown"
	if e.HasLocation {
		where = fmt.Sprintf("%s/%s/%s", dash(e.Location.Continent), dash(e.Location.Country), dash(e.Location.Subdivision))
		if e.Location.Prefix > 0 {
			where += fmt.Sprintf(" (database network /%d)", e.Location.Prefix)
		}
		if e.Location.ASN != 0 {
			where += fmt.Sprintf(", AS%d", e.Location.ASN)
		}
	}
	fmt.Fprintf(w, "client:  %s: %s\n", e.Client, where)
	for _, r := range e.Rules {
		mark := "  "
		switch {
		case r.Matched:
			mark = "=>"
		case !r.Tried:
			mark = "  (not tried)"
		}
		// Numbered from 1, as the zone's problems number rules.
		fmt.Fprintf(w, "rule %d:  %s -> pool %s %s", r.Index+1, r.Match, r.Pool, mark)
		if r.Why != "" {
			fmt.Fprintf(w, " %s", r.Why)
		}
		fmt.Fprintln(w)
	}
	for _, p := range e.Pools {
		state := "no value up, falling back"
		if p.Answered {
			state = "answered"
		}
		if p.Fallback != "" {
			state += ", fallback " + p.Fallback
		}
		fmt.Fprintf(w, "pool %s: %s\n", p.Name, state)
		for _, v := range p.Values {
			st := "down"
			if v.Up {
				st = "up"
			}
			chosen := ""
			if v.Chosen {
				chosen = "  <- chosen"
			}
			fmt.Fprintf(w, "  %-40s weight %-3d status %-4s %s%s\n", v.Value, v.Weight, v.Status, st, chosen)
		}
	}
	switch {
	case e.NoData:
		fmt.Fprintf(w, "answer:  NODATA (every pool exhausted; exhausted: nodata)\n")
	case e.Backup:
		fmt.Fprintf(w, "answer:  %s (the record's backup values: the pools were exhausted or no rule matched)\n", strings.Join(e.Answer, " "))
	case e.All:
		fmt.Fprintf(w, "answer:  %s (every value of the pool, ignoring health; exhausted: all)\n", strings.Join(e.Answer, " "))
	default:
		fmt.Fprintf(w, "answer:  %s\n", strings.Join(e.Answer, " "))
	}
	fmt.Fprintf(w, "scope:   /%d\n", e.Scope)
	fmt.Fprintf(w, "ttl:     %d\n", set.TTL)
	return 0
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// loadZones compiles every zone of the config once, as serve would but
// without probing or touching the state file: check and explain share it.
func loadZones(cfg *config.Config) (*zones.Snapshot, zones.LoadReport) {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(50) // as serve does: lower peak memory on big zones
	}
	l := &zones.Loader{Dir: cfg.Zones, Options: compileOptions(cfg, toolMembers(cfg))}
	return l.Load(true)
}

// toolMembers gives check and explain the same view of health checks as
// serve (so they validate the same things), without probing anything.
func toolMembers(cfg *config.Config) *pool.Members {
	if !cfg.ProbesEnabled() {
		return nil
	}
	return &pool.Members{}
}
