package receiver

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/smartdns/smartdns/internal/store"
	"github.com/smartdns/smartdns/loadreport"
	"github.com/smartdns/smartdns/pool"
)

var (
	fraKey = []byte("fra-secret")
	iadKey = []byte("iad-secret")
	// rxNow is the receiver's clock in these tests.
	rxNow = time.Unix(1763770000, 250_000_000)
)

// memReports is a ReportStore in memory that counts saves.
type memReports struct {
	mu    sync.Mutex
	recs  map[string]StoredReport
	saves int
	fail  error
}

func (m *memReports) SaveReport(site string, r StoredReport) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail != nil {
		return m.fail
	}
	if m.recs == nil {
		m.recs = map[string]StoredReport{}
	}
	m.recs[site] = r
	m.saves++
	return nil
}

func (m *memReports) LoadReports() (map[string]StoredReport, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := map[string]StoredReport{}
	for k, v := range m.recs {
		out[k] = v
	}
	return out, nil
}

func newTestReceiver(st ReportStore) (*Receiver, *pool.HealthTable) {
	h := &pool.HealthTable{}
	return &Receiver{
		Keys: map[string][]byte{"fra": fraKey, "iad": iadKey},
		// fra may report its prefix and one IPv6 address; iad, listing
		// none, any address.
		Addresses: map[string][]netip.Prefix{
			"fra": {netip.MustParsePrefix("192.0.2.0/28"), netip.MustParsePrefix("2001:db8::1/128")},
		},
		Store:  st,
		Health: h,
		Now:    func() time.Time { return rxNow },
	}, h
}

func reportBody(site string, seq int64, ts int64, load float64) []byte {
	return fmt.Appendf(nil, `{"site":%q,"addresses":["192.0.2.1","2001:db8::1"],"load":%v,"draining":false,"ts":%d,"seq":%d}`, site, load, ts, seq)
}

func addrBody(site string, seq int64, ts int64, addrs ...string) []byte {
	list, _ := json.Marshal(addrs)
	return fmt.Appendf(nil, `{"site":%q,"addresses":%s,"load":0.5,"draining":false,"ts":%d,"seq":%d}`, site, list, ts, seq)
}

// post sends body with the given signature header ("" for none) and
// returns the status and the error message.
func post(t *testing.T, h http.Handler, method string, body []byte, sig string) (int, string, http.Header) {
	t.Helper()
	req := httptest.NewRequest(method, loadreport.Path, bytes.NewReader(body))
	if sig != "" {
		req.Header.Set(loadreport.SignatureHeader, sig)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	res := w.Result()
	data, _ := io.ReadAll(res.Body)
	var e struct {
		Error string `json:"error"`
	}
	if res.StatusCode != http.StatusNoContent {
		if err := json.Unmarshal(data, &e); err != nil || e.Error == "" {
			t.Fatalf("status %d with body %q, want {\"error\": ...}", res.StatusCode, data)
		}
		if ct := res.Header.Get("Content-Type"); ct != "application/json" {
			t.Fatalf("Content-Type %q", ct)
		}
	} else if len(data) != 0 {
		t.Fatalf("204 with body %q", data)
	}
	return res.StatusCode, e.Error, res.Header
}

func TestReceiverRejects(t *testing.T) {
	ts := rxNow.Unix()
	good := reportBody("fra", 5, ts, 0.5)
	signed := func(b []byte) string { return loadreport.Sign(b, fraKey) }
	big := append(append([]byte(`{"site":"fra","pad":"`), bytes.Repeat([]byte("x"), loadreport.MaxBody)...), `"}`...)
	exact := append([]byte(`{"site":"fra","pad":"`), bytes.Repeat([]byte("x"), loadreport.MaxBody-len(`{"site":"fra","pad":""}`))...)
	exact = append(exact, `"}`...)
	tests := []struct {
		name   string
		method string
		body   []byte
		sig    string
		status int
		msg    string
	}{
		{"GET", http.MethodGet, nil, "", 405, "use POST"},
		{"PUT", http.MethodPut, good, signed(good), 405, "use POST"},
		{"too large", "", big, signed(big), 413, "larger than 65536"},
		{"too large unsigned", "", big, "", 413, "larger than"},
		{"exactly 64 KiB is read, then decoded", "", exact, signed(exact), 400, "unknown field"},
		{"no signature", "", good, "", 401, "missing X-Smartdns-Signature"},
		{"no signature, bad JSON", "", []byte(`{"site":`), "", 401, "missing"},
		{"malformed signature", "", good, "sha1=abc", 401, "sha256="},
		{"signature without prefix", "", good, signed(good)[7:], 401, "sha256="},
		{"not JSON", "", []byte(`{"site":`), signed([]byte(`{"site":`)), 400, "not a JSON object with a string site"},
		{"no site", "", []byte(`{"load":0.5}`), signed([]byte(`{"load":0.5}`)), 400, "with a string site"},
		{"site not a string", "", []byte(`{"site":7}`), signed([]byte(`{"site":7}`)), 400, "with a string site"},
		{"unknown site", "", reportBody("ams", 1, ts, 0.5), loadreport.Sign(reportBody("ams", 1, ts, 0.5), fraKey), 403, `unknown site "ams"`},
		{"unknown site, bad fields", "", []byte(`{"site":"ams","lod":2}`), signed([]byte(`{"site":"ams","lod":2}`)), 403, "unknown site"},
		{"wrong key", "", good, loadreport.Sign(good, iadKey), 401, "does not match"},
		{"other body's signature", "", good, signed(reportBody("fra", 6, ts, 0.5)), 401, "does not match"},
		{"wrong signature hides bad fields", "", []byte(`{"site":"fra","lod":2}`), loadreport.Sign([]byte(`{"site":"fra","lod":2}`), iadKey), 401, "does not match"},
		{"unknown field", "", []byte(`{"site":"fra","lod":2}`), signed([]byte(`{"site":"fra","lod":2}`)), 400, "lod: unknown field"},
		{"load outside", "", reportBody("fra", 5, ts, 1.5), signed(reportBody("fra", 5, ts, 1.5)), 400, "load: 1.5 outside 0..1"},
		{"seq zero", "", reportBody("fra", 0, ts, 0.5), signed(reportBody("fra", 0, ts, 0.5)), 400, "seq: 0 is not positive"},
		{"duplicate site", "", []byte(`{"site":"fra","site":"fra"}`), signed([]byte(`{"site":"fra","site":"fra"}`)), 400, "site: duplicate field"},
		{"ts 31 s behind", "", reportBody("fra", 5, ts-31, 0.5), signed(reportBody("fra", 5, ts-31, 0.5)), 409, "ts"},
		{"ts 31 s ahead", "", reportBody("fra", 5, ts+31, 0.5), signed(reportBody("fra", 5, ts+31, 0.5)), 409, "ts"},
		{"same seq", "", reportBody("fra", 3, ts, 0.5), signed(reportBody("fra", 3, ts, 0.5)), 409, "seq 3 is not above 3"},
		{"lower seq", "", reportBody("fra", 2, ts, 0.9), signed(reportBody("fra", 2, ts, 0.9)), 409, "seq 2 is not above 3"},
		{"address of another site", "", addrBody("fra", 4, ts, "198.51.100.7"), signed(addrBody("fra", 4, ts, "198.51.100.7")), 403, "address 198.51.100.7 is not one site fra may report"},
		{"one address of another site", "", addrBody("fra", 4, ts, "192.0.2.1", "198.51.100.7"), signed(addrBody("fra", 4, ts, "192.0.2.1", "198.51.100.7")), 403, "address 198.51.100.7"},
		{"prefix edge", "", addrBody("fra", 4, ts, "192.0.2.16"), signed(addrBody("fra", 4, ts, "192.0.2.16")), 403, "address 192.0.2.16"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := &memReports{}
			rc, health := newTestReceiver(st)
			// Accept seq 3 first, so that there is something to keep.
			first := reportBody("fra", 3, ts, 0.2)
			if code, msg, _ := post(t, rc, http.MethodPost, first, loadreport.Sign(first, fraKey)); code != 204 {
				t.Fatalf("first report: %d %s", code, msg)
			}
			wantStore, _ := st.LoadReports()
			wantLoads := published(health)
			wantSites := rc.Sites()

			method := tt.method
			if method == "" {
				method = http.MethodPost
			}
			code, msg, hdr := post(t, rc, method, tt.body, tt.sig)
			if code != tt.status || !strings.Contains(msg, tt.msg) {
				t.Fatalf("got %d %q, want %d containing %q", code, msg, tt.status, tt.msg)
			}
			if code == 405 && hdr.Get("Allow") != "POST" {
				t.Fatalf("Allow %q", hdr.Get("Allow"))
			}
			gotStore, _ := st.LoadReports()
			if st.saves != 1 || !reflect.DeepEqual(gotStore, wantStore) {
				t.Fatalf("store changed: %d saves, %+v", st.saves, gotStore)
			}
			if got := published(health); !reflect.DeepEqual(got, wantLoads) {
				t.Fatalf("published loads changed: %+v", got)
			}
			if got := rc.Sites(); !reflect.DeepEqual(got, wantSites) {
				t.Fatalf("table changed: %+v", got)
			}
		})
	}
}

func TestReceiverAccepts(t *testing.T) {
	st := &memReports{}
	rc, health := newTestReceiver(st)
	mux := http.NewServeMux()
	mux.Handle(loadreport.Path, rc)
	ts := rxNow.Unix()
	for i, tt := range []struct {
		seq      int64
		ts       int64
		load     float64
		smoothed float64
	}{
		{1, ts - 30, 0.5, 0.5}, // ts exactly 30 s off is accepted
		{2, ts + 30, 1, 0.65},
		{10, ts, 0, 0.455}, // seq may jump
	} {
		body := reportBody("fra", tt.seq, tt.ts, tt.load)
		if code, msg, _ := post(t, mux, http.MethodPost, body, loadreport.Sign(body, fraKey)); code != 204 {
			t.Fatalf("report %d: %d %s", i, code, msg)
		}
		if st.saves != i+1 {
			t.Fatalf("report %d: %d saves", i, st.saves)
		}
		sr := st.recs["fra"]
		got, err := loadreport.Decode(sr.Report)
		if err != nil || got.Seq != tt.seq || !sr.Received.Equal(rxNow) || !approxEq(sr.Smoothed, tt.smoothed) {
			t.Fatalf("report %d stored as %+v (%v)", i, sr, err)
		}
		l, ok := health.Load("2001:db8::1")
		if !ok || !l.Fresh || l.Site != "fra" || !approxEq(l.Smoothed, tt.smoothed) || !l.Returned.Equal(rxNow) {
			t.Fatalf("report %d published %+v", i, l)
		}
	}
	// Another site's seqs are its own.
	body := reportBody("iad", 1, ts, 0.3)
	if code, msg, _ := post(t, mux, http.MethodPost, body, loadreport.Sign(body, iadKey)); code != 204 {
		t.Fatalf("iad: %d %s", code, msg)
	}
}

func TestReceiverStoreFailure(t *testing.T) {
	st := &memReports{fail: errors.New("disk full")}
	rc, health := newTestReceiver(st)
	body := reportBody("fra", 1, rxNow.Unix(), 0.5)
	if code, _, _ := post(t, rc, http.MethodPost, body, loadreport.Sign(body, fraKey)); code != 500 {
		t.Fatalf("status %d", code)
	}
	if len(rc.Sites()) != 0 || len(published(health)) != 0 {
		t.Fatal("a report that was not stored changed the table")
	}
	st.fail = nil
	if code, _, _ := post(t, rc, http.MethodPost, body, loadreport.Sign(body, fraKey)); code != 204 {
		t.Fatalf("retry: status %d", code)
	}
}

func TestReceiverRestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	st, err := store.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	rc, _ := newTestReceiver(st)
	for seq, load := range []float64{0.2, 0.6} {
		body := reportBody("fra", int64(seq+1), rxNow.Unix(), load)
		if code, msg, _ := post(t, rc, http.MethodPost, body, loadreport.Sign(body, fraKey)); code != 204 {
			t.Fatalf("%d %s", code, msg)
		}
	}
	before := rc.Sites()
	st.Close()

	st, err = store.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	rc, health := newTestReceiver(st)
	if err := rc.Restore(); err != nil {
		t.Fatal(err)
	}
	after := rc.Sites()
	if len(after) != 1 || after[0].Report.Seq != 2 || !approxEq(after[0].Smoothed, 0.32) ||
		!after[0].Received.Equal(before[0].Received) || !after[0].Returned.Equal(before[0].Returned) ||
		!reflect.DeepEqual(after[0].Report, before[0].Report) {
		t.Fatalf("restored %+v\nwant %+v", after, before)
	}
	if l, ok := health.Load("192.0.2.1"); !ok || !l.Fresh || !approxEq(l.Smoothed, 0.32) {
		t.Fatalf("restored table not published: %+v", l)
	}
	// A replay of a report accepted before the restart is refused.
	body := reportBody("fra", 2, rxNow.Unix(), 0.6)
	if code, msg, _ := post(t, rc, http.MethodPost, body, loadreport.Sign(body, fraKey)); code != 409 {
		t.Fatalf("replay after restart: %d %s", code, msg)
	}
	body = reportBody("fra", 3, rxNow.Unix(), 0.32)
	if code, msg, _ := post(t, rc, http.MethodPost, body, loadreport.Sign(body, fraKey)); code != 204 {
		t.Fatalf("next seq after restart: %d %s", code, msg)
	}
	// A site removed from the configuration is not restored.
	rc2 := &Receiver{Keys: map[string][]byte{"iad": iadKey}, Store: st}
	if err := rc2.Restore(); err != nil || len(rc2.Sites()) != 0 {
		t.Fatalf("unconfigured site restored: %v %v", rc2.Sites(), err)
	}
}

func TestReceiverRunStaleness(t *testing.T) {
	var mu sync.Mutex
	now := rxNow
	rc, health := newTestReceiver(nil)
	rc.Now = func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	body := reportBody("fra", 1, rxNow.Unix(), 0.5)
	if code, msg, _ := post(t, rc, http.MethodPost, body, loadreport.Sign(body, fraKey)); code != 204 {
		t.Fatalf("%d %s", code, msg)
	}
	mu.Lock()
	now = now.Add(DefaultStaleAfter + time.Second)
	mu.Unlock()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- rc.Run(ctx) }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if l, ok := health.Load("192.0.2.1"); ok && !l.Fresh {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("Run did not republish the stale site")
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestReceiverSetKeys(t *testing.T) {
	rc, health := newTestReceiver(nil)
	body := reportBody("fra", 1, rxNow.Unix(), 0.5)
	if code, _, _ := post(t, rc, http.MethodPost, body, loadreport.Sign(body, fraKey)); code != 204 {
		t.Fatal(code)
	}
	rc.SetSites(map[string][]byte{"iad": iadKey}, nil)
	if len(rc.Sites()) != 0 || len(published(health)) != 0 {
		t.Fatal("removed site still published")
	}
	body = reportBody("fra", 2, rxNow.Unix(), 0.5)
	if code, _, _ := post(t, rc, http.MethodPost, body, loadreport.Sign(body, fraKey)); code != 403 {
		t.Fatalf("removed site: %d", code)
	}
}

// published returns what health holds for the addresses these tests use.
func published(h *pool.HealthTable) map[string]pool.Load {
	out := map[string]pool.Load{}
	for _, a := range []string{"192.0.2.1", "2001:db8::1"} {
		if l, ok := h.Load(a); ok {
			out[a] = l
		}
	}
	return out
}

// A site's key may steer only the addresses the site lists: a report
// naming another is refused with 403 and changes nothing, even when
// another site serves that address; an address within a listed prefix is
// accepted.
func TestReceiverAddresses(t *testing.T) {
	st := &memReports{}
	rc, health := newTestReceiver(st)
	rc.Addresses["iad"] = []netip.Prefix{netip.MustParsePrefix("203.0.113.0/24")}
	iad := addrBody("iad", 1, rxNow.Unix(), "203.0.113.9")
	if code, msg, _ := post(t, rc, http.MethodPost, iad, loadreport.Sign(iad, iadKey)); code != 204 {
		t.Fatalf("iad: %d %s", code, msg)
	}
	before, _ := health.Load("203.0.113.9")
	sites := rc.Sites()

	steal := addrBody("fra", 1, rxNow.Unix(), "192.0.2.3", "203.0.113.9")
	code, msg, _ := post(t, rc, http.MethodPost, steal, loadreport.Sign(steal, fraKey))
	if code != 403 || !strings.Contains(msg, "203.0.113.9") {
		t.Fatalf("fra reporting iad's address: %d %q", code, msg)
	}
	if after, _ := health.Load("203.0.113.9"); after != before || st.saves != 1 || !reflect.DeepEqual(rc.Sites(), sites) {
		t.Fatalf("refused report changed something: %+v, %d saves, %+v", after, st.saves, rc.Sites())
	}
	if _, ok := health.Load("192.0.2.3"); ok {
		t.Fatal("refused report published its allowed address")
	}
	if got := rc.Refused()["address"]; got != 1 {
		t.Fatalf("refused{address} = %d", got)
	}

	ok := addrBody("fra", 1, rxNow.Unix(), "192.0.2.15", "2001:db8::1")
	if code, msg, _ := post(t, rc, http.MethodPost, ok, loadreport.Sign(ok, fraKey)); code != 204 {
		t.Fatalf("address in fra's prefix: %d %s", code, msg)
	}
	if l, ok := health.Load("192.0.2.15"); !ok || l.Site != "fra" {
		t.Fatalf("192.0.2.15 published %+v", l)
	}

	// A reload that narrows fra's addresses stops publishing the ones it
	// took away, at once.
	rc.SetSites(rc.Keys, map[string][]netip.Prefix{"fra": {netip.MustParsePrefix("2001:db8::1/128")}})
	if _, ok := health.Load("192.0.2.15"); ok {
		t.Fatal("address no longer allowed still published")
	}
	if _, ok := health.Load("2001:db8::1"); !ok {
		t.Fatal("allowed address no longer published")
	}
}

// A report with a huge seq blocks its site only until 2·MaxSkew after it
// was received; the huge report, and any report accepted before, stays
// refused, also after a restart from the store.
func TestReceiverHugeSeq(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	st, err := store.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	now := rxNow
	rc, _ := newTestReceiver(st)
	rc.Now = func() time.Time { return now }
	send := func(rc *Receiver, body []byte) (int, string) {
		t.Helper()
		code, msg, _ := post(t, rc, http.MethodPost, body, loadreport.Sign(body, fraKey))
		return code, msg
	}
	t0 := rxNow.Unix()
	normal := reportBody("fra", 7, t0, 0.5)
	huge := reportBody("fra", math.MaxInt64, t0, 0.5)
	for _, b := range [][]byte{normal, huge} {
		if code, msg := send(rc, b); code != 204 {
			t.Fatalf("%d %s", code, msg)
		}
	}
	skew := int64(DefaultMaxSkew / time.Second)
	now = rxNow.Add(2 * DefaultMaxSkew)
	if code, msg := send(rc, reportBody("fra", 8, t0+2*skew, 0.5)); code != 409 || !strings.Contains(msg, "received 60s ago") {
		t.Fatalf("2·MaxSkew after the huge seq: %d %s", code, msg)
	}

	// Restart from the store: the huge report is restored, and replays
	// still within the ts window are refused as replays.
	st.Close()
	if st, err = store.Open(path); err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	rc, health := newTestReceiver(st)
	rc.Now = func() time.Time { return now }
	now = rxNow.Add(DefaultMaxSkew)
	for name, b := range map[string][]byte{"huge": huge, "normal": normal} {
		if code, msg := send(rc, b); code != 409 || !strings.Contains(msg, "not above") {
			t.Fatalf("%s after restart: %d %s", name, code, msg)
		}
	}
	now = rxNow.Add(2*DefaultMaxSkew + time.Second)
	later := reportBody("fra", 8, t0+2*skew+1, 0.9)
	if code, msg := send(rc, later); code != 204 {
		t.Fatalf("seq 8 more than 2·MaxSkew after the huge seq: %d %s", code, msg)
	}
	if l, _ := health.Load("192.0.2.1"); !l.Fresh || !approxEq(l.Smoothed, 0.9) {
		t.Fatalf("published %+v", l)
	}
	// The reports accepted before the reset are out of the ts window, the
	// last one is a replay.
	for name, b := range map[string][]byte{"huge": huge, "normal": normal, "later": later} {
		if code, _ := send(rc, b); code != 409 {
			t.Fatalf("replay of %s: %d", name, code)
		}
	}
	if code, msg := send(rc, reportBody("fra", 9, t0+2*skew+1, 0.9)); code != 204 {
		t.Fatalf("next seq: %d %s", code, msg)
	}
	if got := rc.Refused(); got["replay"] != 3 || got["skew"] != 2 {
		t.Fatalf("refused %v, want 3 replay and 2 skew", got)
	}
}

// No report is accepted twice, whatever the order and timing of the
// reports sent: every report of a grid of seqs and ts is sent at every
// server time of a grid, and none gets 204 twice.
func TestReceiverNoReplay(t *testing.T) {
	now := rxNow
	rc, _ := newTestReceiver(nil)
	rc.Now = func() time.Time { return now }
	t0 := rxNow.Unix()
	var bodies [][]byte
	for _, ts := range []int64{t0 - 30, t0, t0 + 30, t0 + 60, t0 + 90} {
		for _, seq := range []int64{1, 2, math.MaxInt64} {
			bodies = append(bodies, reportBody("fra", seq, ts, 0.5))
		}
	}
	accepted := map[string]bool{}
	for step := range 200 {
		now = rxNow.Add(time.Duration(step) * time.Second)
		for _, b := range bodies {
			if code, _, _ := post(t, rc, http.MethodPost, b, loadreport.Sign(b, fraKey)); code == 204 {
				if accepted[string(b)] {
					t.Fatalf("accepted twice (at +%ds): %s", step, b)
				}
				accepted[string(b)] = true
			}
		}
	}
	if len(accepted) < 2 {
		t.Fatalf("only %d reports accepted: the grid tests nothing", len(accepted))
	}
}

// Refusals are logged with the sender's address, at most one line a
// second per reason; a site that lists no addresses is warned about once
// at start and at each SetSites.
func TestReceiverLogs(t *testing.T) {
	var buf bytes.Buffer
	rc, _ := newTestReceiver(nil)
	rc.Logger = slog.New(slog.NewTextHandler(&buf, nil))
	if err := rc.Restore(); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(buf.String(), "a leaked key could steer every address"); n != 1 || !strings.Contains(buf.String(), "site=iad") {
		t.Fatalf("want one warning for iad:\n%s", buf.String())
	}
	buf.Reset()
	for range 5 {
		post(t, rc, http.MethodGet, nil, "")
		post(t, rc, http.MethodPost, []byte("{}"), "")
	}
	out := buf.String()
	if strings.Count(out, "load report refused") != 2 || strings.Count(out, "reason=method") != 1 ||
		strings.Count(out, "reason=signature") != 1 || !strings.Contains(out, "remote=192.0.2.1:1234") {
		t.Fatalf("want one line per reason, with the remote address:\n%s", out)
	}
	if got := rc.Refused(); got["method"] != 5 || got["signature"] != 5 || got["address"] != 0 {
		t.Fatalf("refused %v", got)
	}
	buf.Reset()
	rc.SetSites(rc.Keys, nil)
	if n := strings.Count(buf.String(), "a leaked key could steer every address"); n != 2 {
		t.Fatalf("want a warning for each site after SetSites:\n%s", buf.String())
	}
}
