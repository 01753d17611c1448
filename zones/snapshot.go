package zones

import (
	"sort"

	"github.com/miekg/dns"

	"github.com/smartdns/smartdns/pool"
	"github.com/smartdns/smartdns/zones/zonefile"
)

// Snapshot is the immutable set of zones being served. Queries read it
// through one atomic pointer load; a reload builds a new one aside.
type Snapshot struct {
	// Generation increases with every snapshot published.
	Generation uint64
	zones      map[string]*Zone
	maxLabels  int
}

// NewSnapshot indexes zones by apex.
func NewSnapshot(gen uint64, zs []*Zone) *Snapshot {
	s := &Snapshot{Generation: gen, zones: make(map[string]*Zone, len(zs))}
	for _, z := range zs {
		s.zones[z.Apex] = z
		if n := labelCount(z.Apex); n > s.maxLabels {
			s.maxLabels = n
		}
	}
	return s
}

// Find returns the most specific zone containing qname (lower-cased wire
// form), or nil when no served zone does.
func (s *Snapshot) Find(qname string) *Zone {
	if s == nil {
		return nil
	}
	var starts [128]int
	n := labelStarts(qname, &starts)
	for i := 0; i <= n; i++ {
		if n-i > s.maxLabels {
			continue
		}
		off := len(qname) - 1 // the root
		if i < n {
			off = starts[i]
		}
		if z := s.zones[qname[off:]]; z != nil {
			return z
		}
	}
	return nil
}

// Parent returns the most specific served zone strictly above z, or nil.
// A DS query at a child's apex is answered from there (RFC 4035 §3.1.4.1).
func (s *Snapshot) Parent(z *Zone) *Zone {
	p, ok := parentOf(z.Apex)
	if !ok {
		return nil
	}
	return s.Find(p)
}

// Zones returns the zones sorted by name.
func (s *Snapshot) Zones() []*Zone {
	if s == nil {
		return nil
	}
	out := make([]*Zone, 0, len(s.zones))
	for _, z := range s.zones {
		out = append(out, z)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Origin < out[j].Origin })
	return out
}

// Zone returns the zone with the given origin (presentation form), or nil.
func (s *Snapshot) Zone(origin string) *Zone {
	w, err := zonefile.WireName(origin)
	if err != nil || s == nil {
		return nil
	}
	return s.zones[w]
}

// ResolveAddrs follows name (wire form) through the served zones, across
// CNAMEs, to its A or AAAA RRset. It backs ALIAS answers and their check.
func (s *Snapshot) ResolveAddrs(name string, qtype uint16) (*RRset, bool) {
	for hops := 0; hops < 8; hops++ {
		q := name
		z := s.Find(q)
		if z == nil {
			return nil, false
		}
		r := z.Lookup(q, qtype)
		switch r.Kind {
		case Success:
			return r.Set, true
		case CNAMEAlias:
			name = lowerWireString(string(r.Set.Data[0]))
			continue
		case NoData:
			return nil, true
		}
		return nil, false
	}
	return nil, false
}

// checkAlias reports whether z's apex ALIAS (if any) can be answered from
// the served zones: its target must be in a served zone and have an A or
// AAAA record.
func (s *Snapshot) checkAlias(z *Zone) (string, bool) {
	apex := z.nodes[z.Apex]
	if apex.Alias == "" {
		return "", true
	}
	a, okA := s.ResolveAddrs(apex.Alias, dns.TypeA)
	aaaa, okAAAA := s.ResolveAddrs(apex.Alias, dns.TypeAAAA)
	if !okA && !okAAAA {
		return "ALIAS target " + zonefile.PresentName(apex.Alias) + " is not in a zone smartdns serves, so the ALIAS cannot be answered", false
	}
	if a == nil && aaaa == nil {
		return "ALIAS target " + zonefile.PresentName(apex.Alias) + " has no A or AAAA record", false
	}
	return "", true
}

// Checks returns the distinct health checks of every served zone: the
// targets the probers must run for this snapshot.
func (s *Snapshot) Checks() []*pool.Check {
	if s == nil {
		return nil
	}
	seen := map[string]bool{}
	var out []*pool.Check
	for _, z := range s.Zones() {
		for _, c := range z.checks {
			if k := c.Key(); !seen[k] {
				seen[k] = true
				out = append(out, c)
			}
		}
	}
	return out
}
