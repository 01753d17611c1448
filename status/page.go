package status

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"fmt"
	"html/template"
	"math"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/smartdns/smartdns/loadreport/receiver"
)

// PageRefresh is how often the status page reloads itself, in seconds.
const PageRefresh = 5

//go:embed templates/page.html templates/page.css
var pageFiles embed.FS

// The page's template, its style sheet and the Content-Security-Policy
// that allows that one style sheet and nothing else: no script, no
// external load of any kind. All three are built once and never change.
var (
	pageTmpl = template.Must(template.New("page.html").Funcs(pageFuncs).ParseFS(pageFiles, "templates/page.html"))
	pageCSS  = pageStyle()
	pageCSP  = "default-src 'none'; style-src '" + cssHash(pageCSS) + "'; img-src data:; " +
		"base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)

// pageStyle is templates/page.css followed by the bar widths .w0 to
// .w100: the bars take their width from a class, since the policy allows
// no style attribute.
func pageStyle() string {
	css, err := pageFiles.ReadFile("templates/page.css")
	if err != nil {
		panic(err) // embedded: cannot happen
	}
	var b strings.Builder
	b.Write(css)
	for i := 0; i <= 100; i++ {
		fmt.Fprintf(&b, ".w%d{width:%d%%}", i, i)
	}
	b.WriteString("\n")
	return b.String()
}

func cssHash(css string) string {
	sum := sha256.Sum256([]byte(css))
	return "sha256-" + base64.StdEncoding.EncodeToString(sum[:])
}

// pageData is what the template renders.
type pageData struct {
	CSS        template.CSS
	Refresh    int
	Version    string
	Now        time.Time
	Started    time.Time
	Uptime     string
	Generation uint64
	Zones      []ZoneInfo
	Counts     pageCounts
	Records    []DynamicInfo
	Events     []Event
	Sites      []pageSite
}

// pageCounts sum up the values of every dynamic record.
type pageCounts struct {
	Values, Serving, Out, Overrides int
}

// pageSite is one site's last report.
type pageSite struct {
	Site           string
	Load, Smoothed float64
	Draining, Shed bool
	Fresh          bool
	Received       time.Time
	Addresses      []string
	Metrics        []pageMetric
}

type pageMetric struct {
	Name  string
	Value float64
}

// ServePage renders the status page (GET / and HEAD /).
func (s *Sources) ServePage(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed: the status page is read with GET", http.StatusMethodNotAllowed)
		return
	}
	var buf bytes.Buffer
	if err := pageTmpl.Execute(&buf, s.pageData(time.Now())); err != nil {
		s.logger().Error("rendering the status page", "err", err)
		http.Error(w, "cannot render the status page; the JSON API has the same data", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(buf.Len()))
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Security-Policy", pageCSP)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodGet {
		w.Write(buf.Bytes())
	}
}

func (s *Sources) pageData(now time.Time) pageData {
	zs := s.Zones()
	d := pageData{
		CSS: template.CSS(pageCSS), Refresh: PageRefresh, Version: s.Version, Now: now.UTC(),
		Generation: zs.Generation, Zones: zs.Zones, Records: s.AllDynamic(), Events: s.Events.Recent(),
		Uptime: "unknown",
	}
	if d.Version == "" {
		d.Version = "(development build)"
	}
	if !s.Started.IsZero() {
		d.Started = s.Started.UTC()
		d.Uptime = uptime(now.Sub(s.Started))
	}
	for _, rec := range d.Records {
		for _, p := range rec.Pools {
			for _, v := range p.Values {
				d.Counts.Values++
				if v.Serving {
					d.Counts.Serving++
				} else {
					d.Counts.Out++
				}
				if v.Override != "" {
					d.Counts.Overrides++
				}
			}
		}
	}
	if s.Reports != nil {
		stale := s.StaleAfter
		if stale <= 0 {
			stale = receiver.DefaultStaleAfter
		}
		for _, st := range s.Reports.Sites() {
			ps := pageSite{
				Site: st.Report.Site, Load: st.Report.Load, Smoothed: st.Smoothed,
				Draining: st.Report.Draining, Shed: st.Shed, Received: st.Received.UTC(),
				Fresh: now.Sub(st.Received) < stale, Addresses: st.Report.Addresses,
			}
			for k, v := range st.Report.Metrics {
				ps.Metrics = append(ps.Metrics, pageMetric{k, v})
			}
			sort.Slice(ps.Metrics, func(i, j int) bool { return ps.Metrics[i].Name < ps.Metrics[j].Name })
			d.Sites = append(d.Sites, ps)
		}
	}
	return d
}

// pageFuncs are the template's formatting helpers; none has state.
var pageFuncs = template.FuncMap{
	"pct":        pct,
	"barw":       barWidth,
	"num":        num,
	"dur":        durText,
	"ago":        func(sec float64) string { return agoText(time.Duration(sec * float64(time.Second))) },
	"since":      func(now, t time.Time) string { return agoText(now.Sub(t)) },
	"clock":      func(t time.Time) string { return t.UTC().Format("15:04:05") },
	"stamp":      func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
	"short":      func(s string) string { return shorten(s, 120) },
	"stateClass": stateClass,
	"kindClass":  kindClass,
}

// pct writes a share (0..1) as a percentage: "0%", "66.7%", "100%", and
// "<0.1%" for a share too small to show but not nothing.
func pct(f float64) string {
	if math.IsNaN(f) || f <= 0 {
		return "0%"
	}
	p := math.Round(f*1000) / 10
	if p == 0 {
		return "<0.1%"
	}
	return strconv.FormatFloat(p, 'f', -1, 64) + "%"
}

// barWidth is the class giving a bar its width: the share in whole
// percent, at least 1 when the share is not zero so that it shows.
func barWidth(f float64) string {
	if math.IsNaN(f) || f <= 0 {
		return "w0"
	}
	n := int(math.Round(f * 100))
	return "w" + strconv.Itoa(min(max(n, 1), 100))
}

// num writes a weight without needless decimals: 2, 0.75, 1.33.
func num(f float64) string {
	return strconv.FormatFloat(math.Round(f*100)/100, 'f', -1, 64)
}

// durText writes a check's duration: "850 µs", "12 ms", "1.5 s".
func durText(sec float64) string {
	d := time.Duration(sec * float64(time.Second))
	switch {
	case d < time.Millisecond:
		return fmt.Sprintf("%d µs", d.Microseconds())
	case d < time.Second:
		return fmt.Sprintf("%d ms", d.Milliseconds())
	default:
		return strconv.FormatFloat(math.Round(d.Seconds()*10)/10, 'f', -1, 64) + " s"
	}
}

// agoText writes an age: "just now", "12s ago", "5m ago", "3h ago", "2d ago".
func agoText(d time.Duration) string {
	switch {
	case d < time.Second:
		return "just now"
	case d < time.Minute:
		return fmt.Sprintf("%ds ago", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm ago", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh ago", int(d.Hours()))
	default:
		return fmt.Sprintf("%dd ago", int(d.Hours()/24))
	}
}

// uptime writes how long the server has run, to the two largest units.
func uptime(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	s := int64(d.Seconds())
	days, hours, mins, secs := s/86400, s%86400/3600, s%3600/60, s%60
	switch {
	case days > 0:
		return fmt.Sprintf("%dd %dh", days, hours)
	case hours > 0:
		return fmt.Sprintf("%dh %dm", hours, mins)
	case mins > 0:
		return fmt.Sprintf("%dm %ds", mins, secs)
	default:
		return fmt.Sprintf("%ds", secs)
	}
}

func shorten(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

// stateClass is the badge class of a value's state: st-up, st-down,
// st-disabled, st-draining, st-shed, st-override-up, st-override-down.
func stateClass(state string) string {
	switch state {
	case "up", "down", "disabled", "draining", "shed", "override up", "override down":
		return "st-" + strings.ReplaceAll(state, " ", "-")
	}
	return "st-unknown"
}

// kindClass is the badge class of an event's kind.
func kindClass(kind string) string {
	switch kind {
	case "health", "override", "reload", "report":
		return "k-" + kind
	}
	return "k-other"
}
