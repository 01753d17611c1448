package pool

import (
	"math"
	"testing"
	"time"
)

// loadsView is a view with every member up and the loads l.
func loadsView(l map[string]Load) *View {
	var t HealthTable
	t.PublishLoads(l)
	return t.View()
}

func share(r *Record, v *View, n int) map[string]float64 {
	out := map[string]float64{}
	var a Answer
	now := time.Now()
	for i := 0; i < n; i++ {
		r.Pick(client, nil, v, now, &a)
		if a.N > 0 {
			out[a.Values[0].Text] += 100.0 / float64(n)
		}
	}
	return out
}

// With loads 0.8 and 0.2 and equal weights, answers split 20/80.
func TestLeastLoadedShares(t *testing.T) {
	r := catchAll(&Record{Policy: LeastLoaded, Pools: []Pool{{Name: "p", Values: values(1, 1), Fallback: -1}}})
	got := share(r, loadsView(map[string]Load{"192.0.2.1": {Fresh: true, Smoothed: 0.8}, "192.0.2.2": {Fresh: true, Smoothed: 0.2}}), 20000)
	if math.Abs(got["192.0.2.1"]-20) > 2 || math.Abs(got["192.0.2.2"]-80) > 2 {
		t.Fatalf("shares %v, want 20/80", got)
	}
	// A stale report no longer counts: static weights, 50/50.
	got = share(r, loadsView(map[string]Load{"192.0.2.1": {Fresh: false, Smoothed: 0.8}, "192.0.2.2": {Fresh: false, Smoothed: 0.2}}), 20000)
	if math.Abs(got["192.0.2.1"]-50) > 2 {
		t.Fatalf("stale reports: shares %v, want 50/50", got)
	}
}

// Above the high watermark a value leaves the rotation until it is back
// under the low one; when every value is above, they all serve. The
// hysteresis advances with each publication of the loads, per pair of
// watermarks: two records with different watermarks over the same
// addresses each follow their own.
func TestShedHysteresis(t *testing.T) {
	r := catchAll(&Record{Policy: LeastLoaded, Pools: []Pool{{Name: "p", Values: values(1, 1), Fallback: -1}}})
	r2 := catchAll(&Record{Policy: LeastLoaded, ShedHigh: 0.8, ShedLow: 0.5, Pools: []Pool{{Name: "p", Values: values(1, 1), Fallback: -1}}})
	var h HealthTable
	steps := []struct {
		load        float64
		shed, shed2 bool
	}{{0.95, true, true}, {0.85, true, true}, {0.79, false, true}, {0.85, false, true}, {0.91, true, true}, {0.6, false, true}, {0.4, false, false}}
	for _, st := range steps {
		h.PublishLoads(map[string]Load{"192.0.2.1": {Fresh: true, Smoothed: st.load}, "192.0.2.2": {Fresh: true, Smoothed: 0.3}})
		got := share(r, h.View(), 400)
		if out := got["192.0.2.1"] == 0; out != st.shed {
			t.Fatalf("at load %.2f: shed=%v, want %v (shares %v)", st.load, out, st.shed, got)
		}
		got = share(r2, h.View(), 400)
		if out := got["192.0.2.1"] == 0; out != st.shed2 {
			t.Fatalf("watermarks 0.8/0.5, at load %.2f: shed=%v, want %v (shares %v)", st.load, out, st.shed2, got)
		}
		// Publishing health or overrides does not advance the hysteresis.
		h.Publish(nil)
		h.PublishOverrides(nil)
		if again := share(r, h.View(), 400); (again["192.0.2.1"] == 0) != st.shed {
			t.Fatalf("at load %.2f: republishing changed the shed state", st.load)
		}
	}
	// Every value above the watermark: all serve, weighted.
	got := share(r, loadsView(map[string]Load{"192.0.2.1": {Fresh: true, Smoothed: 0.95}, "192.0.2.2": {Fresh: true, Smoothed: 0.97}}), 2000)
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
		h := map[string]Load{"192.0.2.1": {Fresh: true, Draining: true}}
		if got := share(r, loadsView(h), 300); got["192.0.2.1"] != 0 || got["192.0.2.2"] < 99 {
			t.Fatalf("%s: draining value served: %v", pol, got)
		}
		h["192.0.2.2"] = Load{Fresh: true, Draining: true}
		if got := share(r, loadsView(h), 50); got["203.0.113.9"] < 99 {
			t.Fatalf("%s: every value draining should fall back: %v", pol, got)
		}
	}
}

// A returning site's weight ramps up over slow_start, by the time the
// pick is made at.
func TestSlowStart(t *testing.T) {
	r := catchAll(&Record{Policy: LeastLoaded, SlowStart: 40 * time.Second, Pools: []Pool{{Name: "p", Values: values(1, 1), Fallback: -1}}})
	now := time.Now()
	v := loadsView(map[string]Load{
		"192.0.2.1": {Fresh: true, Smoothed: 0, Returned: now.Add(-10 * time.Second)}, // a quarter of the way
		"192.0.2.2": {Fresh: true, Smoothed: 0},
	})
	got := share(r, v, 20000)
	if math.Abs(got["192.0.2.1"]-20) > 2.5 { // 0.25 / (0.25 + 1)
		t.Fatalf("slow start: %v, want about 20%% for the returning site", got)
	}
	// The same view later: the ramp is over.
	st := r.States(v, now.Add(time.Minute))[0].Values
	if st[0].Effective != 1 || st[1].Effective != 1 {
		t.Fatalf("after slow start: %+v", st)
	}
}

// The query path picks with a zero now: the clock is read then, only for
// a site that ramps up, and the ramp is the same as with the time given.
func TestSlowStartZeroNowReadsTheClock(t *testing.T) {
	r := catchAll(&Record{Policy: LeastLoaded, SlowStart: 40 * time.Second, Pools: []Pool{{Name: "p", Values: values(1, 1), Fallback: -1}}})
	v := loadsView(map[string]Load{
		"192.0.2.1": {Fresh: true, Smoothed: 0, Returned: time.Now().Add(-10 * time.Second)}, // a quarter of the way
		"192.0.2.2": {Fresh: true, Smoothed: 0},
	})
	got := map[string]float64{}
	var a Answer
	const n = 20000
	for i := 0; i < n; i++ {
		r.Pick(client, nil, v, time.Time{}, &a)
		got[a.Values[0].Text] += 100.0 / n
	}
	if math.Abs(got["192.0.2.1"]-20) > 2.5 {
		t.Fatalf("slow start with a zero now: %v, want about 20%% for the returning site", got)
	}
}
