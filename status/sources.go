package status

import (
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/smartdns/smartdns/internal/qstats"
	"github.com/smartdns/smartdns/internal/store"
	"github.com/smartdns/smartdns/loadreport/receiver"
	"github.com/smartdns/smartdns/pool"
	"github.com/smartdns/smartdns/probes"
	"github.com/smartdns/smartdns/zones"
)

// Sources are the running server's parts the operator endpoints read.
// Every field but Snapshot may be nil (tools, tests, a server without
// reports).
type Sources struct {
	// Snapshot returns the zones being served.
	Snapshot func() *zones.Snapshot
	Health   *pool.HealthTable
	Probes   *probes.Runner
	Reports  *receiver.Receiver
	Tally    *pool.Tally
	Stats    *qstats.Registry
	Store    *store.Store
	Geo      pool.Locator
	// StaleAfter is reports.stale_after, to show a report's freshness.
	StaleAfter time.Duration
	// Version is the build's version string.
	Version string
	Reloads *Reloads
	Events  *Events
	// Ready reports whether the server is ready for traffic: listeners up
	// and at least one zone served.
	Ready  func() bool
	Logger *slog.Logger
	// Started is when the server started.
	Started time.Time
	// QueryLogStats reads the query log's counters; nil without a log.
	QueryLogStats func() (logged, dropped, errors uint64)
	// AliasResolutions reads the counts of ALIAS target resolutions
	// (dns/alias); nil without alias.resolvers.
	AliasResolutions func() (ok, negative, failed uint64)

	overrideMu sync.Mutex // serialises override writes
	token      atomic.Pointer[string]
}

func (s *Sources) overrides() map[string]pool.Status { return s.state().Overrides() }

// state returns the current health, loads and overrides, read once per
// request so that everything one answer shows agrees (nil without a
// health table: everything up).
func (s *Sources) state() *pool.View { return s.Health.View() }

func (s *Sources) logger() *slog.Logger {
	if s.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return s.Logger
}

// Reloads counts zone loads, for the metrics.
type Reloads struct {
	OK, Failed atomic.Uint64
	// Last is when the last load finished (unix nanoseconds).
	Last atomic.Int64
}

// Event is one thing worth showing on the status page: a health
// transition, an override, a reload, a site going stale.
type Event struct {
	At      time.Time `json:"at"`
	Kind    string    `json:"kind"` // health, override, reload, report
	Subject string    `json:"subject"`
	Text    string    `json:"text"`
}

// Events keeps the most recent events, newest first.
type Events struct {
	mu  sync.Mutex
	buf []Event
	max int
}

// NewEvents keeps up to max events.
func NewEvents(max int) *Events { return &Events{max: max} }

// Add records an event.
func (e *Events) Add(ev Event) {
	if e == nil {
		return
	}
	if ev.At.IsZero() {
		ev.At = time.Now()
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.buf = append(e.buf, ev)
	if len(e.buf) > e.max {
		e.buf = e.buf[len(e.buf)-e.max:]
	}
}

// Recent returns the events, newest first.
func (e *Events) Recent() []Event {
	if e == nil {
		return nil
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]Event, len(e.buf))
	for i, ev := range e.buf {
		out[len(e.buf)-1-i] = ev
	}
	return out
}
