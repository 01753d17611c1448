package e2e

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	mdns "github.com/miekg/dns"
)

// Load reports end to end: the real binary serves a zone whose dynamic
// records weigh two sites by the load their agents report over HTTP
// (POST /api/v1/reports, HMAC-signed), and the real `smartdns agent`
// processes read their load from files the tests write. Everything runs on
// 127.0.0.1; the record values are documentation addresses that are never
// contacted (`status: up`, probes off).
//
// Two sites report: fra (192.0.2.1, key inline in the server config) and
// iad (198.51.100.1, key in a key_file shared by server and agent). Shares
// are measured by sending UDP queries from Go and counting the values
// answered. A one-off check measures 1000 or 2000 queries, so that its
// tolerance (5 to 8 points) is at least 4 standard deviations of the
// share (1.3 points at 20%, 1.6 at 50% for 1000 queries); polling waits
// measure 500 a round and need two rounds in a row within tolerance.

const (
	lrFra    = "192.0.2.1"
	lrIad    = "198.51.100.1"
	lrFraKey = "fra-e2e-key-0123456789abcdef"
	lrIadKey = "iad-e2e-key-fedcba9876543210"
	// lrInterval is every agent's reporting interval.
	lrInterval = time.Second
	// lrSlack is what a deadline allows beyond the documented bound, for
	// process scheduling and the race detector.
	lrSlack = 2 * time.Second
)

// lrZone is example.com with three dynamic records over the two sites:
// www (least-loaded, no slow start), ramp (least-loaded with a 3s slow
// start) and plain (the default weighted policy, which ignores loads but
// still obeys draining). Static weights are 1 each, so with no fresh
// report every record answers 50/50.
const lrZone = `---
'':
  type: A
  value: 192.0.2.250
www:
  type: A
  values: [192.0.2.254]
  dynamic:
    pools:
      sites:
        values:
          - {value: 192.0.2.1, weight: 1, status: up}
          - {value: 198.51.100.1, weight: 1, status: up}
    rules:
      - pool: sites
  octodns:
    smartdns:
      policy: least-loaded
      slow_start: 0s
ramp:
  type: A
  values: [192.0.2.254]
  dynamic:
    pools:
      sites:
        values:
          - {value: 192.0.2.1, weight: 1, status: up}
          - {value: 198.51.100.1, weight: 1, status: up}
    rules:
      - pool: sites
  octodns:
    smartdns:
      policy: least-loaded
      slow_start: 3s
plain:
  type: A
  values: [192.0.2.254]
  dynamic:
    pools:
      sites:
        values:
          - {value: 192.0.2.1, weight: 1, status: up}
          - {value: 198.51.100.1, weight: 1, status: up}
    rules:
      - pool: sites
`

// lrEnv is a server with the HTTP listener and both sites configured,
// plus a folder for keys, load files and agent configs.
type lrEnv struct {
	srv *Server
	url string // http:// and the HTTP listener's bound address
	dir string
}

// startLR starts the server with reports.stale_after = staleAfter.
func startLR(t *testing.T, staleAfter string) *lrEnv {
	t.Helper()
	e := &lrEnv{dir: t.TempDir()}
	writeFile(t, filepath.Join(e.dir, "iad.key"), lrIadKey+"\n")
	extra := fmt.Sprintf(`http: 127.0.0.1:0
sites:
  fra: {key: %q, addresses: [%s]}
  iad: {key_file: %q, addresses: [%s]}
reports:
  stale_after: %s
`, lrFraKey, lrFra, filepath.Join(e.dir, "iad.key"), lrIad, staleAfter)
	e.srv = Start(t, Options{Files: map[string]string{"example.com.yaml": lrZone}, Extra: extra})
	e.url = "http://" + e.srv.HTTP
	if log := e.srv.Log(); strings.Contains(log, "level=ERROR") || strings.Contains(log, "level=WARN") {
		t.Fatalf("the server did not start cleanly:\n%s", log)
	}
	e.waitHTTP(t)
	return e
}

// waitHTTP waits until the HTTP listener answers (GET is refused with
// 405, which is an answer).
func (e *lrEnv) waitHTTP(t *testing.T) {
	t.Helper()
	c := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := c.Get(e.url + "/api/v1/reports")
		if err == nil {
			resp.Body.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the HTTP listener on %s never answered: %v\n%s", e.url, err, e.srv.Log())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// lrAgent is one site's agent config and load file.
type lrAgent struct {
	*Agent
	site, config, loadFile string
}

// agent writes the config of site's agent (interval 1s, file load source
// holding load, reporting to nameservers, the server's URL when none) and
// starts it. fra's key is inline, iad's is the server's key_file.
func (e *lrEnv) agent(t *testing.T, site string, load float64, nameservers ...string) *lrAgent {
	t.Helper()
	a := e.agentConfig(t, site, load, nameservers...)
	a.Agent = StartAgent(t, a.config)
	return a
}

// agentConfig writes an agent's config and load file without starting it.
func (e *lrEnv) agentConfig(t *testing.T, site string, load float64, nameservers ...string) *lrAgent {
	t.Helper()
	if len(nameservers) == 0 {
		nameservers = []string{e.url}
	}
	a := &lrAgent{site: site, config: filepath.Join(e.dir, site+"-agent.yaml"), loadFile: filepath.Join(e.dir, site+".load")}
	setLoad(t, a.loadFile, load)
	var key, addr string
	switch site {
	case "fra":
		key, addr = fmt.Sprintf("key: %q", lrFraKey), lrFra
	case "iad":
		key, addr = fmt.Sprintf("key_file: %q", filepath.Join(e.dir, "iad.key")), lrIad
	default:
		t.Fatalf("no site %s", site)
	}
	cfg := fmt.Sprintf(`site: %s
%s
nameservers: [%s]
addresses: [%s]
interval: %s
load:
  file: %q
`, site, key, strings.Join(nameservers, ", "), addr, lrInterval, a.loadFile)
	writeFile(t, a.config, cfg)
	return a
}

// setLoad writes a load file atomically (the agent never reads half a
// file).
func setLoad(t *testing.T, path string, load float64) {
	t.Helper()
	tmp := path + ".tmp"
	writeFile(t, tmp, fmt.Sprintf("%g\n", load))
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// cmd runs `smartdns agent <sub> --config <a.config>` and fails the
// test unless it exits 0.
func (a *lrAgent) cmd(t *testing.T, sub string) string {
	t.Helper()
	cmd := exec.Command(binary, "agent", sub, "--config", a.config)
	// Exit at once under -race too: the tests time what follows.
	cmd.Env = append(os.Environ(), "GORACE="+strings.TrimSpace(os.Getenv("GORACE")+" atexit_sleep_ms=0"))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("smartdns agent %s --config %s: %v\n%s", sub, a.config, err, out)
	}
	return string(out)
}

// answerCounts sends n A queries for name.example.com to the server one
// at a time over one UDP socket and counts the value of each answer
// ("none" for an answer without an A record, the values joined when
// there are several).
func answerCounts(t *testing.T, port int, name string, n int) map[string]int {
	t.Helper()
	c, err := net.Dial("udp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		t.Fatal(err)
	}
	co := &mdns.Conn{Conn: c}
	defer co.Close()
	counts := map[string]int{}
	for i := 0; i < n; i++ {
		m := new(mdns.Msg)
		m.SetQuestion(name+".example.com.", mdns.TypeA)
		m.RecursionDesired = false
		co.SetDeadline(time.Now().Add(3 * time.Second))
		if err := co.WriteMsg(m); err != nil {
			t.Fatalf("query %d for %s: %v", i, name, err)
		}
		var r *mdns.Msg
		for r == nil || r.Id != m.Id {
			if r, err = co.ReadMsg(); err != nil {
				t.Fatalf("query %d for %s: %v", i, name, err)
			}
		}
		if r.Rcode != mdns.RcodeSuccess {
			t.Fatalf("query %d for %s: rcode %s\n%s", i, name, mdns.RcodeToString[r.Rcode], r)
		}
		var got []string
		for _, rr := range r.Answer {
			if a, ok := rr.(*mdns.A); ok {
				got = append(got, a.A.String())
			}
		}
		sort.Strings(got)
		switch len(got) {
		case 0:
			counts["none"]++
		default:
			counts[strings.Join(got, " ")]++
		}
	}
	return counts
}

// fraShare is fra's share of counts, failing the test if any answer was
// not exactly one of the two sites' values.
func fraShare(t *testing.T, counts map[string]int) float64 {
	t.Helper()
	total := 0
	for v, n := range counts {
		if v != lrFra && v != lrIad {
			t.Fatalf("an answer was %q, not one of %s and %s: %v", v, lrFra, lrIad, counts)
		}
		total += n
	}
	return float64(counts[lrFra]) / float64(total)
}

// share measures fra's share of name over n queries.
func (e *lrEnv) share(t *testing.T, name string, n int) (float64, map[string]int) {
	t.Helper()
	c := answerCounts(t, e.srv.Port, name, n)
	return fraShare(t, c), c
}

// waitShare polls (500 queries a round) until fra's share of name is
// within tol of want in two rounds in a row, failing after within. It
// returns how long that took.
func (e *lrEnv) waitShare(t *testing.T, name string, want, tol float64, within time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	var history []string
	ok := 0
	for {
		sh, c := e.share(t, name, 500)
		history = append(history, fmt.Sprintf("%5.1fs %.3f %v", time.Since(start).Seconds(), sh, c))
		if math.Abs(sh-want) <= tol {
			ok++
			if ok == 2 {
				return time.Since(start)
			}
		} else {
			ok = 0
		}
		if time.Since(start) > within {
			t.Fatalf("%s: fra's share never settled within %.0f points of %.0f%% in %v:\n%s\nserver log:\n%s",
				name, tol*100, want*100, within, strings.Join(history, "\n"), e.srv.Log())
		}
	}
}

// checkShare measures n queries once and fails unless fra's share of
// name is within tol of want.
func (e *lrEnv) checkShare(t *testing.T, name string, want, tol float64, n int, why string) {
	t.Helper()
	sh, c := e.share(t, name, n)
	if math.Abs(sh-want) > tol {
		t.Fatalf("%s: %s: fra's share %.1f%%, want %.0f%% ± %.0f (%v)", name, why, sh*100, want*100, tol*100, c)
	}
}

// waitGone polls until none of the names answers fra, failing later
// than within after start; it returns how long after start that was.
func (e *lrEnv) waitGone(t *testing.T, start time.Time, within time.Duration, names ...string) time.Duration {
	t.Helper()
	for {
		gone := true
		for _, name := range names {
			if answerCounts(t, e.srv.Port, name, 100)[lrFra] > 0 {
				gone = false
			}
		}
		if gone {
			return time.Since(start)
		}
		if time.Since(start) > within {
			t.Fatalf("%v still answer %s %v after it started draining\nserver log:\n%s", names, lrFra, within, e.srv.Log())
		}
	}
}

// Two agents report loads 0.8 (fra) and 0.2 (iad): www answers fra
// 20% of the time (headroom 0.2 against 0.8). Swapping the loads moves
// the shares gradually (EWMA α = 0.3: fra's share after k reports is
// 0.8 − 0.6·0.7^k, so within the first two seconds it is still well
// below 80%) and they settle at 80/20 within 5 points after enough
// reports (k ≥ 7).
func TestLoadReportShares(t *testing.T) {
	e := startLR(t, "2s")
	fra := e.agent(t, "fra", 0.8)
	iad := e.agent(t, "iad", 0.2)

	e.waitShare(t, "www", 0.2, 0.05, 10*time.Second)
	e.checkShare(t, "www", 0.2, 0.05, 1000, "with loads 0.8/0.2")
	// The weighted record ignores loads: still 50/50.
	e.checkShare(t, "plain", 0.5, 0.07, 1000, "weighted ignores loads")

	setLoad(t, fra.loadFile, 0.2)
	setLoad(t, iad.loadFile, 0.8)
	swapped := time.Now()
	time.Sleep(1500 * time.Millisecond) // at most two reports of each site
	if sh, c := e.share(t, "www", 500); sh > 0.72 {
		t.Errorf("1.5s after the loads swapped fra's share is already %.1f%% (%v): the load is not smoothed", sh*100, c)
	}
	e.waitShare(t, "www", 0.8, 0.05, 15*time.Second)
	took := time.Since(swapped)
	if took < 3*time.Second {
		t.Errorf("the swap settled within 5 points in %v; the EWMA needs about 7 reports (7s)", took)
	}
	t.Logf("swap within 5 points after %v", took)
	// Within 5 points is reached at the edge (k = 7 gives 75%); after 12
	// reports the smoothed loads are within 1 point of the loads (79.2%),
	// and 2000 queries measure the share to ±0.9 points (1σ).
	time.Sleep(time.Until(swapped.Add(12 * lrInterval)))
	e.checkShare(t, "www", 0.8, 0.05, 2000, "12 reports after the loads swapped")
}

// `smartdns agent drain` takes fra out of every record (least-loaded and
// weighted alike) by the agent's next report: within one interval plus
// slack. The flag is kept in the state file, so a restarted agent still
// reports draining; `agent undrain` brings fra back at once where
// slow_start is 0s and ramps it over 3s in the record with slow_start 3s.
func TestLoadReportDrain(t *testing.T) {
	e := startLR(t, "2s")
	fra := e.agent(t, "fra", 0.2)
	e.agent(t, "iad", 0.2)
	e.waitShare(t, "www", 0.5, 0.08, 10*time.Second)
	e.waitShare(t, "ramp", 0.5, 0.08, 10*time.Second)

	drained := time.Now()
	if out := fra.cmd(t, "drain"); !strings.Contains(out, "draining") {
		t.Errorf("agent drain said %q", out)
	}
	took := e.waitGone(t, drained, lrInterval+lrSlack, "www", "plain", "ramp")
	t.Logf("fra left the answers %v after agent drain", took)
	for _, name := range []string{"www", "plain", "ramp"} {
		e.checkShare(t, name, 0, 0, 1000, "draining")
	}
	if out := fra.cmd(t, "status"); !strings.Contains(out, "draining=true") {
		t.Errorf("agent status after drain said %q", out)
	}

	// A restarted agent keeps draining: over three intervals after the
	// restart (its reports keep fra fresh), fra never comes back.
	fra.Stop()
	fra.Start()
	until := time.Now().Add(3 * lrInterval)
	for time.Now().Before(until) {
		if c := answerCounts(t, e.srv.Port, "www", 100); c[lrFra] > 0 {
			t.Fatalf("fra came back after the draining agent restarted: %v\nagent log:\n%s", c, fra.Log())
		}
	}
	if strings.Contains(fra.Log(), "report failed") {
		t.Errorf("the restarted agent's reports failed:\n%s", fra.Log())
	}

	// Undrain: fra is back in www (no slow start) and plain within an
	// interval; in ramp it starts small and reaches its 50% within the
	// 3s slow start plus slack.
	start := time.Now()
	fra.cmd(t, "undrain")
	for answerCounts(t, e.srv.Port, "www", 50)[lrFra] == 0 {
		if time.Since(start) > lrInterval+lrSlack {
			t.Fatalf("fra not back in www %v after agent undrain\n%s", lrInterval+lrSlack, e.srv.Log())
		}
	}
	// ramp's fra weight is 0.8 × since/3s against iad's 0.8, and since is
	// at most the time from the undrain command.
	sh, c := e.share(t, "ramp", 500)
	ramp := time.Since(start).Seconds() / 3
	if bound := ramp/(ramp+1) + 0.08; sh > bound {
		t.Errorf("ramp: fra's share %.1f%% (%v) within %v of undrain, want at most %.0f%%: slow_start 3s ramps it from 0",
			sh*100, c, time.Since(start), bound*100)
	}
	e.checkShare(t, "www", 0.5, 0.08, 1000, "after undrain, no slow start")
	e.checkShare(t, "plain", 0.5, 0.08, 1000, "after undrain, weighted")
	e.waitShare(t, "ramp", 0.5, 0.08, 3*time.Second+lrSlack)
	if took := time.Since(start); took < 1500*time.Millisecond {
		t.Errorf("ramp: fra reached its full share %v after undrain; slow_start is 3s", took)
	}
}

// An agent that stops reporting goes stale after reports.stale_after
// (2s here): its value returns to its static weight. Loads fra 0.8 and
// iad 0.5 give www fra 0.2 : iad 0.5 (28.6%); with fra's agent stopped,
// fra 1 : iad 0.5 (66.7%); with both stopped, 50/50. Each change comes no
// sooner than stale_after minus one interval after the stop (the last
// report may be that old) and no later than stale_after plus one publish
// interval plus slack.
func TestLoadReportStaleAgent(t *testing.T) {
	e := startLR(t, "2s")
	fra := e.agent(t, "fra", 0.8)
	iad := e.agent(t, "iad", 0.5)
	e.waitShare(t, "www", 0.2/0.7, 0.05, 10*time.Second)

	for _, step := range []struct {
		a           *lrAgent
		before, now float64
	}{{fra, 0.2 / 0.7, 1 / 1.5}, {iad, 1 / 1.5, 0.5}} {
		stopped := time.Now() // its last report is older than this
		step.a.Stop()
		// Right after the stop the last report is still fresh.
		sh, c := e.share(t, "www", 300)
		if early := time.Since(stopped); early < 900*time.Millisecond && math.Abs(sh-step.before) > 0.1 {
			t.Errorf("%s: fra's share %.1f%% (%v) %v after the agent stopped, want still %.0f%%: its report is fresh for 2s",
				step.a.site, sh*100, c, early, step.before*100)
		}
		e.waitShare(t, "www", step.now, 0.06, 2*time.Second+time.Second+lrSlack)
		took := time.Since(stopped)
		if took < 2*time.Second-lrInterval-100*time.Millisecond {
			t.Errorf("%s went stale %v after its agent stopped; stale_after is 2s, the interval 1s", step.a.site, took)
		}
		t.Logf("%s stale after %v", step.a.site, took)
	}
	e.checkShare(t, "www", 0.5, 0.06, 2000, "both agents stopped")
}

// An agent given three nameservers, a closed port, one that accepts
// connections and never answers, and the real one (last), keeps reporting
// to the real one at its interval: fra (load 0.75, weight 0.25 against
// iad's static 1) holds 20% of www for 6 seconds, three times
// stale_after, which would not happen if the dead nameservers delayed its
// reports past 2s. The agent logs the failures.
func TestLoadReportAgentNameserverDown(t *testing.T) {
	e := startLR(t, "2s")
	closed := freePort(t) // nothing listens there

	hang, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var held []net.Conn
	go func() {
		for {
			c, err := hang.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			held = append(held, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		hang.Close()
		mu.Lock()
		for _, c := range held {
			c.Close()
		}
		mu.Unlock()
	})

	closedURL := fmt.Sprintf("http://127.0.0.1:%d", closed)
	hangURL := "http://" + hang.Addr().String()
	fra := e.agent(t, "fra", 0.75, closedURL, hangURL, e.url)

	e.waitShare(t, "www", 0.2, 0.05, 10*time.Second)
	until := time.Now().Add(6 * time.Second)
	for time.Now().Before(until) {
		e.checkShare(t, "www", 0.2, 0.06, 1000, "reporting past two dead nameservers")
	}
	for _, u := range []string{closedURL, hangURL} {
		if !strings.Contains(fra.Log(), u) {
			t.Errorf("the agent log does not mention the failing nameserver %s:\n%s", u, fra.Log())
		}
	}
	if strings.Contains(fra.Log(), "nameserver="+e.url) {
		t.Errorf("the agent logged a problem with the working nameserver:\n%s", fra.Log())
	}
}

// A restarted server keeps the last reports (bbolt): with stale_after 60s
// and the agents stopped, the shares right after the restart still follow
// the loads (20/80), and restarted agents are accepted again (their seq is
// above the stored one).
func TestLoadReportServerRestart(t *testing.T) {
	e := startLR(t, "60s")
	fra := e.agent(t, "fra", 0.8)
	iad := e.agent(t, "iad", 0.2)
	e.waitShare(t, "www", 0.2, 0.05, 10*time.Second)
	fra.Stop()
	iad.Stop()

	e.srv.Restart()
	e.waitHTTP(t)
	// The saved table is published when the receiver starts; allow one
	// publish interval.
	e.waitShare(t, "www", 0.2, 0.05, time.Second)
	e.checkShare(t, "www", 0.2, 0.05, 1000, "after the restart, agents stopped")

	setLoad(t, fra.loadFile, 0.2)
	setLoad(t, iad.loadFile, 0.8)
	fra.Start()
	iad.Start()
	e.waitShare(t, "www", 0.8, 0.05, 15*time.Second)
	for _, a := range []*lrAgent{fra, iad} {
		if strings.Contains(a.Log(), "report failed") {
			t.Errorf("%s: reports failed after the server restarted:\n%s", a.site, a.Log())
		}
	}
}

// lrReport is a report body, exactly as sent.
func lrReport(site string, load float64, draining bool, ts, seq int64) []byte {
	return fmt.Appendf(nil, `{"site": %q, "addresses": [%q], "load": %g, "draining": %t, "ts": %d, "seq": %d, "metrics": {"connections": 812, "capacity": 2000}}`,
		site, map[string]string{"fra": lrFra, "iad": lrIad}[site], load, draining, ts, seq)
}

// lrSign is the X-Smartdns-Signature of body under key, computed here
// independently of the server's code.
func lrSign(body []byte, key string) string {
	m := hmac.New(sha256.New, []byte(key))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// post sends body with the signature header sig (none when "") and
// returns the status and response body. chunked hides the length.
func (e *lrEnv) post(t *testing.T, body []byte, sig string, chunked bool) (int, string) {
	t.Helper()
	var r io.Reader = bytes.NewReader(body)
	if chunked {
		r = io.MultiReader(r) // not a known-length reader: sent chunked
	}
	req, err := http.NewRequest(http.MethodPost, e.url+"/api/v1/reports", r)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if sig != "" {
		req.Header.Set("X-Smartdns-Signature", sig)
	}
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Do(req)
	if err != nil {
		t.Fatalf("POST %d bytes: %v", len(body), err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// The API refuses each kind of bad report with its status (400 bad JSON
// or a bad field, named in the message; 401 missing or wrong signature;
// 403 unknown site; 409 replayed seq or ts more than 30s off; 413 over
// 64 KiB, 65536 bytes being still accepted; 405 not POST), and a refused
// report changes nothing: every refused body of site fra says draining
// with load 0 and seq 11, yet afterwards the answers are unchanged (fra
// 20%) and a valid report with seq 11 is accepted. The last seq also
// survives a server restart.
func TestLoadReportAPI(t *testing.T) {
	e := startLR(t, "60s")
	now := time.Now().Unix()
	send := func(body []byte, key string) (int, string) {
		return e.post(t, body, lrSign(body, key), false)
	}

	// Seed: fra 0.8 (key inline), iad 0.2 (key from key_file), seq 10.
	for _, s := range []struct {
		site, key string
		load      float64
	}{{"fra", lrFraKey, 0.8}, {"iad", lrIadKey, 0.2}} {
		if code, msg := send(lrReport(s.site, s.load, false, now, 10), s.key); code != http.StatusNoContent {
			t.Fatalf("%s seq 10: got %d %s, want 204", s.site, code, msg)
		}
	}
	e.checkShare(t, "www", 0.2, 0.05, 1000, "after the first reports")

	bad := lrReport("fra", 0, true, now, 11) // what a stored rejected report would do: fra out
	big := append(bytes.Clone(bad), bytes.Repeat([]byte(" "), 64<<10+1-len(bad))...)
	cases := []struct {
		why     string
		body    []byte
		sig     string
		chunked bool
		code    int
		mention string // in the error message
	}{
		{"bad JSON", []byte(`{"site": "fra", "load": `), lrSign([]byte(`{"site": "fra", "load": `), lrFraKey), false, 400, ""},
		{"not an object", []byte(`["fra"]`), lrSign([]byte(`["fra"]`), lrFraKey), false, 400, ""},
		{"load above 1", bytes.Replace(bad, []byte(`"load": 0`), []byte(`"load": 1.5`), 1), "", false, 400, "load"},
		{"bad address", bytes.Replace(bad, []byte(lrFra), []byte("192.0.2.300"), 1), "", false, 400, "addresses"},
		{"seq 0", bytes.Replace(bad, []byte(`"seq": 11`), []byte(`"seq": 0`), 1), "", false, 400, "seq"},
		{"ts a string", bytes.Replace(bad, fmt.Appendf(nil, `"ts": %d`, now), fmt.Appendf(nil, `"ts": "%d"`, now), 1), "", false, 400, "ts"},
		{"unknown field", bytes.Replace(bad, []byte(`"seq": 11`), []byte(`"seq": 11, "weight": 5`), 1), "", false, 400, "weight"},
		{"missing seq", bytes.Replace(bad, []byte(`, "seq": 11`), nil, 1), "", false, 400, "seq"},
		{"draining not a bool", bytes.Replace(bad, []byte(`"draining": true`), []byte(`"draining": "yes"`), 1), "", false, 400, "draining"},
		{"no signature", bad, "-", false, 401, ""},
		{"signed with iad's key", bad, lrSign(bad, lrIadKey), false, 401, ""},
		{"signature not hex", bad, "sha256=" + strings.Repeat("zz", 32), false, 401, ""},
		{"signature of other bytes", bad, lrSign(append(bytes.Clone(bad), ' '), lrFraKey), false, 401, ""},
		{"sha1 signature", bad, "sha1=" + strings.Repeat("ab", 20), false, 401, ""},
		{"unknown site", bytes.Replace(bad, []byte(`"fra"`), []byte(`"ams"`), 1), "", false, 403, ""},
		{"seq replayed", bytes.Replace(bad, []byte(`"seq": 11`), []byte(`"seq": 10`), 1), "", false, 409, ""},
		{"seq behind", bytes.Replace(bad, []byte(`"seq": 11`), []byte(`"seq": 9`), 1), "", false, 409, ""},
		{"ts 60s old", bytes.Replace(bad, fmt.Appendf(nil, `"ts": %d`, now), fmt.Appendf(nil, `"ts": %d`, now-60), 1), "", false, 409, ""},
		{"ts 60s ahead", bytes.Replace(bad, fmt.Appendf(nil, `"ts": %d`, now), fmt.Appendf(nil, `"ts": %d`, now+60), 1), "", false, 409, ""},
		{"65537 bytes", big, "", false, 413, ""},
		{"65537 bytes chunked", big, "", true, 413, ""},
	}
	for _, c := range cases {
		sig := c.sig
		switch sig {
		case "":
			sig = lrSign(c.body, lrFraKey) // correctly signed: only the content is wrong
		case "-":
			sig = ""
		}
		if c.code != 401 && c.code != 413 && bytes.Equal(c.body, bad) {
			t.Fatalf("%s: the case does not change the body", c.why)
		}
		code, msg := e.post(t, c.body, sig, c.chunked)
		if code != c.code {
			t.Errorf("%s: got %d %s, want %d", c.why, code, strings.TrimSpace(msg), c.code)
		}
		if c.mention != "" && !strings.Contains(msg, c.mention) {
			t.Errorf("%s: the message %q does not name %s", c.why, strings.TrimSpace(msg), c.mention)
		}
		// Nothing changed: fra (draining in every refused body) still
		// answers its 20%.
		e.checkShare(t, "www", 0.2, 0.06, 1000, "after a refused report ("+c.why+")")
	}
	req, _ := http.NewRequest(http.MethodGet, e.url+"/api/v1/reports", nil)
	if resp, err := http.DefaultClient.Do(req); err != nil {
		t.Error(err)
	} else {
		resp.Body.Close()
		if resp.StatusCode != http.StatusMethodNotAllowed {
			t.Errorf("GET: got %d, want 405", resp.StatusCode)
		}
	}

	// No refused report recorded its seq: 11 is accepted now.
	if code, msg := send(lrReport("fra", 0.8, false, now, 11), lrFraKey); code != http.StatusNoContent {
		t.Fatalf("fra seq 11 after the refusals: got %d %s, want 204", code, msg)
	}
	// Exactly 64 KiB is within the limit; a ts 20s old is within 30s.
	exact := lrReport("fra", 0.8, false, now, 12)
	exact = append(exact, bytes.Repeat([]byte(" "), 64<<10-len(exact))...)
	if code, msg := send(exact, lrFraKey); code != http.StatusNoContent {
		t.Errorf("fra seq 12, %d bytes: got %d %s, want 204", len(exact), code, msg)
	}
	if code, msg := send(lrReport("fra", 0.8, false, time.Now().Unix()-20, 13), lrFraKey); code != http.StatusNoContent {
		t.Errorf("fra seq 13, ts 20s old: got %d %s, want 204", code, msg)
	}
	e.checkShare(t, "www", 0.2, 0.05, 1000, "after the valid reports")

	// The stored seq survives a restart: 13 is refused, 14 accepted, and
	// the loads still hold.
	e.srv.Restart()
	e.waitHTTP(t)
	if code, msg := send(lrReport("fra", 0.8, false, time.Now().Unix(), 13), lrFraKey); code != http.StatusConflict {
		t.Errorf("fra seq 13 again after a restart: got %d %s, want 409", code, msg)
	}
	if code, msg := send(lrReport("fra", 0.8, false, time.Now().Unix(), 14), lrFraKey); code != http.StatusNoContent {
		t.Errorf("fra seq 14 after a restart: got %d %s, want 204", code, msg)
	}
	e.checkShare(t, "www", 0.2, 0.05, 1000, "after the restart")
}
