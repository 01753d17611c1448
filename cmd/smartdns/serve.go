package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/smartdns/smartdns/internal/config"
	"github.com/smartdns/smartdns/internal/qstats"
	"github.com/smartdns/smartdns/pool"
	"github.com/smartdns/smartdns/probes"
	"github.com/smartdns/smartdns/zones"
	"github.com/smartdns/smartdns/zones/zonefile"
)

func cmdServe(args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("config", "", "config file (YAML)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *path == "" {
		fmt.Fprintln(stderr, "smartdns serve: --config FILE is required")
		return 2
	}
	// SIGHUP is caught from the start: a reload asked for while the zones
	// load (systemctl reload right after start) is served once ready,
	// instead of killing the process.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	cfg, probs := config.Load(*path)
	if cfg == nil {
		for _, p := range probs {
			fmt.Fprintln(stderr, p.Error())
		}
		return 1
	}
	log := newLogger(cfg.Log, stderr)
	if os.Getenv("GOGC") == "" {
		// The answer path allocates nothing; what allocates is loading
		// zones, where the parsed records and the compiled zone briefly
		// live side by side. A tighter GC target keeps the peak resident
		// memory of a large load down (1M records: ~740 MiB instead of
		// ~800 MiB) at little CPU cost.
		debug.SetGCPercent(50)
	}
	for _, p := range probs {
		log.Warn(p.Error())
	}
	srv, err := newServer(*path, cfg, log, hup)
	if err != nil {
		return 1 // newServer logged what failed
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if err := srv.Run(ctx); err != nil {
		log.Error("serving failed", "err", err)
		return 1
	}
	return 0
}

// restartOnly names the settings that changed between old and cfg but
// are read only at start.
func restartOnly(old, cfg *config.Config) []string {
	var out []string
	for _, c := range []struct {
		key     string
		changed bool
	}{
		{"listen", strings.Join(cfg.Listen, ",") != strings.Join(old.Listen, ",")},
		{"data", cfg.Data != old.Data},
		{"http", cfg.HTTP != old.HTTP},
		{"tls", cfg.TLS != old.TLS},
		{"query_log", cfg.QueryLog != old.QueryLog},
		{"geoip", cfg.GeoIP != old.GeoIP},
		{"ecs", cfg.ECSEnabled() != old.ECSEnabled()},
		{"probes", cfg.ProbesEnabled() != old.ProbesEnabled() || cfg.Probes.MaxInFlight != old.Probes.MaxInFlight},
		{"max_udp_size", cfg.MaxUDPSize != old.MaxUDPSize},
		{"tcp", cfg.TCP != old.TCP},
		{"udp_workers", cfg.Workers != old.Workers},
		{"log", cfg.Log != old.Log},
		{"reload", cfg.Reload != old.Reload},
		{"reports", cfg.Reports != old.Reports},
		{"identity", cfg.Identity != old.Identity},
		{"alias", aliasChanged(old, cfg)},
	} {
		if c.changed {
			out = append(out, c.key)
		}
	}
	return out
}

// compileOptions are the zone compiler's settings from the config. members
// is the registry of probed targets, nil when probing is off.
func compileOptions(cfg *config.Config, members *pool.Members) zones.CompileOptions {
	sec := func(d time.Duration) uint32 { return uint32(d / time.Second) }
	return zones.CompileOptions{
		Nameservers: cfg.Nameservers,
		Members:     members,
		ProbeICMP:   icmpAllowed,
		GeoASN:      cfg.GeoIP.ASN != "",
		GeoCoords:   cfg.GeoIP.City != "",
		// check and explain accept what serve would resolve
		AliasResolvers: len(cfg.Alias.Resolvers) > 0,
		SOA: zones.SOADefaults{
			Mname: cfg.SOA.Mname, Rname: cfg.SOA.Rname,
			TTL: sec(cfg.SOA.TTL), Refresh: sec(cfg.SOA.Refresh), Retry: sec(cfg.SOA.Retry),
			Expire: sec(cfg.SOA.Expire), Minimum: sec(cfg.SOA.Minimum),
		},
	}
}

func newLogger(c config.Log, w io.Writer) *slog.Logger {
	var level slog.Level
	switch strings.ToLower(c.Level) {
	case "debug":
		level = slog.LevelDebug
	case "warn", "warning":
		level = slog.LevelWarn
	case "error":
		level = slog.LevelError
	}
	opts := &slog.HandlerOptions{Level: level}
	mk := func(w io.Writer) slog.Handler {
		if c.Format == "json" {
			return slog.NewJSONHandler(w, opts)
		}
		return slog.NewTextHandler(w, opts)
	}
	if os.Getenv("JOURNAL_STREAM") != "" {
		// Under systemd, stderr goes to the journal: a "<N>" prefix gives
		// each line its priority, so `journalctl -p warning` works.
		return slog.New(newJournalHandler(w, mk))
	}
	return slog.New(mk(w))
}

func logReport(log *slog.Logger, rep zones.LoadReport) {
	for _, z := range rep.Zones {
		for _, p := range z.Problems {
			if p.Warning {
				log.Warn("zone warning", "zone", z.Origin, "problem", p.Error())
			} else {
				log.Error("zone refused; the last good version keeps serving", "zone", z.Origin, "problem", p.Error())
			}
		}
	}
}

// forgetRemoved drops the counters of zones, records and values the new
// snapshot no longer serves.
func forgetRemoved(snap *zones.Snapshot, tally *pool.Tally, stats *qstats.Registry) {
	live := map[pool.TallyKey]bool{}
	origins := map[string]bool{}
	for _, z := range snap.Zones() {
		origins[z.Origin] = true
		for _, d := range z.Dynamic() {
			k := pool.TallyKey{Zone: z.Origin, Record: d.Name, Type: zonefile.TypeName(d.Type)}
			for _, p := range d.Record.Pools {
				for _, v := range p.Values {
					k.Pool, k.Value = p.Name, v.Text
					live[k] = true
				}
			}
			for _, v := range d.Record.BackupValues() {
				k.Pool, k.Value = "", v
				live[k] = true
			}
		}
	}
	tally.Retain(func(k pool.TallyKey) bool { return live[k] })
	stats.Retain(func(o string) bool { return origins[o] })
}

// logSnapshot writes the one line per reload: every zone with its serial.
// It returns the serials as logged.
func logSnapshot(log *slog.Logger, snap *zones.Snapshot) string {
	var parts []string
	for _, z := range snap.Zones() {
		parts = append(parts, fmt.Sprintf("%s=%d", z.Origin, z.Serial))
	}
	sort.Strings(parts)
	serials := strings.Join(parts, " ")
	log.Info("zones loaded", "generation", snap.Generation, "count", len(parts), "serials", serials)
	return serials
}

var icmpOnce = sync.OnceValue(probes.CheckICMP)

// icmpAllowed says, once per process, whether ICMP probes can run here.
func icmpAllowed() error { return icmpOnce() }
