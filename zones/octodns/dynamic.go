package octodns

import (
	"fmt"
	"math"
	"net/netip"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/miekg/dns"
	"gopkg.in/yaml.v3"

	"github.com/smartdns/smartdns/geo"
	"github.com/smartdns/smartdns/internal/diag"
	"github.com/smartdns/smartdns/pool"
	"github.com/smartdns/smartdns/zones/zonefile"
)

// This file compiles octoDNS dynamic records (docs/dynamic_records.rst):
// the record's `dynamic:` block of pools and rules, and smartdns's own
// settings under `octodns: {smartdns: ...}`, into a pool.Record.
//
// Validation follows octoDNS's (octodns/record/dynamic.py): a file that
// octoDNS rejects is rejected here too, so a repository keeps working with
// both. Where octoDNS only says what is wrong, smartdns also says where:
// every problem is reported at the line and column of the node at fault,
// and the walk goes on to find the others.

// DynamicTTL is the TTL of a dynamic record whose file gives none: answers
// that depend on the client and on health must not be cached for long.
const DynamicTTL = 60

const (
	dynamicKeys        = "pools, rules"
	poolKeys           = "values, fallback"
	valueKeys          = "value, weight, status"
	ruleKeys           = "pool, geos, subnets, asns"
	smartdnsKeys       = "answers, policy, exhausted, locations, healthcheck, shed, slow_start"
	healthKeys         = "protocol, port, path, host"
	smartHCKeys        = "interval, timeout, rise, fall, expect_status, expect_body, tls_verify, headers, query_name, query_type, payload, payload_hex, expect"
	maxWeight          = 100
	workPerDynamicNode = 64
	ruleCatchAll       = 3 // ordering class of a rule with no conditions
	ruleSubnetOnly     = 0
	ruleSubnetGeo      = 1
	ruleGeoOnly        = 2
)

// dynamicReader holds the state of one record's compilation.
type dynamicReader struct {
	o   *reader // resolves aliases, merges and !include; collects problems
	r   *zonefile.Record
	typ string // "A", "AAAA" or "CNAME"
	buf []byte

	pools   []poolSpec
	byName  map[string]int
	rules   []ruleSpec
	fellTo  map[string]bool // pools some pool names as its fallback
	answers int
	policy  pool.Policy
	exhaust pool.Exhausted
	// shedHigh, shedLow and slowStart tune the least-loaded policy.
	shedHigh, shedLow float64
	slowStart         time.Duration
	locs              map[string]zonefile.Location // value text -> location
	hc                healthSpec
	// asnsAt, closestAt and icmpAt are where the record needs something
	// of the server (see zonefile.Dynamic).
	asnsAt    []diag.Pos
	closestAt *diag.Pos
	icmpAt    *diag.Pos
}

type poolSpec struct {
	name  string
	at    diag.Pos // the pool's key
	vals  []valueSpec
	fbAt  diag.Pos // the fallback's value
	fbIdx int      // the fallback pool, -1 for none
	used  bool     // a rule names it
	bad   bool     // not a mapping or without values (reported)
}

type valueSpec struct {
	v  pool.Value
	at diag.Pos // the `value:` node
}

type ruleSpec struct {
	at      diag.Pos // the rule's mapping
	pool    int      // -1 when missing or undefined
	class   int      // ruleSubnetOnly .. ruleCatchAll; -1 when malformed
	subnets []subnetSpec
	geos    []geoSpec
	asns    []asnSpec
}

type subnetSpec struct {
	p  netip.Prefix
	at diag.Pos
}

type geoSpec struct {
	c  geo.Code
	at diag.Pos
}

type asnSpec struct {
	asn uint32
	at  diag.Pos
}

// readDynamic reads a record's octoDNS `dynamic:` block (and its
// `octodns.smartdns` settings, octodns when given) into the typed form the
// compiler builds pools from. dynFile and octodnsFile name the files the
// blocks are in (an !include may have brought them). It returns nil when
// there is any error; every problem found is returned.
//
// warned are the warnings the file has given already (shared, so that a
// warning given once per file is).
func readDynamic(r *zonefile.Record, dynamic *yaml.Node, dynFile string, octodns *yaml.Node, octodnsFile string, warned map[string]bool) (*zonefile.Dynamic, diag.Problems) {
	c := &dynamicReader{
		o:       &reader{files: map[string]*fileInfo{}, warned: warned, names: map[string]*nameInfo{}},
		r:       r,
		buf:     make([]byte, 65535),
		byName:  map[string]int{},
		fellTo:  map[string]bool{},
		answers: 1,
		locs:    map[string]zonefile.Location{},
	}
	c.o.budget = workBase + workPerDynamicNode*(countNodes(dynamic, 0)+countNodes(octodns, 0))
	c.hc = defaultHealth(r.Name)
	switch r.Type {
	case dns.TypeA:
		c.typ = "A"
	case dns.TypeAAAA:
		c.typ = "AAAA"
	case dns.TypeCNAME:
		c.typ = "CNAME"
	default:
		c.o.probs.Add(r.Pos, `%s record: "dynamic" is supported only for A, AAAA and CNAME records (as in octoDNS)`, zonefile.TypeName(r.Type))
		return nil, c.o.probs
	}

	if dynamic.Kind != yaml.MappingNode {
		c.o.probs.Add(r.Pos, `"dynamic" must be a mapping with "pools" and "rules", got %s`, describe(dynamic))
		return nil, c.o.probs
	}
	c.dynamic(dynamic, c.src(dynFile))
	if octodns != nil {
		c.smartdns(octodns, c.src(octodnsFile))
	}
	c.checkHealth()
	c.crossChecks()

	probs := c.o.probs
	if c.o.workFailed {
		// Past the work budget every lookup fails: what follows the
		// budget's own problem is noise.
		for i, p := range probs {
			if strings.HasPrefix(p.Msg, "too many aliases") {
				probs = probs[:i+1]
				break
			}
		}
	}
	sortProblems(probs)
	if probs.HasErrors() {
		return nil, probs
	}
	return c.build(), probs
}

// src is the source of a block kept in the Record.
func (c *dynamicReader) src(file string) *source {
	if file == "" {
		file = c.r.Pos.File
	}
	return &source{file: file, chain: []inclusion{{abs: absPath(file), shown: file}}}
}

// countNodes counts the nodes of a tree without following aliases, to
// size the work budget (aliases, whose expansion can be exponential, are
// charged as they are followed).
func countNodes(n *yaml.Node, depth int) int {
	if n == nil || depth > maxDepth*4 {
		return 0
	}
	k := 1
	for _, e := range n.Content {
		k += countNodes(e, depth+1)
	}
	return k
}

// sortProblems orders problems by file (in order of first mention),
// line and column, so a file reads top to bottom.
func sortProblems(ps diag.Problems) {
	files := map[string]int{}
	for _, p := range ps {
		if _, ok := files[p.Pos.File]; !ok {
			files[p.Pos.File] = len(files)
		}
	}
	sort.SliceStable(ps, func(i, j int) bool {
		a, b := ps[i].Pos, ps[j].Pos
		if fa, fb := files[a.File], files[b.File]; fa != fb {
			return fa < fb
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Col < b.Col
	})
}

func (c *dynamicReader) add(at diag.Pos, format string, args ...any) {
	c.o.probs.Add(at, format, args...)
}

// where formats the position of an earlier thing for a message about a
// later one: "line N" in the same file, else path:line:col.
func (c *dynamicReader) where(cur, first diag.Pos) string { return c.o.where(cur, first) }

// seq resolves n and checks that it is a list (reported when it is not).
// It returns the list's items, resolved (those that fail to resolve are
// left out, reported), and the list node, nil when n is not a list.
func (c *dynamicReader) seq(n *yaml.Node, s *source, what string) ([]item, *yaml.Node, diag.Pos) {
	v, vs, ok := c.o.resolve(n, s)
	if !ok {
		return nil, nil, diag.Pos{}
	}
	if v.Kind != yaml.SequenceNode {
		c.add(c.o.pos(v, vs), "%s must be a list, got %s", what, describe(v))
		return nil, nil, diag.Pos{}
	}
	items := make([]item, 0, len(v.Content))
	for _, e := range v.Content {
		ev, es, ok := c.o.resolve(e, vs)
		if !ok {
			continue
		}
		items = append(items, item{ev, es})
	}
	return items, v, c.o.pos(v, vs)
}

// keys reads a mapping's pairs, reporting keys not in known.
func (c *dynamicReader) keys(m *yaml.Node, s *source, what, known string) map[string]pair {
	return c.keysElse(m, s, what, known, nil)
}

// keysElse is keys, with elsewhere naming where keys that belong to
// another mapping go, for a better message than "unknown key".
func (c *dynamicReader) keysElse(m *yaml.Node, s *source, what, known string, elsewhere map[string]string) map[string]pair {
	out := map[string]pair{}
	list := strings.Split(known, ", ")
	for _, p := range c.o.mapping(m, s, what, true) {
		ok := false
		for _, k := range list {
			if k == p.k.Value {
				ok = true
				break
			}
		}
		if !ok {
			if there, ok := elsewhere[p.k.Value]; ok {
				c.add(c.o.pos(p.k, p.s), "%q goes under %s, not %s", p.k.Value, there, what)
				continue
			}
			c.add(c.o.pos(p.k, p.s), "unknown key %q in %s (known: %s)", p.k.Value, what, known)
			continue
		}
		out[p.k.Value] = p
	}
	return out
}

// dynamic reads the `dynamic:` mapping.
func (c *dynamicReader) dynamic(n *yaml.Node, s *source) {
	at := c.o.pos(n, s)
	keys := c.keys(n, s, "dynamic", dynamicKeys)
	if p, ok := keys["pools"]; ok {
		c.readPools(p)
	} else {
		c.add(at, `dynamic has no "pools"`)
	}
	if p, ok := keys["rules"]; ok {
		c.readRules(p)
	} else {
		c.add(at, `dynamic has no "rules" (at least a catch-all rule: "- pool: NAME")`)
	}
}

func (c *dynamicReader) readPools(p pair) {
	m, ms, ok := c.o.resolve(p.v, p.s)
	if !ok {
		return
	}
	if m.Kind != yaml.MappingNode {
		c.add(c.o.pos(m, ms), `"pools" must be a mapping of pool names to pools, got %s`, describe(m))
		return
	}
	pairs := c.o.mapping(m, ms, "pools", true)
	if len(pairs) == 0 {
		c.add(c.o.pos(m, ms), `"pools" is empty: give at least one pool`)
		return
	}
	// Names first, so that a fallback may name a pool defined after it.
	for _, q := range pairs {
		c.byName[q.k.Value] = len(c.pools)
		c.pools = append(c.pools, poolSpec{name: q.k.Value, at: c.o.pos(q.k, q.s), fbIdx: -1})
	}
	for i, q := range pairs {
		c.readPool(&c.pools[i], q)
	}
}

func (c *dynamicReader) readPool(pl *poolSpec, q pair) {
	what := fmt.Sprintf("pool %q", pl.name)
	m, ms, ok := c.o.resolve(q.v, q.s)
	if !ok {
		return
	}
	if m.Kind != yaml.MappingNode {
		c.add(c.o.pos(m, ms), `%s must be a mapping with "values" (and optionally "fallback"), got %s`, what, describe(m))
		pl.bad = true
		return
	}
	keys := c.keys(m, ms, what, poolKeys)

	if f, ok := keys["fallback"]; ok {
		fv, fs, ok := c.o.resolve(f.v, f.s)
		switch {
		case !ok, isNull(fv):
		case fv.Kind != yaml.ScalarNode:
			c.add(c.o.pos(fv, fs), "%s: fallback must be a pool name or null, got %s", what, describe(fv))
		default:
			pl.fbAt = c.o.pos(fv, fs)
			if j, ok := c.byName[fv.Value]; ok {
				pl.fbIdx = j
				c.fellTo[fv.Value] = true
			} else {
				c.add(pl.fbAt, "%s: fallback %s is not a pool (pools: %s)", what, quoteShort(fv.Value), c.poolNames())
			}
		}
	}

	vp, ok := keys["values"]
	if !ok {
		c.add(pl.at, `%s has no "values"`, what)
		pl.bad = true
		return
	}
	items, list, lat := c.seq(vp.v, vp.s, what+` "values"`)
	if list != nil && len(list.Content) == 0 {
		c.add(lat, `%s "values" is empty: give at least one value`, what)
	}
	if len(items) == 0 {
		pl.bad = true
		return
	}
	type firstSeen struct {
		at diag.Pos
	}
	seen := map[string]firstSeen{}
	var weightNode *yaml.Node
	var weightSrc *source
	for i, it := range items {
		vw := fmt.Sprintf("%s value %d", what, i+1)
		if it.v.Kind != yaml.MappingNode {
			c.add(c.o.pos(it.v, it.s), `%s must be a mapping with "value" (and optionally "weight", "status"), got %s`, vw, describe(it.v))
			continue
		}
		vk := c.keys(it.v, it.s, vw, valueKeys)
		val := pool.Value{Weight: 1, Status: pool.Obey, Member: -1}
		good := true
		if w, ok := vk["weight"]; ok {
			wn, ws, ok := c.o.resolve(w.v, w.s)
			if ok {
				x, isInt := yamlInt(wn)
				if !isInt || x < 1 || x > maxWeight {
					c.add(c.o.pos(wn, ws), "%s: weight must be an integer 1..%d, got %s", vw, maxWeight, describe(wn))
					good = false
				} else {
					val.Weight = uint32(x)
					weightNode, weightSrc = wn, ws
				}
			}
		}
		if st, ok := vk["status"]; ok {
			sn, ss, ok := c.o.resolve(st.v, st.s)
			if ok {
				switch {
				case sn.Kind == yaml.ScalarNode && sn.Value == "up":
					val.Status = pool.Up
				case sn.Kind == yaml.ScalarNode && sn.Value == "down":
					val.Status = pool.Down
				case sn.Kind == yaml.ScalarNode && sn.Value == "obey":
					val.Status = pool.Obey
				default:
					c.add(c.o.pos(sn, ss), "%s: status must be up, down or obey, got %s", vw, describe(sn))
					good = false
				}
			}
		}
		v, ok := vk["value"]
		if !ok {
			c.add(c.o.pos(it.v, it.s), `%s has no "value"`, vw)
			continue
		}
		vn, vs, ok := c.o.resolve(v.v, v.s)
		if !ok {
			continue
		}
		at := c.o.pos(vn, vs)
		rd, text := c.encode(vn, vs)
		if rd == nil {
			continue
		}
		if first, dup := seen[string(rd)]; dup {
			c.add(at, "%s: duplicate value %s (first at %s)", what, quoteShort(text), c.where(at, first.at))
			continue
		}
		seen[string(rd)] = firstSeen{at}
		if !good {
			continue
		}
		val.Rdata, val.Text = rd, text
		pl.vals = append(pl.vals, valueSpec{v: val, at: at})
	}
	// octoDNS: a lone value's weight means nothing, and octoDNS refuses
	// one that is not 1.
	if len(items) == 1 && weightNode != nil && len(pl.vals) == 1 && pl.vals[0].v.Weight != 1 {
		c.add(c.o.pos(weightNode, weightSrc), "%s has a single value, so its weight must be 1 (as in octoDNS), got %d", what, pl.vals[0].v.Weight)
	}
}

// encode checks a pool value against the record type and returns its
// RDATA, encoded as the record's own values are, and its presentation
// form; nil when it is not valid (reported).
func (c *dynamicReader) encode(n *yaml.Node, s *source) ([]byte, string) {
	spec := types[c.typ]
	hdr := dns.RR_Header{Name: c.r.Name, Rrtype: spec.rrtype, Class: dns.ClassINET, Ttl: c.r.TTL}
	rr := spec.build(c.o, rawValue{typ: c.typ, n: n, s: s, hdr: hdr})
	if rr == nil {
		return nil, ""
	}
	at := c.o.pos(n, s)
	if msg := checkPack(rr); msg != "" {
		c.add(at, "%s value: %s", c.typ, msg)
		return nil, ""
	}
	rd, err := zonefile.Rdata(rr, c.buf)
	if err != nil {
		c.add(at, "%s value: cannot encode %q: %v", c.typ, rr.String(), err)
		return nil, ""
	}
	if c.r.Type == dns.TypeCNAME {
		// A pool value is also an identity (overrides, health, the
		// tally name it): one spelling, lower case.
		zonefile.LowerWire(rd)
	}
	return rd, zonefile.ValueText(c.r.Type, rd)
}

func (c *dynamicReader) poolNames() string {
	if len(c.pools) == 0 {
		return "there are none"
	}
	names := make([]string, len(c.pools))
	for i := range c.pools {
		names[i] = c.pools[i].name
	}
	return strings.Join(names, ", ")
}

func (c *dynamicReader) readRules(p pair) {
	items, list, lat := c.seq(p.v, p.s, `"rules"`)
	if list != nil && len(list.Content) == 0 {
		c.add(lat, `"rules" is empty: give at least a catch-all rule ("- pool: NAME")`)
	}
	if len(items) == 0 {
		return
	}
	usedBy := map[int]int{} // pool -> first rule (0-based) naming it
	for i, it := range items {
		num := i + 1
		what := fmt.Sprintf("rule %d", num)
		ru := ruleSpec{at: c.o.pos(it.v, it.s), pool: -1, class: -1}
		if it.v.Kind != yaml.MappingNode {
			c.add(ru.at, `%s must be a mapping with "pool" (and optionally "geos", "subnets", "asns"), got %s`, what, describe(it.v))
			c.rules = append(c.rules, ru)
			continue
		}
		nprobs := len(c.o.probs)
		keys := c.keys(it.v, it.s, what, ruleKeys)
		typo := len(c.o.probs) > nprobs // an unknown key: what the rule targets is unclear
		// As in octoDNS, a rule targets what its keys hold, valid or not;
		// an empty list (or nothing) targets nothing.
		var hasSub, hasGeo bool
		if q, ok := keys["subnets"]; ok {
			ru.subnets = c.readSubnets(q, what)
			hasSub = c.present(q)
		}
		if q, ok := keys["geos"]; ok {
			ru.geos = c.readGeos(q, what)
			hasGeo = c.present(q)
		}
		if q, ok := keys["asns"]; ok {
			ru.asns = c.readASNs(q, what)
			if c.present(q) {
				hasGeo = true // ordered as geos are
				c.asnsAt = append(c.asnsAt, c.o.pos(q.k, q.s))
			}
		}
		switch {
		case typo:
			ru.class = -1
		case hasSub && hasGeo:
			ru.class = ruleSubnetGeo
		case hasSub:
			ru.class = ruleSubnetOnly
		case hasGeo:
			ru.class = ruleGeoOnly
		default:
			ru.class = ruleCatchAll
		}
		if q, ok := keys["pool"]; !ok {
			c.add(ru.at, `%s has no "pool"`, what)
		} else if pn, ps, ok := c.o.resolve(q.v, q.s); ok {
			pat := c.o.pos(pn, ps)
			switch j, known := c.byName[pn.Value]; {
			case pn.Kind != yaml.ScalarNode || isNull(pn):
				c.add(pat, "%s: pool must be a pool name, got %s", what, describe(pn))
			case !known:
				c.add(pat, "%s: pool %s is not defined (pools: %s)", what, quoteShort(pn.Value), c.poolNames())
			default:
				ru.pool = j
				c.pools[j].used = true
				if first, reused := usedBy[j]; reused && ru.class != ruleCatchAll {
					c.add(pat, "%s: pool %q is already used by rule %d; only the catch-all rule may reuse a pool (as in octoDNS)", what, pn.Value, first+1)
				} else if !reused {
					usedBy[j] = i
				}
			}
		}
		c.rules = append(c.rules, ru)
	}
	c.checkRules()
}

// readSubnets reads a rule's `subnets:`.
func (c *dynamicReader) readSubnets(q pair, what string) (out []subnetSpec) {
	items, _, _ := c.seq(q.v, q.s, what+" subnets")
	for _, it := range items {
		at := c.o.pos(it.v, it.s)
		if it.v.Kind != yaml.ScalarNode || isNull(it.v) {
			c.add(at, "%s: a subnet must be a string such as 192.0.2.0/24, got %s", what, describe(it.v))
			continue
		}
		s := strings.TrimSpace(it.v.Value)
		p, err := netip.ParsePrefix(s)
		if err != nil {
			if a, aerr := netip.ParseAddr(s); aerr == nil && a.Zone() == "" {
				c.add(at, "%s: subnet %s has no prefix length (write %s)", what, quoteShort(s), netip.PrefixFrom(a, a.BitLen()))
			} else {
				c.add(at, "%s: %s is not a subnet (want an address and a prefix length, such as 192.0.2.0/24 or 2001:db8::/32)", what, quoteShort(s))
			}
			continue
		}
		if p.Addr().Is4In6() {
			hint := ""
			if p.Bits() >= 96 {
				hint = fmt.Sprintf(" (write %s)", netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96).Masked())
			}
			c.add(at, "%s: subnet %s is an IPv4-mapped IPv6 prefix, which no client address is; write IPv4 subnets in IPv4 form%s", what, s, hint)
			continue
		}
		if m := p.Masked(); m != p {
			c.add(at, "%s: subnet %s has host bits set; write %s", what, s, m)
			continue
		}
		out = append(out, subnetSpec{p: p, at: at})
	}
	return out
}

func (c *dynamicReader) readGeos(q pair, what string) (out []geoSpec) {
	items, _, _ := c.seq(q.v, q.s, what+" geos")
	for _, it := range items {
		at := c.o.pos(it.v, it.s)
		if it.v.Kind != yaml.ScalarNode || isNull(it.v) {
			c.add(at, "%s: a geo must be a code such as EU, NA-US or NA-US-CA, got %s", what, describe(it.v))
			continue
		}
		code, err := geo.ParseCode(it.v.Value)
		if err != nil {
			c.add(at, "%v", err)
			continue
		}
		out = append(out, geoSpec{c: code, at: at})
	}
	return out
}

func (c *dynamicReader) readASNs(q pair, what string) (out []asnSpec) {
	items, _, _ := c.seq(q.v, q.s, what+" asns")
	for _, it := range items {
		at := c.o.pos(it.v, it.s)
		x, ok := yamlInt(it.v)
		if !ok || x < 1 || x > math.MaxUint32 {
			c.add(at, "%s: an ASN must be an integer 1..4294967295 (13335, not AS13335), got %s", what, describe(it.v))
			continue
		}
		out = append(out, asnSpec{asn: uint32(x), at: at})
	}
	return out
}

// present reports whether a rule key holds something: not nothing, not an
// empty list (octoDNS tests the value's truth).
func (c *dynamicReader) present(q pair) bool {
	n, _, ok := c.o.resolve(q.v, q.s)
	if !ok {
		return true // broken (reported): not a catch-all
	}
	switch {
	case isNull(n):
		return false
	case n.Kind == yaml.SequenceNode:
		return len(n.Content) > 0
	case n.Kind == yaml.ScalarNode:
		return n.Value != ""
	}
	return true
}

// checkRules applies octoDNS's rules on the order and overlap of rules.
func (c *dynamicReader) checkRules() {
	last := len(c.rules) - 1
	catchAll := -1
	maxClass, maxAt := -1, 0 // the highest class so far (catch-alls aside)
	for i := range c.rules {
		ru := &c.rules[i]
		num := i + 1
		if ru.class < 0 {
			continue
		}
		if ru.class == ruleCatchAll {
			if catchAll < 0 {
				catchAll = i
			}
			if i != last {
				c.add(ru.at, "rule %d matches every client (it has no geos, subnets or asns), so it must be the last rule: the rules after it could never match", num)
			}
			continue
		}
		if ru.class < maxClass {
			switch ru.class {
			case ruleSubnetOnly:
				c.add(ru.at, "rule %d has only subnets, so it must come before every rule with geos or asns (rule %d); rules go subnets only, then subnets with geos, then geos, then the catch-all", num, maxAt+1)
			case ruleSubnetGeo:
				c.add(ru.at, "rule %d has subnets and geos, so it must come before every rule with only geos or asns (rule %d); rules go subnets only, then subnets with geos, then geos, then the catch-all", num, maxAt+1)
			}
		} else if ru.class > maxClass {
			maxClass, maxAt = ru.class, i
		}
	}
	if catchAll < 0 && len(c.rules) > 0 && c.rules[last].class >= 0 {
		c.add(c.rules[last].at, `the last rule must be a catch-all (a rule with only a pool, such as "- pool: %s"), which answers the clients no other rule matches (as in octoDNS)`, c.suggestPool())
	}

	c.checkOverlaps()
}

func (c *dynamicReader) suggestPool() string {
	if len(c.pools) > 0 {
		return c.pools[0].name
	}
	return "NAME"
}

// seenGeo is where a subnet, geo or ASN was first given.
type seenGeo struct {
	rule int
	at   diag.Pos
}

// geoKey identifies the area a code matches: a country or subdivision
// code matches by country, whatever continent it is written with (see
// geo.Code.Match).
func geoKey(g geo.Code) string {
	switch {
	case g.Subdivision != "":
		return "S" + g.Country + "-" + g.Subdivision
	case g.Country != "":
		return "K" + g.Country
	}
	return "C" + g.Continent
}

// geoParents are the codes of the areas that contain g, widest first.
func geoParents(g geo.Code) []geo.Code {
	switch {
	case g.Subdivision != "":
		return []geo.Code{{Continent: g.Continent}, {Continent: g.Continent, Country: g.Country}}
	case g.Country != "":
		return []geo.Code{{Continent: g.Continent}}
	}
	return nil
}

// checkOverlaps reports, as octoDNS does, a subnet, geo or ASN that an
// earlier rule already covers (it could never decide a match), or that
// its own rule already covers (it is redundant). Lookups are by map, so
// that a file with very many of them is still checked quickly.
func (c *dynamicReader) checkOverlaps() {
	subnets := map[netip.Prefix]seenGeo{}
	geos := map[string]seenGeo{}
	asns := map[uint32]seenGeo{}
	for i := range c.rules {
		ru := &c.rules[i]
		num := i + 1

		mine := map[netip.Prefix]int{}
		for k, s := range ru.subnets {
			if _, ok := mine[s.p]; !ok {
				mine[s.p] = k
			}
		}
		for k, s := range ru.subnets {
			if first, ok := subnets[s.p]; ok {
				c.add(s.at, "rule %d: subnet %s is already in rule %d (%s), so it could never match here", num, s.p, first.rule+1, c.where(s.at, first.at))
				continue
			}
			if mine[s.p] < k {
				c.add(s.at, "rule %d: subnet %s is listed twice", num, s.p)
				continue
			}
			for b := 0; b < s.p.Bits(); b++ {
				w, _ := s.p.Addr().Prefix(b)
				if first, ok := subnets[w]; ok {
					c.add(s.at, "rule %d: subnet %s is inside %s of rule %d (%s), which comes first, so it could never match here: put it in an earlier rule", num, s.p, w, first.rule+1, c.where(s.at, first.at))
					break
				}
				if _, ok := mine[w]; ok {
					c.add(s.at, "rule %d: subnet %s is redundant: %s in the same rule contains it", num, s.p, w)
					break
				}
			}
		}
		for _, s := range ru.subnets {
			if _, ok := subnets[s.p]; !ok {
				subnets[s.p] = seenGeo{i, s.at}
			}
		}

		mineG := map[string]int{}
		for k, g := range ru.geos {
			if _, ok := mineG[geoKey(g.c)]; !ok {
				mineG[geoKey(g.c)] = k
			}
		}
		for k, g := range ru.geos {
			key := geoKey(g.c)
			if first, ok := geos[key]; ok {
				c.add(g.at, "rule %d: geo %s is already in rule %d (%s), so it could never match here", num, g.c, first.rule+1, c.where(g.at, first.at))
				continue
			}
			if mineG[key] < k {
				c.add(g.at, "rule %d: geo %s is listed twice", num, g.c)
				continue
			}
			for _, p := range geoParents(g.c) {
				if first, ok := geos[geoKey(p)]; ok {
					c.add(g.at, "rule %d: geo %s is inside %s of rule %d (%s), which comes first, so it could never match here: put it in an earlier rule", num, g.c, p, first.rule+1, c.where(g.at, first.at))
					break
				}
				if _, ok := mineG[geoKey(p)]; ok {
					c.add(g.at, "rule %d: geo %s is redundant: %s in the same rule contains it", num, g.c, p)
					break
				}
			}
		}
		for _, g := range ru.geos {
			if _, ok := geos[geoKey(g.c)]; !ok {
				geos[geoKey(g.c)] = seenGeo{i, g.at}
			}
		}

		mineA := map[uint32]bool{}
		for _, a := range ru.asns {
			if first, ok := asns[a.asn]; ok {
				c.add(a.at, "rule %d: ASN %d is already in rule %d (%s), so it could never match here", num, a.asn, first.rule+1, c.where(a.at, first.at))
				continue
			}
			if mineA[a.asn] {
				c.add(a.at, "rule %d: ASN %d is listed twice", num, a.asn)
				continue
			}
			mineA[a.asn] = true
		}
		for _, a := range ru.asns {
			if _, ok := asns[a.asn]; !ok {
				asns[a.asn] = seenGeo{i, a.at}
			}
		}
	}
}

// smartdns reads the record's `octodns: {smartdns: ...}` settings. Other
// keys under `octodns:` belong to octoDNS (or to other features).
func (c *dynamicReader) smartdns(n *yaml.Node, s *source) {
	if n.Kind != yaml.MappingNode {
		return // reported by the reader
	}
	var smartHC *pair
	for _, p := range c.o.mapping(n, s, "octodns", false) {
		if p.k.Value == "healthcheck" {
			c.readHealthcheck(p)
			continue
		}
		if p.k.Value != "smartdns" {
			continue
		}
		m, ms, ok := c.o.resolve(p.v, p.s)
		if !ok || isNull(m) {
			continue
		}
		if m.Kind != yaml.MappingNode {
			c.add(c.o.pos(m, ms), `octodns "smartdns" must be a mapping (with %s), got %s`, smartdnsKeys, describe(m))
			continue
		}
		keys := c.keys(m, ms, "octodns.smartdns", smartdnsKeys)
		if q, ok := keys["answers"]; ok {
			if v, vs, ok := c.o.resolve(q.v, q.s); ok {
				x, isInt := yamlInt(v)
				if !isInt || x < 1 || x > pool.MaxAnswers {
					c.add(c.o.pos(v, vs), "octodns.smartdns answers must be an integer 1..%d, got %s", pool.MaxAnswers, describe(v))
				} else {
					c.answers = int(x)
				}
			}
		}
		if q, ok := keys["policy"]; ok {
			if v, vs, ok := c.o.resolve(q.v, q.s); ok {
				at := c.o.pos(v, vs)
				switch word(v) {
				case "weighted":
					c.policy = pool.Weighted
				case "priority":
					c.policy = pool.Priority
				case "sticky":
					c.policy = pool.Sticky
				case "closest":
					c.policy = pool.Closest
					c.closestAt = &at
				case "least-loaded":
					c.policy = pool.LeastLoaded
				default:
					c.add(at, "octodns.smartdns policy must be weighted, priority, sticky, closest or least-loaded, got %s", describe(v))
				}
			}
		}
		if q, ok := keys["exhausted"]; ok {
			if v, vs, ok := c.o.resolve(q.v, q.s); ok {
				switch word(v) {
				case "backup":
					c.exhaust = pool.ExhaustBackup
				case "nodata":
					c.exhaust = pool.ExhaustNoData
				case "all":
					c.exhaust = pool.ExhaustAll
				default:
					c.add(c.o.pos(v, vs), "octodns.smartdns exhausted must be backup, nodata or all, got %s", describe(v))
				}
			}
		}
		if q, ok := keys["locations"]; ok {
			c.readLocations(q)
		}
		if q, ok := keys["shed"]; ok {
			c.readShed(q)
		}
		if q, ok := keys["slow_start"]; ok {
			if v, vs, ok := c.o.resolve(q.v, q.s); ok {
				d, err := time.ParseDuration(word(v))
				if err != nil || d < 0 || d > 24*time.Hour {
					c.add(c.o.pos(v, vs), "octodns.smartdns slow_start must be a duration from 0s to 24h (e.g. 30s), got %s", describe(v))
				} else {
					c.slowStart = max(d, time.Nanosecond) // 0s: no ramp
				}
			}
		}
		if q, ok := keys["healthcheck"]; ok {
			smartHC = &q
		}
	}
	// After octodns.healthcheck, whatever the order of the keys: what
	// applies depends on the protocol.
	if smartHC != nil {
		c.readSmartHealthcheck(*smartHC)
	}
}

// readShed reads `shed: {high: 0.9, low: 0.8}`: the least-loaded
// watermarks, 0 < low <= high <= 1.
func (c *dynamicReader) readShed(q pair) {
	m, ms, ok := c.o.resolve(q.v, q.s)
	if !ok || isNull(m) {
		return
	}
	if m.Kind != yaml.MappingNode {
		c.add(c.o.pos(m, ms), "octodns.smartdns shed must be a mapping with high and low, got %s", describe(m))
		return
	}
	keys := c.keys(m, ms, "octodns.smartdns.shed", "high, low")
	read := func(name string, dst *float64) (diag.Pos, bool) {
		kv, ok := keys[name]
		if !ok {
			return diag.Pos{}, false
		}
		v, vs, ok := c.o.resolve(kv.v, kv.s)
		if !ok {
			return diag.Pos{}, false
		}
		at := c.o.pos(v, vs)
		x, err := strconv.ParseFloat(word(v), 64)
		if err != nil || x <= 0 || x > 1 || v.Tag == "!!str" {
			c.add(at, "octodns.smartdns shed %s must be a number above 0 and at most 1, got %s", name, describe(v))
			return at, false
		}
		*dst = x
		return at, true
	}
	var high, low float64
	_, okH := read("high", &high)
	atL, okL := read("low", &low)
	if okH && okL && low > high {
		c.add(atL, "octodns.smartdns shed low (%g) must not be above high (%g)", low, high)
		return
	}
	if okH {
		c.shedHigh = high
	}
	if okL {
		c.shedLow = low
	}
}

// word is a scalar's text, "" for anything else.
func word(n *yaml.Node) string {
	if n.Kind != yaml.ScalarNode || isNull(n) {
		return ""
	}
	return n.Value
}

func (c *dynamicReader) readLocations(q pair) {
	m, ms, ok := c.o.resolve(q.v, q.s)
	if !ok {
		return
	}
	if m.Kind != yaml.MappingNode {
		c.add(c.o.pos(m, ms), "octodns.smartdns locations must be a mapping of values to [latitude, longitude], got %s", describe(m))
		return
	}
	values := map[string]bool{}
	for _, pl := range c.pools {
		for _, v := range pl.vals {
			values[v.v.Text] = true
		}
	}
	first := map[string]diag.Pos{}
	for _, p := range c.o.mapping(m, ms, "octodns.smartdns locations", true) {
		at := c.o.pos(p.k, p.s)
		key := c.valueKey(p.k.Value)
		if f, dup := first[key]; dup {
			c.add(at, "octodns.smartdns locations: %s is the same value as the key at %s", quoteShort(p.k.Value), c.where(at, f))
			continue
		}
		first[key] = at
		if !values[key] {
			c.add(at, "octodns.smartdns locations: %s is not a value of any pool", quoteShort(p.k.Value))
		}
		v, vs, ok := c.o.resolve(p.v, p.s)
		if !ok {
			continue
		}
		if v.Kind != yaml.SequenceNode || len(v.Content) != 2 {
			c.add(c.o.pos(v, vs), "location of %s must be [latitude, longitude], got %s", quoteShort(p.k.Value), describe(v))
			continue
		}
		var ll [2]float64
		good := true
		for i, lim := range [2]float64{90, 180} {
			e, es, ok := c.o.resolve(v.Content[i], vs)
			if !ok {
				good = false
				continue
			}
			x, isNum := yamlFloat(e)
			if !isNum || x < -lim || x > lim {
				c.add(c.o.pos(e, es), "location of %s: %s must be a number %g..%g, got %s", quoteShort(p.k.Value), [2]string{"latitude", "longitude"}[i], -lim, lim, describe(e))
				good = false
				continue
			}
			ll[i] = x
		}
		if good {
			c.locs[key] = zonefile.Location{Lat: ll[0], Lon: ll[1]}
		}
	}
}

// valueKey is a locations key in the presentation form of pool values
// (addresses as netip prints them, names lower case).
func (c *dynamicReader) valueKey(s string) string {
	if c.r.Type == dns.TypeA || c.r.Type == dns.TypeAAAA {
		if a, err := netip.ParseAddr(s); err == nil {
			return a.String()
		}
		return s
	}
	return strings.ToLower(s)
}

// crossChecks are the rules that involve pools, rules and settings
// together: fallback loops, unused pools, locations for closest.
func (c *dynamicReader) crossChecks() {
	// Fallback loops, each reported once, at the fallback of the loop's
	// first pool in the file.
	state := make([]int8, len(c.pools)) // 0 new, 1 on the current path, 2 done
	for i := range c.pools {
		var path []int
		j := i
		for j >= 0 && state[j] == 0 {
			state[j] = 1
			path = append(path, j)
			j = c.pools[j].fbIdx
		}
		if j >= 0 && state[j] == 1 {
			k := 0
			for path[k] != j {
				k++
			}
			loop := path[k:]
			start := 0
			for x := range loop {
				if loop[x] < loop[start] {
					start = x
				}
			}
			var names []string
			for x := 0; x <= len(loop); x++ {
				names = append(names, c.pools[loop[(start+x)%len(loop)]].name)
			}
			first := &c.pools[loop[start]]
			c.add(first.fbAt, "fallback loop: %s", strings.Join(names, " -> "))
		}
		for _, p := range path {
			state[p] = 2
		}
	}

	// octoDNS refuses pools that no rule and no fallback name.
	if len(c.rules) > 0 {
		for i := range c.pools {
			pl := &c.pools[i]
			if !pl.used && !c.fellTo[pl.name] && !pl.bad {
				c.add(pl.at, "pool %q is not used: no rule and no fallback names it (as in octoDNS)", pl.name)
			}
		}
	}

	if c.policy == pool.Closest {
		missing := map[string]bool{}
		for i := range c.pools {
			for _, v := range c.pools[i].vals {
				if _, ok := c.locs[v.v.Text]; ok || missing[v.v.Text] {
					continue
				}
				missing[v.v.Text] = true
				c.add(v.at, "value %s of pool %q has no location, which policy closest needs: add it under octodns.smartdns.locations", v.v.Text, c.pools[i].name)
			}
		}
	}
}

// build makes the typed record once everything has checked out.
func (c *dynamicReader) build() *zonefile.Dynamic {
	rec := &pool.Record{
		Type:      c.r.Type,
		TTL:       c.r.TTL,
		Answers:   c.answers,
		Policy:    c.policy,
		Exhausted: c.exhaust,
		ShedHigh:  c.shedHigh,
		ShedLow:   c.shedLow,
		SlowStart: c.slowStart,
	}
	d := &zonefile.Dynamic{Record: rec, Locations: c.locs, ASNsAt: c.asnsAt, ClosestAt: c.closestAt, ICMPAt: c.icmpAt}
	rec.Pools = make([]pool.Pool, len(c.pools))
	d.Checks = make([][]*pool.Check, len(c.pools))
	for i, pl := range c.pools {
		p := pool.Pool{Name: pl.name, Fallback: pl.fbIdx, Values: make([]pool.Value, len(pl.vals))}
		d.Checks[i] = make([]*pool.Check, len(pl.vals))
		for k, v := range pl.vals {
			p.Values[k] = v.v
			p.Values[k].Member = -1
			if l, ok := c.locs[v.v.Text]; ok {
				p.Values[k].Lat, p.Values[k].Lon, p.Values[k].HasLocation = l.Lat, l.Lon, true
			}
			if v.v.Status == pool.Obey {
				d.Checks[i][k] = c.hc.check(c.r.Type, v.v.Text)
			}
		}
		rec.Pools[i] = p
	}
	rec.Rules = make([]pool.Rule, len(c.rules))
	for i, ru := range c.rules {
		r := pool.Rule{Pool: ru.pool}
		for _, s := range ru.subnets {
			r.Subnets = append(r.Subnets, s.p)
		}
		for _, g := range ru.geos {
			r.Geos = append(r.Geos, g.c)
		}
		for _, a := range ru.asns {
			r.ASNs = append(r.ASNs, a.asn)
		}
		rec.Rules[i] = r
	}
	return d
}
