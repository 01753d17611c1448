package zones

import (
	"bytes"
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
