package agent

import (
	"context"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func fixture(t *testing.T, name string) string {
	t.Helper()
	return filepath.Join("testdata", name)
}

// serveFile serves a fixture on 127.0.0.1.
func serveFile(t *testing.T, name string) string {
	t.Helper()
	data, err := os.ReadFile(fixture(t, name))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet {
			http.Error(w, "GET only", http.StatusMethodNotAllowed)
			return
		}
		w.Write(data)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func srcNear(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

func TestPrometheusSource(t *testing.T) {
	url := serveFile(t, "metrics.prom")
	for _, tc := range []struct {
		metric   string
		capacity float64
		want     float64
		value    float64
		err      string
	}{
		{"nginx_connections_active", 2000, 0.406, 812, ""},
		{"http_inflight", 1000, 0.5, 500, ""}, // summed over label sets, quoted '}' in a label
		{"http_inflight", 100, 1, 500, ""},    // clamped
		{"node_load1", 3, 0.5, 1.5, ""},
		{"missing_metric", 10, 0, 0, "not found"},
	} {
		s := &PrometheusSource{URL: url + "/metrics", Metric: tc.metric, Capacity: tc.capacity}
		load, m, err := s.Load(context.Background())
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s: err %v, want %q", tc.metric, err, tc.err)
			}
			continue
		}
		if err != nil || !srcNear(load, tc.want) || m["value"] != tc.value || m["capacity"] != tc.capacity {
			t.Errorf("%s: %v %v %v, want %v value %v", tc.metric, load, m, err, tc.want, tc.value)
		}
	}
}

func TestNginxSource(t *testing.T) {
	url := serveFile(t, "stub_status.txt")
	s := &NginxSource{URL: url + "/stub_status", Capacity: 1000}
	load, m, err := s.Load(context.Background())
	if err != nil || !srcNear(load, 0.291) || m["connections"] != 291 || m["writing"] != 179 || m["capacity"] != 1000 {
		t.Fatalf("got %v %v %v", load, m, err)
	}
	bad := serveFile(t, "metrics.prom")
	if _, _, err := (&NginxSource{URL: bad, Capacity: 1}).Load(context.Background()); err == nil {
		t.Fatal("a page without Active connections was accepted")
	}
}

func TestHAProxySource(t *testing.T) {
	url := serveFile(t, "haproxy.csv") + "/stats;csv"
	s := &HAProxySource{URL: url, Backend: "web"}
	load, m, err := s.Load(context.Background())
	if err != nil || !srcNear(load, 0.5) || m["connections"] != 500 || m["capacity"] != 1000 {
		t.Fatalf("web: %v %v %v", load, m, err)
	}
	// slim empty: capacity is needed.
	if _, _, err := (&HAProxySource{URL: url, Backend: "api"}).Load(context.Background()); err == nil || !strings.Contains(err.Error(), "capacity") {
		t.Fatalf("api without capacity: %v", err)
	}
	load, _, err = (&HAProxySource{URL: url, Backend: "api", Capacity: 84}).Load(context.Background())
	if err != nil || !srcNear(load, 0.5) {
		t.Fatalf("api: %v %v", load, err)
	}
	if _, _, err := (&HAProxySource{URL: url, Backend: "nope"}).Load(context.Background()); err == nil {
		t.Fatal("unknown backend accepted")
	}
}

func TestIPVSSource(t *testing.T) {
	path := fixture(t, "ip_vs")
	for _, tc := range []struct {
		service string
		want    float64
		conns   float64
		err     bool
	}{
		{"TCP 192.0.2.1:80", 0.4, 800, false},
		{"tcp 192.0.2.1:443", 0.0035, 7, false},
		{"UDP 192.0.2.1:80", 0.5, 1000, false},
		{"TCP [2001:db8::1]:80", 0.02, 40, false},
		{"TCP 192.0.2.9:80", 0, 0, true},
		{"ICMP 192.0.2.1:80", 0, 0, true},
	} {
		s := &IPVSSource{Path: path, Service: tc.service, Capacity: 2000}
		load, m, err := s.Load(context.Background())
		if tc.err {
			if err == nil {
				t.Errorf("%s: no error", tc.service)
			}
			continue
		}
		if err != nil || !srcNear(load, tc.want) || m["connections"] != tc.conns {
			t.Errorf("%s: %v %v %v, want %v", tc.service, load, m, err, tc.want)
		}
	}
}

func TestProcSource(t *testing.T) {
	dir := t.TempDir()
	stat := filepath.Join(dir, "stat")
	copyFile := func(name string) {
		data, err := os.ReadFile(fixture(t, name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(stat, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	copyFile("stat1")
	s := &ProcSource{Path: stat, Wait: -1}
	load, _, err := s.Load(context.Background())
	if err != nil || !srcNear(load, 0.2) { // since boot: 2000 busy of 10000
		t.Fatalf("first: %v %v", load, err)
	}
	copyFile("stat2")
	load, m, err := s.Load(context.Background())
	if err != nil || !srcNear(load, 0.8) || !srcNear(m["cpu_busy"], 0.8) { // 1000 ticks, 200 idle+iowait
		t.Fatalf("delta: %v %v", load, err)
	}
	// No tick in between: the last value again.
	if load, _, err = s.Load(context.Background()); err != nil || !srcNear(load, 0.8) {
		t.Fatalf("no delta: %v %v", load, err)
	}
	// The default first call waits and samples twice (identical files: no
	// tick elapsed, load 0) and honours the context.
	s2 := &ProcSource{Path: stat, Wait: 20 * time.Millisecond}
	if _, _, err := s2.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := (&ProcSource{Path: stat, Wait: time.Hour}).Load(ctx); err == nil {
		t.Fatal("canceled first sample did not fail")
	}
	if _, _, err := (&ProcSource{Path: filepath.Join(dir, "none")}).Load(context.Background()); err == nil {
		t.Fatal("missing file accepted")
	}
}

func TestFileSource(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		content string
		want    float64
		ok      bool
	}{
		{"0.42\n", 0.42, true},
		{"  1 ", 1, true},
		{"0", 0, true},
		{"1.5", 0, false}, // outside 0..1: an error, not clamped
		{"-0.1", 0, false},
		{"NaN", 0, false},
		{"busy", 0, false},
		{"", 0, false},
	} {
		p := filepath.Join(dir, "load")
		os.WriteFile(p, []byte(tc.content), 0o644)
		load, _, err := (&FileSource{Path: p}).Load(context.Background())
		if (err == nil) != tc.ok || (tc.ok && !srcNear(load, tc.want)) {
			t.Errorf("%q: %v %v", tc.content, load, err)
		}
	}
	if _, _, err := (&FileSource{Path: filepath.Join(dir, "none")}).Load(context.Background()); err == nil {
		t.Error("missing file accepted")
	}
}

func TestCommandSource(t *testing.T) {
	for _, tc := range []struct {
		argv []string
		want float64
		err  string
	}{
		{[]string{"sh", "-c", "echo load: 0.25 of 1"}, 0.25, ""},
		{[]string{"echo", ".5"}, 0.5, ""},
		{[]string{"echo", "7"}, 0, "outside 0..1"},
		{[]string{"echo", "none"}, 0, "no number"},
		{[]string{"sh", "-c", "echo oops >&2; exit 3"}, 0, "oops"},
		{[]string{"sleep", "5"}, 0, "deadline"},
		{[]string{"/nonexistent/program"}, 0, "no such file"},
	} {
		s := &CommandSource{Argv: tc.argv, Timeout: 200 * time.Millisecond}
		start := time.Now()
		load, _, err := s.Load(context.Background())
		if time.Since(start) > 3*time.Second {
			t.Errorf("%v: took %v", tc.argv, time.Since(start))
		}
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%v: err %v, want %q", tc.argv, err, tc.err)
			}
			continue
		}
		if err != nil || !srcNear(load, tc.want) {
			t.Errorf("%v: %v %v", tc.argv, load, err)
		}
	}
}

func TestHTTPSourceTimeout(t *testing.T) {
	block := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-block:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(block)
	start := time.Now()
	_, _, err := (&NginxSource{URL: srv.URL, Capacity: 1, Timeout: 100 * time.Millisecond}).Load(context.Background())
	if err == nil || time.Since(start) > 2*time.Second {
		t.Fatalf("err %v after %v", err, time.Since(start))
	}
}
