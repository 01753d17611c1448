// Package loadreport turns the load reports that sites' agents send into
// the load table the pool reads: it owns the wire format and its signing,
// the HTTP receiver, and the table (the agent lives here too, in agent*.go).
//
// # Wire format
//
// An agent POSTs one JSON object to /api/v1/reports:
//
//	{"site": "fra", "addresses": ["192.0.2.1"], "load": 0.42, "draining": false,
//	 "ts": 1763770000, "seq": 17, "metrics": {"connections": 812, "capacity": 2000}}
//
// with the header
//
//	X-Smartdns-Signature: sha256=<hex HMAC-SHA256 of the exact body bytes, keyed with the site's key>
//
// (Sign makes it). Decode is strict: unknown or repeated fields, null,
// wrong types, numbers that are not finite, a load outside 0..1, a seq or
// ts that is not a positive integer, a bad, zoned or repeated address, no
// address or more than MaxAddresses, and site names outside
// [a-z0-9._-]{1,63} are all errors that name the field. Addresses are
// canonicalised with netip.Addr.Unmap().String(), the form the pool looks
// values up by.
//
// # The order of the receiver's checks
//
//  1. method other than POST: 405 with Allow: POST;
//  2. body over MaxBody (64 KiB; at most MaxBody+1 bytes are read): 413;
//  3. signature header missing or not sha256=<64 hex digits>: 401;
//  4. body not a JSON object with a string "site": 400 (no detail);
//  5. site not configured: 403;
//  6. signature does not match the site's key (constant-time): 401;
//  7. strict decoding fails: 400 naming the field;
//  8. ts more than MaxSkew (30 s) from the server's clock, or seq not
//     above the last accepted for the site: 409 (replay);
//  9. the store fails: 500; otherwise 204.
//
// The signature can only be checked once the site, and so the key, is
// known; so only the site is read before it, and the detailed format
// errors of step 7 are told only to a sender that holds the site's key.
// An unauthenticated sender learns whether the body is JSON with a site
// and whether that site exists, nothing more. A refused report changes
// nothing: not the store, not the table. Errors are {"error": "..."}.
// Reports of one site are handled one at a time, so two with the same seq
// cannot both be accepted.
//
// # The load table
//
// The latest accepted report of each site is kept (with the site's table
// state) in the bbolt store, so a restarted server keeps its loads and
// still refuses replayed seqs. After each accepted report and every second
// (Receiver.Run), the table is published to pool.HealthTable.PublishLoads
// as one pool.Load per address:
//
//   - Fresh: the report was received at most StaleAfter (30 s) ago by the
//     server's clock. A stale site is published with Fresh false and
//     nothing else trusted, not even draining: the pool then uses static
//     weights (health checks still take a dead site out).
//   - Smoothed: an EWMA of the site's loads, s ← s + Alpha·(load − s) with
//     Alpha = 0.3. With reports every 5 s a step change is 83% absorbed
//     after five reports (25 s), and a single outlier moves the smoothed
//     value by at most 30% of its distance. It starts at the first
//     report's load, and starts again when a site reports after going
//     stale.
//   - Draining: from the report.
//   - Returned: when the site came back to serving after draining, going
//     stale, or never having reported; zero when it was never away.
//
// Watermarks and slow start are per record in the zones, so the split is:
// this package publishes the raw ingredients (Fresh, Smoothed, Draining,
// Returned) and package pool alone computes the least-loaded factor
// (pool.Factor) and each record's shed state, keeping the hysteresis per
// address and pair of watermarks in the published pool.View. A site's own
// Shed (SiteState.Shed, shown by the status API) is the same
// pool.Watermarks.Shed under the default watermarks (0.9/0.8).
//
// When several sites list the same address, the site whose report was
// received last wins (ties: the smaller site name).
package loadreport
