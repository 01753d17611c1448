package docs

import (
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/smartdns/smartdns/dns"
	"github.com/smartdns/smartdns/dns/alias"
	"github.com/smartdns/smartdns/internal/config"
	"github.com/smartdns/smartdns/loadreport/receiver"
	"github.com/smartdns/smartdns/pool"
	"github.com/smartdns/smartdns/probes"
	"github.com/smartdns/smartdns/zones"
)

// Each default is defined once, by the component that applies it; the
// config leaves unset keys zero. docs/configuration.md lists every default
// once: this test holds the list to the code.
func TestConfigDefaultsMatchTheCode(t *testing.T) {
	sec := func(s uint32) time.Duration { return time.Duration(s) * time.Second }
	want := map[string]string{
		"soa.ttl":                        dur(sec(zones.DefaultSOA.TTL)),
		"soa.refresh":                    dur(sec(zones.DefaultSOA.Refresh)),
		"soa.retry":                      dur(sec(zones.DefaultSOA.Retry)),
		"soa.expire":                     dur(sec(zones.DefaultSOA.Expire)),
		"soa.minimum":                    dur(sec(zones.DefaultSOA.Minimum)),
		"max_udp_size":                   fmt.Sprint(dns.DefaultMaxUDPSize),
		"tcp.idle_timeout":               dur(dns.DefaultTCPIdleTimeout),
		"tcp.max_connections":            fmt.Sprint(dns.DefaultMaxTCPConns),
		"tcp.max_connections_per_client": fmt.Sprint(dns.DefaultMaxTCPConnsPerClient),
		"reload.interval":                dur(zones.DefaultReloadInterval),
		"probes.max_in_flight":           fmt.Sprint(probes.DefaultMaxInFlight),
		"query_log.buffer":               fmt.Sprint(config.DefaultQueryLogBuffer),
		"alias.timeout":                  dur(alias.DefaultTimeout),
		"alias.max_ttl":                  dur(alias.DefaultMaxTTL),
		"alias.serve_stale":              dur(alias.DefaultServeStale),
		"reports.stale_after":            dur(receiver.DefaultStaleAfter),
	}
	got := documentedDefaults(t, "../../docs/configuration.md")
	for key, w := range want {
		g, ok := got[key]
		switch {
		case !ok:
			t.Errorf("docs/configuration.md does not list the default of %s (the code's is %s)", key, w)
		case g != w:
			t.Errorf("docs/configuration.md says %s defaults to %s; the code says %s", key, g, w)
		}
	}
}

// The defaults of a zone's health check, in docs/zone-format.md, are the
// ones the reader and the prober apply.
func TestHealthCheckDefaultsMatchTheCode(t *testing.T) {
	want := map[string]string{
		"interval": dur(pool.DefaultCheckInterval),
		"timeout":  dur(pool.DefaultCheckTimeout),
		"rise":     fmt.Sprint(pool.DefaultCheckRise),
		"fall":     fmt.Sprint(pool.DefaultCheckFall),
	}
	got := documentedDefaults(t, "../../docs/zone-format.md")
	for key, w := range want {
		if g := got[key]; g != w {
			t.Errorf("docs/zone-format.md says healthcheck %s defaults to %q; the code says %s", key, g, w)
		}
	}
}

// rowRE is a row of a key table: | `key`, `key` | `default`, ... | meaning |
var rowRE = regexp.MustCompile("(?m)^\\| (`[^|]+`) \\| ([^|]+) \\|")

// documentedDefaults reads the key tables of a doc: key -> default as
// written (the first backquoted value; rows of several keys list their
// defaults in the same order).
func documentedDefaults(t *testing.T, path string) map[string]string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	tick := regexp.MustCompile("`([^`]*)`")
	out := map[string]string{}
	for _, m := range rowRE.FindAllStringSubmatch(string(data), -1) {
		keys := tick.FindAllStringSubmatch(m[1], -1)
		defs := tick.FindAllStringSubmatch(m[2], -1)
		for i, k := range keys {
			if _, dup := out[k[1]]; dup {
				t.Errorf("%s lists %s twice", path, k[1])
			}
			switch {
			case len(defs) == len(keys):
				out[k[1]] = defs[i][1]
			case len(defs) > 0:
				out[k[1]] = defs[0][1]
			default:
				out[k[1]] = strings.TrimSpace(m[2])
			}
		}
	}
	return out
}

// dur writes a duration as the docs do: 2h, 5m, 10s, 336h.
func dur(d time.Duration) string {
	s := d.String()
	s = strings.TrimSuffix(s, "0s")
	s = strings.TrimSuffix(s, "0m")
	if s == "" {
		return "0s"
	}
	if strings.HasSuffix(s, "h") || strings.HasSuffix(s, "m") || strings.HasSuffix(s, "s") {
		return s
	}
	return d.String()
}

// The least-loaded defaults docs/load-reports.md shows are the ones
// package pool applies.
func TestLeastLoadedDefaultsMatchTheCode(t *testing.T) {
	data, err := os.ReadFile("../../docs/load-reports.md")
	if err != nil {
		t.Fatal(err)
	}
	shed := regexp.MustCompile(`shed: \{high: ([0-9.]+), low: ([0-9.]+)\}\s+# defaults`).FindStringSubmatch(string(data))
	slow := regexp.MustCompile(`slow_start: (\S+)\s+# default`).FindStringSubmatch(string(data))
	if shed == nil || slow == nil {
		t.Fatal("docs/load-reports.md no longer shows the shed and slow_start defaults")
	}
	if shed[1] != fmt.Sprint(pool.DefaultShedHigh) || shed[2] != fmt.Sprint(pool.DefaultShedLow) {
		t.Errorf("docs say shed high %s, low %s; the code says %v, %v", shed[1], shed[2], pool.DefaultShedHigh, pool.DefaultShedLow)
	}
	if slow[1] != dur(pool.DefaultSlowStart) {
		t.Errorf("docs say slow_start %s; the code says %s", slow[1], dur(pool.DefaultSlowStart))
	}
}
