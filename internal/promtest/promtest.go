// Package promtest reads Prometheus text scrapes in tests: parsed into
// families, series looked up by their labels, and checked with the real
// `promtool check metrics`. The metrics package's unit tests and the
// end-to-end tests share it.
package promtest

import (
	"bytes"
	"math"
	"os"
	"os/exec"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// Families is a parsed scrape, by metric family name.
type Families map[string]*dto.MetricFamily

// Parse parses a text scrape, failing t when it does not parse.
func Parse(t testing.TB, text string) Families {
	t.Helper()
	p := expfmt.NewTextParser(model.LegacyValidation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(text))
	if err != nil {
		t.Fatalf("the scrape does not parse: %v\n%s", err, text)
	}
	return fams
}

// Get returns the value of name's series with exactly the labels given as
// name, value pairs (the sample count of a histogram), and whether it
// exists.
func (f Families) Get(name string, lv ...string) (float64, bool) {
	want := map[string]string{}
	for i := 0; i+1 < len(lv); i += 2 {
		want[lv[i]] = lv[i+1]
	}
next:
	for _, m := range f[name].GetMetric() {
		if len(m.Label) != len(want) {
			continue
		}
		for _, l := range m.Label {
			if v, ok := want[l.GetName()]; !ok || v != l.GetValue() {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue(), true
		case m.Gauge != nil:
			return m.Gauge.GetValue(), true
		case m.Untyped != nil:
			return m.Untyped.GetValue(), true
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount()), true
		}
	}
	return 0, false
}

// Want fails t unless the series exists with the value want.
func (f Families) Want(t testing.TB, want float64, name string, lv ...string) {
	t.Helper()
	got, ok := f.Get(name, lv...)
	if !ok {
		t.Errorf("%s%v: no such series; the family has:\n%s", name, lv, f.Dump(name))
		return
	}
	if math.Abs(got-want) > 1e-9 {
		t.Errorf("%s%v = %v, want %v:\n%s", name, lv, got, want, f.Dump(name))
	}
}

// Absent fails t if the series exists.
func (f Families) Absent(t testing.TB, name string, lv ...string) {
	t.Helper()
	if _, ok := f.Get(name, lv...); ok {
		t.Errorf("%s%v: series present, want none", name, lv)
	}
}

// Sum adds every series of a counter.
func (f Families) Sum(name string) float64 {
	var n float64
	for _, m := range f[name].GetMetric() {
		n += m.GetCounter().GetValue()
	}
	return n
}

// Dump is a family in text form, for failure messages.
func (f Families) Dump(name string) string {
	var b bytes.Buffer
	if fam := f[name]; fam != nil {
		expfmt.MetricFamilyToText(&b, fam)
	}
	return b.String()
}

// Promtool pipes a scrape into `promtool check metrics` and fails t on any
// problem it prints. Without promtool on PATH it fails, saying to run
// `make deps`, unless SMARTDNS_SKIP_PROMTOOL=1 (then it skips).
func Promtool(t testing.TB, text string) {
	t.Helper()
	path, err := exec.LookPath("promtool")
	if err != nil {
		if os.Getenv("SMARTDNS_SKIP_PROMTOOL") == "1" {
			t.Skip("promtool is not installed (SMARTDNS_SKIP_PROMTOOL=1)")
		}
		t.Fatal("promtool is not installed: run `make deps` (Debian package prometheus), or set SMARTDNS_SKIP_PROMTOOL=1 to skip this check")
	}
	cmd := exec.Command(path, "check", "metrics")
	cmd.Stdin = strings.NewReader(text)
	out, err := cmd.CombinedOutput()
	if err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Errorf("promtool check metrics: %v\n%s", err, out)
	}
}
