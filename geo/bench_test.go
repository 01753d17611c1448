package geo

import (
	"net/netip"
	"testing"

	"github.com/oschwald/geoip2-golang/v2"
)

// Addresses with records in the City test database, IPv4, mapped and IPv6.
var benchCityIPs = []netip.Addr{
	netip.MustParseAddr("81.2.69.142"),
	netip.MustParseAddr("216.160.83.56"),
	netip.MustParseAddr("::ffff:89.160.20.112"),
	netip.MustParseAddr("175.16.199.1"),
	netip.MustParseAddr("2001:218::1"),
	netip.MustParseAddr("2001:480:10::1"),
	netip.MustParseAddr("2a02:d3c0::1"),
	netip.MustParseAddr("214.0.1.1"),
}

var benchSink Location

func benchLookup(b *testing.B, r *Resolver, ips []netip.Addr) {
	b.Helper()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		benchSink = r.Lookup(ips[i%len(ips)])
		i++
	}
}

func BenchmarkLookupCity(b *testing.B) {
	benchLookup(b, openT(b, Config{City: cityDB}), benchCityIPs)
}

func BenchmarkLookupBuiltin(b *testing.B) {
	ips := []netip.Addr{
		netip.MustParseAddr("8.8.8.8"),
		netip.MustParseAddr("81.2.69.142"),
		netip.MustParseAddr("::ffff:193.0.6.139"),
		netip.MustParseAddr("2001:67c:2e8::1"),
		netip.MustParseAddr("2001:4860:4860::8888"),
		netip.MustParseAddr("202.12.29.1"),
	}
	benchLookup(b, openT(b, Config{}), ips)
}

// BenchmarkLookupASN measures the ASN database alone (the cost an ASN
// database adds to each lookup).
func BenchmarkLookupASN(b *testing.B) {
	r := openT(b, Config{ASN: asnDB})
	asn := r.cur.Load().asn
	ips := []netip.Addr{
		netip.MustParseAddr("89.160.20.112"),
		netip.MustParseAddr("1.128.0.1"),
		netip.MustParseAddr("214.0.1.1"),
		netip.MustParseAddr("2001:4600::1"),
		netip.MustParseAddr("2003::1"),
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		var loc Location
		asn.lookup(ips[i%len(ips)], &loc)
		benchSink = loc
		i++
	}
}

// BenchmarkLookupCityASN is a full lookup with both databases.
func BenchmarkLookupCityASN(b *testing.B) {
	benchLookup(b, openT(b, Config{City: cityDB, ASN: asnDB}), benchCityIPs)
}

func BenchmarkLookupCityParallel(b *testing.B) {
	r := openT(b, Config{City: cityDB})
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			loc := r.Lookup(benchCityIPs[i%len(benchCityIPs)])
			if loc.Country == "" {
				b.Error("no country")
			}
			i++
		}
	})
}

// BenchmarkGeoIP2City is the reference: geoip2-golang decoding the full City
// model for the same addresses.
func BenchmarkGeoIP2City(b *testing.B) {
	db, err := geoip2.Open(cityDB)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, err := db.City(benchCityIPs[i%len(benchCityIPs)]); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

func BenchmarkCodeMatch(b *testing.B) {
	c, err := ParseCode("EU-GB-ENG")
	if err != nil {
		b.Fatal(err)
	}
	loc := Location{Continent: "EU", Country: "GB", Subdivision: "ENG"}
	b.ReportAllocs()
	for b.Loop() {
		if !c.Match(loc) {
			b.Fatal("no match")
		}
	}
}

func BenchmarkOpenBuiltin(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		r, err := Open(Config{})
		if err != nil {
			b.Fatal(err)
		}
		_ = r.Close()
	}
}
