package geo

import (
	"bytes"
	"fmt"
	"math"
	"net/netip"
	"strings"

	"github.com/oschwald/maxminddb-golang/v2"
	"github.com/oschwald/maxminddb-golang/v2/mmdbdata"
)

// role says which fields a database is read for.
type role uint8

const (
	roleGeo  role = iota // continent, country, subdivision, coordinates
	roleASN              // autonomous_system_number
	roleBoth             // both; only for sniffing a file's kind
)

func (r role) String() string {
	if r == roleASN {
		return "ASN"
	}
	return "City/Country"
}

// database is one opened MaxMind DB. It is immutable once built and shared by
// every lookup until a reload drops it; it is never closed explicitly, since
// lookups may still be running on it, and the garbage collector frees it.
type database struct {
	name   string // file path, or "built-in country database"
	role   role
	reader *maxminddb.Reader // search tree: IP -> record offset and prefix
	data   *mmdbdata.Decoder // data section, for reflection-free record decoding
	stat   fileStat          // of the file when it was read; zero for the built-in

	subdivisions bool // records can carry subdivisions[0].iso_code
	coords       bool // records can carry location.latitude/longitude
}

// metadataMarker starts the metadata section at the end of every MaxMind DB
// file (MaxMind DB spec, "Database Metadata").
var metadataMarker = []byte("\xab\xcd\xefMaxMind.com")

// dataSeparatorLen is the size of the zero block between the search tree and
// the data section (MaxMind DB spec, "Data Section Separator").
const dataSeparatorLen = 16

// sniffLimit bounds how many networks openDatabase decodes to check that the
// file holds the records its role needs.
const sniffLimit = 4096

// openDatabase parses buf, which it keeps and must not be modified, as a
// MaxMind DB for role r. Besides what maxminddb checks, it decodes the first
// networks' records to make sure the data section is readable and that the
// file is the right kind (a City/Country file has continents or countries, an
// ASN file has AS numbers), so a wrong or damaged file fails here rather than
// answering every query with "unknown".
func openDatabase(name string, buf []byte, r role) (*database, error) {
	reader, err := maxminddb.OpenBytes(buf)
	if err != nil {
		return nil, fmt.Errorf("geo: %s: not a readable MaxMind DB: %w", name, err)
	}
	md := reader.Metadata
	if md.IPVersion != 4 && md.IPVersion != 6 {
		return nil, fmt.Errorf("geo: %s: unsupported ip_version %d", name, md.IPVersion)
	}
	// Lookups give a record's offset inside the data section; decode it with
	// our own decoder over that section (spec: it starts after the search
	// tree and the 16-byte separator and ends at the metadata marker).
	start := uint64(md.NodeCount) * uint64(md.RecordSize) / 4
	end := bytes.LastIndex(buf, metadataMarker)
	if end < 0 || start+dataSeparatorLen > uint64(end) {
		return nil, fmt.Errorf("geo: %s: search tree size does not fit the file", name)
	}
	db := &database{
		name:   name,
		role:   r,
		reader: reader,
		data:   mmdbdata.NewDecoder(buf[start+dataSeparatorLen:end], 0, mmdbdata.WithStringCache()),
	}
	typ := strings.ToLower(md.DatabaseType)
	db.subdivisions = strings.Contains(typ, "city") || strings.Contains(typ, "enterprise")
	db.coords = db.subdivisions
	if err := db.sniff(); err != nil {
		return nil, err
	}
	return db, nil
}

// sniff decodes up to sniffLimit records and checks that at least one has the
// field the database's role is for.
func (db *database) sniff() error {
	var geo, asn bool
	n := 0
	for res := range db.reader.Networks() {
		if n++; n > sniffLimit {
			break
		}
		if err := res.Err(); err != nil {
			return fmt.Errorf("geo: %s: reading the search tree: %w", db.name, err)
		}
		var loc Location
		if err := db.decode(uint(res.Offset()), roleBoth, &loc); err != nil {
			return fmt.Errorf("geo: %s: record for %s: %w", db.name, res.Prefix(), err)
		}
		geo = geo || loc.Country != "" || loc.Continent != ""
		asn = asn || loc.ASN != 0
		db.subdivisions = db.subdivisions || loc.Subdivision != ""
		db.coords = db.coords || loc.HasCoords
	}
	switch {
	case n == 0:
		return fmt.Errorf("geo: %s: the database has no networks", db.name)
	case db.role == roleGeo && !geo:
		hint := ""
		if asn {
			hint = " (it looks like an ASN database: configure it as the ASN database)"
		}
		return fmt.Errorf("geo: %s: database type %q has no continent or country in its records, want a City or Country database%s",
			db.name, db.reader.Metadata.DatabaseType, hint)
	case db.role == roleASN && !asn:
		return fmt.Errorf("geo: %s: database type %q has no autonomous_system_number in its records, want an ASN database",
			db.name, db.reader.Metadata.DatabaseType)
	}
	return nil
}

// lookup fills loc with what db knows about ip, which must be valid and
// unmapped. A record that fails to decode leaves the fields it did not reach
// unknown: a lookup has nowhere to report the error, and openDatabase has
// already checked that records decode.
func (db *database) lookup(ip netip.Addr, loc *Location) {
	res := db.reader.Lookup(ip)
	if res.Err() != nil { // e.g. an IPv6 address in an IPv4-only database
		return
	}
	prefix := res.Prefix()
	bits := prefix.Bits()
	if ip.Is4() && !prefix.Addr().Is4() {
		// The tree ended above the IPv4 subtree: the not-found node
		// covers all of IPv4.
		bits = 0
	}
	if db.role == roleASN {
		loc.ASNPrefix = bits
	} else {
		loc.Prefix = bits
	}
	if !res.Found() {
		return
	}
	_ = db.decode(uint(res.Offset()), db.role, loc)
}

// decode reads the record at offset in the data section into loc, taking only
// the fields for role r. It walks the record with cursors instead of
// reflection, skipping everything else (names in many languages, postal codes,
// time zones ...), which keeps a lookup allocation-free: the strings it keeps
// are short and served by the decoder's string cache.
func (db *database) decode(offset uint, r role, loc *Location) error {
	m, err := db.data.CursorAt(offset).MapReader()
	if err != nil {
		return err
	}
	next := m.First()
	for range m.Len() {
		key, val, err := next.ReadMapKey()
		if err != nil {
			return err
		}
		switch {
		case r != roleGeo && string(key) == "autonomous_system_number":
			var n uint64
			n, next, err = val.ReadUint()
			if err == nil && n > math.MaxUint32 {
				err = fmt.Errorf("autonomous_system_number %d out of range", n)
			}
			loc.ASN = uint32(n)
		case r == roleASN:
			next, err = val.Skip()
		case string(key) == "continent":
			next, err = readMember(val, "code", &loc.Continent)
		case string(key) == "country":
			next, err = readMember(val, "iso_code", &loc.Country)
		case string(key) == "country_code": // ip-location-db (built-in) records
			loc.Country, next, err = val.ReadStringMaxSize(maxCodeLen)
		case string(key) == "subdivisions":
			next, err = readFirstSubdivision(val, &loc.Subdivision)
		case string(key) == "location":
			next, err = readLocation(val, loc)
		default:
			next, err = val.Skip()
		}
		if err != nil {
			return fmt.Errorf("field %q: %w", key, err)
		}
	}
	if _, err := m.End(next); err != nil {
		return err
	}
	if r != roleASN && loc.Continent == "" {
		loc.Continent = ContinentOf(loc.Country)
	}
	return nil
}

// maxCodeLen bounds the code strings we keep (continent, country and
// subdivision codes are 2 or 3 bytes; MaxMind subdivisions up to 3).
const maxCodeLen = 16

// readMember reads member name, a string, of the map at c into *dst and skips
// the rest of the map.
func readMember(c mmdbdata.Cursor, name string, dst *string) (mmdbdata.Cursor, error) {
	m, err := c.MapReader()
	if err != nil {
		return mmdbdata.Cursor{}, err
	}
	next := m.First()
	for range m.Len() {
		key, val, err := next.ReadMapKey()
		if err != nil {
			return mmdbdata.Cursor{}, err
		}
		if string(key) == name {
			*dst, next, err = val.ReadStringMaxSize(maxCodeLen)
		} else {
			next, err = val.Skip()
		}
		if err != nil {
			return mmdbdata.Cursor{}, err
		}
	}
	return m.End(next)
}

// readFirstSubdivision reads subdivisions[0].iso_code, the largest
// subdivision (England rather than its county), into *dst.
func readFirstSubdivision(c mmdbdata.Cursor, dst *string) (mmdbdata.Cursor, error) {
	s, err := c.Slice()
	if err != nil {
		return mmdbdata.Cursor{}, err
	}
	var next mmdbdata.Cursor
	for {
		i, val, ok := s.Next(next)
		if !ok {
			break
		}
		if i == 0 {
			next, err = readMember(val, "iso_code", dst)
		} else {
			next, err = val.Skip()
		}
		if err != nil {
			return mmdbdata.Cursor{}, err
		}
	}
	return s.End()
}

// readLocation reads location.latitude and location.longitude; HasCoords is
// set only when both are present.
func readLocation(c mmdbdata.Cursor, loc *Location) (mmdbdata.Cursor, error) {
	m, err := c.MapReader()
	if err != nil {
		return mmdbdata.Cursor{}, err
	}
	var hasLat, hasLon bool
	next := m.First()
	for range m.Len() {
		key, val, err := next.ReadMapKey()
		if err != nil {
			return mmdbdata.Cursor{}, err
		}
		switch string(key) {
		case "latitude":
			loc.Lat, next, err = val.ReadFloat()
			hasLat = err == nil
		case "longitude":
			loc.Lon, next, err = val.ReadFloat()
			hasLon = err == nil
		default:
			next, err = val.Skip()
		}
		if err != nil {
			return mmdbdata.Cursor{}, err
		}
	}
	loc.HasCoords = hasLat && hasLon
	return m.End(next)
}
