package zones

import (
	"fmt"

	"github.com/miekg/dns"
)

// WireName converts a fully qualified presentation name into lower-cased
// wire form, the key of every lookup table in this package.
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

// parentOf returns the wire name with its first label removed, and false
// at the root.
func parentOf(name string) (string, bool) {
	if len(name) <= 1 {
		return "", false
	}
	return name[1+int(name[0]):], true
}

// labelStarts fills starts with the offset of each label of a wire name,
// leftmost first, and returns how many there are (the root is not counted).
func labelStarts(name string, starts *[128]int) int {
	n := 0
	for off := 0; off < len(name) && name[off] != 0 && n < len(starts); off += 1 + int(name[off]) {
		starts[n] = off
		n++
	}
	return n
}

// isBelow reports whether wire name child is at or below parent.
func isBelow(child, parent string) bool {
	if len(child) < len(parent) || child[len(child)-len(parent):] != parent {
		return false
	}
	// The suffix must start on a label boundary.
	off := 0
	for off < len(child)-len(parent) {
		off += 1 + int(child[off])
	}
	return off == len(child)-len(parent)
}
