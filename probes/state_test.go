package probes

import (
	"testing"

	"github.com/smartdns/smartdns/pool"
)

func TestStateMachine(t *testing.T) {
	// results: + success, - failure. states: the state after each result,
	// u unknown, h healthy (up), d unhealthy (down).
	tests := []struct {
		name       string
		rise, fall int
		from       pool.State
		results    string
		states     string
	}{
		{"first success is up at once", 2, 3, pool.Unknown, "+", "h"},
		{"unknown stays until fall failures", 2, 3, pool.Unknown, "---", "uud"},
		{"unknown then a success", 2, 3, pool.Unknown, "--+", "uuh"},
		{"down after fall failures in a row", 2, 3, pool.Unknown, "+--+---", "hhhhhhd"},
		{"up after rise successes in a row", 2, 3, pool.Unknown, "---++", "uuddh"},
		{"rise interrupted starts over", 3, 1, pool.Unhealthy, "++-+++", "dddddh"},
		{"fall interrupted starts over", 2, 3, pool.Healthy, "--+---", "hhhhhd"},
		{"flapping, success first, never changes", 2, 2, pool.Unknown, "+-+-+-+-+-", "hhhhhhhhhh"},
		{"flapping, failure first, is never down", 2, 2, pool.Unknown, "-+-+-+-+-+", "uhhhhhhhhh"},
		{"flapping while down stays down", 2, 2, pool.Unhealthy, "+-+-+-+-", "dddddddd"},
		{"flapping with rise 3 fall 5", 3, 5, pool.Healthy, "+--+---+----+", "hhhhhhhhhhhhh"},
		{"rise and fall 1 follow every result", 1, 1, pool.Unknown, "+-+-", "hdhd"},
		{"zero rise and fall count as 1", 0, 0, pool.Unknown, "-+", "dh"},
		{"restored up needs fall failures", 2, 2, pool.Healthy, "--", "hd"},
		{"restored down needs rise successes", 2, 2, pool.Unhealthy, "++", "dh"},
	}
	letter := map[pool.State]byte{pool.Unknown: 'u', pool.Healthy: 'h', pool.Unhealthy: 'd'}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := counter{state: tc.from}
			got := make([]byte, 0, len(tc.results))
			for _, r := range []byte(tc.results) {
				before := c.state
				changed := c.step(r == '+', tc.rise, tc.fall)
				if changed != (c.state != before) {
					t.Fatalf("step reported changed=%v going %v -> %v", changed, before, c.state)
				}
				got = append(got, letter[c.state])
			}
			if string(got) != tc.states {
				t.Errorf("results %s from %v: states %s, want %s", tc.results, tc.from, got, tc.states)
			}
		})
	}
}
