package zones

import (
	"fmt"
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
	// aliasExits maps each apex ALIAS target whose chain leaves the
	// served zones to the name a resolver must be asked (see AliasExit).
	aliasExits map[string]string
	// externalAlias allows such ALIASes (alias.resolvers is configured);
	// without it checkAlias refuses them.
	externalAlias bool
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
	s.indexAliases()
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

// maxAliasHops bounds the CNAMEs (and ALIASes) an ALIAS target is followed
// through inside the served zones.
const maxAliasHops = 8

// ResolveAddrs follows name (wire form) through the served zones, across
// CNAMEs, to its A or AAAA RRset. It backs ALIAS answers from the served
// zones; ok is false when the chain does not end in them (see AliasExit).
func (s *Snapshot) ResolveAddrs(name string, qtype uint16) (*RRset, bool) {
	t := s.traceAlias(name, qtype)
	switch t.end {
	case aliasFound:
		return t.set, true
	case aliasNoData:
		return nil, true
	}
	return nil, false
}

// aliasEnd is where following an ALIAS target through the served zones
// ended.
type aliasEnd uint8

const (
	aliasFound     aliasEnd = iota // an A or AAAA RRset in a served zone
	aliasNoData                    // the name exists in a served zone without the type
	aliasOutside                   // the name is in no served zone
	aliasDelegated                 // the name is below a zone cut of a served zone
	aliasMissing                   // the name does not exist in its served zone
	aliasDNAME                     // the name is below a DNAME
	aliasLoop                      // too many CNAMEs, or a loop
)

// aliasTrace is the outcome of following an ALIAS target.
type aliasTrace struct {
	end  aliasEnd
	set  *RRset // aliasFound
	name string // the last name reached (wire form)
	zone *Zone  // the served zone holding name, nil for aliasOutside
	hops int    // CNAMEs and ALIASes followed
}

// traceAlias follows name through the served zones across CNAMEs (and the
// ALIAS of an apex it reaches) for qtype A or AAAA.
func (s *Snapshot) traceAlias(name string, qtype uint16) aliasTrace {
	for hops := 0; hops < maxAliasHops; hops++ {
		z := s.Find(name)
		if z == nil {
			return aliasTrace{end: aliasOutside, name: name, hops: hops}
		}
		t := aliasTrace{name: name, zone: z, hops: hops}
		r := z.Lookup(name, qtype)
		switch r.Kind {
		case Success:
			t.end, t.set = aliasFound, r.Set
			return t
		case NoData:
			t.end = aliasNoData
			return t
		case CNAMEAlias:
			name = lowerWireString(string(r.Set.Data[0]))
			continue
		case ApexAlias:
			name = r.Node.Alias
			continue
		case Delegation:
			t.end = aliasDelegated
			return t
		case DNAMERedirect:
			t.end = aliasDNAME
			return t
		}
		t.end = aliasMissing
		return t
	}
	return aliasTrace{end: aliasLoop, name: name}
}

// external reports whether the trace ends outside what the served zones
// answer, so that only a resolver (alias.resolvers) can answer it.
func (t aliasTrace) external() bool { return t.end == aliasOutside || t.end == aliasDelegated }

// AliasExit returns, for an apex ALIAS target (wire form) whose chain
// leaves the served zones, the name a resolver must be asked for: the
// target itself, or the first name outside (or delegated away from) the
// served zones its CNAME chain reaches. ok is false for a target the served
// zones answer. It is a map lookup: safe on the answer path.
func (s *Snapshot) AliasExit(target string) (exit string, ok bool) {
	exit, ok = s.aliasExits[target]
	return exit, ok
}

// AliasTargets returns the distinct names (wire form, sorted) that the
// apex ALIASes of this snapshot need resolved outside the served zones:
// what a resolver cache must hold for it.
func (s *Snapshot) AliasTargets() []string {
	if s == nil {
		return nil
	}
	seen := map[string]bool{}
	var out []string
	for _, exit := range s.aliasExits {
		if !seen[exit] {
			seen[exit] = true
			out = append(out, exit)
		}
	}
	sort.Strings(out)
	return out
}

// indexAliases records the exit name of every apex ALIAS whose chain
// leaves the served zones. It runs once the snapshot's zones are final and
// before it is published; afterwards the index is only read.
func (s *Snapshot) indexAliases() {
	s.aliasExits = nil
	for _, z := range s.zones {
		target := z.nodes[z.Apex].Alias
		if target == "" {
			continue
		}
		if t := s.traceAlias(target, dns.TypeA); t.external() {
			if s.aliasExits == nil {
				s.aliasExits = map[string]string{}
			}
			s.aliasExits[target] = t.name
		}
	}
}

// checkAlias reports whether z's apex ALIAS (if any) can be answered: from
// the served zones (its target must reach an A or AAAA record there), or,
// when s.externalAlias is set (alias.resolvers configured), by a resolver
// for a target whose chain leaves the served zones.
func (s *Snapshot) checkAlias(z *Zone) (string, bool) {
	target := z.nodes[z.Apex].Alias
	if target == "" {
		return "", true
	}
	name := "ALIAS target " + zonefile.PresentName(target)
	t := s.traceAlias(target, dns.TypeA)
	if t.end == aliasNoData {
		t6 := s.traceAlias(target, dns.TypeAAAA)
		if t6.end == aliasFound {
			return "", true
		}
	}
	const hint = "; set alias.resolvers in the server config to resolve it (docs/configuration.md)"
	switch t.end {
	case aliasFound:
		return "", true
	case aliasNoData:
		if t.hops > 0 {
			return name + " leads by CNAME to " + zonefile.PresentName(t.name) + ", which has no A or AAAA record", false
		}
		return name + " has no A or AAAA record", false
	case aliasOutside, aliasDelegated:
		if s.externalAlias {
			return "", true
		}
		where := " is in a zone smartdns does not serve"
		if t.hops > 0 {
			where = " is in a served zone, but its CNAME chain leaves the served zones at " + zonefile.PresentName(t.name)
		}
		if t.end == aliasDelegated {
			where = " is delegated away from zone " + t.zone.Origin
			if t.hops > 0 {
				where = " leads by CNAME to " + zonefile.PresentName(t.name) + ", which is delegated away from zone " + t.zone.Origin
			}
		}
		return name + where + ", so smartdns cannot answer the ALIAS from its zones" + hint, false
	case aliasMissing:
		if t.hops > 0 {
			return name + " leads by CNAME to " + zonefile.PresentName(t.name) + ", which does not exist in zone " + t.zone.Origin, false
		}
		return name + " does not exist in zone " + t.zone.Origin, false
	case aliasDNAME:
		if t.hops > 0 {
			name += " leads by CNAME to " + zonefile.PresentName(t.name) + ", which"
		}
		return name + " is below a DNAME in zone " + t.zone.Origin + "; ALIAS does not follow DNAME", false
	}
	return name + " leads through more than " + fmt.Sprint(maxAliasHops) + " CNAMEs (or a loop)", false
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
