package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strings"
	"time"

	mdns "github.com/miekg/dns"

	"github.com/smartdns/smartdns/geo"
	"github.com/smartdns/smartdns/internal/config"
	"github.com/smartdns/smartdns/pool"
	"github.com/smartdns/smartdns/status"
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

func parseClient(s string) (pool.Client, error) { return status.ParseClient(s) }

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
	// A tool has no health, loads or overrides: everything counts up.
	e, err := status.Explain(snap, loc, nil, time.Now(), c, name, qtype)
	if err != nil {
		fmt.Fprintf(w, "%v\n", err)
		return 2
	}
	io.WriteString(w, e.Text())
	if e.Kind == "refused" {
		return 1
	}
	return 0
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
