// Package zones reads zone files (octoDNS YAML and RFC 1035 master files),
// validates them, compiles them into immutable Zones, and answers lookups
// against a Snapshot of every served zone.
//
// Names inside this package are kept in lower-cased DNS wire form (length
// prefixed labels) so that a query's name can be matched without converting
// it to text and without allocating.
package zones
