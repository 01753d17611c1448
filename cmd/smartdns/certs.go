package main

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"
)

// certReloader serves the HTTP listener's certificate and picks up a
// renewed one (cert or key file changed on disk) at the next handshake,
// without a restart. A renewal that does not load is logged and the
// previous certificate keeps serving.
type certReloader struct {
	certFile, keyFile string
	log               *slog.Logger

	mu      sync.Mutex
	cert    *tls.Certificate
	modTime [2]time.Time
}

func newCertReloader(certFile, keyFile string, log *slog.Logger) (*certReloader, error) {
	r := &certReloader{certFile: certFile, keyFile: keyFile, log: log}
	if err := r.load(); err != nil {
		return nil, err
	}
	return r, nil
}

func (r *certReloader) stamps() ([2]time.Time, error) {
	var out [2]time.Time
	for i, f := range []string{r.certFile, r.keyFile} {
		fi, err := os.Stat(f)
		if err != nil {
			return out, err
		}
		out[i] = fi.ModTime()
	}
	return out, nil
}

// load reads the pair; r.mu is held or r is not shared yet.
func (r *certReloader) load() error {
	st, err := r.stamps()
	if err != nil {
		return fmt.Errorf("tls: %w", err)
	}
	c, err := tls.LoadX509KeyPair(r.certFile, r.keyFile)
	if err != nil {
		return fmt.Errorf("tls: %w", err)
	}
	r.cert, r.modTime = &c, st
	return nil
}

// GetCertificate is tls.Config.GetCertificate.
func (r *certReloader) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if st, err := r.stamps(); err == nil && st != r.modTime {
		old := r.cert
		if err := r.load(); err != nil {
			r.cert = old
			r.modTime = st // do not retry every handshake until it changes again
			r.log.Error("renewed TLS certificate refused; the previous one keeps serving", "err", err)
		} else {
			r.log.Info("TLS certificate reloaded", "cert", r.certFile)
		}
	}
	return r.cert, nil
}
