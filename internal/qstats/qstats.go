// Package qstats holds the query counters the answer path adds to and the
// metrics endpoint reads: queries by zone, type, rcode and transport, EDNS
// Client Subnet use, and answer latency. Every counter is a fixed array of
// atomics prepared before the query arrives, so counting a query is a few
// atomic adds: no map, no lock, no allocation.
package qstats

import (
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// Types are the query types counted on their own; every other type is
// counted as "other". Indexes are positions in this list.
var Types = [...]string{"A", "NS", "CNAME", "SOA", "PTR", "MX", "TXT", "AAAA", "SRV", "NAPTR", "DS", "DNSKEY", "SVCB", "HTTPS", "CAA", "ANY", "other"}

var typeCodes = [...]uint16{1, 2, 5, 6, 12, 15, 16, 28, 33, 35, 43, 48, 64, 65, 257, 255}

// Rcodes are the response codes counted on their own, the last "other".
var Rcodes = [...]string{"NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED", "YXDOMAIN", "BADVERS", "other"}

var rcodeCodes = [...]int{0, 1, 2, 3, 4, 5, 6, 16}

// Transports are "udp" and "tcp", indexed by TCP being 1.
var Transports = [...]string{"udp", "tcp"}

// typeIndex maps a qtype to its index in Types.
var typeIndex = func() (m [256]uint8) {
	for i := range m {
		m[i] = uint8(len(Types) - 1)
	}
	for i, c := range typeCodes {
		if c < 256 {
			m[c] = uint8(i)
		}
	}
	return m
}()

// TypeIndex returns qtype's index in Types.
func TypeIndex(qtype uint16) int {
	if qtype < 256 {
		return int(typeIndex[qtype])
	}
	for i, c := range typeCodes {
		if c == qtype {
			return i
		}
	}
	return len(Types) - 1
}

// RcodeIndex returns rcode's index in Rcodes.
func RcodeIndex(rcode int) int {
	for i, c := range rcodeCodes {
		if c == rcode {
			return i
		}
	}
	return len(Rcodes) - 1
}

// Counts are the query counters of one zone.
type Counts struct {
	n [len(Types)][len(Rcodes)][2]atomic.Uint64
}

// Add counts one query.
func (c *Counts) Add(qtype uint16, rcode int, tcp bool) {
	t := 0
	if tcp {
		t = 1
	}
	c.n[TypeIndex(qtype)][RcodeIndex(rcode)][t].Add(1)
}

// Each calls f for every non-zero counter.
func (c *Counts) Each(f func(qtype, rcode, transport string, n uint64)) {
	for i := range c.n {
		for j := range c.n[i] {
			for k := range c.n[i][j] {
				if n := c.n[i][j][k].Load(); n > 0 {
					f(Types[i], Rcodes[j], Transports[k], n)
				}
			}
		}
	}
}

// ECS outcomes of a query, as counted.
const (
	ECSNone    = iota // no ECS option
	ECSUsed           // an ECS option, honoured
	ECSScoped         // honoured, and the answer depended on it (scope > 0)
	ECSIgnored        // an ECS option, ignored (`ecs: false`)
	ECSInvalid        // a malformed ECS option (FORMERR)
	ecsN
)

// ECSResults names the ECS outcomes, by index.
var ECSResults = [...]string{"none", "used", "scoped", "ignored", "invalid"}

// LatencyBuckets are the upper bounds of the latency histogram, in seconds.
var LatencyBuckets = []float64{10e-6, 25e-6, 50e-6, 100e-6, 250e-6, 500e-6, 1e-3, 2.5e-3, 5e-3, 10e-3, 25e-3, 50e-3, 100e-3}

// Histogram is a latency histogram with LatencyBuckets.
type Histogram struct {
	buckets [14]atomic.Uint64 // len(LatencyBuckets)+1, the last +Inf
	sumNs   atomic.Uint64
}

var bucketNs = func() (b [13]int64) {
	for i, s := range LatencyBuckets {
		b[i] = int64(s * 1e9)
	}
	return
}()

// Observe counts one answer that took d.
func (h *Histogram) Observe(d time.Duration) {
	i := 0
	for i < len(bucketNs) && int64(d) > bucketNs[i] {
		i++
	}
	h.buckets[i].Add(1)
	if d > 0 {
		h.sumNs.Add(uint64(d))
	}
}

// Read returns the cumulative bucket counts (by upper bound), the count
// and the sum in seconds, as Prometheus wants them.
func (h *Histogram) Read() (buckets map[float64]uint64, count uint64, sum float64) {
	buckets = make(map[float64]uint64, len(LatencyBuckets))
	for i, ub := range LatencyBuckets {
		count += h.buckets[i].Load()
		buckets[ub] = count
	}
	count += h.buckets[len(LatencyBuckets)].Load()
	return buckets, count, float64(h.sumNs.Load()) / 1e9
}

// Registry holds the counters of every zone, kept across reloads so that
// counters never go back, plus those of queries outside any zone.
type Registry struct {
	mu    sync.Mutex
	zones map[string]*Counts
	// retired counts the queries of zones Retain dropped.
	retired uint64
	// NoZone counts queries answered for no zone of ours: REFUSED, and
	// malformed queries.
	NoZone Counts
	ecs    [ecsN]atomic.Uint64
	// lastNone is the last ECSNone count read (see ECSCount).
	lastNone atomic.Uint64
	// Latency is the time from reading a query to writing its answer, by
	// transport: these, plus the workers' own (WorkerLatency).
	Latency [2]Histogram
	workers [2][]*Histogram // guarded by mu
}

// WorkerLatency returns a latency histogram for one worker of the
// transport (0 UDP, 1 TCP) to observe into alone: a histogram every
// worker adds to is a cache line the cores fight over. ReadLatency sums
// them all.
func (r *Registry) WorkerLatency(transport int) *Histogram {
	h := &Histogram{}
	r.mu.Lock()
	r.workers[transport] = append(r.workers[transport], h)
	r.mu.Unlock()
	return h
}

// ReadLatency reads the transport's latency over Latency and every
// worker's histogram, as Histogram.Read does.
func (r *Registry) ReadLatency(transport int) (buckets map[float64]uint64, count uint64, sum float64) {
	buckets, count, sum = r.Latency[transport].Read()
	r.mu.Lock()
	hs := r.workers[transport]
	r.mu.Unlock()
	for _, h := range hs {
		b, n, s := h.Read()
		for ub, c := range b {
			buckets[ub] += c
		}
		count += n
		sum += s
	}
	return buckets, count, sum
}

// Zone returns the counters of the zone with this origin (lower-case,
// presentation form), making them on first use. A nil Registry returns nil.
func (r *Registry) Zone(origin string) *Counts {
	if r == nil {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.zones == nil {
		r.zones = map[string]*Counts{}
	}
	c := r.zones[origin]
	if c == nil {
		c = &Counts{}
		r.zones[origin] = c
	}
	return c
}

// Zones returns the origins with counters, sorted.
func (r *Registry) Zones() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]string, 0, len(r.zones))
	for z := range r.zones {
		out = append(out, z)
	}
	sort.Strings(out)
	return out
}

// ECS counts one query's ECS outcome. ECSNone, the outcome of nearly
// every query, is not counted here (one counter every query adds to is a
// cache line both cores fight over): ECSCount derives it.
func (r *Registry) ECS(result int) {
	if result != ECSNone {
		r.ecs[result].Add(1)
	}
}

// ECSCount returns the count of one ECS outcome. ECSNone is every query
// counted minus those with an ECS option, kept from going backwards when
// a query is read in one count and not yet in the other.
func (r *Registry) ECSCount(result int) uint64 {
	if result != ECSNone {
		return r.ecs[result].Load()
	}
	var with uint64
	for i := range r.ecs {
		with += r.ecs[i].Load()
	}
	total := r.total()
	none := uint64(0)
	if total > with {
		none = total - with
	}
	for {
		last := r.lastNone.Load()
		if none <= last {
			return last
		}
		if r.lastNone.CompareAndSwap(last, none) {
			return none
		}
	}
}

// total is every query counted, in every zone and in none.
func (r *Registry) total() uint64 {
	n := r.NoZone.sum()
	r.mu.Lock()
	for _, c := range r.zones {
		n += c.sum()
	}
	n += r.retired
	r.mu.Unlock()
	return n
}

// sum is every query counted in c.
func (c *Counts) sum() uint64 {
	var n uint64
	for i := range c.n {
		for j := range c.n[i] {
			for k := range c.n[i][j] {
				n += c.n[i][j][k].Load()
			}
		}
	}
	return n
}

// Retain forgets the counters of zones keep rejects (zones no longer
// served), so that their series leave the metrics.
func (r *Registry) Retain(keep func(origin string) bool) {
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for z, c := range r.zones {
		if !keep(z) {
			r.retired += c.sum() // still counted in the derived ECSNone
			delete(r.zones, z)
		}
	}
}
