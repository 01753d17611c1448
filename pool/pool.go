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
	// Member is the value's id in the Members registry, under which a
	// View holds its health; -1 when it is not probed.
	Member int
	// Check is how the value is probed; nil when it is not (status up or
	// down, or probing off).
	Check *Check
	// Lat and Lon locate the value for the closest policy.
	Lat, Lon    float64
	HasLocation bool
	// key identifies the value for rendezvous hashing.
	key uint64
	// addr is 1 + the value's address id (its Text in the process-wide
	// registry), under which a View keeps its override, load and shed
	// state; 0 until Prepare.
	addr int32
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

	// pair is the id of the record's watermarks in the process-wide
	// registry, under which a View keeps the shed hysteresis.
	pair int32

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
	r.pair = watermarkIDs.id(w)
	if r.SlowStart <= 0 {
		r.SlowStart = DefaultSlowStart
	}
	if r.Answers > MaxAnswers {
		r.Answers = MaxAnswers
	}
	r.probed = nil
	seen := map[int]bool{}
	for i := range r.Backup {
		r.Backup[i].addr = addrIDs.id(r.Backup[i].Text) + 1
	}
	for p := range r.Pools {
		for i := range r.Pools[p].Values {
			v := &r.Pools[p].Values[i]
			v.key = hashString(v.Text)
			v.addr = addrIDs.id(v.Text) + 1
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
func (r *Record) TTLCap(v *View) uint32 {
	ttl := r.TTL
	if v == nil {
		return ttl
	}
	for _, m := range r.probed {
		if !v.Up(m.member) && m.interval < ttl {
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

// Pick answers the record for client c with the state in v (nil: every
// member up, no load, no override) at now. It only reads: the same
// arguments give the same distribution of answers, and explain is the
// same computation. now matters only while a site ramps up after
// returning (slow start); a zero now reads the clock then, so that the
// query path pays for it only while some site ramps up.
func (r *Record) Pick(c Client, loc Locator, v *View, now time.Time, a *Answer) {
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
		r.exhausted(-1, a, v)
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

	// A chain without a loop visits each pool at most once: validation
	// forbids loops, and the bound makes sure a pick never spins.
	p := r.Rules[rule].Pool
	for step := 0; p >= 0 && step < len(r.Pools); step, p = step+1, r.Pools[p].Fallback {
		if a.NPools < len(a.Pools) {
			a.Pools[a.NPools] = p
			a.NPools++
		}
		if r.choose(&r.Pools[p], c, v, now, a) {
			a.Pool = p
			return
		}
	}
	r.exhausted(r.Rules[rule].Pool, a, v)
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

// class is what a value is worth to a pick.
type class uint8

const (
	classOut  class = iota // not served: down, overridden down, draining
	classLive              // served
	classShed              // served only when every value of its pool is shed
)

// judge says whether v may be served under the record's policy and with
// what weight: an operator's override first (up: static weight, no
// draining, no shedding), then the zone's status, then health; then the
// covering site's report, if fresh: draining takes the value out under
// every policy, and under least-loaded the load scales the weight and the
// watermarks shed it.
func (r *Record) judge(v *Value, vw *View, now time.Time) (class, float64) {
	w := float64(max(v.Weight, 1))
	s := vw.addr(v.addr - 1)
	if s != nil && s.forced {
		if s.override == Up {
			return classLive, w
		}
		return classOut, 0
	}
	switch v.Status {
	case Down:
		return classOut, 0
	case Obey:
		if v.Member >= 0 && !vw.Up(v.Member) {
			return classOut, 0
		}
	}
	if s == nil || !s.hasLoad || !s.load.Fresh {
		return classLive, w
	}
	if s.load.Draining {
		return classOut, 0
	}
	if r.Policy != LeastLoaded {
		return classLive, w
	}
	if now.IsZero() && !s.load.Returned.IsZero() && r.SlowStart > 0 {
		now = time.Now() // a site ramping up: the only answer that needs the clock
	}
	w *= Factor(s.load.Smoothed, s.load.Returned, now, r.SlowStart)
	if vw.shed(s, r.pair, Watermarks{r.ShedHigh, r.ShedLow}) {
		return classShed, w
	}
	return classLive, w
}

// up reports whether a value may be served (draining and shedding aside):
// an operator's override first, then the zone's status, then health.
func up(v *Value, vw *View) bool {
	if s := vw.addr(v.addr - 1); s != nil && s.forced {
		return s.override == Up
	}
	switch v.Status {
	case Up:
		return true
	case Down:
		return false
	}
	return v.Member < 0 || vw.Up(v.Member)
}

// overriddenDown reports whether the operator took v out.
func overriddenDown(v *Value, vw *View) bool {
	s := vw.addr(v.addr - 1)
	return s != nil && s.forced && s.override == Down
}

// exhausted fills the answer for a chain with nothing up. Health does not
// count here, but the operator's override down does: a value taken out by
// hand stays out of every answer (NODATA if nothing else is left).
func (r *Record) exhausted(first int, a *Answer, vw *View) {
	add := func(vs []Value) {
		for i := range vs {
			if overriddenDown(&vs[i], vw) {
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

// serving says which values of pool p a pick chooses among: the live
// ones; or, when every value of the pool is shed (all up, none draining,
// all above the watermark), the shed ones, weighted by their headroom;
// out when there is nothing to serve (the pool falls back). It returns
// the class, how many values have it and their total weight.
func (r *Record) serving(p *Pool, vw *View, now time.Time) (set class, n int, total float64) {
	nLive, nShed := 0, 0
	var wLive, wShed float64
	allShed := true
	for i := range p.Values {
		switch cl, w := r.judge(&p.Values[i], vw, now); cl {
		case classLive:
			nLive++
			wLive += w
			allShed = false
		case classShed:
			nShed++
			wShed += w
		default:
			allShed = false
		}
	}
	switch {
	case nLive > 0:
		return classLive, nLive, wLive
	case nShed > 0 && allShed:
		return classShed, nShed, wShed
	}
	return classOut, 0, 0
}

// choose picks up to r.Answers values of pool p; false when it has none
// to serve. It makes passes over the values instead of gathering the
// candidates, so that a pool of any size answers from all its values
// without allocating: one pass to count and weigh, one to choose (the
// weights are recomputed, identically, from the same view and time).
func (r *Record) choose(p *Pool, c Client, vw *View, now time.Time, a *Answer) bool {
	set, n, total := r.serving(p, vw, now)
	if set == classOut {
		return false
	}
	want := min(r.Answers, n)
	var top topK
	top.want = want
	switch r.Policy {
	case Priority:
		for i := range p.Values {
			if top.n == want {
				break
			}
			v := &p.Values[i]
			if cl, _ := r.judge(v, vw, now); cl == set {
				top.vals[top.n] = v
				top.n++
			}
		}
	case Sticky:
		key := clientKey(c.Addr)
		for i := range p.Values {
			v := &p.Values[i]
			if cl, _ := r.judge(v, vw, now); cl == set {
				top.offer(v, rendezvous(key, v.key, v.Weight))
			}
		}
	case Closest:
		if a.HasLocation && a.Location.HasCoords {
			lat, lon := a.Location.Lat, a.Location.Lon
			for i := range p.Values {
				v := &p.Values[i]
				if cl, _ := r.judge(v, vw, now); cl != set {
					continue
				}
				score := math.Inf(-1)
				if v.HasLocation {
					score = -distance(lat, lon, v.Lat, v.Lon)
				}
				top.offer(v, score)
			}
			break
		}
		fallthrough // no coordinates for the client: weighted
	default:
		if want == 1 {
			// Walk the cumulative weights to a uniform point.
			x := rand.Float64() * total
			for i := range p.Values {
				v := &p.Values[i]
				cl, w := r.judge(v, vw, now)
				if cl != set {
					continue
				}
				top.vals[0], top.n = v, 1 // the last one if rounding runs past
				if x < w {
					break
				}
				x -= w
			}
			break
		}
		// A weighted sample without replacement (Efraimidis-Spirakis
		// A-ES): the want largest keys u^(1/w), as ln(u)/w.
		for i := range p.Values {
			v := &p.Values[i]
			if cl, w := r.judge(v, vw, now); cl == set {
				top.offer(v, math.Log(rand.Float64()+math.SmallestNonzeroFloat64)/w)
			}
		}
	}
	copy(a.Values[:], top.vals[:top.n])
	a.N = top.n
	return true
}

// topK keeps the want highest-scoring values offered, best first; among
// equal scores the one offered first ranks first. want is at most
// MaxAnswers, so it lives on the stack whatever the pool's size.
type topK struct {
	vals    [MaxAnswers]*Value
	scores  [MaxAnswers]float64
	n, want int
}

func (t *topK) offer(v *Value, score float64) {
	if t.n == t.want {
		if t.want == 0 || !(score > t.scores[t.n-1]) {
			return
		}
		t.n-- // the last one makes room
	}
	i := t.n
	for i > 0 && t.scores[i-1] < score {
		t.vals[i], t.scores[i] = t.vals[i-1], t.scores[i-1]
		i--
	}
	t.vals[i], t.scores[i] = v, score
	t.n++
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
