package zones

import (
	"os"
	"path/filepath"
	"testing"
)

// A zone file is read only once two scans see it unchanged: a new file as
// much as a changed one, since either may still be being written.
func TestLoaderWaitsForSettledFiles(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("example.com.yaml", "---\nwww:\n  type: A\n  value: 192.0.2.1\n")
	l := &Loader{Dir: dir, Options: CompileOptions{Nameservers: []string{"ns1.example.com."}}}
	snap, _ := l.Load(true)
	if snap == nil || len(snap.Zones()) != 1 {
		t.Fatal("the first load did not load the zone")
	}
	write("example.net.yaml", "---\nwww:\n  type: A\n  value: 192.0.2.2\n")
	if snap, _ := l.Load(false); snap != nil {
		t.Fatalf("a new file was read at the first scan that saw it: %d zones", len(snap.Zones()))
	}
	snap, _ = l.Load(false)
	if snap == nil || snap.Zone("example.net.") == nil {
		t.Fatal("a new file, unchanged over two scans, was not loaded")
	}
}
