package zones

import (
	"context"
	"sort"
	"strings"
	"time"

	"github.com/miekg/dns"

	"github.com/smartdns/smartdns/internal/diag"
	"github.com/smartdns/smartdns/internal/qstats"
	"github.com/smartdns/smartdns/pool"
	"github.com/smartdns/smartdns/zones/zonefile"
)

// CompileOptions carries the server-wide defaults a zone falls back on.
type CompileOptions struct {
	// Nameservers are the apex NS names (presentation form) used when a
	// zone has no apex NS of its own; the first is the synthesized mname.
	Nameservers []string
	SOA         SOADefaults
	// GeoASN is true when an ASN database is configured (geoip.asn):
	// dynamic rules with `asns:` need one.
	GeoASN bool
	// GeoCoords is true when a City database is configured (geoip.city):
	// the `closest` policy needs client coordinates.
	GeoCoords bool
	// Members registers the health checks of dynamic records' probed
	// values (those with status obey), each value getting its check's id.
	// One registry is owned by the server and kept across reloads. nil
	// turns probing off: no value gets a check (Member -1), and obey
	// values count as up.
	Members *pool.Members
	// ProbeICMP says whether ICMP probes can run (nil: they can). When it
	// returns an error, a record whose values would be probed with
	// protocol ICMP is an error at its `protocol`, the message being the
	// error's text, which should say what to change (as probes.CheckICMP's
	// does: ping_group_range, or root). It is asked only when Members is
	// set, once per such record: make it cheap (remember the answer).
	ProbeICMP func() error
	// Tally gives each dynamic value its answer counter, kept across
	// reloads; nil counts nothing (tools).
	Tally *pool.Tally
	// Stats gives each zone its query counters; nil counts nothing.
	Stats *qstats.Registry
	// AliasResolvers is true when alias.resolvers is configured: an apex
	// ALIAS whose target lies outside the served zones is then answered
	// through them instead of being refused.
	AliasResolvers bool
}

// SOADefaults are the fields of a synthesized SOA (times in seconds). A
// field left zero takes DefaultSOA's; an empty Mname is the first of the
// nameservers, an empty Rname hostmaster.<zone>.
type SOADefaults struct {
	Mname, Rname                         string
	TTL, Refresh, Retry, Expire, Minimum uint32
}

// DefaultSOA holds the timers of a synthesized SOA that the config leaves
// unset (RFC 1912 §2.2 ranges): docs/configuration.md lists them and a
// test in test/docs holds the two to each other.
var DefaultSOA = SOADefaults{TTL: 3600, Refresh: 7200, Retry: 3600, Expire: 14 * 86400, Minimum: 300}

// DefaultReloadInterval is how often the zones folder is scanned when the
// config (reload.interval) does not say.
const DefaultReloadInterval = 2 * time.Second

// withDefaults fills the zero timers from DefaultSOA.
func (d SOADefaults) withDefaults() SOADefaults {
	or := func(v *uint32, def uint32) {
		if *v == 0 {
			*v = def
		}
	}
	or(&d.TTL, DefaultSOA.TTL)
	or(&d.Refresh, DefaultSOA.Refresh)
	or(&d.Retry, DefaultSOA.Retry)
	or(&d.Expire, DefaultSOA.Expire)
	or(&d.Minimum, DefaultSOA.Minimum)
	return d
}

// Compile validates the records of one zone and builds its immutable form.
// The zone's serial is left for the caller (see Loader), which knows the
// last serial served. Problems hold every error and warning found; when
// they include an error the zone is nil.
//
// Compile consumes recs: it drops each record's RRs once they are encoded,
// so that a large zone is not held twice in memory while it loads.
func Compile(origin, file string, recs []zonefile.Record, opt CompileOptions) (*Zone, diag.Problems) {
	z, probs, _ := compile(context.Background(), origin, file, recs, opt)
	return z, probs
}

// cancelCheckEvery is how many records the compiler builds between two
// looks at its context: a load cancelled at shutdown stops within
// milliseconds even in a zone of millions of records.
const cancelCheckEvery = 4096

// compile is Compile that gives up, returning cancelled, once ctx ends.
func compile(ctx context.Context, origin, file string, recs []zonefile.Record, opt CompileOptions) (_ *Zone, _ diag.Problems, cancelled bool) {
	var probs diag.Problems
	origin = strings.ToLower(dns.Fqdn(origin))
	apex, err := zonefile.WireName(origin)
	if err != nil {
		probs.Add(diag.Pos{File: file}, "zone name from the file name: %v", err)
		return nil, probs, false
	}
	z := &Zone{Origin: origin, Apex: apex, File: file, nodes: make(map[string]*Node, len(recs)+1), apexLabels: labelCount(apex)}
	z.nodes[apex] = &Node{Name: apex}
	pack := make([]byte, 65535)
	var hash contentHash
	checkDNSSECApex(&probs, origin, recs)
	for i := range recs {
		if i%cancelCheckEvery == cancelCheckEvery-1 && ctx.Err() != nil {
			return nil, nil, true
		}
		r := &recs[i]
		name, err := zonefile.WireName(r.Name)
		if err != nil {
			probs.Add(r.Pos, "%v", err)
			continue
		}
		if !isBelow(name, apex) {
			probs.Add(r.Pos, "%s is outside the zone %s", r.Name, origin)
			continue
		}
		n := z.ensureNode(name)
		if n.Set(r.Type) != nil || (r.Type == zonefile.TypeALIAS && n.Alias != "") || (r.Type == dns.TypeSOA && z.HasFileSOA && name == apex) {
			probs.Add(r.Pos, "%s %s is defined twice (first at %s)", r.Name, zonefile.TypeName(r.Type), firstPos(recs[:i], r.Name, r.Type))
			continue
		}
		if r.Type == zonefile.TypeALIAS {
			if name != apex {
				probs.Add(r.Pos, "ALIAS is only allowed at the zone apex, not at %s", r.Name)
				continue
			}
			t, err := zonefile.WireName(r.Target)
			if err != nil {
				probs.Add(r.Pos, "ALIAS target: %v", err)
				continue
			}
			n.Alias, n.AliasTTL = t, r.TTL
			z.aliasPos = r.Pos
			hash.add(name, zonefile.TypeALIAS, r.TTL, []byte(t))
			continue
		}
		if r.Type == dns.TypeSOA && name != apex {
			probs.Add(r.Pos, "SOA at %s: an SOA is only allowed at the zone apex", r.Name)
			continue
		}
		if r.Type == dns.TypeDS && name == apex {
			// The DS RRset of a zone lives in its parent (RFC 4034 §5,
			// RFC 4035 §2.4); named-checkzone refuses it too.
			probs.Add(r.Pos, "DS at the zone apex %s: a DS belongs in the parent zone, at the delegation (RFC 4035 §2.4)", r.Name)
			continue
		}
		set := RRset{Type: r.Type, TTL: r.TTL}
		for _, rr := range r.RRs {
			if msg := malformed(rr); msg != "" {
				probs.Add(r.Pos, "%s %s: %s", r.Name, zonefile.TypeName(r.Type), msg)
				continue
			}
			rd, err := zonefile.Rdata(rr, pack)
			if err != nil {
				probs.Add(r.Pos, "%s %s: cannot encode %q: %v", r.Name, zonefile.TypeName(r.Type), rr.String(), err)
				continue
			}
			dup := false
			for _, d := range set.Data {
				if sameRdata(r.Type, d, rd) {
					dup = true
				}
			}
			if dup {
				continue
			}
			set.Data = append(set.Data, rd)
		}
		if r.Dynamic != nil {
			dyn, dprobs := compileDynamic(r, set.Data, opt)
			probs = append(probs, dprobs...)
			set.Dynamic = dyn
			z.checks = appendChecks(z.checks, dyn)
			if dyn != nil {
				z.dynamic = append(z.dynamic, DynamicRecord{Name: zonefile.PresentName(name), Type: r.Type, Record: dyn})
			}
		}
		if r.Type != dns.TypeSOA {
			r.RRs = nil
		}
		if len(set.Data) == 0 {
			continue
		}
		if r.Type == dns.TypeSOA {
			soa, ok := r.RRs[0].(*dns.SOA)
			if !ok || len(set.Data) > 1 {
				probs.Add(r.Pos, "the zone has more than one SOA")
				continue
			}
			z.soa = *soa
			z.HasFileSOA = true
			z.FileSerial = soa.Serial
			continue // built after the serial is known
		}
		if (r.Type == dns.TypeCNAME || r.Type == dns.TypeDNAME) && len(set.Data) > 1 {
			probs.Add(r.Pos, "%s %s: only one value is allowed (RFC 2181 §10.1, RFC 6672)", r.Name, zonefile.TypeName(r.Type))
			continue
		}
		for _, d := range set.Data {
			hash.add(name, set.Type, set.TTL, d)
		}
		n.Sets = append(n.Sets, set)
		z.Records += len(set.Data)
	}

	// Synthesize what the zone does not give.
	apexNode := z.nodes[apex]
	if apexNode.Set(dns.TypeNS) == nil {
		if len(opt.Nameservers) == 0 {
			probs.Add(diag.Pos{File: file}, "zone %s has no NS records at its apex and the config gives no nameservers", origin)
		} else {
			set := RRset{Type: dns.TypeNS, TTL: opt.SOA.withDefaults().TTL}
			for _, ns := range opt.Nameservers {
				rd, err := zonefile.WireName(ns)
				if err != nil {
					probs.Add(diag.Pos{File: file}, "config nameserver: %v", err)
					continue
				}
				set.Data = append(set.Data, []byte(rd))
				hash.add(apex, dns.TypeNS, set.TTL, []byte(rd))
			}
			apexNode.Sets = append(apexNode.Sets, set)
			z.Records += len(set.Data)
		}
	}
	if !z.HasFileSOA {
		mname := opt.SOA.Mname
		if mname == "" && len(opt.Nameservers) > 0 {
			mname = opt.Nameservers[0]
		}
		if mname == "" {
			mname = origin
		}
		rname := opt.SOA.Rname
		if rname == "" {
			rname = "hostmaster." + strings.TrimPrefix(origin, ".") // the root's: hostmaster.
		}
		soa := opt.SOA.withDefaults()
		z.soa = dns.SOA{
			Hdr:     dns.RR_Header{Name: origin, Rrtype: dns.TypeSOA, Class: dns.ClassINET, Ttl: soa.TTL},
			Ns:      dns.Fqdn(mname),
			Mbox:    dns.Fqdn(rname),
			Refresh: soa.Refresh, Retry: soa.Retry, Expire: soa.Expire, Minttl: soa.Minimum,
		}
	}
	{ // The SOA takes part in the content hash without its serial.
		s := z.soa
		s.Serial = 0
		rd, _ := zonefile.Rdata(&s, pack)
		hash.add(apex, dns.TypeSOA, s.Hdr.Ttl, rd)
	}
	z.Hash = [2]uint64{hash.a, hash.b}

	for _, n := range z.nodes {
		sort.Slice(n.Sets, func(i, j int) bool { return n.Sets[i].Type < n.Sets[j].Type })
	}
	z.check(&probs, recs)
	if probs.HasErrors() {
		return nil, probs, false
	}
	z.link()
	z.SetSerial(z.FileSerial)
	sort.Slice(z.dynamic, func(i, j int) bool {
		a, b := z.dynamic[i], z.dynamic[j]
		return a.Name < b.Name || a.Name == b.Name && a.Type < b.Type
	})
	z.Counts = opt.Stats.Zone(origin)
	for _, d := range z.dynamic {
		opt.Tally.Attach(origin, d.Name, zonefile.TypeName(d.Type), d.Record)
	}
	return z, probs, false
}

// appendChecks adds the probed values' checks of a dynamic record.
func appendChecks(out []*pool.Check, r *pool.Record) []*pool.Check {
	if r == nil {
		return out
	}
	for p := range r.Pools {
		for _, v := range r.Pools[p].Values {
			if v.Check != nil {
				out = append(out, v.Check)
			}
		}
	}
	return out
}

// firstPos finds where a record of this name and type was first given.
func firstPos(recs []zonefile.Record, name string, t uint16) diag.Pos {
	for _, r := range recs {
		if r.Type == t && strings.EqualFold(r.Name, name) {
			return r.Pos
		}
	}
	return diag.Pos{}
}

// ensureNode returns the node for name, creating it and every missing
// ancestor up to the apex (empty non-terminals exist: RFC 4592 §2.2.2).
func (z *Zone) ensureNode(name string) *Node {
	if n := z.nodes[name]; n != nil {
		return n
	}
	n := &Node{Name: name}
	z.nodes[name] = n
	for p, ok := parentOf(name); ok && len(p) >= len(z.Apex); p, ok = parentOf(p) {
		if z.nodes[p] != nil {
			break
		}
		z.nodes[p] = &Node{Name: p}
	}
	return n
}

// SetSerial sets the SOA serial and rebuilds the SOA answers. It is called
// before the zone is published, never after.
func (z *Zone) SetSerial(serial uint32) {
	z.Serial = serial
	s := z.soa
	s.Serial = serial
	rd, _ := zonefile.Rdata(&s, make([]byte, 1024))
	z.SOA = &RRset{Type: dns.TypeSOA, TTL: s.Hdr.Ttl, Data: [][]byte{rd}}
	neg := s.Hdr.Ttl
	if s.Minttl < neg {
		neg = s.Minttl
	}
	z.NegSOA = &RRset{Type: dns.TypeSOA, TTL: neg, Data: [][]byte{rd}}
	apex := z.nodes[z.Apex]
	for i := range apex.Sets {
		if apex.Sets[i].Type == dns.TypeSOA {
			apex.Sets[i] = *z.SOA
			return
		}
	}
	apex.Sets = append(apex.Sets, *z.SOA)
	sort.Slice(apex.Sets, func(i, j int) bool { return apex.Sets[i].Type < apex.Sets[j].Type })
}

// SOARecord returns the SOA being served, as a miekg/dns RR.
func (z *Zone) SOARecord() *dns.SOA {
	s := z.soa
	s.Serial = z.Serial
	s.Hdr.Name = z.Origin
	return &s
}
