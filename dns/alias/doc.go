// Package alias owns resolving apex ALIAS targets that lie outside the
// zones smartdns serves (a CDN or load-balancer name, the common case), as
// PowerDNS's ALIAS support does: the target's A and AAAA RRsets are asked
// of configured recursive resolvers (alias.resolvers) and cached.
//
// The answer path must not wait on the network, take a lock or allocate,
// so the cache is built for it:
//
//   - The targets are known from the zones: a snapshot names them
//     (zones.Snapshot.AliasTargets) and SetTargets is called before it is
//     published. New targets are resolved at once (SetTargets waits up to
//     one timeout for them, so a zone published with a new ALIAS usually
//     answers from its first query); targets no snapshot names are
//     dropped. The cache thus holds one entry per target and address type,
//     never more.
//   - Each entry is immutable (its RDATA packed once) and published through
//     an atomic.Pointer; a query reads the map of targets (itself replaced
//     whole, never changed) and one pointer.
//   - One refresher goroutine (Run) re-resolves each entry at 3/4 of its
//     TTL, so a warm entry is replaced before it expires and no query ever
//     waits for the resolver.
//   - The TTL cached is the lowest TTL of the answer's RRs and the CNAMEs
//     followed to them, or for NODATA and NXDOMAIN the negative TTL of the
//     SOA given (RFC 2308 §5), capped by alias.max_ttl and at least one
//     second. A query is answered with the time left.
//   - When every resolver fails, the last answer keeps being served, with a
//     TTL of 30 seconds (RFC 8767 §4), up to alias.serve_stale past its
//     expiry, while retries back off. A target never resolved answers
//     SERVFAIL.
//
// A query for a target not yet resolved (right after a start or a reload,
// when the resolvers are slow or down) gets SERVFAIL at once rather than
// waiting: answers are written by a few UDP workers, and one blocked for a
// timeout would stall every query behind it. SERVFAIL tells the client's
// resolver to retry, by which time the background resolution has landed.
//
// An upstream NXDOMAIN is answered as NODATA: the name asked (the apex)
// exists, only its addresses are missing.
package alias
