package receiver

import (
	"sort"
	"time"

	"github.com/smartdns/smartdns/loadreport"
	"github.com/smartdns/smartdns/pool"
)

// Alpha is the weight of a new report in the smoothed load:
// s ← s + Alpha·(load − s). With reports every 5 s a step change is
// 1 − 0.7⁵ ≈ 83% absorbed after five reports (25 s), and a single
// outlier moves the smoothed load by at most 30% of its distance.
const Alpha = 0.3

// DefaultStaleAfter is a Table's StaleAfter when it sets none.
const DefaultStaleAfter = 30 * time.Second

// Table turns the latest report of each site into the per-address loads
// the pool reads: the raw ingredients (freshness, smoothed load, draining,
// return time). The least-loaded factor and the shed state of a value are
// computed by package pool alone, with each record's watermarks and slow
// start. It is not safe for concurrent use (the Receiver guards its own).
// The zero value is ready.
type Table struct {
	// StaleAfter: a site whose last report was received longer ago is
	// not Fresh. 0 means DefaultStaleAfter.
	StaleAfter time.Duration
	// High and Low are the watermarks behind SiteState.Shed, what the
	// status API shows for a site; 0 means pool.DefaultShedHigh and
	// pool.DefaultShedLow.
	High, Low float64
	// Allow, when set, says whether a site may report an address; Loads
	// leaves out the addresses it refuses.
	Allow func(site, addr string) bool

	sites map[string]*SiteState
}

// SiteState is what the table knows about one site.
type SiteState struct {
	Report   loadreport.Report
	Received time.Time
	// Smoothed is the EWMA of the site's reported loads.
	Smoothed float64
	// Shed applies the table's watermarks to Smoothed with hysteresis
	// (pool.Watermarks.Shed), for the status API; records shed with their
	// own.
	Shed bool
	// Returned is when the site last came back to serving from draining,
	// staleness or absence (zero: never away).
	Returned time.Time
}

func (t *Table) staleAfter() time.Duration {
	if t.StaleAfter > 0 {
		return t.StaleAfter
	}
	return DefaultStaleAfter
}

// Next returns the state site would have after accepting r at received,
// without changing the table. A new site, or one whose last report is
// stale, starts its smoothed load afresh at r.Load; a site that was
// draining, stale or absent and now serves has Returned = received.
func (t *Table) Next(r loadreport.Report, received time.Time) SiteState {
	prev, ok := t.sites[r.Site]
	away := !ok || prev.Report.Draining || received.Sub(prev.Received) > t.staleAfter()
	s := SiteState{Report: r, Received: received}
	if !ok || received.Sub(prev.Received) > t.staleAfter() {
		s.Smoothed = r.Load
	} else {
		s.Smoothed = prev.Smoothed + Alpha*(r.Load-prev.Smoothed)
		s.Shed = prev.Shed
		s.Returned = prev.Returned
	}
	s.Shed = pool.Watermarks{High: t.High, Low: t.Low}.OrDefault().Shed(s.Shed, s.Smoothed)
	if away && !r.Draining {
		s.Returned = received
	}
	return s
}

// Set stores a site's state, as made by Next or restored from a store.
func (t *Table) Set(s SiteState) {
	if t.sites == nil {
		t.sites = map[string]*SiteState{}
	}
	t.sites[s.Report.Site] = &s
}

// Site returns what the table knows about a site.
func (t *Table) Site(name string) (SiteState, bool) {
	s, ok := t.sites[name]
	if !ok {
		return SiteState{}, false
	}
	return *s, true
}

// Remove forgets a site.
func (t *Table) Remove(name string) { delete(t.sites, name) }

// Sites returns the names of the sites known, sorted.
func (t *Table) Sites() []string {
	names := make([]string, 0, len(t.sites))
	for n := range t.sites {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Loads computes the table published at now: one pool.Load per address
// of every known site. When several sites list an address the one whose
// report was received last wins (ties: the smaller site name).
func (t *Table) Loads(now time.Time) map[string]pool.Load {
	out := map[string]pool.Load{}
	won := map[string]time.Time{}
	for _, name := range t.Sites() {
		s := t.sites[name]
		l := t.load(s, now)
		for _, a := range s.Report.Addresses {
			if t.Allow != nil && !t.Allow(name, a) {
				continue
			}
			if at, ok := won[a]; ok && !s.Received.After(at) {
				continue
			}
			won[a] = s.Received
			out[a] = l
		}
	}
	return out
}

// load is one site's pool.Load at now. A stale site is published with
// Fresh false only (the pool then uses static weights, and a stale
// draining flag is not trusted).
func (t *Table) load(s *SiteState, now time.Time) pool.Load {
	l := pool.Load{Site: s.Report.Site, Smoothed: s.Smoothed}
	if now.Sub(s.Received) > t.staleAfter() {
		return l
	}
	l.Fresh = true
	l.Draining = s.Report.Draining
	l.Returned = s.Returned
	return l
}
