// Package pool picks the answer of a dynamic record for one client: the
// first rule that matches the client chooses a pool; among the pool's values
// that are up, the record's policy (weighted, priority, sticky, closest)
// chooses one or more; a pool with none up falls back along its chain, and
// an exhausted chain ends as the record says (backup values, NODATA, or
// every value of the pool). It also works out the EDNS Client Subnet scope:
// the widest prefix over which the answer cannot change (RFC 7871).
//
// Records are compiled by package zones and are immutable. Everything
// else a pick depends on (member health, site loads, the operator's
// overrides, the shed hysteresis) is one immutable View, indexed by ids
// given at compile time (members by check, addresses by value text,
// watermark pairs), rebuilt by HealthTable whenever one of its publishers
// (probes, the load-report receiver, the status API's overrides) changes
// something, and swapped atomically. The query path loads it once per
// query and a pick only reads it: no lock, no map lookup, no allocation,
// and explain is the same pure computation. The clock enters only through
// the now a pick is given (slow start ramps), read once per query.
package pool
