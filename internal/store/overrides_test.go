package store

import (
	"path/filepath"
	"reflect"
	"testing"
)

func TestOverridesSurviveReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	st, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := st.LoadOverrides(); err != nil || len(got) != 0 {
		t.Fatalf("fresh file: %v %v", got, err)
	}
	steps := []struct{ value, status string }{
		{"192.0.2.1", "down"},
		{"192.0.2.2", "up"},
		{"www.example.com.", "down"},
		{"192.0.2.2", ""}, // removed
		{"192.0.2.9", ""}, // removing what is not there
		{"192.0.2.1", "down"},
	}
	for _, s := range steps {
		if err := st.SaveOverride(s.value, s.status); err != nil {
			t.Fatal(err)
		}
	}
	st.Close()
	st, err = Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	got, err := st.LoadOverrides()
	want := map[string]string{"192.0.2.1": "down", "www.example.com.": "down"}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v %v, want %v", got, err, want)
	}
	if st.Errors() != 0 {
		t.Fatalf("errors = %d", st.Errors())
	}
}

func TestErrorsCounted(t *testing.T) {
	st, err := Open(filepath.Join(t.TempDir(), "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	if err := st.SaveOverride("192.0.2.1", "down"); err == nil {
		t.Fatal("saving to a closed file succeeded")
	}
	if st.Errors() != 1 {
		t.Fatalf("errors = %d, want 1", st.Errors())
	}
}
