package e2e

import (
	"bufio"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Logs in JSON carry one line per reload naming every zone with its serial.
func TestJSONLogReloadLine(t *testing.T) {
	s := Start(t, Options{
		Files: map[string]string{
			"example.com.yaml": "---\n'':\n  type: A\n  value: 192.0.2.1\n",
			"example.net.yaml": "---\n'':\n  type: A\n  value: 192.0.2.2\n",
		},
		// Continues the harness's `log:` mapping.
		Extra: "  format: json\n",
	})
	s.WriteZone("example.net.yaml", "---\n'':\n  type: A\n  value: 192.0.2.3\n")
	s.WaitLog(`"generation":2`, 10*time.Second)
	var reloads []map[string]any
	sc := bufio.NewScanner(strings.NewReader(s.Log()))
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "{") {
			continue // the race detector's own output, if any
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("a log line is not JSON: %v: %s", err, line)
		}
		if m["msg"] == "zones loaded" {
			reloads = append(reloads, m)
		}
	}
	if len(reloads) != 2 {
		t.Fatalf("%d reload lines, want 2 (start, change):\n%s", len(reloads), s.Log())
	}
	for _, r := range reloads {
		serials, _ := r["serials"].(string)
		if r["level"] != "INFO" || r["count"] != float64(2) || !strings.Contains(serials, "example.com.=") || !strings.Contains(serials, "example.net.=") {
			t.Errorf("reload line %v", r)
		}
	}
}

// SIGTERM ends the server within the shutdown bound even with a TCP
// client connected and idle, and it exits 0.
func TestShutdownBounded(t *testing.T) {
	s := Start(t, Options{Files: map[string]string{"example.com.yaml": "---\n'':\n  type: A\n  value: 192.0.2.1\n"}, Extra: "tcp: {idle_timeout: 60s}\n"})
	c, err := net.Dial("tcp", s.addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	s.Dig("example.com", "A", "+tcp")
	start := time.Now()
	s.Stop()
	if took := time.Since(start); took > 6*time.Second {
		t.Fatalf("shutdown took %v with an idle TCP client (bound 5s)", took)
	}
	if code := s.cmd.ProcessState.ExitCode(); code != 0 {
		t.Fatalf("exit code %d:\n%s", code, s.Log())
	}
	if !strings.Contains(s.Log(), "shutting down") {
		t.Fatalf("no shutdown line:\n%s", s.Log())
	}
}

func (s *Server) addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.Port)) }

// A SIGHUP with a config that adds a GeoIP database does not open it:
// the running server keeps the databases it started with, says a restart
// is needed, and keeps refusing zones that need the new one.
func TestReloadDoesNotHalfApplyGeoIP(t *testing.T) {
	zone := "---\nasn:\n  type: A\n  values: [192.0.2.254]\n  dynamic:\n    pools:\n      cdn:\n        values:\n          - {value: 192.0.2.1, status: up}\n    rules:\n      - asns: [15169]\n        pool: cdn\n      - pool: cdn\n"
	s := Start(t, Options{Files: map[string]string{"example.org.yaml": zone}})
	s.WaitLog(`asns rules need an ASN database`, 5*time.Second)
	asn, err := filepath.Abs("../../geo/testdata/GeoLite2-ASN-Test.mmdb")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := os.ReadFile(s.Config)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(s.Config, append(cfg, []byte("geoip: {asn: "+asn+"}\n")...), 0o644); err != nil {
		t.Fatal(err)
	}
	gen, mark := s.Generation(), s.Mark()
	s.Signal(syscall.SIGHUP)
	s.WaitLogSince(mark, `these changes take effect on restart" keys=geoip`, 5*time.Second)
	// The reload's zones are published (the zone is refused again), so
	// what answers now is what the reload left.
	s.WaitLoaded(gen, 5*time.Second)
	s.WaitLogSince(mark, `zone refused.*asns rules need an ASN database`, 5*time.Second)
	if a := s.Dig("asn.example.org", "A"); a.Status != "REFUSED" {
		t.Fatalf("after SIGHUP a zone needing an ASN database the server has not opened is served:\n%s", a.Raw)
	}
	s.Restart()
	if a := s.Dig("asn.example.org", "A"); a.Status != "NOERROR" {
		t.Fatalf("after a restart with the ASN database: %s", a.Raw)
	}
}

// Records and zones no longer served leave the metrics.
func TestMetricsForgetRemovedRecords(t *testing.T) {
	dyn := "---\n'':\n  type: A\n  value: 192.0.2.1\nwww:\n  type: A\n  values: [192.0.2.9]\n  dynamic:\n    pools:\n      main:\n        values:\n          - {value: 192.0.2.2, status: up}\n    rules:\n      - pool: main\n"
	s := Start(t, Options{
		Files: map[string]string{"example.com.yaml": dyn, "example.net.yaml": "---\n'':\n  type: A\n  value: 192.0.2.3\n"},
		Extra: "http: 127.0.0.1:0\n",
	})
	url := "http://" + s.HTTP + "/metrics"
	scrape := func() string {
		t.Helper()
		resp, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	s.Dig("www.example.com", "A")
	s.Dig("example.net", "A")
	m := scrape()
	if !strings.Contains(m, `smartdns_dynamic_answers_total{pool="main",record="www.example.com.",type="A",value="192.0.2.2",zone="example.com."} 1`) ||
		!strings.Contains(m, `zone="example.net."`) {
		t.Fatalf("before:\n%s", m)
	}
	s.WriteZone("example.com.yaml", "---\n'':\n  type: A\n  value: 192.0.2.1\n")
	if err := os.Remove(filepath.Join(s.Zones, "example.net.yaml")); err != nil {
		t.Fatal(err)
	}
	// The removal and the rewrite may land in one reload or two.
	deadline := time.Now().Add(10 * time.Second)
	for {
		m = scrape()
		if !strings.Contains(m, `record="www.example.com."`) && !strings.Contains(m, `zone="example.net."`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("removed record or zone still in the metrics:\n%s\n%s", m, s.Log())
		}
		time.Sleep(100 * time.Millisecond)
	}
}
