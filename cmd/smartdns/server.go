package main

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/smartdns/smartdns/dns"
	"github.com/smartdns/smartdns/dns/alias"
	"github.com/smartdns/smartdns/geo"
	"github.com/smartdns/smartdns/internal/config"
	"github.com/smartdns/smartdns/internal/qstats"
	"github.com/smartdns/smartdns/internal/store"
	"github.com/smartdns/smartdns/pool"
	"github.com/smartdns/smartdns/probes"
	"github.com/smartdns/smartdns/querylog"
	"github.com/smartdns/smartdns/status"
	"github.com/smartdns/smartdns/zones"
)

// shutdownGrace bounds how long a SIGTERM takes: in-flight queries and
// HTTP requests, the probers saving their states, and a zone load in
// progress all get this long in total.
const shutdownGrace = 5 * time.Second

// server is one `smartdns serve`. newServer opens, binds and loads
// everything that can fail, so that errors surface before "ready"; Run
// starts every goroutine the server needs under one context and joins
// them all before the state file closes.
//
// Zones are loaded by one goroutine only (ownLoads): the file watcher's
// timer and SIGHUP just ask it for a load through a merging queue, it runs
// the loads one at a time and publishes each snapshot in one step.
type server struct {
	cfgPath string
	cfg     *config.Config // as read at start: what a reload compares with
	log     *slog.Logger
	hup     <-chan os.Signal

	st      *store.Store
	geoDB   *geo.Resolver
	h       *dns.Handler
	dns     *dns.Server
	qlog    *querylog.Logger
	web     *webServer
	runner  *probes.Runner
	tally   *pool.Tally
	stats   *qstats.Registry
	members *pool.Members
	src     *status.Sources
	events  *status.Events
	loader  *zones.Loader
	loads   *zones.Requests
	aliases *alias.Cache // nil without alias.resolvers
	ready   atomic.Bool
	ran     bool // Run started: it shuts the listeners down itself
}

// newServer builds a server from cfg (read from cfgPath): opens the state
// file and GeoIP databases, loads the zones, binds the DNS and HTTP
// listeners. hup delivers SIGHUP (caught from the very start, so that a
// reload asked for while the zones load is served once ready). Errors are
// logged here with what failed; on error everything opened is closed.
func newServer(cfgPath string, cfg *config.Config, log *slog.Logger, hup <-chan os.Signal) (_ *server, err error) {
	s := &server{cfgPath: cfgPath, cfg: cfg, log: log, hup: hup, loads: zones.NewRequests()}
	defer func() {
		if err != nil {
			s.close()
		}
	}()
	if s.st, err = store.Open(cfg.Data); err != nil {
		log.Error("cannot open the state file", "err", err)
		return nil, err
	}
	s.stats = &qstats.Registry{}
	s.tally = &pool.Tally{}
	s.h = &dns.Handler{MaxUDPSize: cfg.MaxUDPSize, NoECS: !cfg.ECSEnabled(), Stats: s.stats,
		Identity: dns.NewIdentity(cfg.Identity.NSID, cfg.Identity.Version, cfg.Identity.ID)}
	if s.geoDB, err = geo.Open(geo.Config{City: cfg.GeoIP.City, Country: cfg.GeoIP.Country, ASN: cfg.GeoIP.ASN}); err != nil {
		log.Error("cannot open the GeoIP databases", "err", err)
		return nil, err
	}
	s.h.Geo = s.geoDB
	// Health: one registry of probed targets for the life of the process
	// (compiled zones keep their member ids across reloads), one table the
	// probers, the report receiver and the operator's overrides publish
	// and the handler reads.
	s.members = &pool.Members{}
	health := &pool.HealthTable{}
	s.h.Health = health
	s.events = status.NewEvents(200)
	s.src = &status.Sources{
		Snapshot: s.h.Snapshot, Health: health, Tally: s.tally, Stats: s.stats, Store: s.st, Geo: s.geoDB,
		StaleAfter: cfg.Reports.StaleAfter, Version: version, Reloads: &status.Reloads{}, Events: s.events,
		Logger: log, Started: time.Now(),
	}
	// Ready: running, and serving at least one zone (a start where every
	// zone was refused is not ready for traffic).
	s.src.Ready = func() bool { return s.ready.Load() && len(s.h.Snapshot().Zones()) > 0 }
	s.src.SetToken(cfg.API.Token)
	if err = s.src.RestoreOverrides(); err != nil {
		log.Error("cannot read the overrides from the state file", "err", err)
		return nil, err
	}
	events := s.events
	s.runner = &probes.Runner{Members: s.members, Table: health, Store: s.st, Logger: log, MaxInFlight: cfg.Probes.MaxInFlight,
		OnTransition: func(tr probes.Transition) {
			text := fmt.Sprintf("%s: %s -> %s (%s)", tr.Target, tr.From, tr.To, tr.Reason)
			if tr.Err != "" {
				text += ": " + tr.Err
			}
			events.Add(status.Event{At: tr.At, Kind: "health", Subject: tr.Address, Text: text})
		}}
	s.src.Probes = s.runner
	if !cfg.ProbesEnabled() {
		s.members = nil // obey values count as up; nothing is probed
	}
	if s.aliases = newAliasCache(cfg, log); s.aliases != nil {
		s.h.Alias = s.aliases
		s.src.AliasResolutions = s.aliases.Counts
	}

	s.loader = &zones.Loader{Dir: cfg.Zones, Options: s.options(cfg), Store: s.st, Logger: log}
	snap, rep := s.loader.Load(true)
	if snap == nil {
		snap = zones.NewSnapshot(0, nil)
	}
	s.publish(snap, rep)

	s.dns = &dns.Server{
		Handler:              s.h,
		Addrs:                cfg.Listen,
		TCPIdleTimeout:       cfg.TCP.IdleTimeout,
		MaxTCPConns:          cfg.TCP.MaxConnections,
		MaxTCPConnsPerClient: cfg.TCP.MaxConnectionsPerClient,
		UDPWorkers:           cfg.Workers,
		Logger:               log,
	}
	if err = s.dns.Listen(); err != nil {
		log.Error("cannot listen", "err", err)
		s.dns = nil // Listen closed what it had bound
		return nil, err
	}
	if cfg.QueryLog.Enabled() {
		if s.qlog, err = querylog.Open(cfg.QueryLog, version, log); err != nil {
			log.Error("cannot open the query log", "err", err)
			return nil, err
		}
		s.dns.QueryLog = s.qlog
		qlog := s.qlog
		s.src.QueryLogStats = func() (logged, dropped, errors uint64) {
			st := qlog.Stats()
			return st.Logged, st.Dropped, st.Errors
		}
	}
	if cfg.HTTP != "" {
		if s.web, err = newWeb(cfg, s.src, log); err != nil {
			log.Error("cannot listen for HTTP", "addr", cfg.HTTP, "err", err)
			return nil, err
		}
	}
	return s, nil
}

// reloadInterval is how often the zones folder (and the GeoIP databases)
// are looked at for changes.
func (s *server) reloadInterval() time.Duration {
	return cmp.Or(s.cfg.Reload.Interval, zones.DefaultReloadInterval)
}

// options are the zone compiler's settings for cfg in this process.
func (s *server) options(cfg *config.Config) zones.CompileOptions {
	o := compileOptions(cfg, s.members)
	o.Tally, o.Stats = s.tally, s.stats
	// The GeoIP databases are opened at start: zones are checked against
	// those, not against paths a reload named.
	o.GeoASN, o.GeoCoords = s.cfg.GeoIP.ASN != "", s.cfg.GeoIP.City != ""
	o.AliasResolvers = s.aliases != nil // the resolvers are those of the start, too
	return o
}

// Run serves until ctx ends (SIGTERM), then shuts down within
// shutdownGrace and closes the state file once every goroutine it started
// has returned. A zone load stops at the next zone file, or within a few
// thousand records of the zone it compiles; one still reading a huge file
// when the grace ends is abandoned: it publishes nothing, and the process
// is about to exit.
func (s *server) Run(ctx context.Context) error {
	s.ran = true
	defer s.close()
	runCtx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup
	spawn := func(f func()) {
		wg.Add(1)
		go func() { defer wg.Done(); f() }()
	}
	spawn(func() { s.dns.Serve() })
	loading := make(chan struct{})
	go func() { defer close(loading); s.ownLoads(runCtx) }()
	spawn(func() { s.tally.Run(runCtx.Done()) })
	if s.aliases != nil {
		spawn(func() { s.aliases.Run(runCtx) })
	}
	spawn(func() { s.runner.Run(runCtx) })
	spawn(func() {
		s.geoDB.Watch(runCtx, s.reloadInterval(), func(err error) {
			if err != nil {
				s.log.Error("GeoIP database change refused; the previous one keeps serving", "err", err)
			} else {
				s.log.Info("GeoIP database reloaded")
			}
		})
	})
	if s.web != nil {
		s.web.run(runCtx, spawn)
	}

	s.ready.Store(true)
	s.log.Info("ready", "listen", strings.Join(s.dns.LocalAddrs(), ","), "zones", len(s.h.Snapshot().Zones()), "version", version)
	for {
		select {
		case <-s.hup:
			// Only asks: the load runs on its own goroutine, so a SIGTERM
			// during a long reload is served at once.
			s.log.Info("reload requested (SIGHUP)")
			s.loads.Ask(zones.Request{Force: true, Config: true})
		case <-ctx.Done():
			s.ready.Store(false)
			s.log.Info("shutting down")
			deadline := time.Now().Add(shutdownGrace)
			cancel() // the loader stops at its next zone file
			sctx, scancel := context.WithDeadline(context.Background(), deadline)
			defer scancel()
			if err := s.dns.Shutdown(sctx); err != nil {
				s.log.Warn("shutdown did not finish in time", "err", err)
			}
			if s.web != nil {
				s.web.shutdown(sctx)
			}
			if s.qlog != nil {
				s.qlog.Close() // what was queued is written
			}
			wg.Wait() // the probers save their states before the state file closes
			select {
			case <-loading:
			case <-sctx.Done():
				s.log.Warn("a zone load was still running at shutdown; abandoned")
			}
			return nil
		}
	}
}

// ownLoads is the one goroutine that loads zones and publishes them. A
// scan for changed files is asked for every reload interval; a scan asked
// while a load runs (or one is waiting) merges with it.
func (s *server) ownLoads(ctx context.Context) {
	t := time.NewTicker(s.reloadInterval())
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			s.loads.Ask(zones.Request{})
		case <-s.loads.Ready():
		}
		if r, ok := s.loads.Take(); ok {
			s.load(ctx, r)
		}
	}
}

// load runs one request: re-reads the config if asked (SIGHUP), loads the
// zones and publishes the outcome. Settings that need new sockets
// (listen) or a new state file (data) take a restart.
func (s *server) load(ctx context.Context, r zones.Request) {
	if r.Config {
		s.reconfigure()
	}
	snap, rep := s.loader.LoadContext(ctx, r.Force)
	if ctx.Err() != nil {
		return // shutting down: a load cut short publishes nothing
	}
	if r.Force || snap != nil || len(rep.Failed()) > 0 {
		s.publish(snap, rep)
	}
}

// reconfigure re-reads the config file and applies what a reload may
// change; a config with errors changes nothing.
func (s *server) reconfigure() {
	cfg, probs := config.Load(s.cfgPath)
	if cfg == nil {
		for _, p := range probs {
			s.log.Error("config reload refused; keeping the running config", "problem", p.Error())
		}
		return
	}
	if keys := restartOnly(s.cfg, cfg); len(keys) > 0 {
		s.log.Warn("these changes take effect on restart", "keys", strings.Join(keys, ", "))
	}
	s.loader.Reconfigure(cfg.Zones, s.options(cfg))
	s.src.SetToken(cfg.API.Token)
	if s.web != nil {
		s.web.reports.SetSites(siteKeys(cfg), siteAddresses(cfg))
	}
}

// publish logs a load's outcome and, when it built a snapshot, swaps it
// in. It runs at start and then only on the loading goroutine.
func (s *server) publish(snap *zones.Snapshot, rep zones.LoadReport) {
	logReport(s.log, rep)
	s.src.Reloads.Last.Store(time.Now().UnixNano())
	if failed := rep.Failed(); len(failed) > 0 {
		s.src.Reloads.Failed.Add(1)
		for _, z := range failed {
			s.events.Add(status.Event{Kind: "reload", Subject: z.Origin, Text: fmt.Sprintf("%s refused (%d problems); the last good version keeps serving", z.Origin, len(z.Problems.Errors()))})
		}
	}
	if snap == nil {
		return
	}
	if cur := s.h.Snapshot(); cur != nil && snap.Generation <= cur.Generation {
		s.log.Error("snapshot refused: not newer than the one served", "generation", snap.Generation, "serving", cur.Generation)
		return
	}
	// Targets first: a restarted server restores its saved states here,
	// so its first answers already leave out what was down.
	s.runner.SetTargets(snap.Checks())
	if s.aliases != nil {
		s.aliases.SetTargets(snap.AliasTargets()) // resolved before they are answered
	}
	if !s.h.SetSnapshot(snap) {
		s.log.Error("snapshot refused: not newer than the one served", "generation", snap.Generation)
		return
	}
	forgetRemoved(snap, s.tally, s.stats)
	s.src.Reloads.OK.Add(1)
	serials := logSnapshot(s.log, snap)
	s.events.Add(status.Event{Kind: "reload", Subject: fmt.Sprint(snap.Generation), Text: fmt.Sprintf("generation %d: %s", snap.Generation, serials)})
}

// close releases what newServer opened, the state file last. After Run,
// the listeners and query log are already shut down.
func (s *server) close() {
	if !s.ran {
		if s.web != nil {
			s.web.close()
		}
		if s.qlog != nil {
			s.qlog.Close()
		}
		if s.dns != nil {
			s.dns.Shutdown(context.Background())
		}
	}
	if s.geoDB != nil {
		s.geoDB.Close()
	}
	if s.st != nil {
		s.st.Close()
	}
}
