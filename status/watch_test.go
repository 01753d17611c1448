package status

import (
	"testing"
	"time"

	"github.com/smartdns/smartdns/loadreport"
	"github.com/smartdns/smartdns/loadreport/receiver"
)

func TestSiteEvents(t *testing.T) {
	s := &Sources{Events: NewEvents(10), StaleAfter: 10 * time.Second}
	seen := map[string]siteMark{}
	t0 := time.Unix(1_800_000_000, 0)
	site := func(load float64, draining, shed bool, received time.Time) []receiver.SiteState {
		return []receiver.SiteState{{Report: loadreport.Report{Site: "fra", Load: load, Draining: draining}, Received: received, Shed: shed, Smoothed: load}}
	}
	steps := []struct {
		sites []receiver.SiteState
		now   time.Time
		want  string // the newest event's text, "" for none new
	}{
		{site(0.3, false, false, t0), t0, "site fra: reporting, load 0.30"},
		{site(0.3, false, false, t0), t0.Add(time.Second), ""},
		{site(0.3, true, false, t0.Add(2*time.Second)), t0.Add(2 * time.Second), "site fra: draining"},
		{site(0.3, false, false, t0.Add(3*time.Second)), t0.Add(3 * time.Second), "site fra: undrained"},
		{site(0.95, false, true, t0.Add(4*time.Second)), t0.Add(4 * time.Second), "site fra: above the high watermark (smoothed load 0.95)"},
		{site(0.95, false, true, t0.Add(4*time.Second)), t0.Add(20 * time.Second), "site fra: stale: no report for 16s; static weights"},
		{site(0.5, false, false, t0.Add(21*time.Second)), t0.Add(21 * time.Second), "site fra: back under the low watermark (smoothed load 0.50)"},
	}
	n := 0
	for i, st := range steps {
		s.siteEvents(seen, st.sites, st.now)
		ev := s.Events.Recent()
		if st.want == "" {
			if len(ev) != n {
				t.Fatalf("step %d: new events %v", i, ev[:len(ev)-n])
			}
			continue
		}
		if len(ev) <= n || ev[0].Text != st.want {
			t.Fatalf("step %d: events %+v, want %q first", i, ev, st.want)
		}
		n = len(ev)
	}
}
