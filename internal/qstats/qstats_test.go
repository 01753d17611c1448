package qstats

import (
	"testing"
	"time"
)

func TestIndexes(t *testing.T) {
	for _, tc := range []struct {
		qtype uint16
		want  string
	}{{1, "A"}, {28, "AAAA"}, {65, "HTTPS"}, {257, "CAA"}, {255, "ANY"}, {99, "other"}, {65280, "other"}, {0, "other"}} {
		if got := Types[TypeIndex(tc.qtype)]; got != tc.want {
			t.Errorf("TypeIndex(%d) = %s, want %s", tc.qtype, got, tc.want)
		}
	}
	for _, tc := range []struct {
		rcode int
		want  string
	}{{0, "NOERROR"}, {3, "NXDOMAIN"}, {5, "REFUSED"}, {16, "BADVERS"}, {9, "other"}} {
		if got := Rcodes[RcodeIndex(tc.rcode)]; got != tc.want {
			t.Errorf("RcodeIndex(%d) = %s, want %s", tc.rcode, got, tc.want)
		}
	}
}

func TestHistogram(t *testing.T) {
	var h Histogram
	for _, d := range []time.Duration{5 * time.Microsecond, 10 * time.Microsecond, 30 * time.Microsecond, 2 * time.Second} {
		h.Observe(d)
	}
	b, n, sum := h.Read()
	if n != 4 || b[10e-6] != 2 || b[25e-6] != 2 || b[50e-6] != 3 || b[100e-3] != 3 {
		t.Fatalf("buckets %v count %d", b, n)
	}
	if sum < 2.000045 || sum > 2.000046 {
		t.Fatalf("sum %v", sum)
	}
	if a := testing.AllocsPerRun(100, func() { h.Observe(time.Millisecond) }); a != 0 {
		t.Fatalf("Observe allocates %v", a)
	}
}

func TestRegistryKeepsZones(t *testing.T) {
	var r Registry
	c := r.Zone("example.com.")
	c.Add(1, 0, false)
	if r.Zone("example.com.") != c {
		t.Fatal("a second Zone call made new counters: a reload would reset them")
	}
	if z := r.Zones(); len(z) != 1 || z[0] != "example.com." {
		t.Fatalf("zones %v", z)
	}
	var nilReg *Registry
	if nilReg.Zone("x.") != nil {
		t.Fatal("a nil registry made counters")
	}
}

// ECSNone is derived from the totals; it never goes back, not even when a
// zone's counters are dropped.
func TestECSNoneDerived(t *testing.T) {
	var r Registry
	a, b := r.Zone("a."), r.Zone("b.")
	for i := 0; i < 5; i++ {
		a.Add(1, 0, false)
		r.ECS(ECSNone)
	}
	b.Add(1, 0, false)
	r.ECS(ECSUsed)
	r.NoZone.Add(1, 5, false)
	r.ECS(ECSNone)
	if n := r.ECSCount(ECSNone); n != 6 {
		t.Fatalf("none = %d, want 6", n)
	}
	r.Retain(func(z string) bool { return z == "b." })
	if n := r.ECSCount(ECSNone); n != 6 {
		t.Fatalf("after dropping a zone, none = %d, want 6", n)
	}
	b.Add(1, 0, true)
	r.ECS(ECSNone)
	if n := r.ECSCount(ECSNone); n != 7 {
		t.Fatalf("none = %d, want 7", n)
	}
}

func TestWorkerLatencySums(t *testing.T) {
	var r Registry
	w1, w2 := r.WorkerLatency(0), r.WorkerLatency(0)
	w1.Observe(5 * time.Microsecond)
	w2.Observe(30 * time.Microsecond)
	r.Latency[0].Observe(time.Second)
	r.WorkerLatency(1).Observe(time.Millisecond)
	b, n, sum := r.ReadLatency(0)
	if n != 3 || b[10e-6] != 1 || b[50e-6] != 2 || b[100e-3] != 2 || sum < 1.000035 || sum > 1.000036 {
		t.Fatalf("udp: buckets %v count %d sum %v", b, n, sum)
	}
	if _, n, _ := r.ReadLatency(1); n != 1 {
		t.Fatalf("tcp count %d", n)
	}
}
