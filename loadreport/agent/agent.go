package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/smartdns/smartdns/internal/diag"
	"github.com/smartdns/smartdns/internal/yamlx"
	"github.com/smartdns/smartdns/loadreport"
)

// DefaultInterval is the reporting interval when the config gives none.
const DefaultInterval = 5 * time.Second

// Config is the agent's YAML configuration.
type Config struct {
	Site string `yaml:"site"`
	// Key is the site's HMAC key; KeyFile names a file holding it (white
	// space around it is ignored). Exactly one is required.
	Key         string        `yaml:"key"`
	KeyFile     string        `yaml:"key_file"`
	Nameservers []string      `yaml:"nameservers"`
	Addresses   []string      `yaml:"addresses"`
	Interval    time.Duration `yaml:"interval"`
	// State keeps the draining flag and the last seq; default
	// <config name without extension>.state beside the config.
	State string       `yaml:"state"`
	Load  SourceConfig `yaml:"load"`

	Path string `yaml:"-"` // the file this was read from
	Dir  string `yaml:"-"` // its folder, against which relative paths resolve
	// KeyBytes is the resolved key (from Key or KeyFile).
	KeyBytes []byte `yaml:"-"`
	// ReportURLs are the nameservers' report endpoints, in config order.
	ReportURLs []string `yaml:"-"`
}

// SourceConfig selects the load source: exactly one field is set.
type SourceConfig struct {
	Command    string            `yaml:"command"`
	File       string            `yaml:"file"`
	Proc       *ProcConfig       `yaml:"proc"`
	Prometheus *PrometheusConfig `yaml:"prometheus"`
	Nginx      *NginxConfig      `yaml:"nginx"`
	HAProxy    *HAProxyConfig    `yaml:"haproxy"`
	IPVS       *IPVSConfig       `yaml:"ipvs"`
}

// ProcConfig has no settings: `proc: {}`.
type ProcConfig struct{}

// PrometheusConfig: load = metric / capacity.
type PrometheusConfig struct {
	URL      string  `yaml:"url"`
	Metric   string  `yaml:"metric"`
	Capacity float64 `yaml:"capacity"`
}

// NginxConfig: load = active connections / capacity.
type NginxConfig struct {
	URL      string  `yaml:"url"`
	Capacity float64 `yaml:"capacity"`
}

// HAProxyConfig: load = scur / slim of the backend (or / capacity).
type HAProxyConfig struct {
	URL      string  `yaml:"url"`
	Backend  string  `yaml:"backend"`
	Capacity float64 `yaml:"capacity"`
}

// IPVSConfig: load = active connections of the service / capacity.
type IPVSConfig struct {
	Service  string  `yaml:"service"`
	Capacity float64 `yaml:"capacity"`
}

// LoadConfig reads and validates the agent config at path. Every
// problem is returned, each with path:line:col; the config is nil when any
// is an error.
func LoadConfig(path string) (*Config, diag.Problems) {
	data, probs := yamlx.ReadFile(path)
	if probs != nil {
		return nil, probs
	}
	return ParseConfig(path, data)
}

// ParseConfig is LoadConfig for bytes already read.
func ParseConfig(path string, data []byte) (*Config, diag.Problems) {
	c := &Config{Path: path, Dir: filepath.Dir(path)}
	file, ok := yamlx.DecodeFile(path, data, c, "need site, key, nameservers, addresses and load")
	if !ok {
		return nil, file.Problems
	}
	probs, root, at, pos := file.Problems, file.Root, file.At, file.Pos
	item := func(key string, i int) diag.Pos {
		if n := yamlx.Find(root, key); n != nil && n.Kind == yaml.SequenceNode && i < len(n.Content) {
			return at(n.Content[i].Line, n.Content[i].Column)
		}
		return pos(key)
	}

	c.Site = strings.TrimSpace(c.Site)
	switch {
	case c.Site == "":
		probs.Add(pos(), "site: the site's name is required")
	case !loadreport.ValidSite(c.Site):
		probs.Add(pos("site"), "site: %q is not 1 to 63 of [a-z0-9._-]", c.Site)
	}

	switch {
	case c.Key != "" && c.KeyFile != "":
		probs.Add(pos("key_file"), "key and key_file: give one, not both")
	case c.Key != "":
		c.KeyBytes = []byte(strings.TrimSpace(c.Key))
	case c.KeyFile != "":
		c.KeyFile = c.resolve(c.KeyFile)
		b, err := os.ReadFile(c.KeyFile)
		if err != nil {
			probs.Add(pos("key_file"), "key_file: %v", err)
		} else if k := bytes.TrimSpace(b); len(k) == 0 {
			probs.Add(pos("key_file"), "key_file: %s is empty", c.KeyFile)
		} else {
			c.KeyBytes = k
		}
	default:
		probs.Add(pos(), "key or key_file: the site's key is required")
	}

	if len(c.Nameservers) == 0 {
		probs.Add(pos(), "nameservers: at least one URL is required (e.g. [http://ns1.example.com:8053])")
	}
	for i, ns := range c.Nameservers {
		u, err := url.Parse(ns)
		switch {
		case err != nil:
			probs.Add(item("nameservers", i), "nameservers[%d]: %v", i, err)
			continue
		case u.Scheme != "http" && u.Scheme != "https":
			probs.Add(item("nameservers", i), "nameservers[%d]: %q must be an http:// or https:// URL", i, ns)
			continue
		case u.Host == "" || u.Hostname() == "":
			probs.Add(item("nameservers", i), "nameservers[%d]: %q has no host", i, ns)
			continue
		case u.User != nil || u.RawQuery != "" || u.Fragment != "":
			probs.Add(item("nameservers", i), "nameservers[%d]: %q must not have user info, a query or a fragment", i, ns)
			continue
		}
		u.Path = strings.TrimSuffix(u.Path, "/") + loadreport.Path
		u.RawPath = ""
		c.ReportURLs = append(c.ReportURLs, u.String())
	}

	if len(c.Addresses) == 0 {
		probs.Add(pos(), "addresses: at least one IP address of the site is required")
	}
	seenAddr := map[string]bool{}
	for i, a := range c.Addresses {
		ip, err := netip.ParseAddr(strings.TrimSpace(a))
		if err != nil || ip.Zone() != "" {
			probs.Add(item("addresses", i), "addresses[%d]: %q is not an IP address", i, a)
			continue
		}
		c.Addresses[i] = ip.Unmap().String()
		if seenAddr[c.Addresses[i]] {
			probs.Add(item("addresses", i), "addresses[%d]: %s is listed twice", i, a)
		}
		seenAddr[c.Addresses[i]] = true
	}

	if yamlx.Find(root, "interval") == nil {
		c.Interval = DefaultInterval
	} else if c.Interval <= 0 {
		probs.Add(pos("interval"), "interval: %v must be positive (e.g. 5s)", c.Interval)
	}

	if c.State == "" {
		base := filepath.Base(path)
		c.State = strings.TrimSuffix(base, filepath.Ext(base)) + ".state"
	}
	c.State = c.resolve(c.State)

	c.checkLoad(&probs, root, pos)

	sort.SliceStable(probs, func(i, j int) bool {
		a, b := probs[i].Pos, probs[j].Pos
		return a.Line < b.Line || a.Line == b.Line && a.Col < b.Col
	})
	if probs.HasErrors() {
		return nil, probs
	}
	return c, probs
}

func (c *Config) checkLoad(probs *diag.Problems, root *yaml.Node, pos func(...string) diag.Pos) {
	l := &c.Load
	var set []string
	for name, on := range map[string]bool{
		"command": l.Command != "", "file": l.File != "", "proc": l.Proc != nil,
		"prometheus": l.Prometheus != nil, "nginx": l.Nginx != nil, "haproxy": l.HAProxy != nil, "ipvs": l.IPVS != nil,
	} {
		if on {
			set = append(set, name)
		}
	}
	sort.Strings(set)
	switch len(set) {
	case 0:
		probs.Add(pos(), "load: exactly one source is required: command, file, proc, prometheus, nginx, haproxy or ipvs")
		return
	case 1:
	default:
		probs.Add(pos("load"), "load: exactly one source is allowed, got %s", strings.Join(set, ", "))
		return
	}
	checkURL := func(key, u string) {
		p, err := url.Parse(u)
		if u == "" {
			probs.Add(pos("load", key), "load.%s.url: required", key)
		} else if err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
			probs.Add(pos("load", key, "url"), "load.%s.url: %q is not an http:// or https:// URL", key, u)
		}
	}
	checkCap := func(key string, v float64, required bool) {
		if v > 0 || (!required && v == 0) {
			return
		}
		p := pos("load", key, "capacity")
		if yamlx.Find(root, "load", key, "capacity") == nil {
			p = pos("load", key)
		}
		probs.Add(p, "load.%s.capacity: %v must be positive", key, v)
	}
	switch set[0] {
	case "command":
		if len(strings.Fields(l.Command)) == 0 {
			probs.Add(pos("load", "command"), "load.command: empty command")
		}
	case "file":
		l.File = c.resolve(l.File)
	case "prometheus":
		checkURL("prometheus", l.Prometheus.URL)
		if l.Prometheus.Metric == "" {
			probs.Add(pos("load", "prometheus"), "load.prometheus.metric: required")
		}
		checkCap("prometheus", l.Prometheus.Capacity, true)
	case "nginx":
		checkURL("nginx", l.Nginx.URL)
		checkCap("nginx", l.Nginx.Capacity, true)
	case "haproxy":
		checkURL("haproxy", l.HAProxy.URL)
		if l.HAProxy.Backend == "" {
			probs.Add(pos("load", "haproxy"), "load.haproxy.backend: required")
		}
		checkCap("haproxy", l.HAProxy.Capacity, false)
	case "ipvs":
		if _, _, err := ParseIPVSService(l.IPVS.Service); err != nil {
			probs.Add(pos("load", "ipvs"), "load.ipvs.service: %v", err)
		}
		checkCap("ipvs", l.IPVS.Capacity, true)
	}
}

func (c *Config) resolve(p string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(c.Dir, p)
}

// Source builds the configured load source; timeout bounds each reading.
func (c *Config) Source(timeout time.Duration) LoadSource {
	l := c.Load
	switch {
	case l.Command != "":
		return &CommandSource{Argv: strings.Fields(l.Command), Timeout: timeout}
	case l.File != "":
		return &FileSource{Path: l.File}
	case l.Proc != nil:
		return &ProcSource{}
	case l.Prometheus != nil:
		return &PrometheusSource{URL: l.Prometheus.URL, Metric: l.Prometheus.Metric, Capacity: l.Prometheus.Capacity, Timeout: timeout}
	case l.Nginx != nil:
		return &NginxSource{URL: l.Nginx.URL, Capacity: l.Nginx.Capacity, Timeout: timeout}
	case l.HAProxy != nil:
		return &HAProxySource{URL: l.HAProxy.URL, Backend: l.HAProxy.Backend, Capacity: l.HAProxy.Capacity, Timeout: timeout}
	case l.IPVS != nil:
		return &IPVSSource{Service: l.IPVS.Service, Capacity: l.IPVS.Capacity}
	}
	return nil
}

// ---- state file ----

// State is what the agent keeps across restarts, as JSON in the state
// file.
type State struct {
	Seq      int64 `json:"seq"`
	Draining bool  `json:"draining"`
}

// ReadState reads the state file; a missing file is the zero state
// and exists=false.
func ReadState(path string) (st State, exists bool, err error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return State{}, false, nil
	}
	if err != nil {
		return State{}, false, err
	}
	if err := json.Unmarshal(data, &st); err != nil {
		return State{}, true, fmt.Errorf("state file %s: %v", path, err)
	}
	return st, true, nil
}

// stateLockStale is when a leftover lock file (a crashed writer) is broken.
const stateLockStale = 10 * time.Second

// updateState read-modify-writes the state file under a lock file
// (path+".lock", created exclusively) so the agent's seq updates and the
// drain command never lose each other's change. The file is replaced
// atomically (write to a temporary file, then rename).
func updateState(path string, fn func(st *State, exists bool, readErr error)) (State, error) {
	unlock, err := lockState(path)
	if err != nil {
		return State{}, err
	}
	defer unlock()
	st, exists, rerr := ReadState(path)
	fn(&st, exists, rerr)
	data, _ := json.Marshal(st)
	tmp, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".tmp*")
	if err != nil {
		return st, err
	}
	_, werr := tmp.Write(append(data, '\n'))
	if err := tmp.Sync(); werr == nil {
		werr = err
	}
	if err := tmp.Close(); werr == nil {
		werr = err
	}
	if werr == nil {
		werr = ownLikeDir(tmp.Name())
	}
	if werr == nil {
		werr = os.Rename(tmp.Name(), path)
	}
	if werr != nil {
		os.Remove(tmp.Name())
		return st, werr
	}
	return st, nil
}

// ownLikeDir gives a file written by root the owner of its folder: `sudo
// smartdns agent drain` then leaves a state file the agent's own user (a
// systemd DynamicUser owning its StateDirectory) can still read and
// replace. Other users cannot chown and need not.
func ownLikeDir(file string) error {
	if os.Geteuid() != 0 {
		return nil
	}
	fi, err := os.Stat(filepath.Dir(file))
	if err != nil {
		return err
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok || st.Uid == 0 && st.Gid == 0 {
		return nil
	}
	return os.Chown(file, int(st.Uid), int(st.Gid))
}

func lockState(path string) (func(), error) {
	lock := path + ".lock"
	deadline := time.Now().Add(3 * time.Second)
	for {
		f, err := os.OpenFile(lock, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
		if err == nil {
			fmt.Fprintf(f, "%d\n", os.Getpid())
			f.Close()
			return func() { os.Remove(lock) }, nil
		}
		if !errors.Is(err, fs.ErrExist) {
			return nil, err
		}
		if fi, serr := os.Stat(lock); serr == nil && time.Since(fi.ModTime()) > stateLockStale {
			os.Remove(lock)
			continue
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("state file %s is locked by %s", path, lock)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// SetDraining sets the draining flag in the state file, keeping the seq;
// it returns the previous flag. A running agent reports the new flag at its
// next interval.
func SetDraining(statePath string, draining bool) (was bool, err error) {
	var rerr error
	_, err = updateState(statePath, func(st *State, _ bool, e error) {
		rerr = e
		was = st.Draining
		st.Draining = draining
	})
	if err == nil && rerr != nil {
		// The old file was unreadable; it now holds the flag and seq 0, and
		// the agent's next seq is the larger of its own and the clock's.
		return was, fmt.Errorf("replaced an unreadable state file: %w", rerr)
	}
	return was, err
}

// ---- the agent ----

// Result is the outcome of one report to one nameserver.
type Result struct {
	Nameserver string // the report URL
	Seq        int64
	Status     int // the last HTTP status, 0 when none was received
	Attempts   int
	Err        error // nil when delivered
}

// Agent reports the site's load to the nameservers. Build it with New;
// the exported fields may be changed before Run or ReportOnce.
type Agent struct {
	Config *Config
	Source LoadSource
	Client *http.Client
	Logger *slog.Logger
	// Tries is how many times a report is sent to one nameserver per
	// interval (3); Backoff is the first wait between tries (500ms), doubled
	// each time, with ±25% jitter. RequestTimeout bounds each POST
	// (interval/2). All tries fit in the interval.
	Tries          int
	Backoff        time.Duration
	RequestTimeout time.Duration
	Now            func() time.Time

	mu      sync.Mutex
	lastSeq int64
	lastDr  bool
	loadBad bool
	nsState map[string]*nsHealth
}

type nsHealth struct {
	failing  bool
	failures int
}

// New builds an agent for a validated config.
func New(cfg *Config, log *slog.Logger) *Agent {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	rt := cfg.Interval / 2
	return &Agent{
		Config:         cfg,
		Source:         cfg.Source(rt),
		Client:         &http.Client{},
		Logger:         log,
		Tries:          3,
		Backoff:        500 * time.Millisecond,
		RequestTimeout: rt,
		Now:            time.Now,
	}
}

// nextState advances the persisted seq and returns it with the current
// draining flag (re-read from the state file, so `agent drain` takes effect
// at the next interval). Without a state file the seq starts at the Unix
// time in milliseconds, so a lost state file never makes seq go backwards.
func (a *Agent) nextState() (seq int64, draining bool) {
	now := a.Now().UnixMilli()
	a.mu.Lock()
	defer a.mu.Unlock()
	st, err := updateState(a.Config.State, func(st *State, exists bool, rerr error) {
		if rerr != nil {
			st.Draining = a.lastDr
		}
		next := st.Seq + 1
		if !exists || rerr != nil || st.Seq == 0 {
			next = max(next, now)
		}
		next = max(next, a.lastSeq+1)
		st.Seq = next
		if rerr != nil {
			a.Logger.Error("state file unreadable; replacing it", "state", a.Config.State, "err", rerr)
		}
	})
	if err != nil {
		// Keep reporting from memory; seq stays monotonic in this process.
		a.Logger.Error("cannot write the state file", "state", a.Config.State, "err", err)
		st = State{Seq: max(a.lastSeq+1, now), Draining: a.lastDr}
		if cur, _, rerr := ReadState(a.Config.State); rerr == nil {
			st.Draining = cur.Draining
			st.Seq = max(st.Seq, cur.Seq+1)
		}
	}
	if st.Draining != a.lastDr {
		a.Logger.Info("draining flag changed", "site", a.Config.Site, "draining", st.Draining)
	}
	a.lastSeq, a.lastDr = st.Seq, st.Draining
	return st.Seq, st.Draining
}

// build reads the load once and returns the signed body, its seq and the
// load error (nil, or the error of a source that failed: then body is nil
// unless the site is draining, which is reported with load 1 so a drain
// still reaches the nameservers when the measured service is stopped).
func (a *Agent) build(ctx context.Context) (body []byte, seq int64, err error) {
	lctx, cancel := context.WithTimeout(ctx, a.interval()/2)
	load, metrics, lerr := a.Source.Load(lctx)
	cancel()
	a.mu.Lock()
	switch {
	case lerr != nil && !a.loadBad:
		a.Logger.Warn("cannot read the load", "site", a.Config.Site, "err", lerr)
		a.loadBad = true
	case lerr == nil && a.loadBad:
		a.Logger.Info("load readable again", "site", a.Config.Site)
		a.loadBad = false
	}
	a.mu.Unlock()
	if lerr == nil && (!srcFinite(load) || load < 0 || load > 1) {
		lerr = fmt.Errorf("load %v is outside 0..1", load)
	}
	seq, draining := a.nextState()
	if lerr != nil {
		if !draining {
			return nil, seq, fmt.Errorf("load: %w", lerr)
		}
		load, metrics = 1, nil
	}
	r := loadreport.Report{
		Site: a.Config.Site, Addresses: a.Config.Addresses, Load: load, Draining: draining,
		TS: a.Now().Unix(), Seq: seq, Metrics: metrics,
	}
	body, err = json.Marshal(r)
	return body, seq, err
}

func (a *Agent) interval() time.Duration {
	if a.Config.Interval > 0 {
		return a.Config.Interval
	}
	return DefaultInterval
}

// ReportOnce reads the load once and reports it to every nameserver
// concurrently, with retries, and returns one Result per nameserver in
// config order once all are done (each bounded by the interval).
func (a *Agent) ReportOnce(ctx context.Context) []Result {
	body, seq, err := a.build(ctx)
	out := make([]Result, len(a.Config.ReportURLs))
	if body == nil {
		if err == nil {
			err = errors.New("no report built")
		}
		for i, u := range a.Config.ReportURLs {
			out[i] = Result{Nameserver: u, Seq: seq, Err: err}
		}
		return out
	}
	var wg sync.WaitGroup
	for i, u := range a.Config.ReportURLs {
		wg.Go(func() {
			dctx, cancel := context.WithTimeout(ctx, a.interval())
			defer cancel()
			out[i] = a.deliver(dctx, u, body, seq)
		})
	}
	wg.Wait()
	return out
}

// Run reports every interval until ctx ends. Each nameserver has its own
// goroutine and queue of one: a slow or down nameserver only delays its own
// reports (a newer report replaces one it has not started yet), never the
// others'.
func (a *Agent) Run(ctx context.Context) error {
	if a.Source == nil {
		return errors.New("agent: no load source")
	}
	type job struct {
		body []byte
		seq  int64
	}
	queues := make([]chan job, len(a.Config.ReportURLs))
	var wg sync.WaitGroup
	for i, u := range a.Config.ReportURLs {
		q := make(chan job, 1)
		queues[i] = q
		wg.Go(func() {
			for {
				select {
				case <-ctx.Done():
					return
				case j := <-q:
					dctx, cancel := context.WithTimeout(ctx, a.interval())
					a.deliver(dctx, u, j.body, j.seq)
					cancel()
				}
			}
		})
	}
	a.Logger.Info("agent started", "site", a.Config.Site, "nameservers", len(queues), "interval", a.interval(), "state", a.Config.State)
	t := time.NewTicker(a.interval())
	defer t.Stop()
	for {
		body, seq, err := a.build(ctx)
		if err == nil && body != nil {
			for _, q := range queues {
				select {
				case <-q: // drop the stale report the worker has not taken
				default:
				}
				q <- job{body, seq}
			}
		}
		select {
		case <-ctx.Done():
			wg.Wait()
			return nil
		case <-t.C:
		}
	}
}

// permanent statuses are not retried: the request itself is wrong.
func permanent(status int) bool {
	switch status {
	case http.StatusBadRequest, http.StatusUnauthorized, http.StatusForbidden,
		http.StatusRequestEntityTooLarge, http.StatusConflict:
		return true
	}
	return status >= 400 && status < 500 && status != http.StatusTooManyRequests && status != http.StatusRequestTimeout
}

// deliver POSTs body to u, retrying network errors, 5xx, 408 and 429 with
// exponential backoff and jitter while ctx allows. The same body (same seq
// and ts) is resent: a 409 on a retry means an earlier try did arrive, so it
// counts as delivered.
func (a *Agent) deliver(ctx context.Context, u string, body []byte, seq int64) Result {
	res := Result{Nameserver: u, Seq: seq}
	tries := max(a.Tries, 1)
	wait := a.Backoff
	if wait <= 0 {
		wait = 500 * time.Millisecond
	}
	var err error
	for res.Attempts < tries {
		res.Attempts++
		var status int
		status, err = a.post(ctx, u, body)
		res.Status = status
		switch {
		case err == nil && status >= 200 && status < 300:
			err = nil
		case err == nil && status == http.StatusConflict && res.Attempts > 1:
			err = nil // an earlier try arrived; this one is its replay
		case err == nil:
			err = fmt.Errorf("HTTP %d", status)
		}
		if err == nil || permanent(status) || res.Attempts == tries {
			break
		}
		d := wait + time.Duration((rand.Float64()-0.5)*0.5*float64(wait))
		wait *= 2
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < d {
			break // no time left in this interval; the next report follows
		}
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
		case <-t.C:
		}
		if ctx.Err() != nil {
			break
		}
	}
	res.Err = err
	a.noteHealth(res)
	return res
}

func (a *Agent) post(ctx context.Context, u string, body []byte) (int, error) {
	rt := a.RequestTimeout
	if rt <= 0 {
		rt = a.interval() / 2
	}
	rctx, cancel := context.WithTimeout(ctx, rt)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(loadreport.SignatureHeader, loadreport.Sign(body, a.Config.KeyBytes))
	client := a.Client
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	return resp.StatusCode, nil
}

// noteHealth logs a nameserver's failure once per failure streak, and its
// recovery.
func (a *Agent) noteHealth(r Result) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.nsState == nil {
		a.nsState = map[string]*nsHealth{}
	}
	h := a.nsState[r.Nameserver]
	if h == nil {
		h = &nsHealth{}
		a.nsState[r.Nameserver] = h
	}
	if r.Err != nil {
		h.failures++
		if !h.failing {
			h.failing = true
			a.Logger.Warn("report failed", "nameserver", r.Nameserver, "status", r.Status, "attempts", r.Attempts, "seq", r.Seq, "err", r.Err)
		}
		return
	}
	if h.failing {
		a.Logger.Info("report delivered again", "nameserver", r.Nameserver, "status", r.Status, "failed_reports", h.failures)
	}
	h.failing, h.failures = false, 0
}
