// Package loadreport is the wire format of the load reports that sites'
// agents send to the nameservers: the Report, its strict Decode, its
// HMAC signature (Sign, Verify) and the constants both sides share (Path,
// SignatureHeader, the limits).
//
// It is a leaf: it imports only the standard library, no feature package
// and no bbolt, so that the site agent (package loadreport/agent) and the
// server's receiver (package loadreport/receiver) share it without the
// agent linking the server.
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
// (Sign makes it; ParseSignature checks its form, Verify its value). Decode is strict: unknown or repeated fields, null,
// wrong types, numbers that are not finite, a load outside 0..1, a seq or
// ts that is not a positive integer, a bad, zoned or repeated address, no
// address or more than MaxAddresses, and site names outside
// [a-z0-9._-]{1,63} are all errors that name the field. Addresses are
// canonicalised with netip.Addr.Unmap().String(), the form the pool looks
// values up by.
package loadreport
