package e2e

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// Metrics end to end: the real binary with its HTTP listener answers a few
// dig queries (UDP and TCP, NOERROR, NXDOMAIN, REFUSED for a zone it does
// not serve, one with EDNS Client Subnet), then GET /metrics must show
// exactly those queries counted by zone, type, rcode and transport, the
// ECS outcome, the dynamic answers per value, the latency histogram, the
// first zone load, the build, and pass `promtool check metrics`. The
// record's values are documentation addresses with `status: up`: nothing
// is probed.
const metricsZone = `---
'':
  type: A
  value: 192.0.2.250
www:
  type: A
  values: [192.0.2.254]
  dynamic:
    pools:
      main:
        values:
          - {value: 192.0.2.1, weight: 1, status: up}
          - {value: 192.0.2.2, weight: 1, status: up}
    rules:
      - pool: main
`

func TestMetrics(t *testing.T) {
	port := freePort(t)
	s := Start(t, Options{
		Files: map[string]string{"example.com.yaml": metricsZone},
		Extra: fmt.Sprintf("http: 127.0.0.1:%d\n", port),
	})
	url := fmt.Sprintf("http://127.0.0.1:%d/metrics", port)

	answered := 0 // www's values answered, over every query
	for _, args := range [][]string{
		{"www.example.com", "A"},
		{"www.example.com", "A"},
		{"www.example.com", "A"},
		{"www.example.com", "A", "+tcp"},
		{"www.example.com", "A", "+subnet=198.51.100.0/24"},
	} {
		a := s.Dig(args...)
		if a.Status != "NOERROR" || len(a.Answer) == 0 {
			t.Fatalf("dig %v: %s\n%s", args, a.Status, a.Raw)
		}
		answered += len(Datas(a.Answer, "A"))
	}
	if a := s.Dig("nope.example.com", "AAAA"); a.Status != "NXDOMAIN" {
		t.Fatalf("nope.example.com: %s", a.Status)
	}
	if a := s.Dig("www.example.org", "A"); a.Status != "REFUSED" {
		t.Fatalf("www.example.org: %s", a.Status)
	}

	// Latency is observed after the answer is written: wait until the
	// last answers are in the histogram.
	var text string
	var f scraped
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		text = getMetrics(t, url)
		f = parseMetrics(t, text)
		udp, _ := f.get("smartdns_answer_duration_seconds", "transport", "udp")
		tcp, _ := f.get("smartdns_answer_duration_seconds", "transport", "tcp")
		if udp == 6 && tcp == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("answer_duration_seconds counts udp %v tcp %v, want 6 and 1:\n%s", udp, tcp, text)
		}
	}

	q := "smartdns_queries_total"
	f.want(t, 4, q, "zone", "example.com.", "qtype", "A", "rcode", "NOERROR", "transport", "udp")
	f.want(t, 1, q, "zone", "example.com.", "qtype", "A", "rcode", "NOERROR", "transport", "tcp")
	f.want(t, 1, q, "zone", "example.com.", "qtype", "AAAA", "rcode", "NXDOMAIN", "transport", "udp")
	f.want(t, 1, q, "zone", "", "qtype", "A", "rcode", "REFUSED", "transport", "udp")
	if n := f.sum(q); n != 7 {
		t.Errorf("%v queries counted, want 7:\n%s", n, f.dump(q))
	}

	used, _ := f.get("smartdns_ecs_queries_total", "result", "used")
	scoped, _ := f.get("smartdns_ecs_queries_total", "result", "scoped")
	if used+scoped != 1 {
		t.Errorf("ECS used %v + scoped %v, want 1", used, scoped)
	}
	f.want(t, 6, "smartdns_ecs_queries_total", "result", "none")
	f.want(t, 0, "smartdns_ecs_queries_total", "result", "invalid")

	value := func(v string) []string {
		return []string{"zone", "example.com.", "record", "www.example.com.", "type", "A", "pool", "main", "value", v}
	}
	a1, ok1 := f.get("smartdns_dynamic_answers_total", value("192.0.2.1")...)
	a2, ok2 := f.get("smartdns_dynamic_answers_total", value("192.0.2.2")...)
	if !ok1 || !ok2 || int(a1+a2) != answered {
		t.Errorf("dynamic answers %v + %v, want %d:\n%s", a1, a2, answered, f.dump("smartdns_dynamic_answers_total"))
	}
	f.want(t, 0, "smartdns_dynamic_answers_total", "zone", "example.com.", "record", "www.example.com.", "type", "A", "pool", "(backup)", "value", "192.0.2.254")
	for _, v := range []string{"192.0.2.1", "192.0.2.2"} {
		f.want(t, 1, "smartdns_value_serving", value(v)...)
		f.want(t, 1, "smartdns_value_effective_weight", value(v)...)
	}

	// The first load counts as a reload; nothing failed.
	if ok, _ := f.get("smartdns_reloads_total", "result", "ok"); ok < 1 {
		t.Errorf("reloads ok %v, want at least 1", ok)
	}
	f.want(t, 0, "smartdns_reloads_total", "result", "failed")
	if gen, _ := f.get("smartdns_snapshot_generation"); gen < 1 {
		t.Errorf("snapshot generation %v", gen)
	}
	if ts, _ := f.get("smartdns_last_reload_timestamp_seconds"); ts < float64(time.Now().Add(-time.Hour).Unix()) {
		t.Errorf("last reload at %v", ts)
	}
	if _, ok := f.get("smartdns_zone_serial", "zone", "example.com."); !ok {
		t.Errorf("no serial for example.com.:\n%s", f.dump("smartdns_zone_serial"))
	}
	f.want(t, 1, "smartdns_zone_dynamic_records", "zone", "example.com.")
	build := f["smartdns_build_info"].GetMetric()
	if len(build) != 1 || build[0].GetGauge().GetValue() != 1 {
		t.Errorf("build info: %v", build)
	} else {
		l := map[string]string{}
		for _, p := range build[0].Label {
			l[p.GetName()] = p.GetValue()
		}
		if l["version"] == "" || !strings.HasPrefix(l["goversion"], "go") {
			t.Errorf("build info labels %v", l)
		}
	}
	if start, _ := f.get("smartdns_start_time_seconds"); start < float64(time.Now().Add(-time.Hour).Unix()) {
		t.Errorf("start time %v", start)
	}
	for _, n := range []string{"go_goroutines", "process_resident_memory_bytes"} {
		if f[n] == nil {
			t.Errorf("%s missing from the scrape", n)
		}
	}
	promtoolCheck(t, text)
}

func getMetrics(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %s (is metrics.Handler mounted at /metrics?)\n%s", url, resp.Status, body)
	}
	return string(body)
}

// scraped is a parsed scrape, by metric family name.
type scraped map[string]*dto.MetricFamily

func parseMetrics(t *testing.T, text string) scraped {
	t.Helper()
	p := expfmt.NewTextParser(model.LegacyValidation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(text))
	if err != nil {
		t.Fatalf("the scrape does not parse: %v\n%s", err, text)
	}
	return fams
}

// get returns the value of name's series with exactly the labels given as
// name, value pairs (the sample count of a histogram).
func (f scraped) get(name string, lv ...string) (float64, bool) {
	want := map[string]string{}
	for i := 0; i+1 < len(lv); i += 2 {
		want[lv[i]] = lv[i+1]
	}
next:
	for _, m := range f[name].GetMetric() {
		if len(m.Label) != len(want) {
			continue
		}
		for _, l := range m.Label {
			if v, ok := want[l.GetName()]; !ok || v != l.GetValue() {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue(), true
		case m.Gauge != nil:
			return m.Gauge.GetValue(), true
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount()), true
		}
	}
	return 0, false
}

func (f scraped) want(t *testing.T, want float64, name string, lv ...string) {
	t.Helper()
	got, ok := f.get(name, lv...)
	if !ok || got != want {
		t.Errorf("%s%v = %v (present %v), want %v:\n%s", name, lv, got, ok, want, f.dump(name))
	}
}

// sum adds every series of a counter.
func (f scraped) sum(name string) float64 {
	var n float64
	for _, m := range f[name].GetMetric() {
		n += m.GetCounter().GetValue()
	}
	return n
}

func (f scraped) dump(name string) string {
	var b bytes.Buffer
	if fam := f[name]; fam != nil {
		expfmt.MetricFamilyToText(&b, fam)
	}
	return b.String()
}

// promtoolCheck pipes a scrape into `promtool check metrics` and fails on
// any problem it prints. Without promtool it fails, saying to run `make
// deps`, unless SMARTDNS_SKIP_PROMTOOL=1.
func promtoolCheck(t *testing.T, text string) {
	t.Helper()
	path, err := exec.LookPath("promtool")
	if err != nil {
		if os.Getenv("SMARTDNS_SKIP_PROMTOOL") == "1" {
			t.Log("promtool is not installed: skipping its check (SMARTDNS_SKIP_PROMTOOL=1)")
			return
		}
		t.Fatal("promtool is not installed: run `make deps` (Debian package prometheus), or set SMARTDNS_SKIP_PROMTOOL=1 to skip this check")
	}
	cmd := exec.Command(path, "check", "metrics")
	cmd.Stdin = strings.NewReader(text)
	out, err := cmd.CombinedOutput()
	if err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Errorf("promtool check metrics: %v\n%s", err, out)
	}
}
