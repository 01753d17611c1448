package probes

import "github.com/smartdns/smartdns/pool"

// counter is a target's state machine: its state and the current run of
// successes or failures (only one of the two is non-zero).
type counter struct {
	state      pool.State
	succ, fail int
}

// step feeds one result to the state machine and reports whether the
// state changed. The rules (see the package doc):
//
//   - Unknown: a success makes it Healthy at once; Fall failures in a row
//     make it Unhealthy (until then it stays Unknown, which counts as up).
//   - Healthy: Fall failures in a row make it Unhealthy.
//   - Unhealthy: Rise successes in a row make it Healthy.
//
// rise and fall below 1 count as 1.
func (c *counter) step(ok bool, rise, fall int) bool {
	rise, fall = max(rise, 1), max(fall, 1)
	old := c.state
	if ok {
		c.succ++
		c.fail = 0
		if c.state == pool.Unknown || (c.state == pool.Unhealthy && c.succ >= rise) {
			c.state = pool.Healthy
		}
	} else {
		c.fail++
		c.succ = 0
		if c.state != pool.Unhealthy && c.fail >= fall {
			c.state = pool.Unhealthy
		}
	}
	return c.state != old
}
