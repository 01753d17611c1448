package loadreport

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/netip"
	"strconv"
	"strings"
)

// The wire format's endpoint, header and limits.
const (
	// Path is where a nameserver accepts reports (POST); an agent appends
	// it to each nameserver URL's path, and the server mounts its receiver
	// there.
	Path = "/api/v1/reports"
	// MaxBody is the largest report body accepted, in bytes.
	MaxBody = 64 << 10
	// MaxAddresses bounds a report's address list.
	MaxAddresses = 1024
	// MaxMetrics bounds a report's metrics map.
	MaxMetrics = 64
	// SignatureHeader carries Sign(body, key).
	SignatureHeader = "X-Smartdns-Signature"
)

// Report is one load report from a site's agent, as sent to
// POST /api/v1/reports:
//
//	{"site": "fra", "addresses": ["192.0.2.1"], "load": 0.42, "draining": false,
//	 "ts": 1763770000, "seq": 17, "metrics": {"connections": 812, "capacity": 2000}}
type Report struct {
	// Site names the reporting site: 1 to 63 of [a-z0-9._-].
	Site string `json:"site"`
	// Addresses are the record values (IPv4 or IPv6, any zone) the site
	// serves, in netip.Addr.Unmap().String() form after Decode; 1 to
	// MaxAddresses of them, no duplicates.
	Addresses []string `json:"addresses"`
	// Load is the site's utilisation, 0 to 1.
	Load float64 `json:"load"`
	// Draining asks for the site's addresses to be taken out of answers.
	// It is the only optional field besides Metrics (default false).
	Draining bool `json:"draining"`
	// TS is when the agent made the report, in Unix seconds.
	TS int64 `json:"ts"`
	// Seq is positive and increases with every report of the site.
	Seq int64 `json:"seq"`
	// Metrics are optional numbers shown by the status API; names are 1
	// to 63 of [A-Za-z0-9._-], at most MaxMetrics of them. Nil when
	// absent or empty.
	Metrics map[string]float64 `json:"metrics,omitempty"`
}

// DecodeError says what is wrong with a report body; Field is the JSON
// field at fault ("" for the body as a whole).
type DecodeError struct {
	Field string
	Msg   string
}

func (e *DecodeError) Error() string {
	if e.Field == "" {
		return "report: " + e.Msg
	}
	return "report: " + e.Field + ": " + e.Msg
}

func fieldErr(field, format string, args ...any) error {
	return &DecodeError{Field: field, Msg: fmt.Sprintf(format, args...)}
}

// ValidSite reports whether s is a well-formed site name.
func ValidSite(s string) bool {
	if len(s) == 0 || len(s) > 63 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

func validMetric(s string) bool {
	if len(s) == 0 || len(s) > 63 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// Decode parses a report body strictly: one JSON object with the fields
// of Report and nothing else, each key once, each value of its type (null
// is no value), numbers finite, load in [0, 1], seq and ts positive
// integers, addresses valid and canonicalised. Errors are *DecodeError.
func Decode(body []byte) (Report, error) {
	var r Report
	if len(body) > MaxBody {
		return r, fieldErr("", "body larger than %d bytes", MaxBody)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := expectDelim(dec, '{'); err != nil {
		return r, err
	}
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return r, fieldErr("", "not valid JSON: %v", err)
		}
		key := tok.(string) // object keys are always strings
		if seen[key] {
			return r, fieldErr(key, "duplicate field")
		}
		seen[key] = true
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return r, fieldErr("", "not valid JSON: %v", err)
		}
		if string(raw) == "null" {
			return r, fieldErr(key, "null is not a value")
		}
		if err := r.setField(key, raw); err != nil {
			return r, err
		}
	}
	if _, err := dec.Token(); err != nil { // the closing '}'
		return r, fieldErr("", "not valid JSON: %v", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return r, fieldErr("", "data after the report object")
	}
	for _, f := range [...]string{"site", "addresses", "load", "ts", "seq"} {
		if !seen[f] {
			return r, fieldErr(f, "missing")
		}
	}
	return r, nil
}

func expectDelim(dec *json.Decoder, d json.Delim) error {
	tok, err := dec.Token()
	if err != nil {
		return fieldErr("", "not valid JSON: %v", err)
	}
	if tok != d {
		return fieldErr("", "not a JSON object")
	}
	return nil
}

func (r *Report) setField(key string, raw json.RawMessage) error {
	switch key {
	case "site":
		if err := json.Unmarshal(raw, &r.Site); err != nil {
			return fieldErr(key, "not a string")
		}
		if !ValidSite(r.Site) {
			return fieldErr(key, "%q is not 1 to 63 of [a-z0-9._-]", r.Site)
		}
	case "addresses":
		var list []json.RawMessage
		if err := json.Unmarshal(raw, &list); err != nil {
			return fieldErr(key, "not a list of strings")
		}
		if len(list) == 0 || len(list) > MaxAddresses {
			return fieldErr(key, "%d addresses; want 1 to %d", len(list), MaxAddresses)
		}
		r.Addresses = make([]string, 0, len(list))
		seen := make(map[string]bool, len(list))
		for i, e := range list {
			var s string
			if string(e) == "null" || json.Unmarshal(e, &s) != nil {
				return fieldErr(key, "item %d is not a string", i)
			}
			a, err := netip.ParseAddr(s)
			if err != nil || a.Zone() != "" {
				return fieldErr(key, "bad address %q", s)
			}
			c := a.Unmap().String()
			if seen[c] {
				return fieldErr(key, "duplicate address %q", s)
			}
			seen[c] = true
			r.Addresses = append(r.Addresses, c)
		}
	case "load":
		f, err := number(key, raw)
		if err != nil {
			return err
		}
		if !(f >= 0 && f <= 1) {
			return fieldErr(key, "%v outside 0..1", f)
		}
		r.Load = f
	case "draining":
		if err := json.Unmarshal(raw, &r.Draining); err != nil {
			return fieldErr(key, "not true or false")
		}
	case "ts", "seq":
		n, err := integer(key, raw)
		if err != nil {
			return err
		}
		if key == "ts" {
			r.TS = n
		} else {
			r.Seq = n
		}
	case "metrics":
		return r.setMetrics(raw)
	default:
		return fieldErr(key, "unknown field")
	}
	return nil
}

// number reads a finite JSON number.
func number(key string, raw json.RawMessage) (float64, error) {
	var n json.Number
	if string(raw) == "null" {
		return 0, fieldErr(key, "null is not a value")
	}
	if json.Unmarshal(raw, &n) != nil || raw[0] == '"' {
		return 0, fieldErr(key, "not a number")
	}
	f, err := strconv.ParseFloat(string(n), 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, fieldErr(key, "%s is not a finite number", n)
	}
	return f, nil
}

// integer reads a positive JSON integer written without fraction or
// exponent.
func integer(key string, raw json.RawMessage) (int64, error) {
	var n json.Number
	if json.Unmarshal(raw, &n) != nil || raw[0] == '"' {
		return 0, fieldErr(key, "not a number")
	}
	s := string(n)
	if strings.HasPrefix(s, "-") || s == "0" {
		return 0, fieldErr(key, "%s is not positive", s)
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, fieldErr(key, "%s is not an integer below 2^63", s)
	}
	return v, nil
}

func (r *Report) setMetrics(raw json.RawMessage) error {
	const key = "metrics"
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return fieldErr(key, "not an object")
	}
	m := map[string]float64{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return fieldErr(key, "not valid JSON: %v", err)
		}
		name := tok.(string)
		if !validMetric(name) {
			return fieldErr(key, "name %q is not 1 to 63 of [A-Za-z0-9._-]", name)
		}
		if _, dup := m[name]; dup {
			return fieldErr(key, "duplicate metric %q", name)
		}
		if len(m) == MaxMetrics {
			return fieldErr(key, "more than %d metrics", MaxMetrics)
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return fieldErr(key, "not valid JSON: %v", err)
		}
		f, err := number(key+"."+name, v)
		if err != nil {
			return err
		}
		m[name] = f
	}
	if len(m) > 0 {
		r.Metrics = m
	}
	return nil
}

// Sign returns the X-Smartdns-Signature header value for body:
// "sha256=" and the hex HMAC-SHA256 of the exact body bytes keyed with the
// site's key.
func Sign(body, key []byte) string {
	mac := hmac.New(sha256.New, key)
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

var errBadSignature = errors.New("signature header is not sha256=<64 hex digits>")

// ParseSignature returns the MAC carried by an X-Smartdns-Signature
// header value, or an error when it is not sha256=<64 hex digits>. The
// receiver checks the form before it knows the site (and so the key).
func ParseSignature(h string) ([]byte, error) {
	hexMAC, ok := strings.CutPrefix(h, "sha256=")
	if !ok || len(hexMAC) != 2*sha256.Size {
		return nil, errBadSignature
	}
	mac, err := hex.DecodeString(hexMAC)
	if err != nil {
		return nil, errBadSignature
	}
	return mac, nil
}

// Verify reports whether header is Sign(body, key), comparing in constant
// time.
func Verify(body, key []byte, header string) bool {
	mac, err := ParseSignature(header)
	if err != nil {
		return false
	}
	want := hmac.New(sha256.New, key)
	want.Write(body)
	return hmac.Equal(mac, want.Sum(nil))
}
