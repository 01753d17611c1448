package status

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestCanonicalValue(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		ok       bool
	}{
		{"192.0.2.1", "192.0.2.1", true},
		{"::ffff:192.0.2.1", "192.0.2.1", true},
		{"2001:DB8::0:1", "2001:db8::1", true},
		{"WWW.Example.com", "www.example.com.", true},
		{"www.example.com.", "www.example.com.", true},
		{"fe80::1%eth0", "", false},
		{"", "", false},
		{"a b", "", false},
		{"a..b", "", false},
		{"192.0.2.1/24", "", false},
	} {
		got, ok := CanonicalValue(tc.in)
		if got != tc.want || ok != tc.ok {
			t.Errorf("CanonicalValue(%q) = %q %v, want %q %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

func TestReadyz(t *testing.T) {
	ready := false
	s := &Sources{Ready: func() bool { return ready }}
	mux := http.NewServeMux()
	s.Register(mux)
	for _, tc := range []struct {
		ready bool
		code  int
	}{{false, 503}, {true, 200}} {
		ready = tc.ready
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, httptest.NewRequest("GET", "/readyz", nil))
		if w.Code != tc.code {
			t.Errorf("ready=%v: %d %s", tc.ready, w.Code, w.Body)
		}
	}
	// Without a snapshot or any table, every read endpoint still answers.
	for _, p := range []string{"/api/v1/zones", "/api/v1/overrides", "/api/v1/events", "/healthz"} {
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, httptest.NewRequest("GET", p, nil))
		if w.Code != 200 {
			t.Errorf("%s: %d %s", p, w.Code, w.Body)
		}
	}
}
