package dns

import "encoding/binary"

// Wire constants used on the query path (RFC 1035 §4.1, RFC 6891).
const (
	headerLen = 12

	opcodeQuery = 0

	rcodeSuccess  = 0
	rcodeFormErr  = 1
	rcodeServFail = 2
	rcodeNXDomain = 3
	rcodeNotImp   = 4
	rcodeRefused  = 5
	rcodeYXDomain = 6
	rcodeBadVers  = 16 // extended, carried partly in OPT

	typeA     = 1
	typeNS    = 2
	typeCNAME = 5
	typeSOA   = 6
	typePTR   = 12
	typeMX    = 15
	typeTXT   = 16
	typeAAAA  = 28
	typeSRV   = 33
	typeDNAME = 39
	typeOPT   = 41
	typeDS    = 43
	typeIXFR  = 251
	typeAXFR  = 252
	typeMAILB = 253
	typeMAILA = 254
	typeANY   = 255

	classINET  = 1
	classCHAOS = 3
	classANY   = 255

	flagQR = 1 << 15
	flagAA = 1 << 10
	flagTC = 1 << 9
	flagRD = 1 << 8
	flagCD = 1 << 4

	minUDPSize = 512
	maxMsgSize = 65535
	optRRLen   = 11 // root name, type, class, ttl, rdlength
)

// parseStatus says what to do with a packet after parsing it.
type parseStatus uint8

const (
	parseOK      parseStatus = iota
	parseDrop                // not worth an answer (no header, or a response)
	parseFormErr             // answer FORMERR
	parseNotImp              // answer NOTIMP (opcode)
	parseBadVers             // answer BADVERS (EDNS version > 0)
)

// request is one parsed query. It lives on the stack of the serving
// goroutine; qname points into the packet.
type request struct {
	id    uint16
	flags uint16
	// qname is the question name as the client wrote it; qlow is the same,
	// lower-cased.
	qname  []byte
	qlow   [256]byte
	qlen   int
	qtype  uint16
	qclass uint16
	// qend is the offset just past the question.
	qend int
	// haveQuestion is false when the packet had no parseable question.
	haveQuestion bool

	edns    bool
	udpSize uint16
	version uint8
	do      bool

	// ecs is set when the query carried a well-formed EDNS Client Subnet
	// option (RFC 7871); ecsBad when it carried a malformed one.
	ecs       bool
	ecsBad    bool
	ecsFamily uint16
	ecsSource uint8
	ecsAddr   [16]byte // the address bytes as sent (ceil(source/8) of them), zero-padded

	// nsid is set when the query's OPT carried an NSID option (RFC 5001).
	nsid bool
}

func (r *request) opcode() int { return int(r.flags>>11) & 0xF }

// parse reads a query packet. It is strict: anything but one question and
// at most an OPT record, in the additional section (RFC 1035 §4.1, RFC 6891
// §6.1.1), is refused. The OPT is looked for even in a packet refused, so
// that every error answer to an EDNS query carries one (RFC 6891 §7), and
// its version is checked before the opcode (RFC 6891 §6.1.3).
func (r *request) parse(p []byte) parseStatus {
	if len(p) < headerLen {
		return parseDrop
	}
	r.id = binary.BigEndian.Uint16(p)
	r.flags = binary.BigEndian.Uint16(p[2:])
	if r.flags&flagQR != 0 {
		return parseDrop
	}
	qd := binary.BigEndian.Uint16(p[4:])
	an := binary.BigEndian.Uint16(p[6:])
	ns := binary.BigEndian.Uint16(p[8:])
	ar := binary.BigEndian.Uint16(p[10:])
	st := parseFormErr
	if off, ok := r.parseQuestions(p, qd); ok {
		st = r.parseRecords(p, off, an, ns, ar)
	}
	if r.opcode() != opcodeQuery {
		// The layout of other opcodes' messages is theirs (DSO puts TLVs
		// after the header, RFC 8490 §5.4): whatever did not parse, they
		// are not implemented, unless their OPT speaks a version we do not.
		if r.edns && r.version > 0 {
			return parseBadVers
		}
		return parseNotImp
	}
	if st != parseOK {
		return st
	}
	if r.edns && r.version > 0 {
		return parseBadVers
	}
	if qd != 1 || r.qtype == typeOPT {
		return parseFormErr
	}
	return parseOK
}

// parseQuestions reads the question section: the question when there is
// one, else steps over the qd questions there are (to reach the OPT of a
// query refused for their number). It returns the offset past them.
func (r *request) parseQuestions(p []byte, qd uint16) (int, bool) {
	if qd == 1 {
		end, ok := r.parseQuestion(p, headerLen)
		if ok {
			r.qend, r.haveQuestion = end, true
		}
		return end, ok
	}
	off := headerLen
	for i := 0; i < int(qd); i++ {
		var ok bool
		if off, ok = skipName(p, off); !ok || off+4 > len(p) {
			return 0, false
		}
		off += 4
	}
	return off, true
}

// parseRecords reads the records after the question, which ends at off,
// noting the OPT record. An OPT outside the additional section is FORMERR
// (RFC 6891 §6.1.1), but the records after it are still read so that an
// OPT where it belongs is echoed.
func (r *request) parseRecords(p []byte, off int, an, ns, ar uint16) parseStatus {
	st := parseOK
	// A query carries no answer or authority records; skip them if a
	// client sends some, but they must be well formed.
	for i := 0; i < int(an)+int(ns); i++ {
		var t uint16
		var ok bool
		if off, t, ok = skipRR(p, off); !ok {
			return parseFormErr
		}
		if t == typeOPT {
			st = parseFormErr
		}
	}
	for i := 0; i < int(ar); i++ {
		start := off
		var t uint16
		var ok bool
		if off, t, ok = skipRR(p, off); !ok {
			return parseFormErr
		}
		if t != typeOPT {
			continue // TSIG and others: not supported, ignored
		}
		if r.edns || p[start] != 0 { // two OPTs, or OPT not at the root (RFC 6891 §6.1.1)
			return parseFormErr
		}
		r.edns = true
		r.udpSize = binary.BigEndian.Uint16(p[start+3:])
		r.version = p[start+6]
		r.do = p[start+7]&0x80 != 0
		// The options of a version we do not speak are not ours to judge:
		// its answer is BADVERS (RFC 6891 §6.1.3).
		if r.version == 0 && !r.parseOptions(p[start+11:off]) {
			return parseFormErr
		}
	}
	if off != len(p) {
		return parseFormErr // trailing garbage
	}
	return st
}

// parseQuestion reads the question at off: an uncompressed name (a pointer
// in the first name of a message cannot point anywhere valid), type, class.
func (r *request) parseQuestion(p []byte, off int) (int, bool) {
	start := off
	for {
		if off >= len(p) {
			return 0, false
		}
		l := int(p[off])
		if l == 0 {
			off++
			break
		}
		if l&0xC0 != 0 {
			return 0, false
		}
		off += 1 + l
		if off-start > 254 {
			return 0, false
		}
	}
	if off+4 > len(p) {
		return 0, false
	}
	r.qname = p[start:off]
	r.qlen = copy(r.qlow[:], r.qname)
	lowerASCII(r.qlow[:r.qlen])
	r.qtype = binary.BigEndian.Uint16(p[off:])
	r.qclass = binary.BigEndian.Uint16(p[off+2:])
	return off + 4, true
}

// skipRR steps over one resource record, checking that it is well formed.
func skipRR(p []byte, off int) (int, uint16, bool) {
	off, ok := skipName(p, off)
	if !ok || off+10 > len(p) {
		return 0, 0, false
	}
	t := binary.BigEndian.Uint16(p[off:])
	rdlen := int(binary.BigEndian.Uint16(p[off+8:]))
	off += 10 + rdlen
	if off > len(p) {
		return 0, 0, false
	}
	return off, t, true
}

// skipName steps over a possibly compressed name.
func skipName(p []byte, off int) (int, bool) {
	n := 0
	for {
		if off >= len(p) {
			return 0, false
		}
		l := int(p[off])
		switch {
		case l == 0:
			return off + 1, true
		case l&0xC0 == 0xC0:
			if off+2 > len(p) {
				return 0, false
			}
			return off + 2, true
		case l&0xC0 != 0:
			return 0, false
		}
		off += 1 + l
		n += 1 + l
		if n > 254 {
			return 0, false
		}
	}
}

// EDNS option codes read or written.
const (
	optionNSID = 3  // RFC 5001
	optionECS  = 8  // EDNS Client Subnet, RFC 7871
	optionEDE  = 15 // Extended DNS Errors, RFC 8914
)

// parseOptions checks that EDNS options are well formed TLVs and reads the
// Client Subnet and NSID options.
func (r *request) parseOptions(b []byte) bool {
	for len(b) > 0 {
		if len(b) < 4 {
			return false
		}
		code := binary.BigEndian.Uint16(b)
		l := int(binary.BigEndian.Uint16(b[2:]))
		if len(b) < 4+l {
			return false
		}
		if code == optionNSID {
			// The query's option should be empty (RFC 5001 §2.1); one
			// that is not still asks the question.
			r.nsid = true
		}
		if code == optionECS {
			if r.ecs || r.ecsBad {
				r.ecsBad, r.ecs = true, false // two ECS options
			} else {
				r.parseECS(b[4 : 4+l])
			}
		}
		b = b[4+l:]
	}
	return true
}

// parseECS validates an ECS option as RFC 7871 §6 and §7.1.1 require:
// a known family, a source prefix within it, scope 0, exactly
// ceil(source/8) address bytes, and no bits set beyond the source prefix.
func (r *request) parseECS(o []byte) {
	r.ecsBad = true
	if len(o) < 4 {
		return
	}
	family := binary.BigEndian.Uint16(o)
	source, scope := o[2], o[3]
	addr := o[4:]
	var max uint8
	switch family {
	case 1:
		max = 32
	case 2:
		max = 128
	default:
		return
	}
	if source > max || scope != 0 || len(addr) != (int(source)+7)/8 {
		return
	}
	if rem := source % 8; rem != 0 && addr[len(addr)-1]&(0xFF>>rem) != 0 {
		return
	}
	r.ecsBad, r.ecs = false, true
	r.ecsFamily, r.ecsSource = family, source
	copy(r.ecsAddr[:], addr)
}

func lowerASCII(b []byte) {
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 32
		}
	}
}
