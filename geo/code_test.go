package geo

import (
	"strings"
	"testing"
)

func TestParseCode(t *testing.T) {
	tests := []struct {
		in      string
		want    Code
		wantErr string // substring of the error; "" for success
	}{
		{"EU", Code{Continent: "EU"}, ""},
		{"AN", Code{Continent: "AN"}, ""},
		{"NA-US", Code{Continent: "NA", Country: "US"}, ""},
		{"EU-GB", Code{Continent: "EU", Country: "GB"}, ""},
		{"AS-JP", Code{Continent: "AS", Country: "JP"}, ""},
		{"AF-EG", Code{Continent: "AF", Country: "EG"}, ""},
		{"AS-TR", Code{Continent: "AS", Country: "TR"}, ""},
		{"AS-CY", Code{Continent: "AS", Country: "CY"}, ""},
		{"EU-RU", Code{Continent: "EU", Country: "RU"}, ""},
		{"NA-PA", Code{Continent: "NA", Country: "PA"}, ""},
		{"NA-JM", Code{Continent: "NA", Country: "JM"}, ""},
		{"AN-AQ", Code{Continent: "AN", Country: "AQ"}, ""},
		{"EU-XK", Code{Continent: "EU", Country: "XK"}, ""},
		{"OC-TL", Code{Continent: "OC", Country: "TL"}, ""},
		{"AS-TL", Code{Continent: "AS", Country: "TL"}, ""}, // octoDNS's continent
		{"AN-GS", Code{Continent: "AN", Country: "GS"}, ""},
		{"SA-GS", Code{Continent: "SA", Country: "GS"}, ""}, // octoDNS's continent
		{"NA-US-WA", Code{Continent: "NA", Country: "US", Subdivision: "WA"}, ""},
		{"NA-CA-BC", Code{Continent: "NA", Country: "CA", Subdivision: "BC"}, ""},
		{"EU-GB-ENG", Code{Continent: "EU", Country: "GB", Subdivision: "ENG"}, ""},
		{"EU-SE-E", Code{Continent: "EU", Country: "SE", Subdivision: "E"}, ""},
		{"AS-CN-22", Code{Continent: "AS", Country: "CN", Subdivision: "22"}, ""},
		{"OC-AU-VIC", Code{Continent: "OC", Country: "AU", Subdivision: "VIC"}, ""},

		{"", Code{}, "want CONTINENT"},
		{"EU-GB-ENG-X", Code{}, "want CONTINENT"},
		{"XX", Code{}, `unknown continent "XX"`},
		{"eu", Code{}, `unknown continent "eu"`},
		{"EUR", Code{}, `unknown continent "EUR"`},
		{"EU-", Code{}, `unknown country ""`},
		{"EU-ZZ", Code{}, `unknown country "ZZ"`},
		{"EU-gb", Code{}, `unknown country "gb"`},
		{"EU-GBR", Code{}, `unknown country "GBR"`},
		{"EU-US", Code{}, `geo code "EU-US": US is in NA, not EU`},
		{"AS-RU", Code{}, "RU is in EU, not AS"},
		{"EU-TR", Code{}, "TR is in AS, not EU"},
		{"SA-MX", Code{}, "MX is in NA, not SA"},
		{"NA-US-", Code{}, `subdivision ""`},
		{"NA-US-wa", Code{}, `subdivision "wa"`},
		{"EU-GB-ENGL", Code{}, `subdivision "ENGL" must be 1 to 3`},
		{"NA-US-W A", Code{}, `subdivision "W A"`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseCode(tt.in)
			verr := ValidCode(tt.in)
			if tt.wantErr == "" {
				if err != nil || verr != nil {
					t.Fatalf("ParseCode: %v, ValidCode: %v", err, verr)
				}
				if got != tt.want {
					t.Errorf("got %+v, want %+v", got, tt.want)
				}
				if got.String() != tt.in {
					t.Errorf("String() = %q, want %q", got.String(), tt.in)
				}
				return
			}
			if err == nil || verr == nil {
				t.Fatalf("got %+v, want error containing %q", got, tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), `"`+tt.in+`"`) {
				t.Errorf("error %q should quote the code and contain %q", err, tt.wantErr)
			}
		})
	}
}

func TestCodeMatch(t *testing.T) {
	london := Location{Continent: "EU", Country: "GB", Subdivision: "ENG"}
	seattle := Location{Continent: "NA", Country: "US", Subdivision: "WA"}
	france := Location{Continent: "EU", Country: "FR"}
	continentOnly := Location{Continent: "EU"}
	timor := Location{Continent: "OC", Country: "TL"}
	tests := []struct {
		code string
		loc  Location
		want bool
	}{
		{"EU", london, true},
		{"EU", france, true},
		{"EU", continentOnly, true},
		{"NA", london, false},
		{"NA", seattle, true},
		{"EU-GB", london, true},
		{"EU-GB", france, false},
		{"EU-GB", continentOnly, false},
		{"NA-US", seattle, true},
		{"EU-GB-ENG", london, true},
		{"EU-GB-SCT", london, false},
		{"NA-US-WA", seattle, true},
		{"NA-US-OR", seattle, false},
		{"EU-FR-IDF", france, false}, // no subdivision known
		{"AS-TL", timor, true},       // country codes ignore the continent part
		{"OC-TL", timor, true},
		{"AS", timor, false},
		{"EU", Location{}, false},
		{"EU-GB", Location{}, false},
	}
	for _, tt := range tests {
		c, err := ParseCode(tt.code)
		if err != nil {
			t.Fatal(err)
		}
		if got := c.Match(tt.loc); got != tt.want {
			t.Errorf("ParseCode(%q).Match(%+v) = %v, want %v", tt.code, tt.loc, got, tt.want)
		}
	}
	if (Code{}).Match(Location{}) {
		t.Error("zero Code matched the zero Location")
	}
}

func TestCodeMatchAllocs(t *testing.T) {
	codes := []Code{}
	for _, s := range []string{"EU", "EU-GB", "EU-GB-ENG"} {
		c, err := ParseCode(s)
		if err != nil {
			t.Fatal(err)
		}
		codes = append(codes, c)
	}
	loc := Location{Continent: "EU", Country: "GB", Subdivision: "ENG"}
	n := testing.AllocsPerRun(100, func() {
		for _, c := range codes {
			if !c.Match(loc) {
				t.Fatal("no match")
			}
		}
	})
	if n != 0 {
		t.Errorf("Match allocates %v times", n)
	}
}
