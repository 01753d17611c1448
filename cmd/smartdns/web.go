package main

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"time"

	"github.com/smartdns/smartdns/internal/config"
	"github.com/smartdns/smartdns/loadreport"
	"github.com/smartdns/smartdns/loadreport/receiver"
	"github.com/smartdns/smartdns/status"
)

// webServer is the HTTP listener (`http:` in the config): load reports,
// metrics, the status API and page, and the health probes.
type webServer struct {
	srv     *http.Server
	ln      net.Listener
	tls     bool
	reports *receiver.Receiver
	sources *status.Sources
	log     *slog.Logger
}

// newWeb binds the HTTP listener (so a bad address fails the start) and
// logs the address it bound (with port 0, the port picked). It sets
// src.Reports. run serves it.
func newWeb(cfg *config.Config, src *status.Sources, log *slog.Logger) (*webServer, error) {
	rc := &receiver.Receiver{
		Keys:       siteKeys(cfg),
		Addresses:  siteAddresses(cfg),
		Store:      src.Store,
		Health:     src.Health,
		StaleAfter: cfg.Reports.StaleAfter,
		Logger:     log,
	}
	if err := rc.Restore(); err != nil {
		return nil, err
	}
	src.Reports = rc
	mux := http.NewServeMux()
	mux.Handle(loadreport.Path, rc)
	mountOperator(mux, src)
	w := &webServer{
		srv: &http.Server{
			Handler:           limitBodies(newRenderCache(HTTPRenderInterval, HTTPCacheEntries, HTTPCacheBytes).wrap(mux)),
			ReadHeaderTimeout: HTTPReadHeaderTimeout,
			ReadTimeout:       HTTPReadTimeout,
			WriteTimeout:      HTTPWriteTimeout,
			IdleTimeout:       HTTPIdleTimeout,
			MaxHeaderBytes:    HTTPMaxHeaderBytes,
			ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		},
		reports: rc,
		sources: src,
		tls:     cfg.TLS.Cert != "",
		log:     log,
	}
	if w.tls {
		certs, err := newCertReloader(cfg.TLS.Cert, cfg.TLS.Key, log)
		if err != nil {
			return nil, err
		}
		w.srv.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: certs.GetCertificate}
	}
	ln, err := net.Listen("tcp", cfg.HTTP)
	if err != nil {
		return nil, err
	}
	// The limits wrap the TCP listener, under TLS, so a connection over
	// them costs no handshake.
	w.ln = newLimitListener(ln, HTTPMaxConns, HTTPMaxConnsPerAddr)
	log.Info("HTTP listening", "addr", ln.Addr().String(), "tls", w.tls)
	return w, nil
}

// run serves the listener, and runs the report receiver and the site
// watcher until ctx ends, each through spawn (which joins them).
func (w *webServer) run(ctx context.Context, spawn func(func())) {
	spawn(func() {
		var err error
		if w.tls {
			err = w.srv.ServeTLS(w.ln, "", "")
		} else {
			err = w.srv.Serve(w.ln)
		}
		if err != nil && !errors.Is(err, http.ErrServerClosed) {
			w.log.Error("HTTP listener stopped", "err", err)
		}
	})
	spawn(func() { w.reports.Run(ctx) })
	spawn(func() { w.sources.WatchSites(ctx, time.Second) })
}

// shutdown stops the listener, letting requests in flight finish until
// ctx ends.
func (w *webServer) shutdown(ctx context.Context) {
	if err := w.srv.Shutdown(ctx); err != nil {
		w.srv.Close()
	}
}

// close releases a listener that was never served.
func (w *webServer) close() { w.ln.Close() }

// siteKeys are the report-signing keys of the configured sites.
func siteKeys(cfg *config.Config) map[string][]byte {
	keys := make(map[string][]byte, len(cfg.Sites))
	for name, s := range cfg.Sites {
		keys[name] = s.Secret
	}
	return keys
}

// siteAddresses are the prefixes each configured site may report; a site
// that lists none is left out (it may report any address).
func siteAddresses(cfg *config.Config) map[string][]netip.Prefix {
	out := make(map[string][]netip.Prefix, len(cfg.Sites))
	for name, s := range cfg.Sites {
		if s.Prefixes != nil {
			out[name] = s.Prefixes
		}
	}
	return out
}
