package probes

import (
	"container/heap"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"slices"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/smartdns/smartdns/internal/store"
	"github.com/smartdns/smartdns/pool"
)

// Defaults for what a Runner or a Check leaves zero.
const (
	DefaultMaxInFlight   = 64          // Runner.MaxInFlight
	DefaultFlushInterval = time.Second // Runner.FlushInterval
)

const (
	// restoreIntervals: a saved state is trusted after a restart when its
	// last result is younger than this many intervals.
	restoreIntervals = 10
	// publishSpacing: tables are published at most this often.
	publishSpacing = 10 * time.Millisecond
	// saveIntervals: a target whose state does not change is saved at
	// most once per this many intervals (a change is saved at once), so
	// that what a restart finds is at most this old.
	saveIntervals = 3
)

// HealthRecord is what a StateStore keeps per target.
type HealthRecord = store.HealthRecord

var _ StateStore = (*store.Store)(nil)

// StateStore keeps target health across restarts; *store.Store is one.
// Keys are pool.Check.Key values.
type StateStore interface {
	LoadHealth(key string) (HealthRecord, bool, error)
	// SaveHealth writes records in one transaction; writing the same
	// records twice must be harmless.
	SaveHealth(recs map[string]HealthRecord) error
	// DeleteHealth forgets targets no longer probed.
	DeleteHealth(keys []string) error
}

// Runner probes every target of the current zones and publishes their
// states. Set its fields before the first call to SetTargets or Run; do
// not change them afterwards. Run probes until its context ends;
// SetTargets may be called at any time, before Run too (the first checks
// then start when Run does).
type Runner struct {
	// Members maps a member id to its check, and Table receives the
	// states indexed by member id. When either is nil nothing is
	// published (Status still reports).
	Members *pool.Members
	Table   *pool.HealthTable
	// Store keeps states across restarts; nil keeps nothing.
	Store StateStore
	// Logger receives transitions and store errors; nil discards them.
	Logger *slog.Logger
	// MaxInFlight bounds the checks running at once; 0 means
	// DefaultMaxInFlight.
	MaxInFlight int
	// FlushInterval is how often pending state records are written to
	// Store (transitions wake the writer at once); 0 means
	// DefaultFlushInterval.
	FlushInterval time.Duration
	// Now gives the time written to Store and shown by Status, and
	// against which saved states are aged; nil means time.Now. Checks
	// are scheduled on the real clock whatever Now says.
	Now func() time.Time
	// Dialer makes the connections of TCP, HTTP(S) and DNS checks, and
	// its Resolver resolves host-name addresses; nil is a zero Dialer
	// (the system resolver).
	Dialer *net.Dialer
	// Probe, when set, replaces the built-in checks: it runs one check
	// and returns nil when the target is healthy. ctx carries the
	// check's timeout.
	Probe func(ctx context.Context, c *pool.Check) error
	// OnTransition, when set, is told of every state change (after it is
	// logged), for the status page's recent events. It must not block.
	OnTransition func(Transition)

	initOnce  sync.Once
	chk       *checker
	wake      chan struct{} // the scheduler has an earlier due time
	flushWake chan struct{} // a transition waits to be saved
	pubWake   chan struct{} // a state changed
	running   atomic.Bool

	setMu sync.Mutex // serialises SetTargets

	mu      sync.Mutex // guards the fields below and every target
	targets map[string]*target
	queue   targetHeap
	seq     uint64
	dirty   map[string]HealthRecord // to save
	deleted map[string]bool         // to delete
	gen     uint64                  // bumped when targets are added or removed

	pubMu     sync.Mutex // guards the fields below
	idKeys    []string   // member id -> check key, grown as members appear
	idTargets []*target  // member id -> target, rebuilt when gen changes
	idGen     uint64     // gen when idTargets was built
}

// target is one distinct check and its state; guarded by Runner.mu.
type target struct {
	key      string
	check    *pool.Check
	interval time.Duration
	timeout  time.Duration

	idx     int       // position in the queue, -1 when not queued
	seq     uint64    // queue tie-break: first added, first probed
	due     time.Time // on the monotonic clock
	running bool
	removed bool
	checks  uint64

	counter
	lastCheck   time.Time
	lastChange  time.Time
	lastErr     string
	lastDur     time.Duration
	transitions uint32
	savedAt     time.Time

	// localErrors counts checks that this host could not run (see
	// isLocal); localLogged is set once one is logged in the current
	// state, so that a host out of descriptors logs one line per target
	// rather than one per check.
	localErrors  uint64
	lastLocalErr string
	localLogged  bool
}

// TargetStatus describes one target, for logs, explain and status pages.
type TargetStatus struct {
	Key      string // pool.Check.Key
	Protocol string
	Address  string
	Port     int
	State    pool.State
	// LastCheck is when the last result came in (zero before the
	// first); LastChange when State last changed.
	LastCheck, LastChange time.Time
	LastError             string // "" after a success
	// Successes and Failures are the current run of equal results.
	Successes, Failures int
	Transitions         int    // state changes, including those before a restart
	Checks              uint64 // results since the target was added
	// LastDuration is how long the last check took.
	LastDuration time.Duration
	// LocalErrors counts the checks that failed on this host (out of
	// file descriptors, no buffer space, no local address...) rather
	// than on the target; they leave State and the runs of results as
	// they were and are not in Checks. LastLocalError is the last one's
	// error.
	LocalErrors    uint64
	LastLocalError string
}

// Transition is one change of a target's state, for OnTransition.
type Transition struct {
	Target   string // the check described: "HTTP 192.0.2.1:80/health"
	Key      string // pool.Check.Key
	Address  string
	From, To pool.State
	Reason   string
	Err      string // the last check's error, "" after a success
	At       time.Time
}

func (r *Runner) init() {
	r.initOnce.Do(func() {
		r.chk = newChecker(r.Dialer)
		r.wake = make(chan struct{}, 1)
		r.flushWake = make(chan struct{}, 1)
		r.pubWake = make(chan struct{}, 1)
		r.targets = map[string]*target{}
		r.dirty = map[string]HealthRecord{}
		r.deleted = map[string]bool{}
	})
}

func (r *Runner) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

func (r *Runner) log() *slog.Logger {
	if r.Logger != nil {
		return r.Logger
	}
	return slog.New(slog.DiscardHandler)
}

func poke(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// SetTargets makes checks the probed targets: a target seen for the first
// time starts from its saved state (see the package doc) and is checked
// at once; a target no longer listed stops being probed (a check already
// running finishes and is ignored). Checks with equal keys are one
// target. The health table is published before SetTargets returns.
func (r *Runner) SetTargets(checks []*pool.Check) {
	r.init()
	r.setMu.Lock()
	defer r.setMu.Unlock()

	want := make(map[string]*pool.Check, len(checks))
	var order []string
	for _, c := range checks {
		if c == nil {
			continue
		}
		k := c.Key()
		if _, dup := want[k]; !dup {
			want[k] = c
			order = append(order, k)
		}
	}
	r.mu.Lock()
	var fresh []string
	for _, k := range order {
		if r.targets[k] == nil {
			fresh = append(fresh, k)
		}
	}
	r.mu.Unlock()

	// Reading the store is done outside the lock: checks of the other
	// targets go on meanwhile. Only SetTargets adds targets, and it is
	// serialised, so fresh stays fresh.
	recs := map[string]HealthRecord{}
	if r.Store != nil {
		for _, k := range fresh {
			rec, ok, err := r.Store.LoadHealth(k)
			if err != nil {
				r.log().Warn("cannot read a saved health state; the target starts unknown", "target", describe(want[k]), "err", err)
				continue
			}
			if ok {
				recs[k] = rec
			}
		}
	}

	now, mono := r.now(), time.Now()
	removed, restored := 0, 0
	r.mu.Lock()
	for k, t := range r.targets {
		if want[k] == nil {
			t.removed = true
			if t.idx >= 0 {
				heap.Remove(&r.queue, t.idx)
			}
			delete(r.targets, k)
			delete(r.dirty, k)
			r.deleted[k] = true
			removed++
		}
	}
	for _, k := range fresh {
		t := newTarget(k, want[k])
		if rec, ok := recs[k]; ok && t.restore(rec, now) {
			restored++
		}
		delete(r.deleted, k)
		t.due = mono
		r.seq++
		t.seq = r.seq
		r.targets[k] = t
		heap.Push(&r.queue, t)
	}
	total := len(r.targets)
	if len(fresh) > 0 || removed > 0 {
		r.gen++
	}
	r.mu.Unlock()

	if len(fresh) > 0 || removed > 0 {
		r.log().Info("health-check targets set", "targets", total, "added", len(fresh), "removed", removed, "restored", restored)
	}
	if removed > 0 {
		poke(r.flushWake)
	}
	poke(r.wake)
	r.publish()
}

func newTarget(key string, c *pool.Check) *target {
	t := &target{key: key, check: c, idx: -1, interval: c.Interval, timeout: c.Timeout}
	if t.interval <= 0 {
		t.interval = pool.DefaultCheckInterval
	}
	if t.timeout <= 0 {
		t.timeout = pool.DefaultCheckTimeout
	}
	t.timeout = min(t.timeout, t.interval)
	return t
}

// restore starts t from a saved record when its last result is younger
// than restoreIntervals intervals.
func (t *target) restore(rec HealthRecord, now time.Time) bool {
	st := pool.State(rec.State)
	age := now.Sub(rec.Checked)
	if (st != pool.Healthy && st != pool.Unhealthy) || rec.Checked.IsZero() ||
		age >= restoreIntervals*t.interval || age < -t.interval {
		return false
	}
	t.state = st
	t.lastCheck, t.lastChange = rec.Checked, rec.Changed
	t.lastErr = rec.LastError
	t.transitions = rec.Transitions
	t.savedAt = now // it is in the store already
	return true
}

func (t *target) record() HealthRecord {
	return HealthRecord{State: uint8(t.state), Checked: t.lastCheck, Changed: t.lastChange,
		Transitions: t.transitions, LastError: t.lastErr}
}

// Run probes the targets until ctx ends, then saves every target's state
// and returns. It returns an error only when called while another Run is
// going on. Checks running when ctx ends are abandoned and count for
// nothing.
func (r *Runner) Run(ctx context.Context) error {
	r.init()
	if !r.running.CompareAndSwap(false, true) {
		return errors.New("probes: Runner.Run is already running")
	}
	defer r.running.Store(false)

	n := r.MaxInFlight
	if n <= 0 {
		n = DefaultMaxInFlight
	}
	jobs := make(chan *target)
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() { r.work(ctx, jobs) })
	}
	wg.Go(func() { r.flushLoop(ctx) })
	wg.Go(func() { r.publishLoop(ctx) })

	r.schedule(ctx, jobs)

	wg.Wait()
	r.publish() // changes the publisher had no time for
	r.mu.Lock()
	mono := time.Now()
	for _, t := range r.targets {
		if !t.lastCheck.IsZero() {
			r.dirty[t.key] = t.record()
		}
		// Targets taken off the queue but not checked go back on it,
		// for a later Run.
		if t.idx < 0 {
			t.running = false
			t.due = mono
			heap.Push(&r.queue, t)
		}
	}
	r.mu.Unlock()
	r.flush()
	return nil
}

// schedule hands due targets to the workers, blocking while all of them
// are busy: that is the bound on checks in flight.
func (r *Runner) schedule(ctx context.Context, jobs chan<- *target) {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	var due []*target
	for {
		r.mu.Lock()
		now := time.Now()
		due = due[:0]
		for r.queue.Len() > 0 && !r.queue[0].due.After(now) {
			t := heap.Pop(&r.queue).(*target)
			t.running = true
			due = append(due, t)
		}
		wait := time.Hour
		if r.queue.Len() > 0 {
			wait = r.queue[0].due.Sub(now)
		}
		r.mu.Unlock()
		for _, t := range due {
			select {
			case jobs <- t:
			case <-ctx.Done():
				return
			}
		}
		if len(due) > 0 {
			continue // more may have come due while sending
		}
		timer.Reset(wait)
		select {
		case <-timer.C:
		case <-r.wake:
		case <-ctx.Done():
			return
		}
	}
}

func (r *Runner) work(ctx context.Context, jobs <-chan *target) {
	for {
		var t *target
		select {
		case t = <-jobs:
		case <-ctx.Done():
			return
		}
		r.mu.Lock()
		c, timeout, removed := t.check, t.timeout, t.removed
		r.mu.Unlock()
		if removed {
			continue
		}
		start := time.Now()
		cctx, cancel := context.WithTimeout(ctx, timeout)
		err := r.probe(cctx, c)
		if err != nil && errors.Is(cctx.Err(), context.DeadlineExceeded) && ctx.Err() == nil {
			err = fmt.Errorf("no answer within %v: %w", timeout, err)
		}
		cancel()
		if ctx.Err() != nil {
			return // shutting down: says nothing about the target
		}
		r.result(t, start, err)
	}
}

func (r *Runner) probe(ctx context.Context, c *pool.Check) error {
	if r.Probe != nil {
		return r.Probe(ctx, c)
	}
	return r.chk.check(ctx, c)
}

// result applies one check's result to t and queues its next check.
func (r *Runner) result(t *target, start time.Time, err error) {
	now := r.now()
	r.mu.Lock()
	t.running = false
	if t.removed {
		r.mu.Unlock()
		return
	}
	if isLocal(err) {
		r.localResult(t, start, err)
		return
	}
	t.checks++
	from := t.state
	changed := t.step(err == nil, t.check.Rise, t.check.Fall)
	t.lastCheck = now
	t.lastDur = time.Since(start)
	t.lastErr = ""
	if err != nil {
		t.lastErr = err.Error()
	}
	if changed {
		t.lastChange = now
		t.transitions++
		t.localLogged = false
	}
	first := r.requeue(t, start)
	if r.Store != nil && (changed || now.Sub(t.savedAt) >= saveIntervals*t.interval) {
		r.dirty[t.key] = t.record()
		t.savedAt = now
	}
	to, succ, fail := t.state, t.succ, t.fail
	r.mu.Unlock()

	if first {
		poke(r.wake)
	}
	if !changed {
		return
	}
	reason := inARow(fail, "failed")
	if err == nil {
		reason = inARow(succ, "succeeded")
	}
	attrs := []any{"target", describe(t.check), "from", from.String(), "to", to.String(), "reason", reason}
	if err != nil {
		attrs = append(attrs, "err", err)
	}
	// Unknown already counted as up: becoming up changes no answer, and
	// with many targets a start-up would log one line per target.
	level := slog.LevelInfo
	if from == pool.Unknown && to == pool.Healthy {
		level = slog.LevelDebug
	}
	r.log().Log(context.Background(), level, "health changed", attrs...)
	if r.OnTransition != nil {
		tr := Transition{Target: describe(t.check), Key: t.key, Address: t.check.Address, From: from, To: to, Reason: reason, At: now}
		if err != nil {
			tr.Err = err.Error()
		}
		r.OnTransition(tr)
	}
	if r.Store != nil {
		poke(r.flushWake)
	}
	poke(r.pubWake)
}

// requeue schedules t's next check and reports whether it is now the
// first due. r.mu is held.
func (r *Runner) requeue(t *target, start time.Time) (first bool) {
	mono := time.Now()
	t.due = start.Add(nextDelay(t.interval, t.checks+t.localErrors == 1))
	if t.due.Before(mono) {
		t.due = mono
	}
	heap.Push(&r.queue, t)
	return t.idx == 0
}

// localResult records a check that this host could not run: the result
// is unknown, so t keeps its state and its runs of successes and
// failures, nothing is saved, and the next check comes at the usual
// interval. It is logged once per target while the target stays in one
// state. r.mu is held; localResult releases it.
func (r *Runner) localResult(t *target, start time.Time, err error) {
	t.localErrors++
	t.lastLocalErr = err.Error()
	logIt := !t.localLogged
	t.localLogged = true
	state := t.state
	first := r.requeue(t, start)
	r.mu.Unlock()
	if first {
		poke(r.wake)
	}
	if logIt {
		r.log().Warn("health check failed on this host, not on the target; the target keeps its state until checks can run",
			"target", describe(t.check), "state", state.String(), "err", err)
	}
}

func inARow(n int, what string) string {
	if n == 1 {
		return "check " + what
	}
	return strconv.Itoa(n) + " checks in a row " + what
}

// nextDelay is the time from a check's start to the next one's: at most
// the interval, so that a target that fails goes down within
// interval × fall + timeout. After the first check it is spread over the
// whole interval so that targets added together drift apart; later it
// is 90-100% of the interval.
func nextDelay(interval time.Duration, first bool) time.Duration {
	lo := interval - interval/10
	if first {
		lo = interval / 10
	}
	return lo + time.Duration(rand.Int64N(int64(interval-lo)+1))
}

// describe names a target for logs.
func describe(c *pool.Check) string {
	s := c.Protocol + " " + c.Address
	if c.Port > 0 {
		s = c.Protocol + " " + net.JoinHostPort(bare(c.Address), strconv.Itoa(c.Port))
	}
	switch c.Protocol {
	case "HTTP", "HTTPS":
		if c.Host != "" {
			s += " host " + c.Host
		}
		s += " " + c.Path
	case "DNS":
		s += " " + c.DNSName
	}
	return s
}

// publishLoop publishes the table after state changes, at most once per
// publishSpacing, so that a storm of changes (every target at start-up,
// a site going dark) costs a few tables rather than one per change.
func (r *Runner) publishLoop(ctx context.Context) {
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-r.pubWake:
		}
		r.publish()
		t.Reset(publishSpacing)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// publish builds and publishes the health table: the state of every
// member id, unknown for members without a target.
func (r *Runner) publish() {
	if r.Members == nil || r.Table == nil {
		return
	}
	r.pubMu.Lock()
	defer r.pubMu.Unlock()
	for {
		c := r.Members.Check(len(r.idKeys))
		if c == nil {
			break
		}
		r.idKeys = append(r.idKeys, c.Key())
	}
	states := make([]pool.State, len(r.idKeys))
	r.mu.Lock()
	if r.idGen != r.gen || len(r.idTargets) != len(r.idKeys) {
		r.idTargets = slices.Grow(r.idTargets[:0], len(r.idKeys))[:len(r.idKeys)]
		for id, k := range r.idKeys {
			r.idTargets[id] = r.targets[k]
		}
		r.idGen = r.gen
	}
	for id, t := range r.idTargets {
		if t != nil {
			states[id] = t.state
		}
	}
	r.mu.Unlock()
	r.Table.Publish(states)
}

func (r *Runner) flushLoop(ctx context.Context) {
	if r.Store == nil {
		return
	}
	every := r.FlushInterval
	if every <= 0 {
		every = DefaultFlushInterval
	}
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		case <-r.flushWake:
		}
		r.flush()
	}
}

// flush writes pending records and deletions. On failure they stay
// pending (unless newer ones came meanwhile) for the next try.
func (r *Runner) flush() {
	if r.Store == nil {
		return
	}
	r.mu.Lock()
	recs, dels := r.dirty, r.deleted
	if len(recs) == 0 && len(dels) == 0 {
		r.mu.Unlock()
		return
	}
	r.dirty, r.deleted = map[string]HealthRecord{}, map[string]bool{}
	r.mu.Unlock()

	keys := make([]string, 0, len(dels))
	for k := range dels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	err := r.Store.DeleteHealth(keys)
	if err == nil {
		err = r.Store.SaveHealth(recs)
	}
	if err == nil {
		return
	}
	r.log().Warn("cannot save health states; will retry", "records", len(recs), "deletions", len(keys), "err", err)
	r.mu.Lock()
	for k, v := range recs {
		if _, newer := r.dirty[k]; !newer && r.targets[k] != nil {
			r.dirty[k] = v
		}
	}
	for k := range dels {
		if r.targets[k] == nil {
			r.deleted[k] = true
		}
	}
	r.mu.Unlock()
}

// Status describes every target, ordered by key.
func (r *Runner) Status() []TargetStatus {
	r.init()
	r.mu.Lock()
	out := make([]TargetStatus, 0, len(r.targets))
	for _, t := range r.targets {
		out = append(out, TargetStatus{
			Key: t.key, Protocol: t.check.Protocol, Address: t.check.Address, Port: t.check.Port,
			State: t.state, LastCheck: t.lastCheck, LastChange: t.lastChange, LastError: t.lastErr,
			Successes: t.succ, Failures: t.fail, Transitions: int(t.transitions), Checks: t.checks,
			LastDuration: t.lastDur, LocalErrors: t.localErrors, LastLocalError: t.lastLocalErr,
		})
	}
	r.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}

// targetHeap orders targets by due time.
type targetHeap []*target

func (h targetHeap) Len() int { return len(h) }
func (h targetHeap) Less(i, j int) bool {
	if !h[i].due.Equal(h[j].due) {
		return h[i].due.Before(h[j].due)
	}
	return h[i].seq < h[j].seq
}
func (h targetHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].idx, h[j].idx = i, j
}
func (h *targetHeap) Push(x any) {
	t := x.(*target)
	t.idx = len(*h)
	*h = append(*h, t)
}
func (h *targetHeap) Pop() any {
	old := *h
	t := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	t.idx = -1
	return t
}
