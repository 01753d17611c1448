// Package docs keeps the documentation honest: every YAML example in the
// README and docs/ must be accepted by the reader it documents.
package docs

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/smartdns/smartdns/internal/config"
	"github.com/smartdns/smartdns/internal/diag"
	"github.com/smartdns/smartdns/loadreport/agent"
	"github.com/smartdns/smartdns/pool"
	"github.com/smartdns/smartdns/zones"
	"github.com/smartdns/smartdns/zones/octodns"
)

var yamlBlock = regexp.MustCompile("(?s)```yaml\n(.*?)```")

func TestYAMLExamplesParse(t *testing.T) {
	files, _ := filepath.Glob("../../docs/*.md")
	files = append(files, "../../README.md")
	n := 0
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for i, m := range yamlBlock.FindAllStringSubmatch(string(data), -1) {
			block := m[1]
			n++
			name := filepath.Base(f) + "#" + string(rune('1'+i))
			switch {
			case topKey(block, "site"):
				// An agent config; its key file is not in the docs.
				_, probs := agent.ParseConfig(filepath.Join(t.TempDir(), "agent.yaml"), []byte(block))
				if errs := withoutMissingFiles(probs); len(errs) > 0 {
					t.Errorf("%s: agent config example does not load:\n%v", name, errs)
				}
				continue
			case topKey(block, "listen") || topKey(block, "sites") || topKey(block, "reports") || topKey(block, "probes") || topKey(block, "geoip") ||
				topKey(block, "api") || topKey(block, "query_log") || topKey(block, "http"):
				// A server config, or a part of one.
				if !topKey(block, "listen") {
					block = "listen: [127.0.0.1:5353]\nzones: zones\n" + block
				}
				dir := t.TempDir()
				os.Mkdir(filepath.Join(dir, "zones"), 0o755)
				p := filepath.Join(dir, "smartdns.yaml")
				os.WriteFile(p, []byte(block), 0o644)
				if _, probs := config.Load(p); len(withoutMissingFiles(probs)) > 0 {
					t.Errorf("%s: config example does not load:\n%v", name, probs)
				}
				continue
			}
			// A zone: read and compiled completely, as serve would (every
			// GeoIP database present, probing on), so that a dynamic
			// record naming an undefined pool fails here.
			recs, probs := octodns.Parse(name, "example.com.", []byte(block))
			if probs.HasErrors() {
				t.Errorf("%s: zone example does not parse:\n%v", name, probs)
				continue
			}
			if _, cprobs := zones.Compile("example.com.", name, recs, docsCompileOptions); cprobs.HasErrors() {
				t.Errorf("%s: zone example does not compile:\n%v", name, cprobs)
			}
		}
	}
	if n == 0 {
		t.Fatal("no YAML examples found: is the path right?")
	}
}

// docsCompileOptions compile the docs' zone examples: a server with
// every GeoIP database and probing on.
var docsCompileOptions = zones.CompileOptions{
	Nameservers: []string{"ns1.example.com."},
	GeoASN:      true,
	GeoCoords:   true,
	Members:     &pool.Members{},
}

// The docs test would catch a dynamic record whose rule names a pool that
// is not defined, and an example that parses but does not compile.
func TestBrokenZoneExamplesAreCaught(t *testing.T) {
	for name, block := range map[string]string{
		"undefined pool": "www:\n  type: A\n  value: 192.0.2.1\n  dynamic:\n    pools:\n      a:\n        values: [{value: 192.0.2.2}]\n    rules: [{pool: b}]\n",
		"CNAME and A":    "www:\n  - type: CNAME\n    value: x.example.net.\n  - type: A\n    value: 192.0.2.1\n",
	} {
		recs, probs := octodns.Parse(name, "example.com.", []byte(block))
		if !probs.HasErrors() {
			_, probs = zones.Compile("example.com.", name, recs, docsCompileOptions)
		}
		if !probs.HasErrors() {
			t.Errorf("%s: a broken example passes", name)
		}
	}
}

// What `make run` serves must load without a single problem.
func TestExamplesLoadCleanly(t *testing.T) {
	cfg, probs := config.Load("../../examples/smartdns.yaml")
	if cfg == nil || len(probs) > 0 {
		t.Fatalf("examples/smartdns.yaml: %v", probs)
	}
	l := &zones.Loader{Dir: cfg.Zones, Options: zones.CompileOptions{Nameservers: cfg.Nameservers}}
	snap, rep := l.Load(true)
	for _, z := range rep.Zones {
		if len(z.Problems) > 0 {
			t.Errorf("%s: %v", z.File, z.Problems)
		}
	}
	if snap == nil || len(snap.Zones()) < 2 {
		t.Fatalf("examples serve %d zones, want the YAML and the RFC 1035 example", len(snap.Zones()))
	}
}

// topKey reports whether the YAML block has key at its top level.
func topKey(block, key string) bool {
	for _, line := range strings.Split(block, "\n") {
		if strings.HasPrefix(line, key+":") {
			return true
		}
	}
	return false
}

// withoutMissingFiles drops the problems about files an example names but
// the docs do not hold (key files, databases, /etc/smartdns/zones).
func withoutMissingFiles(probs diag.Problems) diag.Problems {
	var out diag.Problems
	for _, p := range probs.Errors() {
		if !strings.Contains(p.Msg, "no such file") && !strings.Contains(p.Msg, "not a readable file") && !strings.Contains(p.Msg, "is not a folder") {
			out = append(out, p)
		}
	}
	return out
}
