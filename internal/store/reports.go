package store

import (
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// bucketReports maps a site name to the last load report accepted from it
// and the load table's state for that site, so that a restarted server
// keeps refusing replayed reports and does not forget the sites' loads.
// It is created by the first save.
var bucketReports = []byte("reports")

// ReportRecord is what is kept about one reporting site. The store does
// not look inside Report, so that it does not depend on packages
// loadreport and loadreport/receiver, which encode and decode it.
type ReportRecord struct {
	// Report is the accepted report as JSON.
	Report json.RawMessage
	// Received is when the server accepted it (the server's clock).
	Received time.Time
	// Smoothed, Shed and Returned are the load table's state for the site
	// after the report: the smoothed load, whether the site sheds, and
	// when it last came back to serving (zero: never away).
	Smoothed float64
	Shed     bool
	Returned time.Time
}

const reportVersion = 1

// reportValue is the stored form: JSON, with times as Unix nanoseconds
// (0 for the zero time) and a version for later formats.
type reportValue struct {
	V        int             `json:"v"`
	Report   json.RawMessage `json:"report"`
	Received int64           `json:"received"`
	Smoothed float64         `json:"smoothed"`
	Shed     bool            `json:"shed,omitempty"`
	Returned int64           `json:"returned,omitempty"`
}

func encodeReport(r ReportRecord) ([]byte, error) {
	return json.Marshal(reportValue{
		V: reportVersion, Report: r.Report, Received: unixNano(r.Received),
		Smoothed: r.Smoothed, Shed: r.Shed, Returned: unixNano(r.Returned),
	})
}

// decodeReport reads a stored record; json.Unmarshal copies what it
// keeps, so v may be memory owned by a bbolt transaction.
func decodeReport(v []byte) (ReportRecord, bool) {
	var rv reportValue
	if err := json.Unmarshal(v, &rv); err != nil || rv.V != reportVersion || len(rv.Report) == 0 {
		return ReportRecord{}, false
	}
	return ReportRecord{
		Report: rv.Report, Received: fromUnixNano(rv.Received),
		Smoothed: rv.Smoothed, Shed: rv.Shed, Returned: fromUnixNano(rv.Returned),
	}, true
}

// SaveReport records the last report accepted from site. Saving the same
// record twice leaves the file as it was.
func (s *Store) SaveReport(site string, r ReportRecord) error {
	v, err := encodeReport(r)
	if err != nil {
		return fmt.Errorf("encoding report of site %s: %w", site, err)
	}
	err = s.update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(bucketReports)
		if err != nil {
			return err
		}
		return b.Put([]byte(site), v)
	})
	if err != nil {
		return fmt.Errorf("saving report of site %s to %s: %w", site, s.path, err)
	}
	return nil
}

// LoadReports returns every site's record. Records in an unknown (newer)
// format are left out.
func (s *Store) LoadReports() (map[string]ReportRecord, error) {
	out := map[string]ReportRecord{}
	err := s.view(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketReports)
		if b == nil {
			return nil
		}
		return b.ForEach(func(k, v []byte) error {
			if r, ok := decodeReport(v); ok {
				out[string(k)] = r
			}
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("reading reports from %s: %w", s.path, err)
	}
	return out, nil
}

// DeleteReports forgets sites that are no longer configured. Deleting a
// site that is not there is not an error.
func (s *Store) DeleteReports(sites []string) error {
	if len(sites) == 0 {
		return nil
	}
	err := s.update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketReports)
		if b == nil {
			return nil
		}
		for _, k := range sites {
			if err := b.Delete([]byte(k)); err != nil {
				return fmt.Errorf("site %s: %w", k, err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("deleting %d reports from %s: %w", len(sites), s.path, err)
	}
	return nil
}
