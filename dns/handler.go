package dns

import (
	"encoding/binary"
	"net/netip"
	"sync/atomic"
	"time"

	"github.com/smartdns/smartdns/internal/qstats"
	"github.com/smartdns/smartdns/pool"
	"github.com/smartdns/smartdns/zones"
)

// maxChain bounds how many CNAME or DNAME steps one answer follows; longer
// chains (and loops) end where the bound is reached, as NSD and Knot do.
const maxChain = 12

// Handler answers queries from the current zones.Snapshot. It is safe for
// concurrent use; the zero value serves nothing (REFUSED) until a snapshot
// is set.
type Handler struct {
	snap atomic.Pointer[zones.Snapshot]
	// MaxUDPSize is the largest UDP answer we send to an EDNS client;
	// DefaultMaxUDPSize when zero.
	MaxUDPSize int
	// NoECS ignores the EDNS Client Subnet option (config `ecs: false`):
	// dynamic answers then go by the query's source address.
	NoECS bool
	// Geo locates clients for geo rules; nil when none is configured.
	Geo pool.Locator
	// Health publishes the state dynamic answers depend on (health,
	// loads, overrides); nil counts every member up.
	Health *pool.HealthTable
	// Stats counts queries, ECS use and latency; nil counts nothing.
	Stats *qstats.Registry
	// Alias answers apex ALIASes whose target lies outside the served
	// zones (alias.resolvers); nil answers them from the zones only.
	Alias AliasResolver
	// Identity is what the server tells of itself (NSID, CHAOS TXT);
	// nil tells nothing.
	Identity *Identity
}

// Identity is what the server tells of itself when asked, held in wire
// form so that answering allocates nothing. Build it with NewIdentity.
type Identity struct {
	nsid    []byte // NSID option data (RFC 5001)
	version []byte // TXT RDATA of version.bind and version.server
	id      []byte // TXT RDATA of id.server and hostname.bind
}

// NewIdentity holds the NSID and the CHAOS TXT strings; it returns nil when
// all three are empty, and leaves out each one empty (that question is
// then not answered). Strings longer than 255 bytes are cut there: one TXT
// character-string holds no more (config refuses them before).
func NewIdentity(nsid, version, id string) *Identity {
	if nsid == "" && version == "" && id == "" {
		return nil
	}
	txt := func(s string) []byte {
		if s == "" {
			return nil
		}
		s = s[:min(len(s), 255)]
		return append([]byte{byte(len(s))}, s...)
	}
	ident := &Identity{version: txt(version), id: txt(id)}
	if nsid != "" {
		ident.nsid = []byte(nsid[:min(len(nsid), 255)])
	}
	return ident
}

// Extended DNS Error codes we send (RFC 8914 §4).
const (
	// edeNoReachableAuthority: an ALIAS target outside the zones was
	// never resolved (or its answer expired past serve_stale): the
	// resolvers that are the authority for it gave us nothing.
	edeNoReachableAuthority = 22
	// edeNotAuthoritative: the name (or class) is not one we serve.
	edeNotAuthoritative = 20
)

// AliasResolver gives the addresses of ALIAS targets outside the served
// zones. It is called on the answer path: it must not block, lock or
// allocate (package dns/alias serves from a cache refreshed aside).
type AliasResolver interface {
	// AliasAddrs returns the RDATA of name's (lower-cased wire form) A or
	// AAAA RRset and the TTL to answer with. Empty data with ok means the
	// name has none (NODATA); ok false means nothing is known (SERVFAIL).
	AliasAddrs(name string, qtype uint16) (data [][]byte, ttl uint32, ok bool)
}

// SetSnapshot publishes a new set of zones; queries in flight finish on
// the one they started with. It refuses (and returns false for) a snapshot
// whose generation is not above the one served: loads that finish out of
// order can never put an older set of zones back.
func (h *Handler) SetSnapshot(s *zones.Snapshot) bool {
	for {
		cur := h.snap.Load()
		if cur != nil && s.Generation <= cur.Generation {
			return false
		}
		if h.snap.CompareAndSwap(cur, s) {
			return true
		}
	}
}

// Snapshot returns the zones being served.
func (h *Handler) Snapshot() *zones.Snapshot { return h.snap.Load() }

// answer holds the state of one response being built.
type answer struct {
	w          msgWriter
	r          request
	h          *Handler
	from       netip.Addr // the query's source address
	snap       *zones.Snapshot
	zone       *zones.Zone // the zone the question fell in, nil if none
	tcp        bool
	rcode      int
	aa         bool
	tc         bool
	partial    bool // TC set but what was written is kept
	an, ns, ar uint16
	// authority: at most one RRset (SOA or NS).
	auth      *zones.RRset
	authOwner string
	// additional: the Extra lists of the RRsets answered.
	extras  [8][]zones.Extra
	nextras int
	// seen holds hashes of the names visited by a CNAME/DNAME chain
	// (hashes, not strings: a string pointing into this struct would
	// move it to the heap).
	seen  [maxChain + 1]uint64
	nseen int
	// scratch for names synthesized by DNAME and for lower-cased CNAME
	// targets, alternating by chain step.
	scratch [2][256]byte
	// ecs is set when the answer carries an ECS option; scope is its
	// SCOPE PREFIX-LENGTH, the widest over every dynamic pick made.
	ecs   bool
	scope int
	// state is the health, loads and overrides every dynamic pick of this
	// query reads: loaded once, at the first dynamic record, so that a
	// CNAME chain through several is answered from one state. (The clock
	// is read by the pick only while a site ramps up.)
	state     *pool.View
	haveState bool
	// nsid is the NSID option data to send, nil when none was asked for
	// or none is configured.
	nsid []byte
	// ede, when haveEDE, is the Extended DNS Error code sent (only to
	// EDNS queries, RFC 8914 §3).
	ede     uint16
	haveEDE bool
}

// ServeDNS answers the query in pkt as Serve does, for a client whose
// address is unknown (tests and tools).
func (h *Handler) ServeDNS(pkt, out []byte, tcp bool) []byte {
	return h.Serve(pkt, out, netip.Addr{}, tcp)
}

// Serve answers the query in pkt from address from, writing the response
// into out (which must be at least 512 bytes, and 65535 for TCP). It
// returns the response, a slice of out, or nil when the packet deserves no
// answer.
func (h *Handler) Serve(pkt, out []byte, from netip.Addr, tcp bool) []byte {
	// The request lives inside the answer, by value: a pointer to it in
	// the answer would send it to the heap (escape analysis does not tell
	// one field of the answer from another).
	var a answer
	r := &a.r
	st := r.parse(pkt)
	if st == parseDrop {
		return nil
	}
	a.tcp, a.h, a.from = tcp, h, from
	if r.ecsBad && !h.NoECS && st == parseOK {
		st = parseFormErr // RFC 7871 §7.1.1
	}
	a.ecs = r.ecs && !h.NoECS
	limit := minUDPSize
	if tcp {
		limit = maxMsgSize
	} else if r.edns {
		limit = int(r.udpSize)
		if limit < minUDPSize {
			limit = minUDPSize
		}
		if max := h.maxUDP(); limit > max {
			limit = max
		}
	}
	if r.edns {
		limit -= optRRLen // room for our OPT, always sent
	}
	if a.ecs {
		limit -= a.ecsLen()
	}
	if r.edns && r.nsid && h.Identity != nil && h.Identity.nsid != nil {
		a.nsid = h.Identity.nsid
		limit -= 4 + len(a.nsid) // held back like the OPT: always sent
	}
	a.w.reset(out, limit)

	switch st {
	case parseFormErr:
		a.rcode = rcodeFormErr
	case parseNotImp:
		a.rcode = rcodeNotImp
	case parseBadVers:
		a.rcode = rcodeBadVers
	default:
		a.snap = h.snap.Load()
		a.answerQuestion()
	}
	n := a.finish(h.maxUDP())
	if h.Stats != nil {
		a.count(h.Stats)
	}
	return out[:n]
}

// count adds the query to the counters.
func (a *answer) count(st *qstats.Registry) {
	c := &st.NoZone
	if a.zone != nil && a.zone.Counts != nil {
		c = a.zone.Counts
	}
	c.Add(a.r.qtype, a.rcode, a.tcp)
	r := &a.r
	switch {
	case !r.ecs && !r.ecsBad:
		st.ECS(qstats.ECSNone)
	case a.h.NoECS:
		st.ECS(qstats.ECSIgnored)
	case r.ecsBad:
		st.ECS(qstats.ECSInvalid)
	case a.scope > 0 && r.ecsSource > 0:
		st.ECS(qstats.ECSScoped)
	default:
		st.ECS(qstats.ECSUsed)
	}
}

func (h *Handler) maxUDP() int {
	if h.MaxUDPSize < minUDPSize {
		return DefaultMaxUDPSize
	}
	return h.MaxUDPSize
}

// answerQuestion fills the sections for a well-formed QUERY.
func (a *answer) answerQuestion() {
	r := &a.r
	switch {
	case r.qclass == classCHAOS:
		a.answerChaos()
		return
	case r.qclass != classINET && r.qclass != classANY:
		a.refuse()
		return
	case r.qtype == typeAXFR || r.qtype == typeIXFR:
		a.rcode = rcodeRefused // zone transfers are not offered
		return
	case r.qtype == typeMAILA || r.qtype == typeMAILB:
		a.rcode = rcodeNotImp
		return
	}
	// The question goes in first so names can point at it; its suffixes
	// are remembered for compression, which is also how owner names equal
	// to the qname keep the client's case.
	a.writeQuestion()
	name := bstr(r.qlow[:r.qlen])
	z := a.snap.Find(name)
	if z == nil {
		a.refuse()
		return
	}
	a.zone = z
	if r.qtype == typeDS && name == z.Apex {
		// DS lives on the parent side of a cut (RFC 4035 §3.1.4.1). A
		// parent without the name (no delegation) would deny the child's
		// existence with NXDOMAIN (RFC 8020); the child answers then.
		if p := a.snap.Parent(z); p != nil && p.Node(name) != nil {
			z = p
		}
	}
	a.aa = true
	a.resolve(z, name, r.qtype)
	a.writeAuthority()
	a.writeAdditional()
}

// refuse answers a question outside what we serve.
func (a *answer) refuse() {
	a.rcode = rcodeRefused
	a.setEDE(edeNotAuthoritative)
}

func (a *answer) setEDE(code uint16) { a.ede, a.haveEDE = code, true }

// CHAOS names answered from the Identity (wire form, lower case): the
// names BIND, NSD and Unbound answer, and RFC 4892 documents.
const (
	chaosVersionBind   = "\x07version\x04bind\x00"
	chaosVersionServer = "\x07version\x06server\x00"
	chaosIDServer      = "\x02id\x06server\x00"
	chaosHostnameBind  = "\x08hostname\x04bind\x00"
)

// answerChaos answers the CHAOS TXT names of the Identity; every other
// CHAOS question, and those whose string is not configured, is refused.
func (a *answer) answerChaos() {
	r := &a.r
	var txt []byte
	if id := a.h.Identity; id != nil {
		switch bstr(r.qlow[:r.qlen]) {
		case chaosVersionBind, chaosVersionServer:
			txt = id.version
		case chaosIDServer, chaosHostnameBind:
			txt = id.id
		}
	}
	if txt == nil {
		a.refuse()
		return
	}
	a.writeQuestion()
	a.aa = true
	if r.qtype != typeTXT && r.qtype != typeANY {
		return // NODATA: the name has only its TXT
	}
	if !a.w.writeRRClass(bstr(r.qlow[:r.qlen]), typeTXT, classCHAOS, 0, txt) {
		a.tc = true
		return
	}
	a.an++
}

// resolve follows name through the zones until an answer, a negative
// answer, a referral, or the end of a chain.
func (a *answer) resolve(z *zones.Zone, name string, qtype uint16) {
	for step := 0; ; step++ {
		a.seen[a.nseen] = nameHash(name)
		a.nseen++
		res := z.Lookup(name, qtype)
		switch res.Kind {
		case zones.Success:
			if a.addAnswer(name, res.Set) == nil && !a.tc {
				a.setAuth(z.Apex, z.NegSOA) // a dynamic record failing closed
			}
			return
		case zones.NoData:
			a.setAuth(z.Apex, z.NegSOA)
			return
		case zones.NameError:
			a.rcode = rcodeNXDomain
			a.setAuth(z.Apex, z.NegSOA)
			return
		case zones.Delegation:
			if step == 0 {
				a.aa = false
			}
			a.setAuth(res.Node.Name, res.Set)
			a.addExtra(res.Set.Extra)
			return
		case zones.Any:
			a.answerAny(name, res.Node)
			return
		case zones.ApexAlias:
			if exit, ok := a.snap.AliasExit(res.Node.Alias); ok && a.h.Alias != nil {
				a.answerOutside(z, name, res.Node, exit, qtype)
				return
			}
			set, _ := a.snap.ResolveAddrs(res.Node.Alias, qtype)
			if set == nil {
				a.setAuth(z.Apex, z.NegSOA)
				return
			}
			a.addAnswer(name, set)
			return
		case zones.CNAMEAlias:
			target := a.addAnswer(name, res.Set)
			if target == nil {
				if !a.tc {
					a.setAuth(z.Apex, z.NegSOA)
				}
				return
			}
			// The target keeps the zone's case on the wire; lookups
			// take the lower-cased form (RFC 4343).
			buf := &a.scratch[step%2]
			n := copy(buf[:], target)
			lowerASCII(buf[:n])
			name = bstr(buf[:n])
		case zones.DNAMERedirect:
			a.addAnswer(res.Node.Name, res.Set)
			target, ok := a.synthesize(name, res.Node.Name, res.Set.Data[0], step)
			if !ok {
				a.rcode = rcodeYXDomain // the new name is too long (RFC 6672 §2.2)
				return
			}
			if !a.w.writeRR(name, typeCNAME, res.Set.TTL, []byte(target)) {
				a.tc = true
				return
			}
			a.an++
			name = target
		}
		if a.tc || step+1 >= maxChain || a.visited(name) {
			return
		}
		if z = a.snap.Find(name); z == nil {
			return // the chain leaves the zones we serve
		}
	}
}

// answerOutside answers the apex ALIAS at node (owner name) whose target
// leads outside the served zones, to exit, with the addresses the resolver
// cache holds for exit. The TTL is the cache's, never above the ALIAS
// record's own.
func (a *answer) answerOutside(z *zones.Zone, name string, node *zones.Node, exit string, qtype uint16) {
	data, ttl, ok := a.h.Alias.AliasAddrs(exit, qtype)
	if !ok {
		a.rcode, a.aa = rcodeServFail, false
		a.setEDE(edeNoReachableAuthority)
		return
	}
	if len(data) == 0 {
		a.setAuth(z.Apex, z.NegSOA) // the apex exists, also when the target does not
		return
	}
	ttl = min(ttl, node.AliasTTL)
	for _, rd := range data {
		if !a.w.writeRR(name, qtype, ttl, rd) {
			a.tc = true
			return
		}
		a.an++
	}
}

// synthesize builds the DNAME substitution of owner by target in name.
func (a *answer) synthesize(name, owner string, target []byte, step int) (string, bool) {
	prefix := len(name) - len(owner)
	if prefix+len(target) > 255 {
		return "", false
	}
	buf := &a.scratch[step%2]
	n := copy(buf[:], name[:prefix])
	n += copy(buf[n:], target)
	lowerASCII(buf[:n])
	return bstr(buf[:n]), true
}

func (a *answer) visited(name string) bool {
	h := nameHash(name)
	for i := 0; i < a.nseen; i++ {
		if a.seen[i] == h {
			return true
		}
	}
	return false
}

// answerAny gives one RRset for ANY over UDP (RFC 8482 §4.1) and the
// whole node over TCP, where size is no amplification risk.
func (a *answer) answerAny(name string, n *zones.Node) {
	if n.CNAME != nil {
		a.addAnswer(name, n.CNAME)
		return
	}
	for i := range n.Sets {
		a.addAnswer(name, &n.Sets[i])
		if !a.tcp {
			return
		}
	}
}

// addAnswer writes the RRset (or, for a dynamic record, the values picked
// for this client) and returns the first RDATA written, nil if none.
func (a *answer) addAnswer(owner string, s *zones.RRset) []byte {
	if a.tc {
		return nil
	}
	if s.Dynamic != nil {
		return a.addDynamic(owner, s)
	}
	for _, rd := range s.Data {
		if !a.w.writeRR(owner, s.Type, s.TTL, rd) {
			a.tc = true
			return nil
		}
		a.an++
	}
	a.addExtra(s.Extra)
	return s.Data[0]
}

// addDynamic answers a dynamic record with the values its pools give this
// client, and widens the ECS scope by what the choice depended on.
func (a *answer) addDynamic(owner string, s *zones.RRset) []byte {
	if !a.haveState {
		a.state, a.haveState = a.h.Health.View(), true
	}
	var pick pool.Answer
	s.Dynamic.Pick(a.client(), a.h.Geo, a.state, time.Time{}, &pick)
	pick.Count()
	a.scope = max(a.scope, pick.Scope)
	if pick.N == 0 {
		return nil
	}
	ttl := s.Dynamic.TTLCap(a.state)
	for i := 0; i < pick.N; i++ {
		if !a.w.writeRR(owner, s.Type, ttl, pick.Values[i].Rdata) {
			a.tc = true
			return nil
		}
		a.an++
	}
	return pick.Values[0].Rdata
}

// client is who the answer is for: the ECS address when the query had
// one (and ECS is on), else the query's source address (RFC 7871 §7.1.2:
// a SOURCE PREFIX-LENGTH of 0 means the same).
func (a *answer) client() pool.Client {
	r := &a.r
	if a.ecs && r.ecsSource > 0 {
		if r.ecsFamily == 1 {
			return pool.Client{Addr: netip.AddrFrom4([4]byte(r.ecsAddr[:4])), Bits: int(r.ecsSource)}
		}
		addr := netip.AddrFrom16(r.ecsAddr)
		if addr.Is4In6() {
			return pool.Client{Addr: addr.Unmap(), Bits: max(0, int(r.ecsSource)-96)}
		}
		return pool.Client{Addr: addr, Bits: int(r.ecsSource)}
	}
	addr := a.from.Unmap()
	return pool.Client{Addr: addr, Bits: addr.BitLen()}
}

// ecsLen is the size of the ECS option we echo.
func (a *answer) ecsLen() int { return 4 + 4 + (int(a.r.ecsSource)+7)/8 }

func (a *answer) addExtra(e []zones.Extra) {
	if len(e) > 0 && a.nextras < len(a.extras) {
		a.extras[a.nextras] = e
		a.nextras++
	}
}

func (a *answer) setAuth(owner string, s *zones.RRset) { a.authOwner, a.auth = owner, s }

func (a *answer) writeAuthority() {
	if a.tc || a.auth == nil {
		return
	}
	for _, rd := range a.auth.Data {
		if !a.w.writeRR(a.authOwner, a.auth.Type, a.auth.TTL, rd) {
			a.tc = true
			return
		}
		a.ns++
	}
}

// writeAdditional adds addresses for the targets of what was answered.
// Glue that does not fit truncates the answer (RFC 9471); other additional
// data is simply left out.
func (a *answer) writeAdditional() {
	if a.tc {
		return
	}
	for i := 0; i < a.nextras; i++ {
		for j, e := range a.extras[i] {
			if a.extraSeen(i, j) {
				continue // this name's addresses are already in
			}
			for _, s := range e.Sets {
				for _, rd := range s.Data {
					if !a.w.writeRR(e.Name, s.Type, s.TTL, rd) {
						if e.Glue {
							a.tc, a.partial = true, true // keep the partial referral
						}
						return
					}
					a.ar++
				}
			}
		}
	}
}

// extraSeen reports whether extras[i][j] names a host whose addresses an
// earlier entry already added: two MX or SRV records, or an NS and an MX,
// naming the same host must not repeat its records (RFC 2181 §5).
func (a *answer) extraSeen(i, j int) bool {
	name := a.extras[i][j].Name
	for k := 0; k <= i; k++ {
		l := a.extras[k]
		if k == i {
			l = l[:j]
		}
		for _, e := range l {
			if e.Name == name {
				return true
			}
		}
	}
	return false
}

// writeQuestion copies the question as the client sent it.
func (a *answer) writeQuestion() {
	r := &a.r
	a.w.off = headerLen
	q := r.qname
	n := copy(a.w.buf[headerLen:], q)
	binary.BigEndian.PutUint16(a.w.buf[headerLen+n:], r.qtype)
	binary.BigEndian.PutUint16(a.w.buf[headerLen+n+2:], r.qclass)
	a.w.off = headerLen + n + 4
	a.w.remember(q, headerLen)
}

// finish writes the header and the OPT record and returns the message
// length. (It returns a length, not a slice, so that the request does not
// escape to the heap through the result.)
func (a *answer) finish(maxUDP int) int {
	r := &a.r
	w := &a.w
	if w.off < headerLen { // no question written yet (errors)
		w.off = headerLen
		if r.haveQuestion {
			a.writeQuestion()
		}
	}
	qd := uint16(0)
	if w.off > headerLen {
		qd = 1
	}
	if a.tc && !a.partial {
		// The answer does not fit: send the question alone with TC so the
		// client retries over TCP (RFC 2181 §9).
		w.off = r.qend
		if !r.haveQuestion {
			w.off = headerLen
		}
		a.an, a.ns, a.ar = 0, 0, 0
	}
	b := w.buf
	binary.BigEndian.PutUint16(b, r.id)
	flags := uint16(flagQR) | r.flags&(0xF<<11) | r.flags&(flagRD|flagCD) | uint16(a.rcode&0xF)
	if a.aa {
		flags |= flagAA
	}
	if a.tc {
		flags |= flagTC
	}
	binary.BigEndian.PutUint16(b[2:], flags)
	binary.BigEndian.PutUint16(b[4:], qd)
	binary.BigEndian.PutUint16(b[6:], a.an)
	binary.BigEndian.PutUint16(b[8:], a.ns)
	ar := a.ar
	if r.edns {
		// The OPT's room was held back from the limit.
		o := b[w.off:]
		o[0] = 0
		binary.BigEndian.PutUint16(o[1:], typeOPT)
		binary.BigEndian.PutUint16(o[3:], uint16(maxUDP))
		o[5] = byte(a.rcode >> 4) // extended RCODE, upper 8 bits
		o[6] = 0                  // version
		o[7], o[8] = 0, 0
		if r.do {
			o[7] = 0x80 // DO is copied (RFC 3225 §3)
		}
		optStart := w.off
		w.off += optRRLen
		if a.ecs {
			// Echo the client's subnet with our scope (RFC 7871 §7.2.1).
			n := a.ecsLen()
			e := b[w.off:]
			binary.BigEndian.PutUint16(e, optionECS)
			binary.BigEndian.PutUint16(e[2:], uint16(n-4))
			binary.BigEndian.PutUint16(e[4:], r.ecsFamily)
			e[6] = r.ecsSource
			scope := a.scope
			if r.ecsSource == 0 || a.rcode != rcodeSuccess && a.rcode != rcodeNXDomain {
				scope = 0
			}
			if scope > 0 && r.ecsFamily == 2 && netip.AddrFrom16(r.ecsAddr).Is4In6() {
				scope += 96 // decided on the IPv4 address; say it in the option's family
			}
			e[7] = byte(min(scope, 128))
			copy(e[8:n], r.ecsAddr[:n-8])
			w.off += n
		}
		if a.nsid != nil {
			e := b[w.off:]
			binary.BigEndian.PutUint16(e, optionNSID)
			binary.BigEndian.PutUint16(e[2:], uint16(len(a.nsid)))
			w.off += 4 + copy(e[4:], a.nsid)
		}
		// The EDE's room was not held back (errors leave plenty): it goes
		// in when it fits. The OPT and options before it took exactly the
		// room held back, so what is left is w.limit - optStart.
		if a.haveEDE && optStart+edeLen <= w.limit {
			e := b[w.off:]
			binary.BigEndian.PutUint16(e, optionEDE)
			binary.BigEndian.PutUint16(e[2:], 2)
			binary.BigEndian.PutUint16(e[4:], a.ede)
			w.off += edeLen
		}
		binary.BigEndian.PutUint16(o[9:], uint16(w.off-optStart-optRRLen))
		ar++
	}
	binary.BigEndian.PutUint16(b[10:], ar)
	return w.off
}

// edeLen is the size of an Extended DNS Error option without EXTRA-TEXT.
const edeLen = 4 + 2

// nameHash is FNV-1a over a lower-cased wire name.
func nameHash(name string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(name); i++ {
		h ^= uint64(name[i])
		h *= 1099511628211
	}
	return h
}
