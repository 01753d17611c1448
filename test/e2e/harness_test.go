// Package e2e starts the real smartdns binary on a loopback port it picks
// itself (port 0; the harness reads the bound port from its log) and
// queries it with dig, the client operators use, parsing dig's output.
// Each scenario lives in its own folder under test/e2e/testdata/<case>/
// (a config-free zones folder) or builds its zones in the test.
package e2e

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// binary is the smartdns built once for the whole package.
var binary string

// buildFlags are extra flags for building it (-race under go test -race).
var buildFlags []string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "smartdns-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "smartdns")
	args := append([]string{"build"}, buildFlags...)
	build := exec.Command("go", append(args, "-o", binary, "../../cmd/smartdns")...)
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building smartdns:", err)
		os.Exit(1)
	}
	if _, err := exec.LookPath("dig"); err != nil {
		fmt.Fprintln(os.Stderr, "dig is not installed: run `make deps` (Debian package bind9-dnsutils)")
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// Server is a running smartdns.
type Server struct {
	t      testing.TB
	Dir    string // holds smartdns.yaml, zones/, smartdns.db
	Config string // path of the config file
	Zones  string // zones folder
	// Port is the DNS port the server bound (read from its ready line).
	Port int
	// HTTP is the bound address of the HTTP listener ("127.0.0.1:P"), ""
	// without one: give `http: 127.0.0.1:0` in Options.Extra.
	HTTP string
	cmd  *exec.Cmd
	log  *syncBuffer
	done chan struct{}
}

// Options shape a server's config.
type Options struct {
	// ZonesFrom is a folder whose files are copied into the zones folder.
	ZonesFrom string
	// Files are written into the zones folder (name -> content).
	Files map[string]string
	// Extra is YAML appended to the generated config.
	Extra string
	// NoWait skips waiting for the ready line (for configs meant to fail).
	NoWait bool
	// ReloadInterval is the zones folder scan interval; 200ms if empty.
	ReloadInterval string
	// Probes turns health probing on. It is off by default: fixtures hold
	// public addresses that must never be probed from a test.
	Probes bool
}

// Start writes a config and zones into a temp folder and starts smartdns
// on port 0 of 127.0.0.1, waiting for its ready line, which gives the port
// it bound.
func Start(t testing.TB, o Options) *Server {
	t.Helper()
	dir := t.TempDir()
	s := &Server{t: t, Dir: dir, Config: filepath.Join(dir, "smartdns.yaml"), Zones: filepath.Join(dir, "zones")}
	if err := os.MkdirAll(s.Zones, 0o755); err != nil {
		t.Fatal(err)
	}
	if o.ZonesFrom != "" {
		copyDir(t, o.ZonesFrom, s.Zones)
	}
	for name, content := range o.Files {
		s.WriteZone(name, content)
	}
	if o.ReloadInterval == "" {
		o.ReloadInterval = "200ms"
	}
	cfg := fmt.Sprintf(`listen: [127.0.0.1:0]
zones: zones
data: smartdns.db
nameservers: [ns1.example.com., ns2.example.com.]
soa:
  rname: hostmaster.example.com.
reload:
  interval: %s
probes:
  enabled: %t
log:
  level: debug
%s`, o.ReloadInterval, o.Probes, o.Extra)
	if err := os.WriteFile(s.Config, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	s.start(!o.NoWait)
	t.Cleanup(func() {
		s.Stop()
		if strings.Contains(s.Log(), "WARNING: DATA RACE") || strings.Contains(s.Log(), "panic:") {
			t.Errorf("the server raced or panicked:\n%s", s.Log())
		}
	})
	return s
}

var (
	readyRE   = regexp.MustCompile(`(?:msg=ready .*listen=|"msg":"ready".*"listen":")127\.0\.0\.1:(\d+)`)
	httpRE    = regexp.MustCompile(`(?:msg="HTTP listening" addr=|"msg":"HTTP listening","addr":")([0-9.]+:\d+)`)
	listen0RE = regexp.MustCompile(`(?m)^listen: \[127\.0\.0\.1:0\]$`)
	http0RE   = regexp.MustCompile(`(?m)^http: 127\.0\.0\.1:0$`)
	loadedRE  = regexp.MustCompile(`(?:msg="zones loaded" generation=|"msg":"zones loaded","generation":)(\d+)`)
)

// start runs the binary on the config. A server started again (Restart,
// or Stop then start) keeps the ports it bound the first time: the config
// is pinned to them, so that what the test built on the ports still holds.
func (s *Server) start(wait bool) {
	s.t.Helper()
	if s.Port != 0 || s.HTTP != "" {
		cfg := readFile(s.t, s.Config)
		if s.Port != 0 {
			cfg = listen0RE.ReplaceAllString(cfg, fmt.Sprintf("listen: [127.0.0.1:%d]", s.Port))
		}
		if s.HTTP != "" {
			cfg = http0RE.ReplaceAllString(cfg, "http: "+s.HTTP)
		}
		writeFile(s.t, s.Config, cfg)
	}
	s.log = &syncBuffer{ready: make(chan struct{})}
	s.cmd = exec.Command(binary, "serve", "--config", s.Config)
	s.cmd.Stdout = s.log
	s.cmd.Stderr = s.log
	if err := s.cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	s.done = make(chan struct{})
	go func() { s.cmd.Wait(); close(s.done) }()
	if !wait {
		return
	}
	select {
	case <-s.log.ready:
	case <-s.done:
		s.t.Fatalf("smartdns exited before it was ready:\n%s", s.log.String())
	case <-time.After(60 * time.Second):
		s.t.Fatalf("smartdns not ready after 60s:\n%s", s.log.String())
	}
	log := s.log.String()
	m := readyRE.FindStringSubmatch(log)
	if m == nil {
		s.t.Fatalf("the ready line gives no 127.0.0.1 listen address:\n%s", log)
	}
	s.Port, _ = strconv.Atoi(m[1])
	// "HTTP listening" comes before "ready".
	if m := httpRE.FindStringSubmatch(log); m != nil {
		s.HTTP = m[1]
	}
}

// Stop sends SIGTERM and waits for the process to end.
func (s *Server) Stop() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	select {
	case <-s.done:
		return
	default:
	}
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(10 * time.Second):
		s.cmd.Process.Kill()
		<-s.done
	}
}

// Restart stops the server and starts it again on the same port and files.
func (s *Server) Restart() {
	s.t.Helper()
	s.Stop()
	s.start(true)
}

// Exited reports whether the process has ended.
func (s *Server) Exited() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

// Signal sends sig to the server (SIGHUP reloads).
func (s *Server) Signal(sig os.Signal) { s.cmd.Process.Signal(sig) }

// Log returns what the server has logged so far.
func (s *Server) Log() string { return s.log.String() }

// WaitLog waits until the log matches re, or fails the test.
func (s *Server) WaitLog(re string, timeout time.Duration) {
	s.t.Helper()
	rx := regexp.MustCompile(re)
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if rx.MatchString(s.Log()) {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	s.t.Fatalf("log never matched %q:\n%s", re, s.Log())
}

// Mark is a place in the log: what WaitLogSince looks at starts there.
func (s *Server) Mark() int { return len(s.Log()) }

// WaitLogSince waits until the log written after mark matches re, or
// fails the test. It returns the first match.
func (s *Server) WaitLogSince(mark int, re string, timeout time.Duration) string {
	s.t.Helper()
	rx := regexp.MustCompile(re)
	deadline := time.Now().Add(timeout)
	for {
		log := s.Log()
		if mark > len(log) {
			mark = 0 // restarted: a new log
		}
		if m := rx.FindString(log[mark:]); m != "" {
			return m
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("the log after offset %d never matched %q:\n%s", mark, re, log)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Generation is the highest generation of zones the server logged as
// loaded ("zones loaded" lines), 0 when none.
func (s *Server) Generation() uint64 {
	var g uint64
	for _, m := range loadedRE.FindAllStringSubmatch(s.Log(), -1) {
		if n, _ := strconv.ParseUint(m[1], 10, 64); n > g {
			g = n
		}
	}
	return g
}

// WaitLoaded waits for a "zones loaded" line of a generation above after
// (take it from Generation before the change), and returns that
// generation: the change was loaded and published, or fails the test.
func (s *Server) WaitLoaded(after uint64, timeout time.Duration) uint64 {
	s.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		if g := s.Generation(); g > after {
			return g
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("no zones loaded above generation %d within %v:\n%s", after, timeout, s.Log())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// WriteZone writes a file into the zones folder, bumping its modification
// time so that the watcher sees the change even within one second.
func (s *Server) WriteZone(name, content string) {
	s.t.Helper()
	p := filepath.Join(s.Zones, name)
	var old time.Time
	if st, err := os.Stat(p); err == nil {
		old = st.ModTime()
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		s.t.Fatal(err)
	}
	if st, err := os.Stat(p); err == nil && !st.ModTime().After(old) {
		later := old.Add(time.Second)
		os.Chtimes(p, later, later)
	}
}

// Dig queries the server with dig and parses the answer. args are dig's
// own arguments (name, type, +tcp, +bufsize=...). +norec, +time and
// +tries are added; the server and port are filled in.
func (s *Server) Dig(args ...string) *Answer {
	s.t.Helper()
	return Dig(s.t, s.Port, args...)
}

// Dig runs dig against 127.0.0.1:port.
func Dig(t testing.TB, port int, args ...string) *Answer {
	t.Helper()
	full := append([]string{"@127.0.0.1", "-p", strconv.Itoa(port), "+norec", "+time=3", "+tries=1", "+nocookie"}, args...)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "dig", full...).CombinedOutput()
	a, perr := ParseDig(string(out))
	if perr != nil {
		t.Fatalf("dig %s: %v (exit: %v)\n%s", strings.Join(full, " "), perr, err, out)
	}
	return a
}

// RR is one record line of dig's output.
type RR struct {
	Name, Class, Type, Data string
	TTL                     uint32
}

func (r RR) String() string {
	return fmt.Sprintf("%s\t%d\t%s\t%s\t%s", r.Name, r.TTL, r.Class, r.Type, r.Data)
}

// Answer is dig's parsed output.
type Answer struct {
	Status     string
	Flags      map[string]bool
	Question   string
	Answer     []RR
	Authority  []RR
	Additional []RR
	EDNS       bool
	EDNSFlags  string
	UDPSize    int
	EDNSVer    int
	ECS        string // "; CLIENT-SUBNET: a/b/c" as "a/b/c" (address/source/scope); "" when absent
	Transport  string // "UDP" or "TCP"
	Size       int    // MSG SIZE rcvd
	Raw        string
}

var (
	headerRE = regexp.MustCompile(`status: ([A-Z]+)`)
	flagsRE  = regexp.MustCompile(`;; flags:([^;]*);`)
	ednsRE   = regexp.MustCompile(`; EDNS: version: (\d+), flags:([^;]*); udp: (\d+)`)
	serverRE = regexp.MustCompile(`;; SERVER: .*\((UDP|TCP)\)`)
	sizeRE   = regexp.MustCompile(`;; MSG SIZE\s+rcvd: (\d+)`)
	ecsRE    = regexp.MustCompile(`(?m)^; CLIENT-SUBNET: (\S+)`)
)

// ParseDig parses the output of one dig query.
func ParseDig(out string) (*Answer, error) {
	a := &Answer{Raw: out, Flags: map[string]bool{}}
	m := headerRE.FindStringSubmatch(out)
	if m == nil {
		return nil, fmt.Errorf("no answer header in dig output")
	}
	a.Status = m[1]
	if m := flagsRE.FindStringSubmatch(out); m != nil {
		for _, f := range strings.Fields(m[1]) {
			a.Flags[f] = true
		}
	}
	if m := ednsRE.FindStringSubmatch(out); m != nil {
		a.EDNS = true
		a.EDNSVer, _ = strconv.Atoi(m[1])
		a.EDNSFlags = strings.TrimSpace(m[2])
		a.UDPSize, _ = strconv.Atoi(m[3])
	}
	if m := ecsRE.FindStringSubmatch(out); m != nil {
		a.ECS = m[1]
	}
	if m := serverRE.FindStringSubmatch(out); m != nil {
		a.Transport = m[1]
	}
	if m := sizeRE.FindStringSubmatch(out); m != nil {
		a.Size, _ = strconv.Atoi(m[1])
	}
	var section *[]RR
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, ";; QUESTION SECTION:"):
			section = nil
			if sc.Scan() {
				a.Question = strings.Join(strings.Fields(strings.TrimPrefix(sc.Text(), ";")), " ")
			}
			continue
		case strings.HasPrefix(line, ";; ANSWER SECTION:"):
			section = &a.Answer
			continue
		case strings.HasPrefix(line, ";; AUTHORITY SECTION:"):
			section = &a.Authority
			continue
		case strings.HasPrefix(line, ";; ADDITIONAL SECTION:"):
			section = &a.Additional
			continue
		case line == "" || strings.HasPrefix(line, ";"):
			if line == "" {
				section = nil
			}
			continue
		}
		if section == nil {
			continue
		}
		f := strings.Fields(line)
		if len(f) < 4 {
			continue
		}
		ttl, _ := strconv.ParseUint(f[1], 10, 32)
		*section = append(*section, RR{Name: f[0], TTL: uint32(ttl), Class: f[2], Type: f[3], Data: strings.Join(f[4:], " ")})
	}
	return a, nil
}

// Types lists the types of the RRs, in order.
func Types(rrs []RR) []string {
	var out []string
	for _, r := range rrs {
		out = append(out, r.Type)
	}
	return out
}

// Datas lists the RDATA of the RRs of type typ.
func Datas(rrs []RR, typ string) []string {
	var out []string
	for _, r := range rrs {
		if r.Type == typ {
			out = append(out, r.Data)
		}
	}
	return out
}

func freePort(t testing.TB) int {
	t.Helper()
	for i := 0; i < 50; i++ {
		u, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			continue
		}
		port := u.LocalAddr().(*net.UDPAddr).Port
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		u.Close()
		if err != nil {
			continue
		}
		l.Close()
		return port
	}
	t.Fatal("no free port")
	return 0
}

func copyDir(t testing.TB, from, to string) {
	t.Helper()
	err := filepath.Walk(from, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, p)
		dst := filepath.Join(to, rel)
		if info.IsDir() {
			return os.MkdirAll(dst, 0o755)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(dst, data, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// syncBuffer collects the server's output and signals its ready line.
type syncBuffer struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	ready chan struct{}
	once  sync.Once
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf.Write(p)
	if bytes.Contains(b.buf.Bytes(), []byte("msg=ready")) || bytes.Contains(b.buf.Bytes(), []byte(`"msg":"ready"`)) {
		b.once.Do(func() { close(b.ready) })
	}
	return len(p), nil
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

var _ io.Writer = (*syncBuffer)(nil)

func readFile(t testing.TB, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func writeFile(t testing.TB, p, content string) {
	t.Helper()
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// Agent is a running `smartdns agent --config FILE`.
type Agent struct {
	t      testing.TB
	Config string
	cmd    *exec.Cmd
	log    *syncBuffer
	done   chan struct{}
}

// StartAgent starts the site agent on the config file (debug logging),
// stopping it when the test ends; it fails the test if the agent raced or
// panicked.
func StartAgent(t testing.TB, config string) *Agent {
	t.Helper()
	a := &Agent{t: t, Config: config}
	a.Start()
	t.Cleanup(func() {
		a.Stop()
		if strings.Contains(a.Log(), "WARNING: DATA RACE") || strings.Contains(a.Log(), "panic:") {
			t.Errorf("the agent raced or panicked:\n%s", a.Log())
		}
	})
	return a
}

// Start (re)starts a stopped agent, keeping its log.
func (a *Agent) Start() {
	a.t.Helper()
	if a.log == nil {
		a.log = &syncBuffer{ready: make(chan struct{})}
	}
	a.cmd = exec.Command(binary, "agent", "--config", a.Config, "--debug")
	// A -race build sleeps 1s on exit by default; the tests time what
	// follows an agent's stop, so it exits at once.
	a.cmd.Env = append(os.Environ(), "GORACE="+strings.TrimSpace(os.Getenv("GORACE")+" atexit_sleep_ms=0"))
	a.cmd.Stdout = a.log
	a.cmd.Stderr = a.log
	if err := a.cmd.Start(); err != nil {
		a.t.Fatal(err)
	}
	a.done = make(chan struct{})
	go func(cmd *exec.Cmd, done chan struct{}) { cmd.Wait(); close(done) }(a.cmd, a.done)
}

// Stop sends SIGTERM and waits for the agent to end.
func (a *Agent) Stop() {
	if a.cmd == nil || a.cmd.Process == nil {
		return
	}
	select {
	case <-a.done:
		return
	default:
	}
	a.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-a.done:
	case <-time.After(10 * time.Second):
		a.cmd.Process.Kill()
		<-a.done
	}
}

// Exited reports whether the agent process has ended.
func (a *Agent) Exited() bool {
	select {
	case <-a.done:
		return true
	default:
		return false
	}
}

// Log returns what the agent has logged so far.
func (a *Agent) Log() string { return a.log.String() }

// runBinary runs smartdns with args and returns its combined output and
// exit code.
func runBinary(args ...string) (string, int) {
	out, err := exec.Command(binary, args...).CombinedOutput()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		code = -1
	}
	return string(out), code
}
