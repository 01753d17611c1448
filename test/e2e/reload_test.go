package e2e

import (
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	mdns "github.com/miekg/dns"
)

func yamlZone(addr string) string {
	return fmt.Sprintf("---\n'':\n  type: A\n  value: 192.0.2.1\nwww:\n  type: A\n  value: %s\n", addr)
}

// waitAnswer digs until the first answer's data is want, or fails.
func waitAnswer(t *testing.T, s *Server, name, typ, want string, timeout time.Duration) *Answer {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var a *Answer
	for time.Now().Before(deadline) {
		a = s.Dig(name, typ)
		if len(a.Answer) > 0 && a.Answer[0].Data == want {
			return a
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s %s never answered %s within %v; last:\n%s\nlog:\n%s", name, typ, want, timeout, a.Raw, s.Log())
	return nil
}

func soaSerial(t *testing.T, s *Server, zone string) uint32 {
	t.Helper()
	a := s.Dig(zone, "SOA")
	if len(a.Answer) != 1 {
		t.Fatalf("SOA %s: %s", zone, a.Raw)
	}
	f := strings.Fields(a.Answer[0].Data)
	n, err := strconv.ParseUint(f[2], 10, 32)
	if err != nil {
		t.Fatal(err)
	}
	return uint32(n)
}

// A zone file changed on disk is picked up by itself, and its serial moves
// forward.
func TestReloadOnFileChange(t *testing.T) {
	s := Start(t, Options{Files: map[string]string{"example.com.yaml": yamlZone("192.0.2.10")}})
	waitAnswer(t, s, "www.example.com", "A", "192.0.2.10", time.Second)
	before := soaSerial(t, s, "example.com")
	s.WriteZone("example.com.yaml", yamlZone("192.0.2.20"))
	waitAnswer(t, s, "www.example.com", "A", "192.0.2.20", 5*time.Second)
	if after := soaSerial(t, s, "example.com"); after <= before {
		t.Errorf("serial went from %d to %d after a content change", before, after)
	}
}

// A zone file that breaks is refused with its path:line:col, the last good
// version keeps serving, and other zones still reload.
func TestBadZoneKeepsLastGood(t *testing.T) {
	s := Start(t, Options{Files: map[string]string{
		"example.com.yaml": yamlZone("192.0.2.10"),
		"example.net.yaml": strings.ReplaceAll(yamlZone("192.0.2.30"), "www", "web"),
	}})
	mark := s.Mark()
	s.WriteZone("example.com.yaml", "---\nwww:\n  type: A\n  value: 192.0.2.999\n")
	s.WriteZone("example.net.yaml", strings.ReplaceAll(yamlZone("192.0.2.31"), "www", "web"))
	waitAnswer(t, s, "web.example.net", "A", "192.0.2.31", 5*time.Second)
	s.WaitLogSince(mark, `zone refused.*example\.com\.yaml:4:\d+: `, 5*time.Second)
	if a := s.Dig("www.example.com", "A"); len(a.Answer) != 1 || a.Answer[0].Data != "192.0.2.10" {
		t.Fatalf("the last good version of example.com should still serve:\n%s", a.Raw)
	}
	// Fixing the file brings the new content.
	s.WriteZone("example.com.yaml", yamlZone("192.0.2.11"))
	waitAnswer(t, s, "www.example.com", "A", "192.0.2.11", 5*time.Second)
}

// A zone that is broken at start-up does not stop the server: the others
// serve, and the broken one is REFUSED until it is fixed.
func TestBrokenZoneAtStartup(t *testing.T) {
	s := Start(t, Options{Files: map[string]string{
		"example.com.yaml": "---\nwww:\n  type: A\n  vaule: 192.0.2.10\n",
		"example.net.yaml": yamlZone("192.0.2.30"),
	}})
	if a := s.Dig("www.example.net", "A"); a.Status != "NOERROR" || len(a.Answer) != 1 {
		t.Fatalf("good zone: %s", a.Raw)
	}
	if a := s.Dig("www.example.com", "A"); a.Status != "REFUSED" {
		t.Fatalf("broken zone should not be served: %s", a.Raw)
	}
	s.WaitLog(`example\.com\.yaml:4:3: `, time.Second)
}

// SIGHUP reloads every zone even when the watcher would not have noticed
// yet.
func TestSIGHUPReloads(t *testing.T) {
	s := Start(t, Options{ReloadInterval: "1h", Files: map[string]string{"example.com.yaml": yamlZone("192.0.2.10")}})
	s.WriteZone("example.com.yaml", yamlZone("192.0.2.40"))
	if a := s.Dig("www.example.com", "A"); a.Answer[0].Data != "192.0.2.10" {
		t.Fatalf("reloaded before SIGHUP (interval 1h): %s", a.Raw)
	}
	s.Signal(syscall.SIGHUP)
	waitAnswer(t, s, "www.example.com", "A", "192.0.2.40", 5*time.Second)
}

// The serial survives a restart unchanged when the content is unchanged,
// and never goes backwards, even when the content goes back to an earlier
// version.
func TestSerialNeverGoesBackwards(t *testing.T) {
	s := Start(t, Options{Files: map[string]string{"example.com.yaml": yamlZone("192.0.2.10")}})
	s1 := soaSerial(t, s, "example.com")
	s.Restart()
	if s2 := soaSerial(t, s, "example.com"); s2 != s1 {
		t.Fatalf("serial changed across a restart with the same content: %d -> %d", s1, s2)
	}
	s.WriteZone("example.com.yaml", yamlZone("192.0.2.20"))
	waitAnswer(t, s, "www.example.com", "A", "192.0.2.20", 5*time.Second)
	s3 := soaSerial(t, s, "example.com")
	s.Stop()
	s.WriteZone("example.com.yaml", yamlZone("192.0.2.10")) // back to the first content
	s.start(true)
	s4 := soaSerial(t, s, "example.com")
	if !(s1 < s3 && s3 < s4) {
		t.Fatalf("serials %d, %d, %d: want strictly increasing", s1, s3, s4)
	}
}

// A zone file with its own SOA serves its serial; when the content changes
// and the operator forgot to bump it, smartdns still serves a higher one.
func TestFileSerialRespected(t *testing.T) {
	zone := func(serial int, addr string) string {
		return fmt.Sprintf("$ORIGIN example.org.\n@ 3600 IN SOA ns1.example.org. h.example.org. %d 7200 3600 1209600 300\n@ NS ns1\nns1 A 192.0.2.1\nwww A %s\n", serial, addr)
	}
	s := Start(t, Options{Files: map[string]string{"example.org.zone": zone(2024010101, "192.0.2.10")}})
	if got := soaSerial(t, s, "example.org"); got != 2024010101 {
		t.Fatalf("serial %d, want the file's 2024010101", got)
	}
	s.WriteZone("example.org.zone", zone(2024010101, "192.0.2.11"))
	waitAnswer(t, s, "www.example.org", "A", "192.0.2.11", 5*time.Second)
	if got := soaSerial(t, s, "example.org"); got <= 2024010101 {
		t.Fatalf("content changed without a serial bump, served %d", got)
	}
}

// No query is dropped or answered wrongly while zones reload under load:
// clients query continuously over UDP and TCP while the zone flips between
// two versions many times.
func TestNoQueryDroppedDuringReload(t *testing.T) {
	s := Start(t, Options{ReloadInterval: "50ms", Files: map[string]string{
		"example.com.yaml": yamlZone("192.0.2.1"),
		"other.com.yaml":   yamlZone("192.0.2.9"),
	}})
	addr := fmt.Sprintf("127.0.0.1:%d", s.Port)
	var stop atomic.Bool
	var total, failed atomic.Int64
	var mu sync.Mutex
	var failures []string
	var wg sync.WaitGroup
	for _, net := range []string{"udp", "udp", "tcp", "udp"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := &mdns.Client{Net: net, Timeout: 2 * time.Second}
			for !stop.Load() {
				for _, q := range []string{"www.example.com.", "www.other.com."} {
					m := new(mdns.Msg)
					m.SetQuestion(q, mdns.TypeA)
					r, _, err := c.Exchange(m, addr)
					total.Add(1)
					ok := err == nil && r.Rcode == mdns.RcodeSuccess && len(r.Answer) == 1
					if ok {
						a := r.Answer[0].(*mdns.A).A.String()
						ok = (q == "www.other.com." && a == "192.0.2.9") ||
							(q == "www.example.com." && (a == "192.0.2.1" || a == "192.0.2.2"))
					}
					if !ok {
						failed.Add(1)
						mu.Lock()
						failures = append(failures, fmt.Sprintf("%s %s: err=%v resp=%v", time.Now().Format("15:04:05.000"), q, err, r))
						mu.Unlock()
					}
				}
			}
		}()
	}
	for i := 0; i < 24; i++ {
		gen := s.Generation()
		s.WriteZone("example.com.yaml", yamlZone(fmt.Sprintf("192.0.2.%d", 1+i%2)))
		if i%5 == 0 {
			s.Signal(syscall.SIGHUP)
		}
		s.WaitLoaded(gen, 5*time.Second) // by the watcher (once two scans agree) or the SIGHUP
	}
	stop.Store(true)
	wg.Wait()
	if failed.Load() > 0 {
		t.Fatalf("%d of %d queries failed during reloads, e.g. %v\n%s", failed.Load(), total.Load(), failures[0], s.Log())
	}
	if n := strings.Count(s.Log(), "zones loaded"); n < 10 {
		t.Fatalf("only %d reloads happened:\n%s", n, s.Log())
	}
	t.Logf("%d queries, 0 failed, across %d reloads", total.Load(), strings.Count(s.Log(), "zones loaded"))
}

// smartdns check: exit 0 with a one-line summary for good zones; exit 1
// with every problem as path:line:col: message otherwise.
func TestCheckCommand(t *testing.T) {
	s := Start(t, Options{NoWait: true, Files: map[string]string{
		"example.com.yaml": yamlZone("192.0.2.10"),
	}})
	s.Stop()
	out, err := exec.Command(binary, "check", "--config", s.Config).CombinedOutput()
	if err != nil || !strings.HasPrefix(string(out), "ok: 1 zone(s)") {
		t.Fatalf("check of a good config: %v\n%s", err, out)
	}
	s.WriteZone("example.com.yaml", "---\nwww:\n  type: A\n  value: 192.0.2.999\nmail:\n  type: MX\n  value: {exchange: mx.example.com.}\n")
	s.WriteZone("example.net.zone", "$ORIGIN example.net.\n@ NS ns1\nns1 A 192.0.2.1\nbad A not-an-ip\n")
	out, err = exec.Command(binary, "check", "--config", s.Config).CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
		t.Fatalf("check of broken zones should exit 1, got %v\n%s", err, out)
	}
	text := string(out)
	for _, want := range []string{
		s.Zones + "/example.com.yaml:4:",
		s.Zones + "/example.com.yaml:7:",
		s.Zones + "/example.net.zone:4:",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("check output lacks %q:\n%s", want, text)
		}
	}
	// A typo in the config itself is an error with its line.
	cfgTypo := strings.Replace(readFile(t, s.Config), "zones: zones", "zones: zones\nlisten_typo: 1", 1)
	writeFile(t, s.Config, cfgTypo)
	out, _ = exec.Command(binary, "check", "--config", s.Config).CombinedOutput()
	if !strings.Contains(string(out), s.Config+":3:1: unknown key \"listen_typo\"") {
		t.Errorf("config typo not reported with its position:\n%s", out)
	}
}

// shutdownBound is how long a SIGTERM may take: the server's shutdown
// grace (cmd/smartdns shutdownGrace, 5s) and a -race build's 1s sleep at
// exit.
const shutdownBound = 6 * time.Second

// A SIGTERM during a long reload is served within the shutdown bound: the
// reload runs off the loop that handles signals, and shutdown cancels it
// between two zone files instead of waiting for it (before, the reload
// ran inline and the SIGTERM waited for all of it).
func TestSIGTERMDuringSlowReload(t *testing.T) {
	s := Start(t, Options{ReloadInterval: "1h", Files: map[string]string{"example.com.yaml": yamlZone("192.0.2.10")}})
	// Zones added behind the server's back: the SIGHUP reload compiles
	// them all, seconds of work (about a second a zone under -race).
	var b strings.Builder
	for z := 0; z < 12; z++ {
		b.Reset()
		b.WriteString("---\n")
		for i := 0; i < 10000; i++ {
			fmt.Fprintf(&b, "h%d: {type: A, value: 192.0.%d.%d}\n", i, i/250, i%250+1)
		}
		s.WriteZone(fmt.Sprintf("big%02d.example.yaml", z), b.String())
	}
	gen, mark := s.Generation(), s.Mark()
	s.Signal(syscall.SIGHUP)
	s.WaitLogSince(mark, `reload requested \(SIGHUP\)`, 5*time.Second)
	sent := time.Now()
	s.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(shutdownBound + 10*time.Second):
		t.Fatalf("no exit %v after SIGTERM:\n%s", time.Since(sent), s.Log())
	}
	took := time.Since(sent)
	if took > shutdownBound {
		t.Errorf("SIGTERM during a reload took %v, want at most %v", took, shutdownBound)
	}
	if g := s.Generation(); g != gen {
		t.Errorf("the reload ran to its end (generation %d published) before the SIGTERM was served", g)
	}
	if !strings.Contains(s.Log()[mark:], "shutting down") {
		t.Errorf("no shutdown logged:\n%s", s.Log())
	}
	t.Logf("exited %v after SIGTERM", took)
}
