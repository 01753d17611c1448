package geo

// Continent codes as they appear in MaxMind records and octoDNS geo codes.
// The index of a code in continentCodes is its id in countryTable.
var continentCodes = [...]string{"", "AF", "AN", "AS", "EU", "NA", "OC", "SA"}

// countryContinents lists every ISO 3166-1 alpha-2 code (plus XK, Kosovo,
// which GeoIP databases use) after its continent, following GeoNames'
// countryInfo.txt, which is also where MaxMind's continent.code comes from.
// Keeping the two in step means a rule written as a country's continent
// matches the same clients whether the database is the built-in country-only
// one (continent derived here) or a MaxMind City/Country one (continent read
// from the record).
//
// Grouped by continent; the order inside a group does not matter.
const countryContinents = `
AF: AO BF BI BJ BW CD CF CG CI CM CV DJ DZ EG EH ER ET GA GH GM GN GQ GW KE
    KM LR LS LY MA MG ML MR MU MW MZ NA NE NG RE RW SC SD SH SL SN SO SS ST
    SZ TD TG TN TZ UG YT ZA ZM ZW
AN: AQ BV GS HM TF
AS: AE AF AM AZ BD BH BN BT CC CN CX CY GE HK ID IL IN IO IQ IR JO JP KG KH
    KP KR KW KZ LA LB LK MM MN MO MV MY NP OM PH PK PS QA SA SG SY TH TJ TM
    TR TW UZ VN YE
EU: AD AL AT AX BA BE BG BY CH CZ DE DK EE ES FI FO FR GB GG GI GR HR HU IE
    IM IS IT JE LI LT LU LV MC MD ME MK MT NL NO PL PT RO RS RU SE SI SJ SK
    SM UA VA XK
NA: AG AI AW BB BL BM BQ BS BZ CA CR CU CW DM DO GD GL GP GT HN HT JM KN KY
    LC MF MQ MS MX NI PA PM PR SV SX TC TT US VC VG VI
OC: AS AU CK FJ FM GU KI MH MP NC NF NR NU NZ PF PG PN PW SB TK TL TO TV UM
    VU WF WS
SA: AR BO BR CL CO EC FK GF GY PE PY SR UY VE
`

// octoDNSContinents lists the countries that octoDNS's geo data places on a
// different continent than GeoNames does. ValidCode accepts either spelling
// so zones written for octoDNS load unchanged; matching a country code never
// looks at the continent part, so both spellings match the same clients.
var octoDNSContinents = map[string]string{
	"GS": "SA", // South Georgia: GeoNames AN
	"TL": "AS", // Timor-Leste: GeoNames OC
}

// countryTable maps a two-letter code (see countryIndex) to its continent's
// index in continentCodes; 0 means not an assigned code. Built once from
// countryContinents and never written afterwards.
var countryTable = buildCountryTable(countryContinents)

func buildCountryTable(src string) *[26 * 26]uint8 {
	var t [26 * 26]uint8
	var cont uint8
	for i := 0; i+1 < len(src); {
		switch {
		case src[i] == ' ' || src[i] == '\n':
			i++
		case i+2 < len(src) && src[i+2] == ':':
			cont = 0
			for j, code := range continentCodes {
				if code == src[i:i+2] {
					cont = uint8(j)
				}
			}
			i += 3
		default:
			// TestCountryTable checks that every entry landed here.
			if idx := countryIndex(src[i : i+2]); idx >= 0 {
				t[idx] = cont
			}
			i += 2
		}
	}
	return &t
}

// countryIndex maps "AA".."ZZ" to 0..675, anything else to -1.
func countryIndex(code string) int {
	if len(code) != 2 {
		return -1
	}
	a, b := code[0]-'A', code[1]-'A'
	if a >= 26 || b >= 26 {
		return -1
	}
	return int(a)*26 + int(b)
}

// ContinentOf returns the two-letter continent code (AF AN AS EU NA OC SA) of
// an ISO 3166-1 alpha-2 country code, or "" for an unknown or lower-case code.
// The assignments are GeoNames' (so EG is AF, RU is EU, TR and CY are AS, MX
// and PA and the Caribbean are NA, AQ is AN). It is used to fill in the
// continent for databases whose records carry only a country, and by
// ValidCode to check that a code's country belongs to its continent.
func ContinentOf(country string) string {
	idx := countryIndex(country)
	if idx < 0 {
		return ""
	}
	return continentCodes[countryTable[idx]]
}

func validContinent(code string) bool {
	if code == "" {
		return false
	}
	for _, c := range continentCodes[1:] {
		if c == code {
			return true
		}
	}
	return false
}
