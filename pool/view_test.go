package pool

import (
	"fmt"
	"math"
	"net/netip"
	"reflect"
	"testing"
	"time"
)

// bigPool has n values 10.x.y.z with weights 1..4 in turn.
func bigPool(n int) []Value {
	vals := make([]Value, n)
	for i := range vals {
		vals[i] = Value{Text: fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255), Weight: uint32(1 + i%4), Member: -1}
	}
	return vals
}

// A pool answers from all its values, whatever its size: over 1,000
// values the picks follow the weights (a chi-square test with 999
// degrees of freedom, at six standard deviations: a false alarm is
// rarer than one in a billion runs). Pools used to be cut at 64 values.
func TestLargePoolWeightedDistribution(t *testing.T) {
	const n, picks = 1000, 50000
	r := catchAll(&Record{Pools: []Pool{{Name: "p", Values: bigPool(n), Fallback: -1}}})
	index := map[*Value]int{}
	var total float64
	for i := range r.Pools[0].Values {
		index[&r.Pools[0].Values[i]] = i
		total += float64(r.Pools[0].Values[i].Weight)
	}
	count := make([]int, n)
	var a Answer
	now := time.Now()
	for i := 0; i < picks; i++ {
		r.Pick(client, nil, nil, now, &a)
		count[index[a.Values[0]]]++
	}
	var chi2 float64
	for i, c := range count {
		if c == 0 {
			t.Errorf("value %d (%s) never answered", i, r.Pools[0].Values[i].Text)
		}
		want := picks * float64(r.Pools[0].Values[i].Weight) / total
		chi2 += (float64(c) - want) * (float64(c) - want) / want
	}
	if dof := float64(n - 1); chi2 > dof+6*math.Sqrt(2*dof) {
		t.Fatalf("chi-square %.0f over %d values: the picks do not follow the weights", chi2, n)
	}
}

// answers: N over a large pool: N distinct values, drawn from the whole
// pool, heavier values more often; the same under least-loaded with every
// address reported, and under priority the first N that are up.
func TestLargePoolAnswers(t *testing.T) {
	const n = 1000
	vals := bigPool(n)
	for i := range vals {
		vals[i].Member = i
	}
	for _, pol := range []Policy{Weighted, LeastLoaded, Sticky} {
		r := catchAll(&Record{Policy: pol, Answers: 4, Pools: []Pool{{Name: "p", Values: append([]Value(nil), vals...), Fallback: -1}}})
		loads := map[string]Load{}
		for i := range vals {
			loads[vals[i].Text] = Load{Fresh: true, Smoothed: 0.5}
		}
		var h HealthTable
		h.PublishLoads(loads)
		h.Publish(make([]State, n))
		seen := map[string]int{}
		var a Answer
		now := time.Now()
		for i := 0; i < 3000; i++ {
			c := Client{Addr: netip.AddrFrom4([4]byte{10, byte(i >> 8), byte(i), 1}), Bits: 32} // a /24 each
			r.Pick(c, nil, h.View(), now, &a)
			distinct := map[string]bool{}
			for _, v := range a.Values[:a.N] {
				distinct[v.Text] = true
				seen[v.Text]++
			}
			if a.N != 4 || len(distinct) != 4 {
				t.Fatalf("%s: %d values, %d distinct; want 4", pol, a.N, len(distinct))
			}
		}
		if len(seen) < n*97/100 {
			t.Fatalf("%s: %d of %d values ever answered", pol, len(seen), n)
		}
		if pol != Sticky {
			light, heavy := 0, 0
			for i, v := range vals {
				switch v.Weight {
				case 1:
					light += seen[vals[i].Text]
				case 4:
					heavy += seen[vals[i].Text]
				}
			}
			if ratio := float64(heavy) / float64(light); ratio < 2.5 {
				t.Fatalf("%s: weight 4 answered %.1f times as often as weight 1, want well above 2.5", pol, ratio)
			}
		}
	}
	// Priority: the first four that are up, beyond the 64th value too.
	states := make([]State, n)
	for i := 0; i < 900; i++ {
		states[i] = Unhealthy
	}
	var h HealthTable
	h.Publish(states)
	r := catchAll(&Record{Policy: Priority, Answers: 4, Pools: []Pool{{Name: "p", Values: vals, Fallback: -1}}})
	var a Answer
	r.Pick(client, nil, h.View(), time.Now(), &a)
	if a.N != 4 || a.Values[0] != &r.Pools[0].Values[900] || a.Values[3] != &r.Pools[0].Values[903] {
		t.Fatalf("priority: %d values, first %s", a.N, a.Values[0].Text)
	}
}

// A fallback loop among pools past the 64th still ends (validation
// forbids loops, but a pick must never spin): the loop guard used to
// cover the first 64 pools only.
func TestFallbackLoopPastSixtyFourPools(t *testing.T) {
	r := &Record{Exhausted: ExhaustBackup, Backup: []Value{{Text: "203.0.113.1", Status: Up, Member: -1}}}
	for i := 0; i < 70; i++ {
		vals := values(1)
		vals[0].Status = Down
		r.Pools = append(r.Pools, Pool{Name: fmt.Sprint("p", i), Values: vals, Fallback: i + 1})
	}
	r.Pools[69].Fallback = 65
	r.Rules = []Rule{{Pool: 64}}
	r.Prepare()
	done := make(chan Answer)
	go func() {
		var a Answer
		r.Pick(client, nil, nil, time.Now(), &a)
		done <- a
	}()
	select {
	case a := <-done:
		if !a.Backup {
			t.Fatalf("answer %+v, want the backup", a)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a fallback loop past pool 64 spins")
	}
}

// Explain is a pure function of record, view, client and time: it used
// to run the shed hysteresis, which wrote the record's values.
func TestExplainChangesNothing(t *testing.T) {
	r := catchAll(&Record{Policy: LeastLoaded, Pools: []Pool{{Name: "p", Values: values(1, 1), Fallback: -1}}})
	var h HealthTable
	h.PublishLoads(map[string]Load{"192.0.2.1": {Fresh: true, Smoothed: 0.95}})
	v := h.View()
	before := append([]Value(nil), r.Pools[0].Values...)
	viewBefore := *v.addrs
	slotsBefore := append([]addrState(nil), v.addrs.slots...)
	now := time.Now()
	e := r.Explain(client, nil, v, now)
	if len(e.Answer) != 1 || e.Answer[0] != "192.0.2.2" {
		t.Fatalf("explain answered %v, want the value under the watermark", e.Answer)
	}
	if !reflect.DeepEqual(before, r.Pools[0].Values) {
		t.Fatal("explain changed the record")
	}
	if !reflect.DeepEqual(viewBefore, *v.addrs) || !reflect.DeepEqual(slotsBefore, v.addrs.slots) || h.View() != v {
		t.Fatal("explain changed the view")
	}
	// The load drops between the watermarks: still shed (hysteresis in
	// the view), whatever explain was asked before.
	h.PublishLoads(map[string]Load{"192.0.2.1": {Fresh: true, Smoothed: 0.85}})
	for i := 0; i < 50; i++ {
		if e := r.Explain(client, nil, h.View(), now); e.Answer[0] != "192.0.2.2" {
			t.Fatalf("at 0.85 after 0.95: answered %v, want the value still shed", e.Answer)
		}
	}
}

// A value compiled after the overrides and loads were published gets the
// address id the view already covers.
func TestViewCoversValuesCompiledLater(t *testing.T) {
	var h HealthTable
	h.PublishOverrides(map[string]Status{"198.18.7.1": Down})
	h.PublishLoads(map[string]Load{"198.18.7.2": {Fresh: true, Draining: true}})
	vals := []Value{{Text: "198.18.7.1", Weight: 1, Member: -1}, {Text: "198.18.7.2", Weight: 1, Member: -1}, {Text: "198.18.7.3", Weight: 1, Member: -1}}
	r := catchAll(&Record{Pools: []Pool{{Name: "p", Values: vals, Fallback: -1}}})
	got := share(r, h.View(), 200)
	if got["198.18.7.3"] < 99.9 {
		t.Fatalf("shares %v, want only 198.18.7.3", got)
	}
}

// The query path's pick allocates nothing, with a view and a large pool.
func TestPickAllocations(t *testing.T) {
	vals := bigPool(1000)
	loads := map[string]Load{}
	for _, v := range vals[:500] {
		loads[v.Text] = Load{Fresh: true, Smoothed: 0.4, Returned: time.Now()}
	}
	var h HealthTable
	h.PublishLoads(loads)
	h.PublishOverrides(map[string]Status{vals[3].Text: Down})
	for _, pol := range []Policy{Weighted, Priority, Sticky, LeastLoaded} {
		for _, answers := range []int{1, 3} {
			r := catchAll(&Record{Policy: pol, Answers: answers, Pools: []Pool{{Name: "p", Values: append([]Value(nil), vals...), Fallback: -1}}})
			var a Answer
			v, now := h.View(), time.Now()
			if n := testing.AllocsPerRun(100, func() { r.Pick(client, nil, v, now, &a) }); n != 0 {
				t.Errorf("%s answers %d: a pick allocates %v times", pol, answers, n)
			}
		}
	}
}

func BenchmarkPickLarge(b *testing.B) {
	for _, pol := range []Policy{Weighted, LeastLoaded, Sticky} {
		for _, answers := range []int{1, 4} {
			b.Run(fmt.Sprint(pol, answers), func(b *testing.B) {
				r := catchAll(&Record{Policy: pol, Answers: answers, Pools: []Pool{{Name: "p", Values: bigPool(1000), Fallback: -1}}})
				var a Answer
				now := time.Now()
				for i := 0; i < b.N; i++ {
					r.Pick(client, nil, nil, now, &a)
				}
			})
		}
	}
}
