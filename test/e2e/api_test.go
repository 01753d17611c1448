package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

// The status API end to end: every endpoint's status codes and JSON shape,
// the bearer token on writes, overrides changing what dig sees and
// surviving a restart, an override up beating a failed health check, and
// the liveness and readiness probes.

const apiToken = "test-token-0123456789abcdef"

// apiZone has a dynamic record whose values never get probed (status up),
// one whose only pool value is probed on a loopback port where nothing
// listens (so it is down), and static names.
func apiZone(deadPort int) string {
	return fmt.Sprintf(`---
'':
  type: A
  value: 192.0.2.99
mail:
  type: MX
  value: {preference: 10, exchange: mx.example.com.}
www:
  type: A
  ttl: 60
  values: [192.0.2.10]
  dynamic:
    pools:
      main:
        values:
          - {value: 192.0.2.1, status: up, weight: 3}
          - {value: 192.0.2.2, status: up}
      spare:
        values:
          - {value: 192.0.2.3, status: up}
    rules:
      - subnets: [10.0.0.0/8]
        pool: spare
      - pool: main
probed:
  type: A
  ttl: 60
  values: [192.0.2.20]
  dynamic:
    pools:
      main:
        values:
          - {value: 127.0.0.1}
    rules:
      - pool: main
  octodns:
    healthcheck: {protocol: TCP, port: %d}
    smartdns:
      healthcheck: {interval: 1s, timeout: 300ms, rise: 1, fall: 1}
`, deadPort)
}

type apiEnv struct {
	srv *Server
	url string
}

func startAPI(t *testing.T, extra string) *apiEnv {
	t.Helper()
	e := &apiEnv{}
	e.srv = Start(t, Options{
		Files:  map[string]string{"example.com.yaml": apiZone(closedPort(t))},
		Extra:  "http: 127.0.0.1:0\n" + extra,
		Probes: true,
	})
	e.url = "http://" + e.srv.HTTP
	e.waitHTTP(t)
	return e
}

// closedPort returns a loopback TCP port where nothing listens.
func closedPort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := l.Addr().(*net.TCPAddr).Port
	l.Close()
	return p
}

func (e *apiEnv) waitHTTP(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		code, _, _ := e.do(t, "GET", "/readyz", "", nil)
		if code == http.StatusOK {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz never answered 200 (last %d):\n%s", code, e.srv.Log())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// do sends a request and returns the status, the body and the headers.
func (e *apiEnv) do(t *testing.T, method, path, body string, hdr map[string]string) (int, string, http.Header) {
	t.Helper()
	req, err := http.NewRequest(method, e.url+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Do(req)
	if err != nil {
		return 0, err.Error(), nil
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

// getJSON GETs path, wants 200 and decodes the body into v.
func (e *apiEnv) getJSON(t *testing.T, path string, v any) {
	t.Helper()
	code, body, h := e.do(t, "GET", path, "", nil)
	if code != http.StatusOK {
		t.Fatalf("GET %s: %d %s", path, code, body)
	}
	if ct := h.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("GET %s: Content-Type %q", path, ct)
	}
	dec := json.NewDecoder(bytes.NewReader([]byte(body)))
	dec.DisallowUnknownFields() // the test's types spell the whole shape
	if err := dec.Decode(v); err != nil {
		t.Fatalf("GET %s: %v\n%s", path, err, body)
	}
}

func (e *apiEnv) put(t *testing.T, value, body string, hdr map[string]string) (int, string, http.Header) {
	t.Helper()
	return e.do(t, "PUT", "/api/v1/values/"+value+"/status", body, hdr)
}

var bearer = map[string]string{"Authorization": "Bearer " + apiToken, "Content-Type": "application/json"}

// The shapes the API documents (docs/api.md), decoded strictly.
type apiZones struct {
	Generation uint64 `json:"generation"`
	Zones      []struct {
		Name    string `json:"name"`
		Serial  uint32 `json:"serial"`
		File    string `json:"file"`
		Records int    `json:"records"`
		Dynamic []struct {
			Name string `json:"name"`
			Type string `json:"type"`
		} `json:"dynamic"`
	} `json:"zones"`
}

type apiValue struct {
	Value    string `json:"value"`
	Weight   int    `json:"weight"`
	Status   string `json:"status"`
	Override string `json:"override"`
	State    string `json:"state"`
	Serving  bool   `json:"serving"`
	Health   *struct {
		State               string     `json:"state"`
		Check               string     `json:"check"`
		LastCheck           *time.Time `json:"last_check"`
		LastChange          *time.Time `json:"last_change"`
		LastError           string     `json:"last_error"`
		LastDurationSeconds float64    `json:"last_duration_seconds"`
		Transitions         int        `json:"transitions"`
	} `json:"health"`
	Load *struct {
		Site       string     `json:"site"`
		Load       float64    `json:"load"`
		Smoothed   float64    `json:"smoothed"`
		Fresh      bool       `json:"fresh"`
		Draining   bool       `json:"draining"`
		Received   *time.Time `json:"received"`
		AgeSeconds float64    `json:"age_seconds"`
	} `json:"load"`
	EffectiveWeight   float64 `json:"effective_weight"`
	EffectiveShare    float64 `json:"effective_share"`
	AnswersLastMinute uint64  `json:"answers_last_minute"`
	AnswersTotal      uint64  `json:"answers_total"`
	Share             float64 `json:"share"`
}

type apiDynamic struct {
	Name      string `json:"name"`
	Zone      string `json:"zone"`
	Type      string `json:"type"`
	TTL       int    `json:"ttl"`
	Policy    string `json:"policy"`
	Answers   int    `json:"answers"`
	Exhausted string `json:"exhausted"`
	Rules     []struct {
		Index int    `json:"index"`
		Match string `json:"match"`
		Pool  string `json:"pool"`
	} `json:"rules"`
	Pools []struct {
		Name              string     `json:"name"`
		Fallback          string     `json:"fallback"`
		AnswersLastMinute uint64     `json:"answers_last_minute"`
		Values            []apiValue `json:"values"`
	} `json:"pools"`
	Backup            []string `json:"backup"`
	BackupAnswers     uint64   `json:"backup_answers_last_minute"`
	AnswersLastMinute uint64   `json:"answers_last_minute"`
}

type apiRecords struct {
	Name   string `json:"name"`
	Zone   string `json:"zone"`
	Static []struct {
		Type   string   `json:"type"`
		TTL    int      `json:"ttl"`
		Values []string `json:"values"`
	} `json:"static"`
	Dynamic []apiDynamic `json:"dynamic"`
}

// value finds a value's state in a record.
func (r *apiRecords) value(t *testing.T, pool, value string) apiValue {
	t.Helper()
	for _, d := range r.Dynamic {
		for _, p := range d.Pools {
			for _, v := range p.Values {
				if p.Name == pool && v.Value == value {
					return v
				}
			}
		}
	}
	t.Fatalf("no value %s in pool %s of %+v", value, pool, r)
	return apiValue{}
}

func TestAPIReadEndpoints(t *testing.T) {
	e := startAPI(t, "api: {token: "+apiToken+"}\n")
	for i := 0; i < 20; i++ {
		e.srv.Dig("www.example.com", "A")
	}

	code, body, _ := e.do(t, "GET", "/healthz", "", nil)
	if code != 200 || body != "ok\n" {
		t.Errorf("/healthz: %d %q", code, body)
	}

	var zs apiZones
	e.getJSON(t, "/api/v1/zones", &zs)
	if zs.Generation == 0 || len(zs.Zones) != 1 || zs.Zones[0].Name != "example.com." || zs.Zones[0].Serial == 0 || zs.Zones[0].Records == 0 {
		t.Fatalf("zones: %+v", zs)
	}
	var dyn []string
	for _, d := range zs.Zones[0].Dynamic {
		dyn = append(dyn, d.Name+" "+d.Type)
	}
	if !slices.Equal(dyn, []string{"probed.example.com. A", "www.example.com. A"}) {
		t.Errorf("dynamic records listed: %v", dyn)
	}

	var rec apiRecords
	e.getJSON(t, "/api/v1/records/WWW.example.com", &rec) // names are case-insensitive, the final dot optional
	if rec.Name != "www.example.com." || rec.Zone != "example.com." || len(rec.Dynamic) != 1 || len(rec.Static) != 0 {
		t.Fatalf("records: %+v", rec)
	}
	d := rec.Dynamic[0]
	if d.Type != "A" || d.TTL != 60 || d.Policy != "weighted" || d.Answers != 1 || d.Exhausted != "backup" ||
		len(d.Rules) != 2 || d.Rules[0].Match != "10.0.0.0/8" || d.Rules[0].Pool != "spare" || d.Rules[1].Match != "catch-all" ||
		len(d.Pools) != 2 || !slices.Equal(d.Backup, []string{"192.0.2.10"}) {
		t.Fatalf("dynamic record: %+v", d)
	}
	v1 := rec.value(t, "main", "192.0.2.1")
	v2 := rec.value(t, "main", "192.0.2.2")
	if v1.Weight != 3 || v1.Status != "up" || v1.State != "up" || !v1.Serving || v1.EffectiveWeight != 3 || v1.EffectiveShare != 0.75 || v1.Health != nil {
		t.Errorf("192.0.2.1: %+v", v1)
	}
	if v1.AnswersTotal+v2.AnswersTotal != 20 || v1.AnswersLastMinute+v2.AnswersLastMinute != 20 || v1.Share+v2.Share < 0.999 {
		t.Errorf("answer counts after 20 queries: %+v %+v", v1, v2)
	}
	if d.AnswersLastMinute != 20 {
		t.Errorf("record answers over the last minute: %d", d.AnswersLastMinute)
	}

	// The probed value: its health is down (nothing listens), with the
	// check's error; the answers fall back to the backup value.
	deadline := time.Now().Add(5 * time.Second)
	var pv apiValue
	for {
		var pr apiRecords
		e.getJSON(t, "/api/v1/records/probed.example.com.", &pr)
		pv = pr.value(t, "main", "127.0.0.1")
		if pv.Health != nil && pv.Health.State == "down" || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if pv.Health == nil || pv.Health.State != "down" || pv.State != "down" || pv.Serving || pv.EffectiveWeight != 0 ||
		pv.Health.LastCheck == nil || pv.Health.LastError == "" || !strings.HasPrefix(pv.Health.Check, "TCP 127.0.0.1:") {
		t.Fatalf("probed value: %+v %+v", pv, pv.Health)
	}

	var st apiRecords
	e.getJSON(t, "/api/v1/records/mail.example.com", &st)
	if len(st.Static) != 1 || st.Static[0].Type != "MX" || !slices.Equal(st.Static[0].Values, []string{"10 mx.example.com."}) || len(st.Dynamic) != 0 {
		t.Errorf("static record: %+v", st)
	}

	for _, tc := range []struct {
		path string
		code int
		msg  string
	}{
		{"/api/v1/records/nope.example.com", 404, "has no records in zone example.com."},
		{"/api/v1/records/www.example.org", 404, "is in no zone this server serves"},
		{"/api/v1/records/bad..name", 400, "not a domain name"},
		{"/api/v1/explain?name=www.example.com", 400, "name and client are required"},
		{"/api/v1/explain?name=www.example.com&client=nope", 400, "client:"},
		{"/api/v1/explain?name=www.example.com&client=10.1.2.3&type=BOGUS", 400, "unknown type"},
		{"/api/v1/explain?name=a..b&client=10.1.2.3", 400, "not a domain name"},
		{"/api/v1/values/not_an%20address/status", 400, "neither an IP address nor a host name"},
		{"/api/v1/values/203.0.113.7/status", 404, "not a value of any dynamic record"},
	} {
		code, body, _ := e.do(t, "GET", tc.path, "", nil)
		var er struct {
			Error string `json:"error"`
		}
		json.Unmarshal([]byte(body), &er)
		if code != tc.code || !strings.Contains(er.Error, tc.msg) {
			t.Errorf("GET %s: %d %s, want %d with %q", tc.path, code, body, tc.code, tc.msg)
		}
	}
	if code, _, h := e.do(t, "POST", "/api/v1/zones", "", nil); code != http.StatusMethodNotAllowed || h.Get("Allow") == "" {
		t.Errorf("POST /api/v1/zones: %d, Allow %q", code, h.Get("Allow"))
	}
}

type apiExplain struct {
	Name     string   `json:"name"`
	Type     string   `json:"type"`
	Zone     string   `json:"zone"`
	Kind     string   `json:"kind"`
	Referral string   `json:"referral"`
	TTL      int      `json:"ttl"`
	Answer   []string `json:"answer"`
	Scope    int      `json:"scope"`
	Dynamic  *struct {
		Client string `json:"client"`
		Policy string `json:"policy"`
		Rules  []struct {
			Index   int    `json:"index"`
			Match   string `json:"match"`
			Pool    string `json:"pool"`
			Matched bool   `json:"matched"`
			Tried   bool   `json:"tried"`
			Why     string `json:"why"`
		} `json:"rules"`
		Pools []struct {
			Name     string `json:"name"`
			Answered bool   `json:"answered"`
			Values   []struct {
				Value    string `json:"value"`
				Up       bool   `json:"up"`
				Override string `json:"override"`
				Chosen   bool   `json:"chosen"`
			} `json:"values"`
		} `json:"pools"`
		Answer []string `json:"answer"`
		Scope  int      `json:"scope"`
		Backup bool     `json:"backup"`
	} `json:"dynamic"`
}

func TestAPIExplain(t *testing.T) {
	e := startAPI(t, "")
	var ex map[string]any
	e.getJSON(t, "/api/v1/explain?name=www.example.com&type=A&client=10.9.8.7", &ex)
	b, _ := json.Marshal(ex)
	var x apiExplain
	if err := json.Unmarshal(b, &x); err != nil {
		t.Fatal(err)
	}
	if x.Kind != "dynamic" || x.Zone != "example.com." || x.Dynamic == nil || x.Dynamic.Client != "10.9.8.7/32" ||
		!slices.Equal(x.Answer, []string{"192.0.2.3"}) || x.Scope != 8 || !x.Dynamic.Rules[0].Matched ||
		!strings.Contains(x.Dynamic.Rules[0].Why, "10.0.0.0/8") {
		t.Fatalf("explain: %s", b)
	}
	// The same as the CLI prints, as JSON: compare the answer and scope
	// with `smartdns explain`.
	out, code := runBinary("explain", "--config", e.srv.Config, "--client", "10.9.8.7", "www.example.com", "A")
	if code != 0 || !strings.Contains(out, "answer:  192.0.2.3") || !strings.Contains(out, "scope:   /8") {
		t.Errorf("smartdns explain: %d\n%s", code, out)
	}
	for _, tc := range []struct{ query, kind string }{
		{"name=www.example.org&client=192.0.2.1", "refused"},
		{"name=nope.example.com&client=192.0.2.1", "nxdomain"},
		{"name=www.example.com&type=MX&client=192.0.2.1", "nodata"},
		{"name=mail.example.com&type=MX&client=192.0.2.1", "static"},
	} {
		var got apiExplain
		e.getJSON(t, "/api/v1/explain?"+tc.query, &got)
		if got.Kind != tc.kind {
			t.Errorf("%s: kind %q, want %q", tc.query, got.Kind, tc.kind)
		}
	}
}

func TestAPIOverrides(t *testing.T) {
	e := startAPI(t, "api: {token: "+apiToken+"}\n")
	answers := func(name string) []string {
		seen := map[string]bool{}
		for i := 0; i < 30; i++ {
			for _, v := range Datas(e.srv.Dig(name, "A").Answer, "A") {
				seen[v] = true
			}
		}
		var out []string
		for v := range seen {
			out = append(out, v)
		}
		slices.Sort(out)
		return out
	}
	if got := answers("www.example.com"); !slices.Equal(got, []string{"192.0.2.1", "192.0.2.2"}) {
		t.Fatalf("before: %v", got)
	}

	// Refusals, in the order a caller without the token sees them, and
	// none of them changes anything.
	for _, tc := range []struct {
		name, value, body string
		hdr               map[string]string
		code              int
		msg               string
	}{
		{"no token", "192.0.2.1", `{"status":"down"}`, nil, 401, "missing Authorization"},
		{"basic auth", "192.0.2.1", `{"status":"down"}`, map[string]string{"Authorization": "Basic eDp5"}, 401, "missing Authorization"},
		{"wrong token", "192.0.2.1", `{"status":"down"}`, map[string]string{"Authorization": "Bearer nope"}, 401, "not api.token"},
		{"wrong type", "192.0.2.1", `status=down`, map[string]string{"Authorization": "Bearer " + apiToken, "Content-Type": "text/xml"}, 415, "Content-Type must be application/json"},
		{"a form, not JSON", "192.0.2.1", `status=down`, map[string]string{"Authorization": "Bearer " + apiToken, "Content-Type": "application/x-www-form-urlencoded"}, 400, "body:"},
		{"too large", "192.0.2.1", `{"status":"down","x":"` + strings.Repeat("a", 5000) + `"}`, bearer, 413, "larger than 4096"},
		{"not JSON", "192.0.2.1", `down`, bearer, 400, "body:"},
		{"unknown field", "192.0.2.1", `{"status":"down","until":"tomorrow"}`, bearer, 400, "unknown field"},
		{"two objects", "192.0.2.1", `{"status":"down"}{"status":"up"}`, bearer, 400, "one JSON object"},
		{"no status", "192.0.2.1", `{}`, bearer, 400, "status is required"},
		{"bad status", "192.0.2.1", `{"status":"off"}`, bearer, 400, `is not up, down or obey`},
		{"bad address", "a%20b", `{"status":"down"}`, bearer, 400, "neither an IP address nor a host name"},
		{"unknown value", "203.0.113.9", `{"status":"down"}`, bearer, 404, "not a value of any dynamic record"},
	} {
		code, body, h := e.put(t, tc.value, tc.body, tc.hdr)
		if code != tc.code || !strings.Contains(body, tc.msg) {
			t.Errorf("%s: %d %s, want %d with %q", tc.name, code, body, tc.code, tc.msg)
		}
		if code == 401 && !strings.HasPrefix(h.Get("WWW-Authenticate"), "Bearer") {
			t.Errorf("%s: WWW-Authenticate %q", tc.name, h.Get("WWW-Authenticate"))
		}
	}
	var ov struct {
		Overrides map[string]string `json:"overrides"`
	}
	e.getJSON(t, "/api/v1/overrides", &ov)
	if len(ov.Overrides) != 0 {
		t.Fatalf("a refused request left an override: %v", ov.Overrides)
	}

	// down: the value leaves the answers at once. curl -d sends a form
	// content type with the JSON body: accepted.
	code, body, _ := e.put(t, "192.0.2.1", `{"status": "down"}`, map[string]string{"Authorization": "Bearer " + apiToken, "Content-Type": "application/x-www-form-urlencoded"})
	var vs struct {
		Value    string `json:"value"`
		Status   string `json:"status"`
		Previous string `json:"previous"`
		Uses     []struct {
			Zone, Record, Type, Pool string
		} `json:"uses"`
	}
	if err := json.Unmarshal([]byte(body), &vs); code != 200 || err != nil || vs.Status != "down" || vs.Previous != "obey" ||
		len(vs.Uses) != 1 || vs.Uses[0].Record != "www.example.com." || vs.Uses[0].Pool != "main" {
		t.Fatalf("PUT down: %d %s", code, body)
	}
	if got := answers("www.example.com"); !slices.Equal(got, []string{"192.0.2.2"}) {
		t.Fatalf("after down: %v", got)
	}
	// up, on the probed value that is down: the override beats health.
	waitDown := time.Now().Add(5 * time.Second)
	for !slices.Equal(answers("probed.example.com"), []string{"192.0.2.20"}) {
		if time.Now().After(waitDown) {
			t.Fatal("the probed value never went down")
		}
		time.Sleep(200 * time.Millisecond)
	}
	if code, body, _ := e.put(t, "127.0.0.1", `{"status":"up"}`, bearer); code != 200 {
		t.Fatalf("PUT up: %d %s", code, body)
	}
	if got := answers("probed.example.com"); !slices.Equal(got, []string{"127.0.0.1"}) {
		t.Fatalf("override up did not beat the health check: %v", got)
	}

	check := func(when string) {
		t.Helper()
		var rec apiRecords
		e.getJSON(t, "/api/v1/records/www.example.com", &rec)
		if v := rec.value(t, "main", "192.0.2.1"); v.Override != "down" || v.State != "override down" || v.Serving || v.EffectiveWeight != 0 {
			t.Errorf("%s: 192.0.2.1 %+v", when, v)
		}
		e.getJSON(t, "/api/v1/records/probed.example.com", &rec)
		if v := rec.value(t, "main", "127.0.0.1"); v.Override != "up" || v.State != "override up" || !v.Serving {
			t.Errorf("%s: 127.0.0.1 %+v", when, v)
		}
		ov.Overrides = nil
		e.getJSON(t, "/api/v1/overrides", &ov)
		if len(ov.Overrides) != 2 || ov.Overrides["192.0.2.1"] != "down" || ov.Overrides["127.0.0.1"] != "up" {
			t.Errorf("%s: overrides %v", when, ov.Overrides)
		}
		code, body, _ := e.do(t, "GET", "/api/v1/values/192.0.2.1/status", "", nil)
		if code != 200 || !strings.Contains(body, `"status": "down"`) {
			t.Errorf("%s: GET value: %d %s", when, code, body)
		}
	}
	check("before the restart")
	var ev struct {
		Events []struct {
			At      time.Time `json:"at"`
			Kind    string    `json:"kind"`
			Subject string    `json:"subject"`
			Text    string    `json:"text"`
		} `json:"events"`
	}
	e.getJSON(t, "/api/v1/events", &ev)
	if len(ev.Events) == 0 || ev.Events[0].Kind != "override" || ev.Events[0].Text != "127.0.0.1: override up (was obey)" {
		t.Errorf("events: %+v", ev.Events)
	}

	// A restart keeps both overrides, from its first answer.
	e.srv.Restart()
	if got := answers("www.example.com"); !slices.Equal(got, []string{"192.0.2.2"}) {
		t.Fatalf("after the restart: %v", got)
	}
	if got := answers("probed.example.com"); !slices.Equal(got, []string{"127.0.0.1"}) {
		t.Fatalf("after the restart, probed: %v", got)
	}
	e.waitHTTP(t)
	check("after the restart")
	if !strings.Contains(e.srv.Log(), "runtime overrides in force") {
		t.Errorf("the restart did not log the overrides in force:\n%s", e.srv.Log())
	}

	// obey clears.
	for _, v := range []string{"192.0.2.1", "127.0.0.1"} {
		if code, body, _ := e.put(t, v, `{"status":"obey"}`, bearer); code != 200 || !strings.Contains(body, `"status": "obey"`) {
			t.Fatalf("PUT obey %s: %d %s", v, code, body)
		}
	}
	if got := answers("www.example.com"); !slices.Equal(got, []string{"192.0.2.1", "192.0.2.2"}) {
		t.Fatalf("after obey: %v", got)
	}
	if got := answers("probed.example.com"); !slices.Equal(got, []string{"192.0.2.20"}) {
		t.Fatalf("after obey, probed: %v", got)
	}
	ov.Overrides = nil
	e.getJSON(t, "/api/v1/overrides", &ov)
	if len(ov.Overrides) != 0 {
		t.Errorf("overrides after obey: %v", ov.Overrides)
	}
}

func TestAPIWritesNeedAToken(t *testing.T) {
	e := startAPI(t, "")
	code, body, _ := e.put(t, "192.0.2.1", `{"status":"down"}`, bearer)
	if code != http.StatusForbidden || !strings.Contains(body, "set api.token") {
		t.Fatalf("PUT without api.token configured: %d %s", code, body)
	}
}

func TestReadyz(t *testing.T) {
	e := startAPI(t, "")
	if code, body, _ := e.do(t, "GET", "/readyz", "", nil); code != 200 || body != "ready\n" {
		t.Fatalf("/readyz: %d %q", code, body)
	}
}

// A server whose every zone was refused is alive but not ready.
func TestReadyzWithoutZones(t *testing.T) {
	e := &apiEnv{}
	e.srv = Start(t, Options{Files: map[string]string{"example.com.yaml": "---\nwww: {type: A, value: not-an-address}\n"}, Extra: "http: 127.0.0.1:0\n"})
	e.url = "http://" + e.srv.HTTP
	deadline := time.Now().Add(10 * time.Second)
	for {
		code, body, _ := e.do(t, "GET", "/healthz", "", nil)
		if code == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/healthz: %d %s", code, body)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if code, body, _ := e.do(t, "GET", "/readyz", "", nil); code != http.StatusServiceUnavailable || !strings.Contains(body, "no zone loaded") {
		t.Fatalf("/readyz with every zone refused: %d %q", code, body)
	}
	e.srv.WriteZone("example.com.yaml", "---\nwww: {type: A, value: 192.0.2.1}\n")
	e.waitHTTP(t) // waits for /readyz 200
}

// An override down keeps a value out of the record's backup values too:
// here the only pool's only value is overridden, the chain is exhausted,
// and the backup answer leaves it out.
func TestAPIOverrideDownLeavesBackup(t *testing.T) {
	e := &apiEnv{}
	zone := "---\nwww:\n  type: A\n  values: [192.0.2.1, 192.0.2.2]\n  dynamic:\n    pools:\n      eu:\n        values:\n          - {value: 192.0.2.1, status: up}\n    rules:\n      - pool: eu\n"
	e.srv = Start(t, Options{Files: map[string]string{"example.com.yaml": zone}, Extra: "http: 127.0.0.1:0\napi: {token: " + apiToken + "}\n"})
	e.url = "http://" + e.srv.HTTP
	e.waitHTTP(t)
	if code, body, _ := e.put(t, "192.0.2.1", `{"status":"down"}`, bearer); code != 200 {
		t.Fatalf("PUT: %d %s", code, body)
	}
	for i := 0; i < 5; i++ {
		if got := Datas(e.srv.Dig("www.example.com", "A").Answer, "A"); !slices.Equal(got, []string{"192.0.2.2"}) {
			t.Fatalf("answer %v, want the backup values without the overridden one", got)
		}
	}
}
