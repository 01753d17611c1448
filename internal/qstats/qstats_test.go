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
