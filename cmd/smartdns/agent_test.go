package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/smartdns/smartdns/loadreport"
	"github.com/smartdns/smartdns/loadreport/agent"
)

func TestAgentDrainUndrain(t *testing.T) {
	var mu sync.Mutex
	var reports []loadreport.Report
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if !loadreport.Verify(body, []byte("k3y"), r.Header.Get(loadreport.SignatureHeader)) {
			w.WriteHeader(401)
			return
		}
		rep, err := loadreport.Decode(body)
		if err != nil {
			w.WriteHeader(400)
			return
		}
		mu.Lock()
		reports = append(reports, rep)
		mu.Unlock()
		w.WriteHeader(204)
	}))
	defer srv.Close()

	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "site.key"), []byte("k3y\n"), 0o600)
	os.WriteFile(filepath.Join(dir, "load"), []byte("0.3"), 0o644)
	cfgPath := filepath.Join(dir, "agent.yaml")
	os.WriteFile(cfgPath, []byte("site: fra\nkey_file: site.key\nnameservers: ["+srv.URL+"]\naddresses: [192.0.2.1]\ninterval: 50ms\nload: {file: load}\n"), 0o644)

	cfg, probs := agent.LoadConfig(cfgPath)
	if cfg == nil {
		t.Fatal(probs)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- agent.New(cfg, nil).Run(ctx) }()
	defer func() { cancel(); <-done }()

	waitFor := func(draining bool) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for time.Now().Before(deadline) {
			mu.Lock()
			n := len(reports)
			ok := n > 0 && reports[n-1].Draining == draining
			mu.Unlock()
			if ok {
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
		t.Fatalf("no report with draining=%v", draining)
	}
	waitFor(false)

	runAgent := func(args ...string) string {
		t.Helper()
		var out, errb bytes.Buffer
		if rc := run(append([]string{"agent"}, args...), &out, &errb); rc != 0 {
			t.Fatalf("agent %v: rc %d: %s", args, rc, errb.String())
		}
		return out.String()
	}
	if out := runAgent("drain", "--config", cfgPath); !strings.Contains(out, "site fra is now draining") {
		t.Fatalf("drain printed %q", out)
	}
	if out := runAgent("drain", "--config", cfgPath); !strings.Contains(out, "already draining") {
		t.Fatalf("second drain printed %q", out)
	}
	waitFor(true)
	if out := runAgent("status", "--config", cfgPath); !strings.Contains(out, "draining=true") {
		t.Fatalf("status printed %q", out)
	}
	if out := runAgent("undrain", "--config", cfgPath); !strings.Contains(out, "no longer draining") {
		t.Fatalf("undrain printed %q", out)
	}
	waitFor(false)

	mu.Lock()
	for i := 1; i < len(reports); i++ {
		if reports[i].Seq <= reports[i-1].Seq {
			t.Errorf("seq %d after %d", reports[i].Seq, reports[i-1].Seq)
		}
	}
	mu.Unlock()
}

func TestAgentCommandErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "agent.yaml")
	os.WriteFile(bad, []byte("site: fra\nkye: x\n"), 0o644)
	for _, tc := range []struct {
		args []string
		rc   int
		want string
	}{
		{[]string{"agent"}, 2, "--config FILE is required"},
		{[]string{"agent", "frobnicate"}, 2, "unknown subcommand"},
		{[]string{"agent", "drain", "--config", bad}, 1, "agent.yaml:2:1: unknown key \"kye\""},
	} {
		var out, errb bytes.Buffer
		rc := run(tc.args, &out, &errb)
		if rc != tc.rc || !strings.Contains(errb.String(), tc.want) {
			t.Errorf("%v: rc %d stderr %q", tc.args, rc, errb.String())
		}
	}
}
