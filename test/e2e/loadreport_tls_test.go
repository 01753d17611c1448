package e2e

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"path/filepath"
	"testing"
	"time"
)

// With `tls: {cert, key}` the report listener speaks HTTPS: a signed
// report over TLS is stored (204), and a plain-HTTP request gets no report
// through.
func TestLoadReportTLS(t *testing.T) {
	dir := t.TempDir()
	certPEM, keyPEM := selfSigned(t)
	writeFile(t, filepath.Join(dir, "cert.pem"), string(certPEM))
	writeFile(t, filepath.Join(dir, "key.pem"), string(keyPEM))
	extra := fmt.Sprintf(`http: 127.0.0.1:0
tls: {cert: %q, key: %q}
sites:
  fra: {key: %q, addresses: [%s]}
`, filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem"), lrFraKey, lrFra)
	s := Start(t, Options{Files: map[string]string{"example.com.yaml": lrZone}, Extra: extra})
	s.WaitLog(`msg="HTTP listening".*tls=true`, 5*time.Second)
	addr := s.HTTP

	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(certPEM)
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	body := lrReport("fra", 0.3, false, time.Now().Unix(), 1)
	req, _ := http.NewRequest("POST", "https://"+addr+"/api/v1/reports", bytes.NewReader(body))
	req.Header.Set("X-Smartdns-Signature", lrSign(body, lrFraKey))
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("HTTPS report: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("HTTPS report: status %d, want 204", resp.StatusCode)
	}

	// Plain HTTP to the TLS listener is not a report.
	body = lrReport("fra", 0.3, false, time.Now().Unix(), 2)
	req, _ = http.NewRequest("POST", "http://"+addr+"/api/v1/reports", bytes.NewReader(body))
	req.Header.Set("X-Smartdns-Signature", lrSign(body, lrFraKey))
	if resp, err := (&http.Client{Timeout: 5 * time.Second}).Do(req); err == nil {
		resp.Body.Close()
		if resp.StatusCode == http.StatusNoContent {
			t.Fatal("a plain-HTTP report was accepted by the TLS listener")
		}
	}
}

// selfSigned makes a certificate for 127.0.0.1.
func selfSigned(t *testing.T) (certPEM, keyPEM []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "smartdns test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder})
}
