package octodns

import (
	"encoding/hex"
	"fmt"
	"net/textproto"
	"sort"
	"strings"
	"time"

	"github.com/miekg/dns"
	"gopkg.in/yaml.v3"

	"github.com/smartdns/smartdns/internal/diag"
	"github.com/smartdns/smartdns/pool"
	"github.com/smartdns/smartdns/zones/zonefile"
)

// Health checks. What is probed is every value with status obey of every
// pool (the record's own values, the backup, never are), as octoDNS's
// providers do, with the record's `octodns.healthcheck` (octoDNS's keys and
// defaults) and `octodns.smartdns.healthcheck` (smartdns's).

// Bounds and names of octodns.smartdns.healthcheck (its defaults are
// pool.DefaultCheck*).
const (
	hcMinInterval = time.Second
	hcMaxInterval = time.Hour
	hcMaxCount    = 100 // rise and fall
	hcProtocols   = "HTTP, HTTPS, TCP, UDP, ICMP or DNS"
	// hcMaxPayload bounds a UDP check's datagram: what fits unfragmented
	// on any IPv6 path (1280 - 40 - 8), as DNS's 1232 does.
	hcMaxPayload = 1232
	octoHCKey    = "octodns.healthcheck"
	smartHCKey   = "octodns.smartdns.healthcheck"
)

// healthSpec is a record's health-check settings, defaults filled in.
type healthSpec struct {
	protocol     string // HTTP, HTTPS, TCP, UDP, ICMP or DNS
	port         int    // 0: the protocol's default
	path         string
	host         string // "" with the default
	hostValue    bool   // `host: null` (or ""): the value itself
	interval     time.Duration
	timeout      time.Duration
	rise, fall   int
	expectStatus []int
	expectBody   string
	tlsVerify    bool
	headers      map[string]string
	queryName    string // fully qualified, with the trailing dot
	queryType    uint16
	payload      string // UDP: the datagram sent (payload or payload_hex)
	expect       string // UDP: a text the reply must hold

	keys     map[string]diag.Pos // keys given, at the key
	vals     map[string]diag.Pos // valid values given, at the value
	protoBad bool                // protocol given but not valid (reported)
}

func defaultHealth(name string) healthSpec {
	return healthSpec{
		protocol:     "HTTPS",
		path:         "/_dns",
		host:         strings.ToLower(strings.TrimSuffix(name, ".")), // octoDNS: fqdn[:-1]
		interval:     pool.DefaultCheckInterval,
		timeout:      pool.DefaultCheckTimeout,
		rise:         pool.DefaultCheckRise,
		fall:         pool.DefaultCheckFall,
		expectStatus: []int{200},
		tlsVerify:    true,
		queryName:    strings.ToLower(dns.Fqdn(name)),
		queryType:    dns.TypeA,
		keys:         map[string]diag.Pos{},
		vals:         map[string]diag.Pos{},
	}
}

// Keys written under the wrong one of the two mappings.
var (
	hcOctoKeys  = map[string]string{"protocol": octoHCKey, "port": octoHCKey, "path": octoHCKey, "host": octoHCKey}
	hcSmartKeys = func() map[string]string {
		m := map[string]string{}
		for _, k := range strings.Split(smartHCKeys, ", ") {
			m[k] = smartHCKey
		}
		return m
	}()
)

// hcMapping resolves a healthcheck mapping and reads its keys; nil when it
// is null or not a mapping (reported).
func (c *dynamicReader) hcMapping(p pair, what, known string, elsewhere map[string]string) map[string]pair {
	m, ms, ok := c.o.resolve(p.v, p.s)
	if !ok || isNull(m) {
		return nil
	}
	if m.Kind != yaml.MappingNode {
		c.add(c.o.pos(m, ms), "%s must be a mapping (with %s), got %s", what, known, describe(m))
		return nil
	}
	keys := c.keysElse(m, ms, what, known, elsewhere)
	for k, q := range keys {
		c.hc.keys[k] = c.o.pos(q.k, q.s)
	}
	return keys
}

// hcValue resolves the value of key k, nil when absent or broken.
func (c *dynamicReader) hcValue(keys map[string]pair, k string) (*yaml.Node, diag.Pos) {
	q, ok := keys[k]
	if !ok {
		return nil, diag.Pos{}
	}
	v, vs, ok := c.o.resolve(q.v, q.s)
	if !ok {
		return nil, diag.Pos{}
	}
	return v, c.o.pos(v, vs)
}

// readHealthcheck reads octoDNS's `octodns.healthcheck`.
func (c *dynamicReader) readHealthcheck(p pair) {
	keys := c.hcMapping(p, octoHCKey, healthKeys, hcSmartKeys)
	h := &c.hc
	if _, ok := keys["protocol"]; ok {
		h.protoBad = true
	}
	if v, at := c.hcValue(keys, "protocol"); v != nil {
		switch w := word(v); w {
		case "HTTP", "HTTPS", "TCP", "UDP", "ICMP", "DNS":
			h.protocol, h.vals["protocol"] = w, at
			h.protoBad = false
		default:
			hint := ""
			switch up := strings.ToUpper(w); up {
			case "HTTP", "HTTPS", "TCP", "UDP", "ICMP", "DNS":
				hint = fmt.Sprintf(" (protocols are upper case: %s)", up)
			}
			c.add(at, "%s protocol must be %s, got %s%s", octoHCKey, hcProtocols, describe(v), hint)
		}
	}
	if v, at := c.hcValue(keys, "port"); v != nil {
		if x, ok := yamlInt(v); ok && x >= 1 && x <= 65535 {
			h.port, h.vals["port"] = int(x), at
		} else {
			c.add(at, "%s port must be an integer 1..65535, got %s", octoHCKey, describe(v))
		}
	}
	if v, at := c.hcValue(keys, "path"); v != nil {
		w := word(v)
		switch {
		case !strings.HasPrefix(w, "/"):
			c.add(at, "%s path must start with /, got %s", octoHCKey, describe(v))
		case strings.IndexFunc(w, badURLRune) >= 0:
			c.add(at, "%s path must not hold spaces or control characters (write a space as %%20), got %s", octoHCKey, describe(v))
		default:
			h.path, h.vals["path"] = w, at
		}
	}
	if v, at := c.hcValue(keys, "host"); v != nil {
		// octoDNS: `healthcheck.get('host', fqdn) or value`: null and ""
		// both mean the value itself.
		switch w := word(v); {
		case isNull(v) || (v.Kind == yaml.ScalarNode && w == ""):
			h.host, h.hostValue, h.vals["host"] = "", true, at
		case v.Kind != yaml.ScalarNode || !validHost(w):
			c.add(at, "%s host must be a host name such as www.example.com (or null for the value itself), got %s", octoHCKey, describe(v))
		default:
			h.host, h.vals["host"] = w, at
		}
	}
}

// readSmartHealthcheck reads smartdns's `octodns.smartdns.healthcheck`.
func (c *dynamicReader) readSmartHealthcheck(p pair) {
	keys := c.hcMapping(p, smartHCKey, smartHCKeys, hcOctoKeys)
	h := &c.hc
	for _, k := range []string{"interval", "timeout"} {
		v, at := c.hcValue(keys, k)
		if v == nil {
			continue
		}
		d, err := time.ParseDuration(word(v))
		switch {
		case v.Kind != yaml.ScalarNode || err != nil || d <= 0:
			c.add(at, "%s %s must be a duration such as 10s or 500ms, got %s", smartHCKey, k, describe(v))
		case k == "interval" && (d < hcMinInterval || d > hcMaxInterval):
			c.add(at, "%s interval must be 1s..1h, got %s", smartHCKey, describe(v))
		case k == "interval":
			h.interval, h.vals[k] = d, at
		default:
			h.timeout, h.vals[k] = d, at
		}
	}
	for _, k := range []string{"rise", "fall"} {
		v, at := c.hcValue(keys, k)
		if v == nil {
			continue
		}
		x, ok := yamlInt(v)
		if !ok || x < 1 || x > hcMaxCount {
			c.add(at, "%s %s must be an integer 1..%d, got %s", smartHCKey, k, hcMaxCount, describe(v))
			continue
		}
		if k == "rise" {
			h.rise = int(x)
		} else {
			h.fall = int(x)
		}
		h.vals[k] = at
	}
	if q, ok := keys["expect_status"]; ok {
		c.readExpectStatus(q)
	}
	if v, at := c.hcValue(keys, "expect_body"); v != nil {
		switch {
		case isNull(v):
			h.expectBody, h.vals["expect_body"] = "", at
		case v.Kind != yaml.ScalarNode:
			c.add(at, "%s expect_body must be a string, got %s", smartHCKey, describe(v))
		default:
			h.expectBody, h.vals["expect_body"] = v.Value, at
		}
	}
	if v, at := c.hcValue(keys, "tls_verify"); v != nil {
		if b, ok := yamlBool(v); ok {
			h.tlsVerify, h.vals["tls_verify"] = b, at
		} else {
			c.add(at, "%s tls_verify must be true or false, got %s", smartHCKey, describe(v))
		}
	}
	if q, ok := keys["headers"]; ok {
		c.readHeaders(q)
	}
	if v, at := c.hcValue(keys, "query_name"); v != nil {
		w := word(v)
		name := strings.ToLower(dns.Fqdn(w))
		if _, ok := dns.IsDomainName(name); !ok || w == "" || (strings.HasPrefix(w, ".") && w != ".") || strings.IndexFunc(w, badURLRune) >= 0 {
			c.add(at, "%s query_name must be a domain name such as www.example.com, got %s", smartHCKey, describe(v))
		} else if _, err := zonefile.WireName(name); err != nil {
			c.add(at, "%s query_name: %v", smartHCKey, err)
		} else {
			h.queryName, h.vals["query_name"] = name, at
		}
	}
	if v, at := c.hcValue(keys, "query_type"); v != nil {
		w := word(v)
		t, ok := dns.StringToType[strings.ToUpper(w)]
		switch {
		case !ok || metaType(t):
			c.add(at, "%s query_type must be a record type such as A, AAAA or SOA, got %s", smartHCKey, describe(v))
		default:
			h.queryType, h.vals["query_type"] = t, at
		}
	}
	c.readPayload(keys)
	if v, at := c.hcValue(keys, "expect"); v != nil {
		switch {
		case isNull(v):
			h.expect, h.vals["expect"] = "", at
		case v.Kind != yaml.ScalarNode:
			c.add(at, "%s expect must be a string, got %s", smartHCKey, describe(v))
		default:
			h.expect, h.vals["expect"] = v.Value, at
		}
	}
}

// readPayload reads a UDP check's datagram: `payload`, a YAML string sent
// as its UTF-8 bytes, or `payload_hex`, its bytes in hex (for binary
// protocols: YAML's "\x80" escapes are code points, not bytes). null and
// "" send an empty datagram, as does the default.
func (c *dynamicReader) readPayload(keys map[string]pair) {
	h := &c.hc
	pv, pat := c.hcValue(keys, "payload")
	if pv != nil {
		switch {
		case isNull(pv):
			h.payload, h.vals["payload"] = "", pat
		case pv.Kind != yaml.ScalarNode:
			c.add(pat, "%s payload must be a string, got %s", smartHCKey, describe(pv))
		case len(pv.Value) > hcMaxPayload:
			c.add(pat, "%s payload must be at most %d bytes, got %d", smartHCKey, hcMaxPayload, len(pv.Value))
		default:
			h.payload, h.vals["payload"] = pv.Value, pat
		}
	}
	hv, hat := c.hcValue(keys, "payload_hex")
	if hv == nil {
		return
	}
	if pv != nil {
		c.add(hat, "%s: give payload or payload_hex, not both", smartHCKey)
		return
	}
	w := strings.Join(strings.Fields(word(hv)), "") // spaces may group the bytes
	b, err := hex.DecodeString(w)
	switch {
	case isNull(hv):
		h.payload, h.vals["payload_hex"] = "", hat
	case hv.Kind != yaml.ScalarNode || err != nil:
		c.add(hat, "%s payload_hex must be bytes in hex such as \"0a ff 00\", got %s", smartHCKey, describe(hv))
	case len(b) > hcMaxPayload:
		c.add(hat, "%s payload_hex must be at most %d bytes, got %d", smartHCKey, hcMaxPayload, len(b))
	default:
		h.payload, h.vals["payload_hex"] = string(b), hat
	}
}

func (c *dynamicReader) readExpectStatus(q pair) {
	h := &c.hc
	items, list, lat := c.seq(q.v, q.s, smartHCKey+" expect_status")
	if list == nil {
		return
	}
	if len(list.Content) == 0 {
		c.add(lat, "%s expect_status is empty: give at least one status code (default [200])", smartHCKey)
		return
	}
	var codes []int
	good := len(items) == len(list.Content)
	seen := map[int]bool{}
	for _, it := range items {
		at := c.o.pos(it.v, it.s)
		x, ok := yamlInt(it.v)
		if !ok || x < 100 || x > 599 {
			c.add(at, "%s expect_status: a status code must be an integer 100..599, got %s", smartHCKey, describe(it.v))
			good = false
			continue
		}
		if seen[int(x)] {
			c.add(at, "%s expect_status: %d is listed twice", smartHCKey, x)
			good = false
			continue
		}
		seen[int(x)] = true
		codes = append(codes, int(x))
	}
	if good {
		sort.Ints(codes) // one order, so equal checks are one target
		h.expectStatus, h.vals["expect_status"] = codes, lat
	}
}

func (c *dynamicReader) readHeaders(q pair) {
	h := &c.hc
	m, ms, ok := c.o.resolve(q.v, q.s)
	if !ok || isNull(m) {
		return
	}
	mat := c.o.pos(m, ms)
	if m.Kind != yaml.MappingNode {
		c.add(mat, "%s headers must be a mapping of header names to values, got %s", smartHCKey, describe(m))
		return
	}
	out := map[string]string{}
	first := map[string]diag.Pos{}
	good := true
	for _, p := range c.o.mapping(m, ms, smartHCKey+" headers", true) {
		at := c.o.pos(p.k, p.s)
		name := p.k.Value
		canon := textproto.CanonicalMIMEHeaderKey(name)
		switch {
		case name == "" || strings.IndexFunc(name, notTokenRune) >= 0:
			c.add(at, "%s headers: %s is not a header name (letters, digits and !#$%%&'*+-.^_`|~ only)", smartHCKey, quoteShort(name))
			good = false
			continue
		case canon == "Host":
			c.add(at, "%s headers: set the Host header with %s host", smartHCKey, octoHCKey)
			good = false
			continue
		}
		if f, dup := first[canon]; dup {
			c.add(at, "%s headers: %s is the same header as the one at %s (header names ignore case)", smartHCKey, quoteShort(name), c.where(at, f))
			good = false
			continue
		}
		first[canon] = at
		v, vs, ok := c.o.resolve(p.v, p.s)
		if !ok {
			good = false
			continue
		}
		if v.Kind != yaml.ScalarNode || isNull(v) {
			c.add(c.o.pos(v, vs), "%s headers: the value of %s must be a string, got %s", smartHCKey, name, describe(v))
			good = false
			continue
		}
		if strings.IndexFunc(v.Value, func(r rune) bool { return r != '\t' && (r < ' ' || r == 0x7f) }) >= 0 {
			c.add(c.o.pos(v, vs), "%s headers: the value of %s must not hold line breaks or control characters", smartHCKey, name)
			good = false
			continue
		}
		out[canon] = v.Value
	}
	if good {
		if len(out) == 0 {
			out = nil
		}
		h.headers, h.vals["headers"] = out, mat
	}
}

// checkHealth runs the checks that involve several settings, once both
// mappings are read: what applies to the protocol, timeout against
// interval, and whether ICMP probes can run.
func (c *dynamicReader) checkHealth() {
	h := &c.hc
	if h.protoBad {
		return // what applies depends on the protocol
	}
	proto := h.protocol
	http := proto == "HTTP" || proto == "HTTPS"
	// octoDNS's keys that a protocol does not use are ignored by octoDNS
	// too: a warning. smartdns's own are a mistake: an error.
	for _, k := range []string{"path", "host", "port"} {
		at, ok := h.keys[k]
		if !ok {
			continue
		}
		if (k != "port" && !http) || (k == "port" && proto == "ICMP") {
			c.o.probs.Warn(at, "%s %s is not used by protocol %s (octoDNS ignores it too)", octoHCKey, k, proto)
		}
	}
	for _, k := range strings.Split(smartHCKeys, ", ") {
		at, ok := h.keys[k]
		if !ok {
			continue
		}
		var only string
		switch k {
		case "expect_status", "expect_body", "headers":
			if !http {
				only = "protocols HTTP and HTTPS"
			}
		case "tls_verify":
			if proto != "HTTPS" {
				only = "protocol HTTPS"
			}
		case "query_name", "query_type":
			if proto != "DNS" {
				only = "protocol DNS"
			}
		case "payload", "payload_hex", "expect":
			if proto != "UDP" {
				only = "protocol UDP"
			}
		}
		if only != "" {
			c.add(at, "%s %s applies only to %s, and this record's protocol is %s", smartHCKey, k, only, proto)
		}
	}
	// Without a port (a bad one is an error already), octoDNS's 443 is
	// probed, which is rarely what HTTP or a UDP service listens on.
	_, portGiven := h.keys["port"]
	if at, ok := h.vals["protocol"]; ok && !portGiven {
		switch proto {
		case "HTTP":
			c.o.probs.Warn(at, "%s protocol HTTP without a port probes port 443, as octoDNS does: give port: 80 if the service listens there", octoHCKey)
		case "UDP":
			c.o.probs.Warn(at, "%s protocol UDP without a port probes port 443, as octoDNS does: give the port the service listens on", octoHCKey)
		}
	}
	if h.timeout >= h.interval {
		if at, ok := h.vals["timeout"]; ok {
			c.add(at, "%s timeout must be shorter than the interval (%s), got %s", smartHCKey, formatDuration(h.interval), formatDuration(h.timeout))
		} else if at, ok := h.vals["interval"]; ok {
			c.add(at, "%s interval must be longer than the timeout (%s, the default), got %s", smartHCKey, formatDuration(h.timeout), formatDuration(h.interval))
		}
	}
	if proto == "ICMP" && c.anyProbed() {
		at := h.vals["protocol"]
		c.icmpAt = &at
	}
}

// anyProbed reports whether some pool value has status obey.
func (c *dynamicReader) anyProbed() bool {
	for i := range c.pools {
		for _, v := range c.pools[i].vals {
			if v.v.Status == pool.Obey {
				return true
			}
		}
	}
	return false
}

// check resolves the settings for one value: only what the protocol uses
// is kept, so that equal probes are one target.
func (h *healthSpec) check(typ uint16, text string) *pool.Check {
	ck := &pool.Check{
		Protocol: h.protocol,
		Address:  text,
		Port:     h.port,
		Interval: h.interval,
		Timeout:  h.timeout,
		Rise:     h.rise,
		Fall:     h.fall,
	}
	if typ == dns.TypeCNAME {
		ck.Address = strings.TrimSuffix(text, ".")
	}
	switch h.protocol {
	case "HTTP", "HTTPS":
		if ck.Port == 0 {
			ck.Port = 443 // octoDNS's default, whatever the protocol
		}
		if !h.hostValue {
			ck.Host = h.host
		}
		ck.Path = h.path
		ck.ExpectStatus = append([]int(nil), h.expectStatus...)
		ck.ExpectBody = h.expectBody
		ck.TLSVerify = h.protocol == "HTTPS" && h.tlsVerify
		if len(h.headers) > 0 {
			ck.Headers = make(map[string]string, len(h.headers))
			for k, v := range h.headers {
				ck.Headers[k] = v
			}
		}
	case "TCP":
		if ck.Port == 0 {
			ck.Port = 443
		}
	case "UDP":
		if ck.Port == 0 {
			ck.Port = 443
		}
		ck.Payload, ck.ExpectReply = h.payload, h.expect
	case "DNS":
		if ck.Port == 0 {
			ck.Port = 53
		}
		ck.DNSName, ck.DNSType = h.queryName, h.queryType
	case "ICMP":
		ck.Port = 0
	}
	return ck
}

// formatDuration formats a duration without zero minutes and seconds (2h, not
// 2h0m0s).
func formatDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// badURLRune is a rune a path or host may not hold as written.
func badURLRune(r rune) bool { return r <= ' ' || r == 0x7f }

// validHost reports whether s can be an HTTP Host header and TLS server
// name: a host name or an address, with an optional port.
func validHost(s string) bool {
	if s == "" || strings.IndexFunc(s, badURLRune) >= 0 {
		return false
	}
	return !strings.ContainsAny(s, "/?#@\\\"")
}

// notTokenRune is a rune an HTTP header name may not hold (RFC 9110
// token).
func notTokenRune(r rune) bool {
	switch {
	case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
		return false
	}
	return !strings.ContainsRune("!#$%&'*+-.^_`|~", r)
}

// metaType reports types a probe cannot ask for: query-only and
// meta types.
func metaType(t uint16) bool {
	switch t {
	case dns.TypeNone, dns.TypeReserved, dns.TypeOPT, dns.TypeTSIG, dns.TypeTKEY,
		dns.TypeIXFR, dns.TypeAXFR, dns.TypeMAILA, dns.TypeMAILB, dns.TypeANY:
		return true
	}
	return false
}
