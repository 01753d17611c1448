package masterfile

import (
	"encoding/hex"
	"fmt"
	"net"
	"strconv"
	"strings"

	"github.com/miekg/dns"
)

// Presentation forms BIND and NSD read that miekg/dns v1.1.73 does not:
// rewrite turns them into text miekg/dns reads (RFC 3597 `\#` rdata, or
// numbers for mnemonics) before the entry is parsed, so that a zone that
// loads in BIND also loads here.

// localTypes are the types miekg/dns has no parser for (or parses too
// narrowly) whose rdata the reader encodes itself, as RFC 3597 rdata.
var localTypes = map[string]uint16{
	"WKS":    11,  // RFC 1035 §3.4.2
	"X25":    19,  // RFC 1183 §3.1; miekg rejects the quoted form
	"NSAP":   22,  // RFC 1706 §5
	"GPOS":   27,  // RFC 1712 §3; miekg rejects the quoted form
	"ATMA":   34,  // ATM Forum af-dans-0152.000
	"NAPTR":  35,  // RFC 3403 §4.1; miekg rejects unquoted flags, services and regexps
	"A6":     38,  // RFC 2874 §3.1 (historic, but in BIND's zones)
	"SINK":   40,  // draft-eastlake-kitchen-sink
	"DSYNC":  66,  // RFC 9859
	"HHIT":   67,  // IANA: DRIP, base64 data
	"BRID":   68,  // IANA: DRIP, base64 data
	"URI":    256, // RFC 7553 §4.4; miekg rejects an empty target
	"DOA":    259, // draft-durand-doa-over-dns
	"WALLET": 262, // IANA, 2023: TXT-like character-strings
}

// svcbKeyNames are the SvcParamKeys 0..8 (RFC 9460 §14.3.2, RFC 9540),
// which miekg/dns reads only by name: key3=443 is port=443.
var svcbKeyNames = [...]string{"mandatory", "alpn", "no-default-alpn", "port", "ipv4hint", "ech", "ipv6hint", "dohpath", "ohttp"}

// opaqueTypes are types miekg/dns knows but BIND does not implement, so
// that BIND keeps their RFC 3597 `\#` rdata as it is (its own test zone
// holds `UINFO \# 1 01`, which miekg refuses to unpack as UINFO).
// SVCB and HTTPS in the generic form are kept as written too: miekg will
// not convert an IPv4-mapped ipv6hint (RFC 9460 §7.3 allows it).
var opaqueTypes = map[string]uint16{"UINFO": 100, "UID": 101, "GID": 102, "UNSPEC": 103, "SVCB": 64, "HTTPS": 65}

// opaqueCodes are opaqueTypes by code (a type written TYPE64).
var opaqueCodes = func() map[uint16]bool {
	m := map[uint16]bool{}
	for _, c := range opaqueTypes {
		m[c] = true
	}
	return m
}()

// placeholderType is a private-use code miekg/dns knows nothing of, under
// which opaque rdata is parsed before it gets its own code back.
const placeholderType = 65534

// edit replaces the bytes a token spans (quotes included) with with.
type edit struct {
	tok  token
	with string
}

// applyEdits applies edits (in token order) to the entry text that starts
// at line first. Later columns on an edited line shift; positions of
// problems the reader finds itself are taken from the tokens, not the text.
func applyEdits(text string, first int, edits []edit) string {
	for i := len(edits) - 1; i >= 0; i-- {
		ed := edits[i]
		off := offset(text, first, ed.tok.line, ed.tok.col)
		end := min(off+ed.tok.n, len(text))
		text = text[:off] + ed.with + text[end:]
	}
	return text
}

// rdataError is a problem with one rdata field, found by the reader.
type rdataError struct {
	tok token
	msg string
}

func fieldErr(t token, format string, args ...any) *rdataError {
	return &rdataError{tok: t, msg: fmt.Sprintf(format, args...)}
}

// rewrite returns the edits that make the rdata readable by miekg/dns, and
// a fix to apply to the parsed RR (nil if none). rd are the rdata tokens,
// typ is the type token.
func rewrite(typ token, rd []token, origin string) ([]edit, func(dns.RR) (dns.RR, error), *rdataError) {
	name := strings.ToUpper(typ.text)
	code, ok := opaqueTypes[name]
	if n, err := strconv.ParseUint(strings.TrimPrefix(name, "TYPE"), 10, 16); err == nil && strings.HasPrefix(name, "TYPE") {
		code, ok = uint16(n), opaqueCodes[uint16(n)]
	}
	if ok && len(rd) > 0 && rd[0].text == `\#` && !rd[0].quoted {
		// Parsed as a type miekg does not know, then given its own code
		// back: the RFC 3597 bytes are kept as they are.
		fix := func(rr dns.RR) (dns.RR, error) {
			rr.Header().Rrtype = code
			return rr, nil
		}
		return []edit{{typ, fmt.Sprintf("TYPE%d", placeholderType)}}, fix, nil
	}
	if code, ok := localTypes[name]; ok {
		b, err := encodeLocal(name, typ, rd, origin)
		if err != nil {
			return nil, nil, err
		}
		edits := []edit{{typ, fmt.Sprintf("TYPE%d", code)}}
		edits = append(edits, edit{rd[0], fmt.Sprintf(`\# %d %s`, len(b), hex.EncodeToString(b))})
		if len(b) == 0 {
			edits[1].with = `\# 0`
		}
		for _, t := range rd[1:] {
			edits = append(edits, edit{t, ""})
		}
		return edits, nil, nil
	}
	switch name {
	case "DNSKEY", "CDNSKEY", "KEY":
		// RFC 4034 App. A.1 mnemonics; miekg reads them in DS and RRSIG
		// but not here.
		if len(rd) >= 3 {
			if ed, err := algorithm(rd[2]); err != nil || ed != nil {
				if err != nil {
					return nil, nil, err
				}
				return []edit{*ed}, nil, nil
			}
		}
	case "LOC":
		return locEdits(rd), nil, nil
	case "SVCB", "HTTPS":
		return svcbEdits(rd)
	}
	return nil, nil, nil
}

// algorithm rewrites a DNSSEC algorithm mnemonic to its number.
func algorithm(t token) (*edit, *rdataError) {
	if t.quoted || t.text == "" || t.text[0] >= '0' && t.text[0] <= '9' {
		return nil, nil
	}
	a, ok := dns.StringToAlgorithm[strings.ToUpper(t.text)]
	if !ok {
		return nil, fieldErr(t, "unknown DNSSEC algorithm %q (RFC 4034 App. A.1: a number or a mnemonic such as RSASHA256, ECDSAP256SHA256, ED25519)", t.text)
	}
	return &edit{t, strconv.Itoa(int(a))}, nil
}

// locEdits fills in the minutes and seconds RFC 1876 §3 lets a LOC omit
// ("52 22 N" is 52°22'0"), which miekg reads only when both are missing.
func locEdits(rd []token) []edit {
	var edits []edit
	i := 0
	for _, hemi := range []string{"NS", "EW"} {
		n := 0
		for i < len(rd) && n < 4 {
			t := rd[i]
			if len(t.text) == 1 && strings.ContainsAny(strings.ToUpper(t.text), hemi) {
				break
			}
			i, n = i+1, n+1
		}
		if i >= len(rd) || n == 0 || n > 3 {
			return nil // not the form we fill in; miekg reports it
		}
		if n == 2 {
			edits = append(edits, edit{rd[i], "0 " + rd[i].text})
		}
		i++
	}
	return edits
}

// svcbEdits rewrites the SvcParams miekg cannot read: keyNNNNN with
// leading zeros (PowerDNS and BIND accept them), tls-supported-groups
// (IANA SvcParamKey 9, a list of TLS group code points, each a uint16),
// and ipv6hint holding IPv4-mapped addresses (RFC 9460 §7.3 allows any
// IPv6 address; miekg refuses the mapped ones).
func svcbEdits(rd []token) ([]edit, func(dns.RR) (dns.RR, error), *rdataError) {
	var edits []edit
	var mapped []net.IP // the ipv6hint addresses, when one is IPv4-mapped
	for i := 2; i < len(rd); i++ {
		t := rd[i]
		if t.quoted {
			continue
		}
		key, val, hasVal := strings.Cut(t.text, "=")
		valTok := -1
		if hasVal && val == "" && i+1 < len(rd) && rd[i+1].quoted && rd[i+1].line == t.line && rd[i+1].col == t.col+t.n {
			valTok = i + 1
			val = rd[i+1].text
		}
		lk := strings.ToLower(key)
		newKey := key
		switch {
		case strings.HasPrefix(lk, "key") && len(lk) > 3 && strings.Trim(lk[3:], "0123456789") == "":
			n, err := strconv.ParseUint(lk[3:], 10, 16)
			if err != nil {
				return nil, nil, fieldErr(t, "SvcParamKey %q: the number must be 0 to 65535 (RFC 9460 §2.1)", key)
			}
			newKey = "key" + strconv.FormatUint(n, 10)
			if n < uint64(len(svcbKeyNames)) {
				// miekg reads the keys it implements only by name.
				newKey = svcbKeyNames[n]
			}
		case lk == "echconfig":
			// The drafts' name for ech (key5); NSD and older zones use it.
			newKey = "ech"
		case lk == "tls-supported-groups":
			if !hasVal || val == "" {
				return nil, nil, fieldErr(t, "tls-supported-groups needs a value: a comma-separated list of TLS group numbers")
			}
			var b strings.Builder
			for _, g := range strings.Split(val, ",") {
				n, err := strconv.ParseUint(g, 10, 16)
				if err != nil {
					return nil, nil, fieldErr(t, "tls-supported-groups: %q is not a TLS group number (0 to 65535)", g)
				}
				fmt.Fprintf(&b, `\%03d\%03d`, n>>8, n&255)
			}
			edits = append(edits, edit{t, `key9="` + b.String() + `"`})
			if valTok >= 0 {
				edits = append(edits, edit{rd[valTok], ""})
				i++
			}
			continue
		case lk == "ipv6hint" && hasVal:
			addrs := strings.Split(val, ",")
			anyMapped := false
			var ips []net.IP
			for _, a := range addrs {
				ip := net.ParseIP(a)
				if ip == nil || !strings.Contains(a, ":") {
					return nil, nil, fieldErr(t, "ipv6hint: %q is not an IPv6 address", a)
				}
				ips = append(ips, ip.To16())
				if ip.To4() != nil {
					anyMapped = true
				}
			}
			if anyMapped {
				// miekg parses a placeholder in each place; fix puts the
				// written addresses back into the encoded rdata.
				ph := make([]string, len(ips))
				for j := range ips {
					ph[j] = fmt.Sprintf("2001:db8::%x", j+1)
				}
				mapped = ips
				edits = append(edits, edit{t, key + "=" + strings.Join(ph, ",")})
				if valTok >= 0 {
					edits = append(edits, edit{rd[valTok], ""})
					i++
				}
				continue
			}
		}
		if newKey != key {
			edits = append(edits, edit{t, newKey + t.text[len(key):]})
		}
		if valTok >= 0 {
			i++
		}
	}
	if mapped == nil {
		return edits, nil, nil
	}
	return edits, func(rr dns.RR) (dns.RR, error) { return restoreIPv6Hint(rr, mapped) }, nil
}

// restoreIPv6Hint re-encodes an SVCB/HTTPS RR as RFC 3597 rdata with the
// ipv6hint value replaced by ips (miekg will not pack IPv4-mapped ones).
func restoreIPv6Hint(rr dns.RR, ips []net.IP) (dns.RR, error) {
	u := new(dns.RFC3597)
	if err := u.ToRFC3597(rr); err != nil {
		return nil, err
	}
	b, err := hex.DecodeString(u.Rdata)
	if err != nil {
		return nil, err
	}
	// SvcPriority (2), TargetName (uncompressed), then key, length, value.
	i := 2
	for i < len(b) && b[i] != 0 {
		i += 1 + int(b[i])
	}
	i++
	for i+4 <= len(b) {
		key, n := int(b[i])<<8|int(b[i+1]), int(b[i+2])<<8|int(b[i+3])
		i += 4
		if key == 6 && n == 16*len(ips) && i+n <= len(b) {
			for j, ip := range ips {
				copy(b[i+16*j:], ip)
			}
			u.Rdata = hex.EncodeToString(b)
			return u, nil
		}
		i += n
	}
	return nil, fmt.Errorf("ipv6hint not found in the encoded rdata")
}

// encodeLocal encodes the rdata of a localTypes type.
func encodeLocal(name string, typ token, rd []token, origin string) ([]byte, *rdataError) {
	switch name {
	case "ATMA", "NAPTR", "A6", "SINK", "DSYNC", "HHIT", "BRID", "URI", "DOA":
		return encodeMore(name, typ, rd, origin)
	case "WKS":
		return encodeWKS(typ, rd)
	case "NSAP":
		if len(rd) != 1 {
			return nil, fieldErr(typ, "NSAP takes one address, 0x and hexadecimal digits with optional dots (RFC 1706 §5)")
		}
		s := rd[0].text
		if !strings.HasPrefix(s, "0x") && !strings.HasPrefix(s, "0X") {
			return nil, fieldErr(rd[0], "NSAP address %q must start with 0x (RFC 1706 §5)", s)
		}
		b, err := hex.DecodeString(strings.ReplaceAll(s[2:], ".", ""))
		if err != nil || len(b) == 0 {
			return nil, fieldErr(rd[0], "NSAP address %q: want an even number of hexadecimal digits after 0x, dots allowed between them (RFC 1706 §5)", s)
		}
		return b, nil
	case "X25":
		if len(rd) != 1 {
			return nil, fieldErr(typ, "X25 takes one PSDN address (RFC 1183 §3.1)")
		}
		s, err := charString(rd[0])
		if err != nil {
			return nil, err
		}
		if len(s) < 4 || strings.Trim(string(s), "0123456789") != "" {
			return nil, fieldErr(rd[0], "X25 PSDN address %q: want at least 4 decimal digits (RFC 1183 §3.1)", rd[0].text)
		}
		return append([]byte{byte(len(s))}, s...), nil
	case "GPOS":
		if len(rd) != 3 {
			return nil, fieldErr(typ, "GPOS takes three fields: longitude, latitude, altitude (RFC 1712 §3)")
		}
		var out []byte
		for i, what := range []string{"longitude", "latitude", "altitude"} {
			s, err := charString(rd[i])
			if err != nil {
				return nil, err
			}
			// RFC 1712 §3 gives ranges but swaps them between the two
			// coordinates; like BIND, only the number form is checked.
			// BIND's own test zone has GPOS "" "" "": empty is accepted.
			if _, perr := strconv.ParseFloat(string(s), 64); perr != nil && len(s) > 0 {
				return nil, fieldErr(rd[i], "GPOS %s %q: want a decimal number (RFC 1712 §3)", what, rd[i].text)
			}
			out = append(append(out, byte(len(s))), s...)
		}
		return out, nil
	case "WALLET":
		var out []byte
		for _, t := range rd {
			s, err := charString(t)
			if err != nil {
				return nil, err
			}
			out = append(append(out, byte(len(s))), s...)
		}
		return out, nil
	}
	return nil, fieldErr(typ, "internal: no encoder for %s", name)
}

// charString decodes a <character-string> (RFC 1035 §5.1): quoted or not,
// with \X and \DDD escapes, at most 255 bytes.
func charString(t token) ([]byte, *rdataError) {
	b, err := unescape(t)
	if err != nil {
		return nil, err
	}
	if len(b) > 255 {
		return nil, fieldErr(t, "character-string is %d bytes; at most 255 (RFC 1035 §3.3)", len(b))
	}
	return b, nil
}

// unescape decodes a field's \X and \DDD escapes (RFC 1035 §5.1).
func unescape(t token) ([]byte, *rdataError) {
	s := t.text
	var b []byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' {
			b = append(b, c)
			continue
		}
		if i+3 < len(s) && isDigit(s[i+1]) && isDigit(s[i+2]) && isDigit(s[i+3]) {
			v := int(s[i+1]-'0')*100 + int(s[i+2]-'0')*10 + int(s[i+3]-'0')
			if v > 255 {
				return nil, fieldErr(t, "escape \\%s is above \\255", s[i+1:i+4])
			}
			b = append(b, byte(v))
			i += 3
			continue
		}
		if i+1 < len(s) {
			b = append(b, s[i+1])
			i++
		}
	}
	return b, nil
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// wksServices are the service names a WKS may use instead of port numbers.
// BIND asks the system's services database; these are the well-known
// ports of RFC 1340 era that WKS records in the wild name.
var wksServices = map[string]int{
	"tcpmux": 1, "echo": 7, "discard": 9, "systat": 11, "daytime": 13, "netstat": 15, "qotd": 17, "msp": 18,
	"chargen": 19, "ftp-data": 20, "ftp": 21, "ssh": 22, "telnet": 23, "smtp": 25, "time": 37, "rlp": 39,
	"nameserver": 42, "whois": 43, "nicname": 43, "tacacs": 49, "re-mail-ck": 50, "domain": 53, "mtp": 57,
	"bootps": 67, "bootpc": 68, "tftp": 69, "gopher": 70, "rje": 77, "finger": 79, "http": 80, "www": 80,
	"link": 87, "kerberos": 88, "supdup": 95, "hostnames": 101, "iso-tsap": 102, "csnet-ns": 105,
	"rtelnet": 107, "pop2": 109, "pop3": 110, "sunrpc": 111, "auth": 113, "ident": 113, "sftp": 115,
	"uucp-path": 117, "nntp": 119, "ntp": 123, "netbios-ns": 137, "netbios-dgm": 138, "netbios-ssn": 139,
	"imap": 143, "imap2": 143, "snmp": 161, "snmp-trap": 162, "xdmcp": 177, "bgp": 179, "irc": 194,
	"smux": 199, "imap3": 220, "ldap": 389, "https": 443, "microsoft-ds": 445, "kpasswd": 464,
	"isakmp": 500, "exec": 512, "biff": 512, "login": 513, "who": 513, "shell": 514, "syslog": 514,
	"printer": 515, "talk": 517, "ntalk": 518, "route": 520, "timed": 525, "uucp": 540, "klogin": 543,
	"kshell": 544, "submission": 587, "ldaps": 636, "imaps": 993, "pop3s": 995,
}

// encodeWKS encodes `address protocol service...` (RFC 1035 §3.4.2):
// the IPv4 address, the protocol number and a bitmap of ports.
func encodeWKS(typ token, rd []token) ([]byte, *rdataError) {
	if len(rd) < 2 {
		return nil, fieldErr(typ, "WKS takes an IPv4 address, a protocol (TCP, UDP or a number) and services (RFC 1035 §3.4.2)")
	}
	ip := net.ParseIP(rd[0].text)
	if ip == nil || ip.To4() == nil || strings.Contains(rd[0].text, ":") {
		return nil, fieldErr(rd[0], "WKS address %q is not an IPv4 address", rd[0].text)
	}
	var proto int
	switch strings.ToUpper(rd[1].text) {
	case "TCP":
		proto = 6
	case "UDP":
		proto = 17
	default:
		n, err := strconv.ParseUint(rd[1].text, 10, 8)
		if err != nil {
			return nil, fieldErr(rd[1], "WKS protocol %q: want TCP, UDP or a number 0 to 255", rd[1].text)
		}
		proto = int(n)
	}
	var bitmap []byte
	for _, t := range rd[2:] {
		port, ok := wksServices[strings.ToLower(t.text)]
		if !ok {
			n, err := strconv.ParseUint(t.text, 10, 16)
			if err != nil {
				return nil, fieldErr(t, "WKS service %q: want a port number or a known service name (smtp, ftp, telnet, domain, http, ...)", t.text)
			}
			port = int(n)
		}
		for len(bitmap) <= port/8 {
			bitmap = append(bitmap, 0)
		}
		bitmap[port/8] |= 0x80 >> (port % 8)
	}
	return append(append(ip.To4(), byte(proto)), bitmap...), nil
}
