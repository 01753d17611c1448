package main

import (
	"net/http"

	"github.com/smartdns/smartdns/status"
)

// mountOperator mounts what an operator reads: the status API, the page
// and the health probes (and, in metrics.go, /metrics).
func mountOperator(mux *http.ServeMux, src *status.Sources) {
	src.Register(mux)
	for _, m := range operatorMounts {
		m(mux, src)
	}
}

// operatorMounts are the endpoints of optional parts, added by their files.
var operatorMounts []func(*http.ServeMux, *status.Sources)
