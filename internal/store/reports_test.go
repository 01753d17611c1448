package store

import (
	"encoding/json"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

func TestReportsSurviveReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := s.LoadReports(); err != nil || len(got) != 0 {
		t.Fatalf("empty store: %v %v", got, err)
	}
	recv := time.Unix(1763770000, 5)
	recs := map[string]ReportRecord{
		"fra": {Report: json.RawMessage(`{"site":"fra","seq":17}`), Received: recv, Smoothed: 0.42, Shed: true, Returned: recv.Add(-time.Minute)},
		"iad": {Report: json.RawMessage(`{"site":"iad","seq":1}`), Received: recv},
	}
	for site, r := range recs {
		if err := s.SaveReport(site, r); err != nil {
			t.Fatal(err)
		}
		if err := s.SaveReport(site, r); err != nil { // idempotent
			t.Fatal(err)
		}
	}
	s.Close()

	s, err = Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	got, err := s.LoadReports()
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, recs) {
		t.Fatalf("got %+v\nwant %+v", got, recs)
	}

	// A record of an unknown format is left out, not an error.
	err = s.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketReports).Put([]byte("new"), []byte(`{"v":2,"report":{}}`))
	})
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := s.LoadReports(); len(got) != 2 {
		t.Fatalf("unknown format loaded: %v", got)
	}

	if err := s.DeleteReports([]string{"fra", "nowhere"}); err != nil {
		t.Fatal(err)
	}
	got, _ = s.LoadReports()
	if _, ok := got["fra"]; ok || len(got) != 1 {
		t.Fatalf("after delete: %v", got)
	}
}
