package probes

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/smartdns/smartdns/internal/store"
	"github.com/smartdns/smartdns/pool"
)

// waitFor polls cond until it holds and returns how long that took; the
// test fails when it still does not hold after within.
func waitFor(t *testing.T, within time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > within {
			t.Fatalf("not within %v: %s", within, what)
		}
		time.Sleep(time.Millisecond)
	}
	return time.Since(start)
}

// run starts r.Run and returns a function that stops it and waits for it
// (also called when the test ends).
func run(t *testing.T, r *Runner) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("Run: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

// counting is an HTTP handler that counts requests per path and answers
// 503 while down is set.
type counting struct {
	mu   sync.Mutex
	hits map[string]int
	down atomic.Bool
}

func (c *counting) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c.mu.Lock()
	if c.hits == nil {
		c.hits = map[string]int{}
	}
	c.hits[r.URL.Path]++
	c.mu.Unlock()
	if c.down.Load() {
		w.WriteHeader(http.StatusServiceUnavailable)
	}
}

func (c *counting) count(path string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.hits[path]
}

func stateOf(r *Runner, key string) pool.State {
	for _, s := range r.Status() {
		if s.Key == key {
			return s.State
		}
	}
	return pool.Unknown
}

func TestFirstCheckIsImmediate(t *testing.T) {
	checked := make(chan time.Time, 10)
	r := &Runner{Probe: func(context.Context, *pool.Check) error {
		checked <- time.Now()
		return nil
	}}
	r.SetTargets([]*pool.Check{{Protocol: "TCP", Address: "192.0.2.1", Port: 80, Interval: time.Hour}})
	start := time.Now()
	run(t, r)
	select {
	case at := <-checked:
		t.Logf("first check after %v", at.Sub(start))
	case <-time.After(5 * time.Second):
		t.Fatal("no check within 5s of Run, with an interval of an hour")
	}
	// A target added while running is checked at once too.
	r.SetTargets([]*pool.Check{
		{Protocol: "TCP", Address: "192.0.2.1", Port: 80, Interval: time.Hour},
		{Protocol: "TCP", Address: "192.0.2.2", Port: 80, Interval: time.Hour},
	})
	select {
	case <-checked:
	case <-time.After(5 * time.Second):
		t.Fatal("a target added while running was not checked at once")
	}
}

// TestDownAndBack stops a web server (it answers 503) and starts it again,
// and measures how long the target takes to leave and to come back.
func TestDownAndBack(t *testing.T) {
	const interval, timeout, rise, fall = 100 * time.Millisecond, 50 * time.Millisecond, 2, 3
	// Slack for scheduling on a loaded test machine (-race).
	const slack = 150 * time.Millisecond
	var srv counting
	_, port := startHTTP(t, "127.0.0.15", nil, &srv)
	c := &pool.Check{Protocol: "HTTP", Address: "127.0.0.15", Port: port, Path: "/_dns",
		Interval: interval, Timeout: timeout, Rise: rise, Fall: fall}
	var members pool.Members
	id := members.ID(c)
	var table pool.HealthTable
	var logs bytes.Buffer
	var logMu sync.Mutex
	r := &Runner{Members: &members, Table: &table,
		Logger: slog.New(slog.NewTextHandler(lockedWriter{&logMu, &logs}, &slog.HandlerOptions{Level: slog.LevelDebug}))}
	r.SetTargets([]*pool.Check{c})
	run(t, r)

	waitFor(t, 2*time.Second, "first check makes it up", func() bool { return table.State(id) == pool.Healthy })

	srv.down.Store(true)
	took := waitFor(t, interval*fall+timeout+slack, "a failing target goes down", func() bool { return table.State(id) == pool.Unhealthy })
	t.Logf("down after %v (bound interval × fall + timeout = %v)", took, interval*fall+timeout)

	srv.down.Store(false)
	took = waitFor(t, interval*rise+timeout+slack, "a recovered target comes back", func() bool { return table.State(id) == pool.Healthy })
	t.Logf("up after %v (bound interval × rise + timeout = %v)", took, interval*rise+timeout)

	st := r.Status()
	if len(st) != 1 || st[0].Transitions != 3 || st[0].LastError != "" || st[0].Successes < rise || st[0].Port != port {
		t.Errorf("status %+v", st)
	}
	logMu.Lock()
	out := logs.String()
	logMu.Unlock()
	for _, want := range []string{"level=DEBUG msg=\"health changed\" target=\"HTTP 127.0.0.15:" + strconv.Itoa(port) + " /_dns\" from=unknown to=up",
		"level=INFO msg=\"health changed\" target=\"HTTP 127.0.0.15:" + strconv.Itoa(port) + " /_dns\" from=up to=down", `reason="3 checks in a row failed"`,
		`err="HTTP status 503, want 200"`, "from=down to=up", `reason="2 checks in a row succeeded"`} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q:\n%s", want, out)
		}
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	b  *bytes.Buffer
}

func (w lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func TestSetTargetsAddsAndRemoves(t *testing.T) {
	const interval = 50 * time.Millisecond
	var srv counting
	_, port := startHTTP(t, "127.0.0.16", nil, &srv)
	check := func(path string) *pool.Check {
		return &pool.Check{Protocol: "HTTP", Address: "127.0.0.16", Port: port, Path: path, Interval: interval, Timeout: 40 * time.Millisecond}
	}
	a, b, c := check("/a"), check("/b"), check("/c")
	r := &Runner{}
	// Equal checks (two values with one target) make one target.
	r.SetTargets([]*pool.Check{a, b, check("/a")})
	if n := len(r.Status()); n != 2 {
		t.Fatalf("%d targets, want 2", n)
	}
	run(t, r)
	waitFor(t, 2*time.Second, "both targets probed twice", func() bool { return srv.count("/a") >= 2 && srv.count("/b") >= 2 })

	r.SetTargets([]*pool.Check{a, c})
	waitFor(t, 2*time.Second, "the added target is probed", func() bool { return srv.count("/c") >= 1 })
	// A check of /b that was running when it was removed may still land;
	// after the next interval none may.
	na := srv.count("/a")
	waitFor(t, 2*time.Second, "an interval passes", func() bool { return srv.count("/a") >= na+2 })
	nb := srv.count("/b")
	na = srv.count("/a")
	waitFor(t, 2*time.Second, "more intervals pass", func() bool { return srv.count("/a") >= na+4 })
	if got := srv.count("/b"); got != nb {
		t.Errorf("removed target probed %d more times", got-nb)
	}
	var keys []string
	for _, s := range r.Status() {
		keys = append(keys, s.Key)
	}
	if len(keys) != 2 || keys[0] != min(a.Key(), c.Key()) || keys[1] != max(a.Key(), c.Key()) {
		t.Errorf("targets %q, want /a and /c", keys)
	}
}

func TestInFlightBound(t *testing.T) {
	const limit, targets = 4, 30
	var cur, peak, total atomic.Int64
	slow := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := cur.Add(1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		time.Sleep(20 * time.Millisecond) // a slow server, well inside the check's timeout (a check cut short by its timeout while the handler still runs would be one more in flight)
		cur.Add(-1)
		total.Add(1)
	})
	_, port := startHTTP(t, "127.0.0.17", nil, slow)
	var checks []*pool.Check
	for i := range targets {
		checks = append(checks, &pool.Check{Protocol: "HTTP", Address: "127.0.0.17", Port: port,
			Path: fmt.Sprintf("/t%d", i), Interval: 500 * time.Millisecond, Timeout: 400 * time.Millisecond})
	}
	r := &Runner{MaxInFlight: limit}
	r.SetTargets(checks)
	run(t, r)
	waitFor(t, 10*time.Second, "every target probed twice", func() bool { return total.Load() >= 2*targets })
	if p := peak.Load(); p != limit {
		t.Errorf("at most %d checks at once, want exactly the limit %d", p, limit)
	}
}

func TestRestore(t *testing.T) {
	const interval = time.Minute
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name  string
		saved pool.State
		age   time.Duration
		want  pool.State
	}{
		{"young down stays down", pool.Unhealthy, 5 * interval, pool.Unhealthy},
		{"young up stays up", pool.Healthy, 9 * interval, pool.Healthy},
		{"old down is unknown", pool.Unhealthy, 10 * interval, pool.Unknown},
		{"much older up is unknown", pool.Healthy, 1000 * interval, pool.Unknown},
		{"saved in the future (clock moved back) is unknown", pool.Unhealthy, -2 * interval, pool.Unknown},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := &pool.Check{Protocol: "TCP", Address: "192.0.2.1", Port: 443, Interval: interval}
			st := newMemStore()
			st.recs[c.Key()] = HealthRecord{State: uint8(tc.saved), Checked: now.Add(-tc.age), Changed: now.Add(-time.Hour),
				Transitions: 7, LastError: "connection refused"}
			var members pool.Members
			var table pool.HealthTable
			id := members.ID(c)
			r := &Runner{Members: &members, Table: &table, Store: st, Now: func() time.Time { return now }}
			r.SetTargets([]*pool.Check{c})
			// Published before any check ran.
			if got := table.State(id); got != tc.want {
				t.Errorf("published %v, want %v", got, tc.want)
			}
			s := r.Status()[0]
			if s.State != tc.want {
				t.Errorf("status %v, want %v", s.State, tc.want)
			}
			if tc.want != pool.Unknown && (s.Transitions != 7 || s.LastError != "connection refused" || !s.LastChange.Equal(now.Add(-time.Hour))) {
				t.Errorf("restored status %+v", s)
			}
		})
	}
}

// TestStateSurvivesRestart runs on the real state file: a target that went
// down is down after a restart, unknown when the restart came too late,
// and forgotten once no zone uses it.
func TestStateSurvivesRestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	st, err := store.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { st.Close() }()
	c := &pool.Check{Protocol: "TCP", Address: "192.0.2.1", Port: 443, Interval: time.Hour, Fall: 1}
	fail := func(context.Context, *pool.Check) error { return errors.New("connection refused") }
	now := time.Now()
	clock := func(d time.Duration) func() time.Time { return func() time.Time { return now.Add(d) } }

	r := &Runner{Store: st, Probe: fail, Now: clock(0)}
	r.SetTargets([]*pool.Check{c})
	stop := run(t, r)
	waitFor(t, 2*time.Second, "the target goes down", func() bool { return stateOf(r, c.Key()) == pool.Unhealthy })
	waitFor(t, 2*time.Second, "the change is saved", func() bool {
		rec, ok, _ := st.LoadHealth(c.Key())
		return ok && rec.State == uint8(pool.Unhealthy)
	})
	stop()

	// Restarted within 10 intervals: down from the start.
	st.Close()
	if st, err = store.Open(path); err != nil {
		t.Fatal(err)
	}
	var members pool.Members
	var table pool.HealthTable
	id := members.ID(c)
	r = &Runner{Store: st, Members: &members, Table: &table, Now: clock(9 * time.Hour)}
	r.SetTargets([]*pool.Check{c})
	if got := table.State(id); got != pool.Unhealthy {
		t.Errorf("after a restart 9 intervals later: %v, want down", got)
	}
	// Too late: unknown.
	r = &Runner{Store: st, Members: &members, Table: &table, Now: clock(11 * time.Hour)}
	r.SetTargets([]*pool.Check{c})
	if got := table.State(id); got != pool.Unknown {
		t.Errorf("after a restart 11 intervals later: %v, want unknown", got)
	}
	// No longer used: deleted from the file.
	r.SetTargets(nil)
	run(t, r)()
	if _, ok, _ := st.LoadHealth(c.Key()); ok {
		t.Error("a removed target is still in the state file")
	}
}

// TestSavesAreFew checks that a steady target is not written to the store
// on every check, and that a change is written at once.
func TestSavesAreFew(t *testing.T) {
	c := &pool.Check{Protocol: "TCP", Address: "192.0.2.1", Port: 80, Interval: 10 * time.Millisecond, Fall: 1}
	ok := func(context.Context, *pool.Check) error { return nil }
	fail := func(context.Context, *pool.Check) error { return errors.New("down") }

	st := newMemStore()
	r := &Runner{Store: st, Probe: ok, FlushInterval: time.Millisecond}
	r.SetTargets([]*pool.Check{c})
	stop := run(t, r)
	waitFor(t, 5*time.Second, "60 checks", func() bool { return r.Status()[0].Checks >= 60 })
	stop()
	checks, puts := r.Status()[0].Checks, st.puts.Load()
	t.Logf("steady: %d checks, %d records saved", checks, puts)
	if puts > int64(checks)/saveIntervals+2 {
		t.Errorf("%d records saved for %d checks", puts, checks)
	}

	// FlushInterval is an hour: only the change itself can have caused
	// the write.
	st = newMemStore()
	r = &Runner{Store: st, Probe: fail, FlushInterval: time.Hour}
	r.SetTargets([]*pool.Check{c})
	run(t, r)
	waitFor(t, 2*time.Second, "the change is saved at once", func() bool {
		rec, ok := st.get(c.Key())
		return ok && rec.State == uint8(pool.Unhealthy)
	})
}

func TestPublishesByMemberID(t *testing.T) {
	var members pool.Members
	var table pool.HealthTable
	mk := func(addr string, fall int) *pool.Check {
		return &pool.Check{Protocol: "TCP", Address: addr, Port: 80, Interval: time.Hour, Timeout: time.Hour, Fall: fall}
	}
	down, unknown, up, unused := mk("192.0.2.1", 1), mk("192.0.2.2", 1), mk("192.0.2.3", 1), mk("192.0.2.4", 1)
	ids := []int{members.ID(down), members.ID(unknown), members.ID(up), members.ID(unused)}
	probe := func(ctx context.Context, c *pool.Check) error {
		switch c.Address {
		case "192.0.2.1":
			return errors.New("refused")
		case "192.0.2.2":
			<-ctx.Done() // never answers while the runner runs
			return ctx.Err()
		}
		return nil
	}
	r := &Runner{Members: &members, Table: &table, Probe: probe}
	r.SetTargets([]*pool.Check{down, unknown, up})
	run(t, r)
	waitFor(t, 2*time.Second, "results published", func() bool {
		return table.State(ids[0]) == pool.Unhealthy && table.State(ids[2]) == pool.Healthy
	})
	if table.State(ids[1]) != pool.Unknown || table.State(ids[3]) != pool.Unknown {
		t.Errorf("unchecked member %v, member without a target %v; want both unknown", table.State(ids[1]), table.State(ids[3]))
	}
	if !table.Up(ids[1]) || table.Up(ids[0]) {
		t.Error("unknown must count as up, down as not")
	}
	// A member registered by a later load is covered by the next table.
	later := mk("192.0.2.5", 1)
	lid := members.ID(later)
	r.SetTargets([]*pool.Check{down, unknown, up, later})
	waitFor(t, 2*time.Second, "the new member's result published", func() bool { return table.State(lid) == pool.Healthy })
	if table.State(ids[0]) != pool.Unhealthy {
		t.Error("a reload lost a state")
	}
}

func TestRunTwice(t *testing.T) {
	r := &Runner{}
	run(t, r)
	waitFor(t, time.Second, "Run started", func() bool { return r.running.Load() })
	if err := r.Run(context.Background()); err == nil {
		t.Error("a second Run at once did not fail")
	}
}

// memStore is a StateStore in memory.
type memStore struct {
	mu   sync.Mutex
	recs map[string]HealthRecord
	puts atomic.Int64
}

func newMemStore() *memStore { return &memStore{recs: map[string]HealthRecord{}} }

func (m *memStore) get(key string) (HealthRecord, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.recs[key]
	return r, ok
}

func (m *memStore) LoadHealth(key string) (HealthRecord, bool, error) {
	r, ok := m.get(key)
	return r, ok, nil
}

func (m *memStore) SaveHealth(recs map[string]HealthRecord) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for k, v := range recs {
		m.recs[k] = v
	}
	m.puts.Add(int64(len(recs)))
	return nil
}

func (m *memStore) DeleteHealth(keys []string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, k := range keys {
		delete(m.recs, k)
	}
	return nil
}
