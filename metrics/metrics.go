package metrics

import (
	"cmp"
	"fmt"
	"hash/fnv"
	"maps"
	"net/http"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/smartdns/smartdns/internal/qstats"
	"github.com/smartdns/smartdns/loadreport/receiver"
	"github.com/smartdns/smartdns/pool"
	"github.com/smartdns/smartdns/probes"
	"github.com/smartdns/smartdns/status"
	"github.com/smartdns/smartdns/zones"
)

// Namespace prefixes every metric of the server.
const Namespace = "smartdns"

// BackupPool is the pool label of a record's backup values (its own
// `values`, answered when its pools are exhausted) in
// smartdns_dynamic_answers_total. Pool names are free text, so a pool
// literally named "(backup)" shares the series with the backup values.
const BackupPool = "(backup)"

// Handler serves the metrics of the running server from a private
// prometheus.Registry (never the global one): those of NewCollector, the
// standard Go and process collectors, and promhttp's own error counter.
// A metric that cannot be read is left out of the scrape (and counted in
// promhttp_metric_handler_errors_total); the others are still served.
func Handler(src Sources) http.Handler {
	reg := newRegistry(src)
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{
		ErrorHandling: promhttp.ContinueOnError,
		Registry:      reg,
	})
}

func newRegistry(src Sources) *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		NewCollector(src),
	)
	return reg
}

// NewCollector returns a prometheus.Collector of the server's own metrics
// (everything named smartdns_*), read from src at every scrape. Any field
// of src may be nil: its metrics are then left out.
func NewCollector(src Sources) prometheus.Collector {
	c := &collector{src: src, now: time.Now}
	valueLabels := []string{"zone", "record", "type", "pool", "value"}

	c.buildInfo = c.desc("build_info", "Always 1; the labels say which build is running.", "version", "goversion")
	c.startTime = c.desc("start_time_seconds", "When the server started, in Unix seconds.")

	c.queries = c.desc("queries_total", `Queries answered, by zone (the zone's origin; "" for queries in no zone served, answered REFUSED or FORMERR), query type, response code and transport.`, "zone", "qtype", "rcode", "transport")
	c.latency = c.desc("answer_duration_seconds", "Time from reading a query to writing its answer, by transport.", "transport")
	c.ecs = c.desc("ecs_queries_total", "Queries by EDNS Client Subnet outcome: none (no option), used (honoured), scoped (honoured and the answer depended on it), ignored (ecs: false), invalid (malformed option, FORMERR).", "result")

	c.answers = c.desc("dynamic_answers_total", `Answers that carried a value of a dynamic record, by the pool it was picked from; pool="`+BackupPool+`" for the record's backup values.`, valueLabels...)
	c.weight = c.desc("value_weight", "Static weight of a dynamic value in its pool, from the zone.", valueLabels...)
	c.effWeight = c.desc("value_effective_weight", "Weight a dynamic value is picked with now: 0 when not serving or shed, the static weight times the site's headroom under least-loaded, else the static weight.", valueLabels...)
	c.serving = c.desc("value_serving", "1 when a dynamic value may be answered now (zone status, health, site reports and overrides considered), else 0.", valueLabels...)
	c.override = c.desc("value_override", "1 for each runtime override in force, by value and the status it forces (up or down).", "value", "status")

	c.probeState = c.desc("probe_state", "1 for a health-check target's current state (up, down or unknown), 0 for the other two.", "target", "protocol", "address", "state")
	c.probeDuration = c.desc("probe_duration_seconds", "How long a target's last health check took.", "target")
	c.probeTransitions = c.desc("probe_transitions_total", "State changes of a health-check target, including those before a restart (kept in the state file).", "target")
	c.probeChecks = c.desc("probe_checks_total", "Health checks of a target completed since it was added.", "target")
	c.probeLocalErrors = c.desc("probe_local_errors_total", "Health checks of a target that failed on this host (out of file descriptors, no buffer space, no local address), which leave its state as it was.", "target")
	c.probeLastCheck = c.desc("probe_last_check_timestamp_seconds", "When a target's last health-check result came in, in Unix seconds.", "target")

	c.siteLoad = c.desc("site_load", "A site's last reported load, 0 to 1.", "site")
	c.siteSmoothed = c.desc("site_load_smoothed", "A site's smoothed load (moving average of its reports), 0 to 1: what least-loaded weighs and shedding compares.", "site")
	c.siteAge = c.desc("site_report_age_seconds", "Time since a site's last accepted report was received.", "site")
	c.siteDraining = c.desc("site_draining", "1 when a site's last report asks to drain it, else 0.", "site")
	c.siteFresh = c.desc("site_fresh", "1 when a site's last report is no older than reports.stale_after (so it counts), else 0.", "site")
	c.reportsRefused = c.desc("reports_refused_total", "Load reports refused, by reason: method (not POST), size (body too large), signature (missing, malformed or not matching), decode (not a valid report), site (not configured), address (one the site may not report), skew (ts too far from the server's clock), replay (seq and ts not after the last accepted), store (the state file failed).", "reason")

	c.reloads = c.desc("reloads_total", "Zone loads: ok counts loads that published a new snapshot, failed those that refused at least one zone file (one load can count in both).", "result")
	c.generation = c.desc("snapshot_generation", "Generation of the zones snapshot being served; it increases with every snapshot published.")
	c.lastReload = c.desc("last_reload_timestamp_seconds", "When the last zone load that changed something or failed finished, in Unix seconds.")
	c.zoneSerial = c.desc("zone_serial", "SOA serial being served, by zone.", "zone")
	c.zoneRecords = c.desc("zone_records", "Resource records served, by zone.", "zone")
	c.zoneDynamic = c.desc("zone_dynamic_records", "Dynamic records (RRsets answered by pools), by zone.", "zone")

	c.stateErrors = c.desc("state_errors_total", "Failed transactions on the state file (bbolt).")
	c.queryLog = c.desc("query_log_entries_total", "Query log entries: logged (written), dropped (the log could not keep up), error (a write failed).", "result")
	c.aliasResolutions = c.desc("alias_resolutions_total", "Resolutions of ALIAS targets outside the served zones through alias.resolvers: ok (addresses), negative (NODATA or NXDOMAIN), error (every resolver failed).", "result")
	return c
}

// collector reads the sources at scrape time.
type collector struct {
	src Sources
	now func() time.Time
	all []*prometheus.Desc

	buildInfo, startTime                                                     *prometheus.Desc
	queries, latency, ecs                                                    *prometheus.Desc
	answers, weight, effWeight, serving, override                            *prometheus.Desc
	probeState, probeDuration, probeTransitions, probeChecks, probeLastCheck *prometheus.Desc
	probeLocalErrors                                                         *prometheus.Desc
	siteLoad, siteSmoothed, siteAge, siteDraining, siteFresh, reportsRefused *prometheus.Desc
	reloads, generation, lastReload, zoneSerial, zoneRecords, zoneDynamic    *prometheus.Desc
	stateErrors, queryLog, aliasResolutions                                  *prometheus.Desc
}

func (c *collector) desc(name, help string, labels ...string) *prometheus.Desc {
	d := prometheus.NewDesc(prometheus.BuildFQName(Namespace, "", name), help, labels, nil)
	c.all = append(c.all, d)
	return d
}

// Describe sends every metric the collector may send.
func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range c.all {
		ch <- d
	}
}

// Collect reads every source that is set.
func (c *collector) Collect(ch chan<- prometheus.Metric) {
	s := &c.src
	e := emitter{ch}
	now := c.now()
	e.gauge(c.buildInfo, 1, s.Version, runtime.Version())
	if !s.Started.IsZero() {
		e.gauge(c.startTime, unixSeconds(s.Started))
	}
	var snap *zones.Snapshot
	if s.Snapshot != nil {
		snap = s.Snapshot()
	}
	c.collectQueries(e, s.Queries)
	c.collectDynamic(e, s)
	if s.Probes != nil {
		c.collectProbes(e, s.Probes.Status(), snap)
	}
	if s.Sites != nil {
		c.collectSites(e, s.Sites.Sites(), cmp.Or(s.StaleAfter, receiver.DefaultStaleAfter), now)
	}
	if s.ReportsRefused != nil {
		refused := s.ReportsRefused()
		for _, reason := range slices.Sorted(maps.Keys(refused)) {
			e.counter(c.reportsRefused, float64(refused[reason]), reason)
		}
	}
	c.collectZones(e, s, snap)
	if s.StateErrors != nil {
		e.counter(c.stateErrors, float64(s.StateErrors()))
	}
	if s.QueryLog != nil {
		logged, dropped, errs := s.QueryLog()
		e.counter(c.queryLog, float64(logged), "logged")
		e.counter(c.queryLog, float64(dropped), "dropped")
		e.counter(c.queryLog, float64(errs), "error")
	}
	if s.AliasResolutions != nil {
		ok, neg, failed := s.AliasResolutions()
		e.counter(c.aliasResolutions, float64(ok), "ok")
		e.counter(c.aliasResolutions, float64(neg), "negative")
		e.counter(c.aliasResolutions, float64(failed), "error")
	}
}

func (c *collector) collectQueries(e emitter, st *qstats.Registry) {
	if st == nil {
		return
	}
	each := func(zone string, counts *qstats.Counts) {
		counts.Each(func(qtype, rcode, transport string, n uint64) {
			e.counter(c.queries, float64(n), zone, qtype, rcode, transport)
		})
	}
	for _, z := range st.Zones() {
		each(z, st.Zone(z))
	}
	each("", &st.NoZone)
	for i, name := range qstats.ECSResults {
		e.counter(c.ecs, float64(st.ECSCount(i)), name)
	}
	for i, tr := range qstats.Transports {
		buckets, count, sum := st.ReadLatency(i)
		m, err := prometheus.NewConstHistogram(c.latency, count, sum, buckets, tr)
		if err != nil {
			m = prometheus.NewInvalidMetric(c.latency, err)
		}
		e.ch <- m
	}
}

// valueKey is the label values of one value of one pool of one record.
type valueKey [5]string

func (c *collector) collectDynamic(e emitter, s *Sources) {
	// Answers: the tally keeps counting across reloads, so it also holds
	// values no longer served; their counters stay (they must not go
	// back).
	var counts []pool.TallyCount
	if s.Answers != nil {
		counts = s.Answers.Counts()
	}
	idx := make(map[valueKey]int, len(counts))
	keys := make([]valueKey, 0, len(counts))
	totals := make([]uint64, 0, len(counts))
	for _, tc := range counts {
		p := tc.Key.Pool
		if p == "" {
			p = BackupPool
		}
		k := valueKey{tc.Key.Zone, tc.Key.Record, tc.Key.Type, p, tc.Key.Value}
		if i, ok := idx[k]; ok {
			totals[i] += tc.Total
			continue
		}
		idx[k] = len(keys)
		keys = append(keys, k)
		totals = append(totals, tc.Total)
	}
	for i, k := range keys {
		e.counter(c.answers, float64(totals[i]), k[:]...)
	}

	var dynamic []status.DynamicInfo
	if s.Dynamic != nil {
		dynamic = s.Dynamic.AllDynamic()
	}
	seen := map[valueKey]bool{}
	for _, d := range dynamic {
		for _, p := range d.Pools {
			for _, v := range p.Values {
				k := valueKey{d.Zone, d.Name, d.Type, p.Name, v.Value}
				if seen[k] {
					continue // the zone compiler refuses duplicate values; never send a series twice
				}
				seen[k] = true
				e.gauge(c.weight, float64(v.Weight), k[:]...)
				e.gauge(c.effWeight, v.EffectiveWeight, k[:]...)
				e.gauge(c.serving, boolValue(v.Serving), k[:]...)
			}
		}
	}
	if s.Overrides != nil {
		for value, st := range s.Overrides() {
			e.gauge(c.override, 1, value, st.String())
		}
	}
}

// probeStates are the values of the state label of smartdns_probe_state.
var probeStates = [...]string{"up", "down", "unknown"}

func (c *collector) collectProbes(e emitter, ts []probes.TargetStatus, snap *zones.Snapshot) {
	names := targetNames(ts, snap)
	for i, t := range ts {
		name := names[i]
		state := t.State.String()
		for _, st := range probeStates {
			e.gauge(c.probeState, boolValue(st == state), name, t.Protocol, t.Address, st)
		}
		e.counter(c.probeTransitions, float64(t.Transitions), name)
		e.counter(c.probeChecks, float64(t.Checks), name)
		e.counter(c.probeLocalErrors, float64(t.LocalErrors), name)
		if t.Checks > 0 {
			e.gauge(c.probeDuration, t.LastDuration.Seconds(), name)
		}
		if !t.LastCheck.IsZero() {
			e.gauge(c.probeLastCheck, unixSeconds(t.LastCheck), name)
		}
	}
}

// targetNames gives each target the readable text of its check, as the
// status API shows it ("HTTP 192.0.2.1:80/health"), or "PROTO address:port"
// when the check is no longer in the snapshot. Targets whose texts collide
// (the same address checked with two paths, hosts or intervals...) get
// " #" and a hash of their key, stable across scrapes and restarts; the
// key itself is not shown, as it may hold header values such as tokens.
func targetNames(ts []probes.TargetStatus, snap *zones.Snapshot) []string {
	described := map[string]string{}
	for _, ck := range snap.Checks() {
		described[ck.Key()] = status.Describe(ck)
	}
	names := make([]string, len(ts))
	uses := map[string]int{}
	for i, t := range ts {
		n, ok := described[t.Key]
		if !ok {
			n = t.Protocol + " " + hostPort(t.Address, t.Port)
		}
		names[i] = n
		uses[n]++
	}
	taken := map[string]bool{}
	for i, t := range ts {
		if uses[names[i]] > 1 {
			h := fnv.New32a()
			h.Write([]byte(t.Key))
			names[i] = fmt.Sprintf("%s #%08x", names[i], h.Sum32())
		}
		// Two keys with one hash: unheard of, but a label set must never
		// repeat, so number the later ones.
		for base, n := names[i], 2; taken[names[i]]; n++ {
			names[i] = base + "-" + strconv.Itoa(n)
		}
		taken[names[i]] = true
	}
	return names
}

func hostPort(addr string, port int) string {
	if port == 0 {
		return addr
	}
	if strings.Contains(addr, ":") {
		return "[" + addr + "]:" + strconv.Itoa(port)
	}
	return addr + ":" + strconv.Itoa(port)
}

func (c *collector) collectSites(e emitter, sites []receiver.SiteState, stale time.Duration, now time.Time) {
	for _, st := range sites {
		site := st.Report.Site
		age := now.Sub(st.Received)
		e.gauge(c.siteLoad, st.Report.Load, site)
		e.gauge(c.siteSmoothed, st.Smoothed, site)
		e.gauge(c.siteAge, age.Seconds(), site)
		e.gauge(c.siteDraining, boolValue(st.Report.Draining), site)
		// As receiver.Table: stale once older than stale_after.
		e.gauge(c.siteFresh, boolValue(age <= stale), site)
	}
}

func (c *collector) collectZones(e emitter, s *Sources, snap *zones.Snapshot) {
	if r := s.Reloads; r != nil {
		e.counter(c.reloads, float64(r.OK.Load()), "ok")
		e.counter(c.reloads, float64(r.Failed.Load()), "failed")
		if last := r.Last.Load(); last != 0 {
			e.gauge(c.lastReload, float64(last)/1e9)
		}
	}
	if snap == nil {
		return
	}
	e.gauge(c.generation, float64(snap.Generation))
	for _, z := range snap.Zones() {
		e.gauge(c.zoneSerial, float64(z.Serial), z.Origin)
		e.gauge(c.zoneRecords, float64(z.Records), z.Origin)
		e.gauge(c.zoneDynamic, float64(len(z.Dynamic())), z.Origin)
	}
}

// emitter sends constant metrics. A metric that cannot be built (wrong
// label count, a label value that is not UTF-8) is sent as an invalid
// metric, which the handler reports and leaves out, rather than panicking:
// collectors run on their own goroutines, and a panic there would end the
// whole server.
type emitter struct{ ch chan<- prometheus.Metric }

func (e emitter) counter(d *prometheus.Desc, v float64, labels ...string) {
	e.send(d, prometheus.CounterValue, v, labels)
}

func (e emitter) gauge(d *prometheus.Desc, v float64, labels ...string) {
	e.send(d, prometheus.GaugeValue, v, labels)
}

func (e emitter) send(d *prometheus.Desc, t prometheus.ValueType, v float64, labels []string) {
	m, err := prometheus.NewConstMetric(d, t, v, labels...)
	if err != nil {
		m = prometheus.NewInvalidMetric(d, err)
	}
	e.ch <- m
}

func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func unixSeconds(t time.Time) float64 { return float64(t.UnixNano()) / 1e9 }
