package zones

import (
	"encoding/binary"
	"hash/fnv"
)

// The hashing stage of the compiler: a digest of the zone's content,
// which decides whether a reload changed the zone (and so its serial).

// contentHash is an order-independent digest of the zone's RRs: the sum of
// two independent 64-bit FNV hashes of each (name, type, ttl, rdata). RRs are
// de-duplicated before hashing, so sums cannot cancel out.
type contentHash struct{ a, b uint64 }

func (h *contentHash) add(name string, t uint16, ttl uint32, rdata []byte) {
	var hdr [8]byte
	binary.BigEndian.PutUint16(hdr[0:], t)
	binary.BigEndian.PutUint32(hdr[2:], ttl)
	f := fnv.New64a()
	f.Write([]byte(name))
	f.Write(hdr[:6])
	f.Write(rdata)
	h.a += f.Sum64()
	g := fnv.New64()
	g.Write(rdata)
	g.Write(hdr[:6])
	g.Write([]byte(name))
	h.b += g.Sum64() * 0x9E3779B97F4A7C15
}
