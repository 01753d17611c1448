package pool

import (
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"
)

// Check says how a value is health-checked: octoDNS's `octodns.healthcheck`
// and smartdns's `octodns.smartdns.healthcheck` resolved for one value.
// Values with equal checks share one prober (Key).
type Check struct {
	Protocol string // HTTP, HTTPS, TCP, UDP, ICMP or DNS
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
	// Payload is the datagram a UDP check sends (it may be empty), and
	// ExpectReply a text its reply must hold ("": any reply is up).
	Payload     string
	ExpectReply string
}

// Key identifies the check: two values whose checks have the same key are
// one target, probed once.
func (c *Check) Key() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s|%s|%d|%s|%s|%s|%s|%d|%d|%v|%q|%v|%s|%d", c.Protocol, c.Address, c.Port, c.Host, c.Path,
		c.Interval, c.Timeout, c.Rise, c.Fall, c.ExpectStatus, c.ExpectBody, c.TLSVerify, c.DNSName, c.DNSType)
	// Only when set, so that the keys of the other checks, which name
	// their saved states in the state file, are those of older versions.
	if c.Payload != "" || c.ExpectReply != "" {
		fmt.Fprintf(&b, "|udp=%q,%q", c.Payload, c.ExpectReply)
	}
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
// loadreport/receiver publishes it: the raw ingredients only. Each record turns
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
