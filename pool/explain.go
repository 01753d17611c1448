package pool

import (
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/smartdns/smartdns/geo"
)

// Explanation says how a record answers one client: which rules were tried
// and why they matched or not, the pools walked, each candidate value with
// its weight and state, the answer and its ECS scope. It backs `smartdns
// explain` and the status API; it is never built on the query path.
type Explanation struct {
	Client      string       `json:"client"`
	Location    geo.Location `json:"location"`
	HasLocation bool         `json:"has_location"`
	Policy      string       `json:"policy"`
	Answers     int          `json:"answers"`
	Exhausted   string       `json:"exhausted"`
	Rules       []RuleTrace  `json:"rules"`
	Pools       []PoolTrace  `json:"pools"`
	Answer      []string     `json:"answer"`
	Backup      bool         `json:"backup"`
	NoData      bool         `json:"nodata"`
	All         bool         `json:"all"`
	Scope       int          `json:"scope"`
	TTL         uint32       `json:"ttl"`
}

// RuleTrace is one rule as evaluated for the client.
type RuleTrace struct {
	Index   int    `json:"index"`
	Match   string `json:"match"` // what the rule matches on
	Pool    string `json:"pool"`
	Matched bool   `json:"matched"`
	Tried   bool   `json:"tried"` // false for rules after the one that matched
	Why     string `json:"why"`
}

// PoolTrace is one pool walked, with its candidates.
type PoolTrace struct {
	Name     string       `json:"name"`
	Fallback string       `json:"fallback,omitempty"`
	Values   []ValueTrace `json:"values"`
	Answered bool         `json:"answered"`
}

// ValueTrace is one candidate value.
type ValueTrace struct {
	Value  string `json:"value"`
	Weight uint32 `json:"weight"`
	Status string `json:"status"`
	// Override is the operator's runtime override, "" when none.
	Override string `json:"override,omitempty"`
	Up       bool   `json:"up"`
	Chosen   bool   `json:"chosen"`
}

// Explain picks for c as Pick does and says why. Like Pick it only reads:
// it is a function of the record, the view, the client and now (and, for
// the weighted policies, of the random choice).
func (r *Record) Explain(c Client, loc Locator, v *View, now time.Time) Explanation {
	var a Answer
	r.Pick(c, loc, v, now, &a)
	e := Explanation{
		Client:      netip.PrefixFrom(c.Addr, c.Bits).String(),
		Location:    a.Location,
		HasLocation: a.HasLocation,
		Policy:      r.Policy.String(),
		Answers:     r.Answers,
		Exhausted:   r.Exhausted.String(),
		Backup:      a.Backup,
		NoData:      a.NoData,
		All:         a.All,
		Scope:       a.Scope,
		TTL:         r.TTL,
	}
	for i := range r.Rules {
		ru := &r.Rules[i]
		t := RuleTrace{Index: i, Match: RuleText(ru), Pool: r.Pools[ru.Pool].Name, Tried: a.Rule < 0 || i <= a.Rule, Matched: i == a.Rule}
		if t.Tried {
			t.Why = ruleWhy(ru, c, &a, t.Matched)
		}
		e.Rules = append(e.Rules, t)
	}
	chosen := map[*Value]bool{}
	for _, val := range a.Values[:a.N] {
		chosen[val] = true
		e.Answer = append(e.Answer, val.Text)
	}
	for _, p := range a.Pools[:a.NPools] {
		pl := &r.Pools[p]
		pt := PoolTrace{Name: pl.Name, Answered: p == a.Pool}
		if pl.Fallback >= 0 {
			pt.Fallback = r.Pools[pl.Fallback].Name
		}
		for i := range pl.Values {
			val := &pl.Values[i]
			vt := ValueTrace{Value: val.Text, Weight: val.Weight, Status: val.Status.String(), Up: up(val, v), Chosen: chosen[val]}
			if s := v.addr(val.addr - 1); s != nil && s.forced {
				vt.Override = s.override.String()
			}
			pt.Values = append(pt.Values, vt)
		}
		e.Pools = append(e.Pools, pt)
	}
	return e
}

func RuleText(ru *Rule) string {
	if ru.CatchAll() {
		return "catch-all"
	}
	var parts []string
	for _, s := range ru.Subnets {
		parts = append(parts, s.String())
	}
	for _, g := range ru.Geos {
		parts = append(parts, g.String())
	}
	for _, a := range ru.ASNs {
		parts = append(parts, fmt.Sprintf("AS%d", a))
	}
	return strings.Join(parts, ", ")
}

func ruleWhy(ru *Rule, c Client, a *Answer, matched bool) string {
	if ru.CatchAll() {
		return "the catch-all matches every client"
	}
	for _, p := range ru.Subnets {
		if p.Addr().Is4() == c.Addr.Is4() && p.Contains(c.Addr) {
			return fmt.Sprintf("the client %s is in %s", c.Addr, p)
		}
	}
	where := "location unknown"
	if a.HasLocation {
		l := a.Location
		where = fmt.Sprintf("client in %s", locText(l))
		for _, g := range ru.Geos {
			if g.Match(l) {
				return fmt.Sprintf("%s, which %s covers", where, g)
			}
		}
		for _, asn := range ru.ASNs {
			if l.ASN == asn && asn != 0 {
				return fmt.Sprintf("the client is in AS%d", asn)
			}
		}
		if len(ru.ASNs) > 0 {
			where += fmt.Sprintf(", AS%d", l.ASN)
		}
	}
	return "no match: " + where
}

func locText(l geo.Location) string {
	parts := []string{}
	for _, s := range []string{l.Continent, l.Country, l.Subdivision} {
		if s != "" {
			parts = append(parts, s)
		}
	}
	if len(parts) == 0 {
		return "an unknown place"
	}
	return strings.Join(parts, "-")
}
