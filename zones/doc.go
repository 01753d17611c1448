// Package zones compiles the records the readers produce (package octodns
// for octoDNS YAML, package masterfile for RFC 1035, both into package
// zonefile's form) into immutable Zones, keeps the zones folder loaded
// (Loader: the last good version of each zone serves while a broken one is
// refused), and answers lookups against a Snapshot of every served zone.
//
// Names inside this package are kept in lower-cased DNS wire form (length
// prefixed labels) so that a query's name can be matched without converting
// it to text and without allocating.
package zones
