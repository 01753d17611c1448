package probes

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/smartdns/smartdns/pool"
)

// benchServerEnv makes the test binary, started by the benchmark, serve
// the targets in a process of its own, so that the benchmark's CPU time
// is the prober's alone.
const benchServerEnv = "SMARTDNS_PROBES_BENCH_SERVER"

// benchAddrs are the loopback addresses the benchmark's servers use.
var benchAddrs = []string{"127.0.0.21", "127.0.0.22", "127.0.0.23", "127.0.0.24"}

// TestBenchServer is not a test: it is the server process of
// BenchmarkRunner10kTargets. It serves HTTP (200 on every path) and bare
// TCP (accept, close) on each bench address and prints
// "http|tcp ip port" lines, then "ready".
func TestBenchServer(t *testing.T) {
	if os.Getenv(benchServerEnv) == "" {
		t.Skip("the server process of BenchmarkRunner10kTargets")
	}
	for _, ip := range benchAddrs {
		hl := listen(t, ip)
		go (&http.Server{Handler: http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})}).Serve(hl)
		tl := listen(t, ip)
		go func() {
			for {
				c, err := tl.Accept()
				if err != nil {
					return
				}
				c.Close()
			}
		}()
		fmt.Printf("http %s %d\ntcp %s %d\n", ip, portOf(hl.Addr()), ip, portOf(tl.Addr()))
	}
	fmt.Println("ready")
	os.Stdin.Read(make([]byte, 1)) // until the benchmark closes the pipe
}

// BenchmarkRunner10kTargets probes 10,000 targets every second against
// servers in another process and reports the prober's cost: CPU (% of one
// core, from getrusage), heap in use and resident memory, and the checks
// done per second (10,000 when it keeps up).
func BenchmarkRunner10kTargets(b *testing.B) {
	for _, proto := range []string{"HTTP", "TCP"} {
		b.Run(proto, func(b *testing.B) { benchRunner(b, proto, 10000, time.Second, 4*time.Second) })
	}
}

func benchRunner(b *testing.B, proto string, n int, interval, length time.Duration) {
	exe, err := os.Executable()
	if err != nil {
		b.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run=^TestBenchServer$")
	cmd.Env = append(os.Environ(), benchServerEnv+"=1")
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() {
		stdin.Close()
		cmd.Wait()
	}()
	type server struct {
		ip   string
		port int
	}
	var servers []server
	sc := bufio.NewScanner(stdout)
	for sc.Scan() && sc.Text() != "ready" {
		f := strings.Fields(sc.Text())
		if len(f) == 3 && strings.EqualFold(f[0], proto) {
			p, _ := strconv.Atoi(f[2])
			servers = append(servers, server{f[1], p})
		}
	}
	if len(servers) == 0 {
		b.Fatal("the server process did not start")
	}

	checks := make([]*pool.Check, n)
	var members pool.Members
	for i := range checks {
		s := servers[i%len(servers)]
		c := &pool.Check{Protocol: proto, Address: s.ip, Port: s.port, Interval: interval, Timeout: interval, Rise: 2, Fall: 3}
		if proto == "HTTP" {
			c.Path = fmt.Sprintf("/t%d", i)
		} else {
			// Distinct targets on one listener; Host means nothing to TCP.
			c.Host = fmt.Sprintf("t%d.example", i)
		}
		checks[i] = c
		members.ID(c)
	}
	var table pool.HealthTable
	r := &Runner{Members: &members, Table: &table}

	b.ResetTimer()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	r.SetTargets(checks)
	go func() { done <- r.Run(ctx) }()
	// Measure the steady state: after the first checks (all at once) and
	// the second ones (spread over the interval).
	time.Sleep(2 * interval)
	runtime.GC()
	checked := func() (n uint64) {
		for _, s := range r.Status() {
			n += s.Checks
		}
		return n
	}
	cpu0, checks0, start := cpuTime(), checked(), time.Now()
	time.Sleep(length)
	elapsed, cpu, total := time.Since(start), cpuTime()-cpu0, checked()-checks0
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	rss := rssBytes()
	down := 0
	for _, s := range r.Status() {
		if s.State != pool.Healthy {
			down++
		}
	}
	cancel()
	<-done
	b.StopTimer()
	if down > 0 {
		b.Errorf("%d targets not up", down)
	}
	b.ReportMetric(0, "ns/op")
	b.ReportMetric(float64(total)/elapsed.Seconds(), "checks/s")
	b.ReportMetric(100*cpu.Seconds()/elapsed.Seconds(), "cpu-%")
	b.ReportMetric(float64(cpu.Microseconds())/float64(total), "cpu-µs/check")
	b.ReportMetric(float64(ms.HeapInuse)/(1<<20), "heap-MiB")
	b.ReportMetric(float64(rss)/(1<<20), "rss-MiB")
}

// cpuTime is the process's user and system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// rssBytes is the resident set size (Linux), 0 when unknown.
func rssBytes() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb << 10
		}
	}
	return 0
}
