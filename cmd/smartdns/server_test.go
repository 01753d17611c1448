package main

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/smartdns/smartdns/internal/config"
)

// logSink collects a server's log lines for a test to wait on.
type logSink struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logSink) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logSink) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func (l *logSink) wait(t *testing.T, text string) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if strings.Contains(l.String(), text) {
			return
		}
	}
	t.Fatalf("the log never said %q:\n%s", text, l.String())
}

// testConfig writes a config serving one zone on loopback port 0 (DNS and
// HTTP) and reads it back.
func testConfig(t *testing.T) (string, *config.Config) {
	t.Helper()
	dir := t.TempDir()
	zonesDir := filepath.Join(dir, "zones")
	if err := os.Mkdir(zonesDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(zonesDir, "example.com.yaml"), []byte("---\nwww: {type: A, value: 192.0.2.1}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "smartdns.yaml")
	cfg := `listen: [127.0.0.1:0]
http: 127.0.0.1:0
zones: zones
data: smartdns.db
nameservers: [ns1.example.com.]
soa: {rname: hostmaster.example.com.}
reload: {interval: 50ms}
probes: {enabled: false}
`
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	c, probs := config.Load(path)
	if c == nil {
		t.Fatalf("config: %v", probs)
	}
	return path, c
}

// Run returns only once every goroutine it started has ended (the state
// file closes after them), SIGHUP reloads included.
func TestRunJoinsEveryGoroutine(t *testing.T) {
	path, cfg := testConfig(t)
	before, _ := ownGoroutines()
	var out logSink
	hup := make(chan os.Signal, 1)
	srv, err := newServer(path, cfg, slog.New(slog.NewTextHandler(&out, nil)), hup)
	if err != nil {
		t.Fatalf("newServer: %v\n%s", err, out.String())
	}
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- srv.Run(ctx) }()
	out.wait(t, "msg=ready")
	hup <- os.Interrupt // any value: Run only receives from it
	out.wait(t, "generation=2")
	cancel()
	select {
	case err := <-ran:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(shutdownGrace + 2*time.Second):
		t.Fatal("Run did not return within the shutdown grace")
	}
	if after, stacks := ownGoroutines(); after > before {
		t.Fatalf("%d goroutines before the server, %d after Run returned:\n%s", before, after, stacks)
	}
}

// ownGoroutines counts the goroutines, leaving out the one net/http's
// Server.Shutdown starts for HTTP/2 and does not wait for (the standard
// library's, not ours to join).
func ownGoroutines() (int, string) {
	buf := make([]byte, 1<<20)
	all := string(buf[:runtime.Stack(buf, true)])
	n := 0
	var kept []string
	for _, g := range strings.Split(all, "\n\n") {
		if strings.Contains(g, "created by net/http.(*Server).Shutdown") {
			continue
		}
		n++
		kept = append(kept, g)
	}
	return n, strings.Join(kept, "\n\n")
}
