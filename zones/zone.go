package zones

import (
	"encoding/binary"
	"sort"

	"github.com/miekg/dns"

	"github.com/smartdns/smartdns/internal/diag"
	"github.com/smartdns/smartdns/internal/qstats"
	"github.com/smartdns/smartdns/pool"
	"github.com/smartdns/smartdns/zones/zonefile"
)

// Zone is one compiled, immutable zone. Once published in a Snapshot it is
// never modified, so queries read it without locks.
type Zone struct {
	// Origin is the zone's name, presentation form, lower case.
	Origin string
	// Apex is the zone's name in lower-cased wire form.
	Apex string
	// File is the source file.
	File string
	// Serial is the SOA serial being served.
	Serial uint32
	// FileSerial is the serial the zone file's own SOA gave, 0 if none.
	FileSerial uint32
	// HasFileSOA tells whether the zone file had its own SOA.
	HasFileSOA bool
	// Hash identifies the zone's content, SOA serial excluded; a change of
	// hash is a change of content and needs a new serial.
	Hash [2]uint64
	// Records counts the RRs served.
	Records int
	// Counts are the zone's query counters (kept across reloads by the
	// registry they come from); nil when nothing counts.
	Counts *qstats.Counts

	// SOA is the apex SOA RRset; NegSOA is the same record with the TTL
	// used in negative answers, min(SOA TTL, SOA minimum) (RFC 2308 §5).
	SOA    *RRset
	NegSOA *RRset

	nodes      map[string]*Node
	hasCuts    bool // a delegation or DNAME exists below the apex
	apexLabels int
	aliasPos   diag.Pos      // where the apex ALIAS was written
	checks     []*pool.Check // health checks of the zone's probed values
	dynamic    []DynamicRecord
	soa        dns.SOA
}

// DynamicRecord is one dynamic record of a zone, for the status API.
type DynamicRecord struct {
	Name   string // owner, presentation form, lower case
	Type   uint16
	Record *pool.Record
}

// Dynamic returns the zone's dynamic records, sorted by name and type.
func (z *Zone) Dynamic() []DynamicRecord { return z.dynamic }

// Node is a name in a zone: its RRsets, or none for an empty non-terminal.
type Node struct {
	// Name is the owner in lower-cased wire form.
	Name string
	// Sets are the RRsets at this name, sorted by type.
	Sets []RRset
	// Wild is the wildcard child "*.<name>" if the zone has one.
	Wild *Node
	// Alias is the wire-form target of an apex ALIAS.
	Alias string
	// AliasTTL is the ALIAS record's own TTL: answers from a target outside
	// the served zones never carry a longer one.
	AliasTTL uint32
	// Cut marks a delegation point (NS below the apex).
	Cut bool
	// DNAME marks a node with a DNAME RRset.
	DNAME bool
	// CNAME is the node's CNAME RRset, if any.
	CNAME *RRset
}

// RRset is the RRs of one type at one name, with their RDATA prepared in
// wire form at load time so answers are copied, not built.
type RRset struct {
	Type uint16
	TTL  uint32
	// Data holds each RR's uncompressed RDATA. Names inside the RDATA of
	// RFC 1035 types are compressed by the writer when answering.
	Data [][]byte
	// Extra lists in-zone address records for the names this RRset points
	// to (MX exchanges, SRV targets, NS hosts and their glue).
	Extra []Extra
	// Dynamic is set for an octoDNS dynamic record: the answer is picked
	// per client from its pools, and Data holds the backup values.
	Dynamic *pool.Record
}

// Extra is the additional-section data for one target name.
type Extra struct {
	Name string // wire form
	Sets []*RRset
	// Glue is true for addresses of an in-bailiwick name server below a
	// delegation; a referral that cannot carry them must be truncated
	// (RFC 9471).
	Glue bool
}

// Node returns the node for a wire-form name, or nil.
func (z *Zone) Node(name string) *Node { return z.nodes[name] }

// Set returns the node's RRset of type t, or nil.
func (n *Node) Set(t uint16) *RRset {
	for i := range n.Sets {
		if n.Sets[i].Type == t {
			return &n.Sets[i]
		}
	}
	return nil
}

// Empty reports whether the node is an empty non-terminal.
func (n *Node) Empty() bool { return len(n.Sets) == 0 && n.Alias == "" }

// Names returns every node name in presentation form, sorted; for tools and tests.
func (z *Zone) Names() []string {
	out := make([]string, 0, len(z.nodes))
	for k := range z.nodes {
		out = append(out, zonefile.PresentName(k))
	}
	sort.Strings(out)
	return out
}

// RRs returns the node's records as miekg/dns RRs, for tools, explain and
// tests; the query path never calls it.
func (z *Zone) RRs(name string) []dns.RR {
	n := z.nodes[name]
	if n == nil {
		return nil
	}
	var out []dns.RR
	owner := zonefile.PresentName(name)
	for i := range n.Sets {
		out = append(out, n.Sets[i].RRs(owner)...)
	}
	return out
}

// RRs unpacks the set into miekg/dns RRs owned by owner (presentation form).
func (s *RRset) RRs(owner string) []dns.RR {
	var out []dns.RR
	for _, rd := range s.Data {
		msg := make([]byte, 0, len(owner)+12+len(rd))
		nb := make([]byte, 256)
		n, _ := dns.PackDomainName(owner, nb, 0, nil, false)
		msg = append(msg, nb[:n]...)
		msg = binary.BigEndian.AppendUint16(msg, s.Type)
		msg = binary.BigEndian.AppendUint16(msg, dns.ClassINET)
		msg = binary.BigEndian.AppendUint32(msg, s.TTL)
		msg = binary.BigEndian.AppendUint16(msg, uint16(len(rd)))
		msg = append(msg, rd...)
		rr, _, err := dns.UnpackRR(msg, 0)
		if err == nil {
			out = append(out, rr)
		}
	}
	return out
}
