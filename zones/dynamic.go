package zones

import (
	"strings"

	"github.com/smartdns/smartdns/internal/diag"
	"github.com/smartdns/smartdns/pool"
	"github.com/smartdns/smartdns/zones/zonefile"
)

// compileDynamic finishes a dynamic record the reader has checked: what
// depends on the server is checked here (GeoIP databases, ICMP), the
// backup values (the record's own, already encoded) are added, and the
// probed values get their health members. It returns nil when there is an
// error.
func compileDynamic(r *zonefile.Record, backup [][]byte, opt CompileOptions) (*pool.Record, diag.Problems) {
	var probs diag.Problems
	d := r.Dynamic
	if !opt.GeoASN {
		for _, at := range d.ASNsAt {
			probs.Add(at, "asns rules need an ASN database: set geoip.asn in the config")
		}
	}
	if d.ClosestAt != nil && !opt.GeoCoords {
		probs.Add(*d.ClosestAt, "policy closest needs client coordinates: set geoip.city in the config (a Country database has none)")
	}
	if d.ICMPAt != nil && opt.Members != nil && opt.ProbeICMP != nil {
		if err := opt.ProbeICMP(); err != nil {
			probs.Add(*d.ICMPAt, "%s", err.Error())
		}
	}
	if probs.HasErrors() {
		return nil, probs
	}

	// A copy: the record read from the file stays as it was, so that the
	// same records can be compiled again (with other options).
	rec := *d.Record
	rec.Pools = make([]pool.Pool, len(d.Record.Pools))
	for i, p := range d.Record.Pools {
		p.Values = append([]pool.Value(nil), p.Values...)
		for k := range p.Values {
			probe(&p.Values[k], d.Checks[i][k], opt.Members)
		}
		rec.Pools[i] = p
	}
	rec.Backup = make([]pool.Value, len(backup))
	for i, rd := range backup {
		// The RDATA keeps the file's case; the text is the value's
		// identity (overrides, the tally), lower case as pool values are.
		v := pool.Value{Text: strings.ToLower(zonefile.ValueText(r.Type, rd)), Rdata: rd, Weight: 1, Status: pool.Up, Member: -1}
		if l, ok := d.Locations[v.Text]; ok {
			v.Lat, v.Lon, v.HasLocation = l.Lat, l.Lon, true
		}
		rec.Backup[i] = v
	}
	rec.Prepare()
	return &rec, probs
}

// probe gives a value with status obey its health check and member id
// when probing is on (members set); otherwise the value is not probed.
func probe(v *pool.Value, ck *pool.Check, members *pool.Members) {
	v.Member, v.Check = -1, nil
	if members == nil || ck == nil || v.Status != pool.Obey {
		return
	}
	v.Member = members.ID(ck)
	if reg := members.Check(v.Member); reg != nil {
		ck = reg // equal checks share one
	}
	v.Check = ck
}
