package geo

import (
	"context"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

const (
	watchInterval = 5 * time.Millisecond
	waitTimeout   = 10 * time.Second
)

// fileInstaller replaces a file the way operators should: write a temporary
// file next to it, then rename it over. Every version gets its own mtime so
// the change is visible even on coarse-grained file systems.
type fileInstaller struct {
	t       *testing.T
	path    string
	version int
}

func (f *fileInstaller) install(data []byte) {
	f.t.Helper()
	f.version++
	tmp := f.path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		f.t.Fatal(err)
	}
	mtime := time.Unix(1_700_000_000+int64(f.version), 0)
	if err := os.Chtimes(tmp, mtime, mtime); err != nil {
		f.t.Fatal(err)
	}
	if err := os.Rename(tmp, f.path); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fileInstaller) installFile(src string) {
	f.t.Helper()
	f.install(readT(f.t, src))
}

func readT(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// startWatch runs r.Watch until the test ends and returns the channel its
// reload reports arrive on.
func startWatch(t *testing.T, r *Resolver) <-chan error {
	t.Helper()
	events := make(chan error, 64)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		r.Watch(ctx, watchInterval, func(err error) { events <- err })
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	return events
}

func nextEvent(t *testing.T, events <-chan error) error {
	t.Helper()
	select {
	case err := <-events:
		return err
	case <-time.After(waitTimeout):
		t.Fatal("no reload report")
		return nil
	}
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestWatchReload(t *testing.T) {
	f := &fileInstaller{t: t, path: filepath.Join(t.TempDir(), "geo.mmdb")}
	f.installFile(countryDB)
	r := openT(t, Config{City: f.path})
	ip := netip.MustParseAddr("214.0.1.1") // not in the Country test DB; AU/VIC in the City one
	if got := r.Lookup(ip); got.Country != "" || r.HasSubdivisions() {
		t.Fatalf("before reload: %+v, subdivisions %v", got, r.HasSubdivisions())
	}
	events := startWatch(t, r)

	f.installFile(cityDB)
	waitFor(t, "the City database", func() bool { return r.Lookup(ip).Subdivision == "VIC" })
	if err := nextEvent(t, events); err != nil {
		t.Fatalf("reload report: %v", err)
	}
	if !r.HasSubdivisions() || !r.HasCoords() {
		t.Error("capabilities did not follow the new database")
	}

	// A corrupt replacement is reported once, naming the file, and the old
	// database keeps answering.
	f.install([]byte(strings.Repeat("corrupt ", 4096)))
	err := nextEvent(t, events)
	if err == nil || !strings.Contains(err.Error(), f.path) || !strings.Contains(err.Error(), "keeping the previously loaded database") {
		t.Fatalf("corrupt file reported as %v", err)
	}
	if got := r.Lookup(ip); got.Country != "AU" || got.Subdivision != "VIC" {
		t.Fatalf("after a corrupt file: %+v, want the City answer", got)
	}

	// The next good file is picked up, and no repeated error came first.
	f.installFile(liteCityDB)
	waitFor(t, "the GeoLite2 City database", func() bool { return r.Lookup(ip).Country == "" })
	if err := nextEvent(t, events); err != nil {
		t.Fatalf("reload after a bad file: %v", err)
	}
	if got := r.Lookup(netip.MustParseAddr("81.2.69.142")); got.Subdivision != "ENG" {
		t.Errorf("GeoLite2 City lookup: %+v", got)
	}
}

func TestWatchMissingAndInPlace(t *testing.T) {
	f := &fileInstaller{t: t, path: filepath.Join(t.TempDir(), "geo.mmdb")}
	f.installFile(cityDB)
	r := openT(t, Config{City: f.path})
	events := startWatch(t, r)
	ip := netip.MustParseAddr("81.2.69.142")

	// A vanished file keeps the loaded data.
	if err := os.Remove(f.path); err != nil {
		t.Fatal(err)
	}
	if err := nextEvent(t, events); err == nil || !strings.Contains(err.Error(), f.path) {
		t.Fatalf("missing file reported as %v", err)
	}
	if got := r.Lookup(ip); got.Country != "GB" {
		t.Fatalf("after removal: %+v", got)
	}

	// Rewriting in place (no rename) is safe because files are not mapped.
	if err := os.WriteFile(f.path, readT(t, countryDB), 0o644); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the Country database", func() bool { return r.Lookup(ip).Subdivision == "" })
	if err := nextEvent(t, events); err != nil {
		t.Fatalf("in-place rewrite: %v", err)
	}
	if got := r.Lookup(ip); got.Country != "GB" {
		t.Errorf("Country database lookup: %+v", got)
	}
}

func TestWatchASN(t *testing.T) {
	dir := t.TempDir()
	geoFile := &fileInstaller{t: t, path: filepath.Join(dir, "city.mmdb")}
	asnFile := &fileInstaller{t: t, path: filepath.Join(dir, "asn.mmdb")}
	geoFile.installFile(cityDB)
	asnFile.installFile(asnDB)
	r := openT(t, Config{City: geoFile.path, ASN: asnFile.path})
	events := startWatch(t, r)
	ip := netip.MustParseAddr("89.160.20.112")

	// A City database where the ASN one belongs is refused.
	asnFile.installFile(cityDB)
	err := nextEvent(t, events)
	if err == nil || !strings.Contains(err.Error(), asnFile.path) || !strings.Contains(err.Error(), "autonomous_system_number") {
		t.Fatalf("wrong kind of database reported as %v", err)
	}
	if got := r.Lookup(ip); got.ASN != 29518 || got.Country != "SE" {
		t.Fatalf("after a refused ASN file: %+v", got)
	}

	// Both files replaced at once: one report, both swapped.
	geoFile.installFile(countryDB)
	asnFile.install(append(readT(t, asnDB), 0)) // same data, new size
	waitFor(t, "the Country database", func() bool { return !r.HasCoords() })
	if err := nextEvent(t, events); err != nil {
		t.Fatalf("reload of both: %v", err)
	}
	if got := r.Lookup(ip); got.ASN != 29518 || got.Country != "SE" || got.HasCoords {
		t.Errorf("after reloading both: %+v", got)
	}
}

func TestWatchReturns(t *testing.T) {
	ctx := context.Background()
	// Nothing to watch with the built-in database.
	r := openT(t, Config{})
	returned := make(chan struct{})
	go func() { r.Watch(ctx, watchInterval, nil); close(returned) }()
	select {
	case <-returned:
	case <-time.After(waitTimeout):
		t.Fatal("Watch on the built-in database did not return")
	}

	// Close stops a running Watch.
	r2 := openT(t, Config{City: cityDB})
	returned2 := make(chan struct{})
	go func() { r2.Watch(ctx, watchInterval, nil); close(returned2) }()
	_ = r2.Close()
	select {
	case <-returned2:
	case <-time.After(waitTimeout):
		t.Fatal("Watch did not return after Close")
	}
}

// TestWatchConcurrentLookups swaps databases under running lookups; run with
// -race.
func TestWatchConcurrentLookups(t *testing.T) {
	f := &fileInstaller{t: t, path: filepath.Join(t.TempDir(), "geo.mmdb")}
	f.installFile(cityDB)
	r := openT(t, Config{City: f.path, ASN: asnDB})
	events := startWatch(t, r)

	var stop atomic.Bool
	var wg sync.WaitGroup
	ips := []netip.Addr{
		netip.MustParseAddr("81.2.69.142"), netip.MustParseAddr("::ffff:89.160.20.112"),
		netip.MustParseAddr("2001:218::1"), netip.MustParseAddr("8.8.8.8"),
	}
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := g; !stop.Load(); i++ {
				loc := r.Lookup(ips[i%len(ips)])
				if ips[i%len(ips)].String() == "81.2.69.142" && loc.Country != "GB" {
					t.Errorf("torn lookup: %+v", loc)
					return
				}
				_ = r.HasSubdivisions()
			}
		}()
	}
	for i := range 6 {
		if i%2 == 0 {
			f.installFile(countryDB)
		} else {
			f.installFile(cityDB)
		}
		if err := nextEvent(t, events); err != nil {
			t.Fatalf("reload %d: %v", i, err)
		}
	}
	stop.Store(true)
	wg.Wait()
}
