package octodns

// The per-type value readers: one entry of the types table per octoDNS
// record type, each turning a value (a scalar or a mapping of fields)
// into an RR with every problem positioned.

import (
	"encoding/base64"
	"fmt"
	"net"
	"net/netip"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/miekg/dns"
	"gopkg.in/yaml.v3"

	"github.com/smartdns/smartdns/internal/diag"
	"github.com/smartdns/smartdns/zones/zonefile"
)

// rawValue is one value of a record being converted to an RR.
type rawValue struct {
	typ string
	n   *yaml.Node // resolved
	s   *source
	hdr dns.RR_Header
	// lenient is the record's octodns.lenient: octoDNS then loads values
	// its checks refuse, with a warning.
	lenient bool
}

func (v rawValue) pos() diag.Pos { return diag.Pos{File: v.s.file, Line: v.n.Line, Col: v.n.Column} }

func (o *reader) valErr(v rawValue, at diag.Pos, format string, args ...any) {
	o.probs.Add(at, v.typ+" value: "+format, args...)
}

// scalar reads a value that must be a single string.
func (o *reader) scalar(typ string, n *yaml.Node, s *source) (string, bool) {
	if isNull(n) {
		o.probs.Add(o.pos(n, s), "%s value: missing", typ)
		return "", false
	}
	if n.Kind != yaml.ScalarNode {
		o.probs.Add(o.pos(n, s), "%s value: must be a string, got %s", typ, describe(n))
		return "", false
	}
	return n.Value, true
}

type typeSpec struct {
	rrtype uint16
	single bool // CNAME-like: exactly one value
	build  func(o *reader, v rawValue) dns.RR
}

var types map[string]typeSpec

func init() {
	types = map[string]typeSpec{
		"A":          {rrtype: dns.TypeA, build: buildIP},
		"AAAA":       {rrtype: dns.TypeAAAA, build: buildIP},
		"ALIAS":      {rrtype: zonefile.TypeALIAS, single: true},
		"CAA":        {rrtype: dns.TypeCAA, build: buildCAA},
		"CNAME":      {rrtype: dns.TypeCNAME, single: true, build: buildName},
		"DNAME":      {rrtype: dns.TypeDNAME, single: true, build: buildName},
		"DS":         {rrtype: dns.TypeDS, build: buildDS},
		"HTTPS":      {rrtype: dns.TypeHTTPS, build: buildSVCB},
		"LOC":        {rrtype: dns.TypeLOC, build: buildLOC},
		"MX":         {rrtype: dns.TypeMX, build: buildMX},
		"NAPTR":      {rrtype: dns.TypeNAPTR, build: buildNAPTR},
		"NS":         {rrtype: dns.TypeNS, build: buildName},
		"OPENPGPKEY": {rrtype: dns.TypeOPENPGPKEY, build: buildOPENPGPKEY},
		"PTR":        {rrtype: dns.TypePTR, build: buildName},
		"SPF":        {rrtype: dns.TypeSPF, build: buildTXT},
		"SRV":        {rrtype: dns.TypeSRV, build: buildSRV},
		"SSHFP":      {rrtype: dns.TypeSSHFP, build: buildSSHFP},
		"SVCB":       {rrtype: dns.TypeSVCB, build: buildSVCB},
		"TLSA":       {rrtype: dns.TypeTLSA, build: buildTLSA},
		"TXT":        {rrtype: dns.TypeTXT, build: buildTXT},
		"URI":        {rrtype: dns.TypeURI, build: buildURI},
	}
}

func typeList() string {
	names := make([]string, 0, len(types)+1)
	for k := range types {
		names = append(names, k)
	}
	names = append(names, "URLFWD")
	sort.Strings(names)
	return strings.Join(names, ", ")
}

func buildIP(o *reader, v rawValue) dns.RR {
	s, ok := o.scalar(v.typ, v.n, v.s)
	if !ok {
		return nil
	}
	a, err := netip.ParseAddr(s)
	if v.hdr.Rrtype == dns.TypeA {
		switch {
		case err == nil && a.Is4():
			return &dns.A{Hdr: v.hdr, A: net.IP(a.AsSlice())}
		case err == nil && a.Is6():
			o.valErr(v, v.pos(), "%s is an IPv6 address; it belongs in an AAAA record", quoteShort(s))
		default:
			o.valErr(v, v.pos(), "%s is not an IPv4 address", quoteShort(s))
		}
		return nil
	}
	switch {
	case err == nil && a.Is6() && a.Zone() == "":
		return &dns.AAAA{Hdr: v.hdr, AAAA: net.IP(a.AsSlice())}
	case err == nil && a.Is4():
		o.valErr(v, v.pos(), "%s is an IPv4 address; it belongs in an A record", quoteShort(s))
	default:
		o.valErr(v, v.pos(), "%s is not an IPv6 address", quoteShort(s))
	}
	return nil
}

// buildName handles the types whose value is one name: CNAME, DNAME, NS, PTR.
func buildName(o *reader, v rawValue) dns.RR {
	s, ok := o.scalar(v.typ, v.n, v.s)
	if !ok {
		return nil
	}
	t, bad := checkTarget(s, false)
	if bad != "" {
		o.valErr(v, v.pos(), "%s %s", quoteShort(s), bad)
		return nil
	}
	o.dotless(s, v.pos())
	switch v.hdr.Rrtype {
	case dns.TypeCNAME:
		return &dns.CNAME{Hdr: v.hdr, Target: t}
	case dns.TypeDNAME:
		return &dns.DNAME{Hdr: v.hdr, Target: t}
	case dns.TypeNS:
		return &dns.NS{Hdr: v.hdr, Ns: t}
	default:
		return &dns.PTR{Hdr: v.hdr, Ptr: t}
	}
}

var (
	unescapedSemicolon = regexp.MustCompile(`[A-Za-z0-9_];`)
	doubleEscapedSemi  = regexp.MustCompile(`\\\\;`)
)

// buildTXT converts a TXT or SPF value. octoDNS's internal text escapes ";"
// as "\;" and nothing else: every other byte, backslashes included, is
// literal. A value wrapped in double quotes is unwrapped and its `" "`
// joins removed, as octoDNS's _ChunkedValue.process does. The bytes are cut
// into 255-byte character-strings, as octoDNS's to_rdata_text does.
//
// The Txt strings are the exact bytes of each character-string, except
// that a backslash is doubled: miekg/dns reads a backslash in Txt as the
// start of an escape when packing, so doubling it is what makes the packed
// RR carry exactly the value's bytes (see stored).
func buildTXT(o *reader, v rawValue) dns.RR {
	s, ok := o.scalar(v.typ, v.n, v.s)
	if !ok {
		return nil
	}
	good := true
	if unescapedSemicolon.MatchString(s) {
		if v.lenient {
			// octoDNS loads it with a warning, and its providers send the
			// ";" as a literal one.
			o.probs.Warn(v.pos(), `%s value: unescaped ";" in %s read as a literal ";" (the record is lenient); write "\;"`, v.typ, quoteShort(s))
		} else {
			o.valErr(v, v.pos(), `unescaped ";" in %s; octoDNS needs "\;" (or octodns: {lenient: true} on the record)`, quoteShort(s))
			good = false
		}
	}
	if doubleEscapedSemi.MatchString(s) {
		o.valErr(v, v.pos(), `double-escaped ";" ("\\;") in %s; write "\;"`, quoteShort(s))
		good = false
	}
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			o.valErr(v, v.pos(), "non-ASCII character in %s; octoDNS allows only ASCII in %s values", quoteShort(s), v.typ)
			good = false
			break
		}
	}
	if !good {
		return nil
	}
	if len(s) > 0 && s[0] == '"' {
		if len(s) >= 2 {
			s = s[1 : len(s)-1]
		} else {
			s = ""
		}
		s = strings.ReplaceAll(s, `" "`, "")
	}
	raw := strings.ReplaceAll(s, `\;`, ";")
	chunks := txtChunks(raw)
	if v.hdr.Rrtype == dns.TypeSPF {
		return &dns.SPF{Hdr: v.hdr, Txt: chunks}
	}
	return &dns.TXT{Hdr: v.hdr, Txt: chunks}
}

// txtChunks cuts raw into 255-byte character-strings in miekg/dns's
// stored form.
func txtChunks(raw string) []string {
	if raw == "" {
		return []string{""}
	}
	var out []string
	for len(raw) > 0 {
		n := min(255, len(raw))
		out = append(out, stored(raw[:n], false))
		raw = raw[n:]
	}
	return out
}

// stored converts raw bytes to the form miekg/dns keeps in string fields
// (TXT strings, CAA value, NAPTR strings, URI target): there a backslash
// starts an escape when the RR is packed, so literal backslashes are
// doubled and packing yields exactly the raw bytes. With quotes set, '"'
// is escaped too, for NAPTR, whose String() writes its strings between
// quotes unchanged. All other bytes are kept as they are.
func stored(raw string, quotes bool) string {
	need := func(c byte) bool { return c == '\\' || (quotes && c == '"') }
	i := 0
	for i < len(raw) && !need(raw[i]) {
		i++
	}
	if i == len(raw) {
		return raw
	}
	var b strings.Builder
	b.WriteString(raw[:i])
	for ; i < len(raw); i++ {
		if need(raw[i]) {
			b.WriteByte('\\')
		}
		b.WriteByte(raw[i])
	}
	return b.String()
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// fields gives checked access to the keys of a mapping value.
type fields struct {
	o    *reader
	v    rawValue
	keys map[string]pair
	ok   bool
}

// fields checks that v is a mapping with only known keys.
func (o *reader) fields(v rawValue, known ...string) *fields {
	if v.n.Kind != yaml.MappingNode {
		if isNull(v.n) {
			o.valErr(v, v.pos(), "missing (expected a mapping with %s)", quoteList(known))
		} else {
			o.valErr(v, v.pos(), "must be a mapping with %s, got %s", quoteList(known), describe(v.n))
		}
		return nil
	}
	f := &fields{o: o, v: v, keys: map[string]pair{}, ok: true}
	for _, p := range o.mapping(v.n, v.s, v.typ+" value", true) {
		isKnown := false
		for _, k := range known {
			if k == p.k.Value {
				isKnown = true
				break
			}
		}
		if !isKnown {
			o.valErr(v, o.pos(p.k, p.s), "unknown key %q (known: %s)", p.k.Value, strings.Join(known, ", "))
			f.ok = false
			continue
		}
		f.keys[p.k.Value] = p
	}
	return f
}

func quoteList(ks []string) string {
	q := make([]string, len(ks))
	for i, k := range ks {
		q[i] = strconv.Quote(k)
	}
	return strings.Join(q, ", ")
}

func (f *fields) has(k string) bool { _, ok := f.keys[k]; return ok }

func (f *fields) fail(at diag.Pos, format string, args ...any) {
	f.o.valErr(f.v, at, format, args...)
	f.ok = false
}

// node returns field k resolved; a missing field is reported.
func (f *fields) node(k string) (*yaml.Node, *source) {
	p, ok := f.keys[k]
	if !ok {
		f.fail(f.v.pos(), "missing %q", k)
		return nil, nil
	}
	n, s, ok := f.o.resolve(p.v, p.s)
	if !ok {
		f.ok = false
		return nil, nil
	}
	return n, s
}

// uint reads field k as an integer 0..max.
func (f *fields) uint(k string, max uint64) uint64 {
	n, s := f.node(k)
	if n == nil {
		return 0
	}
	return f.uintNode(k, n, s, max)
}

func (f *fields) uintNode(k string, n *yaml.Node, s *source, max uint64) uint64 {
	v, ok := yamlInt(n)
	if !ok || v < 0 || uint64(v) > max {
		f.fail(f.o.pos(n, s), "%q must be an integer 0..%d, got %s", k, max, describe(n))
		return 0
	}
	return uint64(v)
}

// uintOr reads optional field k, def when absent.
func (f *fields) uintOr(k string, max, def uint64) uint64 {
	if !f.has(k) {
		return def
	}
	return f.uint(k, max)
}

// float reads field k as a number in [lo, hi].
func (f *fields) float(k string, lo, hi float64) float64 {
	n, s := f.node(k)
	if n == nil {
		return 0
	}
	v, ok := yamlFloat(n)
	if !ok || v < lo || v > hi {
		f.fail(f.o.pos(n, s), "%q must be a number %s..%s, got %s", k, fmtFloat(lo), fmtFloat(hi), describe(n))
		return 0
	}
	return v
}

func fmtFloat(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

// str reads field k as a string (any non-null scalar, as octoDNS str()s
// it); ok is false when it is missing or not a string (already reported).
func (f *fields) str(k string) (string, diag.Pos, bool) {
	n, s := f.node(k)
	if n == nil {
		return "", diag.Pos{}, false
	}
	at := f.o.pos(n, s)
	if n.Kind != yaml.ScalarNode || isNull(n) {
		f.fail(at, "%q must be a string, got %s", k, describe(n))
		return "", at, false
	}
	return n.Value, at, true
}

// name reads field k as a fully qualified name.
func (f *fields) name(k string, allowRoot bool) string {
	s, at, ok := f.str(k)
	if !ok {
		return ""
	}
	t, bad := checkTarget(s, allowRoot)
	if bad != "" {
		f.fail(at, "%q %s %s", k, quoteShort(s), bad)
		return ""
	}
	f.o.dotless(s, at)
	return t
}

var hexRE = regexp.MustCompile(`^([0-9A-Fa-f]{2})+$`)

// hex reads field k as hexadecimal and returns it lower case, as octoDNS
// normalizes it and as unpacking from the wire yields it.
func (f *fields) hex(k string) string {
	s, at, ok := f.str(k)
	if !ok {
		return ""
	}
	if !hexRE.MatchString(s) {
		f.fail(at, "%q must be hexadecimal (an even number of 0-9a-f digits), got %s", k, quoteShort(s))
		return ""
	}
	return strings.ToLower(s)
}

// raw reads field k as a string of raw bytes (octoDNS passes CAA, NAPTR
// and URI strings through unchanged, so a backslash is a backslash) and
// returns it in miekg/dns's stored form. max > 0 limits its length (a
// character-string holds at most 255 bytes); quotes is as for stored.
func (f *fields) raw(k string, max int, quotes bool) string {
	s, at, ok := f.str(k)
	if !ok {
		return ""
	}
	if max > 0 && len(s) > max {
		f.fail(at, "%q is %d bytes long, at most %d", k, len(s), max)
		return ""
	}
	return stored(s, quotes)
}

func buildCAA(o *reader, v rawValue) dns.RR {
	f := o.fields(v, "flags", "tag", "value")
	if f == nil {
		return nil
	}
	flags := f.uintOr("flags", 255, 0)
	tag, at, ok := f.str("tag")
	if ok && !caaTagRE.MatchString(tag) {
		f.fail(at, `"tag" must be letters and digits (e.g. issue, issuewild, iodef), got %s`, quoteShort(tag))
	}
	val := f.raw("value", 0, false)
	if !f.ok {
		return nil
	}
	return &dns.CAA{Hdr: v.hdr, Flag: uint8(flags), Tag: tag, Value: val}
}

var caaTagRE = regexp.MustCompile(`^[A-Za-z0-9]{1,255}$`)

// buildDS reads a DS value: key_tag, algorithm, digest_type, digest; or
// octoDNS's deprecated form flags, protocol, algorithm, public_key, which
// octoDNS reads as key_tag, algorithm, digest_type, digest in that order.
func buildDS(o *reader, v rawValue) dns.RR {
	if v.n.Kind == yaml.MappingNode && (mapHas(v.n, "flags") || mapHas(v.n, "public_key")) {
		f := o.fields(v, "flags", "protocol", "algorithm", "public_key")
		if f == nil {
			return nil
		}
		o.warnOnce("ds-legacy", v.pos(), `DS value uses octoDNS's deprecated keys flags, protocol, algorithm, public_key (read as key_tag, algorithm, digest_type, digest)`)
		kt := f.uint("flags", 65535)
		alg := f.uint("protocol", 255)
		dt := f.uint("algorithm", 255)
		dg := f.hex("public_key")
		if !f.ok {
			return nil
		}
		return &dns.DS{Hdr: v.hdr, KeyTag: uint16(kt), Algorithm: uint8(alg), DigestType: uint8(dt), Digest: dg}
	}
	f := o.fields(v, "key_tag", "algorithm", "digest_type", "digest")
	if f == nil {
		return nil
	}
	kt := f.uint("key_tag", 65535)
	alg := f.uint("algorithm", 255)
	dt := f.uint("digest_type", 255)
	dg := f.hex("digest")
	if !f.ok {
		return nil
	}
	return &dns.DS{Hdr: v.hdr, KeyTag: uint16(kt), Algorithm: uint8(alg), DigestType: uint8(dt), Digest: dg}
}

// mapHas reports whether mapping m has key k written directly in it.
func mapHas(m *yaml.Node, k string) bool {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Kind == yaml.ScalarNode && m.Content[i].Value == k {
			return true
		}
	}
	return false
}

func buildLOC(o *reader, v rawValue) dns.RR {
	f := o.fields(v, "lat_degrees", "lat_minutes", "lat_seconds", "lat_direction",
		"long_degrees", "long_minutes", "long_seconds", "long_direction",
		"altitude", "size", "precision_horz", "precision_vert")
	if f == nil {
		return nil
	}
	latD := f.uint("lat_degrees", 90)
	latM := f.uint("lat_minutes", 59)
	latS := f.float("lat_seconds", 0, 59.999)
	latH := f.direction("lat_direction", "N", "S")
	lonD := f.uint("long_degrees", 180)
	lonM := f.uint("long_minutes", 59)
	lonS := f.float("long_seconds", 0, 59.999)
	lonH := f.direction("long_direction", "E", "W")
	alt := f.float("altitude", -100000, 42849672.95)
	size := f.float("size", 0, 90000000)
	ph := f.float("precision_horz", 0, 90000000)
	pv := f.float("precision_vert", 0, 90000000)
	if !f.ok {
		return nil
	}
	text := fmt.Sprintf("%s %d IN LOC %d %d %s %s %d %d %s %s %sm %sm %sm %sm",
		v.hdr.Name, v.hdr.Ttl, latD, latM, fmtFloat(latS), latH, lonD, lonM, fmtFloat(lonS), lonH,
		fmtFloat(alt), fmtFloat(size), fmtFloat(ph), fmtFloat(pv))
	rr, err := dns.NewRR(text)
	if err != nil || rr == nil {
		o.valErr(v, v.pos(), "cannot be encoded: %v", err)
		return nil
	}
	return rr
}

func (f *fields) direction(k, a, b string) string {
	s, at, ok := f.str(k)
	if !ok {
		return ""
	}
	u := strings.ToUpper(s)
	if u != a && u != b {
		f.fail(at, "%q must be %s or %s, got %s", k, a, b, quoteShort(s))
		return ""
	}
	return u
}

// buildMX reads preference and exchange, or octoDNS's older priority and
// value spelling of the same fields.
func buildMX(o *reader, v rawValue) dns.RR {
	f := o.fields(v, "preference", "exchange", "priority", "value")
	if f == nil {
		return nil
	}
	pk, xk := "preference", "exchange"
	switch {
	case f.has("preference") && f.has("priority"):
		f.fail(v.pos(), `give "preference" or the older "priority", not both`)
	case f.has("priority"):
		pk = "priority"
	}
	switch {
	case f.has("exchange") && f.has("value"):
		f.fail(v.pos(), `give "exchange" or the older "value", not both`)
	case f.has("value"):
		xk = "value"
	}
	if !f.ok {
		return nil
	}
	pref := f.uint(pk, 65535)
	mx := f.name(xk, true)
	if !f.ok {
		return nil
	}
	return &dns.MX{Hdr: v.hdr, Preference: uint16(pref), Mx: mx}
}

func buildNAPTR(o *reader, v rawValue) dns.RR {
	f := o.fields(v, "order", "preference", "flags", "service", "regexp", "replacement")
	if f == nil {
		return nil
	}
	order := f.uint("order", 65535)
	pref := f.uint("preference", 65535)
	flags, at, ok := f.str("flags")
	if ok {
		switch strings.ToUpper(flags) {
		case "S", "A", "U", "P":
			flags = strings.ToUpper(flags)
		default:
			f.fail(at, `"flags" must be one of S, A, U, P, got %s`, quoteShort(flags))
		}
	}
	service := f.raw("service", 255, true)
	re := f.raw("regexp", 255, true)
	repl := f.name("replacement", true)
	if !f.ok {
		return nil
	}
	return &dns.NAPTR{Hdr: v.hdr, Order: uint16(order), Preference: uint16(pref),
		Flags: flags, Service: service, Regexp: re, Replacement: repl}
}

func buildOPENPGPKEY(o *reader, v rawValue) dns.RR {
	s, ok := o.scalar(v.typ, v.n, v.s)
	if !ok {
		return nil
	}
	clean := strings.Join(strings.Fields(s), "")
	key, err := base64.StdEncoding.DecodeString(clean)
	if err != nil || len(key) == 0 {
		o.valErr(v, v.pos(), "must be a base64 OpenPGP key, got %s", quoteShort(s))
		return nil
	}
	return &dns.OPENPGPKEY{Hdr: v.hdr, PublicKey: base64.StdEncoding.EncodeToString(key)}
}

func buildSRV(o *reader, v rawValue) dns.RR {
	f := o.fields(v, "priority", "weight", "port", "target")
	if f == nil {
		return nil
	}
	prio := f.uint("priority", 65535)
	weight := f.uint("weight", 65535)
	port := f.uint("port", 65535)
	target := f.name("target", true)
	if !f.ok {
		return nil
	}
	return &dns.SRV{Hdr: v.hdr, Priority: uint16(prio), Weight: uint16(weight), Port: uint16(port), Target: target}
}

func buildSSHFP(o *reader, v rawValue) dns.RR {
	f := o.fields(v, "algorithm", "fingerprint_type", "fingerprint")
	if f == nil {
		return nil
	}
	alg := f.uint("algorithm", 255)
	ft := f.uint("fingerprint_type", 255)
	fp := f.hex("fingerprint")
	if !f.ok {
		return nil
	}
	return &dns.SSHFP{Hdr: v.hdr, Algorithm: uint8(alg), Type: uint8(ft), FingerPrint: fp}
}

func buildTLSA(o *reader, v rawValue) dns.RR {
	f := o.fields(v, "certificate_usage", "selector", "matching_type", "certificate_association_data")
	if f == nil {
		return nil
	}
	// The ranges octoDNS accepts (RFC 6698 §2.1).
	usage := f.uint("certificate_usage", 3)
	sel := f.uint("selector", 1)
	mt := f.uint("matching_type", 2)
	data := f.hex("certificate_association_data")
	if !f.ok {
		return nil
	}
	return &dns.TLSA{Hdr: v.hdr, Usage: uint8(usage), Selector: uint8(sel), MatchingType: uint8(mt), Certificate: data}
}

func buildURI(o *reader, v rawValue) dns.RR {
	f := o.fields(v, "priority", "weight", "target")
	if f == nil {
		return nil
	}
	prio := f.uint("priority", 65535)
	weight := f.uint("weight", 65535)
	target := f.raw("target", 0, false)
	if f.ok && target == "" {
		f.fail(v.pos(), `"target" is empty`)
	}
	if !f.ok {
		return nil
	}
	return &dns.URI{Hdr: v.hdr, Priority: uint16(prio), Weight: uint16(weight), Target: target}
}

// svcParamKeys are the SvcParamKeys octoDNS knows by name (RFC 9460 §14.3.2).
var svcParamKeys = map[string]dns.SVCBKey{
	"mandatory":       dns.SVCB_MANDATORY,
	"alpn":            dns.SVCB_ALPN,
	"no-default-alpn": dns.SVCB_NO_DEFAULT_ALPN,
	"port":            dns.SVCB_PORT,
	"ipv4hint":        dns.SVCB_IPV4HINT,
	"ech":             dns.SVCB_ECHCONFIG,
	"ipv6hint":        dns.SVCB_IPV6HINT,
}

const svcKnownText = "mandatory, alpn, no-default-alpn, port, ipv4hint, ech, ipv6hint, keyNNNNN"

// svcKey maps a svcparams key ("alpn", "key65001") to its number.
func svcKey(name string) (dns.SVCBKey, string) {
	if k, ok := svcParamKeys[name]; ok {
		return k, ""
	}
	if strings.HasPrefix(name, "key") && len(name) > 3 {
		n, err := strconv.ParseUint(name[3:], 10, 16)
		if err != nil || !isDigit(name[3]) {
			return 0, fmt.Sprintf("svcparams key %q: keyNNNNN needs a number 0..65534", name)
		}
		if n == 65535 {
			return 0, fmt.Sprintf("svcparams key %q is reserved", name)
		}
		for known, k := range svcParamKeys {
			if uint64(k) == n {
				return 0, fmt.Sprintf("write svcparams key %q as %q", name, known)
			}
		}
		return dns.SVCBKey(n), ""
	}
	return 0, fmt.Sprintf("unknown svcparams key %q (known: %s)", name, svcKnownText)
}

// buildSVCB reads an SVCB or HTTPS value: svcpriority, targetname and an
// optional svcparams mapping (RFC 9460).
func buildSVCB(o *reader, v rawValue) dns.RR {
	f := o.fields(v, "svcpriority", "targetname", "svcparams")
	if f == nil {
		return nil
	}
	prio := f.uint("svcpriority", 65535)
	target := f.name("targetname", true)
	var params []dns.SVCBKeyValue
	if f.has("svcparams") {
		pn, ps := f.node("svcparams")
		switch {
		case pn == nil:
		case isNull(pn):
		case pn.Kind != yaml.MappingNode:
			f.fail(f.o.pos(pn, ps), `"svcparams" must be a mapping, got %s`, describe(pn))
		default:
			params = o.svcParams(f, pn, ps)
			if f.ok && f.has("svcpriority") && prio == 0 && len(params) > 0 {
				f.fail(f.o.pos(pn, ps), "svcparams are not allowed when svcpriority is 0 (AliasMode)")
			}
		}
	}
	if !f.ok {
		return nil
	}
	sort.Slice(params, func(i, j int) bool { return params[i].Key() < params[j].Key() })
	svcb := dns.SVCB{Hdr: v.hdr, Priority: uint16(prio), Target: target, Value: params}
	if v.hdr.Rrtype == dns.TypeHTTPS {
		return &dns.HTTPS{SVCB: svcb}
	}
	return &svcb
}

func (o *reader) svcParams(f *fields, m *yaml.Node, s *source) []dns.SVCBKeyValue {
	var out []dns.SVCBKeyValue
	have := map[dns.SVCBKey]bool{}
	var mandatory []dns.SVCBKey
	var mandatoryAt diag.Pos
	for _, p := range o.mapping(m, s, "svcparams", true) {
		name := p.k.Value
		kat := o.pos(p.k, p.s)
		key, bad := svcKey(name)
		if bad != "" {
			f.fail(kat, "%s", bad)
			continue
		}
		if have[key] {
			f.fail(kat, "svcparams key %q given twice", name)
			continue
		}
		have[key] = true
		n, ns, ok := o.resolve(p.v, p.s)
		if !ok {
			f.ok = false
			continue
		}
		at := o.pos(n, ns)
		switch key {
		case dns.SVCB_MANDATORY:
			items := f.svcList(name, n, ns)
			mandatoryAt = at
			var codes []dns.SVCBKey
			for _, it := range items {
				k, bad := svcKey(it.v.Value)
				switch {
				case bad != "":
					f.fail(o.pos(it.v, it.s), "mandatory: %s", bad)
				case k == dns.SVCB_MANDATORY:
					f.fail(o.pos(it.v, it.s), `mandatory must not list "mandatory"`)
				default:
					codes = append(codes, k)
				}
			}
			mandatory = codes
			if f.ok {
				out = append(out, &dns.SVCBMandatory{Code: codes})
			}
		case dns.SVCB_ALPN:
			var ids []string
			for _, it := range f.svcList(name, n, ns) {
				id := it.v.Value
				if id == "" || len(id) > 255 {
					f.fail(o.pos(it.v, it.s), "alpn ids must be 1..255 bytes, got %s", quoteShort(id))
					continue
				}
				ids = append(ids, id)
			}
			if f.ok {
				out = append(out, &dns.SVCBAlpn{Alpn: ids})
			}
		case dns.SVCB_NO_DEFAULT_ALPN:
			if !isNull(n) {
				f.fail(at, "no-default-alpn takes no value, got %s", describe(n))
				continue
			}
			out = append(out, &dns.SVCBNoDefaultAlpn{})
		case dns.SVCB_PORT:
			port := f.uintNode(name, n, ns, 65535)
			out = append(out, &dns.SVCBPort{Port: uint16(port)})
		case dns.SVCB_IPV4HINT, dns.SVCB_IPV6HINT:
			var ips []net.IP
			for _, it := range f.svcList(name, n, ns) {
				a, err := netip.ParseAddr(it.v.Value)
				if key == dns.SVCB_IPV4HINT && (err != nil || !a.Is4()) {
					f.fail(o.pos(it.v, it.s), "ipv4hint %s is not an IPv4 address", quoteShort(it.v.Value))
					continue
				}
				if key == dns.SVCB_IPV6HINT && (err != nil || !a.Is6() || a.Zone() != "") {
					f.fail(o.pos(it.v, it.s), "ipv6hint %s is not an IPv6 address", quoteShort(it.v.Value))
					continue
				}
				ips = append(ips, net.IP(a.AsSlice()))
			}
			if !f.ok {
				continue
			}
			if key == dns.SVCB_IPV4HINT {
				out = append(out, &dns.SVCBIPv4Hint{Hint: ips})
			} else {
				out = append(out, &dns.SVCBIPv6Hint{Hint: ips})
			}
		case dns.SVCB_ECHCONFIG:
			if n.Kind != yaml.ScalarNode || isNull(n) {
				f.fail(at, "ech must be a base64 string, got %s", describe(n))
				continue
			}
			b, err := base64.StdEncoding.DecodeString(n.Value)
			if err != nil || len(b) == 0 {
				f.fail(at, "ech must be a base64 string, got %s", quoteShort(n.Value))
				continue
			}
			out = append(out, &dns.SVCBECHConfig{ECH: b})
		default:
			var data []byte
			switch {
			case isNull(n):
			case n.Kind == yaml.ScalarNode:
				data = []byte(n.Value)
			default:
				f.fail(at, "%s must be a string or empty, got %s", name, describe(n))
				continue
			}
			out = append(out, &dns.SVCBLocal{KeyCode: key, Data: data})
		}
	}
	for _, k := range mandatory {
		if !have[k] {
			f.fail(mandatoryAt, "mandatory lists %s, which svcparams does not set", k.String())
		}
	}
	if have[dns.SVCB_NO_DEFAULT_ALPN] && !have[dns.SVCB_ALPN] {
		f.fail(o.pos(m, s), "no-default-alpn needs alpn too (RFC 9460 §7.1.1)")
	}
	return out
}

// svcList reads a svcparams value that octoDNS requires to be a list of
// strings.
func (f *fields) svcList(name string, n *yaml.Node, s *source) []item {
	if n.Kind != yaml.SequenceNode {
		f.fail(f.o.pos(n, s), "svcparams %q must be a list, got %s", name, describe(n))
		return nil
	}
	var out []item
	for _, e := range n.Content {
		ev, es, ok := f.o.resolve(e, s)
		if !ok {
			f.ok = false
			continue
		}
		if ev.Kind != yaml.ScalarNode || isNull(ev) {
			f.fail(f.o.pos(ev, es), "svcparams %q items must be strings, got %s", name, describe(ev))
			continue
		}
		out = append(out, item{ev, es})
	}
	return out
}
