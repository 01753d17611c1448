package main

import (
	"flag"
	"fmt"
	"io"
	"sort"

	"github.com/smartdns/smartdns/internal/config"
)

// cmdCheck validates the config and every zone without serving. Every
// problem is printed as path:line:col: message; the exit status is 1 when
// any is an error.
func cmdCheck(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("config", "", "config file (YAML)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *path == "" {
		fmt.Fprintln(stderr, "smartdns check: --config FILE is required")
		return 2
	}
	cfg, probs := config.Load(*path)
	for _, p := range probs {
		fmt.Fprintln(stdout, p.Error())
	}
	if cfg == nil {
		fmt.Fprintf(stdout, "%d problem(s) in %s\n", len(probs.Errors()), *path)
		return 1
	}
	snap, rep := loadZones(cfg)
	nerr, nrec := 0, 0
	sort.Slice(rep.Zones, func(i, j int) bool { return rep.Zones[i].File < rep.Zones[j].File })
	for _, z := range rep.Zones {
		for _, p := range z.Problems {
			fmt.Fprintln(stdout, p.Error())
		}
		nerr += len(z.Problems.Errors())
	}
	for _, sk := range rep.Skipped {
		fmt.Fprintf(stdout, "%s: skipped: %s\n", sk.Path, sk.Reason)
	}
	nzones := 0
	if snap != nil {
		for _, z := range snap.Zones() {
			nrec += z.Records
			nzones++
		}
	}
	if nerr > 0 {
		fmt.Fprintf(stdout, "%d error(s) in %d zone file(s)\n", nerr, len(rep.Failed()))
		return 1
	}
	fmt.Fprintf(stdout, "ok: %d zone(s), %d record(s)\n", nzones, nrec)
	return 0
}
