package metrics

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	mdns "github.com/miekg/dns"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"

	"github.com/smartdns/smartdns/dns"
	"github.com/smartdns/smartdns/internal/promtest"
	"github.com/smartdns/smartdns/internal/qstats"
	"github.com/smartdns/smartdns/internal/store"
	"github.com/smartdns/smartdns/loadreport"
	"github.com/smartdns/smartdns/loadreport/receiver"
	"github.com/smartdns/smartdns/pool"
	"github.com/smartdns/smartdns/probes"
	"github.com/smartdns/smartdns/status"
	"github.com/smartdns/smartdns/zones"
)

var update = flag.Bool("update", false, "rewrite testdata/metrics.golden from the current metrics")

// testZone has a dynamic record of each kind the metrics show:
//   - www: least-loaded over probed values (192.0.2.1 up, 192.0.2.2 down),
//     falling back to a pool whose one value an override takes down;
//   - api: probes 192.0.2.1 on the same port and path as www but with
//     another Host, so two targets read "HTTP 192.0.2.1:8080/health";
//   - gone: every value down, so it answers its backup value.
const testZone = `---
'':
  type: A
  value: 192.0.2.250
www:
  type: A
  values: [192.0.2.254]
  dynamic:
    pools:
      main:
        fallback: spare
        values:
          - {value: 192.0.2.1, weight: 3}
          - {value: 192.0.2.2, weight: 1}
      spare:
        values:
          - {value: 198.51.100.1, status: up}
    rules:
      - pool: main
  octodns:
    healthcheck: {protocol: HTTP, port: 8080, path: /health}
    smartdns:
      policy: least-loaded
      slow_start: 0s
api:
  type: A
  values: [192.0.2.254]
  dynamic:
    pools:
      main:
        values:
          - {value: 192.0.2.1}
    rules:
      - pool: main
  octodns:
    healthcheck: {protocol: HTTP, port: 8080, path: /health, host: api.example.com}
gone:
  type: A
  values: [192.0.2.99]
  dynamic:
    pools:
      only:
        values:
          - {value: 192.0.2.50, status: down}
    rules:
      - pool: only
`

// savedHealth is a probes.StateStore that restores fixed states.
type savedHealth map[string]probes.HealthRecord

func (s savedHealth) LoadHealth(key string) (probes.HealthRecord, bool, error) {
	r, ok := s[key]
	return r, ok, nil
}
func (savedHealth) SaveHealth(map[string]probes.HealthRecord) error { return nil }
func (savedHealth) DeleteHealth([]string) error                     { return nil }

// savedReports is a receiver.ReportStore that restores fixed reports.
type savedReports map[string]receiver.StoredReport

func (s savedReports) SaveReport(string, receiver.StoredReport) error { return nil }
func (s savedReports) LoadReports() (map[string]receiver.StoredReport, error) {
	return s, nil
}

// env is hand-built Sources over testZone with a DNS handler counting
// into its tables.
type env struct {
	src     Sources
	health  *pool.HealthTable
	handler *dns.Handler
	now     time.Time
}

func newEnv(t *testing.T) *env {
	t.Helper()
	now := time.Now()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "example.com.yaml"), []byte(testZone), 0o644); err != nil {
		t.Fatal(err)
	}
	members := &pool.Members{}
	health := &pool.HealthTable{}
	tally := &pool.Tally{}
	stats := &qstats.Registry{}
	l := &zones.Loader{Dir: dir, Options: zones.CompileOptions{
		Nameservers: []string{"ns1.example.com."}, Members: members, Tally: tally, Stats: stats,
	}}
	snap, rep := l.Load(true)
	if snap == nil || len(rep.Failed()) > 0 {
		t.Fatalf("the test zone does not load: %+v", rep)
	}

	// Probes: restore www's two targets from "the state file" (one up
	// after three transitions, one down); api's target stays unknown.
	saved := savedHealth{}
	for _, c := range snap.Checks() {
		switch {
		case c.Address == "192.0.2.1" && c.Host == "www.example.com":
			saved[c.Key()] = probes.HealthRecord{State: uint8(pool.Healthy), Checked: now.Add(-time.Second), Changed: now.Add(-time.Minute), Transitions: 3}
		case c.Address == "192.0.2.2":
			saved[c.Key()] = probes.HealthRecord{State: uint8(pool.Unhealthy), Checked: now.Add(-time.Second), Changed: now.Add(-time.Minute), Transitions: 1, LastError: "connection refused"}
		}
	}
	// Then let each of them be checked once, with results that keep their
	// states; api's check hangs until the runner stops, so it stays
	// unknown.
	runner := &probes.Runner{Members: members, Table: health, Store: saved, Probe: func(ctx context.Context, c *pool.Check) error {
		switch {
		case c.Host == "api.example.com":
			<-ctx.Done()
			return ctx.Err()
		case c.Address == "192.0.2.2":
			return errors.New("connection refused")
		}
		return nil
	}}
	runner.SetTargets(snap.Checks())
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan struct{})
	go func() { runner.Run(ctx); close(ran) }()
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		checked := 0
		for _, ts := range runner.Status() {
			if ts.Checks > 0 && !strings.Contains(ts.Key, "api.example.com") {
				checked++
			}
		}
		if checked == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the probes did not run: %+v", runner.Status())
		}
	}
	cancel()
	<-ran

	// Reports: fra covers 192.0.2.1 and is fresh; iad is stale and asked
	// to drain.
	report := func(site, addr string, load float64, draining bool, received time.Time, smoothed float64) receiver.StoredReport {
		body, _ := json.Marshal(loadreport.Report{Site: site, Addresses: []string{addr}, Load: load, Draining: draining, TS: received.Unix(), Seq: 1})
		return receiver.StoredReport{Report: body, Received: received, Smoothed: smoothed}
	}
	rc := &receiver.Receiver{
		Keys:   map[string][]byte{"fra": []byte("k1"), "iad": []byte("k2")},
		Health: health,
		Store: savedReports{
			"fra": report("fra", "192.0.2.1", 0.5, false, now.Add(-5*time.Second), 0.4),
			"iad": report("iad", "203.0.113.1", 0.9, true, now.Add(-2*time.Minute), 0.8),
		},
		Now: func() time.Time { return now },
	}
	if err := rc.Restore(); err != nil {
		t.Fatal(err)
	}
	health.PublishOverrides(map[string]pool.Status{"198.51.100.1": pool.Down})

	st, err := store.Open(filepath.Join(dir, "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })

	h := &dns.Handler{Health: health, Stats: stats}
	h.SetSnapshot(snap)
	reloads := &status.Reloads{}
	reloads.OK.Add(1)
	reloads.Failed.Add(2)
	reloads.Last.Store(now.UnixNano())
	// The status API's model lists the dynamic records, as in the server.
	model := &status.Sources{Snapshot: h.Snapshot, Health: health, Probes: runner, Reports: rc, Tally: tally, Stats: stats, Store: st, StaleAfter: 30 * time.Second}
	src := Sources{
		Version: "v1.2.3-test", Started: now.Add(-time.Hour),
		Snapshot: h.Snapshot, Queries: stats, Answers: tally, Dynamic: model, Overrides: health.Overrides,
		Probes: runner, Sites: rc, StaleAfter: 30 * time.Second, ReportsRefused: rc.Refused, Reloads: reloads, StateErrors: st.Errors,
		QueryLog:         func() (uint64, uint64, uint64) { return 7, 2, 1 },
		AliasResolutions: func() (uint64, uint64, uint64) { return 5, 1, 3 },
	}
	return &env{src: src, health: health, handler: h, now: now}
}

// query sends one query through the DNS handler, as the server would.
func (e *env) query(t testing.TB, name string, qtype uint16, tcp bool, ecs string) {
	t.Helper()
	m := new(mdns.Msg)
	m.SetQuestion(name, qtype)
	if ecs != "" {
		p := netip.MustParsePrefix(ecs)
		o := &mdns.OPT{Hdr: mdns.RR_Header{Name: ".", Rrtype: mdns.TypeOPT}}
		o.SetUDPSize(1232)
		o.Option = append(o.Option, &mdns.EDNS0_SUBNET{Code: mdns.EDNS0SUBNET, Family: 1, SourceNetmask: uint8(p.Bits()), Address: p.Addr().AsSlice()})
		m.Extra = append(m.Extra, o)
	}
	pkt, err := m.Pack()
	if err != nil {
		t.Fatal(err)
	}
	if e.handler.Serve(pkt, make([]byte, 65535), netip.MustParseAddr("127.0.0.1"), tcp) == nil {
		t.Fatalf("no answer to %s", name)
	}
}

// traffic is the queries every test scrapes the counters of.
func (e *env) traffic(t testing.TB) {
	for range 10 {
		e.query(t, "www.example.com.", mdns.TypeA, false, "")
	}
	e.query(t, "www.example.com.", mdns.TypeA, true, "")
	e.query(t, "gone.example.com.", mdns.TypeA, false, "")
	e.query(t, "gone.example.com.", mdns.TypeA, false, "")
	e.query(t, "nope.example.com.", mdns.TypeAAAA, false, "")
	e.query(t, "www.example.org.", mdns.TypeA, false, "")
	e.query(t, "example.com.", mdns.TypeA, false, "192.0.2.0/24")
	st := e.src.Queries
	st.Latency[0].Observe(30 * time.Microsecond)
	st.Latency[0].Observe(200 * time.Microsecond)
	st.Latency[1].Observe(3 * time.Millisecond)
}

// scrape GETs /metrics from Handler and returns the body.
func scrape(t testing.TB, src Sources) string {
	t.Helper()
	srv := httptest.NewServer(Handler(src))
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 {
		t.Fatalf("GET /metrics: %s\n%s", resp.Status, body)
	}
	return string(body)
}

func TestValues(t *testing.T) {
	e := newEnv(t)
	e.traffic(t)
	f := promtest.Parse(t, scrape(t, e.src))

	f.Want(t, 1, "smartdns_build_info", "version", "v1.2.3-test", "goversion", runtime.Version())
	f.Want(t, float64(e.now.Add(-time.Hour).UnixNano())/1e9, "smartdns_start_time_seconds")

	// Queries, by zone, type, rcode and transport; "" for no zone of ours.
	q := "smartdns_queries_total"
	// www 10 times, gone twice and the apex with ECS over UDP; www once over TCP.
	f.Want(t, 1, q, "zone", "example.com.", "qtype", "A", "rcode", "NOERROR", "transport", "tcp")
	f.Want(t, 1, q, "zone", "example.com.", "qtype", "AAAA", "rcode", "NXDOMAIN", "transport", "udp")
	f.Want(t, 1, q, "zone", "", "qtype", "A", "rcode", "REFUSED", "transport", "udp")
	f.Want(t, 10+2+1, q, "zone", "example.com.", "qtype", "A", "rcode", "NOERROR", "transport", "udp")
	f.Want(t, 1, "smartdns_ecs_queries_total", "result", "used")
	f.Want(t, 15, "smartdns_ecs_queries_total", "result", "none")
	f.Want(t, 0, "smartdns_ecs_queries_total", "result", "invalid")

	// Latency histogram.
	lat := f["smartdns_answer_duration_seconds"]
	if lat == nil || lat.GetType() != dto.MetricType_HISTOGRAM {
		t.Fatalf("smartdns_answer_duration_seconds: %v", lat)
	}
	f.Want(t, 2, "smartdns_answer_duration_seconds", "transport", "udp")
	f.Want(t, 1, "smartdns_answer_duration_seconds", "transport", "tcp")
	for _, m := range lat.Metric {
		if m.Label[0].GetValue() != "udp" {
			continue
		}
		h := m.Histogram
		if len(h.Bucket) != len(qstats.LatencyBuckets)+1 { // and +Inf
			t.Errorf("%d buckets, want %d", len(h.Bucket), len(qstats.LatencyBuckets)+1)
		}
		for _, b := range h.Bucket {
			var want uint64
			switch {
			case b.GetUpperBound() >= 250e-6:
				want = 2
			case b.GetUpperBound() >= 50e-6:
				want = 1
			}
			if b.GetCumulativeCount() != want {
				t.Errorf("udp bucket le=%g: %d, want %d", b.GetUpperBound(), b.GetCumulativeCount(), want)
			}
		}
		if s := h.GetSampleSum(); math.Abs(s-230e-6) > 1e-12 {
			t.Errorf("udp sum %v, want 230µs", s)
		}
	}

	// Dynamic answers: www answers its one up value (192.0.2.2 is down),
	// gone its backup value.
	a := "smartdns_dynamic_answers_total"
	vl := func(record, pl, value string) []string {
		return []string{"zone", "example.com.", "record", record + ".example.com.", "type", "A", "pool", pl, "value", value}
	}
	f.Want(t, 11, a, vl("www", "main", "192.0.2.1")...)
	f.Want(t, 0, a, vl("www", "main", "192.0.2.2")...)
	f.Want(t, 0, a, vl("www", "spare", "198.51.100.1")...)
	f.Want(t, 0, a, vl("www", BackupPool, "192.0.2.254")...)
	f.Want(t, 2, a, vl("gone", BackupPool, "192.0.2.99")...)
	f.Want(t, 0, a, vl("gone", "only", "192.0.2.50")...)

	// Value state: least-loaded weighs 192.0.2.1 by fra's headroom
	// (3 × (1 − 0.4)); 192.0.2.2 is down; 198.51.100.1 is overridden down.
	f.Want(t, 3, "smartdns_value_weight", vl("www", "main", "192.0.2.1")...)
	f.Want(t, 3*0.6, "smartdns_value_effective_weight", vl("www", "main", "192.0.2.1")...)
	f.Want(t, 1, "smartdns_value_serving", vl("www", "main", "192.0.2.1")...)
	f.Want(t, 0, "smartdns_value_effective_weight", vl("www", "main", "192.0.2.2")...)
	f.Want(t, 0, "smartdns_value_serving", vl("www", "main", "192.0.2.2")...)
	f.Want(t, 0, "smartdns_value_serving", vl("www", "spare", "198.51.100.1")...)
	f.Want(t, 0, "smartdns_value_serving", vl("gone", "only", "192.0.2.50")...)
	f.Want(t, 1, "smartdns_value_serving", vl("api", "main", "192.0.2.1")...)
	f.Absent(t, "smartdns_value_serving", vl("gone", BackupPool, "192.0.2.99")...)
	f.Want(t, 1, "smartdns_value_override", "value", "198.51.100.1", "status", "down")
	if n := len(f["smartdns_value_override"].GetMetric()); n != 1 {
		t.Errorf("%d overrides, want 1", n)
	}

	// Probes: the two targets on 192.0.2.1:8080/health are told apart.
	var www1, api1 string
	for _, m := range f["smartdns_probe_transitions_total"].GetMetric() {
		target := m.Label[0].GetValue()
		switch {
		case m.Counter.GetValue() == 3:
			www1 = target
		case strings.HasPrefix(target, "HTTP 192.0.2.1:"):
			api1 = target
		}
	}
	re := regexp.MustCompile(`^HTTP 192\.0\.2\.1:8080/health #[0-9a-f]{8}$`)
	if !re.MatchString(www1) || !re.MatchString(api1) || www1 == api1 {
		t.Fatalf("targets %q and %q: want two distinct %s", www1, api1, re)
	}
	down := "HTTP 192.0.2.2:8080/health"
	for _, tc := range []struct {
		target, address, state string
	}{{www1, "192.0.2.1", "up"}, {api1, "192.0.2.1", "unknown"}, {down, "192.0.2.2", "down"}} {
		for _, st := range probeStates {
			want := 0.0
			if st == tc.state {
				want = 1
			}
			f.Want(t, want, "smartdns_probe_state", "target", tc.target, "protocol", "HTTP", "address", tc.address, "state", st)
		}
	}
	f.Want(t, 1, "smartdns_probe_transitions_total", "target", down)
	f.Want(t, 1, "smartdns_probe_checks_total", "target", down)
	f.Want(t, 1, "smartdns_probe_checks_total", "target", www1)
	for _, target := range []string{www1, down} {
		if v, ok := f.Get("smartdns_probe_last_check_timestamp_seconds", "target", target); !ok || v < float64(e.now.Unix()) {
			t.Errorf("%s: last check at %v (%v), want after %v", target, v, ok, e.now)
		}
		if _, ok := f.Get("smartdns_probe_duration_seconds", "target", target); !ok {
			t.Errorf("%s: no duration", target)
		}
	}
	// Never checked: no time and no duration (a zero would read as 1970).
	f.Absent(t, "smartdns_probe_last_check_timestamp_seconds", "target", api1)
	f.Absent(t, "smartdns_probe_duration_seconds", "target", api1)

	// Sites.
	f.Want(t, 0.5, "smartdns_site_load", "site", "fra")
	f.Want(t, 0.4, "smartdns_site_load_smoothed", "site", "fra")
	f.Want(t, 1, "smartdns_site_fresh", "site", "fra")
	f.Want(t, 0, "smartdns_site_draining", "site", "fra")
	f.Want(t, 0, "smartdns_site_fresh", "site", "iad")
	f.Want(t, 1, "smartdns_site_draining", "site", "iad")
	if age, _ := f.Get("smartdns_site_report_age_seconds", "site", "iad"); age < 120 || age > 180 {
		t.Errorf("iad report age %v, want about 120s", age)
	}

	// Reloads, zones, state file, query log.
	f.Want(t, 1, "smartdns_reloads_total", "result", "ok")
	f.Want(t, 2, "smartdns_reloads_total", "result", "failed")
	f.Want(t, float64(e.now.UnixNano())/1e9, "smartdns_last_reload_timestamp_seconds")
	snap := e.src.Snapshot()
	f.Want(t, float64(snap.Generation), "smartdns_snapshot_generation")
	z := snap.Zone("example.com.")
	f.Want(t, float64(z.Serial), "smartdns_zone_serial", "zone", "example.com.")
	f.Want(t, float64(z.Records), "smartdns_zone_records", "zone", "example.com.")
	f.Want(t, 3, "smartdns_zone_dynamic_records", "zone", "example.com.")
	f.Want(t, 0, "smartdns_state_errors_total")
	f.Want(t, 7, "smartdns_query_log_entries_total", "result", "logged")
	f.Want(t, 2, "smartdns_query_log_entries_total", "result", "dropped")
	f.Want(t, 1, "smartdns_query_log_entries_total", "result", "error")
	f.Want(t, 5, "smartdns_alias_resolutions_total", "result", "ok")
	f.Want(t, 1, "smartdns_alias_resolutions_total", "result", "negative")
	f.Want(t, 3, "smartdns_alias_resolutions_total", "result", "error")

	// The standard collectors share the private registry.
	for _, n := range []string{"go_goroutines", "process_start_time_seconds"} {
		if f[n] == nil {
			t.Errorf("%s missing", n)
		}
	}
}

// Every field of Sources may be nil or zero: a scrape still answers,
// with the metrics it can read.
func TestNilSources(t *testing.T) {
	for _, src := range []Sources{{}, {Snapshot: func() *zones.Snapshot { return nil }, Reloads: &status.Reloads{}}} {
		f := promtest.Parse(t, scrape(t, src))
		for name := range f {
			if !strings.HasPrefix(name, Namespace+"_") {
				continue
			}
			switch name {
			case "smartdns_build_info", "smartdns_reloads_total":
			default:
				t.Errorf("%+v: %s present without its source", src, name)
			}
		}
		if f["smartdns_build_info"] == nil {
			t.Errorf("%+v: no build info", src)
		}
		if v, _ := f.Get("promhttp_metric_handler_errors_total", "cause", "gathering"); v != 0 {
			t.Errorf("%+v: %v gathering errors", src, v)
		}
	}
}

// Labels that could repeat are never sent twice: a failed gather would
// drop the whole family.
func TestTargetNames(t *testing.T) {
	ts := []probes.TargetStatus{
		{Key: "a", Protocol: "TCP", Address: "192.0.2.1", Port: 22},
		{Key: "b", Protocol: "TCP", Address: "192.0.2.1", Port: 22},
		{Key: "b", Protocol: "TCP", Address: "192.0.2.1", Port: 22},
		{Key: "c", Protocol: "ICMP", Address: "2001:db8::1"},
		{Key: "d", Protocol: "HTTPS", Address: "2001:db8::1", Port: 443},
	}
	names := targetNames(ts, nil)
	seen := map[string]bool{}
	for _, n := range names {
		if seen[n] {
			t.Errorf("%q twice in %q", n, names)
		}
		seen[n] = true
	}
	if names[3] != "ICMP 2001:db8::1" || names[4] != "HTTPS [2001:db8::1]:443" {
		t.Errorf("names %q", names)
	}
	if !strings.HasPrefix(names[0], "TCP 192.0.2.1:22 #") || !strings.HasPrefix(names[2], names[1]+"-") {
		t.Errorf("names %q", names)
	}
	if again := targetNames(ts, nil); strings.Join(again, "|") != strings.Join(names, "|") {
		t.Errorf("names change between scrapes: %q then %q", names, again)
	}
}

// The metric names, types, labels and help are the contract with
// dashboards and alerts: a change must be deliberate (go test -update).
// Every metric the collector describes must show in the test's scrape.
func TestGolden(t *testing.T) {
	e := newEnv(t)
	e.traffic(t)
	f := promtest.Parse(t, scrape(t, e.src))
	var lines []string
	for name, fam := range f {
		if !strings.HasPrefix(name, Namespace+"_") {
			continue
		}
		var ls []string
		for _, l := range fam.Metric[0].Label {
			ls = append(ls, l.GetName())
		}
		sort.Strings(ls)
		lines = append(lines, fmt.Sprintf("%s %s {%s} %s", name, strings.ToLower(fam.GetType().String()), strings.Join(ls, ","), fam.GetHelp()))
	}
	sort.Strings(lines)
	got := strings.Join(lines, "\n") + "\n"

	c := NewCollector(e.src).(*collector)
	if len(lines) != len(c.all) {
		t.Errorf("the scrape has %d smartdns promtest.Families, the collector describes %d: make the test sources show every metric", len(lines), len(c.all))
	}

	const golden = "testdata/metrics.golden"
	if *update {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("metrics differ from %s (run go test ./metrics -update if the change is deliberate, and update docs/metrics.md):\n got:\n%s\nwant:\n%s", golden, got, want)
	}
}

// docs/metrics.md documents every metric.
func TestDocumented(t *testing.T) {
	doc, err := os.ReadFile("../docs/metrics.md")
	if err != nil {
		t.Fatal(err)
	}
	golden, err := os.ReadFile("testdata/metrics.golden")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(golden)), "\n") {
		name := strings.Fields(line)[0]
		if !bytes.Contains(doc, []byte("`"+name+"`")) {
			t.Errorf("docs/metrics.md does not document `%s`", name)
		}
	}
}

// Every metric passes promlint, the standard collectors' too.
func TestLint(t *testing.T) {
	e := newEnv(t)
	e.traffic(t)
	problems, err := testutil.GatherAndLint(newRegistry(e.src))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("promlint: %s: %s", p.Metric, p.Text)
	}
}

// A full scrape passes `promtool check metrics`.
func TestPromtool(t *testing.T) {
	e := newEnv(t)
	e.traffic(t)
	promtest.Promtool(t, scrape(t, e.src))
}

// Scrapes run while queries are counted and state is published (run with
// -race).
func TestConcurrentScrapes(t *testing.T) {
	e := newEnv(t)
	srv := httptest.NewServer(Handler(e.src))
	defer srv.Close()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			e.query(t, "www.example.com.", mdns.TypeA, i%2 == 0, "")
			e.health.PublishOverrides(map[string]pool.Status{"192.0.2.2": pool.Status(1 + i%2)})
			e.src.Reloads.OK.Add(1)
		}
	}()
	for range 20 {
		resp, err := http.Get(srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("status %s", resp.Status)
		}
	}
	close(stop)
	wg.Wait()
}
