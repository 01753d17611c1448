package pool

import (
	"math"
	"testing"
	"time"
)

// fakeLoads is a Health that is all up and reports loads by address.
type fakeLoads map[string]Load

func (f fakeLoads) Up(int) bool { return true }
func (f fakeLoads) Load(addr string) (Load, bool) {
	l, ok := f[addr]
	return l, ok
}

func share(r *Record, h Health, n int) map[string]float64 {
	out := map[string]float64{}
	var a Answer
	for i := 0; i < n; i++ {
		r.Pick(client, nil, h, &a)
		if a.N > 0 {
			out[a.Values[0].Text] += 100.0 / float64(n)
		}
	}
	return out
}

// With loads 0.8 and 0.2 and equal weights, answers split 20/80.
func TestLeastLoadedShares(t *testing.T) {
	r := catchAll(&Record{Policy: LeastLoaded, Pools: []Pool{{Name: "p", Values: values(1, 1), Fallback: -1}}})
	h := fakeLoads{"192.0.2.1": {Fresh: true, Smoothed: 0.8}, "192.0.2.2": {Fresh: true, Smoothed: 0.2}}
	got := share(r, h, 20000)
	if math.Abs(got["192.0.2.1"]-20) > 2 || math.Abs(got["192.0.2.2"]-80) > 2 {
		t.Fatalf("shares %v, want 20/80", got)
	}
	// A stale report no longer counts: static weights, 50/50.
	h["192.0.2.1"] = Load{Fresh: false, Smoothed: 0.8}
	h["192.0.2.2"] = Load{Fresh: false, Smoothed: 0.2}
	got = share(r, h, 20000)
	if math.Abs(got["192.0.2.1"]-50) > 2 {
		t.Fatalf("stale reports: shares %v, want 50/50", got)
	}
}

// Above the high watermark a value leaves the rotation until it is back
// under the low one; when every value is above, they all serve.
func TestShedHysteresis(t *testing.T) {
	r := catchAll(&Record{Policy: LeastLoaded, Pools: []Pool{{Name: "p", Values: values(1, 1), Fallback: -1}}})
	h := fakeLoads{"192.0.2.1": {Fresh: true, Smoothed: 0.95}, "192.0.2.2": {Fresh: true, Smoothed: 0.5}}
	steps := []struct {
		load float64
		shed bool
	}{{0.95, true}, {0.85, true}, {0.79, false}, {0.85, false}, {0.91, true}}
	for _, st := range steps {
		h["192.0.2.1"] = Load{Fresh: true, Smoothed: st.load}
		got := share(r, h, 400)
		if out := got["192.0.2.1"] == 0; out != st.shed {
			t.Fatalf("at load %.2f: shed=%v, want %v (shares %v)", st.load, out, st.shed, got)
		}
	}
	// Every value above the watermark: all serve, weighted.
	h["192.0.2.2"] = Load{Fresh: true, Smoothed: 0.97}
	got := share(r, h, 2000)
	if got["192.0.2.1"] == 0 || got["192.0.2.2"] == 0 {
		t.Fatalf("all shed: want all serving, got %v", got)
	}
}

// Draining takes a value out under any policy; a pool with every value
// draining falls back.
func TestDraining(t *testing.T) {
	for _, pol := range []Policy{Weighted, Priority, Sticky, LeastLoaded} {
		r := catchAll(&Record{Policy: pol, Pools: []Pool{
			{Name: "a", Values: values(1, 1), Fallback: 1},
			{Name: "b", Values: []Value{{Text: "203.0.113.9", Weight: 1, Member: -1}}, Fallback: -1},
		}})
		h := fakeLoads{"192.0.2.1": {Fresh: true, Draining: true}}
		if got := share(r, h, 300); got["192.0.2.1"] != 0 || got["192.0.2.2"] < 99 {
			t.Fatalf("%s: draining value served: %v", pol, got)
		}
		h["192.0.2.2"] = Load{Fresh: true, Draining: true}
		if got := share(r, h, 50); got["203.0.113.9"] < 99 {
			t.Fatalf("%s: every value draining should fall back: %v", pol, got)
		}
	}
}

// A returning site's weight ramps up over slow_start.
func TestSlowStart(t *testing.T) {
	r := catchAll(&Record{Policy: LeastLoaded, SlowStart: 40 * time.Second, Pools: []Pool{{Name: "p", Values: values(1, 1), Fallback: -1}}})
	h := fakeLoads{
		"192.0.2.1": {Fresh: true, Smoothed: 0, Returned: time.Now().Add(-10 * time.Second)}, // a quarter of the way
		"192.0.2.2": {Fresh: true, Smoothed: 0},
	}
	got := share(r, h, 20000)
	if math.Abs(got["192.0.2.1"]-20) > 2.5 { // 0.25 / (0.25 + 1)
		t.Fatalf("slow start: %v, want about 20%% for the returning site", got)
	}
}
