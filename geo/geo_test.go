package geo

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/oschwald/geoip2-golang/v2"
	"github.com/oschwald/maxminddb-golang/v2"
)

const (
	cityDB     = "testdata/GeoIP2-City-Test.mmdb"
	liteCityDB = "testdata/GeoLite2-City-Test.mmdb"
	countryDB  = "testdata/GeoIP2-Country-Test.mmdb"
	asnDB      = "testdata/GeoLite2-ASN-Test.mmdb"
)

func openT(t testing.TB, cfg Config) *Resolver {
	t.Helper()
	r, err := Open(cfg)
	if err != nil {
		t.Fatalf("Open(%+v): %v", cfg, err)
	}
	t.Cleanup(func() { _ = r.Close() })
	return r
}

// geoOnly clears the coordinates so table rows can leave them out.
func geoOnly(l Location) Location {
	l.Lat, l.Lon, l.HasCoords = 0, 0, false
	return l
}

func TestLookupCity(t *testing.T) {
	r := openT(t, Config{City: cityDB})
	tests := []struct {
		ip   string
		want Location
	}{
		// IPv4 with subdivisions; prefixes are IPv4 lengths.
		{"81.2.69.142", Location{Continent: "EU", Country: "GB", Subdivision: "ENG", Prefix: 31}},
		{"81.2.69.160", Location{Continent: "EU", Country: "GB", Subdivision: "ENG", Prefix: 27}},
		{"2.125.160.216", Location{Continent: "EU", Country: "GB", Subdivision: "ENG", Prefix: 29}}, // first of ENG, WBK
		{"216.160.83.56", Location{Continent: "NA", Country: "US", Subdivision: "WA", Prefix: 29}},
		{"89.160.20.112", Location{Continent: "EU", Country: "SE", Subdivision: "E", Prefix: 28}},
		{"175.16.199.1", Location{Continent: "AS", Country: "CN", Subdivision: "22", Prefix: 24}},
		{"214.0.1.1", Location{Continent: "OC", Country: "AU", Subdivision: "VIC", Prefix: 24}},
		// No subdivision.
		{"67.43.156.1", Location{Continent: "AS", Country: "BT", Prefix: 24}},
		{"149.101.100.1", Location{Continent: "NA", Country: "US", Prefix: 28}},
		// Continent only.
		{"2.3.3.1", Location{Continent: "EU", Prefix: 24}},
		{"2a02:d500::1", Location{Continent: "EU", Prefix: 29}},
		// IPv4-mapped IPv6 is looked up as IPv4.
		{"::ffff:81.2.69.142", Location{Continent: "EU", Country: "GB", Subdivision: "ENG", Prefix: 31}},
		{"::ffff:216.160.83.56", Location{Continent: "NA", Country: "US", Subdivision: "WA", Prefix: 29}},
		// IPv6.
		{"2001:218::1", Location{Continent: "AS", Country: "JP", Prefix: 32}},
		{"2001:480:10::1", Location{Continent: "NA", Country: "US", Subdivision: "CA", Prefix: 48}},
		{"2a02:d3c0::1", Location{Continent: "EU", Country: "GB", Prefix: 29}},
		{"2a02:ffc0::1", Location{Continent: "EU", Country: "GI", Prefix: 29}},
		{"fe80::1%eth0", Location{Prefix: 10}}, // zone ignored
		// Not found: Prefix is the empty node's length, in the address's family.
		{"8.8.8.8", Location{Prefix: 7}},
		{"1.1.1.1", Location{Prefix: 8}},
		{"10.0.0.1", Location{Prefix: 8}},
		{"::ffff:8.8.8.8", Location{Prefix: 7}},
		{"::1", Location{Prefix: 104}},
	}
	for _, tt := range tests {
		t.Run(tt.ip, func(t *testing.T) {
			got := r.Lookup(netip.MustParseAddr(tt.ip))
			if geoOnly(got) != tt.want {
				t.Errorf("Lookup(%s) = %+v, want %+v", tt.ip, geoOnly(got), tt.want)
			}
		})
	}
}

func TestLookupCoords(t *testing.T) {
	r := openT(t, Config{City: cityDB})
	tests := []struct {
		ip       string
		lat, lon float64
		has      bool
	}{
		{"81.2.69.142", 51.5142, -0.0931, true},
		{"216.160.83.56", 47.2513, -122.3149, true},
		{"2001:218::1", 35.68536, 139.75309, true},
		{"2a02:d500::1", 48.69096, 9.14062, true}, // coordinates without a country
		{"2.3.3.1", 0, 0, false},
		{"8.8.8.8", 0, 0, false},
	}
	for _, tt := range tests {
		got := r.Lookup(netip.MustParseAddr(tt.ip))
		if got.HasCoords != tt.has || got.Lat != tt.lat || got.Lon != tt.lon {
			t.Errorf("Lookup(%s) coords = %v,%v has=%v, want %v,%v has=%v",
				tt.ip, got.Lat, got.Lon, got.HasCoords, tt.lat, tt.lon, tt.has)
		}
	}
}

func TestLookupOtherDatabases(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		ip   string
		want Location
	}{
		{"lite city", Config{City: liteCityDB}, "81.2.69.142", Location{Continent: "EU", Country: "GB", Subdivision: "ENG", Prefix: 31}},
		{"lite city v6", Config{City: liteCityDB}, "2001:480:10::1", Location{Continent: "NA", Country: "US", Subdivision: "CA", Prefix: 43}},
		{"lite city missing", Config{City: liteCityDB}, "214.0.1.1", Location{Prefix: 10}},
		{"country", Config{Country: countryDB}, "81.2.69.142", Location{Continent: "EU", Country: "GB", Prefix: 31}},
		{"country v6", Config{Country: countryDB}, "2001:218::1", Location{Continent: "AS", Country: "JP", Prefix: 32}},
		{"country mapped", Config{Country: countryDB}, "::ffff:202.196.224.1", Location{Continent: "AS", Country: "PH", Prefix: 20}},
		{"city wins over country", Config{City: cityDB, Country: countryDB}, "214.0.1.1", Location{Continent: "OC", Country: "AU", Subdivision: "VIC", Prefix: 24}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := openT(t, tt.cfg)
			if got := geoOnly(r.Lookup(netip.MustParseAddr(tt.ip))); got != tt.want {
				t.Errorf("Lookup(%s) = %+v, want %+v", tt.ip, got, tt.want)
			}
		})
	}
}

func TestLookupASN(t *testing.T) {
	r := openT(t, Config{City: cityDB, ASN: asnDB})
	tests := []struct {
		ip        string
		asn       uint32
		asnPrefix int
		country   string
	}{
		// The writer merged the JSON's adjacent same-AS networks, so the
		// prefixes are wider than source-data lists (89.160.0.0/17 here).
		{"89.160.20.112", 29518, 17, "SE"},
		{"::ffff:89.160.20.112", 29518, 17, "SE"},
		{"216.160.83.56", 209, 18, "US"},
		{"214.0.1.1", 721, 8, "AU"},
		{"149.101.100.1", 6167, 28, "US"},
		{"1.128.0.1", 1221, 11, ""},
		{"2001:4600::1", 2119, 24, ""},
		{"2003::1", 3320, 19, ""},
		{"81.2.69.142", 0, 9, "GB"},      // geo but no ASN
		{"2001:218::1", 0, 23, "JP"},     // geo but no ASN
		{"8.8.8.8", 0, 7, ""},            // neither
		{"2001:480:10::1", 0, 22, "US"},  // IPv6 geo, no ASN
		{"2a02:ffc0::1", 0, 18, "GI"},    //
		{"67.43.156.1", 35908, 21, "BT"}, // both
	}
	for _, tt := range tests {
		got := r.Lookup(netip.MustParseAddr(tt.ip))
		if got.ASN != tt.asn || got.ASNPrefix != tt.asnPrefix || got.Country != tt.country {
			t.Errorf("Lookup(%s) = ASN %d/%d country %q, want ASN %d/%d country %q",
				tt.ip, got.ASN, got.ASNPrefix, got.Country, tt.asn, tt.asnPrefix, tt.country)
		}
	}
	// Without an ASN database the ASN fields stay zero.
	r2 := openT(t, Config{City: cityDB})
	if got := r2.Lookup(netip.MustParseAddr("89.160.20.112")); got.ASN != 0 || got.ASNPrefix != 0 {
		t.Errorf("no ASN database: got ASN %d/%d", got.ASN, got.ASNPrefix)
	}
}

func TestLookupBuiltin(t *testing.T) {
	r := openT(t, Config{})
	tests := []struct {
		ip               string
		continent, cntry string
	}{
		{"8.8.8.8", "NA", "US"},
		{"::ffff:8.8.8.8", "NA", "US"}, // the database has no ::ffff alias; Lookup unmaps
		{"1.1.1.1", "NA", "US"},
		{"81.2.69.142", "EU", "GB"},
		{"193.0.6.139", "EU", "NL"},
		{"202.12.29.1", "OC", "AU"},
		{"200.160.0.8", "SA", "BR"},
		{"196.216.2.1", "AF", "MU"},
		{"2001:4860:4860::8888", "NA", "US"},
		{"2001:67c:2e8::1", "EU", "NL"},
		{"10.0.0.1", "", ""},
		{"100.64.0.1", "", ""},
		{"192.0.2.1", "", ""},
		{"::1", "", ""},
	}
	for _, tt := range tests {
		got := r.Lookup(netip.MustParseAddr(tt.ip))
		if got.Continent != tt.continent || got.Country != tt.cntry || got.Subdivision != "" || got.HasCoords {
			t.Errorf("Lookup(%s) = %+v, want %s/%s and no subdivision or coordinates", tt.ip, got, tt.continent, tt.cntry)
		}
		if got.Prefix <= 0 || (got.Prefix > 32 && netip.MustParseAddr(tt.ip).Unmap().Is4()) {
			t.Errorf("Lookup(%s).Prefix = %d, want an IPv4 or IPv6 prefix length", tt.ip, got.Prefix)
		}
	}
	if got := r.Lookup(netip.MustParseAddr("10.0.0.1")); got.Prefix != 8 {
		t.Errorf("Lookup(10.0.0.1).Prefix = %d, want 8 (the empty 10/8 node)", got.Prefix)
	}
}

func TestCapabilities(t *testing.T) {
	tests := []struct {
		name                string
		cfg                 Config
		asn, subdiv, coords bool
	}{
		{"builtin", Config{}, false, false, false},
		{"builtin+asn", Config{ASN: asnDB}, true, false, false},
		{"city", Config{City: cityDB}, false, true, true},
		{"lite city+asn", Config{City: liteCityDB, ASN: asnDB}, true, true, true},
		{"country", Config{Country: countryDB}, false, false, false},
	}
	for _, tt := range tests {
		r := openT(t, tt.cfg)
		if r.HasASN() != tt.asn || r.HasSubdivisions() != tt.subdiv || r.HasCoords() != tt.coords {
			t.Errorf("%s: HasASN %v HasSubdivisions %v HasCoords %v, want %v %v %v", tt.name,
				r.HasASN(), r.HasSubdivisions(), r.HasCoords(), tt.asn, tt.subdiv, tt.coords)
		}
	}
}

func TestLookupInvalidAndClosed(t *testing.T) {
	r := openT(t, Config{City: cityDB, ASN: asnDB})
	if got := r.Lookup(netip.Addr{}); got != (Location{}) {
		t.Errorf("Lookup(invalid) = %+v, want zero", got)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if err := r.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if got := r.Lookup(netip.MustParseAddr("81.2.69.142")); got != (Location{}) {
		t.Errorf("Lookup after Close = %+v, want zero", got)
	}
	if r.HasASN() || r.HasSubdivisions() || r.HasCoords() {
		t.Error("capabilities after Close should be false")
	}
}

// TestMatchesGeoIP2 checks the hand-written decoder against geoip2-golang's
// full City and ASN models for every network in the test databases.
func TestMatchesGeoIP2(t *testing.T) {
	for _, path := range []string{cityDB, liteCityDB, countryDB} {
		t.Run(filepath.Base(path), func(t *testing.T) {
			r := openT(t, Config{City: path})
			ref, err := geoip2.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer ref.Close()
			n := 0
			for _, ip := range networkAddrs(t, path) {
				// Lookup unmaps ::ffff:a.b.c.d, so compare with the
				// reference's answer for a.b.c.d.
				want, err := ref.City(ip.Unmap())
				if err != nil {
					t.Fatalf("geoip2 City(%s): %v", ip, err)
				}
				got := r.Lookup(ip)
				wantCont := want.Continent.Code
				if wantCont == "" {
					wantCont = ContinentOf(want.Country.ISOCode)
				}
				var wantSub string
				if len(want.Subdivisions) > 0 {
					wantSub = want.Subdivisions[0].ISOCode
				}
				wantLoc := Location{
					Continent: wantCont, Country: want.Country.ISOCode, Subdivision: wantSub,
					HasCoords: want.Location.HasCoordinates(), Prefix: want.Traits.Network.Bits(),
				}
				if wantLoc.HasCoords {
					wantLoc.Lat, wantLoc.Lon = *want.Location.Latitude, *want.Location.Longitude
				}
				if got != wantLoc {
					t.Errorf("%s: got %+v, geoip2 says %+v", ip, got, wantLoc)
				}
				n++
			}
			if n < 100 {
				t.Fatalf("only %d networks checked", n)
			}
		})
	}
	t.Run("asn", func(t *testing.T) {
		r := openT(t, Config{ASN: asnDB})
		ref, err := geoip2.Open(asnDB)
		if err != nil {
			t.Fatal(err)
		}
		defer ref.Close()
		for _, ip := range networkAddrs(t, asnDB) {
			want, err := ref.ASN(ip.Unmap())
			if err != nil {
				t.Fatalf("geoip2 ASN(%s): %v", ip, err)
			}
			got := r.Lookup(ip)
			if uint(got.ASN) != want.AutonomousSystemNumber || got.ASNPrefix != want.Network.Bits() {
				t.Errorf("%s: got AS%d/%d, geoip2 says AS%d %s", ip, got.ASN, got.ASNPrefix, want.AutonomousSystemNumber, want.Network)
			}
		}
	})
}

// networkAddrs returns the first and last address of every network in the
// database, with and without data, plus a mapped form of IPv4 ones.
func networkAddrs(t *testing.T, path string) []netip.Addr {
	t.Helper()
	db, err := maxminddb.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var out []netip.Addr
	for res := range db.Networks(maxminddb.IncludeNetworksWithoutData()) {
		p := res.Prefix()
		first := p.Masked().Addr()
		out = append(out, first, lastAddr(p))
		if first.Is4() {
			out = append(out, netip.AddrFrom16(first.As16()))
		}
	}
	return out
}

func lastAddr(p netip.Prefix) netip.Addr {
	b := p.Masked().Addr().AsSlice()
	for i := p.Bits(); i < len(b)*8; i++ {
		b[i/8] |= 0x80 >> (i % 8)
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	city, err := os.ReadFile(cityDB)
	if err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "missing.mmdb")
	garbage := write("garbage.mmdb", []byte(strings.Repeat("not a database ", 1000)))
	empty := write("empty.mmdb", nil)
	truncated := write("truncated.mmdb", city[:len(city)/2])
	tests := []struct {
		name    string
		cfg     Config
		path    string // must appear in the message
		wantMsg string
	}{
		{"missing city", Config{City: missing}, missing, "no such file"},
		{"missing country", Config{Country: missing}, missing, "no such file"},
		{"missing asn", Config{City: cityDB, ASN: missing}, missing, "no such file"},
		{"garbage", Config{City: garbage}, garbage, "not a readable MaxMind DB"},
		{"empty", Config{Country: empty}, empty, "not a readable MaxMind DB"},
		{"truncated", Config{City: truncated}, truncated, "not a readable MaxMind DB"},
		{"garbage asn", Config{ASN: garbage}, garbage, "not a readable MaxMind DB"},
		{"directory", Config{City: dir}, dir, "not a regular file"},
		{"asn as city", Config{City: asnDB}, asnDB, "configure it as the ASN database"},
		{"city as asn", Config{ASN: cityDB}, cityDB, "no autonomous_system_number"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := Open(tt.cfg)
			if err == nil {
				_ = r.Close()
				t.Fatal("Open succeeded")
			}
			if !strings.Contains(err.Error(), tt.path) || !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("error %q should name %s and say %q", err, tt.path, tt.wantMsg)
			}
		})
	}
	if _, err := Open(Config{City: missing}); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: %v should wrap fs.ErrNotExist", err)
	}
}

// TestOpenCorrupt damages a real database in many places: Open must fail
// cleanly or give a Resolver whose lookups do not panic.
func TestOpenCorrupt(t *testing.T) {
	orig, err := os.ReadFile(cityDB)
	if err != nil {
		t.Fatal(err)
	}
	ips := []netip.Addr{
		netip.MustParseAddr("81.2.69.142"), netip.MustParseAddr("216.160.83.56"),
		netip.MustParseAddr("2001:218::1"), netip.MustParseAddr("8.8.8.8"),
		netip.MustParseAddr("2a02:d500::1"), netip.MustParseAddr("175.16.199.1"),
	}
	// Odd rounds damage only the data section, which the search tree and
	// metadata checks do not cover, so more of those copies open.
	md := mustOpenDatabase(t, orig).reader.Metadata
	dataStart := int(md.NodeCount*md.RecordSize/4) + dataSeparatorLen
	dataEnd := bytes.LastIndex(orig, metadataMarker)
	rng := rand.New(rand.NewPCG(1, 2))
	opened := 0
	for i := range 500 {
		buf := append([]byte(nil), orig...)
		for range 1 + i%8 {
			pos := rng.IntN(len(buf))
			if i%2 == 1 {
				pos = dataStart + rng.IntN(dataEnd-dataStart)
			}
			buf[pos] = byte(rng.Uint32())
		}
		if i%50 == 0 {
			buf = buf[:rng.IntN(len(buf))]
		}
		db, err := openDatabase("corrupt", buf, roleGeo)
		if err != nil && !strings.Contains(err.Error(), "geo: corrupt: ") {
			t.Errorf("error does not name the database: %v", err)
		}
		if err != nil {
			continue
		}
		opened++
		for _, ip := range ips {
			var loc Location
			db.lookup(ip, &loc)
		}
	}
	t.Logf("%d of 500 damaged copies opened", opened)
}

func mustOpenDatabase(t *testing.T, buf []byte) *database {
	t.Helper()
	db, err := openDatabase("test", buf, roleGeo)
	if err != nil {
		t.Fatal(err)
	}
	return db
}

func TestZeroResolver(t *testing.T) {
	var r Resolver
	if got := r.Lookup(netip.MustParseAddr("81.2.69.142")); got != (Location{}) {
		t.Errorf("zero Resolver Lookup = %+v", got)
	}
	if r.HasASN() || r.HasSubdivisions() || r.HasCoords() {
		t.Error("zero Resolver claims capabilities")
	}
	r.Watch(context.Background(), time.Millisecond, nil) // nothing to watch: returns
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
}
