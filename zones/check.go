package zones

import (
	"bytes"
	"encoding/base32"
	"fmt"
	"strings"

	"github.com/miekg/dns"
	"github.com/smartdns/smartdns/internal/diag"
	"github.com/smartdns/smartdns/zones/zonefile"
)

// The checking stage of the compiler: the rules that involve several
// RRsets (CNAME beside other data, names out of the zone, ...) and RDATA
// an RFC defines as malformed.

// check applies the rules that involve several RRsets.
func (z *Zone) check(probs *diag.Problems, recs []zonefile.Record) {
	// Positions are looked up only when there is something to report.
	at := func(n *Node) diag.Pos {
		name := zonefile.PresentName(n.Name)
		for _, r := range recs {
			if strings.EqualFold(r.Name, name) {
				return r.Pos
			}
		}
		return diag.Pos{File: z.File}
	}
	for _, n := range z.nodes {
		var cname, dname, ns bool
		others := 0
		for i := range n.Sets {
			switch n.Sets[i].Type {
			case dns.TypeCNAME:
				cname = true
			case dns.TypeDNAME:
				dname = true
				others++
			case dns.TypeNS:
				ns = true
				others++
			case dns.TypeRRSIG, dns.TypeNSEC:
			default:
				others++
			}
		}
		if n.Alias != "" {
			others++
		}
		if cname && n.Name == z.Apex {
			*probs = append(*probs, &diag.Problem{Pos: at(n), Msg: "a CNAME is not allowed at the zone apex (RFC 1912 §2.4); use ALIAS"})
		} else if cname && others > 0 {
			*probs = append(*probs, &diag.Problem{Pos: at(n), Msg: zonefile.PresentName(n.Name) + ": a CNAME cannot coexist with other data at the same name (RFC 1034 §3.6.2)"})
		}
		if ns && n.Name != z.Apex {
			n.Cut = true
			z.hasCuts = true
		}
		if !ns && n.Name != z.Apex && n.Set(dns.TypeDS) != nil {
			*probs = append(*probs, &diag.Problem{Pos: at(n), Msg: zonefile.PresentName(n.Name) + ": a DS without NS records: a DS belongs at a delegation (RFC 4035 §2.4)"})
		}
		if dname {
			n.DNAME = true
			z.hasCuts = true
		}
		if cname {
			n.CNAME = n.Set(dns.TypeCNAME)
		}
	}
	// Data below a cut or DNAME is occluded: legal (glue) but not served
	// authoritatively. Warn about what is not address glue.
	if z.hasCuts {
		for _, n := range z.nodes {
			if n.Name == z.Apex {
				continue
			}
			// The apex itself occludes only by a DNAME (RFC 6672 §2.3).
			for p, ok := parentOf(n.Name); ok && len(p) >= len(z.Apex); p, ok = parentOf(p) {
				a := z.nodes[p]
				if a == nil || !(a.Cut || a.DNAME) {
					continue
				}
				for i := range n.Sets {
					t := n.Sets[i].Type
					if a.Cut && (t == dns.TypeA || t == dns.TypeAAAA) {
						continue
					}
					*probs = append(*probs, &diag.Problem{Pos: at(n), Warning: true, Msg: zonefile.PresentName(n.Name) + " " + zonefile.TypeName(t) + " is below the delegation or DNAME at " + zonefile.PresentName(p) + " and will not be served"})
				}
				break
			}
		}
	}
}

// sameRdata reports whether two RDATA of type t are the same RR: names
// compare without regard to ASCII case (RFC 4343 §3), the rest exactly.
// Only the types whose rdata is a name after a fixed-size prefix are
// folded; for the others a case difference keeps both.
func sameRdata(t uint16, a, b []byte) bool {
	if len(a) != len(b) {
		return false
	}
	fold := -1 // where the name starts
	switch t {
	case dns.TypeNS, dns.TypeCNAME, dns.TypePTR, dns.TypeDNAME:
		fold = 0
	case dns.TypeMX:
		fold = 2
	case dns.TypeSRV:
		fold = 6
	}
	if fold < 0 || fold > len(a) {
		return bytes.Equal(a, b)
	}
	if !bytes.Equal(a[:fold], b[:fold]) {
		return false
	}
	for i := fold; i < len(a); i++ {
		if x, y := a[i], b[i]; x != y && lowerASCII(x) != lowerASCII(y) {
			return false
		}
	}
	return true
}

func lowerASCII(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// malformed says what is wrong with RDATA its RFC defines as malformed
// where that is cheap to see, "" if nothing: digests and fingerprints
// whose length does not match their type, CAA tags that are not tags.
func malformed(rr dns.RR) string {
	digest := func(what string, t uint8, hexLen int, lens map[uint8]int, rfc string) string {
		want, ok := lens[t]
		if !ok || hexLen == 2*want {
			return ""
		}
		return fmt.Sprintf("%s type %d needs %d bytes, got %s (%s)", what, t, want, halfLen(hexLen), rfc)
	}
	switch v := rr.(type) {
	case *dns.SSHFP:
		return digest("fingerprint", v.Type, len(v.FingerPrint), map[uint8]int{1: 20, 2: 32}, "RFC 4255 §3.1, RFC 6594 §3")
	case *dns.DS:
		return digest("digest", v.DigestType, len(v.Digest), dsDigestLens, "RFC 4034 §5.1.4, RFC 4509, RFC 6605")
	case *dns.CDS:
		return digest("digest", v.DigestType, len(v.Digest), dsDigestLens, "RFC 4034 §5.1.4, RFC 4509, RFC 6605")
	case *dns.TLSA:
		return digest("matching", v.MatchingType, len(v.Certificate), tlsaLens, "RFC 6698 §2.1.3")
	case *dns.SMIMEA:
		return digest("matching", v.MatchingType, len(v.Certificate), tlsaLens, "RFC 8162 §2")
	case *dns.NSEC3:
		return nsec3Hashes(v)
	case *dns.SVCB:
		return svcbParams(v.Hdr.Name, v.Priority, v.Value)
	case *dns.HTTPS:
		return svcbParams(v.Hdr.Name, v.Priority, v.Value)
	case *dns.CAA:
		if v.Tag == "" {
			return "the tag is empty (RFC 8659 §4.1)"
		}
		for i := 0; i < len(v.Tag); i++ {
			c := v.Tag[i]
			if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9') {
				return fmt.Sprintf("tag %q may hold only letters and digits (RFC 8659 §4.1)", v.Tag)
			}
		}
	}
	return ""
}

var (
	dsDigestLens = map[uint8]int{dns.SHA1: 20, dns.SHA256: 32, dns.GOST94: 32, dns.SHA384: 48}
	tlsaLens     = map[uint8]int{1: 32, 2: 64}
)

// halfLen describes hexLen hexadecimal digits as bytes.
func halfLen(hexLen int) string {
	if hexLen%2 == 1 {
		return fmt.Sprintf("%d hexadecimal digits", hexLen)
	}
	return fmt.Sprintf("%d", hexLen/2)
}

// svcbParams checks what RFC 9460 and RFC 9461 require of an SVCB or
// HTTPS RR beyond its syntax, as named-checkzone does: no SvcParams in
// AliasMode, mandatory naming only keys that are present, and, at a
// DNS server's name (_dns, _<port>._dns), an alpn, with a dohpath when
// the alpn offers DNS over HTTP.
func svcbParams(owner string, priority uint16, params []dns.SVCBKeyValue) string {
	if priority == 0 && len(params) > 0 {
		return "SvcParams in AliasMode (priority 0) are not allowed (RFC 9460 §2.4.2)"
	}
	present := map[dns.SVCBKey]bool{}
	var alpn []string
	hasDoHPath := false
	for _, p := range params {
		present[p.Key()] = true
		switch v := p.(type) {
		case *dns.SVCBAlpn:
			alpn = v.Alpn
		case *dns.SVCBDoHPath:
			hasDoHPath = true
		}
	}
	for _, p := range params {
		m, ok := p.(*dns.SVCBMandatory)
		if !ok {
			continue
		}
		for _, k := range m.Code {
			switch {
			case k == dns.SVCB_MANDATORY:
				return "mandatory may not list mandatory itself (RFC 9460 §8)"
			case !present[k]:
				return fmt.Sprintf("mandatory lists %s, which the record does not set (RFC 9460 §8)", k)
			}
		}
	}
	labels := dns.SplitDomainName(owner)
	dnsName := len(labels) > 0 && strings.EqualFold(labels[0], "_dns") ||
		len(labels) > 1 && strings.HasPrefix(labels[0], "_") && strings.EqualFold(labels[1], "_dns")
	if !dnsName || priority == 0 {
		return ""
	}
	if alpn == nil {
		return "an SVCB record for a DNS server needs an alpn (RFC 9461 §4.1)"
	}
	for _, ids := range alpn {
		// An id holding an escaped comma is split too, as BIND splits it.
		for _, id := range strings.Split(ids, ",") {
			if (id == "h2" || id == "h3" || strings.HasPrefix(id, "http/") || strings.HasPrefix(id, "h3-")) && !hasDoHPath {
				return fmt.Sprintf("alpn %s is DNS over HTTPS, which needs a dohpath (RFC 9461 §5)", id)
			}
		}
	}
	return ""
}

// checkDNSSECApex checks the apex's CDS and CDNSKEY against its DNSKEYs:
// each must match one (RFC 7344 §4.1; named-checkzone refuses the zone
// otherwise), but for the delete forms of RFC 8078 §4, and but when the
// file has no DNSKEY at all. It runs before
// the records are encoded (the compiler drops their RRs then).
func checkDNSSECApex(probs *diag.Problems, apex string, recs []zonefile.Record) {
	var keys []*dns.DNSKEY
	for i := range recs {
		if recs[i].Type == dns.TypeDNSKEY && strings.EqualFold(recs[i].Name, apex) {
			for _, rr := range recs[i].RRs {
				if k, ok := rr.(*dns.DNSKEY); ok {
					keys = append(keys, k)
				}
			}
		}
	}
	if len(keys) == 0 {
		// No keys in the file: the zone is signed downstream (a signer
		// fed by zone transfer adds them), and its CDS speak of those.
		return
	}
	for i := range recs {
		r := &recs[i]
		if r.Type != dns.TypeCDS && r.Type != dns.TypeCDNSKEY {
			continue
		}
		if !strings.EqualFold(r.Name, apex) {
			continue // only the apex's speak for the zone's keys
		}
		for _, rr := range r.RRs {
			if msg := childKeyMatches(rr, keys); msg != "" {
				probs.Add(r.Pos, "%s %s: %s", r.Name, zonefile.TypeName(r.Type), msg)
			}
		}
	}
}

// childKeyMatches says what is wrong with one CDS or CDNSKEY, "" if it
// matches a DNSKEY of keys (or is a delete request).
func childKeyMatches(rr dns.RR, keys []*dns.DNSKEY) string {
	switch v := rr.(type) {
	case *dns.CDS:
		if v.KeyTag == 0 && v.Algorithm == 0 && v.DigestType == 0 {
			return "" // delete the DS RRset (RFC 8078 §4)
		}
		for _, k := range keys {
			if ds := k.ToDS(v.DigestType); ds != nil && ds.KeyTag == v.KeyTag && ds.Algorithm == v.Algorithm && strings.EqualFold(ds.Digest, v.Digest) {
				return ""
			}
		}
		return fmt.Sprintf("%d %d %d matches no DNSKEY of the zone (RFC 7344 §4.1)", v.KeyTag, v.Algorithm, v.DigestType)
	case *dns.CDNSKEY:
		if v.Algorithm == 0 {
			return "" // delete the DS RRset (RFC 8078 §4)
		}
		for _, k := range keys {
			if k.Flags == v.Flags && k.Protocol == v.Protocol && k.Algorithm == v.Algorithm && strings.ReplaceAll(k.PublicKey, " ", "") == strings.ReplaceAll(v.PublicKey, " ", "") {
				return ""
			}
		}
		return fmt.Sprintf("%d %d %d (key tag %d) matches no DNSKEY of the zone (RFC 7344 §4.1)", v.Flags, v.Protocol, v.Algorithm, v.KeyTag())
	}
	return ""
}

// nsec3Hashes checks the two hashes of an NSEC3 (RFC 5155 §3.3): the
// owner's first label and the next hashed owner, in base32hex without
// padding, of one length.
func nsec3Hashes(v *dns.NSEC3) string {
	owner := dns.SplitDomainName(v.Hdr.Name)
	if len(owner) == 0 {
		return "the owner has no hash label (RFC 5155 §3.3)"
	}
	o, err := base32.HexEncoding.WithPadding(base32.NoPadding).DecodeString(strings.ToUpper(owner[0]))
	if err != nil || len(o) == 0 {
		return fmt.Sprintf("owner label %q is not a hash in base32hex without padding (RFC 5155 §3.3)", owner[0])
	}
	n, err := base32.HexEncoding.WithPadding(base32.NoPadding).DecodeString(strings.ToUpper(v.NextDomain))
	if err != nil || len(n) == 0 {
		return fmt.Sprintf("next hashed owner %q is not a hash in base32hex without padding (RFC 5155 §3.3)", v.NextDomain)
	}
	if len(n) != len(o) {
		return fmt.Sprintf("the next hashed owner is %d bytes, the owner's hash %d (RFC 5155 §3.3)", len(n), len(o))
	}
	return ""
}
