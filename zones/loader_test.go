package zones

import (
	"os"
	"path/filepath"
	"strings"
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

// The root zone is the file ".zone" (or ".yaml": octoDNS names files after
// the zone with its trailing dot); every other entry the loader does not
// read is reported with the reason.
func TestLoaderRootZoneAndSkipped(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(".zone", `$TTL 86400
.	IN SOA a.root-servers.net. nstld.verisign-grs.com. 2026120800 1800 900 604800 86400
.	IN NS a.root-servers.net.
example.	IN NS ns1.example.
ns1.example.	IN A 127.0.0.53
a.root-servers.net.	IN A 127.0.0.4
`)
	write("README.md", "zones live here\n")
	write(".hidden.zone", "garbage")
	if err := os.Mkdir(filepath.Join(dir, "includes"), 0o755); err != nil {
		t.Fatal(err)
	}
	l := &Loader{Dir: dir, Options: CompileOptions{Nameservers: []string{"a.root-servers.net."}}}
	snap, rep := l.Load(true)
	if failed := rep.Failed(); len(failed) > 0 {
		t.Fatalf("root zone refused: %v", failed[0].Problems)
	}
	root := snap.Zone(".")
	if root == nil {
		t.Fatalf("no root zone served; zones: %d", len(snap.Zones()))
	}
	if z := snap.Find("\x03www\x07example\x00"); z != root {
		t.Errorf("www.example. is not matched to the root zone")
	}
	got := map[string]string{}
	for _, sk := range rep.Skipped {
		got[filepath.Base(sk.Path)] = sk.Reason
	}
	for name, want := range map[string]string{
		"README.md":    "not a zone file",
		".hidden.zone": "a hidden file",
		"includes":     "not a split zone",
	} {
		if !strings.Contains(got[name], want) {
			t.Errorf("%s: skipped because %q, want it to say %q", name, got[name], want)
		}
	}
	if len(got) != 3 {
		t.Errorf("skipped %v, want exactly the three entries", got)
	}
}

func TestZoneFileNames(t *testing.T) {
	for _, tc := range []struct{ name, origin string }{
		{"example.com.yaml", "example.com."},
		{"example.com..yaml", "example.com."},
		{"Example.COM.zone", "example.com."},
		{".zone", "."},
		{".yaml", "."},
		{"..yml", "."},
		{".example.zone", ""},
		{"bücher.example.yaml", "xn--bcher-kva.example."},
		{"Bücher.example.", ""},
		{"example.com", ""},
	} {
		got, ok := ZoneFile(tc.name)
		if got != tc.origin || ok != (tc.origin != "") {
			t.Errorf("ZoneFile(%q) = %q, %v; want %q", tc.name, got, ok, tc.origin)
		}
	}
}
