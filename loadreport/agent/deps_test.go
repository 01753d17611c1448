package agent

import (
	"os/exec"
	"strings"
	"testing"
)

// The agent runs on the sites' machines: `smartdns agent` must not link
// the server's storage, GeoIP, pool or zones. go list -deps shows what the
// package links (its tests' imports aside).
func TestAgentLinksNoServerPackage(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps: %v\n%s", err, out)
	}
	forbidden := []string{
		"go.etcd.io/bbolt",
		"github.com/oschwald/geoip2-golang",
		"github.com/oschwald/maxminddb-golang",
		"github.com/smartdns/smartdns/pool",
		"github.com/smartdns/smartdns/zones",
		"github.com/smartdns/smartdns/probes",
		"github.com/smartdns/smartdns/geo",
		"github.com/smartdns/smartdns/internal/store",
	}
	// Beyond the standard library and golang.org/x, only these may be
	// linked (exactly: loadreport/receiver is not allowed by loadreport).
	allowed := map[string]bool{
		"github.com/smartdns/smartdns/loadreport":       true,
		"github.com/smartdns/smartdns/loadreport/agent": true,
		"github.com/smartdns/smartdns/internal/yamlx":   true,
		"github.com/smartdns/smartdns/internal/diag":    true,
		"gopkg.in/yaml.v3":                              true, // through internal/yamlx, and for its node type
	}
	deps := strings.Fields(string(out))
	if len(deps) == 0 {
		t.Fatal("go list -deps listed nothing; expected at least this package")
	}
	for _, p := range deps {
		if pre, ok := under(p, forbidden); ok {
			t.Errorf("the agent links %s (under %s), a server package", p, pre)
			continue
		}
		if !allowed[p] && !strings.HasPrefix(p, "golang.org/x/") {
			t.Errorf("the agent links %s, which is neither the wire format, internal/yamlx, internal/diag nor the standard library", p)
		}
	}
}

// under reports which of prefixes p is, or is a package below.
func under(p string, prefixes []string) (string, bool) {
	for _, pre := range prefixes {
		if p == pre || strings.HasPrefix(p, pre+"/") {
			return pre, true
		}
	}
	return "", false
}
