package dns

import (
	"encoding/binary"
	"unsafe"
)

// maxCompression bounds the names remembered for compression; beyond it
// names are written in full, which is correct, only longer.
const maxCompression = 64

// compEntry remembers where a name (suffix) was written, and its
// uncompressed length, which rejects most candidates at once.
type compEntry struct {
	off  uint16
	wlen uint8
}

// msgWriter appends resource records to a message being built in a
// caller-owned buffer, compressing names (RFC 1035 §4.1.4) without maps or
// allocations, and refusing to grow past limit.
type msgWriter struct {
	buf   []byte
	off   int
	limit int
	comp  [maxCompression]compEntry
	ncomp int
}

func (w *msgWriter) reset(buf []byte, limit int) {
	if limit > len(buf) {
		limit = len(buf)
	}
	w.buf, w.off, w.limit, w.ncomp = buf, 0, limit, 0
}

// remember registers every suffix of the name written at off for
// compression.
func (w *msgWriter) remember(name []byte, off int) {
	for i := 0; i < len(name) && name[i] != 0; i += 1 + int(name[i]) {
		if off+i > 0x3FFF || w.ncomp == maxCompression {
			return
		}
		w.comp[w.ncomp] = compEntry{off: uint16(off + i), wlen: uint8(len(name) - i)}
		w.ncomp++
	}
}

// find returns the offset of a previously written name equal to suffix:
// ignoring ASCII case for owner names (which then take the question's
// case), exactly for names in RDATA, which keep the case the zone wrote
// them in (RFC 4343 §4.1).
func (w *msgWriter) find(suffix string, exact bool) (int, bool) {
	for i := 0; i < w.ncomp; i++ {
		e := w.comp[i]
		if int(e.wlen) == len(suffix) && w.equalAt(int(e.off), suffix, exact) {
			return int(e.off), true
		}
	}
	return 0, false
}

// equalAt compares the (possibly compressed) name at off in the message
// with an uncompressed name.
func (w *msgWriter) equalAt(off int, name string, exact bool) bool {
	i := 0
	for hops := 0; hops < 64; {
		l := int(w.buf[off])
		if l&0xC0 == 0xC0 {
			off = int(binary.BigEndian.Uint16(w.buf[off:]) & 0x3FFF)
			hops++
			continue
		}
		if i >= len(name) || int(name[i]) != l {
			return false
		}
		if l == 0 {
			return true
		}
		for j := 1; j <= l; j++ {
			a, b := w.buf[off+j], name[i+j]
			if a != b && (exact || lower(a) != lower(b)) {
				return false
			}
		}
		off += 1 + l
		i += 1 + l
	}
	return false
}

func lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 32
	}
	return c
}

// writeName appends a wire-form name, compressed against names already in
// the message (see find for exact).
func (w *msgWriter) writeName(name string, exact bool) bool {
	for i := 0; i < len(name); {
		l := int(name[i])
		if l == 0 {
			if w.off+1 > w.limit {
				return false
			}
			w.buf[w.off] = 0
			w.off++
			return true
		}
		if off, ok := w.find(name[i:], exact); ok {
			if w.off+2 > w.limit {
				return false
			}
			binary.BigEndian.PutUint16(w.buf[w.off:], uint16(0xC000|off))
			w.off += 2
			return true
		}
		if w.off+1+l > w.limit {
			return false
		}
		if w.off <= 0x3FFF && w.ncomp < maxCompression {
			w.comp[w.ncomp] = compEntry{off: uint16(w.off), wlen: uint8(len(name) - i)}
			w.ncomp++
		}
		w.off += copy(w.buf[w.off:], name[i:i+1+l])
		i += 1 + l
	}
	return false // not terminated by the root label
}

// writeRR appends one record. On overflow it leaves the message as it was
// and returns false.
func (w *msgWriter) writeRR(owner string, typ uint16, ttl uint32, rdata []byte) bool {
	return w.writeRRClass(owner, typ, classINET, ttl, rdata)
}

// writeRRClass is writeRR for a class other than IN (CHAOS).
func (w *msgWriter) writeRRClass(owner string, typ, class uint16, ttl uint32, rdata []byte) bool {
	start, ncomp := w.off, w.ncomp
	ok := w.writeName(owner, false) && w.off+10 <= w.limit
	if ok {
		b := w.buf[w.off:]
		binary.BigEndian.PutUint16(b, typ)
		binary.BigEndian.PutUint16(b[2:], class)
		binary.BigEndian.PutUint32(b[4:], ttl)
		w.off += 10
		rdStart := w.off
		ok = w.writeRdata(typ, rdata)
		if ok {
			binary.BigEndian.PutUint16(w.buf[rdStart-2:], uint16(w.off-rdStart))
		}
	}
	if !ok {
		w.off, w.ncomp = start, ncomp
	}
	return ok
}

// writeRdata copies RDATA, compressing the names of the RFC 1035 types
// that allow it (RFC 3597 §4 forbids it for all later types).
func (w *msgWriter) writeRdata(typ uint16, rd []byte) bool {
	switch typ {
	case typeNS, typeCNAME, typePTR:
		return w.writeName(bstr(rd), true)
	case typeMX:
		return len(rd) > 2 && w.writeBytes(rd[:2]) && w.writeName(bstr(rd[2:]), true)
	case typeSOA:
		n1 := nameLen(rd)
		if n1 <= 0 {
			return w.writeBytes(rd)
		}
		n2 := nameLen(rd[n1:])
		if n2 <= 0 {
			return w.writeBytes(rd)
		}
		return w.writeName(bstr(rd[:n1]), true) && w.writeName(bstr(rd[n1:n1+n2]), true) && w.writeBytes(rd[n1+n2:])
	}
	return w.writeBytes(rd)
}

func (w *msgWriter) writeBytes(b []byte) bool {
	if w.off+len(b) > w.limit {
		return false
	}
	w.off += copy(w.buf[w.off:], b)
	return true
}

// nameLen returns the length of the uncompressed name at the start of b.
func nameLen(b []byte) int {
	for i := 0; i < len(b); i += 1 + int(b[i]) {
		if b[i] == 0 {
			return i + 1
		}
	}
	return -1
}

// bstr views immutable bytes (zone data, or a buffer not modified while
// the view is used) as a string without copying.
func bstr(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}
