// Package config reads the server's YAML configuration strictly: an unknown
// key, a bad value or a missing field is a problem with its path:line:col,
// and relative paths resolve against the config file's folder.
package config

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/miekg/dns"
	"gopkg.in/yaml.v3"

	"github.com/smartdns/smartdns/internal/diag"
	"github.com/smartdns/smartdns/internal/yamlx"
)

// Config is the server configuration. The yaml tags are the contract that
// operators write; keep them, extend rather than rename.
type Config struct {
	// Listen lists the addresses to serve DNS on, UDP and TCP on each.
	Listen []string `yaml:"listen"`
	// Zones is the folder of zone files.
	Zones string `yaml:"zones"`
	// Data is the bbolt file holding state that must survive restarts.
	Data string `yaml:"data"`
	// Nameservers are the apex NS names used when a zone gives none; the
	// first is the synthesized SOA's mname.
	Nameservers []string `yaml:"nameservers"`
	SOA         SOA      `yaml:"soa"`
	// MaxUDPSize caps the EDNS(0) UDP payload size we answer with (RFC 6891;
	// 1232 avoids IP fragmentation, DNS Flag Day 2020).
	MaxUDPSize int    `yaml:"max_udp_size"`
	TCP        TCP    `yaml:"tcp"`
	Reload     Reload `yaml:"reload"`
	Log        Log    `yaml:"log"`
	Workers    int    `yaml:"udp_workers"`
	// ECS turns the EDNS Client Subnet option on (default) or off: with
	// `ecs: false` dynamic answers go by the query's source address.
	ECS    *bool  `yaml:"ecs"`
	GeoIP  GeoIP  `yaml:"geoip"`
	Probes Probes `yaml:"probes"`
	// HTTP is the address of the HTTP listener: load reports now; metrics
	// and the status API later. None when empty.
	HTTP string `yaml:"http"`
	// TLS makes the HTTP listener HTTPS.
	TLS TLS `yaml:"tls"`
	// Sites are the sites allowed to report load, with their keys.
	Sites   map[string]Site `yaml:"sites"`
	Reports Reports         `yaml:"reports"`
	// API protects the status API's writes.
	API API `yaml:"api"`
	// QueryLog logs queries (dnstap, JSON lines); off by default.
	QueryLog QueryLog `yaml:"query_log"`
	// Alias resolves apex ALIAS targets outside the served zones.
	Alias Alias `yaml:"alias"`
	// Identity is what the server tells of itself: NSID and CHAOS TXT.
	Identity Identity `yaml:"identity"`
	Path     string   `yaml:"-"` // the file this was read from
	Dir      string   `yaml:"-"` // its folder, against which relative paths resolve
}

// SOA holds the fields used when a zone has no SOA of its own.
type SOA struct {
	Mname   string        `yaml:"mname"`
	Rname   string        `yaml:"rname"`
	TTL     time.Duration `yaml:"ttl"`
	Refresh time.Duration `yaml:"refresh"`
	Retry   time.Duration `yaml:"retry"`
	Expire  time.Duration `yaml:"expire"`
	Minimum time.Duration `yaml:"minimum"`
}

// GeoIP names the MaxMind-format databases used by geo and ASN rules.
// With neither City nor Country, a built-in country database is used.
type GeoIP struct {
	City    string `yaml:"city"`
	Country string `yaml:"country"`
	ASN     string `yaml:"asn"`
}

// Alias configures the resolution of apex ALIAS targets that lie outside
// the served zones (a CDN or load balancer name). Without resolvers such an
// ALIAS is refused.
type Alias struct {
	// Resolvers are recursive resolvers (IP:port; a bare IP means port
	// 53), asked in order.
	Resolvers []string `yaml:"resolvers"`
	// Timeout bounds each question to one resolver.
	Timeout time.Duration `yaml:"timeout"`
	// MaxTTL caps how long an answer is cached (and the TTL answered).
	MaxTTL time.Duration `yaml:"max_ttl"`
	// ServeStale is how long past its expiry an answer is still served
	// while the resolvers fail; nil when not given (the default), 0 for
	// none.
	ServeStale *time.Duration `yaml:"serve_stale"`
}

// Identity is what the server answers about itself when asked; each is
// left out (nothing told) by default, since a version string helps an
// attacker more than an operator.
type Identity struct {
	// NSID is returned in the NSID option to queries asking for it
	// (RFC 5001, dig +nsid).
	NSID string `yaml:"nsid"`
	// Version answers version.bind and version.server (class CH, TXT).
	Version string `yaml:"version"`
	// ID answers id.server and hostname.bind (class CH, TXT).
	ID string `yaml:"id"`
}

// maxIdentityLen bounds each identity string: one TXT character-string
// (RFC 1035 §3.3) holds 255 bytes; NSID gets the same bound so that it
// never crowds an answer.
const maxIdentityLen = 255

// TLS names the certificate and key of the HTTP listener.
type TLS struct {
	Cert string `yaml:"cert"`
	Key  string `yaml:"key"`
}

// Site is a site that may report load: its HMAC key, inline or in a file,
// and the addresses its reports may name.
type Site struct {
	Key     string `yaml:"key"`
	KeyFile string `yaml:"key_file"`
	// Addresses are the addresses (192.0.2.1) and prefixes (192.0.2.0/28)
	// the site may report. Left out, it may report any address (the
	// server warns: a leaked key could then steer every address).
	Addresses []string `yaml:"addresses"`
	// Secret is the key's bytes, filled by Load.
	Secret []byte `yaml:"-"`
	// Prefixes are Addresses parsed, a single address as a /32 or /128;
	// nil when Addresses is left out. Filled by Load.
	Prefixes []netip.Prefix `yaml:"-"`
}

// API holds the bearer token that the status API's writes (overrides)
// need. Without one, writes are refused.
type API struct {
	Token     string `yaml:"token"`
	TokenFile string `yaml:"token_file"`
}

// Reports tunes how load reports are used.
type Reports struct {
	// StaleAfter: a report older than this no longer counts (default 30s).
	StaleAfter time.Duration `yaml:"stale_after"`
}

// Probes controls the health checks of dynamic records' `obey` values.
type Probes struct {
	// Enabled turns probing on (default). Off, `obey` values count as up
	// and nothing is probed (tests, and zones full of public addresses).
	Enabled *bool `yaml:"enabled"`
	// MaxInFlight bounds the checks running at once; 64 when zero.
	MaxInFlight int `yaml:"max_in_flight"`
}

// ProbesEnabled reports whether values are health-checked.
func (c *Config) ProbesEnabled() bool { return c.Probes.Enabled == nil || *c.Probes.Enabled }

// ECSEnabled reports whether the EDNS Client Subnet option is honoured.
func (c *Config) ECSEnabled() bool { return c.ECS == nil || *c.ECS }

// TCP bounds the resources TCP clients may hold (RFC 7766 §6.2).
type TCP struct {
	IdleTimeout    time.Duration `yaml:"idle_timeout"`
	MaxConnections int           `yaml:"max_connections"`
	// MaxConnectionsPerClient bounds one client address's connections
	// (an IPv6 client by its /64), so that no one client takes them all.
	MaxConnectionsPerClient int `yaml:"max_connections_per_client"`
}

// Reload controls how zone file changes are noticed.
type Reload struct {
	// Interval is how often the zones folder is scanned for changes.
	Interval time.Duration `yaml:"interval"`
}

// Log selects the log level and format.
type Log struct {
	Level  string `yaml:"level"`
	Format string `yaml:"format"`
}

// Load reads and validates the config file at path. The returned problems
// (all of them, each with path:line:col) are errors unless marked warnings.
func Load(path string) (*Config, diag.Problems) {
	data, probs := yamlx.ReadFile(path)
	if probs != nil {
		return nil, probs
	}
	return Parse(path, data)
}

// Parse is Load for bytes already read.
func Parse(path string, data []byte) (*Config, diag.Problems) {
	c := &Config{Path: path, Dir: filepath.Dir(path)}
	file, ok := yamlx.DecodeFile(path, data, c, "need at least listen and zones")
	if !ok {
		return nil, file.Problems
	}
	probs, root, at, pos := file.Problems, file.Root, file.At, file.Pos
	if len(c.Listen) == 0 {
		probs.Add(pos(), "listen: at least one address is required (e.g. [127.0.0.1:5353])")
	}
	for i, l := range c.Listen {
		if _, err := netip.ParseAddrPort(l); err != nil {
			p := pos("listen")
			if n := yamlx.Find(root, "listen"); n != nil && n.Kind == yaml.SequenceNode && i < len(n.Content) {
				p = at(n.Content[i].Line, n.Content[i].Column)
			}
			probs.Add(p, "listen: %q is not an IP:port (%v)", l, err)
		}
	}
	if c.Zones == "" {
		probs.Add(pos(), "zones: the folder of zone files is required")
	} else {
		c.Zones = c.resolve(c.Zones)
		if st, err := os.Stat(c.Zones); err != nil || !st.IsDir() {
			probs.Add(pos("zones"), "zones: %s is not a folder", c.Zones)
		}
	}
	if c.Data == "" {
		c.Data = "smartdns.db"
	}
	c.Data = c.resolve(c.Data)
	for key, p := range map[string]*string{"city": &c.GeoIP.City, "country": &c.GeoIP.Country, "asn": &c.GeoIP.ASN} {
		if *p == "" {
			continue
		}
		*p = c.resolve(*p)
		if st, err := os.Stat(*p); err != nil || st.IsDir() {
			probs.Add(pos("geoip", key), "geoip.%s: %s is not a readable file", key, *p)
		}
	}
	for i, ns := range c.Nameservers {
		if _, ok := dns.IsDomainName(ns); !ok || !dns.IsFqdn(ns) {
			probs.Add(pos("nameservers"), "nameservers[%d]: %q must be a fully qualified name ending in a dot", i, ns)
		}
		c.Nameservers[i] = strings.ToLower(ns)
	}
	// What is left unset stays zero: each component applies its own
	// default (docs/configuration.md lists them; test/docs checks the list
	// against the code).
	for key, name := range map[string]*string{"mname": &c.SOA.Mname, "rname": &c.SOA.Rname} {
		if *name == "" {
			continue
		}
		if _, ok := dns.IsDomainName(*name); !ok || !dns.IsFqdn(*name) {
			probs.Add(pos("soa", key), "soa.%s: %q must be a fully qualified name ending in a dot", key, *name)
		}
	}
	for _, d := range []struct {
		key []string
		v   time.Duration
	}{
		{[]string{"soa", "ttl"}, c.SOA.TTL}, {[]string{"soa", "refresh"}, c.SOA.Refresh}, {[]string{"soa", "retry"}, c.SOA.Retry},
		{[]string{"soa", "expire"}, c.SOA.Expire}, {[]string{"soa", "minimum"}, c.SOA.Minimum},
		{[]string{"tcp", "idle_timeout"}, c.TCP.IdleTimeout}, {[]string{"reload", "interval"}, c.Reload.Interval},
		{[]string{"reports", "stale_after"}, c.Reports.StaleAfter},
	} {
		if d.v < 0 {
			probs.Add(pos(d.key...), "%s: %s is negative (leave it out for the default)", strings.Join(d.key, "."), d.v)
		}
	}
	if c.TCP.MaxConnections < 0 {
		probs.Add(pos("tcp", "max_connections"), "tcp.max_connections: %d is negative (leave it out for the default)", c.TCP.MaxConnections)
	}
	if c.TCP.MaxConnectionsPerClient < 0 {
		probs.Add(pos("tcp", "max_connections_per_client"), "tcp.max_connections_per_client: %d is negative (leave it out for the default)", c.TCP.MaxConnectionsPerClient)
	}
	if c.HTTP != "" {
		if _, err := netip.ParseAddrPort(c.HTTP); err != nil {
			probs.Add(pos("http"), "http: %q is not an IP:port (%v)", c.HTTP, err)
		}
	}
	if (c.TLS.Cert == "") != (c.TLS.Key == "") {
		probs.Add(pos("tls"), "tls: give both cert and key")
	}
	for key, p := range map[string]*string{"cert": &c.TLS.Cert, "key": &c.TLS.Key} {
		if *p == "" {
			continue
		}
		*p = c.resolve(*p)
		if _, err := os.Stat(*p); err != nil {
			probs.Add(pos("tls", key), "tls.%s: %v", key, err)
		}
	}
	for name, site := range c.Sites {
		at := pos("sites", name)
		switch {
		case site.Key != "" && site.KeyFile != "":
			probs.Add(at, "sites.%s: give key or key_file, not both", name)
		case site.Key != "":
			site.Secret = []byte(site.Key)
		case site.KeyFile != "":
			site.KeyFile = c.resolve(site.KeyFile)
			b, err := os.ReadFile(site.KeyFile)
			if err != nil {
				probs.Add(at, "sites.%s.key_file: %v", name, err)
				continue
			}
			site.Secret = []byte(strings.TrimSpace(string(b)))
		default:
			probs.Add(at, "sites.%s: a key (key or key_file) is required", name)
		}
		if site.Secret != nil && len(site.Secret) < 16 {
			probs.Add(at, "sites.%s: the key is %d bytes; use at least 16 (e.g. openssl rand -hex 32)", name, len(site.Secret))
		}
		site.Prefixes = parseSiteAddresses(name, site.Addresses, yamlx.Find(root, "sites", name, "addresses"), pos("sites", name), file.At, &probs)
		c.Sites[name] = site
	}
	switch {
	case c.API.Token != "" && c.API.TokenFile != "":
		probs.Add(pos("api"), "api: give token or token_file, not both")
	case c.API.TokenFile != "":
		c.API.TokenFile = c.resolve(c.API.TokenFile)
		b, err := os.ReadFile(c.API.TokenFile)
		if err != nil {
			probs.Add(pos("api", "token_file"), "api.token_file: %v", err)
		} else {
			c.API.Token = strings.TrimSpace(string(b))
		}
	}
	if c.API.Token != "" {
		if len(c.API.Token) < 16 {
			probs.Add(pos("api"), "api: the token is %d bytes; use at least 16 (e.g. openssl rand -hex 32)", len(c.API.Token))
		}
		if c.HTTP == "" {
			probs.Warn(pos("api"), "api: a token is set but there is no http listener to use it on")
		} else if ap, err := netip.ParseAddrPort(c.HTTP); err == nil && !ap.Addr().IsLoopback() && c.TLS.Cert == "" {
			probs.Warn(pos("api"), "api: the token travels in clear over plain HTTP on %s; set tls or listen on loopback", c.HTTP)
		}
	}
	if err := c.QueryLog.Validate(); err != nil {
		for _, line := range strings.Split(err.Error(), "\n") {
			probs.Add(pos("query_log"), "%s", line)
		}
	}
	for _, p := range []*string{&c.QueryLog.JSON, &c.QueryLog.Dnstap.File, &c.QueryLog.Dnstap.Socket} {
		if *p != "" {
			*p = c.resolve(*p)
		}
	}
	probs = append(probs, c.parseAlias(root, at)...)
	for key, v := range map[string]string{"nsid": c.Identity.NSID, "version": c.Identity.Version, "id": c.Identity.ID} {
		if len(v) > maxIdentityLen {
			probs.Add(pos("identity", key), "identity.%s: %d bytes, more than %d", key, len(v), maxIdentityLen)
		}
	}
	if c.Probes.MaxInFlight < 0 {
		probs.Add(pos("probes", "max_in_flight"), "probes.max_in_flight: %d must be positive", c.Probes.MaxInFlight)
	}
	if c.Probes.MaxInFlight < 0 {
		probs.Add(pos("probes", "max_in_flight"), "probes.max_in_flight: %d is negative (leave it out for the default)", c.Probes.MaxInFlight)
	}
	if c.MaxUDPSize != 0 && (c.MaxUDPSize < 512 || c.MaxUDPSize > 65535) {
		probs.Add(pos("max_udp_size"), "max_udp_size: %d is outside 512..65535", c.MaxUDPSize)
	}
	switch strings.ToLower(c.Log.Level) {
	case "", "debug", "info", "warn", "warning", "error":
	default:
		probs.Add(pos("log", "level"), "log.level: %q is not one of debug, info, warn, error", c.Log.Level)
	}
	switch c.Log.Format {
	case "", "text", "json":
	default:
		probs.Add(pos("log", "format"), "log.format: %q is not text or json", c.Log.Format)
	}
	sort.SliceStable(probs, func(i, j int) bool {
		a, b := probs[i].Pos, probs[j].Pos
		return a.Line < b.Line || a.Line == b.Line && a.Col < b.Col
	})
	if probs.HasErrors() {
		return nil, probs
	}
	return c, probs
}

// parseSiteAddresses parses a site's addresses (list is their YAML node,
// nil when left out), each an address or a prefix with no bits set past
// its length. It returns nil when addresses is left out.
func parseSiteAddresses(site string, addresses []string, list *yaml.Node, sitePos diag.Pos, at func(line, col int) diag.Pos, probs *diag.Problems) []netip.Prefix {
	if list == nil {
		return nil
	}
	if len(addresses) == 0 {
		probs.Add(at(list.Line, list.Column), "sites.%s.addresses: empty; list the addresses the site may report, or leave the key out to allow any", site)
		return nil
	}
	out := make([]netip.Prefix, 0, len(addresses))
	for i, a := range addresses {
		p := sitePos
		if list.Kind == yaml.SequenceNode && i < len(list.Content) {
			p = at(list.Content[i].Line, list.Content[i].Column)
		}
		var pfx netip.Prefix
		if strings.Contains(a, "/") {
			var err error
			pfx, err = netip.ParsePrefix(a)
			if err != nil {
				probs.Add(p, "sites.%s.addresses: %q is not an address or prefix (%v)", site, a, err)
				continue
			}
			if pfx.Addr().Is4In6() {
				probs.Add(p, "sites.%s.addresses: %q is an IPv4-mapped prefix; write it as IPv4", site, a)
				continue
			}
			if m := pfx.Masked(); m != pfx {
				probs.Add(p, "sites.%s.addresses: %q has bits set past /%d; did you mean %s?", site, a, pfx.Bits(), m)
				continue
			}
		} else {
			ip, err := netip.ParseAddr(a)
			if err != nil || ip.Zone() != "" {
				probs.Add(p, "sites.%s.addresses: %q is not an address or prefix", site, a)
				continue
			}
			ip = ip.Unmap()
			pfx = netip.PrefixFrom(ip, ip.BitLen())
		}
		out = append(out, pfx)
	}
	return out
}

// parseAlias checks the alias section and fills its defaults.
func (c *Config) parseAlias(root *yaml.Node, at func(line, col int) diag.Pos) diag.Problems {
	var probs diag.Problems
	pos := func(key ...string) diag.Pos {
		if n := yamlx.Find(root, append([]string{"alias"}, key...)...); n != nil {
			return at(n.Line, n.Column)
		}
		return at(1, 1)
	}
	a := &c.Alias
	list := yamlx.Find(root, "alias", "resolvers")
	for i, r := range a.Resolvers {
		p := pos("resolvers")
		if list != nil && list.Kind == yaml.SequenceNode && i < len(list.Content) {
			p = at(list.Content[i].Line, list.Content[i].Column)
		}
		if ip, err := netip.ParseAddr(r); err == nil {
			a.Resolvers[i] = netip.AddrPortFrom(ip, 53).String()
		} else if _, err := netip.ParseAddrPort(r); err != nil {
			probs.Add(p, "alias.resolvers: %q is not an IP or IP:port", r)
		}
	}
	stale := time.Duration(0)
	if a.ServeStale != nil {
		stale = *a.ServeStale
	}
	for key, d := range map[string]*time.Duration{"timeout": &a.Timeout, "max_ttl": &a.MaxTTL, "serve_stale": &stale} {
		if *d < 0 {
			probs.Add(pos(key), "alias.%s: %v must not be negative", key, *d)
		}
	}
	if a.MaxTTL > 0 && a.MaxTTL < time.Second {
		probs.Add(pos("max_ttl"), "alias.max_ttl: %v is below one second", a.MaxTTL)
	}
	return probs
}

func (c *Config) resolve(p string) string {
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(c.Dir, p)
}

// String summarises the config for logs.
func (c *Config) String() string {
	return fmt.Sprintf("listen=%v zones=%s data=%s", c.Listen, c.Zones, c.Data)
}
