package probes

import (
	"bytes"
	"container/heap"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/smartdns/smartdns/pool"
)

func TestIsLocal(t *testing.T) {
	opErr := func(op string, e syscall.Errno) error {
		return &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError(op, e)}
	}
	for _, tc := range []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"EMFILE from socket", opErr("socket", syscall.EMFILE), true},
		{"ENFILE", opErr("socket", syscall.ENFILE), true},
		{"ENOBUFS from sendto", opErr("sendto", syscall.ENOBUFS), true},
		{"ENOMEM", opErr("socket", syscall.ENOMEM), true},
		{"EADDRNOTAVAIL from connect", opErr("connect", syscall.EADDRNOTAVAIL), true},
		{"EAFNOSUPPORT", opErr("socket", syscall.EAFNOSUPPORT), true},
		{"wrapped by the timeout message", fmt.Errorf("no answer within 1s: %w", opErr("socket", syscall.EMFILE)), true},
		{"one of joined causes", fmt.Errorf("ping socket: %w, raw socket: %w", os.ErrPermission, opErr("socket", syscall.EMFILE)), true},
		{"ECONNREFUSED", opErr("connect", syscall.ECONNREFUSED), false},
		{"ETIMEDOUT", opErr("connect", syscall.ETIMEDOUT), false},
		{"EHOSTUNREACH", opErr("connect", syscall.EHOSTUNREACH), false},
		{"ENETUNREACH", opErr("connect", syscall.ENETUNREACH), false},
		{"ECONNRESET", opErr("read", syscall.ECONNRESET), false},
		{"deadline", context.DeadlineExceeded, false},
		{"HTTP status", errors.New("HTTP status 503, want 200"), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := isLocal(tc.err); got != tc.want {
				t.Errorf("isLocal(%v) = %v, want %v", tc.err, got, tc.want)
			}
		})
	}
}

var (
	errEMFILE  = &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("socket", syscall.EMFILE)}
	errRefused = &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}
)

// TestLocalErrorsStep feeds results to one target, as the workers do, and
// checks the state, the runs and the log after each.
func TestLocalErrorsStep(t *testing.T) {
	const fall, rise = 3, 2
	var logs bytes.Buffer
	r := &Runner{Logger: slog.New(slog.NewTextHandler(&logs, nil))}
	c := &pool.Check{Protocol: "TCP", Address: "192.0.2.1", Port: 80, Interval: time.Hour, Rise: rise, Fall: fall}
	r.SetTargets([]*pool.Check{c})
	tg := r.targets[c.Key()]
	feed := func(err error) {
		r.mu.Lock()
		takeOff(r, tg)
		r.mu.Unlock()
		r.result(tg, time.Now(), err)
	}
	warnings := func() int { return strings.Count(logs.String(), "failed on this host") }
	type want struct {
		state                 pool.State
		succ, fail, local     int
		transitions, warnings int
	}
	for i, step := range []struct {
		what string
		errs []error
		want want
	}{
		{"local errors before any result", []error{errEMFILE, errEMFILE, errEMFILE, errEMFILE}, want{pool.Unknown, 0, 0, 4, 0, 1}},
		{"a success", []error{nil}, want{pool.Healthy, 1, 0, 4, 1, 1}},
		{"many local errors while up", repeat(errEMFILE, 50), want{pool.Healthy, 1, 0, 54, 1, 2}},
		{"one refusal", []error{errRefused}, want{pool.Healthy, 0, 1, 54, 1, 2}},
		{"local errors do not end the run of failures", repeat(errEMFILE, 10), want{pool.Healthy, 0, 1, 64, 1, 2}},
		{"fall refusals in all", []error{errRefused, errRefused}, want{pool.Unhealthy, 0, 3, 64, 2, 2}},
		{"local errors while down log once more", repeat(errEMFILE, 10), want{pool.Unhealthy, 0, 3, 74, 2, 3}},
		{"local errors do not count towards rise", []error{nil, errEMFILE, nil}, want{pool.Healthy, 2, 0, 75, 3, 3}},
	} {
		for _, err := range step.errs {
			feed(err)
		}
		st := r.Status()[0]
		got := want{st.State, st.Successes, st.Failures, int(st.LocalErrors), st.Transitions, warnings()}
		if got != step.want {
			t.Fatalf("step %d (%s): got %+v, want %+v\nlog:\n%s", i, step.what, got, step.want, logs.String())
		}
	}
	if st := r.Status()[0]; !strings.Contains(st.LastLocalError, "too many open files") || st.Checks != 6 {
		t.Errorf("status %+v: want the EMFILE as the last local error and 6 checks", st)
	}
}

func repeat(err error, n int) []error {
	s := make([]error, n)
	for i := range s {
		s[i] = err
	}
	return s
}

// takeOff takes t off the queue as the scheduler does before a check.
func takeOff(r *Runner, t *target) {
	if t.idx >= 0 {
		heap.Remove(&r.queue, t.idx)
	}
}

// TestLocalErrorsRunning runs a target whose checks fail with "too many
// open files" after a first success: it stays up and logs once; real
// failures then take it down after fall checks.
func TestLocalErrorsRunning(t *testing.T) {
	const fall = 3
	var mode atomic.Int32 // 0 ok, 1 EMFILE, 2 refused
	var refused atomic.Int32
	var logs bytes.Buffer
	var logMu sync.Mutex
	r := &Runner{
		Logger: slog.New(slog.NewTextHandler(lockedWriter{&logMu, &logs}, nil)),
		Probe: func(context.Context, *pool.Check) error {
			switch mode.Load() {
			case 1:
				return errEMFILE
			case 2:
				refused.Add(1)
				return errRefused
			}
			return nil
		},
	}
	c := &pool.Check{Protocol: "TCP", Address: "192.0.2.1", Port: 80, Interval: 2 * time.Millisecond, Fall: fall}
	r.SetTargets([]*pool.Check{c})
	run(t, r)
	status := func() TargetStatus { return r.Status()[0] }
	waitFor(t, 5*time.Second, "up", func() bool { return status().State == pool.Healthy })
	mode.Store(1)
	waitFor(t, 10*time.Second, "30 local errors", func() bool { return status().LocalErrors >= 30 })
	if st := status(); st.State != pool.Healthy || st.Transitions != 1 || st.Failures != 0 {
		t.Fatalf("after local errors: %+v, want up, 1 transition, no failures", st)
	}
	mode.Store(2)
	waitFor(t, 10*time.Second, "down", func() bool { return status().State == pool.Unhealthy })
	if n := refused.Load(); n < fall {
		t.Errorf("down after %d refusals, want at least %d", n, fall)
	}
	logMu.Lock()
	defer logMu.Unlock()
	if n := strings.Count(logs.String(), "failed on this host"); n != 1 {
		t.Errorf("%d local-error lines, want 1:\n%s", n, logs.String())
	}
}
