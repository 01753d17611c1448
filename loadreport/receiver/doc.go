// Package receiver is the server side of load reports: it accepts the
// agents' signed reports over HTTP (Receiver, mounted at loadreport.Path)
// and turns them into the smoothed load table (Table) that it publishes to
// the pool beside health.
//
// The wire format it decodes is package loadreport's. This package is the
// one that links the server's state (the bbolt store, the pool), which is
// why it is apart from the wire format the site agent shares.
//
// # The order of the receiver's checks
//
//  1. method other than POST: 405 with Allow: POST;
//  2. body over loadreport.MaxBody (64 KiB; at most MaxBody+1 bytes are read): 413;
//  3. signature header missing or not sha256=<64 hex digits>: 401;
//  4. body not a JSON object with a string "site": 400 (no detail);
//  5. site not configured: 403;
//  6. signature does not match the site's key (constant-time): 401;
//  7. strict decoding fails: 400 naming the field;
//  8. an address the site may not report (Receiver.Addresses): 403
//     naming it;
//  9. ts more than MaxSkew (30 s) from the server's clock, or seq not
//     above the last accepted for the site while that was received at
//     most 2·MaxSkew ago: 409 (replay; see after for why this bounds a
//     huge seq's lock-out and still accepts no report twice);
//  10. the store fails: 500; otherwise 204.
//
// Each refusal is counted by reason (Receiver.Refused, the metric
// smartdns_reports_refused_total) and logged with the sender's address,
// at most once a second per reason.
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
package receiver
