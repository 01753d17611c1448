package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzParse: any bytes as a config file give a config or positioned
// problems, never a panic; a refused config is nil, and every problem
// names the file.
func FuzzParse(f *testing.F) {
	if data, err := os.ReadFile("../../examples/smartdns.yaml"); err == nil {
		f.Add(data)
	}
	for _, s := range []string{
		"listen: [127.0.0.1:53]\nzones: zones\n",
		"listen: [127.0.0.1:0]\nzones: zones\nalias: {resolvers: [127.0.0.1], serve_stale: 0s}\n",
		"listen: [nope]\ntcp: {idle_timeout: -1s}\nquery_log: {sample: 2}\n",
		"sites: {fra: {key: short}}\napi: {token: x, token_file: y}\n",
		"a: &a [*a]\n",
	} {
		f.Add([]byte(s))
	}
	dir := f.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "zones"), 0o755); err != nil {
		f.Fatal(err)
	}
	path := filepath.Join(dir, "smartdns.yaml")
	f.Fuzz(func(t *testing.T, data []byte) {
		c, probs := Parse(path, data)
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
