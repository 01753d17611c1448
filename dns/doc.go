// Package dns is smartdns's DNS front end: the UDP and TCP listeners, the
// parsing of queries, and the handler that turns a zones lookup into a wire
// answer. It reads the served zones from an immutable zones.Snapshot through
// one atomic load per query and writes answers into pooled buffers, so the
// query path takes no lock and allocates nothing for a static answer.
package dns
