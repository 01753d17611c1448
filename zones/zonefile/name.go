package zonefile

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/miekg/dns"
)

// WireName converts a fully qualified presentation name into lower-cased
// wire form, the key of every lookup table of the compiled zones.
func WireName(fqdn string) (string, error) {
	var buf [256]byte
	n, err := dns.PackDomainName(dns.Fqdn(fqdn), buf[:], 0, nil, false)
	if err != nil {
		return "", fmt.Errorf("name %q: %w", fqdn, err)
	}
	LowerWire(buf[:n])
	return string(buf[:n]), nil
}

// LowerWire lower-cases ASCII letters of a wire-form name in place. DNS
// names compare case-insensitively for ASCII only (RFC 4343).
func LowerWire(b []byte) {
	for i := 0; i < len(b); i++ {
		if c := b[i]; 'A' <= c && c <= 'Z' {
			b[i] = c + 32
		}
	}
}

// PresentName turns a wire-form name back into text, for logs and errors.
func PresentName(wire string) string {
	s, _, err := dns.UnpackDomainName([]byte(wire), 0)
	if err != nil {
		return fmt.Sprintf("%q", wire)
	}
	return s
}

// TypeName is a type's mnemonic as problems, logs and the answer tally's
// keys write it: A, ALIAS, TYPE65280.
func TypeName(t uint16) string {
	if t == TypeALIAS {
		return "ALIAS"
	}
	if s, ok := dns.TypeToString[t]; ok {
		return s
	}
	return "TYPE" + strings.TrimPrefix(dns.Type(t).String(), "TYPE")
}

// Rdata packs an RR's RDATA in wire form, names uncompressed and in the
// case they were written in (RFC 4343 §4.1: whoever looks a target up
// lower-cases it). buf is scratch space of at least 64 KiB; the result is
// a new slice.
func Rdata(rr dns.RR, buf []byte) ([]byte, error) {
	h := rr.Header()
	saved := h.Name
	h.Name = "."
	off, err := dns.PackRR(rr, buf, 0, nil, false)
	h.Name = saved
	if err != nil {
		return nil, err
	}
	// root name (1) + type, class, ttl, rdlength (10)
	return append([]byte(nil), buf[11:off]...), nil
}

// ValueText is the presentation form of an A, AAAA or CNAME RDATA: how
// dynamic records' values are written, keyed and shown.
func ValueText(t uint16, rd []byte) string {
	switch {
	case t == dns.TypeA && len(rd) == 4:
		return netip.AddrFrom4([4]byte(rd)).String()
	case t == dns.TypeAAAA && len(rd) == 16:
		return netip.AddrFrom16([16]byte(rd)).String()
	}
	return PresentName(string(rd))
}
