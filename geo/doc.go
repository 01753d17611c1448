// Package geo turns a client address into a Location (continent, country,
// subdivision, coordinates, AS number, and the matching network's prefix
// length for the EDNS Client Subnet scope) and owns the octoDNS geo codes
// that rules match Locations with.
//
// It reads MaxMind DB files: GeoIP2/GeoLite2 City or Country for geography,
// GeoLite2 ASN for AS numbers, and, when no geography file is configured, a
// built-in PDDL-licensed country database (see builtin/README.md). Records
// are decoded with a hand-written cursor walk over just the fields a rule can
// match, so a lookup stays around a microsecond and does not allocate.
// Databases are immutable once opened; Resolver.Watch swaps in replaced files
// atomically and keeps the old data when a new file is bad.
//
// Geo codes are octoDNS's: "EU", "NA-US", "NA-US-WA". Parse them once with
// ParseCode when loading a zone and match per query with Code.Match.
package geo
