package octodns

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/miekg/dns"
	"gopkg.in/yaml.v3"

	"github.com/smartdns/smartdns/internal/diag"
	"github.com/smartdns/smartdns/zones/zonefile"
)

// This file reads octoDNS's YAML zone format (the files YamlProvider reads
// and writes). The YAML is decoded into yaml.Node trees and walked by hand,
// so every problem carries the file, line and column it comes from, and a
// walk that meets one problem keeps going to find the others.
//
// Format reference: octoDNS docs/records.rst and docs/dynamic_records.rst,
// and the value types under octodns/record/ for the field names.

// ParseFile reads the octoDNS YAML zone file at path for zone origin
// ("example.com.", fully qualified, lower case). !include tags are resolved
// relative to the file's folder.
//
// It returns every record it could read and every problem it found, so an
// operator fixes a file in one pass instead of one error per reload.
func ParseFile(path, origin string) ([]zonefile.Record, diag.Problems) {
	data, err := os.ReadFile(path)
	if err != nil {
		var ps diag.Problems
		ps.Add(diag.Pos{File: path, Line: 1, Col: 1}, "cannot read zone file: %s", pathErrText(err))
		return nil, ps
	}
	return Parse(path, origin, data)
}

// Parse is ParseFile for bytes already read (path is used in
// positions and to resolve !include), so callers that watch or cache files,
// and tests, need not go through the file system for the top file.
func Parse(path, origin string, data []byte) ([]zonefile.Record, diag.Problems) {
	o := &reader{
		origin: origin,
		files:  map[string]*fileInfo{},
		warned: map[string]bool{},
		names:  map[string]*nameInfo{},
	}
	o.originWire = len(origin) + 1
	if origin == "." || origin == "" {
		o.originWire = 1
	}
	top := &source{file: path, chain: []inclusion{{abs: absPath(path), shown: path}}}
	o.budget = workBase + workPerByte*len(data)
	root, ok := o.decode(path, data)
	if ok && root != nil {
		o.zone(root, top)
		o.cnameChecks()
	}
	return o.records, o.probs
}

// Limits that keep hostile or broken input (alias bombs, deep merge chains,
// include chains) from using unbounded time. Without aliases every node is
// visited a few times at most, so the work allowed grows with the bytes
// read: a zone of any size loads, while an alias bomb, whose expansion is
// exponential in its size, is cut short.
const (
	maxDepth    = 64
	workPerByte = 16
	workBase    = 1 << 16
)

// knownRecordKeys lists the keys a record may have, for the message.
const knownRecordKeys = "type, ttl, value, values, octodns, dynamic"

// defaultTTL is YamlProvider's default_ttl, used when a record has no ttl.
const defaultTTL = 3600

type reader struct {
	origin     string
	originWire int
	probs      diag.Problems
	records    []zonefile.Record
	files      map[string]*fileInfo // included files, by absolute path
	warned     map[string]bool      // warnings given once per parse
	names      map[string]*nameInfo // relative lower-case name -> info
	nameOrder  []string
	work       int // nodes resolved so far
	budget     int // work allowed, see workPerByte
	workFailed bool
}

// source says which file a node came from: nodes carry line and column but
// not the file, and !include switches files mid-walk.
type source struct {
	file  string
	chain []inclusion // files being included, top file first, for loop detection
}

type inclusion struct{ abs, shown string }

type fileInfo struct {
	root *yaml.Node // nil when the file is empty
	ok   bool       // false when it did not parse (already reported)
	size int        // bytes, for the work budget
}

type nameInfo struct {
	pos   diag.Pos
	shown string // the name as written
	types []seenType
}

type seenType struct {
	typ string
	pos diag.Pos
}

// pair is one key/value pair of a mapping; key is resolved, value is not.
type pair struct {
	k, v *yaml.Node
	s    *source
}

func (o *reader) pos(n *yaml.Node, s *source) diag.Pos {
	return diag.Pos{File: s.file, Line: n.Line, Col: n.Column}
}

func (o *reader) warnOnce(key string, at diag.Pos, format string, args ...any) {
	if o.warned[key] {
		return
	}
	o.warned[key] = true
	o.probs.Warn(at, format, args...)
}

// dotless warns, once per file, of a name in a value written without its
// trailing dot: it is read as fully qualified, as octoDNS 1.x reads it, not
// relative to the zone.
func (o *reader) dotless(name string, at diag.Pos) {
	if name == "" || strings.HasSuffix(name, ".") {
		return
	}
	o.warnOnce("dotless:"+at.File, at, "%s has no trailing dot: read as the fully qualified %s, as octoDNS 1.x reads it (write the dot to silence this warning)", quoteShort(name), name+".")
}

func absPath(p string) string {
	if a, err := filepath.Abs(p); err == nil {
		return a
	}
	return filepath.Clean(p)
}

func pathErrText(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		if errors.Is(pe.Err, fs.ErrNotExist) {
			return "no such file"
		}
		return pe.Err.Error()
	}
	return err.Error()
}

var yamlLineRE = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// yamlError turns a yaml.v3 error ("yaml: line N: msg") into a Problem at
// that line; yaml.v3 gives no column, and no line for problems on line 1.
func (o *reader) yamlError(file string, err error) {
	msg := err.Error()
	line := 1
	if m := yamlLineRE.FindStringSubmatch(msg); m != nil {
		if n, err := strconv.Atoi(m[1]); err == nil && n > 0 {
			line = n
		}
		msg = m[2]
	} else {
		msg = strings.TrimPrefix(msg, "yaml: ")
	}
	o.probs.Add(diag.Pos{File: file, Line: line, Col: 1}, "YAML syntax error: %s", msg)
}

// decode parses one YAML file into its root node (nil when empty). ok is
// false when it could not be parsed; the problem is already reported.
func (o *reader) decode(file string, data []byte) (root *yaml.Node, ok bool) {
	defer func() {
		// yaml.v3 has panicked on odd input before; a bad file must not
		// take the server down.
		if r := recover(); r != nil {
			o.probs.Add(diag.Pos{File: file, Line: 1, Col: 1}, "YAML parser failed: %v", r)
			root, ok = nil, false
		}
	}()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, true
		}
		o.yamlError(file, err)
		return nil, false
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		if err != nil {
			o.yamlError(file, err)
		} else {
			o.probs.Add(diag.Pos{File: file, Line: extra.Line, Col: extra.Column},
				"a zone file holds one YAML document; another one starts here")
		}
		return nil, false
	}
	if len(doc.Content) == 0 {
		return nil, true
	}
	return doc.Content[0], true
}

// charge counts work done following aliases and merges, and stops the walk
// once a file asks for far more than any real zone needs.
func (o *reader) charge(n *yaml.Node, s *source) bool {
	o.work++
	if o.work <= o.budget {
		return true
	}
	if !o.workFailed {
		o.workFailed = true
		o.probs.Add(o.pos(n, s), "too many aliases, merges or includes to expand (limit %d nodes for this file's size)", o.budget)
	}
	return false
}

var yamlStdTags = map[string]bool{
	"!!str": true, "!!int": true, "!!float": true, "!!bool": true, "!!null": true,
	"!!map": true, "!!seq": true, "!!merge": true, "!!binary": true, "!!timestamp": true,
}

// resolve follows aliases and !include tags until it reaches a node that is
// neither, and says which file that node is in.
func (o *reader) resolve(n *yaml.Node, s *source) (*yaml.Node, *source, bool) {
	for depth := 0; ; depth++ {
		if n == nil {
			return nil, s, false
		}
		if !o.charge(n, s) {
			return nil, s, false
		}
		if depth > maxDepth {
			o.probs.Add(o.pos(n, s), "aliases or includes nested more than %d deep", maxDepth)
			return nil, s, false
		}
		switch {
		case n.Kind == yaml.AliasNode:
			if n.Alias == nil {
				o.probs.Add(o.pos(n, s), "alias *%s has no anchor", n.Value)
				return nil, s, false
			}
			n = n.Alias
		case n.Tag == "!include":
			var ok bool
			n, s, ok = o.include(n, s)
			if !ok {
				return nil, s, false
			}
		case n.Tag != "" && !yamlStdTags[n.Tag]:
			o.probs.Add(o.pos(n, s), "unsupported YAML tag %q (octoDNS knows only !include)", n.Tag)
			return nil, s, false
		default:
			return n, s, true
		}
	}
}

// include loads the file an !include tag names, relative to the folder of
// the file holding the tag, as octoDNS's YAML loader does.
func (o *reader) include(n *yaml.Node, s *source) (*yaml.Node, *source, bool) {
	at := o.pos(n, s)
	if n.Kind != yaml.ScalarNode || strings.TrimSpace(n.Value) == "" {
		o.probs.Add(at, "!include needs a file name")
		return nil, s, false
	}
	name := n.Value
	file := name
	if !filepath.IsAbs(name) {
		file = filepath.Join(filepath.Dir(s.file), name)
	}
	abs := absPath(file)
	for i, c := range s.chain {
		if c.abs == abs {
			var loop []string
			for _, d := range s.chain[i:] {
				loop = append(loop, d.shown)
			}
			loop = append(loop, file)
			o.probs.Add(at, "!include %q: include loop: %s", name, strings.Join(loop, " -> "))
			return nil, s, false
		}
	}
	if len(s.chain) > maxDepth {
		o.probs.Add(at, "!include %q: includes nested more than %d deep", name, maxDepth)
		return nil, s, false
	}
	f := o.files[abs]
	if f == nil {
		data, bad := readInclude(file)
		if bad != "" {
			// Not cached: every include of a missing file is reported at
			// its own tag.
			o.probs.Add(at, "!include %q: cannot read %s: %s", name, file, bad)
			return nil, s, false
		}
		root, ok := o.decode(file, data)
		f = &fileInfo{root: root, ok: ok, size: len(data)}
		o.files[abs] = f
	}
	if !f.ok {
		return nil, s, false
	}
	// Each include site walks the file again.
	o.budget += workPerByte * f.size
	chain := make([]inclusion, len(s.chain), len(s.chain)+1)
	copy(chain, s.chain)
	ns := &source{file: file, chain: append(chain, inclusion{abs: abs, shown: file})}
	if f.root == nil {
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Line: 1, Column: 1}, ns, true
	}
	return f.root, ns, true
}

// maxInclude bounds the size of an included file.
const maxInclude = 64 << 20

// readInclude reads an included file, refusing anything but a regular file
// of sane size: an include of a device or a FIFO would otherwise block or
// read forever.
func readInclude(file string) ([]byte, string) {
	fi, err := os.Stat(file)
	if err != nil {
		return nil, pathErrText(err)
	}
	if !fi.Mode().IsRegular() {
		return nil, "not a regular file"
	}
	if fi.Size() > maxInclude {
		return nil, fmt.Sprintf("larger than %d MiB", maxInclude>>20)
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, pathErrText(err)
	}
	return data, ""
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

// describe names what a node holds, for "got ..." in messages.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if isNull(n) {
			return "nothing"
		}
		return quoteShort(n.Value)
	}
	return "an unexpected node"
}

// quoteShort quotes s for a message: as written (so "\;" reads as the
// operator typed it) unless it holds quotes or unprintable bytes, and cut
// short when long.
func quoteShort(s string) string {
	const max = 64
	more := ""
	if len(s) > max {
		s, more = s[:max], "..."
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < ' ' || c >= 0x7f || c == '"' {
			return strconv.Quote(s) + more
		}
	}
	return `"` + s + `"` + more
}

// mapping returns the pairs of mapping m with merge keys ("<<") expanded;
// keys written in m win over merged ones, earlier merges over later ones.
// With dups set, a key written twice is reported.
func (o *reader) mapping(m *yaml.Node, s *source, what string, dups bool) []pair {
	return o.mappingDepth(m, s, what, dups, 0)
}

func (o *reader) mappingDepth(m *yaml.Node, s *source, what string, dups bool, depth int) []pair {
	if depth > maxDepth {
		o.probs.Add(o.pos(m, s), "merges nested more than %d deep", maxDepth)
		return nil
	}
	var out []pair
	explicit := map[string]bool{}
	first := map[string]*yaml.Node{}
	var merges []pair
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i], m.Content[i+1]
		if k.Kind == yaml.ScalarNode && k.Tag == "!!merge" {
			merges = append(merges, pair{k: k, v: v, s: s})
			out = append(out, pair{k: k, v: v, s: s}) // placeholder, expanded below
			continue
		}
		rk, rs, ok := o.resolve(k, s)
		if !ok {
			continue
		}
		if rk.Kind != yaml.ScalarNode {
			o.probs.Add(o.pos(rk, rs), "%s keys must be strings, got %s", what, describe(rk))
			continue
		}
		if f, seen := first[rk.Value]; seen {
			if dups {
				o.probs.Add(o.pos(rk, rs), "duplicate key %q in %s (first at line %d)", rk.Value, what, f.Line)
			}
			continue
		}
		first[rk.Value] = rk
		explicit[rk.Value] = true
		out = append(out, pair{k: rk, v: v, s: s})
	}
	if len(merges) == 0 {
		return out
	}
	merged := map[string]bool{}
	var res []pair
	for _, p := range out {
		if !(p.k.Kind == yaml.ScalarNode && p.k.Tag == "!!merge") {
			res = append(res, p)
			continue
		}
		v, vs, ok := o.resolve(p.v, p.s)
		if !ok {
			continue
		}
		var srcs []pair // k unused; v is the mapping
		switch v.Kind {
		case yaml.MappingNode:
			srcs = append(srcs, pair{v: v, s: vs})
		case yaml.SequenceNode:
			for _, e := range v.Content {
				ev, es, ok := o.resolve(e, vs)
				if !ok {
					continue
				}
				if ev.Kind != yaml.MappingNode {
					o.probs.Add(o.pos(ev, es), `"<<" merges mappings; got %s`, describe(ev))
					continue
				}
				srcs = append(srcs, pair{v: ev, s: es})
			}
		default:
			o.probs.Add(o.pos(v, vs), `"<<" merges a mapping or a list of mappings; got %s`, describe(v))
			continue
		}
		for _, src := range srcs {
			for _, q := range o.mappingDepth(src.v, src.s, what, false, depth+1) {
				if explicit[q.k.Value] || merged[q.k.Value] {
					continue
				}
				merged[q.k.Value] = true
				res = append(res, q)
			}
		}
	}
	return res
}

// zone walks the top-level mapping of names.
func (o *reader) zone(root *yaml.Node, s *source) {
	m, ms, ok := o.resolve(root, s)
	if !ok || isNull(m) {
		return
	}
	if m.Kind != yaml.MappingNode {
		o.probs.Add(o.pos(m, ms), "a zone file must be a mapping of record names to records, got %s", describe(m))
		return
	}
	for _, p := range o.mapping(m, ms, "zone", false) {
		o.name(p)
	}
}

// name reads the record or list of records under one name.
func (o *reader) name(p pair) {
	at := o.pos(p.k, p.s)
	if p.k.ShortTag() == "!!null" {
		o.probs.Add(at, `record name must be a string ('' is the zone apex)`)
		return
	}
	shown := p.k.Value
	rel, bad := checkOwner(shown)
	if bad == "" && o.wireLen(rel) > 255 {
		bad = "longer than 255 bytes with the zone name"
	}
	if bad != "" {
		o.probs.Add(at, "invalid name %q: %s", shown, bad)
		return
	}
	if first, dup := o.names[rel]; dup {
		o.probs.Add(at, "duplicate name %q (first at %s)", shown, o.where(at, first.pos))
		return
	}
	info := &nameInfo{pos: at, shown: shown}
	o.names[rel] = info
	o.nameOrder = append(o.nameOrder, rel)

	v, vs, ok := o.resolve(p.v, p.s)
	if !ok {
		return
	}
	switch v.Kind {
	case yaml.MappingNode:
		o.record(rel, info, v, vs, at)
	case yaml.SequenceNode:
		if len(v.Content) == 0 {
			o.probs.Add(o.pos(v, vs), "no records under name %q (empty list)", shown)
			return
		}
		for _, e := range v.Content {
			ev, es, ok := o.resolve(e, vs)
			if !ok {
				continue
			}
			if ev.Kind != yaml.MappingNode {
				o.probs.Add(o.pos(ev, es), `each item under name %q must be a record (a mapping with "type" and "value" or "values"), got %s`, shown, describe(ev))
				continue
			}
			o.record(rel, info, ev, es, o.pos(ev, es))
		}
	default:
		o.probs.Add(o.pos(v, vs), `name %q needs a record (a mapping with "type" and "value" or "values") or a list of them, got %s`, shown, describe(v))
	}
}

// where formats the position of an earlier thing relative to the current one.
func (o *reader) where(cur, first diag.Pos) string {
	if cur.File == first.File {
		return fmt.Sprintf("line %d", first.Line)
	}
	return first.String()
}

func (o *reader) wireLen(rel string) int {
	if rel == "" {
		return o.originWire
	}
	return len(rel) + 1 + o.originWire
}

func (o *reader) absName(rel string) string {
	if rel == "" {
		return o.origin
	}
	if o.origin == "." || o.origin == "" {
		return rel + "."
	}
	return rel + "." + o.origin
}

// record reads one record mapping under name rel.
func (o *reader) record(rel string, info *nameInfo, m *yaml.Node, s *source, at diag.Pos) {
	pairs := o.mapping(m, s, "record", true)
	keys := map[string]pair{}
	for _, p := range pairs {
		keys[p.k.Value] = p
	}

	// octodns: {ignored: true} means octoDNS itself skips the record.
	var octodns *yaml.Node
	var octodnsFile string
	lenient := false
	if p, ok := keys["octodns"]; ok {
		n, ns, ok := o.resolve(p.v, p.s)
		if ok {
			switch {
			case n.Kind == yaml.MappingNode:
				octodns, octodnsFile = n, ns.file
				for _, q := range o.mapping(n, ns, "octodns", true) {
					if q.k.Value != "ignored" && q.k.Value != "lenient" {
						continue
					}
					qv, qs, ok := o.resolve(q.v, q.s)
					if !ok {
						continue
					}
					b, ok := yamlBool(qv)
					if !ok {
						o.probs.Add(o.pos(qv, qs), `octodns %q must be true or false, got %s`, q.k.Value, describe(qv))
						continue
					}
					if q.k.Value == "lenient" {
						lenient = b
					} else if b {
						return
					}
				}
			case isNull(n):
			default:
				o.probs.Add(o.pos(n, ns), `"octodns" must be a mapping, got %s`, describe(n))
			}
		}
	}

	for _, p := range pairs {
		switch p.k.Value {
		case "type", "ttl", "value", "values", "octodns", "dynamic":
		case "geo":
			o.warnOnce("geo", o.pos(p.k, p.s), `legacy "geo" key ignored: smartdns serves the record's values to every client (octoDNS's "dynamic" replaces "geo")`)
		default:
			o.probs.Add(o.pos(p.k, p.s), "unknown key %q in record (known: %s)", p.k.Value, knownRecordKeys)
		}
	}

	// type
	tp, ok := keys["type"]
	if !ok {
		o.probs.Add(at, `record has no "type" (e.g. type: A)`)
		return
	}
	tn, ts, ok := o.resolve(tp.v, tp.s)
	if !ok {
		return
	}
	if tn.Kind != yaml.ScalarNode || isNull(tn) {
		o.probs.Add(o.pos(tn, ts), `"type" must be a record type such as A or MX, got %s`, describe(tn))
		return
	}
	typ := tn.Value
	spec, known := types[typ]
	if !known {
		switch {
		case typ == "URLFWD":
			o.warnOnce("type:"+typ, o.pos(tn, ts), "type %q has no DNS wire form; smartdns ignores records of this type", typ)
		case strings.Contains(typ, "/"):
			o.warnOnce("type:"+typ, o.pos(tn, ts), "provider-specific type %q ignored; smartdns serves only standard types", typ)
		default:
			up := strings.ToUpper(typ)
			if _, ok := types[up]; ok || up == "URLFWD" {
				o.probs.Add(o.pos(tn, ts), "unknown record type %q (types are upper case: %q)", typ, up)
			} else {
				o.probs.Add(o.pos(tn, ts), "unknown record type %q (octoDNS types: %s)", typ, typeList())
			}
		}
		return
	}

	// Registered before the values are read, so a duplicate type or a CNAME
	// conflict is still reported when the values have problems.
	for _, t := range info.types {
		if t.typ == typ {
			o.probs.Add(at, "duplicate %s record at name %q (first at %s)", typ, info.shown, o.where(at, t.pos))
			return
		}
	}
	info.types = append(info.types, seenType{typ: typ, pos: at})

	rec := zonefile.Record{Name: o.absName(rel), Type: spec.rrtype, TTL: defaultTTL, Pos: at}
	good := true

	if p, ok := keys["ttl"]; ok {
		n, ns, ok := o.resolve(p.v, p.s)
		if !ok {
			good = false
		} else if v, ok := yamlInt(n); !ok || v < 0 || v > math.MaxInt32 {
			o.probs.Add(o.pos(n, ns), "ttl must be an integer 0..2147483647, got %s", describe(n))
			good = false
		} else {
			rec.TTL = uint32(v)
			rec.TTLSet = true
		}
	}

	var dynNode *yaml.Node
	var dynFile string
	if p, ok := keys["dynamic"]; ok {
		n, ns, ok := o.resolve(p.v, p.s)
		switch {
		case !ok:
			good = false
		case n.Kind != yaml.MappingNode:
			o.probs.Add(o.pos(n, ns), `"dynamic" must be a mapping with "pools" and "rules", got %s`, describe(n))
			good = false
		default:
			dynNode, dynFile = n, ns.file
		}
	}

	if typ == "CNAME" && rel == "" {
		o.probs.Add(at, "CNAME is not allowed at the zone apex (octoDNS's ALIAS is)")
		good = false
	}
	if typ == "ALIAS" && rel != "" {
		o.probs.Add(at, "ALIAS is only allowed at the zone apex (use CNAME elsewhere)")
		good = false
	}

	items, vnode, vsrc, ok := o.values(typ, keys, at)
	if !ok {
		return
	}
	if spec.single && len(items) > 1 {
		o.probs.Add(o.pos(vnode, vsrc), "%s takes a single value, got %d", typ, len(items))
		return
	}

	hdr := dns.RR_Header{Name: rec.Name, Rrtype: spec.rrtype, Class: dns.ClassINET, Ttl: rec.TTL}
	if typ == "ALIAS" {
		it := items[0]
		str, ok := o.scalar(typ, it.v, it.s)
		if !ok {
			return
		}
		t, bad := checkTarget(str, false)
		if bad != "" {
			o.probs.Add(o.pos(it.v, it.s), "ALIAS value: %s %s", quoteShort(str), bad)
			return
		}
		o.dotless(str, o.pos(it.v, it.s))
		rec.Target = strings.ToLower(t) // looked up, never written out
		if good {
			o.records = append(o.records, rec)
		}
		return
	}

	seen := map[string]int{}
	for _, it := range items {
		v := rawValue{typ: typ, n: it.v, s: it.s, hdr: hdr, lenient: lenient}
		rr := spec.build(o, v)
		if rr == nil {
			good = false
			continue
		}
		if msg := checkPack(rr); msg != "" {
			o.probs.Add(v.pos(), "%s value: %s", typ, msg)
			good = false
			continue
		}
		key := rr.String()
		if line, dup := seen[key]; dup {
			o.probs.Warn(v.pos(), "%s value: same as the value at line %d; the duplicate is ignored", typ, line)
			continue
		}
		seen[key] = it.v.Line
		rec.RRs = append(rec.RRs, rr)
	}
	if dynNode != nil {
		// A dynamic record without a TTL gets DynamicTTL, its backup
		// values too.
		if !rec.TTLSet {
			rec.TTL = DynamicTTL
			for _, rr := range rec.RRs {
				rr.Header().Ttl = DynamicTTL
			}
		}
		dyn, probs := readDynamic(&rec, dynNode, dynFile, octodns, octodnsFile, o.warned)
		o.probs = append(o.probs, probs...)
		rec.Dynamic = dyn
		if dyn == nil {
			good = false
		}
	}
	if good {
		o.records = append(o.records, rec)
	}
}

type item struct {
	v *yaml.Node // resolved
	s *source
}

// values returns the record's value nodes, resolved, from "value" or
// "values" (a list, or one scalar or mapping).
func (o *reader) values(typ string, keys map[string]pair, at diag.Pos) ([]item, *yaml.Node, *source, bool) {
	pv, hasV := keys["value"]
	pvs, hasVs := keys["values"]
	if hasV && hasVs {
		o.probs.Add(o.pos(pvs.k, pvs.s), `give "value" or "values", not both`)
		return nil, nil, nil, false
	}
	if !hasV && !hasVs {
		o.probs.Add(at, `%s record has no "value" or "values"`, typ)
		return nil, nil, nil, false
	}
	p, key := pv, "value"
	if hasVs {
		p, key = pvs, "values"
	}
	n, s, ok := o.resolve(p.v, p.s)
	if !ok {
		return nil, nil, nil, false
	}
	if n.Kind != yaml.SequenceNode {
		return []item{{n, s}}, n, s, true
	}
	if len(n.Content) == 0 {
		o.probs.Add(o.pos(n, s), "%q is an empty list", key)
		return nil, nil, nil, false
	}
	items := make([]item, 0, len(n.Content))
	good := true
	for _, e := range n.Content {
		ev, es, ok := o.resolve(e, s)
		if !ok {
			good = false
			continue
		}
		items = append(items, item{ev, es})
	}
	return items, n, s, good
}

// yamlInt reads an integer written as a YAML int, or as a string of decimal
// digits (octoDNS applies Python's int() to both).
func yamlInt(n *yaml.Node) (int64, bool) {
	if n.Kind != yaml.ScalarNode {
		return 0, false
	}
	switch n.ShortTag() {
	case "!!int":
		var v int64
		if err := n.Decode(&v); err != nil {
			return 0, false
		}
		return v, true
	case "!!str":
		v, err := strconv.ParseInt(strings.TrimSpace(n.Value), 10, 64)
		return v, err == nil
	}
	return 0, false
}

// yamlFloat reads a number written as a YAML int or float, or as a string.
func yamlFloat(n *yaml.Node) (float64, bool) {
	if n.Kind != yaml.ScalarNode {
		return 0, false
	}
	switch n.ShortTag() {
	case "!!int":
		v, ok := yamlInt(n)
		return float64(v), ok
	case "!!float", "!!str":
		v, err := strconv.ParseFloat(strings.TrimSpace(n.Value), 64)
		if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
			return 0, false
		}
		return v, true
	}
	return 0, false
}

// yamlBool reads a boolean, also in the YAML 1.1 spellings octoDNS's
// PyYAML loader accepts (yes/no/on/off).
func yamlBool(n *yaml.Node) (bool, bool) {
	if n.Kind != yaml.ScalarNode {
		return false, false
	}
	switch strings.ToLower(n.Value) {
	case "true", "yes", "on", "y":
		return true, n.ShortTag() == "!!bool" || n.ShortTag() == "!!str"
	case "false", "no", "off", "n":
		return false, n.ShortTag() == "!!bool" || n.ShortTag() == "!!str"
	}
	return false, false
}

// cnameChecks applies octoDNS's rule that a CNAME is the only record at
// its name (RFC 1034 §3.6.2).
func (o *reader) cnameChecks() {
	for _, rel := range o.nameOrder {
		info := o.names[rel]
		if len(info.types) < 2 {
			continue
		}
		for _, t := range info.types {
			if t.typ != "CNAME" {
				continue
			}
			var others []string
			for _, u := range info.types {
				if u.typ != "CNAME" {
					others = append(others, fmt.Sprintf("%s at %s", u.typ, o.where(t.pos, u.pos)))
				}
			}
			o.probs.Add(t.pos, "a CNAME must be the only record at its name; %q also has %s", info.shown, strings.Join(others, ", "))
		}
	}
}

// checkPack makes sure the RR can be put on the wire, so a record that
// would fail at answer time fails at load time instead.
func checkPack(rr dns.RR) string {
	n := dns.Len(rr)
	hdr := dns.Len(&dns.ANY{Hdr: *rr.Header()})
	if n-hdr > 0xFFFF {
		return fmt.Sprintf("too long: %d bytes of record data, at most 65535", n-hdr)
	}
	buf := make([]byte, n+16)
	if _, err := dns.PackRR(rr, buf, 0, nil, false); err != nil {
		return "cannot be encoded: " + err.Error()
	}
	return ""
}

// checkOwner validates a name relative to the origin and returns it lower
// cased, or a description of what is wrong.
func checkOwner(name string) (string, string) {
	if name == "" {
		return "", ""
	}
	if name == "@" {
		return "", `write '' for the zone apex, not "@"`
	}
	if strings.HasSuffix(name, ".") {
		return "", `names are relative to the zone; drop the trailing "."`
	}
	name, bad := idnaName(name)
	if bad != "" {
		return "", bad
	}
	if bad := checkLabels(name, true); bad != "" {
		return "", bad
	}
	return strings.ToLower(name), ""
}

// checkTarget validates a fully qualified name in a value and returns it
// lower cased. allowRoot permits "." (null MX, SRV "no service", ...).
func checkTarget(name string, allowRoot bool) (string, string) {
	if name == "." {
		if allowRoot {
			return ".", ""
		}
		return "", `"." is not allowed here`
	}
	if name == "" {
		return "", "is empty"
	}
	if !strings.HasSuffix(name, ".") {
		// octoDNS 1.x loads such names as fully qualified (it warns of
		// the missing dot), and real repositories have them: so do we.
		name += "."
	}
	name, bad := idnaName(name)
	if bad != "" {
		return "", bad
	}
	if bad := checkLabels(name[:len(name)-1], false); bad != "" {
		return "", bad
	}
	if len(name)+1 > 255 {
		return "", "is longer than 255 bytes"
	}
	// The case as written: names in RDATA keep it (RFC 4343 §4.1).
	return name, ""
}

func checkLabels(name string, owner bool) string {
	for i, l := range strings.Split(name, ".") {
		if l == "" {
			return `has an empty label ("..", or a leading ".")`
		}
		if len(l) > 63 {
			return fmt.Sprintf("label %s is longer than 63 bytes", quoteShort(l))
		}
		if owner && l == "*" && i > 0 {
			return `"*" is only allowed as the leftmost label`
		}
		for j := 0; j < len(l); j++ {
			c := l[j]
			switch {
			case c == ' ' || c == '\t' || c == '\n' || c == '\r':
				return "contains whitespace"
			case c < ' ' || c == 0x7f:
				return "contains a control character"
			case c > 0x7f:
				return "contains a non-ASCII character"
			case strings.IndexByte(`"();\`, c) >= 0:
				return fmt.Sprintf("contains %q, which is not allowed in names", c)
			}
		}
	}
	return ""
}
