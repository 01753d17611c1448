package pool

import (
	"math"
	"math/rand/v2"
	"net/netip"
	"sync/atomic"
	"time"

	"github.com/smartdns/smartdns/geo"
)

// Status is a value's configured status (octoDNS `status`).
type Status uint8

const (
	// Obey serves the value while its health check says it is up (until
	// health checks exist, always).
	Obey Status = iota
	// Up always serves the value.
	Up
	// Down never serves it.
	Down
)

func (s Status) String() string { return [...]string{"obey", "up", "down"}[s] }

// Policy chooses among the values of a pool that are up.
type Policy uint8

const (
	// Weighted picks at random in proportion to weight (octoDNS).
	Weighted Policy = iota
	// Priority picks the first values that are up, in the order listed:
	// failover inside a pool.
	Priority
	// Sticky picks by weighted rendezvous hashing of the client's /24
	// (IPv4) or /56 (IPv6): a client keeps its value while it is up, and
	// removing a value moves only the clients that were on it.
	Sticky
	// Closest picks the values nearest to the client's coordinates by
	// great-circle distance.
	Closest
	// LeastLoaded weights each value by the headroom its site reports:
	// weight × (1 − smoothed load), ramped up over SlowStart after a site
	// returns; values above the shed watermark leave the rotation.
	LeastLoaded
)

func (p Policy) String() string {
	return [...]string{"weighted", "priority", "sticky", "closest", "least-loaded"}[p]
}

// Exhausted says what to answer when a pool and its fallbacks have no value
// up.
type Exhausted uint8

const (
	// ExhaustBackup serves the record's own values (octoDNS's behaviour).
	ExhaustBackup Exhausted = iota
	// ExhaustNoData answers NODATA: fail closed.
	ExhaustNoData
	// ExhaustAll serves every value of the matched pool, ignoring health:
	// fail open.
	ExhaustAll
)

func (e Exhausted) String() string { return [...]string{"backup", "nodata", "all"}[e] }

// MaxAnswers bounds `answers: N`.
const MaxAnswers = 16

// Value is one value of a pool.
type Value struct {
	// Text is the value as written ("192.0.2.1", "www.example.com.").
	Text string
	// Rdata is its wire-form RDATA, prepared at load time.
	Rdata  []byte
	Weight uint32 // 1..100
	Status Status
	// Member is the value's id in the Members registry that health (and
	// later load) are published under; -1 when it is not probed.
	Member int
	// Check is how the value is probed; nil when it is not (status up or
	// down, or probing off).
	Check *Check
	// Lat and Lon locate the value for the closest policy.
	Lat, Lon    float64
	HasLocation bool
	// key identifies the value for rendezvous hashing.
	key uint64
	// shed holds the value's shed state between queries (the watermarks'
	// hysteresis), read and written atomically on the query path.
	shed uint32
	// answers counts the answers that carried the value (see Tally); nil
	// when nothing counts.
	answers *atomic.Uint64
}

// Pool is a named set of values with an optional fallback.
type Pool struct {
	Name   string
	Values []Value
	// Fallback is the index of the pool tried when none of this pool's
	// values is up; -1 for none.
	Fallback int
}

// Rule sends matching clients to a pool. A rule with no subnets, geos or
// ASNs matches every client (the catch-all).
type Rule struct {
	Pool    int
	Subnets []netip.Prefix
	Geos    []geo.Code
	ASNs    []uint32
}

// CatchAll reports whether the rule matches every client.
func (r *Rule) CatchAll() bool { return len(r.Subnets) == 0 && len(r.Geos) == 0 && len(r.ASNs) == 0 }

// Record is a compiled dynamic record.
type Record struct {
	Type  uint16
	TTL   uint32
	Pools []Pool
	Rules []Rule
	// Backup holds the record's own values, served when a chain is
	// exhausted under ExhaustBackup.
	Backup    []Value
	Answers   int // values per answer, 1..MaxAnswers
	Policy    Policy
	Exhausted Exhausted
	// ShedHigh and ShedLow are the least-loaded watermarks: a value whose
	// smoothed load goes above ShedHigh leaves the rotation until it is
	// back under ShedLow (defaults 0.9 and 0.8).
	ShedHigh, ShedLow float64
	// SlowStart is how long a returning site's weight takes to ramp up to
	// full (default 30s).
	SlowStart time.Duration

	// probed lists the record's probed values (member and probe interval
	// in seconds), for the TTL cap while one is down.
	probed []probedMember
}

type probedMember struct {
	member   int
	interval uint32
}

// Prepare fills derived fields once the record is built; zones calls it
// at load time.
func (r *Record) Prepare() {
	if r.Answers < 1 {
		r.Answers = 1
	}
	w := Watermarks{r.ShedHigh, r.ShedLow}.OrDefault()
	r.ShedHigh, r.ShedLow = w.High, w.Low
	if r.SlowStart <= 0 {
		r.SlowStart = DefaultSlowStart
	}
	if r.Answers > MaxAnswers {
		r.Answers = MaxAnswers
	}
	r.probed = nil
	seen := map[int]bool{}
	for p := range r.Pools {
		for i := range r.Pools[p].Values {
			v := &r.Pools[p].Values[i]
			v.key = hashString(v.Text)
			if v.Member >= 0 && v.Check != nil && v.Status == Obey && !seen[v.Member] {
				seen[v.Member] = true
				r.probed = append(r.probed, probedMember{v.Member, uint32(max(1, v.Check.Interval/time.Second))})
			}
		}
	}
}

// TTLCap returns the TTL an answer of this record may carry: the record's
// own, or, while any value it could answer is down, no more than that
// value's probe interval, so resolvers come back soon after a recovery.
func (r *Record) TTLCap(h Health) uint32 {
	ttl := r.TTL
	if h == nil {
		return ttl
	}
	for _, m := range r.probed {
		if !h.Up(m.member) && m.interval < ttl {
			ttl = m.interval
		}
	}
	return ttl
}

// needsGeo reports whether answering needs the client's location.
func (r *Record) needsGeo() bool {
	if r.Policy == Closest {
		return true
	}
	for i := range r.Rules {
		if len(r.Rules[i].Geos) > 0 || len(r.Rules[i].ASNs) > 0 {
			return true
		}
	}
	return false
}

// Client is who an answer is for: the EDNS Client Subnet when the query
// had one, else the query's source address.
type Client struct {
	Addr netip.Addr // unmapped
	Bits int        // source prefix length (32 or 128 for a plain address)
}

// Locator finds where an address is.
type Locator interface {
	Lookup(netip.Addr) geo.Location
}

// Health tells whether a member is up. A nil Health counts everything up.
type Health interface {
	Up(member int) bool
}

// Answer is the outcome of a pick.
type Answer struct {
	// Rule is the index of the rule that matched, -1 when none did.
	Rule int
	// Pools are the pools tried, in order (the rule's, then fallbacks).
	Pools  [8]int
	NPools int
	// Pool is the pool answered from, -1 when the answer is the backup
	// values or NODATA.
	Pool int
	// Values are the chosen values.
	Values [MaxAnswers]*Value
	N      int
	Backup bool // the chain was exhausted: backup values
	NoData bool // the chain was exhausted: NODATA
	All    bool // the chain was exhausted: every value, ignoring health
	// Scope is the ECS SCOPE PREFIX-LENGTH: the widest prefix of the
	// client's address over which this answer cannot change.
	Scope int
	// Location is the client's location when it was looked up.
	Location    geo.Location
	HasLocation bool
}

// Pick answers the record for client c.
func (r *Record) Pick(c Client, loc Locator, h Health, a *Answer) {
	*a = Answer{Rule: -1, Pool: -1}
	if r.needsGeo() && loc != nil && c.Addr.IsValid() {
		a.Location = loc.Lookup(c.Addr)
		a.HasLocation = true
	}
	// Which rule: subnets, then geos, then ASNs; the first that matches.
	scope := 0
	rule := -1
	for i := range r.Rules {
		ru := &r.Rules[i]
		if ru.CatchAll() {
			rule = i
			break
		}
		if matchRule(ru, c, a, &scope) {
			rule = i
			break
		}
	}
	a.Rule = rule
	if rule < 0 {
		// No rule matched (no catch-all): as octoDNS, the record's values.
		r.exhausted(-1, a, overridesOf(h))
		a.Scope = capScope(scope, c)
		return
	}
	switch r.Policy {
	case Sticky:
		scope = max(scope, stickyBits(c.Addr))
	case Closest:
		// The database network decides, with or without coordinates: a
		// client without them gets a weighted answer that must not be
		// cached for the clients of networks that have them.
		if a.HasLocation {
			scope = max(scope, a.Location.Prefix)
		}
	}
	a.Scope = capScope(scope, c)

	var visited uint64
	for p := r.Rules[rule].Pool; p >= 0; p = r.Pools[p].Fallback {
		if p < 64 {
			if visited&(1<<p) != 0 {
				break // a loop: validation forbids it, but never spin
			}
			visited |= 1 << p
		}
		if a.NPools < len(a.Pools) {
			a.Pools[a.NPools] = p
			a.NPools++
		}
		if r.choose(&r.Pools[p], c, h, a) {
			a.Pool = p
			return
		}
	}
	r.exhausted(r.Rules[rule].Pool, a, overridesOf(h))
}

// matchRule tests one rule, widening scope by what the test depended on.
func matchRule(ru *Rule, c Client, a *Answer, scope *int) bool {
	for _, p := range ru.Subnets {
		if p.Addr().Is4() != c.Addr.Is4() {
			continue // another family: never matches, whatever the client's bits
		}
		// Membership in p is the same for every address of the client's
		// /p.Bits() network, so the decision holds over that prefix.
		*scope = max(*scope, p.Bits())
		if p.Contains(c.Addr) {
			return true
		}
	}
	if len(ru.Geos) > 0 && a.HasLocation {
		*scope = max(*scope, a.Location.Prefix)
		for _, g := range ru.Geos {
			if g.Match(a.Location) {
				return true
			}
		}
	}
	if len(ru.ASNs) > 0 && a.HasLocation {
		*scope = max(*scope, a.Location.ASNPrefix)
		for _, asn := range ru.ASNs {
			if a.Location.ASN != 0 && a.Location.ASN == asn {
				return true
			}
		}
	}
	return false
}

func capScope(scope int, c Client) int {
	full := 128
	if c.Addr.Is4() {
		full = 32
	}
	return min(scope, full)
}

func stickyBits(ip netip.Addr) int {
	if ip.Is4() {
		return 24
	}
	return 56
}

// up reports whether a value may be served: an operator's override first,
// then the zone's status, then health.
func up(v *Value, h Health, ov map[string]Status) bool {
	if o, ok := ov[v.Text]; ok {
		return o == Up
	}
	switch v.Status {
	case Up:
		return true
	case Down:
		return false
	}
	return h == nil || v.Member < 0 || h.Up(v.Member)
}

// exhausted fills the answer for a chain with nothing up. Health does not
// count here, but the operator's override down does: a value taken out by
// hand stays out of every answer (NODATA if nothing else is left).
func (r *Record) exhausted(first int, a *Answer, ov map[string]Status) {
	add := func(vs []Value) {
		for i := range vs {
			if o, ok := ov[vs[i].Text]; ok && o == Down {
				continue
			}
			if a.N < len(a.Values) {
				a.Values[a.N] = &vs[i]
				a.N++
			}
		}
	}
	switch {
	case r.Exhausted == ExhaustNoData:
		a.NoData = true
	case r.Exhausted == ExhaustAll && first >= 0:
		a.All = true
		a.Pool = first
		add(r.Pools[first].Values)
	default:
		a.Backup = true
		add(r.Backup)
	}
	if a.N == 0 && !a.NoData {
		a.NoData = true
	}
}

// choose picks up to r.Answers values of pool p that are up; false when
// none is. A value whose site reports draining is out, as if down, under
// every policy; under least-loaded, reports also set the weights and shed
// overloaded values.
func (r *Record) choose(p *Pool, c Client, h Health, a *Answer) bool {
	var cand [64]*Value
	var weight [64]float64
	loads, _ := h.(Loads)
	ov := overridesOf(h)
	n, shed, allShed := 0, 0, true
	var now time.Time
	for i := range p.Values {
		v := &p.Values[i]
		if n+shed == len(cand) || !up(v, h, ov) {
			allShed = false
			continue
		}
		w := float64(max(v.Weight, 1))
		isShed := false
		if _, forced := ov[v.Text]; loads != nil && !forced {
			// An override up beats the reports: static weight, no
			// draining, no shedding.
			if l, ok := loads.Load(v.Text); ok && l.Fresh {
				if l.Draining {
					allShed = false
					continue
				}
				if r.Policy == LeastLoaded {
					if now.IsZero() {
						now = time.Now()
					}
					w *= r.factor(l, now)
					isShed = r.shedState(v, l.Smoothed)
				}
			}
		}
		if !isShed {
			allShed = false
		}
		if isShed {
			// Shed values go to the end of the candidate list.
			shed++
			cand[len(cand)-shed], weight[len(cand)-shed] = v, w
			continue
		}
		cand[n], weight[n] = v, w
		n++
	}
	if n == 0 {
		if shed == 0 || !allShed {
			return false // nothing to serve: fall back like a pool that is down
		}
		// Every value of the pool is above the watermark: they all serve,
		// weighted by their headroom.
		copy(cand[:shed], cand[len(cand)-shed:])
		copy(weight[:shed], weight[len(cand)-shed:])
		n = shed
	}
	want := min(r.Answers, n)
	switch r.Policy {
	case Priority:
		copy(a.Values[:], cand[:want])
	case Sticky:
		topByScore(cand[:n], want, a, func(v *Value) float64 {
			return rendezvous(clientKey(c.Addr), v.key, v.Weight)
		})
	case Closest:
		if a.HasLocation && a.Location.HasCoords {
			lat, lon := a.Location.Lat, a.Location.Lon
			topByScore(cand[:n], want, a, func(v *Value) float64 {
				if !v.HasLocation {
					return math.Inf(-1)
				}
				return -distance(lat, lon, v.Lat, v.Lon)
			})
			break
		}
		fallthrough // no coordinates for the client: weighted
	default:
		if want == 1 {
			a.Values[0] = cand[weightedIndex(weight[:n])]
		} else {
			// A weighted shuffle (Efraimidis-Spirakis): key u^(1/w).
			var keys [64]float64
			for i := 0; i < n; i++ {
				keys[i] = math.Log(rand.Float64()+math.SmallestNonzeroFloat64) / weight[i]
			}
			i := 0 // topByScore scores the candidates once each, in order
			topByScore(cand[:n], want, a, func(*Value) float64 { k := keys[i]; i++; return k })
		}
	}
	a.N = want
	return true
}

// factor is the least-loaded multiplier of a value's static weight.
func (r *Record) factor(l Load, now time.Time) float64 {
	return Factor(l.Smoothed, l.Returned, now, r.SlowStart)
}

// shedState applies the watermarks' hysteresis: a value goes out above
// ShedHigh and comes back under ShedLow. The state lives on the value and
// is updated with atomics: the query path takes no lock.
func (r *Record) shedState(v *Value, load float64) bool {
	was := atomic.LoadUint32(&v.shed) == 1
	now := Watermarks{r.ShedHigh, r.ShedLow}.Shed(was, load)
	switch {
	case now && !was:
		atomic.StoreUint32(&v.shed, 1)
	case !now && was:
		atomic.StoreUint32(&v.shed, 0)
	}
	return now
}

// weightedIndex picks an index with probability weight/total.
func weightedIndex(w []float64) int {
	var total float64
	for _, x := range w {
		total += x
	}
	x := rand.Float64() * total
	for i, y := range w {
		if x < y {
			return i
		}
		x -= y
	}
	return len(w) - 1
}

// topByScore puts the want highest-scoring candidates into a.Values, best
// first (a selection sort: pools are small).
func topByScore(cand []*Value, want int, a *Answer, score func(*Value) float64) {
	var scores [64]float64
	for i, v := range cand {
		scores[i] = score(v)
	}
	for k := 0; k < want; k++ {
		best := k
		for i := k + 1; i < len(cand); i++ {
			if scores[i] > scores[best] {
				best = i
			}
		}
		cand[k], cand[best] = cand[best], cand[k]
		scores[k], scores[best] = scores[best], scores[k]
		a.Values[k] = cand[k]
	}
}

// clientKey hashes the client's /24 or /56, the unit sticky answers keep.
func clientKey(ip netip.Addr) uint64 {
	p, _ := ip.Prefix(stickyBits(ip))
	b := p.Addr().As16()
	h := uint64(14695981039346656037)
	for _, x := range b {
		h ^= uint64(x)
		h *= 1099511628211
	}
	return h
}

// rendezvous is the weighted rendezvous (highest random weight) score:
// -w / ln(u) with u uniform in (0,1) from hashing client and value
// together (Schindelhauer and Schomaker's logarithmic method).
func rendezvous(client, value uint64, weight uint32) float64 {
	h := mix64(client ^ mix64(value))
	u := (float64(h>>11) + 0.5) / (1 << 53)
	return -float64(max(weight, 1)) / math.Log(u)
}

// mix64 is the splitmix64 finalizer.
func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

func hashString(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return mix64(h)
}

// distance is the great-circle distance in kilometres (haversine).
func distance(lat1, lon1, lat2, lon2 float64) float64 {
	const r = 6371.0
	rad := math.Pi / 180
	dlat := (lat2 - lat1) * rad
	dlon := (lon2 - lon1) * rad
	s := math.Sin(dlat/2)*math.Sin(dlat/2) + math.Cos(lat1*rad)*math.Cos(lat2*rad)*math.Sin(dlon/2)*math.Sin(dlon/2)
	return 2 * r * math.Asin(math.Min(1, math.Sqrt(s)))
}
