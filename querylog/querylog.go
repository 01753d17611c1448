package querylog

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/smartdns/smartdns/internal/config"
)

// Timing of the background work. Tests shorten them through options.
const (
	defaultCloseTimeout = 5 * time.Second
	defaultIOTimeout    = 2 * time.Second
	defaultRetryMin     = time.Second
	defaultRetryMax     = 30 * time.Second
)

// Buffers kept in the pool start at this capacity; larger ones (TCP
// answers) are let go rather than pinned.
const (
	poolBufSize    = 2048
	poolBufMaxKeep = 16 << 10
)

// errUnavailable is returned by an output that skipped a query without a
// failure of its own (a dnstap collector that is not connected).
var errUnavailable = errors.New("output unavailable")

// Stats counts what happened to sampled queries; read it for metrics.
type Stats struct {
	// Logged is the number of queries written to every output.
	Logged uint64
	// Dropped is the number of sampled queries lost without an error: the
	// queue was full, the dnstap collector was not connected, or they
	// were still queued when Close gave up.
	Dropped uint64
	// Errors is the number of failed writes and flushes (each loses the
	// query, or what was buffered, on that output).
	Errors uint64
}

// Logger writes sampled queries to the configured outputs from a
// background goroutine. Create it with Open; a nil *Logger does nothing.
// Log is safe for concurrent use.
type Logger struct {
	// Read by Log on every call.
	all       bool
	threshold uint64
	closed    atomic.Bool
	queue     chan entry
	bufs      sync.Pool
	// queued is the bytes of the buffers of the entries in the queue (and
	// the one being written); Log drops an entry that would take it past
	// maxBytes.
	queued   atomic.Int64
	maxBytes int64
	now      func() time.Time

	logged, dropped, errs atomic.Uint64

	outs    []output
	failing []bool // per output, touched only by run
	log     *slog.Logger

	opts      options
	stop      chan struct{}
	cancel    context.CancelFunc // stops the dnstap dialer
	done      chan struct{}      // closed when run returns
	bg        sync.WaitGroup     // goroutines besides run
	closeOnce sync.Once
	closeErr  error
	runErr    error // set by run before done is closed
}

// entry is one sampled query on its way to the outputs. The query and the
// response share one pooled buffer.
type entry struct {
	client, server      netip.AddrPort
	received, responded time.Time
	buf                 *[]byte
	size                int64 // cap(*buf), counted in Logger.queued
	qlen                int
	tcp, dropped        bool
}

func (e *entry) query() []byte { return (*e.buf)[:e.qlen] }

func (e *entry) response() []byte {
	if e.dropped {
		return nil
	}
	return (*e.buf)[e.qlen:]
}

// output is one destination. write, flush and close are called only from
// the background goroutine; abort may be called concurrently with them by
// Close when time runs out, and must make them return.
type output interface {
	name() string
	write(e *entry) error
	flush() error
	close(deadline time.Time) error
	abort()
}

// options are the knobs tests turn; Open uses the defaults.
type options struct {
	now          func() time.Time
	hostname     func() (string, error)
	closeTimeout time.Duration
	ioTimeout    time.Duration // dnstap handshake and each socket write
	retryMin     time.Duration
	retryMax     time.Duration
	extra        []output // appended to the configured outputs
}

func (o *options) setDefaults() {
	if o.now == nil {
		o.now = time.Now
	}
	if o.hostname == nil {
		o.hostname = os.Hostname
	}
	if o.closeTimeout == 0 {
		o.closeTimeout = defaultCloseTimeout
	}
	if o.ioTimeout == 0 {
		o.ioTimeout = defaultIOTimeout
	}
	if o.retryMin == 0 {
		o.retryMin = defaultRetryMin
	}
	if o.retryMax == 0 {
		o.retryMax = defaultRetryMax
	}
}

// Open validates c, opens its outputs and starts the background writer.
// It returns a nil *Logger and no error when c has no output. A file that
// cannot be opened is an error; a dnstap socket that is not there yet is
// not: Open logs a warning and keeps dialling in the background. version
// is the dnstap version on every frame.
func Open(c config.QueryLog, version string, log *slog.Logger) (*Logger, error) {
	if !c.Enabled() {
		if err := c.Validate(); err != nil {
			return nil, err
		}
		return nil, nil
	}
	return open(c, version, log, options{})
}

func open(c config.QueryLog, version string, log *slog.Logger, o options) (*Logger, error) {
	if err := c.ValidateOutputs(len(o.extra) == 0); err != nil {
		return nil, err
	}
	o.setDefaults()
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	l := &Logger{
		queue:    make(chan entry, c.QueueLength()),
		maxBytes: c.QueueBytes(),
		now:      o.now,
		log:      log.With("component", "querylog"),
		opts:     o,
		stop:     make(chan struct{}),
		cancel:   cancel,
		done:     make(chan struct{}),
	}
	l.threshold, l.all = c.Threshold()
	l.bufs.New = func() any {
		b := make([]byte, 0, poolBufSize)
		return &b
	}

	fail := func(err error) (*Logger, error) {
		cancel()
		for _, out := range l.outs {
			out.abort()
		}
		l.bg.Wait()
		return nil, err
	}
	if c.JSON != "" {
		out, err := openJSON(c.JSON)
		if err != nil {
			return fail(fmt.Errorf("query_log.json: %w", err))
		}
		l.outs = append(l.outs, out)
	}
	if c.Dnstap.File != "" || c.Dnstap.Socket != "" {
		identity := c.Dnstap.Identity
		if identity == "" {
			identity, _ = o.hostname()
		}
		enc := newDnstapEncoder(identity, version)
		if c.Dnstap.File != "" {
			out, err := openDnstapFile(c.Dnstap.File, enc)
			if err != nil {
				return fail(fmt.Errorf("query_log.dnstap.file: %w", err))
			}
			l.outs = append(l.outs, out)
		} else {
			out := openDnstapSocket(ctx, c.Dnstap.Socket, enc, l.log, &l.opts)
			l.bg.Go(func() { out.dialLoop(ctx) })
			l.outs = append(l.outs, out)
		}
	}
	l.outs = append(l.outs, o.extra...)
	l.failing = make([]bool, len(l.outs))
	go l.run()
	return l, nil
}

// Log offers one answered query to the log. client is the querier, server
// the address that received the query, received when it was read; the
// response time is taken now. response is nil (or empty) when the query
// was dropped without an answer. Log returns at once: it copies the
// packets only when the query is sampled, and drops the query (counted in
// Stats.Dropped) when the queue is full: it holds query_log.buffer
// entries, and query_log.buffer_bytes bytes of buffers holding their
// packets (a buffer's capacity counts, as that is what it holds). The caller may reuse query and
// response as soon as Log returns. Log on a nil or closed Logger does
// nothing.
func (l *Logger) Log(client, server netip.AddrPort, tcp bool, query, response []byte, received time.Time) {
	if l == nil {
		return
	}
	if !l.all && rand.Uint64() >= l.threshold {
		return
	}
	if l.closed.Load() {
		return
	}
	n := len(query) + len(response)
	if l.queued.Load()+int64(n) > l.maxBytes {
		// Full already: do not copy (or allocate) to drop it.
		l.dropped.Add(1)
		return
	}
	bp := l.bufs.Get().(*[]byte)
	if cap(*bp) < n {
		*bp = make([]byte, 0, n)
	}
	size := int64(cap(*bp))
	if l.queued.Add(size) > l.maxBytes {
		l.unqueue(size)
		l.dropped.Add(1)
		l.putBuf(bp)
		return
	}
	b := append(append((*bp)[:0], query...), response...)
	*bp = b
	e := entry{
		client:    client,
		server:    server,
		received:  received,
		responded: l.now(),
		buf:       bp,
		size:      size,
		qlen:      len(query),
		tcp:       tcp,
		dropped:   len(response) == 0,
	}
	select {
	case l.queue <- e:
	default:
		l.unqueue(size)
		l.dropped.Add(1)
		l.putBuf(bp)
	}
}

// unqueue takes the bytes of an entry that left the queue off the count.
func (l *Logger) unqueue(size int64) { l.queued.Add(-size) }

func (l *Logger) putBuf(bp *[]byte) {
	if cap(*bp) <= poolBufMaxKeep {
		l.bufs.Put(bp)
	}
}

// Stats returns the counters; each is read atomically. A nil Logger
// returns zeros.
func (l *Logger) Stats() Stats {
	if l == nil {
		return Stats{}
	}
	return Stats{
		Logged:  l.logged.Load(),
		Dropped: l.dropped.Load(),
		Errors:  l.errs.Load(),
	}
}

// Close stops accepting queries, writes what is queued, flushes and closes
// the outputs. It gives up after a bounded time (5s), counting what was
// left as dropped, and then returns an error. Close on a nil Logger
// returns nil; a second Close returns the first one's result.
func (l *Logger) Close() error {
	if l == nil {
		return nil
	}
	l.closeOnce.Do(func() {
		l.closed.Store(true)
		close(l.stop)
		l.cancel()
		t := time.NewTimer(l.opts.closeTimeout)
		defer t.Stop()
		select {
		case <-l.done:
			l.closeErr = l.runErr
		case <-t.C:
			for _, out := range l.outs {
				out.abort()
			}
			l.closeErr = fmt.Errorf("querylog: close gave up after %s with queries still unwritten", l.opts.closeTimeout)
			// The outputs are aborted, so run returns promptly unless a
			// write is stuck in the kernel; do not wait for that forever.
			t.Reset(time.Second)
			select {
			case <-l.done:
			case <-t.C:
			}
		}
		l.bg.Wait()
	})
	return l.closeErr
}

// run is the background writer: it owns the outputs until Close.
func (l *Logger) run() {
	defer close(l.done)
	for {
		select {
		case e := <-l.queue:
			l.write(&e)
			if len(l.queue) == 0 {
				l.flush()
			}
		case <-l.stop:
			l.runErr = l.shutdown()
			return
		}
	}
}

// shutdown drains the queue until the drain deadline, then flushes and
// closes every output.
func (l *Logger) shutdown() error {
	start := time.Now()
	drainUntil := start.Add(l.opts.closeTimeout * 3 / 5)
	closeBy := start.Add(l.opts.closeTimeout * 4 / 5)
	for {
		select {
		case e := <-l.queue:
			if time.Now().Before(drainUntil) {
				l.write(&e)
			} else {
				l.dropped.Add(1)
				l.putBuf(e.buf)
				l.unqueue(e.size)
			}
			continue
		default:
		}
		break
	}
	var errs []error
	for _, out := range l.outs {
		if err := out.close(closeBy); err != nil {
			l.errs.Add(1)
			errs = append(errs, fmt.Errorf("querylog: closing %s: %w", out.name(), err))
		}
	}
	return errors.Join(errs...)
}

// write hands e to every output and counts the outcome once.
func (l *Logger) write(e *entry) {
	var failed, unavailable bool
	for i, out := range l.outs {
		err := out.write(e)
		switch {
		case err == nil:
			l.recovered(i)
		case errors.Is(err, errUnavailable):
			unavailable = true
		default:
			failed = true
			l.failed(i, err)
		}
	}
	l.putBuf(e.buf)
	l.unqueue(e.size)
	e.buf = nil
	switch {
	case failed:
		l.errs.Add(1)
	case unavailable:
		l.dropped.Add(1)
	default:
		l.logged.Add(1)
	}
}

func (l *Logger) flush() {
	for i, out := range l.outs {
		if err := out.flush(); err != nil && !errors.Is(err, errUnavailable) {
			l.errs.Add(1)
			l.failed(i, err)
		}
	}
}

// failed logs the first failure of a run of them on output i.
func (l *Logger) failed(i int, err error) {
	if !l.failing[i] {
		l.failing[i] = true
		l.log.Warn("query log output failing; its queries are lost until it recovers", "output", l.outs[i].name(), "err", err)
	}
}

func (l *Logger) recovered(i int) {
	if l.failing[i] {
		l.failing[i] = false
		l.log.Info("query log output recovered", "output", l.outs[i].name())
	}
}
