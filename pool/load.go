package pool

import "time"

// The least-loaded policy's defaults and its formula live here and only
// here: package loadreport publishes the raw ingredients (Load) and reuses
// Watermarks for the sites it shows; records and the View use both.
const (
	// DefaultShedHigh and DefaultShedLow are the shed watermarks of a
	// record that sets none (octodns.smartdns.shed).
	DefaultShedHigh = 0.9
	DefaultShedLow  = 0.8
	// DefaultSlowStart is how long a returning site's weight takes to ramp
	// up to full when the record sets no slow_start.
	DefaultSlowStart = 30 * time.Second
	// MinFactor is the smallest least-loaded factor of a value that serves,
	// so that a returning or saturated site still gets a trickle.
	MinFactor = 0.01
)

// Watermarks are a pair of shed watermarks: a value whose smoothed load
// goes above High leaves the rotation until it is back under Low.
type Watermarks struct{ High, Low float64 }

// OrDefault fills unset or inconsistent watermarks with the defaults: a
// High of 0 or less is DefaultShedHigh; a Low of 0 or less, or above High,
// is DefaultShedLow (at most High).
func (w Watermarks) OrDefault() Watermarks {
	if w.High <= 0 {
		w.High = DefaultShedHigh
	}
	if w.Low <= 0 || w.Low > w.High {
		w.Low = min(DefaultShedLow, w.High)
	}
	return w
}

// Shed applies the hysteresis: was is the state before, smoothed the new
// smoothed load. Applying it twice to the same load changes nothing, so
// the state may be recomputed whenever anything is republished.
func (w Watermarks) Shed(was bool, smoothed float64) bool {
	switch {
	case !was && smoothed > w.High:
		return true
	case was && smoothed < w.Low:
		return false
	}
	return was
}

// Factor is the least-loaded multiplier of a value's static weight: the
// site's headroom (1 − smoothed), ramped up linearly over slowStart after
// the site returned (returned zero: it never was away), in [MinFactor, 1].
// It depends on now only during the ramp.
func Factor(smoothed float64, returned, now time.Time, slowStart time.Duration) float64 {
	f := 1 - smoothed
	if slowStart > 0 && !returned.IsZero() {
		if since := now.Sub(returned); since < slowStart {
			f *= max(0, float64(since)/float64(slowStart))
		}
	}
	return min(1, max(MinFactor, f))
}
