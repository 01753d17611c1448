package receiver

import (
	"math"
	"testing"
	"time"

	"github.com/smartdns/smartdns/loadreport"
)

var epoch = time.Unix(1763770000, 0)

func mkReport(site string, load float64, draining bool, addrs ...string) loadreport.Report {
	return loadreport.Report{Site: site, Addresses: addrs, Load: load, Draining: draining, TS: epoch.Unix(), Seq: 1}
}

func observeAt(tb *Table, r loadreport.Report, at time.Time) SiteState {
	s := tb.Next(r, at)
	tb.Set(s)
	return s
}

func approxEq(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

func TestTableEWMA(t *testing.T) {
	tb := &Table{}
	loads := []float64{0.2, 1, 1, 1, 1, 1}
	want := []float64{0.2, 0.44, 0.608, 0.7256, 0.80792, 0.865544}
	for i, l := range loads {
		s := observeAt(tb, mkReport("fra", l, false, "192.0.2.1"), epoch.Add(time.Duration(i)*5*time.Second))
		if !approxEq(s.Smoothed, want[i]) {
			t.Fatalf("report %d: smoothed %v, want %v", i, s.Smoothed, want[i])
		}
	}
	// A step from 0.2 to 1 is 83% absorbed after five reports.
	if got := (want[5] - 0.2) / 0.8; !approxEq(got, 1-math.Pow(0.7, 5)) || got < 0.83 {
		t.Fatalf("absorbed %v", got)
	}
	// A site heard from again after going stale starts afresh.
	s := observeAt(tb, mkReport("fra", 0.1, false, "192.0.2.1"), epoch.Add(25*time.Second+DefaultStaleAfter+time.Second))
	if s.Smoothed != 0.1 {
		t.Fatalf("after stale: smoothed %v", s.Smoothed)
	}
}

func TestTableShedHysteresis(t *testing.T) {
	tb := &Table{}
	at := epoch
	steps := []struct {
		load     float64
		smoothed float64
		shed     bool
	}{
		{0.95, 0.95, true}, // a new site over the high watermark sheds at once
		{0.85, 0.92, true},
		{0.6, 0.824, true}, // under high, not yet under low
		{0.6, 0.7568, false},
		{0.85, 0.78476, false},
		{1, 0.849332, false}, // over low, not over high
		{1, 0.8945324, false},
		{1, 0.92617268, true},
	}
	for i, st := range steps {
		s := observeAt(tb, mkReport("fra", st.load, false, "192.0.2.1"), at)
		l := tb.Loads(at)["192.0.2.1"]
		if !approxEq(s.Smoothed, st.smoothed) || s.Shed != st.shed || !approxEq(l.Smoothed, st.smoothed) {
			t.Fatalf("step %d: smoothed %v shed %v (published %+v), want %v %v", i, s.Smoothed, s.Shed, l, st.smoothed, st.shed)
		}
		at = at.Add(5 * time.Second)
	}
	// Custom watermarks.
	tb = &Table{High: 0.5, Low: 0.4}
	if s := observeAt(tb, mkReport("fra", 0.55, false, "192.0.2.1"), epoch); !s.Shed {
		t.Fatal("0.55 over a 0.5 watermark does not shed")
	}
}

func TestTableStaleness(t *testing.T) {
	tb := &Table{StaleAfter: 10 * time.Second}
	observeAt(tb, mkReport("fra", 0.5, true, "192.0.2.1", "2001:db8::1"), epoch)
	for _, tt := range []struct {
		after time.Duration
		fresh bool
	}{{0, true}, {10 * time.Second, true}, {10*time.Second + 1, false}, {time.Hour, false}} {
		loads := tb.Loads(epoch.Add(tt.after))
		if len(loads) != 2 {
			t.Fatalf("loads %v", loads)
		}
		l := loads["2001:db8::1"]
		if l.Fresh != tt.fresh || l.Site != "fra" {
			t.Fatalf("after %v: %+v, want fresh %v", tt.after, l, tt.fresh)
		}
		// A stale site's draining flag is not trusted.
		if l.Draining != tt.fresh {
			t.Fatalf("after %v: draining %v", tt.after, l.Draining)
		}
	}
}

// Returned is when a site came back to serving, from which records ramp
// its weight up (pool.Factor): its first report, the end of draining, a
// report after going stale.
func TestTableDrainingAndReturned(t *testing.T) {
	tb := &Table{StaleAfter: 2 * time.Minute}
	a := "192.0.2.1"
	observeAt(tb, mkReport("fra", 0.5, false, a), epoch)
	if l := tb.Loads(epoch.Add(3 * time.Second))[a]; !l.Fresh || l.Draining || !l.Returned.Equal(epoch) || l.Smoothed != 0.5 {
		t.Fatalf("new site: %+v", l)
	}
	// Draining: published at once; Returned unchanged while away.
	at := epoch.Add(time.Minute)
	s := observeAt(tb, mkReport("fra", 0.5, true, a), at)
	l := tb.Loads(at)[a]
	if !l.Draining || !l.Fresh || !s.Returned.Equal(epoch) {
		t.Fatalf("draining: %+v", l)
	}
	// Back to serving: the ramp starts again.
	back := at.Add(5 * time.Second)
	s = observeAt(tb, mkReport("fra", 0.5, false, a), back)
	if l := tb.Loads(back)[a]; !s.Returned.Equal(back) || l.Draining || !l.Returned.Equal(back) {
		t.Fatalf("returned %v (published %+v), want %v", s.Returned, l, back)
	}
	// Serving to serving does not restart the ramp.
	if s := observeAt(tb, mkReport("fra", 0.5, false, a), back.Add(5*time.Second)); !s.Returned.Equal(back) {
		t.Fatalf("returned moved to %v", s.Returned)
	}
	// Back after going stale: the ramp starts again.
	late := back.Add(time.Hour)
	if s := observeAt(tb, mkReport("fra", 0.5, false, a), late); !s.Returned.Equal(late) {
		t.Fatalf("after stale: returned %v", s.Returned)
	}
}

func TestTableSharedAddress(t *testing.T) {
	tb := &Table{}
	observeAt(tb, mkReport("fra", 0.1, false, "192.0.2.1", "192.0.2.2"), epoch)
	observeAt(tb, mkReport("iad", 0.9, false, "192.0.2.2"), epoch.Add(time.Second))
	loads := tb.Loads(epoch.Add(2 * time.Second))
	if loads["192.0.2.1"].Site != "fra" || loads["192.0.2.2"].Site != "iad" {
		t.Fatalf("%+v", loads)
	}
	observeAt(tb, mkReport("fra", 0.1, false, "192.0.2.1", "192.0.2.2"), epoch.Add(2*time.Second))
	if l := tb.Loads(epoch.Add(2 * time.Second))["192.0.2.2"]; l.Site != "fra" {
		t.Fatalf("latest report does not win: %+v", l)
	}
	// Same receive time: the smaller site name.
	observeAt(tb, mkReport("iad", 0.9, false, "192.0.2.2"), epoch.Add(2*time.Second))
	if l := tb.Loads(epoch.Add(2 * time.Second))["192.0.2.2"]; l.Site != "fra" {
		t.Fatalf("tie: %+v", l)
	}
}
