package config

import (
	"os"
	"path/filepath"
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
// resolved against the config's folder and the documented defaults.
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
	if c.SOA.Mname != "ns1.example.com." || c.SOA.Rname != "hostmaster.example.com." {
		t.Errorf("soa: %+v", c.SOA)
	}
	if c.MaxUDPSize != 1232 || c.TCP.IdleTimeout != 10*time.Second || c.TCP.MaxConnections != 1024 || c.SOA.Minimum != 5*time.Minute {
		t.Errorf("defaults: %+v", c)
	}
}

func TestProblems(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		want       []string // substrings, each with its position
	}{
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
