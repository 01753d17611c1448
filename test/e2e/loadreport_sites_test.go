package e2e

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// A site's key steers only the addresses the site lists: fra (allowed
// 192.0.2.1) signing a report that names iad's 198.51.100.1 as draining is
// refused with 403 naming the address, the answers do not change (fra
// still 20%, iad 80%), the refusal is counted by reason in /metrics and
// logged with the sender's address. A reload that drops iad's addresses
// logs the warning that its key could steer every address.
func TestLoadReportCrossSite(t *testing.T) {
	e := startLR(t, "60s")
	now := time.Now().Unix()
	for _, s := range []struct {
		site, key string
		load      float64
	}{{"fra", lrFraKey, 0.8}, {"iad", lrIadKey, 0.2}} {
		body := lrReport(s.site, s.load, false, now, 10)
		if code, msg := e.post(t, body, lrSign(body, s.key), false); code != http.StatusNoContent {
			t.Fatalf("%s seq 10: got %d %s, want 204", s.site, code, msg)
		}
	}
	e.checkShare(t, "www", 0.2, 0.05, 1000, "after the first reports")

	for _, addrs := range []string{`["198.51.100.1"]`, `["192.0.2.1", "198.51.100.1"]`} {
		steal := fmt.Appendf(nil, `{"site": "fra", "addresses": %s, "load": 0, "draining": true, "ts": %d, "seq": 11}`, addrs, now)
		code, msg := e.post(t, steal, lrSign(steal, lrFraKey), false)
		if code != http.StatusForbidden || !strings.Contains(msg, "198.51.100.1") {
			t.Fatalf("fra reporting %s: got %d %s, want 403 naming 198.51.100.1", addrs, code, strings.TrimSpace(msg))
		}
		e.checkShare(t, "www", 0.2, 0.06, 1000, "after fra's key reported iad's address "+addrs)
	}
	e.srv.WaitLog(`load report refused.*reason=address.*remote=127\.0\.0\.1:`, 5*time.Second)

	// Nothing was recorded: fra's seq 11 is still free.
	ok := lrReport("fra", 0.8, false, now, 11)
	if code, msg := e.post(t, ok, lrSign(ok, lrFraKey), false); code != http.StatusNoContent {
		t.Fatalf("fra seq 11 after the refusals: got %d %s, want 204", code, msg)
	}

	resp, err := http.Get(e.url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{`smartdns_reports_refused_total{reason="address"} 2`, `smartdns_reports_refused_total{reason="replay"} 0`} {
		if !strings.Contains(string(metrics), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}

	// A reload that leaves iad without addresses warns about it.
	cfg := readFile(t, e.srv.Config)
	open := strings.Replace(cfg, ", addresses: ["+lrIad+"]", "", 1)
	if open == cfg {
		t.Fatalf("iad's addresses not found in the config:\n%s", cfg)
	}
	mark := e.srv.Mark()
	if err := os.WriteFile(e.srv.Config, []byte(open), 0o644); err != nil {
		t.Fatal(err)
	}
	e.srv.Signal(syscall.SIGHUP)
	e.srv.WaitLogSince(mark, `level=WARN msg="site may report any address: a leaked key could steer every address.*site=iad`, 10*time.Second)
	// The warnings of one reload are logged together, in site order.
	if regexp.MustCompile(`site may report any address.*site=fra`).MatchString(e.srv.Log()[mark:]) {
		t.Errorf("fra, which lists its addresses, was warned about:\n%s", e.srv.Log()[mark:])
	}
}
