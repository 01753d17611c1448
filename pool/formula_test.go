package pool

import (
	"math"
	"testing"
	"time"
)

// The one least-loaded formula: headroom times the ramp, in [MinFactor, 1].
func TestFactor(t *testing.T) {
	at := time.Unix(1763770000, 0)
	for _, tc := range []struct {
		smoothed float64
		returned time.Time
		now      time.Time
		slow     time.Duration
		want     float64
	}{
		{0.2, time.Time{}, at, 30 * time.Second, 0.8},
		{0, at, at, 30 * time.Second, MinFactor},
		{0, at, at.Add(15 * time.Second), 30 * time.Second, 0.5},
		{0.5, at, at.Add(15 * time.Second), 30 * time.Second, 0.25},
		{0.5, at, at.Add(time.Minute), 30 * time.Second, 0.5},
		{0.5, at, at.Add(-time.Second), 30 * time.Second, MinFactor}, // the clock went back
		{1, time.Time{}, at, 30 * time.Second, MinFactor},
		{0, at, at, 0, 1}, // no ramp
	} {
		if got := Factor(tc.smoothed, tc.returned, tc.now, tc.slow); math.Abs(got-tc.want) > 1e-9 {
			t.Errorf("Factor(%v, %v, %v, %v) = %v, want %v", tc.smoothed, tc.returned, tc.now, tc.slow, got, tc.want)
		}
	}
}

func TestWatermarks(t *testing.T) {
	for _, tc := range []struct{ in, want Watermarks }{
		{Watermarks{}, Watermarks{DefaultShedHigh, DefaultShedLow}},
		{Watermarks{0.95, 0.7}, Watermarks{0.95, 0.7}},
		{Watermarks{0.5, 0}, Watermarks{0.5, 0.5}},
		{Watermarks{0.7, 0.75}, Watermarks{0.7, 0.7}},
	} {
		if got := tc.in.OrDefault(); got != tc.want {
			t.Errorf("%v.OrDefault() = %v, want %v", tc.in, got, tc.want)
		}
	}
	w := Watermarks{0.9, 0.8}
	for _, tc := range []struct {
		was  bool
		load float64
		want bool
	}{{false, 0.95, true}, {false, 0.85, false}, {true, 0.85, true}, {true, 0.79, false}, {false, 0.9, false}, {true, 0.8, true}} {
		if got := w.Shed(tc.was, tc.load); got != tc.want {
			t.Errorf("Shed(%v, %v) = %v, want %v", tc.was, tc.load, got, tc.want)
		}
		if got := w.Shed(w.Shed(tc.was, tc.load), tc.load); got != tc.want {
			t.Errorf("Shed twice (%v, %v) = %v, want %v", tc.was, tc.load, got, tc.want)
		}
	}
}
