package status

import (
	"fmt"
	"net/netip"
	"strings"
	"time"

	mdns "github.com/miekg/dns"

	"github.com/smartdns/smartdns/pool"
	"github.com/smartdns/smartdns/zones"
	"github.com/smartdns/smartdns/zones/zonefile"
)

// Explanation is how a name and type are answered for one client: what
// `smartdns explain` prints and GET /api/v1/explain returns.
type Explanation struct {
	Name string `json:"name"`
	Type string `json:"type"`
	Zone string `json:"zone,omitempty"`
	// Kind is refused, nxdomain, nodata, referral, static, dynamic or
	// other (CNAME chains, DNAME, ANY: dig shows those).
	Kind string `json:"kind"`
	// Referral is the delegated name, for a referral.
	Referral string `json:"referral,omitempty"`
	// TTL and Answer are the static answer's; for a dynamic record
	// Dynamic holds the decision.
	TTL     uint32            `json:"ttl,omitempty"`
	Answer  []string          `json:"answer,omitempty"`
	Scope   int               `json:"scope"`
	Dynamic *pool.Explanation `json:"dynamic,omitempty"`
}

// ParseClient reads a client as an address or a prefix (an EDNS Client
// Subnet), unmapping IPv4-mapped IPv6.
func ParseClient(s string) (pool.Client, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return pool.Client{}, err
		}
		p = p.Masked()
		a, bits := p.Addr(), p.Bits()
		if a.Is4In6() {
			a, bits = a.Unmap(), max(0, bits-96)
		}
		return pool.Client{Addr: a, Bits: bits}, nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return pool.Client{}, err
	}
	a = a.Unmap()
	return pool.Client{Addr: a, Bits: a.BitLen()}, nil
}

// Explain says how snap answers name (presentation form) and qtype for c
// at now, with health, loads and overrides from v (nil: everything up).
// It changes nothing: the same computation as the query path, read-only.
func Explain(snap *zones.Snapshot, loc pool.Locator, v *pool.View, now time.Time, c pool.Client, name string, qtype uint16) (Explanation, error) {
	name = mdns.Fqdn(name)
	e := Explanation{Name: name, Type: typeName(qtype)}
	wire, err := zonefile.WireName(name)
	if err != nil {
		return e, err
	}
	var z *zones.Zone
	if snap != nil {
		z = snap.Find(wire)
	}
	if z == nil {
		e.Kind = "refused"
		return e, nil
	}
	e.Zone = z.Origin
	res := z.Lookup(wire, qtype)
	switch res.Kind {
	case zones.NameError:
		e.Kind = "nxdomain"
	case zones.NoData:
		e.Kind = "nodata"
	case zones.Delegation:
		e.Kind = "referral"
		e.Referral = zonefile.PresentName(res.Node.Name)
	case zones.Success, zones.CNAMEAlias:
		set := res.Set
		if set.Dynamic == nil {
			e.Kind = "static"
			e.TTL = set.TTL
			for _, rr := range set.RRs(name) {
				e.Answer = append(e.Answer, rr.String())
			}
			break
		}
		e.Kind = "dynamic"
		d := set.Dynamic.Explain(c, loc, v, now)
		d.TTL = set.Dynamic.TTLCap(v)
		e.Dynamic = &d
		e.TTL = d.TTL
		e.Answer = d.Answer
		e.Scope = d.Scope
	default:
		e.Kind = "other"
	}
	return e, nil
}

// Text writes e as `smartdns explain` prints it.
func (e Explanation) Text() string {
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	if e.Kind == "refused" {
		w("%s is in no zone smartdns serves: REFUSED\n", e.Name)
		return b.String()
	}
	w("name:    %s %s (zone %s)\n", e.Name, e.Type, e.Zone)
	switch e.Kind {
	case "nxdomain":
		w("answer:  NXDOMAIN (static: the same for every client; ECS scope /0)\n")
		return b.String()
	case "nodata":
		w("answer:  NODATA (static: the same for every client; ECS scope /0)\n")
		return b.String()
	case "referral":
		w("answer:  referral to %s (static; ECS scope /0)\n", e.Referral)
		return b.String()
	case "other":
		w("answer:  static (ECS scope /0); dig shows it\n")
		return b.String()
	case "static":
		w("record:  static %s, TTL %d\n", e.Type, e.TTL)
		for _, a := range e.Answer {
			w("answer:  %s\n", a)
		}
		w("scope:   /0 (a static answer does not depend on the client)\n")
		return b.String()
	}
	d := e.Dynamic
	w("record:  dynamic %s, policy %s, answers %d, exhausted %s\n", e.Type, d.Policy, d.Answers, d.Exhausted)
	where := "location unknown"
	if d.HasLocation {
		where = fmt.Sprintf("%s/%s/%s", dash(d.Location.Continent), dash(d.Location.Country), dash(d.Location.Subdivision))
		if d.Location.Prefix > 0 {
			where += fmt.Sprintf(" (database network /%d)", d.Location.Prefix)
		}
		if d.Location.ASN != 0 {
			where += fmt.Sprintf(", AS%d", d.Location.ASN)
		}
	}
	w("client:  %s: %s\n", d.Client, where)
	for _, r := range d.Rules {
		mark := "  "
		switch {
		case r.Matched:
			mark = "=>"
		case !r.Tried:
			mark = "  (not tried)"
		}
		// Numbered from 1, as the zone's problems number rules.
		w("rule %d:  %s -> pool %s %s", r.Index+1, r.Match, r.Pool, mark)
		if r.Why != "" {
			w(" %s", r.Why)
		}
		w("\n")
	}
	for _, p := range d.Pools {
		state := "no value up, falling back"
		if p.Answered {
			state = "answered"
		}
		if p.Fallback != "" {
			state += ", fallback " + p.Fallback
		}
		w("pool %s: %s\n", p.Name, state)
		for _, v := range p.Values {
			st := "down"
			if v.Up {
				st = "up"
			}
			if v.Override != "" {
				st += " (override " + v.Override + ")"
			}
			chosen := ""
			if v.Chosen {
				chosen = "  <- chosen"
			}
			w("  %-40s weight %-3d status %-4s %s%s\n", v.Value, v.Weight, v.Status, st, chosen)
		}
	}
	switch {
	case d.NoData:
		w("answer:  NODATA (every pool exhausted; exhausted: nodata)\n")
	case d.Backup:
		w("answer:  %s (the record's backup values: the pools were exhausted or no rule matched)\n", strings.Join(d.Answer, " "))
	case d.All:
		w("answer:  %s (every value of the pool, ignoring health; exhausted: all)\n", strings.Join(d.Answer, " "))
	default:
		w("answer:  %s\n", strings.Join(d.Answer, " "))
	}
	w("scope:   /%d\n", d.Scope)
	w("ttl:     %d\n", e.TTL)
	return b.String()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
