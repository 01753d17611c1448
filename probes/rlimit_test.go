//go:build linux

package probes

import (
	"errors"
	"net"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/smartdns/smartdns/pool"
)

const lowFDEnv = "SMARTDNS_PROBES_LOW_FD_CHILD"

// TestLowFileLimit runs real TCP checks of a listening target in a
// process that then runs out of file descriptors (RLIMIT_NOFILE lowered,
// every descriptor below it taken): with fall 1, one check counted as a
// failure would take the target down; it must stay up, count local
// errors, and be checked as usual once descriptors are back. A child
// process does it, so that the low limit touches no other test.
func TestLowFileLimit(t *testing.T) {
	if os.Getenv(lowFDEnv) == "1" {
		lowFDChild(t)
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestLowFileLimit$", "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(), lowFDEnv+"=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	t.Logf("child:\n%s", out)
}

func lowFDChild(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.19:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				if errors.Is(err, net.ErrClosed) {
					return
				}
				time.Sleep(time.Millisecond) // EMFILE while starved
				continue
			}
			c.Close()
		}
	}()
	port := ln.Addr().(*net.TCPAddr).Port
	c := &pool.Check{Protocol: "TCP", Address: "127.0.0.19", Port: port, Interval: 5 * time.Millisecond, Fall: 1}
	r := &Runner{}
	r.SetTargets([]*pool.Check{c})
	run(t, r)
	status := func() TargetStatus { return r.Status()[0] }
	waitFor(t, 5*time.Second, "up", func() bool { return status().State == pool.Healthy })

	var old syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &old); err != nil {
		t.Fatal(err)
	}
	low := old
	low.Cur = 128
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &low); err != nil {
		t.Fatal(err)
	}
	var fillers []*os.File
	for {
		f, err := os.Open(os.DevNull)
		if err != nil {
			if !errors.Is(err, syscall.EMFILE) {
				t.Fatalf("filling the descriptors: %v", err)
			}
			break
		}
		fillers = append(fillers, f)
	}
	t.Logf("limit %d, %d descriptors taken", low.Cur, len(fillers))
	before := status()
	waitFor(t, 10*time.Second, "10 local errors", func() bool { return status().LocalErrors >= before.LocalErrors+10 })
	starved := status()
	for _, f := range fillers {
		f.Close()
	}
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &old); err != nil {
		t.Fatal(err)
	}
	if starved.State != pool.Healthy || starved.Failures != 0 || starved.Transitions != before.Transitions {
		t.Fatalf("out of descriptors: %+v, want up with no failures (before: %+v)", starved, before)
	}
	if starved.LastLocalError == "" {
		t.Errorf("no last local error in %+v", starved)
	}
	t.Logf("while starved: %d local errors, last %q", starved.LocalErrors, starved.LastLocalError)
	waitFor(t, 5*time.Second, "checks again", func() bool { return status().Checks >= starved.Checks+3 })
	if st := status(); st.State != pool.Healthy || st.Failures != 0 {
		t.Errorf("after: %+v", st)
	}
}
