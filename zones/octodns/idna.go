package octodns

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// octoDNS 1.x accepts UTF-8 names: record names, and names in values
// (CNAME, ALIAS, DNAME, NS and PTR values, MX exchange, SRV target, SVCB
// and HTTPS targetname), which octodns/idna.py lower-cases and converts
// label by label to their xn-- (punycode) form with Python's idna package
// (IDNA 2008). smartdns does the same here, so a zone written with
// "bücher:" loads as octoDNS loads it, as xn--bcher-kva.
//
// The project's dependencies have no Unicode normalization tables (the
// IDNA package of x/net needs x/text), so the label rules are the parts of
// IDNA 2008 that the standard library can check: letters, marks and digits
// only, no leading mark, and RFC 5891's hyphen rules. A label that is not
// in Unicode normalization form C, or breaks the bidi or joiner rules, is
// converted rather than refused as octoDNS refuses it.

// ASCIIName is idnaName for the loader: a zone's file or folder name
// written in UTF-8 ("bücher.example.yaml") names the zone octoDNS loads,
// xn--bcher-kva.example.
func ASCIIName(name string) (string, string) { return idnaName(name) }

// idnaName returns name with the whole name lower cased and every
// non-ASCII label in its xn-- form, or a description of what is wrong.
// ASCII names are returned unchanged (their case kept, as smartdns keeps
// it in RDATA), so only names octoDNS would have converted change.
func idnaName(name string) (string, string) {
	if isASCII(name) {
		return name, ""
	}
	if !utf8.ValidString(name) {
		return "", "is not valid UTF-8"
	}
	labels := strings.Split(strings.ToLower(name), ".")
	for i, l := range labels {
		if isASCII(l) {
			continue
		}
		if bad := checkIDNALabel(l); bad != "" {
			return "", fmt.Sprintf("has label %s, which is not a valid internationalized label: %s", quoteShort(l), bad)
		}
		labels[i] = "xn--" + punycode([]rune(l))
		if len(labels[i]) > 63 {
			return "", fmt.Sprintf("has label %s, which is longer than 63 bytes in its xn-- form %s", quoteShort(l), labels[i])
		}
	}
	return strings.Join(labels, "."), ""
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// checkIDNALabel applies the IDNA 2008 label rules described above to a
// lower-cased label.
func checkIDNALabel(l string) string {
	if utf8.RuneCountInString(l) > 63 {
		return "longer than 63 characters"
	}
	if strings.HasPrefix(l, "-") || strings.HasSuffix(l, "-") {
		return "it starts or ends with a hyphen"
	}
	if rs := []rune(l); len(rs) >= 4 && rs[2] == '-' && rs[3] == '-' {
		return "it has hyphens in the 3rd and 4th position"
	}
	for i, r := range l {
		switch {
		case r == '-', r >= 'a' && r <= 'z', r >= '0' && r <= '9':
		case i == 0 && unicode.IsMark(r):
			return fmt.Sprintf("it starts with the combining mark %U", r)
		case unicode.In(r, unicode.Ll, unicode.Lo, unicode.Lm, unicode.Mn, unicode.Mc, unicode.Nd):
		default:
			return fmt.Sprintf("%U %q is not allowed in names (only letters, marks, digits and hyphens)", r, r)
		}
	}
	return ""
}

// Punycode parameters (RFC 3492 §5).
const (
	pcBase        = 36
	pcTMin        = 1
	pcTMax        = 26
	pcSkew        = 38
	pcDamp        = 700
	pcInitialBias = 72
	pcInitialN    = 128
)

// punycode encodes a label (RFC 3492 §6.3). Labels are at most 63
// characters (checked before), so the arithmetic cannot overflow.
func punycode(in []rune) string {
	var out []byte
	for _, r := range in {
		if r < utf8.RuneSelf {
			out = append(out, byte(r))
		}
	}
	b := len(out)
	h := b
	if b > 0 {
		out = append(out, '-')
	}
	n, delta, bias := rune(pcInitialN), 0, pcInitialBias
	for h < len(in) {
		m := rune(unicode.MaxRune + 1)
		for _, r := range in {
			if r >= n && r < m {
				m = r
			}
		}
		delta += int(m-n) * (h + 1)
		n = m
		for _, r := range in {
			if r < n {
				delta++
			}
			if r != n {
				continue
			}
			q := delta
			for k := pcBase; ; k += pcBase {
				t := k - bias
				if t < pcTMin {
					t = pcTMin
				} else if t > pcTMax {
					t = pcTMax
				}
				if q < t {
					break
				}
				out = append(out, pcDigit(t+(q-t)%(pcBase-t)))
				q = (q - t) / (pcBase - t)
			}
			out = append(out, pcDigit(q))
			bias = pcAdapt(delta, h+1, h == b)
			delta = 0
			h++
		}
		delta++
		n++
	}
	return string(out)
}

func pcDigit(d int) byte {
	if d < 26 {
		return byte('a' + d)
	}
	return byte('0' + d - 26)
}

func pcAdapt(delta, points int, first bool) int {
	if first {
		delta /= pcDamp
	} else {
		delta /= 2
	}
	delta += delta / points
	k := 0
	for delta > ((pcBase-pcTMin)*pcTMax)/2 {
		delta /= pcBase - pcTMin
		k += pcBase
	}
	return k + (pcBase-pcTMin+1)*delta/(delta+pcSkew)
}
