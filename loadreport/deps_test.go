package loadreport

import (
	"os/exec"
	"strings"
	"testing"
)

// The wire format is shared by the site agent and the server, so it is a
// leaf: nothing but the standard library, or the agent would link
// whatever it imports.
func TestWireFormatIsALeaf(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps: %v\n%s", err, out)
	}
	for _, p := range strings.Fields(string(out)) {
		if p != "github.com/smartdns/smartdns/loadreport" {
			t.Errorf("loadreport links %s; the wire format may use only the standard library", p)
		}
	}
}
