package geo

import (
	_ "embed"
	"fmt"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
)

// Location is what geo rules match on: the result of looking up one client
// address. The zero value means nothing is known.
type Location struct {
	Continent   string // two-letter continent code: AF AN AS EU NA OC SA ("" unknown)
	Country     string // ISO 3166-1 alpha-2 ("" unknown)
	Subdivision string // ISO 3166-2 subdivision code without the country, e.g. "WA", "ENG": the first, largest subdivision ("" unknown)
	Lat, Lon    float64
	HasCoords   bool // Lat and Lon are set (City databases only)

	// Prefix is the prefix length of the City/Country database network that
	// matched, counted in the looked-up address's family (IPv4 /0-32, IPv6
	// /0-128), so it can serve as the EDNS Client Subnet scope: every address
	// in that network gets the same answer. Lookup unmaps ::ffff:a.b.c.d, so
	// for a mapped address it is an IPv4 length (add 96 to scope an
	// IPv6-family ECS option). For an address the database does not cover it
	// is the length of the empty tree node the search stopped at (maxminddb's
	// Result.Prefix; 10.0.0.1 gives 8 in the built-in database), which is
	// just as valid a scope; for IPv4 in a database without IPv4 data it is 0.
	Prefix int

	ASN       uint32 // autonomous system number; 0 unknown or no ASN database
	ASNPrefix int    // like Prefix, for the ASN database; 0 without one
}

// Config names the database files. City is used if set, else Country, else
// the built-in country database; ASN is optional.
type Config struct {
	City    string // MaxMind GeoIP2/GeoLite2 City (or compatible) .mmdb
	Country string // MaxMind GeoIP2/GeoLite2 Country (or compatible) .mmdb
	ASN     string // MaxMind GeoLite2 ASN (or compatible) .mmdb
}

// builtinCountryDB is ip-location-db's iptoasn-country database (PDDL-1.0);
// see builtin/README.md. Its records carry only a country code.
//
//go:embed builtin/iptoasn-country.mmdb
var builtinCountryDB []byte

const builtinName = "built-in country database"

// Resolver answers lookups from immutable database handles swapped
// atomically when a file changes on disk (see Watch), so a lookup takes no
// lock: it loads one pointer and reads. Create one with Open; the zero value
// knows nothing and answers every lookup with the zero Location.
//
// Database files are read into memory rather than memory-mapped. A reload can
// then drop the old handle while lookups still use it (the garbage collector
// frees it), and an operator overwriting a file in place cannot crash the
// process through a truncated mapping; the cost is the file's size in heap
// (about 60 MB for GeoLite2-City).
type Resolver struct {
	geoPath, asnPath string // "" geoPath: built-in

	cur    atomic.Pointer[snapshot]
	mu     sync.Mutex // serialises reloads and Close; never taken by Lookup
	closed bool       // guarded by mu
}

// snapshot is the set of databases lookups use; replaced whole on reload.
type snapshot struct {
	geo *database // nil only after Close
	asn *database // nil without an ASN database
}

// Open reads the configured databases. Errors name the file and say what is
// wrong with it. With neither City nor Country set it uses the built-in
// country database, which gives continent and country only.
func Open(cfg Config) (*Resolver, error) {
	r := &Resolver{geoPath: cfg.City, asnPath: cfg.ASN}
	if r.geoPath == "" {
		r.geoPath = cfg.Country
	}
	var s snapshot
	var err error
	if r.geoPath == "" {
		s.geo, err = openDatabase(builtinName, builtinCountryDB, roleGeo)
	} else {
		s.geo, err = openFile(r.geoPath, roleGeo)
	}
	if err != nil {
		return nil, err
	}
	if r.asnPath != "" {
		if s.asn, err = openFile(r.asnPath, roleASN); err != nil {
			return nil, err
		}
	}
	r.cur.Store(&s)
	return r, nil
}

// openFile reads a whole database file and opens it for role.
func openFile(path string, r role) (*database, error) {
	before, err := statFile(path)
	if err != nil {
		return nil, fmt.Errorf("geo: %s database: %w", r, err)
	}
	buf, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("geo: %s database: %w", r, err)
	}
	db, err := openDatabase(path, buf, r)
	if err != nil {
		return nil, err
	}
	// Remember the file as it was before reading: if it changed while we
	// read it, Watch sees a different stat on its next poll and reads again.
	db.stat = before
	return db, nil
}

// Lookup returns what the databases know about ip. An IPv4-mapped IPv6
// address is looked up as IPv4 (the built-in database has no ::ffff:0:0/96
// alias) and a zone is ignored. It is safe for concurrent use, takes no lock
// and does not allocate; an invalid address or a closed Resolver gives the
// zero Location.
func (r *Resolver) Lookup(ip netip.Addr) Location {
	var loc Location
	if !ip.IsValid() {
		return loc
	}
	ip = ip.Unmap()
	s := r.snap()
	if s.geo != nil {
		s.geo.lookup(ip, &loc)
	}
	if s.asn != nil {
		s.asn.lookup(ip, &loc)
	}
	return loc
}

// HasASN reports whether an ASN database is configured, so a zone validator
// can reject an ASN rule with "needs geoip.asn configured".
func (r *Resolver) HasASN() bool { return r.snap().asn != nil }

// HasSubdivisions reports whether the City/Country database gives
// subdivisions (City databases do; Country ones and the built-in do not), so
// a validator can reject subdivision codes that could never match.
func (r *Resolver) HasSubdivisions() bool {
	g := r.snap().geo
	return g != nil && g.subdivisions
}

// HasCoords reports whether the database gives coordinates (City databases),
// which nearest-location rules need.
func (r *Resolver) HasCoords() bool {
	g := r.snap().geo
	return g != nil && g.coords
}

// snap returns the current snapshot; an empty one for a zero Resolver.
func (r *Resolver) snap() *snapshot {
	if s := r.cur.Load(); s != nil {
		return s
	}
	return &emptySnapshot
}

var emptySnapshot snapshot

// Close stops Watch and makes later lookups return the zero Location.
// Lookups already running finish on the old data. It returns nil; closing
// twice is harmless.
func (r *Resolver) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.closed = true
	r.cur.Store(&emptySnapshot)
	return nil
}
