package config

import (
	"os/exec"
	"strings"
	"testing"
)

// The config is a leaf: it imports no feature package, so that every
// package may read its settings without an import cycle and without
// linking the server into tools.
func TestConfigIsALeaf(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Skipf("go list: %v", err)
	}
	for _, dep := range strings.Fields(string(out)) {
		rest, ours := strings.CutPrefix(dep, "github.com/smartdns/smartdns/")
		if !ours || rest == "internal/config" {
			continue
		}
		if rest != "internal/diag" && rest != "internal/yamlx" {
			t.Errorf("internal/config links %s: it may import only internal/diag and internal/yamlx", dep)
		}
	}
}
