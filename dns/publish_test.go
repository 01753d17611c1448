package dns

import (
	"testing"

	"github.com/smartdns/smartdns/zones"
)

// TestSetSnapshotRefusesOlderGenerations: two loads that finish out of
// order must not put the older zones back.
func TestSetSnapshotRefusesOlderGenerations(t *testing.T) {
	for _, c := range []struct {
		name  string
		gens  []uint64 // published in this order
		taken []bool
		serve uint64
	}{
		{"in order", []uint64{0, 1, 2}, []bool{true, true, true}, 2},
		{"older after newer", []uint64{1, 3, 2}, []bool{true, true, false}, 3},
		{"same generation twice", []uint64{1, 2, 2}, []bool{true, true, false}, 2},
		{"first one of any generation", []uint64{5}, []bool{true}, 5},
		{"zero after start", []uint64{0, 0}, []bool{true, false}, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			h := &Handler{}
			var want *zones.Snapshot
			for i, g := range c.gens {
				s := zones.NewSnapshot(g, nil)
				if got := h.SetSnapshot(s); got != c.taken[i] {
					t.Fatalf("publishing generation %d (step %d): took=%v, want %v", g, i, got, c.taken[i])
				}
				if c.taken[i] {
					want = s
				}
			}
			if got := h.Snapshot(); got != want || got.Generation != c.serve {
				t.Fatalf("serving generation %d, want %d", got.Generation, c.serve)
			}
		})
	}
}

// TestSetSnapshotConcurrent: publishers racing each other end on the
// highest generation.
func TestSetSnapshotConcurrent(t *testing.T) {
	h := &Handler{}
	done := make(chan struct{})
	const n = 64
	for i := 1; i <= n; i++ {
		go func(g uint64) { h.SetSnapshot(zones.NewSnapshot(g, nil)); done <- struct{}{} }(uint64(i))
	}
	for i := 0; i < n; i++ {
		<-done
	}
	if g := h.Snapshot().Generation; g != n {
		t.Fatalf("serving generation %d, want %d", g, n)
	}
}
