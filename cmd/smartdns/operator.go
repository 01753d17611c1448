package main

import (
	"net/http"

	"github.com/smartdns/smartdns/metrics"
	"github.com/smartdns/smartdns/status"
)

// mountOperator mounts what an operator reads: the status API and probes,
// the metrics, and the status page.
func mountOperator(mux *http.ServeMux, src *status.Sources) {
	src.Register(mux)
	mux.Handle("GET /metrics", metrics.Handler(metricsSources(src)))
	mux.HandleFunc("GET /{$}", src.ServePage)
}

// metricsSources hands the metrics the parts of the server they read,
// each through its narrow view. Parts the server lacks stay nil (a nil
// pointer must not become a non-nil interface).
func metricsSources(src *status.Sources) metrics.Sources {
	m := metrics.Sources{
		Version: src.Version, Started: src.Started, Snapshot: src.Snapshot, Queries: src.Stats,
		Dynamic: src, Reloads: src.Reloads, StaleAfter: src.StaleAfter,
		QueryLog: src.QueryLogStats, AliasResolutions: src.AliasResolutions,
	}
	if src.Tally != nil {
		m.Answers = src.Tally
	}
	if src.Health != nil {
		m.Overrides = src.Health.Overrides
	}
	if src.Probes != nil {
		m.Probes = src.Probes
	}
	if src.Reports != nil {
		m.Sites = src.Reports
		m.ReportsRefused = src.Reports.Refused
		if m.StaleAfter == 0 {
			m.StaleAfter = src.Reports.StaleAfter
		}
	}
	if src.Store != nil {
		m.StateErrors = src.Store.Errors
	}
	return m
}
