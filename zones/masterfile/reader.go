package masterfile

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/miekg/dns"

	"github.com/smartdns/smartdns/internal/diag"
	"github.com/smartdns/smartdns/zones/zonefile"
)

// Limits that keep a hostile or broken master file from exhausting memory
// or flooding the operator's terminal.
const (
	// maxIncludeDepth bounds $INCLUDE nesting; loops are caught earlier,
	// this catches chains of distinct files (symlinks, generated trees).
	maxIncludeDepth = 16
	// maxGenerated bounds the RRs all $GENERATE directives of one zone
	// may produce.
	maxGenerated = 1 << 20
	// maxProblems bounds how many problems are kept; the rest are
	// counted and summarised in one final problem. A binary file fed to
	// the parser by mistake would otherwise yield one error per line.
	maxProblems = 1000
	// fallbackTTL is used when an RR has no TTL, there is no $TTL and no
	// earlier RR to inherit one from.
	fallbackTTL = 3600
)

// ParseFile reads an RFC 1035 master file for zone origin
// ("example.com.", fully qualified, lower case).
//
// It exists beside dns.ZoneParser because `smartdns check` must list every
// problem of a file with its path:line:col, and the later checks (CNAME
// beside other data, out-of-zone names, ...) need each RRset's line; a
// plain ZoneParser stops at the first error and does not say where an RR
// came from.
func ParseFile(path, origin string) ([]zonefile.Record, diag.Problems) {
	p := newParser(origin, readFile)
	data, err := readFile(path)
	if err != nil {
		p.errorf(diag.Pos{File: path}, "%v", err)
		return nil, p.finish()
	}
	return p.parse(path, data)
}

// Parse is ParseFile for bytes already read (tests, fuzzing,
// files fetched from elsewhere). path names positions in problems and is
// the folder $INCLUDE file names are resolved against.
func Parse(path, origin string, data []byte) ([]zonefile.Record, diag.Problems) {
	return newParser(origin, readFile).parse(path, data)
}

// readFile reads an included (or the top) file. Only regular files are
// read: opening a FIFO or a device named by $INCLUDE would block forever.
func readFile(path string) ([]byte, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: not a regular file", path)
	}
	return os.ReadFile(path)
}

// parser holds what outlives one file: the zone's records, the
// problems, and the $INCLUDE chain.
type parser struct {
	zone     string // zone origin, canonical
	zoneOK   bool
	readFile func(string) ([]byte, error)

	probs      diag.Problems
	suppressed int  // problems beyond maxProblems
	suppErr    bool // one of them was an error

	recs  []zonefile.Record
	meta  []recMeta
	index map[key]int

	chain     []string // display paths of the files being read, outermost first
	chainAbs  []string // the same, absolute, for loop detection
	generated int
	maxGen    int

	toks []token // scratch, reused for each entry
}

type key struct {
	name string
	typ  uint16
}

// recMeta is per-Record bookkeeping that callers do not need.
type recMeta struct {
	ttlWarned bool
	dups      map[string]struct{} // rdata keys, built once an RRset grows large
}

// file is the state that is scoped to one file: RFC 1035 leaves $ORIGIN
// unchanged in the including file after an $INCLUDE, and we treat $TTL and
// the inherited owner/TTL the same way.
type file struct {
	path     string
	origin   string
	ttl      uint32 // $TTL
	haveTTL  bool
	last     uint32 // TTL of the previous RR (RFC 1035 default when no $TTL)
	haveLast bool
	owner    string // previous owner, for entries that start with a blank
	ownerBad bool   // the previous owner could not be parsed; its continuations are dropped quietly
}

func newParser(origin string, read func(string) ([]byte, error)) *parser {
	p := &parser{readFile: read, index: map[key]int{}, maxGen: maxGenerated}
	p.zone = canonName(dns.Fqdn(origin))
	_, p.zoneOK = dns.IsDomainName(p.zone)
	return p
}

func (p *parser) parse(path string, data []byte) ([]zonefile.Record, diag.Problems) {
	if !p.zoneOK {
		p.errorf(diag.Pos{File: path}, "bad zone origin %q", p.zone)
		return nil, p.finish()
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		abs = path
	}
	p.chain = append(p.chain, path)
	p.chainAbs = append(p.chainAbs, abs)
	// Size the record list and index for about one RRset per line: a big
	// zone then never holds two copies of them while they grow.
	if n := bytes.Count(data, []byte{'\n'}) + 1; len(p.recs) == 0 {
		p.recs = make([]zonefile.Record, 0, n)
		p.index = make(map[key]int, n)
	}
	p.file(&file{path: path, origin: p.zone}, data)
	return p.records(), p.finish()
}

// records returns the records with each RRset's TTLs made equal: RFC 2181
// §5.2 says an RRset has one TTL. RRSIGs are exempt because each carries
// the TTL of the RRset it covers (RFC 4034 §3).
func (p *parser) records() []zonefile.Record {
	for i := range p.recs {
		r := &p.recs[i]
		if r.Type == dns.TypeRRSIG {
			continue
		}
		for _, rr := range r.RRs {
			rr.Header().Ttl = r.TTL
		}
	}
	return p.recs
}

func (p *parser) finish() diag.Problems {
	if p.suppressed > 0 {
		p.probs = append(p.probs, &diag.Problem{
			Pos:     p.probs[len(p.probs)-1].Pos,
			Msg:     fmt.Sprintf("%d more problems not shown", p.suppressed),
			Warning: !p.suppErr,
		})
		p.suppressed = 0
	}
	return p.probs
}

func (p *parser) problem(warn bool, pos diag.Pos, format string, args ...any) {
	if len(p.probs) >= maxProblems {
		p.suppressed++
		p.suppErr = p.suppErr || !warn
		return
	}
	if warn {
		p.probs.Warn(pos, format, args...)
	} else {
		p.probs.Add(pos, format, args...)
	}
}

func (p *parser) errorf(pos diag.Pos, format string, args ...any) {
	p.problem(false, pos, format, args...)
}

func (p *parser) warnf(pos diag.Pos, format string, args ...any) {
	p.problem(true, pos, format, args...)
}

// file parses one file's entries with state f.
func (p *parser) file(f *file, data []byte) {
	sc := scanner{s: string(data), line: 1, p: p, path: f.path}
	var e entry
	for sc.next(&e, p.toks[:0]) {
		p.toks = e.toks
		if e.bad || len(e.toks) == 0 {
			continue
		}
		p.entry(f, &sc, &e)
	}
	p.toks = e.toks
}

// token is one field of an entry. text is the field as written, escapes
// kept, without the quotes of a quoted string.
type token struct {
	text      string
	line, col int
	n         int // bytes the field spans on its line, quotes included
	quoted    bool
}

// entry is one logical entry: the lines of one RR or directive, joined
// while parentheses are open.
type entry struct {
	start, end int // byte range in the file, whole lines
	line, last int // first and last line
	blank      bool
	bad        bool // a lexical problem was already reported
	toks       []token
}

// scanner splits a file into entries. It understands just enough of the
// syntax (quotes, escapes, comments, parentheses) to find where an entry
// ends and where each field starts; miekg/dns parses the fields.
type scanner struct {
	s         string
	i         int
	line      int
	lineStart int
	p         *parser
	path      string
}

func (sc *scanner) next(e *entry, toks []token) bool {
	if sc.i >= len(sc.s) {
		e.toks = toks
		return false
	}
	s := sc.s
	*e = entry{start: sc.i, line: sc.line, toks: toks}
	e.blank = s[sc.i] == ' ' || s[sc.i] == '\t'
	depth := 0
	var parenPos diag.Pos
	tokStart := -1
	flush := func(end int) {
		if tokStart >= 0 {
			e.toks = append(e.toks, token{text: s[tokStart:end], line: sc.line, col: tokStart - sc.lineStart + 1, n: end - tokStart})
			tokStart = -1
		}
	}
	i := sc.i
	for i < len(s) {
		c := s[i]
		switch c {
		case '\n':
			flush(i)
			e.last = sc.line
			i++
			sc.line++
			sc.lineStart = i
			if depth == 0 {
				sc.i = i
				e.end = i
				return true
			}
		case ';':
			flush(i)
			if j := strings.IndexByte(s[i:], '\n'); j >= 0 {
				i += j
			} else {
				i = len(s)
			}
		case ' ', '\t', '\r':
			flush(i)
			i++
		case '(':
			flush(i)
			if depth == 0 {
				parenPos = sc.pos(i)
			}
			depth++
			i++
		case ')':
			flush(i)
			if depth == 0 {
				sc.p.errorf(sc.pos(i), "%q without an opening %q", ")", "(")
				e.bad = true
			} else {
				depth--
			}
			i++
		case '"':
			flush(i)
			start := i
			i++
			closed := false
			for i < len(s) {
				c := s[i]
				if c == '\\' && i+1 < len(s) && s[i+1] != '\n' {
					i += 2
					continue
				}
				if c == '\n' {
					break
				}
				if c == '"' {
					closed = true
					break
				}
				i++
			}
			if !closed {
				// BIND rejects a newline inside quotes too; letting the
				// string run on would swallow the rest of the file.
				sc.p.errorf(sc.pos(start), "quoted string not closed before end of line")
				e.bad = true
				continue
			}
			e.toks = append(e.toks, token{text: s[start+1 : i], line: sc.line, col: start - sc.lineStart + 1, n: i + 1 - start, quoted: true})
			i++
		case '\\':
			if tokStart < 0 {
				tokStart = i
			}
			i++
			if i < len(s) && s[i] != '\n' {
				i++
			}
		default:
			if tokStart < 0 {
				tokStart = i
			}
			i++
		}
	}
	flush(len(s))
	e.last = sc.line
	sc.i = len(s)
	e.end = len(s)
	if depth > 0 {
		sc.p.errorf(parenPos, "%q not closed before end of file", "(")
		e.bad = true
	}
	return true
}

func (sc *scanner) pos(i int) diag.Pos {
	return diag.Pos{File: sc.path, Line: sc.line, Col: i - sc.lineStart + 1}
}

// entry handles one entry: a directive, or an RR for miekg/dns to parse.
func (p *parser) entry(f *file, sc *scanner, e *entry) {
	first := e.toks[0]
	pos := diag.Pos{File: f.path, Line: first.line, Col: first.col}
	if !e.blank && !first.quoted && strings.HasPrefix(first.text, "$") {
		p.directive(f, sc, e, pos)
		return
	}
	text := sc.s[e.start:e.end]

	// Find the type field (after the owner and up to two of TTL and
	// class, in either order) to learn whether a TTL was written and
	// whether any rdata follows.
	i := 0
	if !e.blank {
		i = 1
	}
	explicitTTL, typeIdx := header(e.toks, i)

	orphan := false // no owner to give the RR: report syntax errors, keep nothing
	if e.blank && f.owner == "" {
		if !f.ownerBad {
			p.errorf(pos, "entry starts with a blank (same owner as the previous entry) but there is no previous owner")
			f.ownerBad = true
		}
		orphan = true
	}

	alias := false
	if typeIdx >= 0 {
		t := e.toks[typeIdx]
		if !t.quoted && !isType(t.text) {
			// miekg/dns would call it "not a TTL" or a bad class.
			p.errorf(tokPos(f, t), "unknown RR type %q", t.text)
			p.forgetOwner(f, e)
			return
		}
		if !t.quoted && strings.EqualFold(t.text, "ALIAS") {
			// PowerDNS's ALIAS takes one domain name, like CNAME, and the
			// two names have the same length, so columns stay right.
			alias = true
			off := offset(text, e.line, t.line, t.col)
			text = text[:off] + "CNAME" + text[off+len("ALIAS"):]
		}
		if typeIdx == len(e.toks)-1 && !strings.EqualFold(t.text, "APL") {
			// miekg/dns accepts an RR without rdata (an RFC 2136 update
			// form) and returns empty rdata; a zone cannot use that.
			p.errorf(diag.Pos{File: f.path, Line: t.line, Col: t.col}, "missing rdata after %q", t.text)
			p.forgetOwner(f, e)
			return
		}
	}

	var fix func(dns.RR) (dns.RR, error)
	typName := ""
	if typeIdx >= 0 && !alias {
		typName = strings.ToUpper(e.toks[typeIdx].text)
		edits, fx, rerr := rewrite(e.toks[typeIdx], e.toks[typeIdx+1:], f.origin)
		if rerr != nil {
			p.errorf(tokPos(f, rerr.tok), "%s", rerr.msg)
			p.forgetOwner(f, e)
			return
		}
		if len(edits) > 0 {
			text = applyEdits(text, e.line, edits)
		}
		fix = fx
	}

	text = indentContinuations(text)

	def, fallback := f.defaultTTL()
	zp := dns.NewZoneParser(strings.NewReader(text), f.origin, "")
	zp.SetDefaultTTL(def)
	rr, ok := zp.Next()
	if err := zp.Err(); err != nil {
		p.parseError(f, e, typName, err)
		p.forgetOwner(f, e)
		return
	}
	if !ok || rr == nil {
		return
	}
	if fix != nil {
		fixed, err := fix(rr)
		if err != nil {
			p.errorf(pos, "%s: %v", typName, err)
			p.forgetOwner(f, e)
			return
		}
		rr = fixed
	}
	sortBitmap(rr)
	if orphan {
		return
	}
	h := rr.Header()
	if e.blank {
		if f.ownerBad {
			return
		}
		h.Name = f.owner
	} else {
		f.owner, f.ownerBad = h.Name, false
	}
	if !explicitTTL && fallback {
		if soa, ok := rr.(*dns.SOA); ok {
			h.Ttl = soa.Minttl
			p.warnf(pos, "no TTL, no $TTL and no earlier RR: using the SOA minimum, %d (RFC 2308 §4)", h.Ttl)
		} else {
			p.warnf(pos, "no TTL, no $TTL and no earlier RR: using %d", h.Ttl)
		}
	}
	f.last, f.haveLast = h.Ttl, true
	if alias {
		p.addAlias(rr, pos)
		return
	}
	p.add(rr, pos)
}

// forgetOwner records, after an entry failed to parse, which owner the
// entries continuing it (starting with a blank) belong to. If the owner
// field itself is fine they keep it; otherwise they are dropped without a
// second error each.
func (p *parser) forgetOwner(f *file, e *entry) {
	if e.blank {
		return
	}
	if name, ok := absName(e.toks[0].text, f.origin); ok {
		f.owner, f.ownerBad = name, false
		return
	}
	f.owner, f.ownerBad = "", true
}

// header scans the fields from i on: up to two TTL or class fields, then
// the type. It reports whether a TTL was among them and the type's index
// (-1 if there is none).
func header(toks []token, i int) (explicitTTL bool, typeIdx int) {
	for n := 0; i < len(toks) && n < 3; i, n = i+1, n+1 {
		t := toks[i].text
		if isClass(t) {
			continue
		}
		if t != "" && t[0] >= '0' && t[0] <= '9' {
			explicitTTL = true
			continue
		}
		return explicitTTL, i
	}
	return explicitTTL, -1
}

// isType reports whether s names a type miekg/dns can parse, or ALIAS.
func isType(s string) bool {
	u := strings.ToUpper(s)
	if _, ok := dns.StringToType[u]; ok || u == "ALIAS" || localTypes[u] != 0 {
		return true
	}
	if strings.HasPrefix(u, "TYPE") && len(u) > 4 {
		_, err := strconv.ParseUint(u[4:], 10, 16)
		return err == nil
	}
	return false
}

func isClass(s string) bool {
	u := strings.ToUpper(s)
	if _, ok := dns.StringToClass[u]; ok {
		return true
	}
	if strings.HasPrefix(u, "CLASS") && len(u) > 5 {
		_, err := strconv.ParseUint(u[5:], 10, 16)
		return err == nil
	}
	return false
}

// defaultTTL is the TTL for an RR that gives none: $TTL, else the previous
// RR's (RFC 1035 §5.1), else fallbackTTL with fallback set so the caller
// can use the SOA minimum instead and warn.
func (f *file) defaultTTL() (ttl uint32, fallback bool) {
	switch {
	case f.haveTTL:
		return f.ttl, false
	case f.haveLast:
		return f.last, false
	}
	return fallbackTTL, true
}

// offset converts a line/col inside an entry that starts at line first
// to a byte offset in the entry's text.
func offset(text string, first, line, col int) int {
	off := 0
	for l := first; l < line; l++ {
		j := strings.IndexByte(text[off:], '\n')
		if j < 0 {
			return len(text)
		}
		off += j + 1
	}
	return min(off+col-1, len(text))
}

// parseError turns a miekg/dns error into a problem at the file position:
// miekg counts lines and columns from the start of the text it was given,
// which is the entry.
//
// Some miekg errors carry their reason only in the wrapped error (the
// SVCB value parsers: "dns: : \"ipv6hint=...\""); the reason is put back
// so that no problem has an empty message.
func (p *parser) parseError(f *file, e *entry, typ string, err error) {
	msg := strings.TrimPrefix(err.Error(), "dns: ")
	if strings.HasPrefix(msg, ": ") || strings.HasPrefix(msg, " at line: ") || msg == "" {
		why := "bad rdata"
		if typ != "" {
			why = "bad " + typ + " rdata"
		}
		if inner := errors.Unwrap(err); inner != nil && inner.Error() != "" {
			why += ": " + strings.TrimPrefix(inner.Error(), "dns: ")
		}
		msg = why + msg
	}
	pos := diag.Pos{File: f.path, Line: e.toks[0].line, Col: e.toks[0].col}
	if i := strings.LastIndex(msg, " at line: "); i >= 0 {
		lc := msg[i+len(" at line: "):]
		msg = msg[:i]
		l, c, _ := strings.Cut(lc, ":")
		line, err1 := strconv.Atoi(l)
		col, err2 := strconv.Atoi(c)
		if err1 == nil && err2 == nil && line >= 1 && e.line+line-1 <= e.last {
			pos.Line = e.line + line - 1
			if line > 1 && e.colZero(pos.Line) {
				col-- // indentContinuations added a blank
			}
			pos.Col = tokenStart(e.toks, pos.Line, max(col, 1))
		}
	}
	p.errorf(pos, "%s", msg)
}

// colZero reports whether line (of e) starts with a field in column 0.
func (e *entry) colZero(line int) bool {
	for _, t := range e.toks {
		if t.line == line {
			return t.col == 1
		}
	}
	return false
}

// indentContinuations puts a blank before each line after the first that
// starts in column 0. Inside parentheses such a line continues the entry
// (RFC 1035 §5.1); miekg/dns reads a field there as an owner and fails
// ("bad SOA zone parameter"). parseError takes the blank back out of
// the columns it reports.
func indentContinuations(text string) string {
	i := strings.IndexByte(text, '\n')
	if i < 0 || i == len(text)-1 {
		return text
	}
	var b strings.Builder
	b.Grow(len(text) + 8)
	b.WriteString(text[:i+1])
	rest := text[i+1:]
	for rest != "" {
		j := strings.IndexByte(rest, '\n')
		line := rest
		if j >= 0 {
			line = rest[:j+1]
		}
		if c := line[0]; c != ' ' && c != '\t' && c != '\n' && c != '\r' && c != ';' {
			b.WriteByte(' ')
		}
		b.WriteString(line)
		rest = rest[len(line):]
	}
	return b.String()
}

// sortBitmap puts the type bitmap of NSEC, NSEC3, CSYNC and NXT in order and
// drops repeats: RFC 4034 §4.2 lets the presentation form list types in
// any order, but the wire form is sorted (miekg/dns will not pack it
// otherwise).
func sortBitmap(rr dns.RR) {
	var bm *[]uint16
	switch v := rr.(type) {
	case *dns.NSEC:
		bm = &v.TypeBitMap
	case *dns.NSEC3:
		bm = &v.TypeBitMap
	case *dns.CSYNC:
		bm = &v.TypeBitMap
	case *dns.NXT: // RFC 2535 §5.2, obsolete but in Knot's and BIND's zones
		bm = &v.TypeBitMap
	default:
		return
	}
	slices.Sort(*bm)
	*bm = slices.Compact(*bm)
}

// tokenStart moves a column miekg reports (the last byte it read, which
// is the end of the offending field or the blank after it) back to the
// start of that field, where an editor should put the cursor.
func tokenStart(toks []token, line, col int) int {
	for _, t := range toks {
		if t.line == line && t.col <= col && col < t.col+t.n {
			return t.col
		}
	}
	for _, t := range toks {
		if t.line == line && col == t.col+t.n {
			return t.col
		}
	}
	return col
}

// directive handles $ORIGIN, $TTL, $INCLUDE and $GENERATE.
func (p *parser) directive(f *file, sc *scanner, e *entry, pos diag.Pos) {
	name := strings.ToUpper(e.toks[0].text)
	args := e.toks[1:]
	switch name {
	case "$ORIGIN":
		if len(args) != 1 {
			p.errorf(pos, "$ORIGIN takes one domain name")
			return
		}
		o, ok := absName(args[0].text, f.origin)
		if !ok {
			p.errorf(tokPos(f, args[0]), "bad $ORIGIN name %q", args[0].text)
			return
		}
		f.origin = canonName(o)
	case "$TTL":
		if len(args) != 1 {
			p.errorf(pos, "$TTL takes one TTL")
			return
		}
		ttl, ok := parseTTL(args[0].text)
		if !ok {
			p.errorf(tokPos(f, args[0]), "bad $TTL value %q", args[0].text)
			return
		}
		f.ttl, f.haveTTL = ttl, true
	case "$INCLUDE":
		p.include(f, args, pos)
	case "$GENERATE":
		p.generate(f, sc, e, pos)
	default:
		p.errorf(pos, "unknown directive %q", e.toks[0].text)
	}
}

func tokPos(f *file, t token) diag.Pos {
	return diag.Pos{File: f.path, Line: t.line, Col: t.col}
}

// include reads `$INCLUDE file [origin]`. The file name is relative to
// the including file's folder; the included file starts with the current
// origin (or the one given), $TTL and TTL, and changes it makes do not
// leak back (RFC 1035 §5.1).
func (p *parser) include(f *file, args []token, pos diag.Pos) {
	if len(args) < 1 || len(args) > 2 {
		p.errorf(pos, "$INCLUDE takes a file name and optionally an origin")
		return
	}
	name := args[0].text
	path := name
	if !filepath.IsAbs(path) {
		path = filepath.Join(filepath.Dir(f.path), path)
	}
	origin := f.origin
	if len(args) == 2 {
		o, ok := absName(args[1].text, f.origin)
		if !ok {
			p.errorf(tokPos(f, args[1]), "bad $INCLUDE origin %q", args[1].text)
			return
		}
		origin = canonName(o)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		abs = path
	}
	for i, a := range p.chainAbs {
		if a == abs {
			loop := append(append([]string(nil), p.chain[i:]...), path)
			p.errorf(pos, "$INCLUDE loop: %s", strings.Join(loop, " -> "))
			return
		}
	}
	if len(p.chain) > maxIncludeDepth {
		p.errorf(pos, "$INCLUDE nested more than %d deep", maxIncludeDepth)
		return
	}
	data, err := p.readFile(path)
	if err != nil {
		p.errorf(pos, "$INCLUDE %q: %v", name, err)
		return
	}
	p.chain = append(p.chain, path)
	p.chainAbs = append(p.chainAbs, abs)
	// The included file starts with the current owner too, as in BIND and
	// NSD: its first entry may begin with a blank.
	child := &file{path: path, origin: origin, ttl: f.ttl, haveTTL: f.haveTTL, last: f.last, haveLast: f.haveLast, owner: f.owner, ownerBad: f.ownerBad}
	p.file(child, data)
	p.chain = p.chain[:len(p.chain)-1]
	p.chainAbs = p.chainAbs[:len(p.chainAbs)-1]
}

// generate expands a $GENERATE entry (BIND's form: `$GENERATE range
// owner [ttl] [class] type rdata`) itself rather than through miekg/dns,
// which lacks BIND's nibble modifiers. Every RR it yields is placed at the
// directive; a template without a TTL uses $TTL or the previous TTL.
func (p *parser) generate(f *file, sc *scanner, e *entry, pos diag.Pos) {
	if len(e.toks) < 5 {
		p.errorf(pos, "$GENERATE takes a range, an owner, optionally a TTL and class, a type and rdata")
		return
	}
	_, typeIdx := header(e.toks, 3)
	if typeIdx == len(e.toks)-1 {
		t := e.toks[typeIdx]
		p.errorf(tokPos(f, t), "missing rdata after %q", t.text)
		return
	}
	rng := e.toks[1]
	start, stop, step, msg := genRange(rng.text)
	if msg != "" {
		p.errorf(tokPos(f, rng), "bad $GENERATE range %q: %s", rng.text, msg)
		return
	}
	text := sc.s[e.start:e.end]
	owner := e.toks[2]
	tmpl := text[offset(text, e.line, owner.line, owner.col):]
	if owner.quoted {
		tmpl = tmpl[1:] // the scanner's column is at the quote
	}
	def, _ := f.defaultTTL()
	var b strings.Builder
	for i := start; i <= stop; i += step {
		if p.generated >= p.maxGen {
			p.errorf(pos, "$GENERATE: more than %d generated RRs in the zone", p.maxGen)
			return
		}
		b.Reset()
		if msg := genExpand(&b, tmpl, i); msg != "" {
			p.errorf(pos, "$GENERATE: %s", msg)
			return
		}
		zp := dns.NewZoneParser(strings.NewReader(b.String()), f.origin, "")
		zp.SetDefaultTTL(def)
		rr, ok := zp.Next()
		if err := zp.Err(); err != nil || !ok {
			why := "no record"
			if err != nil {
				why = strings.TrimPrefix(err.Error(), "dns: ")
				if k := strings.LastIndex(why, " at line: "); k >= 0 {
					why = why[:k]
				}
			}
			p.errorf(pos, "$GENERATE: the record for %d, %q, does not parse: %s", i, strings.TrimSpace(b.String()), why)
			return
		}
		p.generated++
		sortBitmap(rr)
		f.last, f.haveLast = rr.Header().Ttl, true
		p.add(rr, pos)
		if stop-i < step {
			break // i += step would overflow near the top of the range
		}
	}
}

// genRange reads `start-stop[/step]`; msg says what is wrong.
func genRange(s string) (start, stop, step int, msg string) {
	r, st, hasStep := strings.Cut(s, "/")
	a, z, ok := strings.Cut(r, "-")
	if !ok {
		return 0, 0, 0, "want start-stop or start-stop/step"
	}
	n1, err1 := strconv.ParseUint(a, 10, 31)
	n2, err2 := strconv.ParseUint(z, 10, 31)
	if err1 != nil || err2 != nil {
		return 0, 0, 0, "start and stop must be numbers from 0 to 2147483647"
	}
	step = 1
	if hasStep {
		n, err := strconv.ParseUint(st, 10, 31)
		if err != nil || n == 0 {
			return 0, 0, 0, "step must be a number from 1 to 2147483647"
		}
		step = int(n)
	}
	if n1 > n2 {
		return 0, 0, 0, "start is above stop"
	}
	return int(n1), int(n2), step, ""
}

// genExpand writes the template with each `$` replaced by i, as BIND
// does: `${offset[,width[,base]]}` adds offset and pads to width in base
// d, o, x, X, or n/N (nibbles: hexadecimal digits lowest first, dot
// separated, as in ip6.arpa names; width counts the dots); `$$` and `\$`
// are a literal `$`, other escapes pass through to the record parser.
func genExpand(b *strings.Builder, t string, i int) string {
	for j := 0; j < len(t); j++ {
		c := t[j]
		switch {
		case c == '\\' && j+1 < len(t):
			b.WriteByte(c)
			b.WriteByte(t[j+1])
			j++
		case c == '$' && j+1 < len(t) && t[j+1] == '$':
			b.WriteString(`\$`) // escaped: a $ starting a line is a directive
			j++
		case c == '$' && j+1 < len(t) && t[j+1] == '{':
			end := strings.IndexByte(t[j:], '}')
			if end < 0 {
				return fmt.Sprintf("%q has no closing }", t[j:min(len(t), j+12)])
			}
			mod := t[j+2 : j+end]
			if msg := genModifier(b, mod, i); msg != "" {
				return fmt.Sprintf("modifier ${%s}: %s", mod, msg)
			}
			j += end
		case c == '$':
			b.WriteString(strconv.Itoa(i))
		default:
			b.WriteByte(c)
		}
	}
	return ""
}

func genModifier(b *strings.Builder, mod string, i int) string {
	parts := strings.Split(mod, ",")
	if len(parts) > 3 {
		return "want offset[,width[,base]]"
	}
	off, err := strconv.Atoi(parts[0])
	if err != nil || off < -1<<31 || off > 1<<31-1 {
		return "the offset must be a number"
	}
	width := 0
	if len(parts) > 1 {
		w, err := strconv.ParseUint(parts[1], 10, 8)
		if err != nil {
			return "the width must be a number from 0 to 255"
		}
		width = int(w)
	}
	base := "d"
	if len(parts) > 2 {
		base = parts[2]
	}
	// As BIND's genname: the sum is a C int (an error past 2^31-1); a
	// negative one is written signed in decimal and as its 32-bit two's
	// complement in the other bases (BIND's bad-generate-range and
	// good-generate-modifier test zones).
	sum := int64(i) + int64(off)
	if sum > 1<<31-1 {
		return fmt.Sprintf("%d%+d is above 2147483647", i, off)
	}
	u := uint32(int32(sum))
	v := int(u)
	switch base {
	case "d":
		fmt.Fprintf(b, "%0*d", width, sum)
	case "o", "x", "X":
		fmt.Fprintf(b, "%0*"+base, width, u)
	case "n", "N":
		digits := "0123456789abcdef"
		if base == "N" {
			digits = "0123456789ABCDEF"
		}
		for {
			b.WriteByte(digits[v&15])
			v >>= 4
			width = max(width-1, 0)
			if v == 0 && width == 0 {
				break
			}
			b.WriteByte('.')
			width = max(width-1, 0)
			if v == 0 && width == 0 {
				break
			}
		}
	default:
		return fmt.Sprintf("base %q: want d, o, x, X, n or N", base)
	}
	return ""
}

// metaTypes cannot be data in a zone (RFC 6895 §3.1 meta-types, QTYPEs).
var metaTypes = map[uint16]bool{
	dns.TypeNone: true, dns.TypeOPT: true, dns.TypeTSIG: true, dns.TypeTKEY: true,
	dns.TypeIXFR: true, dns.TypeAXFR: true, dns.TypeMAILA: true, dns.TypeMAILB: true,
	dns.TypeANY: true,
}

// check validates what every RR needs and canonicalises its owner.
func (p *parser) check(rr dns.RR, pos diag.Pos) bool {
	h := rr.Header()
	if h.Class != dns.ClassINET {
		p.errorf(pos, "class %s is not served; only IN", dns.Class(h.Class))
		return false
	}
	if metaTypes[h.Rrtype] {
		p.errorf(pos, "type %s cannot be data in a zone", dns.Type(h.Rrtype))
		return false
	}
	h.Name = canonName(h.Name)
	if !dns.IsSubDomain(p.zone, h.Name) {
		p.errorf(pos, "%s is out of zone %s", h.Name, p.zone)
		return false
	}
	return true
}

// add puts an RR into the Record of its owner and type.
func (p *parser) add(rr dns.RR, pos diag.Pos) {
	if !p.check(rr, pos) {
		return
	}
	h := rr.Header()
	key := key{h.Name, h.Rrtype}
	idx, ok := p.index[key]
	if !ok {
		p.index[key] = len(p.recs)
		p.recs = append(p.recs, zonefile.Record{Name: h.Name, Type: h.Rrtype, TTL: h.Ttl, RRs: []dns.RR{rr}, Pos: pos})
		p.meta = append(p.meta, recMeta{})
		return
	}
	r, m := &p.recs[idx], &p.meta[idx]
	if m.isDup(r, rr) {
		p.warnf(pos, "duplicate %s %s RR ignored", h.Name, dns.Type(h.Rrtype))
		return
	}
	if first := r.RRs[0].Header().Ttl; h.Ttl != first && !m.ttlWarned && h.Rrtype != dns.TypeRRSIG {
		m.ttlWarned = true
		p.warnf(pos, "TTL %d differs from TTL %d of the %s %s RRset at %s; the RRset gets the lowest (RFC 2181 §5.2)",
			h.Ttl, first, h.Name, dns.Type(h.Rrtype), r.Pos)
	}
	r.TTL = min(r.TTL, h.Ttl)
	r.RRs = append(r.RRs, rr)
}

// addAlias records a PowerDNS-style ALIAS (parsed as a CNAME).
func (p *parser) addAlias(rr dns.RR, pos diag.Pos) {
	if !p.check(rr, pos) {
		return
	}
	h := rr.Header()
	target := canonName(rr.(*dns.CNAME).Target)
	key := key{h.Name, zonefile.TypeALIAS}
	if idx, ok := p.index[key]; ok {
		r := &p.recs[idx]
		if r.Target == target {
			p.warnf(pos, "duplicate %s ALIAS ignored", h.Name)
		} else {
			p.errorf(pos, "%s has a second ALIAS target (%s, first %s at %s)", h.Name, target, r.Target, r.Pos)
		}
		return
	}
	p.index[key] = len(p.recs)
	p.recs = append(p.recs, zonefile.Record{Name: h.Name, Type: zonefile.TypeALIAS, TTL: h.Ttl, Target: target, Pos: pos})
	p.meta = append(p.meta, recMeta{})
}

// dupScan is the RRset size up to which duplicates are found by
// comparing pairwise; larger RRsets get a set of rdata keys so that a huge
// RRset (say from $GENERATE) stays linear.
const dupScan = 16

func (m *recMeta) isDup(r *zonefile.Record, rr dns.RR) bool {
	if m.dups == nil && len(r.RRs) < dupScan {
		for _, x := range r.RRs {
			if dns.IsDuplicate(x, rr) {
				return true
			}
		}
		return false
	}
	if m.dups == nil {
		m.dups = make(map[string]struct{}, 2*len(r.RRs))
		for _, x := range r.RRs {
			m.dups[rdataKey(x)] = struct{}{}
		}
	}
	k := rdataKey(rr)
	if _, ok := m.dups[k]; ok {
		return true
	}
	m.dups[k] = struct{}{}
	return false
}

// rdataKey is the RR's text without its TTL, which duplicates may differ
// in, and with the names in its rdata lower-cased: RFC 4343 makes MaiL.x.
// and mail.x. the same RR (dns.IsDuplicate, used for small RRsets, agrees).
func rdataKey(rr dns.RR) string {
	rr = dns.Copy(rr)
	rr.Header().Ttl = 0
	lowerRdata(rr)
	return rr.String()
}

// lowerRdata lower-cases the domain names inside rdata that DNS compares
// case-insensitively. It is applied to copies only, for comparing: the
// served rdata keeps the case it was written in (RFC 4343 §4.1).
func lowerRdata(rr dns.RR) {
	switch v := rr.(type) {
	case *dns.CNAME:
		v.Target = canonName(v.Target)
	case *dns.NS:
		v.Ns = canonName(v.Ns)
	case *dns.MX:
		v.Mx = canonName(v.Mx)
	case *dns.PTR:
		v.Ptr = canonName(v.Ptr)
	case *dns.SRV:
		v.Target = canonName(v.Target)
	case *dns.DNAME:
		v.Target = canonName(v.Target)
	case *dns.SOA:
		v.Ns = canonName(v.Ns)
	case *dns.NAPTR:
		v.Replacement = canonName(v.Replacement)
	case *dns.KX:
		v.Exchanger = canonName(v.Exchanger)
	case *dns.AFSDB:
		v.Hostname = canonName(v.Hostname)
	case *dns.RT:
		v.Host = canonName(v.Host)
	case *dns.SVCB:
		v.Target = canonName(v.Target)
	case *dns.HTTPS:
		v.Target = canonName(v.Target)
	}
}

// canonName returns a fully qualified name in lower case, in the one
// presentation form miekg/dns prints, so that names equal on the wire are
// equal as strings ("\065" and "A" and "a" are one label).
func canonName(s string) string {
	s = dns.Fqdn(s)
	upper, esc := false, false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case 'A' <= c && c <= 'Z':
			upper = true
		case c == '\\':
			esc = true
		}
	}
	if !esc {
		if !upper {
			return s
		}
		return strings.ToLower(s)
	}
	var buf [256]byte
	n, err := dns.PackDomainName(s, buf[:], 0, nil, false)
	if err != nil {
		return strings.ToLower(s)
	}
	// Length bytes are at most 63, below 'A', so lowering every byte in
	// 'A'..'Z' touches only letters.
	for i := range buf[:n] {
		if c := buf[i]; 'A' <= c && c <= 'Z' {
			buf[i] = c + 'a' - 'A'
		}
	}
	out, _, err := dns.UnpackDomainName(buf[:n], 0)
	if err != nil {
		return strings.ToLower(s)
	}
	return out
}

// absName makes a name from a directive absolute against origin; "@"
// is the origin itself.
func absName(name, origin string) (string, bool) {
	if name == "@" {
		return origin, true
	}
	if _, ok := dns.IsDomainName(name); !ok || name == "" {
		return "", false
	}
	if dns.IsFqdn(name) {
		return name, true
	}
	if origin == "." {
		return name + ".", true
	}
	return name + "." + origin, true
}

// parseTTL reads a TTL: seconds, or BIND's units ("1h30m", "2d").
func parseTTL(s string) (uint32, bool) {
	if s == "" {
		return 0, false
	}
	var total, cur uint64
	digits, units := false, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		if '0' <= c && c <= '9' {
			cur = cur*10 + uint64(c-'0')
			if cur > 1<<32-1 {
				return 0, false
			}
			digits = true
			continue
		}
		var mult uint64
		switch c | 0x20 {
		case 's':
			mult = 1
		case 'm':
			mult = 60
		case 'h':
			mult = 3600
		case 'd':
			mult = 86400
		case 'w':
			mult = 604800
		default:
			return 0, false
		}
		if !digits {
			return 0, false
		}
		total += cur * mult
		cur, digits, units = 0, false, true
		if total > 1<<32-1 {
			return 0, false
		}
	}
	if digits {
		if units {
			return 0, false // "1h30": a trailing number without a unit
		}
		total = cur
	}
	return uint32(total), true
}
