package store

import (
	"path/filepath"
	"testing"
)

func TestSerialSurvivesReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, ok, err := s.LoadSerial("example.com."); ok || err != nil {
		t.Fatalf("empty store: ok=%v err=%v", ok, err)
	}
	if err := s.SaveSerial("example.com.", 42, [2]uint64{1, 2}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, err = Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	serial, hash, ok, err := s.LoadSerial("example.com.")
	if err != nil || !ok || serial != 42 || hash != [2]uint64{1, 2} {
		t.Fatalf("got serial=%d hash=%v ok=%v err=%v", serial, hash, ok, err)
	}
}
