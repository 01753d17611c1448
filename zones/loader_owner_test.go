package zones

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// stopAfter is a context whose Err turns to Canceled after n calls, to
// stop a load between two given zone files.
type stopAfter struct {
	context.Context
	n int
}

func (c *stopAfter) Err() error {
	if c.n <= 0 {
		return context.Canceled
	}
	c.n--
	return nil
}

// A load cancelled half-way publishes nothing; the next load, even one
// that sees no change, publishes the zones the cancelled one compiled.
func TestLoadContextCancelledLeavesNothingUnpublished(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"a.example.yaml", "b.example.yaml", "c.example.yaml"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("---\nwww: {type: A, value: 192.0.2.1}\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	l := &Loader{Dir: dir, Options: CompileOptions{Nameservers: []string{"ns1.example.com."}}}
	if snap, _ := l.LoadContext(&stopAfter{Context: context.Background(), n: 2}, true); snap != nil {
		t.Fatalf("a cancelled load built a snapshot of %d zones", len(snap.Zones()))
	}
	snap, _ := l.Load(false)
	if snap == nil {
		t.Fatal("the zones compiled by the cancelled load were never published")
	}
	if snap.Zone("a.example.") == nil || snap.Zone("b.example.") == nil {
		t.Fatalf("want a.example and b.example served, got %d zones", len(snap.Zones()))
	}
	if again, _ := l.Load(false); again == nil || again.Zone("c.example.") == nil || again.Generation <= snap.Generation {
		t.Fatal("the zone the cancelled load did not reach was not loaded at the next scans")
	}
}

func TestRequestsMerge(t *testing.T) {
	for _, c := range []struct {
		name string
		ask  []Request
		want Request
		ok   bool
	}{
		{"none", nil, Request{}, false},
		{"one scan", []Request{{}}, Request{}, true},
		{"scans merge", []Request{{}, {}, {}}, Request{}, true},
		{"a SIGHUP while a scan waits", []Request{{}, {Force: true, Config: true}}, Request{Force: true, Config: true}, true},
		{"a scan while a SIGHUP waits", []Request{{Force: true, Config: true}, {}}, Request{Force: true, Config: true}, true},
		{"force and config merge", []Request{{Force: true}, {Config: true}}, Request{Force: true, Config: true}, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			q := NewRequests()
			for _, r := range c.ask {
				q.Ask(r) // never blocks, however many
			}
			if len(c.ask) > 0 {
				select {
				case <-q.Ready():
				default:
					t.Fatal("asking did not wake the owner")
				}
			}
			got, ok := q.Take()
			if got != c.want || ok != c.ok {
				t.Fatalf("took %+v (%v), want %+v (%v)", got, ok, c.want, c.ok)
			}
			if _, ok := q.Take(); ok {
				t.Fatal("a request was taken twice")
			}
		})
	}
}

// A load cancelled inside a big zone stops there (shutdown does not wait
// for a million records to compile), keeps nothing of it, and the next
// load reads it whole.
func TestLoadContextCancelsInsideAZone(t *testing.T) {
	dir := t.TempDir()
	var b strings.Builder
	b.WriteString("$TTL 300\n@ SOA ns1.example.com. h.example.com. 1 7200 3600 1209600 300\n@ NS ns1.example.com.\n")
	for i := 0; i < 3*cancelCheckEvery; i++ {
		fmt.Fprintf(&b, "h%d A 192.0.2.1\n", i)
	}
	if err := os.WriteFile(filepath.Join(dir, "big.example.zone"), []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	l := &Loader{Dir: dir, Options: CompileOptions{Nameservers: []string{"ns1.example.com."}}}
	// The first look (between files) lets the load in; the first look
	// inside the zone stops it.
	if snap, rep := l.LoadContext(&stopAfter{Context: context.Background(), n: 1}, true); snap != nil || len(rep.Failed()) > 0 {
		t.Fatalf("a load cancelled inside the zone gave a snapshot (%v) or a refusal (%v)", snap != nil, rep.Failed())
	}
	snap, rep := l.Load(false)
	if snap == nil || snap.Zone("big.example.") == nil {
		t.Fatalf("the zone whose compile was cancelled was not loaded by the next load: %+v", rep)
	}
	if got := snap.Zone("big.example.").Records; got < 3*cancelCheckEvery {
		t.Fatalf("the next load has %d records, want the whole zone", got)
	}
}
