package alias

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/miekg/dns"
)

const (
	// staleTTL is the TTL of an answer served past its expiry (RFC 8767
	// §4 recommends 30 seconds).
	staleTTL = 30
	// minTTL keeps a TTL of 0 from making the refresher spin.
	minTTL = 1
	// noSOATTL caches a negative answer that came without an SOA (RFC 2308
	// would not cache it; a short time spares the resolver a storm).
	noSOATTL = 30
	// retryMin and retryMax bound the back-off between failed attempts.
	retryMin = time.Second
	retryMax = 30 * time.Second
	// maxCNAMEs bounds the CNAMEs followed in an upstream answer.
	maxCNAMEs = 8
	// udpSize is the EDNS(0) size offered to the resolvers; a truncated
	// answer is asked again over TCP.
	udpSize = 1232
)

// Config is what the cache needs from the server config (alias: in
// internal/config, where the defaults live).
type Config struct {
	// Resolvers are IP:port addresses of recursive resolvers, tried in
	// order.
	Resolvers []string
	// Timeout bounds each question to one resolver; DefaultTimeout when
	// zero.
	Timeout time.Duration
	// MaxTTL caps the time an answer is cached; DefaultMaxTTL when zero.
	MaxTTL time.Duration
	// ServeStale is how long past expiry an answer is served while the
	// resolvers fail; DefaultServeStale when zero, NoServeStale for none.
	ServeStale time.Duration
	// Logger receives failures and recoveries; nil logs nothing.
	Logger *slog.Logger
}

// Defaults of what a Config leaves zero (the config keys alias.timeout,
// alias.max_ttl and alias.serve_stale): docs/configuration.md lists them
// and a test in test/docs holds the two to each other.
const (
	DefaultTimeout    = 2 * time.Second
	DefaultMaxTTL     = 300 * time.Second
	DefaultServeStale = time.Hour
	// NoServeStale as Config.ServeStale serves nothing stale
	// (`serve_stale: 0s`).
	NoServeStale time.Duration = -1
)

// Result classifies one resolution, for the counters.
type Result int

// The results of a resolution.
const (
	ResultOK       Result = iota // addresses
	ResultNegative               // NODATA or NXDOMAIN
	ResultError                  // every resolver failed
	numResults
)

func (r Result) String() string {
	switch r {
	case ResultOK:
		return "ok"
	case ResultNegative:
		return "negative"
	}
	return "error"
}

// Cache resolves and caches the addresses of ALIAS targets outside the
// served zones. AliasAddrs is safe for concurrent use and never blocks;
// SetTargets and Run drive it. The zero value is not usable: use New.
type Cache struct {
	cfg     Config
	targets atomic.Pointer[map[string]*target] // by wire-form name; replaced whole
	mu      sync.Mutex                         // serializes SetTargets
	kick    chan struct{}
	counts  [numResults]atomic.Uint64
}

// target is one name to resolve, with its A and AAAA slots.
type target struct {
	rr [2]slot
}

// slot is one (name, type) cached. cur is read by queries; the other
// fields belong to the refresher, and fails to the goroutine holding busy.
type slot struct {
	name  string // presentation form, as asked of the resolvers
	qtype uint16
	cur   atomic.Pointer[entry]
	busy  atomic.Bool  // a resolution is in flight
	next  atomic.Int64 // when to resolve again, Unix nanoseconds
	fails int          // consecutive failures
}

// entry is one resolved answer; immutable once published.
type entry struct {
	data       [][]byte // RDATA, wire form; empty for a negative answer
	ttl        uint32   // seconds it was cached for
	expires    int64    // Unix nanoseconds
	staleUntil int64
}

// New returns a cache for cfg. It resolves nothing until SetTargets names
// targets, and refreshes nothing until Run runs.
func New(cfg Config) *Cache {
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.MaxTTL <= 0 {
		cfg.MaxTTL = DefaultMaxTTL
	}
	switch {
	case cfg.ServeStale == NoServeStale:
		cfg.ServeStale = 0
	case cfg.ServeStale <= 0:
		cfg.ServeStale = DefaultServeStale
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Cache{cfg: cfg, kick: make(chan struct{}, 1)}
}

// AliasAddrs returns the cached RDATA of name's (lower-cased wire form)
// qtype RRset, A or AAAA, and the TTL to answer with: the time left,
// rounded up, or staleTTL past expiry. Empty data with ok means the name
// has no such records. ok is false when nothing usable is cached (never
// resolved, not a target, or stale for longer than serve_stale): the
// caller answers SERVFAIL. It takes no lock and allocates nothing.
func (c *Cache) AliasAddrs(name string, qtype uint16) (data [][]byte, ttl uint32, ok bool) {
	m := c.targets.Load()
	if m == nil {
		return nil, 0, false
	}
	t := (*m)[name]
	if t == nil {
		return nil, 0, false
	}
	var s *slot
	switch qtype {
	case dns.TypeA:
		s = &t.rr[0]
	case dns.TypeAAAA:
		s = &t.rr[1]
	default:
		return nil, 0, false
	}
	e := s.cur.Load()
	if e == nil {
		return nil, 0, false
	}
	now := time.Now().UnixNano()
	if left := e.expires - now; left > 0 {
		secs := uint32((left + int64(time.Second) - 1) / int64(time.Second))
		return e.data, min(secs, e.ttl), true
	}
	if now < e.staleUntil {
		return e.data, staleTTL, true
	}
	return nil, 0, false
}

// SetTargets makes names (lower-cased wire form) the targets cached:
// names already cached keep their entries, new ones are resolved at once,
// and the others are dropped. It waits for the new names' first
// resolution, at most one timeout, so that a snapshot published right
// after it answers from a warm cache when the resolvers are up.
func (c *Cache) SetTargets(names []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	old := c.targets.Load()
	m := make(map[string]*target, len(names))
	var fresh []*slot
	for _, n := range names {
		if old != nil && (*old)[n] != nil {
			m[n] = (*old)[n]
			continue
		}
		pres, _, err := dns.UnpackDomainName([]byte(n), 0)
		if err != nil {
			c.cfg.Logger.Error("ALIAS target is not a wire-form name; ignored", "name", fmt.Sprintf("%q", n), "err", err)
			continue
		}
		t := &target{rr: [2]slot{{name: pres, qtype: dns.TypeA}, {name: pres, qtype: dns.TypeAAAA}}}
		for i := range t.rr {
			t.rr[i].busy.Store(true) // ours to resolve, not the refresher's
			fresh = append(fresh, &t.rr[i])
		}
		m[n] = t
	}
	c.targets.Store(&m)
	if len(fresh) == 0 {
		return
	}
	var wg sync.WaitGroup
	for _, s := range fresh {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.resolveSlot(s)
		}()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	wait := time.NewTimer(c.cfg.Timeout)
	defer wait.Stop()
	select {
	case <-done:
	case <-wait.C:
	}
}

// Run refreshes the cached entries, each at 3/4 of its TTL (or after a
// back-off when the last attempt failed), until ctx ends.
func (c *Cache) Run(ctx context.Context) {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		timer.Reset(c.dispatch(time.Now().UnixNano()))
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		case <-c.kick:
		}
	}
}

// Resolutions counts the resolutions made so far, by result.
func (c *Cache) Resolutions(r Result) uint64 { return c.counts[r].Load() }

// Counts returns the resolutions made so far by result, for the metrics.
func (c *Cache) Counts() (ok, negative, failed uint64) {
	return c.Resolutions(ResultOK), c.Resolutions(ResultNegative), c.Resolutions(ResultError)
}

// dispatch starts a resolution for every slot that is due and returns the
// time until the next one is.
func (c *Cache) dispatch(now int64) time.Duration {
	wait := time.Hour
	m := c.targets.Load()
	if m == nil {
		return wait
	}
	for _, t := range *m {
		for i := range t.rr {
			s := &t.rr[i]
			if s.busy.Load() {
				continue // it pokes the refresher when done
			}
			if due := s.next.Load(); due > now {
				wait = min(wait, time.Duration(due-now))
				continue
			}
			if s.busy.CompareAndSwap(false, true) {
				go c.resolveSlot(s)
			}
		}
	}
	return wait
}

// poke wakes the refresher to recompute when the next slot is due.
func (c *Cache) poke() {
	select {
	case c.kick <- struct{}{}:
	default:
	}
}

// resolveSlot resolves s (whose busy flag the caller set), publishes the
// answer, schedules the next attempt and clears busy.
func (c *Cache) resolveSlot(s *slot) {
	defer c.poke()
	defer s.busy.Store(false)
	start := time.Now()
	e, res, err := c.resolve(s.name, s.qtype, start)
	c.counts[res].Add(1)
	qtype := dns.TypeToString[s.qtype]
	if err != nil {
		s.fails++
		backoff := min(retryMin<<min(s.fails-1, 8), retryMax)
		s.next.Store(time.Now().Add(backoff).UnixNano())
		if s.fails == 1 {
			what := "no answer yet: queries get SERVFAIL"
			if old := s.cur.Load(); old != nil {
				what = "the last answer is served until " + time.Unix(0, old.staleUntil).Format(time.RFC3339)
			}
			c.cfg.Logger.Warn("cannot resolve ALIAS target; "+what, "target", s.name, "type", qtype, "err", err)
		}
		return
	}
	if s.fails > 0 {
		c.cfg.Logger.Info("ALIAS target resolves again", "target", s.name, "type", qtype, "failures", s.fails)
	}
	s.fails = 0
	s.cur.Store(e)
	s.next.Store(start.UnixNano() + int64(e.ttl)*int64(time.Second)*3/4)
	c.cfg.Logger.Debug("ALIAS target resolved", "target", s.name, "type", qtype, "records", len(e.data), "ttl", e.ttl)
}

// resolve asks the resolvers in order for name's qtype and builds the
// entry from the first usable answer (NOERROR or NXDOMAIN).
func (c *Cache) resolve(name string, qtype uint16, now time.Time) (*entry, Result, error) {
	q := new(dns.Msg)
	q.SetQuestion(name, qtype)
	q.SetEdns0(udpSize, false)
	var errs []error
	for _, server := range c.cfg.Resolvers {
		r, err := c.exchange(q, server)
		if err == nil && (len(r.Question) != 1 || r.Question[0].Qtype != qtype || !strings.EqualFold(r.Question[0].Name, name)) {
			err = errors.New("the answer is for another question")
		}
		if err == nil && r.Rcode != dns.RcodeSuccess && r.Rcode != dns.RcodeNameError {
			err = fmt.Errorf("rcode %s", dns.RcodeToString[r.Rcode])
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", server, err))
			continue
		}
		e := c.entryOf(name, qtype, r, now)
		if len(e.data) == 0 {
			return e, ResultNegative, nil
		}
		return e, ResultOK, nil
	}
	if len(errs) == 0 {
		errs = append(errs, errors.New("no resolvers configured"))
	}
	return nil, ResultError, errors.Join(errs...)
}

// exchange sends q to server over UDP, and over TCP when the answer is
// truncated.
func (c *Cache) exchange(q *dns.Msg, server string) (*dns.Msg, error) {
	cl := &dns.Client{Net: "udp", Timeout: c.cfg.Timeout, UDPSize: udpSize}
	r, _, err := cl.Exchange(q, server)
	if err == nil && r.Truncated {
		cl.Net = "tcp"
		r, _, err = cl.Exchange(q, server)
	}
	return r, err
}

// entryOf builds the entry for name's qtype from an upstream answer,
// following the CNAMEs it holds.
func (c *Cache) entryOf(name string, qtype uint16, r *dns.Msg, now time.Time) *entry {
	ttl := ^uint32(0)
	var data [][]byte
	owner := name
	for hops := 0; hops <= maxCNAMEs; hops++ {
		next, cnameTTL := "", uint32(0)
		for _, rr := range r.Answer {
			h := rr.Header()
			if h.Class != dns.ClassINET || !strings.EqualFold(h.Name, owner) {
				continue
			}
			switch v := rr.(type) {
			case *dns.A:
				if ip := v.A.To4(); qtype == dns.TypeA && ip != nil {
					data = append(data, append([]byte(nil), ip...))
					ttl = min(ttl, h.Ttl)
				}
			case *dns.AAAA:
				if ip := v.AAAA.To16(); qtype == dns.TypeAAAA && len(v.AAAA) == net.IPv6len {
					data = append(data, append([]byte(nil), ip...))
					ttl = min(ttl, h.Ttl)
				}
			case *dns.CNAME:
				next, cnameTTL = v.Target, h.Ttl
			}
		}
		if len(data) > 0 || next == "" {
			break
		}
		owner = next
		ttl = min(ttl, cnameTTL)
	}
	if len(data) == 0 {
		neg := uint32(noSOATTL)
		for _, rr := range r.Ns {
			if soa, ok := rr.(*dns.SOA); ok {
				neg = min(soa.Hdr.Ttl, soa.Minttl) // RFC 2308 §5
			}
		}
		ttl = min(ttl, neg)
	}
	if c.cfg.MaxTTL > 0 {
		ttl = min(ttl, uint32(c.cfg.MaxTTL/time.Second))
	}
	ttl = max(ttl, minTTL)
	expires := now.UnixNano() + int64(ttl)*int64(time.Second)
	return &entry{data: data, ttl: ttl, expires: expires, staleUntil: expires + int64(c.cfg.ServeStale)}
}
