package e2e

import (
	"bytes"
	"context"
	"fmt"
	"image/png"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/net/html"
)

// The status page end to end. The real binary serves the example zones
// (examples/zones: api.example.com is dynamic, two pools, every value
// `status: up`, so nothing is probed) with its HTTP listener on. dig asks
// for the dynamic name 30 times, so the answer shares are not zero, then
// an operator override takes 198.51.100.81 down. The page, as served and
// as headless Chromium renders it, shows the zones with serials, the
// record with its values, their states and shares; screenshots at a
// laptop's and a phone's size are written as test artifacts (keep them
// with go test -artifacts; the test logs their paths).
//
// Chromium is required (make deps installs it); SMARTDNS_SKIP_BROWSER=1
// skips the browser half.

const pageToken = "page-token-0123456789abcdef"

// pageDigs is how many queries for api.example.com the test sends.
const pageDigs = 30

func TestStatusPage(t *testing.T) {
	s := Start(t, Options{
		ZonesFrom: "../../examples/zones",
		Extra:     "http: 127.0.0.1:0\napi: {token: " + pageToken + "}\n",
	})
	url := "http://" + s.HTTP + "/"
	waitReady(t, s, url)

	for range pageDigs {
		a := s.Dig("api.example.com", "A")
		if a.Status != "NOERROR" || len(Datas(a.Answer, "A")) != 1 {
			t.Fatalf("api.example.com A: %s %v", a.Status, a.Answer)
		}
	}
	// 127.0.0.1 has no location: the catch-all rule, pool us, weights
	// 2 and 1. Taking .81 down afterwards leaves its answers counted.
	req, _ := http.NewRequest("PUT", url+"api/v1/values/198.51.100.81/status", strings.NewReader(`{"status":"down"}`))
	req.Header.Set("Authorization", "Bearer "+pageToken)
	req.Header.Set("Content-Type", "application/json")
	if code, body, _ := pageDo(t, req); code != 200 {
		t.Fatalf("override: %d %s", code, body)
	}

	t.Run("served", func(t *testing.T) {
		req, _ := http.NewRequest("GET", url, nil)
		code, body, h := pageDo(t, req)
		if code == http.StatusNotFound {
			t.Fatalf("GET / answered 404: the status page is not mounted (cmd/smartdns/web.go)")
		}
		if code != 200 {
			t.Fatalf("GET /: %d %s", code, body)
		}
		for k, want := range map[string]string{
			"Content-Type":           "text/html; charset=utf-8",
			"Cache-Control":          "no-store",
			"X-Content-Type-Options": "nosniff",
		} {
			if h.Get(k) != want {
				t.Errorf("%s: %q, want %q", k, h.Get(k), want)
			}
		}
		if csp := h.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") {
			t.Errorf("Content-Security-Policy %q", csp)
		}
		req, _ = http.NewRequest("HEAD", url, nil)
		if code, body, _ := pageDo(t, req); code != 200 || body != "" {
			t.Errorf("HEAD /: %d %q", code, body)
		}
		req, _ = http.NewRequest("POST", url, nil)
		if code, _, _ := pageDo(t, req); code != http.StatusMethodNotAllowed {
			t.Errorf("POST /: %d, want 405", code)
		}
		checkPage(t, body)
	})

	t.Run("browser", func(t *testing.T) {
		chromium := findChromium(t)
		dom := runChromium(t, chromium, "--dump-dom", url)
		checkPage(t, dom)
		checkNoSideScroll(t, chromium, dom)
		for _, sz := range []struct {
			name string
			w, h int
		}{{"laptop", 1280, 900}, {"phone", 390, 844}} {
			file := filepath.Join(t.ArtifactDir(), fmt.Sprintf("status-page-%s-%dx%d.png", sz.name, sz.w, sz.h))
			runChromium(t, chromium, "--hide-scrollbars", "--screenshot="+file, fmt.Sprintf("--window-size=%d,%d", sz.w, sz.h), url)
			checkPNG(t, file, sz.w, sz.h)
			t.Logf("screenshot %s: %s", sz.name, file)
		}
	})
}

// checkPage checks what the page says about the example zones.
func checkPage(t *testing.T, page string) {
	t.Helper()
	doc, err := html.Parse(strings.NewReader(page))
	if err != nil {
		t.Fatal(err)
	}
	text := strings.Join(strings.Fields(textOf(doc)), " ")
	for _, want := range []string{
		"example.com. serial", "example.net. serial 2026112201", // zones, the RFC 1035 one with its own serial
		"api.example.com.", "policy weighted", "TTL 60", fmt.Sprintf("%d answers in the last minute", pageDigs),
		"EU→eu", "catch-all→us", // rules
		"pool eu", "pool us",
		"Recent events", "override", "198.51.100.81",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("page lacks %q:\n%s", want, text)
		}
	}
	rows := valueRows(doc)
	for _, want := range []struct {
		value, state, weight string
	}{
		{"192.0.2.80", "up", "100%"},
		{"198.51.100.80", "up", "100%"},
		{"198.51.100.81", "override down", "0%"},
	} {
		r, ok := rows[want.value]
		if !ok {
			t.Errorf("no row for %s (rows %v)", want.value, rows)
			continue
		}
		if r.state != want.state || len(r.pcts) != 2 || r.pcts[0] != want.weight {
			t.Errorf("%s: state %q, shares %v; want %q, weight share %s", want.value, r.state, r.pcts, want.state, want.weight)
		}
	}
	// Every answer went to pool us, split between its two values.
	var sum float64
	for _, v := range []string{"198.51.100.80", "198.51.100.81"} {
		if r := rows[v]; len(r.pcts) == 2 {
			p, err := strconv.ParseFloat(strings.TrimSuffix(r.pcts[1], "%"), 64)
			if err != nil {
				t.Errorf("%s: answer share %q", v, r.pcts[1])
			}
			sum += p
		}
	}
	if sum < 99.8 || sum > 100.2 || rows["198.51.100.80"].pcts[1] == "0%" {
		t.Errorf("answer shares of pool us %v and %v, want two adding up to 100%%", rows["198.51.100.80"].pcts, rows["198.51.100.81"].pcts)
	}
	if r := rows["192.0.2.80"]; len(r.pcts) == 2 && r.pcts[1] != "0%" {
		t.Errorf("192.0.2.80 answered %s, want 0%% (no client is in Europe)", r.pcts[1])
	}
}

// checkNoSideScroll loads a copy of the page in a phone-sized window and
// checks that nothing is wider than the window. The served page runs no
// script (its policy allows none), so the copy gets one that writes the
// widths into the DOM. --dump-dom lays out at least 500 px wide, which is
// still under the page's 640 px breakpoint: the one-column layout.
func checkNoSideScroll(t *testing.T, chromium, dom string) {
	t.Helper()
	const probe = `<script>function m() { var e = document.documentElement; ` +
		`e.setAttribute("data-widths", e.scrollWidth + " " + e.clientWidth) }; ` +
		`addEventListener("load", m); addEventListener("resize", m)</script>`
	page := regexp.MustCompile(`<meta http-equiv="refresh"[^>]*>`).ReplaceAllString(dom, "")
	page = strings.Replace(page, "</body>", probe+"</body>", 1)
	file := filepath.Join(t.TempDir(), "page.html")
	if err := os.WriteFile(file, []byte(page), 0o644); err != nil {
		t.Fatal(err)
	}
	out := runChromium(t, chromium, "--window-size=390,844", "--virtual-time-budget=2000", "--dump-dom", "file://"+file)
	m := regexp.MustCompile(`data-widths="(\d+) (\d+)"`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("the width probe did not run:\n%s", out)
	}
	scroll, _ := strconv.Atoi(m[1])
	client, _ := strconv.Atoi(m[2])
	if client >= 640 {
		t.Fatalf("window %d px wide: not a phone's layout", client)
	}
	if scroll > client {
		t.Errorf("at %d px the page is %d px wide: it scrolls sideways", client, scroll)
	}
}

// pageRow is what a value's row shows: its state and its two shares
// (effective weight, answers) as written.
type pageRow struct {
	state string
	pcts  []string
}

func valueRows(doc *html.Node) map[string]pageRow {
	rows := map[string]pageRow{}
	for n := range doc.Descendants() {
		if n.Type != html.ElementNode || n.Data != "tr" || !inTable(n, "vals") {
			continue
		}
		var value string
		var r pageRow
		for c := range n.Descendants() {
			if c.Type != html.ElementNode {
				continue
			}
			switch {
			case c.Data == "code" && value == "":
				value = textOf(c)
			case hasClass(c, "badge") && r.state == "":
				r.state = textOf(c)
			case hasClass(c, "pct"):
				r.pcts = append(r.pcts, textOf(c))
			}
		}
		if value != "" {
			rows[value] = r
		}
	}
	return rows
}

func inTable(n *html.Node, class string) bool {
	for p := n.Parent; p != nil; p = p.Parent {
		if p.Type == html.ElementNode && p.Data == "table" {
			return hasClass(p, class)
		}
	}
	return false
}

func hasClass(n *html.Node, class string) bool {
	for _, a := range n.Attr {
		if a.Key == "class" && strings.Contains(" "+a.Val+" ", " "+class+" ") {
			return true
		}
	}
	return false
}

func textOf(n *html.Node) string {
	var b strings.Builder
	for c := range n.Descendants() {
		if c.Type == html.TextNode && (c.Parent == nil || c.Parent.Data != "style") {
			b.WriteString(c.Data)
		}
	}
	return b.String()
}

// checkPNG checks that file is a PNG of the window's size with something
// drawn on it (more than a few colours, more than a few kilobytes).
func checkPNG(t *testing.T, file string, w, h int) {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	if b := img.Bounds(); b.Dx() != w || b.Dy() != h {
		t.Errorf("%s: %dx%d, want %dx%d", file, b.Dx(), b.Dy(), w, h)
	}
	colors := map[[4]uint32]bool{}
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y += 3 {
		for x := b.Min.X; x < b.Max.X; x += 3 {
			r, g, bl, a := img.At(x, y).RGBA()
			colors[[4]uint32{r, g, bl, a}] = true
		}
	}
	if len(data) < 10_000 || len(colors) < 50 {
		t.Errorf("%s: %d bytes, %d colours: a blank page?", file, len(data), len(colors))
	}
}

// waitReady waits for /readyz to answer 200.
func waitReady(t *testing.T, s *Server, url string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		req, _ := http.NewRequest("GET", url+"readyz", nil)
		code, _, _ := pageDo(t, req)
		if code == 200 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz never answered 200 (last %d):\n%s", code, s.Log())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// pageDo sends req; a connection error is code 0.
func pageDo(t *testing.T, req *http.Request) (int, string, http.Header) {
	t.Helper()
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Do(req)
	if err != nil {
		return 0, err.Error(), nil
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

// findChromium returns the browser's path, failing the test when it is
// missing unless SMARTDNS_SKIP_BROWSER=1, which skips it.
func findChromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("SMARTDNS_SKIP_BROWSER") == "1" {
		t.Skip("chromium is not installed and SMARTDNS_SKIP_BROWSER=1")
	}
	t.Fatal("chromium is not installed: run `make deps` (Debian package chromium), or set SMARTDNS_SKIP_BROWSER=1 to skip the browser checks")
	return ""
}

// runChromium runs headless Chromium with a fresh profile and home, for
// at most 60 seconds, and returns what it wrote to stdout. It runs in
// its own process group, killed when it is done, so that no browser
// process outlives the call.
func runChromium(t *testing.T, bin string, args ...string) string {
	t.Helper()
	home := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	full := append([]string{
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic",
		"--disable-crash-reporter", "--disable-breakpad",
		"--no-first-run", "--no-default-browser-check", "--disable-background-networking",
		"--disable-component-update", "--disable-sync", "--disable-extensions", "--disable-default-apps",
		"--user-data-dir=" + filepath.Join(home, "profile"),
	}, args...)
	cmd := exec.CommandContext(ctx, bin, full...)
	cmd.Env = append(os.Environ(), "HOME="+home, "XDG_CONFIG_HOME="+filepath.Join(home, "config"),
		"XDG_CACHE_HOME="+filepath.Join(home, "cache"))
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if cmd.Process != nil {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) // helpers left behind, if any
	}
	if ctx.Err() != nil {
		t.Fatalf("chromium %s: no result after 60s:\n%s", strings.Join(args, " "), stderr.String())
	}
	if err != nil {
		t.Fatalf("chromium %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return stdout.String()
}
