package geo

import (
	"strings"
	"testing"
)

func TestContinentOf(t *testing.T) {
	tests := map[string]string{
		"US": "NA", "CA": "NA", "MX": "NA", "PA": "NA", "GL": "NA", "JM": "NA", "PR": "NA", "CU": "NA", "TT": "NA", "CW": "NA",
		"GB": "EU", "FR": "EU", "RU": "EU", "UA": "EU", "IS": "EU", "XK": "EU", "VA": "EU",
		"EG": "AF", "ZA": "AF", "MA": "AF", "SH": "AF", "RE": "AF",
		"TR": "AS", "CY": "AS", "AM": "AS", "GE": "AS", "AZ": "AS", "JP": "AS", "IL": "AS", "IO": "AS", "CX": "AS",
		"AU": "OC", "NZ": "OC", "TL": "OC", "UM": "OC", "PN": "OC", "GU": "OC",
		"BR": "SA", "AR": "SA", "FK": "SA", "GF": "SA",
		"AQ": "AN", "BV": "AN", "GS": "AN", "HM": "AN", "TF": "AN",
		// not countries
		"": "", "U": "", "USA": "", "us": "", "ZZ": "", "AA": "", "EU": "", "@@": "", "[A": "",
	}
	for in, want := range tests {
		if got := ContinentOf(in); got != want {
			t.Errorf("ContinentOf(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestCountryTable checks that the table holds every listed code exactly
// once: ISO 3166-1's 249 assigned codes plus XK.
func TestCountryTable(t *testing.T) {
	seen := map[string]string{}
	cont := ""
	for _, f := range strings.Fields(countryContinents) {
		if strings.HasSuffix(f, ":") {
			cont = strings.TrimSuffix(f, ":")
			if !validContinent(cont) {
				t.Errorf("bad continent %q", cont)
			}
			continue
		}
		if prev, dup := seen[f]; dup {
			t.Errorf("%s listed under %s and %s", f, prev, cont)
		}
		seen[f] = cont
		if got := ContinentOf(f); got != cont {
			t.Errorf("ContinentOf(%q) = %q, want %q", f, got, cont)
		}
	}
	if len(seen) != 250 {
		t.Errorf("%d codes, want 250 (ISO 3166-1 plus XK)", len(seen))
	}
	n := 0
	for _, c := range countryTable {
		if c != 0 {
			n++
		}
	}
	if n != len(seen) {
		t.Errorf("table has %d entries, list has %d", n, len(seen))
	}
	for c, alt := range octoDNSContinents {
		if ContinentOf(c) == "" || ContinentOf(c) == alt || !validContinent(alt) {
			t.Errorf("octoDNS alias %s -> %s makes no sense (GeoNames: %s)", c, alt, ContinentOf(c))
		}
	}
}
