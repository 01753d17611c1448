package geo

import (
	"fmt"
	"strings"
)

// Code is a parsed octoDNS geo code: "EU" (continent), "EU-GB" (country) or
// "NA-US-WA" (subdivision). Zones parse their codes once at load time with
// ParseCode and match each query's Location with Match, which compares a few
// short strings and allocates nothing.
type Code struct {
	Continent   string // AF AN AS EU NA OC SA; always set
	Country     string // ISO 3166-1 alpha-2; "" for a continent code
	Subdivision string // ISO 3166-2 suffix such as "WA" or "ENG"; "" unless a subdivision code
}

// ParseCode parses and validates an octoDNS geo code. The continent must be
// one of AF AN AS EU NA OC SA; the country an ISO 3166-1 alpha-2 code on that
// continent (GeoNames' assignments; octoDNS's SA-GS and AS-TL are accepted
// too); the subdivision 1 to 3 upper-case letters or digits, for any
// country (whether the database knows it is not checked). Errors quote the
// code and say which part is wrong.
func ParseCode(s string) (Code, error) {
	parts := strings.SplitN(s, "-", 4)
	if s == "" || len(parts) > 3 {
		return Code{}, fmt.Errorf("geo code %q: want CONTINENT, CONTINENT-COUNTRY or CONTINENT-COUNTRY-SUBDIVISION", s)
	}
	c := Code{Continent: parts[0]}
	if !validContinent(c.Continent) {
		return Code{}, fmt.Errorf("geo code %q: unknown continent %q (want one of AF AN AS EU NA OC SA)", s, c.Continent)
	}
	if len(parts) == 1 {
		return c, nil
	}
	c.Country = parts[1]
	cont := ContinentOf(c.Country)
	switch {
	case cont == "":
		return Code{}, fmt.Errorf("geo code %q: unknown country %q (want an ISO 3166-1 alpha-2 code such as US or GB)", s, c.Country)
	case cont != c.Continent && octoDNSContinents[c.Country] != c.Continent:
		return Code{}, fmt.Errorf("geo code %q: %s is in %s, not %s", s, c.Country, cont, c.Continent)
	}
	if len(parts) == 2 {
		return c, nil
	}
	c.Subdivision = parts[2]
	if !validSubdivision(c.Subdivision) {
		return Code{}, fmt.Errorf("geo code %q: subdivision %q must be 1 to 3 upper-case letters or digits (the ISO 3166-2 code without the country, such as WA or ENG)", s, c.Subdivision)
	}
	return c, nil
}

// ValidCode reports whether code is a valid octoDNS geo code; see ParseCode.
func ValidCode(code string) error {
	_, err := ParseCode(code)
	return err
}

// Match reports whether l lies in the area c names. A continent code compares
// the continent; a country or subdivision code compares only the country (and
// subdivision), never the continent, so databases that place a country on
// another continent than the code does still match it. An unknown Location
// matches nothing.
func (c Code) Match(l Location) bool {
	switch {
	case c.Subdivision != "":
		return l.Country == c.Country && l.Subdivision == c.Subdivision
	case c.Country != "":
		return l.Country == c.Country
	default:
		return c.Continent != "" && l.Continent == c.Continent
	}
}

// String returns the code in octoDNS form.
func (c Code) String() string {
	switch {
	case c.Subdivision != "":
		return c.Continent + "-" + c.Country + "-" + c.Subdivision
	case c.Country != "":
		return c.Continent + "-" + c.Country
	}
	return c.Continent
}

func validSubdivision(s string) bool {
	if len(s) == 0 || len(s) > 3 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < 'A' || c > 'Z') && (c < '0' || c > '9') {
			return false
		}
	}
	return true
}
