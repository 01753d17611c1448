package pool

import "time"

// Defaults of a health check (`octodns.smartdns.healthcheck`): the zone
// reader fills them into each Check, and the prober applies them to a
// Check that leaves them zero. docs/zone-format.md lists them; a test in
// test/docs holds the two to each other.
const (
	DefaultCheckInterval = 10 * time.Second
	DefaultCheckTimeout  = 2 * time.Second
	DefaultCheckRise     = 2
	DefaultCheckFall     = 3
)
