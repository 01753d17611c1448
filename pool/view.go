package pool

import (
	"sort"
	"sync"
	"sync/atomic"
)

// A View is one published generation of everything a pick depends on
// besides the zones: the health of every member, and per value (by
// address id) the operator's override, the covering site's load and the
// shed state under every pair of watermarks the zones use. It is immutable
// and built off the query path by HealthTable whenever health, loads or
// overrides change; the query path loads it once per query (one atomic
// load) and passes it to Record.Pick, which only reads it. This is the
// shape of gdnsd's weighted plugin: one dereference per resolve, every
// input of the decision in the one structure.
//
// A nil *View counts every member up and knows no load and no override.
type View struct {
	states []State // by member id
	addrs  *addrTable
}

// addrTable is the part of a View keyed by address id. It changes only
// when loads or overrides are published, so a health publication reuses
// it.
type addrTable struct {
	// index maps an address id to 1 + its slot in slots; 0: nothing is
	// known about the address.
	index []int32
	slots []addrState
	// pairs is how many watermark pairs the shed bits cover; a record
	// whose pair was registered later reads the hysteresis' first step.
	pairs int
	// As published, for the status API, the metrics and the next build.
	loads     map[string]Load
	overrides map[string]Status
}

// addrState is what is known about one address.
type addrState struct {
	override Status
	forced   bool // override is set
	hasLoad  bool
	load     Load
	// shed holds one bit per watermark pair id (fresh loads only).
	shed []uint64
}

// Up reports whether a member may be served: healthy or not yet known.
func (v *View) Up(member int) bool { return v.State(member) != Unhealthy }

// State returns a member's state; Unknown for a member the view does not
// know.
func (v *View) State(member int) State {
	if v == nil || member < 0 || member >= len(v.states) {
		return Unknown
	}
	return v.states[member]
}

// Overrides returns the runtime overrides in force (nil when none); the
// map must not be modified.
func (v *View) Overrides() map[string]Status {
	if v == nil || v.addrs == nil {
		return nil
	}
	return v.addrs.overrides
}

// Load returns what the reports say about an address (netip.Addr.String
// form).
func (v *View) Load(addr string) (Load, bool) {
	if v == nil || v.addrs == nil {
		return Load{}, false
	}
	l, ok := v.addrs.loads[addr]
	return l, ok
}

// addr returns the state of address id, nil when nothing is known.
func (v *View) addr(id int32) *addrState {
	if v == nil || v.addrs == nil || id < 0 || int(id) >= len(v.addrs.index) {
		return nil
	}
	i := v.addrs.index[id]
	if i == 0 {
		return nil
	}
	return &v.addrs.slots[i-1]
}

// shed reports the shed state of s under watermark pair pair (smoothed
// load w). A pair registered after the view was built has no history
// yet: its state is the hysteresis' first step, as the next build will
// compute it.
func (v *View) shed(s *addrState, pair int32, w Watermarks) bool {
	if pair >= 0 && int(pair) < v.addrs.pairs {
		return s.shed[pair/64]&(1<<(pair%64)) != 0
	}
	return w.Shed(false, s.load.Smoothed)
}

// registry gives every distinct key a small integer id, stable for the
// life of the process, so that compiled records (which outlive reloads)
// and the views agree on who is who without string lookups on the query
// path.
type registry[K comparable] struct {
	mu   sync.Mutex
	ids  map[K]int32
	keys []K
}

func (r *registry[K]) id(k K) int32 {
	r.mu.Lock()
	defer r.mu.Unlock()
	if id, ok := r.ids[k]; ok {
		return id
	}
	if r.ids == nil {
		r.ids = map[K]int32{}
	}
	id := int32(len(r.keys))
	r.ids[k] = id
	r.keys = append(r.keys, k)
	return id
}

// snapshot returns the keys registered so far, by id.
func (r *registry[K]) snapshot() []K {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.keys[:len(r.keys):len(r.keys)]
}

// Process-wide registries: values by their text (an address in
// netip.Addr.String form or a lower-case absolute host name: the keys of
// loads and overrides), and the watermark pairs records use. Record.Prepare
// registers a record's values and pair at compile time; a View builder
// registers the texts it is given, so a value compiled after a build that
// named it gets the id the view already covers.
var (
	addrIDs      registry[string]
	watermarkIDs registry[Watermarks]
)

// HealthTable publishes the View: member states from the probers, loads
// from the report receiver, overrides from the operator. Each publication
// builds a new View from the last one with one part replaced and swaps it
// in; writers are serialised, readers never wait. The zero value counts
// every member up and knows no load.
type HealthTable struct {
	mu  sync.Mutex // writers only
	cur atomic.Pointer[View]
}

// View returns the current view (nil before anything was published: a
// nil View is valid and counts everything up).
func (t *HealthTable) View() *View {
	if t == nil {
		return nil
	}
	return t.cur.Load()
}

// Publish replaces the member states (indexed by member id).
func (t *HealthTable) Publish(states []State) {
	t.mu.Lock()
	defer t.mu.Unlock()
	v := &View{states: states}
	if old := t.cur.Load(); old != nil {
		v.addrs = old.addrs
	}
	t.cur.Store(v)
}

// PublishLoads replaces the loads (by address, in netip.Addr.String form)
// and advances the shed hysteresis of every loaded address.
func (t *HealthTable) PublishLoads(loads map[string]Load) {
	t.updateAddrs(func(a *addrTable) { a.loads = loads })
}

// PublishOverrides replaces the operator's runtime overrides, by value
// (an address in netip.Addr.String form, or a lower-case absolute host
// name): Up serves the value whatever its health and load say, Down never
// serves it. A value without an entry obeys its zone.
func (t *HealthTable) PublishOverrides(o map[string]Status) {
	if len(o) == 0 {
		o = nil
	}
	t.updateAddrs(func(a *addrTable) { a.overrides = o })
}

func (t *HealthTable) updateAddrs(set func(*addrTable)) {
	t.mu.Lock()
	defer t.mu.Unlock()
	v := &View{}
	var prev *addrTable
	if old := t.cur.Load(); old != nil {
		v.states, prev = old.states, old.addrs
	}
	next := &addrTable{}
	if prev != nil {
		next.loads, next.overrides = prev.loads, prev.overrides
	}
	set(next)
	next.build(prev)
	v.addrs = next
	t.cur.Store(v)
}

// build fills the slots from a.loads and a.overrides, carrying the shed
// hysteresis over from prev (nil: none).
func (a *addrTable) build(prev *addrTable) {
	pairs := watermarkIDs.snapshot()
	a.pairs = len(pairs)
	words := (len(pairs) + 63) / 64
	slot := map[int32]int{}
	get := func(text string) *addrState {
		id := addrIDs.id(text)
		i, ok := slot[id]
		if !ok {
			i = len(a.slots)
			slot[id] = i
			a.slots = append(a.slots, addrState{})
		}
		return &a.slots[i]
	}
	// Sorted, so that the slots (and the shed bits' backing array) come
	// out the same for the same input.
	for _, text := range sortedKeys(a.overrides) {
		s := get(text)
		s.override, s.forced = a.overrides[text], true
	}
	fresh := 0
	for _, text := range sortedKeys(a.loads) {
		s := get(text)
		s.load, s.hasLoad = a.loads[text], true
		if s.load.Fresh {
			fresh++
		}
	}
	bits := make([]uint64, fresh*words)
	maxID := int32(-1)
	for id, i := range slot {
		maxID = max(maxID, id)
		s := &a.slots[i]
		if !s.hasLoad || !s.load.Fresh {
			continue
		}
		s.shed, bits = bits[:words:words], bits[words:]
		var was *addrState
		if prev != nil {
			was = (&View{addrs: prev}).addr(id)
			if was != nil && !(was.hasLoad && was.load.Fresh) {
				was = nil // the hysteresis restarts with the reports
			}
		}
		for k, w := range pairs {
			before := was != nil && k < prev.pairs && was.shed[k/64]&(1<<(k%64)) != 0
			if w.Shed(before, s.load.Smoothed) {
				s.shed[k/64] |= 1 << (k % 64)
			}
		}
	}
	a.index = make([]int32, maxID+1)
	for id, i := range slot {
		a.index[id] = int32(i + 1)
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// Overrides returns the runtime overrides in force (nil when none); the
// map must not be modified.
func (t *HealthTable) Overrides() map[string]Status { return t.View().Overrides() }

// State returns a member's state.
func (t *HealthTable) State(member int) State { return t.View().State(member) }

// Load returns what the reports say about an address.
func (t *HealthTable) Load(addr string) (Load, bool) { return t.View().Load(addr) }

// Up reports whether a member may be served.
func (t *HealthTable) Up(member int) bool { return t.View().Up(member) }
