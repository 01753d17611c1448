// Package pool picks the answer of a dynamic record for one client: the
// first rule that matches the client chooses a pool; among the pool's values
// that are up, the record's policy (weighted, priority, sticky, closest)
// chooses one or more; a pool with none up falls back along its chain, and
// an exhausted chain ends as the record says (backup values, NODATA, or
// every value of the pool). It also works out the EDNS Client Subnet scope:
// the widest prefix over which the answer cannot change (RFC 7871).
//
// Records are compiled by package zones and are immutable; health arrives
// through the Health interface as a table swapped atomically elsewhere, so
// a pick takes no lock.
package pool
