package dns

import (
	"bytes"
	"log/slog"
	"net"
	"strings"
	"sync"
	"syscall"
	"testing"
)

// failingListener fails its first accepts with err, then reports closed.
type failingListener struct {
	net.Listener
	err   error
	fails int
}

func (l *failingListener) Accept() (net.Conn, error) {
	if l.fails > 0 {
		l.fails--
		return nil, l.err
	}
	return nil, net.ErrClosed
}

func (l *failingListener) Addr() net.Addr {
	return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 5353}
}

// syncWriter is a log sink the test reads after the listener stopped.
type syncWriter struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (w *syncWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.Write(p)
}

// An accept error (the process out of file descriptors) reaches the
// server's Logger once, not once per retry.
func TestAcceptErrorsAreLogged(t *testing.T) {
	var out syncWriter
	s := &Server{Logger: slog.New(slog.NewTextHandler(&out, nil))}
	s.acceptTCP(&failingListener{err: syscall.EMFILE, fails: 3}, 0)
	log := out.buf.String()
	if n := strings.Count(log, "TCP accept failed"); n != 1 {
		t.Fatalf("want one logged accept failure, got %d:\n%s", n, log)
	}
	if !strings.Contains(log, "too many open files") || !strings.Contains(log, "listen=127.0.0.1:5353") {
		t.Fatalf("the line does not say what failed where:\n%s", log)
	}
}
