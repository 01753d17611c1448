package main

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"net/http"
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
	reports *receiver.Receiver
	done    chan struct{}
}

// startWeb binds the HTTP listener (so a bad address fails the start) and
// serves it in the background. It sets src.Reports.
func startWeb(ctx context.Context, cfg *config.Config, src *status.Sources, log *slog.Logger) (*webServer, error) {
	rc := &receiver.Receiver{
		Keys:       siteKeys(cfg),
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
			Handler:           mux,
			ReadHeaderTimeout: 5 * time.Second,
			ReadTimeout:       10 * time.Second,
			WriteTimeout:      10 * time.Second,
			IdleTimeout:       60 * time.Second,
			ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		},
		reports: rc,
		done:    make(chan struct{}),
	}
	if cfg.TLS.Cert != "" {
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
	go func() {
		var err error
		if cfg.TLS.Cert != "" {
			err = w.srv.ServeTLS(ln, "", "")
		} else {
			err = w.srv.Serve(ln)
		}
		if err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("HTTP listener stopped", "err", err)
		}
	}()
	go func() { rc.Run(ctx); close(w.done) }()
	go src.WatchSites(ctx, time.Second)
	log.Info("HTTP listening", "addr", ln.Addr().String(), "tls", cfg.TLS.Cert != "")
	return w, nil
}

// shutdown stops the listener, letting requests in flight finish.
func (w *webServer) shutdown() {
	ctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	w.srv.Shutdown(ctx)
	<-w.done
}

// siteKeys are the report-signing keys of the configured sites.
func siteKeys(cfg *config.Config) map[string][]byte {
	keys := make(map[string][]byte, len(cfg.Sites))
	for name, s := range cfg.Sites {
		keys[name] = s.Secret
	}
	return keys
}
