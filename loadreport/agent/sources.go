package agent

// Load sources of the site agent. Each measures how busy the site is as a
// fraction 0..1 (0 idle, 1 full) plus a few raw numbers for the report's
// metrics.
//
// Range policy:
//   - Sources that compute a ratio (proc, prometheus, nginx, haproxy, ipvs)
//     clamp it to 0..1: more connections than the capacity is a full site,
//     not an error.
//   - Sources whose number IS the load (command, file) must print a value
//     in 0..1; anything else (including NaN and infinities) is an error, as a
//     script that prints 42 or -1 is broken and a clamped 1 or 0 would be a
//     wrong report rather than a missing one.
//
// Every source bounds its work with a timeout (Timeout field, or the
// context's deadline, whichever is first).

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
)

// LoadSource measures the site's load.
type LoadSource interface {
	// Load returns the load in 0..1 and optional raw metrics.
	Load(ctx context.Context) (load float64, metrics map[string]float64, err error)
}

// DefaultSourceTimeout bounds a source's work when its Timeout is zero.
const DefaultSourceTimeout = 5 * time.Second

// maxSourceBody caps what is read from a command, file or HTTP endpoint.
const maxSourceBody = 8 << 20

func srcTimeout(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	if d <= 0 {
		d = DefaultSourceTimeout
	}
	return context.WithTimeout(ctx, d)
}

func srcClamp(v float64) float64 {
	switch {
	case v < 0:
		return 0
	case v > 1:
		return 1
	}
	return v
}

func srcFinite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// strictLoad checks a load value given as such (command, file).
func strictLoad(v float64, what string) (float64, error) {
	if !srcFinite(v) || v < 0 || v > 1 {
		return 0, fmt.Errorf("%s: load %v is outside 0..1", what, v)
	}
	return v, nil
}

var numberRE = regexp.MustCompile(`[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?|(?i:[-+]?(?:nan|inf(?:inity)?))`)

// firstNumber parses the first number in s.
func firstNumber(s string) (float64, error) {
	m := numberRE.FindString(s)
	if m == "" {
		return 0, errors.New("no number in the output")
	}
	return strconv.ParseFloat(m, 64)
}

// CommandSource runs a program and parses the first number it prints on
// stdout as the load (0..1, else an error). The command line is split on
// white space and run without a shell; use a script for pipes. A non-zero
// exit status or exceeding Timeout is an error.
type CommandSource struct {
	Argv    []string
	Timeout time.Duration
}

// Load implements LoadSource.
func (s *CommandSource) Load(ctx context.Context) (float64, map[string]float64, error) {
	if len(s.Argv) == 0 {
		return 0, nil, errors.New("command: empty command")
	}
	ctx, cancel := srcTimeout(ctx, s.Timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, s.Argv[0], s.Argv[1:]...)
	cmd.WaitDelay = time.Second
	var out, errb limitedBuffer
	out.max, errb.max = maxSourceBody, 4096
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return 0, nil, fmt.Errorf("command %s: %w", s.Argv[0], ctx.Err())
		}
		if msg := strings.TrimSpace(errb.String()); msg != "" {
			return 0, nil, fmt.Errorf("command %s: %v: %s", s.Argv[0], err, msg)
		}
		return 0, nil, fmt.Errorf("command %s: %w", s.Argv[0], err)
	}
	v, err := firstNumber(out.String())
	if err != nil {
		return 0, nil, fmt.Errorf("command %s: %w", s.Argv[0], err)
	}
	v, err = strictLoad(v, "command "+s.Argv[0])
	return v, nil, err
}

type limitedBuffer struct {
	bytes.Buffer
	max int
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	n := len(p)
	if room := b.max - b.Len(); room < len(p) {
		if room < 0 {
			room = 0
		}
		p = p[:room]
	}
	b.Buffer.Write(p)
	return n, nil
}

// FileSource reads a file holding the load as a number (0..1, else an
// error); white space around it is ignored.
type FileSource struct {
	Path string
}

// Load implements LoadSource.
func (s *FileSource) Load(ctx context.Context) (float64, map[string]float64, error) {
	if err := ctx.Err(); err != nil {
		return 0, nil, err
	}
	f, err := os.Open(s.Path)
	if err != nil {
		return 0, nil, fmt.Errorf("file: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, 4096))
	if err != nil {
		return 0, nil, fmt.Errorf("file %s: %w", s.Path, err)
	}
	txt := strings.TrimSpace(string(data))
	v, err := strconv.ParseFloat(txt, 64)
	if err != nil {
		return 0, nil, fmt.Errorf("file %s: %q is not a number", s.Path, txt)
	}
	v, err = strictLoad(v, "file "+s.Path)
	return v, nil, err
}

// ProcSource computes CPU utilisation from the aggregate "cpu" line of
// /proc/stat: busy = 1 - (idle+iowait)/total over the time between two
// samples. Each call takes one sample and compares it with the previous
// call's. The first call has no previous sample: it takes one, waits Wait
// (default 250ms) and takes another, so the first report is current; with
// Wait < 0 the first call returns the average since boot instead.
type ProcSource struct {
	Path string        // /proc/stat when empty (tests point it elsewhere)
	Wait time.Duration // first-call sampling interval; < 0: since-boot average

	mu        sync.Mutex
	prev      cpuSample
	primed    bool
	lastValue float64
}

type cpuSample struct{ idle, total uint64 }

func (s *ProcSource) sample() (cpuSample, error) {
	path := s.Path
	if path == "" {
		path = "/proc/stat"
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return cpuSample{}, fmt.Errorf("proc: %w", err)
	}
	for line := range strings.Lines(string(data)) {
		f := strings.Fields(line)
		if len(f) < 5 || f[0] != "cpu" {
			continue
		}
		var cs cpuSample
		// user nice system idle iowait irq softirq steal [guest guest_nice]
		// guest time is already counted in user and nice.
		for i, x := range f[1:] {
			if i >= 8 {
				break
			}
			n, err := strconv.ParseUint(x, 10, 64)
			if err != nil {
				return cpuSample{}, fmt.Errorf("proc: %s: bad cpu field %q", path, x)
			}
			cs.total += n
			if i == 3 || i == 4 {
				cs.idle += n
			}
		}
		return cs, nil
	}
	return cpuSample{}, fmt.Errorf("proc: %s has no aggregate cpu line", path)
}

// Load implements LoadSource.
func (s *ProcSource) Load(ctx context.Context) (float64, map[string]float64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cur, err := s.sample()
	if err != nil {
		return 0, nil, err
	}
	prev := s.prev
	if !s.primed {
		if s.Wait < 0 {
			prev = cpuSample{}
		} else {
			wait := s.Wait
			if wait == 0 {
				wait = 250 * time.Millisecond
			}
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
				return 0, nil, ctx.Err()
			case <-t.C:
			}
			prev = cur
			if cur, err = s.sample(); err != nil {
				return 0, nil, err
			}
		}
	}
	s.prev, s.primed = cur, true
	if cur.total < prev.total || cur.idle < prev.idle {
		return 0, nil, errors.New("proc: CPU counters went backwards")
	}
	dt := cur.total - prev.total
	if dt == 0 {
		// No tick elapsed (two reads too close together): repeat the last value.
		return s.lastValue, map[string]float64{"cpu_busy": s.lastValue}, nil
	}
	busy := srcClamp(1 - float64(cur.idle-prev.idle)/float64(dt))
	s.lastValue = busy
	return busy, map[string]float64{"cpu_busy": busy}, nil
}

// httpGet fetches url with the timeout and returns at most maxSourceBody
// bytes of a 200 answer.
func srcGet(ctx context.Context, client *http.Client, url string, timeout time.Duration) ([]byte, error) {
	ctx, cancel := srcTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
		return nil, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return io.ReadAll(io.LimitReader(resp.Body, maxSourceBody))
}

// PrometheusSource scrapes a Prometheus text exposition and divides the
// metric's value by Capacity (clamped to 0..1). The value is the sum of
// every sample of the metric, so an unlabeled gauge is taken as is and a
// labeled one is summed over its label sets. A missing metric is an error.
type PrometheusSource struct {
	URL      string
	Metric   string
	Capacity float64
	Timeout  time.Duration
	Client   *http.Client
}

// Load implements LoadSource.
func (s *PrometheusSource) Load(ctx context.Context) (float64, map[string]float64, error) {
	body, err := srcGet(ctx, s.Client, s.URL, s.Timeout)
	if err != nil {
		return 0, nil, fmt.Errorf("prometheus: %w", err)
	}
	v, err := promValue(body, s.Metric)
	if err != nil {
		return 0, nil, fmt.Errorf("prometheus %s: %w", s.URL, err)
	}
	return srcClamp(v / s.Capacity), map[string]float64{"value": v, "capacity": s.Capacity}, nil
}

// promValue sums the samples named metric in a text exposition.
func promValue(body []byte, metric string) (float64, error) {
	sum, found := 0.0, false
	for line := range strings.Lines(string(body)) {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' {
			continue
		}
		end := strings.IndexAny(line, "{ \t")
		if end < 0 || line[:end] != metric {
			continue
		}
		rest := line[end:]
		if rest[0] == '{' {
			close := labelsEnd(rest)
			if close < 0 {
				return 0, fmt.Errorf("unterminated labels in %q", line)
			}
			rest = rest[close+1:]
		}
		f := strings.Fields(rest)
		if len(f) == 0 {
			return 0, fmt.Errorf("no value in %q", line)
		}
		v, err := strconv.ParseFloat(f[0], 64)
		if err != nil || !srcFinite(v) {
			return 0, fmt.Errorf("bad value in %q", line)
		}
		sum += v
		found = true
	}
	if !found {
		return 0, fmt.Errorf("metric %s not found", metric)
	}
	return sum, nil
}

// labelsEnd returns the index of the '}' closing the label set that s
// starts with, minding quoted values with escapes.
func labelsEnd(s string) int {
	inq := false
	for i := 1; i < len(s); i++ {
		switch c := s[i]; {
		case inq && c == '\\':
			i++
		case c == '"':
			inq = !inq
		case !inq && c == '}':
			return i
		}
	}
	return -1
}

// NginxSource reads nginx's stub_status page: load = "Active connections"
// / Capacity, clamped to 0..1.
type NginxSource struct {
	URL      string
	Capacity float64
	Timeout  time.Duration
	Client   *http.Client
}

// Load implements LoadSource.
func (s *NginxSource) Load(ctx context.Context) (float64, map[string]float64, error) {
	body, err := srcGet(ctx, s.Client, s.URL, s.Timeout)
	if err != nil {
		return 0, nil, fmt.Errorf("nginx: %w", err)
	}
	m, err := parseStubStatus(body)
	if err != nil {
		return 0, nil, fmt.Errorf("nginx %s: %w", s.URL, err)
	}
	m["capacity"] = s.Capacity
	return srcClamp(m["connections"] / s.Capacity), m, nil
}

func parseStubStatus(body []byte) (map[string]float64, error) {
	m := map[string]float64{}
	sc := bufio.NewScanner(bytes.NewReader(body))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if v, ok := strings.CutPrefix(line, "Active connections:"); ok {
			n, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil {
				return nil, fmt.Errorf("bad active connections %q", strings.TrimSpace(v))
			}
			m["connections"] = n
			continue
		}
		// "Reading: 6 Writing: 179 Waiting: 106"
		if strings.HasPrefix(line, "Reading:") {
			f := strings.Fields(line)
			for i := 0; i+1 < len(f); i += 2 {
				if n, err := strconv.ParseFloat(f[i+1], 64); err == nil {
					m[strings.ToLower(strings.TrimSuffix(f[i], ":"))] = n
				}
			}
		}
	}
	if _, ok := m["connections"]; !ok {
		return nil, errors.New(`no "Active connections:" line (is this a stub_status page?)`)
	}
	return m, nil
}

// HAProxySource reads HAProxy's CSV statistics and takes the BACKEND row
// of the named proxy: load = scur / slim, or scur / Capacity when slim is
// empty or zero (or Capacity is set: it overrides slim), clamped to 0..1.
type HAProxySource struct {
	URL      string
	Backend  string
	Capacity float64 // optional
	Timeout  time.Duration
	Client   *http.Client
}

// Load implements LoadSource.
func (s *HAProxySource) Load(ctx context.Context) (float64, map[string]float64, error) {
	body, err := srcGet(ctx, s.Client, s.URL, s.Timeout)
	if err != nil {
		return 0, nil, fmt.Errorf("haproxy: %w", err)
	}
	scur, slim, err := haproxyRow(body, s.Backend)
	if err != nil {
		return 0, nil, fmt.Errorf("haproxy %s: %w", s.URL, err)
	}
	capacity := slim
	if s.Capacity > 0 {
		capacity = s.Capacity
	}
	if capacity <= 0 {
		return 0, nil, fmt.Errorf("haproxy %s: backend %s has no slim; set capacity", s.URL, s.Backend)
	}
	return srcClamp(scur / capacity), map[string]float64{"connections": scur, "capacity": capacity}, nil
}

func haproxyRow(body []byte, backend string) (scur, slim float64, err error) {
	body = bytes.TrimPrefix(bytes.TrimLeft(body, " \t\r\n"), []byte("# "))
	r := csv.NewReader(bytes.NewReader(body))
	r.FieldsPerRecord = -1
	r.ReuseRecord = false
	header, err := r.Read()
	if err != nil {
		return 0, 0, fmt.Errorf("reading the CSV header: %w", err)
	}
	col := map[string]int{}
	for i, h := range header {
		col[strings.TrimSpace(h)] = i
	}
	for _, need := range []string{"pxname", "svname", "scur", "slim"} {
		if _, ok := col[need]; !ok {
			return 0, 0, fmt.Errorf("the CSV has no %s column", need)
		}
	}
	get := func(rec []string, name string) string {
		if i := col[name]; i < len(rec) {
			return strings.TrimSpace(rec[i])
		}
		return ""
	}
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return 0, 0, fmt.Errorf("reading the CSV: %w", err)
		}
		if get(rec, "pxname") != backend || get(rec, "svname") != "BACKEND" {
			continue
		}
		scur, err = strconv.ParseFloat(get(rec, "scur"), 64)
		if err != nil {
			return 0, 0, fmt.Errorf("backend %s: bad scur %q", backend, get(rec, "scur"))
		}
		if l := get(rec, "slim"); l != "" {
			if slim, err = strconv.ParseFloat(l, 64); err != nil {
				return 0, 0, fmt.Errorf("backend %s: bad slim %q", backend, l)
			}
		}
		return scur, slim, nil
	}
	return 0, 0, fmt.Errorf("no BACKEND row for %s", backend)
}

// IPVSSource reads /proc/net/ip_vs and sums the ActiveConn of the real
// servers of one virtual service; load = that sum / Capacity, clamped to
// 0..1. Service is "TCP 192.0.2.1:80" (or UDP, SCTP; IPv6 as [2001:db8::1]:80),
// matched against the kernel's hex form "TCP  C0000201:0050".
type IPVSSource struct {
	Path     string // /proc/net/ip_vs when empty (tests point it elsewhere)
	Service  string
	Capacity float64
}

// ParseIPVSService parses "PROTO ADDR:PORT".
func ParseIPVSService(s string) (proto string, ap netip.AddrPort, err error) {
	f := strings.Fields(s)
	if len(f) != 2 {
		return "", ap, fmt.Errorf("%q is not \"PROTO ADDRESS:PORT\" (e.g. \"TCP 192.0.2.1:80\")", s)
	}
	proto = strings.ToUpper(f[0])
	switch proto {
	case "TCP", "UDP", "SCTP":
	default:
		return "", ap, fmt.Errorf("%q: protocol %s is not TCP, UDP or SCTP", s, f[0])
	}
	ap, err = netip.ParseAddrPort(f[1])
	if err != nil {
		return "", ap, fmt.Errorf("%q: %v", s, err)
	}
	return proto, netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()), nil
}

// parseIPVSAddr parses the kernel's "C0000201:0050" or "[2001:0db8::1]:0050".
func parseIPVSAddr(s string) (netip.AddrPort, error) {
	i := strings.LastIndexByte(s, ':')
	if i < 0 {
		return netip.AddrPort{}, fmt.Errorf("bad address %q", s)
	}
	port, err := strconv.ParseUint(s[i+1:], 16, 16)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("bad port in %q", s)
	}
	host := s[:i]
	var addr netip.Addr
	if strings.HasPrefix(host, "[") && strings.HasSuffix(host, "]") {
		addr, err = netip.ParseAddr(host[1 : len(host)-1])
		if err != nil {
			return netip.AddrPort{}, fmt.Errorf("bad address %q", s)
		}
	} else {
		n, err := strconv.ParseUint(host, 16, 32)
		if err != nil || len(host) != 8 {
			return netip.AddrPort{}, fmt.Errorf("bad address %q", s)
		}
		addr = netip.AddrFrom4([4]byte{byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)})
	}
	return netip.AddrPortFrom(addr, uint16(port)), nil
}

// Load implements LoadSource.
func (s *IPVSSource) Load(ctx context.Context) (float64, map[string]float64, error) {
	if err := ctx.Err(); err != nil {
		return 0, nil, err
	}
	proto, want, err := ParseIPVSService(s.Service)
	if err != nil {
		return 0, nil, fmt.Errorf("ipvs: %w", err)
	}
	path := s.Path
	if path == "" {
		path = "/proc/net/ip_vs"
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, nil, fmt.Errorf("ipvs: %w", err)
	}
	active, inactive, found, in := 0.0, 0.0, false, false
	for line := range strings.Lines(string(data)) {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		if f[0] == "->" {
			// "-> RemoteAddress:Port Forward Weight ActiveConn InActConn";
			// the column header line has "RemoteAddress:Port" and is skipped.
			if !in || len(f) < 6 {
				continue
			}
			a, err1 := strconv.ParseFloat(f[4], 64)
			n, err2 := strconv.ParseFloat(f[5], 64)
			if err1 != nil || err2 != nil {
				return 0, nil, fmt.Errorf("ipvs: %s: bad real server line %q", path, strings.TrimSpace(line))
			}
			active += a
			inactive += n
			continue
		}
		in = false
		if len(f) < 2 || f[0] != proto {
			continue
		}
		ap, err := parseIPVSAddr(f[1])
		if err != nil || ap != want {
			continue
		}
		in, found = true, true
	}
	if !found {
		return 0, nil, fmt.Errorf("ipvs: service %s not found in %s", s.Service, path)
	}
	return srcClamp(active / s.Capacity), map[string]float64{"connections": active, "inactive_connections": inactive, "capacity": s.Capacity}, nil
}
