package zonefile

import (
	"github.com/miekg/dns"
	"gopkg.in/yaml.v3"

	"github.com/smartdns/smartdns/internal/diag"
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
	// when TTL holds the reader's default. Dynamic records default to 60 s
	// instead (see compileDynamic).
	TTLSet bool
	// RRs are the values, each with its header filled in (Name, Rrtype,
	// Class IN, Ttl). Empty for ALIAS.
	RRs []dns.RR
	// Target is the ALIAS target (fully qualified, lower case).
	Target string
	// Dynamic is the record's octoDNS `dynamic:` block, kept for the pool
	// compiler (compileDynamic); RRs are then the backup values.
	Dynamic *yaml.Node
	// Octodns is the record's `octodns:` block, if any.
	Octodns *yaml.Node
	// DynamicFile and OctodnsFile name the files those blocks are in: the
	// record's own file, or the file an !include brought them from.
	DynamicFile, OctodnsFile string
	// Pos is where the record starts in its file.
	Pos diag.Pos
}
