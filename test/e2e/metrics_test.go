package e2e

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/smartdns/smartdns/internal/promtest"
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
	s := Start(t, Options{
		Files: map[string]string{"example.com.yaml": metricsZone},
		Extra: "http: 127.0.0.1:0\n",
	})
	url := "http://" + s.HTTP + "/metrics"

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
	var f promtest.Families
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		text = getMetrics(t, url)
		f = promtest.Parse(t, text)
		udp, _ := f.Get("smartdns_answer_duration_seconds", "transport", "udp")
		tcp, _ := f.Get("smartdns_answer_duration_seconds", "transport", "tcp")
		if udp == 6 && tcp == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("answer_duration_seconds counts udp %v tcp %v, want 6 and 1:\n%s", udp, tcp, text)
		}
	}

	q := "smartdns_queries_total"
	f.Want(t, 4, q, "zone", "example.com.", "qtype", "A", "rcode", "NOERROR", "transport", "udp")
	f.Want(t, 1, q, "zone", "example.com.", "qtype", "A", "rcode", "NOERROR", "transport", "tcp")
	f.Want(t, 1, q, "zone", "example.com.", "qtype", "AAAA", "rcode", "NXDOMAIN", "transport", "udp")
	f.Want(t, 1, q, "zone", "", "qtype", "A", "rcode", "REFUSED", "transport", "udp")
	if n := f.Sum(q); n != 7 {
		t.Errorf("%v queries counted, want 7:\n%s", n, f.Dump(q))
	}

	used, _ := f.Get("smartdns_ecs_queries_total", "result", "used")
	scoped, _ := f.Get("smartdns_ecs_queries_total", "result", "scoped")
	if used+scoped != 1 {
		t.Errorf("ECS used %v + scoped %v, want 1", used, scoped)
	}
	f.Want(t, 6, "smartdns_ecs_queries_total", "result", "none")
	f.Want(t, 0, "smartdns_ecs_queries_total", "result", "invalid")

	value := func(v string) []string {
		return []string{"zone", "example.com.", "record", "www.example.com.", "type", "A", "pool", "main", "value", v}
	}
	a1, ok1 := f.Get("smartdns_dynamic_answers_total", value("192.0.2.1")...)
	a2, ok2 := f.Get("smartdns_dynamic_answers_total", value("192.0.2.2")...)
	if !ok1 || !ok2 || int(a1+a2) != answered {
		t.Errorf("dynamic answers %v + %v, want %d:\n%s", a1, a2, answered, f.Dump("smartdns_dynamic_answers_total"))
	}
	f.Want(t, 0, "smartdns_dynamic_answers_total", "zone", "example.com.", "record", "www.example.com.", "type", "A", "pool", "(backup)", "value", "192.0.2.254")
	for _, v := range []string{"192.0.2.1", "192.0.2.2"} {
		f.Want(t, 1, "smartdns_value_serving", value(v)...)
		f.Want(t, 1, "smartdns_value_effective_weight", value(v)...)
	}

	// The first load counts as a reload; nothing failed.
	if ok, _ := f.Get("smartdns_reloads_total", "result", "ok"); ok < 1 {
		t.Errorf("reloads ok %v, want at least 1", ok)
	}
	f.Want(t, 0, "smartdns_reloads_total", "result", "failed")
	if gen, _ := f.Get("smartdns_snapshot_generation"); gen < 1 {
		t.Errorf("snapshot generation %v", gen)
	}
	if ts, _ := f.Get("smartdns_last_reload_timestamp_seconds"); ts < float64(time.Now().Add(-time.Hour).Unix()) {
		t.Errorf("last reload at %v", ts)
	}
	if _, ok := f.Get("smartdns_zone_serial", "zone", "example.com."); !ok {
		t.Errorf("no serial for example.com.:\n%s", f.Dump("smartdns_zone_serial"))
	}
	f.Want(t, 1, "smartdns_zone_dynamic_records", "zone", "example.com.")
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
	if start, _ := f.Get("smartdns_start_time_seconds"); start < float64(time.Now().Add(-time.Hour).Unix()) {
		t.Errorf("start time %v", start)
	}
	for _, n := range []string{"go_goroutines", "process_resident_memory_bytes"} {
		if f[n] == nil {
			t.Errorf("%s missing from the scrape", n)
		}
	}
	promtest.Promtool(t, text)
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
