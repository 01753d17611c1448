package config

import (
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func writeConfig(t *testing.T, body string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "zones"), 0o755); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "smartdns.yaml")
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// The example from the issue must work as written, with relative paths
// resolved against the config's folder; what it leaves out stays unset,
// for each component's own default (test/docs checks those against
// docs/configuration.md).
func TestIssueExample(t *testing.T) {
	p := writeConfig(t, `listen: [127.0.0.1:5353]      # UDP and TCP on each
zones: zones                  # folder of zone files
data: smartdns.db             # bbolt file: state that must survive restarts
nameservers: [ns1.example.com., ns2.example.com.]   # apex NS when a zone gives none
soa:
  rname: hostmaster.example.com.
`)
	c, probs := Load(p)
	if c == nil || len(probs) > 0 {
		t.Fatalf("problems: %v", probs)
	}
	dir := filepath.Dir(p)
	if c.Zones != filepath.Join(dir, "zones") || c.Data != filepath.Join(dir, "smartdns.db") {
		t.Errorf("paths not resolved against the config folder: zones=%s data=%s", c.Zones, c.Data)
	}
	if c.SOA.Mname != "" || c.SOA.Rname != "hostmaster.example.com." {
		t.Errorf("soa: %+v", c.SOA)
	}
	if c.MaxUDPSize != 0 || c.TCP.IdleTimeout != 0 || c.TCP.MaxConnections != 0 || c.TCP.MaxConnectionsPerClient != 0 || c.SOA.Minimum != 0 || c.Reports.StaleAfter != 0 {
		t.Errorf("unset keys were filled in by the config: %+v", c)
	}
}

func TestProblems(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		want       []string // substrings, each with its position
	}{
		{"negative durations and counts", "listen: [127.0.0.1:53]\nzones: zones\ntcp: {idle_timeout: -1s, max_connections: -2, max_connections_per_client: -3}\nreports: {stale_after: -5s}\n",
			[]string{`tcp.idle_timeout: -1s is negative`, `tcp.max_connections: -2 is negative`, `:3:75: tcp.max_connections_per_client: -3 is negative`, `reports.stale_after: -5s is negative`}},
		{"unknown top-level key", "listen: [127.0.0.1:53]\nzones: zones\nlisten_typo: 1\n",
			[]string{`:3:1: unknown key "listen_typo" in top level`}},
		{"unknown nested key", "listen: [127.0.0.1:53]\nzones: zones\nsoa:\n  rnmae: x.\n",
			[]string{`:4:3: unknown key "rnmae" in soa`}},
		{"all problems, not only the first", "listen: [nope]\nzones: missing\nlog: {level: loud}\nmax_udp_size: 100\n",
			[]string{`:1:10: listen: "nope" is not an IP:port`, `:2:8: zones:`, `:3:14: log.level: "loud"`, `:4:15: max_udp_size: 100`}},
		{"wrong type", "listen: [127.0.0.1:53]\nzones: zones\ntcp:\n  max_connections: many\n",
			[]string{`:4:`}},
		{"name not fully qualified", "listen: [127.0.0.1:53]\nzones: zones\nnameservers: [ns1.example.com]\n",
			[]string{`nameservers[0]: "ns1.example.com" must be a fully qualified name`}},
		{"syntax error", "listen: [127.0.0.1:53\nzones: zones\n", []string{`:`}},
		{"missing listen", "zones: zones\n", []string{`listen: at least one address is required`}},
		{"short api token", "listen: [127.0.0.1:53]\nzones: zones\nhttp: 127.0.0.1:8053\napi:\n  token: short\n",
			[]string{`:5:3: api: the token is 5 bytes`}},
		{"api token and token_file", "listen: [127.0.0.1:53]\nzones: zones\napi: {token: 0123456789abcdef, token_file: t}\n",
			[]string{`:3:6: api: give token or token_file, not both`}},
		{"api token_file missing", "listen: [127.0.0.1:53]\nzones: zones\napi: {token_file: nope}\n",
			[]string{`:3:19: api.token_file:`}},
		{"query log sample", "listen: [127.0.0.1:53]\nzones: zones\nquery_log:\n  json: q.jsonl\n  sample: 1.5\n",
			[]string{`:4:3: query_log.sample: must be in (0, 1], got 1.5`}},
		{"query log two dnstap outputs", "listen: [127.0.0.1:53]\nzones: zones\nquery_log: {dnstap: {socket: s, file: f}}\n",
			[]string{`query_log.dnstap: give socket or file, not both`}},
		{"alias resolver not an address", "listen: [127.0.0.1:53]\nzones: zones\nalias:\n  resolvers: [127.0.0.1:53, resolver.example]\n",
			[]string{`:4:29: alias.resolvers: "resolver.example" is not an IP or IP:port`}},
		{"alias negative timeout", "listen: [127.0.0.1:53]\nzones: zones\nalias: {resolvers: [127.0.0.1], timeout: -1s}\n",
			[]string{`:3:42: alias.timeout: -1s must not be negative`}},
		{"alias unknown key", "listen: [127.0.0.1:53]\nzones: zones\nalias: {resolver: [127.0.0.1]}\n",
			[]string{`unknown key "resolver" in alias`}},
		{"identity nsid not a string", "listen: [127.0.0.1:53]\nzones: zones\nidentity:\n  nsid: [a, b]\n",
			[]string{`:4:1: cannot unmarshal !!seq into string`}},
		{"identity version a map", "listen: [127.0.0.1:53]\nzones: zones\nidentity: {version: {x: 1}}\n",
			[]string{`:3:1: cannot unmarshal !!map into string`}},
		{"identity unknown key", "listen: [127.0.0.1:53]\nzones: zones\nidentity: {hostname: h}\n",
			[]string{`:3:12: unknown key "hostname" in identity`}},
		{"identity id too long", "listen: [127.0.0.1:53]\nzones: zones\nidentity:\n  id: " + strings.Repeat("x", 256) + "\n",
			[]string{`:4:7: identity.id: 256 bytes, more than 255`}},
		{"query log unknown key", "listen: [127.0.0.1:53]\nzones: zones\nquery_log: {jsn: q}\n",
			[]string{`unknown key "jsn" in query_log`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := writeConfig(t, tc.body)
			c, probs := Load(p)
			if c != nil {
				t.Fatalf("config accepted; want problems %v", tc.want)
			}
			text := probs.Error()
			for _, w := range tc.want {
				if !strings.Contains(text, w) {
					t.Errorf("problems lack %q:\n%s", w, text)
				}
			}
			for _, pr := range probs {
				if !strings.HasPrefix(pr.Error(), p+":") {
					t.Errorf("problem without the file's path: %s", pr.Error())
				}
			}
		})
	}
}

func TestAPIAndQueryLog(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "token"), []byte("0123456789abcdef0123\n"), 0o600)
	p := writeConfigIn(t, dir, "listen: [127.0.0.1:53]\nzones: .\nhttp: 127.0.0.1:8053\napi: {token_file: token}\nquery_log: {json: q.jsonl, sample: 0.5, dnstap: {file: q.dnstap}}\n")
	c, probs := Load(p)
	if c == nil {
		t.Fatal(probs)
	}
	if c.API.Token != "0123456789abcdef0123" {
		t.Errorf("token %q", c.API.Token)
	}
	if c.QueryLog.JSON != filepath.Join(dir, "q.jsonl") || c.QueryLog.Dnstap.File != filepath.Join(dir, "q.dnstap") || c.QueryLog.Sample != 0.5 {
		t.Errorf("query log %+v", c.QueryLog)
	}
	p = writeConfigIn(t, dir, "listen: [127.0.0.1:53]\nzones: .\nhttp: 0.0.0.0:8053\napi: {token: 0123456789abcdef}\n")
	c, probs = Load(p)
	if c == nil || !strings.Contains(probs.Error(), "travels in clear") {
		t.Errorf("no warning for a token over plain HTTP on a public address: %v", probs)
	}
}

func writeConfigIn(t *testing.T, dir, body string) string {
	t.Helper()
	p := filepath.Join(dir, "smartdns.yaml")
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// The alias section as the issue writes it; what it leaves out stays unset
// (the cache's defaults apply), an explicit serve_stale: 0s is kept, and a
// bare IP takes port 53.
func TestAlias(t *testing.T) {
	hour, zero := time.Hour, time.Duration(0)
	for _, tc := range []struct {
		name, body string
		want       Alias
	}{
		{"as the issue writes it", "alias: {resolvers: [\"127.0.0.1:53\"], timeout: 2s, max_ttl: 300s, serve_stale: 1h}\n",
			Alias{Resolvers: []string{"127.0.0.1:53"}, Timeout: 2 * time.Second, MaxTTL: 300 * time.Second, ServeStale: &hour}},
		{"unset, bare IPs", "alias:\n  resolvers: [127.0.0.2, \"::1\", \"[::1]:5300\"]\n",
			Alias{Resolvers: []string{"127.0.0.2:53", "[::1]:53", "[::1]:5300"}}},
		{"no stale answers", "alias: {resolvers: [127.0.0.1], serve_stale: 0s}\n",
			Alias{Resolvers: []string{"127.0.0.1:53"}, ServeStale: &zero}},
		{"absent", "", Alias{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, probs := Load(writeConfig(t, "listen: [127.0.0.1:53]\nzones: zones\n"+tc.body))
			if c == nil || len(probs) > 0 {
				t.Fatalf("problems: %v", probs)
			}
			if got := c.Alias; !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("alias = %+v, want %+v", got, tc.want)
			}
		})
	}
}

// Port 0 lets the system pick a free port (tests, a second instance); the
// server logs the ports it bound.
func TestPortZero(t *testing.T) {
	p := writeConfig(t, `listen: [127.0.0.1:0, "[::1]:0"]
http: 127.0.0.1:0
zones: zones
data: smartdns.db
nameservers: [ns1.example.com.]
soa: {rname: hostmaster.example.com.}
`)
	c, probs := Load(p)
	if c == nil || len(probs) > 0 {
		t.Fatalf("problems: %v", probs)
	}
	if strings.Join(c.Listen, ",") != "127.0.0.1:0,[::1]:0" || c.HTTP != "127.0.0.1:0" {
		t.Fatalf("listen %v http %q", c.Listen, c.HTTP)
	}
}

// sites.<name>.addresses takes addresses and prefixes; each bad one is an
// error at its own position, and leaving the key out allows any address
// (Prefixes nil).
func TestSiteAddresses(t *testing.T) {
	const head = "listen: [127.0.0.1:53]\nzones: zones\nsites:\n"
	const key = "0123456789abcdef"
	for _, tc := range []struct {
		name, body string
		want       []netip.Prefix
		errs       []string
	}{
		{"addresses and prefixes", "  fra:\n    key: " + key + "\n    addresses: [192.0.2.0/28, 2001:db8::1, 198.51.100.7, '::ffff:203.0.113.1', 2001:db8:1::/48]\n",
			[]netip.Prefix{netip.MustParsePrefix("192.0.2.0/28"), netip.MustParsePrefix("2001:db8::1/128"), netip.MustParsePrefix("198.51.100.7/32"),
				netip.MustParsePrefix("203.0.113.1/32"), netip.MustParsePrefix("2001:db8:1::/48")}, nil},
		{"left out", "  fra:\n    key: " + key + "\n", nil, nil},
		{"block list", "  fra:\n    key: " + key + "\n    addresses:\n      - 192.0.2.1\n      - nope\n      - 192.0.2.1/33\n",
			nil, []string{`:8:9: sites.fra.addresses: "nope" is not an address or prefix`, `:9:9: sites.fra.addresses: "192.0.2.1/33" is not an address or prefix`}},
		{"host bits", "  fra: {key: " + key + ", addresses: [192.0.2.1/28]}\n",
			nil, []string{`:4:44: sites.fra.addresses: "192.0.2.1/28" has bits set past /28; did you mean 192.0.2.0/28?`}},
		{"zone", "  fra: {key: " + key + ", addresses: ['fe80::1%eth0']}\n",
			nil, []string{`:4:44: sites.fra.addresses: "fe80::1%eth0" is not an address or prefix`}},
		{"mapped prefix", "  fra: {key: " + key + ", addresses: ['::ffff:192.0.2.0/120']}\n",
			nil, []string{`:4:44: sites.fra.addresses: "::ffff:192.0.2.0/120" is an IPv4-mapped prefix`}},
		{"empty", "  fra: {key: " + key + ", addresses: []}\n",
			nil, []string{`:4:43: sites.fra.addresses: empty`}},
		{"not a list", "  fra: {key: " + key + ", addresses: 192.0.2.1}\n",
			nil, []string{`:4:`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, probs := Load(writeConfig(t, head+tc.body))
			if tc.errs == nil {
				if c == nil || probs.HasErrors() {
					t.Fatalf("problems: %v", probs)
				}
				if got := c.Sites["fra"].Prefixes; !reflect.DeepEqual(got, tc.want) {
					t.Fatalf("prefixes %v, want %v", got, tc.want)
				}
				return
			}
			if c != nil {
				t.Fatal("config with errors returned")
			}
			msgs := probs.Error()
			for _, w := range tc.errs {
				if !strings.Contains(msgs, w) {
					t.Errorf("missing %q in:\n%s", w, msgs)
				}
			}
		})
	}
}

// The identity strings reach the DNS handler as written.
func TestIdentity(t *testing.T) {
	p := writeConfig(t, "listen: [127.0.0.1:53]\nzones: zones\nidentity: {nsid: ns1.example.net, version: \"smartdns 1\", id: ns1}\n")
	c, probs := Load(p)
	if c == nil || len(probs) > 0 {
		t.Fatalf("problems: %v", probs)
	}
	if want := (Identity{NSID: "ns1.example.net", Version: "smartdns 1", ID: "ns1"}); c.Identity != want {
		t.Errorf("identity = %+v, want %+v", c.Identity, want)
	}
}
