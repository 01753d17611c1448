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
	mux.Handle("GET /metrics", metrics.Handler(src))
	mux.HandleFunc("GET /{$}", src.ServePage)
}
