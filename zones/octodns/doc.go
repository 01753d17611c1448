// Package octodns reads octoDNS YAML zone files (one file, or octoDNS's
// split folder) into zonefile records: every record type octoDNS knows,
// !include, and dynamic records (`dynamic:` pools and rules, with
// smartdns's settings and health checks under `octodns:`), each checked as
// octoDNS checks it and every problem reported at its line and column.
package octodns
