package status

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"math"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"

	"github.com/smartdns/smartdns/loadreport"
	"github.com/smartdns/smartdns/loadreport/receiver"
	"github.com/smartdns/smartdns/pool"
	"github.com/smartdns/smartdns/probes"
	"github.com/smartdns/smartdns/zones"
	"github.com/smartdns/smartdns/zones/octodns"
)

// pageZone has one dynamic record with every state the page shows: a
// probed value that is down (its saved health says so), a value up, one
// disabled in the zone, one an operator overrides down, one reported by a
// draining site. Weights 3 and 1 of the serving values of pool us give
// effective shares of 75% and 25%. Record odd has a pool named like a
// script: zone files are not trusted.
const pageZone = `---
'':
  type: A
  value: 192.0.2.250
www:
  type: A
  ttl: 30
  values: [192.0.2.99]
  dynamic:
    pools:
      eu:
        fallback: us
        values:
          - value: 192.0.2.1
          - {value: 192.0.2.2, status: up}
      us:
        values:
          - {value: 198.51.100.1, weight: 3, status: up}
          - {value: 198.51.100.2, weight: 2, status: up}
          - {value: 198.51.100.3, status: down}
          - {value: 198.51.100.4, weight: 1, status: up}
    rules:
      - geos: [EU]
        pool: eu
      - pool: us
  octodns:
    healthcheck:
      protocol: HTTP
      port: 8080
      path: /health
static:
  type: A
  value: 192.0.2.7
odd:
  type: A
  values: [192.0.2.98]
  dynamic:
    pools:
      '<script>alert("x")</script>':
        values:
          - {value: 192.0.2.77, status: up}
    rules:
      - pool: '<script>alert("x")</script>'
`

// hostile is text an attacker might get onto the page.
const hostile = `<script>alert("x")</script>`

// healthStore restores saved health records for the runner.
type healthStore map[string]probes.HealthRecord

func (h healthStore) LoadHealth(key string) (probes.HealthRecord, bool, error) {
	r, ok := h[key]
	return r, ok, nil
}
func (h healthStore) SaveHealth(map[string]probes.HealthRecord) error { return nil }
func (h healthStore) DeleteHealth([]string) error                     { return nil }

// reportStore restores saved site reports for the receiver.
type reportStore map[string]receiver.StoredReport

func (r reportStore) SaveReport(string, receiver.StoredReport) error { return nil }
func (r reportStore) LoadReports() (map[string]receiver.StoredReport, error) {
	return r, nil
}

// compilePage compiles an octoDNS zone for example.com. as serve would,
// with health checks registered and answers counted.
func compilePage(t *testing.T, yaml string, m *pool.Members, tally *pool.Tally) *zones.Zone {
	t.Helper()
	recs, probs := octodns.Parse("example.com.yaml", "example.com.", []byte(yaml))
	if len(probs.Errors()) > 0 {
		t.Fatal(probs)
	}
	z, cprobs := zones.Compile("example.com.", "example.com.yaml", recs, zones.CompileOptions{
		Nameservers: []string{"ns1.example.com."}, Members: m, Tally: tally,
	})
	if z == nil || len(cprobs.Errors()) > 0 {
		t.Fatal(cprobs)
	}
	z.SetSerial(2024061501)
	return z
}

// pageSources builds the sources of a running server by hand: the zone,
// a probe runner that restored a failing check, an override, a site
// report, events, and answers counted for the catch-all pool.
func pageSources(t *testing.T) *Sources {
	t.Helper()
	now := time.Now()
	m, tally, h := &pool.Members{}, &pool.Tally{}, &pool.HealthTable{}
	z := compilePage(t, pageZone, m, tally)
	snap := zones.NewSnapshot(7, []*zones.Zone{z})
	checks := snap.Checks()
	if len(checks) != 1 {
		t.Fatalf("%d checks, want 1 (192.0.2.1)", len(checks))
	}
	runner := &probes.Runner{Members: m, Table: h, Store: healthStore{checks[0].Key(): {
		State: uint8(pool.Unhealthy), Checked: now.Add(-2 * time.Second), Changed: now.Add(-time.Minute),
		Transitions: 3, LastError: "connection refused " + hostile,
	}}}
	runner.SetTargets(checks)
	h.PublishOverrides(map[string]pool.Status{"198.51.100.2": pool.Down})

	rep, _ := json.Marshal(loadreport.Report{Site: "fra", Addresses: []string{"198.51.100.1", "198.51.100.4"},
		Load: 0.42, TS: now.Unix(), Seq: 9, Metrics: map[string]float64{"rps": 1250, "cpu": 0.4}})
	rc := &receiver.Receiver{Keys: map[string][]byte{"fra": []byte("k")}, Health: h, StaleAfter: 30 * time.Second,
		Store: reportStore{"fra": {Report: rep, Received: now.Add(-3 * time.Second), Smoothed: 0.4}}}
	if err := rc.Restore(); err != nil {
		t.Fatal(err)
	}

	// 400 answers to a client no rule but the catch-all matches: pool us.
	var rec *pool.Record
	for _, d := range z.Dynamic() {
		if d.Name == "www.example.com." {
			rec = d.Record
		}
	}
	var a pool.Answer
	for range 400 {
		rec.Pick(pool.Client{Addr: netip.MustParseAddr("203.0.113.9"), Bits: 32}, nil, h.View(), now, &a)
		a.Count()
	}

	ev := NewEvents(10)
	ev.Add(Event{At: now.Add(-10 * time.Minute), Kind: "health", Subject: "192.0.2.1", Text: "HTTP 192.0.2.1:8080/health is down: connection refused"})
	ev.Add(Event{At: now.Add(-90 * time.Second), Kind: "override", Subject: "198.51.100.2", Text: "set down by " + hostile})
	ev.Add(Event{At: now.Add(-10 * time.Second), Kind: "reload", Subject: "7", Text: "generation 7: example.com. 2024061501"})
	return &Sources{
		Snapshot: func() *zones.Snapshot { return snap }, Health: h, Probes: runner, Reports: rc, Tally: tally,
		StaleAfter: 30 * time.Second, Version: "v1.2.3-test", Events: ev, Started: now.Add(-(26*time.Hour + 5*time.Minute)),
	}
}

func get(t *testing.T, s *Sources, method string) *httptest.ResponseRecorder {
	t.Helper()
	w := httptest.NewRecorder()
	s.ServePage(w, httptest.NewRequest(method, "/", nil))
	return w
}

// The page shows the record, its rules, pools and every value with its
// state, health, load and shares, the events and the site report.
func TestPageContent(t *testing.T) {
	w := get(t, pageSources(t), "GET")
	if w.Code != 200 {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
	body := w.Body.String()
	// go test -run PageContent -artifacts keeps the page to look at.
	if err := os.WriteFile(filepath.Join(t.ArtifactDir(), "page.html"), w.Body.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		what string
		want []string
	}{
		{"header", []string{"v1.2.3-test", ">1d 2h<", "generation 7", "example.com.", "serial 2024061501",
			`<meta http-equiv="refresh" content="5">`}},
		{"counts: 4 of 7 serving, 3 out, 1 override", []string{"<dd>4 of 7</dd>", `<dd class="bad">3</dd>`, `<dd class="ovr">1</dd>`}},
		{"record", []string{">www.example.com.<", `href="/api/v1/records/www.example.com."`, `<span class="type">A</span>`,
			"policy <b>weighted</b>", "TTL <b>30</b>", "when exhausted <b>backup</b>", "<b>400</b> answers in the last minute"}},
		{"rules", []string{`<span class="match">EU</span>`, `<span class="to">eu</span>`, `<span class="match">catch-all</span>`, `<span class="to">us</span>`}},
		{"pools", []string{`<span class="label">pool</span> eu</h4>`, `<span class="label">fallback →</span> us`, `<span class="label">pool</span> us</h4>`}},
		{"values", []string{"<code>192.0.2.1</code>", "<code>192.0.2.2</code>", "<code>198.51.100.1</code>", "<code>198.51.100.2</code>",
			"<code>198.51.100.3</code>", "<code>198.51.100.4</code>"}},
		{"states", []string{`class="badge st-down">down<`, `class="badge st-up">up<`, `class="badge st-disabled">disabled<`,
			`class="badge st-override-down">override down<`, "operator override"}},
		{"override and out rows are marked", []string{`<tr class="ovr out">`, `<tr class=" out">`}},
		{"health", []string{`<span class="dot h-down"`, "HTTP 192.0.2.1:8080/health", "checked ", "s ago · 3 changes",
			`title="connection refused &lt;script&gt;`, "not probed"}},
		{"load", []string{"load <b>42%</b>", `site <span class="mono">fra</span>`, "smoothed 40%", "no report"}},
		{"effective shares: weights 3 and 1 serving", []string{
			`<span class="fill w75"></span></div><span class="pct">75%</span>`,
			`<span class="fill w25"></span></div><span class="pct">25%</span>`,
			`<span class="fill w100"></span></div><span class="pct">100%</span>`, // pool eu: 192.0.2.2 alone
			"weight 3 · effective 3"}},
		{"answer shares", []string{"<b>400</b> answers in the last minute", "400 answers in the last minute</span>",
			"0/min · 0 total"}},
		{"backup", []string{"<code>192.0.2.99</code>"}},
		{"events", []string{`class="badge k-health">health<`, `class="badge k-override">override<`, `class="badge k-reload">reload<`,
			"10m ago", "1m ago", "generation 7: example.com. 2024061501"}},
		{"sites", []string{"Site reports", `<td data-label="Site"><div class="mono">fra</div></td>`, "<div><b>42%</b><small>smoothed 40%</small></div>",
			`class="badge st-up">fresh<`, "198.51.100.1, 198.51.100.4", "cpu <b>0.4</b>, rps <b>1250</b>"}},
	} {
		t.Run(tc.what, func(t *testing.T) {
			for _, s := range tc.want {
				if !strings.Contains(body, s) {
					t.Errorf("page lacks %q", s)
				}
			}
		})
	}
	// Newest event first; records by name.
	markup := body[strings.Index(body, "</style>"):]
	if r, o, h := strings.Index(markup, "k-reload"), strings.Index(markup, "k-override"), strings.Index(markup, "k-health"); r < 0 || r >= o || o >= h {
		t.Errorf("events out of order: reload at %d, override at %d, health at %d", r, o, h)
	}
	if o, w := strings.Index(markup, ">odd.example.com.<"), strings.Index(markup, ">www.example.com.<"); o < 0 || o >= w {
		t.Errorf("records out of order: odd at %d, www at %d", o, w)
	}
}

// The answer shares of pool us add up to 100%, split about 75/25.
func TestPageAnswerShares(t *testing.T) {
	s := pageSources(t)
	var us PoolInfo
	for _, d := range s.AllDynamic() {
		for _, p := range d.Pools {
			if d.Name == "www.example.com." && p.Name == "us" {
				us = p
			}
		}
	}
	if us.AnswersLastMinute != 400 {
		t.Fatalf("pool us: %d answers, want 400", us.AnswersLastMinute)
	}
	body := get(t, s, "GET").Body.String()
	for _, v := range us.Values {
		want := `<span class="fill ` + barWidth(v.Share) + `"></span></div><span class="pct">` + pct(v.Share) + `</span>`
		if !strings.Contains(body, want) {
			t.Errorf("%s: page lacks its answer share %q", v.Value, want)
		}
		if (v.Share > 0) != (v.Value == "198.51.100.1" || v.Value == "198.51.100.4") {
			t.Errorf("%s: share %v", v.Value, v.Share)
		}
	}
}

// Whatever the zones, events or probes say is text, never markup.
func TestPageEscapes(t *testing.T) {
	s := pageSources(t)
	s.Version = hostile
	body := get(t, s, "GET").Body.String()
	if strings.Contains(body, "<script") || strings.Contains(body, "alert(\"x\")") {
		t.Fatalf("hostile text reached the page unescaped:\n%s", body)
	}
	for _, want := range []string{
		"set down by &lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;",                // event
		`title="connection refused &lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;"`, // probe error, as a title
		`<span class="ver">&lt;script&gt;`,                                           // version
	} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks the escaped %q", want)
		}
	}
}

func TestPageMethodsAndHeaders(t *testing.T) {
	s := pageSources(t)
	for _, tc := range []struct {
		method string
		code   int
		body   bool
	}{
		{"GET", 200, true},
		{"HEAD", 200, false},
		{"POST", 405, true},
		{"PUT", 405, true},
		{"DELETE", 405, true},
	} {
		t.Run(tc.method, func(t *testing.T) {
			w := get(t, s, tc.method)
			if w.Code != tc.code {
				t.Fatalf("%s: %d, want %d", tc.method, w.Code, tc.code)
			}
			if got := w.Body.Len() > 0; got != tc.body {
				t.Errorf("%s: body %v, want %v", tc.method, got, tc.body)
			}
			h := w.Header()
			if tc.code == 405 {
				if h.Get("Allow") != "GET, HEAD" {
					t.Errorf("Allow %q", h.Get("Allow"))
				}
				return
			}
			for k, v := range map[string]string{
				"Content-Type":           "text/html; charset=utf-8",
				"Cache-Control":          "no-store",
				"X-Content-Type-Options": "nosniff",
			} {
				if h.Get(k) != v {
					t.Errorf("%s: %q, want %q", k, h.Get(k), v)
				}
			}
			if h.Get("Content-Length") == "" || h.Get("Content-Length") == "0" {
				t.Errorf("Content-Length %q", h.Get("Content-Length"))
			}
			csp := h.Get("Content-Security-Policy")
			for _, want := range []string{"default-src 'none'", "base-uri 'none'", "form-action 'none'", "frame-ancestors 'none'"} {
				if !strings.Contains(csp, want) {
					t.Errorf("CSP %q lacks %q", csp, want)
				}
			}
			if strings.Contains(csp, "unsafe") || strings.Contains(csp, "http") || strings.Contains(csp, "script-src") {
				t.Errorf("CSP %q allows too much", csp)
			}
		})
	}
}

// The page is well-formed HTML that loads nothing: every element closed
// in order, no script, no style attribute (the CSP would block it), no
// link out of the page but to the server's own API, unique ids; and the
// one style element is the one the CSP hash allows.
func TestPageWellFormed(t *testing.T) {
	for _, tc := range []struct {
		name string
		src  *Sources
	}{
		{"full", pageSources(t)},
		{"nothing loaded", &Sources{}},
		{"no dynamic records", staticOnly(t)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := get(t, tc.src, "GET")
			body := w.Body.String()
			checkWellFormed(t, body)
			doc, err := html.Parse(strings.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			var styles []string
			ids := map[string]bool{}
			for n := range doc.Descendants() {
				if n.Type != html.ElementNode {
					continue
				}
				switch n.DataAtom {
				case atom.Script, atom.Iframe, atom.Img, atom.Object, atom.Embed, atom.Form:
					t.Errorf("<%s> on the page", n.Data)
				case atom.Style:
					styles = append(styles, n.FirstChild.Data)
				}
				for _, a := range n.Attr {
					switch {
					case a.Key == "style" || strings.HasPrefix(a.Key, "on"):
						t.Errorf("<%s %s=%q>", n.Data, a.Key, a.Val)
					case a.Key == "href" || a.Key == "src":
						if !strings.HasPrefix(a.Val, "/") && a.Val != "data:," || strings.HasPrefix(a.Val, "//") {
							t.Errorf("<%s %s=%q> points out of the page", n.Data, a.Key, a.Val)
						}
					case a.Key == "id":
						if ids[a.Val] {
							t.Errorf("duplicate id %q", a.Val)
						}
						ids[a.Val] = true
					}
				}
			}
			if len(styles) != 1 {
				t.Fatalf("%d style elements, want 1", len(styles))
			}
			sum := sha256.Sum256([]byte(styles[0]))
			hash := "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
			if csp := w.Header().Get("Content-Security-Policy"); !strings.Contains(csp, "style-src "+hash) {
				t.Errorf("CSP %q does not allow the page's style element (%s)", csp, hash)
			}
		})
	}
}

// checkWellFormed walks the tokens and fails on an end tag that closes
// an element other than the last one opened, or one left open.
func checkWellFormed(t *testing.T, body string) {
	t.Helper()
	void := map[string]bool{"meta": true, "link": true, "br": true, "col": true, "hr": true, "img": true, "input": true, "wbr": true}
	z := html.NewTokenizer(strings.NewReader(body))
	var stack []string
	for {
		switch z.Next() {
		case html.ErrorToken:
			if z.Err() != io.EOF {
				t.Fatal(z.Err())
			}
			if len(stack) > 0 {
				t.Fatalf("elements left open: %v", stack)
			}
			return
		case html.StartTagToken:
			name, _ := z.TagName()
			if !void[string(name)] {
				stack = append(stack, string(name))
			}
		case html.EndTagToken:
			name, _ := z.TagName()
			if len(stack) == 0 || stack[len(stack)-1] != string(name) {
				t.Fatalf("</%s> closes %v at %q", name, stack, z.Raw())
			}
			stack = stack[:len(stack)-1]
		}
	}
}

func staticOnly(t *testing.T) *Sources {
	z := compilePage(t, "---\n'':\n  type: A\n  value: 192.0.2.250\n", nil, nil)
	snap := zones.NewSnapshot(1, []*zones.Zone{z})
	return &Sources{Snapshot: func() *zones.Snapshot { return snap }}
}

// With nothing to show, the page says so.
func TestPageEmpty(t *testing.T) {
	for _, tc := range []struct {
		name string
		src  *Sources
		want []string
	}{
		{"nothing loaded", &Sources{}, []string{"No zones loaded", "(development build)", "Uptime</dt><dd>unknown", "No events since"}},
		{"static zone", staticOnly(t), []string{"No dynamic records", "serial", "<dd>0 of 0</dd>"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body := get(t, tc.src, "GET").Body.String()
			for _, s := range tc.want {
				if !strings.Contains(body, s) {
					t.Errorf("page lacks %q:\n%s", s, body)
				}
			}
			if strings.Contains(body, "Site reports") {
				t.Error("site reports shown without a receiver")
			}
		})
	}
}

// The style sheet adapts to phones and dark mode, and loads nothing.
func TestPageCSS(t *testing.T) {
	for _, want := range []string{
		"@media (max-width: 640px)", "@media (prefers-color-scheme: dark)", "system-ui",
		".w0{width:0%}", ".w37{width:37%}", ".w100{width:100%}",
	} {
		if !strings.Contains(pageCSS, want) {
			t.Errorf("CSS lacks %q", want)
		}
	}
	if regexp.MustCompile(`(?i)url\(|@import|@font-face|https?:`).MatchString(pageCSS) {
		t.Error("the CSS loads something")
	}
}

func TestPageFormat(t *testing.T) {
	for _, tc := range []struct {
		got, want string
	}{
		{pct(0), "0%"}, {pct(-1), "0%"}, {pct(math.NaN()), "0%"}, {pct(0.0001), "<0.1%"}, {pct(0.25), "25%"},
		{pct(2.0 / 3), "66.7%"}, {pct(1), "100%"},
		{barWidth(0), "w0"}, {barWidth(0.001), "w1"}, {barWidth(0.666), "w67"}, {barWidth(1.2), "w100"},
		{num(2), "2"}, {num(0.755), "0.76"}, {num(1.0 / 3), "0.33"},
		{durText(0.0005), "500 µs"}, {durText(0.012), "12 ms"}, {durText(1.53), "1.5 s"},
		{agoText(0), "just now"}, {agoText(12 * time.Second), "12s ago"}, {agoText(5 * time.Minute), "5m ago"},
		{agoText(30 * time.Hour), "30h ago"}, {agoText(72 * time.Hour), "3d ago"},
		{uptime(45 * time.Second), "45s"}, {uptime(61 * time.Second), "1m 1s"}, {uptime(3*time.Hour + 5*time.Minute), "3h 5m"},
		{uptime(50 * time.Hour), "2d 2h"},
		{stateClass("override down"), "st-override-down"}, {stateClass(hostile), "st-unknown"},
		{kindClass("reload"), "k-reload"}, {kindClass(hostile), "k-other"},
		{shorten("abcdef", 4), "abc…"}, {shorten("abc", 4), "abc"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
}
