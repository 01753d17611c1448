package pool

import (
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// TallyKey names one value of one pool of one dynamic record.
type TallyKey struct {
	Zone   string // origin, presentation form
	Record string // owner name, presentation form
	Type   string // record type mnemonic
	Pool   string // pool name; "" for the record's backup values
	Value  string
}

// Tally counts the answers given per value. Counters belong to the tally,
// not to the compiled records, so that they keep counting across reloads
// (Prometheus counters must not go back) and so that the share of answers
// over the last minute survives a reload. The query path adds to one
// atomic counter per value answered; everything else reads.
type Tally struct {
	mu sync.Mutex
	m  map[TallyKey]*tallyEntry
}

// tallyWindow is how many samples LastMinute looks back over, and
// tallyEvery how often Sample should run: 12 × 5 s = one minute.
const (
	tallyWindow = 12
	tallyEvery  = 5 * time.Second
)

type tallyEntry struct {
	n atomic.Uint64
	// ring holds the count at each of the last tallyWindow+1 samples.
	ring [tallyWindow + 1]uint64
}

// Attach gives every value of rec a counter under zone, owner and type.
// A nil Tally gives none: the values then count nothing (tools).
func (t *Tally) Attach(zone, owner, typ string, rec *Record) {
	if t == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.m == nil {
		t.m = map[TallyKey]*tallyEntry{}
	}
	attach := func(pool string, vs []Value) {
		for i := range vs {
			k := TallyKey{zone, owner, typ, pool, vs[i].Text}
			e := t.m[k]
			if e == nil {
				e = &tallyEntry{}
				t.m[k] = e
			}
			vs[i].answers = &e.n
		}
	}
	for p := range rec.Pools {
		attach(rec.Pools[p].Name, rec.Pools[p].Values)
	}
	attach("", rec.Backup)
}

// Count adds one answer to each of the chosen values.
func (a *Answer) Count() {
	for _, v := range a.Values[:a.N] {
		if v.answers != nil {
			v.answers.Add(1)
		}
	}
}

// Sample records the current counts; call it every 5 seconds (Run does)
// for LastMinute to cover a minute.
func (t *Tally) Sample() {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, e := range t.m {
		copy(e.ring[1:], e.ring[:tallyWindow])
		e.ring[0] = e.n.Load()
	}
}

// Run samples every 5 seconds until ctx is done.
func (t *Tally) Run(done <-chan struct{}) {
	tk := time.NewTicker(tallyEvery)
	defer tk.Stop()
	for {
		select {
		case <-done:
			return
		case <-tk.C:
			t.Sample()
		}
	}
}

// TallyCount is one counter's reading.
type TallyCount struct {
	Key TallyKey
	// Total is every answer since the process started.
	Total uint64
	// LastMinute is the answers over the last minute (as far back as the
	// samples go).
	LastMinute uint64
}

// Counts returns every counter, sorted by key.
func (t *Tally) Counts() []TallyCount {
	if t == nil {
		return nil
	}
	t.mu.Lock()
	out := make([]TallyCount, 0, len(t.m))
	for k, e := range t.m {
		n := e.n.Load()
		// Counters start at 0, so a ring not yet full reads 0: the
		// count since the counter was made, under a minute.
		old := min(e.ring[tallyWindow], n)
		out = append(out, TallyCount{Key: k, Total: n, LastMinute: n - old})
	}
	t.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return lessKey(out[i].Key, out[j].Key) })
	return out
}

func lessKey(a, b TallyKey) bool {
	if a.Zone != b.Zone {
		return a.Zone < b.Zone
	}
	if a.Record != b.Record {
		return a.Record < b.Record
	}
	if a.Type != b.Type {
		return a.Type < b.Type
	}
	if a.Pool != b.Pool {
		return a.Pool < b.Pool
	}
	return a.Value < b.Value
}

// Retain forgets the counters whose key keep rejects: those of records
// and values no zone serves any more, so that their series leave the
// metrics. A value that comes back starts again from 0 (a counter reset,
// which Prometheus handles).
func (t *Tally) Retain(keep func(TallyKey) bool) {
	if t == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	for k := range t.m {
		if !keep(k) {
			delete(t.m, k)
		}
	}
}
