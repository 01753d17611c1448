package zonefile

import (
	"github.com/miekg/dns"

	"github.com/smartdns/smartdns/internal/diag"
	"github.com/smartdns/smartdns/pool"
)

// TypeALIAS is the private-use type code smartdns uses internally for
// octoDNS's ALIAS record (a CNAME-like pointer allowed at the apex, answered
// with the target's A and AAAA). It never appears on the wire.
const TypeALIAS uint16 = 65401

// Record is one RRset as a source file wrote it, before compilation: the
// common currency between the file readers (octoDNS YAML, RFC 1035) and the
// compiler.
type Record struct {
	// Name is the owner, fully qualified, lower case, presentation form
	// ("www.example.com.").
	Name string
	// Type is a dns.TypeX constant, or TypeALIAS.
	Type uint16
	TTL  uint32
	// TTLSet is true when the file gave the TTL (octoDNS `ttl:`); false
	// when TTL holds the reader's default.
	TTLSet bool
	// RRs are the values, each with its header filled in (Name, Rrtype,
	// Class IN, Ttl). Empty for ALIAS.
	RRs []dns.RR
	// Target is the ALIAS target (fully qualified, lower case).
	Target string
	// Dynamic is the record's octoDNS `dynamic:` block as the reader
	// validated it; RRs are then the backup values. nil for a static
	// record.
	Dynamic *Dynamic
	// Pos is where the record starts in its file.
	Pos diag.Pos
}

// Dynamic is a dynamic record's pools, rules and settings, read and
// checked against everything the file alone can tell. What depends on the
// server (which GeoIP databases are open, whether probing is on and ICMP
// allowed) is the compiler's to check, at the positions given here.
type Dynamic struct {
	// Record holds the pools, rules and settings. Its Backup values, the
	// values' health members and the derived fields are the compiler's to
	// fill (pool.Record.Prepare).
	Record *pool.Record
	// Checks says, per pool and value (Checks[p][v] for
	// Record.Pools[p].Values[v]), how the value is probed when probing is
	// on: nil for values with status up or down.
	Checks [][]*pool.Check
	// Locations are the coordinates the file gives values, by value text,
	// for the backup values the compiler adds.
	Locations map[string]Location
	// ASNsAt are the `asns:` keys of rules that match on ASNs: they need
	// an ASN database.
	ASNsAt []diag.Pos
	// ClosestAt is the `policy: closest` setting, when given: it needs a
	// City database.
	ClosestAt *diag.Pos
	// ICMPAt is the `protocol: ICMP` setting when some value would be
	// probed by ICMP: the server must be allowed to send it.
	ICMPAt *diag.Pos
}

// Location is a value's position for the closest policy.
type Location struct{ Lat, Lon float64 }
