package status

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/smartdns/smartdns/internal/store"
	"github.com/smartdns/smartdns/pool"
)

// FuzzAPI sends arbitrary overrides and queries: every answer is a 2xx or
// a 4xx with a JSON error, never a panic or a 5xx, and a refused write
// changes nothing.
func FuzzAPI(f *testing.F) {
	f.Add("192.0.2.1", `{"status":"down"}`, "Bearer 0123456789abcdef", "name=www.example.com&client=192.0.2.1&type=A")
	f.Add("www.example.com.", `{"status":"obey"}`, "Bearer nope", "name=..&client=::1/200")
	f.Add("::ffff:192.0.2.1", `{"status":"up"}{}`, "", "client=")
	st, err := store.Open(filepath.Join(f.TempDir(), "state.db"))
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { st.Close() })
	s := &Sources{Store: st, Health: &pool.HealthTable{}}
	s.SetToken("0123456789abcdef")
	mux := http.NewServeMux()
	s.Register(mux)
	f.Fuzz(func(t *testing.T, addr, body, auth, query string) {
		before := len(s.Health.Overrides())
		req := httptest.NewRequest("PUT", "/api/v1/values/x/status", strings.NewReader(body))
		req.URL.Path = "/api/v1/values/" + url.PathEscape(addr) + "/status"
		req.URL.RawPath = ""
		req.Header.Set("Authorization", auth)
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, req)
		if w.Code >= 500 {
			t.Fatalf("PUT %q %q: %d %s", addr, body, w.Code, w.Body)
		}
		if w.Code >= 400 && len(s.Health.Overrides()) != before {
			t.Fatalf("a refused PUT (%d) changed the overrides", w.Code)
		}
		for _, p := range []string{"/api/v1/explain?" + query, "/api/v1/records/" + url.PathEscape(addr), "/api/v1/values/" + url.PathEscape(addr) + "/status"} {
			r, err := http.NewRequest("GET", "http://x"+p, nil)
			if err != nil {
				continue
			}
			w := httptest.NewRecorder()
			mux.ServeHTTP(w, r)
			if w.Code >= 500 {
				t.Fatalf("GET %s: %d %s", p, w.Code, w.Body)
			}
		}
	})
}
