package store

import (
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestHealthSurvivesReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok, err := s.LoadHealth("HTTP|192.0.2.1|80"); ok || err != nil {
		t.Fatalf("empty store: ok=%v err=%v", ok, err)
	}
	checked := time.Unix(1700000000, 123456789)
	recs := map[string]HealthRecord{
		"HTTP|192.0.2.1|80": {State: 2, Checked: checked, Changed: checked.Add(-time.Minute), Transitions: 3, LastError: "connection refused"},
		"TCP|192.0.2.2|22":  {State: 1, Checked: checked},
		"long":              {State: 2, LastError: strings.Repeat("x", 2000)},
	}
	if err := s.SaveHealth(recs); err != nil {
		t.Fatal(err)
	}
	// Saving the same records again (bbolt's Batch may run a function
	// twice) changes nothing.
	if err := s.SaveHealth(recs); err != nil {
		t.Fatal(err)
	}
	s.Close()

	s, err = Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for k, want := range recs {
		got, ok, err := s.LoadHealth(k)
		if err != nil || !ok {
			t.Fatalf("%s: ok=%v err=%v", k, ok, err)
		}
		if len(want.LastError) > maxHealthError {
			want.LastError = want.LastError[:maxHealthError]
		}
		if got.State != want.State || !got.Checked.Equal(want.Checked) || !got.Changed.Equal(want.Changed) ||
			got.Transitions != want.Transitions || got.LastError != want.LastError {
			t.Errorf("%s: got %+v, want %+v", k, got, want)
		}
	}
	if got, _, _ := s.LoadHealth("TCP|192.0.2.2|22"); !got.Changed.IsZero() {
		t.Errorf("zero Changed came back as %v", got.Changed)
	}

	if err := s.DeleteHealth([]string{"TCP|192.0.2.2|22", "never saved"}); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := s.LoadHealth("TCP|192.0.2.2|22"); ok {
		t.Error("deleted record is still there")
	}
	if _, ok, _ := s.LoadHealth("HTTP|192.0.2.1|80"); !ok {
		t.Error("delete removed another record")
	}
}

func TestHealthUnknownFormatIsAbsent(t *testing.T) {
	if _, ok := decodeHealth([]byte{9, 1, 2}); ok {
		t.Error("short record decoded")
	}
	v := encodeHealth(HealthRecord{State: 1})
	v[0] = healthVersion + 1
	if _, ok := decodeHealth(v); ok {
		t.Error("record of a newer format decoded")
	}
}

func TestDeleteHealthBeforeAnySave(t *testing.T) {
	s, err := Open(filepath.Join(t.TempDir(), "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.DeleteHealth([]string{"x"}); err != nil {
		t.Fatal(err)
	}
}
