package main

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"log/slog"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// writePair writes a self-signed certificate for cn and its key, with
// modification times at, and returns nothing: the reloader reads them.
func writePair(t *testing.T, certFile, keyFile, cn string, at time.Time) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: cn}, NotBefore: at.Add(-time.Hour), NotAfter: at.Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, _ := x509.MarshalECPrivateKey(key)
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600)
	os.Chtimes(certFile, at, at)
	os.Chtimes(keyFile, at, at)
}

func TestCertReloader(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	t0 := time.Now().Add(-time.Minute)
	writePair(t, certFile, keyFile, "first", t0)
	var logs bytes.Buffer
	r, err := newCertReloader(certFile, keyFile, slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	cn := func() string {
		c, err := r.GetCertificate(nil)
		if err != nil {
			t.Fatal(err)
		}
		x, _ := x509.ParseCertificate(c.Certificate[0])
		return x.Subject.CommonName
	}
	if got := cn(); got != "first" {
		t.Fatalf("serving %s", got)
	}
	writePair(t, certFile, keyFile, "renewed", t0.Add(time.Second))
	if got := cn(); got != "renewed" {
		t.Fatalf("after renewal serving %s", got)
	}
	os.WriteFile(certFile, []byte("garbage"), 0o600)
	os.Chtimes(certFile, t0.Add(2*time.Second), t0.Add(2*time.Second))
	if got := cn(); got != "renewed" {
		t.Fatalf("after a broken renewal serving %s", got)
	}
	if !strings.Contains(logs.String(), "renewed TLS certificate refused") {
		t.Fatalf("no log of the refused renewal:\n%s", logs.String())
	}
	if _, err := newCertReloader(certFile, keyFile, slog.Default()); err == nil {
		t.Fatal("a broken pair loaded at start")
	}
}
