package agent

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/smartdns/smartdns/loadreport"
)

const goodAgentYAML = `site: fra
key_file: fra.key
nameservers: [http://127.0.0.1:8053, https://ns2.example.com:8443/base/]
addresses: [192.0.2.1, "2001:db8::1"]
interval: 5s
load:
  file: load
`

func writeAgentConfig(t *testing.T, dir, yml string) string {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, "fra.key"), []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "agent.yaml")
	if err := os.WriteFile(p, []byte(yml), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadAgentConfigGood(t *testing.T) {
	dir := t.TempDir()
	c, probs := LoadConfig(writeAgentConfig(t, dir, goodAgentYAML))
	if c == nil {
		t.Fatalf("problems: %v", probs)
	}
	if string(c.KeyBytes) != "s3cret" {
		t.Errorf("key %q", c.KeyBytes)
	}
	if c.State != filepath.Join(dir, "agent.state") {
		t.Errorf("state %s", c.State)
	}
	if c.Load.File != filepath.Join(dir, "load") {
		t.Errorf("file %s", c.Load.File)
	}
	want := []string{"http://127.0.0.1:8053/api/v1/reports", "https://ns2.example.com:8443/base/api/v1/reports"}
	if strings.Join(c.ReportURLs, " ") != strings.Join(want, " ") {
		t.Errorf("urls %v", c.ReportURLs)
	}
	if c.Interval != 5*time.Second {
		t.Errorf("interval %v", c.Interval)
	}
	if _, ok := c.Source(time.Second).(*FileSource); !ok {
		t.Errorf("source %T", c.Source(time.Second))
	}
}

func TestLoadAgentConfigProblems(t *testing.T) {
	base := "site: fra\nkey: k\nnameservers: [http://127.0.0.1:1]\naddresses: [192.0.2.1]\n"
	for _, tc := range []struct {
		name, yml string
		want      []string // each must appear, in order, as a path:line:col problem
	}{
		{"unknown top key", base + "load: {proc: {}}\nintervall: 5s\n", []string{"agent.yaml:6:1: unknown key \"intervall\""}},
		{"unknown nested key", base + "load:\n  nginx: {url: http://127.0.0.1/, capacity: 10, backend: x}\n", []string{"agent.yaml:6:49: unknown key \"backend\" in load.nginx"}},
		{"unknown proc key", base + "load:\n  proc: {wait: 1s}\n", []string{"agent.yaml:6:10: unknown key \"wait\" in load.proc"}},
		{"no source", base, []string{"agent.yaml:1:1: load: exactly one source is required"}},
		{"two sources", base + "load:\n  file: /x\n  proc: {}\n", []string{"agent.yaml:6:3: load: exactly one source is allowed, got file, proc"}},
		{"bad interval", base + "interval: 0s\nload: {proc: {}}\n", []string{"agent.yaml:5:11: interval: 0s must be positive"}},
		{"interval type", base + "interval: soon\nload: {proc: {}}\n", []string{"agent.yaml:5:1:"}},
		{"bad url", "site: fra\nkey: k\nnameservers: [ftp://x, http://, \"http://127.0.0.1:1?x=1\"]\naddresses: [192.0.2.1]\nload: {proc: {}}\n",
			[]string{"agent.yaml:3:15: nameservers[0]", "agent.yaml:3:24: nameservers[1]", "agent.yaml:3:33: nameservers[2]"}},
		{"bad address", "site: fra\nkey: k\nnameservers: [http://127.0.0.1:1]\naddresses:\n  - 192.0.2.1\n  - 192.0.2.300\n  - 192.0.2.1\nload: {proc: {}}\n",
			[]string{"agent.yaml:6:5: addresses[1]: \"192.0.2.300\" is not an IP address", "agent.yaml:7:5: addresses[2]: 192.0.2.1 is listed twice"}},
		{"missing everything", "interval: 5s\n", []string{
			"agent.yaml:1:1: site:", "agent.yaml:1:1: key or key_file", "agent.yaml:1:1: nameservers:",
			"agent.yaml:1:1: addresses:", "agent.yaml:1:1: load:"}},
		{"bad site", "site: Frankfurt Main\nkey: k\nnameservers: [http://127.0.0.1:1]\naddresses: [192.0.2.1]\nload: {proc: {}}\n", []string{"agent.yaml:1:7: site:"}},
		{"key and key_file", base + "key_file: fra.key\nload: {proc: {}}\n", []string{"agent.yaml:5:11: key and key_file"}},
		{"missing key file", strings.Replace(base, "key: k", "key_file: nope.key", 1) + "load: {proc: {}}\n", []string{"agent.yaml:2:11: key_file:"}},
		{"capacity", base + "load:\n  prometheus: {url: http://127.0.0.1:9100/metrics, metric: m, capacity: -1}\n", []string{"agent.yaml:6:73: load.prometheus.capacity"}},
		{"capacity missing", base + "load:\n  nginx: {url: http://127.0.0.1/}\n", []string{"agent.yaml:6:10: load.nginx.capacity"}},
		{"source url", base + "load:\n  haproxy: {url: \"127.0.0.1:8404/stats;csv\", backend: web}\n", []string{"agent.yaml:6:18: load.haproxy.url"}},
		{"haproxy backend", base + "load:\n  haproxy: {url: \"http://127.0.0.1:8404/stats;csv\"}\n", []string{"agent.yaml:6:12: load.haproxy.backend: required"}},
		{"ipvs service", base + "load:\n  ipvs: {service: \"192.0.2.1:80\", capacity: 10}\n", []string{"agent.yaml:6:9: load.ipvs.service"}},
		{"command empty", base + "load:\n  command: \"  \"\n", []string{"agent.yaml:6:12: load.command: empty command"}},
		{"syntax", "site: [fra\n", []string{"agent.yaml:"}},
		{"empty", "", []string{"agent.yaml:1:1: empty config"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			c, probs := LoadConfig(writeAgentConfig(t, dir, tc.yml))
			if c != nil {
				t.Fatalf("accepted; problems %v", probs)
			}
			var lines []string
			for _, p := range probs {
				lines = append(lines, strings.TrimPrefix(p.Error(), dir+string(filepath.Separator)))
			}
			all := strings.Join(lines, "\n")
			rest := all
			for _, w := range tc.want {
				i := strings.Index(rest, w)
				if i < 0 {
					t.Fatalf("missing %q in\n%s", w, all)
				}
				rest = rest[i+len(w):]
			}
		})
	}
}

// fakeNS is a nameserver on 127.0.0.1 recording reports.
type fakeNS struct {
	*httptest.Server
	mu      sync.Mutex
	reports []loadreport.Report
	sigOK   []bool
	times   []time.Time
	handle  func(n int) int // status for the n-th request (1-based); 204 when nil
	delay   time.Duration
	calls   atomic.Int32
}

func newFakeNS(t *testing.T, key string) *fakeNS {
	f := &fakeNS{}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := int(f.calls.Add(1))
		body, _ := io.ReadAll(r.Body) // first, so a client going away cancels r.Context()
		if f.delay > 0 {
			select {
			case <-time.After(f.delay):
			case <-r.Context().Done():
				return
			}
		}
		if r.URL.Path != "/api/v1/reports" || r.Method != http.MethodPost {
			http.Error(w, "bad path", 404)
			return
		}
		m := hmac.New(sha256.New, []byte(key))
		m.Write(body)
		want := "sha256=" + hex.EncodeToString(m.Sum(nil))
		rep, err := loadreport.Decode(body)
		if err != nil {
			t.Errorf("bad body %s: %v", body, err)
		}
		f.mu.Lock()
		f.reports = append(f.reports, rep)
		f.sigOK = append(f.sigOK, hmac.Equal([]byte(r.Header.Get("X-Smartdns-Signature")), []byte(want)))
		f.times = append(f.times, time.Now())
		f.mu.Unlock()
		status := 204
		if f.handle != nil {
			status = f.handle(n)
		}
		w.WriteHeader(status)
	}))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeNS) got() []loadreport.Report {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]loadreport.Report(nil), f.reports...)
}

type logBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func testAgent(t *testing.T, dir string, interval time.Duration, urls ...string) (*Agent, *logBuf) {
	t.Helper()
	os.WriteFile(filepath.Join(dir, "load"), []byte("0.42\n"), 0o644)
	yml := "site: fra\nkey: s3cret\nnameservers: [" + strings.Join(urls, ", ") + "]\naddresses: [192.0.2.1]\ninterval: " +
		interval.String() + "\nload: {file: load}\n"
	p := filepath.Join(dir, "agent.yaml")
	os.WriteFile(p, []byte(yml), 0o644)
	c, probs := LoadConfig(p)
	if c == nil {
		t.Fatal(probs)
	}
	logs := &logBuf{}
	a := New(c, slog.New(slog.NewTextHandler(logs, nil)))
	a.Backoff = 20 * time.Millisecond
	return a, logs
}

func TestReportOnceSignedToAll(t *testing.T) {
	dir := t.TempDir()
	ns1, ns2 := newFakeNS(t, "s3cret"), newFakeNS(t, "s3cret")
	a, _ := testAgent(t, dir, 5*time.Second, ns1.URL, ns2.URL)
	before := time.Now()
	res := a.ReportOnce(context.Background())
	for _, r := range res {
		if r.Err != nil || r.Status != 204 || r.Attempts != 1 {
			t.Fatalf("result %+v", r)
		}
	}
	for _, ns := range []*fakeNS{ns1, ns2} {
		got := ns.got()
		if len(got) != 1 || !ns.sigOK[0] {
			t.Fatalf("reports %v sig %v", got, ns.sigOK)
		}
		r := got[0]
		if r.Site != "fra" || r.Load != 0.42 || r.Draining || strings.Join(r.Addresses, ",") != "192.0.2.1" {
			t.Errorf("report %+v", r)
		}
		if r.TS < before.Unix() || r.TS > time.Now().Unix() {
			t.Errorf("ts %d", r.TS)
		}
		// No state file: seq starts at the clock in milliseconds.
		if r.Seq < before.UnixMilli() || r.Seq != res[0].Seq {
			t.Errorf("seq %d (result %d)", r.Seq, res[0].Seq)
		}
	}
	res2 := a.ReportOnce(context.Background())
	if res2[0].Seq != res[0].Seq+1 || ns1.got()[1].Seq != res[0].Seq+1 {
		t.Fatalf("second seq %d after %d", res2[0].Seq, res[0].Seq)
	}
}

func TestWrongKeyIsNotRetried(t *testing.T) {
	ns := newFakeNS(t, "other")
	ns.handle = func(int) int { return 401 }
	a, logs := testAgent(t, t.TempDir(), 5*time.Second, ns.URL)
	r := a.ReportOnce(context.Background())[0]
	if r.Err == nil || r.Status != 401 || r.Attempts != 1 || ns.sigOK[0] {
		t.Fatalf("%+v", r)
	}
	a.ReportOnce(context.Background())
	if n := strings.Count(logs.String(), "report failed"); n != 1 {
		t.Fatalf("failure logged %d times:\n%s", n, logs)
	}
}

func TestOneNameserverDownOrSlow(t *testing.T) {
	good := newFakeNS(t, "s3cret")
	slow := newFakeNS(t, "s3cret")
	slow.delay = 10 * time.Second
	// A closed port on 127.0.0.1: connection refused.
	down := httptest.NewServer(http.NotFoundHandler())
	downURL := down.URL
	down.Close()

	a, logs := testAgent(t, t.TempDir(), 400*time.Millisecond, slow.URL, downURL, good.URL)
	ctx, cancel := context.WithCancel(context.Background())
	start := time.Now()
	done := make(chan error)
	go func() { done <- a.Run(ctx) }()
	deadline := time.Now().Add(5 * time.Second)
	for len(good.got()) < 3 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	got := good.got()
	if len(got) < 3 {
		t.Fatalf("good nameserver got %d reports; logs:\n%s", len(got), logs)
	}
	good.mu.Lock()
	first := good.times[0].Sub(start)
	good.mu.Unlock()
	if first > 200*time.Millisecond {
		t.Errorf("first report to the good nameserver after %v", first)
	}
	for i := 1; i < len(got); i++ {
		if got[i].Seq <= got[i-1].Seq {
			t.Errorf("seq not increasing: %d then %d", got[i-1].Seq, got[i].Seq)
		}
	}
	if !strings.Contains(logs.String(), "nameserver="+downURL+"/api/v1/reports") {
		t.Errorf("the down nameserver's failure is not logged:\n%s", logs)
	}

	// ReportOnce too: the good one's result does not wait for the slow one
	// beyond the interval.
	start = time.Now()
	res := a.ReportOnce(context.Background())
	if res[2].Err != nil || res[1].Err == nil || res[0].Err == nil {
		t.Fatalf("results %+v", res)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("ReportOnce took %v", d)
	}
}

func TestRetryThenDelivered(t *testing.T) {
	ns := newFakeNS(t, "s3cret")
	ns.handle = func(n int) int {
		if n <= 2 {
			return 503
		}
		return 204
	}
	a, logs := testAgent(t, t.TempDir(), 5*time.Second, ns.URL)
	start := time.Now()
	r := a.ReportOnce(context.Background())[0]
	if r.Err != nil || r.Attempts != 3 || r.Status != 204 {
		t.Fatalf("%+v", r)
	}
	got := ns.got()
	if len(got) != 3 || got[0].Seq != got[2].Seq || got[0].TS != got[2].TS {
		t.Fatalf("retries should resend the same report: %+v", got)
	}
	// backoff 20ms then 40ms, ±25%.
	ns.mu.Lock()
	d1, d2 := ns.times[1].Sub(ns.times[0]), ns.times[2].Sub(ns.times[1])
	ns.mu.Unlock()
	if d1 < 15*time.Millisecond || d2 < 30*time.Millisecond || time.Since(start) > 2*time.Second {
		t.Errorf("backoff %v %v", d1, d2)
	}
	if strings.Contains(logs.String(), "report failed") {
		t.Errorf("a delivered report was logged as failed:\n%s", logs)
	}

	// 409 on a retry: the first try arrived.
	ns2 := newFakeNS(t, "s3cret")
	ns2.handle = func(n int) int {
		if n == 1 {
			return 502
		}
		return 409
	}
	a2, _ := testAgent(t, t.TempDir(), 5*time.Second, ns2.URL)
	if r := a2.ReportOnce(context.Background())[0]; r.Err != nil || r.Attempts != 2 || r.Status != 409 {
		t.Fatalf("409 on retry: %+v", r)
	}
	// 409 on the first try is a refusal.
	ns3 := newFakeNS(t, "s3cret")
	ns3.handle = func(int) int { return 409 }
	a3, _ := testAgent(t, t.TempDir(), 5*time.Second, ns3.URL)
	if r := a3.ReportOnce(context.Background())[0]; r.Err == nil || r.Attempts != 1 {
		t.Fatalf("409 first: %+v", r)
	}
	// Always failing: three tries, one log line, then recovery logged.
	ns4 := newFakeNS(t, "s3cret")
	var fail atomic.Bool
	fail.Store(true)
	ns4.handle = func(int) int {
		if fail.Load() {
			return 500
		}
		return 204
	}
	a4, logs4 := testAgent(t, t.TempDir(), 5*time.Second, ns4.URL)
	for range 2 {
		if r := a4.ReportOnce(context.Background())[0]; r.Err == nil || r.Attempts != 3 {
			t.Fatalf("failing: %+v", r)
		}
	}
	fail.Store(false)
	a4.ReportOnce(context.Background())
	l := logs4.String()
	if strings.Count(l, "report failed") != 1 || strings.Count(l, "report delivered again") != 1 || !strings.Contains(l, "status=500") {
		t.Fatalf("logs:\n%s", l)
	}
}

func TestDrainFlagAndSeqAcrossRestart(t *testing.T) {
	dir := t.TempDir()
	ns := newFakeNS(t, "s3cret")
	a, _ := testAgent(t, dir, 5*time.Second, ns.URL)
	a.ReportOnce(context.Background())
	if was, err := SetDraining(a.Config.State, true); err != nil || was {
		t.Fatal(was, err)
	}
	a.ReportOnce(context.Background())
	// Drained and the load source broken: still reported, load 1.
	os.Remove(filepath.Join(dir, "load"))
	a.ReportOnce(context.Background())
	got := ns.got()
	if len(got) != 3 || got[0].Draining || !got[1].Draining || !got[2].Draining || got[2].Load != 1 {
		t.Fatalf("reports %+v", got)
	}

	// Restart: a new agent continues the seq from the state file.
	st, _, err := ReadState(a.Config.State)
	if err != nil || st.Seq != got[2].Seq || !st.Draining {
		t.Fatalf("state %+v %v", st, err)
	}
	b, _ := testAgent(t, dir, 5*time.Second, ns.URL)
	b.Now = func() time.Time { return time.Unix(1, 0) } // even with a clock far behind
	if r := b.ReportOnce(context.Background())[0]; r.Err != nil || r.Seq != st.Seq+1 {
		t.Fatalf("after restart %+v, state seq %d", r, st.Seq)
	}
	if was, err := SetDraining(a.Config.State, false); err != nil || !was {
		t.Fatal(was, err)
	}
	b.ReportOnce(context.Background())
	got = ns.got()
	if last := got[len(got)-1]; last.Draining || last.Seq != st.Seq+2 {
		t.Fatalf("after undrain %+v", last)
	}

	// Load error while not draining: nothing is sent.
	os.Remove(filepath.Join(dir, "load"))
	n := len(ns.got())
	if r := b.ReportOnce(context.Background())[0]; r.Err == nil || r.Attempts != 0 {
		t.Fatalf("%+v", r)
	}
	if len(ns.got()) != n {
		t.Fatal("a report was sent without a load")
	}

	// A lost state file starts again from the clock, above the old seq.
	os.Remove(a.Config.State)
	c, _ := testAgent(t, dir, 5*time.Second, ns.URL)
	if r := c.ReportOnce(context.Background())[0]; r.Err != nil || r.Seq <= st.Seq+2 {
		t.Fatalf("after a lost state %+v", r)
	}
}

func TestStateFileJSON(t *testing.T) {
	p := filepath.Join(t.TempDir(), "s.state")
	if _, err := SetDraining(p, true); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(p)
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil || m["draining"] != true {
		t.Fatalf("%s %v", data, err)
	}
	if _, err := os.Stat(p + ".lock"); !os.IsNotExist(err) {
		t.Fatal("lock file left behind")
	}
	os.WriteFile(p, []byte("{garbage"), 0o600)
	if _, err := SetDraining(p, true); err == nil {
		t.Fatal("no warning about the unreadable file")
	}
	if st, _, err := ReadState(p); err != nil || !st.Draining {
		t.Fatal(st, err)
	}
}
