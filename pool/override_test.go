package pool

import (
	"math"
	"testing"
	"time"
)

// A HealthTable carries health, loads and overrides; an override beats the
// zone's status, health, draining and load.
func TestOverridesBeatHealthAndLoad(t *testing.T) {
	vals := values(1, 1)
	vals[0].Member = 0 // probed, and down below
	vals[0].Check = &Check{Protocol: "TCP", Address: "192.0.2.1", Port: 80, Interval: 5 * time.Second}
	vals[1].Status = Down
	r := catchAll(&Record{Policy: LeastLoaded, Pools: []Pool{{Name: "p", Values: vals, Fallback: -1}}, Backup: []Value{{Text: "192.0.2.99", Status: Up, Member: -1}}})
	h := &HealthTable{}
	h.Publish([]State{Unhealthy})
	h.PublishLoads(map[string]Load{"192.0.2.1": {Fresh: true, Draining: true, Smoothed: 0.99}})

	for _, tc := range []struct {
		name      string
		overrides map[string]Status
		want      map[string]float64 // answer shares, percent
	}{
		{"no override: health down, zone down: backup", nil, map[string]float64{"192.0.2.99": 100}},
		{"up beats health and draining", map[string]Status{"192.0.2.1": Up}, map[string]float64{"192.0.2.1": 100}},
		{"up beats the zone's status down", map[string]Status{"192.0.2.2": Up}, map[string]float64{"192.0.2.2": 100}},
		{"both up: static weights, load ignored", map[string]Status{"192.0.2.1": Up, "192.0.2.2": Up}, map[string]float64{"192.0.2.1": 50, "192.0.2.2": 50}},
		{"down beats up", map[string]Status{"192.0.2.1": Down, "192.0.2.2": Up}, map[string]float64{"192.0.2.2": 100}},
		{"cleared", map[string]Status{}, map[string]float64{"192.0.2.99": 100}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h.PublishOverrides(tc.overrides)
			got := share(r, h.View(), 4000)
			for v, w := range tc.want {
				if math.Abs(got[v]-w) > 4 {
					t.Fatalf("shares %v, want %v", got, tc.want)
				}
			}
			for v := range got {
				if _, ok := tc.want[v]; !ok {
					t.Fatalf("shares %v, want %v", got, tc.want)
				}
			}
			// The states the status API shows agree.
			st := r.States(h.View(), time.Now())[0].Values
			for i, vs := range st {
				_, answered := tc.want[vs.Value]
				if vs.Serving != answered || (vs.Effective > 0) != answered {
					t.Errorf("value %d: state %+v, answered %v", i, vs, answered)
				}
				if o, ok := tc.overrides[vs.Value]; ok && vs.Override != o.String() {
					t.Errorf("value %d: override %q, want %q", i, vs.Override, o)
				}
			}
		})
	}
	// Publishing loads or health keeps the overrides.
	h.PublishOverrides(map[string]Status{"192.0.2.1": Up})
	h.Publish([]State{Unhealthy})
	h.PublishLoads(nil)
	if h.Overrides()["192.0.2.1"] != Up {
		t.Fatal("publishing health or loads dropped the overrides")
	}
}

func TestStatesEffectiveWeights(t *testing.T) {
	r := catchAll(&Record{Policy: LeastLoaded, Pools: []Pool{{Name: "p", Values: values(2, 1), Fallback: -1}}})
	h := loadsView(map[string]Load{"192.0.2.1": {Fresh: true, Smoothed: 0.5, Site: "a"}})
	st := r.States(h, time.Now())[0].Values
	if st[0].Effective != 1 || st[1].Effective != 1 || st[0].Load == nil || st[0].Load.Site != "a" || st[1].Load != nil {
		t.Fatalf("states %+v", st)
	}
}

func TestTally(t *testing.T) {
	r := catchAll(&Record{Pools: []Pool{{Name: "p", Values: values(1, 1), Fallback: -1}}, Backup: []Value{{Text: "192.0.2.99", Status: Up, Member: -1}}})
	var ta Tally
	ta.Attach("example.com.", "www.example.com.", "A", r)
	var a Answer
	for i := 0; i < 100; i++ {
		r.Pick(client, nil, nil, time.Now(), &a)
		a.Count()
	}
	ta.Sample()
	// A reload attaches a new record to the same counters.
	r2 := catchAll(&Record{Pools: []Pool{{Name: "p", Values: values(1, 1), Fallback: -1}}})
	ta.Attach("example.com.", "www.example.com.", "A", r2)
	for i := 0; i < 50; i++ {
		r2.Pick(client, nil, nil, time.Now(), &a)
		a.Count()
	}
	var total, minute uint64
	for _, c := range ta.Counts() {
		if c.Key.Pool == "p" {
			total += c.Total
			minute += c.LastMinute
		}
	}
	if total != 150 || minute != 150 {
		t.Fatalf("total %d, last minute %d; want 150, 150", total, minute)
	}
	for i := 0; i < tallyWindow+1; i++ {
		ta.Sample()
	}
	for _, c := range ta.Counts() {
		if c.LastMinute != 0 {
			t.Fatalf("a minute later: %+v", c)
		}
	}
	if n := testing.AllocsPerRun(100, func() { a.Count() }); n != 0 {
		t.Fatalf("Count allocates %v", n)
	}
}

// An override down keeps a value out of the backup answer too.
func TestOverrideDownLeavesBackup(t *testing.T) {
	r := catchAll(&Record{Pools: []Pool{{Name: "p", Values: values(1), Fallback: -1}},
		Backup: []Value{{Text: "192.0.2.1", Status: Up, Member: -1}, {Text: "192.0.2.99", Status: Up, Member: -1}}})
	h := &HealthTable{}
	h.PublishOverrides(map[string]Status{"192.0.2.1": Down})
	var a Answer
	r.Pick(client, nil, h.View(), time.Now(), &a)
	if !a.Backup || a.N != 1 || a.Values[0].Text != "192.0.2.99" {
		t.Fatalf("answer %+v", a)
	}
	h.PublishOverrides(map[string]Status{"192.0.2.1": Down, "192.0.2.99": Down})
	r.Pick(client, nil, h.View(), time.Now(), &a)
	if a.N != 0 || !a.NoData {
		t.Fatalf("every value overridden down: answer %+v, want NODATA", a)
	}
}
