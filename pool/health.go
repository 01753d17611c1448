package pool

import (
	"fmt"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Check says how a value is health-checked: octoDNS's `octodns.healthcheck`
// and smartdns's `octodns.smartdns.healthcheck` resolved for one value.
// Values with equal checks share one prober (Key).
type Check struct {
	Protocol string // HTTP, HTTPS, TCP, ICMP or DNS
	// Address is the value probed: an IP address (A/AAAA values) or a
	// host name (CNAME values, resolved by the prober).
	Address string
	Port    int
	// Host is the HTTP Host header and TLS SNI (HTTPS); "" sends the
	// address itself (octoDNS `host: null`).
	Host         string
	Path         string
	Interval     time.Duration
	Timeout      time.Duration
	Rise, Fall   int
	ExpectStatus []int
	ExpectBody   string
	TLSVerify    bool
	Headers      map[string]string
	// DNSName and DNSType are what a DNS probe asks for.
	DNSName string
	DNSType uint16
}

// Key identifies the check: two values whose checks have the same key are
// one target, probed once.
func (c *Check) Key() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s|%s|%d|%s|%s|%s|%s|%d|%d|%v|%q|%v|%s|%d", c.Protocol, c.Address, c.Port, c.Host, c.Path,
		c.Interval, c.Timeout, c.Rise, c.Fall, c.ExpectStatus, c.ExpectBody, c.TLSVerify, c.DNSName, c.DNSType)
	keys := make([]string, 0, len(c.Headers))
	for k := range c.Headers {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(&b, "|%q=%q", k, c.Headers[k])
	}
	return b.String()
}

// State is a member's health.
type State uint8

const (
	// Unknown: no result yet. It counts as up, so that a new or restarted
	// server answers with every value rather than with none; the first
	// probe of a new target runs at once.
	Unknown State = iota
	// Healthy: the last `rise` checks succeeded (or it never went down).
	Healthy
	// Unhealthy: the last `fall` checks failed.
	Unhealthy
)

func (s State) String() string { return [...]string{"unknown", "up", "down"}[s] }

// Members gives every distinct Check a small integer id, stable for the
// life of the process, so that compiled zones (which outlive reloads) and
// the health table agree on who is who without sharing maps on the query
// path. One Members is owned by the server and passed to the compiler.
type Members struct {
	mu     sync.Mutex
	ids    map[string]int
	checks []*Check
}

// ID returns the id of c's target, assigning one the first time.
func (m *Members) ID(c *Check) int {
	k := c.Key()
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.ids == nil {
		m.ids = map[string]int{}
	}
	if id, ok := m.ids[k]; ok {
		return id
	}
	id := len(m.checks)
	m.ids[k] = id
	m.checks = append(m.checks, c)
	return id
}

// Check returns the check of member id.
func (m *Members) Check(id int) *Check {
	m.mu.Lock()
	defer m.mu.Unlock()
	if id < 0 || id >= len(m.checks) {
		return nil
	}
	return m.checks[id]
}

// Load is what the sites' reports say about one address, as package
// loadreport publishes it: the raw ingredients only. Each record turns
// them into its own weight factor and shed state (its watermarks and slow
// start are its own): see Factor and Watermarks.
type Load struct {
	// Fresh: a report younger than reports.stale_after covers the address.
	// A value without a fresh report keeps its static weight.
	Fresh bool
	// Draining takes the value out at once, as if it were down.
	Draining bool
	// Smoothed is the smoothed load (0..1).
	Smoothed float64
	// Site names the reporting site.
	Site string
	// Returned is when the site last came back to serving (from draining,
	// stale or unknown); zero if it never was away. Records ramp its
	// weight up over their slow_start from then.
	Returned time.Time
}

// tableData is one published generation of health, load and overrides.
type tableData struct {
	states    []State
	loads     map[string]Load
	overrides map[string]Status
}

// HealthTable publishes member states and site loads for the query path:
// immutable data swapped atomically by the probers and the report
// receiver, read with one atomic load. The zero value counts every member
// up and knows no load.
type HealthTable struct {
	mu  sync.Mutex // writers only: probers and the report receiver
	cur atomic.Pointer[tableData]
}

// Publish replaces the member states (indexed by member id).
func (t *HealthTable) Publish(states []State) {
	t.update(func(d *tableData) { d.states = states })
}

// PublishLoads replaces the loads (by address, in netip.Addr.String form).
func (t *HealthTable) PublishLoads(loads map[string]Load) {
	t.update(func(d *tableData) { d.loads = loads })
}

// PublishOverrides replaces the operator's runtime overrides, by value
// (an address in netip.Addr.String form, or a lower-case absolute host
// name): Up serves the value whatever its health and load say, Down never
// serves it. A value without an entry obeys its zone.
func (t *HealthTable) PublishOverrides(o map[string]Status) {
	if len(o) == 0 {
		o = nil
	}
	t.update(func(d *tableData) { d.overrides = o })
}

// update publishes a copy of the current generation with one part
// replaced by set; writers are serialised, readers never wait.
func (t *HealthTable) update(set func(*tableData)) {
	t.mu.Lock()
	defer t.mu.Unlock()
	d := &tableData{}
	if old := t.cur.Load(); old != nil {
		*d = *old
	}
	set(d)
	t.cur.Store(d)
}

// Overrides returns the runtime overrides in force (nil when none); the
// map must not be modified.
func (t *HealthTable) Overrides() map[string]Status {
	if d := t.cur.Load(); d != nil {
		return d.overrides
	}
	return nil
}

// State returns a member's state.
func (t *HealthTable) State(member int) State {
	d := t.cur.Load()
	if d == nil || member < 0 || member >= len(d.states) {
		return Unknown
	}
	return d.states[member]
}

// Up reports whether a member may be served: healthy or not yet known.
func (t *HealthTable) Up(member int) bool { return t.State(member) != Unhealthy }

// Load returns what the reports say about an address.
func (t *HealthTable) Load(addr string) (Load, bool) {
	d := t.cur.Load()
	if d == nil || d.loads == nil {
		return Load{}, false
	}
	l, ok := d.loads[addr]
	return l, ok
}

// Loads is implemented by a Health that also knows site loads.
type Loads interface {
	Load(addr string) (Load, bool)
}

// Overrider is implemented by a Health that also carries the operator's
// runtime overrides (see HealthTable.PublishOverrides).
type Overrider interface {
	Overrides() map[string]Status
}

// overridesOf returns h's overrides, nil when it has none.
func overridesOf(h Health) map[string]Status {
	if o, ok := h.(Overrider); ok {
		return o.Overrides()
	}
	return nil
}
