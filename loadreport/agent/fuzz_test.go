package agent

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzParseConfig: any bytes as an agent config give a config or
// positioned problems, never a panic.
func FuzzParseConfig(f *testing.F) {
	if data, err := os.ReadFile("../../examples/agent.yaml"); err == nil {
		f.Add(data)
	}
	for _, s := range []string{
		"site: fra\nkey: 0123456789abcdef0123\naddresses: [127.0.0.1]\nnameservers: [http://127.0.0.1:8053]\nload: {file: load}\n",
		"site: \"\"\nload: {command: [], prometheus: {url: x}}\n",
		"a: &a [*a]\n",
	} {
		f.Add([]byte(s))
	}
	path := filepath.Join(f.TempDir(), "agent.yaml")
	f.Fuzz(func(t *testing.T, data []byte) {
		c, probs := ParseConfig(path, data)
		if c == nil && !probs.HasErrors() {
			t.Fatalf("no config and no error for %q", data)
		}
		for _, p := range probs {
			if p.Msg == "" || !strings.HasPrefix(p.Error(), path) {
				t.Fatalf("problem without a message or the file: %q", p.Error())
			}
		}
	})
}
