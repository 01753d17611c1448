package masterfile

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"net/netip"
	"strconv"
	"strings"

	"github.com/miekg/dns"
)

// encodeMore encodes the rdata of the types BIND's own all-types test
// zone (bin/tests/system/genzone.sh) holds and miekg/dns cannot read, or
// reads more narrowly than BIND: each as its RFC or registration lays it
// out, so that such a zone loads here as it loads in BIND.
func encodeMore(name string, typ token, rd []token, origin string) ([]byte, *rdataError) {
	switch name {
	case "ATMA":
		return encodeATMA(typ, rd)
	case "NAPTR":
		return encodeNAPTR(typ, rd, origin)
	case "A6":
		return encodeA6(typ, rd, origin)
	case "SINK":
		// meaning coding subcoding data (base64, possibly none)
		if len(rd) < 3 {
			return nil, fieldErr(typ, "SINK takes a meaning, a coding, a subcoding and base64 data")
		}
		out, err := uints(rd[:3], 8)
		if err != nil {
			return nil, err
		}
		data, err := base64Tokens(rd[3:])
		return append(out, data...), err
	case "DSYNC":
		return encodeDSYNC(typ, rd, origin)
	case "HHIT", "BRID":
		if len(rd) == 0 {
			return nil, fieldErr(typ, "%s takes base64 data", name)
		}
		return base64Tokens(rd)
	case "URI":
		// priority weight target; the target is the rest of the rdata, not
		// a length-prefixed string (RFC 7553 §4.5), and may be empty.
		if len(rd) != 3 {
			return nil, fieldErr(typ, "URI takes a priority, a weight and a quoted target (RFC 7553 §4.4)")
		}
		out, err := uints(rd[:2], 16)
		if err != nil {
			return nil, err
		}
		target, err := unescape(rd[2])
		return append(out, target...), err
	case "DOA":
		// enterprise type location media-type data (base64, or "-"/"" for none)
		if len(rd) < 4 {
			return nil, fieldErr(typ, "DOA takes an enterprise, a type, a location, a media type and base64 data")
		}
		out, err := uints(rd[:2], 32)
		if err != nil {
			return nil, err
		}
		loc, err := uints(rd[2:3], 8)
		if err != nil {
			return nil, err
		}
		out = append(out, loc...)
		media, err := charString(rd[3])
		if err != nil {
			return nil, err
		}
		out = append(append(out, byte(len(media))), media...)
		rest := rd[4:]
		if len(rest) == 1 && (rest[0].text == "-" || rest[0].quoted && rest[0].text == "") {
			rest = nil
		}
		data, err := base64Tokens(rest)
		return append(out, data...), err
	}
	return nil, fieldErr(typ, "internal: no encoder for %s", name)
}

// uints encodes each token as an unsigned integer of bits bits.
func uints(ts []token, bits int) ([]byte, *rdataError) {
	var out []byte
	for _, t := range ts {
		v, err := strconv.ParseUint(t.text, 10, bits)
		if err != nil || t.quoted {
			return nil, fieldErr(t, "field %q: want an integer 0..%d", t.text, uint64(1)<<bits-1)
		}
		switch bits {
		case 8:
			out = append(out, byte(v))
		case 16:
			out = binary.BigEndian.AppendUint16(out, uint16(v))
		case 32:
			out = binary.BigEndian.AppendUint32(out, uint32(v))
		}
	}
	return out, nil
}

// base64Tokens decodes base64 split over tokens (white space between them
// is not data).
func base64Tokens(ts []token) ([]byte, *rdataError) {
	if len(ts) == 0 {
		return nil, nil
	}
	var b strings.Builder
	for _, t := range ts {
		b.WriteString(t.text)
	}
	out, err := base64.StdEncoding.DecodeString(b.String())
	if err != nil {
		return nil, fieldErr(ts[0], "bad base64 data: %v", err)
	}
	return out, nil
}

// wireName encodes a domain name in uncompressed wire form, relative names
// completed with origin.
func wireName(t token, origin string) ([]byte, *rdataError) {
	abs, ok := absName(t.text, origin)
	if !ok {
		return nil, fieldErr(t, "name %q is not a domain name", t.text)
	}
	buf := make([]byte, 256)
	n, err := dns.PackDomainName(abs, buf, 0, nil, false)
	if err != nil {
		return nil, fieldErr(t, "name %q: %v", t.text, err)
	}
	return buf[:n], nil
}

// encodeATMA: an E.164 number ("+" and digits, dots allowed between them:
// format 1) or an ATM End System Address (hexadecimal digits, dots
// allowed: format 0).
func encodeATMA(typ token, rd []token) ([]byte, *rdataError) {
	if len(rd) != 1 {
		return nil, fieldErr(typ, "ATMA takes one address: +E.164 digits or hexadecimal digits")
	}
	s := rd[0].text
	if digits, ok := strings.CutPrefix(s, "+"); ok {
		digits = strings.ReplaceAll(digits, ".", "")
		if digits == "" || strings.Trim(digits, "0123456789") != "" {
			return nil, fieldErr(rd[0], "ATMA E.164 address %q: want + and decimal digits", s)
		}
		return append([]byte{1}, digits...), nil
	}
	h := strings.ReplaceAll(s, ".", "")
	b, err := hex.DecodeString(h)
	if err != nil || len(b) == 0 {
		return nil, fieldErr(rd[0], "ATMA address %q: want an even number of hexadecimal digits, dots allowed between them", s)
	}
	return append([]byte{0}, b...), nil
}

// encodeNAPTR: order preference flags services regexp replacement, the
// three strings quoted or not (RFC 3403 §4.1, as BIND reads them).
func encodeNAPTR(typ token, rd []token, origin string) ([]byte, *rdataError) {
	if len(rd) != 6 {
		return nil, fieldErr(typ, "NAPTR takes order, preference, flags, services, regexp and replacement (RFC 3403 §4.1)")
	}
	out, err := uints(rd[:2], 16)
	if err != nil {
		return nil, err
	}
	for _, t := range rd[2:5] {
		s, err := charString(t)
		if err != nil {
			return nil, err
		}
		out = append(append(out, byte(len(s))), s...)
	}
	repl, err := wireName(rd[5], origin)
	return append(out, repl...), err
}

// encodeA6: prefix length, the address suffix (absent at 128), the prefix
// name (absent at 0) (RFC 2874 §3.1).
func encodeA6(typ token, rd []token, origin string) ([]byte, *rdataError) {
	if len(rd) == 0 {
		return nil, fieldErr(typ, "A6 takes a prefix length, an address suffix and a prefix name (RFC 2874 §3.1)")
	}
	p, perr := strconv.ParseUint(rd[0].text, 10, 8)
	if perr != nil || p > 128 {
		return nil, fieldErr(rd[0], "A6 prefix length %q: want 0..128", rd[0].text)
	}
	want := 1
	if p < 128 {
		want++
	}
	if p > 0 {
		want++
	}
	if len(rd) != want {
		return nil, fieldErr(typ, "A6 with prefix length %d takes %d fields", p, want)
	}
	out := []byte{byte(p)}
	i := 1
	if p < 128 {
		a, err := netip.ParseAddr(rd[1].text)
		if err != nil || !a.Is6() {
			return nil, fieldErr(rd[1], "A6 address suffix %q: want an IPv6 address", rd[1].text)
		}
		b := a.As16()
		n := (128 - int(p) + 7) / 8
		out = append(out, b[16-n:]...)
		i++
	}
	if p > 0 {
		name, err := wireName(rd[i], origin)
		if err != nil {
			return nil, err
		}
		out = append(out, name...)
	}
	return out, nil
}

// dsyncSchemes are the DSYNC scheme mnemonics (RFC 9859 §4.2).
var dsyncSchemes = map[string]uint8{"NOTIFY": 1}

// encodeDSYNC: rrtype scheme port target (RFC 9859 §2.1).
func encodeDSYNC(typ token, rd []token, origin string) ([]byte, *rdataError) {
	if len(rd) != 4 {
		return nil, fieldErr(typ, "DSYNC takes a type, a scheme, a port and a target (RFC 9859 §2.1)")
	}
	t, ok := dns.StringToType[strings.ToUpper(rd[0].text)]
	if !ok {
		n, err := strconv.ParseUint(strings.TrimPrefix(strings.ToUpper(rd[0].text), "TYPE"), 10, 16)
		if err != nil {
			return nil, fieldErr(rd[0], "DSYNC type %q: want a type such as CDS or CSYNC", rd[0].text)
		}
		t = uint16(n)
	}
	out := binary.BigEndian.AppendUint16(nil, t)
	scheme, ok := dsyncSchemes[strings.ToUpper(rd[1].text)]
	if !ok {
		v, err := uints(rd[1:2], 8)
		if err != nil {
			return nil, fieldErr(rd[1], "DSYNC scheme %q: want NOTIFY or a number 0..255", rd[1].text)
		}
		scheme = v[0]
	}
	out = append(out, scheme)
	port, err := uints(rd[2:3], 16)
	if err != nil {
		return nil, err
	}
	out = append(out, port...)
	target, err := wireName(rd[3], origin)
	return append(out, target...), err
}
