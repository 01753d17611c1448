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
	"sync/atomic"
	"syscall"
	"time"

	"github.com/smartdns/smartdns/dns"
	"github.com/smartdns/smartdns/geo"
	"github.com/smartdns/smartdns/internal/config"
	"github.com/smartdns/smartdns/internal/qstats"
	"github.com/smartdns/smartdns/internal/store"
	"github.com/smartdns/smartdns/pool"
	"github.com/smartdns/smartdns/probes"
	"github.com/smartdns/smartdns/querylog"
	"github.com/smartdns/smartdns/status"
	"github.com/smartdns/smartdns/zones"
	"github.com/smartdns/smartdns/zones/zonefile"
)

// shutdownGrace bounds how long in-flight queries may take on SIGTERM.
const shutdownGrace = 5 * time.Second

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

	st, err := store.Open(cfg.Data)
	if err != nil {
		log.Error("cannot open the state file", "err", err)
		return 1
	}
	defer st.Close()

	stats := &qstats.Registry{}
	tally := &pool.Tally{}
	h := &dns.Handler{MaxUDPSize: cfg.MaxUDPSize, NoECS: !cfg.ECSEnabled(), Stats: stats}
	geoDB, err := geo.Open(geo.Config{City: cfg.GeoIP.City, Country: cfg.GeoIP.Country, ASN: cfg.GeoIP.ASN})
	if err != nil {
		log.Error("cannot open the GeoIP databases", "err", err)
		return 1
	}
	defer geoDB.Close()
	h.Geo = geoDB
	// Health: one registry of probed targets for the life of the process
	// (compiled zones keep their member ids across reloads), one table the
	// probers, the report receiver and the operator's overrides publish
	// and the handler reads.
	members := &pool.Members{}
	health := &pool.HealthTable{}
	h.Health = health
	events := status.NewEvents(200)
	src := &status.Sources{
		Snapshot: h.Snapshot, Health: health, Tally: tally, Stats: stats, Store: st, Geo: geoDB,
		StaleAfter: cfg.Reports.StaleAfter, Version: version, Reloads: &status.Reloads{}, Events: events,
		Logger: log, Started: time.Now(),
	}
	src.SetToken(cfg.API.Token)
	if err := src.RestoreOverrides(); err != nil {
		log.Error("cannot read the overrides from the state file", "err", err)
		return 1
	}
	runner := &probes.Runner{Members: members, Table: health, Store: st, Logger: log, MaxInFlight: cfg.Probes.MaxInFlight,
		OnTransition: func(tr probes.Transition) {
			text := fmt.Sprintf("%s: %s -> %s (%s)", tr.Target, tr.From, tr.To, tr.Reason)
			if tr.Err != "" {
				text += ": " + tr.Err
			}
			events.Add(status.Event{At: tr.At, Kind: "health", Subject: tr.Address, Text: text})
		}}
	src.Probes = runner
	if !cfg.ProbesEnabled() {
		members = nil // obey values count as up; nothing is probed
	}
	startGeo := cfg.GeoIP
	aliases := newAliasCache(cfg, log)
	if aliases != nil {
		h.Alias = aliases
		src.AliasResolutions = aliases.Counts
	}
	options := func(cfg *config.Config) zones.CompileOptions {
		o := compileOptions(cfg, members)
		o.Tally, o.Stats = tally, stats
		// The GeoIP databases are opened at start: zones are checked
		// against those, not against paths a reload named.
		o.GeoASN, o.GeoCoords = startGeo.ASN != "", startGeo.City != ""
		o.AliasResolvers = aliases != nil // the resolvers are those of the start, too
		return o
	}
	loader := &zones.Loader{Dir: cfg.Zones, Options: options(cfg), Store: st, Logger: log}
	publish := func(snap *zones.Snapshot, rep zones.LoadReport) {
		logReport(log, rep)
		src.Reloads.Last.Store(time.Now().UnixNano())
		if failed := rep.Failed(); len(failed) > 0 {
			src.Reloads.Failed.Add(1)
			for _, z := range failed {
				events.Add(status.Event{Kind: "reload", Subject: z.Origin, Text: fmt.Sprintf("%s refused (%d problems); the last good version keeps serving", z.Origin, len(z.Problems.Errors()))})
			}
		}
		if snap != nil {
			// Targets first: a restarted server restores its saved states
			// here, so its first answers already leave out what was down.
			runner.SetTargets(snap.Checks())
			if aliases != nil {
				aliases.SetTargets(snap.AliasTargets()) // resolved before they are answered
			}
			h.SetSnapshot(snap)
			forgetRemoved(snap, tally, stats)
			src.Reloads.OK.Add(1)
			serials := logSnapshot(log, snap)
			events.Add(status.Event{Kind: "reload", Subject: fmt.Sprint(snap.Generation), Text: fmt.Sprintf("generation %d: %s", snap.Generation, serials)})
		}
	}
	snap, rep := loader.Load(true)
	if snap == nil {
		snap = zones.NewSnapshot(0, nil)
	}
	publish(snap, rep)

	srv := &dns.Server{
		Handler:        h,
		Addrs:          cfg.Listen,
		TCPIdleTimeout: cfg.TCP.IdleTimeout,
		MaxTCPConns:    cfg.TCP.MaxConnections,
		UDPWorkers:     cfg.Workers,
		Logger:         log,
	}
	if err := srv.Listen(); err != nil {
		log.Error("cannot listen", "err", err)
		return 1
	}
	var qlog *querylog.Logger
	if cfg.QueryLog.Enabled() {
		qlog, err = querylog.Open(cfg.QueryLog, version, log)
		if err != nil {
			log.Error("cannot open the query log", "err", err)
			srv.Shutdown(context.Background())
			return 1
		}
		srv.QueryLog = qlog
		src.QueryLogStats = func() (logged, dropped, errors uint64) {
			s := qlog.Stats()
			return s.Logged, s.Dropped, s.Errors
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	served := make(chan error, 1)
	go func() { served <- srv.Serve() }()
	go loader.Watch(ctx, cfg.Reload.Interval, publish)
	go tally.Run(ctx.Done())
	if aliases != nil {
		go aliases.Run(ctx)
	}
	var web *webServer
	if cfg.HTTP != "" {
		web, err = startWeb(ctx, cfg, src, log)
		if err != nil {
			log.Error("cannot listen for HTTP", "addr", cfg.HTTP, "err", err)
			srv.Shutdown(context.Background())
			return 1
		}
	}
	probed := make(chan struct{})
	go func() { runner.Run(ctx); close(probed) }()
	go geoDB.Watch(ctx, cfg.Reload.Interval, func(err error) {
		if err != nil {
			log.Error("GeoIP database change refused; the previous one keeps serving", "err", err)
		} else {
			log.Info("GeoIP database reloaded")
		}
	})
	var ready atomic.Bool
	// Ready: listening, and serving at least one zone (a start where every
	// zone was refused is not ready for traffic).
	src.Ready = func() bool { return ready.Load() && len(h.Snapshot().Zones()) > 0 }

	ready.Store(true)
	log.Info("ready", "listen", strings.Join(srv.LocalAddrs(), ","), "zones", len(snap.Zones()), "version", version)
	for {
		select {
		case <-hup:
			log.Info("reload requested (SIGHUP)")
			reload(log, *path, cfg, loader, options, src, web, publish)
		case <-ctx.Done():
			ready.Store(false)
			log.Info("shutting down")
			sctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
			err := srv.Shutdown(sctx)
			cancel()
			<-served
			if err != nil {
				log.Warn("shutdown did not finish in time", "err", err)
			}
			if web != nil {
				web.shutdown()
			}
			if qlog != nil {
				qlog.Close() // what was queued is written
			}
			<-probed // the probers save their states before the state file closes
			return 0
		}
	}
}

// reload re-reads the config and every zone (SIGHUP). Settings that need
// new sockets (listen) or a new state file (data) take a restart.
func reload(log *slog.Logger, path string, old *config.Config, l *zones.Loader, options func(*config.Config) zones.CompileOptions, src *status.Sources, web *webServer, publish func(*zones.Snapshot, zones.LoadReport)) {
	cfg, probs := config.Load(path)
	if cfg == nil {
		for _, p := range probs {
			log.Error("config reload refused; keeping the running config", "problem", p.Error())
		}
	} else {
		if keys := restartOnly(old, cfg); len(keys) > 0 {
			log.Warn("these changes take effect on restart", "keys", strings.Join(keys, ", "))
		}
		l.Reconfigure(cfg.Zones, options(cfg))
		src.SetToken(cfg.API.Token)
		if web != nil {
			web.reports.SetKeys(siteKeys(cfg))
		}
	}
	snap, rep := l.Load(true)
	publish(snap, rep)
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
