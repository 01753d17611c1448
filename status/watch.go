package status

import (
	"context"
	"fmt"
	"time"

	"github.com/smartdns/smartdns/loadreport/receiver"
)

// siteMark is what the site watcher remembers of a site between looks.
type siteMark struct {
	fresh, draining, shed bool
}

// WatchSites records the sites' transitions as events (a site reporting
// for the first time, going stale, draining, shedding, and back), looking
// every `every` until ctx ends. The report receiver knows nothing of the
// page; this keeps it that way.
func (s *Sources) WatchSites(ctx context.Context, every time.Duration) {
	if s.Reports == nil {
		return
	}
	t := time.NewTicker(every)
	defer t.Stop()
	seen := map[string]siteMark{}
	for {
		s.siteEvents(seen, s.Reports.Sites(), time.Now())
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (s *Sources) siteEvents(seen map[string]siteMark, sites []receiver.SiteState, now time.Time) {
	stale := s.StaleAfter
	if stale <= 0 {
		stale = receiver.DefaultStaleAfter
	}
	for _, st := range sites {
		name := st.Report.Site
		m := siteMark{fresh: now.Sub(st.Received) < stale, draining: st.Report.Draining, shed: st.Shed}
		old, ok := seen[name]
		seen[name] = m
		add := func(text string) {
			s.Events.Add(Event{At: now, Kind: "report", Subject: name, Text: fmt.Sprintf("site %s: %s", name, text)})
		}
		switch {
		case !ok:
			if m.fresh {
				add(fmt.Sprintf("reporting, load %.2f", st.Report.Load))
			}
			continue
		case old.fresh && !m.fresh:
			add(fmt.Sprintf("stale: no report for %s; static weights", now.Sub(st.Received).Round(time.Second)))
		case !old.fresh && m.fresh:
			add(fmt.Sprintf("reporting again, load %.2f", st.Report.Load))
		}
		if old.draining != m.draining {
			if m.draining {
				add("draining")
			} else {
				add("undrained")
			}
		}
		if old.shed != m.shed {
			if m.shed {
				add(fmt.Sprintf("above the high watermark (smoothed load %.2f)", st.Smoothed))
			} else {
				add(fmt.Sprintf("back under the low watermark (smoothed load %.2f)", st.Smoothed))
			}
		}
	}
}
